#!/usr/bin/env bash
# `net_namespace_ipvs NAME` against a real IPVS kernel: tandem runs in one
# namespace (lb, where its health checks go out) and programs the IPVS
# table of another (the named namespace ipvs); read back with ipvsadm in
# both, and compared with what Debian's keepalived 2.2.7 (`keepalived -C`,
# its checker alone) programs from the same file. Runs inside the test VM
# (tests/suites/64-check-vm.sh), in namespaces of its own that it removes
# on exit.
#
#   rs (198.51.100.10: httpd) ──veth── lb (tandem / keepalived -C)
#   ipvs (the named namespace: 198.51.100.253 on a veth of its own, so
#         the kernel has a route to the destinations; no real server)
#
# The real server has `alpha`: it enters at its weight only once a check
# has passed, and only lb reaches it, so weight 3 in ipvs's table says
# the checks ran from lb while the table went to ipvs.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=tdm-nsi-$$
lb=$tag-lb rs=$tag-rs ipvs=$tag-ipvs
work=$(mktemp -d /tmp/tdm-nsi.XXXXXX)
pids=()
fail() {
  echo "ipvs_netns_vm: FAIL: $*" >&2
  for n in "$lb" "$ipvs"; do
    echo "--- ipvsadm -Ln in $n:" >&2
    ip netns exec "$n" ipvsadm -Ln >&2 || true
  done
  for f in tandem.log keepalived.log; do
    echo "--- $f (last 20 lines):" >&2
    tail -n 20 "$work/$f" >&2 || true
  done
  exit 1
}
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "$lb" "$rs" "$ipvs"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# keepalived opens /var/run/netns/NAME; `ip netns add` makes /run/netns.
if [ ! -e /var/run/netns ]; then
  mkdir -p /var
  [ -e /var/run ] || ln -s /run /var/run
fi

for n in "$lb" "$rs" "$ipvs"; do
  ip netns add "$n"
  ip -n "$n" link set lo up
done
ip -n "$lb" link add in0 type veth peer name in1 netns "$rs"
ip -n "$lb" addr add 198.51.100.254/24 dev in0
ip -n "$rs" addr add 198.51.100.10/24 dev in1
ip -n "$ipvs" link add v0 type veth peer name v1
ip -n "$ipvs" addr add 198.51.100.253/24 dev v0
for l in "$lb in0" "$rs in1" "$ipvs v0" "$ipvs v1"; do
  set -- $l
  ip -n "$1" link set "$2" up
done
mkdir -p "$work/www"
echo rs1 >"$work/www/index.html"
ip netns exec "$rs" busybox httpd -f -p 198.51.100.10:80 -h "$work/www" &
pids+=("$!")

cat >"$work/lb.conf" <<EOF
net_namespace_ipvs $ipvs
virtual_server 192.0.2.2 80 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 198.51.100.10 80 {
        weight 3
        alpha
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
EOF

# weight of destination ADDR:PORT in NS's table ("" when absent)
weight() { ip netns exec "$1" ipvsadm -Ln | awk -v a="$2" '$1 == "->" && $2 == a { print $4 }'; }
services() { ip netns exec "$1" ipvsadm -Ln | awk '$1 == "TCP" || $1 == "UDP" || $1 == "FWM"' | wc -l; }
until_() { # wait up to 30 s
  local what=$1
  shift
  for _ in $(seq 1 150); do
    if "$@"; then echo "ok: $what"; return 0; fi
    sleep 0.2
  done
  fail "$what"
}
up_in_ipvs() { [ "$(weight "$ipvs" 198.51.100.10:80)" = 3 ]; }
ipvs_empty() { [ "$(services "$ipvs")" = 0 ]; }
table() { ip netns exec "$ipvs" ipvsadm -Ln | sed 1d; }

# ---- tandem ----------------------------------------------------------------
ip netns exec "$lb" tandem run -f "$work/lb.conf" >"$work/tandem.log" 2>&1 &
tandem=$!
pids+=("$tandem")
until_ "tandem: the real server in ipvs's table at weight 3 (checked from lb)" up_in_ipvs
[ "$(services "$lb")" = 0 ] || fail "tandem: services in lb's own table"
table >"$work/tandem.table"
kill -TERM "$tandem"
wait "$tandem" || fail "tandem run did not exit cleanly"
ipvs_empty || fail "tandem: services left in ipvs's table after stop"
echo "ok: tandem withdrew ipvs's table at stop"

# ---- keepalived's checker, the same file -------------------------------------
ip netns exec "$lb" keepalived -n -l -C -f "$work/lb.conf" \
  -p "$work/ka.pid" -c "$work/ka-chk.pid" >"$work/keepalived.log" 2>&1 &
ka=$!
pids+=("$ka")
until_ "keepalived: the real server in ipvs's table at weight 3" up_in_ipvs
[ "$(services "$lb")" = 0 ] || fail "keepalived: services in lb's own table"
table >"$work/keepalived.table"
kill -TERM "$ka"
wait "$ka" 2>/dev/null || true
if ! diff -u "$work/keepalived.table" "$work/tandem.table" >&2; then
  fail "ipvs's table: tandem's differs from keepalived's (above)"
fi
echo "ok: ipvs's table equal to keepalived's"
cat "$work/tandem.table"
echo "ipvs_netns_vm: PASS"
