//! The client role's `cancel` is a true cancel: RST_STREAM(CANCEL) on a request stream
//! that was never half-closed, seen on the wire by a raw HTTP/2 server, and by `serve`.

mod process;

use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;

use process::{grpc_replay, run_grpc_replay, Process};

/// Repeats for soundness, not retries: a single END_STREAM before the reset is a defect.
const RUNS: usize = 20;

/// How long one client run or one `serve --once` may take.
const LIMIT: Duration = Duration::from_secs(30);

/// What a raw HTTP/2 server saw of the request stream after it sent the first answer.
#[derive(Debug, PartialEq)]
enum RequestEnd {
    /// END_STREAM: a half-close.
    HalfClose,
    /// RST_STREAM with this code.
    Reset(h2::Reason),
    /// More data, or the connection ended without a reset.
    Other(String),
}

/// A gRPC length-prefixed frame around `message`.
fn framed(message: &[u8]) -> Bytes {
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(message);
    frame.into()
}

/// Serves one Maximum call on `listener`: reads the first message, answers
/// `{result: 1}`, and reports how the request stream then ended (a half-close is
/// answered with status OK, as a server does).
async fn observe_one_call(listener: TcpListener) -> RequestEnd {
    let (socket, _) = listener.accept().await.expect("the client connects");
    let mut connection = h2::server::handshake(socket)
        .await
        .expect("an HTTP/2 client");
    let (request, mut respond) = connection
        .accept()
        .await
        .expect("a request")
        .expect("a valid request");
    let driver = tokio::spawn(async move { while connection.accept().await.is_some() {} });
    let mut body = request.into_body();
    let first = body.data().await.expect("a message").expect("no error");
    assert_eq!(
        first.as_ref(),
        framed(&[0x08, 0x01]).as_ref(),
        "{{number: 1}}"
    );
    let _ = body.flow_control().release_capacity(first.len());
    let response = http::Response::builder()
        .header("content-type", "application/grpc")
        .body(())
        .expect("a valid response");
    let mut send = respond.send_response(response, false).expect("headers go");
    send.send_data(framed(&[0x08, 0x01]), false)
        .expect("the answer goes");
    let mut next = body.data().await;
    // hyper may end the stream with an empty DATA frame that carries END_STREAM.
    while matches!(&next, Some(Ok(data)) if data.is_empty()) {
        next = body.data().await;
    }
    let end = match next {
        None => RequestEnd::HalfClose,
        Some(Err(error)) => match error.reason() {
            Some(reason) if !error.is_io() && !error.is_go_away() => RequestEnd::Reset(reason),
            _ => RequestEnd::Other(error.to_string()),
        },
        Some(Ok(data)) => RequestEnd::Other(format!("more data: {data:?}")),
    };
    if end == RequestEnd::HalfClose {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        send.send_trailers(trailers).expect("the status goes");
    }
    // The client ends the connection as it exits.
    let _ = tokio::time::timeout(LIMIT, driver).await;
    end
}

/// Plays `fixture` with `grpc-replay run` against the raw server; what the server saw,
/// and the client's run.
async fn played_against_raw_server(fixture: &str) -> (RequestEnd, process::Finished) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let target = listener.local_addr().expect("bound").to_string();
    let observed = tokio::spawn(observe_one_call(listener));
    let fixture = fixture.to_string();
    let run = tokio::task::spawn_blocking(move || {
        run_grpc_replay(&["run", &fixture, "--target", &target], LIMIT)
    })
    .await
    .expect("the client run joins");
    let end = tokio::time::timeout(LIMIT, observed)
        .await
        .unwrap_or_else(|_| panic!("the server saw no end of the call\n{}", run.describe()))
        .expect("the observer joins");
    (end, run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_puts_rst_stream_cancel_on_the_wire_and_never_end_stream() {
    for run in 1..=RUNS {
        let (end, finished) =
            played_against_raw_server("tests/fixtures/client_cancel/cancel.yaml").await;
        assert_eq!(
            end,
            RequestEnd::Reset(h2::Reason::CANCEL),
            "run {run}\n{}",
            finished.describe()
        );
        assert_eq!(finished.code, Some(0), "run {run}\n{}", finished.describe());
    }
}

/// The wrong twin: a script that half-closes is seen as END_STREAM by the same server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_puts_end_stream_on_the_wire() {
    let (end, finished) =
        played_against_raw_server("tests/fixtures/client_cancel/close.yaml").await;
    assert_eq!(end, RequestEnd::HalfClose, "{}", finished.describe());
    assert_eq!(finished.code, Some(0), "{}", finished.describe());
}

/// `serve SCRIPT --once` against grpc-replay's cancelling client; how serve exited.
fn serve_against_cancelling_client(script: &str) -> process::Finished {
    let mut served = Process::start(
        "grpc-replay serve",
        // -v: a run that fails shows what the server saw, step by step.
        grpc_replay(&["serve", script, "-v", "--once", "--listen", "127.0.0.1:0"]),
    );
    let target = served.listening_address();
    let client = run_grpc_replay(
        &[
            "run",
            "tests/fixtures/client_cancel/cancel.yaml",
            "--target",
            &target,
        ],
        LIMIT,
    );
    assert_eq!(client.code, Some(0), "{}", client.describe());
    served.finish(LIMIT)
}

/// A server script that expects `close` fails against grpc-replay's cancelling client,
/// every time.
#[test]
fn a_served_close_step_fails_against_the_cancelling_client_every_time() {
    for run in 1..=RUNS {
        let served =
            serve_against_cancelling_client("tests/fixtures/server/cancel/expects_close.yaml");
        assert_eq!(served.code, Some(1), "run {run}\n{}", served.describe());
        assert!(
            served.stdout.contains("but the client cancelled the call"),
            "run {run}\n{}",
            served.describe()
        );
    }
}

/// The positive twin: a server script that expects `cancel` passes.
#[test]
fn a_served_cancel_step_passes_against_the_cancelling_client() {
    let served = serve_against_cancelling_client("tests/fixtures/server/steps/cancel.yaml");
    assert_eq!(served.code, Some(0), "{}", served.describe());
}
