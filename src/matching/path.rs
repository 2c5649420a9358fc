//! Field paths into messages, such as `location.latitude` or `notes[2].message`, for
//! captures.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

/// One field along a path, with a list index when the field is repeated.
#[derive(Debug, Clone)]
struct Segment {
    field: FieldDescriptor,
    index: Option<usize>,
}

/// A path to a scalar (or message) inside a message type, checked against the type.
#[derive(Debug, Clone)]
pub struct FieldPath {
    text: String,
    segments: Vec<Segment>,
}

impl FieldPath {
    /// Parses `a.b[2].c` against `descriptor`; says what is wrong otherwise.
    pub fn parse(text: &str, descriptor: &MessageDescriptor) -> Result<FieldPath, String> {
        let mut segments = Vec::new();
        let mut current = Some(descriptor.clone());
        for part in text.split('.') {
            let (name, index) = match part.split_once('[') {
                Some((name, rest)) => {
                    let index = rest
                        .strip_suffix(']')
                        .and_then(|i| i.parse::<usize>().ok())
                        .ok_or_else(|| format!("`{part}`: an index is written `[N]`"))?;
                    (name, Some(index))
                }
                None => (part, None),
            };
            let message = current.take().ok_or_else(|| {
                format!("`{text}`: `{name}` follows a field that is not a message")
            })?;
            let field = message
                .get_field_by_name(name)
                .or_else(|| message.get_field_by_json_name(name))
                .ok_or_else(|| {
                    let names: Vec<String> =
                        message.fields().map(|f| f.name().to_string()).collect();
                    format!(
                        "`{text}`: {} has no field `{name}` (fields: {})",
                        message.full_name(),
                        names.join(", ")
                    )
                })?;
            if index.is_some() && !field.is_list() {
                return Err(format!("`{text}`: `{name}` is not a repeated field"));
            }
            if index.is_none() && field.is_list() {
                return Err(format!(
                    "`{text}`: `{name}` is repeated: pick an element, `{name}[0]`"
                ));
            }
            current = match field.kind() {
                Kind::Message(m) if !field.is_map() => Some(m),
                _ => None,
            };
            segments.push(Segment { field, index });
        }
        Ok(FieldPath {
            text: text.to_string(),
            segments,
        })
    }

    /// The value at the path as text (strings as they are, other values as in proto JSON);
    /// `None` when a list is too short.
    pub fn extract(&self, message: &DynamicMessage) -> Option<String> {
        let mut value = Value::Message(message.clone());
        for segment in &self.segments {
            let Value::Message(inner) = value else {
                return None;
            };
            value = inner.get_field(&segment.field).into_owned();
            if let Some(index) = segment.index {
                let Value::List(items) = value else {
                    return None;
                };
                value = items.into_iter().nth(index)?;
            }
        }
        let last = &self.segments.last()?.field;
        match value {
            Value::List(_) | Value::Map(_) => None,
            scalar => Some(super::pattern::scalar_text(&scalar, last)),
        }
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}
