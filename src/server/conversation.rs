//! The server role follows the conversation: an incoming call plays every script it may
//! be following at once, each on a virtual call, and the real call does what they agree on.
//!
//! Each client event goes to every candidate; a candidate whose check fails drops out. A
//! server action (headers, a message, the status) reaches the wire only once every
//! remaining candidate has proposed it. When they disagree (one would send while another
//! waits for the client, or they would send different things), the most specific script
//! wins — the one that checks more of what the client sends (request metadata, client
//! messages, half-close, cancel) — and file order breaks a tie; the others drop out. So
//! the choice depends only on the conversation, never on which scripts were played
//! before. When every candidate fails, the one that came closest (most steps passed, then
//! the same rule) answers with its failure, which names its file, line and diff.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::call::ServerCall;
use super::candidate::{CandidateIo, Report, ServerAction};
use super::registry::{Registry, ScriptId};
use crate::matching::ReceivedMetadata;
use crate::runner::{
    play_call, CallIo, CallResult, Captures, PeerEvent, PlayOptions, Silent, StepOutcome,
};
use crate::scenario::{Action, Call, Role, Step};

/// One script the call may be following.
struct Candidate {
    script: usize,
    specificity: usize,
    events: mpsc::UnboundedSender<PeerEvent>,
    /// Client events handed to it.
    delivered: u64,
    /// Waiting for a client event, with every delivered one read.
    waiting: bool,
    /// Waiting until its message is sent.
    sending: Option<oneshot::Sender<()>>,
    /// What it proposed that the wire has not seen yet.
    pending: VecDeque<ServerAction>,
    result: Option<CallResult>,
    captures: Captures,
    task: JoinHandle<()>,
    dropped: bool,
}

impl Candidate {
    fn live(&self) -> bool {
        !self.dropped && self.result.as_ref().is_none_or(CallResult::passed)
    }

    fn settled(&self) -> bool {
        self.result.is_some() || self.waiting || self.sending.is_some()
    }

    /// The order of preference: more specific first, then earlier in file order.
    fn rank(&self) -> (usize, Reverse<usize>) {
        (self.specificity, Reverse(self.script))
    }

    fn drop_out(&mut self) {
        self.dropped = true;
        self.sending = None;
        self.task.abort();
    }
}

/// An incoming call and the candidates it may be following.
pub struct Conversation {
    registry: Arc<Registry>,
    candidates: Vec<Candidate>,
    reports: mpsc::UnboundedReceiver<(usize, Report)>,
}

impl Conversation {
    /// Starts playing `scripts` (numbers, in file order) for a call with `metadata`;
    /// `first` holds the client events already read.
    pub fn start(
        registry: Arc<Registry>,
        scripts: &[usize],
        metadata: &ReceivedMetadata,
        options: &PlayOptions,
        peer_deadline: Option<Duration>,
    ) -> Conversation {
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let candidates = scripts
            .iter()
            .enumerate()
            .map(|(number, &script)| {
                let (events, received) = mpsc::unbounded_channel();
                let io = CandidateIo::new(number, metadata.clone(), received, reports_tx.clone());
                let id = registry.script(script);
                // Captures made while matching belong to the candidate that made them.
                let captures = Captures::default();
                for (name, value) in registry.captures(id).snapshot() {
                    captures.set(&name, value);
                }
                let options = PlayOptions {
                    captures: captures.clone(),
                    ..options.clone()
                };
                let task = tokio::spawn(play_candidate(
                    registry.clone(),
                    id,
                    io,
                    options,
                    peer_deadline,
                ));
                Candidate {
                    script,
                    specificity: specificity(registry.get(id).1),
                    events,
                    delivered: 0,
                    waiting: false,
                    sending: None,
                    pending: VecDeque::new(),
                    result: None,
                    captures,
                    task,
                    dropped: false,
                }
            })
            .collect();
        Conversation {
            registry,
            candidates,
            reports,
        }
    }

    /// Follows the call to its end: returns the script it followed (or came closest to)
    /// and that script's result.
    pub async fn run(
        mut self,
        io: &mut ServerCall,
        first: Vec<PeerEvent>,
    ) -> (ScriptId, CallResult) {
        for event in first {
            self.deliver(event);
        }
        let mut parked = VecDeque::new();
        let mut client_open = true;
        let chosen = loop {
            if let Some(chosen) = self.decide(io, &mut parked).await {
                break chosen;
            }
            tokio::select! {
                Some((number, report)) = self.reports.recv() => self.apply(number, report),
                event = next_client_event(io, &mut parked), if client_open => match event {
                    Some(event) => self.deliver(event),
                    None => client_open = false,
                },
                else => break self.closest(),
            }
        };
        for candidate in &mut self.candidates {
            candidate.task.abort();
        }
        let winner = &mut self.candidates[chosen];
        let id = self.registry.script(winner.script);
        let file_captures = self.registry.captures(id);
        for (name, value) in winner.captures.snapshot() {
            file_captures.set(&name, value);
        }
        let result = winner.result.take().expect("the chosen script has ended");
        (id, result)
    }

    /// Hands a client event to every candidate still playing.
    fn deliver(&mut self, event: PeerEvent) {
        for candidate in &mut self.candidates {
            if candidate.live() && candidate.result.is_none() {
                let _ = candidate.events.send(event.clone());
                candidate.delivered += 1;
                candidate.waiting = false;
            }
        }
    }

    fn apply(&mut self, number: usize, report: Report) {
        let candidate = &mut self.candidates[number];
        if candidate.dropped {
            return;
        }
        // A candidate that reports while its send waits has given the send up (its
        // deadline passed): the message was never sent.
        if candidate.sending.take().is_some() {
            candidate.pending.pop_back();
        }
        match report {
            Report::Proposed(action) => {
                candidate.waiting = false;
                candidate.pending.push_back(action);
            }
            Report::Sending(action, sent) => {
                candidate.waiting = false;
                candidate.pending.push_back(action);
                candidate.sending = Some(sent);
            }
            Report::Waiting(consumed) => candidate.waiting = consumed == candidate.delivered,
            Report::Done(result) => {
                candidate.waiting = false;
                candidate.result = Some(*result);
            }
        }
    }

    /// Performs what the live candidates agree on, and settles disagreements by the rule.
    /// Returns the chosen candidate once the call is over.
    async fn decide(
        &mut self,
        io: &mut ServerCall,
        parked: &mut VecDeque<PeerEvent>,
    ) -> Option<usize> {
        loop {
            let live: Vec<usize> = (0..self.candidates.len())
                .filter(|&i| self.candidates[i].live())
                .collect();
            if live.is_empty() {
                let closest = self.closest();
                let last = self.candidates[closest].pending.pop_back();
                if let Some(status) = last.and_then(ServerAction::into_status) {
                    io.finish(status).await;
                }
                return Some(closest);
            }
            if !live.iter().all(|&i| self.candidates[i].settled()) {
                return None;
            }
            let head = |i: usize| self.candidates[i].pending.front();
            if live.iter().all(|&i| head(i).is_none()) {
                return self.best(
                    live.iter()
                        .copied()
                        .filter(|&i| self.candidates[i].result.is_some()),
                );
            }
            let first = head(live[0]);
            if live.iter().all(|&i| head(i) == first) {
                let action = first.cloned().expect("every head is an action");
                self.perform(io, action, parked).await;
                for &i in &live {
                    let candidate = &mut self.candidates[i];
                    candidate.pending.pop_front();
                    if candidate.pending.is_empty() {
                        if let Some(sent) = candidate.sending.take() {
                            let _ = sent.send(());
                        }
                    }
                }
                continue;
            }
            let winner = self.best(live.iter().copied()).expect("a live candidate");
            let wanted = head(winner).cloned();
            for &i in &live {
                if self.candidates[i].pending.front() != wanted.as_ref() {
                    self.candidates[i].drop_out();
                }
            }
        }
    }

    async fn perform(
        &self,
        io: &mut ServerCall,
        action: ServerAction,
        parked: &mut VecDeque<PeerEvent>,
    ) {
        match action {
            ServerAction::Headers(headers) => io.send_headers(headers),
            ServerAction::Send(message, count) => io.send_messages(message, count, parked).await,
            finish => {
                if let Some(status) = finish.into_status() {
                    io.finish(status).await;
                }
            }
        }
    }

    /// The preferred candidate among `among`.
    fn best(&self, among: impl Iterator<Item = usize>) -> Option<usize> {
        among.max_by_key(|&i| self.candidates[i].rank())
    }

    /// The failed candidate that came closest: most steps passed, then the rule.
    fn closest(&self) -> usize {
        (0..self.candidates.len())
            .filter(|&i| self.candidates[i].result.is_some())
            .max_by_key(|&i| {
                let candidate = &self.candidates[i];
                let passed = candidate.result.as_ref().map_or(0, |r| {
                    r.steps
                        .iter()
                        .filter(|s| s.outcome != StepOutcome::Failed)
                        .count()
                });
                (passed, candidate.rank())
            })
            .unwrap_or(0)
    }
}

/// The next thing the client did: what was parked while a send waited, then the wire.
async fn next_client_event(
    io: &mut ServerCall,
    parked: &mut VecDeque<PeerEvent>,
) -> Option<PeerEvent> {
    match parked.pop_front() {
        Some(event) => Some(event),
        None => io.next_event().await,
    }
}

/// Plays one candidate's script on its virtual call and reports how it ended.
async fn play_candidate(
    registry: Arc<Registry>,
    id: ScriptId,
    mut io: CandidateIo,
    options: PlayOptions,
    peer_deadline: Option<Duration>,
) {
    let (scenario, call) = registry.get(id);
    let result = play_call(
        scenario,
        call,
        Role::Server,
        &mut io,
        &options,
        peer_deadline,
        &Silent,
    )
    .await;
    io.report(Report::Done(Box::new(result)));
}

/// How much of what the client sends a script checks: request metadata, and each client
/// message, half-close and cancel step.
pub fn specificity(call: &Call) -> usize {
    let metadata = !call.metadata.is_empty() || call.metadata_template.is_some();
    usize::from(metadata) + client_checks(&call.script)
}

fn client_checks(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|step| match &step.action {
            Action::Client(_) | Action::Close | Action::Cancel => usize::from(!step.implied),
            Action::Unordered(group) => client_checks(group),
            _ => 0,
        })
        .sum()
}
