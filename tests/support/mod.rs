//! Shared support for the integration tests: typed tonic reference servers that behave like
//! the seeds (and like the Go peers in `interop/go/cmd/seed-server`), and a runner for the
//! `grpc-replay` binary with a time limit.
//!
//! Test-only behaviours of the reference servers (not in the seeds), so that scenarios can
//! exercise every step kind against a real peer:
//! - any call whose request metadata holds `x-echo: yes` gets the response header
//!   `x-echoed: yes` and the trailer `x-trailer: done` (see [`EchoMetadata`]);
//! - `calculator.CalculatorService/Maximum` ends the call with `INVALID_ARGUMENT`
//!   "unlucky number" when it receives the number 13 (see [`UNLUCKY_NUMBER`]).

// Every test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use http_body::Frame;
use tokio::sync::oneshot;
use tonic::body::Body;
use tonic::{Request, Response, Status, Streaming};

/// The one bounded process runner, shared with the tests that run peers.
#[path = "../process/mod.rs"]
pub(crate) mod process;

/// The typed messages and stubs that build.rs generates from `proto/` (generated code:
/// the crate's lints do not apply).
#[allow(
    unused_qualifications,
    missing_docs,
    unreachable_pub,
    clippy::too_many_lines
)]
pub mod proto {
    /// `calculator.CalculatorService`.
    pub mod calculator {
        include!(concat!(env!("OUT_DIR"), "/calculator.rs"));
    }
    /// `greet.GreetService`.
    pub mod greet {
        include!(concat!(env!("OUT_DIR"), "/greet.rs"));
    }
    /// `tutorial.NumberService`.
    pub mod tutorial {
        include!(concat!(env!("OUT_DIR"), "/tutorial.rs"));
    }
    /// `routeguide.RouteGuide`.
    pub mod routeguide {
        include!(concat!(env!("OUT_DIR"), "/routeguide.rs"));
    }
    /// The package-less services: `Chat` and `HelloWorld`. Their methods are lowerCamelCase
    /// in the proto (`chat`, `bidiHello`), and so are the generated stream types.
    #[allow(non_camel_case_types)]
    pub mod unpackaged {
        include!(concat!(env!("OUT_DIR"), "/_.rs"));
    }
}

use proto::calculator::calculator_service_server::{CalculatorService, CalculatorServiceServer};
use proto::calculator::{MaximumRequest, MaximumResponse};
use proto::greet::greet_service_server::{GreetService, GreetServiceServer};
use proto::greet::{GreetEveryoneRequest, GreetEveryoneResponse};
use proto::routeguide::route_guide_server::{RouteGuide, RouteGuideServer};
use proto::routeguide::{Feature, Point, Rectangle, RouteNote, RouteSummary};
use proto::tutorial::number_service_server::{NumberService, NumberServiceServer};
use proto::tutorial::{NumberRequest, NumberResponse};
use proto::unpackaged::chat_server::{Chat, ChatServer};
use proto::unpackaged::hello_world_server::{HelloWorld, HelloWorldServer};
use proto::unpackaged::ChatMessage;

/// How long one run of the binary may take before the test kills it and fails.
pub(crate) const RUN_TIME_LIMIT: Duration = Duration::from_secs(60);

/// The number that makes `Maximum` fail (a test-only behaviour).
pub(crate) const UNLUCKY_NUMBER: i64 = 13;

/// The RouteGuide database (name, latitude, longitude), in the order ListFeatures streams it.
pub(crate) const FEATURES: [(&str, i32, i32); 3] = [
    (
        "Patriots Path, Mendham, NJ 07945, USA",
        407838351,
        -746143763,
    ),
    (
        "101 New Jersey 10, Whippany, NJ 07981, USA",
        408122808,
        -743999179,
    ),
    ("U.S. 6, Shohola, PA 18458, USA", 413628156, -749015468),
];

// ---------------------------------------------------------------------------------------
// Reference services
// ---------------------------------------------------------------------------------------

/// A stream of responses, as the generated traits take it.
type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Answers a client stream message by message: `answer` gives the responses one request
/// triggers (possibly none); an error status ends the call, and so does an error from the
/// client's side of the stream.
fn answer_each<Req, Res, F>(requests: Streaming<Req>, mut answer: F) -> ResponseStream<Res>
where
    Req: Send + 'static,
    Res: Send + 'static,
    F: FnMut(Req) -> Result<Vec<Res>, Status> + Send + 'static,
{
    let responses = requests
        .map(move |request| match request.and_then(&mut answer) {
            Ok(responses) => responses.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(status) => vec![Err(status)],
        })
        .flat_map(futures::stream::iter)
        .scan(false, |ended, response| {
            let item = (!*ended).then_some(response);
            if let Some(Err(_)) = &item {
                *ended = true;
            }
            std::future::ready(item)
        });
    Box::pin(responses)
}

/// A fixed list of responses as a stream.
fn stream_of<T: Send + 'static>(items: Vec<T>) -> ResponseStream<T> {
    Box::pin(futures::stream::iter(items.into_iter().map(Ok)))
}

/// calculator.CalculatorService: Maximum answers only when the maximum rises, starting
/// below every number (seeds 000/001); 13 ends the call with INVALID_ARGUMENT (test only).
struct Calculator;

#[tonic::async_trait]
impl CalculatorService for Calculator {
    type MaximumStream = ResponseStream<MaximumResponse>;

    async fn maximum(
        &self,
        request: Request<Streaming<MaximumRequest>>,
    ) -> Result<Response<Self::MaximumStream>, Status> {
        let mut maximum = i64::MIN;
        Ok(Response::new(answer_each(
            request.into_inner(),
            move |MaximumRequest { number }| {
                if number == UNLUCKY_NUMBER {
                    return Err(Status::invalid_argument("unlucky number"));
                }
                if number > maximum {
                    maximum = number;
                    Ok(vec![MaximumResponse { result: number }])
                } else {
                    Ok(Vec::new())
                }
            },
        )))
    }
}

/// greet.GreetService: GreetEveryone answers "Hello <first_name>!" to each request (seed 001).
struct Greeter;

#[tonic::async_trait]
impl GreetService for Greeter {
    type GreetEveryoneStream = ResponseStream<GreetEveryoneResponse>;

    async fn greet_everyone(
        &self,
        request: Request<Streaming<GreetEveryoneRequest>>,
    ) -> Result<Response<Self::GreetEveryoneStream>, Status> {
        Ok(Response::new(answer_each(
            request.into_inner(),
            |request: GreetEveryoneRequest| {
                let first_name = request.greeting.unwrap_or_default().first_name;
                Ok(vec![GreetEveryoneResponse {
                    result: format!("Hello {first_name}!"),
                }])
            },
        )))
    }
}

/// tutorial.NumberService: AccumulateNumbers answers the running sum after each number
/// (seed 002), wrapping like Go's int32 conversion.
struct Accumulator;

#[tonic::async_trait]
impl NumberService for Accumulator {
    type AccumulateNumbersStream = ResponseStream<NumberResponse>;

    async fn accumulate_numbers(
        &self,
        request: Request<Streaming<NumberRequest>>,
    ) -> Result<Response<Self::AccumulateNumbersStream>, Status> {
        let mut sum: i64 = 0;
        Ok(Response::new(answer_each(
            request.into_inner(),
            move |NumberRequest { num }| {
                sum += i64::from(num);
                Ok(vec![NumberResponse { sum: sum as i32 }])
            },
        )))
    }
}

/// The feature of the database at exactly this point.
fn feature_at(point: &Point) -> Option<Feature> {
    FEATURES
        .iter()
        .find(|(_, latitude, longitude)| {
            *latitude == point.latitude && *longitude == point.longitude
        })
        .map(|&(name, latitude, longitude)| Feature {
            name: name.to_string(),
            location: Some(Point {
                latitude,
                longitude,
            }),
        })
}

/// grpc-go's route_guide `inRange`: the corners may come in any order, edges are inside.
fn in_range(point: &Point, rectangle: &Rectangle) -> bool {
    let lo = rectangle.lo.unwrap_or_default();
    let hi = rectangle.hi.unwrap_or_default();
    let (left, right) = (
        lo.longitude.min(hi.longitude),
        lo.longitude.max(hi.longitude),
    );
    let (bottom, top) = (lo.latitude.min(hi.latitude), lo.latitude.max(hi.latitude));
    (left..=right).contains(&point.longitude) && (bottom..=top).contains(&point.latitude)
}

/// grpc-go's route_guide `calcDistance`: the haversine distance in metres between two E7
/// points, truncated to an int32 (as `interop/go/internal/seeds.CalcDistance`).
fn distance(from: &Point, to: &Point) -> i32 {
    const COORD_FACTOR: f64 = 1e7;
    const EARTH_RADIUS_METRES: f64 = 6_371_000.0;
    let radians = |e7: i32| f64::from(e7) / COORD_FACTOR * std::f64::consts::PI / 180.0;
    let (lat1, lat2) = (radians(from.latitude), radians(to.latitude));
    let (lng1, lng2) = (radians(from.longitude), radians(to.longitude));
    let (dlat, dlng) = (lat2 - lat1, lng2 - lng1);
    let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    let c = 2.0 * a.sqrt().atan2((1.0 - a).sqrt());
    (EARTH_RADIUS_METRES * c) as i32
}

/// routeguide.RouteGuide with the fixed database (seed 003); RouteChat notes are kept per
/// call.
struct RouteGuideService;

#[tonic::async_trait]
impl RouteGuide for RouteGuideService {
    async fn get_feature(&self, request: Request<Point>) -> Result<Response<Feature>, Status> {
        let point = request.into_inner();
        Ok(Response::new(feature_at(&point).unwrap_or(Feature {
            name: String::new(),
            location: Some(point),
        })))
    }

    type ListFeaturesStream = ResponseStream<Feature>;

    async fn list_features(
        &self,
        request: Request<Rectangle>,
    ) -> Result<Response<Self::ListFeaturesStream>, Status> {
        let rectangle = request.into_inner();
        let inside = FEATURES
            .iter()
            .filter_map(|&(_, latitude, longitude)| {
                let point = Point {
                    latitude,
                    longitude,
                };
                in_range(&point, &rectangle)
                    .then(|| feature_at(&point))
                    .flatten()
            })
            .collect();
        Ok(Response::new(stream_of(inside)))
    }

    async fn record_route(
        &self,
        request: Request<Streaming<Point>>,
    ) -> Result<Response<RouteSummary>, Status> {
        let started = Instant::now();
        let points: Vec<Point> = request.into_inner().try_collect().await?;
        let feature_count = points.iter().filter(|p| feature_at(p).is_some()).count();
        let total_distance = points.windows(2).fold(0i32, |sum, pair| {
            sum.wrapping_add(distance(&pair[0], &pair[1]))
        });
        Ok(Response::new(RouteSummary {
            point_count: points.len() as i32,
            feature_count: feature_count as i32,
            distance: total_distance,
            elapsed_time: started.elapsed().as_secs() as i32,
        }))
    }

    type RouteChatStream = ResponseStream<RouteNote>;

    async fn route_chat(
        &self,
        request: Request<Streaming<RouteNote>>,
    ) -> Result<Response<Self::RouteChatStream>, Status> {
        let mut notes_at: HashMap<(i32, i32), Vec<RouteNote>> = HashMap::new();
        Ok(Response::new(answer_each(
            request.into_inner(),
            move |note: RouteNote| {
                let location = note.location.unwrap_or_default();
                let notes = notes_at
                    .entry((location.latitude, location.longitude))
                    .or_default();
                notes.push(note);
                Ok(notes.clone())
            },
        )))
    }
}

/// Chat: every message comes back as "<name>: <message>" (seed 004).
struct ChatService;

#[tonic::async_trait]
impl Chat for ChatService {
    type chatStream = ResponseStream<String>;

    async fn chat(
        &self,
        request: Request<Streaming<ChatMessage>>,
    ) -> Result<Response<Self::chatStream>, Status> {
        Ok(Response::new(answer_each(
            request.into_inner(),
            |message: ChatMessage| Ok(vec![format!("{}: {}", message.name, message.message)]),
        )))
    }
}

/// HelloWorld: Ballerina's examples, all four kinds over StringValue.
struct HelloWorldService;

#[tonic::async_trait]
impl HelloWorld for HelloWorldService {
    async fn hello(&self, request: Request<String>) -> Result<Response<String>, Status> {
        Ok(Response::new(format!("Hello {}", request.into_inner())))
    }

    type lotsOfRepliesStream = ResponseStream<String>;

    async fn lots_of_replies(
        &self,
        request: Request<String>,
    ) -> Result<Response<Self::lotsOfRepliesStream>, Status> {
        let name = request.into_inner();
        Ok(Response::new(stream_of(
            ["Hi", "Hey", "Hello"]
                .iter()
                .map(|greeting| format!("{greeting} {name}"))
                .collect(),
        )))
    }

    async fn lots_of_greetings(
        &self,
        request: Request<Streaming<String>>,
    ) -> Result<Response<String>, Status> {
        let names: Vec<String> = request.into_inner().try_collect().await?;
        Ok(Response::new(format!("Hello {}", names.join(", "))))
    }

    type bidiHelloStream = ResponseStream<String>;

    async fn bidi_hello(
        &self,
        request: Request<Streaming<String>>,
    ) -> Result<Response<Self::bidiHelloStream>, Status> {
        Ok(Response::new(answer_each(request.into_inner(), |name| {
            Ok(vec![format!("Hello {name}")])
        })))
    }
}

// ---------------------------------------------------------------------------------------
// Test-only metadata echo
// ---------------------------------------------------------------------------------------

/// Wraps every service: a request with metadata `x-echo: yes` gets the response header
/// `x-echoed: yes` and the trailer `x-trailer: done` (in the headers of a Trailers-Only
/// response), so that `headers:` and `status: … trailers:` steps can be tested.
#[derive(Clone)]
struct EchoMetadata<S> {
    inner: S,
}

impl<S> tower::Service<http::Request<Body>> for EchoMetadata<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let echo = request
            .headers()
            .get("x-echo")
            .is_some_and(|value| value == "yes");
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            if !echo {
                return Ok(response);
            }
            let headers = response.headers_mut();
            headers.insert("x-echoed", http::HeaderValue::from_static("yes"));
            if headers.contains_key("grpc-status") {
                add_echo_trailer(headers);
                return Ok(response);
            }
            Ok(response.map(|body| Body::new(WithEchoTrailer { inner: body })))
        })
    }
}

fn add_echo_trailer(map: &mut http::HeaderMap) {
    map.insert("x-trailer", http::HeaderValue::from_static("done"));
}

/// A response body whose trailers gain `x-trailer: done`.
struct WithEchoTrailer {
    inner: Body,
}

impl http_body::Body for WithEchoTrailer {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Pin::new(&mut self.inner).poll_frame(cx).map(|frame| {
            frame.map(|frame| {
                frame.map(|mut frame| {
                    if let Some(trailers) = frame.trailers_mut() {
                        add_echo_trailer(trailers);
                    }
                    frame
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

// ---------------------------------------------------------------------------------------
// Running the reference server
// ---------------------------------------------------------------------------------------

/// A reference server running on its own thread and tokio runtime; dropping it stops it.
pub(crate) struct ReferenceServer {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ReferenceServer {
    /// Binds 127.0.0.1:0 and serves every reference service there until dropped.
    pub(crate) fn start() -> ReferenceServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("reference-server-{addr}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the reference server");
                runtime.block_on(serve(listener, async {
                    let _ = stopped.await;
                }));
            })
            .expect("spawn the reference server thread");
        ReferenceServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address as `grpc-replay --target` takes it.
    pub(crate) fn target(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: std::net::TcpListener, stopped: impl Future<Output = ()>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|stream| {
        if let Ok(stream) = &stream {
            let _ = stream.set_nodelay(true);
        }
        stream
    });
    tonic::transport::Server::builder()
        .layer(tower::layer::layer_fn(|inner| EchoMetadata { inner }))
        .add_service(CalculatorServiceServer::new(Calculator))
        .add_service(GreetServiceServer::new(Greeter))
        .add_service(NumberServiceServer::new(Accumulator))
        .add_service(RouteGuideServer::new(RouteGuideService))
        .add_service(ChatServer::new(ChatService))
        .add_service(HelloWorldServer::new(HelloWorldService))
        .serve_with_incoming_shutdown(incoming, stopped)
        .await
        .expect("the reference server runs");
}

/// One reference server shared by every test of a test binary (started on first use).
pub(crate) fn shared_reference_server() -> &'static ReferenceServer {
    static SERVER: OnceLock<ReferenceServer> = OnceLock::new();
    SERVER.get_or_init(ReferenceServer::start)
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("the bound address").port()
}

// ---------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------

/// What one run of `grpc-replay` produced.
#[derive(Debug)]
pub(crate) struct CliRun {
    /// The arguments, for failure messages.
    pub args: Vec<String>,
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs the `grpc-replay` binary with `args` in the package's root directory (so fixture
/// paths are relative to it) and returns what it did; a run longer than
/// [`RUN_TIME_LIMIT`] is killed and fails the test.
pub(crate) fn grpc_replay(args: &[&str]) -> CliRun {
    let started = Instant::now();
    let done = process::run_grpc_replay(args, RUN_TIME_LIMIT);
    CliRun {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: done.code,
        stdout: done.stdout,
        stderr: done.stderr,
        elapsed: started.elapsed(),
    }
}

/// `text` without whitespace and diagnostic frame characters. miette wraps long messages at
/// 80 columns behind a `│` gutter when standard error is not a terminal, breaking words at
/// hyphens and slashes, so messages are compared in this form.
pub(crate) fn unwrapped(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '│' | '×' | '·' | '╭' | '╰' | '─'))
        .collect()
}

impl CliRun {
    fn context(&self) -> String {
        format!(
            "grpc-replay {}\nexit code: {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }

    /// Asserts the exit code, and that nothing panicked.
    pub(crate) fn assert_exit(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "wrong exit code\n{}", self.context());
        self.assert_no_panic()
    }

    /// Asserts that the process did not panic.
    pub(crate) fn assert_no_panic(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked") && !self.stdout.contains("panicked"),
            "grpc-replay panicked\n{}",
            self.context()
        );
        self
    }

    /// Asserts that standard output contains `needle`.
    pub(crate) fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that standard output does not contain `needle`.
    pub(crate) fn assert_stdout_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that standard error contains `needle`, ignoring how diagnostics wrap lines
    /// (see [`unwrapped`]).
    pub(crate) fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            unwrapped(&self.stderr).contains(&unwrapped(needle)),
            "stderr lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that the run took less than `limit`.
    pub(crate) fn assert_faster_than(&self, limit: Duration) -> &Self {
        assert!(
            self.elapsed < limit,
            "took {:?}, more than {limit:?}\n{}",
            self.elapsed,
            self.context()
        );
        self
    }
}
