#!/usr/bin/env bash
# The benchmark of issue 7, side by side in one run on this machine: grpc-replay against a
# typed tonic client and server (examples/bench_baseline.rs), grpc-go's seed-client
# (interop/go) and a grpcio (PyPI) client, the load mode against ghz (Go module proxy), plus
# memory, load time and time to first byte.
# Prints a table of figures and ratios, then one line per target:
# `<target>: <figure> (goal <goal>) met|NOT met`.
#
#   bash bench/run.sh                    # the issue's sizes (a few minutes)
#   BENCH_SIZE=smoke bash bench/run.sh   # small sizes, seconds: checks that it all runs
#   BENCH_ONLY=group bash bench/run.sh   # only the rows whose target contains the text
#
# Builds in release mode; builds the Go peers when missing (interop/go/build.sh current),
# installs ghz into bench/.bin (go install), GNU time (apt-get) and grpcio + grpcio-tools
# (pip) when missing. The measuring is done by
# bench/harness.py (see its docstring for what each figure is).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "release build (grpc-replay, examples/bench_baseline)"
source bench/build.sh
BENCH_PROFILE=release bench_build

if [ ! -x interop/go/bin/seed-client ]; then
    step "Go peers (interop/go/build.sh current)"
    bash interop/go/build.sh current
fi

if [ ! -x bench/.bin/ghz ]; then
    step "ghz (Go module proxy), for the load-mode comparison"
    GOBIN="$PWD/bench/.bin" go install github.com/bojand/ghz/cmd/ghz@v0.93.0
fi

if [ ! -x /usr/bin/time ]; then
    step "GNU time (apt-get), for peak memory"
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi

if ! python3 -c 'import grpc, grpc_tools' 2>/dev/null; then
    step "grpcio and grpcio-tools (pip)"
    python3 -m pip install --quiet --disable-pip-version-check grpcio grpcio-tools
fi

step "measuring (BENCH_SIZE=${BENCH_SIZE:-full})"
exec python3 bench/harness.py
