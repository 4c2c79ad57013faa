#!/usr/bin/env bash
# vrrp_strict and accept mode (RFC 5798 §6.1) in namespaces, against
# Debian's keepalived: lb1 runs tandem, lb2 keepalived 2.2.7, both with
# vrrp_strict (so no_accept), VRRPv3, an IPv4 and an IPv6 instance.
#
# Proves, with nft, ping, curl and the client's neighbour table as the
# readers:
#   - check-config prints the vrrp_iptables note at its file:line:col;
#   - the two elect one master (tandem, priority 150) and keepalived backs up;
#   - tandem's ip table has the chains and sets of keepalived's own;
#   - the master's VIPs are in nftables table "keepalived" (ip and ip6,
#     the link-local VIP keyed by interface index, with counters), and only
#     while it is MASTER;
#   - a ping, a ping6 and an HTTP request to the VIPs get no answer (the
#     drop rule's counter moves), while ARP and neighbour discovery for them
#     still resolve to the master's MAC, and its own address answers HTTP;
#   - a reload that turns accept on for the IPv4 instance makes the VIP
#     answer and its table go; turning it off again brings both back;
#   - after SIGKILL the table stays; a restarted tandem removes it at once
#     (it is backup then), and installs it again when it preempts;
#   - after SIGTERM the table is gone;
#   - `nftables NAME` and `nftables_priority` name the table and set its hooks;
#   - without a working nft, a no_accept configuration does not start.
set -euo pipefail
cd "$(dirname "$0")/.."
. netns-lab/lib.sh

VIP4=192.0.2.2
VIP6=2001:db8:2::2
VIP6LL=fe80::5:2

if [ -z "$TANDEM_BIN" ]; then
  cargo build -q --bin tandem
fi
lab_init st
lab_up

fail() { echo "strict_accept: FAIL: $*" >&2; exit 1; }
ok() { echo "strict_accept: ok: $*"; }

# conf NODE PRIORITY ACCEPT_LINE GLOBAL_EXTRA
conf() {
  local node=$1 prio=$2 accept=$3 extra=$4
  mkdir -p "$LAB_DIR/$node"
  chmod 1777 "$LAB_DIR/$node"
  cat > "$LAB_DIR/$node/notify.sh" <<EOF
#!/bin/sh
echo "\$1 \$2 \$3 \$4" >> "$LAB_DIR/$node/notify.log"
EOF
  chmod 755 "$LAB_DIR/$node/notify.sh"
  cat > "$LAB_DIR/$node/keepalived.conf" <<EOF
global_defs {
  router_id $node
  vrrp_strict
  vrrp_version 3
$extra
}
vrrp_instance VI_4 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority $prio
  advert_int 1
$accept
  virtual_ipaddress {
    $VIP4/24 dev eth0
  }
  notify $LAB_DIR/$node/notify.sh
}
vrrp_instance VI_6 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority $prio
  advert_int 1
  virtual_ipaddress {
    $VIP6LL/64 dev eth0
    $VIP6/64 dev eth0
  }
  notify $LAB_DIR/$node/notify.sh
}
EOF
}

LB1_EXTRA="  vrrp_iptables TESTIN TESTOUT
  nftables_counters"
conf lb1 150 "" "$LB1_EXTRA"
conf lb2 100 "" ""

ns1=$(lab_ns lb1)
ns2=$(lab_ns lb2)
nsc=$(lab_ns client)
tandem=$(lab_tandem_bin)

# --- check-config: the note, with its position (line 5: vrrp_iptables).
out=$("$tandem" check-config -f "$LAB_DIR/lb1/keepalived.conf" 2>&1) || fail "check-config refused: $out"
grep -q "keepalived.conf:5:3: note: vrrp_iptables: the iptables chains TESTIN/TESTOUT are not used" <<<"$out" ||
  fail "no vrrp_iptables note at 5:3: $out"
ok "check-config accepts the strict file; the vrrp_iptables note is at 5:3"

ruleset() { ip netns exec "$1" nft -j list ruleset; }
# table_has NS FAMILY: the table keepalived exists in that family.
table_has() {
  ruleset "$1" | python3 -c '
import json, sys
fam = sys.argv[1]
r = json.load(sys.stdin)["nftables"]
sys.exit(0 if any("table" in o and o["table"]["name"] == "keepalived" and o["table"]["family"] == fam for o in r) else 1)
' "$2"
}
no_table() { ! table_has "$1" ip && ! table_has "$1" ip6; }
# set_elems NS FAMILY SET: the set's elements, one a line (concat as "a . b").
set_elems() {
  ruleset "$1" | python3 -c '
import json, sys
fam, name = sys.argv[1], sys.argv[2]
for o in json.load(sys.stdin)["nftables"]:
    s = o.get("set")
    if s and s["table"] == "keepalived" and s["family"] == fam and s["name"] == name:
        for e in s.get("elem", []):
            print(" . ".join(map(str, e["concat"])) if isinstance(e, dict) else e)
' "$2" "$3"
}
# drop_packets NS FAMILY: packets counted by the in chain'"'"'s drop rules.
drop_packets() {
  ruleset "$1" | python3 -c '
import json, sys
fam = sys.argv[1]
n = 0
for o in json.load(sys.stdin)["nftables"]:
    r = o.get("rule")
    if r and r["table"] == "keepalived" and r["family"] == fam and r["chain"] == "in":
        if any("drop" in x for x in r["expr"]):
            n += sum(x["counter"]["packets"] for x in r["expr"] if "counter" in x)
print(n)
' "$2"
}
# shape NS FAMILY TABLE: the table's chains (name hook prio policy) and sets
# (name type), sorted: what an operator's `nft list ruleset` shows of it.
shape() {
  ruleset "$1" | python3 -c '
import json, sys
fam, table = sys.argv[1], sys.argv[2]
out = []
for o in json.load(sys.stdin)["nftables"]:
    c, s = o.get("chain"), o.get("set")
    if c and c["table"] == table and c["family"] == fam:
        out.append("chain %s %s %s %s" % (c["name"], c.get("hook"), c.get("prio"), c.get("policy")))
    if s and s["table"] == table and s["family"] == fam:
        out.append("set %s %s" % (s["name"], s["type"]))
print("; ".join(sorted(out)))
' "$2" "$3"
}
state() { lab_state "$1" "$2"; }
master() { # NODE: alone holds both VIPs, MASTER for both
  [ "$(lab_holders $VIP4)" = "$1" ] && [ "$(lab_holders $VIP6)" = "$1" ] &&
    [ "$(state "$1" VI_4)" = MASTER ] && [ "$(state "$1" VI_6)" = MASTER ]
}
answers_ping() { ip netns exec "$nsc" ping -c 1 -W 1 "$1" >/dev/null 2>&1; }

# --- keepalived first, alone: it becomes master (and fills its own table).
lab_start lb2 keepalived
lab_wait 15 master lb2 || fail "keepalived did not become master alone"
table_has "$ns2" ip || fail "keepalived (strict) made no nftables table"
keepalived_shape=$(shape "$ns2" ip keepalived)
ok "keepalived alone is master, with its own nftables table keepalived: $keepalived_shape"

# --- tandem with the higher priority: one master, tandem.
lab_start lb1 tandem
lab_wait 15 master lb1 || fail "tandem did not take over: $(lab_holders $VIP4)"
lab_wait 10 bash -c "[ \"\$(ip -n $ns2 -o addr show | grep -cw $VIP4)\" = 0 ]" || fail "keepalived still holds $VIP4"
[ "$(state lb2 VI_4)" = BACKUP ] || fail "keepalived is not BACKUP: $(state lb2 VI_4)"
ok "one master: tandem (150); keepalived backs up"

# --- the table on the master.
lab_wait 5 table_has "$ns1" ip || fail "no table ip keepalived on the master"
[ "$(set_elems "$ns1" ip vips)" = "$VIP4" ] || fail "ip vips: $(set_elems "$ns1" ip vips)"
[ "$(set_elems "$ns1" ip6 vips)" = "$VIP6" ] || fail "ip6 vips: $(set_elems "$ns1" ip6 vips)"
ifindex=$(ip netns exec "$ns1" cat /sys/class/net/eth0/ifindex)
ll=$(set_elems "$ns1" ip6 vips_link_local)
# nft prints an interface index it can name by its name.
[ "$ll" = "$VIP6LL . eth0" ] || [ "$ll" = "$VIP6LL . $ifindex" ] || fail "ip6 vips_link_local: $ll"
ruleset "$ns1" | grep -q '"prio": -1' || fail "base chains not at priority -1"
[ "$(shape "$ns1" ip keepalived)" = "$keepalived_shape" ] ||
  fail "tandem's ip table ($(shape "$ns1" ip keepalived)) is not shaped like keepalived's ($keepalived_shape)"
ok "master's table: ip vips {$VIP4}, ip6 vips {$VIP6}, vips_link_local {$ll}, priority -1; ip family shaped as keepalived's"

# --- no answer to the VIPs; ARP / ND still answered; the real address is.
[ "$(lab_http client 192.0.2.11)" = lb1 ] || fail "lb1's own address does not answer HTTP"
before=$(drop_packets "$ns1" ip)
answers_ping $VIP4 && fail "the master answered a ping to $VIP4 in no_accept mode"
[ -z "$(lab_http client $VIP4 1)" ] || fail "the master answered HTTP on $VIP4 in no_accept mode"
after=$(drop_packets "$ns1" ip)
[ "$after" -gt "$before" ] || fail "the drop rule counted nothing ($before -> $after)"
[ "$(lab_neigh_mac client $VIP4)" = "$(lab_mac lb1)" ] ||
  fail "ARP for $VIP4: $(lab_neigh_mac client $VIP4), want $(lab_mac lb1)"
answers_ping $VIP6 && fail "the master answered a ping6 to $VIP6 in no_accept mode"
[ "$(lab_neigh_mac client $VIP6)" = "$(lab_mac lb1)" ] ||
  fail "ND for $VIP6: $(lab_neigh_mac client $VIP6), want $(lab_mac lb1)"
ok "ping/ping6/HTTP to the VIPs dropped ($((after - before)) packets counted); ARP and ND answer with lb1's MAC"

# --- a reload turns accept on for VI_4 (VRRPv3 allows it in strict mode).
conf lb1 150 "  accept" "$LB1_EXTRA"
kill -HUP "${LAB_PID[lb1]}"
lab_wait 10 answers_ping $VIP4 || fail "accept after reload: no answer to ping $VIP4"
[ "$(lab_http client $VIP4)" = lb1 ] || fail "accept after reload: no HTTP answer on $VIP4"
table_has "$ns1" ip && fail "accept after reload: table ip keepalived still there"
table_has "$ns1" ip6 || fail "accept on VI_4 removed VI_6's ip6 table"
answers_ping $VIP6 && fail "VI_6 (still no_accept) answered ping6"
master lb1 || fail "the reload cost the mastership"
ok "reload to accept: $VIP4 answers ping and HTTP, its table is gone, VI_6 still filtered, still master"

conf lb1 150 "" "$LB1_EXTRA"
kill -HUP "${LAB_PID[lb1]}"
lab_wait 10 table_has "$ns1" ip || fail "no_accept after reload: no table ip"
answers_ping $VIP4 && fail "no_accept after reload: $VIP4 answers"
ok "reload back to no_accept: the table is back, $VIP4 dropped again"

# --- SIGKILL: the table stays; a restart removes it while backup.
kill -9 "${LAB_PID[lb1]}"
wait "${LAB_PID[lb1]}" 2>/dev/null || true
unset "LAB_PID[lb1]"
table_has "$ns1" ip || fail "after SIGKILL the table is gone already (test cannot prove the cleanup)"
: > "$LAB_DIR/lb1/notify.log"
lab_start lb1 tandem
lab_wait 3 no_table "$ns1" || fail "restarted tandem left the stale table"
[ "$(state lb1 VI_4)" != MASTER ] || fail "tandem was master already"
ok "after SIGKILL the table stayed; the restarted tandem (backup) removed it"
lab_wait 15 master lb1 || fail "restarted tandem did not preempt"
lab_wait 5 table_has "$ns1" ip || fail "preempting tandem has no table"
ok "restarted tandem preempts and installs the table again"

# --- SIGTERM: gone.
lab_term lb1
lab_wait_exit lb1 30 || fail "tandem did not exit on SIGTERM"
no_table "$ns1" || fail "table keepalived left after SIGTERM"
lab_wait 15 master lb2 || fail "keepalived did not take over after SIGTERM"
ok "after SIGTERM no table keepalived on lb1; keepalived is master"
# --- nftables NAME and nftables_priority: the table's name and hooks.
conf lb1 150 "" "  nftables tandem_fw
  nftables_priority -5"
lab_start lb1 tandem
lab_wait 15 master lb1 || fail "tandem (nftables tandem_fw) did not preempt"
lab_wait 5 bash -c "ip netns exec $ns1 nft list table ip tandem_fw >/dev/null 2>&1" || fail "no table ip tandem_fw"
sh=$(shape "$ns1" ip tandem_fw)
grep -q "chain in input -5 accept" <<<"$sh" && grep -q "chain out output -5 accept" <<<"$sh" ||
  fail "nftables_priority -5 not on the chains: $sh"
table_has "$ns1" ip && fail "a table keepalived besides tandem_fw"
lab_term lb1
lab_wait_exit lb1 30 || fail "tandem did not exit on SIGTERM"
ip netns exec "$ns1" nft list table ip tandem_fw >/dev/null 2>&1 && fail "table tandem_fw left after SIGTERM"
lab_wait 15 master lb2 || fail "keepalived did not take over again"
ok "nftables tandem_fw / nftables_priority -5: the table and its chains' priority, gone after SIGTERM"
conf lb1 150 "" "$LB1_EXTRA"

# --- without nft, a no_accept configuration does not start.
if out=$(ip netns exec "$ns1" env TANDEM_NFT=/nonexistent/nft timeout 20 "$tandem" run -f "$LAB_DIR/lb1/keepalived.conf" 2>&1); then
  fail "tandem ran no_accept without nft"
fi
grep -q "no_accept: cannot run nft" <<<"$out" || fail "no clear error without nft: $out"
[ "$(lab_holders $VIP4)" = lb2 ] || fail "tandem without nft touched the VIPs"
ok "without nft the no_accept configuration is refused at start: $(grep -o 'no_accept: cannot run nft[^"]*' <<<"$out" | head -1)"
echo "strict_accept: all passed"
