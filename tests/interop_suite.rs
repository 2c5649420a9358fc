//! The official gRPC interoperability test cases against grpc-go's own interop programs
//! (`interop/go/bin/interop-server`, `interop/go/bin/interop-client`), both ways:
//!
//! - `grpc-replay run scenarios/interop/client/` against grpc-go's interop server must
//!   pass every case, and a deliberately wrong scenario must fail;
//! - grpc-go's interop client must pass every case it implements against ONE
//!   `grpc-replay serve scenarios/interop/server/` that keeps serving, with the cases in
//!   the order of the interop test description and then in two shuffled orders (seeded,
//!   and printed): which script a call follows depends on the conversation only.
//!
//! grpc-go's interop client does not implement the four compression cases (it exits
//! with "Unsupported test case"; grpc's own interop runner skips them for Go): the test
//! pins that, and plays those server scripts with grpc-replay's own client scenarios.
//! Debian's grpc-go 1.33 ships no interop client (only the library), so only the current
//! grpc-go client plays here.
//!
//! The test protos come from Debian's `grpc-proto` package and the Go programs from
//! `interop/go/build.sh`. When either is missing the tests say `skipped: …` and pass,
//! unless `GRPC_REPLAY_REQUIRE_GO=1` is set (the project's test command sets it).

mod process;

use process::{Finished, Process};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The grpc-replay binary under test.
const GRPC_REPLAY: &str = env!("CARGO_BIN_EXE_grpc-replay");

/// The test protos the scenarios load (Debian's `grpc-proto`).
const TEST_PROTO: &str = "/usr/share/grpc-proto/grpc/testing/test.proto";

/// The eighteen cases, in the order of the interop test description
/// (grpc/doc/interop-test-descriptions.md).
const CASES: [&str; 18] = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
];

/// The seeds of the two shuffled orders.
const SHUFFLE_SEEDS: [u64; 2] = [0x5eed_0001, 0x5eed_0002];

/// The cases grpc-go's interop client does not implement.
const GO_CLIENT_LACKS: [&str; 4] = [
    "client_compressed_streaming",
    "client_compressed_unary",
    "server_compressed_streaming",
    "server_compressed_unary",
];

/// Cases whose call may never reach the server: grpc-go's client cancels it (or its
/// 1 ms deadline runs out) at once, often before the request headers leave (its
/// connection is dialled lazily, inside the deadline), and then no server sees a call at
/// all. The Go client is run again for a while; when its call never arrives, the same
/// case is played by grpc-replay's own client (`scenarios/interop/client/`), whose
/// connection is up before the deadline starts, so the server script is still played.
const MAY_NOT_ARRIVE: [&str; 2] = ["cancel_after_begin", "timeout_on_sleeping_server"];
/// How long such a case may keep trying with the Go client.
const ARRIVAL_BUDGET: Duration = Duration::from_secs(20);
/// How long the server may take to report such a call once the Go client exited (its
/// scripts answer at once, or after a 100 ms sleep).
const ARRIVAL_LIMIT: Duration = Duration::from_secs(1);

/// The deliberately wrong scenario, and the diff it must report.
const WRONG_SCENARIO: &str = "tests/fixtures/interop/large_unary_wrong_size.yaml";
const WRONG_DIFF: &str = "payload.body: expected length 314158, length is 314159";

/// How long one client run (grpc-replay or Go) may take.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);
/// How long the server may take to report a call after the client is done.
const REPORT_LIMIT: Duration = Duration::from_secs(3);
/// How long `serve --once` may take to exit once every script played.
const SERVE_EXIT_LIMIT: Duration = Duration::from_secs(15);

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// grpc-go's interop programs, once built.
struct GoPeers {
    server: PathBuf,
    client: PathBuf,
}

/// The Go programs and the test protos, or `None` after saying why the test is skipped.
/// Panics instead when `GRPC_REPLAY_REQUIRE_GO` is set.
fn go_peers() -> Option<GoPeers> {
    let bin = repo_root().join("interop/go/bin");
    let peers = GoPeers {
        server: bin.join("interop-server"),
        client: bin.join("interop-client"),
    };
    let paths = [&peers.server, &peers.client, Path::new(TEST_PROTO)];
    process::peers_present(&paths, "GRPC_REPLAY_REQUIRE_GO", "run interop/go/build.sh")
        .then_some(peers)
}

/// Says how a case went, past the test harness's capture.
fn progress(line: &str) {
    let _ = writeln!(std::io::stderr(), "interop: {line}");
}

/// `grpc-replay ARGS`, from the repository root with plain output.
fn grpc_replay(args: &[&str]) -> Command {
    let mut command = Command::new(GRPC_REPLAY);
    command.args(args).args(["--color", "never"]);
    command.current_dir(repo_root()).env("NO_COLOR", "1");
    command
}

/// A port on 127.0.0.1 that was free a moment ago (for a program that takes a port
/// number and cannot report the one it picked).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("the bound address").port()
}

/// Checks that `dir` holds exactly one scenario file per case of [`CASES`].
fn assert_one_file_per_case(dir: &str) {
    let entries = std::fs::read_dir(repo_root().join(dir))
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"));
    let mut names: Vec<String> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut cases = CASES.to_vec();
    cases.sort();
    assert_eq!(names, cases, "{dir} must hold one file per interop case");
}

/// Starts grpc-go's interop server on a free port; returns it and its `HOST:PORT`.
fn start_go_server(peers: &GoPeers) -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(&peers.server);
    command.arg(format!("--port={port}"));
    let mut server = Process::start("grpc-go interop-server", command);
    server.wait_for_port(port);
    (server, format!("127.0.0.1:{port}"))
}

#[test]
fn client_scenarios_pass_against_grpc_go_interop_server() {
    assert_one_file_per_case("scenarios/interop/client");
    let Some(peers) = go_peers() else { return };
    let (_server, target) = start_go_server(&peers);

    let run = Process::run(
        "grpc-replay run scenarios/interop/client/",
        grpc_replay(&["run", "scenarios/interop/client/", "--target", &target]),
        CLIENT_LIMIT,
    );
    for case in CASES {
        let passed = format!("✓ scenarios/interop/client/{case}.yaml");
        let ok = run.stdout.lines().any(|line| line.starts_with(&passed));
        progress(&format!(
            "grpc-replay client -> grpc-go server: {case}: {}",
            if ok { "passed" } else { "FAILED" }
        ));
    }
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout.contains("18 files, 22 calls: 22 passed"),
        "{}",
        run.describe()
    );

    let wrong = Process::run(
        "grpc-replay run (wrong scenario)",
        grpc_replay(&["run", WRONG_SCENARIO, "--target", &target]),
        CLIENT_LIMIT,
    );
    assert_eq!(wrong.code, Some(1), "{}", wrong.describe());
    assert!(wrong.stdout.contains(WRONG_DIFF), "{}", wrong.describe());
}

/// How many calls grpc-go's interop client makes in a case.
fn go_calls(case: &str) -> usize {
    match case {
        "custom_metadata" | "status_code_and_message" => 2,
        _ => 1,
    }
}

/// `CASES` shuffled by a small deterministic generator seeded with `seed`.
fn shuffled(seed: u64) -> Vec<&'static str> {
    let mut state = seed;
    let mut cases = CASES.to_vec();
    for i in (1..cases.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        cases.swap(i, (state >> 33) as usize % (i + 1));
    }
    cases
}

/// The `serve` process and what it reported so far.
struct Served {
    process: Process,
    address: String,
}

impl Served {
    /// Waits (bounded by `limit`) until the server has reported `count` finished calls of
    /// `file`; fails on a failed one. Returns how many came in time.
    fn await_calls(&mut self, file: &str, count: usize, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        let mut seen = 0;
        while seen < count {
            let Some(line) = self.process.next_line(deadline) else {
                break;
            };
            if line.starts_with("✗") {
                self.process
                    .fail(&format!("failed a call while playing {file}"));
            }
            if line.starts_with(&format!("✓ {file}")) {
                seen += 1;
            }
        }
        seen
    }
}

/// Runs grpc-go's interop client for one case against `address`.
fn run_go_client(peers: &GoPeers, address: &str, case: &str) -> Finished {
    let (host, port) = address.rsplit_once(':').expect("HOST:PORT");
    let mut command = Command::new(&peers.client);
    command.args([
        format!("--server_host={host}"),
        format!("--server_port={port}"),
        format!("--test_case={case}"),
    ]);
    Process::run(
        &format!("grpc-go interop-client {case}"),
        command,
        CLIENT_LIMIT,
    )
}

/// One case the Go client implements: it must exit 0, and the server must report every
/// call of the case's script file as passed.
fn go_client_case(peers: &GoPeers, served: &mut Served, case: &str) {
    let file = format!("scenarios/interop/server/{case}.yaml");
    let calls = go_calls(case);
    let may_not_arrive = MAY_NOT_ARRIVE.contains(&case);
    let limit = if may_not_arrive {
        ARRIVAL_LIMIT
    } else {
        REPORT_LIMIT
    };
    let started = Instant::now();
    let mut runs = 0;
    loop {
        runs += 1;
        let go = run_go_client(peers, &served.address, case);
        assert_eq!(go.code, Some(0), "{}", go.describe());
        if served.await_calls(&file, calls, limit) == calls {
            progress(&format!(
                "grpc-go client -> grpc-replay server: {case}: passed (run {runs})"
            ));
            return;
        }
        if may_not_arrive && started.elapsed() > ARRIVAL_BUDGET {
            progress(&format!(
                "grpc-go client -> grpc-replay server: {case}: the Go client's call never \
                 arrived in {runs} run(s); played by grpc-replay's client instead"
            ));
            return own_client_case(served, case, &file, calls);
        }
        if !may_not_arrive {
            served.process.fail(&format!(
                "never reported {calls} passed call(s) of {file} after {runs} run(s) of \
                 the Go client in {:?}",
                started.elapsed()
            ))
        }
    }
}

/// One case played by grpc-replay's own client script against the server: the client must
/// pass, and the server must report every call of the case's server script as passed.
fn own_client_case(served: &mut Served, case: &str, file: &str, calls: usize) {
    let script = format!("scenarios/interop/client/{case}.yaml");
    let run = Process::run(
        &format!("grpc-replay run {script}"),
        grpc_replay(&["run", &script, "--target", &served.address]),
        CLIENT_LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    if served.await_calls(file, calls, REPORT_LIMIT) != calls {
        served.process.fail(&format!(
            "never reported {calls} passed call(s) of {file} for grpc-replay's client"
        ))
    }
}

/// Plays every case of `order` against the server: grpc-go's client for the cases it
/// implements (it must say it lacks the others).
fn play_order(peers: &GoPeers, served: &mut Served, order: &[&str]) {
    for &case in order {
        if GO_CLIENT_LACKS.contains(&case) {
            let go = run_go_client(peers, &served.address, case);
            assert!(
                go.code != Some(0) && go.stderr.contains("Unsupported test case"),
                "grpc-go's interop client now implements {case}: play it here\n{}",
                go.describe()
            );
        } else {
            go_client_case(peers, served, case);
        }
    }
}

#[test]
fn go_interop_client_passes_against_server_scripts() {
    assert_one_file_per_case("scenarios/interop/server");
    let Some(peers) = go_peers() else { return };
    let process = Process::start(
        "grpc-replay serve scenarios/interop/server/",
        grpc_replay(&[
            "serve",
            "scenarios/interop/server/",
            "--listen",
            "127.0.0.1:0",
        ]),
    );
    let mut process = process;
    let address = process.listening_address();
    let mut served = Served { process, address };

    progress(&format!("order of the test description: {CASES:?}"));
    play_order(&peers, &mut served, &CASES);
    for seed in SHUFFLE_SEEDS {
        let order = shuffled(seed);
        progress(&format!("shuffled order (seed {seed:#x}): {order:?}"));
        play_order(&peers, &mut served, &order);
    }

    // The compression scripts, played by grpc-replay's own client.
    let mut args = vec!["run"];
    let scenarios: Vec<String> = GO_CLIENT_LACKS
        .iter()
        .map(|case| format!("scenarios/interop/client/{case}.yaml"))
        .collect();
    args.extend(scenarios.iter().map(String::as_str));
    args.extend(["--target", &served.address]);
    let run = Process::run(
        "grpc-replay run (compression cases)",
        grpc_replay(&args),
        CLIENT_LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    for case in GO_CLIENT_LACKS {
        progress(&format!(
            "grpc-replay client -> grpc-replay server: {case}: passed"
        ));
    }

    served.process.terminate();
    let serve = served.process.finish(SERVE_EXIT_LIMIT);
    assert_eq!(serve.code, Some(0), "{}", serve.describe());
    assert!(
        !serve.stdout.lines().any(|line| line.starts_with("✗")),
        "{}",
        serve.describe()
    );
}

#[test]
fn shuffled_orders_are_permutations_of_the_cases() {
    for seed in SHUFFLE_SEEDS {
        let mut order = shuffled(seed);
        assert_ne!(order, CASES, "seed {seed:#x} shuffles");
        order.sort();
        let mut cases = CASES.to_vec();
        cases.sort();
        assert_eq!(order, cases);
    }
}
