//! The closing summary of a run.

use std::collections::BTreeSet;
use std::time::Duration;

use super::outcome::{CaseStatus, FileError, SkippedCall};
use super::style::Style;
use super::terminal::format_duration;
use crate::runner::CallResult;

/// Counts over a set of call results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct scenario files.
    pub files: usize,
    /// Calls played or skipped.
    pub calls: usize,
    /// Calls that passed.
    pub passed: usize,
    /// Calls that failed their expectations.
    pub failed: usize,
    /// Calls lost to the transport (cannot connect, connection lost).
    pub broken: usize,
    /// Calls not played (`--fail-fast`, or scripts no client called).
    pub skipped: usize,
    /// Calls not played to their end because the command was stopped (failures).
    pub interrupted: usize,
    /// Files that did not load (errors; not counted in `calls`).
    pub invalid: usize,
}

impl Tally {
    /// Counts `results` and `skipped`.
    pub fn of(results: &[CallResult], skipped: &[SkippedCall]) -> Tally {
        let files: BTreeSet<_> = results
            .iter()
            .map(|r| &r.file)
            .chain(skipped.iter().map(|s| &s.file))
            .collect();
        let interrupted = skipped.iter().filter(|s| s.interrupted).count();
        let count = |status| {
            results
                .iter()
                .filter(|r| CaseStatus::of(r) == status)
                .count()
        };
        Tally {
            files: files.len(),
            calls: results.len() + skipped.len(),
            passed: count(CaseStatus::Passed),
            failed: count(CaseStatus::Failed),
            broken: count(CaseStatus::TransportFailure),
            skipped: skipped.len() - interrupted,
            interrupted,
            invalid: 0,
        }
    }

    /// These counts, and the files of `errors` (which did not load).
    pub fn with_errors(mut self, errors: &[FileError]) -> Tally {
        let known: BTreeSet<_> = errors.iter().map(|e| &e.file).collect();
        self.files += known.len();
        self.invalid += errors.len();
        self
    }

    /// One line: `3 files, 5 calls: 4 passed, 1 failed (1.20s)`.
    pub fn line(&self, elapsed: Duration, style: &Style) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut parts = Vec::new();
        if self.calls > 0 || self.invalid == 0 {
            parts.push(style.good(&format!("{} passed", self.passed)));
        }
        if self.failed > 0 {
            parts.push(style.bad(&format!("{} failed", self.failed)));
        }
        if self.broken > 0 {
            parts.push(style.bad(&plural(self.broken, "transport failure")));
        }
        if self.interrupted > 0 {
            parts.push(style.bad(&format!("{} interrupted", self.interrupted)));
        }
        if self.skipped > 0 {
            parts.push(style.dim(&format!("{} skipped", self.skipped)));
        }
        if self.invalid > 0 {
            parts.push(style.bad(&plural(self.invalid, "invalid file")));
        }
        format!(
            "{}, {}: {} ({})",
            plural(self.files, "file"),
            plural(self.calls, "call"),
            parts.join(", "),
            format_duration(elapsed)
        )
    }
}
