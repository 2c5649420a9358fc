//! The server role end to end: `grpc-replay serve` runs as a child process and independent
//! typed tonic clients (and a raw client for what no typed stub sends) call it over TCP.

mod server_support;

use std::time::{Duration, Instant};

use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use server_support::pb::calculator::calculator_service_client::CalculatorServiceClient;
use server_support::pb::calculator::{MaximumRequest, MaximumResponse};
use server_support::pb::greet::greet_service_client::GreetServiceClient;
use server_support::pb::greet::{GreetEveryoneRequest, GreetEveryoneResponse, Greeting};
use server_support::pb::routeguide::route_guide_client::RouteGuideClient;
use server_support::pb::routeguide::{Feature, Point, Rectangle, RouteNote, RouteSummary};
use server_support::pb::tutorial::number_service_client::NumberServiceClient;
use server_support::pb::tutorial::{NumberRequest, NumberResponse};
use server_support::pb::unpackaged::chat_client::ChatClient;
use server_support::pb::unpackaged::hello_world_client::HelloWorldClient;
use server_support::pb::unpackaged::ChatMessage;
use server_support::process::Process;
use server_support::{
    bounded, fixture, line_of, raw_call, read_all, H2Call, Replay, Served, EXCHANGE_LIMIT,
};

fn point(latitude: i32, longitude: i32) -> Point {
    Point {
        latitude,
        longitude,
    }
}

fn feature(name: &str, location: Option<Point>) -> Feature {
    Feature {
        name: name.into(),
        location,
    }
}

fn greeting(first_name: &str, last_name: &str) -> GreetEveryoneRequest {
    GreetEveryoneRequest {
        greeting: Some(Greeting {
            first_name: first_name.into(),
            last_name: last_name.into(),
        }),
    }
}

fn chat_message(name: &str, message: &str) -> ChatMessage {
    ChatMessage {
        name: name.into(),
        message: message.into(),
    }
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

/// A request stream the test feeds one message at a time, and keeps open as long as it
/// holds the returned sender.
fn open_stream<T>() -> (mpsc::Sender<T>, ReceiverStream<T>) {
    let (sender, receiver) = mpsc::channel(16);
    (sender, ReceiverStream::new(receiver))
}

async fn send<T>(sender: &mpsc::Sender<T>, message: T) {
    bounded("sending", sender.send(message))
        .await
        .unwrap_or_else(|_| panic!("the request stream is closed"));
}

/// The next response message, `None` at the end of an OK call; panics when the call fails.
async fn next<T>(stream: &mut tonic::Streaming<T>) -> Option<T> {
    bounded("the next response message", stream.message())
        .await
        .unwrap_or_else(|status| panic!("the call failed: {status:?}"))
}

/// The status that ends a call; panics when a message comes instead.
async fn ending_status<T: std::fmt::Debug>(stream: &mut tonic::Streaming<T>) -> Status {
    match bounded("the end of the call", stream.message()).await {
        Err(status) => status,
        Ok(other) => panic!("expected the call to fail, received {other:?}"),
    }
}

/// Asserts that the process exited with `code` and printed the summary line `summary`.
fn assert_exit(finished: &server_support::Finished, code: i32, summary: &str) {
    assert_eq!(
        (finished.code, finished.summary()),
        (Some(code), Some(summary)),
        "signal: {:?}\nstdout:\n{}\nstderr:\n{}",
        finished.signal,
        finished.stdout,
        finished.stderr
    );
}

// ---------------------------------------------------------------------------------------
// Every bundled method, one fixture each.
// ---------------------------------------------------------------------------------------

async fn play_unary_kinds(channel: &Channel) {
    let mut route = RouteGuideClient::new(channel.clone());
    let found = bounded(
        "GetFeature",
        route.get_feature(point(409_146_138, -746_188_906)),
    )
    .await
    .expect("GetFeature succeeds")
    .into_inner();
    assert_eq!(
        found,
        feature(
            "Berkshire Valley Management Area Trail",
            Some(point(409_146_138, -746_188_906))
        )
    );

    let mut hello = HelloWorldClient::new(channel.clone());
    let reply = bounded("hello", hello.hello("Sam".to_string()))
        .await
        .expect("hello succeeds")
        .into_inner();
    assert_eq!(reply, "Hello Sam");
}

async fn play_server_streaming_kinds(channel: &Channel) {
    let mut route = RouteGuideClient::new(channel.clone());
    let rectangle = Rectangle {
        lo: Some(point(400_000_000, -750_000_000)),
        hi: Some(point(420_000_000, -730_000_000)),
    };
    let features = bounded("ListFeatures", async {
        read_all(route.list_features(rectangle).await?.into_inner()).await
    })
    .await
    .expect("ListFeatures succeeds");
    assert_eq!(
        features,
        vec![
            feature("Patriots Path", Some(point(407_838_351, -746_143_763))),
            feature("Jersey City", Some(point(410_000_000, -740_000_000))),
        ]
    );

    let mut hello = HelloWorldClient::new(channel.clone());
    let replies = bounded("lotsOfReplies", async {
        read_all(hello.lots_of_replies("Ann".to_string()).await?.into_inner()).await
    })
    .await
    .expect("lotsOfReplies succeeds");
    assert_eq!(replies, strings(&["Hello Ann", "Hi Ann", "Hey Ann"]));
}

async fn play_client_streaming_kinds(channel: &Channel) {
    let mut route = RouteGuideClient::new(channel.clone());
    let points = tokio_stream::iter(vec![point(1, 2), point(3, 4), point(5, 6)]);
    let summary = bounded("RecordRoute", route.record_route(points))
        .await
        .expect("RecordRoute succeeds")
        .into_inner();
    assert_eq!(
        summary,
        RouteSummary {
            point_count: 3,
            feature_count: 1,
            distance: 42,
            elapsed_time: 7
        }
    );

    let mut hello = HelloWorldClient::new(channel.clone());
    let names = tokio_stream::iter(strings(&["Ann", "Bob"]));
    let reply = bounded("lotsOfGreetings", hello.lots_of_greetings(names))
        .await
        .expect("lotsOfGreetings succeeds")
        .into_inner();
    assert_eq!(reply, "Hello Ann, Bob");
}

async fn play_bidi_kinds(channel: &Channel) {
    let mut calculator = CalculatorServiceClient::new(channel.clone());
    let numbers = [1, 5, 3, 6].map(|number| MaximumRequest { number });
    let maxima = bounded("Maximum", async {
        read_all(
            calculator
                .maximum(tokio_stream::iter(numbers))
                .await?
                .into_inner(),
        )
        .await
    })
    .await
    .expect("Maximum succeeds");
    assert_eq!(
        maxima,
        [1, 5, 6].map(|result| MaximumResponse { result }).to_vec()
    );

    let mut greet = GreetServiceClient::new(channel.clone());
    let people = tokio_stream::iter(vec![greeting("Ann", "Lee"), greeting("Bob", "")]);
    let greetings = bounded("GreetEveryone", async {
        read_all(greet.greet_everyone(people).await?.into_inner()).await
    })
    .await
    .expect("GreetEveryone succeeds");
    assert_eq!(
        greetings,
        ["Hello Ann Lee", "Hello Bob"]
            .map(|result| GreetEveryoneResponse {
                result: result.into()
            })
            .to_vec()
    );

    // Ping-pong: each number goes out only after the previous sum came back.
    let mut numbers = NumberServiceClient::new(channel.clone());
    let (sender, requests) = open_stream();
    send(&sender, NumberRequest { num: 1 }).await;
    let mut sums = bounded("AccumulateNumbers", numbers.accumulate_numbers(requests))
        .await
        .expect("AccumulateNumbers starts")
        .into_inner();
    for (num, sum) in [(1, 1), (2, 3), (3, 6)] {
        if num > 1 {
            send(&sender, NumberRequest { num }).await;
        }
        assert_eq!(next(&mut sums).await, Some(NumberResponse { sum }));
    }
    drop(sender);
    assert_eq!(next(&mut sums).await, None);

    let mut route = RouteGuideClient::new(channel.clone());
    let note = |message: &str| RouteNote {
        location: Some(point(1, 1)),
        message: message.into(),
    };
    let notes = tokio_stream::iter(vec![note("first"), note("second")]);
    let echoed = bounded("RouteChat", async {
        read_all(route.route_chat(notes).await?.into_inner()).await
    })
    .await
    .expect("RouteChat succeeds");
    assert_eq!(echoed, vec![note("first")]);

    let mut chat = ChatClient::new(channel.clone());
    let messages = tokio_stream::iter(vec![chat_message("Sam", "Hi"), chat_message("Sam", "Bye")]);
    let replies = bounded("chat", async {
        read_all(chat.chat(messages).await?.into_inner()).await
    })
    .await
    .expect("chat succeeds");
    assert_eq!(replies, strings(&["Sam: Hi", "Sam: Bye"]));

    let mut hello = HelloWorldClient::new(channel.clone());
    let names = tokio_stream::iter(strings(&["Ann", "Bob"]));
    let replies = bounded("bidiHello", async {
        read_all(hello.bidi_hello(names).await?.into_inner()).await
    })
    .await
    .expect("bidiHello succeeds");
    assert_eq!(replies, strings(&["Hello Ann", "Hello Bob"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bundled_method_kind_is_served_to_typed_clients() {
    let served = Served::start(&["kinds"], &["--once"]);
    let channel = served.connect().await;
    play_unary_kinds(&channel).await;
    play_server_streaming_kinds(&channel).await;
    play_client_streaming_kinds(&channel).await;
    play_bidi_kinds(&channel).await;
    drop(channel);
    let finished = served.finish();
    assert_exit(&finished, 0, "served 12 files, 12 calls: 12 passed");
    assert!(finished.never_played().is_empty(), "{}", finished.stdout);
}

// ---------------------------------------------------------------------------------------
// Every step kind in the server role.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_step_sends_response_headers() {
    let served = Served::start(&["steps/headers.yaml"], &["--once"]);
    let mut hello = HelloWorldClient::new(served.connect().await);
    let response = bounded("hello", hello.hello("Sam".to_string()))
        .await
        .expect("hello succeeds");
    let header = |key: &str| {
        response
            .metadata()
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("x-served-by").as_deref(), Some("grpc-replay"));
    assert_eq!(header("x-shard").as_deref(), Some("7"));
    assert_eq!(response.into_inner(), "Hello Sam");
    drop(hello);
    assert_exit(&served.finish(), 0, "served 1 file, 1 call: 1 passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_step_sends_code_message_and_trailers() {
    let served = Served::start(&["steps/status_error.yaml"], &["--once"]);
    let mut route = RouteGuideClient::new(served.connect().await);
    let status = bounded("GetFeature", route.get_feature(point(1, 2)))
        .await
        .expect_err("the script ends the call with NOT_FOUND");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(status.message(), "no feature at 1,2");
    assert_eq!(
        status.metadata().get("x-retry-after-ms"),
        Some(&MetadataValue::from_static("250"))
    );
    let detail = status
        .metadata()
        .get_bin("x-detail-bin")
        .expect("the binary trailer arrives")
        .to_bytes()
        .expect("valid base64");
    assert_eq!(detail.as_ref(), [1, 2, 3]);
    drop(route);
    assert_exit(&served.finish(), 0, "served 1 file, 1 call: 1 passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_status_step_sends_trailers_after_the_stream() {
    let served = Served::start(&["steps/stream_trailers.yaml"], &["--once"]);
    let mut route = RouteGuideClient::new(served.connect().await);
    let rectangle = Rectangle {
        lo: Some(point(1, 0)),
        hi: Some(point(2, 0)),
    };
    let mut stream = bounded("ListFeatures", route.list_features(rectangle))
        .await
        .expect("ListFeatures starts")
        .into_inner();
    assert_eq!(next(&mut stream).await, Some(feature("Lone Pine", None)));
    assert_eq!(next(&mut stream).await, None);
    let trailers = bounded("the trailers", stream.trailers())
        .await
        .expect("the call ends OK")
        .expect("the call ends with trailers");
    assert_eq!(
        trailers.get("x-feature-count"),
        Some(&MetadataValue::from_static("1"))
    );
    let checksum = trailers
        .get_bin("x-checksum-bin")
        .expect("the binary trailer arrives")
        .to_bytes()
        .expect("valid base64");
    assert_eq!(checksum.as_ref(), [0xde, 0xad, 0xbe, 0xef]);
    drop(route);
    assert_exit(&served.finish(), 0, "served 1 file, 1 call: 1 passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_step_passes_when_the_client_drops_the_call() {
    let served = Served::start(&["steps/cancel.yaml"], &["--once"]);
    let mut calculator = CalculatorServiceClient::new(served.connect().await);
    let (sender, requests) = open_stream();
    send(&sender, MaximumRequest { number: 1 }).await;
    let mut maxima = bounded("Maximum", calculator.maximum(requests))
        .await
        .expect("Maximum starts")
        .into_inner();
    assert_eq!(next(&mut maxima).await, Some(MaximumResponse { result: 1 }));
    // The client gives up on the call. A tonic client resets the HTTP/2 stream (CANCEL)
    // once both halves of the call are dropped; the request half ends first.
    drop((maxima, sender));
    assert_exit(&served.finish(), 0, "served 1 file, 1 call: 1 passed");
}

/// A client that resets its stream with `reason` right after the first answer, without
/// ever half-closing, against `serve FIXTURE --once`: how the server exits.
async fn reset_after_first_answer(fixture: &str, reason: h2::Reason) -> server_support::Finished {
    let served = Served::start(&[fixture], &["--once"]);
    let first = MaximumRequest { number: 1 }.encode_to_vec();
    let mut call =
        H2Call::start(served.addr, "/calculator.CalculatorService/Maximum", &first).await;
    let answer =
        MaximumResponse::decode(call.next_message().await.as_slice()).expect("a MaximumResponse");
    assert_eq!(answer, MaximumResponse { result: 1 });
    call.reset(reason);
    bounded(
        "serve --once to exit",
        tokio::task::spawn_blocking(move || served.finish()),
    )
    .await
    .expect("the waiting thread joins")
}

/// A cancel is never a half-close: a script that expects `close` fails against a client
/// that resets (CANCEL, or Ballerina's STREAM_CLOSED), every time (a repeat for soundness,
/// not a retry: one pass would be a wrong verdict).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_never_passes_for_a_half_close() {
    for reason in [h2::Reason::CANCEL, h2::Reason::STREAM_CLOSED] {
        for run in 1..=20 {
            let finished = reset_after_first_answer("cancel/expects_close.yaml", reason).await;
            assert_eq!(
                finished.code,
                Some(1),
                "run {run} with {reason:?}: the server passed a `close` step for a reset\n{}",
                finished.stdout
            );
            assert!(
                finished
                    .stdout
                    .contains("but the client cancelled the call"),
                "run {run} with {reason:?}:\n{}",
                finished.stdout
            );
        }
    }
}

/// The positive twin: the same resets pass a script that expects `cancel`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_passes_for_a_cancel_step() {
    for reason in [h2::Reason::CANCEL, h2::Reason::STREAM_CLOSED] {
        let finished = reset_after_first_answer("steps/cancel.yaml", reason).await;
        assert_exit(&finished, 0, "served 1 file, 1 call: 1 passed");
    }
}

/// A client that gives up at its deadline resets the stream then; the server's own timer
/// for the same deadline must not win the race (10 runs: a repeat for soundness).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_at_the_clients_deadline_is_the_cancel_the_script_expects() {
    for run in 1..=10 {
        let served = Served::start(&["deadline/at_deadline.yaml"], &["--once"]);
        let mut calculator = CalculatorServiceClient::new(served.connect().await);
        let (sender, requests) = open_stream();
        send(&sender, MaximumRequest { number: 1 }).await;
        let mut request = Request::new(requests);
        request.set_timeout(Duration::from_millis(300));
        let status = bounded("Maximum", calculator.maximum(request))
            .await
            .expect_err("the call ends at its deadline");
        // tonic reports its own timeout as CANCELLED "Timeout expired".
        assert!(
            matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded),
            "{status:?}"
        );
        drop((calculator, sender));
        let finished = bounded(
            "serve --once to exit",
            tokio::task::spawn_blocking(move || served.finish()),
        )
        .await
        .expect("the waiting thread joins");
        assert_eq!(finished.code, Some(0), "run {run}:\n{}", finished.stdout);
    }
}

/// A reset with a code that does not cancel (INTERNAL_ERROR, long before the deadline)
/// is not a cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_with_another_code_is_not_a_cancel() {
    let finished = reset_after_first_answer("steps/cancel.yaml", h2::Reason::INTERNAL_ERROR).await;
    assert_eq!(finished.code, Some(1), "{}", finished.stdout);
    assert!(
        finished.stdout.contains("which is not a cancel"),
        "{}",
        finished.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleep_and_after_delay_the_replies() {
    let served = Served::start(&["steps/timing.yaml"], &["--once"]);
    let mut route = RouteGuideClient::new(served.connect().await);
    let rectangle = Rectangle {
        lo: Some(point(3, 0)),
        hi: Some(point(4, 0)),
    };
    let began = Instant::now();
    let mut stream = bounded("ListFeatures", route.list_features(rectangle))
        .await
        .expect("ListFeatures starts")
        .into_inner();
    assert_eq!(next(&mut stream).await, Some(feature("Slow Start", None)));
    let first = began.elapsed();
    assert_eq!(
        next(&mut stream).await,
        Some(feature("After The Pause", None))
    );
    let second = began.elapsed();
    // Measured from the request, which the server cannot answer before it is sent: the
    // arrival of the first message may be late, so the gap between the two is no measure.
    assert!(
        first >= Duration::from_millis(300),
        "`after: 300ms` sent the first feature after {first:?}"
    );
    assert!(
        second >= Duration::from_millis(300 + 400),
        "`after: 300ms` then `sleep: 400ms` sent the second feature after {second:?}"
    );
    assert_eq!(next(&mut stream).await, None);
    drop(route);
    assert_exit(&served.finish(), 0, "served 1 file, 1 call: 1 passed");
}

/// A message sent right before a pause goes out before the pause (sends are batched
/// until the script waits), in both roles; the twin's late message fails its `within:`.
#[test]
fn a_message_sent_before_a_pause_goes_out_before_it() {
    let played = |file: &str| {
        Replay::spawn(&[
            "run",
            "--loopback",
            &format!("tests/fixtures/batching/{file}"),
        ])
        .wait()
    };
    let finished = played("sent_before_pause.yaml");
    assert_exit(&finished, 0, "1 file, 1 call: 1 passed");
    let late = played("late_message.yaml");
    assert_exit(&late, 1, "1 file, 1 call: 0 passed, 1 failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unordered_group_accepts_messages_in_another_order() {
    let served = Served::start(&["steps/unordered.yaml"], &["--once"]);
    let mut greet = GreetServiceClient::new(served.connect().await);
    let people = tokio_stream::iter(vec![
        greeting("Cid", ""),
        greeting("Ann", ""),
        greeting("Bob", ""),
    ]);
    let replies = bounded("GreetEveryone", async {
        read_all(greet.greet_everyone(people).await?.into_inner()).await
    })
    .await
    .expect("GreetEveryone succeeds");
    assert_eq!(
        replies,
        vec![GreetEveryoneResponse {
            result: "Hello Ann, Bob and Cid".into()
        }]
    );
    drop(greet);
    assert_exit(&served.finish(), 0, "served 1 file, 1 call: 1 passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_sends_and_checks_a_message_several_times() {
    let served = Served::start(
        &["steps/repeat_replies.yaml", "steps/repeat_points.yaml"],
        &["--once"],
    );
    let channel = served.connect().await;
    let mut hello = HelloWorldClient::new(channel.clone());
    let replies = bounded("lotsOfReplies", async {
        read_all(hello.lots_of_replies("Eve".to_string()).await?.into_inner()).await
    })
    .await
    .expect("lotsOfReplies succeeds");
    assert_eq!(replies, vec!["Hello again, Eve".to_string(); 4]);

    let mut route = RouteGuideClient::new(channel.clone());
    let points = tokio_stream::iter(vec![point(7, 7); 3]);
    let summary = bounded("RecordRoute", route.record_route(points))
        .await
        .expect("RecordRoute succeeds")
        .into_inner();
    assert_eq!(summary.point_count, 3);
    drop((hello, route, channel));
    assert_exit(&served.finish(), 0, "served 2 files, 2 calls: 2 passed");
}

fn hello_with_metadata(name: &str, metadata: &[(&'static str, &'static str)]) -> Request<String> {
    let mut request = Request::new(name.to_string());
    for (key, value) in metadata {
        request
            .metadata_mut()
            .insert(*key, MetadataValue::from_static(value));
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_metadata_is_checked_with_matchers() {
    let served = Served::start(&["server_only/metadata_matchers.yaml"], &[]);
    let mut hello = HelloWorldClient::new(served.connect().await);

    let matching = hello_with_metadata("alice", &[("x-user", "alice"), ("x-request-id", "req-42")]);
    let reply = bounded("hello with matching metadata", hello.hello(matching))
        .await
        .expect("matching metadata passes")
        .into_inner();
    assert_eq!(reply, "Hello alice");

    let straying =
        hello_with_metadata("alice", &[("x-user", "alice"), ("x-request-id", "trace-7")]);
    let status = bounded("hello with other metadata", hello.hello(straying))
        .await
        .expect_err("metadata that fails the matcher fails the call");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("x-request-id") && status.message().contains("trace-7"),
        "the status names the metadata that differs: {}",
        status.message()
    );

    drop(hello);
    assert_exit(
        &served.stop(),
        1,
        "served 1 file, 2 calls: 1 passed, 1 failed",
    );
}

// ---------------------------------------------------------------------------------------
// Choosing the script for an incoming call.
// ---------------------------------------------------------------------------------------

async fn chat_replies(channel: &Channel, messages: Vec<ChatMessage>) -> Vec<String> {
    let mut chat = ChatClient::new(channel.clone());
    bounded("chat", async {
        read_all(chat.chat(tokio_stream::iter(messages)).await?.into_inner()).await
    })
    .await
    .expect("chat succeeds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_gets_the_script_its_metadata_or_first_message_chooses() {
    let served = Served::start(&["choice"], &["--once"]);
    let channel = served.connect().await;
    let mut hello = HelloWorldClient::new(channel.clone());
    // The scripts are written alice first, bob second; the calls come the other way.
    for (user, expected) in [("bob", "Hello Bob"), ("alice", "Hello Alice")] {
        let mut request = Request::new("hi".to_string());
        request
            .metadata_mut()
            .insert("x-user", MetadataValue::try_from(user).expect("ASCII"));
        let reply = bounded("hello", hello.hello(request))
            .await
            .unwrap_or_else(|status| panic!("the {user} script plays: {status:?}"))
            .into_inner();
        assert_eq!(reply, expected);
    }
    // Likewise Ann's chat before Sam's, which the file writes first.
    assert_eq!(
        chat_replies(&channel, vec![chat_message("Ann", "Hello")]).await,
        strings(&["Ann: Hello"])
    );
    assert_eq!(
        chat_replies(
            &channel,
            vec![chat_message("Sam", "Hi"), chat_message("Sam", "Bye")]
        )
        .await,
        strings(&["Sam: Hi", "Sam: Bye"])
    );
    drop((hello, channel));
    let finished = served.finish();
    assert_exit(&finished, 0, "served 2 files, 4 calls: 4 passed");
    assert!(!finished.stdout.contains("refused"), "{}", finished.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_without_a_script_are_unimplemented() {
    let served = Served::start(&["choice"], &[]);
    let channel = served.connect().await;

    // Defined by the bundled protos, played by no served script.
    let mut route = RouteGuideClient::new(channel.clone());
    let status = bounded("GetFeature", route.get_feature(point(1, 1)))
        .await
        .expect_err("no script plays GetFeature");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(
        status
            .message()
            .contains("/routeguide.RouteGuide/GetFeature"),
        "{status:?}"
    );

    // Defined by no proto at all.
    let status = bounded(
        "an undefined method",
        raw_call(channel.clone(), "/nowhere.Nothing/Missing", vec![vec![]]),
    )
    .await
    .expect_err("no proto defines the path");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(
        status.message().contains("/nowhere.Nothing/Missing"),
        "{status:?}"
    );

    drop((route, channel));
    let finished = served.stop();
    assert_exit(&finished, 0, "served 2 files, 4 calls: 0 passed, 4 skipped");
    assert_eq!(finished.never_played().len(), 4, "{}", finished.stdout);
    // The server's own output says so too, for whoever reads its side of a CI log.
    let refused: Vec<&str> = finished
        .stdout
        .lines()
        .filter(|line| line.contains("refused"))
        .collect();
    assert_eq!(
        refused,
        [
            "! a call was refused with UNIMPLEMENTED: no served file has a call of \
             /routeguide.RouteGuide/GetFeature",
            "! a call was refused with UNIMPLEMENTED: no loaded proto defines \
             /nowhere.Nothing/Missing",
        ],
        "{}",
        finished.stdout
    );
}

/// grpcio compresses a request with deflate when asked, which grpc-replay (tonic) cannot
/// read: the call is refused with UNIMPLEMENTED and the server's output says why; the same
/// greetings gzip-compressed are played.
#[test]
fn a_request_compressed_as_grpc_replay_cannot_read_is_refused_and_said_so() {
    let Some(python) = server_support::process::venv_python() else {
        return;
    };
    let greet = |compression: &str| {
        let served = Served::start(&["steps/unordered.yaml"], &["--once"]);
        let mut client = std::process::Command::new(&python);
        client
            .arg(fixture("greet_client.py"))
            .args(["--target", &served.addr.to_string()])
            .args(["--compression", compression, "Cid", "Ann", "Bob"]);
        let client = Process::run("grpcio's GreetEveryone client", client, EXCHANGE_LIMIT);
        (served, client)
    };

    let (served, client) = greet("deflate");
    assert!(
        client.stdout.contains("code=UNIMPLEMENTED"),
        "{}",
        client.describe()
    );
    let finished = served.stop();
    let said = "! a call was refused with UNIMPLEMENTED: the request to \
                /greet.GreetService/GreetEveryone is compressed with `deflate`, which \
                grpc-replay cannot read (it reads gzip)";
    assert!(finished.stdout.contains(said), "{}", finished.stdout);

    let (served, client) = greet("gzip");
    let replies = ["result=Hello Ann, Bob and Cid", "code=OK"];
    assert_eq!(
        client.stdout.lines().collect::<Vec<_>>(),
        replies,
        "{}",
        client.describe()
    );
    let finished = served.finish();
    assert_exit(&finished, 0, "served 1 file, 1 call: 1 passed");
    assert!(!finished.stdout.contains("refused"), "{}", finished.stdout);
}

// ---------------------------------------------------------------------------------------
// A client that strays from the script.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_straying_client_gets_failed_precondition_naming_file_line_and_diff() {
    let served = Served::start(&["stray/maximum.yaml"], &["--once"]);
    let mut calculator = CalculatorServiceClient::new(served.connect().await);
    let (sender, requests) = open_stream();
    send(&sender, MaximumRequest { number: 1 }).await;
    let mut maxima = bounded("Maximum", calculator.maximum(requests))
        .await
        .expect("Maximum starts")
        .into_inner();
    assert_eq!(next(&mut maxima).await, Some(MaximumResponse { result: 1 }));
    send(&sender, MaximumRequest { number: 7 }).await;
    let status = ending_status(&mut maxima).await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    let message = status.message();
    let file = fixture("stray/maximum.yaml");
    let step = format!(
        "{}:{}:",
        file.display(),
        line_of("stray/maximum.yaml", "client: {number: 5}")
    );
    assert!(
        message.contains(&step),
        "the status names {step}: {message}"
    );
    assert!(message.contains("step `client`"), "{message}");
    let diff = message
        .split(';')
        .map(str::trim)
        .find(|part| part.starts_with("number: "))
        .unwrap_or_else(|| panic!("no field diff in the status: {message}"));
    assert_eq!(diff, "number: expected 5, received 7");

    drop((maxima, sender, calculator));
    let finished = served.finish();
    assert_exit(&finished, 1, "served 1 file, 1 call: 0 passed, 1 failed");
    assert!(
        finished.stdout.contains(&step) && finished.stdout.contains(diff),
        "the server prints the same step and diff ({step} / {diff}):\n{}",
        finished.stdout
    );
}

// ---------------------------------------------------------------------------------------
// Conversation matching: scripts that share a prefix.
// ---------------------------------------------------------------------------------------

/// The ping-pong client of `prefix/ping_pong.yaml`: 1 → 1, 2 → 2, half-close, OK.
async fn ping_pong(served: &Served) {
    let mut calculator = CalculatorServiceClient::new(served.connect().await);
    let (sender, requests) = open_stream();
    send(&sender, MaximumRequest { number: 1 }).await;
    let mut maxima = bounded("Maximum", calculator.maximum(requests))
        .await
        .expect("Maximum starts")
        .into_inner();
    assert_eq!(next(&mut maxima).await, Some(MaximumResponse { result: 1 }));
    send(&sender, MaximumRequest { number: 2 }).await;
    assert_eq!(next(&mut maxima).await, Some(MaximumResponse { result: 2 }));
    drop(sender);
    assert_eq!(next(&mut maxima).await, None);
}

/// The client of `prefix/cancel_after_first.yaml`: 1 → 1, then RST_STREAM(CANCEL).
async fn cancel_after_first(served: &Served) {
    let first = MaximumRequest { number: 1 }.encode_to_vec();
    let mut call =
        H2Call::start(served.addr, "/calculator.CalculatorService/Maximum", &first).await;
    let answer =
        MaximumResponse::decode(call.next_message().await.as_slice()).expect("a MaximumResponse");
    assert_eq!(answer, MaximumResponse { result: 1 });
    call.reset(h2::Reason::CANCEL);
}

/// Two scripts share their first exchange and diverge on the client's next move: each
/// client gets its own script whichever comes first, as the conversation decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_sharing_a_prefix_follow_the_conversation_in_either_order() {
    for ping_pong_first in [true, false] {
        let served = Served::start(&["prefix"], &["--once"]);
        if ping_pong_first {
            ping_pong(&served).await;
            cancel_after_first(&served).await;
        } else {
            cancel_after_first(&served).await;
            ping_pong(&served).await;
        }
        let finished = bounded(
            "serve --once to exit",
            tokio::task::spawn_blocking(move || served.finish()),
        )
        .await
        .expect("the waiting thread joins");
        assert_exit(&finished, 0, "served 2 files, 2 calls: 2 passed");
    }
}

/// The wrong twin: a client that strays after the shared prefix gets FAILED_PRECONDITION
/// naming the closest script (ping_pong: it checks more) at the step and with the diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_strays_after_a_shared_prefix_names_the_closest_script() {
    let served = Served::start(&["prefix"], &[]);
    let mut calculator = CalculatorServiceClient::new(served.connect().await);
    let (sender, requests) = open_stream();
    send(&sender, MaximumRequest { number: 1 }).await;
    let mut maxima = bounded("Maximum", calculator.maximum(requests))
        .await
        .expect("Maximum starts")
        .into_inner();
    assert_eq!(next(&mut maxima).await, Some(MaximumResponse { result: 1 }));
    send(&sender, MaximumRequest { number: 3 }).await;
    let status = ending_status(&mut maxima).await;
    drop(sender);
    let step = format!(
        "{}:{}:",
        fixture("prefix/ping_pong.yaml").display(),
        line_of("prefix/ping_pong.yaml", "client: {number: 2}")
    );
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains(&step) && status.message().contains("number: expected 2"),
        "{}",
        status.message()
    );
    drop(calculator);
    let finished = served.stop();
    assert_eq!(finished.code, Some(1), "{}", finished.stdout);
}

// ---------------------------------------------------------------------------------------
// Lifetime: --once, and serving until SIGTERM.
// ---------------------------------------------------------------------------------------

async fn greet_kim(channel: &Channel) {
    let mut hello = HelloWorldClient::new(channel.clone());
    let reply = bounded("hello", hello.hello("Kim".to_string()))
        .await
        .expect("hello succeeds")
        .into_inner();
    assert_eq!(reply, "Hello Kim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_exits_by_itself_after_every_script_played() {
    let mut served = Served::start(&["lifetime"], &["--once"]);
    let channel = served.connect().await;
    greet_kim(&channel).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        served.process.is_running(),
        "one script is still unplayed: --once keeps serving\n{}",
        served.process.stdout()
    );
    let mut route = RouteGuideClient::new(channel.clone());
    let found = bounded("GetFeature", route.get_feature(point(0, 0)))
        .await
        .expect("GetFeature succeeds")
        .into_inner();
    assert_eq!(found, feature("Null Island", None));
    drop((route, channel));
    let finished = served.finish();
    assert_exit(&finished, 0, "served 2 files, 2 calls: 2 passed");
    assert!(finished.never_played().is_empty(), "{}", finished.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_once_serves_until_sigterm_and_lists_unplayed_scripts() {
    let mut served = Served::start(&["lifetime"], &[]);
    let channel = served.connect().await;
    for _ in 0..3 {
        greet_kim(&channel).await;
    }
    assert!(served.process.is_running(), "serve keeps serving");
    drop(channel);
    let finished = served.stop();
    assert_exit(&finished, 0, "served 2 files, 4 calls: 3 passed, 1 skipped");
    let unplayed = finished.never_played();
    assert_eq!(unplayed.len(), 1, "{}", finished.stdout);
    assert!(
        unplayed[0].contains("unplayed.yaml")
            && unplayed[0].contains("/routeguide.RouteGuide/GetFeature"),
        "{}",
        unplayed[0]
    );
}

// ---------------------------------------------------------------------------------------
// Misbehaving clients fail their own call only.
// ---------------------------------------------------------------------------------------

/// Opens a Maximum call on `channel`, sends 1 and reads the answer 1.
async fn maximum_after_one(
    channel: Channel,
) -> (
    mpsc::Sender<MaximumRequest>,
    tonic::Streaming<MaximumResponse>,
) {
    let mut calculator = CalculatorServiceClient::new(channel);
    let (sender, requests) = open_stream();
    send(&sender, MaximumRequest { number: 1 }).await;
    let mut maxima = bounded("Maximum", calculator.maximum(requests))
        .await
        .expect("Maximum starts")
        .into_inner();
    assert_eq!(next(&mut maxima).await, Some(MaximumResponse { result: 1 }));
    (sender, maxima)
}

/// The script of `robust/maximum.yaml`, played correctly.
async fn play_maximum_correctly(channel: Channel) {
    let (sender, mut maxima) = maximum_after_one(channel).await;
    send(&sender, MaximumRequest { number: 2 }).await;
    assert_eq!(next(&mut maxima).await, Some(MaximumResponse { result: 2 }));
    drop(sender);
    assert_eq!(next(&mut maxima).await, None);
}

/// Serves `robust/maximum.yaml`, lets `misbehave` break one call, then checks that a
/// correct call still passes, that the server logged the broken call with one of the
/// `logged` accounts, and that its summary counts one pass and one failure.
async fn assert_survives<F, Fut>(misbehave: F, logged: &[&str])
where
    F: FnOnce(Served) -> Fut,
    Fut: std::future::Future<Output = Served>,
{
    let served = misbehave(Served::start(&["robust/maximum.yaml"], &[])).await;
    play_maximum_correctly(served.connect().await).await;
    let finished = served.stop();
    assert_exit(&finished, 1, "served 1 file, 2 calls: 1 passed, 1 failed");
    let failure = finished
        .stdout
        .lines()
        .skip_while(|line| !line.starts_with('✗'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        logged.iter().any(|account| failure.contains(account)),
        "the server logs the failed call with one of {logged:?}:\n{}",
        finished.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_call_fails_alone() {
    assert_survives(
        |served| async {
            let (sender, maxima) = maximum_after_one(served.connect().await).await;
            drop((maxima, sender));
            served
        },
        // A tonic client that drops a call ends its stream (END_STREAM) and then resets
        // it: the server may see either first.
        &[
            "the client cancelled the call",
            "the client half-closed its stream",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disappears_mid_stream_fails_alone() {
    assert_survives(
        |served| async {
            let addr = served.addr;
            // The client lives on its own runtime; dropping the runtime drops the
            // connection with the call half done.
            let vanished = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                let call_in_flight = runtime.block_on(async {
                    let channel = Channel::from_shared(format!("http://{addr}"))
                        .expect("a valid URI")
                        .connect_timeout(EXCHANGE_LIMIT)
                        .connect()
                        .await
                        .expect("connects");
                    maximum_after_one(channel).await
                });
                drop(runtime);
                drop(call_in_flight);
            });
            bounded(
                "the vanishing client",
                tokio::task::spawn_blocking(move || vanished.join()),
            )
            .await
            .expect("the thread joins")
            .expect("the vanishing client played its part");
            served
        },
        &["but the client cancelled the call"],
    )
    .await;
}

/// A misbehaviour: sends `body` as the first Maximum message; the call fails with
/// FAILED_PRECONDITION saying the bytes do not decode.
async fn send_undecodable(served: Served, body: Vec<u8>) -> Served {
    let status = bounded(
        "Maximum with a foreign body",
        raw_call(
            served.connect().await,
            "/calculator.CalculatorService/Maximum",
            vec![body],
        ),
    )
    .await
    .expect_err("the server rejects the message");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("do not decode"),
        "{}",
        status.message()
    );
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_of_another_type_fails_alone() {
    let foreign = chat_message("Sam", "not a number").encode_to_vec();
    assert_survives(
        |served| send_undecodable(served, foreign),
        &["do not decode"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_payload_fails_alone() {
    assert_survives(
        |served| send_undecodable(served, vec![0xff; 7]),
        &["do not decode"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_half_closes_fails_alone_after_within() {
    assert_survives(
        |served| async {
            let (sender, mut maxima) = maximum_after_one(served.connect().await).await;
            send(&sender, MaximumRequest { number: 2 }).await;
            assert_eq!(next(&mut maxima).await, Some(MaximumResponse { result: 2 }));
            let waited = Instant::now();
            let status = ending_status(&mut maxima).await;
            let waited = waited.elapsed();
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
            assert!(status.message().contains("within 300ms"), "{status:?}");
            assert!(
                waited >= Duration::from_millis(250) && waited < Duration::from_secs(4),
                "the server waited {waited:?} for the half-close (`within: 300ms`)"
            );
            drop(sender);
            served
        },
        &["within 300ms"],
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Concurrency.
// ---------------------------------------------------------------------------------------

const CONCURRENT_CALLS: usize = 100;

/// One AccumulateNumbers call; `all_open` is passed once every call has its first sum.
async fn accumulate(channel: Channel, all_open: std::sync::Arc<tokio::sync::Barrier>) {
    let mut numbers = NumberServiceClient::new(channel);
    let (sender, requests) = open_stream();
    send(&sender, NumberRequest { num: 1 }).await;
    let mut sums = numbers
        .accumulate_numbers(requests)
        .await
        .expect("AccumulateNumbers starts")
        .into_inner();
    assert_eq!(next(&mut sums).await, Some(NumberResponse { sum: 1 }));
    all_open.wait().await;
    for (num, sum) in [(2, 3), (3, 6)] {
        send(&sender, NumberRequest { num }).await;
        assert_eq!(next(&mut sums).await, Some(NumberResponse { sum }));
    }
    drop(sender);
    assert_eq!(next(&mut sums).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_simultaneous_bidi_calls_all_pass() {
    let served = Served::start(&["concurrent"], &[]);
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(served.connect().await);
    }
    let all_open = std::sync::Arc::new(tokio::sync::Barrier::new(CONCURRENT_CALLS));
    let calls: Vec<_> = (0..CONCURRENT_CALLS)
        .map(|i| {
            tokio::spawn(accumulate(
                channels[i % channels.len()].clone(),
                all_open.clone(),
            ))
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(30), async {
        for call in calls {
            call.await.expect("the call task ends without panicking");
        }
    })
    .await
    .expect("all calls end within 30s");
    drop(channels);
    assert_exit(&served.stop(), 0, "served 1 file, 100 calls: 100 passed");
}

// ---------------------------------------------------------------------------------------
// run --loopback: a script checks itself.
// ---------------------------------------------------------------------------------------

/// Fixture directories that are not playable by both roles.
const NOT_FOR_LOOPBACK: [&str; 2] = ["server_only", "contradictory"];

/// Each directory plays on a server of its own: across directories, scripts that a
/// client cannot tell apart until the server answers (`kinds/hello.yaml` and
/// `steps/headers.yaml`) would follow the matching rule, not the file each client reads.
#[test]
fn loopback_passes_every_playable_fixture() {
    let mut dirs: Vec<_> = std::fs::read_dir(fixture(""))
        .expect("the fixtures directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir() && !NOT_FOR_LOOPBACK.iter().any(|skip| path.ends_with(skip)))
        .collect();
    dirs.sort();
    for dir in dirs {
        let files = std::fs::read_dir(&dir)
            .expect("a fixture directory")
            .filter(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
            })
            .count();
        let finished = Replay::spawn(&[
            std::ffi::OsStr::new("run"),
            "--loopback".as_ref(),
            dir.as_os_str(),
        ])
        .wait();
        let summary = finished.summary().unwrap_or_default();
        let calls = summary
            .split(", ")
            .nth(1)
            .and_then(|part| part.split(' ').next())
            .unwrap_or_else(|| panic!("no call count in:\n{}", finished.stdout));
        let plural = if files == 1 { "file" } else { "files" };
        let call_word = if calls == "1" { "call" } else { "calls" };
        assert_exit(
            &finished,
            0,
            &format!("{files} {plural}, {calls} {call_word}: {calls} passed"),
        );
    }
}

#[test]
fn loopback_fails_a_script_whose_timing_contradicts_itself() {
    let path = fixture("contradictory/late_reply.yaml");
    let finished = Replay::spawn(&[
        std::ffi::OsStr::new("run"),
        "--loopback".as_ref(),
        path.as_os_str(),
    ])
    .wait();
    assert_exit(&finished, 1, "1 file, 1 call: 0 passed, 1 failed");
    let step = format!(
        "{}:{}:",
        path.display(),
        line_of("contradictory/late_reply.yaml", "server: {result: 1}")
    );
    assert!(
        finished.stdout.contains(&step) && finished.stdout.contains("within 100ms"),
        "the failure names the step ({step}) and its `within`:\n{}",
        finished.stdout
    );
}

// ---------------------------------------------------------------------------------------
// Reflection and health.
// ---------------------------------------------------------------------------------------

async fn list_services(channel: Channel) -> Result<Vec<String>, Status> {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = bounded(
        "ServerReflectionInfo",
        reflection.server_reflection_info(tokio_stream::iter(vec![request])),
    )
    .await?
    .into_inner();
    let response = next(&mut responses)
        .await
        .expect("one answer to ListServices");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => panic!("ListServices answered {other:?}"),
    }
}

async fn health_of(channel: Channel, service: &str) -> Result<i32, Status> {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    let mut health = HealthClient::new(channel);
    let request = HealthCheckRequest {
        service: service.into(),
    };
    Ok(bounded("Health/Check", health.check(request))
        .await?
        .into_inner()
        .status)
}

/// The name of the file that defines `symbol`, as reflection answers it.
async fn file_of(channel: Channel, symbol: &str) -> Vec<String> {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(symbol.into())),
    };
    let mut responses = bounded(
        "ServerReflectionInfo",
        reflection.server_reflection_info(tokio_stream::iter(vec![request])),
    )
    .await
    .expect("reflection answers")
    .into_inner();
    match next(&mut responses).await.and_then(|r| r.message_response) {
        Some(MessageResponse::FileDescriptorResponse(files)) => files
            .file_descriptor_proto
            .iter()
            .map(|bytes| {
                prost_types::FileDescriptorProto::decode(bytes.as_slice())
                    .expect("a file descriptor")
                    .package()
                    .to_string()
            })
            .collect(),
        other => panic!("FileContainingSymbol {symbol} answered {other:?}"),
    }
}

/// Reflection lists exactly the loaded scripts' services, plus health and reflection —
/// not every bundled service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_exactly_the_served_services() {
    let served = Served::start(&["kinds/get_feature.yaml"], &[]);
    let services = list_services(served.connect().await)
        .await
        .expect("reflection answers");
    let mut services = services;
    services.sort();
    assert_eq!(
        services,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "routeguide.RouteGuide",
        ]
    );
    served.stop();
}

/// A scenario's own helloworld.proto and the bundled one are both served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_serves_two_files_of_the_same_name() {
    let served = Served::start(&["reflection"], &[]);
    let channel = served.connect().await;
    let services = list_services(channel.clone())
        .await
        .expect("reflection answers");
    for service in ["HelloWorld", "mine.Hi"] {
        assert!(
            services.iter().any(|s| s == service),
            "{service} in {services:?}"
        );
    }
    assert!(file_of(channel.clone(), "mine.Hi")
        .await
        .contains(&"mine".to_string()));
    assert!(file_of(channel.clone(), "HelloWorld")
        .await
        .contains(&String::new()));
    drop(channel);
    served.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_and_health_reports_the_served_services() {
    let served = Served::start(&["kinds"], &[]);
    let channel = served.connect().await;
    let services = list_services(channel.clone())
        .await
        .expect("reflection answers");
    for service in [
        "calculator.CalculatorService",
        "routeguide.RouteGuide",
        "Chat",
        "HelloWorld",
    ] {
        assert!(
            services.iter().any(|s| s == service),
            "{service} in {services:?}"
        );
    }
    let status = health_of(channel.clone(), "calculator.CalculatorService")
        .await
        .expect("health answers");
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    drop(channel);
    assert_exit(
        &served.stop(),
        0,
        "served 12 files, 12 calls: 0 passed, 12 skipped",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reflection_turns_reflection_and_health_off() {
    let served = Served::start(&["kinds"], &["--no-reflection"]);
    let channel = served.connect().await;
    let status = list_services(channel.clone())
        .await
        .expect_err("no reflection");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    let status = health_of(channel.clone(), "calculator.CalculatorService")
        .await
        .expect_err("no health");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    drop(channel);
    assert_exit(
        &served.stop(),
        0,
        "served 12 files, 12 calls: 0 passed, 12 skipped",
    );
}

#[test]
fn sigterm_right_after_the_readiness_line_still_prints_the_summary() {
    // A supervisor may stop the server as soon as it is ready; the readiness line
    // promises that the server handles SIGTERM from then on.
    for _ in 0..20 {
        let finished = Served::start(&["lifetime/greeting.yaml"], &[]).stop();
        assert_exit(&finished, 0, "served 1 file, 1 call: 0 passed, 1 skipped");
    }
}
