//! The Go interop matrix: grpc-replay against the Go peers of `interop/go`, both ways.
//!
//! For every seed service, and for all of them at once:
//! - `grpc-replay run` replays the service's `scenarios/` files against the Go
//!   `seed-server` (current grpc-go and 1.33.3);
//! - the Go `seed-client` (current and 1.33.3) calls `grpc-replay serve … --once`
//!   playing the same files, and the server exits by itself once every script played.
//!
//! A deliberately wrong scenario must fail against the Go server with its diff.
//!
//! The Go peers are built by `bash interop/go/build.sh`, never by these tests: when a
//! binary is missing, the test says so on stderr and returns, so that `cargo test`
//! passes on a machine without Go.

mod process;

use process::{grpc_replay, repo_root, Process};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The scenario directories of the seed services, in the Go seed-client's call order.
/// (Not `scenarios/` as a whole, which may also hold scenarios for other peers.)
const SEED_SCENARIO_DIRS: &[&str] = &[
    "scenarios/calculator",
    "scenarios/greet",
    "scenarios/tutorial",
    "scenarios/routeguide",
    "scenarios/chat",
    "scenarios/helloworld",
];

/// The deliberately wrong scenario, and the step in it that the Go server contradicts.
const WRONG_SCENARIO: &str = "tests/fixtures/go/maximum_wrong.yaml";
const WRONG_STEP: &str = "server: {result: 9}";
const WRONG_DIFF: &str = "result: expected 9, received 8";

/// How long a whole client run (grpc-replay or Go) may take.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);
/// How long `serve --once` may take to exit once its client is done.
const SERVE_EXIT_LIMIT: Duration = Duration::from_secs(15);

/// Which build of the Go peers.
#[derive(Debug, Clone, Copy)]
enum GoVersion {
    /// grpc-go as pinned in interop/go/go.mod.
    Current,
    /// Debian bookworm's grpc-go 1.33.3 with Go 1.19.
    V1_33,
}

impl GoVersion {
    /// The path of a Go peer binary of this version, or `None` (after saying the test
    /// is skipped) when it has not been built.
    fn peer(self, program: &str) -> Option<PathBuf> {
        let suffix = match self {
            GoVersion::Current => "",
            GoVersion::V1_33 => "-1.33",
        };
        process::go_peer(&format!("{program}{suffix}"))
    }
}

/// The end of grpc-replay's summary line when all `calls` calls passed:
/// `1 call: 1 passed`, `13 calls: 13 passed`.
fn all_calls_passed(calls: usize) -> String {
    let plural = if calls == 1 { "" } else { "s" };
    format!("{calls} call{plural}: {calls} passed")
}

/// Starts a Go seed-server on a free loopback port; `None` when it is not built.
fn start_go_server(version: GoVersion) -> Option<(Process, String)> {
    let binary = version.peer("seed-server")?;
    let mut command = Command::new(binary);
    command.args(["--addr", "127.0.0.1:0"]);
    let mut server = Process::start(&format!("Go seed-server ({version:?})"), command);
    let address = server.listening_address();
    Some((server, address))
}

/// grpc-replay plays the client role of `dirs` against the Go seed-server: every one of
/// the `calls` calls must pass.
fn grpc_replay_client_against_go_server(dirs: &[&str], calls: usize, version: GoVersion) {
    let Some((mut server, address)) = start_go_server(version) else {
        return;
    };
    let args = [&["run"], dirs, &["--target", &address]].concat();
    let run = Process::start("grpc-replay run", grpc_replay(&args)).finish(CLIENT_LIMIT);
    let summary = all_calls_passed(calls);
    assert!(
        run.code == Some(0) && run.stdout.contains(&summary),
        "expected exit 0 and `{summary}`\n{}\n{}",
        run.describe(),
        server.output_so_far()
    );
}

/// The Go seed-client (`--service SERVICE`) calls `grpc-replay serve DIRS --once`: all
/// its `calls` checks must pass, and the server must then exit 0 by itself.
fn go_client_against_grpc_replay_server(
    service: &str,
    dirs: &[&str],
    calls: usize,
    version: GoVersion,
) {
    let Some(client_binary) = version.peer("seed-client") else {
        return;
    };
    let args = [&["serve"], dirs, &["--listen", "127.0.0.1:0", "--once"]].concat();
    let mut serve = Process::start("grpc-replay serve", grpc_replay(&args));
    let address = serve.listening_address();
    let mut client_command = Command::new(client_binary);
    client_command.args(["--addr", &address, "--service", service]);
    let client = Process::start(&format!("Go seed-client ({version:?})"), client_command)
        .finish(CLIENT_LIMIT);
    let all_passed = format!("OK: all {calls} checks passed");
    assert!(
        client.code == Some(0) && client.stdout.contains(&all_passed),
        "expected exit 0 and `{all_passed}`\n{}\n{}",
        client.describe(),
        serve.output_so_far()
    );
    let served = serve.finish(SERVE_EXIT_LIMIT);
    let summary = all_calls_passed(calls);
    assert!(
        served.code == Some(0) && served.stdout.contains(&summary),
        "expected `serve --once` to exit 0 by itself with `{summary}`\n{}",
        served.describe()
    );
}

/// The four corners of the matrix for each seed service: its Go seed-client `--service`
/// name, its scenario directories, and how many calls (= Go checks) they hold.
macro_rules! seed_service_matrix {
    ($($service:ident => $dirs:expr, $calls:expr;)*) => {$(
        mod $service {
            use super::*;

            #[test]
            fn grpc_replay_client_against_go_server_current() {
                grpc_replay_client_against_go_server($dirs, $calls, GoVersion::Current);
            }

            #[test]
            fn grpc_replay_client_against_go_server_1_33() {
                grpc_replay_client_against_go_server($dirs, $calls, GoVersion::V1_33);
            }

            #[test]
            fn go_client_current_against_grpc_replay_server() {
                go_client_against_grpc_replay_server(
                    stringify!($service), $dirs, $calls, GoVersion::Current,
                );
            }

            #[test]
            fn go_client_1_33_against_grpc_replay_server() {
                go_client_against_grpc_replay_server(
                    stringify!($service), $dirs, $calls, GoVersion::V1_33,
                );
            }
        }
    )*};
}

seed_service_matrix! {
    maximum => &["scenarios/calculator"], 1;
    greet => &["scenarios/greet"], 1;
    accumulate => &["scenarios/tutorial"], 1;
    routeguide => &["scenarios/routeguide"], 5;
    chat => &["scenarios/chat"], 1;
    hello => &["scenarios/helloworld"], 4;
    all => SEED_SCENARIO_DIRS, 13;
}

/// The wrong scenario fails against the Go seed-server: exit 1, the wrong step located,
/// and the field diff.
fn wrong_scenario_fails_against_go_server(version: GoVersion) {
    let Some((mut server, address)) = start_go_server(version) else {
        return;
    };
    let fixture = std::fs::read_to_string(repo_root().join(WRONG_SCENARIO))
        .unwrap_or_else(|e| panic!("cannot read {WRONG_SCENARIO}: {e}"));
    let line = fixture
        .lines()
        .position(|l| l.contains(WRONG_STEP))
        .map(|index| index + 1)
        .unwrap_or_else(|| panic!("{WRONG_SCENARIO} has no `{WRONG_STEP}` step"));
    let run = Process::start(
        "grpc-replay run (wrong scenario)",
        grpc_replay(&["run", WRONG_SCENARIO, "--target", &address]),
    )
    .finish(CLIENT_LIMIT);
    let located = format!("{WRONG_SCENARIO}:{line}:");
    assert!(
        run.code == Some(1) && run.stdout.contains(&located) && run.stdout.contains(WRONG_DIFF),
        "expected exit 1, `{located}` and `{WRONG_DIFF}`\n{}\n{}",
        run.describe(),
        server.output_so_far()
    );
}

#[test]
fn wrong_scenario_fails_against_go_server_current() {
    wrong_scenario_fails_against_go_server(GoVersion::Current);
}

#[test]
fn wrong_scenario_fails_against_go_server_1_33() {
    wrong_scenario_fails_against_go_server(GoVersion::V1_33);
}
