//! Human-readable progress: a line per step as it happens, and each call's verdict.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::outcome::{within_of, RunOutcome, SkippedCall};
use super::progress::Progress;
use super::style::Style;
use super::text::{failure_lines, place, subject_text, Render};
use crate::runner::{
    CallResult, Failure, FailureReason, Observer, RefusedCall, StepOutcome, StepRecord,
};
use crate::scenario::{Call, Role, Scenario};

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verbosity {
    /// Failures and the summary only.
    Quiet,
    /// A line per call, and the steps of failed calls.
    Normal,
    /// A line per step as it happens.
    Verbose,
}

/// Where human output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error (when a report takes standard output).
    Stderr,
}

/// Prints progress for people.
pub(crate) struct TerminalReporter {
    style: Style,
    verbosity: Verbosity,
    stream: Stream,
    /// When output is grouped per file: the text of each file still playing, printed as
    /// one block when the file finishes. `None`: printed as it happens.
    groups: Option<Mutex<HashMap<PathBuf, String>>>,
    /// The targets whose connection failure has been explained.
    unreachable: Mutex<HashSet<String>>,
    /// Each file's calls by id, built when the file's first call ends: finding a call
    /// costs the same in a file of 10,000 calls as in a file of one.
    call_ids: Mutex<HashMap<PathBuf, HashMap<String, usize>>>,
}

impl TerminalReporter {
    /// A reporter printing to standard output as things happen.
    pub(crate) fn new(style: Style, verbosity: Verbosity) -> Self {
        TerminalReporter {
            style,
            verbosity,
            stream: Stream::Stdout,
            groups: None,
            unreachable: Mutex::new(HashSet::new()),
            call_ids: Mutex::new(HashMap::new()),
        }
    }

    /// Prints to `stream` instead.
    pub(crate) fn writing_to(mut self, stream: Stream) -> Self {
        self.stream = stream;
        self
    }

    /// Holds each file's output back and prints it as one block when the file finishes,
    /// so that files played at the same time stay readable.
    pub(crate) fn grouped_by_file(mut self) -> Self {
        self.groups = Some(Mutex::new(HashMap::new()));
        self
    }

    /// How failures and steps are written for a call played in `role`.
    fn render(&self, role: Role) -> Render<'_> {
        Render {
            role,
            style: &self.style,
            full: self.verbosity == Verbosity::Verbose,
        }
    }

    /// The lines of a failure; a target that cannot be reached is explained once, and
    /// named only for the calls after.
    fn failure_lines(&self, failure: &Failure, file: &Path, render: Render) -> Vec<String> {
        if let FailureReason::Unreachable { target, .. } = &*failure.reason {
            let mut reported = self.unreachable.lock().unwrap_or_else(|e| e.into_inner());
            if !reported.insert(target.clone()) {
                return vec![render.style.bad(&format!(
                    "{}: not played: {target} cannot be reached (see above)",
                    place(failure, file)
                ))];
            }
        }
        failure_lines(failure, file, render)
    }

    /// The call of `scenario` whose id is `id`.
    fn call_of<'s>(&self, scenario: &'s Scenario, id: &str) -> Option<&'s Call> {
        let mut files = self.call_ids.lock().unwrap_or_else(|e| e.into_inner());
        let ids = files.entry(scenario.path.clone()).or_insert_with(|| {
            let mut ids = HashMap::with_capacity(scenario.calls.len());
            for (index, call) in scenario.calls.iter().enumerate() {
                // The first of two calls with one id, as a search from the start finds.
                ids.entry(call.id.clone()).or_insert(index);
            }
            ids
        });
        match ids.get(id).and_then(|&index| scenario.calls.get(index)) {
            Some(call) if call.id == id => Some(call),
            // Another scenario of the same file (a different list of calls).
            _ => scenario.calls.iter().find(|c| c.id == id),
        }
    }

    /// Prints `text` now, or adds it to the block of `file` while that file plays.
    fn print(&self, file: &Path, text: &str) {
        if let Some(groups) = &self.groups {
            let mut groups = groups.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(block) = groups.get_mut(file) {
                block.push_str(text);
                block.push('\n');
                return;
            }
        }
        self.write(text);
    }

    /// Writes whole lines to the stream at once.
    fn write(&self, text: &str) {
        fn lines(out: &mut impl Write, text: &str) {
            for line in text.lines() {
                let _ = writeln!(out, "{line}");
            }
            let _ = out.flush();
        }
        match self.stream {
            Stream::Stdout => lines(&mut std::io::stdout().lock(), text),
            Stream::Stderr => lines(&mut std::io::stderr().lock(), text),
        }
    }
}

/// A step as one line: time, mark, keyword, detail, repeat count, line in the file, and for
/// checked steps how long the peer took (against the `within:` limit, when there is one).
pub(super) fn step_line(record: &StepRecord, within: Option<Duration>, render: Render) -> String {
    let style = render.style;
    let detail = subject_text(&record.subject, render.role, render.full);
    let (mark, detail) = match record.outcome {
        StepOutcome::Performed => (style.dim("→"), detail),
        StepOutcome::Passed => (style.good("✓"), detail),
        StepOutcome::Failed => (style.bad("✗"), style.bad(&detail)),
    };
    let count = if record.count > 1 {
        format!(" ×{}", record.count)
    } else {
        String::new()
    };
    let keyword = if record.implied {
        format!("({})", record.kind.keyword())
    } else {
        record.kind.keyword().to_string()
    };
    let waited = match (record.waited, within) {
        (Some(waited), Some(limit)) => style.dim(&format!(
            " (waited {} of {})",
            format_precise(waited),
            humantime::format_duration(limit)
        )),
        (Some(waited), None) => style.dim(&format!(" (waited {})", format_precise(waited))),
        (None, _) => String::new(),
    };
    format!(
        "    {} {mark} {keyword:<10} {detail}{count} {}{waited}",
        style.dim(&format!("{:>9}", format_elapsed(record.at))),
        style.dim(&format!("line {}", record.pos.line)),
    )
}

/// `+12.3ms` style elapsed time.
pub(super) fn format_elapsed(elapsed: Duration) -> String {
    format!("+{}", format_precise(elapsed))
}

/// `12.3ms`, `2.41s`.
fn format_precise(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// A duration for summaries: `850ms`, `2.41s`.
pub(super) fn format_duration(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

impl Observer for TerminalReporter {
    fn call_started(&self, scenario: &Scenario, call: &Call, role: Role) {
        if let Some(groups) = &self.groups {
            let mut groups = groups.lock().unwrap_or_else(|e| e.into_inner());
            groups.entry(scenario.path.clone()).or_default();
        }
        if self.verbosity >= Verbosity::Verbose {
            self.print(
                &scenario.path,
                &format!(
                    "{} {} {}",
                    self.style.bold("▶"),
                    self.style.bold(&call_title(scenario, call)),
                    self.style
                        .dim(&format!("({} as {})", call.path, role.label())),
                ),
            );
        }
    }

    fn step(&self, scenario: &Scenario, call: &Call, role: Role, record: &StepRecord) {
        if self.verbosity >= Verbosity::Verbose {
            let line = step_line(record, within_of(call, record), self.render(role));
            self.print(&scenario.path, &line);
        }
    }

    fn call_refused(&self, refused: &RefusedCall) {
        let mark = self.style.bad("!");
        self.write(&format!("{mark} {}", super::text::refused_call(refused)));
    }

    fn call_finished(&self, scenario: &Scenario, result: &CallResult) {
        let call = self.call_of(scenario, &result.call_id);
        let title = format!(
            "{} {}",
            call_title(scenario, call.unwrap_or(&scenario.calls[0])),
            self.style.dim(&format!(
                "({} as {}, {})",
                result.method,
                result.role.label(),
                format_duration(result.duration)
            ))
        );
        match &result.failure {
            None if self.verbosity >= Verbosity::Normal => {
                self.print(&scenario.path, &format!("{} {title}", self.style.good("✓")));
            }
            None => {}
            Some(failure) => {
                let mut text = format!("{} {title}\n", self.style.bad("✗"));
                let render = self.render(result.role);
                if self.verbosity == Verbosity::Normal {
                    for record in &result.steps {
                        let within = call.and_then(|c| within_of(c, record));
                        text.push_str(&step_line(record, within, render));
                        text.push('\n');
                    }
                }
                for line in self.failure_lines(failure, &result.file, render) {
                    text.push_str(&format!("    {line}\n"));
                }
                self.print(&scenario.path, &text);
            }
        }
    }
}

impl Progress for TerminalReporter {
    fn listening(&self, addr: SocketAddr, scripts: usize, once: bool) {
        let serving = format!(
            "serving {scripts} script{}{}",
            if scripts == 1 { "" } else { "s" },
            if once {
                "; exits once every script has played"
            } else {
                "; Ctrl-C to stop"
            }
        );
        self.write(&format!(
            "listening on {addr}\n{}",
            self.style.dim(&serving)
        ));
    }

    fn call_skipped(&self, _scenario: &Scenario, skipped: &SkippedCall) {
        if skipped.interrupted || self.verbosity >= Verbosity::Normal {
            let (mark, verdict) = if skipped.interrupted {
                (
                    self.style.bad("✗"),
                    self.style.bad(&format!("interrupted: {}", skipped.reason)),
                )
            } else {
                (
                    self.style.dim("-"),
                    self.style.dim(&format!("skipped: {}", skipped.reason)),
                )
            };
            let text = format!(
                "{mark} {} [{}] {} {verdict}",
                skipped.file.display(),
                skipped.call_id,
                skipped.method,
            );
            self.print(&skipped.file, &text);
        }
    }

    fn file_finished(&self, file: &Path) {
        let block = self.groups.as_ref().and_then(|groups| {
            groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(file)
        });
        if let Some(block) = block.filter(|b| !b.is_empty()) {
            self.write(&block);
        }
    }

    fn summary(&self, outcome: &RunOutcome) {
        let served = if outcome.role == Role::Server {
            "served "
        } else {
            ""
        };
        let line = outcome.tally().line(outcome.elapsed, &self.style);
        self.write(&format!("{served}{line}"));
    }
}

/// `FILE — NAME` for a file's only call, `FILE [ID]` for one of several (the id is the
/// scenario's name when the file has one call).
fn call_title(scenario: &Scenario, call: &Call) -> String {
    let file = scenario.path.display();
    if call.id != scenario.name {
        format!("{file} [{}]", call.id)
    } else {
        format!("{file} — {}", scenario.name)
    }
}
