//! The closing summary of a run.

use std::collections::BTreeSet;
use std::time::Duration;

use super::style::Style;
use super::terminal::format_duration;
use crate::runner::{CallResult, FailureKind};

/// Counts over a set of call results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct scenario files.
    pub files: usize,
    /// Calls played.
    pub calls: usize,
    /// Calls that passed.
    pub passed: usize,
    /// Calls that failed their expectations.
    pub failed: usize,
    /// Calls lost to the transport (cannot connect, connection lost).
    pub broken: usize,
}

impl Tally {
    /// Counts `results`.
    pub fn of(results: &[CallResult]) -> Tally {
        let files: BTreeSet<_> = results.iter().map(|r| &r.file).collect();
        let broken = results
            .iter()
            .filter(|r| {
                r.failure
                    .as_ref()
                    .is_some_and(|f| f.kind == FailureKind::Transport)
            })
            .count();
        let passed = results.iter().filter(|r| r.passed()).count();
        Tally {
            files: files.len(),
            calls: results.len(),
            passed,
            failed: results.len() - passed - broken,
            broken,
        }
    }

    /// One line: `3 files, 5 calls: 4 passed, 1 failed (1.20s)`.
    pub fn line(&self, elapsed: Duration, style: &Style) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut parts = vec![style.good(&format!("{} passed", self.passed))];
        if self.failed > 0 {
            parts.push(style.bad(&format!("{} failed", self.failed)));
        }
        if self.broken > 0 {
            parts.push(style.bad(&format!("{} transport failures", self.broken)));
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
