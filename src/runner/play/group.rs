//! `group:` — a block of steps played round by round, its index variable set for each.
//!
//! The side that performs the group's first step plays `send` rounds. The checking side
//! plays `min` rounds, then starts another (up to `max`) as long as the next event is a
//! message that fits the group's first step; any other event is left for the step after
//! the group.

use super::{Player, StepOutcome};
use crate::runner::io::CallIo;
use crate::runner::outcome::{Failure, Seen, Subject};
use crate::scenario::{performer, Action, Group, Step};

impl<I: CallIo> Player<'_, I> {
    pub(super) async fn group(&mut self, step: &Step, group: &Group) -> Result<(), Failure> {
        let performs = performer(step) == Some(self.role);
        let repeat = step.repeat;
        let limit = if performs { repeat.sent() } else { repeat.max };
        let mut round = 0u64;
        while round < limit {
            if let Some(index) = &group.index {
                self.captures.set(index, round.to_string());
            }
            let peek = !performs && round >= repeat.min;
            if peek && !self.starts_round(group).await? {
                break;
            }
            for inner in &group.steps {
                self.single(inner).await?;
            }
            round += 1;
        }
        self.capture_count(step, round);
        let outcome = if performs {
            StepOutcome::Performed
        } else {
            StepOutcome::Passed
        };
        self.record(step, outcome, Subject::Rounds(round), None, round);
        Ok(())
    }

    /// Whether the peer's next event starts another round: a message that fits the
    /// group's first step (which the loader makes a message that is always there). The
    /// event is left to be read again.
    async fn starts_round(&mut self, group: &Group) -> Result<bool, Failure> {
        let first = &group.steps[0];
        let (Action::Client(message) | Action::Server(message)) = &first.action else {
            return Ok(false);
        };
        let (_, spec) = self.built(first, message)?;
        let fits = match self.next_skipping_headers(first).await {
            Ok(seen) => {
                let fits = matches!(&seen, Seen::Message(m) if spec.check(&m.bytes).is_ok());
                self.unread(seen);
                fits
            }
            Err(_) => false,
        };
        Ok(fits)
    }
}
