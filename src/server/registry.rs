//! The scripts a server plays, which incoming call gets which script, and what happened.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::index::{first_client_message, ScriptIndex};
use crate::runner::{CallResult, Captures, PeerEvent};
use crate::scenario::{Call, Compression, Scenario};

/// A script: the call at `call` of the scenario at `scenario`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScriptId {
    /// Index of the scenario.
    pub scenario: usize,
    /// Index of the call in it.
    pub call: usize,
}

#[derive(Default)]
struct Counts {
    finished: Vec<u64>,
    /// Passed calls counted but not kept.
    passed_not_kept: usize,
    results: Vec<CallResult>,
}

/// The served scripts and the tally of calls played.
pub(crate) struct Registry {
    scenarios: Vec<Scenario>,
    /// Each scenario file's captured variables, shared by the calls that play its scripts.
    captures: Vec<Captures>,
    /// Every script, numbered in file order.
    scripts: Vec<ScriptId>,
    /// The number of each scenario's first script.
    first_script: Vec<usize>,
    index: ScriptIndex,
    /// Paths with a script that answers compressed.
    gzip_paths: HashSet<String>,
    counts: Mutex<Counts>,
    changed: Notify,
    /// Whether every passed call's result is kept; otherwise only a script's first
    /// passed call is (the others are counted), so memory stays flat however many calls.
    keep_passed: bool,
}

/// What a server did, for the closing summary.
#[derive(Debug, Default)]
pub(crate) struct ServeSummary {
    /// The calls kept (every call, or only the failed ones), in the order they ended.
    pub results: Vec<CallResult>,
    /// Passed calls counted but not kept in `results`.
    pub passed_not_kept: usize,
    /// Scripts no call played: (file, call id, method).
    pub never_played: Vec<(std::path::PathBuf, String, String)>,
}

impl Registry {
    /// Registers every call of every scenario; `keep_passed`: keep every result, not
    /// only the failures.
    pub(crate) fn new(scenarios: Vec<Scenario>, keep_passed: bool) -> Registry {
        let mut scripts = Vec::new();
        let mut first_script = Vec::with_capacity(scenarios.len());
        for (s, scenario) in scenarios.iter().enumerate() {
            first_script.push(scripts.len());
            scripts.extend((0..scenario.calls.len()).map(|c| ScriptId {
                scenario: s,
                call: c,
            }));
        }
        let index = ScriptIndex::new(scenarios.iter().flat_map(|s| &s.calls));
        let gzip_paths = scenarios
            .iter()
            .flat_map(|s| &s.calls)
            .filter(|c| c.compression == Some(Compression::Gzip))
            .map(|c| c.path.clone())
            .collect();
        let counts = Counts {
            finished: vec![0; scripts.len()],
            passed_not_kept: 0,
            results: Vec::new(),
        };
        Registry {
            captures: scenarios.iter().map(|_| Captures::default()).collect(),
            scenarios,
            scripts,
            first_script,
            index,
            gzip_paths,
            counts: Mutex::new(counts),
            changed: Notify::new(),
            keep_passed,
        }
    }

    /// The served scenarios.
    pub(crate) fn scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The scenario and call of a script.
    pub(crate) fn get(&self, id: ScriptId) -> (&Scenario, &Call) {
        let scenario = &self.scenarios[id.scenario];
        (scenario, &scenario.calls[id.call])
    }

    /// The script numbered `number` (file order).
    pub(crate) fn script(&self, number: usize) -> ScriptId {
        self.scripts[number]
    }

    /// The captured variables of a script's file.
    pub(crate) fn captures(&self, id: ScriptId) -> Captures {
        self.captures[id.scenario].clone()
    }

    /// The numbers of the scripts for an HTTP/2 path, in file order.
    pub(crate) fn scripts_of(&self, path: &str) -> &[usize] {
        self.index.all(path)
    }

    /// Whether a script of `path` answers compressed.
    pub(crate) fn compresses(&self, path: &str) -> bool {
        self.gzip_paths.contains(path)
    }

    /// Whether every script of `path` starts by checking a client message.
    pub(crate) fn all_start_with_client(&self, path: &str) -> bool {
        self.index.all_start_with_client(path)
    }

    /// The scripts of `path` an incoming call may be following, given its metadata and
    /// (when read) its first event: those whose metadata and first client message accept
    /// them. When none does, every script of the path (they all fail, and the closest
    /// names what differs).
    pub(crate) fn candidates(
        &self,
        path: &str,
        metadata: &crate::matching::ReceivedMetadata,
        first: Option<&PeerEvent>,
    ) -> Vec<usize> {
        let looked_up = match first {
            Some(PeerEvent::Message { bytes, .. }) => self.index.lookup(path, bytes),
            _ => self.index.all(path).to_vec(),
        };
        let fitting: Vec<usize> = looked_up
            .into_iter()
            .filter(|&n| self.metadata_fits(n, metadata) && self.first_fits(n, first))
            .collect();
        if fitting.is_empty() {
            self.index.all(path).to_vec()
        } else {
            fitting
        }
    }

    /// Whether a script's request metadata accepts `metadata`, as it would play now.
    fn metadata_fits(&self, number: usize, metadata: &crate::matching::ReceivedMetadata) -> bool {
        let id = self.scripts[number];
        let call = self.get(id).1;
        match &call.metadata_template {
            Some(template) => template
                .resolve(&self.captures[id.scenario].snapshot())
                .is_ok_and(|spec| spec.check(metadata).is_ok()),
            None => call.metadata.check(metadata).is_ok(),
        }
    }

    /// Whether a script's first client message (if it starts with one) accepts `first`.
    fn first_fits(&self, number: usize, first: Option<&PeerEvent>) -> bool {
        let id = self.scripts[number];
        let Some(step) = first_client_message(self.get(id).1) else {
            return true;
        };
        let Some(PeerEvent::Message { bytes, .. }) = first else {
            return first.is_none();
        };
        match &step.template {
            Some(template) => template
                .resolve(&self.captures[id.scenario].snapshot())
                .is_ok_and(|(sent, expect)| expect.unwrap_or(sent).check(bytes).is_ok()),
            None => step.checked().check(bytes).is_ok(),
        }
    }

    /// Records the end of a call.
    pub(crate) fn record(&self, id: ScriptId, result: CallResult) {
        let mut counts = self.counts.lock().expect("registry lock");
        let finished = &mut counts.finished[self.first_script[id.scenario] + id.call];
        *finished += 1;
        if self.keep_passed || !result.passed() || *finished == 1 {
            counts.results.push(result);
        } else {
            counts.passed_not_kept += 1;
        }
        drop(counts);
        self.changed.notify_waiters();
    }

    /// Waits until every script has been played to its end at least once.
    pub(crate) async fn all_played(&self) {
        loop {
            let notified = self.changed.notified();
            if self
                .counts
                .lock()
                .expect("registry lock")
                .finished
                .iter()
                .all(|n| *n > 0)
            {
                return;
            }
            notified.await;
        }
    }

    /// The tally so far.
    pub(crate) fn summary(&self) -> ServeSummary {
        let counts = self.counts.lock().expect("registry lock");
        ServeSummary {
            results: counts.results.clone(),
            passed_not_kept: counts.passed_not_kept,
            never_played: self
                .scripts
                .iter()
                .zip(&counts.finished)
                .filter(|(_, n)| **n == 0)
                .map(|(id, _)| {
                    let (scenario, call) = self.get(*id);
                    (scenario.path.clone(), call.id.clone(), call.path.clone())
                })
                .collect(),
        }
    }
}
