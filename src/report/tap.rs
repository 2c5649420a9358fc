//! The TAP report (Test Anything Protocol, version 13): a test point per call, `# SKIP` for
//! calls not played, and for failures a YAML block with the step's place, the field
//! differences and the steps.

use std::fmt::Write as _;

use super::json::millis;
use super::outcome::{Case, RunOutcome, Verdict};
use super::style::Style;
use super::terminal::step_line;
use super::text::{failure_text, Render};
use crate::runner::Failure;

/// The whole report.
pub(super) fn render(outcome: &RunOutcome) -> String {
    let cases: Vec<(String, Case)> = outcome
        .suites()
        .into_iter()
        .flat_map(|suite| {
            let file = suite.file().display().to_string();
            suite
                .cases
                .into_iter()
                .map(move |case| (format!("{file} — {}", case.name), case))
        })
        .collect();
    let mut tap = format!("TAP version 13\n1..{}\n", cases.len());
    for (number, (title, case)) in cases.iter().enumerate() {
        let number = number + 1;
        let title = description(title);
        match case.verdict {
            Verdict::Played(result) => match &result.failure {
                None => {
                    let _ = writeln!(tap, "ok {number} - {title}");
                }
                Some(failure) => {
                    let _ = writeln!(tap, "not ok {number} - {title}");
                    write_diagnostics(&mut tap, failure, case, &result.file);
                }
            },
            Verdict::Skipped(reason) => {
                let _ = writeln!(
                    tap,
                    "ok {number} - {title} # SKIP {}",
                    description(&reason.to_string())
                );
            }
            Verdict::Interrupted(call) => {
                let _ = writeln!(tap, "not ok {number} - {title}");
                let message = format!("interrupted: {}", call.reason);
                let at = (call.pos.line, call.pos.column);
                write_located(&mut tap, &message, "interrupted", &call.file, at, "call");
                let _ = writeln!(tap, "  ...");
            }
            Verdict::Invalid(error) => {
                let _ = writeln!(tap, "not ok {number} - {title}");
                let at = (error.line, error.column);
                write_located(&mut tap, &error.message, "invalid", &error.file, at, "load");
                let _ = writeln!(tap, "  text: {}", quoted(&error.text));
                let _ = writeln!(tap, "  ...");
            }
        }
    }
    let _ = writeln!(
        tap,
        "# {}",
        outcome.tally().line(outcome.elapsed, &Style::plain())
    );
    tap
}

/// The YAML block under a failed test point.
fn write_diagnostics(tap: &mut String, failure: &Failure, case: &Case, file: &std::path::Path) {
    let kind = failure.kind().label();
    let description = failure_text(failure, file, case.role);
    let message = description.lines().next().unwrap_or_default();
    let at = (failure.pos.line, failure.pos.column);
    write_located(tap, message, kind, file, at, failure.step.keyword());
    let diffs = failure.reason.diffs();
    if !diffs.is_empty() {
        let _ = writeln!(tap, "  diffs:");
        for diff in diffs {
            let _ = writeln!(tap, "    - path: {}", quoted(&diff.path));
            let _ = writeln!(tap, "      expected: {}", quoted(&diff.expected));
            let _ = writeln!(tap, "      received: {}", quoted(&diff.actual));
        }
    }
    let _ = writeln!(tap, "  duration_ms: {}", millis(case.duration()));
    let _ = writeln!(tap, "  steps:");
    for record in case.steps() {
        let render = Render {
            role: case.role,
            style: &Style::plain(),
            full: true,
        };
        let line = step_line(record, case.within(record), render);
        let _ = writeln!(tap, "    - {}", quoted(line.trim()));
    }
    let _ = writeln!(tap, "  ...");
}

/// The start of a YAML block: its message, kind and place (`at` is the line and column).
fn write_located(
    tap: &mut String,
    message: &str,
    kind: &str,
    file: &std::path::Path,
    at: (u32, u32),
    step: &str,
) {
    let _ = writeln!(tap, "  ---");
    let _ = writeln!(tap, "  message: {}", quoted(message));
    let _ = writeln!(tap, "  severity: fail");
    let _ = writeln!(tap, "  kind: {kind}");
    let _ = writeln!(tap, "  at:");
    let _ = writeln!(tap, "    file: {}", quoted(&file.display().to_string()));
    let _ = writeln!(tap, "    line: {}", at.0);
    let _ = writeln!(tap, "    column: {}", at.1);
    let _ = writeln!(tap, "    step: {}", quoted(step));
}

/// A YAML double-quoted scalar (JSON's string syntax is a subset of it).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// A test point description: one line, `#` escaped (it starts a directive).
fn description(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('#', "\\#")
}
