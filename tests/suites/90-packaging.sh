#!/usr/bin/env bash
# The Debian package and the systemd unit, as an operator installs them:
#   build the .deb (cargo-deb), lintian without errors, dpkg -i installs
#   without starting or enabling anything, the installed files are there,
#   systemd-analyze verify is clean, the security exposure is printed (and
#   tandem's is at most 2.5) next to Debian's keepalived.service, the example
#   configurations pass tandem check-config and keepalived's own config test,
#   dpkg -r and dpkg -P remove it cleanly.
# Needs root. Leaves the machine as it found it (trap), also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

ns="tdm-pkg-$$"
installed_by_us=0
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  if [ "$installed_by_us" = 1 ] && dpkg-query -W -f='${Status}' tandem 2>/dev/null | grep -q installed; then
    dpkg -P tandem >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

fail() { echo "90-packaging: FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

pid1=$(ps -p 1 -o comm= | tr -d ' ')
echo "PID 1 is '$pid1'$([ "$pid1" = systemd ] && echo ' (systemd)' || echo ' (not systemd: units are checked offline only)')"

if dpkg-query -W -f='${Status}' tandem 2>/dev/null | grep -q "install ok installed"; then
  fail "a tandem package is already installed on this machine; not touching it"
fi

step "cargo-deb"
if ! command -v cargo-deb >/dev/null; then
  cargo install cargo-deb --locked
fi
cargo deb --version

step "build the package"
bash packaging/build-deb.sh
deb=$(ls -t target/debian/tandem_*.deb | head -n 1)
[ -f "$deb" ] || fail "no .deb built"
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb" | awk '{print $6}'

step "lintian"
lintian_out=$(lintian --allow-root --fail-on error "$deb" 2>&1) || { echo "$lintian_out"; fail "lintian reports errors"; }
echo "${lintian_out:-lintian: no tags}"
echo "$lintian_out" | grep -q '^E:' && fail "lintian errors"

step "dpkg -i (must neither start nor enable the service)"
wants=/etc/systemd/system/multi-user.target.wants/tandem.service
[ ! -e "$wants" ] || fail "$wants exists before install"
installed_by_us=1
dpkg -i "$deb"
dpkg-query -W -f='${Status}\n' tandem | grep -q "install ok installed" || fail "not installed"
[ ! -e "$wants" ] || fail "the postinst enabled tandem.service"
if [ "$pid1" = systemd ]; then
  systemctl is-active --quiet tandem && fail "the postinst started tandem.service"
fi
unit=$(dpkg -L tandem | grep -E '/systemd/system/tandem\.service$')
for f in /usr/sbin/tandem "$unit" \
         /usr/share/man/man1/tandem.1.gz /usr/share/man/man1/tandem-status.1.gz \
         /usr/share/bash-completion/completions/tandem /usr/share/zsh/vendor-completions/_tandem \
         /usr/share/fish/vendor_completions.d/tandem.fish \
         /usr/share/doc/tandem/examples/lb1.conf /usr/share/doc/tandem/examples/lb2.conf \
         /usr/share/doc/tandem/operating.md /usr/share/doc/tandem/copyright \
         /usr/lib/modules-load.d/tandem.conf /usr/lib/sysusers.d/tandem.conf /etc/default/tandem \
         /usr/share/dbus-1/system.d/tandem.conf; do
  [ -e "$f" ] || fail "missing after install: $f"
done
getent passwd tandem >/dev/null || fail "the tandem system user was not created"
/usr/sbin/tandem --version
zcat /usr/share/man/man1/tandem-status.1.gz | grep -qF -- '\-\-json' || fail "man page lacks --json"
grep -q -- '--json' /usr/share/bash-completion/completions/tandem || fail "bash completion lacks --json"

step "systemd-analyze verify"
verify_out=$(systemd-analyze verify "$unit" 2>&1) || { echo "$verify_out"; fail "systemd-analyze verify failed"; }
[ -z "$verify_out" ] || { echo "$verify_out"; fail "systemd-analyze verify is not clean"; }
echo "verify: clean"

step "systemd-analyze security --offline=true"
exposure() { systemd-analyze security --offline=true "$1" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) \(.*\)/\1 \2/p'; }
tandem_exp=$(exposure "$unit")
echo "tandem.service exposure:    $tandem_exp"
if [ -f /lib/systemd/system/keepalived.service ]; then
  echo "keepalived.service exposure: $(exposure /lib/systemd/system/keepalived.service) (Debian's unit)"
fi
score=${tandem_exp%% *}
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.5) }' || fail "tandem.service exposure $score > 2.5"

step "example configurations"
for f in lb1 lb2; do
  /usr/sbin/tandem check-config -f /usr/share/doc/tandem/examples/$f.conf || fail "check-config $f.conf"
  echo "tandem check-config $f.conf: ok"
done
# keepalived's own config test, in a namespace that has the interfaces the
# examples name (it checks that they exist).
if command -v keepalived >/dev/null; then
  ip netns add "$ns"
  ip -n "$ns" link add eth0 type veth peer name eth0p
  ip -n "$ns" link add eth1 type veth peer name eth1p
  for f in lb1 lb2; do
    ip netns exec "$ns" keepalived -t -f /usr/share/doc/tandem/examples/$f.conf >/dev/null 2>&1 ||
      { ip netns exec "$ns" keepalived -t -f /usr/share/doc/tandem/examples/$f.conf || true; fail "keepalived -t $f.conf"; }
    echo "keepalived -t $f.conf: ok"
  done
  ip netns del "$ns"
fi

step "dpkg -r, then dpkg -P"
files=$(dpkg -L tandem | while read -r p; do [ -f "$p" ] && echo "$p"; done)
dpkg -r tandem
for f in $files; do
  case "$f" in
    /etc/*) [ -e "$f" ] || fail "conffile $f removed by dpkg -r (only purge may)";;
    *) [ ! -e "$f" ] || fail "left after dpkg -r: $f";;
  esac
done
dpkg -P tandem
installed_by_us=0
for f in $files; do
  [ ! -e "$f" ] || fail "left after dpkg -P: $f"
done
dpkg-query -W -f='${Status}' tandem 2>/dev/null | grep -q "installed" && fail "still installed"
[ ! -e "$wants" ] || fail "$wants left behind"
echo "removed and purged cleanly ($(echo "$files" | wc -l) files)"
echo "90-packaging: ok"
