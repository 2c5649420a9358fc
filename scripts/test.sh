#!/usr/bin/env bash
# The whole test suite, from a fresh clone: builds the Go peers (installing what they need),
# checks formatting and lints, runs every Rust test (the Go interop matrix included, which
# must not skip here), and replays every bundled scenario against itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "Go peers (interop/go/build.sh)"
bash interop/go/build.sh

step "format (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy)"
cargo clippy --all-targets --locked -- -D warnings

step "tests (cargo test)"
GRPC_REPLAY_REQUIRE_GO=1 cargo test --locked

step "every bundled scenario against itself (run --loopback)"
cargo run --quiet --locked -- run --loopback scenarios/ --color never
