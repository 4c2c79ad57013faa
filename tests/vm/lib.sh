# Shared helpers of the tests that run inside the test VM (tests/vm/t-*.sh).
# Sourced by bash. Every test builds its own network namespaces (IPVS state
# is per namespace, so each namespace is an independent balancer), named
# tdm-vm-<test>-<pid>-*, and removes them on exit, also on failure.
set -euo pipefail

VM_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
CONFIGS=$VM_TESTS/configs
TEST_NAME=$(basename "$0" .sh)
NS_PREFIX="tdm-vm-${TEST_NAME#t-}-$$"
NS_PREFIX=${NS_PREFIX:0:24}
SCRATCH=$(mktemp -d "/tmp/$TEST_NAME.XXXXXX")

_namespaces=()
_pids=()
_cleanup() {
  local rc=$? p ns
  for p in "${_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for ns in "${_namespaces[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$SCRATCH"
  exit "$rc"
}
trap _cleanup EXIT

# A test that sets CHECKING=TAG has its captures of that round
# ($SCRATCH/TAG-c1.txt, TAG-pa.txt) and its daemon's log (TAG.log) shown
# when it fails.
CHECKING=
fail() {
  if [ -n "$CHECKING" ]; then
    for f in "$CHECKING-c1.txt" "$CHECKING-pa.txt" "$CHECKING.log"; do
      echo "--- $f:" >&2
      head -20 "$SCRATCH/$f" >&2
    done
  fi
  echo "FAIL: $*" >&2
  exit 1
}

# garps FILE SRC_MAC VIP: the times of the gratuitous ARPs for VIP from
# SRC_MAC in a `tcpdump -e` capture (which shows a target MAC that is not
# zero: "who-has X (MAC) tell X").
garps() {
  grep -F "$2 >" "$1" | grep -F "who-has $3 " | grep -F "tell $3," | awk '{print $1}' || true
}
note() { echo "  $*"; }

# Remember a background process so that the test's exit stops it.
track_pid() { _pids+=("$1"); }

# ns_new VAR SUFFIX: a fresh namespace with loopback up, its name in VAR.
# (Not a $(...) helper: the cleanup list must be kept in this shell.)
ns_new() {
  local _nns="$NS_PREFIX-$2"
  ip netns add "$_nns"
  _namespaces+=("$_nns")
  ip -n "$_nns" link set lo up
  printf -v "$1" '%s' "$_nns"
}

# balancer_ns VAR SUFFIX: a namespace standing for a balancer without a lab
# around it. The kernel refuses a destination it has no route to, so a dummy
# interface carries the real servers' networks (and the VIPs' networks, for
# completeness).
balancer_ns() {
  local _bns
  ns_new _bns "$2"
  # One `ip` process for all of it: every exec is slow under emulation.
  ip -n "$_bns" -batch - <<'IP'
link add d0 type dummy
link set d0 up
addr add 192.0.2.1/24 dev d0
addr add 198.51.100.1/24 dev d0
addr add 203.0.113.1/24 dev d0
addr add 2001:db8::1/64 dev d0 nodad
addr add 2001:db8:1::1/64 dev d0 nodad
addr add 2001:db8:2::1/64 dev d0 nodad
IP
  printf -v "$1" '%s' "$_bns"
}

# ipvs_snapshot NS: IPVS as `ipvsadm` (an independent reader) shows it,
# every view that carries configured fields: scheduler, flags, persistence
# and mask (-Ln), tunnel type/port/checksum (--tun-info), thresholds,
# persistent connections and counters. Trailing blanks removed.
ipvs_snapshot() {
  # One process in the namespace for all five views (exec is slow under
  # emulation).
  # shellcheck disable=SC2016 # expanded by the inner bash
  ip netns exec "$1" bash -c '
    for view in "" --tun-info --thresholds --persistent-conn --stats; do
      echo "## ipvsadm -Ln $view"
      ipvsadm -Ln $view
    done' | sed 's/[[:space:]]*$//'
}

# ipvs_rules NS: the table in ipvsadm's save format, one line per entry.
ipvs_rules() { ip netns exec "$1" ipvsadm -Sn; }

# expect_snapshot NS FILE WHAT: the namespace's table equals FILE.
expect_snapshot() {
  local ns=$1 file=$2 what=$3
  ipvs_snapshot "$ns" >"$SCRATCH/actual"
  if ! diff -u "$file" "$SCRATCH/actual" >"$SCRATCH/diff"; then
    echo "--- $what: ipvsadm shows a table other than $(basename "$file") expects:" >&2
    cat "$SCRATCH/diff" >&2
    return 1
  fi
}

# wait_for_snapshot NS FILE SECONDS: poll until the table equals FILE.
wait_for_snapshot() {
  local ns=$1 file=$2 end=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$end" ]; do
    ipvs_snapshot "$ns" | cmp -s - "$file" && return 0
    sleep 0.2
  done
  return 1
}

# keepalived_checker NS CONF: keepalived's checker process alone (-C), which
# programs IPVS from CONF's virtual_server blocks, in NS. Its pid goes to
# KEEPALIVED_PID, its log to $SCRATCH/<conf>.keepalived.log.
keepalived_checker() {
  local ns=$1 conf=$2 tag
  tag=$(basename "$conf" .conf)
  ip netns exec "$ns" keepalived -C -n -l -D -f "$conf" \
    -p "$SCRATCH/$tag.pid" -c "$SCRATCH/$tag.check.pid" \
    >"$SCRATCH/$tag.keepalived.log" 2>&1 &
  KEEPALIVED_PID=$!
  track_pid "$KEEPALIVED_PID"
}

# stop_pid PID: stop a process and wait for it.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

require_tandem_ipvs() {
  tandem ipvs --help >/dev/null 2>&1 ||
    fail "this tandem has no 'ipvs' subcommand (apply/dump/flush): the IPVS client is missing"
}

# lab_topology: the namespaces of a small LVS-NAT site, named in LAB_CLIENT,
# LAB_BALANCER, LAB_RS1, LAB_RS2:
#
#   client 192.0.2.100 ---- 192.0.2.1 (VIP 192.0.2.10)  balancer
#          2001:db8::100    2001:db8::1 (VIP 2001:db8::10)
#                           br0 198.51.100.1, 2001:db8:1::1
#                            |                       |
#   rs1 198.51.100.11, 2001:db8:1::11   rs2 198.51.100.12, 2001:db8:1::12
#
# The real servers' default route is the balancer (LVS-NAT needs the replies
# to pass through it), and each serves its own name over HTTP (busybox httpd).
lab_topology() {
  local n
  ns_new LAB_CLIENT client
  ns_new LAB_BALANCER lb
  ns_new LAB_RS1 rs1
  ns_new LAB_RS2 rs2

  ip -n "$LAB_CLIENT" link add c0 type veth peer name b0 netns "$LAB_BALANCER"
  ip -n "$LAB_CLIENT" addr add 192.0.2.100/24 dev c0
  ip -n "$LAB_CLIENT" addr add 2001:db8::100/64 dev c0 nodad
  ip -n "$LAB_CLIENT" link set c0 up
  ip -n "$LAB_BALANCER" addr add 192.0.2.1/24 dev b0
  ip -n "$LAB_BALANCER" addr add 192.0.2.10/24 dev b0
  ip -n "$LAB_BALANCER" addr add 2001:db8::1/64 dev b0 nodad
  ip -n "$LAB_BALANCER" addr add 2001:db8::10/64 dev b0 nodad
  ip -n "$LAB_BALANCER" link set b0 up

  ip -n "$LAB_BALANCER" link add br0 type bridge
  ip -n "$LAB_BALANCER" addr add 198.51.100.1/24 dev br0
  ip -n "$LAB_BALANCER" addr add 2001:db8:1::1/64 dev br0 nodad
  ip -n "$LAB_BALANCER" link set br0 up
  ip netns exec "$LAB_BALANCER" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$LAB_BALANCER" sysctl -qw net.ipv6.conf.all.forwarding=1

  for n in 1 2; do
    local rs_ns_var="LAB_RS$n"
    local rs=${!rs_ns_var}
    ip -n "$LAB_BALANCER" link add "p$n" type veth peer name eth0 netns "$rs"
    ip -n "$LAB_BALANCER" link set "p$n" master br0 up
    ip -n "$rs" addr add "198.51.100.1$n/24" dev eth0
    ip -n "$rs" addr add "2001:db8:1::1$n/64" dev eth0 nodad
    ip -n "$rs" link set eth0 up
    ip -n "$rs" route add default via 198.51.100.1
    ip -n "$rs" -6 route add default via 2001:db8:1::1
    mkdir -p "$SCRATCH/www$n"
    echo "rs$n" >"$SCRATCH/www$n/index.html"
    ip netns exec "$rs" httpd -f -p 80 -h "$SCRATCH/www$n" &
    track_pid $!
  done
}

# http_get NS URL: the body of URL fetched from NS (busybox wget under
# timeout: `wget -T` crashes in this busybox).
http_get() {
  ip netns exec "$1" timeout 5 wget -q -O - "$2"
}

# expect_alternation NS URL COUNT: COUNT requests to URL from NS are
# answered by rs1 and rs2 in turn (round robin over two equal real servers).
expect_alternation() {
  local ns=$1 url=$2 count=$3 i body prev="" seen=""
  for i in $(seq "$count"); do
    body=$(http_get "$ns" "$url") || fail "request $i to $url got no answer"
    note "request $i to $url: $body"
    case "$body" in rs1 | rs2) ;; *) fail "request $i to $url: unexpected answer '$body'" ;; esac
    [ "$body" != "$prev" ] || fail "request $i to $url: $body answered twice in a row (no round robin)"
    prev=$body
    seen="$seen $body"
  done
  case "$seen" in *rs1*rs2* | *rs2*rs1*) ;; *) fail "only one real server answered:$seen" ;; esac
}

# tandem_apply NS ARGS...: `tandem ipvs apply ARGS` in NS; its output in
# $SCRATCH/apply.out, the netlink operations it performed in APPLY_OPS.
tandem_apply() {
  local ns=$1
  shift
  if ! ip netns exec "$ns" tandem ipvs apply "$@" >"$SCRATCH/apply.out" 2>"$SCRATCH/apply.err"; then
    cat "$SCRATCH/apply.out" "$SCRATCH/apply.err" >&2
    fail "tandem ipvs apply $* failed"
  fi
  APPLY_OPS=$(sed -n 's/^operations: \([0-9]*\).*/\1/p' "$SCRATCH/apply.out")
  [ -n "$APPLY_OPS" ] || { cat "$SCRATCH/apply.out" >&2; fail "tandem ipvs apply printed no operation count"; }
}

# expect_ops N [WHAT]: the last tandem_apply performed exactly N operations
# (and, with WHAT, they are exactly the lines WHAT, e.g. "SET_DEST").
expect_ops() {
  local n=$1 what=${2:-} got
  if [ "$APPLY_OPS" != "$n" ]; then
    cat "$SCRATCH/apply.out" >&2
    fail "tandem performed $APPLY_OPS netlink operations, expected $n"
  fi
  if [ -n "$what" ]; then
    got=$(grep -v '^operations:' "$SCRATCH/apply.out" | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$what" ] || fail "tandem's operations were '$got', expected '$what'"
  fi
}

# entry_count FILE: services + destinations in an expected snapshot.
entry_count() {
  awk '/^## / { n++ } n == 1 && ($1 ~ /^(TCP|UDP|SCTP|FWM)$/ || $1 == "->") && $2 != "RemoteAddress:Port" { c++ } END { print c + 0 }' "$1"
}

# Edits of the configurations in tests/vm/configs (their layout: a
# virtual_server line at column 0, its keywords and real_server lines
# indented by two, the real server's keywords by four).
#
# conf_set FILE VS RS KEY [VALUE...]: in virtual server VS ("ADDR PORT" or
# "fwmark N"), or in its real server RS ("ADDR PORT", or "" for the virtual
# server itself), replace the KEY line by "KEY VALUE..."; no VALUE removes it.
conf_set() {
  local file=$1 vs=$2 rs=$3 key=$4
  shift 4
  awk -v vs="$vs" -v rs="$rs" -v key="$key" -v val="$*" '
    function target() { return cur_vs == vs && cur_rs == rs }
    /^virtual_server / { cur_vs = $2 " " $3; cur_rs = ""; print; if (target() && val != "") print "  " key " " val; next }
    /^  real_server / { cur_rs = $2 " " $3; print; if (target() && val != "") print "    " key " " val; next }
    /^  }/ { if (cur_rs != "") { cur_rs = ""; print; next } }
    /^}/ { cur_vs = "" }
    target() && $1 == key { next }
    { print }' "$file" >"$file.new"
  mv "$file.new" "$file"
}

# conf_flag FILE VS KEY: add the bare keyword KEY (a flag such as sh-port)
# to virtual server VS.
conf_flag() {
  awk -v vs="$2" -v key="$3" '
    { print }
    /^virtual_server / && $2 " " $3 == vs { print "  " key }' "$1" >"$1.new"
  mv "$1.new" "$1"
}

# conf_del_rs FILE VS RS: remove real server RS from virtual server VS.
conf_del_rs() {
  awk -v vs="$2" -v rs="$3" '
    /^virtual_server / { cur_vs = $2 " " $3 }
    /^  real_server / && cur_vs == vs && $2 " " $3 == rs { skip = 1 }
    skip { if ($0 ~ /^  }/) skip = 0; next }
    { print }' "$1" >"$1.new"
  mv "$1.new" "$1"
}

# conf_add_rs FILE VS RS WEIGHT: add real server RS to virtual server VS.
conf_add_rs() {
  awk -v vs="$2" -v rs="$3" -v w="$4" '
    { print }
    /^virtual_server / && $2 " " $3 == vs { print "  real_server " rs " {"; print "    weight " w; print "  }" }' "$1" >"$1.new"
  mv "$1.new" "$1"
}

# conf_del_vs FILE VS: remove virtual server VS.
conf_del_vs() {
  awk -v vs="$2" '
    /^virtual_server / && $2 " " $3 == vs { skip = 1 }
    skip { if ($0 ~ /^}/) skip = 0; next }
    { print }' "$1" >"$1.new"
  mv "$1.new" "$1"
}

# for_each_config "$@": with no arguments, run this test once per
# configs/*.conf (as `bash TEST NAME`, each with its own namespaces and
# cleanup) so that every configuration is tried and reported, and exit with
# the outcome; with a NAME, return and let the test check that one.
for_each_config() {
  [ $# -eq 0 ] || return 0
  local conf name failed=()
  for conf in "$CONFIGS"/*.conf; do
    name=$(basename "$conf" .conf)
    bash "$0" "$name" || failed+=("$name")
  done
  [ ${#failed[@]} -eq 0 ] || fail "configurations failing: ${failed[*]}"
  exit 0
}

# lab_dr_tun: on top of lab_topology, what LVS-DR and LVS-TUN need: the
# VIPs 192.0.2.20 (DR) and 192.0.2.30 (TUN) on the balancer, and on each real
# server 192.0.2.20 on lo and 192.0.2.30 on the IPIP device tunl0, without
# answering ARP for them (arp_ignore/arp_announce) and without reverse-path
# filtering the decapsulated packets.
#
# The real servers' replies (source: the VIP) pass through the balancer on
# their way to the client, because the lab has no other router; the
# balancer owns the VIP too, so it must accept packets from a local source
# address (accept_local) to forward them.
lab_dr_tun() {
  local rs
  ip -n "$LAB_BALANCER" addr add 192.0.2.20/24 dev b0
  ip -n "$LAB_BALANCER" addr add 192.0.2.30/24 dev b0
  ip netns exec "$LAB_BALANCER" sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.br0.accept_local=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.br0.rp_filter=0
  for rs in "$LAB_RS1" "$LAB_RS2"; do
    ip netns exec "$rs" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    ip -n "$rs" -batch - <<'IP'
addr add 192.0.2.20/32 dev lo
link set tunl0 up
addr add 192.0.2.30/32 dev tunl0
IP
    ip netns exec "$rs" sysctl -qw net.ipv4.conf.tunl0.rp_filter=0
  done
}
