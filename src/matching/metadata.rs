//! Metadata (request metadata, response headers, trailers) and status messages as scenarios
//! write them: sent as written, or checked with the same matchers as message fields.

use base64::Engine as _;

use super::matcher::{describe, scalar_text, Matcher, SpecError, Subject};
use super::pattern::{base64_encode, Mismatch};
use crate::scenario::node::{Node, Pos};

/// A metadata value as received or to send: text, or raw bytes for `-bin` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaValue {
    /// An ASCII value.
    Text(String),
    /// The decoded bytes of a `-bin` key.
    Binary(Vec<u8>),
}

impl MetaValue {
    /// Text for output and matchers: `-bin` values as base64.
    pub fn text(&self) -> String {
        match self {
            MetaValue::Text(t) => t.clone(),
            MetaValue::Binary(b) => base64_encode(b),
        }
    }
}

/// Metadata as received: keys lower-case, in arrival order, repeated keys kept.
pub type ReceivedMetadata = Vec<(String, MetaValue)>;

/// What one metadata key holds in a scenario.
#[derive(Debug, Clone)]
enum EntryValue {
    /// A concrete value: sent as is, or compared exactly.
    Value(MetaValue),
    /// Checked with matchers; cannot be sent.
    Matchers(Vec<Matcher>),
}

/// One key of a metadata mapping.
#[derive(Debug, Clone)]
pub(super) struct MetaEntry {
    /// The key, lower-cased.
    pub key: String,
    /// Where it is written.
    pub pos: Pos,
    value: EntryValue,
}

/// A metadata mapping: `{x-user: alice, x-trace-bin: AQID, x-id: {$regex: …}}`.
#[derive(Debug, Clone, Default)]
pub struct MetadataSpec {
    entries: Vec<MetaEntry>,
}

impl MetadataSpec {
    /// Reads a mapping of keys to values or matchers; `-bin` values are base64.
    pub fn compile(node: &Node) -> Result<MetadataSpec, SpecError> {
        let entries = node.as_map().ok_or_else(|| {
            SpecError::new(
                node.pos,
                format!(
                    "metadata is a mapping of keys to values, found {}",
                    node.kind()
                ),
            )
        })?;
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let name = key.name.to_ascii_lowercase();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(SpecError::new(
                    key.pos,
                    format!("`{}` is not a valid metadata key (lower-case letters, digits, `-`, `_`, `.`)", key.name),
                ));
            }
            let value = if Matcher::is_matcher_map(value)? {
                EntryValue::Matchers(Matcher::parse_all(value)?)
            } else {
                let text = scalar_text(value).ok_or_else(|| {
                    SpecError::new(
                        value.pos,
                        format!(
                            "metadata `{name}` takes a text value or a matcher, found {}",
                            value.kind()
                        ),
                    )
                })?;
                if name.ends_with("-bin") {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .or_else(|_| {
                            base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim())
                        })
                        .map_err(|e| {
                            SpecError::new(
                                value.pos,
                                format!("`{name}` is a binary key: its value is base64 ({e})"),
                            )
                        })?;
                    EntryValue::Value(MetaValue::Binary(bytes))
                } else if !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                    return Err(SpecError::new(
                        value.pos,
                        format!("metadata `{name}` must be printable ASCII; use a `-bin` key for other bytes"),
                    ));
                } else {
                    EntryValue::Value(MetaValue::Text(text))
                }
            };
            out.push(MetaEntry {
                key: name,
                pos: key.pos,
                value,
            });
        }
        Ok(MetadataSpec { entries: out })
    }

    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries to send; `Err` with the position of the first matcher, which cannot be
    /// sent.
    pub fn to_send(&self) -> Result<Vec<(String, MetaValue)>, Pos> {
        self.entries
            .iter()
            .map(|e| match &e.value {
                EntryValue::Value(v) => Ok((e.key.clone(), v.clone())),
                EntryValue::Matchers(_) => Err(e.pos),
            })
            .collect()
    }

    /// The position of the first matcher, when there is one.
    pub fn first_matcher(&self) -> Option<Pos> {
        self.to_send().err()
    }

    /// Checks that received metadata holds every entry (other keys are allowed).
    pub fn check(&self, received: &ReceivedMetadata) -> Result<(), Vec<Mismatch>> {
        let mut diffs = Vec::new();
        for entry in &self.entries {
            let values: Vec<&MetaValue> = received
                .iter()
                .filter(|(k, _)| *k == entry.key)
                .map(|(_, v)| v)
                .collect();
            let ok = match &entry.value {
                EntryValue::Value(expected) => values.contains(&expected),
                // `{$any: true}` alone takes anything, an absent key included.
                EntryValue::Matchers(matchers)
                    if values.is_empty() && matchers.iter().all(|m| matches!(m, Matcher::Any)) =>
                {
                    true
                }
                EntryValue::Matchers(matchers) => values.iter().any(|v| {
                    let subject = text_subject(&v.text());
                    matchers.iter().all(|m| m.check(&subject).is_ok())
                }),
            };
            if !ok {
                diffs.push(Mismatch {
                    path: entry.key.clone(),
                    expected: match &entry.value {
                        EntryValue::Value(v) => format!("{:?}", v.text()),
                        EntryValue::Matchers(m) => describe(m),
                    },
                    actual: if values.is_empty() {
                        "absent".into()
                    } else {
                        values
                            .iter()
                            .map(|v| format!("{:?}", v.text()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                });
            }
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(diffs)
        }
    }
}

/// A text checked exactly or with matchers, such as a status message.
#[derive(Debug, Clone)]
pub enum TextSpec {
    /// Exactly this text.
    Exact(String),
    /// Text passing every matcher.
    Matchers(Vec<Matcher>),
}

impl TextSpec {
    /// Reads a scalar or a matcher mapping.
    pub fn compile(node: &Node, what: &str) -> Result<TextSpec, SpecError> {
        if Matcher::is_matcher_map(node)? {
            return Ok(TextSpec::Matchers(Matcher::parse_all(node)?));
        }
        scalar_text(node).map(TextSpec::Exact).ok_or_else(|| {
            SpecError::new(
                node.pos,
                format!("{what} takes a text or a matcher, found {}", node.kind()),
            )
        })
    }

    /// The text to send, when it is concrete.
    pub fn to_send(&self) -> Option<&str> {
        match self {
            TextSpec::Exact(t) => Some(t),
            TextSpec::Matchers(_) => None,
        }
    }

    /// Checks a received text; on failure says what was expected.
    pub fn check(&self, actual: &str) -> Result<(), String> {
        match self {
            TextSpec::Exact(t) if t == actual => Ok(()),
            TextSpec::Exact(t) => Err(format!("{t:?}")),
            TextSpec::Matchers(m) => {
                let subject = text_subject(actual);
                m.iter().try_for_each(|m| m.check(&subject))
            }
        }
    }
}

fn text_subject(text: &str) -> Subject {
    Subject::Scalar {
        text: text.to_string(),
        number: text.parse::<i128>().ok().map(super::matcher::Num::Int),
        len: text.chars().count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> MetadataSpec {
        let node: Node = serde_saphyr::from_str(yaml).expect("valid YAML");
        MetadataSpec::compile(&node).expect("a metadata mapping")
    }

    #[test]
    fn any_passes_an_absent_key() {
        assert!(spec("{x-id: {$any: true}}").check(&Vec::new()).is_ok());
    }

    #[test]
    fn other_matchers_still_need_the_key() {
        let diffs = spec("{x-id: {$regex: '^a'}}")
            .check(&Vec::new())
            .expect_err("an absent key fails a regex");
        assert_eq!(diffs[0].actual, "absent");
    }
}
