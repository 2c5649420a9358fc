//! Waiting for the peer: parked events first, then the transport, within the step's
//! `within:` and the call's deadline; and the transcript of what came.

use tokio::time::{timeout_at, Instant};

use super::Player;
use crate::matching::{render_bytes, ReceivedMetadata};
use crate::runner::io::{CallIo, PeerEvent};
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
}

impl<I: CallIo> Player<'_, I> {
    /// The next event, within the step's `within` and the call's deadline.
    pub(super) async fn next_event(&mut self, step: &Step) -> Result<PeerEvent, NoEvent> {
        let raw = self.next_raw_event(step).await?;
        let event = self.as_seen_by_role(raw);
        self.note(&event);
        Ok(event)
    }

    /// The next event as the transport gives it.
    pub(super) async fn next_raw_event(&mut self, step: &Step) -> Result<PeerEvent, NoEvent> {
        if let Some(event) = self.pending.pop_front() {
            return Ok(event);
        }
        // Already buffered: no timer needed (the common case on a fast stream).
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

    /// The next event that is not response headers (which are kept for a later check).
    pub(super) async fn next_skipping_headers(
        &mut self,
        step: &Step,
    ) -> Result<PeerEvent, NoEvent> {
        loop {
            match self.next_event(step).await? {
                PeerEvent::Headers(headers) => self.headers = Some(headers),
                other => return Ok(other),
            }
        }
    }

    /// Adds an event to the transcript, when one is kept.
    pub(super) fn note(&mut self, event: &PeerEvent) {
        let Some(transcript) = self.transcript.as_mut() else {
            return;
        };
        let descriptor = match self.role {
            Role::Client => self.call.method.output(),
            Role::Server => self.call.method.input(),
        };
        transcript.push(match event {
            PeerEvent::Headers(h) => format!("headers {{{}}}", render_metadata(h)),
            PeerEvent::Message(bytes) => render_bytes(&descriptor, bytes),
            PeerEvent::HalfClosed => "half-close".into(),
            PeerEvent::Status {
                code,
                message,
                trailers,
                ..
            } => format!(
                "status {code}{}{}",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                },
                if trailers.is_empty() {
                    String::new()
                } else {
                    format!(" trailers {{{}}}", render_metadata(trailers))
                }
            ),
            PeerEvent::Cancelled(reason) => format!("cancelled: {reason}"),
            PeerEvent::Reset(reason) => format!("reset: {reason}"),
        });
    }

    pub(super) fn take_received(&mut self) -> Vec<String> {
        self.transcript
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

/// Metadata as `key: value, …`.
pub(super) fn render_metadata(metadata: &ReceivedMetadata) -> String {
    metadata
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.text()))
        .collect::<Vec<_>>()
        .join(", ")
}
