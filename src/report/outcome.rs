//! What a command produced, arranged for reports: a suite per scenario file, a case per
//! call played (or skipped).

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::summary::Tally;
use crate::runner::{CallResult, FailureKind, StepKind, StepRecord};
use crate::scenario::{Action, Call, Role, Scenario, Step};

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
    pub reason: String,
}

impl SkippedCall {
    /// `call` of `scenario`, not played in `role` because of `reason`.
    pub fn new(scenario: &Scenario, call: &Call, role: Role, reason: &str) -> SkippedCall {
        SkippedCall {
            file: scenario.path.clone(),
            call_id: call.id.clone(),
            call_name: call.name.clone(),
            method: call.path.clone(),
            role,
            reason: reason.to_string(),
        }
    }
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
        let mut tally = Tally::of(self.results, self.skipped);
        tally.calls += self.passed_not_kept;
        tally.passed += self.passed_not_kept;
        tally
    }

    /// A suite per scenario file that has cases, in the order the files were given; in
    /// each, the cases in the order the file writes its calls.
    pub fn suites(&self) -> Vec<Suite<'a>> {
        self.scenarios
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
                Suite { scenario, cases }
            })
            .filter(|suite| !suite.cases.is_empty())
            .collect()
    }
}

/// The cases of one scenario file.
#[derive(Debug, Clone)]
pub struct Suite<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Its cases.
    pub cases: Vec<Case<'a>>,
}

impl Suite<'_> {
    /// The scenario file.
    pub fn file(&self) -> &Path {
        &self.scenario.path
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
    Skipped(&'a str),
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
}

impl CaseStatus {
    /// `passed`, `failed`, `transport_failure`, `skipped`.
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Passed => "passed",
            CaseStatus::Failed => "failed",
            CaseStatus::TransportFailure => "transport_failure",
            CaseStatus::Skipped => "skipped",
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
            verdict: Verdict::Skipped(&skipped.reason),
            order,
        }
    }

    /// How the case ended.
    pub fn status(&self) -> CaseStatus {
        match self.verdict {
            Verdict::Played(result) => CaseStatus::of(result),
            Verdict::Skipped(_) => CaseStatus::Skipped,
        }
    }

    /// How long the call took (zero when skipped).
    pub fn duration(&self) -> Duration {
        match self.verdict {
            Verdict::Played(result) => result.duration,
            Verdict::Skipped(_) => Duration::ZERO,
        }
    }

    /// The steps as they happened (none when skipped).
    pub fn steps(&self) -> &'a [StepRecord] {
        match self.verdict {
            Verdict::Played(result) => &result.steps,
            Verdict::Skipped(_) => &[],
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
pub fn within_of(call: &Call, record: &StepRecord) -> Option<Duration> {
    fn find<'s>(steps: &'s [Step], record: &StepRecord) -> Option<&'s Step> {
        steps.iter().find_map(|step| {
            if step.pos == record.pos && StepKind::of(&step.action) == record.kind {
                return Some(step);
            }
            match &step.action {
                Action::Unordered(inner) => find(inner, record),
                _ => None,
            }
        })
    }
    find(&call.script, record).and_then(|step| step.within)
}
