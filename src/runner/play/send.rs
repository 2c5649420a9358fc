//! Steps this side performs: sending messages and ending the call with a status.

use super::{Player, StepOutcome};
use crate::matching::SpecError;
use crate::runner::io::{CallIo, FinalStatus, MessageFault};
use crate::runner::outcome::StepKind;
use crate::runner::outcome::{Failure, FailureReason, Subject, Written};
use crate::scenario::{MessageStep, StatusStep, Step};
use tokio::time::Instant;

impl<I: CallIo> Player<'_, I> {
    pub(super) async fn send(&mut self, step: &Step, message: &MessageStep) -> Result<(), Failure> {
        let (spec, _) = self.built(step, message)?;
        let bytes = spec.to_send().ok_or_else(|| {
            let pos = spec.first_matcher().unwrap_or(step.pos);
            let error = SpecError::new(pos, "the message holds a matcher: it cannot be sent");
            super::unbuildable(step.pos, StepKind::of(&step.action), error)
        })?;
        self.check_size(step, bytes.len())?;
        // Paced repetitions go one by one; the others go out as one queue item.
        let count = step.repeat.sent();
        let (rounds, per_round) = match step.after {
            Some(_) => (count, 1),
            None => (u64::from(count > 0), count),
        };
        for _ in 0..rounds {
            self.wait_after(step).await;
            self.io
                .send_messages(bytes, per_round, &mut self.pending)
                .await;
            if let Some(pairing) = self.pairing.as_mut() {
                pairing.sent(Instant::now());
            }
        }
        // What this side sends, it knows: captures work the same in both roles.
        if count > 0 {
            self.capture_from_message(step, spec.descriptor(), bytes);
        }
        self.capture_count(step, count);
        let sent = || Subject::Message(Written::of(&spec));
        self.record(step, StepOutcome::Performed, sent, None, count);
        Ok(())
    }

    /// A message over `--max-message-size` is not sent: the step fails, naming the limit.
    fn check_size(&mut self, step: &Step, size: usize) -> Result<(), Failure> {
        let size = size as u64;
        if size <= self.max_message_size {
            return Ok(());
        }
        let fault = MessageFault::TooLarge {
            size,
            limit: self.max_message_size,
        };
        let reason = FailureReason::BadMessage {
            sender: self.role,
            fault,
        };
        Err(self.failure(step, reason))
    }

    pub(super) async fn perform_status(&mut self, step: &Step, status: &StatusStep) {
        let message = status
            .message
            .as_ref()
            .and_then(|m| m.to_send())
            .unwrap_or_default()
            .to_string();
        let sent = Subject::Status {
            code: status.code,
            message: message.clone(),
        };
        let trailers = status.trailers_to_send(&message);
        self.capture_from_metadata(step, &trailers, &message);
        self.io
            .finish(FinalStatus {
                code: status.code,
                message,
                trailers,
            })
            .await;
        self.record(step, StepOutcome::Performed, || sent, None, 1);
    }
}
