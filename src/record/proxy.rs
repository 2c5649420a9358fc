//! The transparent proxy: every stream a client opens is forwarded on the upstream
//! connection as it happens — headers, each DATA chunk unchanged, half-close, resets with
//! their code, trailers — and what crosses is logged for the recording.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use http::{Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};

use super::frames::FrameSplitter;
use super::log::{CallLog, Event, RecordedCall, Side};
use crate::transport::Http2Settings;

/// What every proxied connection shares.
#[derive(Debug)]
pub(super) struct ProxyContext {
    /// The upstream's address as given (for the recordings).
    pub upstream: String,
    /// Flow-control windows on both sides.
    pub settings: Http2Settings,
    /// Where finished calls go.
    pub calls: mpsc::UnboundedSender<RecordedCall>,
    /// The last sequence number handed out.
    pub sequence: AtomicU64,
    /// Becomes `true` when recording stops: connections then finish the calls under way
    /// (GOAWAY) and close.
    pub stopping: watch::Receiver<bool>,
    /// `--authority`: replaces the `:authority` of every forwarded call.
    pub authority: Option<String>,
}

/// Why a connection could not be proxied.
#[derive(Debug, thiserror::Error)]
pub(super) enum ProxyError {
    /// The HTTP/2 handshake or connection with the client failed.
    #[error("client connection: {0}")]
    Client(h2::Error),
    /// The HTTP/2 handshake with the upstream failed.
    #[error("upstream connection: {0}")]
    Upstream(h2::Error),
}

/// Proxies one client connection (`downstream`) over one upstream connection until the
/// client goes away.
pub(super) async fn serve_connection<D, U>(
    downstream: D,
    upstream: U,
    client: SocketAddr,
    context: Arc<ProxyContext>,
) -> Result<(), ProxyError>
where
    D: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let windows = context.settings;
    let (sender, connection) = h2::client::Builder::new()
        .initial_window_size(windows.stream_window)
        .initial_connection_window_size(windows.connection_window)
        .handshake::<_, Bytes>(upstream)
        .await
        .map_err(ProxyError::Upstream)?;
    tokio::spawn(async move {
        // Its errors reach each stream, which forwards them as resets.
        let _ = connection.await;
    });
    let mut incoming = h2::server::Builder::new()
        .initial_window_size(windows.stream_window)
        .initial_connection_window_size(windows.connection_window)
        .handshake::<_, Bytes>(downstream)
        .await
        .map_err(ProxyError::Client)?;
    let mut stopping = context.stopping.clone();
    let mut draining = *stopping.borrow();
    if draining {
        incoming.graceful_shutdown();
    }
    loop {
        let accepted = tokio::select! {
            accepted = incoming.accept() => accepted,
            _ = stopping.changed(), if !draining => {
                draining = true;
                incoming.graceful_shutdown();
                continue;
            }
        };
        let Some(accepted) = accepted else { break };
        let (request, respond) = accepted.map_err(ProxyError::Client)?;
        let stream = StreamStart {
            sequence: context.sequence.fetch_add(1, Ordering::SeqCst) + 1,
            started: SystemTime::now(),
            started_at: Instant::now(),
            client,
        };
        tokio::spawn(proxy_call(
            request,
            respond,
            sender.clone(),
            stream,
            context.clone(),
        ));
    }
    Ok(())
}

/// `uri` with another authority (a bad one, refused when the flag was read, keeps `uri`).
fn with_authority(uri: &http::Uri, authority: &str) -> http::Uri {
    let mut parts = uri.clone().into_parts();
    parts.authority = authority.parse().ok().or(parts.authority);
    http::Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

/// Who and when, for the recording.
struct StreamStart {
    sequence: u64,
    started: SystemTime,
    started_at: Instant,
    client: SocketAddr,
}

/// Forwards one call both ways, then hands what was seen to the recorder.
async fn proxy_call(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    upstream: SendRequest<Bytes>,
    start: StreamStart,
    context: Arc<ProxyContext>,
) {
    let (parts, body) = request.into_parts();
    let mut forwarded = Request::new(());
    *forwarded.method_mut() = parts.method.clone();
    *forwarded.uri_mut() = match &context.authority {
        Some(authority) => with_authority(&parts.uri, authority),
        None => parts.uri.clone(),
    };
    *forwarded.headers_mut() = parts.headers.clone();
    let ended = body.is_end_stream();
    let log = CallLog::default();
    let opened = match upstream.ready().await {
        Ok(mut ready) => ready.send_request(forwarded, ended),
        Err(error) => Err(error),
    };
    match opened {
        Ok((response, up)) => {
            let (reset_sender, reset_receiver) = oneshot::channel();
            tokio::join!(
                forward_requests(body, up, ended, reset_receiver, &log),
                forward_responses(response, respond, reset_sender, &log),
            );
        }
        Err(error) => {
            let reason = error.reason().unwrap_or(Reason::REFUSED_STREAM);
            log.push(Event::ServerReset(reason));
            respond.send_reset(reason);
        }
    }
    let _ = context.calls.send(RecordedCall {
        sequence: start.sequence,
        path: parts.uri.path().to_string(),
        request: parts.headers,
        started: start.started,
        started_at: start.started_at,
        client: start.client,
        upstream: context.upstream.clone(),
        events: log.take(),
    });
}

/// Why forwarding on a stream stopped early.
enum Cut {
    /// The client reset the call.
    ClientReset(Reason),
    /// The stream can no longer carry data (reset or closed by the other side).
    Closed,
}

/// Client → upstream: messages, half-close, and a client reset seen by either direction
/// (`client_reset`; closed without a value once the response side is done).
async fn forward_requests(
    mut body: RecvStream,
    mut up: SendStream<Bytes>,
    ended: bool,
    mut client_reset: oneshot::Receiver<Reason>,
    log: &CallLog,
) {
    if ended {
        log.push(Event::HalfClose);
    } else if !forward_request_body(&mut body, &mut up, &mut client_reset, log).await {
        return;
    }
    // After the half-close the client may still cancel: the response side sees it.
    if let Ok(reason) = client_reset.await {
        up.send_reset(reason);
    }
}

/// The client's messages up to its half-close (`true`), or until the call was cut
/// (`false`, the reset passed on).
async fn forward_request_body(
    body: &mut RecvStream,
    up: &mut SendStream<Bytes>,
    client_reset: &mut oneshot::Receiver<Reason>,
    log: &CallLog,
) -> bool {
    let mut splitter = FrameSplitter::default();
    loop {
        let next = tokio::select! {
            next = body.data() => next,
            reason = &mut *client_reset => {
                match reason {
                    Ok(reason) => up.send_reset(reason),
                    // The response side is done: the server ended the call.
                    Err(_) => in_flight_after_status(body, &mut splitter, log).await,
                }
                return false;
            }
        };
        let chunk = match next {
            Some(Ok(chunk)) => chunk,
            None => break,
            Some(Err(error)) => {
                let reason = error.reason().unwrap_or(Reason::CANCEL);
                if error.is_reset() && error.is_remote() {
                    log.push_cancel(reason);
                }
                up.send_reset(reason);
                return false;
            }
        };
        for frame in splitter.push(&chunk) {
            log.push(Event::Message(Side::Client, frame));
        }
        let length = chunk.len();
        let sent = tokio::select! {
            sent = send_all(up, chunk) => sent,
            reason = &mut *client_reset => Err(reason.map_or(Cut::Closed, Cut::ClientReset)),
        };
        match sent {
            Ok(()) => {
                let _ = body.flow_control().release_capacity(length);
            }
            Err(Cut::ClientReset(reason)) => {
                up.send_reset(reason);
                return false;
            }
            Err(Cut::Closed) => return false,
        }
    }
    log.push(Event::HalfClose);
    let _ = match body.trailers().await {
        Ok(Some(trailers)) => up.send_trailers(trailers),
        _ => up.send_data(Bytes::new(), true),
    };
    true
}

/// How long the client's messages already on their way may take to arrive once the server
/// has ended the call.
const IN_FLIGHT_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// After the server's status (which may overtake the client's message: a server that
/// refuses a call answers its headers at once), what the client sent before it learned
/// the call was over still belongs to the recording: its messages and half-close. A reset
/// now is only its reaction to the status. Nothing is forwarded: the upstream call is over.
async fn in_flight_after_status(
    body: &mut RecvStream,
    splitter: &mut FrameSplitter,
    log: &CallLog,
) {
    let rest = async {
        loop {
            match body.data().await {
                Some(Ok(chunk)) => {
                    for frame in splitter.push(&chunk) {
                        log.push(Event::Message(Side::Client, frame));
                    }
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
                None => return log.push(Event::HalfClose),
                Some(Err(_)) => return,
            }
        }
    };
    let _ = tokio::time::timeout(IN_FLIGHT_GRACE, rest).await;
}

/// Sends `data` as the peer's flow control allows (so that a slow reader slows the
/// writer down instead of filling the proxy's memory).
async fn send_all(stream: &mut SendStream<Bytes>, mut data: Bytes) -> Result<(), Cut> {
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let granted = match poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(Ok(granted)) => granted,
            _ => return Err(Cut::Closed),
        };
        if granted > 0 {
            let piece = data.split_to(granted.min(data.len()));
            stream.send_data(piece, false).map_err(|_| Cut::Closed)?;
        }
    }
    Ok(())
}

/// Upstream → client: response headers, messages, trailers, and resets both ways.
async fn forward_responses(
    response: ResponseFuture,
    mut respond: SendResponse<Bytes>,
    client_reset: oneshot::Sender<Reason>,
    log: &CallLog,
) {
    let response = tokio::select! {
        response = response => response,
        reason = poll_fn(|cx| respond.poll_reset(cx)) => {
            return client_cancelled(reason, client_reset, log);
        }
    };
    let response = match response {
        Ok(response) => response,
        Err(error) => return server_reset(&error, |r| respond.send_reset(r), log),
    };
    let (parts, mut body) = response.into_parts();
    let ended = body.is_end_stream();
    log.push(if ended {
        Event::Status(parts.headers.clone())
    } else {
        Event::Headers(parts.headers.clone())
    });
    let Ok(mut down) = respond.send_response(Response::from_parts(parts, ()), ended) else {
        return;
    };
    if !ended {
        forward_response_body(&mut body, &mut down, client_reset, log).await;
    }
}

/// The messages and trailers of a response whose headers have been forwarded.
async fn forward_response_body(
    body: &mut RecvStream,
    down: &mut SendStream<Bytes>,
    client_reset: oneshot::Sender<Reason>,
    log: &CallLog,
) {
    let mut splitter = FrameSplitter::default();
    loop {
        let next = tokio::select! {
            next = body.data() => next,
            reason = poll_fn(|cx| down.poll_reset(cx)) => {
                return client_cancelled(reason, client_reset, log);
            }
        };
        match next {
            Some(Ok(chunk)) => {
                for frame in splitter.push(&chunk) {
                    log.push(Event::Message(Side::Server, frame));
                }
                let length = chunk.len();
                if send_all(down, chunk).await.is_err() {
                    let reason = poll_fn(|cx| down.poll_reset(cx)).await;
                    return client_cancelled(reason, client_reset, log);
                }
                let _ = body.flow_control().release_capacity(length);
            }
            None => break,
            Some(Err(error)) => return server_reset(&error, |r| down.send_reset(r), log),
        }
    }
    let trailers = tokio::select! {
        trailers = body.trailers() => trailers,
        reason = poll_fn(|cx| down.poll_reset(cx)) => {
            return client_cancelled(reason, client_reset, log);
        }
    };
    match trailers {
        Ok(Some(trailers)) => {
            log.push(Event::Status(trailers.clone()));
            let _ = down.send_trailers(trailers);
        }
        Ok(None) => {
            let _ = down.send_data(Bytes::new(), true);
        }
        Err(error) => server_reset(&error, |r| down.send_reset(r), log),
    }
}

/// The client reset the stream (or its connection went away): log it and pass it on.
fn client_cancelled(
    reason: Result<Reason, h2::Error>,
    client_reset: oneshot::Sender<Reason>,
    log: &CallLog,
) {
    let reason = match reason {
        Ok(reason) => reason,
        Err(error) => error.reason().unwrap_or(Reason::CANCEL),
    };
    log.push_cancel(reason);
    let _ = client_reset.send(reason);
}

/// The upstream reset the stream or failed: log it and reset the client's stream alike.
fn server_reset(error: &h2::Error, reset: impl FnOnce(Reason), log: &CallLog) {
    if error.is_reset() && !error.is_remote() {
        // Our own reset, forwarding the client's cancel.
        return;
    }
    let reason = error.reason().unwrap_or(Reason::INTERNAL_ERROR);
    log.push(Event::ServerReset(reason));
    reset(reason);
}
