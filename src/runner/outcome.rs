//! What playing a call produced: a record per step and the verdict.

use std::path::PathBuf;
use std::time::Duration;

use crate::matching::Mismatch;
use crate::scenario::node::Pos;
use crate::scenario::Role;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// This side performed it (sent, closed, cancelled, paused).
    Performed,
    /// This side checked it and it matched.
    Passed,
    /// This side checked it and it did not match, or it never came.
    Failed,
}

/// One step as it happened.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// Where the step is written.
    pub pos: Pos,
    /// Its keyword (`client`, `server`, `status`, …).
    pub keyword: &'static str,
    /// How it went.
    pub outcome: StepOutcome,
    /// What was sent or checked, in one line.
    pub detail: String,
    /// Time since the call began, when the step finished.
    pub at: Duration,
    /// How long a checked step waited for the peer.
    pub waited: Option<Duration>,
    /// How many times it happened (`repeat:`).
    pub count: u64,
    /// Whether the file leaves it implicit.
    pub implied: bool,
    /// What the peer sent while the step waited (messages as JSON, headers, the status),
    /// in order; filled only when a transcript is asked for.
    pub received: Vec<String>,
}

/// Why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The peer sent something other than the script says.
    Mismatch,
    /// The peer did not do what the script says in time.
    Timeout,
    /// The connection failed or was lost.
    Transport,
}

/// The first thing that went wrong in a call.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The step where it happened.
    pub pos: Pos,
    /// The step's keyword.
    pub keyword: &'static str,
    /// A one-line account.
    pub summary: String,
    /// The field-level differences, for a mismatch.
    pub diffs: Vec<Mismatch>,
}

impl Failure {
    /// The failure as text: `file:line:col: summary`, then one line per difference.
    pub fn describe(&self, file: &std::path::Path) -> String {
        let mut text = format!(
            "{}:{}:{}: step `{}`: {}",
            file.display(),
            self.pos.line,
            self.pos.column,
            self.keyword,
            self.summary
        );
        for diff in &self.diffs {
            let path = if diff.path.is_empty() {
                "(message)"
            } else {
                &diff.path
            };
            text.push_str(&format!(
                "\n    {path}: expected {}, received {}",
                diff.expected, diff.actual
            ));
        }
        text
    }
}

/// The result of playing one call.
#[derive(Debug, Clone)]
pub struct CallResult {
    /// The scenario file.
    pub file: PathBuf,
    /// The scenario's name.
    pub scenario: String,
    /// The call's id.
    pub call_id: String,
    /// The call's name.
    pub call_name: String,
    /// The method path.
    pub method: String,
    /// The role played.
    pub role: Role,
    /// How long the call took.
    pub duration: Duration,
    /// Every step as it happened.
    pub steps: Vec<StepRecord>,
    /// The first failure; `None` when the call passed.
    pub failure: Option<Failure>,
}

impl CallResult {
    /// Whether every step passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}
