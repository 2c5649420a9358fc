#!/usr/bin/env bash
# Server-role figures (issue 11), printed; nothing here is a timed test:
#
#   1. choosing among many scripts: `run --loopback` of one file holding SCALE_SCRIPTS
#      (10,000) calls of one method, each with its own first message (goal: under 5 s);
#   2. flat memory: `serve`'s resident memory after 1,000 calls, and its peak over
#      SCALE_LOAD (100,000) calls made by `grpc-replay bench` (goal: ratio at most 1.2).
#
#   bash bench/server_scale.sh                          # the issue's sizes
#   SCALE_SCRIPTS=500 SCALE_LOAD=5000 bash bench/server_scale.sh   # a quick look
#
# Builds grpc-replay in release mode (BENCH_PROFILE=debug uses the debug build). Linux
# only (reads /proc/PID/status).
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPTS=${SCALE_SCRIPTS:-10000}
LOAD=${SCALE_LOAD:-100000}
source bench/build.sh
bench_build
WORK=$(mktemp -d)
SERVE_PID=
cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# 1. SCRIPTS calls of GetFeature in one file, told apart by their first message.
python3 - "$SCRIPTS" >"$WORK/many.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("name: many scripts of one method")
print("calls:")
for i in range(n):
    print(f"  - id: c{i}")
    print("    call: routeguide.RouteGuide/GetFeature")
    print("    script:")
    print(f"      - client: {{latitude: {i}, longitude: 7}}")
    print(f"      - server: {{name: feature {i}}}")
PY
started=$(date +%s.%N)
if ! "$BIN" run --loopback "$WORK/many.yaml" --color never >"$WORK/loopback.txt" 2>&1; then
    tail -n 20 "$WORK/loopback.txt"
    echo "run --loopback failed" >&2
    exit 1
fi
ended=$(date +%s.%N)
loopback=$(python3 -c "print(f'{$ended - $started:.2f}')")
echo "run --loopback, $SCRIPTS scripts of one method in one file: ${loopback} s ($(tail -n 1 "$WORK/loopback.txt"))"

# 2. serve's memory: RSS after 1,000 calls, peak over LOAD calls.
cat >"$WORK/feature.yaml" <<'YAML'
name: one feature
call: routeguide.RouteGuide/GetFeature
script:
  - client: {latitude: 1, longitude: 2}
  - server: {name: here, location: {latitude: 1, longitude: 2}}
YAML
"$BIN" serve "$WORK/feature.yaml" --listen 127.0.0.1:0 --color never >"$WORK/serve.txt" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do
    grep -q "^listening on " "$WORK/serve.txt" && break
    sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$WORK/serve.txt" | head -n 1)
[ -n "$addr" ] || { cat "$WORK/serve.txt"; exit 1; }
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$SERVE_PID/status"; }
"$BIN" bench "$WORK/feature.yaml" --target "$addr" -n 1000 >/dev/null 2>&1
after_1000=$(kib VmRSS)
"$BIN" bench "$WORK/feature.yaml" --target "$addr" -n $((LOAD - 1000)) >/dev/null 2>&1
peak=$(kib VmHWM)
now=$(kib VmRSS)
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || true
SERVE_PID=
echo "serve, RSS after 1,000 calls: ${after_1000} KiB; after $LOAD calls: ${now} KiB; peak: ${peak} KiB"
python3 -c "print(f'serve, peak RSS over $LOAD calls / RSS after 1,000: {$peak / $after_1000:.3f} (goal <= 1.2)')"
echo "serve summary: $(grep 'calls:' "$WORK/serve.txt" | tail -n 1)"
