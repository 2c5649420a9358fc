//! Building an expected message from a scenario node: field names and values checked
//! against the message type, generators expanded, matchers compiled.

use std::borrow::Cow;

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

use super::render::*;
use super::*;
use crate::matching::matcher::{Matcher, SpecError};
use crate::scenario::node::{Node, NodeValue};

/// Replaces value generators with the values they stand for: `{$zeros: N}` is N zero
/// bytes (for `bytes` fields, written as base64). Unlike matchers, generated values can be
/// sent and are compared exactly. A node without generators is borrowed as it is.
pub(super) fn with_generators_expanded(node: &Node) -> Result<Cow<'_, Node>, SpecError> {
    if holds_generator(node) {
        expand_generators(node).map(Cow::Owned)
    } else {
        Ok(Cow::Borrowed(node))
    }
}

fn holds_generator(node: &Node) -> bool {
    match &node.value {
        NodeValue::Map(entries) => entries
            .iter()
            .any(|(k, v)| k.name == "$zeros" || holds_generator(v)),
        NodeValue::Seq(items) => items.iter().any(holds_generator),
        _ => false,
    }
}

fn expand_generators(node: &Node) -> Result<Node, SpecError> {
    let value = match &node.value {
        NodeValue::Map(entries) if entries.len() == 1 && entries[0].0.name == "$zeros" => {
            // A text count is what `${size}` becomes once a captured value fills it.
            let count = match &entries[0].1.value {
                NodeValue::Int(n) if *n >= 0 => *n as usize,
                NodeValue::Str(text) if text.trim().parse::<usize>().is_ok() => {
                    text.trim().parse().unwrap_or_default()
                }
                _ => {
                    return Err(SpecError::new(
                        entries[0].1.pos,
                        "`$zeros` takes a byte count (0 or more)",
                    ))
                }
            };
            if count as u64 > crate::scenario::bounds::MAX_MESSAGE_SIZE {
                return Err(SpecError::new(
                    entries[0].1.pos,
                    format!("`$zeros: {count}` is larger than grpc-replay allows a message to be (1 GiB)"),
                ));
            }
            NodeValue::Str(base64_encode(&vec![0u8; count]))
        }
        NodeValue::Map(entries) => NodeValue::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), expand_generators(v)?)))
                .collect::<Result<_, SpecError>>()?,
        ),
        NodeValue::Seq(items) => NodeValue::Seq(
            items
                .iter()
                .map(expand_generators)
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    };
    Ok(Node {
        pos: node.pos,
        value,
    })
}

pub(super) fn is_well_known(descriptor: &MessageDescriptor) -> bool {
    descriptor.package_name() == "google.protobuf"
}

pub(super) fn is_wrapper(descriptor: &MessageDescriptor) -> bool {
    is_well_known(descriptor)
        && descriptor.name().ends_with("Value")
        && descriptor.fields().len() == 1
}

pub(super) fn field_list(descriptor: &MessageDescriptor) -> String {
    let names: Vec<String> = descriptor.fields().map(|f| f.name().to_string()).collect();
    if names.is_empty() {
        "no fields".into()
    } else {
        names.join(", ")
    }
}

/// The position of the first matcher mapping in the node, checking that no mapping mixes
/// matcher keys and field names.
pub(super) fn find_matcher(node: &Node) -> Result<Option<crate::scenario::node::Pos>, SpecError> {
    if Matcher::is_matcher_map(node)? {
        return Ok(Some(node.pos));
    }
    let children: Vec<&Node> = match &node.value {
        NodeValue::Map(entries) => entries.iter().map(|(_, v)| v).collect(),
        NodeValue::Seq(items) => items.iter().collect(),
        _ => return Ok(None),
    };
    for child in children {
        if let Some(pos) = find_matcher(child)? {
            return Ok(Some(pos));
        }
    }
    Ok(None)
}

pub(super) fn compile_well_known(
    node: &Node,
    descriptor: &MessageDescriptor,
) -> Result<(Top, Option<DynamicMessage>), SpecError> {
    if Matcher::is_matcher_map(node)? {
        let field = descriptor
            .fields()
            .next()
            .filter(|_| is_wrapper(descriptor))
            .ok_or_else(|| {
                SpecError::new(
                    node.pos,
                    format!(
                        "matchers apply to wrapper types, not to {}",
                        descriptor.full_name()
                    ),
                )
            })?;
        return Ok((Top::Wrapper(field, Matcher::parse_all(node)?), None));
    }
    let json = typed_json(node, &Kind::Message(descriptor.clone()));
    let message = DynamicMessage::deserialize(descriptor.clone(), json).map_err(|e| {
        SpecError::new(
            node.pos,
            format!("not a valid {} value: {e}", descriptor.full_name()),
        )
    })?;
    let encoded = Bytes::from(message.encode_to_vec());
    Ok((Top::Exact(encoded), Some(message)))
}

pub(super) fn find_field(descriptor: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    descriptor
        .get_field_by_name(name)
        .or_else(|| descriptor.get_field_by_json_name(name))
}

pub(super) fn compile_fields(
    entries: &[(crate::scenario::node::Key, Node)],
    descriptor: &MessageDescriptor,
    mode: MatchMode,
    message: &mut DynamicMessage,
) -> Result<MessagePattern, SpecError> {
    let mut fields = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if key.name.starts_with('$') {
            return Err(SpecError::new(
                key.pos,
                format!(
                    "`{}` is a matcher; put it on a field of {} ({})",
                    key.name,
                    descriptor.full_name(),
                    field_list(descriptor)
                ),
            ));
        }
        let field = find_field(descriptor, &key.name).ok_or_else(|| {
            let names: Vec<String> = descriptor.fields().map(|f| f.name().to_string()).collect();
            let hint = crate::matching::closest(&key.name, names.iter().map(String::as_str))
                .map(|name| format!("; did you mean `{name}`?"))
                .unwrap_or_default();
            SpecError::new(
                key.pos,
                format!(
                    "unknown field `{}` in {} (fields: {}){hint}",
                    key.name,
                    descriptor.full_name(),
                    field_list(descriptor)
                ),
            )
        })?;
        if fields
            .iter()
            .any(|(f, _): &(FieldDescriptor, _)| f == &field)
        {
            return Err(SpecError::new(
                key.pos,
                format!("field `{}` is written twice", field.name()),
            ));
        }
        if let Some(oneof) = field.containing_oneof() {
            if let Some((other, _)) = fields.iter().find(|(f, _): &&(FieldDescriptor, _)| {
                f.containing_oneof().as_ref() == Some(&oneof)
            }) {
                return Err(SpecError::new(
                    key.pos,
                    format!(
                        "`{}` and `{}` are both members of oneof `{}`: a message holds one of them",
                        other.name(),
                        field.name(),
                        oneof.name()
                    ),
                ));
            }
        }
        let pattern = compile_field(value, &field, descriptor, mode)?;
        match &pattern {
            FieldPattern::Exact(v) => message.set_field(&field, v.clone()),
            _ if find_matcher(value)?.is_none() => {
                message.set_field(&field, field_value(value, &field, descriptor)?)
            }
            _ => {}
        }
        fields.push((field, pattern));
    }
    Ok(MessagePattern { fields, mode })
}

/// Converts a node to the value of `field` as the proto3 JSON mapping reads it: built
/// directly for plain shapes ([`super::direct`]), through the mapping itself otherwise.
pub(super) fn field_value(
    node: &Node,
    field: &FieldDescriptor,
    parent: &MessageDescriptor,
) -> Result<Value, SpecError> {
    match direct::field_value(node, field) {
        Some(value) => Ok(value),
        None => json_field_value(node, field, parent),
    }
}

/// [`field_value`] through the proto3 JSON mapping alone.
pub(super) fn json_field_value(
    node: &Node,
    field: &FieldDescriptor,
    parent: &MessageDescriptor,
) -> Result<Value, SpecError> {
    let mut wrapper = serde_json::Map::new();
    wrapper.insert(field.name().to_string(), field_json(node, field));
    let message = DynamicMessage::deserialize(parent.clone(), serde_json::Value::Object(wrapper))
        .map_err(|e| {
        SpecError::new(
            node.pos,
            format!(
                "field `{}` ({}): {}",
                field.name(),
                kind_name(field),
                clean_serde_error(&e.to_string())
            ),
        )
    })?;
    Ok(message.get_field(field).into_owned())
}

/// The proto3 JSON form of a node written for `field`, with the one typing rule for text:
/// a text is taken as proto3 JSON takes a string (numbers, enum names, bytes in base64,
/// well-known types), and a bool field also takes the text `true` or `false`, so that a
/// value from a variable means what it would mean typed in the field.
pub(super) fn field_json(node: &Node, field: &FieldDescriptor) -> serde_json::Value {
    match (&node.value, field.kind()) {
        (NodeValue::Seq(items), kind) if field.is_list() => {
            serde_json::Value::Array(items.iter().map(|i| typed_json(i, &kind)).collect())
        }
        (NodeValue::Map(entries), Kind::Message(entry)) if field.is_map() => {
            let value_kind = entry.map_entry_value_field().kind();
            serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), typed_json(v, &value_kind)))
                    .collect(),
            )
        }
        (_, kind) => typed_json(node, &kind),
    }
}

/// [`field_json`] for one value of a kind.
pub(super) fn typed_json(node: &Node, kind: &Kind) -> serde_json::Value {
    let is_bool = match kind {
        Kind::Bool => true,
        Kind::Message(m) => m.full_name() == "google.protobuf.BoolValue",
        _ => false,
    };
    match (&node.value, kind) {
        (NodeValue::Str(text), _) if is_bool && (text == "true" || text == "false") => {
            serde_json::Value::Bool(text == "true")
        }
        (NodeValue::Map(entries), Kind::Message(desc)) if !is_well_known(desc) => {
            serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let json = match find_field(desc, &k.name) {
                            Some(field) => field_json(v, &field),
                            None => v.to_json(),
                        };
                        (k.name.clone(), json)
                    })
                    .collect(),
            )
        }
        _ => node.to_json(),
    }
}

pub(super) fn clean_serde_error(text: &str) -> String {
    text.split(" at line ").next().unwrap_or(text).to_string()
}

/// The type of a field as a proto would write it.
pub(super) fn kind_name(field: &FieldDescriptor) -> String {
    let base = match field.kind() {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    if field.is_map() {
        "map".into()
    } else if field.is_list() {
        format!("repeated {base}")
    } else {
        base
    }
}

pub(super) fn compile_field(
    node: &Node,
    field: &FieldDescriptor,
    parent: &MessageDescriptor,
    mode: MatchMode,
) -> Result<FieldPattern, SpecError> {
    if Matcher::is_matcher_map(node)? {
        return Ok(FieldPattern::Matchers(Matcher::parse_all(node)?));
    }
    let has_matcher = find_matcher(node)?.is_some();
    if field.is_map() {
        if has_matcher {
            return Err(SpecError::new(
                node.pos,
                format!(
                    "matchers inside map field `{}` are not supported; match the whole field",
                    field.name()
                ),
            ));
        }
        return field_value(node, field, parent).map(FieldPattern::Exact);
    }
    // Field by field when a matcher is inside, or when only the written fields count.
    let by_field = has_matcher || mode == MatchMode::Partial;
    match (&node.value, field.kind()) {
        (NodeValue::Seq(items), kind) if by_field && field.is_list() => items
            .iter()
            .map(|item| compile_element(item, field, parent, &kind, mode))
            .collect::<Result<_, _>>()
            .map(FieldPattern::List),
        (NodeValue::Map(entries), Kind::Message(desc)) if by_field && !is_well_known(&desc) => {
            let mut scratch = DynamicMessage::new(desc.clone());
            compile_fields(entries, &desc, mode, &mut scratch).map(FieldPattern::Message)
        }
        _ if !has_matcher => field_value(node, field, parent).map(FieldPattern::Exact),
        _ => Err(SpecError::new(
            node.pos,
            format!(
                "field `{}` ({}) cannot hold {}",
                field.name(),
                kind_name(field),
                node.kind()
            ),
        )),
    }
}

pub(super) fn compile_element(
    node: &Node,
    field: &FieldDescriptor,
    parent: &MessageDescriptor,
    kind: &Kind,
    mode: MatchMode,
) -> Result<FieldPattern, SpecError> {
    if Matcher::is_matcher_map(node)? {
        return Ok(FieldPattern::Matchers(Matcher::parse_all(node)?));
    }
    match (&node.value, kind) {
        (NodeValue::Map(entries), Kind::Message(desc))
            if !is_well_known(desc)
                && (mode == MatchMode::Partial || find_matcher(node)?.is_some()) =>
        {
            let mut scratch = DynamicMessage::new(desc.clone());
            compile_fields(entries, desc, mode, &mut scratch).map(FieldPattern::Message)
        }
        _ => {
            let single = Node {
                pos: node.pos,
                value: NodeValue::Seq(vec![node.clone()]),
            };
            match field_value(&single, field, parent)? {
                Value::List(mut items) if items.len() == 1 => {
                    Ok(FieldPattern::Exact(items.remove(0)))
                }
                other => Ok(FieldPattern::Exact(other)),
            }
        }
    }
}
