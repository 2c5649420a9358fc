//! The HTTP/2 service that answers every method path: each incoming call gets a script,
//! chosen by method, metadata and first message, and played by the engine.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt as _;
use http_body_util::BodyExt as _;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status, Streaming};

use super::call::{spawn_reader, ResponseStart, ServerCall};
use super::conversation::{play_alone, Conversation};
use super::grpc_message::minimal_grpc_message;
use super::registry::{Registry, ScriptId};
use super::request_end::RequestReset;
use crate::codec::BytesCodec;
use crate::matching::ReceivedMetadata;
use crate::report::refusal_status;
use crate::runner::{
    panic_message, panicked, CallResult, Observer, PlayOptions, Refusal, RefusedCall,
};
use crate::scenario::Role;
use crate::transport::{
    received_metadata, ConnectionInfo, EventReceiver, FrameLimit, OpenCall, Repeated,
};

/// Everything the handlers share.
pub(super) struct ServerState {
    /// The scripts and the tally.
    pub registry: Arc<Registry>,
    /// Engine limits.
    pub play: PlayOptions,
    /// Where progress goes.
    pub observer: Arc<dyn Observer>,
    /// Paths the loaded protos define (an unknown one gets UNIMPLEMENTED).
    pub known_paths: Vec<String>,
}

/// A tower service for all paths; tonic's router hands it every call that reflection and
/// health do not take.
#[derive(Clone)]
pub(super) struct ReplayService {
    state: Arc<ServerState>,
}

impl ReplayService {
    /// A service over `state`.
    pub(super) fn new(state: Arc<ServerState>) -> Self {
        ReplayService { state }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<B> tower::Service<http::Request<B>> for ReplayService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            let path = request.uri().path().to_string();
            if let Some(reason) = refusal(&state, &path, request.headers()) {
                let refused = RefusedCall {
                    path: path.clone(),
                    reason,
                };
                state.observer.call_refused(&refused);
                // tonic refuses an encoding it cannot read itself, in its own words.
                if let Some(message) = refusal_status(&refused) {
                    return Ok(minimal_grpc_message(
                        Status::unimplemented(message).into_http(),
                    ));
                }
            }
            let compress = state.registry.compresses(&path);
            let mut grpc =
                tonic::server::Grpc::new(BytesCodec).accept_compressed(CompressionEncoding::Gzip);
            if compress {
                grpc = grpc.send_compressed(CompressionEncoding::Gzip);
            }
            // The idle timeout leaves the connection open while the call is.
            let open_call = request
                .extensions()
                .get::<ConnectionInfo>()
                .map(ConnectionInfo::call_opened);
            // Before tonic's decoder: it would read a reset request stream as its end, and
            // report a message over the limit (or cut short) as an untyped status.
            let limit = state.play.max_message_size;
            let mut request = request.map(|body| {
                FrameLimit::new(
                    body.map_err(RequestReset::from_body_error as fn(_) -> _),
                    limit,
                )
            });
            // Each message's compressed flag, for the reader (`call::spawn_reader`).
            let flags = request.body().flags();
            request.extensions_mut().insert(flags);
            let size = usize::try_from(limit).unwrap_or(usize::MAX);
            grpc = grpc
                .max_decoding_message_size(size)
                .max_encoding_message_size(size);
            let open_call = std::sync::Mutex::new(open_call);
            let handler = tower::service_fn(move |incoming: Request<Streaming<Bytes>>| {
                let state = state.clone();
                let path = path.clone();
                let open_call = open_call.lock().ok().and_then(|mut call| call.take());
                async move { handle(state, path, incoming, open_call).await }
            });
            Ok(minimal_grpc_message(grpc.streaming(handler, request).await))
        })
    }
}

/// Why a call is answered without a script, if it is: no script plays its method, or
/// (tonic answers that one itself) its request is compressed in a way it cannot read.
fn refusal(state: &ServerState, path: &str, headers: &http::HeaderMap) -> Option<Refusal> {
    if state.registry.scripts_of(path).is_empty() {
        return Some(if state.known_paths.iter().any(|p| p == path) {
            Refusal::NoScript
        } else {
            Refusal::UnknownMethod
        });
    }
    let encoding = headers
        .get("grpc-encoding")?
        .to_str()
        .unwrap_or("(not text)");
    (!matches!(encoding, "identity" | "gzip")).then(|| Refusal::Encoding(encoding.to_owned()))
}

type ResponseStream = Repeated<Result<Bytes, Status>>;

async fn handle(
    state: Arc<ServerState>,
    path: String,
    incoming: Request<Streaming<Bytes>>,
    open_call: Option<OpenCall>,
) -> Result<Response<ResponseStream>, Status> {
    let metadata = received_metadata(incoming.metadata());
    let deadline = requested_deadline(&metadata)
        .and_then(|wait| tokio::time::Instant::now().checked_add(wait));
    let events = spawn_reader(incoming, deadline, state.play.max_message_size);
    let (answer_tx, answer) = oneshot::channel();
    // The call is chosen and played in a task of its own: when the client resets the stream
    // while the choice waits for its first message, hyper drops this future, but the script
    // still plays (a `cancel` script passes) and the call is counted.
    tokio::spawn(async move {
        let (registry, observer) = (state.registry.clone(), state.observer.clone());
        let played = play_incoming(state, path.clone(), metadata, events, answer_tx);
        if let Err(panic) = AssertUnwindSafe(played).catch_unwind().await {
            record_panic(
                &registry,
                observer.as_ref(),
                &path,
                panic_message(panic.as_ref()),
            );
        }
        drop(open_call);
    });
    answer.await.unwrap_or_else(|_| {
        Err(Status::internal(
            "grpc-replay: the script ended without answering",
        ))
    })
}

/// Follows an incoming call with every script it may be following (see `conversation`);
/// `answer` gets the start of the response (headers, or a Trailers-Only status) as soon as
/// the call gives it.
async fn play_incoming(
    state: Arc<ServerState>,
    path: String,
    metadata: ReceivedMetadata,
    mut events: EventReceiver,
    answer: oneshot::Sender<Result<Response<ResponseStream>, Status>>,
) {
    let peer_deadline = requested_deadline(&metadata);
    let registry = state.registry.clone();
    // When every script starts with a client message, the first one narrows the
    // candidates through the index before any is played.
    let mut first = Vec::new();
    if registry.all_start_with_client(&path) && registry.scripts_of(&path).len() > 1 {
        let wait = peer_deadline.unwrap_or(state.play.default_timeout);
        if let Ok(Some(event)) = tokio::time::timeout(wait, events.recv()).await {
            first.push(event);
        }
    }
    let candidates = registry.candidates(&path, &metadata, first.first());
    let conversation = match candidates[..] {
        [_] => None,
        _ => Some(Conversation::start(
            registry.clone(),
            &candidates,
            &metadata,
            &state.play,
            peer_deadline,
        )),
    };
    let (mut io, start, items) = ServerCall::new(metadata, events);
    let play = async {
        let (id, result) = match conversation {
            Some(conversation) => conversation.run(&mut io, first).await,
            None => {
                io.put_back(first);
                io.batch_sends();
                play_alone(
                    &registry,
                    candidates[0],
                    &mut io,
                    &state.play,
                    peer_deadline,
                )
                .await
            }
        };
        drop(io);
        (id, result)
    };
    let mut answer = answer;
    let respond = async move {
        // A client that resets the call before the response begins drops the handler:
        // dropping the response stream then tells the script (as a cancel).
        let started = tokio::select! {
            started = start => started,
            () = answer.closed() => return,
        };
        let response = match started {
            Ok(ResponseStart::Headers(headers)) => {
                let mut response = Response::new(items);
                *response.metadata_mut() = headers;
                Ok(response)
            }
            Ok(ResponseStart::TrailersOnly(status)) => Err(status),
            Err(_) => Err(Status::internal(
                "grpc-replay: the script ended without answering",
            )),
        };
        let _ = answer.send(response);
    };
    let ((id, result), ()) = tokio::join!(play, respond);
    report_call(state.observer.as_ref(), &registry, id, &result);
    registry.record(id, result);
}

/// A panic while choosing or following the script (each candidate's own play catches its
/// panics): the call fails with it, counted against the method's first script, as no
/// script was chosen.
fn record_panic(registry: &Registry, observer: &dyn Observer, path: &str, message: String) {
    let Some(&first) = registry.scripts_of(path).first() else {
        return;
    };
    let id = registry.script(first);
    let (scenario, call) = registry.get(id);
    let result = panicked(scenario, call, Role::Server, message);
    report_call(observer, registry, id, &result);
    registry.record(id, result);
}

/// Tells the observer how the chosen script played (its candidates played silently).
fn report_call(observer: &dyn Observer, registry: &Registry, id: ScriptId, result: &CallResult) {
    let (scenario, call) = registry.get(id);
    observer.call_started(scenario, call, Role::Server);
    for record in &result.steps {
        observer.step(scenario, call, Role::Server, record);
    }
    observer.call_finished(scenario, result);
}

/// The deadline the client asked for: `grpc-timeout`, or Ballerina's `deadline` header
/// (an RFC 3339 time).
fn requested_deadline(metadata: &ReceivedMetadata) -> Option<Duration> {
    let value = |key: &str| {
        metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.text())
    };
    if let Some(timeout) = value("grpc-timeout") {
        return parse_grpc_timeout(&timeout);
    }
    let deadline = humantime::parse_rfc3339_weak(value("deadline")?.trim()).ok()?;
    Some(
        deadline
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The most digits a `grpc-timeout` value has (gRPC over HTTP/2: `TimeoutValue`).
const GRPC_TIMEOUT_DIGITS: usize = 8;

/// Parses a `grpc-timeout` value such as `5S` or `100m`; one that is not a valid value
/// (more than 8 digits included) is no deadline.
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.len() > GRPC_TIMEOUT_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_units() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("x"), None);
    }

    #[test]
    fn grpc_timeout_of_more_than_eight_digits_is_no_deadline() {
        assert_eq!(
            parse_grpc_timeout("99999999H"),
            Some(Duration::from_secs(99_999_999 * 3600))
        );
        assert_eq!(parse_grpc_timeout("18446744073709551615S"), None);
        assert_eq!(parse_grpc_timeout("9999999999999999H"), None);
        assert_eq!(parse_grpc_timeout("+5S"), None);
    }
}
