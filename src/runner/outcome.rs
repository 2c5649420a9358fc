//! What playing a call produced, as data: a record per step, what the peer did, and the
//! failure with its reason. No text here is meant for a person: `report/` writes it.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use prost_reflect::MessageDescriptor;

use super::io::MessageFault;
use crate::matching::{MessageSpec, Mismatch, ReceivedMetadata};
use crate::scenario::node::Pos;
use crate::scenario::{Action, Role, StatusCode};

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// This side performed it (sent, closed, cancelled, paused).
    Performed,
    /// This side checked it and it matched.
    Passed,
    /// This side checked it and it did not match, or it never came.
    Failed,
}

/// What a step is, as the file names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// The call itself (its request metadata, its deadline, its connection).
    Call,
    /// `client:` a message from the client.
    Client,
    /// `server:` a message from the server.
    Server,
    /// `headers:` the response headers.
    Headers,
    /// `close` the client's half-close.
    Close,
    /// `cancel` the client's cancel.
    Cancel,
    /// `status:` the final status.
    Status,
    /// `sleep:` a pause.
    Sleep,
    /// `unordered:` a group of messages in any order.
    Unordered,
    /// `group:` steps repeated as a block.
    Group,
}

impl StepKind {
    /// The kind of step `action` is.
    pub fn of(action: &Action) -> StepKind {
        match action {
            Action::Client(_) => StepKind::Client,
            Action::Server(_) => StepKind::Server,
            Action::Headers(_) => StepKind::Headers,
            Action::Close => StepKind::Close,
            Action::Cancel => StepKind::Cancel,
            Action::Status(_) => StepKind::Status,
            Action::Sleep(_) => StepKind::Sleep,
            Action::Unordered(_) => StepKind::Unordered,
            Action::Group(_) => StepKind::Group,
        }
    }

    /// The keyword the file writes it with (`call` for the call itself).
    pub fn keyword(self) -> &'static str {
        match self {
            StepKind::Call => "call",
            StepKind::Client => "client",
            StepKind::Server => "server",
            StepKind::Headers => "headers",
            StepKind::Close => "close",
            StepKind::Cancel => "cancel",
            StepKind::Status => "status",
            StepKind::Sleep => "sleep",
            StepKind::Unordered => "unordered",
            StepKind::Group => "group",
        }
    }
}

/// An encoded message and its type, decoded only when a report shows it.
#[derive(Debug, Clone)]
pub struct MessageData {
    /// The message type.
    pub descriptor: MessageDescriptor,
    /// The encoded message.
    pub bytes: Bytes,
}

/// A message as the script writes it: a concrete message, or a pattern with matchers.
#[derive(Debug, Clone)]
pub enum Written {
    /// A concrete message.
    Message(MessageData),
    /// A pattern, as written (compact JSON).
    Pattern(String),
}

impl Written {
    /// What `spec` stands for.
    pub fn of(spec: &MessageSpec) -> Written {
        match spec.to_send() {
            Some(bytes) => Written::Message(MessageData {
                descriptor: spec.descriptor().clone(),
                bytes: bytes.clone(),
            }),
            None => Written::Pattern(spec.display()),
        }
    }
}

/// What a step sent or checked.
#[derive(Debug, Clone)]
pub enum Subject {
    /// A message.
    Message(Written),
    /// Metadata (headers sent, or headers that passed their check).
    Metadata(ReceivedMetadata),
    /// The client's half-close.
    HalfClose,
    /// The client's cancel: performed, or checked (with the transport's account of the
    /// reset).
    Cancel(Option<String>),
    /// A status.
    Status {
        /// The code.
        code: StatusCode,
        /// The message.
        message: String,
    },
    /// A pause.
    Sleep(Duration),
    /// The rounds a `group:` played.
    Rounds(u64),
    /// Why the step failed.
    Failed(Box<FailureReason>),
}

/// What a checked step waited for.
#[derive(Debug, Clone)]
pub enum Expected {
    /// A message from the peer.
    Message(Written),
    /// The response headers.
    Headers,
    /// The client's half-close.
    HalfClose,
    /// The client's cancel.
    Cancel,
    /// The call's end, with this status code.
    Status(StatusCode),
}

/// A status the call ended with.
#[derive(Debug, Clone)]
pub struct StatusSeen {
    /// The code.
    pub code: StatusCode,
    /// The status message, as the peer (or the transport) gave it.
    pub message: String,
    /// Trailing metadata.
    pub trailers: ReceivedMetadata,
    /// When the status came from a broken connection, not from the peer: the errors, the
    /// outermost first.
    pub broken: Option<Vec<String>>,
    /// Whether this side's own deadline ended the call (client side).
    pub own_deadline: bool,
}

/// Something the peer did, as the engine saw it.
#[derive(Debug, Clone)]
pub enum Seen {
    /// Response headers.
    Headers(ReceivedMetadata),
    /// A message.
    Message {
        /// The message.
        message: MessageData,
        /// Its gRPC frame's compressed flag; `None` when the transport did not see it.
        compressed: Option<bool>,
    },
    /// The client ended its stream.
    HalfClose,
    /// The client cancelled the call; the transport's account of how.
    Cancel(String),
    /// The client reset the stream with a code that is not a cancel; the transport's
    /// account.
    Reset(String),
    /// The call ended with a status.
    Status(StatusSeen),
    /// A message that could not be read (over the size limit, or cut short).
    Malformed(MessageFault),
}

/// One step as it happened.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// Where the step is written.
    pub pos: Pos,
    /// What step it is.
    pub kind: StepKind,
    /// How it went.
    pub outcome: StepOutcome,
    /// What was sent or checked.
    pub subject: Subject,
    /// Time since the call began, when the step finished.
    pub at: Duration,
    /// How long a checked step waited for the peer.
    pub waited: Option<Duration>,
    /// How many times it happened (`repeat:`).
    pub count: u64,
    /// Whether the file leaves it implicit.
    pub implied: bool,
    /// What the peer did while the step waited, in order; filled only when a transcript
    /// is asked for.
    pub seen: Vec<Seen>,
}

/// What limited a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The step's `within:`.
    Within(Duration),
    /// The call's deadline.
    Deadline(Duration),
}

/// Where metadata was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataPlace {
    /// The request metadata the client sent (server role).
    Request,
    /// The response headers (client role).
    ResponseHeaders,
}

/// Why a call failed.
#[derive(Debug, Clone)]
pub enum FailureReason {
    /// A checked message differs from the script's.
    Mismatch {
        /// The message the script expects.
        expected: Written,
        /// The message that came.
        received: MessageData,
        /// The field-level differences.
        diffs: Vec<Mismatch>,
        /// Which of the step's `repeat:` messages: (1-based index, count), when more than one.
        nth: Option<(u64, u64)>,
    },
    /// A checked message's gRPC frame had another compressed flag than its `compressed:`.
    CompressedFlag {
        /// Whether the step wants the message compressed.
        expected: bool,
        /// The flag that came: whether it was compressed; `None` if the transport did not
        /// see it.
        received: Option<bool>,
        /// Which of the step's `repeat:` messages: (1-based index, count), when more than one.
        nth: Option<(u64, u64)>,
    },
    /// A message of an `unordered:` group matches none of those still expected.
    NoneOfGroup {
        /// The message that came.
        received: MessageData,
        /// How it differs from the first message still expected.
        diffs: Vec<Mismatch>,
    },
    /// Metadata differs from the script's.
    MetadataMismatch {
        /// Which metadata.
        place: MetadataPlace,
        /// The differences.
        diffs: Vec<Mismatch>,
    },
    /// The call ended with another status than the script's, or with other details.
    StatusMismatch {
        /// The code the script expects.
        expected: StatusCode,
        /// The status that came.
        received: StatusSeen,
        /// The differences (`code`, `message`, `trailers.KEY`).
        diffs: Vec<Mismatch>,
    },
    /// The peer did something other than what the step waits for.
    Unexpected {
        /// What the step waits for.
        expected: Expected,
        /// What came instead.
        seen: Seen,
    },
    /// Nothing came in time.
    Absent {
        /// What the step waits for.
        expected: Expected,
        /// What limited the wait.
        limit: Limit,
        /// The status the call then ended with, if it did.
        then: Option<StatusSeen>,
    },
    /// The call ended without a status (the transport has nothing more to give).
    Gone {
        /// What the step waits for.
        expected: Expected,
    },
    /// The connection failed or was lost.
    Transport {
        /// What the step waits for, when it waits for something.
        expected: Option<Expected>,
        /// The status the transport ended the call with.
        status: StatusSeen,
    },
    /// This side's HTTP/2 layer closed the connection (its flood guard).
    LocalGoaway {
        /// What the step waits for.
        expected: Expected,
        /// The transport's account.
        cause: String,
    },
    /// Fewer messages came than the step needs (`repeat:` of more than one, or a range's
    /// `min:`), and then what `then` says.
    TooFew {
        /// How many came and fit.
        came: u64,
        /// How many the step needs at least.
        min: u64,
        /// What happened instead of the next one.
        then: Box<FailureReason>,
    },
    /// The step cannot be built from the captured values.
    Unbuildable {
        /// The error, as the builder gives it.
        cause: String,
    },
    /// The call's deadline passed while the script was busy (server role).
    DeadlinePassed {
        /// The call's deadline.
        budget: Duration,
    },
    /// A message over the size limit (`--max-message-size`), or cut short: one this side
    /// was to send, or one the peer sent.
    BadMessage {
        /// The role whose message it is.
        sender: Role,
        /// What is wrong with it.
        fault: MessageFault,
    },
    /// grpc-replay itself failed: the call's handling panicked (a bug to report).
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// The call could not start: the target cannot be reached.
    Unreachable {
        /// The target, as given.
        target: String,
        /// The connection error and its causes, as the transport gives them.
        cause: String,
    },
}

/// The broad class of a failure, as exit codes and CI reports tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The peer sent something other than the script says.
    Mismatch,
    /// The peer did not do what the script says in time.
    Timeout,
    /// The connection failed or was lost.
    Transport,
    /// grpc-replay failed (a panic).
    Internal,
}

impl FailureKind {
    /// `mismatch`, `timeout`, `transport`: the name reports give it.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Mismatch => "mismatch",
            FailureKind::Timeout => "timeout",
            FailureKind::Transport => "transport",
            FailureKind::Internal => "internal",
        }
    }
}

impl FailureReason {
    /// The broad class.
    pub fn kind(&self) -> FailureKind {
        match self {
            FailureReason::Absent { .. } | FailureReason::DeadlinePassed { .. } => {
                FailureKind::Timeout
            }
            FailureReason::Gone { .. }
            | FailureReason::Transport { .. }
            | FailureReason::LocalGoaway { .. }
            | FailureReason::Unreachable { .. } => FailureKind::Transport,
            FailureReason::Panicked { .. } => FailureKind::Internal,
            FailureReason::StatusMismatch { received, .. } if received.broken.is_some() => {
                FailureKind::Transport
            }
            FailureReason::TooFew { then, .. } => then.kind(),
            _ => FailureKind::Mismatch,
        }
    }

    /// The variant's name, as reports and counts key it.
    pub fn name(&self) -> &'static str {
        match self {
            FailureReason::Mismatch { .. } => "mismatch",
            FailureReason::CompressedFlag { .. } => "compressed_flag",
            FailureReason::NoneOfGroup { .. } => "none_of_group",
            FailureReason::MetadataMismatch { .. } => "metadata_mismatch",
            FailureReason::StatusMismatch { .. } => "status_mismatch",
            FailureReason::Unexpected { .. } => "unexpected",
            FailureReason::Absent { .. } => "absent",
            FailureReason::Gone { .. } => "gone",
            FailureReason::Transport { .. } => "transport",
            FailureReason::LocalGoaway { .. } => "local_goaway",
            FailureReason::TooFew { .. } => "too_few",
            FailureReason::Unbuildable { .. } => "unbuildable",
            FailureReason::DeadlinePassed { .. } => "deadline_passed",
            FailureReason::Unreachable { .. } => "unreachable",
            FailureReason::BadMessage { .. } => "bad_message",
            FailureReason::Panicked { .. } => "panicked",
        }
    }

    /// The field-level differences, when the reason has them.
    pub fn diffs(&self) -> &[Mismatch] {
        match self {
            FailureReason::Mismatch { diffs, .. }
            | FailureReason::NoneOfGroup { diffs, .. }
            | FailureReason::MetadataMismatch { diffs, .. }
            | FailureReason::StatusMismatch { diffs, .. } => diffs,
            FailureReason::TooFew { then, .. } => then.diffs(),
            _ => &[],
        }
    }
}

/// The first thing that went wrong in a call.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The step where it happened.
    pub pos: Pos,
    /// What step it is.
    pub step: StepKind,
    /// Why (boxed: a failure travels in every step's `Result`).
    pub reason: Box<FailureReason>,
}

impl Failure {
    /// The broad class.
    pub fn kind(&self) -> FailureKind {
        self.reason.kind()
    }
}

/// A call the server role answered with UNIMPLEMENTED without playing any script.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RefusedCall {
    /// The method path the client called.
    pub path: String,
    /// Why no script played it.
    pub reason: Refusal,
}

/// Why the server role refused a call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refusal {
    /// The loaded protos define the method, but no served file has a call of it.
    NoScript,
    /// No loaded proto defines the method.
    UnknownMethod,
    /// The request is compressed with an encoding grpc-replay cannot read (it reads gzip).
    Encoding(String),
}

/// The result of playing one call.
#[derive(Debug, Clone)]
pub struct CallResult {
    /// The scenario file.
    pub file: PathBuf,
    /// The scenario's name.
    pub scenario: String,
    /// The call's id.
    pub call_id: String,
    /// The call's name.
    pub call_name: String,
    /// The method path.
    pub method: String,
    /// The role played.
    pub role: Role,
    /// How long the call took.
    pub duration: Duration,
    /// Every step as it happened.
    pub steps: Vec<StepRecord>,
    /// The first failure; `None` when the call passed.
    pub failure: Option<Failure>,
}

impl CallResult {
    /// Whether every step passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(broken: Option<Vec<String>>) -> StatusSeen {
        StatusSeen {
            code: StatusCode(14),
            message: String::new(),
            trailers: Vec::new(),
            broken,
            own_deadline: false,
        }
    }

    #[test]
    fn a_status_from_a_broken_connection_is_a_transport_failure_not_a_mismatch() {
        let mismatch = |broken| FailureReason::StatusMismatch {
            expected: StatusCode::OK,
            received: status(broken),
            diffs: Vec::new(),
        };
        assert_eq!(mismatch(None).kind(), FailureKind::Mismatch);
        assert_eq!(
            mismatch(Some(vec!["reset".into()])).kind(),
            FailureKind::Transport
        );
    }

    #[test]
    fn waits_are_timeouts_and_lost_calls_are_transport_failures() {
        let absent = FailureReason::Absent {
            expected: Expected::HalfClose,
            limit: Limit::Within(Duration::from_millis(1)),
            then: None,
        };
        assert_eq!(absent.kind(), FailureKind::Timeout);
        assert_eq!(absent.name(), "absent");
        let gone = FailureReason::Gone {
            expected: Expected::Cancel,
        };
        assert_eq!(gone.kind(), FailureKind::Transport);
        let unexpected = FailureReason::Unexpected {
            expected: Expected::Headers,
            seen: Seen::HalfClose,
        };
        assert_eq!(unexpected.kind(), FailureKind::Mismatch);
        assert!(unexpected.diffs().is_empty());
    }

    #[test]
    fn step_kinds_keep_the_file_keywords() {
        assert_eq!(StepKind::of(&Action::Close).keyword(), "close");
        assert_eq!(StepKind::of(&Action::Cancel), StepKind::Cancel);
        assert_eq!(StepKind::Call.keyword(), "call");
    }
}
