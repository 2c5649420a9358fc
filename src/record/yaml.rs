//! Writing values into scenario text: YAML scalars quoted so that the loader reads back
//! exactly the text recorded, and messages as YAML flow mappings.

use serde_json::Value;

/// Words a YAML reader may take for something other than text.
const RESERVED: &[&str] = &[
    "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
];

/// `text` as a YAML scalar that reads back as exactly `text`: plain when that is safe,
/// else double-quoted with escapes. `${` is written `$${` (the scenario's literal form).
pub(super) fn scalar(text: &str) -> String {
    if is_plain(text) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' if chars.peek() == Some(&'{') => out.push_str("$$"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `text` can be written as a plain scalar in block and flow context.
fn is_plain(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !RESERVED.contains(&text.to_ascii_lowercase().as_str())
}

/// Characters YAML does not allow unescaped (outside the printable set), and the line
/// and byte-order marks that some readers treat specially.
fn needs_escape(c: char) -> bool {
    let code = c as u32;
    code < 0x20
        || (0x7F..=0x9F).contains(&code)
        || matches!(code, 0x2028 | 0x2029 | 0xFEFF | 0xFFFE | 0xFFFF)
}

/// A JSON value (a message in the proto3 JSON mapping) as a one-line YAML flow value.
pub(super) fn flow(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), flow(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_words_stay_plain_and_the_rest_is_quoted() {
        assert_eq!(scalar("Sam"), "Sam");
        assert_eq!(scalar("first_name"), "first_name");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("No"), "\"No\"");
        assert_eq!(scalar("12"), "\"12\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("Sam: Hi"), "\"Sam: Hi\"");
        assert_eq!(scalar("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(scalar("\u{7}\u{85}"), "\"\\u0007\\u0085\"");
    }

    #[test]
    fn a_variable_reference_is_written_as_literal_text() {
        assert_eq!(scalar("${HOME}"), "\"$${HOME}\"");
        assert_eq!(scalar("$$"), "\"$$\"");
    }

    #[test]
    fn messages_are_flow_mappings() {
        let value = serde_json::json!({"location": {"latitude": 1}, "name": "a b", "tags": []});
        assert_eq!(
            flow(&value),
            "{location: {latitude: 1}, name: \"a b\", tags: []}"
        );
    }
}
