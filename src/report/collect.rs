//! Keeps every finished call for the closing reports while passing the engine's events on
//! to the live output, and notices the first failure (for `--fail-fast`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::progress::Progress;
use crate::runner::{CallResult, Observer, RefusedCall, StepRecord};
use crate::scenario::{Call, Role, Scenario};

/// An observer that records results and forwards everything to a [`Progress`].
pub(crate) struct Collector {
    progress: Arc<dyn Progress>,
    results: Mutex<Kept>,
    failed: watch::Sender<bool>,
    /// Whether passed calls are kept too (a report lists them); otherwise only failures
    /// are, so a long-running server's memory stays flat.
    keep_passed: bool,
}

/// The results kept, and the ids of their calls by file (so that asking whether a call
/// finished costs the same with 10,000 calls as with one).
#[derive(Default)]
struct Kept {
    results: Vec<CallResult>,
    ids: HashMap<PathBuf, HashSet<String>>,
}

impl Collector {
    /// Records results and passes events on to `progress`.
    pub(crate) fn new(progress: Arc<dyn Progress>) -> Collector {
        Collector::keeping(progress, true)
    }

    /// Records failed results, and passed ones too when `keep_passed`; passes events on
    /// to `progress`.
    pub(crate) fn keeping(progress: Arc<dyn Progress>, keep_passed: bool) -> Collector {
        Collector {
            progress,
            results: Mutex::new(Kept::default()),
            failed: watch::Sender::new(false),
            keep_passed,
        }
    }

    /// Whether a call has failed.
    pub(crate) fn has_failed(&self) -> bool {
        *self.failed.borrow()
    }

    /// Resolves once a call has failed.
    pub(crate) async fn first_failure(&self) {
        let mut failed = self.failed.subscribe();
        let _ = failed.wait_for(|failed| *failed).await;
    }

    /// Whether the call `call_id` of `file` has finished (in any role), among the results
    /// kept.
    pub(crate) fn finished(&self, file: &Path, call_id: &str) -> bool {
        self.lock()
            .ids
            .get(file)
            .is_some_and(|ids| ids.contains(call_id))
    }

    /// How many calls have finished (it grows as they do), among the results kept.
    pub(crate) fn count(&self) -> usize {
        self.lock().results.len()
    }

    /// Every finished call kept, in the order they ended.
    pub(crate) fn results(&self) -> Vec<CallResult> {
        self.lock().results.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.results.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Observer for Collector {
    fn call_started(&self, scenario: &Scenario, call: &Call, role: Role) {
        self.progress.call_started(scenario, call, role);
    }

    fn step(&self, scenario: &Scenario, call: &Call, role: Role, record: &StepRecord) {
        self.progress.step(scenario, call, role, record);
    }

    fn call_refused(&self, refused: &RefusedCall) {
        self.progress.call_refused(refused);
    }

    fn call_finished(&self, scenario: &Scenario, result: &CallResult) {
        self.progress.call_finished(scenario, result);
        if self.keep_passed || !result.passed() {
            let mut kept = self.lock();
            kept.ids
                .entry(result.file.clone())
                .or_default()
                .insert(result.call_id.clone());
            kept.results.push(result.clone());
        }
        if !result.passed() {
            self.failed.send_replace(true);
        }
    }
}
