//! The server role follows the conversation: an incoming call plays every script it may
//! be following at once, each on a virtual call, and the real call does what they agree on.
//!
//! Each client event goes to every candidate; a candidate whose check fails drops out. A
//! server action (headers, a message, the status) reaches the wire only once every
//! remaining candidate has proposed it. When they disagree (one would send while another
//! waits for the client, or they would send different things), a script that checks the
//! request metadata wins over one that accepts any (the metadata is all the client has said
//! when a server answers at once, and only the first has checked it), then the most
//! specific script — the one that checks more of what the client sends (request metadata,
//! client messages, half-close, cancel) — and file order breaks a tie; the others drop out. So
//! the choice depends only on the conversation, never on which scripts were played
//! before. When every candidate fails, the one that came closest (most steps passed, then
//! the same rule) answers with its failure, which names its file, line and diff.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::candidate::{CandidateIo, Report, ServerAction};
use super::registry::{Registry, ScriptId};
use crate::matching::ReceivedMetadata;
use crate::runner::{
    caught, play_call, CallIo, CallResult, Captures, PeerEvent, PlayOptions, Silent, StepOutcome,
};
use crate::scenario::{Action, Call, Role, Step};

/// One script the call may be following.
struct Candidate {
    script: usize,
    /// Whether it checks the request metadata (which every live candidate has accepted).
    checks_metadata: bool,
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

    /// The order of preference: checking the metadata first, then more specific, then
    /// earlier in file order.
    fn rank(&self) -> (bool, usize, Reverse<usize>) {
        (self.checks_metadata, self.specificity, Reverse(self.script))
    }

    fn drop_out(&mut self) {
        self.dropped = true;
        self.sending = None;
        self.task.abort();
    }
}

/// An incoming call and the candidates it may be following.
pub(super) struct Conversation {
    registry: Arc<Registry>,
    candidates: Vec<Candidate>,
    reports: mpsc::UnboundedReceiver<(usize, Report)>,
}

impl Conversation {
    /// Starts playing `scripts` (numbers, in file order) for a call with `metadata`;
    /// `first` holds the client events already read.
    pub(super) fn start(
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
                let captures = own_captures(&registry, id);
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
                let call = registry.get(id).1;
                Candidate {
                    script,
                    checks_metadata: checks_metadata(call),
                    specificity: specificity(call),
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
    pub(super) async fn run<I: CallIo>(
        mut self,
        io: &mut I,
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
        keep_captures(&self.registry, id, &winner.captures);
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
    async fn decide<I: CallIo>(
        &mut self,
        io: &mut I,
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

    async fn perform<I: CallIo>(
        &self,
        io: &mut I,
        action: ServerAction,
        parked: &mut VecDeque<PeerEvent>,
    ) {
        match action {
            ServerAction::Headers(headers) => io.send_headers(headers),
            ServerAction::Send(message, count) => io.send_messages(&message, count, parked).await,
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
async fn next_client_event<I: CallIo>(
    io: &mut I,
    parked: &mut VecDeque<PeerEvent>,
) -> Option<PeerEvent> {
    match parked.pop_front() {
        Some(event) => Some(event),
        None => io.next_event().await,
    }
}

/// Plays the only script a call can be following straight on the call: there are no
/// candidates to keep in step, so no message goes through another task.
pub(super) async fn play_alone<I: CallIo>(
    registry: &Registry,
    script: usize,
    io: &mut I,
    options: &PlayOptions,
    peer_deadline: Option<Duration>,
) -> (ScriptId, CallResult) {
    let id = registry.script(script);
    let (scenario, call) = registry.get(id);
    let captures = own_captures(registry, id);
    let options = PlayOptions {
        captures: captures.clone(),
        ..options.clone()
    };
    let play = play_call(
        scenario,
        call,
        Role::Server,
        io,
        &options,
        peer_deadline,
        &Silent,
    );
    let result = caught(scenario, call, Role::Server, play).await;
    keep_captures(registry, id, &captures);
    (id, result)
}

/// A copy of the file's captured variables for one script to play with: what it captures
/// while the call is being matched belongs to it alone until it is chosen.
fn own_captures(registry: &Registry, id: ScriptId) -> Captures {
    let captures = Captures::default();
    for (name, value) in registry.captures(id).snapshot() {
        captures.set(&name, value);
    }
    captures
}

/// Keeps what the chosen script captured, for the file's later calls.
fn keep_captures(registry: &Registry, id: ScriptId, captures: &Captures) {
    let file_captures = registry.captures(id);
    for (name, value) in captures.snapshot() {
        file_captures.set(&name, value);
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
    let play = play_call(
        scenario,
        call,
        Role::Server,
        &mut io,
        &options,
        peer_deadline,
        &Silent,
    );
    let result = caught(scenario, call, Role::Server, play).await;
    io.report(Report::Done(Box::new(result)));
}

/// How much of what the client sends a script checks: request metadata, and each client
/// message (and its compressed flag), half-close and cancel step.
pub(super) fn specificity(call: &Call) -> usize {
    usize::from(checks_metadata(call)) + client_checks(&call.script)
}

fn checks_metadata(call: &Call) -> bool {
    !call.metadata.is_empty() || call.metadata_template.is_some()
}

fn client_checks(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|step| match &step.action {
            // A message's compressed flag is one more thing checked of the client.
            Action::Client(message) => {
                usize::from(!step.implied) + usize::from(message.compressed.is_some())
            }
            Action::Close | Action::Cancel => usize::from(!step.implied),
            Action::Unordered(_) | Action::Group(_) => client_checks(step.action.inner()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::matching::MetaValue;
    use crate::runner::FinalStatus;
    use crate::scenario::{load_str, LoadOptions, PoolCache};

    const PING_PONG: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
script:
  - client: {number: 1}
  - server: {result: 1}
  - client: {number: 2}
  - server: {result: 2}
  - close
  - status: OK
";

    const CANCEL_AFTER_FIRST: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
script:
  - client: {number: 1}
  - server: {result: 1}
  - cancel
";

    const PLAIN: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
script:
  - client: {number: 1}
  - server: {result: 10}
  - close
  - status: OK
";

    const WITH_METADATA: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
metadata: {x-mode: high}
script:
  - client: {number: 1}
  - server: {result: 100}
  - close
  - status: OK
";

    const ANY_NUMBER_OF_ONES: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
script:
  - client: {number: 1}
    repeat: {min: 1, send: 1}
  - close
  - server: {result: 7}
";

    const TWO_ONES: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
script:
  - client: {number: 1}
    repeat: 2
  - close
  - server: {result: 2}
";

    /// A recorded call whose server sent headers at once, echoing the request metadata
    /// (grpc-go's interop FullDuplexCall does), in both orders a recorder may have seen
    /// it: headers before or after the client's message.
    const ECHO_HEADERS_FIRST: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
metadata: {x-echo: hello}
script:
  - headers: {x-echo: hello}
  - client: {number: 7}
  - server: {result: 7}
  - close
  - status: OK
";

    const ECHO_CLIENT_FIRST: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
metadata: {x-echo: hello}
script:
  - client: {number: 7}
  - headers: {x-echo: hello}
  - server: {result: 7}
  - close
  - status: OK
";

    /// Checks more client messages than the echo, but no metadata.
    const THREE_ROUNDS: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
script:
  - client: {number: 1}
  - server: {result: 1}
  - client: {number: 2}
  - server: {result: 2}
  - client: {number: 3}
  - server: {result: 3}
  - close
  - status: OK
";

    /// A call whose client does `events` (then nothing), recording what the server does;
    /// a `gated` client sends nothing before the response headers (its script expects
    /// them first).
    struct Scripted {
        metadata: ReceivedMetadata,
        events: VecDeque<PeerEvent>,
        gated: bool,
        done: Vec<String>,
    }

    impl CallIo for Scripted {
        async fn send_messages(
            &mut self,
            message: &bytes::Bytes,
            _: u64,
            _: &mut VecDeque<PeerEvent>,
        ) {
            self.done.push(format!("send {:?}", &message[..]));
        }
        fn send_headers(&mut self, headers: Vec<(String, MetaValue)>) {
            self.done.push(format!("headers {headers:?}"));
        }
        async fn close_send(&mut self) {}
        async fn cancel(&mut self) {}
        async fn finish(&mut self, status: FinalStatus) {
            self.done
                .push(format!("status {} {}", status.code.0, status.message));
        }
        async fn next_event(&mut self) -> Option<PeerEvent> {
            let waiting = self.gated && !self.done.iter().any(|d| d.starts_with("headers"));
            match if waiting {
                None
            } else {
                self.events.pop_front()
            } {
                Some(event) => Some(event),
                None => std::future::pending().await,
            }
        }
        fn request_metadata(&self) -> ReceivedMetadata {
            self.metadata.clone()
        }
    }

    /// MaximumRequest / MaximumResponse {field 1: n}.
    fn number(n: u8) -> PeerEvent {
        PeerEvent::Message {
            bytes: bytes::Bytes::from(vec![0x08, n]),
            compressed: Some(false),
        }
    }

    /// Plays a call with `events` against `files` (name, text) served together; returns
    /// the chosen file, whether it passed, and what the server did.
    async fn converse(
        files: &[(&str, &str)],
        metadata: ReceivedMetadata,
        events: Vec<PeerEvent>,
    ) -> (String, bool, Vec<String>) {
        converse_gated(files, metadata, events, false).await
    }

    /// `converse`, with a client that waits for the response headers when `gated`.
    async fn converse_gated(
        files: &[(&str, &str)],
        metadata: ReceivedMetadata,
        events: Vec<PeerEvent>,
        gated: bool,
    ) -> (String, bool, Vec<String>) {
        let mut pools = PoolCache::default();
        let scenarios = files
            .iter()
            .map(|(name, text)| {
                load_str(Path::new(name), text, &LoadOptions::default(), &mut pools)
                    .expect("a valid scenario")
            })
            .collect();
        let registry = Arc::new(Registry::new(scenarios, true));
        let scripts: Vec<usize> = (0..files.len()).collect();
        let conversation = Conversation::start(
            registry.clone(),
            &scripts,
            &metadata,
            &PlayOptions::default(),
            None,
        );
        let mut io = Scripted {
            metadata,
            events: events.into(),
            gated,
            done: Vec::new(),
        };
        let (id, result) = tokio::time::timeout(
            Duration::from_secs(5),
            conversation.run(&mut io, Vec::new()),
        )
        .await
        .expect("the conversation ends");
        let file = registry.get(id).0.path.display().to_string();
        (file, result.passed(), io.done)
    }

    #[tokio::test]
    async fn a_later_message_picks_the_script_in_either_file_order() {
        let events = vec![number(1), number(2), PeerEvent::HalfClosed];
        for files in [
            [
                ("ping.yaml", PING_PONG),
                ("cancel.yaml", CANCEL_AFTER_FIRST),
            ],
            [
                ("cancel.yaml", CANCEL_AFTER_FIRST),
                ("ping.yaml", PING_PONG),
            ],
        ] {
            let (file, passed, done) = converse(&files, Vec::new(), events.clone()).await;
            assert_eq!((file.as_str(), passed), ("ping.yaml", true));
            assert_eq!(done, ["send [8, 1]", "send [8, 2]", "status 0 "]);
        }
    }

    #[tokio::test]
    async fn a_cancel_after_the_shared_prefix_picks_the_cancel_script() {
        let events = vec![number(1), PeerEvent::Cancelled("CANCEL".into())];
        for files in [
            [
                ("ping.yaml", PING_PONG),
                ("cancel.yaml", CANCEL_AFTER_FIRST),
            ],
            [
                ("cancel.yaml", CANCEL_AFTER_FIRST),
                ("ping.yaml", PING_PONG),
            ],
        ] {
            let (file, passed, done) = converse(&files, Vec::new(), events.clone()).await;
            assert_eq!((file.as_str(), passed), ("cancel.yaml", true));
            assert_eq!(done, ["send [8, 1]"]);
        }
    }

    #[tokio::test]
    async fn when_answers_differ_the_more_specific_script_answers() {
        let metadata = vec![("x-mode".to_string(), MetaValue::Text("high".into()))];
        let events = vec![number(1), PeerEvent::HalfClosed];
        let files = [("plain.yaml", PLAIN), ("high.yaml", WITH_METADATA)];
        let (file, passed, done) = converse(&files, metadata, events.clone()).await;
        assert_eq!((file.as_str(), passed), ("high.yaml", true));
        assert_eq!(done, ["send [8, 100]", "status 0 "]);
        // Without the metadata only the plain script fits.
        let (file, passed, done) = converse(&files, Vec::new(), events).await;
        assert_eq!((file.as_str(), passed), ("plain.yaml", true));
        assert_eq!(done, ["send [8, 10]", "status 0 "]);
    }

    /// PLAIN, but its message must come uncompressed, and it answers otherwise.
    const PLAIN_UNCOMPRESSED: &str = "call: calculator.CalculatorService/Maximum
timeout: 5s
script:
  - client: {number: 1}
    compressed: false
  - server: {result: 11}
  - close
  - status: OK
";

    #[tokio::test]
    async fn a_script_that_checks_the_compressed_flag_answers_before_one_that_does_not() {
        let events = vec![number(1), PeerEvent::HalfClosed];
        for files in [
            [("plain.yaml", PLAIN), ("flag.yaml", PLAIN_UNCOMPRESSED)],
            [("flag.yaml", PLAIN_UNCOMPRESSED), ("plain.yaml", PLAIN)],
        ] {
            let (file, passed, done) = converse(&files, Vec::new(), events.clone()).await;
            assert_eq!((file.as_str(), passed), ("flag.yaml", true));
            assert_eq!(done, ["send [8, 11]", "status 0 "]);
            // A compressed message fails the flag check: the plain script answers.
            let compressed = PeerEvent::Message {
                bytes: bytes::Bytes::from(vec![0x08, 1]),
                compressed: Some(true),
            };
            let events = vec![compressed, PeerEvent::HalfClosed];
            let (file, passed, done) = converse(&files, Vec::new(), events).await;
            assert_eq!((file.as_str(), passed), ("plain.yaml", true));
            assert_eq!(done, ["send [8, 10]", "status 0 "]);
        }
    }

    #[tokio::test]
    async fn a_script_whose_range_is_still_open_stays_a_candidate() {
        for count in [1, 3] {
            let mut events = vec![number(1); count];
            events.push(PeerEvent::HalfClosed);
            for files in [
                [("range.yaml", ANY_NUMBER_OF_ONES), ("two.yaml", TWO_ONES)],
                [("two.yaml", TWO_ONES), ("range.yaml", ANY_NUMBER_OF_ONES)],
            ] {
                let (file, passed, done) = converse(&files, Vec::new(), events.clone()).await;
                assert_eq!((file.as_str(), passed), ("range.yaml", true), "{count}");
                assert_eq!(done, ["send [8, 7]", "status 0 "]);
            }
        }
    }

    #[tokio::test]
    async fn a_call_that_fits_no_script_gets_the_closest_ones_failure() {
        let events = vec![number(1), number(3)];
        let files = [
            ("cancel.yaml", CANCEL_AFTER_FIRST),
            ("ping.yaml", PING_PONG),
        ];
        let (file, passed, done) = converse(&files, Vec::new(), events).await;
        assert_eq!((file.as_str(), passed), ("ping.yaml", false));
        assert_eq!(done[0], "send [8, 1]");
        assert!(
            done[1].starts_with("status 9 grpc-replay: ping.yaml:6:5"),
            "{done:?}"
        );
    }

    /// The echo answers at once with headers only its metadata check supports; the other
    /// script has checked nothing yet (its extra checks are of messages not sent), so the
    /// echo wins in either recorded order and either file order, for a client that waits
    /// for the headers (gated) and one that does not.
    #[tokio::test]
    async fn a_script_that_checked_the_metadata_answers_before_a_longer_one() {
        let metadata = vec![("x-echo".to_string(), MetaValue::Text("hello".into()))];
        let events = vec![number(7), PeerEvent::HalfClosed];
        for (echo, gated) in [
            (ECHO_HEADERS_FIRST, true),
            (ECHO_HEADERS_FIRST, false),
            (ECHO_CLIENT_FIRST, false),
        ] {
            for files in [
                [("echo.yaml", echo), ("three.yaml", THREE_ROUNDS)],
                [("three.yaml", THREE_ROUNDS), ("echo.yaml", echo)],
            ] {
                let (file, passed, done) =
                    converse_gated(&files, metadata.clone(), events.clone(), gated).await;
                assert_eq!((file.as_str(), passed), ("echo.yaml", true), "{done:?}");
                assert_eq!(done.last().map(String::as_str), Some("status 0 "));
                assert!(done.iter().any(|d| d == "send [8, 7]"), "{done:?}");
            }
        }
    }

    /// The wrong twin: without the metadata the echo is no candidate, and the longer
    /// script answers the same first message its own way.
    #[tokio::test]
    async fn without_the_metadata_the_echo_never_answers() {
        let events = vec![number(1), number(2), number(3), PeerEvent::HalfClosed];
        for echo in [ECHO_HEADERS_FIRST, ECHO_CLIENT_FIRST] {
            let files = [("echo.yaml", echo), ("three.yaml", THREE_ROUNDS)];
            let (file, passed, done) = converse(&files, Vec::new(), events.clone()).await;
            assert_eq!((file.as_str(), passed), ("three.yaml", true));
            assert_eq!(
                done,
                ["send [8, 1]", "send [8, 2]", "send [8, 3]", "status 0 "]
            );
        }
    }
}
