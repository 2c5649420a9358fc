//! Reports: live progress (human lines, or JSON events with `--output json`), the closing
//! summary, and the report files CI systems read (JUnit XML, a JSON transcript, TAP).
//! Writers only read results.

mod bench_table;
mod collect;
mod events;
mod json;
mod junit;
mod outcome;
mod progress;
mod record;
mod sink;
mod style;
mod summary;
mod tap;
mod terminal;
mod text;
mod twins;

pub(crate) use bench_table::{bench_table, decimal, grouped};
pub(crate) use collect::Collector;
pub(crate) use events::EventStream;
pub(crate) use outcome::{FileError, RunOutcome, SkipReason, SkippedCall};
pub(crate) use progress::Progress;
pub(crate) use record::{record_lines, RecordEvent};
pub(crate) use sink::ReportSink;
pub(crate) use style::{ColorChoice, Style};
pub(crate) use summary::Tally;
pub(crate) use terminal::{Stream, TerminalReporter, Verbosity};
pub(crate) use text::{failure_text, refusal_status, status_message};
pub(crate) use twins::twins_warning;

/// A report file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// JUnit XML: a suite per file, a case per call.
    Junit,
    /// The JSON transcript of every step (docs/report-schema.json).
    Json,
    /// TAP version 13.
    Tap,
}

impl ReportFormat {
    /// Every format, with its name on the command line.
    pub const ALL: [(&'static str, ReportFormat); 3] = [
        ("junit", ReportFormat::Junit),
        ("json", ReportFormat::Json),
        ("tap", ReportFormat::Tap),
    ];

    /// The format called `name` on the command line.
    pub fn named(name: &str) -> Option<ReportFormat> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, format)| *format)
    }

    /// Whether the report holds what the peer sent (the engine then keeps a transcript).
    pub fn needs_transcript(self) -> bool {
        self == ReportFormat::Json
    }

    /// The report of `outcome` in this format.
    pub fn render(self, outcome: &RunOutcome) -> String {
        match self {
            ReportFormat::Junit => junit::render(outcome),
            ReportFormat::Json => json::render(outcome),
            ReportFormat::Tap => tap::render(outcome),
        }
    }
}
