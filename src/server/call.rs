//! The server side of one call: the script's sends become the response stream.

use std::collections::VecDeque;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Status, Streaming};

use super::request_end::RequestReset;
use crate::matching::{MetaValue, ReceivedMetadata};
use crate::runner::{CallIo, FinalStatus, PeerEvent, DEADLINE_RESET_GRACE, SEND_QUEUE};
use crate::transport::{
    decoder_fault, fault_of, to_metadata_map, EventReceiver, EventSender, ReceivedFlags, Repeated,
    SendQueue,
};

/// How long a reset waits for the reader to report its reason.
const REASON_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// How the response begins: headers (then messages and trailers), or a status alone.
pub(super) enum ResponseStart {
    /// Response headers; the stream follows.
    Headers(MetadataMap),
    /// A Trailers-Only response with this status.
    TrailersOnly(Status),
}

/// The response messages (and a final error status), as the response stream.
pub(super) type ResponseItems = Repeated<Result<Bytes, Status>>;

/// One incoming call, as the engine sees it.
pub(super) struct ServerCall {
    metadata: ReceivedMetadata,
    events: EventReceiver,
    outgoing: SendQueue<Result<Bytes, Status>>,
    start: Option<oneshot::Sender<ResponseStart>>,
}

impl ServerCall {
    /// Wraps an incoming call.
    pub(super) fn new(
        metadata: ReceivedMetadata,
        events: EventReceiver,
    ) -> (ServerCall, oneshot::Receiver<ResponseStart>, ResponseItems) {
        let (start_tx, start_rx) = oneshot::channel();
        let (mut outgoing, items) = SendQueue::new(SEND_QUEUE);
        // Candidates' scripts pause elsewhere, without flushing the call: no batches
        // until one script plays the call straight on it.
        outgoing.unbatched(true);
        (
            ServerCall {
                metadata,
                events,
                outgoing,
                start: Some(start_tx),
            },
            start_rx,
            items,
        )
    }

    /// Lets sends wait in a batch until the script waits (see [`CallIo::flush`]).
    pub(super) fn batch_sends(&mut self) {
        self.outgoing.unbatched(false);
    }

    /// Puts events already read (to choose the script) back, to be read first.
    pub(super) fn put_back(&mut self, events: Vec<PeerEvent>) {
        self.events.put_back(events);
    }

    fn begin(&mut self, headers: MetadataMap) {
        if let Some(start) = self.start.take() {
            let _ = start.send(ResponseStart::Headers(headers));
        }
    }
}

/// Reads everything the client sends as it arrives, so that the HTTP/2 layer never holds
/// unread frames while the script is busy. The request body must have been wrapped by
/// [`RequestReset::from_body_error`], so that a reset is not read as a half-close, and by
/// a `FrameLimit` whose [`ReceivedFlags`] are in the request's extensions (each message's
/// compressed flag comes from there); `deadline` is when the call's deadline passes (a
/// reset then is a cancel, whatever its code); `limit` is `--max-message-size`.
pub(super) fn spawn_reader(
    incoming: Request<Streaming<Bytes>>,
    deadline: Option<Instant>,
    limit: u64,
) -> EventReceiver {
    let flags = incoming.extensions().get::<ReceivedFlags>().cloned();
    let mut stream = incoming.into_inner();
    let (mut events, receiver) = EventSender::new();
    tokio::spawn(async move {
        loop {
            let Some(read) = events.next_message(&mut stream).await else {
                return;
            };
            let event = match read {
                Ok(Some(bytes)) => PeerEvent::Message {
                    bytes,
                    compressed: flags.as_ref().and_then(ReceivedFlags::take),
                },
                Ok(None) => PeerEvent::HalfClosed,
                Err(status) => ended_early(&status, deadline, flags.as_ref(), limit),
            };
            let last = !matches!(event, PeerEvent::Message { .. });
            if !events.push(event).await {
                return;
            }
            if last {
                events.flush().await;
                return;
            }
        }
    });
    receiver
}

/// The event for a request stream that failed: a message tonic's decoder refused, a reset
/// (by its code), or what broke.
fn ended_early(
    status: &Status,
    deadline: Option<Instant>,
    flags: Option<&ReceivedFlags>,
    limit: u64,
) -> PeerEvent {
    let source = std::error::Error::source(status);
    if let Some(fault) = decoder_fault(status, flags, limit).or_else(|| source.and_then(fault_of)) {
        return PeerEvent::Malformed(fault);
    }
    let mut source = source;
    while let Some(error) = source {
        if let Some(reset) = error.downcast_ref::<RequestReset>() {
            let at_deadline =
                deadline.is_some_and(|at| Instant::now() + DEADLINE_RESET_GRACE >= at);
            return reset.event(at_deadline);
        }
        source = error.source();
    }
    PeerEvent::Cancelled(format!("the client ended the call: {}", status.message()))
}

impl CallIo for ServerCall {
    async fn send_messages(
        &mut self,
        message: &Bytes,
        count: u64,
        parked: &mut VecDeque<PeerEvent>,
    ) {
        self.begin(MetadataMap::new());
        let (events, outgoing) = (&mut self.events, &mut self.outgoing);
        let size = message.len();
        outgoing.push(message, count, size, events, parked).await;
    }

    async fn flush(&mut self, parked: &mut VecDeque<PeerEvent>) {
        self.outgoing.flush(&mut self.events, parked).await;
    }

    fn send_headers(&mut self, headers: Vec<(String, MetaValue)>) {
        self.begin(to_metadata_map(&headers));
    }

    async fn close_send(&mut self) {}

    async fn cancel(&mut self) {}

    async fn finish(&mut self, status: FinalStatus) {
        let code = Code::from_i32(status.code.0);
        let trailers = to_metadata_map(&status.trailers);
        let status = Status::with_metadata(code, status.message, trailers);
        if code != Code::Ok {
            if let Some(start) = self.start.take() {
                let _ = start.send(ResponseStart::TrailersOnly(status));
                self.outgoing.close();
                return;
            }
        }
        self.begin(MetadataMap::new());
        let last = (code != Code::Ok || !status.metadata().is_empty()).then_some((Err(status), 1));
        self.outgoing.finish(last).await;
    }

    fn ready_now(&mut self) -> Option<PeerEvent> {
        self.events.ready_now()
    }

    /// After the client half-closes, a reset no longer reaches the request stream; it shows
    /// as the response stream being dropped, which is read as a cancel.
    async fn next_event(&mut self) -> Option<PeerEvent> {
        self.outgoing.flush_keeping(&mut self.events).await;
        tokio::select! {
            biased;
            Some(event) = self.events.recv() => Some(event),
            () = self.outgoing.closed() => {
                // The reader usually says why (the reset's reason, a GOAWAY) a moment later.
                match tokio::time::timeout(REASON_WAIT, self.events.recv()).await {
                    Ok(Some(event)) => Some(event),
                    _ => Some(PeerEvent::Cancelled("the client reset the call".into())),
                }
            }
        }
    }

    fn request_metadata(&self) -> ReceivedMetadata {
        self.metadata.clone()
    }
}
