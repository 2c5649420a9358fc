//! `grpc-replay record` between real peers: the Go seed client and server talk through the
//! proxy (current grpc-go and 1.33.3), the client still passes, and every file written
//! replays both ways against the same Go programs — as the client against the Go server,
//! and as the server (`serve --once`) for the Go client. Wrong twins: a recording edited
//! to a different value fails against the real peers; a volatile field fails without
//! `--loose`.
//!
//! The Go peers are built by `bash interop/go/build.sh`, never by these tests: when a
//! binary is missing, the test says so on stderr and returns.

mod go_peers;
// Its bare HTTP/2 client (which chooses the RST_STREAM code) and the shared process runner
// it holds are used here.
#[allow(dead_code)]
mod server_support;
use server_support::process;

use go_peers::{repo_root, GoVersion};
use process::{Finished, Process};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The grpc-replay binary under test.
const GRPC_REPLAY: &str = env!("CARGO_BIN_EXE_grpc-replay");

/// How long a whole client run (grpc-replay or Go) may take.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);
/// How long `record --once` or `serve --once` may take to exit once its client is done.
const EXIT_LIMIT: Duration = Duration::from_secs(15);

/// `grpc-replay ARGS`, run from the repository root with plain output.
fn grpc_replay(args: &[&str]) -> Command {
    let mut command = Command::new(GRPC_REPLAY);
    command
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1");
    command
}

/// Runs `grpc-replay ARGS` to its end.
fn run_grpc_replay(args: &[&str]) -> Finished {
    Process::run(
        &format!("grpc-replay {}", args[0]),
        grpc_replay(args),
        CLIENT_LIMIT,
    )
}

/// Starts a Go seed-server on a free port; `None` when it is not built.
fn start_go_server(version: GoVersion) -> Option<(Process, String)> {
    let mut command = Command::new(version.peer("seed-server")?);
    command.args(["--addr", "127.0.0.1:0"]);
    let mut server = Process::start(&format!("Go seed-server ({version:?})"), command);
    let address = server.listening_address();
    Some((server, address))
}

/// Starts `grpc-replay record` in front of `upstream`, writing into `out`.
fn start_recorder(upstream: &str, out: &Path, extra: &[&str]) -> (Process, String) {
    let out = out.to_str().expect("a UTF-8 temporary path");
    let args = [
        &[
            "record",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream,
            "--out",
            out,
        ],
        extra,
    ]
    .concat();
    let mut recorder = Process::start("grpc-replay record", grpc_replay(&args));
    let address = recorder.listening_address();
    (recorder, address)
}

/// Runs the Go seed-client `--service SERVICE` against `address`; whether all its
/// `checks` passed, and its output.
fn go_client(version: GoVersion, address: &str, service: &str, checks: usize) -> (bool, Finished) {
    let binary = version.peer("seed-client").expect("checked by the caller");
    let mut command = Command::new(binary);
    command.args(["--addr", address, "--service", service]);
    let client = Process::run(
        &format!("Go seed-client ({version:?})"),
        command,
        CLIENT_LIMIT,
    );
    let passed = client.code == Some(0)
        && client
            .stdout
            .contains(&format!("OK: all {checks} checks passed"));
    (passed, client)
}

/// `N call(s): N passed` — the end of grpc-replay's summary when all passed.
fn all_passed(calls: usize) -> String {
    let plural = if calls == 1 { "" } else { "s" };
    format!("{calls} call{plural}: {calls} passed")
}

/// Records the Go seed-client's `service` calls (`calls` of them) against the Go
/// seed-server through `record --once`; the client must pass through the proxy and the
/// recorder must write one file per call. Returns the folder and the running server.
fn record_go_seed(
    service: &str,
    calls: usize,
    version: GoVersion,
) -> Option<(tempfile::TempDir, Process, String)> {
    version.peer("seed-client")?;
    let (server, upstream) = start_go_server(version)?;
    let out = tempfile::tempdir().expect("a temporary folder");
    let once = calls.to_string();
    let (mut recorder, address) = start_recorder(&upstream, out.path(), &["--once", &once]);
    let (passed, client) = go_client(version, &address, service, calls);
    assert!(
        passed,
        "the Go client must pass through the proxy\n{}\n{}",
        client.describe(),
        recorder.output_so_far()
    );
    let recorded = recorder.finish(EXIT_LIMIT);
    let plural = if calls == 1 { "" } else { "s" };
    let summary = format!("{calls} call{plural} recorded: {calls} file{plural} written");
    assert!(
        recorded.code == Some(0) && recorded.stdout.contains(&summary),
        "expected `{summary}`\n{}",
        recorded.describe()
    );
    Some((out, server, upstream))
}

/// `serve DIR --once` for the Go seed-client: whether the client passed, and the server
/// exited 0 by itself; with both outputs.
fn serve_for_go_client(
    dir: &Path,
    service: &str,
    calls: usize,
    version: GoVersion,
) -> (bool, String) {
    let dir = dir.to_str().expect("a UTF-8 temporary path");
    let args = ["serve", dir, "--listen", "127.0.0.1:0", "--once"];
    let mut serve = Process::start("grpc-replay serve", grpc_replay(&args));
    let address = serve.listening_address();
    let (passed, client) = go_client(version, &address, service, calls);
    if !passed {
        return (
            false,
            format!("{}\n{}", client.describe(), serve.output_so_far()),
        );
    }
    let served = serve.finish(EXIT_LIMIT);
    let ok = served.code == Some(0) && served.stdout.contains(&all_passed(calls));
    (ok, format!("{}\n{}", client.describe(), served.describe()))
}

/// Records `service`, then replays every file: `check`, `run --loopback`, `run` against
/// the Go server, and `serve --once` for the Go client.
fn record_and_replay(service: &str, calls: usize, version: GoVersion) {
    let Some((out, mut server, upstream)) = record_go_seed(service, calls, version) else {
        return;
    };
    let dir = out.path().to_str().expect("a UTF-8 temporary path");
    let checked = run_grpc_replay(&["check", dir, "--role", "both"]);
    assert_eq!(checked.code, Some(0), "{}", checked.describe());
    for args in [
        vec!["run", "--loopback", dir],
        vec!["run", dir, "--target", &upstream],
    ] {
        let run = run_grpc_replay(&args);
        assert!(
            run.code == Some(0) && run.stdout.contains(&all_passed(calls)),
            "{args:?}\n{}\n{}",
            run.describe(),
            server.output_so_far()
        );
    }
    let (passed, story) = serve_for_go_client(out.path(), service, calls, version);
    assert!(passed, "the Go client against the recording\n{story}");
}

macro_rules! record_matrix {
    ($($service:ident => $calls:expr;)*) => {$(
        mod $service {
            use super::*;

            #[test]
            fn recorded_through_the_proxy_replays_both_ways_current() {
                record_and_replay(stringify!($service), $calls, GoVersion::Current);
            }

            #[test]
            fn recorded_through_the_proxy_replays_both_ways_1_33() {
                record_and_replay(stringify!($service), $calls, GoVersion::V1_33);
            }
        }
    )*};
}

// Maximum, GreetEveryone, AccumulateNumbers, Chat (bidi); RouteGuide: GetFeature twice
// (unary), ListFeatures (server streaming), RecordRoute (client streaming), RouteChat.
record_matrix! {
    maximum => 1;
    greet => 1;
    accumulate => 1;
    routeguide => 5;
    chat => 1;
}

/// The one file of a recording folder, and its text.
fn only_file(dir: &Path) -> (std::path::PathBuf, String) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("the recording folder")
        .map(|e| e.expect("an entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("the recording");
    (files[0].clone(), text)
}

#[test]
fn a_recording_edited_to_a_wrong_value_fails_against_both_go_peers() {
    let version = GoVersion::Current;
    let Some((out, _server, upstream)) = record_go_seed("maximum", 1, version) else {
        return;
    };
    let (file, text) = only_file(out.path());
    let right = "server: {result: \"89\"}";
    assert!(text.contains(right), "{text}");
    std::fs::write(&file, text.replace(right, "server: {result: \"88\"}")).expect("edited");
    let dir = out.path().to_str().expect("a UTF-8 temporary path");
    let run = run_grpc_replay(&["run", dir, "--target", &upstream]);
    assert!(
        run.code == Some(1) && run.stdout.contains("result: expected 88, received 89"),
        "{}",
        run.describe()
    );
    let (passed, story) = serve_for_go_client(out.path(), "maximum", 1, version);
    assert!(
        !passed,
        "the Go client must fail against the wrong recording\n{story}"
    );
}

/// Plays `fixture` as the client through a recorder in front of the Go server (with
/// `flags`); returns the folder written and the server's address.
fn record_grpc_replay_client(
    fixture: &str,
    flags: &[&str],
) -> Option<(tempfile::TempDir, Process, String)> {
    let (server, upstream) = start_go_server(GoVersion::Current)?;
    let out = tempfile::tempdir().expect("a temporary folder");
    let flags = [&["--once", "1"], flags].concat();
    let (recorder, address) = start_recorder(&upstream, out.path(), &flags);
    let run = run_grpc_replay(&["run", fixture, "--target", &address]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let recorded = recorder.finish(EXIT_LIMIT);
    assert_eq!(recorded.code, Some(0), "{}", recorded.describe());
    Some((out, server, upstream))
}

#[test]
fn a_volatile_field_replays_with_loose_and_fails_without() {
    let fixture = "tests/fixtures/record/record_route_slow.yaml";
    let Some((strict, _s1, upstream)) = record_grpc_replay_client(fixture, &[]) else {
        return;
    };
    let Some((loose, _s2, _)) = record_grpc_replay_client(fixture, &["--loose", "elapsed_time"])
    else {
        return;
    };
    let (_, loose_text) = only_file(loose.path());
    assert!(
        loose_text.contains("elapsed_time: {\"$any\": true}"),
        "{loose_text}"
    );
    let replay = |dir: &Path| {
        let dir = dir.to_str().expect("a UTF-8 temporary path");
        run_grpc_replay(&["run", dir, "--target", &upstream])
    };
    let passed = replay(loose.path());
    assert!(
        passed.code == Some(0) && passed.stdout.contains(&all_passed(1)),
        "{}",
        passed.describe()
    );
    let failed = replay(strict.path());
    assert!(
        failed.code == Some(1)
            && failed
                .stdout
                .contains("elapsed_time: expected 1, received 0"),
        "{}",
        failed.describe()
    );
}

/// The client cancels after one exchange: the proxy forwards the reset to the server and
/// writes `cancel`; the recording replays as the client against the same server. The
/// upstream is `grpc-replay serve` playing the fixture itself, which waits for the reset
/// (grpc-replay's own client may half-close just before it resets, and a Go server would
/// end the call at that half-close, before the reset arrives).
#[test]
fn a_client_cancel_is_forwarded_and_recorded() {
    let fixture = "tests/fixtures/record/chat_cancel.yaml";
    let serve_args = ["serve", fixture, "--listen", "127.0.0.1:0"];
    let mut serve = Process::start("grpc-replay serve", grpc_replay(&serve_args));
    let upstream = serve.listening_address();
    let out = tempfile::tempdir().expect("a temporary folder");
    let (recorder, address) = start_recorder(&upstream, out.path(), &["--once", "1"]);
    let run = run_grpc_replay(&["run", fixture, "--target", &address]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let recorded = recorder.finish(EXIT_LIMIT);
    assert_eq!(recorded.code, Some(0), "{}", recorded.describe());
    let (_, text) = only_file(out.path());
    assert!(
        text.contains("  - server: \"Sam: Hi\"\n") && text.ends_with("  - cancel\n"),
        "{text}"
    );
    let dir = out.path().to_str().expect("a UTF-8 temporary path");
    let replay = run_grpc_replay(&["run", dir, "--target", &upstream]);
    assert_eq!(replay.code, Some(0), "{}", replay.describe());
    serve.terminate();
    let served = serve.finish(EXIT_LIMIT);
    assert!(
        served.code == Some(0) && !served.stdout.contains("failed"),
        "{}",
        served.describe()
    );
}

/// A bare HTTP/2 client resets a chat through the recorder with `reason` after one
/// exchange; returns the file written and what the upstream `serve` said.
fn record_a_reset(reason: h2::Reason) -> (String, Finished) {
    let fixture = "tests/fixtures/record/chat_cancel.yaml";
    let serve_args = ["serve", fixture, "--listen", "127.0.0.1:0", "--once"];
    let mut serve = Process::start("grpc-replay serve", grpc_replay(&serve_args));
    let upstream = serve.listening_address();
    let out = tempfile::tempdir().expect("a temporary folder");
    let (recorder, address) = start_recorder(&upstream, out.path(), &["--once", "1"]);
    let address = address.parse().expect("HOST:PORT");
    // ChatMessage {name: "Sam", message: "Hi"}.
    let message = b"\x0a\x03Sam\x12\x02Hi";
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut call = server_support::H2Call::start(address, "/Chat/chat", message).await;
        // google.protobuf.StringValue "Sam: Hi".
        assert_eq!(call.next_message().await, b"\x0a\x07Sam: Hi");
        call.reset(reason);
    });
    let recorded = recorder.finish(EXIT_LIMIT);
    assert_eq!(recorded.code, Some(0), "{}", recorded.describe());
    let (_, text) = only_file(out.path());
    (text, serve.finish(EXIT_LIMIT))
}

/// The RST_STREAM code crosses the proxy unchanged and stays in the recording: STREAM_CLOSED
/// (Ballerina's cancel) passes the upstream's `cancel` step and is written as `cancel` with
/// the code in a comment; INTERNAL_ERROR reaches the upstream as itself (not a cancel, so
/// its `cancel` step fails) and is written the same way. CANCEL (the twin) is a bare
/// `cancel`.
#[test]
fn a_client_reset_keeps_its_code_through_the_proxy_and_in_the_file() {
    let comment = |name: &str, code: u32| {
        format!(
            "  - cancel  # the client reset the stream with {name} (code {code}); a scenario \
             has no reset code, so this replays as CANCEL\n"
        )
    };
    let cases = [
        (h2::Reason::CANCEL, "  - cancel\n".to_string(), true),
        (h2::Reason::STREAM_CLOSED, comment("STREAM_CLOSED", 5), true),
        (
            h2::Reason::INTERNAL_ERROR,
            comment("INTERNAL_ERROR", 2),
            false,
        ),
    ];
    for (reason, last_step, upstream_passes) in cases {
        let (text, served) = record_a_reset(reason);
        assert!(
            text.contains("  - server: \"Sam: Hi\"\n") && text.ends_with(&last_step),
            "{reason:?}\n{text}"
        );
        let seen = format!("the client reset the stream ({reason:?})");
        let story = served.describe();
        if upstream_passes {
            assert!(served.code == Some(0), "{reason:?}\n{story}");
        } else {
            assert!(
                served.code == Some(1) && served.stdout.contains(&seen),
                "{story}"
            );
        }
    }
}

/// A bare HTTP/2 call of `path` that sends `message` and its half-close only once the
/// response has ended; returns the response's `grpc-status`.
async fn send_after_the_answer(
    address: std::net::SocketAddr,
    path: &str,
    message: &[u8],
) -> String {
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("the recorder accepts");
    let (requests, connection) = h2::client::handshake(tcp)
        .await
        .expect("an HTTP/2 handshake");
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{address}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("a valid request");
    let mut requests = requests.ready().await.expect("a stream");
    let (response, mut send) = requests.send_request(request, false).expect("sent");
    let response = response.await.expect("a response");
    assert!(response.body().is_end_stream(), "a Trailers-Only answer");
    let status = response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap_or("?").to_string());
    let mut framed = vec![0];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    send.send_data(framed.into(), true)
        .expect("the message is queued");
    // Leave the connection up long enough for the data to leave.
    tokio::time::sleep(Duration::from_millis(100)).await;
    status.unwrap_or_default()
}

/// A server that refuses a call answers its headers at once, before the client's message
/// has crossed the proxy (grpc-go's interop unimplemented_service did, and the recording
/// then had no message: not a valid unary script). The message and half-close that arrive
/// after the status are recorded, before it.
#[test]
fn a_message_that_arrives_after_the_status_is_recorded_before_it() {
    let fixture = "tests/fixtures/record/chat_cancel.yaml";
    let serve_args = ["serve", fixture, "--listen", "127.0.0.1:0"];
    let mut serve = Process::start("grpc-replay serve", grpc_replay(&serve_args));
    let upstream = serve.listening_address();
    let out = tempfile::tempdir().expect("a temporary folder");
    let (recorder, address) = start_recorder(&upstream, out.path(), &["--once", "1"]);
    let address = address.parse().expect("HOST:PORT");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    // HelloWorld/hello "x": a method the upstream does not serve.
    let status = runtime.block_on(send_after_the_answer(
        address,
        "/HelloWorld/hello",
        b"\x0a\x01x",
    ));
    let recorded = recorder.finish(EXIT_LIMIT);
    assert_eq!(
        (status.as_str(), recorded.code),
        ("12", Some(0)),
        "{}",
        recorded.describe()
    );
    let (_, text) = only_file(out.path());
    assert!(
        text.contains("  - client: x\n  - close\n  - status: UNIMPLEMENTED\n"),
        "{text}"
    );
    let dir = out.path().to_str().expect("a UTF-8 temporary path");
    for args in [
        vec!["check", dir, "--role", "both"],
        vec!["run", dir, "--target", &upstream],
    ] {
        let run = run_grpc_replay(&args);
        assert_eq!(run.code, Some(0), "{args:?}\n{}", run.describe());
    }
    serve.terminate();
}

#[test]
fn a_method_without_proto_is_forwarded_and_its_missing_proto_named() {
    let version = GoVersion::Current;
    let Some((_server, upstream)) = start_go_server(version) else {
        return;
    };
    if version.peer("seed-client").is_none() {
        return;
    }
    let out = tempfile::tempdir().expect("a temporary folder");
    let only_calculator = [
        "--once",
        "1",
        "--proto",
        "proto/calculator.proto",
        "-I",
        "proto",
    ];
    let (recorder, address) = start_recorder(&upstream, out.path(), &only_calculator);
    let (passed, client) = go_client(version, &address, "greet", 1);
    assert!(passed, "{}", client.describe());
    let recorded = recorder.finish(EXIT_LIMIT);
    assert!(
        recorded.stderr.contains(
            "greet.GreetService/GreetEveryone was forwarded but not written: no loaded proto \
             defines it; pass the .proto that declares service greet.GreetService"
        ) && recorded.stdout.contains("1 call recorded: 0 files written"),
        "{}",
        recorded.describe()
    );
    assert_eq!(
        std::fs::read_dir(out.path()).expect("the folder").count(),
        0
    );
}

/// The official interop cases through the proxy: grpc-go's interop client against
/// grpc-go's interop server.
mod interop {
    use super::*;

    /// The test protos (Debian's `grpc-proto`).
    const TEST_PROTO: &str = "/usr/share/grpc-proto/grpc/testing/test.proto";
    const PROTO_ROOT: &str = "/usr/share/grpc-proto";

    /// The cases grpc-go's interop client implements (it has no compression cases).
    const CASES: [&str; 14] = [
        "cancel_after_begin",
        "cancel_after_first_response",
        "client_streaming",
        "custom_metadata",
        "empty_stream",
        "empty_unary",
        "large_unary",
        "ping_pong",
        "server_streaming",
        "special_status_message",
        "status_code_and_message",
        "timeout_on_sleeping_server",
        "unimplemented_method",
        "unimplemented_service",
    ];

    /// The interop programs, or `None` (after saying so) when they or the protos are
    /// missing.
    fn peers() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
        let server = go_peers::peer_binary("interop-server")?;
        let client = go_peers::peer_binary("interop-client")?;
        if !Path::new(TEST_PROTO).is_file() {
            assert!(
                std::env::var_os("GRPC_REPLAY_REQUIRE_GO").is_none(),
                "{TEST_PROTO} is missing (Debian package grpc-proto)"
            );
            eprintln!("skipped: {TEST_PROTO} is missing (Debian package grpc-proto)");
            return None;
        }
        Some((server, client))
    }

    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("its address").port()
    }

    /// Runs every case of grpc-go's interop client against `address`; each must pass.
    /// Cases whose call may never leave grpc-go's client (a cancel or a 1 ms deadline at
    /// once): when it was not recorded, a later call of the case has no script of its own
    /// and strays into another script of its method. tests/interop_suite.rs plays them
    /// against the server role.
    const MAY_NOT_ARRIVE: [&str; 2] = ["cancel_after_begin", "timeout_on_sleeping_server"];

    fn every_case_passes(client: &Path, address: &str, against: &mut Process, all: bool) {
        let (host, port) = address.rsplit_once(':').expect("HOST:PORT");
        let cases = CASES
            .iter()
            .filter(|case| all || !MAY_NOT_ARRIVE.contains(case));
        for case in cases {
            let mut command = Command::new(client);
            command.args([
                format!("--server_host={host}"),
                format!("--server_port={port}"),
                format!("--test_case={case}"),
            ]);
            let run = Process::run(&format!("interop-client {case}"), command, CLIENT_LIMIT);
            assert_eq!(
                run.code,
                Some(0),
                "{case}\n{}\n{}",
                run.describe(),
                against.output_so_far()
            );
        }
    }

    fn protos() -> [&'static str; 4] {
        ["--proto", TEST_PROTO, "-I", PROTO_ROOT]
    }

    #[test]
    fn grpc_go_interop_cases_pass_through_the_proxy_and_replay_both_ways() {
        let Some((server_binary, client)) = peers() else {
            return;
        };
        let port = free_port();
        let mut command = Command::new(server_binary);
        command.arg(format!("--port={port}"));
        let mut server = Process::start("interop-server", command);
        server.wait_for_port(port);
        let upstream = format!("127.0.0.1:{port}");
        let out = tempfile::tempdir().expect("a temporary folder");
        let (mut recorder, address) = start_recorder(&upstream, out.path(), &protos());
        every_case_passes(&client, &address, &mut recorder, true);
        recorder.terminate();
        let recorded = recorder.finish(EXIT_LIMIT);
        assert!(
            recorded.code == Some(0) && recorded.stdout.contains(" 0 not written"),
            "{}",
            recorded.describe()
        );
        let dir = out.path().to_str().expect("a UTF-8 temporary path");
        let calls = std::fs::read_dir(dir).expect("the recordings").count();
        for args in [
            vec!["check", dir, "--role", "both"],
            vec!["run", "--loopback", dir],
            vec!["run", dir, "--target", &upstream],
        ] {
            let run = run_grpc_replay(&[&args[..], &protos()].concat());
            assert!(
                run.code == Some(0)
                    && (args[0] == "check" || run.stdout.contains(&all_passed(calls))),
                "{args:?}\n{}",
                run.describe()
            );
        }
        let serve_args = [&["serve", dir, "--listen", "127.0.0.1:0"][..], &protos()].concat();
        let mut serve = Process::start("grpc-replay serve", grpc_replay(&serve_args));
        let served_at = serve.listening_address();
        every_case_passes(&client, &served_at, &mut serve, false);
        serve.terminate();
        // Calls cancelled or timed out at once may not reach any server: their scripts may
        // stay unplayed, but no played call may fail.
        let served = serve.finish(EXIT_LIMIT);
        assert!(
            served.code == Some(0) && !served.stdout.contains("failed"),
            "{}",
            served.describe()
        );
    }
}

/// The self-signed certificate (localhost, 127.0.0.1) of the TLS tests, and its key.
const TLS_CERT: &str = "tests/fixtures/record/tls/cert.pem";
const TLS_KEY: &str = "tests/fixtures/record/tls/key.pem";

/// TLS client → TLS recorder → TLS `serve` of the Maximum scenario; `upstream_flags`
/// say how the recorder trusts the upstream. Returns the client's run, the recorder and
/// the server.
fn record_over_tls(upstream_flags: &[&str]) -> (Finished, Process, Process) {
    let scenario = "scenarios/calculator/maximum.yaml";
    let serve_args = [
        "serve",
        scenario,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        TLS_CERT,
        "--tls-key",
        TLS_KEY,
    ];
    let mut serve = Process::start("grpc-replay serve", grpc_replay(&serve_args));
    let upstream = serve.listening_address();
    let out = tempfile::tempdir().expect("a temporary folder");
    let flags = [
        &[
            "--once",
            "1",
            "--tls-cert",
            TLS_CERT,
            "--tls-key",
            TLS_KEY,
            "--upstream-tls",
        ],
        upstream_flags,
    ]
    .concat();
    let (recorder, address) = start_recorder(&upstream, out.path(), &flags);
    let run = run_grpc_replay(&[
        "run", scenario, "--tls", "--cacert", TLS_CERT, "-t", &address,
    ]);
    (run, recorder, serve)
}

#[test]
fn tls_on_both_sides_is_proxied_and_recorded() {
    let (run, mut recorder, _serve) =
        record_over_tls(&["--cacert", TLS_CERT, "--authority", "localhost"]);
    assert_eq!(
        run.code,
        Some(0),
        "{}\n{}",
        run.describe(),
        recorder.output_so_far()
    );
    let recorded = recorder.finish(EXIT_LIMIT);
    assert!(
        recorded.stdout.contains("1 call recorded: 1 file written"),
        "{}",
        recorded.describe()
    );
}

#[test]
fn an_upstream_certificate_the_recorder_does_not_trust_is_refused() {
    // The Web PKI roots do not hold the self-signed certificate.
    let (run, mut recorder, _serve) = record_over_tls(&["--authority", "localhost"]);
    assert_eq!(run.code, Some(3), "{}", run.describe());
    // The recorder names the failed handshake (it saw no call: killed when dropped).
    recorder.terminate();
    let recorded = recorder.finish(EXIT_LIMIT);
    assert!(
        recorded.stderr.contains("TLS handshake with upstream")
            && recorded.stdout.contains("0 calls recorded"),
        "{}",
        recorded.describe()
    );
}

#[test]
fn compressed_messages_are_forwarded_and_recorded_decoded() {
    let fixture = "tests/fixtures/record/greet_gzip.yaml";
    let serve_args = ["serve", fixture, "--listen", "127.0.0.1:0", "--once"];
    let mut serve = Process::start("grpc-replay serve", grpc_replay(&serve_args));
    let upstream = serve.listening_address();
    let out = tempfile::tempdir().expect("a temporary folder");
    let (recorder, address) = start_recorder(&upstream, out.path(), &["--once", "1"]);
    let run = run_grpc_replay(&["run", fixture, "--target", &address]);
    assert_eq!(
        run.code,
        Some(0),
        "{}\n{}",
        run.describe(),
        serve.output_so_far()
    );
    let recorded = recorder.finish(EXIT_LIMIT);
    assert_eq!(recorded.code, Some(0), "{}", recorded.describe());
    let (_, text) = only_file(out.path());
    assert!(
        text.contains("compression: gzip\n")
            && text.contains("  - client: {greeting: {first_name: Bob}}\n")
            && text.contains("  - server: {result: \"Hello Bob!\"}\n"),
        "{text}"
    );
    let dir = out.path().to_str().expect("a UTF-8 temporary path");
    let loopback = run_grpc_replay(&["run", "--loopback", dir]);
    assert_eq!(loopback.code, Some(0), "{}", loopback.describe());
}

#[test]
fn concurrent_pipelined_streams_are_each_recorded_and_replay() {
    let version = GoVersion::Current;
    let Some(client) = version.peer("seed-client") else {
        return;
    };
    let Some((_server, upstream)) = start_go_server(version) else {
        return;
    };
    let out = tempfile::tempdir().expect("a temporary folder");
    let (recorder, address) = start_recorder(&upstream, out.path(), &["--once", "8"]);
    let mut command = Command::new(client);
    command.args([
        "--addr",
        &address,
        "--service",
        "accumulate",
        "--flood",
        "1000",
    ]);
    command.args(["--streams", "8"]);
    let flood = Process::run("Go seed-client flood", command, CLIENT_LIMIT);
    assert!(
        flood.code == Some(0) && flood.stdout.contains("flood: 8 streams x 1000 messages ok"),
        "{}",
        flood.describe()
    );
    let recorded = recorder.finish(EXIT_LIMIT);
    assert!(
        recorded
            .stdout
            .contains("8 calls recorded: 8 files written"),
        "{}",
        recorded.describe()
    );
    let dir = out.path().to_str().expect("a UTF-8 temporary path");
    let run = run_grpc_replay(&["run", dir, "--target", &upstream, "--jobs", "8"]);
    assert!(
        run.code == Some(0) && run.stdout.contains(&all_passed(8)),
        "{}",
        run.describe()
    );
}

/// A server that answers the request metadata with headers at once races the client's
/// first message, so the recorder writes them in either order (grpc-go's interop
/// FullDuplexCall did, and `run --loopback` of the headers-first file once hung). Both
/// orders replay beside a longer script of the same method that checks no metadata.
#[test]
fn either_recorded_order_of_early_headers_replays_in_loopback() {
    for order in ["headers_first", "client_first"] {
        let dir = format!("tests/fixtures/record/echo_order/{order}");
        let run = run_grpc_replay(&["run", "--loopback", &dir]);
        assert!(
            run.code == Some(0) && run.stdout.contains(&all_passed(2)),
            "{order}\n{}",
            run.describe()
        );
    }
}

/// The wrong twin: two recordings with the same client side and different answers (a
/// stateful server) cannot both be served together — the first in file order answers,
/// and the other's loopback client fails.
#[test]
fn recordings_a_server_cannot_tell_apart_fail_in_loopback() {
    let run = run_grpc_replay(&[
        "run",
        "--loopback",
        "tests/fixtures/record/echo_order/ambiguous",
    ]);
    assert!(
        run.code == Some(1)
            && run
                .stdout
                .contains("✗ tests/fixtures/record/echo_order/ambiguous/second.yaml")
            && run.stdout.contains("received: {\"result\":\"7\"}"),
        "{}",
        run.describe()
    );
}

/// Records `fixtures` (played one after the other by grpc-replay's client) through the
/// proxy to the Go seed server, and returns what the recorder printed.
fn record_fixtures(fixtures: &[&str]) -> Option<Finished> {
    let (_server, upstream) = start_go_server(GoVersion::Current)?;
    let out = tempfile::tempdir().expect("a temporary folder");
    let calls = fixtures.len().to_string();
    let (recorder, address) = start_recorder(&upstream, out.path(), &["--once", &calls]);
    for fixture in fixtures {
        let run = run_grpc_replay(&["run", fixture, "--target", &address]);
        assert_eq!(run.code, Some(0), "{}", run.describe());
    }
    let recorded = recorder.finish(EXIT_LIMIT);
    assert_eq!(recorded.code, Some(0), "{}", recorded.describe());
    Some(recorded)
}

/// The same question asked twice: the two recordings have the same client side, so a server
/// cannot tell them apart (a stateful server's answers may differ), and the recorder says so
/// when it stops. Two different questions of the same method (the twin) get no warning.
#[test]
fn recordings_a_server_cannot_tell_apart_are_named_when_recording_stops() {
    let route = "tests/fixtures/record/record_route_slow.yaml";
    let Some(same) = record_fixtures(&[route, route]) else {
        return;
    };
    assert!(
        same.stderr.contains("0001-RecordRoute.yaml")
            && same.stderr.contains("0002-RecordRoute.yaml")
            && same.stderr.contains("with the same client side")
            && same
                .stderr
                .contains("keep such recordings in separate folders"),
        "{}",
        same.describe()
    );
    let Some(different) =
        record_fixtures(&[route, "tests/fixtures/record/record_route_other.yaml"])
    else {
        return;
    };
    assert!(
        !different.stderr.contains("same client side"),
        "{}",
        different.describe()
    );
}
