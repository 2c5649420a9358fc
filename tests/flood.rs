//! Floods of small messages between grpc-replay and the Go peers of `interop/go` (current
//! grpc-go and Debian's 1.33.3), every message checked by a `repeat:` step:
//!
//! - a Go client pipelines a flood of greetings on one stream to `grpc-replay serve --once`;
//! - a Go server streams a flood of features to `grpc-replay run`;
//! - a Go client runs 50 such streams at once on one connection to `grpc-replay serve`.
//!
//! grpc-go writes one HTTP/2 DATA frame per message, and h2 (≥ 0.4.16) closes a connection
//! with GOAWAY ENHANCE_YOUR_CALM once too many small frames wait unread: these tests pass
//! only if grpc-replay's reading and its default windows keep that guard quiet. The
//! negative controls set smaller windows (a tonic server's defaults, the HTTP/2 protocol's
//! defaults) and check that the guard then trips and that the failure says so.
//!
//! Sizes: `GRPC_REPLAY_FLOOD_SIZE` messages per single-stream flood (default
//! [`DEFAULT_FLOOD_SIZE`], the full size), a tenth of that on each of the 50
//! concurrent streams.
//!
//! The Go peers are built by `bash interop/go/build.sh`, never by these tests: when a
//! binary is missing, the test prints `skipped: …` and returns, unless
//! `GRPC_REPLAY_REQUIRE_GO` is set (the project's test command), which makes it fail.

mod process;

use process::{grpc_replay, repo_root, Finished, Process};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The environment variable that sets the flood size.
const FLOOD_SIZE_VAR: &str = "GRPC_REPLAY_FLOOD_SIZE";
/// Messages per single-stream flood when [`FLOOD_SIZE_VAR`] is unset: the full
/// size, which a debug build floods in about a second (ten for the 50 concurrent streams).
const DEFAULT_FLOOD_SIZE: u64 = 200_000;
/// Streams of the concurrent flood, all on one connection.
const CONCURRENT_STREAMS: u64 = 50;
/// Each concurrent stream carries the flood size divided by this (200,000 → 20,000).
const CONCURRENT_SHARE: u64 = 10;
/// Messages the negative controls send: the guard trips after a few thousand, so a
/// negative control ends within milliseconds when it works as expected.
const NEGATIVE_CONTROL_SIZE: u64 = 200_000;

/// The greet flood: FLOOD_SIZE greetings from the client, then as many answers.
const GREET_FLOOD: &str = "tests/fixtures/flood/greet_flood.yaml";
/// The greet flood's `client:` step (where a call cut off by the guard fails).
const GREET_FLOOD_CLIENT_STEP: &str = "- client: {greeting: {first_name: Flo}}";
/// The ListFeatures flood: FLOOD_SIZE features from the server.
const LIST_FEATURES_FLOOD: &str = "tests/fixtures/flood/list_features_flood.yaml";

/// HTTP/2 windows (stream, connection) of a tonic server on which nothing is set:
/// hyper's server defaults, 1 MiB and 1 MiB (hyper 1.x `proto/h2/server.rs`).
const TONIC_SERVER_WINDOWS: (u32, u32) = (1024 * 1024, 1024 * 1024);
/// HTTP/2 windows (stream, connection) of the protocol's defaults (RFC 9113
/// `SETTINGS_INITIAL_WINDOW_SIZE`), 65,535 bytes each. (A tonic `Endpoint` on which
/// nothing is set uses hyper's client defaults, 2 MiB and 5 MiB: with them the Go server's
/// flood trips the guard in about half of the runs only, too few for a control.)
const H2_DEFAULT_WINDOWS: (u32, u32) = (65_535, 65_535);

/// The cause that a failure from the guard must name, in either role.
const GUARD_CAUSE: &str = "GOAWAY ENHANCE_YOUR_CALM";
/// The flag that such a failure must point to: raising the connection window raises the
/// guard's budget (half of it).
const GUARD_FLAG: &str = "--http2-connection-window";

/// How long a whole flood may take, from start to exit (the Go client gives up at 120 s).
const FLOOD_LIMIT: Duration = Duration::from_secs(150);
/// How long a server may take to exit once its client is done, or once told to stop.
const SERVER_EXIT_LIMIT: Duration = Duration::from_secs(30);
/// How long `serve --once` may take to report a call that the guard cut off.
const CUT_CALL_REPORT_LIMIT: Duration = Duration::from_secs(3);
/// How many times the cut-off call is tried until `serve` was handed it (about 6 in 10
/// attempts are).
const GUARD_ATTEMPTS: usize = 8;

/// Messages per single-stream flood: [`FLOOD_SIZE_VAR`], else [`DEFAULT_FLOOD_SIZE`].
fn flood_size() -> u64 {
    match std::env::var(FLOOD_SIZE_VAR) {
        Ok(text) => text
            .parse()
            .ok()
            .filter(|&size| size >= CONCURRENT_SHARE)
            .unwrap_or_else(|| {
                panic!(
                    "{FLOOD_SIZE_VAR}={text}: expected a whole number, {CONCURRENT_SHARE} or more"
                )
            }),
        Err(_) => DEFAULT_FLOOD_SIZE,
    }
}

/// Which build of the Go peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoVersion {
    /// grpc-go as pinned in interop/go/go.mod.
    Current,
    /// Debian bookworm's grpc-go 1.33.3 with Go 1.19.
    V1_33,
}

impl GoVersion {
    /// The path of a Go peer binary of this version, or `None` (after printing why the
    /// test is skipped) when it has not been built.
    fn peer(self, program: &str) -> Option<PathBuf> {
        let suffix = match self {
            GoVersion::Current => "",
            GoVersion::V1_33 => "-1.33",
        };
        process::go_peer(&format!("{program}{suffix}"))
    }
}

/// `FILE:LINE:` of the first line of the fixture `file` that contains `needle`.
fn location_of(file: &str, needle: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join(file))
        .unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
    let line = text
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{file} has no line `{needle}`"));
    format!("{file}:{}:", line + 1)
}

/// `--http2-stream-window S --http2-connection-window C`.
fn window_flags((stream, connection): (u32, u32)) -> Vec<String> {
    vec![
        "--http2-stream-window".into(),
        stream.to_string(),
        "--http2-connection-window".into(),
        connection.to_string(),
    ]
}

/// `grpc-replay serve GREET_FLOOD` with `size` greetings per call, on a free port, plus
/// `flags`; returns it with its address once it listens.
fn serve_greet_flood(size: u64, flags: &[String]) -> (Process, String) {
    let size = format!("FLOOD_SIZE={size}");
    let mut args = vec![
        "serve",
        GREET_FLOOD,
        "--listen",
        "127.0.0.1:0",
        "--var",
        &size,
    ];
    args.extend(flags.iter().map(String::as_str));
    let mut serve = Process::start("grpc-replay serve", grpc_replay(&args));
    let address = serve.listening_address();
    (serve, address)
}

/// The Go seed-client's greet flood: `streams` streams of `size` greetings each, on one
/// connection to `address`; runs to its end (bounded).
fn go_greet_flood(
    client: &Path,
    version: GoVersion,
    address: &str,
    size: u64,
    streams: u64,
) -> Finished {
    let mut command = Command::new(client);
    command.args(["--addr", address, "--service", "greet"]);
    command.args([
        "--flood",
        &size.to_string(),
        "--streams",
        &streams.to_string(),
    ]);
    Process::start(&format!("Go seed-client ({version:?})"), command)
        .finish_explaining(FLOOD_LIMIT, "the flood is stuck")
}

/// The Go client's line when every stream got every reply.
fn go_flood_ok(streams: u64, size: u64) -> String {
    format!("flood: {streams} streams x {size} messages ok")
}

/// (a) The Go client pipelines a flood of greetings on one stream to `serve --once`:
/// every greeting and every answer checked, both sides exit 0.
fn go_client_floods_serve(version: GoVersion) {
    let Some(client) = version.peer("seed-client") else {
        return;
    };
    let size = flood_size();
    let (mut serve, address) = serve_greet_flood(size, &["--once".to_string()]);
    let flood = go_greet_flood(&client, version, &address, size, 1);
    let ok = go_flood_ok(1, size);
    assert!(
        flood.code == Some(0) && flood.stdout.contains(&ok),
        "expected exit 0 and `{ok}`\n{}\n{}",
        flood.describe(),
        serve.output_so_far()
    );
    let served =
        serve.finish_explaining(SERVER_EXIT_LIMIT, "`--once` did not see its script played");
    let summary = "served 1 file, 1 call: 1 passed";
    assert!(
        served.code == Some(0) && served.stdout.contains(summary),
        "expected `serve --once` to exit 0 by itself with `{summary}`\n{}",
        served.describe()
    );
}

/// `grpc-replay run LIST_FEATURES_FLOOD` with `flags` against a Go seed-server that streams
/// `size` features: how `run` ended, and the server (for its output). `None` when the Go
/// server is not built.
fn run_against_go_feature_flood(
    version: GoVersion,
    size: u64,
    flags: &[String],
) -> Option<(Finished, Process)> {
    let server_binary = version.peer("seed-server")?;
    let mut command = Command::new(server_binary);
    command.args([
        "--addr",
        "127.0.0.1:0",
        "--flood-features",
        &size.to_string(),
    ]);
    let mut server = Process::start(&format!("Go seed-server ({version:?})"), command);
    let address = server.listening_address();
    let var = format!("FLOOD_SIZE={size}");
    let mut args = vec![
        "run",
        LIST_FEATURES_FLOOD,
        "--target",
        &address,
        "--var",
        &var,
    ];
    args.extend(flags.iter().map(String::as_str));
    let run = Process::start("grpc-replay run", grpc_replay(&args))
        .finish_explaining(FLOOD_LIMIT, "the flood is stuck");
    Some((run, server))
}

/// (b) The Go server streams a flood of features to `grpc-replay run`: every one checked.
fn go_server_floods_run(version: GoVersion) {
    let Some((run, mut server)) = run_against_go_feature_flood(version, flood_size(), &[]) else {
        return;
    };
    let summary = "1 file, 1 call: 1 passed";
    assert!(
        run.code == Some(0) && run.stdout.contains(summary),
        "expected exit 0 and `{summary}`\n{}\n{}",
        run.describe(),
        server.output_so_far()
    );
}

/// (c) The Go client runs 50 greet floods at once on one connection to `serve` (without
/// `--once`, which plays the script once per call): all 50 calls pass.
fn concurrent_go_floods_serve(version: GoVersion) {
    let Some(client) = version.peer("seed-client") else {
        return;
    };
    let size = flood_size() / CONCURRENT_SHARE;
    let (mut serve, address) = serve_greet_flood(size, &[]);
    let flood = go_greet_flood(&client, version, &address, size, CONCURRENT_STREAMS);
    serve.terminate();
    let served = serve.finish_explaining(SERVER_EXIT_LIMIT, "SIGTERM did not stop it");
    let ok = go_flood_ok(CONCURRENT_STREAMS, size);
    let summary = format!("served 1 file, {CONCURRENT_STREAMS} calls: {CONCURRENT_STREAMS} passed");
    assert!(
        flood.code == Some(0) && flood.stdout.contains(&ok),
        "expected exit 0 and `{ok}`\n{}\n{}",
        flood.describe(),
        served.describe()
    );
    assert!(
        served.code == Some(0) && served.stdout.contains(&summary),
        "expected `serve` to exit 0 on SIGTERM with `{summary}`\n{}",
        served.describe()
    );
}

/// Trips h2's guard on purpose: `serve --once` with a tonic server's default windows, and
/// the Go client's greet flood, which must be cut off with `code = Unavailable` (GOAWAY
/// `ENHANCE_YOUR_CALM` for current grpc-go, `transport is closing` for 1.33). Returns the
/// server, still running or not, for a look at what it reports; `None` when the Go client
/// is not built.
fn trip_guard_of_tonic_server_windows(version: GoVersion) -> Option<Process> {
    let client = version.peer("seed-client")?;
    let mut flags = window_flags(TONIC_SERVER_WINDOWS);
    flags.push("--once".into());
    let (mut serve, address) = serve_greet_flood(NEGATIVE_CONTROL_SIZE, &flags);
    let flood = go_greet_flood(&client, version, &address, NEGATIVE_CONTROL_SIZE, 1);
    let go_says = match version {
        GoVersion::Current => "ENHANCE_YOUR_CALM",
        GoVersion::V1_33 => "transport is closing",
    };
    assert!(
        flood.code == Some(1)
            && flood.stdout.contains("code = Unavailable")
            && flood.stdout.contains(go_says),
        "expected the Go client to be cut off: exit 1, `code = Unavailable` and `{go_says}`\n{}\n{}",
        flood.describe(),
        serve.output_so_far()
    );
    Some(serve)
}

/// Negative control for (a): with a tonic server's default windows the guard trips, so
/// the flood tests can fail (what `serve` says is checked by the next test).
fn go_client_trips_guard_of_tonic_server_windows(version: GoVersion) {
    trip_guard_of_tonic_server_windows(version);
}

/// When the guard cuts a Go client off, `serve --once` counts the call as a transport
/// failure at the `client:` step and exits 3 by itself, naming the guard and the flags that
/// help. The guard may close the connection before hyper hands the call over, and then no
/// server sees a call at all: such an attempt is made again.
fn serve_reports_the_guard_that_cut_a_go_client_off(version: GoVersion) {
    for _ in 0..GUARD_ATTEMPTS {
        let Some(serve) = trip_guard_of_tonic_server_windows(version) else {
            return;
        };
        // None: the call was never handed over (the process is gone); try again.
        let Some(served) = serve.try_finish(CUT_CALL_REPORT_LIMIT) else {
            continue;
        };
        let step = location_of(GREET_FLOOD, GREET_FLOOD_CLIENT_STEP);
        assert!(
            served.code == Some(3)
                && served.stdout.contains("1 call: 0 passed")
                && served.stdout.contains("1 transport failure")
                && served.stdout.contains(&step),
            "expected `serve --once` to exit 3, the call lost at `{step}`\n{}",
            served.describe()
        );
        assert!(
            served.stdout.contains(GUARD_CAUSE) && served.stdout.contains(GUARD_FLAG),
            "expected `serve` to name the cause, `{GUARD_CAUSE}`, and the flag `{GUARD_FLAG}`\n{}",
            served.describe()
        );
        return;
    }
    panic!("in {GUARD_ATTEMPTS} attempts, the guard never cut a call that `serve` had been handed");
}

/// Negative control for (b): with the HTTP/2 protocol's default windows, the Go server's
/// flood trips h2's guard in `grpc-replay run`: a transport failure (exit 3) that names
/// the guard and the flag that helps.
fn go_server_trips_guard_of_h2_default_windows(version: GoVersion) {
    let flags = window_flags(H2_DEFAULT_WINDOWS);
    let Some((run, mut server)) =
        run_against_go_feature_flood(version, NEGATIVE_CONTROL_SIZE, &flags)
    else {
        return;
    };
    assert!(
        run.code == Some(3)
            && run.stdout.contains("1 transport failure")
            && run.stdout.contains(GUARD_CAUSE)
            && run.stdout.contains(GUARD_FLAG),
        "expected exit 3, `1 transport failure`, `{GUARD_CAUSE}` and `{GUARD_FLAG}`\n{}\n{}",
        run.describe(),
        server.output_so_far()
    );
}

/// Each scenario against both Go builds.
macro_rules! against_both_go_versions {
    ($($scenario:ident;)*) => {$(
        mod $scenario {
            use super::*;

            #[test]
            fn current() {
                $scenario(GoVersion::Current);
            }

            #[test]
            fn go_1_33() {
                $scenario(GoVersion::V1_33);
            }
        }
    )*};
}

against_both_go_versions! {
    go_client_floods_serve;
    go_server_floods_run;
    concurrent_go_floods_serve;
    go_client_trips_guard_of_tonic_server_windows;
    serve_reports_the_guard_that_cut_a_go_client_off;
    go_server_trips_guard_of_h2_default_windows;
}
