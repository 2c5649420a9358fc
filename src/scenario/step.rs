//! Reading one step: which action it is (one [`ActionKey`]), its modifiers, its count, and
//! the steps inside `unordered:` and `group:`.

use super::error::LoadError;
use super::load::{Loader, StepContext};
use super::model::{Action, Group, Repeat, Step};
use super::node::Pos;
use super::raw::{RawGroup, RawStep, RawStepAt, RawStepFields};
use crate::matching::MetadataSpec;

/// The key that makes a step what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActionKey {
    Client,
    Server,
    Headers,
    Close,
    Cancel,
    Status,
    Sleep,
    Unordered,
    Group,
}

impl ActionKey {
    /// Every action key, in the order the documentation lists them.
    const ALL: [ActionKey; 9] = [
        ActionKey::Client,
        ActionKey::Server,
        ActionKey::Headers,
        ActionKey::Close,
        ActionKey::Cancel,
        ActionKey::Status,
        ActionKey::Sleep,
        ActionKey::Unordered,
        ActionKey::Group,
    ];

    /// The key as written.
    fn name(self) -> &'static str {
        ACTION_KEYS[self as usize]
    }

    fn present(self, fields: &RawStepFields) -> bool {
        match self {
            ActionKey::Client => fields.client.is_some(),
            ActionKey::Server => fields.server.is_some(),
            ActionKey::Headers => fields.headers.is_some(),
            ActionKey::Close => fields.close.is_some(),
            ActionKey::Cancel => fields.cancel.is_some(),
            ActionKey::Status => fields.status.is_some(),
            ActionKey::Sleep => fields.sleep.is_some(),
            ActionKey::Unordered => fields.unordered.is_some(),
            ActionKey::Group => fields.group.is_some(),
        }
    }
}

/// The keys that make a step what it is, as written (in [`ActionKey`] order).
pub(crate) const ACTION_KEYS: &[&str] = &[
    "client",
    "server",
    "headers",
    "close",
    "cancel",
    "status",
    "sleep",
    "unordered",
    "group",
];

/// A step read with no count and no modifiers.
fn bare(pos: Pos, action: Action) -> Step {
    Step {
        pos,
        action,
        after: None,
        within: None,
        repeat: Repeat::exactly(1),
        implied: false,
        capture: Vec::new(),
    }
}

impl Loader<'_> {
    /// Reads one step; `parent` is the `unordered:` or `group:` it stands in.
    pub(super) fn step(
        &self,
        raw: &RawStepAt,
        context: &StepContext,
        parent: Option<ActionKey>,
    ) -> Result<Step, LoadError> {
        let pos = raw.pos;
        let send;
        let fields = match &raw.step {
            RawStep::Word(word) => return self.word_step(pos, word),
            RawStep::Send(client, node) => {
                send = RawStepFields::send(*client, node.clone());
                &send
            }
            RawStep::Fields(fields) => fields,
        };
        let key = self.action_key(pos, fields)?;
        self.check_modifiers(pos, key, fields)?;
        let action = self.action(pos, key, fields, context, parent)?;
        let repeat = self.repeat(pos, &action, fields)?;
        let capture = self.captures(fields.capture.as_deref(), &action, context)?;
        let duration = |key: &str, raw: &Option<Box<super::raw::Located>>| {
            raw.as_ref().map(|d| self.duration(d, key)).transpose()
        };
        Ok(Step {
            after: duration("after", &fields.after)?,
            within: duration("within", &fields.within)?,
            repeat,
            capture,
            ..bare(pos, action)
        })
    }

    fn word_step(&self, pos: Pos, word: &str) -> Result<Step, LoadError> {
        let action = match word {
            "close" => Action::Close,
            "cancel" => Action::Cancel,
            other => {
                return Err(self.err(pos, format!(
                    "unknown step `{other}`: a step is `close`, `cancel`, or a mapping with one of {}",
                    ACTION_KEYS.join(", ")
                )))
            }
        };
        Ok(bare(pos, action))
    }

    /// The one action key of a step mapping.
    fn action_key(&self, pos: Pos, fields: &RawStepFields) -> Result<ActionKey, LoadError> {
        let present: Vec<ActionKey> = ActionKey::ALL
            .into_iter()
            .filter(|k| k.present(fields))
            .collect();
        match present.as_slice() {
            [one] => Ok(*one),
            [] => Err(self.err(
                pos,
                format!(
                    "the step has no action: give one of {}",
                    ACTION_KEYS.join(", ")
                ),
            )),
            many => Err(self.err(
                pos,
                format!(
                    "one step does one thing, but this one has {}: split it into several steps",
                    many.iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )),
        }
    }

    /// Modifiers that do not go with the step's action.
    fn check_modifiers(
        &self,
        pos: Pos,
        key: ActionKey,
        fields: &RawStepFields,
    ) -> Result<(), LoadError> {
        let message = matches!(key, ActionKey::Client | ActionKey::Server);
        let wrong = if matches!(fields.close, Some(Some(false)))
            || matches!(fields.cancel, Some(Some(false)))
        {
            format!("`{}: false` does nothing: leave the step out", key.name())
        } else if key != ActionKey::Status
            && (fields.message.is_some() || fields.trailers.is_some() || fields.details.is_some())
        {
            "`message:`, `trailers:` and `details:` go with `status:`".to_string()
        } else if !message && fields.expect.is_some() {
            "`expect:` goes with `client:` or `server:`".to_string()
        } else if !message && fields.optional.is_some() {
            "`optional:` goes with `client:` or `server:` messages".to_string()
        } else if !message && fields.compressed.is_some() {
            "`compressed:` goes with `client:` or `server:` messages".to_string()
        } else if key == ActionKey::Group && fields.repeat.is_some() {
            "a group's `repeat:` goes inside `group:`, beside its `steps:`".to_string()
        } else {
            return Ok(());
        };
        Err(self.err(pos, wrong))
    }

    fn action(
        &self,
        pos: Pos,
        key: ActionKey,
        fields: &RawStepFields,
        context: &StepContext,
        parent: Option<ActionKey>,
    ) -> Result<Action, LoadError> {
        let mode = self.match_mode(fields.match_mode.as_deref(), context.mode)?;
        let message = |node: &Option<super::node::Node>, input: bool| {
            let descriptor = if input {
                context.method.input()
            } else {
                context.method.output()
            };
            let node = node.as_ref().expect("the action key is present");
            self.message_step(fields, node, &descriptor, mode)
        };
        Ok(match key {
            ActionKey::Client => Action::Client(message(&fields.client, true)?),
            ActionKey::Server => Action::Server(message(&fields.server, false)?),
            ActionKey::Headers => {
                self.no_captured_use(fields.headers.as_deref(), "headers")?;
                let headers = fields.headers.as_ref().expect("the action key is present");
                Action::Headers(MetadataSpec::compile(headers).map_err(|e| self.spec_err(e))?)
            }
            ActionKey::Close => Action::Close,
            ActionKey::Cancel => Action::Cancel,
            ActionKey::Status => Action::Status(self.status(fields, context.method, mode)?),
            ActionKey::Sleep => {
                let sleep = fields.sleep.as_ref().expect("the action key is present");
                Action::Sleep(self.duration(sleep, "sleep")?)
            }
            ActionKey::Unordered => {
                let steps = fields
                    .unordered
                    .as_ref()
                    .expect("the action key is present");
                self.unordered(pos, steps, context, parent)?
            }
            ActionKey::Group => {
                let group = fields.group.as_ref().expect("the action key is present");
                self.group(pos, group, context, parent)?
            }
        })
    }

    fn unordered(
        &self,
        pos: Pos,
        raw: &[RawStepAt],
        context: &StepContext,
        parent: Option<ActionKey>,
    ) -> Result<Action, LoadError> {
        if parent == Some(ActionKey::Unordered) {
            return Err(self.err(pos, "`unordered:` groups cannot be nested"));
        }
        let steps = raw
            .iter()
            .map(|s| self.step(s, context, Some(ActionKey::Unordered)))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(bad) = steps
            .iter()
            .find(|s| !matches!(s.action, Action::Client(_) | Action::Server(_)))
        {
            return Err(self.err(
                bad.pos,
                format!(
                    "`unordered:` holds `client:` and `server:` messages only, not `{}`",
                    bad.action.keyword()
                ),
            ));
        }
        if steps.is_empty() {
            return Err(self.err(pos, "`unordered:` is empty"));
        }
        Ok(Action::Unordered(steps))
    }

    fn group(
        &self,
        pos: Pos,
        raw: &RawGroup,
        context: &StepContext,
        parent: Option<ActionKey>,
    ) -> Result<Action, LoadError> {
        if parent.is_some() {
            return Err(self.err(pos, "a `group:` cannot stand inside another group"));
        }
        if let Some(index) = &raw.index {
            let valid = !index.value.is_empty()
                && index
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                let message = format!(
                    "`index: {}` is not a variable name (letters, digits and `_`)",
                    index.value
                );
                return Err(self.err(index.pos, message));
            }
        }
        let steps = raw
            .steps
            .iter()
            .map(|s| self.step(s, context, Some(ActionKey::Group)))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(first) = steps.first() else {
            return Err(self.err(pos, "the group's `steps:` are empty"));
        };
        if let Some(bad) = steps.iter().find(|s| {
            !matches!(
                s.action,
                Action::Client(_) | Action::Server(_) | Action::Sleep(_) | Action::Unordered(_)
            )
        }) {
            return Err(self.err(
                bad.pos,
                format!(
                    "a `group:` repeats messages, sleeps and `unordered:` groups, not `{}`",
                    bad.action.keyword()
                ),
            ));
        }
        let opens_with_message =
            matches!(first.action, Action::Client(_) | Action::Server(_)) && first.repeat.min >= 1;
        let group = Group {
            steps,
            index: raw.index.as_ref().map(|i| i.value.clone()),
        };
        let repeat = self.group_repeat(raw)?;
        if !repeat.is_exact() && !opens_with_message {
            return Err(self.err(
                pos,
                "a group with a range of rounds starts with a message that is always there \
                 (the checking side tells a new round by it)",
            ));
        }
        Ok(Action::Group(group))
    }

    fn group_repeat(&self, raw: &RawGroup) -> Result<Repeat, LoadError> {
        super::repeat::parse(raw.repeat.as_ref(), false)
            .map_err(|(pos, message)| self.err(pos, message))
    }

    /// The step's count: `repeat:` and `optional:` (a group's is inside `group:`).
    fn repeat(
        &self,
        pos: Pos,
        action: &Action,
        fields: &RawStepFields,
    ) -> Result<Repeat, LoadError> {
        if let (Action::Group(_), Some(raw)) = (action, &fields.group) {
            return self.group_repeat(raw);
        }
        let optional = fields.optional.unwrap_or(false);
        let repeat = super::repeat::parse(fields.repeat.as_deref(), optional)
            .map_err(|(pos, message)| self.err(pos, message))?;
        let wrong = match action {
            Action::Client(_) | Action::Server(_) => None,
            Action::Sleep(_) if !repeat.is_exact() => {
                Some("a `sleep:` repeats a whole number of times, not a range".to_string())
            }
            Action::Sleep(_) => None,
            other => (repeat != Repeat::exactly(1)).then(|| {
                format!(
                    "`repeat:` applies to messages, sleeps and groups, not to `{}`",
                    other.keyword()
                )
            }),
        };
        if let Some(wrong) = wrong {
            return Err(self.err(pos, wrong));
        }
        Ok(repeat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_keys_follow_the_enum() {
        let names: Vec<&str> = ActionKey::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, ACTION_KEYS);
    }
}
