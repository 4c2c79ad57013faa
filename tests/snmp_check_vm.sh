#!/usr/bin/env bash
# `enable_snmp_checker` against a real IPVS table: `tandem run` as AgentX
# subagent of Debian's snmpd, read with snmpwalk and heard with snmptrapd,
# then Debian's keepalived 2.2.7 (`keepalived -C`, its checker alone) with
# the same file on the same snmpd. Runs inside the test VM
# (tests/suites/64-check-vm.sh), in namespaces of its own that it removes
# on exit, with busybox httpd as real servers.
#
#   rs (198.51.100.10, .11: httpd) ──veth── lb (tandem, snmpd, snmptrapd)
#
# Proves: realServerTable's status and weight equal `ipvsadm -Ln` and
# `tandem status --json`, virtualServerRealServersUp the status's alive
# count; a real server's death is a realServerStateChange and, quorum 3
# lost, a virtualServerQuorumStateChange, while ipvsadm shows the weight 0
# (inhibit_on_failure) and the sorry server; then every object tandem
# serves under KEEPALIVED-MIB's check subtree is what keepalived serves for
# the same file and state, and keepalived's traps (the quorum met as its
# checker starts, then the death's two) carry the same varbinds, in the
# same order, as tandem's.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=tdm-snmpc-$$
lb=$tag-lb rs=$tag-rs
work=$(mktemp -d /tmp/tdm-snmpc.XXXXXX)
chmod 755 "$work"
pids=()
CHECK=.1.3.6.1.4.1.9586.100.5.3
export MIBS= SNMP_PERSISTENT_DIR=$work/persist
fail() {
  echo "snmp_check_vm: FAIL: $*" >&2
  echo "--- ipvsadm -Ln in lb:" >&2
  ip netns exec "$lb" ipvsadm -Ln >&2 || true
  for f in tandem.log keepalived.log traps.log; do
    echo "--- $f (last 20 lines):" >&2
    tail -n 20 "$work/$f" >&2 || true
  done
  exit 1
}
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "$lb" "$rs"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for t in snmpd snmptrapd snmpwalk; do
  command -v "$t" >/dev/null || fail "$t is not in the VM image (netns-lab/vm/build-image)"
done
for n in "$lb" "$rs"; do
  ip netns add "$n"
  ip -n "$n" link set lo up
done
ip -n "$lb" link add in0 type veth peer name in1 netns "$rs"
ip -n "$lb" addr add 198.51.100.254/24 dev in0
ip -n "$rs" addr add 198.51.100.10/24 dev in1
ip -n "$rs" addr add 198.51.100.11/24 dev in1
ip -n "$lb" link set in0 up
ip -n "$rs" link set in1 up
# A client on the balancer itself: the VIP on its loopback, the real
# servers' way back through it (IPVS serves local clients too).
ip -n "$lb" addr add 192.0.2.2/32 dev lo
ip -n "$rs" route add default via 198.51.100.254

httpd() { # name addr
  mkdir -p "$work/$1"
  echo "$1" >"$work/$1/index.html"
  ip netns exec "$rs" busybox httpd -f -p "$2:80" -h "$work/$1" &
  echo $! >"$work/$1.pid"
  pids+=("$!")
}
stop_httpd() { kill "$(cat "$work/$1.pid")"; wait "$(cat "$work/$1.pid")" 2>/dev/null || true; }
httpd rs1 198.51.100.10
httpd rs2 198.51.100.11

mkdir -p "$work/persist"
sock=$work/agentx.sock
cat >"$work/snmpd.conf" <<EOF
master agentx
agentXSocket $sock
agentaddress udp:127.0.0.1:161
rocommunity public 127.0.0.1
trap2sink 127.0.0.1:162 public
EOF
echo "authCommunity log public" >"$work/snmptrapd.conf"
ip netns exec "$lb" snmptrapd -f -On -C -c "$work/snmptrapd.conf" -Lf "$work/traps.log" udp:127.0.0.1:162 &
pids+=("$!")
ip netns exec "$lb" snmpd -f -C -Lf "$work/snmpd.log" -c "$work/snmpd.conf" &
pids+=("$!")

cat >"$work/lb.conf" <<EOF
global_defs {
    router_id lb-vm
    enable_snmp_checker
    enable_traps
    snmp_socket $sock
}
virtual_server 192.0.2.2 80 {
    delay_loop 1
    lvs_sched wrr
    lvs_method NAT
    protocol TCP
    quorum 3
    sorry_server 198.51.100.99 80
    snmp_name web
    real_server 198.51.100.10 80 {
        weight 1
        inhibit_on_failure
        snmp_name rs1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 198.51.100.11 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
EOF

until_() { # what cmd...: up to 60 s (by the clock: a walk takes a while under TCG)
  local what=$1 end=$((SECONDS + 60))
  shift
  while [ "$SECONDS" -lt "$end" ]; do
    if "$@"; then echo "ok: $what"; return 0; fi
    sleep 0.2
  done
  fail "$what"
}
# `snmpwalk` of the check subtree: "OID-without-prefix = value" lines.
walk() {
  ip netns exec "$lb" snmpwalk -v2c -c public -On -t 2 -r 1 127.0.0.1 "$CHECK" 2>/dev/null |
    sed -n "s|^$CHECK\(\.[0-9.]*\) = |\1 = |p"
}
get() { walk | sed -n "s|^$1 = ||p"; }
weight() { ip netns exec "$lb" ipvsadm -Ln | awk -v a="$1" '$1 == "->" && $2 == a { print $4 }'; }
sock_ctl=$work/tandem.sock
status() { ip netns exec "$lb" tandem status --json --socket "$sock_ctl"; }
[ -S "$sock" ] || until_ "snmpd's AgentX socket" test -S "$sock"

ip netns exec "$lb" tandem run -f "$work/lb.conf" --control-socket "$sock_ctl" >"$work/tandem.log" 2>&1 &
tandem=$!
pids+=("$tandem")
both_up() { [ "$(weight 198.51.100.10:80)" = 1 ] && [ "$(weight 198.51.100.11:80)" = 2 ]; }
until_ "both real servers in the table at their weights" both_up
# realServerWeight is the real server's own weight (keepalived's effective
# weight): IPVS's while it serves, also in sorry mode where IPVS has 0.
walk_agrees() { # rs1-status rs1-weight-in-ipvs up-count quorum-status
  local w
  w=$(walk)
  grep -qx "\.4\.1\.6\.1\.2 = INTEGER: $1" <<<"$w" &&
    grep -qx "\.4\.1\.7\.1\.2 = INTEGER: 1" <<<"$w" &&
    grep -qx "\.4\.1\.6\.1\.3 = INTEGER: 1" <<<"$w" &&
    grep -qx "\.4\.1\.7\.1\.3 = INTEGER: 2" <<<"$w" &&
    grep -qx "\.3\.1\.21\.1 = Gauge32: $3" <<<"$w" &&
    grep -qx "\.3\.1\.23\.1 = INTEGER: $4" <<<"$w" &&
    [ "$(status | grep -c '"alive": true')" = "$3" ] &&
    [ "$(weight 198.51.100.10:80)" = "$2" ]
}
until_ "the walk: both alive at ipvsadm's weights, 2 up as the status says, quorum met" walk_agrees 1 1 2 1
grep -qx '\.3\.1\.6\.1 = Hex-STRING: C0 00 02 02 ' <<<"$(walk)" || fail "virtualServerAddress"
grep -qx '\.3\.1\.71\.1 = STRING: "web"' <<<"$(walk)" || fail "virtualServerName"
grep -qx '\.4\.1\.2\.1\.1 = INTEGER: 2' <<<"$(walk)" || fail "the sorry server is not row 1"
# The kernel's counters arrive with the 5 s poll. (A function, so that
# until_ walks again each time rather than testing one walk made before.)
has_counters() { test -n "$(get .4.1.15.1.3)"; }
until_ "IPVS counters in the walk" has_counters
walk >"$work/tandem.walk"
# Traffic, then the counters against ipvsadm's.
get_vip='exec 3<>/dev/tcp/192.0.2.2/80 && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3 >/dev/null'
for _ in 1 2 3 4; do ip netns exec "$lb" timeout 3 bash -c "$get_vip" || true; done
# `ipvsadm -Ln --stats --exact`: "Conns InPkts OutPkts InBytes OutBytes" of
# the service, then of 198.51.100.11:80.
exact() { ip netns exec "$lb" ipvsadm -Ln --stats --exact -t 192.0.2.2:80 | awk -v a="$1" '$2 == a { print $3, $4, $5, $6, $7 }'; }
counters_agree() {
  local w s d
  w=$(walk)
  s=$(exact 192.0.2.2:80)
  d=$(exact 198.51.100.11:80)
  set -- $s
  [ "${1:-0}" -gt 0 ] &&
    grep -qx "\.3\.1\.27\.1 = Gauge32: $1" <<<"$w" &&
    grep -qx "\.3\.1\.28\.1 = Counter32: $2" <<<"$w" &&
    grep -qx "\.3\.1\.29\.1 = Counter32: $3" <<<"$w" &&
    grep -qx "\.3\.1\.30\.1 = Counter64: $4" <<<"$w" &&
    grep -qx "\.3\.1\.31\.1 = Counter64: $5" <<<"$w" &&
    set -- $d &&
    grep -qx "\.4\.1\.14\.1\.3 = Gauge32: $1" <<<"$w" &&
    grep -qx "\.4\.1\.18\.1\.3 = Counter32: $2" <<<"$w" &&
    grep -qx "\.4\.1\.20\.1\.3 = Counter64: $4" <<<"$w"
}
until_ "virtualServerStats* and realServerStats* equal ipvsadm -Ln --stats --exact" counters_agree
echo "   ($(exact 192.0.2.2:80) for the service)"

stop_httpd rs1
until_ "rs1 down: weight 0 in ipvsadm (inhibited), the sorry server in, the walk says dead, 1 up, quorum not met" \
  walk_agrees 2 0 1 2
[ "$(weight 198.51.100.99:80)" = 1 ] || fail "no sorry server in the table"
trap_lines() { # N: the checkTraps.N lines, from snmpTrapOID.0 on
  grep -o "\.1\.3\.6\.1\.6\.3\.1\.1\.4\.1\.0 = OID: $CHECK\.5\.0\.$1.*" "$work/traps.log" 2>/dev/null || true
}
rs_down_trap() { trap_lines 1 | grep -q "$CHECK.4.1.6 = INTEGER: 2"; }
quorum_trap() { trap_lines 2 | grep -q "$CHECK.3.1.23 = INTEGER: 2"; }
until_ "realServerStateChange (dead) at snmptrapd" rs_down_trap
until_ "virtualServerQuorumStateChange (notMet) at snmptrapd" quorum_trap
walk >"$work/tandem.down.walk"
trap_lines 1 >"$work/tandem.trap1"
trap_lines 2 >"$work/tandem.trap2"
kill -TERM "$tandem"
wait "$tandem" || fail "tandem run did not exit cleanly"
walk_empty() { test -z "$(walk)"; }
until_ "tandem's subtree gone from snmpd" walk_empty

# ---- the same file, the same deaths, with keepalived's checker --------------
: >"$work/traps.log"
httpd rs1 198.51.100.10
ip netns exec "$lb" keepalived -n -l -C -f "$work/lb.conf" \
  -p "$work/ka.pid" -c "$work/ka-chk.pid" >"$work/keepalived.log" 2>&1 &
ka=$!
pids+=("$ka")
ka_up() { both_up && [ "$(get .3.1.21.1)" = "Gauge32: 2" ]; }
until_ "keepalived: both real servers in the table and in its walk" ka_up
walk >"$work/keepalived.walk"
diff_walks() { # KEEPALIVED-WALK TANDEM-WALK: tandem's objects keepalived has otherwise or not at all
  awk -F' = ' 'NR == FNR { k[$1] = $2; next } !($1 in k) || k[$1] != $2 { print $1 " = " $2 " (keepalived: " (($1 in k) ? k[$1] : "absent") ")" }' \
    "$1" "$2"
}
# realServerStatsActive/Inactive/PersistentConns aside: the kernel's
# connection entries from tandem's traffic outlive its service and are
# counted again on keepalived's same destinations.
grep -Ev '^\.4\.1\.1[5-7]\.' "$work/tandem.walk" >"$work/tandem.walk.noconns"
d=$(diff_walks "$work/keepalived.walk" "$work/tandem.walk.noconns")
[ -z "$d" ] || fail "both up: tandem's objects differ from keepalived's:
$d"
echo "ok: both up: $(wc -l <"$work/tandem.walk.noconns") objects of tandem's walk equal to keepalived's ($(wc -l <"$work/keepalived.walk") walked)"
stop_httpd rs1
until_ "keepalived: rs1 down, quorum lost" quorum_trap
until_ "keepalived: its realServerStateChange" rs_down_trap
ka_down() { [ "$(get .4.1.13.1.2)" = "Gauge32: 1" ] && [ "$(get .3.1.23.1)" = "INTEGER: 2" ]; }
until_ "keepalived's walk: rs1 failing, quorum not met" ka_down
walk >"$work/keepalived.down.walk"
# tandem's counters count the traffic above; keepalived's table saw none.
grep -Ev '^\.3\.1\.(2[7-9]|3[0-9]|4[0-9]|50)\.|^\.4\.1\.(1[4-9]|2[0-9]|3[0-9])\.' "$work/tandem.down.walk" >"$work/tandem.down.nostats"
d=$(diff_walks "$work/keepalived.down.walk" "$work/tandem.down.nostats")
[ -z "$d" ] || fail "rs1 down: tandem's objects differ from keepalived's:
$d"
echo "ok: rs1 down, sorry server in: $(wc -l <"$work/tandem.down.walk") objects of tandem's walk equal to keepalived's"
# The columns keepalived fills and tandem does not (the status model has no value).
echo "only keepalived: $(sed -n 's/^\.\([34]\)\.1\.\([0-9]*\)\..* = .*/\1.\2/p' "$work/keepalived.down.walk" |
  sort -u -t. -k1,1n -k2,2n | while read -r c; do grep -q "^\.${c%.*}\.1\.${c#*.}\." "$work/tandem.down.walk" || printf '%s ' "$c"; done)"
for n in 1 2; do
  # All of them, from snmpTrapOID.0 on (sysUpTime differs).
  [ "$(trap_lines $n)" = "$(cat "$work/tandem.trap$n")" ] ||
    fail "checkTraps.$n differs: tandem [$(cat "$work/tandem.trap$n")], keepalived [$(trap_lines $n)]"
done
echo "ok: realServerStateChange and virtualServerQuorumStateChange carry keepalived's varbinds"
kill -TERM "$ka"
wait "$ka" || true
echo "snmp_check_vm: PASS"
