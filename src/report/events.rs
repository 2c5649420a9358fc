//! `--output json`: a machine-readable stream of events on standard output, one JSON object
//! per line, in place of the human output. Events: `listening` (serve), `call_started`,
//! `step`, `call_finished` (also for calls not played, with status `skipped`), `summary`.
//! Documented with the JSON report, whose parts they reuse (docs/report-schema.json,
//! `$defs/event`).

use std::io::Write;
use std::net::SocketAddr;

use serde_json::{json, Value};

use super::json::{case_json, millis, step_json, summary_json};
use super::outcome::{within_of, Case, RunOutcome, SkippedCall};
use super::progress::Progress;
use crate::runner::{CallResult, Observer, RefusedCall, StepRecord};
use crate::scenario::{Call, Role, Scenario};

/// Writes events as JSON lines to standard output.
pub(crate) struct EventStream {
    /// The role the command plays; calls played in the other role are named so.
    role: Role,
}

impl EventStream {
    /// A stream for a command that plays `role`.
    pub(crate) fn new(role: Role) -> Self {
        EventStream { role }
    }

    /// A call ended (played or skipped): the call as the JSON report has it, without steps.
    fn call_finished_event(&self, scenario: &Scenario, case: &Case) {
        emit(&json!({
            "event": "call_finished",
            "file": scenario.path.display().to_string(),
            "call": case_json(case, &scenario.path, false),
        }));
    }
}

/// Writes one event as one line, at once.
fn emit(event: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{event}");
    let _ = out.flush();
}

impl Observer for EventStream {
    fn call_started(&self, scenario: &Scenario, call: &Call, role: Role) {
        emit(&json!({
            "event": "call_started",
            "file": scenario.path.display().to_string(),
            "scenario": scenario.name,
            "id": call.id,
            "name": call.name,
            "method": call.path,
            "role": role.label(),
        }));
    }

    fn step(&self, scenario: &Scenario, call: &Call, role: Role, record: &StepRecord) {
        emit(&json!({
            "event": "step",
            "file": scenario.path.display().to_string(),
            "id": call.id,
            "role": role.label(),
            "step": step_json(record, within_of(call, record), role),
        }));
    }

    fn call_finished(&self, scenario: &Scenario, result: &CallResult) {
        let case = Case::played(scenario, result, result.role != self.role);
        self.call_finished_event(scenario, &case);
    }

    fn call_refused(&self, refused: &RefusedCall) {
        emit(&json!({
            "event": "call_refused",
            "method": refused.path,
            "text": super::text::refused_call(refused),
        }));
    }
}

impl Progress for EventStream {
    fn listening(&self, addr: SocketAddr, scripts: usize, once: bool) {
        emit(&json!({
            "event": "listening",
            "addr": addr.to_string(),
            "scripts": scripts,
            "once": once,
        }));
    }

    fn call_skipped(&self, scenario: &Scenario, skipped: &SkippedCall) {
        self.call_finished_event(scenario, &Case::skipped(scenario, skipped));
    }

    fn file_finished(&self, _file: &std::path::Path) {}

    fn summary(&self, outcome: &RunOutcome) {
        emit(&json!({
            "event": "summary",
            "summary": summary_json(&outcome.tally()),
            "duration_ms": millis(outcome.elapsed),
            "exit_code": outcome.exit_code,
        }));
    }
}
