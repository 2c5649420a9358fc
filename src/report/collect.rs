//! Keeps every finished call for the closing reports while passing the engine's events on
//! to the live output, and notices the first failure (for `--fail-fast`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::progress::Progress;
use crate::runner::{CallResult, Observer, StepRecord};
use crate::scenario::{Call, Role, Scenario};

/// An observer that records results and forwards everything to a [`Progress`].
pub struct Collector {
    progress: Arc<dyn Progress>,
    results: Mutex<Vec<CallResult>>,
    /// Whether results are kept (see [`Collector::forwarding`]).
    keep: bool,
    failed: watch::Sender<bool>,
}

impl Collector {
    /// Records results and passes events on to `progress`.
    pub fn new(progress: Arc<dyn Progress>) -> Collector {
        Collector {
            progress,
            results: Mutex::new(Vec::new()),
            keep: true,
            failed: watch::Sender::new(false),
        }
    }

    /// Passes events on to `progress` and notices failures, but keeps no result (a
    /// server without reports, whose memory must stay flat however many calls).
    pub fn forwarding(progress: Arc<dyn Progress>) -> Collector {
        Collector {
            keep: false,
            ..Collector::new(progress)
        }
    }

    /// Whether a call has failed.
    pub fn has_failed(&self) -> bool {
        *self.failed.borrow()
    }

    /// Resolves once a call has failed.
    pub async fn first_failure(&self) {
        let mut failed = self.failed.subscribe();
        let _ = failed.wait_for(|failed| *failed).await;
    }

    /// Whether the call `call_id` of `file` has finished (in any role).
    pub fn finished(&self, file: &Path, call_id: &str) -> bool {
        self.lock()
            .iter()
            .any(|r| r.file == file && r.call_id == call_id)
    }

    /// How many calls have finished (it grows as they do).
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Every finished call, in the order they ended.
    pub fn results(&self) -> Vec<CallResult> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<CallResult>> {
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

    fn call_finished(&self, scenario: &Scenario, result: &CallResult) {
        self.progress.call_finished(scenario, result);
        if self.keep {
            self.lock().push(result.clone());
        }
        if !result.passed() {
            self.failed.send_replace(true);
        }
    }
}
