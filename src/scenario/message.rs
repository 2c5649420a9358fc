//! What a step's message, status and captures hold: messages compiled against their
//! types (templates kept for captured values), status codes, and `capture:` sources.

use std::sync::Arc;

use super::details::{Details, DETAILS_TRAILER};
use super::error::LoadError;
use super::load::{Loader, StepContext};
use super::model::{Action, Capture, CaptureSource, MessageStep, StatusStep};
use super::node::{Node, NodeValue, Pos};
use super::raw::RawStepFields;
use super::status_code::StatusCode;
use super::template::{self, MessageTemplate};
use crate::matching::{FieldPath, MatchMode, MessageSpec, MetadataSpec, TextSpec};

pub(super) fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::UInt(u) => Some(u.to_string()),
        NodeValue::Float(f) => Some(f.to_string()),
        NodeValue::Bool(b) => Some(b.to_string()),
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) | NodeValue::Template(_) => None,
    }
}

impl Loader<'_> {
    /// Reads a step's `capture:` mapping: each variable's source must exist where the step
    /// takes it from.
    pub(super) fn captures(
        &self,
        node: Option<&Node>,
        action: &Action,
        context: &StepContext,
    ) -> Result<Vec<Capture>, LoadError> {
        let Some(node) = node else {
            return Ok(Vec::new());
        };
        let entries = node.as_map().ok_or_else(|| {
            self.err(
                node.pos,
                format!(
                    "`capture:` is a mapping of variable names to sources, found {}",
                    node.kind()
                ),
            )
        })?;
        entries
            .iter()
            .map(|(key, value)| {
                let text = value.as_str().ok_or_else(|| {
                    self.err(
                        value.pos,
                        format!(
                            "the source of `{}` is a text, found {}",
                            key.name,
                            value.kind()
                        ),
                    )
                })?;
                let counted = matches!(
                    action,
                    Action::Client(_) | Action::Server(_) | Action::Group(_)
                );
                let source =
                    match action {
                        _ if text == "$count" && counted => Ok(CaptureSource::Count),
                        Action::Client(_) => FieldPath::parse(text, &context.method.input())
                            .map(CaptureSource::Field),
                        Action::Server(_) => FieldPath::parse(text, &context.method.output())
                            .map(CaptureSource::Field),
                        Action::Headers(_) => Ok(CaptureSource::Header(text.to_ascii_lowercase())),
                        Action::Status(_) if text == "$message" => Ok(CaptureSource::StatusMessage),
                        Action::Status(_) => Ok(CaptureSource::Trailer(text.to_ascii_lowercase())),
                        other => Err(format!(
                        "`capture:` goes with a message, `headers:` or `status:` step (and `$count` with a `group:`), not `{}`",
                        other.keyword()
                    )),
                    }
                    .map_err(|message| self.err(value.pos, message))?;
                Ok(Capture {
                    name: key.name.clone(),
                    source,
                    pos: key.pos,
                })
            })
            .collect()
    }

    /// A `client:` or `server:` step: its message, its `expect:`, and its `compressed:`.
    pub(super) fn message_step(
        &self,
        fields: &RawStepFields,
        message: &Node,
        descriptor: &prost_reflect::MessageDescriptor,
        mode: MatchMode,
    ) -> Result<MessageStep, LoadError> {
        let expect = fields.expect.as_deref();
        let uses: Vec<Pos> = std::iter::once(message)
            .chain(expect)
            .flat_map(template::uses)
            .collect();
        // A step that uses captured variables is checked with stand-ins now and built when
        // it plays; an entry whose value is only known then is left out of the check (its
        // neighbours, and their matchers, are still checked).
        let compile = |node: &Node| {
            if uses.is_empty() {
                // Nothing to stand in for: compiled as written, without copies.
                return MessageSpec::compile(node, descriptor, mode).map_err(|e| self.spec_err(e));
            }
            let mut node = node.clone();
            loop {
                match MessageSpec::compile(&template::with_placeholders(&node), descriptor, mode) {
                    Err(e) => match template::without_template_at(&node, e.pos) {
                        Some(rest) => node = rest,
                        None => return Err(self.spec_err(e)),
                    },
                    compiled => return compiled.map_err(|e| self.spec_err(e)),
                }
            }
        };
        Ok(MessageStep {
            message: compile(message)?,
            expect: expect.map(compile).transpose()?.map(Box::new),
            template: (!uses.is_empty()).then(|| {
                Arc::new(MessageTemplate::new(
                    message.clone(),
                    expect.cloned(),
                    descriptor.clone(),
                    mode,
                ))
            }),
            compressed: fields.compressed,
        })
    }

    /// Captured variables are built into messages and request metadata only.
    pub(super) fn no_captured_use(&self, node: Option<&Node>, key: &str) -> Result<(), LoadError> {
        match node.and_then(|n| template::uses(n).first().copied()) {
            Some(pos) => Err(self.err(
                pos,
                format!("captured variables can be used in messages and request `metadata:`, not in `{key}:`"),
            )),
            None => Ok(()),
        }
    }

    pub(super) fn status(
        &self,
        fields: &RawStepFields,
        method: &prost_reflect::MethodDescriptor,
        mode: MatchMode,
    ) -> Result<StatusStep, LoadError> {
        self.no_captured_use(fields.message.as_deref(), "message")?;
        self.no_captured_use(fields.trailers.as_deref(), "trailers")?;
        self.no_captured_use(fields.details.as_deref(), "details")?;
        let node = fields.status.as_ref().unwrap();
        let text = scalar(node).unwrap_or_default();
        let code = StatusCode::parse(&text).ok_or_else(|| {
            self.err(
                node.pos,
                format!(
                    "`{text}` is not a status code: use a name ({}) or a number 0-16",
                    StatusCode::all_names().join(", ")
                ),
            )
        })?;
        let details = match &fields.details {
            Some(node) => self.details(node, fields, code, method, mode)?,
            None => Details::default(),
        };
        Ok(StatusStep {
            code,
            details,
            message: fields
                .message
                .as_ref()
                .map(|m| TextSpec::compile(m, "`message:`"))
                .transpose()
                .map_err(|e| self.spec_err(e))?,
            trailers: fields
                .trailers
                .as_deref()
                .map(MetadataSpec::compile)
                .transpose()
                .map_err(|e| self.spec_err(e))?
                .unwrap_or_default(),
        })
    }

    /// `details:` of a status step: only with an error code, and not next to a
    /// `grpc-status-details-bin` written in `trailers:`.
    fn details(
        &self,
        node: &Node,
        fields: &RawStepFields,
        code: StatusCode,
        method: &prost_reflect::MethodDescriptor,
        mode: MatchMode,
    ) -> Result<Details, LoadError> {
        if code == StatusCode::OK {
            return Err(self.err(
                node.pos,
                "`details:` go with an error code: gRPC sends no error details with OK",
            ));
        }
        let raw_trailer = fields
            .trailers
            .as_deref()
            .and_then(Node::as_map)
            .and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.name.eq_ignore_ascii_case(DETAILS_TRAILER))
            });
        if let Some((key, _)) = raw_trailer {
            return Err(self.err(
                key.pos,
                format!("`{DETAILS_TRAILER}` is what `details:` sends: write one or the other"),
            ));
        }
        Details::compile(node, method.parent_pool(), mode).map_err(|e| self.spec_err(e))
    }
}
