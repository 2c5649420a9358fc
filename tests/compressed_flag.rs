//! `compressed:` on a message step: the role that receives the message checks its gRPC
//! frame's compressed flag (byte 0 of the 5-byte prefix), over real HTTP/2. The client
//! role checks responses (against `run --loopback` and grpc-go's interop server), the
//! server role checks requests (against `serve` and grpc-replay's client), and the interop
//! spec's feature probes are answered by `scenarios/interop/server/`. Every passing run
//! has a twin that must fail. A sending role cannot honour a `compressed:` that its call's
//! `compression:` contradicts: that is a load error for that role only.

mod process;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use process::{Finished, Process};

const FIXTURES: &str = "tests/fixtures/compressed";
/// The test protos the fixtures load (Debian's `grpc-proto`).
const TEST_PROTO: &str = "/usr/share/grpc-proto/grpc/testing/test.proto";
/// How long one grpc-replay run may take.
const LIMIT: Duration = Duration::from_secs(60);

const WANTED_COMPRESSED: &str =
    "expected the client's message compressed (flag 1), but it came uncompressed (flag 0)";

fn fixture(name: &str) -> String {
    Path::new(FIXTURES).join(name).display().to_string()
}

fn grpc_replay(args: &[&str]) -> Finished {
    process::run_grpc_replay(args, LIMIT)
}

/// Whether the test protos are there (or the test is skipped, unless required).
fn protos_present() -> bool {
    process::peers_present(
        &[Path::new(TEST_PROTO)],
        "GRPC_REPLAY_REQUIRE_GO",
        "apt-get install grpc-proto",
    )
}

/// `grpc-replay serve FILES…` on a free port, and its address.
fn serve(files: &[&str]) -> (Process, String) {
    let mut args = vec!["serve"];
    args.extend_from_slice(files);
    args.extend(["--listen", "127.0.0.1:0", "--color", "never"]);
    let mut server = Process::start("grpc-replay serve", process::grpc_replay(&args));
    let address = server.listening_address();
    (server, address)
}

/// `grpc-replay run FILES… --target ADDRESS`.
fn run(files: &[&str], address: &str) -> Finished {
    let mut args = vec!["run"];
    args.extend_from_slice(files);
    args.extend(["--target", address, "--color", "never"]);
    grpc_replay(&args)
}

#[test]
fn each_role_checks_the_flags_it_receives_in_loopback() {
    if !protos_present() {
        return;
    }
    let out = grpc_replay(&[
        "run",
        "--loopback",
        &fixture("both_roles.yaml"),
        "--color",
        "never",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("1 file, 2 calls: 2 passed"),
        "{}",
        out.describe()
    );
}

#[test]
fn the_server_role_tells_a_compressed_request_from_an_uncompressed_one() {
    if !protos_present() {
        return;
    }
    let (mut server, address) = serve(&[&fixture("wants_compressed.yaml")]);
    let out = run(&[&fixture("sends_plain.yaml")], &address);
    let all = out.describe();
    assert_eq!(out.code, Some(1), "{all}");
    // The compressed request passes; its uncompressed twin must fail.
    assert!(
        out.stdout
            .contains("✓ tests/fixtures/compressed/sends_plain.yaml [gzip]"),
        "{all}"
    );
    assert!(
        out.stdout
            .contains("✗ tests/fixtures/compressed/sends_plain.yaml [identity]"),
        "{all}"
    );
    assert!(out.stdout.contains(WANTED_COMPRESSED), "{all}");
    server.terminate();
    let served = server.finish(Duration::from_secs(15));
    assert!(
        served.stdout.contains("2 calls: 1 passed, 1 failed"),
        "{}",
        served.describe()
    );
    assert!(
        served.stdout.contains(&format!(
            "wants_compressed.yaml:7:5: step `client`: {WANTED_COMPRESSED}"
        )),
        "{}",
        served.describe()
    );
}

/// grpc-go's interop server, which compresses its responses when the request came
/// compressed; `None` when it is not built (skipped).
fn go_interop_server() -> Option<(Process, String)> {
    let program = process::go_peer("interop-server")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut command = Command::new(program);
    command.arg(format!("--port={port}"));
    let mut server = Process::start("grpc-go interop-server", command);
    server.wait_for_port(port);
    Some((server, format!("127.0.0.1:{port}")))
}

#[test]
fn the_client_role_checks_the_flag_of_each_response() {
    if !protos_present() {
        return;
    }
    let Some((_server, address)) = go_interop_server() else {
        return;
    };
    let out = run(&[&fixture("server_flags.yaml")], &address);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("3 calls: 3 passed"),
        "{}",
        out.describe()
    );

    let wrong = run(&[&fixture("server_flags_wrong.yaml")], &address);
    let all = wrong.describe();
    assert_eq!(wrong.code, Some(1), "{all}");
    assert!(
        wrong.stdout.contains("3 calls: 0 passed, 3 failed"),
        "{all}"
    );
    assert!(
        wrong.stdout.contains(
            "server_flags_wrong.yaml:13:9: step `server`: expected the server's message \
             uncompressed (flag 0), but it came compressed (flag 1)"
        ),
        "{all}"
    );
    assert!(
        wrong.stdout.contains(
            "server_flags_wrong.yaml:20:9: step `server`: expected the server's message \
             compressed (flag 1), but it came uncompressed (flag 0)"
        ),
        "{all}"
    );
    // In an `unordered:` group: at the member whose content the message fits.
    assert!(
        wrong.stdout.contains(
            "server_flags_wrong.yaml:30:13: step `server`: expected the server's message \
             uncompressed (flag 0), but it came compressed (flag 1)"
        ),
        "{all}"
    );
}

#[test]
fn the_interop_scripts_fail_the_probes_and_serve_the_compressed_calls() {
    if !protos_present() {
        return;
    }
    let scripts = [
        "scenarios/interop/server/client_compressed_unary.yaml",
        "scenarios/interop/server/client_compressed_streaming.yaml",
    ];
    let (_server, address) = serve(&scripts);
    let clients = [
        fixture("probes.yaml"),
        "scenarios/interop/client/client_compressed_unary.yaml".into(),
        "scenarios/interop/client/client_compressed_streaming.yaml".into(),
    ];
    let clients: Vec<&str> = clients.iter().map(String::as_str).collect();
    let out = run(&clients, &address);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("3 files, 5 calls: 5 passed"),
        "{}",
        out.describe()
    );

    // The wrong twin: a server script that does not look at the flag answers the probe OK.
    let (_wrong, address) =
        serve(&["tests/fixtures/interop/server_wrong/client_compressed_unary.yaml"]);
    let probe = run(&[&fixture("probes.yaml")], &address);
    let all = probe.describe();
    assert_eq!(probe.code, Some(1), "{all}");
    assert!(
        probe
            .stdout
            .contains("probes.yaml:14:9: step `status`: expected status INVALID_ARGUMENT"),
        "{all}"
    );
}

#[test]
fn a_compressed_the_sending_role_cannot_honour_is_a_load_error_for_that_role_only() {
    if !protos_present() {
        return;
    }
    let file = fixture("wants_compressed.yaml");
    let as_server = grpc_replay(&["check", "--role", "server", &file]);
    assert_eq!(as_server.code, Some(0), "{}", as_server.describe());
    let as_client = grpc_replay(&["check", "--role", "client", &file]);
    let all = as_client.describe();
    assert_eq!(as_client.code, Some(2), "{all}");
    assert!(
        as_client.stderr.contains(
            "wants_compressed.yaml:7:5: the client role sends this message with \
             `compressed: true`, but the call has no `compression: gzip`"
        ),
        "{all}"
    );
    // Without --role, check names the obstacle in short for the role that cannot play it.
    let summary = grpc_replay(&["check", &file]);
    assert_eq!(summary.code, Some(0), "{}", summary.describe());
    assert!(
        summary.stdout.contains(
            "client no (line 7: a `compressed:` flag the call's compression cannot send; \
             `check --role client` says more), server ok"
        ),
        "{}",
        summary.describe()
    );
}
