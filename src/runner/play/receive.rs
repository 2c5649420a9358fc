//! Checked messages: one by one, and unordered groups.

use std::borrow::Cow;
use std::collections::VecDeque;

use tokio::time::Instant;

use super::{Player, StepOutcome};
use crate::matching::{render_bytes, MessageSpec};
use crate::runner::io::{CallIo, PeerEvent};
use crate::runner::outcome::{Failure, FailureKind};
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
                Ok(PeerEvent::Message(bytes)) => bytes,
                other => {
                    return Err(self.missing(
                        step,
                        &format!("{} message {}", self.peer(), expected.display()),
                        other,
                    ))
                }
            };
            if let Err(diffs) = expected.check(&bytes) {
                let nth = if step.repeat > 1 {
                    format!(" (message {} of {})", index + 1, step.repeat)
                } else {
                    String::new()
                };
                return Err(self.failure(
                    step,
                    FailureKind::Mismatch,
                    format!(
                        "expected {}{nth}, received {}",
                        expected.display(),
                        render_bytes(expected.descriptor(), &bytes)
                    ),
                    diffs,
                ));
            }
            self.answered();
            self.capture_from_message(step, expected.descriptor(), &bytes);
        }
        self.record(
            step,
            StepOutcome::Passed,
            expected.display(),
            Some(began.elapsed()),
            step.repeat,
        );
        Ok(())
    }

    /// A checked message answers the oldest unanswered send: reports its latency.
    pub(super) fn answered(&mut self) {
        if let Some(sent) = self.unanswered.as_mut().and_then(VecDeque::pop_front) {
            self.observer.message_latency(sent.elapsed());
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
                Ok(PeerEvent::Message(bytes)) => bytes,
                other => {
                    return Err(self.missing(
                        first,
                        &format!("{} message {}", self.peer(), first_spec.display()),
                        other,
                    ))
                }
            };
            let hit = expected
                .iter_mut()
                .find(|(_, spec, left)| *left > 0 && spec.check(&bytes).is_ok());
            match hit {
                Some((step, spec, left)) => {
                    *left -= 1;
                    let (step, detail) = (*step, spec.display());
                    self.answered();
                    self.capture_from_message(step, spec.descriptor(), &bytes);
                    self.record(step, StepOutcome::Passed, detail, Some(began.elapsed()), 1);
                }
                None => {
                    let diffs = first_spec.check(&bytes).err().unwrap_or_default();
                    return Err(self.failure(
                        group,
                        FailureKind::Mismatch,
                        format!(
                            "received {}, which matches none of the messages still expected in the group",
                            render_bytes(first_spec.descriptor(), &bytes)
                        ),
                        diffs,
                    ));
                }
            }
        }
        Ok(())
    }
}
