//! Checked messages: one by one, and unordered groups.

use std::borrow::Cow;

use tokio::time::Instant;

use super::{Player, StepOutcome};
use crate::matching::MessageSpec;
use crate::runner::io::CallIo;
use crate::runner::outcome::{
    Expected, Failure, FailureReason, MessageData, Seen, Subject, Written,
};
use crate::scenario::{Action, Role, Step};

impl<I: CallIo> Player<'_, I> {
    pub(super) async fn receive(
        &mut self,
        step: &Step,
        expected: &MessageSpec,
    ) -> Result<(), Failure> {
        let began = Instant::now();
        for index in 0..step.repeat {
            let event = self.next_skipping_headers(step).await;
            let bytes = match event {
                Ok(Seen::Message(message)) => message.bytes,
                other => {
                    let wanted = Expected::Message(Written::of(expected));
                    return Err(self.missing(step, wanted, other));
                }
            };
            if let Err(diffs) = expected.check(&bytes) {
                let reason = FailureReason::Mismatch {
                    expected: Written::of(expected),
                    received: MessageData {
                        descriptor: expected.descriptor().clone(),
                        bytes,
                    },
                    diffs,
                    nth: (step.repeat > 1).then_some((index + 1, step.repeat)),
                };
                return Err(self.failure(step, reason));
            }
            // The peer paced each repetition by `after:`.
            self.scripted_pause(step.after);
            self.answered();
            self.capture_from_message(step, expected.descriptor(), &bytes);
        }
        let checked = Subject::Message(Written::of(expected));
        self.record(
            step,
            StepOutcome::Passed,
            checked,
            Some(began.elapsed()),
            step.repeat,
        );
        Ok(())
    }

    /// A checked message was taken now: reports its latency from the send it answers.
    pub(super) fn answered(&self) {
        let latency = self
            .pairing
            .as_ref()
            .and_then(|p| p.answered(Instant::now()));
        if let Some(latency) = latency {
            self.observer.message_latency(latency);
        }
    }

    pub(super) async fn unordered(&mut self, group: &Step, steps: &[Step]) -> Result<(), Failure> {
        let mut expected: Vec<(&Step, Cow<'_, MessageSpec>, u64)> = Vec::new();
        for step in steps {
            match (&step.action, self.role) {
                (Action::Client(m), Role::Client) | (Action::Server(m), Role::Server) => {
                    self.send(step, m).await?
                }
                (Action::Client(m), Role::Server) | (Action::Server(m), Role::Client) => {
                    let (_, checked) = self.built(step, m)?;
                    expected.push((step, checked, step.repeat))
                }
                _ => unreachable!("the loader allows only messages in unordered groups"),
            }
        }
        let began = Instant::now();
        while let Some((first, first_spec)) = expected
            .iter()
            .find(|(_, _, left)| *left > 0)
            .map(|(step, spec, _)| (*step, spec.clone()))
        {
            let bytes = match self.next_skipping_headers(first).await {
                Ok(Seen::Message(message)) => message.bytes,
                other => {
                    let wanted = Expected::Message(Written::of(&first_spec));
                    return Err(self.missing(first, wanted, other));
                }
            };
            let hit = expected
                .iter_mut()
                .find(|(_, spec, left)| *left > 0 && spec.check(&bytes).is_ok());
            match hit {
                Some((step, spec, left)) => {
                    *left -= 1;
                    let (step, checked) = (*step, Subject::Message(Written::of(spec)));
                    self.scripted_pause(step.after);
                    self.answered();
                    self.capture_from_message(step, spec.descriptor(), &bytes);
                    self.record(step, StepOutcome::Passed, checked, Some(began.elapsed()), 1);
                }
                None => {
                    let diffs = first_spec.check(&bytes).err().unwrap_or_default();
                    let reason = FailureReason::NoneOfGroup {
                        received: MessageData {
                            descriptor: first_spec.descriptor().clone(),
                            bytes,
                        },
                        diffs,
                    };
                    return Err(self.failure(group, reason));
                }
            }
        }
        Ok(())
    }
}
