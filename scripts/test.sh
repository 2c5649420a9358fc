#!/usr/bin/env bash
# The whole test suite, from a fresh clone: builds the Go peers (installing what they need),
# checks formatting and lints, runs every Rust test (the Go interop matrix included, which
# must not skip here), and replays every bundled scenario against itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Scenarios that both roles can play: all but scenarios/interop/, whose client/ and server/
# scripts follow the interop spec, one role each (tests/interop_suite.rs plays them).
mapfile -t playable < <(find scenarios -mindepth 1 -maxdepth 1 -type d ! -name interop | sort)

# Prerequisites (README, "The two commands"): Rust (cargo), Go (the version interop/go/go.mod
# names, or Go 1.21+ that fetches it), Python 3 with venv, git; Debian packages are
# installed by interop/go/build.sh.
step "prerequisites (cargo, Go as interop/go/go.mod says, python3 -m venv)"
die() { printf 'scripts/test.sh: ERROR: %s\n' "$*" >&2; exit 1; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }
command -v cargo >/dev/null || die "cargo is missing: install Rust from https://rustup.rs"
go_needed="$(awk '$1 == "go" { print $2; exit }' interop/go/go.mod)"
command -v go >/dev/null || die "go is missing: interop/go needs Go >= $go_needed (interop/go/go.mod); \
get it from https://go.dev/dl/ (e.g. curl -fsSL https://go.dev/dl/go$go_needed.linux-amd64.tar.gz | tar -C /usr/local -xz; export PATH=/usr/local/go/bin:\$PATH)"
go_found="$(go env GOVERSION | sed 's/^go//')"
if ! version_ge "$go_found" "$go_needed"; then
    if version_ge "$go_found" 1.21 && [ "$(go env GOTOOLCHAIN)" != local ]; then
        echo "Go $go_found found; Go fetches go$go_needed from the module proxy (GOTOOLCHAIN=auto)"
    else
        die "interop/go needs Go >= $go_needed (interop/go/go.mod), found $go_found: get it from https://go.dev/dl/ or set GOTOOLCHAIN=auto with Go 1.21+"
    fi
fi

step "Go peers (interop/go/build.sh)"
bash interop/go/build.sh

step "grpc-java's interop client (interop/java/fetch.sh: Maven, into target/java/lib)"
bash interop/java/fetch.sh

step "format (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy)"
cargo clippy --all-targets --locked -- -D warnings

step "Python tools in a virtual environment, target/venv (never the system interpreter)"
if [ ! -x target/venv/bin/pip ]; then
    if ! python3 -m venv target/venv; then
        # Debian splits venv (ensurepip) out of python3.
        sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
        $sudo apt-get update -qq && $sudo apt-get install -y -qq python3-venv >/dev/null
        rm -rf target/venv && python3 -m venv target/venv
    fi
fi
target/venv/bin/pip install --quiet --disable-pip-version-check \
    junitparser xmlschema 'tap.py[yaml]' grpcio grpcio-tools
# Every `python3` below (tests, bench/run.sh) is the environment's.
export PATH="$PWD/target/venv/bin:$PATH"

step "actionlint for tests/packaging.rs (Go module proxy, into target/tools)"
GOBIN="$PWD/target/tools" go install github.com/rhysd/actionlint/cmd/actionlint@latest

step "Python tools for tests/descriptors.rs, tests/schema.rs and tests/bench_k8s.rs (target/venv, pip)"
python3 -m venv target/venv
target/venv/bin/pip install --quiet --disable-pip-version-check grpcio-tools check-jsonschema \
    kubernetes-validate==1.37.0

step "tests (cargo test)"
mkdir -p target
GRPC_REPLAY_REQUIRE_GO=1 GRPC_REPLAY_REQUIRE_PY=1 GRPC_REPLAY_REQUIRE_JAVA=1 cargo test --locked 2>&1 | tee target/cargo-test.log
read -r tests_passed tests_failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' target/cargo-test.log)

step "benchmark harness, smoke size (bench/run.sh: checks that it runs, not the figures)"
BENCH_SIZE=smoke bash bench/run.sh

# One folder at a time: scenarios/ballerina/ holds the same conversations as chat/ and
# helloworld/, and a server picks among identical scripts by a fixed rule (not by which
# was played before), so under --once the twin of a script could never be played.
step "the CI example (examples/ci/replay.sh: serve --once, run, JUnit report), per folder"
for folder in "${playable[@]}"; do
    GRPC_REPLAY="${GRPC_REPLAY:-target/debug/grpc-replay}" \
        REPORT_DIR="target/ci-example/$(basename "$folder")" \
        bash examples/ci/replay.sh "$folder"
done

step "every bundled scenario against itself (run --loopback)"
cargo run --quiet --locked -- run --loopback "${playable[@]}" --color never

printf '\nsuite: %s passed, %s failed\n' "$tests_passed" "$tests_failed"
