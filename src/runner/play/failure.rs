//! Step records, and the failure of a step whose event never came or came as something
//! else.

use std::time::Duration;

use super::events::NoEvent;
use super::{Player, StepOutcome};
use crate::runner::io::CallIo;
use crate::runner::outcome::{
    Expected, Failure, FailureReason, Limit, Seen, StepKind, StepRecord, Subject,
};
use crate::scenario::{Role, StatusCode, Step};

impl<I: CallIo> Player<'_, I> {
    /// The failure of a step that waited for `expected` and got `got` instead.
    pub(super) fn missing(
        &mut self,
        step: &Step,
        expected: Expected,
        got: Result<Seen, NoEvent>,
    ) -> Failure {
        let reason = self.missing_reason(step, expected, got);
        self.failure(step, reason)
    }

    /// Why a step that waited for `expected` got `got` instead.
    pub(super) fn missing_reason(
        &self,
        step: &Step,
        expected: Expected,
        got: Result<Seen, NoEvent>,
    ) -> FailureReason {
        match got {
            Err(NoEvent::TimedOut { within: true }) => FailureReason::Absent {
                expected,
                limit: Limit::Within(step.within.unwrap_or_default()),
                then: None,
            },
            Err(NoEvent::TimedOut { within: false }) => FailureReason::Absent {
                expected,
                limit: Limit::Deadline(self.budget),
                then: None,
            },
            Err(NoEvent::Ended) => FailureReason::Gone { expected },
            Ok(Seen::Status(status)) if status.broken.is_some() && !self.past_deadline() => {
                FailureReason::Transport {
                    expected: Some(expected),
                    status,
                }
            }
            Ok(Seen::Status(status)) if self.past_deadline() => FailureReason::Absent {
                expected,
                limit: Limit::Deadline(self.budget),
                // DEADLINE_EXCEEDED then says nothing more than the deadline passing.
                then: Some(status).filter(|s| s.code != StatusCode(4)),
            },
            // h2's guard: this side's HTTP/2 layer closed the connection, not the client.
            Err(NoEvent::LocalGoaway(cause)) => FailureReason::LocalGoaway { expected, cause },
            Ok(Seen::Malformed(fault)) => FailureReason::BadMessage {
                sender: match self.role {
                    Role::Client => Role::Server,
                    Role::Server => Role::Client,
                },
                fault,
            },
            Ok(seen) => FailureReason::Unexpected { expected, seen },
        }
    }

    /// Records a failed step and returns the failure.
    pub(super) fn failure(&mut self, step: &Step, reason: FailureReason) -> Failure {
        self.record(
            step,
            StepOutcome::Failed,
            || Subject::Failed(Box::new(reason.clone())),
            None,
            1,
        );
        Failure {
            pos: step.pos,
            step: StepKind::of(&step.action),
            reason: Box::new(reason),
        }
    }

    /// Records a step and reports it to the observer.
    pub(super) fn record(
        &mut self,
        step: &Step,
        outcome: StepOutcome,
        subject: impl FnOnce() -> Subject,
        waited: Option<Duration>,
        count: u64,
    ) {
        // A group's later rounds keep memory flat: their passing steps are counted in the
        // group's own record, not recorded one by one.
        if self.later_round && outcome != StepOutcome::Failed {
            self.take_seen();
            return;
        }
        let record = StepRecord {
            pos: step.pos,
            kind: StepKind::of(&step.action),
            outcome,
            subject: subject(),
            at: self.start.elapsed(),
            waited,
            count,
            implied: step.implied,
            seen: self.take_seen(),
        };
        self.observer
            .step(self.scenario, self.call, self.role, &record);
        self.records.push(record);
    }
}
