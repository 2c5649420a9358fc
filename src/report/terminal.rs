//! Human-readable progress: a line per step as it happens, and each call's verdict.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use super::style::Style;
use crate::runner::{CallResult, Observer, StepOutcome, StepRecord};
use crate::scenario::{Call, Role, Scenario};

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Failures and the summary only.
    Quiet,
    /// A line per call, and the steps of failed calls.
    Normal,
    /// A line per step as it happens.
    Verbose,
}

/// Prints progress to standard output.
pub struct TerminalReporter {
    style: Style,
    verbosity: Verbosity,
    /// Prefix for every line, such as `[server] ` when both roles print.
    prefix: String,
    lock: Mutex<()>,
}

impl TerminalReporter {
    /// A reporter with the given style and verbosity; `prefix` starts every line.
    pub fn new(style: Style, verbosity: Verbosity, prefix: &str) -> Self {
        TerminalReporter {
            style,
            verbosity,
            prefix: prefix.to_string(),
            lock: Mutex::new(()),
        }
    }

    fn print(&self, text: &str) {
        let _guard = self.lock.lock();
        let mut out = std::io::stdout().lock();
        for line in text.lines() {
            let _ = writeln!(out, "{}{line}", self.prefix);
        }
        let _ = out.flush();
    }

    fn step_line(&self, record: &StepRecord) -> String {
        let (mark, detail) = match record.outcome {
            StepOutcome::Performed => ("→", record.detail.clone()),
            StepOutcome::Passed => ("✓", record.detail.clone()),
            StepOutcome::Failed => ("✗", self.style.bad(&record.detail)),
        };
        let mark = match record.outcome {
            StepOutcome::Performed => self.style.dim(mark),
            StepOutcome::Passed => self.style.good(mark),
            StepOutcome::Failed => self.style.bad(mark),
        };
        let count = if record.count > 1 {
            format!(" ×{}", record.count)
        } else {
            String::new()
        };
        let keyword = if record.implied {
            format!("({})", record.keyword)
        } else {
            record.keyword.to_string()
        };
        format!(
            "    {} {mark} {keyword:<10} {detail}{count} {}",
            self.style.dim(&format!("{:>9}", format_elapsed(record.at))),
            self.style.dim(&format!("line {}", record.pos.line)),
        )
    }
}

/// `+12.3ms` style elapsed time.
pub fn format_elapsed(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("+{ms:.1}ms")
    } else {
        format!("+{:.2}s", ms / 1000.0)
    }
}

/// A duration for summaries: `850ms`, `2.41s`.
pub fn format_duration(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

impl Observer for TerminalReporter {
    fn call_started(&self, scenario: &Scenario, call: &Call, role: Role) {
        if self.verbosity >= Verbosity::Verbose {
            self.print(&format!(
                "{} {} {}",
                self.style.bold("▶"),
                self.style.bold(&call_title(scenario, call)),
                self.style
                    .dim(&format!("({} as {})", call.path, role.label())),
            ));
        }
    }

    fn step(&self, _scenario: &Scenario, _call: &Call, _role: Role, record: &StepRecord) {
        if self.verbosity >= Verbosity::Verbose {
            self.print(&self.step_line(record));
        }
    }

    fn call_finished(&self, scenario: &Scenario, result: &CallResult) {
        let title = format!(
            "{} {}",
            call_title(
                scenario,
                scenario
                    .calls
                    .iter()
                    .find(|c| c.id == result.call_id)
                    .unwrap_or(&scenario.calls[0])
            ),
            self.style.dim(&format!(
                "({} as {}, {})",
                result.method,
                result.role.label(),
                format_duration(result.duration)
            ))
        );
        match &result.failure {
            None if self.verbosity >= Verbosity::Normal => {
                self.print(&format!("{} {title}", self.style.good("✓")));
            }
            None => {}
            Some(failure) => {
                let mut text = format!("{} {title}\n", self.style.bad("✗"));
                if self.verbosity == Verbosity::Normal {
                    for record in &result.steps {
                        text.push_str(&self.step_line(record));
                        text.push('\n');
                    }
                }
                let description = failure.describe(&result.file);
                for (i, line) in description.lines().enumerate() {
                    let line = if i == 0 {
                        self.style.bad(line)
                    } else {
                        line.to_string()
                    };
                    text.push_str(&format!("    {line}\n"));
                }
                self.print(&text);
            }
        }
    }
}

fn call_title(scenario: &Scenario, call: &Call) -> String {
    let file = scenario.path.display();
    if scenario.calls.len() > 1 {
        format!("{file} [{}]", call.id)
    } else {
        format!("{file} — {}", scenario.name)
    }
}
