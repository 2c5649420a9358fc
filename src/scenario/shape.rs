//! The shape of a script: what the method's kind allows, the order of a call, the steps a
//! file leaves implied, the order of captures and uses, and what each role can perform.

use std::collections::HashMap;

use super::details::Details;
use super::error::LoadError;
use super::load::Loader;
use super::model::{Action, Call, Compression, Repeat, Role, StatusStep, Step};
use super::node::Pos;
use super::status_code::StatusCode;
use crate::matching::MetadataSpec;
use crate::protos::RpcKind;

/// Every step of a script in order, the steps inside `unordered:` and `group:` after the
/// step that holds them.
pub(crate) fn flatten(steps: &[Step]) -> Vec<&Step> {
    let mut flat = Vec::with_capacity(steps.len());
    for step in steps {
        flat.push(step);
        flat.extend(flatten(step.action.inner()));
    }
    flat
}

/// The steps that happen (not the groups that hold them), with the fewest and most times
/// each can happen in the call.
fn counted<'a>(steps: &'a [Step], times: (u64, u64), out: &mut Vec<(&'a Step, u64, u64)>) {
    for step in steps {
        let min = times.0.saturating_mul(step.repeat.min);
        let max = times.1.saturating_mul(step.repeat.max);
        match &step.action {
            Action::Group(group) => counted(&group.steps, (min, max), out),
            Action::Unordered(inner) => counted(inner, times, out),
            _ => out.push((step, min, max)),
        }
    }
}

/// Messages counted so far on one side of the call.
#[derive(Default)]
struct Sent {
    min: u64,
    max: u64,
}

impl Sent {
    fn add(&mut self, min: u64, max: u64) {
        self.min = self.min.saturating_add(min);
        self.max = self.max.saturating_add(max);
    }
}

impl Loader<'_> {
    /// In a file whose calls run one after another, a captured variable is used only after
    /// the step that captures it (a group's index, after its `group:`).
    pub(super) fn check_capture_order(&self, calls: &[Call]) -> Result<(), LoadError> {
        let mut first_capture: HashMap<&str, Pos> = HashMap::new();
        for step in calls.iter().flat_map(|c| flatten(&c.script)) {
            let index = match &step.action {
                Action::Group(group) => group.index.as_deref(),
                _ => None,
            };
            let names = step.capture.iter().map(|c| (c.name.as_str(), c.pos));
            for (name, pos) in index.map(|i| (i, step.pos)).into_iter().chain(names) {
                first_capture.entry(name).or_insert(pos);
            }
        }
        for (pos, name) in &self.captured_uses {
            if let Some(captured) = first_capture.get(name.as_str()) {
                if pos.line <= captured.line {
                    return Err(self.err(
                        *pos,
                        format!(
                            "`${{{name}}}` is used before the step that captures it (line {})",
                            captured.line
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// On a call whose client sends one message (unary, server streaming), a server's
    /// handler starts once that message has arrived: a `server:` message scripted before
    /// it could never be sent by a real server.
    pub(super) fn check_client_first(
        &self,
        script: &[Step],
        kind: RpcKind,
    ) -> Result<(), LoadError> {
        if kind.client_streams() {
            return Ok(());
        }
        let first_message = flatten(script).into_iter().find_map(|s| match &s.action {
            Action::Client(_) => Some(None),
            Action::Server(_) => Some(Some(s)),
            // An unordered group that holds the client's message lets it come first.
            Action::Unordered(inner)
                if inner
                    .iter()
                    .any(|s| s.action.performer() == Some(Role::Client)) =>
            {
                Some(None)
            }
            _ => None,
        });
        match first_message {
            Some(Some(server)) => Err(self.err(
                server.pos,
                format!(
                    "on a {} call the server answers the client's message: put `client: {{...}}` before this `server:` step",
                    kind.label()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Checks that the script fits the method's kind and the order of a call.
    pub(super) fn check_shape(
        &self,
        script: &[Step],
        kind: RpcKind,
        method: &prost_reflect::MethodDescriptor,
    ) -> Result<(), LoadError> {
        let (mut client, mut server) = (Sent::default(), Sent::default());
        let mut closed_at: Option<Pos> = None;
        let mut ended_at: Option<(Pos, &str)> = None;
        let label = kind.label();
        let method_name = format!("{}/{}", method.parent_service().full_name(), method.name());
        let mut steps = Vec::new();
        counted(script, (1, 1), &mut steps);
        for (step, min, max) in steps {
            let fail = |message: String| Err(self.err(step.pos, message));
            if let Some((end, what)) = ended_at {
                return fail(format!(
                    "nothing can follow `{what}` (line {}): it ends the call",
                    end.line
                ));
            }
            match &step.action {
                Action::Client(_) => {
                    if let Some(closed) = closed_at {
                        return fail(format!("the client already half-closed its stream (line {}): it cannot send more", closed.line));
                    }
                    client.add(min, max);
                    if !kind.client_streams() && client.max > 1 {
                        return fail(format!(
                            "{method_name} is {label}: the client sends exactly one message"
                        ));
                    }
                }
                Action::Server(_) => {
                    server.add(min, max);
                    if !kind.server_streams() && server.max > 1 {
                        return fail(format!(
                            "{method_name} is {label}: the server sends at most one message"
                        ));
                    }
                }
                Action::Headers(_) if server.max > 0 => {
                    return fail("`headers:` come before the server's first message".into());
                }
                Action::Close => {
                    if let Some(closed) = closed_at {
                        return fail(format!(
                            "the client already half-closed (line {})",
                            closed.line
                        ));
                    }
                    closed_at = Some(step.pos);
                }
                Action::Cancel => ended_at = Some((step.pos, "cancel")),
                Action::Status(status) => {
                    if status.code == StatusCode::OK && !kind.server_streams() && server.min == 0 {
                        return fail(format!(
                            "{method_name} is {label}: a call that ends OK has one server message; add `server: {{...}}` before it"
                        ));
                    }
                    ended_at = Some((step.pos, "status"));
                }
                _ => {}
            }
        }
        self.check_ending(script, kind, &method_name, (&client, &server), ended_at)
    }

    /// What a unary or streaming side needs by the end of the script.
    fn check_ending(
        &self,
        script: &[Step],
        kind: RpcKind,
        method_name: &str,
        (client, server): (&Sent, &Sent),
        ended_at: Option<(Pos, &str)>,
    ) -> Result<(), LoadError> {
        let label = kind.label();
        if !kind.client_streams() && client.min == 0 {
            return Err(self.err(script[0].pos, format!(
                "{method_name} is {label}: the script needs the client's one message (`client: {{...}}`)"
            )));
        }
        if ended_at.is_none() && !kind.server_streams() && server.min == 0 {
            let last = script.last().map_or(Pos::default(), |s| s.pos);
            return Err(self.err(last, format!(
                "{method_name} is {label}: the script needs the server's message, or a `status:` that ends the call"
            )));
        }
        Ok(())
    }
}

/// Whether a step is or holds a `client:` message.
fn sends_client(step: &Step) -> bool {
    matches!(step.action, Action::Client(_)) || step.action.inner().iter().any(sends_client)
}

/// Makes the implied steps explicit: the client's half-close and `status: OK` at the end
/// of a script that has neither a status nor a cancel. The client half-closes after its
/// last message, except on bidi calls, where it half-closes just before the final status
/// (so that a client that waits for each reply before sending on, as in ping-pong, is not
/// expected to have closed while replies are still due).
pub(super) fn add_implied_steps(script: &mut Vec<Step>, kind: RpcKind) {
    let has = |script: &[Step], f: fn(&Action) -> bool| script.iter().any(|s| f(&s.action));
    let implied = |pos: Pos, action: Action| Step {
        pos,
        action,
        after: None,
        within: None,
        repeat: Repeat::exactly(1),
        implied: true,
        capture: Vec::new(),
    };
    if has(script, |a| matches!(a, Action::Cancel)) {
        return;
    }
    if !has(script, |a| matches!(a, Action::Close)) {
        let at = if kind == RpcKind::Bidi {
            script
                .iter()
                .position(|s| matches!(s.action, Action::Status(_)))
                .unwrap_or(script.len())
        } else {
            script.iter().rposition(sends_client).map_or(0, |i| i + 1)
        };
        let pos = script[at.min(script.len() - 1)].pos;
        script.insert(at, implied(pos, Action::Close));
    }
    if !has(script, |a| matches!(a, Action::Status(_))) {
        let pos = script.last().map_or(Pos::default(), |s| s.pos);
        script.push(implied(
            pos,
            Action::Status(StatusStep {
                code: StatusCode::OK,
                message: None,
                trailers: MetadataSpec::default(),
                details: Details::default(),
            }),
        ));
    }
}

/// The first thing in a call that `role` would have to send but cannot: a matcher where a
/// value is sent, a range with no count to send, or a message whose `compressed:` the
/// call's `compression:` does not give.
pub fn unplayable(call: &Call, role: Role) -> Option<Unplayable> {
    let why = |what: &str, pos: Pos| Unplayable {
        pos,
        cause: UnplayableCause::Matcher,
        message: format!(
            "the {} role sends this {what}, but it holds a matcher; give a concrete value {}",
            role.label(),
            if what.contains("message") {
                "and put the matcher under `expect:`"
            } else {
                "(matchers can only be checked)"
            }
        ),
    };
    if role == Role::Client {
        if let Some(pos) = call.metadata.first_matcher() {
            return Some(why("request metadata", pos));
        }
    }
    flatten(&call.script)
        .into_iter()
        .find_map(|step| match (&step.action, role) {
            _ if step.repeat.send.is_none() && performer(step) == Some(role) => Some(Unplayable {
                pos: step.pos,
                cause: UnplayableCause::NoSendCount,
                message: format!(
                    "the {} role performs this step, but its `repeat:` says only what the other \
                     side accepts: give the count to perform with `send: N` \
                     (e.g. `repeat: {{min: 0, send: 3}}`)",
                    role.label()
                ),
            }),
            (Action::Client(m), Role::Client) | (Action::Server(m), Role::Server) => m
                .message
                .first_matcher()
                .map(|pos| why(&format!("`{}:` message", step.action.keyword()), pos)),
            (Action::Headers(h), Role::Server) => h.first_matcher().map(|pos| why("header", pos)),
            (Action::Status(s), Role::Server) => s
                .trailers
                .first_matcher()
                .map(|pos| why("trailer", pos))
                .or_else(|| s.details.first_matcher().map(|pos| why("detail", pos)))
                .or_else(|| {
                    s.message
                        .as_ref()
                        .filter(|m| m.to_send().is_none())
                        .map(|_| why("status message", step.pos))
                }),
            _ => None,
        })
        .or_else(|| compression_disagreement(call, role))
}

/// The first message `role` sends whose `compressed:` differs from what the call's
/// `compression:` makes of every message (gRPC libraries compress all messages of a call
/// or none): sending it as written is not possible, and sending it otherwise would not be
/// what the file says.
fn compression_disagreement(call: &Call, role: Role) -> Option<Unplayable> {
    let gzip = call.compression == Some(Compression::Gzip);
    flatten(&call.script).into_iter().find_map(|step| {
        let ((Action::Client(m), Role::Client) | (Action::Server(m), Role::Server)) =
            (&step.action, role)
        else {
            return None;
        };
        let wanted = m.compressed.filter(|&c| c != gzip)?;
        let (setting, fix) = if gzip {
            ("`compression: gzip`", "leave out `compression:`")
        } else {
            (
                "no `compression: gzip`",
                "give the call `compression: gzip`",
            )
        };
        Some(Unplayable {
            pos: step.pos,
            cause: UnplayableCause::CompressedFlag,
            message: format!(
                "the {} role sends this message with `compressed: {wanted}`, but the call has \
                 {setting}, which sends every message of the call {}: {fix}, or check the \
                 flag only on messages the other side sends",
                role.label(),
                if gzip { "compressed" } else { "uncompressed" },
            ),
        })
    })
}

/// A step a role cannot perform as written: where, why in short, and the whole sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplayable {
    /// Where the step (or its matcher) is.
    pub pos: Pos,
    /// What kind of obstacle it is.
    pub cause: UnplayableCause,
    /// The load error: what is wrong and how to fix it.
    pub message: String,
}

/// What keeps a role from performing a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnplayableCause {
    /// A matcher where a value must be sent.
    Matcher,
    /// A quantified `repeat:` with no `send:` count.
    NoSendCount,
    /// A `compressed:` flag the call's compression cannot send.
    CompressedFlag,
}

/// The side that performs a step; a group's rounds are started by the side that performs
/// its first step.
pub(crate) fn performer(step: &Step) -> Option<Role> {
    match &step.action {
        Action::Group(group) => group.steps.first().and_then(performer),
        action => action.performer(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{load_str, LoadOptions, PoolCache};
    use super::*;

    /// Loads a HelloWorld call with this `compression:` line and reply modifier, for `role`;
    /// the error's line and message when it does not load.
    fn load_for(compression: &str, reply: &str, role: Role) -> Result<(), (u32, String)> {
        let text = format!(
            "call: HelloWorld/hello\n{compression}\nscript:\n  - client: \"Ann\"\n  - server: \"Hello Ann\"\n    {reply}\n"
        );
        let options = LoadOptions {
            roles: vec![role],
            ..LoadOptions::default()
        };
        load_str(
            Path::new("c.yaml"),
            &text,
            &options,
            &mut PoolCache::default(),
        )
        .map(|_| ())
        .map_err(|e| (e.line(), e.message().to_string()))
    }

    #[test]
    fn a_sent_compressed_must_agree_with_the_call_for_the_sending_role_only() {
        for (compression, reply) in [
            ("compression: identity", "compressed: false"),
            ("compression: gzip", "compressed: true"),
            ("compression: gzip", "within: 1s"),
        ] {
            assert_eq!(
                load_for(compression, reply, Role::Server),
                Ok(()),
                "{reply}"
            );
        }
        for (compression, reply) in [
            ("compression: identity", "compressed: true"),
            ("compression: gzip", "compressed: false"),
        ] {
            let (line, message) = load_for(compression, reply, Role::Server).unwrap_err();
            assert_eq!(line, 5, "{message}");
            assert!(
                message.starts_with("the server role sends this message with `compressed:"),
                "{message}"
            );
            assert_eq!(
                load_for(compression, reply, Role::Client),
                Ok(()),
                "the client checks it"
            );
        }
    }
}
