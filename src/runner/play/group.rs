//! `group:` — a block of steps played round by round, its index variable set for each.
//!
//! The side that performs the group's first step plays `send` rounds. The checking side
//! plays `min` rounds, then starts another (up to `max`) as long as the next event is a
//! message that fits the group's first step; any other event is left for the step after
//! the group. The steps of the first round are recorded one by one; later rounds record
//! only a failure, and the group's record counts the rounds (memory stays flat).

use super::receive::flag_fits;
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
                self.captures.set(index, index_text(round));
            }
            let peek = !performs && round >= repeat.min;
            if peek && !self.starts_round(group).await? {
                break;
            }
            self.later_round = round > 0;
            for inner in &group.steps {
                self.single(inner).await?;
            }
            round += 1;
        }
        self.later_round = false;
        self.capture_count(step, round);
        let outcome = if performs {
            StepOutcome::Performed
        } else {
            StepOutcome::Passed
        };
        self.record(step, outcome, || Subject::Rounds(round), None, 1);
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
                let fits = matches!(&seen, Seen::Message { message, compressed }
                    if spec.check(&message.bytes).is_ok() && flag_fits(first, *compressed));
                self.unread(seen);
                fits
            }
            Err(_) => false,
        };
        Ok(fits)
    }
}

/// The text `${INDEX}` stands for in round `round`: its decimal digits.
fn index_text(round: u64) -> String {
    round.to_string()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;
    use prost_reflect::{DynamicMessage, Value};

    use super::*;
    use crate::scenario::{load_str, CapturedVars, LoadOptions, PoolCache, Scenario};

    const GROUP: &str = "call: calculator.CalculatorService/Maximum
script:
  - group:
      repeat: 3
      index: i
      steps:
        - client:
            number: ${i}
        - server:
            result: ${i}
";

    fn scenario() -> Scenario {
        let options = LoadOptions::default();
        load_str(
            Path::new("g.yaml"),
            GROUP,
            &options,
            &mut PoolCache::default(),
        )
        .expect("a valid scenario")
    }

    proptest! {
        /// The index goes into a message exactly: round n sends the number n.
        #[test]
        fn each_round_sends_its_own_index(round in 0u64..=1_000_000_000) {
            let scenario = scenario();
            let Action::Group(group) = &scenario.calls[0].script[0].action else {
                panic!("a group");
            };
            let Action::Client(step) = &group.steps[0].action else {
                panic!("a client message");
            };
            let template = step.template.as_ref().expect("a template");
            let vars = CapturedVars::from([("i".to_string(), index_text(round))]);
            let (sent, _) = template.resolve(&vars).expect("builds");
            let bytes = sent.to_send().expect("sendable").clone();
            let message = DynamicMessage::decode(sent.descriptor().clone(), bytes).unwrap();
            let number = message.get_field_by_name("number").unwrap().into_owned();
            prop_assert_eq!(number, Value::I64(round as i64));
        }
    }
}
