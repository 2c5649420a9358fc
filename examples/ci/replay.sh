#!/usr/bin/env bash
# Replays a folder of scenarios in CI and leaves JUnit reports (and a JSON transcript)
# for the CI system to publish.
#
# It starts grpc-replay itself as the server (a stand-in for your service: replace step 1
# with starting your own server to test it), replays the scenarios against it as the
# client, and stops the server. This project's own CI runs this script (scripts/test.sh).
#
# Usage: examples/ci/replay.sh [SCENARIO_PATH...]   (default: scenarios/)
# Environment:
#   GRPC_REPLAY   the grpc-replay binary        (default: grpc-replay on PATH)
#   REPORT_DIR    where the reports are left    (default: reports)
# Exit code: grpc-replay's (0 all passed, 1 a scenario failed, 2 invalid input,
# 3 transport failure), the worse of the client's and the server's.
set -euo pipefail

GRPC_REPLAY="${GRPC_REPLAY:-grpc-replay}"
if [ "$#" -eq 0 ]; then set -- scenarios/; fi
REPORT_DIR="${REPORT_DIR:-reports}"
mkdir -p "$REPORT_DIR"
server_log="$REPORT_DIR/server.log"

# 1. The server, in the background: port 0 picks a free port, which the readiness line
#    `listening on HOST:PORT` tells; --once makes it exit once every script has played.
"$GRPC_REPLAY" serve "$@" --listen 127.0.0.1:0 --once --color never \
    --report junit="$REPORT_DIR/server-junit.xml" >"$server_log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT

target=""
for _ in $(seq 1 300); do # at most 30 s
    target="$(sed -n 's/^listening on //p' "$server_log" | head -n 1)"
    [ -n "$target" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "replay.sh: the server exited before it was ready:" >&2
        cat "$server_log" >&2
        exit 2
    fi
    sleep 0.1
done
if [ -z "$target" ]; then
    echo "replay.sh: the server printed no readiness line within 30 s:" >&2
    cat "$server_log" >&2
    exit 2
fi
echo "replay.sh: server on $target (log: $server_log)"

# 2. The client: replays every scenario and writes the reports.
client_status=0
"$GRPC_REPLAY" run "$@" --target "$target" --color never \
    --report junit="$REPORT_DIR/junit.xml" \
    --report json="$REPORT_DIR/transcript.json" || client_status=$?

# 3. The server ends by itself once every script played; past 10 s (a script no call
#    matched), or at once when the client could not even load the scenarios, SIGTERM
#    makes it write its report and exit: under --once a script not played is a failure
#    (exit 1, a JUnit <failure type="interrupted">), so a client that skips a call fails.
if [ "$client_status" -ne 2 ]; then
    for _ in $(seq 1 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
fi
kill -TERM "$server_pid" 2>/dev/null || true
server_status=0
wait "$server_pid" || server_status=$?
trap - EXIT
echo "replay.sh: server: $(tail -n 1 "$server_log")"

echo "replay.sh: reports in $REPORT_DIR/: junit.xml, transcript.json, server-junit.xml"
exit $((client_status > server_status ? client_status : server_status))
