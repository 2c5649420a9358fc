#!/usr/bin/env bash
# What the recording proxy costs (grpc-replay record, issue 13), printed as figures:
#
# - throughput: grpc-go's seed-client pipelines N GreetEveryone messages on one stream to
#   grpc-go's seed-server (`--service greet --flood N`), directly and through
#   `grpc-replay record`; the ratio is direct time / proxied time (goal >= 0.5);
# - latency: grpc-replay plays a ping-pong GreetEveryone script (one message, wait for
#   the reply, P times) directly and through the proxy; the difference over P is the
#   latency the proxy adds per message round trip.
#
# Each figure is the best of ROUNDS runs (default 3).
#
#   bash bench/record.sh                  # N=100000 messages, P=2000 round trips
#   N=20000 P=500 bash bench/record.sh    # quicker
#
# Needs the Go peers (bash interop/go/build.sh current) and builds grpc-replay in release
# mode.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
P=${P:-2000}
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked --bin grpc-replay >&2
GRPC_REPLAY=target/release/grpc-replay
[ -x interop/go/bin/seed-server ] || { echo "error: run interop/go/build.sh current first" >&2; exit 2; }

# Starts a program that prints `listening on HOST:PORT`; sets ADDRESS.
start() {
    local log="$WORK/$1.log"
    shift
    "$@" >"$log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        ADDRESS=$(sed -n 's/^listening on //p' "$log" | head -1)
        [ -n "$ADDRESS" ] && return
        sleep 0.1
    done
    echo "error: $* did not start:" >&2
    cat "$log" >&2
    exit 3
}

now() { date +%s%N; }

# Best wall time in ms of ROUNDS runs of a command.
best_ms() {
    local best=""
    for _ in $(seq "$ROUNDS"); do
        local start end
        start=$(now)
        "$@" >"$WORK/last.out" 2>&1 || { cat "$WORK/last.out" >&2; exit 1; }
        end=$(now)
        local ms=$(((end - start) / 1000000))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "$best"
}

start server interop/go/bin/seed-server --addr 127.0.0.1:0
SERVER=$ADDRESS
start recorder "$GRPC_REPLAY" record --listen 127.0.0.1:0 --upstream "$SERVER" --out "$WORK/recordings"
PROXY=$ADDRESS

flood() { interop/go/bin/seed-client --addr "$1" --service greet --flood "$N"; }
direct=$(best_ms flood "$SERVER")
proxied=$(best_ms flood "$PROXY")

{
    echo "name: ping-pong"
    echo "call: greet.GreetService/GreetEveryone"
    echo "timeout: 60s"
    echo "script:"
    for _ in $(seq "$P"); do
        echo "  - client: {greeting: {first_name: Pat}}"
        echo "  - server: {result: Hello Pat!}"
    done
} >"$WORK/ping_pong.yaml"
play() { "$GRPC_REPLAY" run "$WORK/ping_pong.yaml" --target "$1" --quiet; }
pp_direct=$(best_ms play "$SERVER")
pp_proxied=$(best_ms play "$PROXY")

awk -v n="$N" -v d="$direct" -v p="$proxied" -v pp="$P" -v pd="$pp_direct" -v pq="$pp_proxied" 'BEGIN {
    printf "pipelined stream, %d messages each way (best of runs):\n", n
    printf "  direct   %6d ms  %9.0f msg/s\n", d, n / (d / 1000)
    printf "  proxied  %6d ms  %9.0f msg/s\n", p, n / (p / 1000)
    ratio = d / p
    printf "  throughput ratio proxied/direct: %.2f (goal >= 0.5) %s\n", ratio, (ratio >= 0.5 ? "met" : "NOT met")
    printf "ping-pong, %d round trips (best of runs):\n", pp
    printf "  direct %d ms, proxied %d ms\n", pd, pq
    printf "  added latency per round trip: %.1f us\n", (pq - pd) * 1000 / pp
}'
