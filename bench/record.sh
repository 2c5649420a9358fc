#!/usr/bin/env bash
# What the recording proxy costs (grpc-replay record, issue 13), printed as figures:
#
# - throughput: grpc-go's seed-client pipelines N GreetEveryone messages on one stream to
#   grpc-go's seed-server (`--service greet --flood N`), directly and through
#   `grpc-replay record`; the ratio is direct time / proxied time (goal >= 0.5);
# - latency: `grpc-replay bench` plays a ping-pong GreetEveryone script (one message, wait
#   for the reply; P round trips in all) directly and through the proxy; the difference
#   of the per-message latencies (send to reply) is what the proxy adds.
#
# Each figure is the best of ROUNDS runs (default 3).
#
#   bash bench/record.sh                  # N=100000 messages, P=2000 round trips
#   N=20000 P=500 bash bench/record.sh    # quicker
#
# Needs the Go peers (bash interop/go/build.sh current) and builds grpc-replay in release
# mode (GRPC_REPLAY=PATH uses that binary instead, e.g. a debug build for a quick look).
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

if [ -z "${GRPC_REPLAY:-}" ]; then
    source bench/build.sh
    BENCH_PROFILE=release bench_build
    GRPC_REPLAY=$BIN
fi
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
    for _ in $(seq 50); do
        echo "  - client: {greeting: {first_name: Pat}}"
        echo "  - server: {result: Hello Pat!}"
    done
} >"$WORK/ping_pong.yaml"
# `grpc-replay bench` measures each message from its send to the reply that answers it;
# prints "p50 mean" of that per-message latency, in ms.
per_message() {
    "$GRPC_REPLAY" bench "$WORK/ping_pong.yaml" --target "$1" -c 1 -n "$CALLS" |
        awk '$1 == "per" && $2 == "message" { print $5, $4 }'
}
CALLS=$(((P + 49) / 50))
read -r pp_direct_p50 pp_direct_mean < <(per_message "$SERVER")
read -r pp_proxied_p50 pp_proxied_mean < <(per_message "$PROXY")

awk -v n="$N" -v d="$direct" -v p="$proxied" -v pp="$((CALLS * 50))" \
    -v d50="$pp_direct_p50" -v dm="$pp_direct_mean" -v p50="$pp_proxied_p50" -v pm="$pp_proxied_mean" 'BEGIN {
    printf "pipelined stream, %d messages each way (best of runs):\n", n
    printf "  direct   %6d ms  %9.0f msg/s\n", d, n / (d / 1000)
    printf "  proxied  %6d ms  %9.0f msg/s\n", p, n / (p / 1000)
    ratio = d / p
    printf "  throughput ratio proxied/direct: %.2f (goal >= 0.5) %s\n", ratio, (ratio >= 0.5 ? "met" : "NOT met")
    printf "ping-pong, %d round trips, per message send to reply (ms):\n", pp
    printf "  direct   p50 %.3f  mean %.3f\n", d50, dm
    printf "  proxied  p50 %.3f  mean %.3f\n", p50, pm
    printf "  added latency per message: p50 %.0f us, mean %.0f us\n", (p50 - d50) * 1000, (pm - dm) * 1000
}'
