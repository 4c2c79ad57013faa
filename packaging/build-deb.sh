#!/usr/bin/env bash
# Build the Debian package of tandem: target/debian/tandem_<version>_<arch>.deb
#
#   packaging/build-deb.sh            # release build, then the .deb
#
# Steps: build the binary (release profile), generate the man pages and
# shell completions from the CLI with `tandem generate` (so they always
# match the real options), then `cargo deb --no-build` packs what
# Cargo.toml's [package.metadata.deb] lists. Needs cargo-deb
# (`cargo install cargo-deb --locked`); tests/suites/90-packaging.sh
# installs it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null || {
  echo "build-deb: cargo-deb not found; install it with: cargo install cargo-deb --locked" >&2
  exit 1
}

cargo build --release --locked --bin tandem
target_dir=$(cargo metadata --format-version 1 --no-deps |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release/tandem"

gen=packaging/generated
rm -rf "$gen"
"$bin" generate man "$gen/man" >/dev/null
"$bin" generate completions "$gen/completions" >/dev/null

# Debug info (profile.release keeps line tables) goes to a separate
# tandem-dbgsym .ddeb, as Debian does; the main package is stripped.
cargo deb --no-build --locked --dbgsym "$@"
