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

/// What a raw HTTP/2 server saw of the request stream: the bytes of its DATA frames (the
/// gRPC-framed messages), and how it ended.
#[derive(Debug)]
struct Seen {
    data: Vec<u8>,
    end: RequestEnd,
}

/// Headers for a gRPC response.
fn grpc_response() -> http::Response<()> {
    http::Response::builder()
        .header("content-type", "application/grpc")
        .body(())
        .expect("a valid response")
}

/// Serves one Maximum call on `listener`: answers `{result: 1}` once the first message
/// has come, and reports what the request stream carried and how it ended (a half-close
/// is answered with status OK, as a server does).
async fn observe_one_call(listener: TcpListener) -> Seen {
    let (socket, _) = listener.accept().await.expect("the client connects");
    let mut connection = h2::server::handshake(socket)
        .await
        .expect("an HTTP/2 client");
    // h2 hands over no request whose stream was reset before it was accepted.
    let Some(Ok((request, mut respond))) = connection.accept().await else {
        return Seen {
            data: Vec::new(),
            end: RequestEnd::Other("no request was accepted".into()),
        };
    };
    let driver = tokio::spawn(async move { while connection.accept().await.is_some() {} });
    let mut body = request.into_body();
    let mut data = Vec::new();
    let mut answered = None;
    let end = loop {
        match body.data().await {
            // hyper may end the stream with an empty DATA frame that carries END_STREAM.
            Some(Ok(chunk)) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                data.extend_from_slice(&chunk);
                if answered.is_none() && !chunk.is_empty() {
                    // The client may have reset the stream already: the next read says so.
                    answered = respond.send_response(grpc_response(), false).ok();
                    if let Some(send) = answered.as_mut() {
                        let _ = send.send_data(framed(&[0x08, 0x01]), false);
                    }
                }
            }
            None => break RequestEnd::HalfClose,
            Some(Err(error)) => match error.reason() {
                Some(reason) if !error.is_io() && !error.is_go_away() => {
                    break RequestEnd::Reset(reason)
                }
                _ => break RequestEnd::Other(error.to_string()),
            },
        }
    };
    if let (RequestEnd::HalfClose, Some(send)) = (&end, answered.as_mut()) {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        send.send_trailers(trailers).expect("the status goes");
    }
    // The client ends the connection as it exits.
    let _ = tokio::time::timeout(LIMIT, driver).await;
    Seen { data, end }
}

/// Plays `fixture` with `grpc-replay run` against the raw server; what the server saw,
/// and the client's run.
async fn played_against_raw_server(fixture: &str) -> (Seen, process::Finished) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let target = listener.local_addr().expect("bound").to_string();
    let observed = tokio::spawn(observe_one_call(listener));
    let fixture = fixture.to_string();
    let run = tokio::task::spawn_blocking(move || {
        run_grpc_replay(&["run", &fixture, "--target", &target], LIMIT)
    })
    .await
    .expect("the client run joins");
    let seen = tokio::time::timeout(LIMIT, observed)
        .await
        .unwrap_or_else(|_| panic!("the server saw no end of the call\n{}", run.describe()))
        .expect("the observer joins");
    (seen, run)
}

/// Plays `fixture` [`RUNS`] times against the raw server, and checks that each time the
/// request stream carried `messages`, framed, then a reset with CANCEL and no END_STREAM.
async fn every_run_sends_then_cancels(fixture: &str, messages: &[&[u8]]) {
    let expected: Vec<u8> = messages.iter().flat_map(|m| framed(m)).collect();
    for run in 1..=RUNS {
        let (seen, finished) = played_against_raw_server(fixture).await;
        assert_eq!(
            (seen.data.as_slice(), &seen.end),
            (expected.as_slice(), &RequestEnd::Reset(h2::Reason::CANCEL)),
            "run {run}\n{}",
            finished.describe()
        );
        assert_eq!(finished.code, Some(0), "run {run}\n{}", finished.describe());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_puts_rst_stream_cancel_on_the_wire_and_never_end_stream() {
    every_run_sends_then_cancels("tests/fixtures/client_cancel/cancel.yaml", &[&[0x08, 0x01]])
        .await;
}

/// Messages sent right before a cancel reach the server before its RST_STREAM: h2 drops
/// the DATA it has not yet written when a stream is reset, so a cancel that came at once
/// lost them now and then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_right_before_a_cancel_arrive_before_the_reset() {
    every_run_sends_then_cancels(
        "tests/fixtures/client_cancel/send_then_cancel.yaml",
        &[&[0x08, 0x01], &[0x08, 0x02]],
    )
    .await;
}

/// The twin: a script that cancels before sending anything puts only the reset on the
/// wire, so the test above sees what the client sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_with_nothing_sent_is_only_a_reset() {
    every_run_sends_then_cancels("tests/fixtures/client_cancel/cancel_at_once.yaml", &[]).await;
}

/// The wrong twin: a script that half-closes is seen as END_STREAM by the same server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_puts_end_stream_on_the_wire() {
    let (seen, finished) =
        played_against_raw_server("tests/fixtures/client_cancel/close.yaml").await;
    assert_eq!(seen.end, RequestEnd::HalfClose, "{}", finished.describe());
    assert_eq!(seen.data, framed(&[0x08, 0x01]), "{}", finished.describe());
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
