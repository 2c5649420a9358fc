//! A peer whose `grpc-status-details-bin` is not base64: the client role reports the call
//! as INTERNAL "malformed grpc-status-details-bin", as grpc-go's client does, in trailers
//! and in a trailers-only answer alike — never a panic or a call that silently vanishes.
//! The twin: the same answer with valid base64 passes.

mod process;

use std::time::Duration;

use tokio::net::TcpListener;

use process::{grpc_replay, Process};

/// How long one client run may take.
const LIMIT: Duration = Duration::from_secs(30);

/// Where the peer puts its status.
#[derive(Clone, Copy)]
enum Answer {
    /// Headers, then trailers holding the status.
    Trailers,
    /// One HEADERS frame with END_STREAM holding the status (trailers-only).
    TrailersOnly,
}

/// Serves one unary call on `listener`, ending it with INVALID_ARGUMENT "bad point" and
/// `details` as `grpc-status-details-bin`.
async fn answer_one_call(listener: TcpListener, answer: Answer, details: &'static str) {
    let (mut respond, driver) = process::raw_h2::accept_call(listener).await;
    let mut status = http::HeaderMap::new();
    status.insert("grpc-status", "3".parse().unwrap());
    status.insert("grpc-message", "bad point".parse().unwrap());
    status.insert("grpc-status-details-bin", details.parse().unwrap());
    let mut response = http::Response::builder().header("content-type", "application/grpc");
    match answer {
        Answer::Trailers => {
            let response = response.body(()).unwrap();
            let mut send = respond.send_response(response, false).expect("headers go");
            send.send_trailers(status).expect("trailers go");
        }
        Answer::TrailersOnly => {
            for (name, value) in &status {
                response = response.header(name, value);
            }
            respond
                .send_response(response.body(()).unwrap(), true)
                .expect("the answer goes");
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    driver.abort();
}

/// Plays the fixture as the client against a peer that answers as `answer` says.
fn play(answer: Answer, details: &'static str) -> process::Finished {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("a free port");
    let target = listener.local_addr().unwrap().to_string();
    let peer = runtime.spawn(answer_one_call(listener, answer, details));
    let command = grpc_replay(&[
        "run",
        "tests/fixtures/malformed_details/invalid_argument.yaml",
        "--target",
        &target,
    ]);
    let finished = Process::run("grpc-replay run", command, LIMIT);
    runtime.block_on(peer).expect("the peer ends");
    finished
}

/// `google.rpc.Status {code: 3, message: "bad"}` in base64.
const VALID: &str = "CAMSA2JhZA==";

#[test]
fn details_that_are_not_base64_fail_the_call_as_internal_in_both_places() {
    for answer in [Answer::Trailers, Answer::TrailersOnly] {
        let bad = play(answer, "not*base64!");
        assert_eq!(bad.code, Some(1), "{}", bad.describe());
        assert!(
            bad.stdout.contains("malformed grpc-status-details-bin"),
            "{}",
            bad.describe()
        );
        assert!(!bad.stderr.contains("panicked"), "{}", bad.describe());
        let good = play(answer, VALID);
        assert_eq!(good.code, Some(0), "{}", good.describe());
    }
}
