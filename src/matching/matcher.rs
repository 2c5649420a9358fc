//! Field matchers: `{$regex: "^Sam"}`, `{$gt: 5}`, `{$any: true}`, `{$len: 3}`, …

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;

use crate::scenario::node::{Node, NodeValue, Pos};

/// An error in a scenario, at a place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Where it is.
    pub pos: Pos,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl SpecError {
    /// An error at `pos`.
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        SpecError {
            pos,
            message: message.into(),
        }
    }
}

/// The matcher keys, for error messages.
/// (`$zeros` is a value generator, not a matcher: see `MessageSpec::compile`.)
pub const MATCHER_KEYS: &[&str] = &[
    "$any",
    "$regex",
    "$contains",
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$between",
    "$len",
];

/// A number compared by a matcher: integers stay exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// Any integer a proto field can hold.
    Int(i128),
    /// A float.
    Float(f64),
}

impl Num {
    fn from_node(node: &Node) -> Option<Num> {
        match &node.value {
            NodeValue::Int(i) => Some(Num::Int(*i as i128)),
            NodeValue::UInt(u) => Some(Num::Int(*u as i128)),
            NodeValue::Float(f) => Some(Num::Float(*f)),
            NodeValue::Str(s) => s
                .parse::<i128>()
                .map(Num::Int)
                .or_else(|_| s.parse::<f64>().map(Num::Float))
                .ok(),
            _ => None,
        }
    }

    fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Int(i) => write!(f, "{i}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

/// One check on a received value.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Anything, including the default value.
    Any,
    /// The value's text matches the regular expression.
    Regex(Regex),
    /// The value's text contains this, or a list holds an element whose text is this.
    Contains(String),
    /// The value's text equals this.
    Eq(String),
    /// The value's text differs from this.
    Ne(String),
    /// A numeric comparison.
    Compare(Ordering, bool, Num),
    /// Inclusive range.
    Between(Num, Num),
    /// The length of a string, bytes or list, checked by the inner matchers.
    Len(Vec<Matcher>),
}

/// What a matcher looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A scalar, as text (numbers also as [`Num`]).
    Scalar {
        /// The text form.
        text: String,
        /// The number, when the value is numeric.
        number: Option<Num>,
        /// Length in characters or bytes.
        len: usize,
    },
    /// A list (repeated field) of element texts.
    List(Vec<String>),
    /// A message, as compact JSON.
    Message(String),
}

impl Subject {
    fn text(&self) -> String {
        match self {
            Subject::Scalar { text, .. } => text.clone(),
            Subject::List(items) => format!("[{}]", items.join(", ")),
            Subject::Message(json) => json.clone(),
        }
    }
}

impl Matcher {
    /// Whether a mapping is a matcher (all keys start with `$`), checking it does not mix
    /// matcher keys with field names.
    pub fn is_matcher_map(node: &Node) -> Result<bool, SpecError> {
        let Some(entries) = node.as_map() else {
            return Ok(false);
        };
        let dollar = entries
            .iter()
            .filter(|(k, _)| k.name.starts_with('$'))
            .count();
        if dollar > 0 && dollar < entries.len() {
            let (key, _) = entries
                .iter()
                .find(|(k, _)| !k.name.starts_with('$'))
                .unwrap();
            return Err(SpecError::new(
                key.pos,
                format!(
                    "`{}` stands beside matcher keys: a mapping is either a message or a matcher ({})",
                    key.name,
                    MATCHER_KEYS.join(", ")
                ),
            ));
        }
        Ok(dollar > 0)
    }

    /// Parses every matcher of a matcher mapping.
    pub fn parse_all(node: &Node) -> Result<Vec<Matcher>, SpecError> {
        let entries = node.as_map().unwrap_or_default();
        entries
            .iter()
            .map(|(k, v)| Matcher::parse(&k.name, k.pos, v))
            .collect()
    }

    fn parse(key: &str, pos: Pos, value: &Node) -> Result<Matcher, SpecError> {
        let number = |v: &Node| {
            Num::from_node(v).ok_or_else(|| {
                SpecError::new(v.pos, format!("`{key}` takes a number, found {}", v.kind()))
            })
        };
        let text = |v: &Node| -> Result<String, SpecError> {
            scalar_text(v).ok_or_else(|| {
                SpecError::new(v.pos, format!("`{key}` takes a scalar, found {}", v.kind()))
            })
        };
        Ok(match key {
            "$any" => match value.value {
                NodeValue::Bool(true) | NodeValue::Null => Matcher::Any,
                _ => return Err(SpecError::new(value.pos, "`$any` takes `true`")),
            },
            "$regex" => {
                let pattern = text(value)?;
                Matcher::Regex(Regex::new(&pattern).map_err(|e| {
                    SpecError::new(value.pos, format!("invalid regular expression: {e}"))
                })?)
            }
            "$contains" => Matcher::Contains(text(value)?),
            "$eq" => Matcher::Eq(text(value)?),
            "$ne" => Matcher::Ne(text(value)?),
            "$gt" => Matcher::Compare(Ordering::Greater, false, number(value)?),
            "$gte" => Matcher::Compare(Ordering::Greater, true, number(value)?),
            "$lt" => Matcher::Compare(Ordering::Less, false, number(value)?),
            "$lte" => Matcher::Compare(Ordering::Less, true, number(value)?),
            "$between" => match &value.value {
                NodeValue::Seq(items) if items.len() == 2 => {
                    Matcher::Between(number(&items[0])?, number(&items[1])?)
                }
                _ => {
                    return Err(SpecError::new(
                        value.pos,
                        "`$between` takes a list of two numbers: [low, high]",
                    ))
                }
            },
            "$len" => {
                if Matcher::is_matcher_map(value)? {
                    Matcher::Len(Matcher::parse_all(value)?)
                } else {
                    let n = number(value)?;
                    Matcher::Len(vec![Matcher::Compare(Ordering::Equal, true, n)])
                }
            }
            other => {
                return Err(SpecError::new(
                    pos,
                    format!(
                        "unknown matcher `{other}` (expected one of: {})",
                        MATCHER_KEYS.join(", ")
                    ),
                ))
            }
        })
    }

    /// Checks a subject; on failure says what was expected.
    pub fn check(&self, subject: &Subject) -> Result<(), String> {
        let ok = match (self, subject) {
            (Matcher::Any, _) => true,
            (Matcher::Regex(re), s) => re.is_match(&s.text()),
            (Matcher::Contains(needle), Subject::List(items)) => items.iter().any(|i| i == needle),
            (Matcher::Contains(needle), s) => s.text().contains(needle.as_str()),
            (Matcher::Eq(v), s) => s.text() == *v,
            (Matcher::Ne(v), s) => s.text() != *v,
            (Matcher::Compare(..) | Matcher::Between(..), Subject::Scalar { number, .. }) => {
                number.is_some_and(|n| self.check_number(n))
            }
            (Matcher::Compare(..) | Matcher::Between(..), _) => false,
            (Matcher::Len(inner), s) => {
                let len = match s {
                    Subject::Scalar { len, .. } => *len,
                    Subject::List(items) => items.len(),
                    Subject::Message(_) => return Err(format!("{self} (a message has no length)")),
                };
                let len_subject = Subject::Scalar {
                    text: len.to_string(),
                    number: Some(Num::Int(len as i128)),
                    len: 0,
                };
                return inner
                    .iter()
                    .try_for_each(|m| m.check(&len_subject))
                    .map_err(|_| format!("{self}, length is {len}"));
            }
        };
        if ok {
            Ok(())
        } else {
            Err(self.to_string())
        }
    }

    fn check_number(&self, n: Num) -> bool {
        match self {
            Matcher::Compare(ord, or_equal, bound) => match n.compare(*bound) {
                Some(o) if o == *ord => true,
                Some(Ordering::Equal) => *or_equal,
                _ => false,
            },
            Matcher::Between(lo, hi) => {
                matches!(n.compare(*lo), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(n.compare(*hi), Some(Ordering::Less | Ordering::Equal))
            }
            _ => false,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Any => write!(f, "any value"),
            Matcher::Regex(re) => write!(f, "matching /{}/", re.as_str()),
            Matcher::Contains(s) => write!(f, "containing {s:?}"),
            Matcher::Eq(s) => write!(f, "equal to {s:?}"),
            Matcher::Ne(s) => write!(f, "not {s:?}"),
            Matcher::Compare(Ordering::Greater, false, n) => write!(f, "> {n}"),
            Matcher::Compare(Ordering::Greater, true, n) => write!(f, ">= {n}"),
            Matcher::Compare(Ordering::Less, false, n) => write!(f, "< {n}"),
            Matcher::Compare(Ordering::Less, true, n) => write!(f, "<= {n}"),
            Matcher::Compare(Ordering::Equal, _, n) => write!(f, "{n}"),
            Matcher::Between(lo, hi) => write!(f, "between {lo} and {hi}"),
            Matcher::Len(inner) => {
                let parts: Vec<String> = inner.iter().map(ToString::to_string).collect();
                write!(f, "length {}", parts.join(" and "))
            }
        }
    }
}

/// The text of a scalar node.
pub(super) fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Bool(b) => Some(b.to_string()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::UInt(u) => Some(u.to_string()),
        NodeValue::Float(x) => Some(x.to_string()),
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Null => Some(String::new()),
        NodeValue::Seq(_) | NodeValue::Map(_) | NodeValue::Template(_) => None,
    }
}

/// Formats a list of matchers as "a and b".
pub(super) fn describe(matchers: &[Matcher]) -> String {
    matchers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" and ")
}
