//! The JSON report: every file, call and step, with what each side sent and received, the
//! timings, statuses, headers and trailers — the transcript of a run. Its shape is
//! documented by `docs/report-schema.json`; the event stream of `--output json` reuses
//! its parts.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::outcome::{Case, RunOutcome, Verdict};
use super::summary::Tally;
use crate::runner::{Failure, FailureKind, StepOutcome, StepRecord};

/// The value of the report's `format` key.
pub const FORMAT_NAME: &str = "grpc-replay-report";

/// The report's format version, raised on incompatible changes.
pub const FORMAT_VERSION: u64 = 1;

/// The whole report, pretty-printed.
pub fn render(outcome: &RunOutcome) -> String {
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
pub fn summary_json(tally: &Tally) -> Value {
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
pub fn case_json(case: &Case, file: &Path, steps: bool) -> Map<String, Value> {
    let (failure, skip_reason) = match case.verdict {
        Verdict::Played(result) => (
            result
                .failure
                .as_ref()
                .map_or(Value::Null, |f| failure_json(f, file)),
            Value::Null,
        ),
        Verdict::Skipped(reason) => (Value::Null, Value::from(reason)),
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
            .map(|record| step_json(record, case.within(record)))
            .collect();
        object.insert("steps".into(), steps.into());
    }
    object
}

/// A step as it happened, with what the peer sent while it waited.
pub fn step_json(record: &StepRecord, within: Option<Duration>) -> Value {
    let outcome = match record.outcome {
        StepOutcome::Performed => "performed",
        StepOutcome::Passed => "passed",
        StepOutcome::Failed => "failed",
    };
    let received: Vec<Value> = record.received.iter().map(|t| received_json(t)).collect();
    json!({
        "keyword": record.keyword,
        "line": record.pos.line,
        "column": record.pos.column,
        "implied": record.implied,
        "outcome": outcome,
        "detail": record.detail,
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

/// Why a call failed: where, what, and the field differences.
pub fn failure_json(failure: &Failure, file: &Path) -> Value {
    let kind = match failure.kind {
        FailureKind::Mismatch => "mismatch",
        FailureKind::Timeout => "timeout",
        FailureKind::Transport => "transport",
    };
    let diffs: Vec<Value> = failure
        .diffs
        .iter()
        .map(|d| json!({"path": d.path, "expected": d.expected, "received": d.actual}))
        .collect();
    json!({
        "kind": kind,
        "file": file.display().to_string(),
        "line": failure.pos.line,
        "column": failure.pos.column,
        "step": failure.keyword,
        "summary": failure.summary,
        "diffs": diffs,
        "text": failure.describe(file),
    })
}

/// A failure without differences: a call interrupted, or a file that did not load.
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
        "file": file.display().to_string(),
        "line": at.0,
        "column": at.1,
        "step": step,
        "summary": summary,
        "diffs": [],
        "text": text,
    })
}

/// One thing the peer sent, as the engine's transcript renders it: a message (JSON),
/// `headers {k: v, …}`, `status CODE[: message][ trailers {k: v, …}]`, `half-close` or
/// `cancelled: reason`.
fn received_json(text: &str) -> Value {
    let kind = if text.starts_with("headers {") {
        "headers"
    } else if text.starts_with("status ") {
        "status"
    } else if text == "half-close" {
        "half_close"
    } else if text.starts_with("cancelled") {
        "cancelled"
    } else {
        "message"
    };
    let mut event = json!({"kind": kind, "text": text});
    if kind == "message" {
        if let Ok(message) = serde_json::from_str::<Value>(text) {
            event["message"] = message;
        }
    }
    event
}

/// Milliseconds with microsecond precision.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
