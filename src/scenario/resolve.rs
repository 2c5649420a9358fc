//! The resolving pass between the file as parsed and its meaning: every scalar of every
//! key goes through the same [`Resolver`], so `${NAME}` works the same everywhere and
//! never in keys, comments or structure.

use std::collections::HashSet;

use super::node::{At, Node, NodeValue};
use super::raw::{Located, RawCall, RawFile, RawGroup, RawStep, RawStepAt, RawStepFields};
use super::vars::{Resolver, VarError};

type Result<T> = std::result::Result<T, VarError>;

/// The names captured anywhere in a file: the keys of every `capture:` mapping.
pub(super) fn captured_names(raw: &RawFile) -> HashSet<String> {
    let mut names = HashSet::new();
    let scripts = raw
        .script
        .iter()
        .chain(raw.calls.iter().flatten().map(|c| &c.value.script));
    for script in scripts {
        add_captured(script, &mut names);
    }
    names
}

fn add_captured(steps: &[RawStepAt], names: &mut HashSet<String>) {
    for step in steps {
        let RawStep::Fields(fields) = &step.step else {
            continue;
        };
        if let Some(entries) = fields.capture.as_deref().and_then(Node::as_map) {
            names.extend(entries.iter().map(|(k, _)| k.name.clone()));
        }
        if let Some(inner) = &fields.unordered {
            add_captured(inner, names);
        }
        if let Some(group) = &fields.group {
            names.extend(group.index.iter().map(|i| i.value.clone()));
            add_captured(&group.steps, names);
        }
    }
}

impl Resolver<'_> {
    fn maybe_node(&mut self, node: Option<Node>) -> Result<Option<Node>> {
        node.map(|n| self.node(n)).transpose()
    }

    fn maybe_text(&mut self, text: Option<Located>) -> Result<Option<Located>> {
        text.map(|t| self.text(t)).transpose()
    }

    fn boxed_node(&mut self, node: Option<Box<Node>>) -> Result<Option<Box<Node>>> {
        node.map(|n| self.node(*n).map(Box::new)).transpose()
    }

    fn boxed_text(&mut self, text: Option<Box<Located>>) -> Result<Option<Box<Located>>> {
        text.map(|t| self.text(*t).map(Box::new)).transpose()
    }

    /// Resolves every scalar of the file (`vars:` stays as written: it is a source).
    pub(super) fn file(&mut self, raw: RawFile) -> Result<RawFile> {
        Ok(RawFile {
            name: self.maybe_text(raw.name)?,
            proto: self.maybe_node(raw.proto)?,
            protoset: self.maybe_node(raw.protoset)?,
            reflect: raw.reflect,
            import_paths: raw
                .import_paths
                .map(|paths| paths.into_iter().map(|p| self.text(p)).collect())
                .transpose()?,
            target: self.maybe_text(raw.target)?,
            listen: self.maybe_text(raw.listen)?,
            vars: raw.vars,
            concurrent: raw.concurrent,
            match_mode: self.maybe_text(raw.match_mode)?,
            call: self.maybe_text(raw.call)?,
            timeout: self.maybe_text(raw.timeout)?,
            deadline_header: raw.deadline_header,
            metadata: self.maybe_node(raw.metadata)?,
            compression: self.maybe_text(raw.compression)?,
            script: raw.script.map(|s| self.steps(s)).transpose()?,
            calls: raw
                .calls
                .map(|calls| calls.into_iter().map(|c| self.call(c)).collect())
                .transpose()?,
        })
    }

    fn call(&mut self, raw: At<RawCall>) -> Result<At<RawCall>> {
        let At { pos, value } = raw;
        let call = RawCall {
            id: self.maybe_text(value.id)?,
            name: self.maybe_text(value.name)?,
            call: self.text(value.call)?,
            timeout: self.maybe_text(value.timeout)?,
            deadline_header: value.deadline_header,
            metadata: self.maybe_node(value.metadata)?,
            compression: self.maybe_text(value.compression)?,
            match_mode: self.maybe_text(value.match_mode)?,
            script: self.steps(value.script)?,
        };
        Ok(At { pos, value: call })
    }

    fn steps(&mut self, steps: Vec<RawStepAt>) -> Result<Vec<RawStepAt>> {
        steps
            .into_iter()
            .map(|mut at| {
                // Resolved in place: a long script is not allocated twice.
                match &mut at.step {
                    RawStep::Fields(fields) => {
                        **fields = self.fields(std::mem::take(&mut **fields))?
                    }
                    RawStep::Send(_, node) => {
                        let pos = node.pos;
                        let written = std::mem::replace(
                            node,
                            Node {
                                pos,
                                value: NodeValue::Null,
                            },
                        );
                        *node = self.node(written)?;
                    }
                    RawStep::Word(_) => {}
                }
                Ok(at)
            })
            .collect()
    }

    fn group(&mut self, raw: RawGroup) -> Result<RawGroup> {
        Ok(RawGroup {
            repeat: self.maybe_node(raw.repeat)?,
            index: raw.index,
            steps: self.steps(raw.steps)?,
        })
    }

    fn fields(&mut self, raw: RawStepFields) -> Result<RawStepFields> {
        Ok(RawStepFields {
            client: self.maybe_node(raw.client)?,
            server: self.maybe_node(raw.server)?,
            expect: self.boxed_node(raw.expect)?,
            headers: self.boxed_node(raw.headers)?,
            close: raw.close,
            cancel: raw.cancel,
            status: self.boxed_node(raw.status)?,
            message: self.boxed_node(raw.message)?,
            trailers: self.boxed_node(raw.trailers)?,
            details: self.boxed_node(raw.details)?,
            sleep: self.boxed_text(raw.sleep)?,
            unordered: raw.unordered.map(|s| self.steps(s)).transpose()?,
            after: self.boxed_text(raw.after)?,
            within: self.boxed_text(raw.within)?,
            repeat: self.boxed_node(raw.repeat)?,
            optional: raw.optional,
            compressed: raw.compressed,
            group: raw
                .group
                .map(|g| self.group(*g).map(Box::new))
                .transpose()?,
            match_mode: self.boxed_text(raw.match_mode)?,
            capture: self.boxed_node(raw.capture)?,
        })
    }
}
