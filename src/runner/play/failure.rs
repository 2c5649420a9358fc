//! Step records and failures.

use std::time::Duration;

use super::deadline::rounded;
use super::events::NoEvent;
use super::{Player, StepOutcome};
use crate::matching::{render_bytes, Mismatch};
use crate::runner::io::{CallIo, PeerEvent};
use crate::runner::outcome::{Failure, FailureKind, StepRecord};
use crate::scenario::{Role, StatusCode, Step};

impl<I: CallIo> Player<'_, I> {
    pub(super) fn peer(&self) -> &'static str {
        match self.role {
            Role::Client => "the server's",
            Role::Server => "the client's",
        }
    }

    /// A failure for a step whose event never came, or came as something else.
    pub(super) fn missing(
        &mut self,
        step: &Step,
        wanted: &str,
        got: Result<PeerEvent, NoEvent>,
    ) -> Failure {
        let (kind, summary) = match got {
            Err(NoEvent::TimedOut { within: true }) => (
                FailureKind::Timeout,
                format!(
                    "expected {wanted} within {}, nothing came",
                    humantime::format_duration(step.within.unwrap_or_default())
                ),
            ),
            Err(NoEvent::TimedOut { within: false }) => (
                FailureKind::Timeout,
                format!(
                    "expected {wanted}, nothing came before the call's deadline ({})",
                    rounded(self.budget)
                ),
            ),
            Err(NoEvent::Ended) => (
                FailureKind::Transport,
                format!("expected {wanted}, but the call is gone"),
            ),
            Ok(PeerEvent::Status {
                code,
                message,
                transport_error,
                ..
            }) => self.ended_instead(wanted, code, &message, transport_error),
            Ok(PeerEvent::HalfClosed) => (
                FailureKind::Mismatch,
                format!("expected {wanted}, but the client half-closed its stream"),
            ),
            // h2's guard: this side's HTTP/2 layer closed the connection, not the client.
            Ok(PeerEvent::Cancelled(reason)) if reason.starts_with("GOAWAY") => (
                FailureKind::Transport,
                format!("expected {wanted}, but grpc-replay's HTTP/2 layer closed the connection: {reason}"),
            ),
            Ok(PeerEvent::Cancelled(reason)) => (
                FailureKind::Mismatch,
                format!("expected {wanted}, but the client cancelled the call ({reason})"),
            ),
            Ok(PeerEvent::Reset(reason)) => (
                FailureKind::Mismatch,
                format!("expected {wanted}, but {reason}, which is not a cancel"),
            ),
            Ok(PeerEvent::Message(bytes)) => {
                let descriptor = match self.role {
                    Role::Client => self.call.method.output(),
                    Role::Server => self.call.method.input(),
                };
                (
                    FailureKind::Mismatch,
                    format!(
                        "expected {wanted}, received a message: {}",
                        render_bytes(&descriptor, &bytes)
                    ),
                )
            }
            Ok(PeerEvent::Headers(_)) => (
                FailureKind::Mismatch,
                format!("expected {wanted}, received headers"),
            ),
        };
        self.failure(step, kind, summary, Vec::new())
    }

    /// The failure of a step whose event did not come because the call ended.
    fn ended_instead(
        &self,
        wanted: &str,
        code: StatusCode,
        message: &str,
        transport_error: Option<String>,
    ) -> (FailureKind, String) {
        match (code, message, transport_error) {
            (code, message, Some(error)) if !self.past_deadline() => (
                FailureKind::Transport,
                format!(
                    "expected {wanted}, but the connection failed: {error} ({code}: {message})"
                ),
            ),
            (code, message, _) if self.past_deadline() => (
                FailureKind::Timeout,
                format!(
                    "expected {wanted}, nothing came before the call's deadline ({}); the call then ended with {code}: {message}",
                    rounded(self.budget)
                ),
            ),
            (code, message, _) => (
                FailureKind::Mismatch,
                format!(
                    "expected {wanted}, but the call ended with status {code}{}",
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    }
                ),
            ),
        }
    }

    /// Records a failed step and returns the failure.
    pub(super) fn failure(
        &mut self,
        step: &Step,
        kind: FailureKind,
        summary: String,
        diffs: Vec<Mismatch>,
    ) -> Failure {
        let failure = self.failure_at(step.pos, step.action.keyword(), kind, summary, diffs);
        self.record(step, StepOutcome::Failed, failure.summary.clone(), None, 1);
        failure
    }

    pub(super) fn failure_at(
        &self,
        pos: crate::scenario::node::Pos,
        keyword: &'static str,
        kind: FailureKind,
        summary: String,
        diffs: Vec<Mismatch>,
    ) -> Failure {
        Failure {
            kind,
            pos,
            keyword,
            summary,
            diffs,
        }
    }

    pub(super) fn record(
        &mut self,
        step: &Step,
        outcome: StepOutcome,
        detail: String,
        waited: Option<Duration>,
        count: u64,
    ) {
        let record = StepRecord {
            pos: step.pos,
            keyword: step.action.keyword(),
            outcome,
            detail,
            at: self.start.elapsed(),
            waited,
            count,
            implied: step.implied,
            received: self.take_received(),
        };
        self.observer
            .step(self.scenario, self.call, self.role, &record);
        self.records.push(record);
    }
}
