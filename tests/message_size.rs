//! `--max-message-size`: a 5 MB message fails by default (gRPC's 4 MiB) with an error that
//! names the flag, in whichever role sends or receives it, and passes with
//! `--max-message-size 8MiB` — over loopback, against grpc-go's interop server, and with
//! a grpc-go client (`interop/go/cmd/big-note`). A message cut short, one over the limit
//! only once decompressed, and one that cannot be decompressed are reported as such, never
//! as a cancel or as a status the peer did not send; `check` warns about scripted messages
//! over the limit.

mod parsers;
mod process;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use process::{go_peer, grpc_replay, run_grpc_replay, Finished, Process};

const BIG_REQUEST: &str = "tests/fixtures/message_size/big_request.yaml";
const BIG_RESPONSE: &str = "tests/fixtures/message_size/big_response.yaml";
const BIG_REQUEST_GZIP: &str = "tests/fixtures/message_size/big_request_gzip.yaml";
const BIG_RESPONSE_GZIP: &str = "tests/fixtures/message_size/big_response_gzip.yaml";
const LIMIT: Duration = Duration::from_secs(60);

/// What a failure says about a 5,000,005-byte message (a Blob of 5,000,000 bytes) under
/// the default limit.
const OVER: &str = "5000005 bytes, over --max-message-size (4194304 bytes); raise the limit with --max-message-size BYTES";

fn assert_passed(run: &Finished) {
    assert!(
        run.code == Some(0) && run.stdout.contains(" passed") && !run.stdout.contains("failed"),
        "expected a pass\n{}",
        run.describe()
    );
}

/// Exit 1, and `text` in the output.
fn assert_failed_with(run: &Finished, text: &str) {
    assert!(
        run.code == Some(1) && run.stdout.contains(text),
        "expected exit 1 with `{text}`\n{}",
        run.describe()
    );
}

/// `grpc-replay serve FILE --once ARGS…` on a free port, and its address.
fn serve_once(file: &str, args: &[&str]) -> (Process, String) {
    let args = [&["serve", file, "--listen", "127.0.0.1:0", "--once"], args].concat();
    let mut server = Process::start("grpc-replay serve", grpc_replay(&args));
    let address = server.listening_address();
    (server, address)
}

#[test]
fn a_5mb_message_needs_the_flag_over_loopback_in_both_directions() {
    for file in [BIG_REQUEST, BIG_RESPONSE] {
        let run = run_grpc_replay(&["run", "--loopback", file], LIMIT);
        assert_failed_with(&run, OVER);
        let run = run_grpc_replay(
            &["run", "--loopback", file, "--max-message-size", "8MiB"],
            LIMIT,
        );
        assert_passed(&run);
    }
}

#[test]
fn bench_applies_the_limit_and_counts_the_failures_by_reason() {
    let run = run_grpc_replay(&["bench", "--loopback", BIG_REQUEST, "-n", "2"], LIMIT);
    assert!(
        run.code == Some(1) && run.stdout.contains("bad_message") && run.stdout.contains(OVER),
        "{}",
        run.describe()
    );
    let run = run_grpc_replay(
        &[
            "bench",
            "--loopback",
            BIG_REQUEST,
            "-n",
            "2",
            "--max-message-size",
            "8MiB",
        ],
        LIMIT,
    );
    assert!(
        run.code == Some(0) && run.stdout.contains("(2 passed, 0 failed)"),
        "{}",
        run.describe()
    );
}

#[test]
fn the_client_role_reports_a_response_over_its_limit() {
    let (server, address) = serve_once(BIG_RESPONSE, &["--max-message-size", "8MiB"]);
    let run = run_grpc_replay(&["run", BIG_RESPONSE, "--target", &address], LIMIT);
    assert_failed_with(&run, &format!("the server's message is {OVER}"));
    drop(server);
    let (server, address) = serve_once(BIG_RESPONSE, &["--max-message-size", "8MiB"]);
    let run = run_grpc_replay(
        &[
            "run",
            BIG_RESPONSE,
            "--target",
            &address,
            "--max-message-size",
            "5MB",
        ],
        LIMIT,
    );
    assert_failed_with(
        &run,
        "the server's message is 5000005 bytes, over --max-message-size (5000000 bytes)",
    );
    drop(server);
    let (server, address) = serve_once(BIG_RESPONSE, &["--max-message-size", "8MiB"]);
    let run = run_grpc_replay(
        &[
            "run",
            BIG_RESPONSE,
            "--target",
            &address,
            "--max-message-size",
            "5000005",
        ],
        LIMIT,
    );
    assert_passed(&run);
    assert_passed(&server.finish(LIMIT));
}

#[test]
fn the_server_role_reports_a_request_over_its_limit_not_a_cancel() {
    let (server, address) = serve_once(BIG_REQUEST, &[]);
    let run = run_grpc_replay(
        &[
            "run",
            BIG_REQUEST,
            "--target",
            &address,
            "--max-message-size",
            "8MiB",
        ],
        LIMIT,
    );
    // The client is told why, with gRPC's code for a message over the limit.
    assert_failed_with(&run, "RESOURCE_EXHAUSTED");
    assert!(run.stdout.contains(OVER), "{}", run.describe());
    let served = server.finish(LIMIT);
    assert_failed_with(&served, &format!("the client's message is {OVER}"));
    assert!(!served.stdout.contains("cancel"), "{}", served.describe());
}

/// A request that is small on the wire but over the server's limit once decompressed is
/// reported as a message over the limit, not as a cancel; with the limit raised it passes.
#[test]
fn the_server_role_reports_a_compressed_request_over_its_limit_once_decompressed() {
    let (server, address) = serve_once(BIG_REQUEST_GZIP, &[]);
    let raised = ["--max-message-size", "8MiB"];
    let run = run_grpc_replay(
        &[
            &["run", BIG_REQUEST_GZIP, "--target", &address][..],
            &raised,
        ]
        .concat(),
        LIMIT,
    );
    assert_failed_with(&run, "RESOURCE_EXHAUSTED");
    let served = server.finish(LIMIT);
    assert_failed_with(
        &served,
        "the client's message is compressed, and decompresses to more than \
         --max-message-size (4194304 bytes)",
    );
    assert!(!served.stdout.contains("cancel"), "{}", served.describe());

    passes_with_8mib_on_both_sides(BIG_REQUEST_GZIP);
}

/// `file` served and run with `--max-message-size 8MiB` on both sides passes.
fn passes_with_8mib_on_both_sides(file: &str) {
    let raised = ["--max-message-size", "8MiB"];
    let (server, address) = serve_once(file, &raised);
    let run = run_grpc_replay(
        &[&["run", file, "--target", &address][..], &raised].concat(),
        LIMIT,
    );
    assert_passed(&run);
    assert_passed(&server.finish(LIMIT));
}

/// The client role's twin: a response over the limit once decompressed is a message over
/// the limit, not a status the server never sent; with the limit raised it passes.
#[test]
fn the_client_role_reports_a_compressed_response_over_its_limit_once_decompressed() {
    let raised = ["--max-message-size", "8MiB"];
    let (server, address) = serve_once(BIG_RESPONSE_GZIP, &raised);
    let expected = serde_json::json!({
        "type": "bad_message",
        "sender": "server",
        "fault": {"kind": "too_large_decompressed", "limit": 4_194_304},
    });
    let run = run_with_json_report(&["run", BIG_RESPONSE_GZIP, "--target", &address], &expected);
    assert_failed_with(
        &run,
        "the server's message is compressed, and decompresses to more than \
         --max-message-size (4194304 bytes)",
    );
    assert!(
        !run.stdout.contains("RESOURCE_EXHAUSTED"),
        "{}",
        run.describe()
    );
    drop(server);

    passes_with_8mib_on_both_sides(BIG_RESPONSE_GZIP);
}

/// A request marked compressed whose body is not gzip is reported as such, not as a
/// cancel; the same message gzip-compressed passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_cannot_be_decompressed_is_reported_as_such() {
    let echo = "tests/fixtures/message_size/echo.yaml";
    for (framed, expected) in [
        (
            compressed_frame(b"not gzip at all".to_vec()),
            Some("the client's message is marked compressed, but it could not be decompressed"),
        ),
        (compressed_frame(gzip(&whole()[5..])), None),
    ] {
        let (server, address) = serve_once(echo, &[]);
        let address: SocketAddr = address.parse().expect("a socket address");
        let send = send_raw_encoded(address, "/blob.Blobs/Echo", framed, Some("gzip"));
        let status = tokio::time::timeout(LIMIT, send)
            .await
            .expect("the server answers");
        let wanted = if expected.is_some() { "13" } else { "0" };
        assert_eq!(
            status.as_deref(),
            Some(wanted),
            "the grpc-status the server answered"
        );
        assert_served(server, expected).await;
    }
}

/// The served call failed saying `expected` (and nothing of a cancel), or passed (`None`).
async fn assert_served(server: Process, expected: Option<&'static str>) {
    let served = tokio::task::spawn_blocking(move || server.finish(LIMIT))
        .await
        .expect("the server process ends");
    match expected {
        Some(text) => {
            assert_failed_with(&served, text);
            assert!(!served.stdout.contains("cancel"), "{}", served.describe());
        }
        None => assert_passed(&served),
    }
}

/// `payload` framed as one message with the compressed flag set.
fn compressed_frame(payload: Vec<u8>) -> Vec<u8> {
    let mut framed = vec![1];
    framed.extend(
        u32::try_from(payload.len())
            .expect("a small payload")
            .to_be_bytes(),
    );
    framed.extend(payload);
    framed
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// Sends `framed` (raw gRPC framing) as the whole request of `path`, then ends the
/// request stream; returns once the server answered (or reset the stream).
async fn send_raw(address: SocketAddr, path: &str, framed: Vec<u8>) {
    send_raw_encoded(address, path, framed, None).await;
}

/// [`send_raw`], with `grpc-encoding: ENCODING` when one is given; returns the
/// `grpc-status` the server answered (from its trailers, or its headers alone).
async fn send_raw_encoded(
    address: SocketAddr,
    path: &str,
    framed: Vec<u8>,
    encoding: Option<&str>,
) -> Option<String> {
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("the server accepts connections");
    let (requests, connection) = h2::client::handshake(tcp)
        .await
        .expect("an HTTP/2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut requests = requests.ready().await.expect("a stream");
    let mut request = http::Request::post(format!("http://{address}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(encoding) = encoding {
        request = request.header("grpc-encoding", encoding);
    }
    let request = request.body(()).expect("a valid request");
    let (response, mut send) = requests
        .send_request(request, false)
        .expect("the request is sent");
    send.send_data(Bytes::from(framed), true)
        .expect("the request body is queued");
    let response = response.await.ok()?;
    let status = |headers: &http::HeaderMap| {
        let status = headers.get("grpc-status")?.to_str().ok()?;
        Some(status.to_string())
    };
    if let Some(only) = status(response.headers()) {
        return Some(only);
    }
    let mut body = response.into_body();
    while let Some(Ok(_)) = body.data().await {}
    body.trailers()
        .await
        .ok()
        .flatten()
        .as_ref()
        .and_then(status)
}

/// A request that announces 10 bytes and brings 3 before its stream ends.
fn cut_short() -> Vec<u8> {
    let mut framed = vec![0, 0, 0, 0, 10];
    framed.extend([0x0a, 0x01, 0x01]);
    framed
}

/// The Blob {data: "AQID"} that tests/fixtures/message_size/echo.yaml expects, framed.
fn whole() -> Vec<u8> {
    let message = [0x0a, 0x03, 0x01, 0x02, 0x03];
    let mut framed = vec![0, 0, 0, 0, message.len() as u8];
    framed.extend(message);
    framed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cut_short_is_reported_as_such_and_a_whole_one_passes() {
    let echo = "tests/fixtures/message_size/echo.yaml";
    for (framed, expected) in [
        (
            cut_short(),
            Some("the client's message is cut short: the stream ended inside it"),
        ),
        (whole(), None),
    ] {
        let (server, address) = serve_once(echo, &[]);
        let address: SocketAddr = address.parse().expect("a socket address");
        tokio::time::timeout(LIMIT, send_raw(address, "/blob.Blobs/Echo", framed))
            .await
            .expect("the server answers");
        assert_served(server, expected).await;
    }
}

/// The JSON report says what is wrong as data, and stays within docs/report-schema.json.
#[test]
fn a_message_over_the_limit_is_typed_in_the_json_report() {
    let expected = serde_json::json!({
        "type": "bad_message",
        "sender": "client",
        "fault": {"kind": "too_large", "size": 5_000_005, "limit": 4_194_304},
    });
    let run = run_with_json_report(&["run", "--loopback", BIG_REQUEST], &expected);
    assert_failed_with(&run, OVER);
}

/// Runs `args` with a JSON report, which must stay within docs/report-schema.json and hold
/// `expected` somewhere.
fn run_with_json_report(args: &[&str], expected: &serde_json::Value) -> Finished {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("run.json");
    let report = format!("json={}", path.display());
    let run = run_grpc_replay(&[args, &["--report", &report]].concat(), LIMIT);
    let text = std::fs::read_to_string(&path).expect("the report is written");
    let report: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(process::repo_root().join("docs/report-schema.json"))
            .expect("the schema"),
    )
    .expect("the schema is JSON");
    let errors = parsers::schema_errors(&schema, &report);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(contains_value(&report, expected), "no {expected} in {text}");
    run
}

/// Whether `value` holds `wanted` somewhere inside it.
fn contains_value(value: &serde_json::Value, wanted: &serde_json::Value) -> bool {
    value == wanted
        || match value {
            serde_json::Value::Array(items) => items.iter().any(|v| contains_value(v, wanted)),
            serde_json::Value::Object(map) => map.values().any(|v| contains_value(v, wanted)),
            _ => false,
        }
}

#[test]
fn check_warns_about_a_message_over_the_limit_it_is_given() {
    let check = run_grpc_replay(&["check", BIG_REQUEST], LIMIT);
    let warning = format!(
        "warning: {BIG_REQUEST}:6:5: this `client:` message is 5000005 bytes, over the message \
         size limit (4194304 bytes)"
    );
    assert!(
        check.code == Some(0) && check.stderr.contains(&warning),
        "expected exit 0 and `{warning}`\n{}",
        check.describe()
    );
    let check = run_grpc_replay(&["check", BIG_REQUEST, "--max-message-size", "8MiB"], LIMIT);
    assert!(
        check.code == Some(0) && !check.stderr.contains("warning"),
        "{}",
        check.describe()
    );
}

#[test]
fn a_size_that_is_not_one_is_refused_naming_the_flag() {
    for size in ["2GiB", "0", "8mb", "lots"] {
        let run = run_grpc_replay(
            &["run", "--loopback", BIG_REQUEST, "--max-message-size", size],
            LIMIT,
        );
        assert!(
            run.code == Some(2) && run.stderr.contains("--max-message-size"),
            "{size}: {}",
            run.describe()
        );
    }
}

/// A free port on 127.0.0.1 (grpc-go's interop server takes a port, not an address).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

#[test]
fn a_5mb_response_from_grpc_go_needs_the_flag() {
    let test_proto = Path::new("/usr/share/grpc-proto/grpc/testing/test.proto");
    if !process::peers_present(
        &[test_proto],
        "GRPC_REPLAY_REQUIRE_GO",
        "apt-get install grpc-proto",
    ) {
        return;
    }
    let Some(binary) = go_peer("interop-server") else {
        return;
    };
    let port = free_port();
    let mut command = Command::new(binary);
    command.args(["--port", &port.to_string()]);
    let mut server = Process::start("Go interop-server", command);
    server.wait_for_port(port);
    let address = format!("127.0.0.1:{port}");
    let file = "tests/fixtures/message_size/large_unary_5mb.yaml";
    let run = run_grpc_replay(&["run", file, "--target", &address], LIMIT);
    assert_failed_with(
        &run,
        "the server's message is 5000010 bytes, over --max-message-size (4194304 bytes)",
    );
    let run = run_grpc_replay(
        &[
            "run",
            file,
            "--target",
            &address,
            "--max-message-size",
            "8MiB",
        ],
        LIMIT,
    );
    assert_passed(&run);
}

#[test]
fn a_5mb_request_from_grpc_go_needs_the_flag() {
    let Some(binary) = go_peer("big-note") else {
        return;
    };
    let note = "tests/fixtures/message_size/big_note.yaml";
    // Sent plain, the note is over the limit on the wire; gzipped, only once decompressed.
    for (gzip, refused) in [
        (false, format!("the client's message is {OVER}")),
        (
            true,
            "the client's message is compressed, and decompresses to more than \
             --max-message-size (4194304 bytes)"
                .to_string(),
        ),
    ] {
        for (flags, go_passes) in [
            (&[][..], false),
            (&["--max-message-size", "8MiB"][..], true),
        ] {
            let (server, address) = serve_once(note, flags);
            let mut command = Command::new(&binary);
            command.args(["--addr", &address, "--size", "5000000"]);
            if gzip {
                command.arg("--gzip");
            }
            let client = Process::run("Go big-note", command, LIMIT);
            let served = server.finish(LIMIT);
            if go_passes {
                assert!(
                    client.code == Some(0) && client.stdout.contains("big note ok: 1 replies"),
                    "{}",
                    client.describe()
                );
                assert_passed(&served);
            } else {
                assert!(
                    client.code == Some(1)
                        && client.stdout.contains("ResourceExhausted")
                        && client.stdout.contains("--max-message-size"),
                    "{}",
                    client.describe()
                );
                assert_failed_with(&served, &refused);
                assert!(!served.stdout.contains("cancel"), "{}", served.describe());
            }
        }
    }
}

/// Answers one Echo call on `listener` with `framed` as the response body (its messages
/// marked gzip-compressed) and an OK status.
async fn answer_compressed(listener: tokio::net::TcpListener, framed: Vec<u8>) {
    let (mut respond, driver) = process::raw_h2::accept_call(listener).await;
    let response = http::Response::builder()
        .header("content-type", "application/grpc")
        .header("grpc-encoding", "gzip")
        .body(())
        .expect("a valid response");
    let mut send = respond.send_response(response, false).expect("headers go");
    send.send_data(Bytes::from(framed), false)
        .expect("the body goes");
    let mut status = http::HeaderMap::new();
    status.insert("grpc-status", "0".parse().expect("a header value"));
    send.send_trailers(status).expect("trailers go");
    tokio::time::sleep(Duration::from_millis(500)).await;
    driver.abort();
}

/// The client role's twin: a response marked compressed that is not gzip is reported as
/// such (not as a status the server never sent); the same message gzipped passes.
#[test]
fn a_response_that_cannot_be_decompressed_is_reported_as_such() {
    let echo = "tests/fixtures/message_size/echo.yaml";
    for (framed, expected) in [
        (
            compressed_frame(b"not gzip at all".to_vec()),
            Some("the server's message is marked compressed, but it could not be decompressed"),
        ),
        (compressed_frame(gzip(&whole()[5..])), None),
    ] {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let target = listener.local_addr().expect("an address").to_string();
        let peer = runtime.spawn(answer_compressed(listener, framed));
        let run = run_grpc_replay(&["run", echo, "--target", &target], LIMIT);
        runtime.block_on(peer).expect("the peer ends");
        match expected {
            Some(text) => {
                assert_failed_with(&run, text);
                assert!(!run.stdout.contains("INTERNAL"), "{}", run.describe());
            }
            None => assert_passed(&run),
        }
    }
}
