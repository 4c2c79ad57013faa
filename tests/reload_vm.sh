#!/usr/bin/env bash
# Reload against a real IPVS kernel: `tandem run` in the test VM with one
# virtual server, then `tandem reload` with an unchanged (comment-only)
# file and with a bad file: neither may touch the IPVS table (ipvsadm -Ln
# stays byte for byte the same and the daemon logs no IPVS operation;
# "IPVS table reconciled operations=N commands=..." is logged for every
# non-empty batch). Then related changes are applied live with the minimal
# change: one real server's weight -> exactly one SET_DEST; one real server
# added -> exactly one NEW_DEST; a changed global_defs is still refused.
# Runs inside the VM
# (tests/suites/66-reload-vm.sh), in namespaces it removes on exit.
#
#   rs (198.51.100.10, .11: busybox httpd) ──veth── lb (tandem)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=tdm-rld-$$
lb=$tag-lb rs=$tag-rs
work=$(mktemp -d /tmp/tdm-rld.XXXXXX)
pids=()
fail() {
  echo "reload_vm: FAIL: $*" >&2
  ip netns exec "$lb" ipvsadm -Ln >&2 || true
  tail -n 30 "$work/tandem.log" >&2 || true
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

for n in "$lb" "$rs"; do
  ip netns add "$n"
  ip -n "$n" link set lo up
done
ip -n "$lb" link add in0 type veth peer name in1 netns "$rs"
ip -n "$lb" addr add 198.51.100.254/24 dev in0
ip -n "$rs" addr add 198.51.100.10/24 dev in1
ip -n "$rs" addr add 198.51.100.11/24 dev in1
ip -n "$rs" addr add 198.51.100.12/24 dev in1
ip -n "$lb" link set in0 up
ip -n "$rs" link set in1 up
for a in 198.51.100.10 198.51.100.11 198.51.100.12; do
  mkdir -p "$work/$a"
  echo "$a" >"$work/$a/index.html"
  ip netns exec "$rs" busybox httpd -f -p "$a:80" -h "$work/$a" &
  pids+=("$!")
done

conf() { # $1: scheduler, $2: weight of .11 (2), $3: "extra" adds .12
  cat <<EOF
global_defs {
    router_id ${ROUTER_ID:-lb}
}
virtual_server 192.0.2.2 80 {
    delay_loop 1
    lvs_sched $1
    lvs_method NAT
    protocol TCP
    real_server 198.51.100.10 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.11 80 {
        weight ${2:-2}
        TCP_CHECK {
            connect_timeout 1
        }
    }
EOF
  if [ "${3:-}" = extra ]; then
    cat <<EOF
    real_server 198.51.100.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
EOF
  fi
  echo "}"
}
table() { ip netns exec "$lb" ipvsadm -Ln; }
ops() { grep -c "IPVS table reconciled" "$work/tandem.log" || true; }
sock=$work/tandem.sock

conf rr >"$work/lb.conf"
ip netns exec "$lb" tandem run -f "$work/lb.conf" --control-socket "$sock" \
  --dump-file "$work/tandem.data" >"$work/tandem.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 150); do
  table | grep -q "198.51.100.11:80 .*Masq *2" && break
  sleep 0.2
done
table | grep -q "198.51.100.11:80 .*Masq *2" || fail "table never programmed"
sleep 3 # let the checks settle
before=$(table)
n=$(ops)
echo "ok: programmed, $n IPVS batch(es) so far"

# 1. comment only: applied, no change, no IPVS operation
{ echo "# reviewed"; conf rr; } >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "reload of an unchanged file refused"
echo "$out" | grep -q "no change" || fail "unexpected reload output: $out"
sleep 3
[ "$(ops)" = "$n" ] || fail "IPVS operations after an unchanged reload"
[ "$(table)" = "$before" ] || fail "table changed after an unchanged reload"
echo "ok: unchanged reload: zero IPVS operations, same table"

# 2. a bad file: refused with its position, nothing touched
conf rr | sed 's/lvs_sched rr/lvs_shed rr/' >"$work/lb.conf"
if err=$(tandem reload --socket "$sock" 2>&1); then fail "bad file accepted"; fi
echo "$err" | grep -q "lb.conf:6:5" || fail "no position in: $err"
sleep 2
[ "$(ops)" = "$n" ] && [ "$(table)" = "$before" ] || fail "bad reload touched IPVS"
echo "ok: bad file refused with its position, zero IPVS operations"

# 3. one real server's weight changed: applied live, exactly one SET_DEST
conf rr 5 >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "weight change refused: $out"
echo "$out" | grep -q "virtual_server 192.0.2.2:80: changed" || fail "change not named: $out"
for _ in $(seq 1 50); do [ "$(ops)" != "$n" ] && break; sleep 0.1; done
sleep 3 # anything more would show up now
[ "$(ops)" = "$((n + 1))" ] || fail "expected one IPVS batch after a weight change, got $(($(ops) - n))"
grep "IPVS table reconciled" "$work/tandem.log" | tail -n 1 | grep -q "operations=1 commands=SET_DEST=1" ||
  fail "not exactly one SET_DEST: $(grep 'IPVS table reconciled' "$work/tandem.log" | tail -n 1)"
table | grep -q "198.51.100.11:80 .*Masq *5" || fail "ipvsadm does not show weight 5"
table | grep -q "198.51.100.10:80 .*Masq *1" || fail "the unchanged real server lost its entry"
n=$(ops)
echo "ok: weight change: exactly one SET_DEST, ipvsadm shows weight 5"

# 4. a real server added: exactly one NEW_DEST; the others untouched
conf rr 5 extra >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "added real server refused: $out"
for _ in $(seq 1 50); do [ "$(ops)" != "$n" ] && break; sleep 0.1; done
sleep 3
[ "$(ops)" = "$((n + 1))" ] || fail "expected one IPVS batch after adding a real server, got $(($(ops) - n))"
grep "IPVS table reconciled" "$work/tandem.log" | tail -n 1 | grep -q "operations=1 commands=NEW_DEST=1" ||
  fail "not exactly one NEW_DEST: $(grep 'IPVS table reconciled' "$work/tandem.log" | tail -n 1)"
table | grep -q "198.51.100.12:80 .*Masq *1" || fail "ipvsadm does not show the new real server"
n=$(ops)
before=$(table)
echo "ok: real server added: exactly one NEW_DEST"

# 5. unchanged again after live changes: zero operations
{ echo "# again"; conf rr 5 extra; } >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "unchanged reload refused: $out"
sleep 3
[ "$(ops)" = "$n" ] && [ "$(table)" = "$before" ] || fail "unchanged reload touched IPVS"
echo "ok: unchanged reload after live changes: zero IPVS operations"

# 6. global_defs changed: still refused (needs a restart), nothing touched
ROUTER_ID=lb9 conf rr 5 extra >"$work/lb.conf"
if err=$(tandem reload --socket "$sock" 2>&1); then fail "changed global_defs applied"; fi
echo "$err" | grep -q "global_defs: changed" || fail "change not named: $err"
sleep 2
[ "$(ops)" = "$n" ] && [ "$(table)" = "$before" ] || fail "refused reload touched IPVS"
echo "ok: changed global_defs refused, zero IPVS operations"

# 7. check state survives: 198.51.100.10 fails and leaves the table; a
# reload changing another real server's weight must not bring it back
# (a fresh checker would start it as up: NEW_DEST .10, later DEL_DEST).
kill -KILL "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
for _ in $(seq 1 100); do table | grep -q "198.51.100.10:80" || break; sleep 0.2; done
table | grep -q "198.51.100.10:80" && fail "the stopped real server never left the table"
sleep 1
n=$(ops)
ROUTER_ID=lb conf rr 6 extra >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "weight change refused: $out"
for _ in $(seq 1 50); do [ "$(ops)" != "$n" ] && break; sleep 0.1; done
sleep 3
[ "$(ops)" = "$((n + 1))" ] || fail "expected one IPVS batch with a down real server, got $(($(ops) - n))"
grep "IPVS table reconciled" "$work/tandem.log" | tail -n 1 | grep -q "operations=1 commands=SET_DEST=1" ||
  fail "not exactly one SET_DEST: $(grep 'IPVS table reconciled' "$work/tandem.log" | tail -n 1)"
table | grep -q "198.51.100.10:80" && fail "the down real server came back after the reload"
table | grep -q "198.51.100.11:80 .*Masq *6" || fail "ipvsadm does not show weight 6"
echo "ok: a down real server stays down across a reload: exactly one SET_DEST"
echo "reload_vm: all passed"
