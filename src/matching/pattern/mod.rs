//! Expected messages: built from a scenario node against the message type, checked against
//! what a peer sent.

mod compare;
mod compile;
mod direct;
mod render;

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DynamicMessage, FieldDescriptor, MessageDescriptor, Value};

use super::matcher::{Matcher, SpecError};
use crate::scenario::node::Node;
use compare::{check_matchers, compare_exact, compare_message};
use compile::{
    compile_fields, compile_well_known, field_list, find_matcher, is_well_known,
    with_generators_expanded,
};
pub(super) use render::scalar_text;
use render::shorten;
pub use render::{base64_encode, render_bytes, render_message};

/// One difference between what was expected and what was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The field path, such as `location.latitude` or `notes[2]`; empty for the message.
    pub path: String,
    /// What the scenario expected.
    pub expected: String,
    /// What arrived.
    pub actual: String,
}

/// Whether fields not named in a checked message must hold their default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// Every field is compared; absent ones must be default (the default mode).
    #[default]
    Exact,
    /// Only the fields written are compared.
    Partial,
}

/// What is expected of one field.
#[derive(Debug, Clone)]
pub(super) enum FieldPattern {
    /// Exactly this value.
    Exact(Value),
    /// A value that passes every matcher.
    Matchers(Vec<Matcher>),
    /// A message checked field by field.
    Message(MessagePattern),
    /// A list checked element by element.
    List(Vec<FieldPattern>),
}

/// What is expected of a message: the fields written, and whether the others must be default.
#[derive(Debug, Clone)]
pub(super) struct MessagePattern {
    pub(super) fields: Vec<(FieldDescriptor, FieldPattern)>,
    pub(super) mode: MatchMode,
}

/// A message as a scenario writes it: what may be sent, and what a received one is checked
/// against.
#[derive(Debug, Clone)]
pub struct MessageSpec {
    descriptor: MessageDescriptor,
    /// The encoding of the concrete message, when the node holds no matcher: to send, to
    /// compare a received message byte for byte, and (decoded) to show.
    encoded: Option<Bytes>,
    /// The check for a received message.
    pattern: Top,
    /// Where the first matcher is, when there is one (such a message cannot be sent).
    first_matcher: Option<crate::scenario::node::Pos>,
    /// The node as written, in compact JSON, for output when it holds matchers.
    written: String,
}

/// The check at the top of a message.
#[derive(Debug, Clone)]
pub(super) enum Top {
    /// The message's fields.
    Fields(MessagePattern),
    /// Matchers on a whole well-known wrapper (`server: {$regex: …}` for a StringValue).
    Wrapper(FieldDescriptor, Vec<Matcher>),
    /// Exactly the message with this encoding (well-known types written as their JSON
    /// value), decoded only to compare a message whose bytes differ: a long script holds
    /// one per step, and bytes take a fraction of a decoded message's memory.
    Exact(Bytes),
}

impl MessageSpec {
    /// Builds a message of type `descriptor` from `node`, checking every field name and
    /// value against the type.
    pub fn compile(
        node: &Node,
        descriptor: &MessageDescriptor,
        mode: MatchMode,
    ) -> Result<MessageSpec, SpecError> {
        let expanded = with_generators_expanded(node)?;
        let node = &expanded;
        let first_matcher = find_matcher(node)?;
        let (pattern, concrete) = if is_well_known(descriptor)
            && node
                .as_map()
                .is_none_or(|m| m.iter().all(|(k, _)| k.name.starts_with('$')))
        {
            compile_well_known(node, descriptor)?
        } else {
            let entries = node.as_map().ok_or_else(|| {
                SpecError::new(
                    node.pos,
                    format!(
                        "a {} message is a mapping of its fields ({}), found {}",
                        descriptor.full_name(),
                        field_list(descriptor),
                        node.kind()
                    ),
                )
            })?;
            let mut message = DynamicMessage::new(descriptor.clone());
            let pattern = compile_fields(entries, descriptor, mode, &mut message)?;
            (Top::Fields(pattern), Some(message))
        };
        let encoded = match (&pattern, first_matcher) {
            (_, Some(_)) => None,
            // Already encoded for the check: shared, not encoded twice.
            (Top::Exact(bytes), None) => Some(bytes.clone()),
            (_, None) => concrete.map(|m| Bytes::from(m.encode_to_vec())),
        };
        Ok(MessageSpec {
            descriptor: descriptor.clone(),
            encoded,
            pattern,
            first_matcher,
            // Only a message with matchers is shown as written (others render as JSON).
            written: if first_matcher.is_some() {
                node.to_json().to_string()
            } else {
                String::new()
            },
        })
    }

    /// The encoded message to send, when it holds no matcher.
    pub fn to_send(&self) -> Option<&Bytes> {
        self.encoded.as_ref()
    }

    /// Where the first matcher is written, when the message holds one.
    pub fn first_matcher(&self) -> Option<crate::scenario::node::Pos> {
        self.first_matcher
    }

    /// The message type.
    pub fn descriptor(&self) -> &MessageDescriptor {
        &self.descriptor
    }

    /// A one-line rendering for output: the JSON of the message, or the pattern, cut short
    /// when it is long.
    pub fn display(&self) -> String {
        let full = match &self.encoded {
            Some(bytes) => match DynamicMessage::decode(self.descriptor.clone(), &bytes[..]) {
                Ok(message) => render_message(&message),
                Err(e) => format!("<unprintable: {e}>"),
            },
            None => self.written.clone(),
        };
        shorten(full)
    }

    /// Checks a received encoded message. Equal bytes pass at once; otherwise the message
    /// is decoded and compared field by field, so that equal messages encoded differently
    /// (field order, defaults written, unknown fields) still match.
    pub fn check(&self, received: &[u8]) -> Result<(), Vec<Mismatch>> {
        if self.matches_exact_bytes(received) {
            return Ok(());
        }
        let message = DynamicMessage::decode(self.descriptor.clone(), received).map_err(|e| {
            vec![Mismatch {
                path: String::new(),
                expected: format!("a {} message", self.descriptor.full_name()),
                actual: format!("bytes that do not decode as one ({e})"),
            }]
        })?;
        self.check_message(&message)
    }

    /// Whether the received bytes are exactly the expected encoding (the fast path).
    fn matches_exact_bytes(&self, received: &[u8]) -> bool {
        self.exact_encoding().map(|b| &b[..]) == Some(received)
    }

    /// The encoding of the one message that passes, when the check is exact (no matcher,
    /// every field compared): an index key for received messages, once they are decoded
    /// and encoded again the same way.
    pub fn exact_encoding(&self) -> Option<&Bytes> {
        let exact = self.first_matcher.is_none()
            && matches!(&self.pattern, Top::Fields(p) if p.mode == MatchMode::Exact);
        self.encoded.as_ref().filter(|_| exact)
    }

    /// Checks a decoded message.
    pub fn check_message(&self, message: &DynamicMessage) -> Result<(), Vec<Mismatch>> {
        let mut diffs = Vec::new();
        match &self.pattern {
            Top::Fields(pattern) => compare_message(pattern, message, "", &mut diffs),
            Top::Wrapper(field, matchers) => {
                let value = message.get_field(field);
                check_matchers(matchers, &value, field, "", &mut diffs);
            }
            Top::Exact(encoded) => {
                match DynamicMessage::decode(self.descriptor.clone(), &encoded[..]) {
                    Ok(expected) => compare_exact(&expected, message, "", &mut diffs),
                    Err(e) => diffs.push(Mismatch {
                        path: String::new(),
                        expected: format!("the scenario's message, which does not decode ({e})"),
                        actual: render_message(message),
                    }),
                }
            }
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(diffs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::{load_pool, ProtoSources};
    use prost_reflect::ReflectMessage;

    /// `values.Types` from the test fixtures: every kind of field.
    fn types() -> MessageDescriptor {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/values");
        let sources = ProtoSources {
            files: vec![dir.join("types.proto")],
            import_paths: vec![dir],
            ..ProtoSources::default()
        };
        load_pool(&sources)
            .unwrap()
            .get_message_by_name("values.Types")
            .unwrap()
    }

    fn spec(yaml: &str) -> Result<MessageSpec, SpecError> {
        let node: Node = serde_saphyr::from_str(yaml).unwrap();
        MessageSpec::compile(&node, &types(), MatchMode::Exact)
    }

    fn message(yaml: &str) -> DynamicMessage {
        let node: Node = serde_saphyr::from_str(yaml).unwrap();
        DynamicMessage::deserialize(types(), node.to_json()).unwrap()
    }

    /// Checks a received message as it comes off the wire.
    fn check(spec: &MessageSpec, yaml: &str) -> Result<(), Vec<Mismatch>> {
        spec.check(&message(yaml).encode_to_vec())
    }

    #[test]
    fn map_diffs_name_missing_and_unexpected_keys_in_key_order() {
        let expected = spec("{counts: {a: 1, b: 2, d: 4}}").unwrap();
        for _ in 0..5 {
            let diffs = check(&expected, "{counts: {e: 5, b: 3, c: 9, d: 4}}").unwrap_err();
            let shown: Vec<(String, String, String)> = diffs
                .into_iter()
                .map(|d| (d.path, d.expected, d.actual))
                .collect();
            let row = |p: &str, e: &str, a: &str| (p.to_string(), e.to_string(), a.to_string());
            assert_eq!(
                shown,
                vec![
                    row("counts[\"a\"]", "1", "absent"),
                    row("counts[\"b\"]", "2", "3"),
                    row("counts[\"c\"]", "absent", "9"),
                    row("counts[\"e\"]", "absent", "5"),
                ]
            );
        }
        assert!(check(&expected, "{counts: {d: 4, b: 2, a: 1}}").is_ok());
    }

    #[test]
    fn a_well_known_message_is_kept_as_bytes_and_compared_by_value() {
        let string_value = types()
            .parent_pool()
            .get_message_by_name("google.protobuf.StringValue")
            .unwrap();
        let node: Node = serde_saphyr::from_str("\"hi\"").unwrap();
        let spec = MessageSpec::compile(&node, &string_value, MatchMode::Exact).unwrap();
        assert_eq!(spec.to_send().unwrap().as_ref(), b"\x0a\x02hi");
        assert_eq!(spec.display(), "\"hi\"");
        // The same value encoded differently (written twice, the last one wins) passes…
        assert!(spec.check(b"\x0a\x02no\x0a\x02hi").is_ok());
        // …and its twin, whose last value differs, fails.
        let diffs = spec.check(b"\x0a\x02hi\x0a\x02no").unwrap_err();
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert_eq!(diffs[0].expected, "\"hi\"");
    }

    fn at(value: crate::scenario::node::NodeValue) -> Node {
        Node {
            pos: crate::scenario::node::Pos::default(),
            value,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Values are sacred: a message held as its encoding sends exactly what it says,
        /// shows it, passes its own value however encoded, and fails any other.
        #[test]
        fn a_message_held_as_bytes_keeps_its_value(
            text in proptest::prelude::any::<String>(),
            other in proptest::prelude::any::<String>(),
            big in proptest::prelude::any::<i64>(),
        ) {
            use crate::scenario::node::{Key, NodeValue};
            proptest::prop_assume!(text != other);
            let string_value = types()
                .parent_pool()
                .get_message_by_name("google.protobuf.StringValue")
                .unwrap();
            let wrapped = |s: &str| {
                let mut m = DynamicMessage::new(string_value.clone());
                m.set_field_by_name("value", Value::String(s.to_string()));
                m
            };
            let spec = MessageSpec::compile(&at(NodeValue::Str(text.clone())), &string_value, MatchMode::Exact).unwrap();
            let expected = wrapped(&text);
            proptest::prop_assert_eq!(&spec.to_send().unwrap()[..], &expected.encode_to_vec()[..]);
            proptest::prop_assert_eq!(spec.display(), shorten(render_message(&expected)));
            // The other value, then this one written out (even when empty): the last wins.
            let mut twice = wrapped(&other).encode_to_vec();
            twice.push(0x0a);
            prost::encoding::encode_varint(text.len() as u64, &mut twice);
            twice.extend(text.as_bytes());
            proptest::prop_assert!(spec.check(&twice).is_ok());
            proptest::prop_assert!(spec.check(&wrapped(&other).encode_to_vec()).is_err());

            let key = |name: &str| Key { pos: crate::scenario::node::Pos::default(), name: name.to_string() };
            let fields = at(NodeValue::Map(vec![
                (key("text"), at(NodeValue::Str(text.clone()))),
                (key("big"), at(NodeValue::Int(big))),
            ]));
            let spec = MessageSpec::compile(&fields, &types(), MatchMode::Exact).unwrap();
            let mut expected = DynamicMessage::new(types());
            expected.set_field_by_name("text", Value::String(text.clone()));
            expected.set_field_by_name("big", Value::I64(big));
            proptest::prop_assert_eq!(&spec.to_send().unwrap()[..], &expected.encode_to_vec()[..]);
            proptest::prop_assert_eq!(spec.display(), shorten(render_message(&expected)));
            proptest::prop_assert!(spec.check(&expected.encode_to_vec()).is_ok());
            expected.set_field_by_name("text", Value::String(other.clone()));
            proptest::prop_assert!(spec.check(&expected.encode_to_vec()).is_err());
        }
    }

    #[test]
    fn two_members_of_a_oneof_are_an_error_at_the_second() {
        let err = spec("{left: a, right: 2}").unwrap_err();
        assert!(err.message.contains("oneof `choice`"), "{}", err.message);
        assert_eq!(err.pos.column, 11);
        assert!(spec("{left: a}").is_ok());
    }

    #[test]
    fn text_is_typed_by_the_field_it_lands_in() {
        let typed = spec(
            r#"{flag: "true", wrapped_bool: "false", big: "-9223372036854775808", ratio: "1.5", color: "RED", text: "01234"}"#,
        )
        .unwrap();
        let plain = spec(
            "{flag: true, wrapped_bool: false, big: -9223372036854775808, ratio: 1.5, color: RED, text: \"01234\"}",
        )
        .unwrap();
        assert_eq!(typed.to_send(), plain.to_send());
        assert!(spec(r#"{flag: "NO"}"#).is_err());
        assert!(spec(r#"{text: "NO"}"#).is_ok());
    }

    #[test]
    fn captured_text_is_the_proto3_json_value_without_quotes() {
        let m = message(
            r#"{at: "2026-01-02T03:04:05Z", took: "1.5s", wrapped_int: "9007199254740993", wrapped_text: "a\"b", data: "AAE=", color: GREEN, ratio: "-Infinity", big: "-1"}"#,
        );
        let text = |name: &str| {
            let field = m.descriptor().get_field_by_name(name).unwrap();
            scalar_text(&m.get_field(&field), &field)
        };
        assert_eq!(text("at"), "2026-01-02T03:04:05Z");
        assert_eq!(text("took"), "1.500s");
        assert_eq!(text("wrapped_int"), "9007199254740993");
        assert_eq!(text("wrapped_text"), "a\"b");
        assert_eq!(text("data"), "AAE=");
        assert_eq!(text("color"), "GREEN");
        assert_eq!(text("ratio"), "-Infinity");
        assert_eq!(text("big"), "-1");
    }
}
