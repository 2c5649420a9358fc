//! The one place that turns results into prose: failures, what a step did, what the peer
//! did. Every report (terminal, JUnit, TAP, JSON `text` fields, the status message a
//! server sends when a client strays) writes its sentences with these functions.

use std::path::Path;
use std::time::Duration;

use prost_reflect::DynamicMessage;
use serde_json::Value;

use super::style::Style;
use crate::matching::{Mismatch, ReceivedMetadata};
use crate::runner::{
    Expected, Failure, FailureReason, Limit, MessageData, MessageFault, MetadataPlace, Refusal,
    RefusedCall, Seen, StatusSeen, Subject, Written,
};
use crate::scenario::{Role, StatusCode};

/// The longest message rendering shown in a line of output (unless asked for in full).
const MESSAGE_LIMIT: usize = 200;

/// How a failure is written.
#[derive(Debug, Clone, Copy)]
pub(super) struct Render<'a> {
    /// The role this side played (the peer is the other one).
    pub role: Role,
    /// Colours, or none.
    pub style: &'a Style,
    /// Messages in full instead of cut at [`MESSAGE_LIMIT`] characters.
    pub full: bool,
}

/// How messages are written: proto field names (the names the scenario file uses),
/// default values left out.
fn serialize_options() -> prost_reflect::SerializeOptions {
    prost_reflect::SerializeOptions::new()
        .skip_default_fields(true)
        .use_proto_field_name(true)
}

fn decode(message: &MessageData) -> Option<DynamicMessage> {
    DynamicMessage::decode(message.descriptor.clone(), message.bytes.as_ref()).ok()
}

/// A message as a JSON value; `None` when it cannot be decoded.
pub(super) fn message_json(message: &MessageData) -> Option<Value> {
    decode(message)?
        .serialize_with_options(serde_json::value::Serializer, &serialize_options())
        .ok()
}

/// A message in one line: compact JSON in field order, cut short unless `full`.
pub(super) fn message_text(message: &MessageData, full: bool) -> String {
    let Some(decoded) = decode(message) else {
        return format!("<{} undecodable bytes>", message.bytes.len());
    };
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut out);
    let text = match decoded.serialize_with_options(&mut serializer, &serialize_options()) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("<unprintable: {e}>"),
    };
    if full {
        text
    } else {
        shorten(text)
    }
}

/// A scripted message in one line.
pub(super) fn written_text(written: &Written, full: bool) -> String {
    match written {
        Written::Message(message) => message_text(message, full),
        Written::Pattern(pattern) => pattern.clone(),
    }
}

/// Cuts a rendering to [`MESSAGE_LIMIT`] characters, saying how long it was.
fn shorten(text: String) -> String {
    if text.chars().count() <= MESSAGE_LIMIT {
        return text;
    }
    let cut: String = text.chars().take(MESSAGE_LIMIT).collect();
    format!("{cut}… ({} characters; -v shows all)", text.chars().count())
}

/// Metadata as `key: value, …`.
pub(super) fn metadata_text(metadata: &ReceivedMetadata) -> String {
    metadata
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.text()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CODE` or `CODE: message`.
fn code_and_message(status: &StatusSeen) -> String {
    if status.own_deadline {
        format!("{} (the call's deadline passed, client side)", status.code)
    } else if status.message.is_empty() {
        status.code.name()
    } else {
        format!("{}: {}", status.code, status.message)
    }
}

/// A duration for messages: to the millisecond, or to the microsecond below one.
fn rounded(duration: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(if duration < Duration::from_millis(1) {
        Duration::from_micros(duration.as_micros() as u64)
    } else {
        Duration::from_millis(duration.as_millis() as u64)
    })
}

/// `the server's` or `the client's`: the peer of `role`.
fn peer(role: Role) -> &'static str {
    match role {
        Role::Client => "the server's",
        Role::Server => "the client's",
    }
}

/// What a step sent or checked, in one line (for a failed step: why).
pub(super) fn subject_text(subject: &Subject, role: Role, full: bool) -> String {
    match subject {
        Subject::Message(written) => written_text(written, full),
        Subject::Metadata(metadata) => metadata_text(metadata),
        Subject::HalfClose => "half-close".into(),
        Subject::Cancel(None) => "the client cancels".into(),
        Subject::Cancel(Some(how)) => how.clone(),
        Subject::Status { code, message } if message.is_empty() => code.name(),
        Subject::Status { code, message } => format!("{code}: {message}"),
        Subject::Sleep(duration) => humantime::format_duration(*duration).to_string(),
        Subject::Rounds(1) => "1 round".into(),
        Subject::Rounds(rounds) => format!("{rounds} rounds"),
        Subject::Failed(reason) => headline(reason, role),
    }
}

/// Something the peer did, in one line.
pub(super) fn seen_text(seen: &Seen, full: bool) -> String {
    match seen {
        Seen::Headers(headers) => format!("headers {{{}}}", metadata_text(headers)),
        Seen::Message { message, .. } => message_text(message, full),
        Seen::HalfClose => "half-close".into(),
        Seen::Cancel(how) => format!("cancelled: {how}"),
        Seen::Reset(how) => format!("reset: {how}"),
        Seen::Status(status) if status.trailers.is_empty() => {
            format!("status {}", code_and_message(status))
        }
        Seen::Status(status) => format!(
            "status {} trailers {{{}}}",
            code_and_message(status),
            metadata_text(&status.trailers)
        ),
        Seen::Malformed(fault) => format!("a message that cannot be read: {}", fault_text(fault)),
    }
}

/// What is wrong with a message, as a clause.
fn fault_text(fault: &MessageFault) -> String {
    match fault {
        MessageFault::TooLarge { size, limit } => format!(
            "{size} bytes, over --max-message-size ({limit} bytes); raise the limit with \
             --max-message-size BYTES (such as 8MiB)"
        ),
        MessageFault::Truncated => {
            "cut short: the stream ended inside it (its frame announced more bytes than came)"
                .into()
        }
        MessageFault::TooLargeDecompressed { limit } => format!(
            "compressed, and decompresses to more than --max-message-size ({limit} bytes); \
             raise the limit with --max-message-size BYTES (such as 8MiB)"
        ),
        MessageFault::Undecompressable => {
            "marked compressed, but it could not be decompressed (a corrupt body, a \
             compression the call did not agree on, or a flag other than 0 and 1)"
                .into()
        }
    }
}

/// A message over the limit or cut short, as a sentence: one this side was to send
/// (`sender` is `role`), or one the peer sent.
fn bad_message_text(sender: Role, fault: &MessageFault, role: Role) -> String {
    let whose = if sender == role {
        "this message (not sent) is"
    } else {
        match sender {
            Role::Client => "the client's message is",
            Role::Server => "the server's message is",
        }
    };
    format!("{whose} {}", fault_text(fault))
}

#[cfg(test)]
mod message_fault_tests {
    use super::*;

    #[test]
    fn a_bad_message_names_its_sender_the_sizes_and_the_flag() {
        let too_large = FailureReason::BadMessage {
            sender: Role::Client,
            fault: MessageFault::TooLarge {
                size: 5_000_005,
                limit: 4_194_304,
            },
        };
        assert_eq!(
            headline(&too_large, Role::Server),
            "the client's message is 5000005 bytes, over --max-message-size (4194304 bytes); \
             raise the limit with --max-message-size BYTES (such as 8MiB)"
        );
        assert!(headline(&too_large, Role::Client).starts_with("this message (not sent) is"));
        let truncated = FailureReason::BadMessage {
            sender: Role::Client,
            fault: MessageFault::Truncated,
        };
        let text = headline(&truncated, Role::Server);
        assert!(
            text.starts_with("the client's message is cut short"),
            "{text}"
        );
        assert!(!text.contains("cancel"), "{text}");
        let decompressed = FailureReason::BadMessage {
            sender: Role::Server,
            fault: MessageFault::TooLargeDecompressed { limit: 4_194_304 },
        };
        assert_eq!(
            headline(&decompressed, Role::Client),
            "the server's message is compressed, and decompresses to more than \
             --max-message-size (4194304 bytes); raise the limit with --max-message-size \
             BYTES (such as 8MiB)"
        );
        let corrupt = FailureReason::BadMessage {
            sender: Role::Client,
            fault: MessageFault::Undecompressable,
        };
        let text = headline(&corrupt, Role::Server);
        assert!(
            text.starts_with("the client's message is marked compressed, but it could not"),
            "{text}"
        );
    }
}

/// What a step waited for, as a noun phrase.
fn expected_text(expected: &Expected, role: Role) -> String {
    match expected {
        Expected::Message(_) => format!("{} message", peer(role)),
        Expected::Headers => "response headers".into(),
        Expected::HalfClose => "the client's half-close".into(),
        Expected::Cancel => "the client to cancel the call".into(),
        Expected::Status(code) => format!("status {code}"),
    }
}

/// What came instead, as a clause.
fn instead_text(seen: &Seen, role: Role) -> String {
    let peer = match role {
        Role::Client => "the server",
        Role::Server => "the client",
    };
    match seen {
        Seen::Headers(_) => format!("{peer} sent headers"),
        Seen::Message { .. } => format!("{peer} sent another message"),
        Seen::HalfClose => "the client half-closed its stream".into(),
        Seen::Cancel(how) => format!("the client cancelled the call ({how})"),
        Seen::Reset(how) => format!("{how}, which is not a cancel"),
        Seen::Status(status) => format!("the call ended with status {}", code_and_message(status)),
        Seen::Malformed(fault) => format!("{peer}'s message is {}", fault_text(fault)),
    }
}

/// The failure in one line, without its place.
pub(super) fn headline(reason: &FailureReason, role: Role) -> String {
    match reason {
        FailureReason::Mismatch { nth, .. } => {
            let nth = nth.map_or(String::new(), |(i, n)| format!(" (message {i} of {n})"));
            format!("{} message differs from the script{nth}", peer(role))
        }
        FailureReason::CompressedFlag {
            expected,
            received,
            nth,
        } => compressed_flag_text(role, *expected, *received, *nth),
        FailureReason::NoneOfGroup { .. } => format!(
            "{} message matches none of the messages still expected in the group",
            peer(role)
        ),
        FailureReason::MetadataMismatch { place, .. } => match place {
            MetadataPlace::Request => {
                "the request metadata differs from the script's `metadata:`".into()
            }
            MetadataPlace::ResponseHeaders => "the response headers differ".into(),
        },
        FailureReason::StatusMismatch {
            expected,
            received,
            diffs,
        } => status_headline(*expected, received, diffs),
        FailureReason::Unexpected { expected, seen } => {
            format!(
                "expected {}, but {}",
                expected_text(expected, role),
                instead_text(seen, role)
            )
        }
        FailureReason::Absent {
            expected,
            limit,
            then,
        } => absent_headline(&expected_text(expected, role), *limit, then.as_ref()),
        FailureReason::Gone { expected } => {
            format!(
                "expected {}, but the call is gone",
                expected_text(expected, role)
            )
        }
        FailureReason::Transport { expected, status } => {
            let broken = broken_text(status);
            match expected {
                Some(expected) => {
                    format!("expected {}, but {broken}", expected_text(expected, role))
                }
                None => broken,
            }
        }
        FailureReason::LocalGoaway { expected, cause } => format!(
            "expected {}, but grpc-replay's HTTP/2 layer closed the connection: {cause}",
            expected_text(expected, role)
        ),
        FailureReason::TooFew { came, min, then } => format!(
            "{came} of the {min} messages the step needs came, then: {}",
            headline(then, role)
        ),
        FailureReason::Unbuildable { cause } => {
            format!("cannot build the step from captured values: {cause}")
        }
        FailureReason::DeadlinePassed { budget } => format!(
            "the call's deadline ({}) passed before this step was done",
            rounded(*budget)
        ),
        FailureReason::Unreachable { target, cause } => {
            format!("cannot connect to {target}: {cause}")
        }
        FailureReason::BadMessage { sender, fault } => bad_message_text(*sender, fault, role),
        FailureReason::Panicked { message } => format!(
            "grpc-replay panicked while playing this call: {message} (a bug: please report it)"
        ),
    }
}

/// A message whose gRPC frame had the other compressed flag (or none seen).
fn compressed_flag_text(
    role: Role,
    expected: bool,
    received: Option<bool>,
    nth: Option<(u64, u64)>,
) -> String {
    let how = |compressed: bool| {
        if compressed {
            "compressed (flag 1)"
        } else {
            "uncompressed (flag 0)"
        }
    };
    let came = match received {
        Some(flag) => format!("it came {}", how(flag)),
        None => "its frame's flag was not seen".into(),
    };
    let nth = nth.map_or(String::new(), |(i, n)| format!(" (message {i} of {n})"));
    format!(
        "expected {} message{nth} {}, but {came}",
        peer(role),
        how(expected)
    )
}

/// A status that is not the expected one.
fn status_headline(expected: StatusCode, received: &StatusSeen, diffs: &[Mismatch]) -> String {
    if received.broken.is_some() {
        return broken_text(received);
    }
    if received.code != expected {
        return format!(
            "expected status {expected}, the call ended with {}",
            code_and_message(received)
        );
    }
    let differs = |part: &str| {
        diffs
            .iter()
            .any(|d| d.path.split(['.', '[']).next() == Some(part))
    };
    let parts: Vec<&str> = ["message", "trailers", "details"]
        .into_iter()
        .filter(|part| differs(part))
        .collect();
    let parts = match parts.as_slice() {
        [] => "trailers".to_string(),
        [one] => one.to_string(),
        [most @ .., last] => format!("{} and {last}", most.join(", ")),
    };
    format!(
        "the call ended with {} as expected, but its {parts} differ",
        code_and_message(received)
    )
}

/// `expected X, nothing came …`.
fn absent_headline(expected: &str, limit: Limit, then: Option<&StatusSeen>) -> String {
    let mut text = match limit {
        Limit::Within(within) => format!(
            "expected {expected} within {}, nothing came",
            humantime::format_duration(within)
        ),
        Limit::Deadline(budget) => format!(
            "expected {expected}, nothing came before the call's deadline ({})",
            rounded(budget)
        ),
    };
    if let Some(status) = then {
        text.push_str(&format!(
            "; the call then ended with {}",
            code_and_message(status)
        ));
    }
    text
}

/// `the connection failed: CAUSE (CODE: message)`.
fn broken_text(status: &StatusSeen) -> String {
    let cause = status.broken.as_deref().unwrap_or_default().join(": ");
    format!(
        "the connection failed: {cause} ({})",
        code_and_message(status)
    )
}

/// `FILE:LINE:COLUMN: step `KEYWORD``.
pub(super) fn place(failure: &Failure, file: &Path) -> String {
    format!(
        "{}:{}:{}: step `{}`",
        file.display(),
        failure.pos.line,
        failure.pos.column,
        failure.step.keyword()
    )
}

/// `PATH: expected E, received R`, the path `(message)` for the whole message.
fn diff_line(diff: &Mismatch, style: &Style) -> String {
    let path = if diff.path.is_empty() {
        "(message)"
    } else {
        &diff.path
    };
    format!(
        "{}: expected {}, received {}",
        style.bold(path),
        style.good(&diff.expected),
        style.bad(&diff.actual)
    )
}

/// The messages a reason compares: (what the script expects, what came), each when known.
fn compared(reason: &FailureReason) -> (Option<&Written>, Option<&MessageData>) {
    match reason {
        FailureReason::TooFew { then, .. } => compared(then),
        FailureReason::Mismatch {
            expected, received, ..
        } => (Some(expected), Some(received)),
        FailureReason::NoneOfGroup { received, .. } => (None, Some(received)),
        FailureReason::Unexpected {
            expected: Expected::Message(expected),
            seen,
        } => (Some(expected), seen_message(seen)),
        FailureReason::Unexpected { seen, .. } => (None, seen_message(seen)),
        FailureReason::Absent {
            expected: Expected::Message(expected),
            ..
        }
        | FailureReason::Gone {
            expected: Expected::Message(expected),
        } => (Some(expected), None),
        _ => (None, None),
    }
}

fn seen_message(seen: &Seen) -> Option<&MessageData> {
    match seen {
        Seen::Message { message, .. } => Some(message),
        _ => None,
    }
}

/// The failure as lines: its place and headline, the field differences (coloured), then
/// the expected and the received message once each.
pub(super) fn failure_lines(failure: &Failure, file: &Path, render: Render) -> Vec<String> {
    let reason = &failure.reason;
    let mut lines = vec![render.style.bad(&format!(
        "{}: {}",
        place(failure, file),
        headline(reason, render.role)
    ))];
    lines.extend(
        reason
            .diffs()
            .iter()
            .map(|diff| format!("    {}", diff_line(diff, render.style))),
    );
    let (expected, received) = compared(reason);
    if let Some(expected) = expected {
        let text = written_text(expected, render.full);
        lines.push(format!("    {} {text}", render.style.dim("expected:")));
    }
    if let Some(received) = received {
        let text = message_text(received, render.full);
        lines.push(format!("    {} {text}", render.style.dim("received:")));
    }
    lines
}

/// The failure as plain text, one line after another.
pub(crate) fn failure_text(failure: &Failure, file: &Path, role: Role) -> String {
    let render = Render {
        role,
        style: &Style::plain(),
        full: false,
    };
    failure_lines(failure, file, render).join("\n")
}

/// The status message a server sends when the client strays from its script: the place,
/// the headline and the differences, on one line.
pub(crate) fn status_message(failure: &Failure, file: &Path) -> String {
    let mut text = format!(
        "grpc-replay: {}: {}",
        place(failure, file),
        headline(&failure.reason, Role::Server)
    );
    for diff in failure.reason.diffs() {
        text.push_str("; ");
        text.push_str(&diff_line(diff, &Style::plain()));
    }
    text
}

/// What the server role says of a call it answered without playing a script.
pub(crate) fn refused_call(refused: &RefusedCall) -> String {
    let path = &refused.path;
    let why = match &refused.reason {
        Refusal::NoScript => format!("no served file has a call of {path}"),
        Refusal::UnknownMethod => format!("no loaded proto defines {path}"),
        Refusal::Encoding(encoding) => format!(
            "the request to {path} is compressed with `{encoding}`, which grpc-replay cannot \
             read (it reads gzip)"
        ),
    };
    format!("a call was refused with UNIMPLEMENTED: {why}")
}

/// The status message the server role answers a refused call with; `None` where tonic
/// answers it itself (an encoding it cannot read).
pub(crate) fn refusal_status(refused: &RefusedCall) -> Option<String> {
    let path = &refused.path;
    match refused.reason {
        Refusal::NoScript => Some(format!(
            "grpc-replay: no script in the served files plays {path}"
        )),
        Refusal::UnknownMethod => Some(format!("grpc-replay: unknown method {path}")),
        Refusal::Encoding(_) => None,
    }
}

impl std::fmt::Display for super::SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use super::SkipReason::*;
        match self {
            FailFastRun => f.write_str("not played: --fail-fast stopped the run after a failure"),
            FailFastServer => {
                f.write_str("never played: --fail-fast stopped the server after a failure")
            }
            ServerStoppedOnce => f.write_str(
                "never played: the server was stopped before a client made this call (--once)",
            ),
            NeverCalled => f.write_str("never played: no client made this call"),
            Signal(signal) => write!(f, "{signal} stopped the run before this call ended"),
            Unfinished => f.write_str(
                "not finished when this report was written \
                 (grpc-replay was still playing, or was killed)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use prost_reflect::{DynamicMessage, Value as Field};

    use super::*;
    use crate::report::ColorChoice;
    use crate::runner::StepKind;
    use crate::scenario::node::Pos;

    /// A `routeguide.RouteSummary` with these fields.
    fn summary(point_count: i32, distance: i32) -> MessageData {
        let descriptor = crate::protos::bundled_pool()
            .get_message_by_name("routeguide.RouteSummary")
            .expect("the bundled protos hold RouteSummary");
        let mut message = DynamicMessage::new(descriptor.clone());
        message.set_field_by_name("point_count", Field::I32(point_count));
        message.set_field_by_name("distance", Field::I32(distance));
        MessageData {
            descriptor,
            bytes: prost::Message::encode_to_vec(&message).into(),
        }
    }

    fn failure(reason: FailureReason) -> Failure {
        Failure {
            pos: Pos { line: 9, column: 5 },
            step: StepKind::Server,
            reason: Box::new(reason),
        }
    }

    fn mismatch(expected: MessageData, received: MessageData) -> Failure {
        failure(FailureReason::Mismatch {
            expected: Written::Message(expected),
            received,
            diffs: vec![Mismatch {
                path: "distance".into(),
                expected: "10".into(),
                actual: "11".into(),
            }],
            nth: None,
        })
    }

    fn status(code: i32, message: &str) -> StatusSeen {
        StatusSeen {
            code: StatusCode(code),
            message: message.into(),
            trailers: Vec::new(),
            broken: None,
            own_deadline: false,
        }
    }

    #[test]
    fn a_mismatch_shows_the_diff_first_then_each_message_once_with_proto_names() {
        let text = failure_text(
            &mismatch(summary(4, 10), summary(4, 11)),
            Path::new("f.yaml"),
            Role::Client,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "f.yaml:9:5: step `server`: the server's message differs from the script",
                "    distance: expected 10, received 11",
                r#"    expected: {"point_count":4,"distance":10}"#,
                r#"    received: {"point_count":4,"distance":11}"#,
            ]
        );
        assert!(!text.contains("pointCount"), "{text}");
    }

    #[test]
    fn the_peer_is_named_from_the_role_played() {
        let seen = Seen::Message {
            message: summary(1, 1),
            compressed: Some(false),
        };
        let reason = FailureReason::Unexpected {
            expected: Expected::Status(StatusCode::OK),
            seen,
        };
        assert_eq!(
            headline(&reason, Role::Client),
            "expected status OK, but the server sent another message"
        );
        assert_eq!(
            headline(&reason, Role::Server),
            "expected status OK, but the client sent another message"
        );
    }

    #[test]
    fn a_compressed_flag_mismatch_says_both_flags() {
        let flag = |expected, received, nth| FailureReason::CompressedFlag {
            expected,
            received,
            nth,
        };
        assert_eq!(
            headline(&flag(false, Some(true), Some((2, 3))), Role::Server),
            "expected the client's message (message 2 of 3) uncompressed (flag 0), but it \
             came compressed (flag 1)"
        );
        assert_eq!(
            headline(&flag(true, None, None), Role::Client),
            "expected the server's message compressed (flag 1), but its frame's flag was not \
             seen"
        );
    }

    #[test]
    fn long_messages_are_cut_short_unless_asked_for_in_full() {
        let long = MessageData {
            descriptor: summary(0, 0).descriptor,
            bytes: Vec::new().into(),
        };
        assert_eq!(message_text(&long, false), "{}");
        let text = "x".repeat(MESSAGE_LIMIT + 50);
        let cut = shorten(text.clone());
        assert!(cut.starts_with(&"x".repeat(MESSAGE_LIMIT)), "{cut}");
        assert!(cut.ends_with("… (250 characters; -v shows all)"), "{cut}");
        assert_eq!(shorten("short".into()), "short");
    }

    #[test]
    fn undecodable_bytes_say_how_many_they_are() {
        let broken = MessageData {
            descriptor: summary(0, 0).descriptor,
            bytes: vec![0xff, 0xff, 0xff].into(),
        };
        assert_eq!(message_text(&broken, true), "<3 undecodable bytes>");
        assert_eq!(message_json(&broken), None);
    }

    #[test]
    fn the_diff_is_coloured_expected_green_received_red() {
        let style = Style::new(ColorChoice::Always);
        let render = Render {
            role: Role::Client,
            style: &style,
            full: false,
        };
        let lines = failure_lines(
            &mismatch(summary(4, 10), summary(4, 11)),
            Path::new("f.yaml"),
            render,
        );
        assert_eq!(
            lines[1].trim_start(),
            diff_line(
                &Mismatch {
                    path: "distance".into(),
                    expected: "10".into(),
                    actual: "11".into(),
                },
                &style
            )
        );
        assert!(lines[1].contains(&style.good("10")), "{:?}", lines[1]);
        assert!(lines[1].contains(&style.bad("11")), "{:?}", lines[1]);
        assert_ne!(style.good("10"), "10", "colours are on");
    }

    #[test]
    fn the_status_message_of_a_straying_client_is_one_line_with_its_diffs() {
        let text = status_message(
            &mismatch(summary(4, 10), summary(4, 11)),
            Path::new("s.yaml"),
        );
        assert_eq!(
            text,
            "grpc-replay: s.yaml:9:5: step `server`: the client's message differs from the \
             script; distance: expected 10, received 11"
        );
    }

    #[test]
    fn waits_name_their_limit_and_what_ended_the_call() {
        let expected = Expected::Message(Written::Pattern("{}".into()));
        let within = FailureReason::Absent {
            expected: expected.clone(),
            limit: Limit::Within(Duration::from_millis(200)),
            then: None,
        };
        assert_eq!(
            headline(&within, Role::Client),
            "expected the server's message within 200ms, nothing came"
        );
        let deadline = FailureReason::Absent {
            expected,
            limit: Limit::Deadline(Duration::from_micros(1_500_400)),
            then: Some(status(14, "gone")),
        };
        assert_eq!(
            headline(&deadline, Role::Client),
            "expected the server's message, nothing came before the call's deadline (1s 500ms); \
             the call then ended with UNAVAILABLE: gone"
        );
    }

    #[test]
    fn a_status_that_differs_says_which_part() {
        let received = status(0, "");
        let trailers = [Mismatch {
            path: "trailers.x".into(),
            expected: "1".into(),
            actual: "2".into(),
        }];
        assert_eq!(
            status_headline(StatusCode::OK, &received, &trailers),
            "the call ended with OK as expected, but its trailers differ"
        );
        assert_eq!(
            status_headline(StatusCode(5), &status(3, "bad"), &[]),
            "expected status NOT_FOUND, the call ended with INVALID_ARGUMENT: bad"
        );
        let broken = StatusSeen {
            broken: Some(vec!["connection reset".into()]),
            ..status(14, "transport error")
        };
        assert_eq!(
            status_headline(StatusCode::OK, &broken, &[]),
            "the connection failed: connection reset (UNAVAILABLE: transport error)"
        );
    }

    #[test]
    fn a_status_whose_details_differ_says_so() {
        let received = status(3, "bad point");
        let diff = |path: &str| Mismatch {
            path: path.into(),
            expected: "1".into(),
            actual: "2".into(),
        };
        let headline = |diffs: &[Mismatch]| status_headline(StatusCode(3), &received, diffs);
        assert!(headline(&[diff("details[0].reason")]).ends_with("but its details differ"));
        assert!(
            headline(&[diff("message"), diff("trailers.x"), diff("details")])
                .ends_with("but its message, trailers and details differ")
        );
    }
}
