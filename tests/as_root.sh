#!/usr/bin/env bash
# The README's two commands start as root or as a user (netns-lab/as-root.sh):
# as root they go on; as a user without sudo they stop at once with a clear
# word, exit 2, and touch nothing. (With sudo they run themselves through it;
# that path was checked by hand: a CI machine is root and has no sudo.)
# Needs root (it makes a throw-away user).
set -euo pipefail
cd "$(dirname "$0")/.."
user=tdm-newcomer-$$
work=$(mktemp -d /tmp/tdm-as-root.XXXXXX)
cleanup() { userdel -r "$user" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/netns-lab"
cp netns-lab/as-root.sh "$work/netns-lab/"
cat > "$work/netns-lab/probe" <<'PROBE'
#!/usr/bin/env bash
set -euo pipefail
. "$(dirname "$0")/as-root.sh"
as_root "$@"
echo "ran as $(id -u) with: $*"
PROBE
chmod -R a+rX "$work"; chmod +x "$work/netns-lab/probe"

out=$("$work/netns-lab/probe" one "two words")
[ "$out" = "ran as 0 with: one two words" ] || { echo "as root: got '$out'" >&2; exit 1; }

useradd -M -d "$work" "$user"
if command -v sudo >/dev/null; then
  echo "as-root: sudo is installed here; the no-sudo case is not checked" >&2
else
  rc=0; err=$(su "$user" -s /bin/bash -c "$work/netns-lab/probe x" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = 2 ] || { echo "as a user without sudo: exit $rc, want 2" >&2; exit 1; }
  case "$err" in
    *"sudo is not installed: run it as root"*) ;;
    *) echo "as a user without sudo: said '$err'" >&2; exit 1 ;;
  esac
fi
echo "as-root: ok"
