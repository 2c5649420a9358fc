#!/usr/bin/env bash
# The whole test suite, from a fresh clone: builds the Go peers (installing what they need),
# checks formatting and lints, runs every Rust test (the Go interop matrix included, which
# must not skip here), and replays every bundled scenario against itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Scenarios that both roles can play: all but scenarios/interop/, whose client/ and server/
# scripts are written for grpc-go's interop programs, one role each (tests/interop_suite.rs).
mapfile -t playable < <(find scenarios -mindepth 1 -maxdepth 1 -type d ! -name interop | sort)

step "Go peers (interop/go/build.sh)"
bash interop/go/build.sh

step "format (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy)"
cargo clippy --all-targets --locked -- -D warnings

step "Python JUnit/TAP consumers for tests/reports.rs (pip)"
python3 -m pip install --quiet --disable-pip-version-check junitparser xmlschema 'tap.py[yaml]'

step "Python tools for tests/descriptors.rs, tests/schema.rs and tests/bench_k8s.rs (target/venv, pip)"
python3 -m venv target/venv
target/venv/bin/pip install --quiet --disable-pip-version-check grpcio-tools check-jsonschema \
    kubernetes-validate==1.37.0

step "tests (cargo test)"
mkdir -p target
GRPC_REPLAY_REQUIRE_GO=1 GRPC_REPLAY_REQUIRE_PY=1 cargo test --locked 2>&1 | tee target/cargo-test.log
read -r tests_passed tests_failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' target/cargo-test.log)

step "benchmark harness, smoke size (bench/run.sh: checks that it runs, not the figures)"
BENCH_SIZE=smoke bash bench/run.sh

step "the CI example (examples/ci/replay.sh: serve --once, run, JUnit report)"
GRPC_REPLAY="${GRPC_REPLAY:-target/debug/grpc-replay}" REPORT_DIR=target/ci-example \
    bash examples/ci/replay.sh "${playable[@]}"

step "every bundled scenario against itself (run --loopback)"
cargo run --quiet --locked -- run --loopback "${playable[@]}" --color never

printf '\nsuite: %s passed, %s failed\n' "$tests_passed" "$tests_failed"
