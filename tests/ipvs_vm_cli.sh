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
echo "ipvs_vm_cli: all ok"
