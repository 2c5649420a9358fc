//! Checked messages: one by one, and unordered groups.

use std::borrow::Cow;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Player, StepOutcome};
use crate::matching::MessageSpec;
use crate::runner::io::CallIo;
use crate::runner::outcome::{
    Expected, Failure, FailureReason, MessageData, Seen, Subject, Written,
};
use crate::scenario::{Action, Role, Step};

impl<I: CallIo> Player<'_, I> {
    /// Takes the step's messages: its `min` must come; past it, each next message that
    /// fits is taken (up to `max`), and the first event that does not is left for the next
    /// step.
    pub(super) async fn receive(
        &mut self,
        step: &Step,
        expected: &MessageSpec,
    ) -> Result<(), Failure> {
        // A group's later rounds keep no record (see `record`): no clock to read.
        let began = (!self.later_round).then(Instant::now);
        let repeat = step.repeat;
        let mut taken = 0u64;
        while taken < repeat.max {
            let open = taken >= repeat.min;
            let (message, compressed) = match self.next_skipping_headers(step).await {
                Ok(Seen::Message {
                    message,
                    compressed,
                }) => (message, compressed),
                Ok(other) if open => {
                    self.unread(other);
                    break;
                }
                Err(_) if open => break,
                other => {
                    let wanted = Expected::Message(Written::of(expected));
                    let mut reason = self.missing_reason(step, wanted, other);
                    if repeat.min > 1 {
                        reason = FailureReason::TooFew {
                            came: taken,
                            min: repeat.min,
                            then: Box::new(reason),
                        };
                    }
                    return Err(self.failure(step, reason));
                }
            };
            let nth = (repeat.min > 1).then_some((taken + 1, repeat.min));
            if let Some(reason) = misfit(step, expected, &message.bytes, compressed, nth) {
                if open {
                    self.unread(Seen::Message {
                        message,
                        compressed,
                    });
                    break;
                }
                return Err(self.failure(step, reason));
            }
            // The peer paced each repetition by `after:`.
            self.scripted_pause(step.after);
            self.answered();
            self.capture_from_message(step, expected.descriptor(), &message.bytes);
            taken += 1;
        }
        self.capture_count(step, taken);
        let checked = || Subject::Message(Written::of(expected));
        let waited = began.map(|began| began.elapsed());
        self.record(step, StepOutcome::Passed, checked, waited, taken);
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

    /// Plays an `unordered:` group: sends this side's messages, then takes the peer's in
    /// any order. Each message goes to the first member it fits that can take another; the
    /// group ends once every member has its minimum and the next event fits no member that
    /// is still open.
    pub(super) async fn unordered(&mut self, group: &Step, steps: &[Step]) -> Result<(), Failure> {
        let mut members: Vec<Member<'_>> = Vec::new();
        for step in steps {
            match (&step.action, self.role) {
                (Action::Client(m), Role::Client) | (Action::Server(m), Role::Server) => {
                    self.send(step, m).await?
                }
                (Action::Client(m), Role::Server) | (Action::Server(m), Role::Client) => {
                    let (_, spec) = self.built(step, m)?;
                    members.push(Member {
                        step,
                        spec,
                        taken: 0,
                    });
                }
                _ => unreachable!("the loader allows only messages in unordered groups"),
            }
        }
        let began = Instant::now();
        while let Some(waiting) = members
            .iter()
            .find(|m| m.taken < m.step.repeat.min)
            .or_else(|| members.iter().find(|m| m.taken < m.step.repeat.max))
        {
            let needed = waiting.taken < waiting.step.repeat.min;
            let (first, first_spec) = (waiting.step, waiting.spec.clone());
            let (message, compressed) = match self.next_skipping_headers(first).await {
                Ok(Seen::Message {
                    message,
                    compressed,
                }) => (message, compressed),
                Ok(other) if !needed => {
                    self.unread(other);
                    break;
                }
                Err(_) if !needed => break,
                other => {
                    let wanted = Expected::Message(Written::of(&first_spec));
                    return Err(self.missing(first, wanted, other));
                }
            };
            let hit = members.iter_mut().find(|m| {
                m.taken < m.step.repeat.max
                    && m.spec.check(&message.bytes).is_ok()
                    && flag_fits(m.step, compressed)
            });
            let Some(member) = hit else {
                if !needed {
                    self.unread(Seen::Message {
                        message,
                        compressed,
                    });
                    break;
                }
                let (at, reason) = group_misfit(group, &members, &first_spec, message, compressed);
                return Err(self.failure(at, reason));
            };
            member.taken += 1;
            let (step, checked) = (member.step, Subject::Message(Written::of(&member.spec)));
            let descriptor = member.spec.descriptor().clone();
            self.scripted_pause(step.after);
            self.answered();
            self.capture_from_message(step, &descriptor, &message.bytes);
            self.record(
                step,
                StepOutcome::Passed,
                || checked,
                Some(began.elapsed()),
                1,
            );
        }
        for member in &members {
            self.capture_count(member.step, member.taken);
        }
        Ok(())
    }
}

/// Why a received message (its bytes, its frame's compressed flag) does not fit `step`,
/// whose message is `expected`: its content, else its flag; `None` when it fits.
fn misfit(
    step: &Step,
    expected: &MessageSpec,
    bytes: &Bytes,
    compressed: Option<bool>,
    nth: Option<(u64, u64)>,
) -> Option<FailureReason> {
    match expected.check(bytes) {
        Err(diffs) => Some(FailureReason::Mismatch {
            expected: Written::of(expected),
            received: MessageData {
                descriptor: expected.descriptor().clone(),
                bytes: bytes.clone(),
            },
            diffs,
            nth,
        }),
        Ok(()) if !flag_fits(step, compressed) => Some(flag_mismatch(step, compressed, nth)),
        Ok(()) => None,
    }
}

/// Where and why a message that fits no open member of an `unordered:` group fails it: at
/// a member whose content it fits, its flag; else, at the group, its content told against
/// the first member still waiting (whose message is `first`).
fn group_misfit<'s>(
    group: &'s Step,
    members: &[Member<'s>],
    first: &MessageSpec,
    message: MessageData,
    compressed: Option<bool>,
) -> (&'s Step, FailureReason) {
    let by_content = members
        .iter()
        .find(|m| m.taken < m.step.repeat.max && m.spec.check(&message.bytes).is_ok());
    if let Some(member) = by_content {
        return (member.step, flag_mismatch(member.step, compressed, None));
    }
    let reason = FailureReason::NoneOfGroup {
        diffs: first.check(&message.bytes).err().unwrap_or_default(),
        received: MessageData {
            descriptor: first.descriptor().clone(),
            bytes: message.bytes,
        },
    };
    (group, reason)
}

/// Whether a message whose frame carried the flag `compressed` is what `step` (a message
/// step) says of it: any flag when it has no `compressed:`.
pub(super) fn flag_fits(step: &Step, compressed: Option<bool>) -> bool {
    wanted_flag(step).is_none_or(|wanted| compressed == Some(wanted))
}

/// The `compressed:` of a message step.
fn wanted_flag(step: &Step) -> Option<bool> {
    match &step.action {
        Action::Client(m) | Action::Server(m) => m.compressed,
        _ => None,
    }
}

/// Why a message whose content fits `step` fails it: its frame's compressed flag.
fn flag_mismatch(step: &Step, compressed: Option<bool>, nth: Option<(u64, u64)>) -> FailureReason {
    FailureReason::CompressedFlag {
        expected: wanted_flag(step).unwrap_or_default(),
        received: compressed,
        nth,
    }
}

/// A checked member of an `unordered:` group, and how many of its messages came.
struct Member<'s> {
    step: &'s Step,
    spec: Cow<'s, MessageSpec>,
    taken: u64,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::{load_str, LoadOptions, PoolCache};

    const FLAGGED: &str = "call: HelloWorld/hello
compression: gzip
script:
  - client: \"Ann\"
    compressed: true
  - server: \"Hello Ann\"
";

    /// The script's `client:` and `server:` steps.
    fn message_steps() -> Vec<Step> {
        let options = LoadOptions::default();
        let path = Path::new("f.yaml");
        let scenario =
            load_str(path, FLAGGED, &options, &mut PoolCache::default()).expect("a valid scenario");
        let script = scenario.calls[0].script.clone();
        script
            .into_iter()
            .filter(|s| matches!(s.action, Action::Client(_) | Action::Server(_)))
            .collect()
    }

    #[test]
    fn a_message_step_checks_the_flag_only_when_it_gives_one() {
        let steps = message_steps();
        let (flagged, free) = (&steps[0], &steps[1]);
        assert!(flag_fits(flagged, Some(true)));
        assert!(!flag_fits(flagged, Some(false)));
        assert!(
            !flag_fits(flagged, None),
            "a flag not seen is not the one asked for"
        );
        for seen in [Some(true), Some(false), None] {
            assert!(
                flag_fits(free, seen),
                "no `compressed:`: any flag ({seen:?})"
            );
        }
        let FailureReason::CompressedFlag {
            expected, received, ..
        } = flag_mismatch(flagged, Some(false), None)
        else {
            panic!("a flag mismatch");
        };
        assert_eq!((expected, received), (true, Some(false)));
    }
}
