//! A field's value built straight from the scenario node, for the shapes whose proto3 JSON
//! reading is plain: text in a `string` field, a whole number in an integer field that can
//! hold it, a boolean in a `bool` field, and a mapping of such fields (named as in the
//! proto) in a message field. Every other shape goes through the JSON mapping
//! ([`super::compile::field_value`]), which also words the errors; the tests prove both
//! give the same value wherever this one gives any.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

use super::compile::is_well_known;
use crate::scenario::node::{Key, Node, NodeValue};

/// The value of `field` written as `node`, or `None` to leave it to the JSON mapping.
pub(super) fn field_value(node: &Node, field: &FieldDescriptor) -> Option<Value> {
    if field.is_list() || field.is_map() {
        return None;
    }
    kind_value(node, &field.kind())
}

fn kind_value(node: &Node, kind: &Kind) -> Option<Value> {
    match (&node.value, kind) {
        (NodeValue::Str(text), Kind::String) => Some(Value::String(text.clone())),
        (NodeValue::Bool(b), Kind::Bool) => Some(Value::Bool(*b)),
        (NodeValue::Int(n), kind) => integer(*n, kind),
        (NodeValue::Map(entries), Kind::Message(desc)) if !is_well_known(desc) => {
            message(entries, desc).map(Value::Message)
        }
        _ => None,
    }
}

fn integer(n: i64, kind: &Kind) -> Option<Value> {
    match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => i32::try_from(n).ok().map(Value::I32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Some(Value::I64(n)),
        Kind::Uint32 | Kind::Fixed32 => u32::try_from(n).ok().map(Value::U32),
        Kind::Uint64 | Kind::Fixed64 => u64::try_from(n).ok().map(Value::U64),
        _ => None,
    }
}

/// A message of plain fields, each named as in the proto, none twice, none in a oneof.
fn message(entries: &[(Key, Node)], desc: &MessageDescriptor) -> Option<DynamicMessage> {
    let mut message = DynamicMessage::new(desc.clone());
    let mut numbers = Vec::with_capacity(entries.len());
    for (key, node) in entries {
        let field = desc.get_field_by_name(&key.name)?;
        if field.containing_oneof().is_some() || numbers.contains(&field.number()) {
            return None;
        }
        numbers.push(field.number());
        message.set_field(&field, field_value(node, &field)?);
    }
    Some(message)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message as _;

    use super::*;
    use crate::protos::{load_pool, ProtoSources};
    use crate::scenario::node::Pos;

    fn descriptors() -> Vec<MessageDescriptor> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/values");
        let sources = ProtoSources {
            files: vec![dir.join("kinds.proto"), dir.join("legacy.proto")],
            import_paths: vec![dir],
            ..ProtoSources::default()
        };
        let pool = load_pool(&sources).unwrap();
        ["values.Kinds", "values.Legacy"]
            .iter()
            .map(|name| pool.get_message_by_name(name).unwrap())
            .collect()
    }

    fn node(value: NodeValue) -> Node {
        Node {
            pos: Pos::default(),
            value,
        }
    }

    /// Values around the edges of each integer kind, text, booleans and nested mappings
    /// whose keys are field names (or not).
    fn value(names: Vec<String>) -> impl Strategy<Value = Node> {
        let int = prop_oneof![
            prop::sample::select(vec![
                0,
                1,
                -1,
                i64::from(i32::MAX),
                i64::from(i32::MAX) + 1,
                i64::from(i32::MIN),
                i64::from(i32::MIN) - 1,
                i64::from(u32::MAX),
                i64::from(u32::MAX) + 1,
                i64::MAX,
                i64::MIN,
            ]),
            any::<i64>(),
        ];
        let leaf = prop_oneof![
            int.prop_map(NodeValue::Int),
            any::<bool>().prop_map(NodeValue::Bool),
            prop_oneof![
                Just(String::new()),
                "[a-z0-9 ]{0,6}",
                Just("true".to_owned())
            ]
            .prop_map(NodeValue::Str),
            Just(NodeValue::Null),
            (0.0..2.0f64).prop_map(NodeValue::Float),
        ]
        .prop_map(node);
        let key = prop_oneof![
            3 => prop::sample::select(names),
            1 => "[a-z]{1,5}",
        ];
        leaf.prop_recursive(3, 16, 4, move |inner| {
            prop::collection::vec((key.clone(), inner), 0..4).prop_map(|entries| {
                let entries = entries
                    .into_iter()
                    .map(|(name, value)| {
                        (
                            Key {
                                pos: Pos::default(),
                                name,
                            },
                            value,
                        )
                    })
                    .collect();
                node(NodeValue::Map(entries))
            })
        })
    }

    fn field_names() -> Vec<String> {
        let mut names: Vec<String> = descriptors()
            .iter()
            .flat_map(|d| d.fields().map(|f| f.name().to_owned()).collect::<Vec<_>>())
            .collect();
        names.extend(["inner".to_owned(), "child".to_owned()]);
        names
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Wherever the direct path gives a value, the JSON mapping gives the same value,
        /// which encodes to the same bytes.
        #[test]
        fn direct_values_are_the_json_mapping_s(
            which in 0..2usize,
            field_index in any::<prop::sample::Index>(),
            written in value(field_names()),
        ) {
            let desc = &descriptors()[which];
            let fields: Vec<FieldDescriptor> = desc.fields().collect();
            let field = &fields[field_index.index(fields.len())];
            if let Some(direct) = field_value(&written, field) {
                let json = super::super::compile::json_field_value(&written, field, desc)
                    .expect("the JSON mapping takes what the direct path takes");
                prop_assert_eq!(&direct, &json);
                let encode = |value: &Value| {
                    let mut message = DynamicMessage::new(desc.clone());
                    message.set_field(field, value.clone());
                    message.encode_to_vec()
                };
                prop_assert_eq!(encode(&direct), encode(&json));
            }
        }
    }

    #[test]
    fn plain_shapes_take_the_direct_path_and_others_do_not() {
        let kinds = &descriptors()[0];
        let field = |name: &str| kinds.get_field_by_name(name).unwrap();
        let text = node(NodeValue::Str("hi".into()));
        assert!(field_value(&text, &field("text")).is_some());
        assert!(field_value(&text, &field("i32")).is_none());
        assert!(field_value(&node(NodeValue::Int(1 << 40)), &field("i32")).is_none());
        assert!(field_value(&node(NodeValue::Int(-1)), &field("u64")).is_none());
        let inner = node(NodeValue::Map(vec![(
            Key {
                pos: Pos::default(),
                name: "text".into(),
            },
            text,
        )]));
        assert!(field_value(&inner, &field("inner")).is_some());
    }
}
