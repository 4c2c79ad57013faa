#!/usr/bin/env bash
# Formatting and lints, as the project's style requires; the root check
# the README's two commands start with.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# The cargo-fuzz targets (fuzz/, a workspace of its own) are only built by
# `cargo +nightly fuzz`; check them on stable here so an API change in
# tandem cannot leave them broken unnoticed. Its own target dir under
# target/, so the main build's artifacts are not disturbed.
cargo check --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-check
bash tests/as_root.sh
