# Shell helpers for the namespace lab: the demo (netns-lab/demo) and the
# failover benchmark (benches/failover.sh) source this file. The Rust lab
# tests (tests/lab/mod.rs) do the same things in Rust; both build the
# network with netns-lab/topology.sh.
#
# Usage:
#   . netns-lab/lib.sh
#   lab_init demo                # names (tdm-<pid>-demo-*), temp dir, cleanup trap
#   lab_up                       # topology + a web server on each balancer
#   lab_conf lb1 2 1             # keepalived.conf for lb1: VRRPv2, advert_int 1
#   lab_start lb1 tandem         # or: keepalived
#   lab_wait 30 lab_is_master lb1
#   lab_http client 192.0.2.2    # -> "lb1"
#   lab_kill_machine lb1; lab_revive lb1 tandem; lab_term lb1
#   lab_down                     # also run by the EXIT trap
#
# Every process runs inside the lab's namespaces; nothing is done in the
# root namespace but creating and deleting them.

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO_DIR=$(cd "$LAB_LIB_DIR/.." && pwd)
LAB_VIP_OUT=192.0.2.2
LAB_VIP_IN=198.51.100.1
declare -A LAB_PID=()        # node -> daemon pid (= its process group)
declare -A LAB_KIND=()       # node -> keepalived | tandem
LAB_HELPERS=()               # other process groups we started
: "${TANDEM_BIN:=}"

lab_mac() { # NODE [outer|inner] -> the MAC topology.sh gave it
  local nn
  case $1 in lb1) nn=01 ;; lb2) nn=02 ;; client) nn=64 ;; rs1) nn=0a ;; rs2) nn=0b ;; esac
  if [ "${2:-outer}" = outer ]; then echo "02:00:00:00:$nn:01"; else echo "02:00:00:00:$nn:02"; fi
}
lab_prio() { [ "$1" = lb1 ] && echo 150 || echo 100; }
lab_other() { [ "$1" = lb1 ] && echo lb2 || echo lb1; }
lab_ns() { echo "${LAB_PREFIX}$1"; }

lab_init() { # TAG
  [ "$(id -u)" = 0 ] || { echo "needs root (network namespaces): try sudo $0" >&2; exit 2; }
  LAB_PREFIX="tdm-$$-$1-"
  LAB_DIR=$(mktemp -d "/tmp/tdm-$$-$1.XXXXXX")
  # Notify scripts run as keepalived runs them: as `keepalived_script`
  # when the system has that user (the test VM does), so the lab's
  # directories must let it in, and its node directories (sticky, like
  # /tmp) let it write its log.
  chmod 755 "$LAB_DIR"
  "$LAB_LIB_DIR/topology.sh" sweep
  trap lab_down EXIT
  trap 'exit 130' INT TERM
}

lab_up() {
  "$LAB_LIB_DIR/topology.sh" up "$LAB_PREFIX"
  local n
  for n in lb1 lb2; do
    mkdir -p "$LAB_DIR/$n/www"
    echo "$n" > "$LAB_DIR/$n/www/index.html"
    setsid ip netns exec "$(lab_ns $n)" busybox httpd -f -p 80 -h "$LAB_DIR/$n/www" \
      </dev/null >/dev/null 2>&1 &
    LAB_HELPERS+=($!)
  done
}

lab_down() {
  local n p
  for n in "${!LAB_PID[@]}"; do
    p=${LAB_PID[$n]}
    kill -9 -- "-$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  LAB_PID=()
  for p in "${LAB_HELPERS[@]}"; do
    kill -9 -- "-$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  LAB_HELPERS=()
  [ -n "${LAB_PREFIX:-}" ] && "$LAB_LIB_DIR/topology.sh" down "$LAB_PREFIX"
  if [ -n "${LAB_DIR:-}" ] && [ -z "${TANDEM_LAB_KEEP:-}" ]; then
    rm -rf "$LAB_DIR"
  fi
  LAB_PREFIX=; LAB_DIR=
}

# lab_conf NODE VERSION ADVERT_INT: the seed's redundancy as keepalived.conf
# (tandem reads the same file): the outer VIP (the seed's 192.168.1.2) and
# the real servers' gateway VIP in one sync group, lb1 preferred.
lab_conf() {
  local node=$1 version=$2 adv=$3 auth="" prio
  prio=$(lab_prio "$node")
  mkdir -p "$LAB_DIR/$node"
  chmod 1777 "$LAB_DIR/$node"
  cat > "$LAB_DIR/$node/notify.sh" <<EOF
#!/bin/sh
# notify TYPE NAME STATE PRIORITY (keepalived's arguments)
echo "\$1 \$2 \$3 \$4" >> "$LAB_DIR/$node/notify.log"
EOF
  chmod 755 "$LAB_DIR/$node/notify.sh"
  if [ "$version" = 2 ]; then
    auth="  authentication {
    auth_type PASS
    auth_pass tandem1
  }"
  fi
  cat > "$LAB_DIR/$node/keepalived.conf" <<EOF
! $node of the seed's two-balancer lab (netns-lab/lib.sh)
global_defs {
  router_id $node
  vrrp_version $version
}

vrrp_sync_group SEED {
  group {
    VI_OUT
    VI_IN
  }
}

vrrp_instance VI_OUT {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority $prio
  advert_int $adv
$auth
  virtual_ipaddress {
    $LAB_VIP_OUT/24 dev eth0
  }
  notify $LAB_DIR/$node/notify.sh
}

vrrp_instance VI_IN {
  state BACKUP
  interface eth1
  virtual_router_id 52
  priority $prio
  advert_int $adv
$auth
  virtual_ipaddress {
    $LAB_VIP_IN/24 dev eth1
  }
  notify $LAB_DIR/$node/notify.sh
}
EOF
}

lab_tandem_bin() {
  if [ -n "$TANDEM_BIN" ]; then echo "$TANDEM_BIN"; else echo "$LAB_REPO_DIR/target/debug/tandem"; fi
}

# lab_start NODE KIND: the daemon in NODE's namespace, in its own process
# group, logging to $LAB_DIR/NODE/daemon.log.
lab_start() {
  local node=$1 kind=$2 d="$LAB_DIR/$1" ns
  ns=$(lab_ns "$node")
  case $kind in
    keepalived)
      rm -f "$d"/*.pid
      setsid ip netns exec "$ns" keepalived -n -l -D -G -P -f "$d/keepalived.conf" \
        -p "$d/keepalived.pid" -r "$d/vrrp.pid" -c "$d/checkers.pid" \
        </dev/null >>"$d/daemon.log" 2>&1 &
      ;;
    tandem)
      setsid ip netns exec "$ns" env RUST_LOG="${RUST_LOG:-info}" "$(lab_tandem_bin)" run -f "$d/keepalived.conf" \
        </dev/null >>"$d/daemon.log" 2>&1 &
      ;;
    *) echo "lab_start: unknown daemon kind '$kind'" >&2; return 1 ;;
  esac
  LAB_PID[$node]=$!
  LAB_KIND[$node]=$kind
}

# lab_kill_machine NODE: dies as a machine would — the daemon SIGKILLed (no
# goodbye advert), then its cables dead.
lab_kill_machine() {
  local node=$1 p=${LAB_PID[$1]:-}
  if [ -n "$p" ]; then
    kill -9 -- "-$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset "LAB_PID[$node]"
  fi
  ip -n "$(lab_ns "$node")" link set eth0 down
  ip -n "$(lab_ns "$node")" link set eth1 down
}

# lab_revive NODE KIND: boots again — no VIP left from before, links up,
# daemon started.
lab_revive() {
  local node=$1 ns
  ns=$(lab_ns "$node")
  ip -n "$ns" addr del "$LAB_VIP_OUT/24" dev eth0 2>/dev/null || true
  ip -n "$ns" addr del "$LAB_VIP_IN/24" dev eth1 2>/dev/null || true
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set eth1 up
  lab_start "$node" "$2"
}

# lab_term NODE: SIGTERM to the daemon (systemctl stop), no wait.
lab_term() { local p=${LAB_PID[$1]:-}; [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; true; }

# lab_wait_exit NODE SECONDS: waits for the daemon to exit; its status.
lab_wait_exit() {
  local node=$1 p=${LAB_PID[$1]:-} i rc
  [ -n "$p" ] || return 0
  for ((i = 0; i < $2 * 10; i++)); do
    if ! kill -0 "$p" 2>/dev/null; then
      wait "$p"; rc=$?
      unset "LAB_PID[$node]"
      return $rc
    fi
    sleep 0.1
  done
  return 124
}

# lab_reset: both balancers as freshly booted — daemons killed, no VIP
# left, links up, notify logs empty (between benchmark rounds).
lab_reset() {
  local n ns
  for n in lb1 lb2; do
    [ -n "${LAB_PID[$n]:-}" ] && lab_kill_machine "$n"
    ns=$(lab_ns "$n")
    ip -n "$ns" addr del "$LAB_VIP_OUT/24" dev eth0 2>/dev/null || true
    ip -n "$ns" addr del "$LAB_VIP_IN/24" dev eth1 2>/dev/null || true
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set eth1 up
    rm -f "$LAB_DIR/$n/notify.log"
  done
}

lab_alive() { local p=${LAB_PID[$1]:-}; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# lab_holders VIP: the balancers holding VIP on an interface that is up.
lab_holders() {
  local vip=$1 n out=()
  local addrs
  for n in lb1 lb2; do
    # Read all of ip's output first: `ip ... | grep -q` under pipefail
    # fails whenever grep exits before ip has finished writing (SIGPIPE).
    addrs=$(ip -n "$(lab_ns $n)" -o addr show up 2>/dev/null) || addrs=
    if grep -qw "inet6\? $vip/[0-9]*" <<<"$addrs"; then out+=("$n"); fi
  done
  [ ${#out[@]} -gt 0 ] && echo "${out[*]}" || echo none
}

# lab_state NODE INSTANCE: the last state the daemon's notify script got.
lab_state() {
  awk -v i="$2" '$2 == i { s = $3 } END { print s ? s : "none" }' "$LAB_DIR/$1/notify.log" 2>/dev/null || echo none
}

# lab_is_master NODE: NODE alone holds both VIPs and says MASTER for both.
lab_is_master() {
  local node=$1
  [ "$(lab_holders $LAB_VIP_OUT)" = "$node" ] && [ "$(lab_holders $LAB_VIP_IN)" = "$node" ] &&
    [ "$(lab_state "$node" VI_OUT)" = MASTER ] && [ "$(lab_state "$node" VI_IN)" = MASTER ]
}

# lab_wait SECONDS CMD...: polls CMD every 50 ms until it succeeds.
lab_wait() {
  local secs=$1 i; shift
  for ((i = 0; i < secs * 20; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}

# lab_http ROLE ADDR: the body of http://ADDR/ fetched from ROLE (the name
# of the balancer that answered), or nothing.
lab_http() {
  ip netns exec "$(lab_ns "$1")" curl -s --max-time "${3:-2}" "http://$2/" 2>/dev/null || true
}

# lab_neigh_mac ROLE ADDR: the MAC in ROLE's neighbour entry for ADDR.
lab_neigh_mac() {
  ip -n "$(lab_ns "$1")" neigh show "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'
}

# lab_spawn ROLE OUTFILE CMD...: a helper process in ROLE's namespace, in its
# own process group (killed by lab_down); its pid in LAB_SPAWNED.
lab_spawn() {
  local role=$1 out=$2; shift 2
  setsid ip netns exec "$(lab_ns "$role")" "$@" </dev/null >"$out" 2>&1 &
  LAB_SPAWNED=$!
  LAB_HELPERS+=("$LAB_SPAWNED")
}

# lab_stop PID: SIGTERM a helper's process group and reap it.
lab_stop() {
  kill -TERM -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
