//! The `--report` files of `run` and `serve`: prepared before anything plays, rewritten
//! while the command plays (so that a command killed outright still leaves complete
//! reports of what had finished), and written a last time when it ends.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::args::{OutputArgs, OutputFormat};
use super::exit::Exit;
use crate::report::{
    Collector, FileError, Progress, ReportFormat, ReportSink, RunOutcome, SkipReason, SkippedCall,
    Tally,
};
use crate::runner::CallResult;
use crate::scenario::{Role, Scenario};

/// The shortest pause between two rewrites while a command plays.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The report files a command writes.
pub(super) struct Reports {
    sink: Arc<ReportSink>,
    /// Whether the engine must keep a transcript (for the JSON report or events).
    pub transcript: bool,
}

impl Reports {
    /// Prepares the files (and their folders); on a bad path or two users of standard
    /// output, says so and returns the exit code.
    pub(super) fn open(output: &OutputArgs) -> Result<Reports, Exit> {
        let on_stdout = output.reports.iter().filter(|r| r.path.is_none()).count()
            + usize::from(output.output == OutputFormat::Json);
        if on_stdout > 1 {
            eprintln!(
                "error: only one of --output json and the --report FORMAT=- options can use standard output"
            );
            return Err(Exit::Invalid);
        }
        let targets: Vec<(ReportFormat, Option<PathBuf>)> = output
            .reports
            .iter()
            .map(|r| (r.format, r.path.clone()))
            .collect();
        let sink = ReportSink::open(targets).map_err(|(name, error)| {
            eprintln!("error: cannot write the report {name}: {error}");
            Exit::Invalid
        })?;
        Ok(Reports {
            sink: Arc::new(sink),
            transcript: output.output == OutputFormat::Json
                || output.reports.iter().any(|r| r.format.needs_transcript()),
        })
    }

    /// Starts rewriting the report files while `live` plays; stops when the guard drops.
    pub(super) fn keep_written(&self, live: Live) -> LiveGuard {
        if !self.sink.has_files() {
            return LiveGuard(None);
        }
        let sink = self.sink.clone();
        LiveGuard(Some(tokio::spawn(async move {
            let mut written = None;
            let mut pause = Duration::ZERO;
            loop {
                tokio::time::sleep(pause).await;
                let count = live.collector.count();
                if written == Some(count) {
                    pause = MIN_INTERVAL;
                    continue;
                }
                let began = Instant::now();
                live.write(&sink);
                written = Some(count);
                // Rewriting takes at most a twentieth of the time, however large the run.
                pause = MIN_INTERVAL.max(began.elapsed() * 20);
            }
        })))
    }

    /// Ends a command: the closing summary, then the reports; the exit code of `outcome`,
    /// or [`Exit::Invalid`] when a report could not be written.
    pub(super) fn finish(&self, progress: &dyn Progress, outcome: &RunOutcome, exit: Exit) -> Exit {
        progress.summary(outcome);
        let errors = self.sink.finish(outcome);
        for (name, error) in &errors {
            eprintln!("error: cannot write the report {name}: {error}");
        }
        if errors.is_empty() {
            exit
        } else {
            exit.max(Exit::Invalid)
        }
    }
}

/// The rewriting of the reports while a command plays; stopped (at the latest) when
/// dropped.
pub(super) struct LiveGuard(Option<tokio::task::JoinHandle<()>>);

impl LiveGuard {
    /// Stops the rewriting, waiting for a write under way to end (so that it cannot land
    /// after the final reports).
    pub(super) async fn stop(mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// A command as it plays: what a report written now holds.
pub(super) struct Live {
    /// `run` or `serve`.
    pub command: &'static str,
    /// The role the command plays.
    pub role: Role,
    /// The scenarios being played.
    pub scenarios: Arc<[Scenario]>,
    /// The files that did not load.
    pub errors: Arc<[FileError]>,
    /// The calls that have ended.
    pub collector: Arc<Collector>,
    /// When the command started.
    pub clock: Clock,
}

impl Live {
    /// Writes the report files: the calls that ended, the others marked interrupted.
    fn write(&self, sink: &ReportSink) {
        let results = self.collector.results();
        let pending = unfinished(&self.scenarios, &results, self.role, SkipReason::Unfinished);
        let exit = exit_of(&results, &pending, &self.errors);
        let outcome = RunOutcome {
            passed_not_kept: 0,
            command: self.command,
            role: self.role,
            scenarios: &self.scenarios,
            results: &results,
            skipped: &pending,
            errors: &self.errors,
            started_at: self.clock.started_at,
            elapsed: self.clock.elapsed(),
            exit_code: exit as u8,
        };
        for (name, error) in sink.snapshot(&outcome) {
            eprintln!("error: cannot write the report {name}: {error}");
        }
    }
}

/// When a command started, for the reports.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    started_at: SystemTime,
    started: Instant,
}

impl Clock {
    /// Now.
    pub(super) fn start() -> Clock {
        Clock {
            started_at: SystemTime::now(),
            started: Instant::now(),
        }
    }

    /// When the command started.
    pub(super) fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// How long it has been playing.
    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The exit code of a command that played `results`, did not play `skipped`, and could
/// not load `errors`.
pub(super) fn exit_of(
    results: &[CallResult],
    skipped: &[SkippedCall],
    errors: &[FileError],
) -> Exit {
    Exit::from_tally(&Tally::of(results, skipped).with_errors(errors))
}

/// Every call of `scenarios` that has no result in `role`, marked interrupted for
/// `reason`.
pub(super) fn unfinished(
    scenarios: &[Scenario],
    results: &[CallResult],
    role: Role,
    reason: SkipReason,
) -> Vec<SkippedCall> {
    let ended: std::collections::HashSet<(&std::path::Path, &str)> = results
        .iter()
        .filter(|r| r.role == role)
        .map(|r| (r.file.as_path(), r.call_id.as_str()))
        .collect();
    scenarios
        .iter()
        .flat_map(|scenario| {
            scenario
                .calls
                .iter()
                .filter(|call| !ended.contains(&(scenario.path.as_path(), call.id.as_str())))
                .map(move |call| SkippedCall::interrupted(scenario, call, role, reason))
        })
        .collect()
}
