#!/usr/bin/env bash
# Reload against a real IPVS kernel: `tandem run` in the test VM with one
# virtual server, then `tandem reload` with an unchanged (comment-only)
# file and with a bad file: neither may touch the IPVS table (ipvsadm -Ln
# stays byte for byte the same and the daemon logs no IPVS operation;
# "IPVS table reconciled operations=N commands=..." is logged for every
# non-empty batch). Then related changes are applied live with the minimal
# change: one real server's weight -> exactly one SET_DEST; one real server
# added -> exactly one NEW_DEST; a new router_id is applied live (zero IPVS
# operations), another changed global_defs keyword is still refused; a
# second virtual server added and then changed -> its operations only,
# none on the first; VRRP-only changes (an instance added, its advert_int)
# -> zero IPVS operations.
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
    ${GLOBAL_EXTRA:-}
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
  if [ -n "${VS2:-}" ]; then # a second virtual server, its real server's weight
    cat <<EOF
virtual_server 192.0.2.3 80 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 198.51.100.12 80 {
        weight $VS2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
EOF
  fi
  if [ -n "${ADVERT:-}" ]; then # a VRRP instance governing neither VIP
    cat <<EOF
vrrp_instance VI_9 {
    interface in0
    virtual_router_id 77
    priority 100
    advert_int $ADVERT
    virtual_ipaddress {
        203.0.113.77/32 dev in0
    }
}
EOF
  fi
}
# The lines of one virtual server in `ipvsadm -Ln`: its service line and
# its real servers, up to the next service.
vs_lines() { table | awk -v vs="$1" '/^(TCP|UDP|FWM)/ { on = ($2 == vs) } on'; }
# VI_9's VIP is on in0 (read whole first: `ip | grep -q` fails under
# pipefail when grep exits before ip has written everything).
has_vip9() { local a; a=$(ip -n "$lb" addr show dev in0); [[ $a == *203.0.113.77* ]]; }
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
echo "$err" | grep -q "lb.conf:7:5" || fail "no position in: $err"
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

# 6. global_defs: a new router_id (one of the mail keywords, which a
# reload applies live) touches nothing in IPVS; another global keyword
# still needs a restart: refused, nothing touched.
ROUTER_ID=lb9 conf rr 5 extra >"$work/lb.conf"
tandem reload --socket "$sock" >/dev/null 2>&1 || fail "a new router_id was refused"
sleep 2
[ "$(ops)" = "$n" ] && [ "$(table)" = "$before" ] || fail "a new router_id touched IPVS"
tandem status --json --socket "$sock" | grep -q '"router_id": *"lb9"' || fail "status still shows the old router_id"
echo "ok: new router_id applied live, zero IPVS operations"
ROUTER_ID=lb9 GLOBAL_EXTRA="vrrp_garp_master_repeat 2" conf rr 5 extra >"$work/lb.conf"
if err=$(tandem reload --socket "$sock" 2>&1); then fail "changed global_defs applied"; fi
echo "$err" | grep -q "global_defs: changed" || fail "change not named: $err"
sleep 2
[ "$(ops)" = "$n" ] && [ "$(table)" = "$before" ] || fail "refused reload touched IPVS"
echo "ok: changed global_defs (vrrp_garp_master_repeat) refused, zero IPVS operations"

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

# 8. a second virtual server added: its own operations only, none on the
# first (its ipvsadm lines stay byte for byte the same).
first=$(vs_lines 192.0.2.2:80)
[ -n "$first" ] || fail "cannot read the first virtual server back"
n=$(ops)
VS2=1 conf rr 6 extra >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "added virtual server refused: $out"
echo "$out" | grep -q "virtual_server 192.0.2.3:80: added" || fail "addition not named: $out"
for _ in $(seq 1 100); do vs_lines 192.0.2.3:80 | grep -q "198.51.100.12:80 .*Masq *1" && break; sleep 0.1; done
sleep 3
vs_lines 192.0.2.3:80 | grep -q "198.51.100.12:80 .*Masq *1" || fail "ipvsadm does not show the second virtual server"
[ "$(vs_lines 192.0.2.2:80)" = "$first" ] || fail "the first virtual server changed: $(vs_lines 192.0.2.2:80)"
last=$(grep "IPVS table reconciled" "$work/tandem.log" | tail -n +$((n + 1)))
[ "$(ops)" = "$((n + 1))" ] || fail "expected one IPVS batch for the added virtual server: $last"
echo "$last" | grep -q "operations=2 commands=NEW_SERVICE=1,NEW_DEST=1" ||
  echo "$last" | grep -q "operations=2 commands=NEW_DEST=1,NEW_SERVICE=1" ||
  fail "not exactly NEW_SERVICE + NEW_DEST: $last"
echo "ok: a second virtual server added: NEW_SERVICE + NEW_DEST only, the first untouched"

# 9. only the second virtual server changed: exactly one SET_DEST, on it;
# the first's lines the same.
n=$(ops)
VS2=3 conf rr 6 extra >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "second virtual server change refused: $out"
echo "$out" | grep -q "virtual_server 192.0.2.3:80: changed" || fail "change not named: $out"
echo "$out" | grep -q "192.0.2.2:80" && fail "the first virtual server named as changed: $out"
for _ in $(seq 1 50); do [ "$(ops)" != "$n" ] && break; sleep 0.1; done
sleep 3
[ "$(ops)" = "$((n + 1))" ] || fail "expected one IPVS batch, got $(($(ops) - n))"
grep "IPVS table reconciled" "$work/tandem.log" | tail -n 1 | grep -q "operations=1 commands=SET_DEST=1" ||
  fail "not exactly one SET_DEST: $(grep 'IPVS table reconciled' "$work/tandem.log" | tail -n 1)"
vs_lines 192.0.2.3:80 | grep -q "198.51.100.12:80 .*Masq *3" || fail "ipvsadm does not show weight 3 on the second"
[ "$(vs_lines 192.0.2.2:80)" = "$first" ] || fail "the first virtual server changed: $(vs_lines 192.0.2.2:80)"
echo "ok: a change of the second virtual server only: one SET_DEST, zero on the first"

# 10. VRRP only: a new vrrp_instance (whose VIP no virtual server uses),
# then its advert_int: zero IPVS operations, the table byte for byte.
n=$(ops)
before=$(table)
ADVERT=1 VS2=3 conf rr 6 extra >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "added vrrp_instance refused: $out"
echo "$out" | grep -q "vrrp_instance VI_9: added" || fail "addition not named: $out"
for _ in $(seq 1 60); do has_vip9 && break; sleep 0.2; done
has_vip9 || fail "VI_9 never became master"
sleep 2
[ "$(ops)" = "$n" ] || fail "IPVS operations after adding a vrrp_instance: $(grep 'IPVS table reconciled' "$work/tandem.log" | tail -n 1)"
[ "$(table)" = "$before" ] || fail "table changed after adding a vrrp_instance"
ADVERT=2 VS2=3 conf rr 6 extra >"$work/lb.conf"
out=$(tandem reload --socket "$sock") || fail "advert_int change refused: $out"
echo "$out" | grep -q "vrrp_instance VI_9: changed" || fail "change not named: $out"
echo "$out" | grep -q "VI_9: updated in place" || fail "VI_9 not updated in place: $out"
sleep 3
[ "$(ops)" = "$n" ] || fail "IPVS operations after an advert_int change"
[ "$(table)" = "$before" ] || fail "table changed after an advert_int change"
has_vip9 || fail "VI_9 lost its VIP on an in-place reload"
echo "ok: VRRP-only changes (instance added, advert_int): zero IPVS operations"
echo "reload_vm: all passed"
