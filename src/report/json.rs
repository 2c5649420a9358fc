//! The JSON report: every file, call and step, with what each side sent and received, the
//! timings, statuses, headers and trailers — the transcript of a run. Its shape is
//! documented by `docs/report-schema.json`; the event stream of `--output json` reuses
//! its parts.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::outcome::{Case, RunOutcome, Verdict};
use super::style::Style;
use super::summary::Tally;
use super::text::{failure_lines, headline, message_json, seen_text, subject_text, Render};
use crate::matching::ReceivedMetadata;
use crate::runner::{
    Expected, Failure, FailureReason, Limit, MessageData, MessageFault, MetadataPlace, Seen,
    StatusSeen, StepOutcome, StepRecord, Subject, Written,
};
use crate::scenario::Role;

/// The value of the report's `format` key.
pub(super) const FORMAT_NAME: &str = "grpc-replay-report";

/// The report's format version, raised on incompatible changes.
pub(super) const FORMAT_VERSION: u64 = 2;

/// The whole report, pretty-printed.
pub(super) fn render(outcome: &RunOutcome) -> String {
    let files: Vec<Value> = outcome
        .suites()
        .iter()
        .map(|suite| {
            let calls: Vec<Value> = suite
                .cases
                .iter()
                .map(|case| Value::Object(case_json(case, suite.file(), true)))
                .collect();
            json!({
                "path": suite.file().display().to_string(),
                "scenario": suite.name,
                "duration_ms": millis(suite.duration()),
                "calls": calls,
            })
        })
        .collect();
    let report = json!({
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "tool": {"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")},
        "command": outcome.command,
        "started_at": humantime::format_rfc3339_millis(outcome.started_at).to_string(),
        "duration_ms": millis(outcome.elapsed),
        "exit_code": outcome.exit_code,
        "summary": summary_json(&outcome.tally()),
        "files": files,
    });
    let mut text = serde_json::to_string_pretty(&report).expect("a JSON value serializes");
    text.push('\n');
    text
}

/// The counts.
pub(super) fn summary_json(tally: &Tally) -> Value {
    json!({
        "files": tally.files,
        "calls": tally.calls,
        "passed": tally.passed,
        "failed": tally.failed,
        "transport_failures": tally.broken,
        "skipped": tally.skipped,
        "interrupted": tally.interrupted,
        "invalid_files": tally.invalid,
    })
}

/// A call: its identity, verdict and (with `steps`) every step.
pub(super) fn case_json(case: &Case, file: &Path, steps: bool) -> Map<String, Value> {
    let (failure, skip_reason) = match case.verdict {
        Verdict::Played(result) => (
            result
                .failure
                .as_ref()
                .map_or(Value::Null, |f| failure_json(f, file, result.role)),
            Value::Null,
        ),
        Verdict::Skipped(reason) => (Value::Null, Value::from(reason.to_string())),
        Verdict::Interrupted(call) => {
            let summary = format!("interrupted: {}", call.reason);
            let text = format!(
                "{}:{}:{}: {summary}",
                file.display(),
                call.pos.line,
                call.pos.column
            );
            let at = (call.pos.line, call.pos.column);
            let failure = located_json("interrupted", file, at, "call", &summary, &text);
            (failure, Value::Null)
        }
        Verdict::Invalid(error) => {
            let at = (error.line, error.column);
            let failure = located_json("invalid", file, at, "load", &error.message, &error.text);
            (failure, Value::Null)
        }
    };
    let mut object = Map::new();
    object.insert("id".into(), case.call_id.into());
    object.insert("name".into(), case.name.clone().into());
    object.insert("method".into(), case.method.into());
    object.insert("role".into(), case.role.label().into());
    object.insert("status".into(), case.status().label().into());
    object.insert("duration_ms".into(), millis(case.duration()).into());
    object.insert("failure".into(), failure);
    object.insert("skip_reason".into(), skip_reason);
    if steps {
        let steps: Vec<Value> = case
            .steps()
            .iter()
            .map(|record| step_json(record, case.within(record), case.role))
            .collect();
        object.insert("steps".into(), steps.into());
    }
    object
}

/// A step as it happened, with what the peer sent while it waited.
pub(super) fn step_json(record: &StepRecord, within: Option<Duration>, role: Role) -> Value {
    let outcome = match record.outcome {
        StepOutcome::Performed => "performed",
        StepOutcome::Passed => "passed",
        StepOutcome::Failed => "failed",
    };
    let received: Vec<Value> = record.seen.iter().map(seen_json).collect();
    json!({
        "keyword": record.kind.keyword(),
        "line": record.pos.line,
        "column": record.pos.column,
        "implied": record.implied,
        "outcome": outcome,
        "detail": subject_text(&record.subject, role, true),
        "subject": subject_json(&record.subject),
        "count": record.count,
        "at_ms": millis(record.at),
        "waited_ms": record.waited.map(millis),
        // The limit is the checking side's: a step this side performed has none.
        "within_ms": within
            .filter(|_| record.outcome != StepOutcome::Performed)
            .map(millis),
        "received": received,
    })
}

/// What a step sent or checked.
fn subject_json(subject: &Subject) -> Value {
    match subject {
        Subject::Message(written) => json!({"kind": "message", "message": written_json(written)}),
        Subject::Metadata(metadata) => {
            json!({"kind": "metadata", "metadata": metadata_json(metadata)})
        }
        Subject::HalfClose => json!({"kind": "half_close"}),
        Subject::Cancel(how) => json!({"kind": "cancel", "how": how}),
        Subject::Status { code, message } => {
            json!({"kind": "status", "code": code.name(), "message": message})
        }
        Subject::Sleep(duration) => json!({"kind": "sleep", "duration_ms": millis(*duration)}),
        Subject::Rounds(rounds) => json!({"kind": "rounds", "rounds": rounds}),
        Subject::Failed(reason) => json!({"kind": "failed", "reason": reason_json(reason)}),
    }
}

/// Why a call failed: where, what, and the field differences.
pub(super) fn failure_json(failure: &Failure, file: &Path, role: Role) -> Value {
    let diffs: Vec<Value> = failure
        .reason
        .diffs()
        .iter()
        .map(|d| json!({"path": d.path, "expected": d.expected, "received": d.actual}))
        .collect();
    let render = Render {
        role,
        style: &Style::plain(),
        full: true,
    };
    json!({
        "kind": failure.kind().label(),
        "reason": reason_json(&failure.reason),
        "file": file.display().to_string(),
        "line": failure.pos.line,
        "column": failure.pos.column,
        "step": failure.step.keyword(),
        "summary": headline(&failure.reason, role),
        "diffs": diffs,
        "text": failure_lines(failure, file, render).join("\n"),
    })
}

/// A failure without differences: a call interrupted, or a file that did not load; its
/// reason is the `kind` with the `cause`.
fn located_json(
    kind: &str,
    file: &Path,
    at: (u32, u32),
    step: &str,
    summary: &str,
    text: &str,
) -> Value {
    json!({
        "kind": kind,
        "reason": {"type": kind, "cause": summary},
        "file": file.display().to_string(),
        "line": at.0,
        "column": at.1,
        "step": step,
        "summary": summary,
        "diffs": [],
        "text": text,
    })
}

/// The failure's reason, its variant in `type` and its fields beside it.
fn reason_json(reason: &FailureReason) -> Value {
    let mut fields = match reason {
        FailureReason::Mismatch {
            expected,
            received,
            nth,
            ..
        } => json!({
            "expected": written_json(expected),
            "received": message_value(received),
            "nth": nth.map(|(index, count)| json!({"index": index, "count": count})),
        }),
        FailureReason::CompressedFlag {
            expected,
            received,
            nth,
        } => json!({
            "expected": expected,
            "received": received,
            "nth": nth.map(|(index, count)| json!({"index": index, "count": count})),
        }),
        FailureReason::NoneOfGroup { received, .. } => json!({"received": message_value(received)}),
        FailureReason::MetadataMismatch { place, .. } => json!({"place": match place {
            MetadataPlace::Request => "request",
            MetadataPlace::ResponseHeaders => "response_headers",
        }}),
        FailureReason::StatusMismatch {
            expected, received, ..
        } => json!({"expected": expected.name(), "received": status_json(received)}),
        FailureReason::Unexpected { expected, seen } => {
            json!({"expected": expected_json(expected), "received": seen_json(seen)})
        }
        FailureReason::Absent {
            expected,
            limit,
            then,
        } => json!({
            "expected": expected_json(expected),
            "limit": match limit {
                Limit::Within(d) => json!({"kind": "within", "ms": millis(*d)}),
                Limit::Deadline(d) => json!({"kind": "deadline", "ms": millis(*d)}),
            },
            "then": then.as_ref().map(status_json),
        }),
        FailureReason::Gone { expected } => json!({"expected": expected_json(expected)}),
        FailureReason::Transport { expected, status } => json!({
            "expected": expected.as_ref().map(expected_json),
            "received": status_json(status),
        }),
        FailureReason::LocalGoaway { expected, cause } => {
            json!({"expected": expected_json(expected), "cause": cause})
        }
        FailureReason::TooFew { came, min, then } => {
            json!({"came": came, "min": min, "next": reason_json(then)})
        }
        FailureReason::Unbuildable { cause } => json!({"cause": cause}),
        FailureReason::DeadlinePassed { budget } => json!({"deadline_ms": millis(*budget)}),
        FailureReason::Unreachable { target, cause } => json!({"target": target, "cause": cause}),
        FailureReason::BadMessage { sender, fault } => {
            json!({"sender": sender.label(), "fault": fault_json(fault)})
        }
        FailureReason::Panicked { message } => json!({"message": message}),
    };
    fields["type"] = reason.name().into();
    fields
}

/// What a step waited for.
fn expected_json(expected: &Expected) -> Value {
    match expected {
        Expected::Message(written) => json!({"kind": "message", "message": written_json(written)}),
        Expected::Headers => json!({"kind": "headers"}),
        Expected::HalfClose => json!({"kind": "half_close"}),
        Expected::Cancel => json!({"kind": "cancel"}),
        Expected::Status(code) => json!({"kind": "status", "code": code.name()}),
    }
}

/// A scripted message: the message as JSON, or `{"pattern": …}` for one with matchers.
fn written_json(written: &Written) -> Value {
    match written {
        Written::Message(message) => message_value(message),
        Written::Pattern(pattern) => json!({"pattern": pattern}),
    }
}

/// A message as JSON with its proto field names; `null` when it cannot be decoded.
fn message_value(message: &MessageData) -> Value {
    message_json(message).unwrap_or(Value::Null)
}

/// Metadata as `[{"key": …, "value": …}]`, in order (a key may repeat).
fn metadata_json(metadata: &ReceivedMetadata) -> Value {
    metadata
        .iter()
        .map(|(key, value)| json!({"key": key, "value": value.text()}))
        .collect()
}

/// A status as the call ended with it.
fn status_json(status: &StatusSeen) -> Value {
    json!({
        "code": status.code.name(),
        "message": status.message,
        "trailers": metadata_json(&status.trailers),
        "broken": status.broken,
        "own_deadline": status.own_deadline,
    })
}

/// A message over the size limit (`too_large`, with both sizes), cut short
/// (`truncated`), over the limit once decompressed (`too_large_decompressed`) or not
/// decompressable (`undecompressable`).
fn fault_json(fault: &MessageFault) -> Value {
    match fault {
        MessageFault::TooLarge { size, limit } => {
            json!({"kind": "too_large", "size": size, "limit": limit})
        }
        MessageFault::Truncated => json!({"kind": "truncated"}),
        MessageFault::TooLargeDecompressed { limit } => {
            json!({"kind": "too_large_decompressed", "limit": limit})
        }
        MessageFault::Undecompressable => json!({"kind": "undecompressable"}),
    }
}

/// One thing the peer did: its kind, its fields, and its one-line text.
fn seen_json(seen: &Seen) -> Value {
    let mut event = match seen {
        Seen::Headers(headers) => json!({"kind": "headers", "metadata": metadata_json(headers)}),
        Seen::Message { message, .. } => {
            json!({"kind": "message", "message": message_value(message)})
        }
        Seen::HalfClose => json!({"kind": "half_close"}),
        Seen::Cancel(how) => json!({"kind": "cancelled", "how": how}),
        Seen::Reset(how) => json!({"kind": "reset", "how": how}),
        Seen::Status(status) => {
            let mut status_value = status_json(status);
            status_value["kind"] = "status".into();
            status_value
        }
        Seen::Malformed(fault) => json!({"kind": "malformed", "fault": fault_json(fault)}),
    };
    event["text"] = seen_text(seen, true).into();
    event
}

/// Milliseconds with microsecond precision.
pub(super) fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
