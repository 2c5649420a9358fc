#!/usr/bin/env bash
# Loader figures (issue 15 item 6), printed; nothing here is a timed test: the time and
# peak resident memory of `grpc-replay check` on generated bidi scenarios of
# LOADER_STEPS steps (default: 10,000, 100,000 and 1,780,000, the last about 50 MB). CPU
# seconds (user + system) say what the wall time says on a machine nobody else is using.
# Goals: 100,000 steps under 0.5 s; the 50 MB file in seconds and under 1 GB.
#
#   bash bench/loader.sh                                   # the issue's sizes
#   LOADER_STEPS="10000 100000" BENCH_PROFILE=debug bash bench/loader.sh   # a quick look
#
# Builds grpc-replay in release mode (BENCH_PROFILE=debug uses the debug build). Needs
# GNU time (/usr/bin/time) for the peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=${LOADER_STEPS:-"10000 100000 1780000"}
source bench/build.sh
bench_build
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A bidi call of STEPS alternating client and server messages, then close and status.
generate() {
    local steps=$1 file=$2
    {
        printf 'name: generated\ncall: HelloWorld/bidiHello\ntimeout: 1h\nscript:\n'
        awk -v pairs=$((steps / 2)) 'BEGIN {
            for (i = 0; i < pairs; i++)
                printf "  - client: name%d\n  - server: Hello name%d\n", i, i
        }'
        printf '  - close\n  - status: OK\n'
    } >"$file"
}

printf '%-10s %10s %10s %12s %12s\n' steps "file MB" seconds "CPU seconds" "peak RSS MB"
for steps in $STEPS; do
    file="$WORK/steps_$steps.yaml"
    generate "$steps" "$file"
    size=$(stat -c %s "$file")
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$BIN" check "$file" >/dev/null
    read -r seconds user system peak_kb <"$WORK/time"
    awk -v steps="$steps" -v size="$size" -v seconds="$seconds" \
        -v user="$user" -v sys="$system" -v peak="$peak_kb" \
        'BEGIN { printf "%-10s %10.1f %10s %12.2f %12.0f\n", steps, size / 1048576, seconds,
                 user + sys, peak / 1024 }'
done
