//! What a command produced, arranged for reports: a suite per scenario file, a case per
//! call played (or skipped).

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::summary::Tally;
use crate::runner::{CallResult, FailureKind, StepKind, StepRecord};
use crate::scenario::node::Pos;
use crate::scenario::{Call, Role, Scenario, Step};

/// A file that could not be loaded (or an input every file needs, such as a
/// `--vars-file`): a case of its own in every report, an error that fails the run.
#[derive(Debug, Clone)]
pub struct FileError {
    /// The file at fault.
    pub file: std::path::PathBuf,
    /// Its stem, standing in for the scenario's name.
    pub name: String,
    /// 1-based line, 0 when the error concerns the whole file.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
    /// What is wrong, without the location.
    pub message: String,
    /// The whole located message, with the snippet, as printed on standard error.
    pub text: String,
}

impl FileError {
    /// `file:line:column: message` (the file alone when no line is known).
    pub fn headline(&self) -> String {
        match self.line {
            0 => format!("{}: {}", self.file.display(), self.message),
            line => format!(
                "{}:{line}:{}: {}",
                self.file.display(),
                self.column,
                self.message
            ),
        }
    }
}

/// A call that was not played, and why.
#[derive(Debug, Clone)]
pub struct SkippedCall {
    /// The scenario file.
    pub file: std::path::PathBuf,
    /// The call's id.
    pub call_id: String,
    /// The call's name.
    pub call_name: String,
    /// The method path.
    pub method: String,
    /// The role it would have been played in.
    pub role: Role,
    /// Why it was not played.
    pub reason: SkipReason,
    /// Where the call is written.
    pub pos: Pos,
    /// Whether not playing it fails the run: the command was stopped (a signal, a lost
    /// peer) before the call ended, or `serve --once` stopped with the script unplayed.
    pub interrupted: bool,
}

impl SkippedCall {
    /// `call` of `scenario`, not played in `role` because of `reason`.
    pub fn new(scenario: &Scenario, call: &Call, role: Role, reason: SkipReason) -> SkippedCall {
        SkippedCall {
            file: scenario.path.clone(),
            call_id: call.id.clone(),
            call_name: call.name.clone(),
            method: call.path.clone(),
            role,
            reason,
            pos: call.pos,
            interrupted: false,
        }
    }

    /// `call` of `scenario`, not (or not completely) played in `role` because the command
    /// was stopped: a failure.
    pub fn interrupted(
        scenario: &Scenario,
        call: &Call,
        role: Role,
        reason: SkipReason,
    ) -> SkippedCall {
        SkippedCall {
            interrupted: true,
            ..SkippedCall::new(scenario, call, role, reason)
        }
    }
}

/// Why a call was not (or not completely) played; [`super::text`] words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// `run --fail-fast` stopped the run after a failure.
    FailFastRun,
    /// `serve --fail-fast` stopped the server after a failure.
    FailFastServer,
    /// `serve --once` was stopped before a client made the call.
    ServerStoppedOnce,
    /// `serve` ended and no client made the call.
    NeverCalled,
    /// A signal (`SIGINT`, `SIGTERM`) stopped the command before the call ended.
    Signal(&'static str),
    /// A report written while the command still plays: the call has not ended yet.
    Unfinished,
}

/// Everything a command produced, as the reports and the closing summary read it.
#[derive(Debug, Clone, Copy)]
pub struct RunOutcome<'a> {
    /// The command: `run` or `serve`.
    pub command: &'static str,
    /// The role the command plays; cases played in the other role (the in-process server
    /// of `run --loopback`) are named so.
    pub role: Role,
    /// The scenarios, in the order they were given.
    pub scenarios: &'a [Scenario],
    /// Every call played (`serve` without a report keeps one passed call per script:
    /// the others are only counted, in `passed_not_kept`).
    pub results: &'a [CallResult],
    /// Calls that passed and were counted, but not kept in `results`.
    pub passed_not_kept: usize,
    /// Every call not played.
    pub skipped: &'a [SkippedCall],
    /// The files that did not load.
    pub errors: &'a [FileError],
    /// When the command started playing.
    pub started_at: SystemTime,
    /// How long it played.
    pub elapsed: Duration,
    /// The process exit code the command ends with.
    pub exit_code: u8,
}

impl<'a> RunOutcome<'a> {
    /// The counts.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::of(self.results, self.skipped).with_errors(self.errors);
        tally.calls += self.passed_not_kept;
        tally.passed += self.passed_not_kept;
        tally
    }

    /// A suite per file that did not load, then a suite per scenario file that has cases,
    /// in the order the files were given; in each, the cases in the order the file writes
    /// its calls.
    pub fn suites(&self) -> Vec<Suite<'a>> {
        let errors = self.errors.iter().map(|error| Suite {
            file: &error.file,
            name: &error.name,
            cases: vec![Case::invalid(error, self.role)],
        });
        let played = self
            .scenarios
            .iter()
            .map(|scenario| {
                let mut cases: Vec<Case<'a>> = self
                    .results
                    .iter()
                    .filter(|r| r.file == scenario.path)
                    .map(|r| Case::played(scenario, r, r.role != self.role))
                    .chain(
                        self.skipped
                            .iter()
                            .filter(|s| s.file == scenario.path)
                            .map(|s| Case::skipped(scenario, s)),
                    )
                    .collect();
                cases.sort_by_key(|case| (case.order, case.role != self.role));
                Suite {
                    file: &scenario.path,
                    name: &scenario.name,
                    cases,
                }
            })
            .filter(|suite| !suite.cases.is_empty());
        errors.chain(played).collect()
    }
}

/// The cases of one scenario file.
#[derive(Debug, Clone)]
pub struct Suite<'a> {
    /// The scenario file.
    file: &'a Path,
    /// The scenario's name (the file's stem for a file that did not load).
    pub name: &'a str,
    /// Its cases.
    pub cases: Vec<Case<'a>>,
}

impl Suite<'_> {
    /// The scenario file.
    pub fn file(&self) -> &Path {
        self.file
    }

    /// How many cases ended with `status`.
    pub fn count(&self, status: CaseStatus) -> usize {
        self.cases.iter().filter(|c| c.status() == status).count()
    }

    /// The time of the suite's cases added up.
    pub fn duration(&self) -> Duration {
        self.cases.iter().map(Case::duration).sum()
    }
}

/// One call of a scenario file, played or not.
#[derive(Debug, Clone)]
pub struct Case<'a> {
    /// The call's title: its name, with the id when they differ, and `(server side)` for
    /// the other role's verdict.
    pub name: String,
    /// The call's id.
    pub call_id: &'a str,
    /// The method path.
    pub method: &'a str,
    /// The role it was played in.
    pub role: Role,
    /// The call in the scenario, for the steps' `within:` limits.
    pub call: Option<&'a Call>,
    /// What happened.
    pub verdict: Verdict<'a>,
    /// The call's index in its file, for ordering.
    order: usize,
}

/// How a case went.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'a> {
    /// It was played.
    Played(&'a CallResult),
    /// It was not played, for this reason.
    Skipped(SkipReason),
    /// The command stopped before it ended (a failure).
    Interrupted(&'a SkippedCall),
    /// Its file did not load (an error).
    Invalid(&'a FileError),
}

/// A case's status, as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    /// Every step passed.
    Passed,
    /// The peer did not do what the script says (or not in time).
    Failed,
    /// The connection failed or was lost.
    TransportFailure,
    /// Not played.
    Skipped,
    /// Not played to its end: the command was stopped.
    Interrupted,
    /// The file did not load.
    Invalid,
}

impl CaseStatus {
    /// `passed`, `failed`, `transport_failure`, `skipped`.
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Passed => "passed",
            CaseStatus::Failed => "failed",
            CaseStatus::TransportFailure => "transport_failure",
            CaseStatus::Skipped => "skipped",
            CaseStatus::Interrupted => "interrupted",
            CaseStatus::Invalid => "invalid",
        }
    }

    /// The status of a played call.
    pub fn of(result: &CallResult) -> CaseStatus {
        match &result.failure {
            None => CaseStatus::Passed,
            Some(f) if f.kind() == FailureKind::Transport => CaseStatus::TransportFailure,
            Some(_) => CaseStatus::Failed,
        }
    }
}

impl<'a> Case<'a> {
    /// A played call of `scenario`; `other_role`: played in the role the command does not
    /// mainly play.
    pub(super) fn played(
        scenario: &'a Scenario,
        result: &'a CallResult,
        other_role: bool,
    ) -> Case<'a> {
        let (order, call) = find_call(scenario, &result.call_id);
        Case {
            name: case_name(&result.call_name, &result.call_id, other_role),
            call_id: &result.call_id,
            method: &result.method,
            role: result.role,
            call,
            verdict: Verdict::Played(result),
            order,
        }
    }

    /// A call of `scenario` that was not played.
    pub(super) fn skipped(scenario: &'a Scenario, skipped: &'a SkippedCall) -> Case<'a> {
        let (order, call) = find_call(scenario, &skipped.call_id);
        Case {
            name: case_name(&skipped.call_name, &skipped.call_id, false),
            call_id: &skipped.call_id,
            method: &skipped.method,
            role: skipped.role,
            call,
            verdict: if skipped.interrupted {
                Verdict::Interrupted(skipped)
            } else {
                Verdict::Skipped(skipped.reason)
            },
            order,
        }
    }

    /// The case standing for a file that did not load.
    fn invalid(error: &'a FileError, role: Role) -> Case<'a> {
        Case {
            name: "load".to_string(),
            call_id: "load",
            method: "",
            role,
            call: None,
            verdict: Verdict::Invalid(error),
            order: 0,
        }
    }

    /// How the case ended.
    pub fn status(&self) -> CaseStatus {
        match self.verdict {
            Verdict::Played(result) => CaseStatus::of(result),
            Verdict::Skipped(_) => CaseStatus::Skipped,
            Verdict::Interrupted(_) => CaseStatus::Interrupted,
            Verdict::Invalid(_) => CaseStatus::Invalid,
        }
    }

    /// How long the call took (zero when skipped).
    pub fn duration(&self) -> Duration {
        match self.verdict {
            Verdict::Played(result) => result.duration,
            _ => Duration::ZERO,
        }
    }

    /// The steps as they happened (none when skipped).
    pub fn steps(&self) -> &'a [StepRecord] {
        match self.verdict {
            Verdict::Played(result) => &result.steps,
            _ => &[],
        }
    }

    /// The `within:` limit of the step `record` is of.
    pub fn within(&self, record: &StepRecord) -> Option<Duration> {
        self.call.and_then(|call| within_of(call, record))
    }
}

fn find_call<'a>(scenario: &'a Scenario, id: &str) -> (usize, Option<&'a Call>) {
    scenario
        .calls
        .iter()
        .enumerate()
        .find(|(_, call)| call.id == id)
        .map_or((usize::MAX, None), |(index, call)| (index, Some(call)))
}

fn case_name(name: &str, id: &str, other_role: bool) -> String {
    let mut title = if name == id {
        name.to_string()
    } else {
        format!("{name} [{id}]")
    };
    if other_role {
        title.push_str(" (server side)");
    }
    title
}

/// The `within:` limit of the step of `call` that `record` is of.
pub(super) fn within_of(call: &Call, record: &StepRecord) -> Option<Duration> {
    fn find<'s>(steps: &'s [Step], record: &StepRecord) -> Option<&'s Step> {
        steps.iter().find_map(|step| {
            if step.pos == record.pos && StepKind::of(&step.action) == record.kind {
                return Some(step);
            }
            find(step.action.inner(), record)
        })
    }
    find(&call.script, record).and_then(|step| step.within)
}
