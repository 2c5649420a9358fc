//! Messages and field values as text, for output and for matchers that read text.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, Value};

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
pub(super) const DISPLAY_LIMIT: usize = 200;

/// Cuts a rendering to [`DISPLAY_LIMIT`] characters, saying how long it was.
pub(super) fn shorten(text: String) -> String {
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

/// Renders an encoded message of a type, for output.
pub fn render_bytes(descriptor: &MessageDescriptor, bytes: &[u8]) -> String {
    match DynamicMessage::decode(descriptor.clone(), bytes) {
        Ok(m) => shorten(render_message(&m)),
        Err(_) => format!("<{} undecodable bytes>", bytes.len()),
    }
}

/// A value as text: strings as they are, enums by name, bytes as base64, messages as JSON.
pub(in crate::matching) fn scalar_text(value: &Value, field: &FieldDescriptor) -> String {
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
pub(super) fn json_text(message: &DynamicMessage) -> String {
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
pub(super) fn float_text(x: f64) -> String {
    match x {
        x if x.is_nan() => "NaN".into(),
        x if x == f64::INFINITY => "Infinity".into(),
        x if x == f64::NEG_INFINITY => "-Infinity".into(),
        x => x.to_string(),
    }
}

/// Renders a field value for a diff: strings quoted, enums by name, messages as JSON.
pub(super) fn render_value(value: &Value, field: &FieldDescriptor) -> String {
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

pub(super) fn render_plain(value: &Value) -> String {
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

pub(super) fn render_key(key: &MapKey) -> String {
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
