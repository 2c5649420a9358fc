//! Waiting for the peer: parked events first, then the transport, within the step's
//! `within:` and the call's deadline; what came, as [`Seen`]; and the transcript.

use tokio::time::{timeout_at, Instant};

use super::Player;
use crate::runner::io::{CallIo, PeerEvent};
use crate::runner::outcome::{MessageData, Seen, StatusSeen};
use crate::scenario::{Role, Step};

/// Why no event came.
pub(super) enum NoEvent {
    /// The wait ran out (`within` or the call's deadline).
    TimedOut {
        /// Whether the step's `within:` ran out (not the call's deadline).
        within: bool,
    },
    /// The transport has nothing more to give.
    Ended,
    /// This side's HTTP/2 layer closed the connection; the transport's account.
    LocalGoaway(String),
}

impl<I: CallIo> Player<'_, I> {
    /// The next thing the peer did, within the step's `within` and the call's deadline.
    pub(super) async fn next_event(&mut self, step: &Step) -> Result<Seen, NoEvent> {
        if let Some(seen) = self.unread.take() {
            if let Some(transcript) = self.transcript.as_mut() {
                transcript.push(seen.clone());
            }
            return Ok(seen);
        }
        let raw = self.next_raw_event(step).await?;
        let seen = self.as_seen_by_role(self.seen(raw)?);
        if let Some(transcript) = self.transcript.as_mut() {
            transcript.push(seen.clone());
        }
        Ok(seen)
    }

    /// The next event as the transport gives it.
    async fn next_raw_event(&mut self, step: &Step) -> Result<PeerEvent, NoEvent> {
        // Already there: no timer needed (the common case on a fast stream).
        if let Some(event) = self.pending.pop_front().or_else(|| self.io.ready_now()) {
            return Ok(event);
        }
        // Boxed: the wait is the rare path, and keeping it out of this future keeps the
        // future that every message goes through small.
        Box::pin(self.wait_for_event(step)).await
    }

    /// Waits for the transport's next event within the step's `within` and the deadline.
    async fn wait_for_event(&mut self, step: &Step) -> Result<PeerEvent, NoEvent> {
        if let Some(ready) = futures::FutureExt::now_or_never(self.io.next_event()) {
            return ready.ok_or(NoEvent::Ended);
        }
        let (limit, within) = match step.within {
            Some(w) if Instant::now() + w < self.deadline => (Instant::now() + w, true),
            _ => (self.deadline, false),
        };
        match timeout_at(limit, self.io.next_event()).await {
            Ok(event) => event.ok_or(NoEvent::Ended),
            Err(_) => Err(NoEvent::TimedOut { within }),
        }
    }

    /// A transport's event as data; this side's own GOAWAY is no event of the peer's.
    fn seen(&self, event: PeerEvent) -> Result<Seen, NoEvent> {
        Ok(match event {
            PeerEvent::Headers(headers) => Seen::Headers(headers),
            PeerEvent::Message { bytes, compressed } => Seen::Message {
                message: MessageData {
                    descriptor: self.peer_type(),
                    bytes,
                },
                compressed,
            },
            PeerEvent::HalfClosed => Seen::HalfClose,
            PeerEvent::Status {
                code,
                message,
                trailers,
                transport_error,
            } => Seen::Status(StatusSeen {
                code,
                message,
                trailers,
                broken: transport_error.map(|error| vec![error]),
                own_deadline: false,
            }),
            PeerEvent::Cancelled(how) => Seen::Cancel(how),
            PeerEvent::Reset(how) => Seen::Reset(how),
            PeerEvent::LocalGoaway(cause) => return Err(NoEvent::LocalGoaway(cause)),
            PeerEvent::Malformed(fault) => Seen::Malformed(fault),
        })
    }

    /// The type of the messages the peer sends.
    pub(super) fn peer_type(&self) -> prost_reflect::MessageDescriptor {
        match self.role {
            Role::Client => self.call.method.output(),
            Role::Server => self.call.method.input(),
        }
    }

    /// The next event that is not response headers (which are kept for a later check).
    pub(super) async fn next_skipping_headers(&mut self, step: &Step) -> Result<Seen, NoEvent> {
        loop {
            match self.next_event(step).await? {
                Seen::Headers(headers) => self.headers = Some(headers),
                other => return Ok(other),
            }
        }
    }

    /// Puts back what the peer did, for the next step to read: a range that ends at an
    /// event it does not take leaves that event to the step that follows.
    pub(super) fn unread(&mut self, seen: Seen) {
        if let Some(transcript) = self.transcript.as_mut() {
            transcript.pop();
        }
        self.unread = Some(seen);
    }

    /// What the peer did since the last record, when a transcript is kept.
    pub(super) fn take_seen(&mut self) -> Vec<Seen> {
        self.transcript
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}
