//! The call's deadline: the budget, what a client sees past it, and a server's call whose
//! deadline passes while the script is busy.

use std::time::Duration;

use super::Player;
use crate::runner::io::{CallIo, PeerEvent};
use crate::runner::outcome::{Failure, FailureKind};
use crate::scenario::{Action, Role, StatusCode};

/// How long a client keeps waiting past the call's deadline for the server's own
/// DEADLINE_EXCEEDED status.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// The earlier of the script's deadline and the one the peer asked for, or the default.
pub(super) fn budget(own: Option<Duration>, peer: Option<Duration>, default: Duration) -> Duration {
    match (own, peer) {
        (Some(own), Some(peer)) => own.min(peer),
        (own, peer) => own.or(peer).unwrap_or(default),
    }
}

/// How long past the deadline this role keeps waiting.
pub(super) fn grace(role: Role) -> Duration {
    if role == Role::Client {
        DEADLINE_GRACE
    } else {
        super::super::io::DEADLINE_RESET_GRACE
    }
}

impl<I: CallIo> Player<'_, I> {
    /// A client whose own deadline has passed ends the call with DEADLINE_EXCEEDED, whatever
    /// the server or the connection does then (a reset, a closed connection), as gRPC
    /// clients report it.
    pub(super) fn as_seen_by_role(&self, event: PeerEvent) -> PeerEvent {
        match event {
            PeerEvent::Status { code, .. }
                if self.role == Role::Client
                    && code != StatusCode::OK
                    && code != StatusCode(4)
                    && self.past_deadline() =>
            {
                PeerEvent::Status {
                    code: StatusCode(4),
                    message: "the call's deadline passed (client side)".into(),
                    trailers: Vec::new(),
                    transport_error: None,
                }
            }
            other => other,
        }
    }

    /// A server's call whose deadline passed while the script was busy: what the script
    /// expects when it ends with `status: DEADLINE_EXCEEDED` (the call ends with it, a
    /// pass), a failure otherwise.
    pub(super) async fn deadline_passed(&mut self) -> Option<Failure> {
        if let Some(step) = self.call.script.last() {
            if let Action::Status(status) = &step.action {
                if status.code == StatusCode(4) {
                    self.perform_status(step, status).await;
                    return None;
                }
            }
        }
        let summary = format!(
            "the call's deadline ({}) passed before this step was done",
            rounded(self.budget)
        );
        Some(match self.current {
            Some(step) => self.failure(step, FailureKind::Timeout, summary, Vec::new()),
            None => self.failure_at(
                self.call.pos,
                "call",
                FailureKind::Timeout,
                summary,
                Vec::new(),
            ),
        })
    }

    /// Whether the call's own deadline has passed.
    pub(super) fn past_deadline(&self) -> bool {
        self.start.elapsed() >= self.budget
    }
}

/// A duration for messages: to the millisecond, or to the microsecond below one.
pub(super) fn rounded(duration: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(if duration < Duration::from_millis(1) {
        Duration::from_micros(duration.as_micros() as u64)
    } else {
        Duration::from_millis(duration.as_millis() as u64)
    })
}
