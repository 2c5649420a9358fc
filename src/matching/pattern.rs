//! Expected messages: built from a scenario node against the message type, checked against
//! what a peer sent.

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};

use super::matcher::{Matcher, Num, SpecError, Subject};
use crate::scenario::node::{Node, NodeValue};

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
enum FieldPattern {
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
struct MessagePattern {
    fields: Vec<(FieldDescriptor, FieldPattern)>,
    mode: MatchMode,
}

/// A message as a scenario writes it: what may be sent, and what a received one is checked
/// against.
#[derive(Debug, Clone)]
pub struct MessageSpec {
    descriptor: MessageDescriptor,
    /// The concrete message, when the node holds no matcher.
    concrete: Option<DynamicMessage>,
    /// Its encoding, to send, and to compare a received message byte for byte.
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
enum Top {
    /// The message's fields.
    Fields(MessagePattern),
    /// Matchers on a whole well-known wrapper (`server: {$regex: …}` for a StringValue).
    Wrapper(FieldDescriptor, Vec<Matcher>),
    /// Exactly this message (well-known types written as their JSON value).
    Exact(DynamicMessage),
}

impl MessageSpec {
    /// Builds a message of type `descriptor` from `node`, checking every field name and
    /// value against the type.
    pub fn compile(
        node: &Node,
        descriptor: &MessageDescriptor,
        mode: MatchMode,
    ) -> Result<MessageSpec, SpecError> {
        let expanded = expand_generators(node)?;
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
        let concrete = concrete.filter(|_| first_matcher.is_none());
        let encoded = concrete.as_ref().map(|m| Bytes::from(m.encode_to_vec()));
        Ok(MessageSpec {
            descriptor: descriptor.clone(),
            concrete,
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
        let full = match &self.concrete {
            Some(m) => render_message(m),
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
            Top::Exact(expected) => compare_exact(expected, message, "", &mut diffs),
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(diffs)
        }
    }
}

/// Renders a message as compact proto JSON.
pub fn render_message(message: &DynamicMessage) -> String {
    let options = prost_reflect::SerializeOptions::new().skip_default_fields(true);
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut out);
    match message.serialize_with_options(&mut serializer, &options) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("<unprintable: {e}>"),
    }
}

/// The longest message rendering shown in a line of output.
const DISPLAY_LIMIT: usize = 200;

/// Cuts a rendering to [`DISPLAY_LIMIT`] characters, saying how long it was.
fn shorten(text: String) -> String {
    if text.len() <= DISPLAY_LIMIT {
        return text;
    }
    let cut = text
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|i| *i <= DISPLAY_LIMIT)
        .last()
        .unwrap_or(0);
    format!("{}… ({} characters)", &text[..cut], text.len())
}

/// Replaces value generators with the values they stand for: `{$zeros: N}` is N zero
/// bytes (for `bytes` fields, written as base64). Unlike matchers, generated values can be
/// sent and are compared exactly.
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
                    format!("`$zeros: {count}` is larger than a gRPC message can be (4 MiB)"),
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

/// Renders an encoded message of a type, for output.
pub fn render_bytes(descriptor: &MessageDescriptor, bytes: &[u8]) -> String {
    match DynamicMessage::decode(descriptor.clone(), bytes) {
        Ok(m) => shorten(render_message(&m)),
        Err(_) => format!("<{} undecodable bytes>", bytes.len()),
    }
}

fn is_well_known(descriptor: &MessageDescriptor) -> bool {
    descriptor.package_name() == "google.protobuf"
}

fn is_wrapper(descriptor: &MessageDescriptor) -> bool {
    is_well_known(descriptor)
        && descriptor.name().ends_with("Value")
        && descriptor.fields().len() == 1
}

fn field_list(descriptor: &MessageDescriptor) -> String {
    let names: Vec<String> = descriptor.fields().map(|f| f.name().to_string()).collect();
    if names.is_empty() {
        "no fields".into()
    } else {
        names.join(", ")
    }
}

/// The position of the first matcher mapping in the node, checking that no mapping mixes
/// matcher keys and field names.
fn find_matcher(node: &Node) -> Result<Option<crate::scenario::node::Pos>, SpecError> {
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

fn compile_well_known(
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
    Ok((Top::Exact(message.clone()), Some(message)))
}

fn find_field(descriptor: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    descriptor
        .get_field_by_name(name)
        .or_else(|| descriptor.get_field_by_json_name(name))
}

fn compile_fields(
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
            let hint = super::suggest::closest(&key.name, names.iter().map(String::as_str))
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

/// Converts a node to the value of `field` with the proto3 JSON mapping.
fn field_value(
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
fn field_json(node: &Node, field: &FieldDescriptor) -> serde_json::Value {
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
fn typed_json(node: &Node, kind: &Kind) -> serde_json::Value {
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

fn clean_serde_error(text: &str) -> String {
    text.split(" at line ").next().unwrap_or(text).to_string()
}

/// The type of a field as a proto would write it.
pub fn kind_name(field: &FieldDescriptor) -> String {
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

fn compile_field(
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

fn compile_element(
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

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn compare_message(
    pattern: &MessagePattern,
    message: &DynamicMessage,
    path: &str,
    diffs: &mut Vec<Mismatch>,
) {
    let descriptor = message.descriptor();
    for field in descriptor.fields() {
        let field_path = join(path, field.name());
        let actual = message.get_field(&field);
        match pattern.fields.iter().find(|(f, _)| *f == field) {
            Some(_) if is_singular_message(&field) && !message.has_field(&field) => {
                diffs.push(Mismatch {
                    path: field_path,
                    expected: "a message (the script writes this field)".into(),
                    actual: "absent".into(),
                })
            }
            Some((_, expected)) => compare_field(expected, &actual, &field, &field_path, diffs),
            None if pattern.mode == MatchMode::Exact => {
                let default = Value::default_value_for_field(&field);
                compare_values(&default, &actual, &field, &field_path, diffs);
            }
            None => {}
        }
    }
}

/// A non-repeated field of message type, whose presence is part of its value.
fn is_singular_message(field: &FieldDescriptor) -> bool {
    !field.is_list() && !field.is_map() && matches!(field.kind(), Kind::Message(_))
}

fn compare_field(
    expected: &FieldPattern,
    actual: &Value,
    field: &FieldDescriptor,
    path: &str,
    diffs: &mut Vec<Mismatch>,
) {
    match (expected, actual) {
        (FieldPattern::Exact(value), _) => compare_values(value, actual, field, path, diffs),
        (FieldPattern::Matchers(matchers), _) => {
            check_matchers(matchers, actual, field, path, diffs)
        }
        (FieldPattern::Message(pattern), Value::Message(message)) => {
            compare_message(pattern, message, path, diffs)
        }
        (FieldPattern::List(patterns), Value::List(items)) => {
            if patterns.len() != items.len() {
                diffs.push(Mismatch {
                    path: path.to_string(),
                    expected: format!("{} elements", patterns.len()),
                    actual: format!("{} elements: {}", items.len(), render_value(actual, field)),
                });
                return;
            }
            for (i, (p, item)) in patterns.iter().zip(items).enumerate() {
                compare_field(p, item, field, &format!("{path}[{i}]"), diffs);
            }
        }
        (_, other) => diffs.push(Mismatch {
            path: path.to_string(),
            expected: kind_name(field),
            actual: render_value(other, field),
        }),
    }
}

fn check_matchers(
    matchers: &[Matcher],
    actual: &Value,
    field: &FieldDescriptor,
    path: &str,
    diffs: &mut Vec<Mismatch>,
) {
    let subject = subject_of(actual, field);
    for matcher in matchers {
        if let Err(expected) = matcher.check(&subject) {
            diffs.push(Mismatch {
                path: path.to_string(),
                expected,
                actual: render_value(actual, field),
            });
        }
    }
}

fn compare_exact(
    expected: &DynamicMessage,
    actual: &DynamicMessage,
    path: &str,
    diffs: &mut Vec<Mismatch>,
) {
    for field in expected.descriptor().fields() {
        let field_path = join(path, field.name());
        compare_values(
            &expected.get_field(&field),
            &actual.get_field(&field),
            &field,
            &field_path,
            diffs,
        );
    }
}

fn compare_values(
    expected: &Value,
    actual: &Value,
    field: &FieldDescriptor,
    path: &str,
    diffs: &mut Vec<Mismatch>,
) {
    match (expected, actual) {
        (Value::Message(e), Value::Message(a)) if e.descriptor() == a.descriptor() => {
            compare_exact(e, a, path, diffs)
        }
        (Value::List(e), Value::List(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare_values(ev, av, field, &format!("{path}[{i}]"), diffs);
            }
        }
        (Value::Map(e), Value::Map(a)) => compare_maps(e, a, field, path, diffs),
        // A NaN that was written matches a NaN received, as the bytes would.
        (Value::F32(e), Value::F32(a)) if e.is_nan() && a.is_nan() => {}
        (Value::F64(e), Value::F64(a)) if e.is_nan() && a.is_nan() => {}
        (e, a) if e == a => {}
        (e, a) => diffs.push(Mismatch {
            path: path.to_string(),
            expected: render_value(e, field),
            actual: render_value(a, field),
        }),
    }
}

/// Compares two map values key by key, in key order: missing keys, unexpected keys and
/// different values each make one difference.
fn compare_maps(
    expected: &std::collections::HashMap<MapKey, Value>,
    actual: &std::collections::HashMap<MapKey, Value>,
    field: &FieldDescriptor,
    path: &str,
    diffs: &mut Vec<Mismatch>,
) {
    let value_field = match field.kind() {
        Kind::Message(entry) => entry.map_entry_value_field(),
        _ => field.clone(),
    };
    let keys: std::collections::BTreeSet<&MapKey> = expected.keys().chain(actual.keys()).collect();
    for key in keys {
        let entry_path = format!("{path}[{}]", render_key(key));
        match (expected.get(key), actual.get(key)) {
            // Values are compared like fields: message values field by field.
            (Some(ev), Some(av)) => compare_values(ev, av, &value_field, &entry_path, diffs),
            (Some(ev), None) => diffs.push(Mismatch {
                path: entry_path,
                expected: render_value(ev, &value_field),
                actual: "absent".into(),
            }),
            (None, Some(av)) => diffs.push(Mismatch {
                path: entry_path,
                expected: "absent".into(),
                actual: render_value(av, &value_field),
            }),
            (None, None) => {}
        }
    }
}

fn subject_of(value: &Value, field: &FieldDescriptor) -> Subject {
    match value {
        Value::List(items) => Subject::List(items.iter().map(|v| scalar_text(v, field)).collect()),
        Value::Message(m) if is_wrapper(&m.descriptor()) => {
            let inner = m
                .descriptor()
                .fields()
                .next()
                .expect("wrappers have one field");
            subject_of(&m.get_field(&inner), &inner)
        }
        Value::Message(m) => Subject::Message(render_message(m)),
        scalar => {
            let text = scalar_text(scalar, field);
            let number = match scalar {
                Value::I32(n) => Some(Num::Int(*n as i128)),
                Value::I64(n) => Some(Num::Int(*n as i128)),
                Value::U32(n) => Some(Num::Int(*n as i128)),
                Value::U64(n) => Some(Num::Int(*n as i128)),
                Value::EnumNumber(n) => Some(Num::Int(*n as i128)),
                Value::F32(x) => Some(Num::Float(*x as f64)),
                Value::F64(x) => Some(Num::Float(*x)),
                _ => None,
            };
            let len = match scalar {
                Value::String(s) => s.chars().count(),
                Value::Bytes(b) => b.len(),
                _ => text.len(),
            };
            Subject::Scalar { text, number, len }
        }
    }
}

/// A value as text: strings as they are, enums by name, bytes as base64, messages as JSON.
pub(super) fn scalar_text(value: &Value, field: &FieldDescriptor) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::EnumNumber(n) => match field.kind() {
            Kind::Enum(e) => e
                .get_value(*n)
                .map_or_else(|| n.to_string(), |v| v.name().to_string()),
            _ => n.to_string(),
        },
        Value::Bytes(b) => base64_encode(b),
        Value::Message(m) => json_text(m),
        Value::F32(x) if x.is_finite() => x.to_string(),
        Value::F32(x) => float_text(f64::from(*x)),
        Value::F64(x) => float_text(*x),
        other => render_plain(other),
    }
}

/// A message's proto3 JSON value as text: a JSON string without its quotes (Timestamp,
/// Duration, StringValue, Int64Value…), anything else as compact JSON.
fn json_text(message: &DynamicMessage) -> String {
    let options = prost_reflect::SerializeOptions::new().skip_default_fields(true);
    match message.serialize_with_options(serde_json::value::Serializer, &options) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(x) if !(n.is_i64() || n.is_u64()) => float_text(x),
            _ => n.to_string(),
        },
        _ => render_message(message),
    }
}

/// A float as proto3 JSON writes it: shortest exact digits, `NaN`, `Infinity`.
fn float_text(x: f64) -> String {
    match x {
        x if x.is_nan() => "NaN".into(),
        x if x == f64::INFINITY => "Infinity".into(),
        x if x == f64::NEG_INFINITY => "-Infinity".into(),
        x => x.to_string(),
    }
}

/// Renders a field value for a diff: strings quoted, enums by name, messages as JSON.
fn render_value(value: &Value, field: &FieldDescriptor) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| render_value(v, field))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Bytes(b) if b.len() > 48 => format!("<{} bytes>", b.len()),
        other => scalar_text(other, field),
    }
}

fn render_plain(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(x) => x.to_string(),
        Value::F64(x) => x.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Bytes(b) => base64_encode(b),
        Value::EnumNumber(n) => n.to_string(),
        Value::Message(m) => render_message(m),
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(render_plain)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Map(map) => format!("{{{} entries}}", map.len()),
    }
}

fn render_key(key: &MapKey) -> String {
    match key {
        MapKey::String(s) => format!("{s:?}"),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}

/// Standard base64 with padding, as the proto3 JSON mapping writes bytes.
pub fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::{load_pool, ProtoSources};

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
