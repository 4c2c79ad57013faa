#!/usr/bin/env bash
# Formatting and lints, as the project's style requires.
set -euo pipefail
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
