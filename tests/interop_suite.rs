//! The official gRPC interoperability test cases against other implementations' own
//! interop programs, both ways:
//!
//! - `grpc-replay run scenarios/interop/client/` against grpc-go's interop server
//!   (`interop/go/bin/interop-server`) must pass every case, and a deliberately wrong
//!   scenario must fail;
//! - three official interop clients — grpc-go's current one, grpc-go 1.33's (both built by
//!   `interop/go/build.sh`) and grpc-java's (`io.grpc:grpc-interop-testing`, fetched by
//!   `interop/java/fetch.sh`) — must each pass every case they implement against ONE
//!   `grpc-replay serve scenarios/interop/server/` that keeps serving, with the cases in
//!   the order of the interop test description and then in two shuffled orders (seeded,
//!   and printed): which script a call follows depends on the conversation only. Each
//!   client must also fail against a deliberately wrong server script.
//!
//! grpc-go's interop clients do not implement the four compression cases (they exit with
//! "Unsupported test case"; grpc's own interop runner skips them for Go): the test pins
//! that. grpc-java's client runs every case, the compression ones included: before
//! `client_compressed_unary` and `client_compressed_streaming` it probes (an uncompressed
//! request with `expect_compressed` true must fail with INVALID_ARGUMENT), and the server
//! scripts tell the probe from the compressed call by the gRPC frame's compressed flag
//! (`compressed:`). A server script that answers the probe OK
//! (`tests/fixtures/interop/server_wrong/client_compressed_unary.yaml`) must make it fail.
//! Every compression script is also played by grpc-replay's own client scenarios.
//!
//! The test protos come from Debian's `grpc-proto` package. When a peer is missing the
//! tests that need it say `skipped: …` and pass, unless `GRPC_REPLAY_REQUIRE_GO=1` (the Go
//! programs) or `GRPC_REPLAY_REQUIRE_JAVA=1` (Java and the fetched jars) is set, as the
//! project's test command does.

mod process;

use process::{Finished, Process};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
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

/// The cases grpc-go's interop clients (current and 1.33) do not implement.
const GO_CLIENT_LACKS: [&str; 4] = [
    "client_compressed_streaming",
    "client_compressed_unary",
    "server_compressed_streaming",
    "server_compressed_unary",
];

/// Cases whose call may never reach the server: the client cancels it (or its 1 ms
/// deadline runs out) at once, often before the request headers leave (grpc-go dials its
/// connection lazily, inside the deadline), and then no server sees a call at all. The
/// client is run again for a while; when its call never arrives, the same case is played
/// by grpc-replay's own client (`scenarios/interop/client/`), whose connection is up
/// before the deadline starts, so the server script is still played. A call that arrives
/// and fails fails the test at once: the repeats never hide a wrong choice.
const MAY_NOT_ARRIVE: [&str; 2] = ["cancel_after_begin", "timeout_on_sleeping_server"];
/// How long such a case may keep trying with grpc-go's clients (their call sometimes
/// arrives).
const GO_ARRIVAL_BUDGET: Duration = Duration::from_secs(20);
/// The same for grpc-java's client, which checks its cancel and its deadline before the
/// request leaves: its call has not been seen to arrive here.
const JAVA_ARRIVAL_BUDGET: Duration = Duration::from_secs(4);
/// How long the server may take to report such a call once the client exited (its
/// scripts answer at once, or after a 100 ms sleep).
const ARRIVAL_LIMIT: Duration = Duration::from_secs(1);

/// The deliberately wrong scenario, and the diff it must report.
const WRONG_SCENARIO: &str = "tests/fixtures/interop/large_unary_wrong_size.yaml";
const WRONG_DIFF: &str = "payload.body: expected length 314158, length is 314159";
/// A deliberately wrong server script (large_unary answering one byte short).
const WRONG_SERVER_SCRIPT: &str = "tests/fixtures/interop/server_wrong/large_unary.yaml";
/// A deliberately wrong server script (client_compressed_unary answering the probe OK).
const WRONG_PROBE_SCRIPT: &str = "tests/fixtures/interop/server_wrong/client_compressed_unary.yaml";

/// How long one client run (grpc-replay, Go or Java) may take.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);
/// How long the server may take to report a call after the client is done.
const REPORT_LIMIT: Duration = Duration::from_secs(5);
/// How long `serve --once` may take to exit once every script played.
const SERVE_EXIT_LIMIT: Duration = Duration::from_secs(15);

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The interop clients run one at a time (each against its own `serve`), so that a loaded
/// machine does not stretch the waits of one by the work of another.
static ONE_CLIENT_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_client_at_a_time() -> MutexGuard<'static, ()> {
    ONE_CLIENT_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// A Go interop program built by `interop/go/build.sh`, with the test protos, or `None`
/// after saying why the test is skipped (`GRPC_REPLAY_REQUIRE_GO`).
fn go_program(name: &str) -> Option<PathBuf> {
    let program = repo_root().join("interop/go/bin").join(name);
    let paths = [program.as_path(), Path::new(TEST_PROTO)];
    process::peers_present(&paths, "GRPC_REPLAY_REQUIRE_GO", "run interop/go/build.sh")
        .then_some(program)
}

/// Starts grpc-go's interop server on a free port; returns it and its `HOST:PORT`.
fn start_go_server(program: &Path) -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(program);
    command.arg(format!("--port={port}"));
    let mut server = Process::start("grpc-go interop-server", command);
    server.wait_for_port(port);
    (server, format!("127.0.0.1:{port}"))
}

#[test]
fn client_scenarios_pass_against_grpc_go_interop_server() {
    assert_one_file_per_case("scenarios/interop/client");
    let Some(program) = go_program("interop-server") else {
        return;
    };
    let (_server, target) = start_go_server(&program);

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

/// An official interop client and what it does not play.
struct InteropClient {
    /// For messages: `grpc-go`, `grpc-go 1.33`, `grpc-java`.
    name: &'static str,
    /// The program, and its arguments before the flags.
    program: PathBuf,
    leading: Vec<String>,
    /// Flags after the server's address and the case.
    trailing: &'static [&'static str],
    /// Cases it must refuse with `Unsupported test case`.
    lacks: &'static [&'static str],
    /// How long a case of [`MAY_NOT_ARRIVE`] keeps trying with this client.
    arrival_budget: Duration,
}

impl InteropClient {
    /// grpc-go's interop client built from `program`, or `None` (skipped).
    fn go(name: &'static str, program: &str) -> Option<InteropClient> {
        Some(InteropClient {
            name,
            program: go_program(program)?,
            leading: Vec::new(),
            trailing: &[],
            lacks: &GO_CLIENT_LACKS,
            arrival_budget: GO_ARRIVAL_BUDGET,
        })
    }

    /// grpc-java's interop client from the jars of `interop/java/fetch.sh`, or `None`
    /// after saying why the test is skipped (`GRPC_REPLAY_REQUIRE_JAVA`).
    fn java() -> Option<InteropClient> {
        let lib = repo_root().join("target/java/lib");
        let jar = std::fs::read_dir(&lib)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                name.starts_with("grpc-interop-testing-") && name.ends_with(".jar")
            })
            .unwrap_or_else(|| lib.join("grpc-interop-testing-VERSION.jar"));
        let java = std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join("java"))
                    .find(|java| java.is_file())
            })
            .unwrap_or_else(|| PathBuf::from("/usr/bin/java"));
        let paths = [java.as_path(), jar.as_path(), Path::new(TEST_PROTO)];
        let remedy = "run interop/java/fetch.sh";
        if !process::peers_present(&paths, "GRPC_REPLAY_REQUIRE_JAVA", remedy) {
            return None;
        }
        Some(InteropClient {
            name: "grpc-java",
            program: java,
            leading: vec![
                "-cp".into(),
                format!("{}/*", lib.display()),
                "io.grpc.testing.integration.TestServiceClient".into(),
            ],
            trailing: &["--use_tls=false"],
            lacks: &[],
            arrival_budget: JAVA_ARRIVAL_BUDGET,
        })
    }

    /// Runs the client for one case against `address`.
    fn run(&self, address: &str, case: &str) -> Finished {
        let (host, port) = address.rsplit_once(':').expect("HOST:PORT");
        let mut command = Command::new(&self.program);
        command
            .args(&self.leading)
            .args([
                format!("--server_host={host}"),
                format!("--server_port={port}"),
                format!("--test_case={case}"),
            ])
            .args(self.trailing);
        Process::run(&format!("{} {case}", self.name), command, CLIENT_LIMIT)
    }
}

/// How many calls an interop client makes in a case (the spec's count).
fn calls_of(case: &str) -> usize {
    match case {
        // The compressed call and the uncompressed one, after the probe.
        "client_compressed_unary" => 3,
        // The probe, then the call.
        "client_compressed_streaming"
        | "custom_metadata"
        | "status_code_and_message"
        | "server_compressed_unary" => 2,
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
    /// Starts `grpc-replay serve FOLDER` on a free port.
    fn start(folder: &str) -> Served {
        let mut process = Process::start(
            &format!("grpc-replay serve {folder}"),
            grpc_replay(&["serve", folder, "--listen", "127.0.0.1:0"]),
        );
        let address = process.listening_address();
        Served { process, address }
    }

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

    /// Stops the server: it must exit 0 without having failed a call.
    fn stop(mut self) {
        self.process.terminate();
        let serve = self.process.finish(SERVE_EXIT_LIMIT);
        assert_eq!(serve.code, Some(0), "{}", serve.describe());
        assert!(
            !serve.stdout.lines().any(|line| line.starts_with("✗")),
            "{}",
            serve.describe()
        );
    }
}

/// One case the client implements: it must exit 0, and the server must report every
/// call of the case's script file as passed.
fn client_case(client: &InteropClient, served: &mut Served, case: &str) {
    let file = format!("scenarios/interop/server/{case}.yaml");
    let calls = calls_of(case);
    let may_not_arrive = MAY_NOT_ARRIVE.contains(&case);
    let limit = if may_not_arrive {
        ARRIVAL_LIMIT
    } else {
        REPORT_LIMIT
    };
    let name = client.name;
    let started = Instant::now();
    let mut runs = 0;
    loop {
        runs += 1;
        let run = client.run(&served.address, case);
        let arrived = served.await_calls(&file, calls, limit);
        if run.code != Some(0) {
            // A 1 ms deadline can fire inside the client before its call leaves; grpc-go
            // 1.33 then reports CANCELLED instead of DEADLINE_EXCEEDED and exits 1. The
            // server saw no call, so that run says nothing of it: only then is the
            // client's failure not the test's.
            assert!(may_not_arrive && arrived == 0, "{}", run.describe());
        } else if arrived == calls {
            progress(&format!(
                "{name} client -> grpc-replay server: {case}: passed (run {runs})"
            ));
            return;
        }
        if may_not_arrive && started.elapsed() > client.arrival_budget {
            progress(&format!(
                "{name} client -> grpc-replay server: {case}: the client's call never \
                 arrived in {runs} run(s); played by grpc-replay's client instead"
            ));
            return own_client_case(served, case, &file, calls);
        }
        if !may_not_arrive {
            served.process.fail(&format!(
                "never reported {calls} passed call(s) of {file} after {runs} run(s) of \
                 the {name} client in {:?}",
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

/// Plays every case of `order` against the server: the client plays the cases it
/// implements, and must say it lacks the others.
fn play_order(client: &InteropClient, served: &mut Served, order: &[&str]) {
    for &case in order {
        if client.lacks.contains(&case) {
            let run = client.run(&served.address, case);
            assert!(
                run.code != Some(0) && run.stderr.contains("Unsupported test case"),
                "{}'s interop client now implements {case}: play it here\n{}",
                client.name,
                run.describe()
            );
        } else {
            client_case(client, served, case);
        }
    }
}

/// The compression scripts, played by grpc-replay's own client against `served`.
fn own_client_compression_cases(served: &Served) {
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
}

/// `client` passes every case it plays against one `serve scenarios/interop/server/`, in
/// the spec's order and two shuffled orders; then it must fail against a wrong script.
fn client_passes_against_server_scripts(client: &InteropClient) {
    let mut served = Served::start("scenarios/interop/server/");
    progress(&format!(
        "{}: order of the test description: {CASES:?}",
        client.name
    ));
    play_order(client, &mut served, &CASES);
    for seed in SHUFFLE_SEEDS {
        let order = shuffled(seed);
        progress(&format!(
            "{}: shuffled order (seed {seed:#x}): {order:?}",
            client.name
        ));
        play_order(client, &mut served, &order);
    }
    own_client_compression_cases(&served);
    served.stop();

    // The wrong twins: the same client against a server script one byte short, and (when
    // it implements the case) against one that answers the compression probe OK.
    wrong_twin_fails(client, WRONG_SERVER_SCRIPT, "large_unary");
    if !client.lacks.contains(&"client_compressed_unary") {
        wrong_twin_fails(client, WRONG_PROBE_SCRIPT, "client_compressed_unary");
    }
}

/// `client` must fail `case` against the deliberately wrong server `script`.
fn wrong_twin_fails(client: &InteropClient, script: &str, case: &str) {
    let wrong = Served::start(script);
    let run = client.run(&wrong.address, case);
    assert_ne!(
        run.code,
        Some(0),
        "{} passed {case} against the wrong {script}\n{}",
        client.name,
        run.describe()
    );
    progress(&format!(
        "{} client -> wrong server script: {case} failed, as it must",
        client.name
    ));
}

#[test]
fn go_interop_client_passes_against_server_scripts() {
    assert_one_file_per_case("scenarios/interop/server");
    let Some(client) = InteropClient::go("grpc-go", "interop-client") else {
        return;
    };
    let _turn = one_client_at_a_time();
    client_passes_against_server_scripts(&client);
}

#[test]
fn go_1_33_interop_client_passes_against_server_scripts() {
    let Some(client) = InteropClient::go("grpc-go 1.33", "interop-client-1.33") else {
        return;
    };
    let _turn = one_client_at_a_time();
    client_passes_against_server_scripts(&client);
}

#[test]
fn java_interop_client_passes_against_server_scripts() {
    let Some(client) = InteropClient::java() else {
        return;
    };
    let _turn = one_client_at_a_time();
    client_passes_against_server_scripts(&client);
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
