//! Comparing a received message with an expected one, field by field, collecting the
//! differences.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};

use super::compile::*;
use super::render::*;
use super::*;
use crate::matching::matcher::{Matcher, Num, Subject};

pub(super) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

pub(super) fn compare_message(
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
pub(super) fn is_singular_message(field: &FieldDescriptor) -> bool {
    !field.is_list() && !field.is_map() && matches!(field.kind(), Kind::Message(_))
}

pub(super) fn compare_field(
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

pub(super) fn check_matchers(
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

pub(super) fn compare_exact(
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

pub(super) fn compare_values(
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
pub(super) fn compare_maps(
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

pub(super) fn subject_of(value: &Value, field: &FieldDescriptor) -> Subject {
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
