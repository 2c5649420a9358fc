//! `${NAME}` templates inside scalar values: the one scanner for `${NAME}` and `$${`, and
//! the steps that use captured variables, built when they play.
//!
//! A scalar's text (after YAML has read it: quotes and escapes done) is scanned once. Its
//! parts are literal text and variable references; a value replaces a reference as text and
//! is never scanned again, so nothing a value holds can change the file's structure.

use std::collections::HashMap;

use prost_reflect::MessageDescriptor;

use super::node::{Node, NodeValue, Pos};
use crate::matching::{MatchMode, MessageSpec, MetadataSpec, SpecError};

/// Variables captured so far while a file plays: name → text.
pub type CapturedVars = HashMap<String, String>;

/// One piece of a scalar that uses variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text as written (`$${` already turned into `${`).
    Text(String),
    /// `${NAME}`.
    Var(String),
}

/// A `${` that does not form a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ScanError {
    /// The byte offset of the `${` in the scalar's text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits a scalar's text into literal parts and `${NAME}` references. `$${` stands for a
/// literal `${`; any other `$` is itself. A name is letters, digits and `_`.
/// Each part comes with the byte offset where it starts.
pub(super) fn scan(text: &str) -> Result<Vec<(usize, Part)>, ScanError> {
    let mut parts = Vec::new();
    let mut literal_at = 0;
    let mut literal = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        literal.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix("$${") {
            literal.push_str("${");
            rest = after;
        } else if let Some(body) = tail.strip_prefix("${") {
            let offset = text.len() - tail.len();
            let name_len = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            if !body[name_len..].starts_with('}') {
                return Err(ScanError {
                    offset,
                    message: "`${` is not closed by `}` after a variable name (letters, digits, `_`); write `$${` for a literal `${`".into(),
                });
            }
            if name_len == 0 {
                return Err(ScanError {
                    offset,
                    message: "`${}` names no variable".into(),
                });
            }
            if !literal.is_empty() {
                parts.push((literal_at, Part::Text(std::mem::take(&mut literal))));
            }
            parts.push((offset, Part::Var(body[..name_len].to_string())));
            rest = &body[name_len + 1..];
            literal_at = text.len() - rest.len();
        } else {
            literal.push('$');
            rest = &tail[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() || parts.is_empty() {
        parts.push((literal_at, Part::Text(literal)));
    }
    Ok(parts)
}

/// Joins parts whose references all have values; `None` names the first one without.
pub(super) fn join<'a>(
    parts: &'a [Part],
    value: impl Fn(&str) -> Option<&'a str>,
) -> Result<String, &'a str> {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Var(name) => out.push_str(value(name).ok_or(name.as_str())?),
        }
    }
    Ok(out)
}

/// Writes parts back as template text (`${` in literal text as `$${`), for output.
pub(super) fn display(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.replace("${", "$${"),
            Part::Var(name) => format!("${{{name}}}"),
        })
        .collect()
}

/// A message step whose message (or `expect:`) uses captured variables.
#[derive(Debug, Clone)]
pub struct MessageTemplate {
    message: Node,
    expect: Option<Node>,
    descriptor: MessageDescriptor,
    mode: MatchMode,
}

impl MessageTemplate {
    /// A template of `descriptor` messages.
    pub fn new(
        message: Node,
        expect: Option<Node>,
        descriptor: MessageDescriptor,
        mode: MatchMode,
    ) -> Self {
        MessageTemplate {
            message,
            expect,
            descriptor,
            mode,
        }
    }

    /// Builds the message (and `expect:`) from the captured values.
    pub fn resolve(
        &self,
        vars: &CapturedVars,
    ) -> Result<(MessageSpec, Option<MessageSpec>), SpecError> {
        let build = |node: &Node| {
            MessageSpec::compile(&substitute(node, vars)?, &self.descriptor, self.mode)
        };
        Ok((
            build(&self.message)?,
            self.expect.as_ref().map(build).transpose()?,
        ))
    }
}

/// Request metadata that uses captured variables.
#[derive(Debug, Clone)]
pub struct MetadataTemplate(pub Node);

impl MetadataTemplate {
    /// Builds the metadata from the captured values.
    pub fn resolve(&self, vars: &CapturedVars) -> Result<MetadataSpec, SpecError> {
        MetadataSpec::compile(&substitute(&self.0, vars)?)
    }
}

/// Positions of the scalars in `node` that use captured variables.
pub(super) fn uses(node: &Node) -> Vec<Pos> {
    let mut found = Vec::new();
    visit(node, &mut |n| {
        if matches!(n.value, NodeValue::Template(_)) {
            found.push(n.pos);
        }
    });
    found
}

/// The same node with every template built from `vars`, or with `placeholder` for each
/// reference when it is given (to check a template's shape at load time).
fn substitute_with(
    node: &Node,
    vars: &CapturedVars,
    placeholder: Option<&str>,
) -> Result<Node, SpecError> {
    let value = match &node.value {
        NodeValue::Template(parts) => {
            let text = join(parts, |name| {
                vars.get(name).map(String::as_str).or(placeholder)
            })
            .map_err(|name| {
                SpecError::new(
                    node.pos,
                    format!("variable `{name}` has not been captured yet"),
                )
            })?;
            NodeValue::Str(text)
        }
        NodeValue::Seq(items) => NodeValue::Seq(
            items
                .iter()
                .map(|i| substitute_with(i, vars, placeholder))
                .collect::<Result<_, _>>()?,
        ),
        NodeValue::Map(entries) => NodeValue::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), substitute_with(v, vars, placeholder)?)))
                .collect::<Result<_, SpecError>>()?,
        ),
        other => other.clone(),
    };
    Ok(Node {
        pos: node.pos,
        value,
    })
}

/// Builds the templates of `node` from the captured values.
pub(super) fn substitute(node: &Node, vars: &CapturedVars) -> Result<Node, SpecError> {
    substitute_with(node, vars, None)
}

/// Replaces every captured variable with a neutral stand-in, so that field names and the
/// shape of a template can be checked when the file loads.
pub(super) fn with_placeholders(node: &Node) -> Node {
    substitute_with(node, &CapturedVars::new(), Some("0")).unwrap_or_else(|_| node.clone())
}

/// The node without the entry or item written at `pos`, when that entry uses a captured
/// variable (its value is only known when the step plays); `None` when there is no such
/// entry.
pub(super) fn without_template_at(node: &Node, pos: Pos) -> Option<Node> {
    let holds = |n: &Node| n.pos == pos && !uses(n).is_empty();
    let value = match &node.value {
        NodeValue::Map(entries) => {
            if let Some(i) = entries.iter().position(|(_, v)| holds(v)) {
                let mut entries = entries.clone();
                entries.remove(i);
                NodeValue::Map(entries)
            } else {
                let (i, inner) = entries
                    .iter()
                    .enumerate()
                    .find_map(|(i, (_, v))| without_template_at(v, pos).map(|n| (i, n)))?;
                let mut entries = entries.clone();
                entries[i].1 = inner;
                NodeValue::Map(entries)
            }
        }
        NodeValue::Seq(items) => {
            if let Some(i) = items.iter().position(holds) {
                let mut items = items.clone();
                items.remove(i);
                NodeValue::Seq(items)
            } else {
                let (i, inner) = items
                    .iter()
                    .enumerate()
                    .find_map(|(i, v)| without_template_at(v, pos).map(|n| (i, n)))?;
                let mut items = items.clone();
                items[i] = inner;
                NodeValue::Seq(items)
            }
        }
        _ => return None,
    };
    Some(Node {
        pos: node.pos,
        value,
    })
}

fn visit(node: &Node, f: &mut impl FnMut(&Node)) {
    f(node);
    match &node.value {
        NodeValue::Seq(items) => items.iter().for_each(|i| visit(i, f)),
        NodeValue::Map(entries) => entries.iter().for_each(|(_, v)| visit(v, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Part {
        Part::Text(s.into())
    }

    fn var(s: &str) -> Part {
        Part::Var(s.into())
    }

    fn scan(text: &str) -> Result<Vec<Part>, ScanError> {
        Ok(super::scan(text)?.into_iter().map(|(_, p)| p).collect())
    }

    #[test]
    fn references_and_literals_are_split() {
        assert_eq!(
            scan("id-${N}-${M}").unwrap(),
            vec![text("id-"), var("N"), text("-"), var("M")]
        );
        assert_eq!(scan("${N}").unwrap(), vec![var("N")]);
        assert_eq!(scan("").unwrap(), vec![text("")]);
        assert_eq!(scan("plain").unwrap(), vec![text("plain")]);
    }

    #[test]
    fn double_dollar_is_a_literal_and_lone_dollars_stay() {
        assert_eq!(scan("a $${X} $5 $").unwrap(), vec![text("a ${X} $5 $")]);
        assert_eq!(scan("$$${X}").unwrap(), vec![text("$${X}")]);
        assert_eq!(scan("$$${X}}").unwrap(), vec![text("$${X}}")]);
        assert_eq!(scan("$ ${X}").unwrap(), vec![text("$ "), var("X")]);
        assert_eq!(scan("$${X}${Y}").unwrap(), vec![text("${X}"), var("Y")]);
    }

    #[test]
    fn broken_references_are_errors_at_their_offset() {
        let err = scan("ab${NAME").unwrap_err();
        assert_eq!(err.offset, 2);
        assert!(err.message.contains("not closed"));
        assert!(scan("${}")
            .unwrap_err()
            .message
            .contains("names no variable"));
        assert!(scan("${a b}").is_err());
    }

    #[test]
    fn joining_never_rescans_values() {
        let parts = scan("<${A}>").unwrap();
        let joined = join(&parts, |_| Some("${B} $${C}")).unwrap();
        assert_eq!(joined, "<${B} $${C}>");
        assert_eq!(join(&parts, |_| None), Err("A"));
    }

    #[test]
    fn display_writes_the_template_back() {
        for written in ["a $${X} ${Y}", "${Y}", "$5"] {
            assert_eq!(display(&scan(written).unwrap()), written);
        }
    }

    #[test]
    fn an_entry_using_a_capture_can_be_left_out() {
        let node: Node = serde_saphyr::from_str("{a: 1, b: x}").unwrap();
        let NodeValue::Map(mut entries) = node.value.clone() else {
            panic!("a mapping")
        };
        let pos = entries[1].1.pos;
        entries[1].1.value = NodeValue::Template(vec![var("X")]);
        let node = Node {
            pos: node.pos,
            value: NodeValue::Map(entries),
        };
        let left = without_template_at(&node, pos).unwrap();
        assert_eq!(left.to_json(), serde_json::json!({"a": 1}));
        assert!(without_template_at(&left, pos).is_none());
    }
}
