//! Values that use captured variables: kept as written when the file loads, and built when
//! the step plays, from what earlier steps captured.

use std::collections::{HashMap, HashSet};

use prost_reflect::MessageDescriptor;

use super::node::{Node, NodeValue, Pos};
use crate::matching::{MatchMode, MessageSpec, MetadataSpec, SpecError};

/// Variables captured so far while a file plays: name → text.
pub type CapturedVars = HashMap<String, String>;

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

/// Positions of the strings in `node` that use one of `names`.
pub fn uses(node: &Node, names: &HashSet<String>) -> Vec<Pos> {
    let mut found = Vec::new();
    visit(node, &mut |n| {
        if let NodeValue::Str(s) = &n.value {
            if references(s).any(|r| names.contains(r)) {
                found.push(n.pos);
            }
        }
    });
    found
}

/// The same node with every `${NAME}` of `vars` replaced; `placeholder` stands for the
/// names not captured yet when it is given (to check a template's shape at load time).
fn substitute_with(
    node: &Node,
    vars: &CapturedVars,
    placeholder: Option<&str>,
) -> Result<Node, SpecError> {
    let value = match &node.value {
        NodeValue::Str(s) if s.contains("${") => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let end = after.find('}').unwrap_or(after.len());
                let name = &after[..end];
                match (vars.get(name), placeholder) {
                    (Some(value), _) => out.push_str(value),
                    (None, Some(placeholder)) => out.push_str(placeholder),
                    (None, None) => {
                        return Err(SpecError::new(
                            node.pos,
                            format!("variable `{name}` has not been captured yet"),
                        ))
                    }
                }
                rest = after.get(end + 1..).unwrap_or_default();
            }
            out.push_str(rest);
            NodeValue::Str(out)
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

/// Replaces the captured variables of `node`.
pub fn substitute(node: &Node, vars: &CapturedVars) -> Result<Node, SpecError> {
    substitute_with(node, vars, None)
}

/// Replaces every captured variable with a neutral stand-in, so that field names and the
/// shape of a template can be checked when the file loads.
pub fn with_placeholders(node: &Node) -> Node {
    substitute_with(node, &CapturedVars::new(), Some("0")).unwrap_or_else(|_| node.clone())
}

/// The names of the `${NAME}` references in a text.
pub fn references(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("${").filter_map(move |(i, _)| {
        let after = &text[i + 2..];
        after.find('}').map(|end| &after[..end])
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

/// The names captured anywhere in a file: the keys of every `capture:` mapping.
pub fn captured_names(document: &Node) -> HashSet<String> {
    let mut names = HashSet::new();
    visit(document, &mut |n| {
        if let Some(entries) = n.as_map() {
            for (key, value) in entries {
                if key.name == "capture" {
                    if let Some(captures) = value.as_map() {
                        names.extend(captures.iter().map(|(k, _)| k.name.clone()));
                    }
                }
            }
        }
    });
    names
}
