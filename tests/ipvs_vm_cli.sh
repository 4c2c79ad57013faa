#!/usr/bin/env bash
# `tandem ipvs apply/dump/flush` (and `apply --then`) against a real IPVS
# kernel, read back with ipvsadm. Runs inside the test VM
# (tests/suites/62-ipvs-kernel.sh), in a network namespace of its own that
# it removes on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
fx=tests/fixtures/ipvs
ns=tdm-ipvscli-$$
fail() { echo "ipvs_vm_cli: FAIL: $*" >&2; exit 1; }
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
x() { ip netns exec "$ns" "$@"; }
x ip link set lo up
x ip link add d0 type dummy
x ip link set d0 up
x ip addr add 198.51.100.254/24 dev d0
x ip -6 addr add 2001:db8:1::fe/64 dev d0 nodad

# ipvsadm -Ln, whitespace squeezed, services sorted with their destinations.
table() {
  x ipvsadm -Ln "$@" | tail -n +4 | tr -s ' ' | sed 's/ $//' |
    awk '/^ *->/ { print svc "|" $0; next } { svc = $0; print svc }' | sort
}
expect() { # name, expected, actual
  [ "$2" = "$3" ] || { printf 'expected:\n%s\ngot:\n%s\n' "$2" "$3" >&2; fail "$1"; }
  echo "ok: $1"
}

out=$(x tandem ipvs apply -f $fx/web.conf)
expect "first apply: 3 services + 5 destinations" "operations: 8" "$(tail -n 1 <<<"$out")"
want=$(printf '%s\n' \
  "FWM 7 IPv6 sh" \
  "FWM 7 IPv6 sh| -> [2001:db8:1::2]:0 Route 2 0 0" \
  "TCP 192.0.2.10:443 wlc persistent 300 mask 255.255.255.0" \
  "TCP 192.0.2.10:443 wlc persistent 300 mask 255.255.255.0| -> 198.51.100.1:443 Masq 3 0 0" \
  "TCP 192.0.2.10:443 wlc persistent 300 mask 255.255.255.0| -> 198.51.100.2:443 Masq 1 0 0" \
  "TCP 192.0.2.10:80 rr" \
  "TCP 192.0.2.10:80 rr| -> 198.51.100.1:80 Masq 1 0 0" \
  "TCP 192.0.2.10:80 rr| -> 198.51.100.2:80 Masq 1 0 0" | sort)
expect "ipvsadm reads back the configuration" "$want" "$(table)"
th=$(table --thresholds | grep '198.51.100.1:443' | sed 's/.*-> //')
expect "thresholds" "198.51.100.1:443 500 100 0 0" "$th"

out=$(x tandem ipvs apply -f $fx/web.conf)
expect "second apply changes nothing" "operations: 0" "$out"

out=$(x tandem ipvs apply -f $fx/web-weight.conf)
expect "one weight changed: one SET_DEST" \
  "$(printf 'SET_DEST TCP 192.0.2.10:443 -> 198.51.100.1:443 Masq weight 5\noperations: 1')" "$out"
table | grep -q '198.51.100.1:443 Masq 5 ' || fail "weight 5 not in ipvsadm -Ln"

x ipvsadm -A -t 203.0.113.5:80 -s rr
out=$(x tandem ipvs apply -f $fx/web-weight.conf)
expect "a service added by hand is left alone" "operations: 0" "$out"
out=$(x tandem ipvs apply --lvs-flush -f $fx/web-weight.conf)
expect "--lvs-flush removes it" "$(printf 'DEL_SERVICE TCP 203.0.113.5:80\noperations: 1')" "$out"

x tandem ipvs dump --table >/tmp/ipvs-table.json
x tandem ipvs flush >/dev/null
[ -z "$(table)" ] || fail "flush left services"
out=$(x tandem ipvs apply --table /tmp/ipvs-table.json)
expect "dump --table round trip" "operations: 8" "$(tail -n 1 <<<"$out")"
out=$(x tandem ipvs apply -f $fx/web-weight.conf)
expect "round-tripped table equals the configuration" "operations: 0" "$out"

# A refusal: reported, counted, exit status 1, the rest applied.
sed 's/"weight": 2,/"weight": -1,/' /tmp/ipvs-table.json >/tmp/ipvs-bad.json
x tandem ipvs flush >/dev/null
rc=0; out=$(x tandem ipvs apply --table /tmp/ipvs-bad.json 2>/tmp/err) || rc=$?
expect "a refused operation exits 1" 1 "$rc"
expect "refusal counted" "operations: 8 (1 refused)" "$(tail -n 1 <<<"$out")"
grep -q 'refused: NEW_DEST FWM 7 IPv6 -> \[2001:db8:1::2\]:0 Route weight -1' /tmp/err || {
  cat /tmp/err >&2; fail "refusal message"; }
[ "$(table | grep -c -- '->')" = 4 ] || fail "the other destinations were not applied"

# The daemon's way: one client and one reconciler; the second step plans
# from what the first left in the kernel, so the one change is one request
# and no read (no dump).
x tandem ipvs flush >/dev/null
out=$(x tandem ipvs apply -f $fx/web.conf --then $fx/web-weight.conf)
# The first step: resolve the family and dump the (empty) table, 2 reads; the
# 8 changes in one batch: 3 sendmsg.
grep -q '^first: 8 operations; changes 8, reads 2, sends 3, ' <<<"$out" || {
  echo "$out" >&2; fail "apply --then: the first step"; }
expect "apply --then: the second step is one SET_DEST, no read, one sendmsg" \
  "$(printf 'SET_DEST TCP 192.0.2.10:443 -> 198.51.100.1:443 Masq weight 5\noperations: 1\nreads: 0\nsends: 1')" \
  "$(sed -n '2,5p' <<<"$out")"
grep -q '^time_us: [0-9][0-9]*$' <<<"$out" || { echo "$out" >&2; fail "apply --then prints no time"; }
table | grep -q '198.51.100.1:443 Masq 5 ' || fail "apply --then: weight 5 not in ipvsadm -Ln"

# --- the connection sync daemons: `tandem ipvs daemon start|stop|list` ------
# Every attribute set to a value other than the kernel's default, for both
# daemons and both group families, read back by ipvsadm (which reads the
# kernel's reply with libnl on its own) and by tandem; then stopped. The
# groups are link-local in scope (224.0.0.0/24, ff02::/16) on a veth pair
# inside this namespace.
x ip link add s0 type veth peer name s1
for i in s0 s1; do x ip link set "$i" up; done
x ip addr add 192.0.2.201/24 dev s0
x ip addr add 192.0.2.202/24 dev s1
x ip -6 addr add 2001:db8:5::1/64 dev s0 nodad
x ip -6 addr add 2001:db8:5::2/64 dev s1 nodad
daemons() { x ipvsadm -L --daemon | sort; }
tdaemons() { x tandem ipvs daemon list | sort; }
for pass in 1 2; do
  if [ "$pass" = 1 ]; then g_m=224.0.0.82 g_b=ff02::8848; else g_m=ff02::8849 g_b=224.0.0.83; fi
  out=$(x tandem ipvs daemon start master --ifname s0 --syncid 201 --maxlen 1400 \
    --port 4660 --ttl 7 --group $g_m)
  expect "daemon start master prints what it sent ($pass)" \
    "NEW_DAEMON master sync daemon (mcast=s0, syncid=201, maxlen=1400, group=$g_m, port=4660, ttl=7)" "$out"
  # The backup's maxlen is at least 1024 in the kernel (start_sync_thread).
  x tandem ipvs daemon start backup --ifname s1 --syncid 202 --maxlen 1600 \
    --port 4661 --ttl 9 --group $g_b >/dev/null
  want=$(printf '%s\n' \
    "backup sync daemon (mcast=s1, syncid=202, maxlen=1600, group=$g_b, port=4661, ttl=9)" \
    "master sync daemon (mcast=s0, syncid=201, maxlen=1400, group=$g_m, port=4660, ttl=7)")
  expect "ipvsadm -L --daemon shows every attribute as set ($pass)" "$want" "$(daemons)"
  expect "tandem ipvs daemon list reads back the same ($pass)" "$want" "$(tdaemons)"
  json=$(x tandem ipvs daemon list --json)
  grep -q '"mcast_port": 4661' <<<"$json" || { echo "$json" >&2; fail "daemon list --json: port"; }
  # The port the backup's kernel socket is bound to (/proc/net/udp*: local
  # port in hex): 4661 = 0x1235, not the byte-swapped 0x3512.
  if [ "$pass" = 1 ]; then udp=/proc/net/udp6; else udp=/proc/net/udp; fi
  x cat "$udp" | awk '{ print $2 }' | grep -q ':1235$' || {
    x cat "$udp" >&2; fail "no socket bound to UDP port 4661 in $udp ($pass)"; }
  rc=0; x tandem ipvs daemon start master --ifname s0 2>/tmp/err >/dev/null || rc=$?
  expect "a second master is refused ($pass)" 1 "$rc"
  grep -qi 'exists' /tmp/err || { cat /tmp/err >&2; fail "EEXIST not reported"; }
  out=$(x tandem ipvs daemon stop master)
  expect "daemon stop master ($pass)" "DEL_DAEMON master" "$out"
  expect "only the backup is left ($pass)" "$(sed -n 1p <<<"$want")" "$(daemons)"
  x tandem ipvs daemon stop backup >/dev/null
  expect "stop removes both ($pass)" "" "$(daemons)"
  expect "tandem lists none ($pass)" "" "$(tdaemons)"
done
rc=0; x tandem ipvs daemon stop backup 2>/tmp/err || rc=$?
expect "stopping a daemon that does not run fails" 1 "$rc"
rc=0; x tandem ipvs daemon start backup --ifname nosuch0 2>/tmp/err || rc=$?
expect "an unknown interface is refused" 1 "$rc"
grep -qi 'no such device' /tmp/err || { cat /tmp/err >&2; fail "ENODEV not reported"; }
rc=0; x tandem ipvs daemon start master --ifname s0 --group 192.0.2.9 2>/tmp/err || rc=$?
expect "a unicast group is a usage error" 2 "$rc"
expect "nothing started by the refusals" "" "$(daemons)"
# What ipvsadm starts, tandem reads as ipvsadm does (defaults filled in by
# the kernel: the backup's maxlen from the MTU, group, port, ttl).
x ipvsadm --start-daemon master --mcast-interface s0 --syncid 7 --sync-maxlen 1300 \
  --mcast-group 224.0.0.84 --mcast-port 4662 --mcast-ttl 5
x ipvsadm --start-daemon backup --mcast-interface s1 --syncid 8
expect "a daemon ipvsadm started reads the same in tandem" "$(daemons)" "$(tdaemons)"
grep -q '^backup sync daemon (mcast=s1, syncid=8, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)$' <<<"$(tdaemons)" ||
  { tdaemons >&2; fail "the kernel's defaults"; }
x tandem ipvs daemon stop master >/dev/null
x tandem ipvs daemon stop backup >/dev/null
expect "tandem stops what ipvsadm started" "" "$(daemons)"
echo "ipvs_vm_cli: all ok"
