//! The scripts a server plays, which incoming call gets which script, and what happened.

use std::sync::Mutex;

use tokio::sync::Notify;

use crate::runner::{CallResult, Captures, PeerEvent};
use crate::scenario::{Action, Call, MessageStep, Scenario};

/// A script: the call at `call` of the scenario at `scenario`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptId {
    /// Index of the scenario.
    pub scenario: usize,
    /// Index of the call in it.
    pub call: usize,
}

#[derive(Default)]
struct Counts {
    started: Vec<u64>,
    finished: Vec<u64>,
    results: Vec<CallResult>,
}

/// The served scripts and the tally of calls played.
pub struct Registry {
    scenarios: Vec<Scenario>,
    /// Each scenario file's captured variables, shared by the calls that play its scripts.
    captures: Vec<Captures>,
    scripts: Vec<ScriptId>,
    counts: Mutex<Counts>,
    changed: Notify,
    /// Whether passed calls' results are kept, not only counted.
    keep_passed: bool,
}

/// What a server did, for the closing summary.
#[derive(Debug, Default)]
pub struct ServeSummary {
    /// Every call played, in the order they ended.
    pub results: Vec<CallResult>,
    /// Scripts no call played: (file, call id, method).
    pub never_played: Vec<(std::path::PathBuf, String, String)>,
}

impl Registry {
    /// Registers every call of every scenario; `keep_passed`: keep every result, not
    /// only the failures.
    pub fn new(scenarios: Vec<Scenario>, keep_passed: bool) -> Registry {
        let scripts: Vec<ScriptId> = scenarios
            .iter()
            .enumerate()
            .flat_map(|(s, scenario)| {
                (0..scenario.calls.len()).map(move |c| ScriptId {
                    scenario: s,
                    call: c,
                })
            })
            .collect();
        let counts = Counts {
            started: vec![0; scripts.len()],
            finished: vec![0; scripts.len()],
            results: Vec::new(),
        };
        Registry {
            captures: scenarios.iter().map(|_| Captures::default()).collect(),
            scenarios,
            scripts,
            counts: Mutex::new(counts),
            changed: Notify::new(),
            keep_passed,
        }
    }

    /// The served scenarios.
    pub fn scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The scenario and call of a script.
    pub fn get(&self, id: ScriptId) -> (&Scenario, &Call) {
        let scenario = &self.scenarios[id.scenario];
        (scenario, &scenario.calls[id.call])
    }

    /// The captured variables of a script's file.
    pub fn captures(&self, id: ScriptId) -> Captures {
        self.captures[id.scenario].clone()
    }

    /// The scripts for an HTTP/2 path, in file order.
    pub fn candidates(&self, path: &str) -> Vec<ScriptId> {
        self.scripts
            .iter()
            .copied()
            .filter(|id| self.get(*id).1.path == path)
            .collect()
    }

    /// Whether choosing among `candidates` needs the client's first message.
    pub fn needs_first_message(&self, candidates: &[ScriptId]) -> bool {
        candidates.len() > 1
            && candidates
                .iter()
                .any(|id| first_client_message(self.get(*id).1).is_some())
    }

    /// Chooses the script for an incoming call: the first unplayed script whose metadata
    /// and first client message match (those that constrain more first), else the first
    /// played one that matches, else the first whose metadata matches, else the first. The
    /// choice counts as played.
    pub fn choose(
        &self,
        candidates: &[ScriptId],
        metadata: &crate::matching::ReceivedMetadata,
        first: Option<&PeerEvent>,
    ) -> ScriptId {
        // Scripts that use captured variables are compared as they would play now.
        let metadata_ok = |id: &ScriptId| {
            let call = self.get(*id).1;
            match &call.metadata_template {
                Some(template) => template
                    .resolve(&self.captures[id.scenario].snapshot())
                    .is_ok_and(|spec| spec.check(metadata).is_ok()),
                None => call.metadata.check(metadata).is_ok(),
            }
        };
        let message_ok = |id: &ScriptId| {
            let Some(step) = first_client_message(self.get(*id).1) else {
                return true;
            };
            let Some(PeerEvent::Message(bytes)) = first else {
                return false;
            };
            match &step.template {
                Some(template) => template
                    .resolve(&self.captures[id.scenario].snapshot())
                    .is_ok_and(|(sent, expect)| expect.unwrap_or(sent).check(bytes).is_ok()),
                None => step.checked().check(bytes).is_ok(),
            }
        };
        let mut counts = self.counts.lock().expect("registry lock");
        let index = |id: &ScriptId| self.scripts.iter().position(|s| s == id).unwrap_or(0);
        // Among the scripts that match, the more specific first (a script that constrains
        // the metadata or the first message before one that takes any call), file order
        // otherwise.
        let mut matching: Vec<ScriptId> = candidates
            .iter()
            .copied()
            .filter(|id| metadata_ok(id) && message_ok(id))
            .collect();
        matching.sort_by_key(|id| std::cmp::Reverse(specificity(self.get(*id).1)));
        let chosen = matching
            .iter()
            .copied()
            .find(|id| counts.started[index(id)] == 0)
            .or_else(|| matching.first().copied())
            .or_else(|| candidates.iter().copied().find(|id| metadata_ok(id)))
            .unwrap_or(candidates[0]);
        counts.started[index(&chosen)] += 1;
        chosen
    }

    /// Records the end of a call.
    pub fn record(&self, id: ScriptId, result: CallResult) {
        let mut counts = self.counts.lock().expect("registry lock");
        if let Some(i) = self.scripts.iter().position(|s| *s == id) {
            counts.finished[i] += 1;
        }
        if self.keep_passed || !result.passed() {
            counts.results.push(result);
        }
        drop(counts);
        self.changed.notify_waiters();
    }

    /// Waits until every script has been played to its end at least once.
    pub async fn all_played(&self) {
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
    pub fn summary(&self) -> ServeSummary {
        let counts = self.counts.lock().expect("registry lock");
        ServeSummary {
            results: counts.results.clone(),
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

/// How much a script constrains the calls it takes: request metadata, a first message.
fn specificity(call: &Call) -> u8 {
    let metadata = !call.metadata.is_empty() || call.metadata_template.is_some();
    u8::from(metadata) + u8::from(first_client_message(call).is_some())
}

/// The first message the server role checks, when the script starts with one.
fn first_client_message(call: &Call) -> Option<&MessageStep> {
    call.script.iter().find_map(|step| match &step.action {
        Action::Client(m) => Some(Some(m)),
        Action::Sleep(_) | Action::Headers(_) => None,
        _ => Some(None),
    })?
}
