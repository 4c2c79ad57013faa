#!/usr/bin/env bash
# Unit tests, simulation tests and the Rust integration tests (the lab tests
# among them create their own network namespaces; they need root).
set -euo pipefail
cargo test --all-targets -- --test-threads=2
