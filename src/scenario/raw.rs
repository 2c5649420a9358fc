//! The scenario file as written: serde types that mirror the YAML, with positions.
//!
//! Unknown keys and wrong types are rejected here by serde-saphyr with their line and
//! column; meaning (methods, messages, durations) is checked in [`super::load`].

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::node::{At, Node, Pos};

/// A string with its position.
pub(super) type Located = At<String>;

/// The whole file. The call keys (`call`, `script`, …) may stand at the top for a file
/// with a single call, or under `calls:` for several.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub name: Option<Located>,
    pub proto: Option<Node>,
    pub protoset: Option<Node>,
    pub reflect: Option<At<bool>>,
    pub import_paths: Option<Vec<Located>>,
    pub target: Option<Located>,
    pub listen: Option<Located>,
    pub vars: Option<RawVars>,
    pub concurrent: Option<bool>,
    #[serde(rename = "match")]
    pub match_mode: Option<Located>,
    pub call: Option<Located>,
    pub timeout: Option<Located>,
    pub deadline_header: Option<bool>,
    pub metadata: Option<Node>,
    pub compression: Option<Located>,
    pub script: Option<Vec<RawStepAt>>,
    pub calls: Option<Vec<At<RawCall>>>,
}

/// `vars:` — names and values, each value the text of its scalar as written (`NO` and
/// `01234` stay text).
#[derive(Debug, Default)]
pub(super) struct RawVars(pub Vec<(Located, Located)>);

impl<'de> Deserialize<'de> for RawVars {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(VarsVisitor)
    }
}

struct VarsVisitor;

impl<'de> Visitor<'de> for VarsVisitor {
    type Value = RawVars;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of variable names to values (NAME: VALUE)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawVars, A::Error> {
        let mut vars = Vec::new();
        while let Some(name) = map.next_key::<Located>()? {
            let value = map
                .next_value::<At<Option<String>>>()
                .ok()
                .and_then(|At { pos, value }| value.map(|value| At { pos, value }))
                .ok_or_else(|| {
                    de::Error::custom(format!(
                        "variable `{}` takes a scalar value (text, a number, true or false)",
                        name.value
                    ))
                })?;
            vars.push((name, value));
        }
        Ok(RawVars(vars))
    }
}

/// One call under `calls:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCall {
    pub id: Option<Located>,
    pub name: Option<Located>,
    pub call: Located,
    pub timeout: Option<Located>,
    pub deadline_header: Option<bool>,
    pub metadata: Option<Node>,
    pub compression: Option<Located>,
    #[serde(rename = "match")]
    pub match_mode: Option<Located>,
    pub script: Vec<RawStepAt>,
}

/// One step and where it is written. A script of a million steps holds a million of
/// these: the position is kept, not serde-saphyr's two full locations (80 bytes a step).
#[derive(Debug)]
pub(super) struct RawStepAt {
    /// Where the step's word or mapping starts.
    pub pos: Pos,
    /// The step.
    pub step: RawStep,
}

impl<'de> Deserialize<'de> for RawStepAt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let At { pos, value } = At::<RawStep>::deserialize(deserializer)?;
        Ok(RawStepAt { pos, step: value })
    }
}

/// One step: `close` / `cancel` as a bare word, or a mapping with one action key and
/// optional modifiers.
#[derive(Debug)]
pub(super) enum RawStep {
    /// A bare word such as `close`.
    Word(String),
    /// A mapping with only `client:` (`true`) or only `server:` (`false`): most steps of
    /// a long script, held without a box of absent keys.
    Send(bool, Node),
    /// Any other mapping.
    Fields(Box<RawStepFields>),
}

impl RawStep {
    /// The step of a mapping's keys, in its smallest form.
    fn of_fields(fields: RawStepFields) -> RawStep {
        match fields {
            RawStepFields {
                client,
                server,
                expect: None,
                headers: None,
                close: None,
                cancel: None,
                status: None,
                message: None,
                trailers: None,
                details: None,
                sleep: None,
                unordered: None,
                group: None,
                after: None,
                within: None,
                repeat: None,
                match_mode: None,
                capture: None,
                optional: None,
                compressed: None,
            } => match (client, server) {
                (Some(node), None) => RawStep::Send(true, node),
                (None, Some(node)) => RawStep::Send(false, node),
                (client, server) => RawStep::Fields(Box::new(RawStepFields {
                    client,
                    server,
                    ..RawStepFields::default()
                })),
            },
            fields => RawStep::Fields(Box::new(fields)),
        }
    }
}

impl RawStepFields {
    /// The keys of a `client:` (`true`) or `server:` (`false`) step held as [`RawStep::Send`].
    pub(super) fn send(client: bool, node: Node) -> RawStepFields {
        let (client, server) = if client {
            (Some(node), None)
        } else {
            (None, Some(node))
        };
        RawStepFields {
            client,
            server,
            ..RawStepFields::default()
        }
    }
}

/// The keys a step mapping may hold. A long script holds one of these per step, so the
/// keys most steps leave out are boxed: an absent one costs a pointer, not its whole value
/// (a 1.78 M-step file held about 1 KB a step here before).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStepFields {
    pub client: Option<Node>,
    pub server: Option<Node>,
    pub expect: Option<Box<Node>>,
    pub headers: Option<Box<Node>>,
    #[serde(default, deserialize_with = "present")]
    pub close: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    pub cancel: Option<Option<bool>>,
    pub status: Option<Box<Node>>,
    pub message: Option<Box<Node>>,
    pub trailers: Option<Box<Node>>,
    pub details: Option<Box<Node>>,
    pub sleep: Option<Box<Located>>,
    pub unordered: Option<Vec<RawStepAt>>,
    pub group: Option<Box<RawGroup>>,
    pub after: Option<Box<Located>>,
    pub within: Option<Box<Located>>,
    pub repeat: Option<Box<Node>>,
    #[serde(rename = "match")]
    pub match_mode: Option<Box<Located>>,
    pub capture: Option<Box<Node>>,
    pub optional: Option<bool>,
    pub compressed: Option<bool>,
}

/// `group:` — steps repeated as a block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub repeat: Option<Node>,
    pub index: Option<Located>,
    pub steps: Vec<RawStepAt>,
}

impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StepVisitor)
    }
}

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = RawStep;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a step: `close`, `cancel`, or a mapping such as `client: {...}`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawStep, E> {
        Ok(RawStep::Word(v.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawStep, A::Error> {
        RawStepFields::deserialize(MapAccessDeserializer::new(map)).map(RawStep::of_fields)
    }
}

/// Tells a key written with no value (`close:`) from a key left out.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<bool>>, D::Error> {
    Option::<bool>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(yaml: &str) -> Vec<RawStepAt> {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn a_lone_message_key_is_held_small_and_anything_more_in_full() {
        let read = steps("- client: a\n- server: {x: 1}\n- {client: a, repeat: 2}\n- {client: a, server: b}\n- close\n");
        assert!(matches!(&read[0].step, RawStep::Send(true, node) if node.as_str() == Some("a")));
        assert!(matches!(&read[1].step, RawStep::Send(false, node) if node.as_map().is_some()));
        assert!(matches!(&read[2].step, RawStep::Fields(f) if f.repeat.is_some()));
        // Both keys stay together, for the loader to refuse where they are written.
        assert!(
            matches!(&read[3].step, RawStep::Fields(f) if f.client.is_some() && f.server.is_some())
        );
        assert!(matches!(&read[4].step, RawStep::Word(w) if w == "close"));
        let pos: Vec<(u32, u32)> = read.iter().map(|s| (s.pos.line, s.pos.column)).collect();
        assert_eq!(pos, [(1, 3), (2, 3), (3, 3), (4, 3), (5, 3)]);
    }
}
