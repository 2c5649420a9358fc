//! The call's deadline: the budget, what a client sees past it, and a server's call whose
//! deadline passes while the script is busy.

use std::time::Duration;

use super::Player;
use crate::runner::io::CallIo;
use crate::runner::outcome::{Failure, FailureReason, Seen, StatusSeen, StepKind};
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
    pub(super) fn as_seen_by_role(&self, seen: Seen) -> Seen {
        match seen {
            Seen::Status(status)
                if self.role == Role::Client
                    && status.code != StatusCode::OK
                    && status.code != StatusCode(4)
                    && self.past_deadline() =>
            {
                Seen::Status(own_deadline_status())
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
        let reason = FailureReason::DeadlinePassed {
            budget: self.budget,
        };
        Some(match self.current {
            Some(step) => self.failure(step, reason),
            None => Failure {
                pos: self.call.pos,
                step: StepKind::Call,
                reason: Box::new(reason),
            },
        })
    }

    /// Whether the call's own deadline has passed.
    pub(super) fn past_deadline(&self) -> bool {
        self.start.elapsed() >= self.budget
    }
}

/// The status a client ends its call with when its own deadline passes.
pub(super) fn own_deadline_status() -> StatusSeen {
    StatusSeen {
        code: StatusCode(4),
        message: String::new(),
        trailers: Vec::new(),
        broken: None,
        own_deadline: true,
    }
}
