//! A loaded scenario: every method resolved, every message parsed against its type.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prost_reflect::MethodDescriptor;

use super::details::{Details, DETAILS_TRAILER};
use super::node::Pos;
use super::status_code::StatusCode;
use super::template::{MessageTemplate, MetadataTemplate};
use crate::matching::{FieldPath, MessageSpec, MetaValue, MetadataSpec, TextSpec};
use crate::protos::RpcKind;

/// Which side of a call grpc-replay plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends `client:` lines, checks `server:` lines.
    Client,
    /// Sends `server:` lines, checks `client:` lines.
    Server,
}

impl Role {
    /// `client` or `server`.
    pub fn label(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }
}

/// One scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it was read from.
    pub path: PathBuf,
    /// The file's text, for located messages.
    pub source: Arc<str>,
    /// `name:`, or the file's stem.
    pub name: String,
    /// `target:` for the client role.
    pub target: Option<String>,
    /// `listen:` for the server role.
    pub listen: Option<String>,
    /// Whether the calls run at the same time (`concurrent: true`) or one after another.
    pub concurrent: bool,
    /// The calls, in file order.
    pub calls: Vec<Call>,
}

/// Message compression for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip every message of the call.
    Gzip,
}

/// One gRPC call: a method and the script of the conversation.
#[derive(Debug, Clone)]
pub struct Call {
    /// `id:`, or `call-N` (1-based) for files with several calls, or the scenario name.
    pub id: String,
    /// `name:` of the call, or of the file for a single call.
    pub name: String,
    /// Where `call:` is written.
    pub pos: Pos,
    /// The method.
    pub method: MethodDescriptor,
    /// Its streaming kind.
    pub kind: RpcKind,
    /// The HTTP/2 path, `/package.Service/Method`.
    pub path: String,
    /// `timeout:` — the call's deadline (sent as `grpc-timeout` by a client).
    pub timeout: Option<Duration>,
    /// `deadline_header: true` — a client also sends the deadline as Ballerina does, an
    /// RFC 3339 time in a `deadline` header.
    pub deadline_header: bool,
    /// Request metadata: sent by a client, checked by a server.
    pub metadata: MetadataSpec,
    /// The request metadata as written, when it uses captured variables (`metadata` then
    /// holds a stand-in, built when the file loaded).
    pub metadata_template: Option<MetadataTemplate>,
    /// `compression: gzip`.
    pub compression: Option<Compression>,
    /// The steps, with implied ones made explicit.
    pub script: Vec<Step>,
}

/// One line of a script.
#[derive(Debug, Clone)]
pub struct Step {
    /// Where it is written (for implied steps, the place that implies them).
    pub pos: Pos,
    /// What happens.
    pub action: Action,
    /// `after:` — the performing side waits this long first.
    pub after: Option<Duration>,
    /// `within:` — the checking side waits at most this long.
    pub within: Option<Duration>,
    /// `repeat:` and `optional:` — how many times the step happens.
    pub repeat: Repeat,
    /// Whether the file leaves the step implicit (a close or final status).
    pub implied: bool,
    /// `capture:` — values this step stores for later steps and calls of the file.
    pub capture: Vec<Capture>,
}

/// How many times a step happens: the range the checking side accepts, and the count the
/// performing side does (`repeat: N` is all three; `repeat: {min, max, send}`,
/// `repeat: "*"` and `optional: true` make a range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeat {
    /// The fewest the checking side accepts.
    pub min: u64,
    /// The most the checking side accepts ([`Repeat::UNBOUNDED`] for no limit).
    pub max: u64,
    /// How many the performing side does; `None` when the file gives no count it could
    /// send (a range from 0 with no `send:`).
    pub send: Option<u64>,
}

impl Repeat {
    /// No upper limit (`repeat: "*"`, or a range with no `max:`).
    pub const UNBOUNDED: u64 = u64::MAX;

    /// Exactly `n` times.
    pub fn exactly(n: u64) -> Repeat {
        Repeat {
            min: n,
            max: n,
            send: Some(n),
        }
    }

    /// Whether the checking side accepts one count only.
    pub fn is_exact(&self) -> bool {
        self.min == self.max
    }

    /// How many the performing side does (0 when the file gives no count).
    pub fn sent(&self) -> u64 {
        self.send.unwrap_or(0)
    }
}

/// `group:` — a block of steps that happens several times.
#[derive(Debug, Clone)]
pub struct Group {
    /// The steps of one round.
    pub steps: Vec<Step>,
    /// `index:` — the variable that holds the round's number (0, 1, …) in its messages.
    pub index: Option<String>,
}

/// Where a captured value comes from.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// A field of the step's message (`capture: {id: order.id}`).
    Field(FieldPath),
    /// A response header (`capture:` on a `headers:` step).
    Header(String),
    /// A trailer (`capture:` on a `status:` step).
    Trailer(String),
    /// The status message (`$message` on a `status:` step).
    StatusMessage,
    /// How many times the step happened (`$count` on a message or `group:` step).
    Count,
}

/// `NAME: SOURCE` of a `capture:` mapping.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The variable, used later as `${NAME}`.
    pub name: String,
    /// Where its value comes from.
    pub source: CaptureSource,
    /// Where it is written.
    pub pos: Pos,
}

/// A message step: what the sending side sends, and what the other side checks.
#[derive(Debug, Clone)]
pub struct MessageStep {
    /// The message as written; sent by its side.
    pub message: MessageSpec,
    /// `expect:` — what the checking side compares against instead of `message`; boxed,
    /// as most steps have none.
    pub expect: Option<Box<MessageSpec>>,
    /// The step as written, when it uses captured variables: `message` and `expect` then
    /// hold stand-ins, and the step is built when it plays.
    pub template: Option<Arc<MessageTemplate>>,
    /// `compressed:` — the compressed flag the message's gRPC frame must carry, checked by
    /// the receiving side; `None`: not checked.
    pub compressed: Option<bool>,
}

impl MessageStep {
    /// What the checking side compares a received message with.
    pub fn checked(&self) -> &MessageSpec {
        self.expect.as_deref().unwrap_or(&self.message)
    }
}

/// The end of a call.
#[derive(Debug, Clone)]
pub struct StatusStep {
    /// The status code.
    pub code: StatusCode,
    /// `message:` — the status message.
    pub message: Option<TextSpec>,
    /// `trailers:` — trailing metadata.
    pub trailers: MetadataSpec,
    /// `details:` — rich error details, carried by `grpc-status-details-bin`.
    pub details: Details,
}

impl StatusStep {
    /// The trailers the server role sends with `message`: `trailers:`, and the details
    /// encoded into `grpc-status-details-bin`.
    pub fn trailers_to_send(&self, message: &str) -> Vec<(String, MetaValue)> {
        let mut trailers = self.trailers.to_send().unwrap_or_default();
        if !self.details.is_empty() {
            if let Some(encoded) = self.details.encode(self.code, message) {
                trailers.push((DETAILS_TRAILER.to_string(), MetaValue::Binary(encoded)));
            }
        }
        trailers
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// `client:` — a message from the client.
    Client(MessageStep),
    /// `server:` — a message from the server.
    Server(MessageStep),
    /// `headers:` — response headers from the server.
    Headers(MetadataSpec),
    /// `close` — the client half-closes.
    Close,
    /// `cancel` — the client cancels the call.
    Cancel,
    /// `status:` — the server ends the call.
    Status(StatusStep),
    /// `sleep:` — both sides pause.
    Sleep(Duration),
    /// `unordered:` — the checked messages of the group may arrive in any order.
    Unordered(Vec<Step>),
    /// `group:` — steps repeated as a block.
    Group(Group),
}

impl Action {
    /// The side that performs the action; `None` for `sleep` and groups.
    pub fn performer(&self) -> Option<Role> {
        match self {
            Action::Client(_) | Action::Close | Action::Cancel => Some(Role::Client),
            Action::Server(_) | Action::Headers(_) | Action::Status(_) => Some(Role::Server),
            Action::Sleep(_) | Action::Unordered(_) | Action::Group(_) => None,
        }
    }

    /// The step's keyword, for output.
    pub fn keyword(&self) -> &'static str {
        match self {
            Action::Client(_) => "client",
            Action::Server(_) => "server",
            Action::Headers(_) => "headers",
            Action::Close => "close",
            Action::Cancel => "cancel",
            Action::Status(_) => "status",
            Action::Sleep(_) => "sleep",
            Action::Unordered(_) => "unordered",
            Action::Group(_) => "group",
        }
    }

    /// The steps inside an `unordered:` or `group:` step.
    pub fn inner(&self) -> &[Step] {
        match self {
            Action::Unordered(steps) | Action::Group(Group { steps, .. }) => steps,
            _ => &[],
        }
    }
}
