#!/usr/bin/env python3
"""The benchmark harness of issue 7, run by bench/run.sh after the release build: measures
every target side by side in one run on this machine and prints a table of absolute
figures and ratios, then one line per target: `<target>: <figure> (goal <goal>)`.

Peers: the typed tonic baseline (examples/bench_baseline.rs), grpc-go's seed-client
(interop/go), grpcio (PyPI). Every stream is the greet.GreetService/GreetEveryone stream of
bench/scenarios/greet_pipelined.yaml: N greetings {first_name: Flo}, N replies
{result: "Hello Flo!"}, every reply checked by every client (every request by every
server that checks).

Times are of the call itself (the connection already open), as each program reports it:
grpc-replay the call's time in its JUnit report (millisecond precision), the baseline and
grpcio `elapsed_seconds=`, grpc-go `ok in DURATION` (its connection opens lazily, inside
that time). Ratios are throughput ratios: reference time / grpc-replay time, so above 1
means grpc-replay is faster. Medians of several runs, runs of the compared programs
alternating. Ping-pong runs with its servers bound to CPU 0 and its clients to CPU 1
(taskset): unbound, its round trips vary threefold between runs with thread placement.
Memory: peak RSS (GNU time's %M) of `run --loopback` (both roles in one process) at two
stream lengths. Load: wall time of `grpc-replay check` on a generated scenario. First
byte: examples/bench_baseline.rs `first-byte` spawns `grpc-replay run` against a local
listener and times spawn to first byte received.

Load mode against ghz (bench/.bin/ghz, from the Go module proxy): the same unary call
(bench/scenarios/ghz_unary.yaml) and the same 10-message bidi stream (ghz_stream.yaml)
against grpc-go's seed-server (on CPU 0; the clients on CPU 1), the same number of calls
at the same concurrency over one connection; calls/s and p50/p99 per call as each tool
reports them, client CPU (user + system, GNU time). The figure is grpc-replay's calls per
client CPU-second over ghz's; grpc-replay checks every reply, ghz only the status.

Size: env BENCH_SIZE=smoke (seconds; checks that everything runs, not the figures) or
full (the default: the sizes of the issue).
Exit code 0 when every measurement ran (goals met or not), 1 when one could not be made.
"""

import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPLAY = ROOT / "target" / "release" / "grpc-replay"
BASELINE = ROOT / "target" / "release" / "examples" / "bench_baseline"
GO_CLIENT = ROOT / "interop" / "go" / "bin" / "seed-client"
GO_SERVER = ROOT / "interop" / "go" / "bin" / "seed-server"
GHZ = ROOT / "bench" / ".bin" / "ghz"
GRPCIO_CLIENT = ROOT / "bench" / "grpcio_client.py"
PIPELINED = ROOT / "bench" / "scenarios" / "greet_pipelined.yaml"
GROUP = ROOT / "bench" / "scenarios" / "greet_group.yaml"
SERVER_STREAM = ROOT / "bench" / "scenarios" / "list_features_stream.yaml"
SMALL_SCENARIO = ROOT / "scenarios" / "greet" / "greet_everyone.yaml"
# The load-mode comparison with ghz: each shape's grpc-replay scenario and ghz's call.
GHZ_SHAPES = {
    "unary": {
        "scenario": ROOT / "bench" / "scenarios" / "ghz_unary.yaml",
        "proto": ROOT / "proto" / "route_guide.proto",
        "call": "routeguide.RouteGuide/GetFeature",
        "data": {"latitude": 408122808, "longitude": -743999179},
    },
    "bidi stream of 10": {
        "scenario": ROOT / "bench" / "scenarios" / "ghz_stream.yaml",
        "proto": ROOT / "proto" / "greet.proto",
        "call": "greet.GreetService/GreetEveryone",
        "data": [{"greeting": {"first_name": "Flo"}}] * 10,
    },
}
# Calls in flight in the ghz comparison, both tools.
GHZ_CONCURRENCY = 50

SIZES = {
    "full": {
        "pipelined": 200_000,
        "ping_pong": 20_000,
        "memory_small": 100_000,
        "memory_large": 10_000_000,
        "steps": 100_000,
        "runs": 5,
        "ping_pong_runs": 9,
        "slow_runs": 3,
        "first_byte_runs": 21,
        "bench_iterations": 20_000,
        "ghz_calls": {"unary": 200_000, "bidi stream of 10": 40_000},
        "time_limit": 600,
    },
    "smoke": {
        "pipelined": 2_000,
        "ping_pong": 200,
        "memory_small": 1_000,
        "memory_large": 20_000,
        "steps": 1_000,
        "runs": 1,
        "ping_pong_runs": 1,
        "slow_runs": 1,
        "first_byte_runs": 3,
        "bench_iterations": 200,
        "ghz_calls": {"unary": 2_000, "bidi stream of 10": 400},
        "time_limit": 60,
    },
}

# No single program of the benchmark may run longer than this (set from the size).
TIME_LIMIT_SECONDS = 600
# Where the ping-pong servers and clients run.
SERVER_CPU, CLIENT_CPU = 0, 1
# How long a server may take to print its address.
READY_LIMIT_SECONDS = 30


class MeasurementFailed(Exception):
    """A program of the benchmark failed or printed no figure."""


def run(command, what):
    """Runs a program to its end; returns its standard output, raises when it fails."""
    try:
        done = subprocess.run(
            [str(part) for part in command],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise MeasurementFailed(f"{what}: no end within {TIME_LIMIT_SECONDS}s") from error
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-6:]
        raise MeasurementFailed(f"{what}: exit {done.returncode}: " + " | ".join(tail))
    return done.stdout


def figure(output, key, what):
    """The number printed as `key=NUMBER`."""
    match = re.search(rf"{key}=([0-9.]+)", output)
    if not match:
        raise MeasurementFailed(f"{what}: no `{key}=` in its output: {output.strip()[-200:]}")
    return float(match.group(1))


@contextmanager
def server(command, what):
    """Starts a server that prints `listening on ADDR`; yields ADDR; stops it at the end."""
    process = subprocess.Popen(
        [str(part) for part in command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + READY_LIMIT_SECONDS
        addr = None
        while addr is None:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([process.stdout], [], [], max(left, 0))
            if not ready:
                raise MeasurementFailed(f"{what}: not listening within {READY_LIMIT_SECONDS}s")
            line = process.stdout.readline()
            if not line:
                raise MeasurementFailed(f"{what}: exited with {process.wait()} before listening")
            if line.startswith("listening on "):
                addr = line.split()[-1]
        yield addr
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pinned(cpu, command):
    """`command` bound to one CPU with taskset (as it is when taskset is missing or the
    machine has one CPU); `cpu` None: not bound."""
    if cpu is None or shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        return command
    return ["taskset", "-c", str(cpu), *command]


def typed_client(addr, workload, messages, cpu=None):
    """The typed tonic client's call time in seconds."""
    output = run(
        pinned(
            cpu,
            [BASELINE, "client", "--target", addr, "--workload", workload, "--messages", messages],
        ),
        f"typed tonic client ({workload})",
    )
    return figure(output, "elapsed_seconds", "typed tonic client")


def replay_client(addr, scenario, variables, scratch, cpu=None):
    """grpc-replay `run`'s call time in seconds, from its JUnit report."""
    junit = Path(scratch) / "run.xml"
    command = [REPLAY, "run", scenario, "--target", addr, "--color", "never", "--quiet"]
    for name, value in variables.items():
        command += ["--var", f"{name}={value}"]
    run(
        pinned(cpu, command + ["--report", f"junit={junit}"]),
        f"grpc-replay run {Path(scenario).name}",
    )
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    return sum(float(case.get("time")) for case in cases)


def go_client(addr, messages):
    """grpc-go seed-client's flood time in seconds."""
    output = run(
        [GO_CLIENT, "--addr", addr, "--service", "greet", "--flood", messages],
        "Go seed-client",
    )
    match = re.search(r"ok in (\S+)", output)
    if not match:
        raise MeasurementFailed(f"Go seed-client: no time in its output: {output.strip()}")
    return go_duration(match.group(1))


def go_duration(text):
    """Seconds in a Go duration such as `1m2.5s`, `317ms` or `950µs`."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([0-9.]+)(h|ms|us|µs|ns|m|s)", text)
    if not parts:
        raise MeasurementFailed(f"Go seed-client: cannot read the duration {text!r}")
    return sum(float(amount) * units[unit] for amount, unit in parts)


def grpcio_client(addr, messages):
    """The grpcio client's call time in seconds."""
    output = run(
        [sys.executable, GRPCIO_CLIENT, "--target", addr, "--messages", messages],
        "grpcio client",
    )
    return figure(output, "elapsed_seconds", "grpcio client")


def peak_rss_kib(command, what, scratch):
    """Runs a program to its end under /usr/bin/time; returns its peak resident set size
    in KiB. (Not os.wait4 from here: a child forked from Python starts with Python's
    pages, and the kernel's maximum keeps them across exec.)"""
    measured = Path(scratch) / "rss.txt"
    run(["/usr/bin/time", "-f", "%M", "-o", measured, *command], what)
    return int(measured.read_text().split()[-1])


def client_cpu_seconds(command, what, scratch):
    """Runs a program to its end under /usr/bin/time; returns its output and the CPU
    seconds (user + system) it used."""
    measured = Path(scratch) / "cpu.txt"
    output = run(["/usr/bin/time", "-f", "%U %S", "-o", measured, *command], what)
    user, system = measured.read_text().split()[-2:]
    return output, float(user) + float(system)


@dataclass
class Load:
    """What one load run measured."""

    calls: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float

    def per_cpu_second(self):
        return self.calls / self.cpu_seconds if self.cpu_seconds else float("inf")

    def text(self):
        return (
            f"{self.per_second:,.0f}/s p50 {self.p50_ms:.2f} p99 {self.p99_ms:.2f} ms "
            f"cpu {self.cpu_seconds:.2f}s"
        )


def replay_load(addr, shape, calls, scratch):
    """`grpc-replay bench` of the shape's scenario: every call must pass."""
    report = Path(scratch) / "bench.json"
    command = [REPLAY, "bench", GHZ_SHAPES[shape]["scenario"], "--target", addr]
    command += ["-n", calls, "-c", GHZ_CONCURRENCY, "--connections", 1, "--report", f"json={report}"]
    _, cpu = client_cpu_seconds(pinned(CLIENT_CPU, command), f"grpc-replay bench ({shape})", scratch)
    figures = json.loads(report.read_text())
    if figures["calls"]["passed"] != calls:
        raise MeasurementFailed(f"grpc-replay bench ({shape}): {figures['calls']}")
    latency = figures["call_latency_ms"]
    return Load(calls, figures["calls"]["per_second"], latency["p50"], latency["p99"], cpu)


def ghz_load(addr, shape, calls, scratch):
    """ghz on the shape's call: every call must end OK."""
    spec = GHZ_SHAPES[shape]
    command = [GHZ, "--insecure", "--proto", spec["proto"], "--call", spec["call"]]
    command += ["-d", json.dumps(spec["data"]), "-n", calls, "-c", GHZ_CONCURRENCY]
    command += ["--connections", 1, "-O", "json", addr]
    output, cpu = client_cpu_seconds(pinned(CLIENT_CPU, command), f"ghz ({shape})", scratch)
    figures = json.loads(output)
    ok = figures.get("statusCodeDistribution", {}).get("OK", 0)
    if ok != calls:
        raise MeasurementFailed(f"ghz ({shape}): {ok} of {calls} calls OK: {output[-300:]}")
    percentiles = {d["percentage"]: d["latency"] / 1e6 for d in figures["latencyDistribution"]}
    return Load(calls, figures["rps"], percentiles[50], percentiles[99], cpu)


def wall_seconds(command, what):
    """Runs a program to its end; returns how long it took."""
    started = time.perf_counter()
    run(command, what)
    return time.perf_counter() - started


def first_byte_ms(command, runs, what):
    """The median time from spawning `command` to its first byte on the wire."""
    output = run([BASELINE, "first-byte", "--runs", runs, "--", *command], what)
    times = [float(value) for value in re.findall(r"first_byte_ms=([0-9.]+)", output)]
    if len(times) != runs:
        raise MeasurementFailed(f"{what}: {len(times)} figures of {runs}")
    return statistics.median(times)


def median_of(runs, measure):
    """The median of `runs` measurements."""
    return statistics.median(measure() for _ in range(runs))


def alternating(runs, first, second, key=None):
    """Medians of two measurements taken in turn, so that drift hits both alike; with
    `key`, the measurements are records and the median is the one of median key."""
    firsts, seconds = [], []
    for _ in range(runs):
        firsts.append(first())
        seconds.append(second())
    if key is None:
        return statistics.median(firsts), statistics.median(seconds)
    return tuple(sorted(runs, key=key)[len(runs) // 2] for runs in (firsts, seconds))


def write_ping_pong(path, round_trips):
    """A GreetEveryone scenario of `round_trips` send-one-await-one exchanges."""
    lines = [
        "name: GreetEveryone ping-pong, every reply checked",
        "call: greet.GreetService/GreetEveryone",
        "timeout: 30m",
        "script:",
    ]
    for _ in range(round_trips):
        lines.append("  - client: {greeting: {first_name: Flo}}")
        lines.append("  - server: {result: Hello Flo!}")
    lines += ["  - close", "  - status: OK"]
    Path(path).write_text("\n".join(lines) + "\n")


def write_many_steps(path, steps):
    """A GreetEveryone scenario of `steps` message steps, all different."""
    lines = ["name: many steps", "call: greet.GreetService/GreetEveryone", "timeout: 30m", "script:"]
    for index in range(steps // 2):
        lines.append(f"  - client: {{greeting: {{first_name: P{index}}}}}")
        lines.append(f"  - server: {{result: Hello P{index}!}}")
    lines += ["  - close", "  - status: OK"]
    Path(path).write_text("\n".join(lines) + "\n")


@dataclass
class Row:
    """One line of the table, and the target it checks when it has a goal."""

    target: str
    replay: str
    reference: str
    figure: float = None
    goal: str = ""
    met: bool = None
    error: str = ""

    def closing_line(self):
        """`<target>: <figure> (goal <goal>) met`; `None` for a row without a goal."""
        if not self.goal:
            return None
        if self.error:
            return f"{self.target}: not measured ({self.error}) (goal {self.goal})"
        verdict = "met" if self.met else "NOT met"
        return f"{self.target}: {self.figure:.2f} (goal {self.goal}) {verdict}"


def seconds_text(seconds, messages):
    return f"{seconds:.3f} s ({messages / seconds / 1e6:.2f} M/s)" if seconds else "-"


class Benchmark:
    """Runs the measurements of one size and collects the rows."""

    def __init__(self, size, scratch):
        self.size = SIZES[size]
        self.scratch = scratch
        self.rows = []

    def measure(self, target, goal, compute):
        """Adds the row `compute` returns, or a row saying why it could not be measured."""
        only = os.environ.get("BENCH_ONLY")
        if only and only not in target:
            return
        print(f"... {target}", file=sys.stderr, flush=True)
        try:
            row = compute()
        except MeasurementFailed as error:
            row = Row(target, "-", "-", error=str(error))
        row.target, row.goal = target, goal
        self.rows.append(row)

    def ratio_row(self, replay_seconds, reference_name, reference_seconds, messages, at_least):
        ratio = reference_seconds / replay_seconds
        return Row(
            "",
            seconds_text(replay_seconds, messages),
            f"{reference_name} {seconds_text(reference_seconds, messages)}",
            figure=ratio,
            met=ratio >= at_least,
        )

    def run_all(self):
        size, scratch = self.size, self.scratch
        pipelined, ping_pong, runs = size["pipelined"], size["ping_pong"], size["runs"]
        ping_pong_file = Path(scratch) / "ping_pong.yaml"
        write_ping_pong(ping_pong_file, ping_pong)
        messages = {"MESSAGES": pipelined}
        replay_times = {}

        # Ping-pong is bound by wake-up latency, which on this kind of machine varies
        # threefold with where the scheduler puts the threads: its servers run on CPU 0,
        # its clients on CPU 1. The pipelined streams are not bound.
        with server([BASELINE, "server"], "typed tonic server") as typed, server(
            pinned(SERVER_CPU, [BASELINE, "server"]), "typed tonic server on CPU 0"
        ) as typed_pinned:

            def client_pipelined():
                typed_time, replay_time = alternating(
                    runs,
                    lambda: typed_client(typed, "pipelined", pipelined),
                    lambda: replay_client(typed, PIPELINED, messages, scratch),
                )
                replay_times["pipelined"] = replay_time
                return self.ratio_row(replay_time, "typed tonic", typed_time, pipelined, 0.9)

            self.measure(
                f"client role, pipelined bidi {pipelined:,} messages, vs a typed tonic client",
                ">= 0.9",
                client_pipelined,
            )

            def client_ping_pong():
                typed_time, replay_time = alternating(
                    size["ping_pong_runs"],
                    lambda: typed_client(typed_pinned, "ping-pong", ping_pong, CLIENT_CPU),
                    lambda: replay_client(
                        typed_pinned, ping_pong_file, {}, scratch, CLIENT_CPU
                    ),
                )
                return self.ratio_row(replay_time, "typed tonic", typed_time, ping_pong, 0.95)

            self.measure(
                f"client role, ping-pong {ping_pong:,} round trips, vs a typed tonic client",
                ">= 0.95",
                client_ping_pong,
            )

            def against(name, measure_reference, reference_runs):
                def compute():
                    if "pipelined" not in replay_times:
                        raise MeasurementFailed("grpc-replay's pipelined figure is missing")
                    reference = median_of(reference_runs, measure_reference)
                    return self.ratio_row(
                        replay_times["pipelined"], name, reference, pipelined, 1.0
                    )

                return compute

            self.measure(
                f"client role, pipelined bidi {pipelined:,} messages, vs grpc-go seed-client",
                ">= 1",
                against("grpc-go", lambda: go_client(typed, pipelined), runs),
            )
            self.measure(
                f"client role, pipelined bidi {pipelined:,} messages, vs grpcio (Python)",
                ">= 1",
                against(
                    "grpcio", lambda: grpcio_client(typed, pipelined), size["slow_runs"]
                ),
            )

            def load_mode():
                report = Path(scratch) / "bench.json"
                iterations = size["bench_iterations"]
                run(
                    [REPLAY, "bench", SMALL_SCENARIO, "--target", typed, "--concurrency", 8,
                     "--connections", 2, "--iterations", iterations, "--report", f"json={report}"],
                    "grpc-replay bench",
                )
                figures = json.loads(report.read_text())
                if figures["calls"]["passed"] != iterations:
                    raise MeasurementFailed(f"grpc-replay bench: {figures['calls']}")
                latency = figures["message_latency_ms"]
                return Row(
                    "",
                    f"{figures['calls']['per_second']:,.0f} calls/s",
                    f"per message p50 {latency['p50']:.3f} ms, p99 {latency['p99']:.3f} ms",
                    figure=figures["messages"]["per_second"] / 1000,
                )

            self.measure(
                f"load mode: bench {SMALL_SCENARIO.name}, {size['bench_iterations']:,} calls, "
                "-c 8 over 2 connections, thousand messages/s",
                "",
                load_mode,
            )

            def server_role(workload, scenario, variables, count, role_runs, reference, cpus, at_least):
                server_cpu, client_cpu = cpus

                def compute():
                    command = [REPLAY, "serve", scenario, "--listen", "127.0.0.1:0"]
                    command += ["--color", "never", "--quiet", "--no-reflection"]
                    for name, value in variables.items():
                        command += ["--var", f"{name}={value}"]
                    with server(pinned(server_cpu, command), "grpc-replay serve") as replay:
                        typed_time, replay_time = alternating(
                            role_runs,
                            lambda: typed_client(reference, workload, count, client_cpu),
                            lambda: typed_client(replay, workload, count, client_cpu),
                        )
                    return self.ratio_row(
                        replay_time, "typed tonic", typed_time, count, at_least
                    )

                return compute

            self.measure(
                f"server role, pipelined bidi {pipelined:,} messages, vs a typed tonic server",
                ">= 0.9",
                server_role(
                    "pipelined", PIPELINED, messages, pipelined, runs, typed, (None, None), 0.9
                ),
            )
            self.measure(
                f"server role, ping-pong {ping_pong:,} round trips, vs a typed tonic server",
                ">= 0.95",
                server_role(
                    "ping-pong",
                    ping_pong_file,
                    {},
                    ping_pong,
                    size["ping_pong_runs"],
                    typed_pinned,
                    (SERVER_CPU, CLIENT_CPU),
                    0.95,
                ),
            )
            # The same streams served by one script written as a group: each round answers
            # its message as it arrives.
            self.measure(
                f"server role, group, pipelined bidi {pipelined:,} messages, vs a typed tonic server",
                ">= 0.9",
                server_role(
                    "pipelined", GROUP, messages, pipelined, runs, typed, (None, None), 0.9
                ),
            )
            self.measure(
                f"server role, group, ping-pong {ping_pong:,} round trips, vs a typed tonic server",
                ">= 0.95",
                server_role(
                    "ping-pong",
                    GROUP,
                    {"MESSAGES": ping_pong},
                    ping_pong,
                    size["ping_pong_runs"],
                    typed_pinned,
                    (SERVER_CPU, CLIENT_CPU),
                    0.95,
                ),
            )

        with server(pinned(SERVER_CPU, [GO_SERVER, "--addr", "127.0.0.1:0"]), "Go seed-server") as go:
            for shape, calls in size["ghz_calls"].items():

                def against_ghz(shape=shape, calls=calls):
                    replay, ghz = alternating(
                        size["slow_runs"],
                        lambda: replay_load(go, shape, calls, scratch),
                        lambda: ghz_load(go, shape, calls, scratch),
                        key=lambda load: load.per_cpu_second(),
                    )
                    ratio = replay.per_cpu_second() / ghz.per_cpu_second()
                    return Row("", replay.text(), f"ghz {ghz.text()}", figure=ratio, met=ratio >= 1.5)

                self.measure(
                    f"load mode vs ghz, {shape}, {calls:,} calls -c {GHZ_CONCURRENCY}, "
                    "calls per client CPU-second",
                    ">= 1.5",
                    against_ghz,
                )

        small, large = size["memory_small"], size["memory_large"]
        for shape, scenario in [("pipelined bidi", PIPELINED), ("server streaming", SERVER_STREAM)]:

            def memory(scenario=scenario):
                def rss_at(count):
                    return peak_rss_kib(
                        [REPLAY, "run", "--loopback", scenario, "--var", f"MESSAGES={count}"],
                        f"grpc-replay run --loopback ({count:,} messages)",
                        scratch,
                    )

                rss = alternating(size["slow_runs"], lambda: rss_at(small), lambda: rss_at(large))
                ratio = rss[1] / rss[0]
                return Row(
                    "",
                    f"{rss[1] / 1024:.1f} MiB at {large:,}",
                    f"{rss[0] / 1024:.1f} MiB at {small:,}",
                    figure=ratio,
                    met=ratio <= 1.2,
                )

            self.measure(
                f"memory, {shape} (run --loopback), peak RSS {large:,} / {small:,} messages",
                "<= 1.2",
                memory,
            )

        def load():
            steps = size["steps"]
            path = Path(scratch) / "many_steps.yaml"
            write_many_steps(path, steps)
            seconds = median_of(
                size["slow_runs"],
                lambda: wall_seconds([REPLAY, "check", path], f"grpc-replay check ({steps:,} steps)"),
            )
            return Row("", f"{seconds:.3f} s", "-", figure=seconds, met=seconds < 0.5)

        self.measure(f"loading a scenario of {size['steps']:,} steps (check), seconds", "< 0.5", load)

        def first_byte():
            runs = size["first_byte_runs"]
            replay = first_byte_ms(
                [REPLAY, "run", SMALL_SCENARIO, "--target", "{addr}", "--color", "never"],
                runs,
                "grpc-replay run: first byte",
            )
            typed = first_byte_ms(
                [BASELINE, "client", "--target", "{addr}", "--workload", "ping-pong", "--messages", 1],
                runs,
                "typed tonic client: first byte",
            )
            return Row(
                "", f"{replay:.1f} ms", f"typed tonic {typed:.1f} ms", figure=replay, met=replay < 20
            )

        self.measure("first byte on the wire after process start, milliseconds", "< 20", first_byte)

    def print_report(self):
        print()
        print(f"{'target':<92} {'grpc-replay':<26} {'reference':<34} {'figure':>7}")
        for row in self.rows:
            value = "-" if row.error else f"{row.figure:.2f}"
            print(f"{row.target:<92} {row.replay:<26} {row.reference:<34} {value:>7}")
        print()
        for line in filter(None, (row.closing_line() for row in self.rows)):
            print(line)


def main():
    size = os.environ.get("BENCH_SIZE", "full")
    if size not in SIZES:
        sys.exit(f"harness: BENCH_SIZE must be one of {', '.join(SIZES)}, not {size!r}")
    global TIME_LIMIT_SECONDS
    TIME_LIMIT_SECONDS = SIZES[size]["time_limit"]
    print(f"benchmark size {size}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory(prefix="grpc-replay-bench-") as scratch:
        benchmark = Benchmark(size, scratch)
        benchmark.run_all()
    benchmark.print_report()
    failed = [row for row in benchmark.rows if row.error]
    if failed:
        print(f"\n{len(failed)} measurement(s) could not be made", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
