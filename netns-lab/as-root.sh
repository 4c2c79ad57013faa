# Sourced by the commands README.md gives a newcomer (netns-lab/demo,
# tests/run-all.sh, ...): they need root for network namespaces and raw
# sockets. Run as root, they simply go on. Run as a user, they run
# themselves again through sudo, with the user's Rust toolchain (rustup
# installs it under $HOME, which root's PATH does not reach), and when that
# run ends hand back to the user whatever it wrote as root in the build
# and cache directories, so the user's own `cargo build` keeps working.
# A root shell without sudo installed (a fresh Debian container) needs
# nothing of this.
#
#   . "$(dirname "$0")/../netns-lab/as-root.sh"; as_root "$@"
#
# Only the one command itself is run through sudo; nothing else is.

as_root() {
  [ "$(id -u)" = 0 ] && return 0
  local self name repo uid gid rc=0
  self=$(readlink -f "$0")
  name=$(basename "$self")
  if ! command -v sudo >/dev/null 2>&1; then
    echo "$name: needs root (network namespaces, raw sockets), and sudo is not installed: run it as root" >&2
    exit 2
  fi
  repo=$(git -C "$(dirname "$self")" rev-parse --show-toplevel 2>/dev/null || dirname "$(dirname "$self")")
  uid=$(id -u)
  gid=$(id -g)
  local cargo_home=${CARGO_HOME:-$HOME/.cargo} rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
  echo "$name: needs root (network namespaces, raw sockets): running it through sudo" >&2
  sudo env "PATH=$PATH" "CARGO_HOME=$cargo_home" "RUSTUP_HOME=$rustup_home" \
    ${CARGO_TARGET_DIR:+"CARGO_TARGET_DIR=$CARGO_TARGET_DIR"} "$self" "$@" || rc=$?
  # Give back what the root run wrote where the user builds.
  local d
  for d in "$repo/target" "$repo/fuzz/target" "$repo/netns-lab/.cache" "$repo/packaging/generated" \
    "${CARGO_TARGET_DIR:-}" "$cargo_home" "$rustup_home"; do
    [ -n "$d" ] && [ -e "$d" ] || continue
    sudo find "$d" -xdev -uid 0 -exec chown -h "$uid:$gid" {} + 2>/dev/null || true
  done
  exit "$rc"
}
