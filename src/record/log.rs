//! What the proxy saw of one call, in the order it saw it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use h2::Reason;
use http::HeaderMap;

use super::frames::Frame;

/// Which peer sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The client (downstream).
    Client,
    /// The server (upstream).
    Server,
}

/// One thing that crossed the proxy.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// A whole gRPC message.
    Message(Side, Frame),
    /// Response headers that did not end the stream.
    Headers(HeaderMap),
    /// The client ended its stream (END_STREAM).
    HalfClose,
    /// The client reset the stream (RST_STREAM) with this code.
    Cancel(Reason),
    /// The server reset the stream, or its connection failed, with this code.
    ServerReset(Reason),
    /// The server ended the call: its trailers (or the headers of a trailers-only
    /// response).
    Status(HeaderMap),
}

/// An event and when the proxy saw it.
#[derive(Debug, Clone)]
pub(crate) struct Timed {
    /// When it was seen.
    pub at: Instant,
    /// What it was.
    pub event: Event,
}

/// The events of one call, shared by the two directions that forward it.
#[derive(Debug, Clone, Default)]
pub(super) struct CallLog {
    events: Arc<Mutex<Vec<Timed>>>,
}

impl CallLog {
    /// Appends `event`, seen now.
    pub(super) fn push(&self, event: Event) {
        let timed = Timed {
            at: Instant::now(),
            event,
        };
        self.lock().push(timed);
    }

    /// Appends a client reset, unless one is already logged (both directions may see it).
    pub(super) fn push_cancel(&self, reason: Reason) {
        let mut events = self.lock();
        if !events.iter().any(|t| matches!(t.event, Event::Cancel(_))) {
            events.push(Timed {
                at: Instant::now(),
                event: Event::Cancel(reason),
            });
        }
    }

    /// Everything logged so far.
    pub(super) fn take(&self) -> Vec<Timed> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Timed>> {
        // A panic while pushing leaves a consistent vector: keep using it.
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A finished call as the proxy saw it.
#[derive(Debug, Clone)]
pub(crate) struct RecordedCall {
    /// The order in which the call started (1-based) among the calls of this run.
    pub sequence: u64,
    /// The HTTP/2 path, `/package.Service/Method`.
    pub path: String,
    /// The request headers (metadata and transport headers).
    pub request: HeaderMap,
    /// When the request arrived.
    pub started: SystemTime,
    /// The same moment, for gaps.
    pub started_at: Instant,
    /// The client's address.
    pub client: SocketAddr,
    /// The upstream's address as given.
    pub upstream: String,
    /// What crossed, in order.
    pub events: Vec<Timed>,
}
