//! The step walker: plays one call's script in one role over a [`CallIo`].

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use prost_reflect::{DynamicMessage, MessageDescriptor};

use tokio::time::{sleep, timeout_at, Instant};

use super::captures::Captures;
use super::io::{CallIo, FinalStatus, PeerEvent};
use super::latency::Pairing;
use super::observer::Observer;
use super::outcome::{CallResult, Failure, FailureKind, StepOutcome, StepRecord};
use crate::matching::{render_bytes, MessageSpec, Mismatch, ReceivedMetadata, SpecError};
use crate::scenario::node::Pos;
use crate::scenario::{
    Action, Call, CaptureSource, MessageStep, Role, Scenario, StatusCode, StatusStep, Step,
};

/// Limits that apply to every call.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    /// The deadline of a call whose scenario sets no `timeout:`.
    pub default_timeout: Duration,
    /// Record what the peer sent in each [`StepRecord`] (costs a decode per message).
    pub transcript: bool,
    /// Measure each checked message's latency: from the send it answers in the script (the
    /// latest message this side sent before it) to the moment the script takes it, less
    /// the scripted pauses in between (`runner/latency.rs`); reported through
    /// [`Observer::message_latency`].
    pub latencies: bool,
    /// The variables captured by the file being played; give each file its own.
    pub captures: Captures,
}

impl Default for PlayOptions {
    fn default() -> Self {
        PlayOptions {
            default_timeout: Duration::from_secs(10),
            transcript: false,
            latencies: false,
            captures: Captures::default(),
        }
    }
}

/// How long a client keeps waiting past the call's deadline for the server's own
/// DEADLINE_EXCEEDED status.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// The status a server ends a call with when the client strays from the script.
pub const STRAYED_CODE: StatusCode = StatusCode(9); // FAILED_PRECONDITION

/// Plays `call` in `role` over `io`, reporting each step to `observer`.
/// `peer_deadline` is a deadline the peer asked for (a server's incoming `grpc-timeout`).
pub async fn play_call<I: CallIo>(
    scenario: &Scenario,
    call: &Call,
    role: Role,
    io: &mut I,
    options: &PlayOptions,
    peer_deadline: Option<Duration>,
    observer: &dyn Observer,
) -> CallResult {
    let start = Instant::now();
    // The earlier of the script's deadline and the one the peer asked for.
    let budget = match (call.timeout, peer_deadline) {
        (Some(own), Some(peer)) => own.min(peer),
        (own, peer) => own.or(peer).unwrap_or(options.default_timeout),
    };
    let grace = if role == Role::Client {
        DEADLINE_GRACE
    } else {
        Duration::ZERO
    };
    observer.call_started(scenario, call, role);
    let mut player = Player {
        scenario,
        call,
        role,
        io,
        observer,
        start,
        deadline: start + budget + grace,
        budget,
        pending: VecDeque::new(),
        headers: None,
        records: Vec::new(),
        transcript: options.transcript.then(Vec::new),
        pairing: options.latencies.then(Pairing::default),
        captures: options.captures.clone(),
        current: None,
    };
    let failure = match role {
        Role::Client => player.play().await.err(),
        // A server ends the call at its deadline, whatever the script is doing (sleeping,
        // waiting `after:`, sending).
        Role::Server => {
            let played = timeout_at(player.deadline, player.play()).await;
            match played {
                Ok(result) => result.err(),
                Err(_) => player.deadline_passed().await,
            }
        }
    };
    if let Some(failure) = &failure {
        let deadline_passed = failure.kind == FailureKind::Timeout && player.past_deadline();
        match role {
            Role::Client => player.io.cancel(),
            Role::Server => {
                player
                    .io
                    .finish(FinalStatus {
                        code: if deadline_passed {
                            StatusCode(4) // DEADLINE_EXCEEDED
                        } else {
                            STRAYED_CODE
                        },
                        message: format!(
                            "grpc-replay: {}",
                            failure.describe(&scenario.path).replace('\n', ";")
                        ),
                        trailers: Vec::new(),
                    })
                    .await
            }
        }
    }
    let result = CallResult {
        file: scenario.path.clone(),
        scenario: scenario.name.clone(),
        call_id: call.id.clone(),
        call_name: call.name.clone(),
        method: call.path.clone(),
        role,
        duration: start.elapsed(),
        steps: player.records,
        failure,
    };
    observer.call_finished(scenario, &result);
    result
}

struct Player<'a, I> {
    scenario: &'a Scenario,
    call: &'a Call,
    role: Role,
    io: &'a mut I,
    observer: &'a dyn Observer,
    start: Instant,
    deadline: Instant,
    budget: Duration,
    pending: VecDeque<PeerEvent>,
    headers: Option<ReceivedMetadata>,
    records: Vec<StepRecord>,
    /// What the peer sent since the last record, when a transcript is kept.
    transcript: Option<Vec<String>>,
    /// The latest send and the pauses since, when latencies are measured.
    pairing: Option<Pairing>,
    /// The file's captured variables.
    captures: Captures,
    /// The step being played.
    current: Option<&'a Step>,
}

/// Why no event came.
enum NoEvent {
    /// The wait ran out (`within` or the call's deadline).
    TimedOut { within: bool },
    /// The transport has nothing more to give.
    Ended,
}

impl<I: CallIo> Player<'_, I> {
    async fn play(&mut self) -> Result<(), Failure> {
        let metadata = match &self.call.metadata_template {
            None => Cow::Borrowed(&self.call.metadata),
            Some(template) => Cow::Owned(
                template
                    .resolve(&self.captures.snapshot())
                    .map_err(|e| self.unbuildable(self.call.pos, "call", e))?,
            ),
        };
        if self.role == Role::Server {
            let received = self.io.request_metadata();
            if let Err(diffs) = metadata.check(&received) {
                return Err(self.failure_at(
                    self.call.pos,
                    "call",
                    FailureKind::Mismatch,
                    "the request metadata differs from the script's `metadata:`".into(),
                    diffs,
                ));
            }
        }
        let final_ok = matches!(
            self.call.script.last().map(|s| &s.action),
            Some(Action::Status(s)) if s.code == StatusCode::OK
        );
        for step in &self.call.script {
            self.current = Some(step);
            match &step.action {
                Action::Cancel if self.role == Role::Client => {
                    self.wait_after(step).await;
                    self.io.cancel();
                    self.record(
                        step,
                        StepOutcome::Performed,
                        "the client cancels".into(),
                        None,
                        1,
                    );
                    return Ok(());
                }
                Action::Close if self.role == Role::Server && step.implied && !final_ok => {}
                Action::Status(status) if self.role == Role::Server => {
                    self.wait_after(step).await;
                    self.perform_status(step, status).await;
                    return Ok(());
                }
                _ => self.step(step).await?,
            }
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> Result<(), Failure> {
        match (&step.action, self.role) {
            (Action::Client(m), Role::Client) | (Action::Server(m), Role::Server) => {
                self.send(step, m).await
            }
            (Action::Client(m), Role::Server) | (Action::Server(m), Role::Client) => {
                let (_, checked) = self.built(step, m)?;
                self.receive(step, &checked).await
            }
            (Action::Headers(spec), Role::Server) => {
                self.wait_after(step).await;
                let headers = spec.to_send().unwrap_or_default();
                let detail = headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.text()))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.capture_from_metadata(step, &headers, "");
                self.io.send_headers(headers);
                self.record(step, StepOutcome::Performed, detail, None, 1);
                Ok(())
            }
            (Action::Headers(spec), Role::Client) => self.check_headers(step, spec).await,
            (Action::Close, Role::Client) => {
                self.wait_after(step).await;
                self.io.close_send();
                self.record(step, StepOutcome::Performed, "half-close".into(), None, 1);
                Ok(())
            }
            (Action::Close, Role::Server) => self.expect_close(step).await,
            (Action::Cancel, Role::Server) => self.expect_cancel(step).await,
            (Action::Status(status), Role::Client) => self.check_status(step, status).await,
            (Action::Sleep(duration), _) => {
                self.scripted_pause(Some(*duration));
                sleep(*duration).await;
                self.record(
                    step,
                    StepOutcome::Performed,
                    humantime::format_duration(*duration).to_string(),
                    None,
                    1,
                );
                Ok(())
            }
            (Action::Unordered(steps), _) => self.unordered(step, steps).await,
            (Action::Cancel, Role::Client) | (Action::Status(_), Role::Server) => {
                unreachable!("handled by play()")
            }
        }
    }

    async fn wait_after(&mut self, step: &Step) {
        self.scripted_pause(step.after);
        if let Some(after) = step.after {
            sleep(after).await;
        }
    }

    /// The script pauses (on either side): not part of the latency of what comes next.
    fn scripted_pause(&mut self, pause: Option<Duration>) {
        if let (Some(pairing), Some(pause)) = (self.pairing.as_mut(), pause) {
            pairing.paused(pause);
        }
    }

    /// The message a step sends and the one its checking side compares against: as loaded,
    /// or built now from captured values when the step uses them.
    fn built<'m>(
        &self,
        step: &Step,
        message: &'m MessageStep,
    ) -> Result<(Cow<'m, MessageSpec>, Cow<'m, MessageSpec>), Failure> {
        let Some(template) = &message.template else {
            return Ok((
                Cow::Borrowed(&message.message),
                Cow::Borrowed(message.checked()),
            ));
        };
        let (sent, expect) = template
            .resolve(&self.captures.snapshot())
            .map_err(|e| self.unbuildable(step.pos, step.action.keyword(), e))?;
        let checked = expect.unwrap_or_else(|| sent.clone());
        Ok((Cow::Owned(sent), Cow::Owned(checked)))
    }

    /// A step that cannot be built from the captured values (one is missing, or does not
    /// fit its field).
    fn unbuildable(&self, pos: Pos, keyword: &'static str, error: SpecError) -> Failure {
        self.failure_at(
            pos,
            keyword,
            FailureKind::Mismatch,
            format!(
                "cannot build the step from captured values: {}",
                error.message
            ),
            Vec::new(),
        )
    }

    async fn send(&mut self, step: &Step, message: &MessageStep) -> Result<(), Failure> {
        let (spec, _) = self.built(step, message)?;
        let bytes = spec
            .to_send()
            .expect("the loader rejects unsendable messages for the role that sends them")
            .clone();
        // Paced repetitions go one by one; the others go out as one queue item.
        let (rounds, per_round) = match step.after {
            Some(_) => (step.repeat, 1),
            None => (1, step.repeat),
        };
        for _ in 0..rounds {
            self.wait_after(step).await;
            self.io
                .send_messages(bytes.clone(), per_round, &mut self.pending)
                .await;
            if let Some(pairing) = self.pairing.as_mut() {
                pairing.sent(Instant::now());
            }
        }
        // What this side sends, it knows: captures work the same in both roles.
        self.capture_from_message(step, spec.descriptor(), &bytes);
        self.record(
            step,
            StepOutcome::Performed,
            spec.display(),
            None,
            step.repeat,
        );
        Ok(())
    }

    /// Stores the step's captures taken from a message.
    fn capture_from_message(&self, step: &Step, descriptor: &MessageDescriptor, bytes: &[u8]) {
        if step.capture.is_empty() {
            return;
        }
        let Ok(message) = DynamicMessage::decode(descriptor.clone(), bytes) else {
            return;
        };
        for capture in &step.capture {
            if let CaptureSource::Field(path) = &capture.source {
                if let Some(value) = path.extract(&message) {
                    self.captures.set(&capture.name, value);
                }
            }
        }
    }

    /// Stores the step's captures taken from metadata (and the status message).
    fn capture_from_metadata(
        &self,
        step: &Step,
        metadata: &ReceivedMetadata,
        status_message: &str,
    ) {
        for capture in &step.capture {
            let value = match &capture.source {
                CaptureSource::Header(key) | CaptureSource::Trailer(key) => metadata
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.text()),
                CaptureSource::StatusMessage => Some(status_message.to_string()),
                CaptureSource::Field(_) => None,
            };
            if let Some(value) = value {
                self.captures.set(&capture.name, value);
            }
        }
    }

    async fn receive(&mut self, step: &Step, expected: &MessageSpec) -> Result<(), Failure> {
        let began = Instant::now();
        for index in 0..step.repeat {
            let event = self.next_skipping_headers(step).await;
            let bytes = match event {
                Ok(PeerEvent::Message(bytes)) => bytes,
                other => {
                    return Err(self.missing(
                        step,
                        &format!("{} message {}", self.peer(), expected.display()),
                        other,
                    ))
                }
            };
            if let Err(diffs) = expected.check(&bytes) {
                let nth = if step.repeat > 1 {
                    format!(" (message {} of {})", index + 1, step.repeat)
                } else {
                    String::new()
                };
                return Err(self.failure(
                    step,
                    FailureKind::Mismatch,
                    format!(
                        "expected {}{nth}, received {}",
                        expected.display(),
                        render_bytes(expected.descriptor(), &bytes)
                    ),
                    diffs,
                ));
            }
            // The peer paced each repetition by `after:`.
            self.scripted_pause(step.after);
            self.answered();
            self.capture_from_message(step, expected.descriptor(), &bytes);
        }
        self.record(
            step,
            StepOutcome::Passed,
            expected.display(),
            Some(began.elapsed()),
            step.repeat,
        );
        Ok(())
    }

    /// A checked message was taken now: reports its latency from the send it answers.
    fn answered(&self) {
        let latency = self
            .pairing
            .as_ref()
            .and_then(|p| p.answered(Instant::now()));
        if let Some(latency) = latency {
            self.observer.message_latency(latency);
        }
    }

    async fn unordered(&mut self, group: &Step, steps: &[Step]) -> Result<(), Failure> {
        let mut expected: Vec<(&Step, Cow<'_, MessageSpec>, u64)> = Vec::new();
        for step in steps {
            match (&step.action, self.role) {
                (Action::Client(m), Role::Client) | (Action::Server(m), Role::Server) => {
                    self.send(step, m).await?
                }
                (Action::Client(m), Role::Server) | (Action::Server(m), Role::Client) => {
                    let (_, checked) = self.built(step, m)?;
                    expected.push((step, checked, step.repeat))
                }
                _ => unreachable!("the loader allows only messages in unordered groups"),
            }
        }
        let began = Instant::now();
        while let Some((first, first_spec)) = expected
            .iter()
            .find(|(_, _, left)| *left > 0)
            .map(|(step, spec, _)| (*step, spec.clone()))
        {
            let bytes = match self.next_skipping_headers(first).await {
                Ok(PeerEvent::Message(bytes)) => bytes,
                other => {
                    return Err(self.missing(
                        first,
                        &format!("{} message {}", self.peer(), first_spec.display()),
                        other,
                    ))
                }
            };
            let hit = expected
                .iter_mut()
                .find(|(_, spec, left)| *left > 0 && spec.check(&bytes).is_ok());
            match hit {
                Some((step, spec, left)) => {
                    *left -= 1;
                    let (step, detail) = (*step, spec.display());
                    self.scripted_pause(step.after);
                    self.answered();
                    self.capture_from_message(step, spec.descriptor(), &bytes);
                    self.record(step, StepOutcome::Passed, detail, Some(began.elapsed()), 1);
                }
                None => {
                    let diffs = first_spec.check(&bytes).err().unwrap_or_default();
                    return Err(self.failure(
                        group,
                        FailureKind::Mismatch,
                        format!(
                            "received {}, which matches none of the messages still expected in the group",
                            render_bytes(first_spec.descriptor(), &bytes)
                        ),
                        diffs,
                    ));
                }
            }
        }
        Ok(())
    }

    async fn check_headers(
        &mut self,
        step: &Step,
        spec: &crate::matching::MetadataSpec,
    ) -> Result<(), Failure> {
        self.scripted_pause(step.after);
        let began = Instant::now();
        let headers = loop {
            if let Some(headers) = self.headers.clone() {
                break headers;
            }
            match self.next_event(step).await {
                Ok(PeerEvent::Headers(h)) => self.headers = Some(h),
                Ok(PeerEvent::Status {
                    trailers,
                    transport_error: None,
                    ..
                }) if self.pending.is_empty() => {
                    // A Trailers-Only response: its headers are the trailers.
                    break trailers;
                }
                other => return Err(self.missing(step, "response headers", other)),
            }
        };
        spec.check(&headers).map_err(|diffs| {
            self.failure(
                step,
                FailureKind::Mismatch,
                "the response headers differ".into(),
                diffs,
            )
        })?;
        self.capture_from_metadata(step, &headers, "");
        let detail = render_metadata(&headers);
        self.record(step, StepOutcome::Passed, detail, Some(began.elapsed()), 1);
        Ok(())
    }

    async fn check_status(&mut self, step: &Step, expected: &StatusStep) -> Result<(), Failure> {
        let began = Instant::now();
        self.io.close_send();
        let event = self.next_skipping_headers(step).await;
        let (code, message, trailers, transport_error) = match event {
            Ok(PeerEvent::Status {
                code,
                message,
                trailers,
                transport_error,
            }) => (code, message, trailers, transport_error),
            Err(NoEvent::TimedOut { within: false }) if expected.code == StatusCode(4) => {
                // The call's deadline passed: the client ends it with DEADLINE_EXCEEDED.
                (
                    StatusCode(4),
                    "deadline exceeded (client side)".into(),
                    Vec::new(),
                    None,
                )
            }
            Ok(PeerEvent::Message(bytes)) => {
                let descriptor = self.call.method.output();
                return Err(self.failure(
                    step,
                    FailureKind::Mismatch,
                    format!(
                        "expected the call to end with status {}, but the server sent another message: {}",
                        expected.code,
                        render_bytes(&descriptor, &bytes)
                    ),
                    Vec::new(),
                ));
            }
            other => return Err(self.missing(step, &format!("status {}", expected.code), other)),
        };
        let mut diffs = Vec::new();
        if code != expected.code {
            diffs.push(Mismatch {
                path: "code".into(),
                expected: expected.code.name(),
                actual: code.name(),
            });
        }
        if let Some(spec) = &expected.message {
            if let Err(want) = spec.check(&message) {
                diffs.push(Mismatch {
                    path: "message".into(),
                    expected: want,
                    actual: format!("{message:?}"),
                });
            }
        }
        if let Err(more) = expected.trailers.check(&trailers) {
            diffs.extend(more.into_iter().map(|mut d| {
                d.path = format!("trailers.{}", d.path);
                d
            }));
        }
        if !diffs.is_empty() {
            let kind = if transport_error.is_some() {
                FailureKind::Transport
            } else {
                FailureKind::Mismatch
            };
            let ended = if message.is_empty() {
                code.name()
            } else {
                format!("{code}: {message}")
            };
            let summary = match transport_error {
                Some(error) => format!("the connection failed: {error}"),
                None if code != expected.code => {
                    format!(
                        "expected status {}, the call ended with {ended}",
                        expected.code
                    )
                }
                None => format!(
                    "the call ended with {ended} as expected, but its {} differ",
                    {
                        let parts: Vec<&str> = diffs
                            .iter()
                            .map(|d| {
                                if d.path == "message" {
                                    "message"
                                } else {
                                    "trailers"
                                }
                            })
                            .collect();
                        if parts.contains(&"message") && parts.contains(&"trailers") {
                            "message and trailers"
                        } else {
                            parts[0]
                        }
                    }
                ),
            };
            return Err(self.failure(step, kind, summary, diffs));
        }
        self.capture_from_metadata(step, &trailers, &message);
        let detail = if message.is_empty() {
            code.name()
        } else {
            format!("{code}: {message}")
        };
        self.record(step, StepOutcome::Passed, detail, Some(began.elapsed()), 1);
        Ok(())
    }

    async fn perform_status(&mut self, step: &Step, status: &StatusStep) {
        let message = status
            .message
            .as_ref()
            .and_then(|m| m.to_send())
            .unwrap_or_default()
            .to_string();
        let detail = if message.is_empty() {
            status.code.name()
        } else {
            format!("{}: {message}", status.code)
        };
        let trailers = status.trailers.to_send().unwrap_or_default();
        self.capture_from_metadata(step, &trailers, &message);
        self.io
            .finish(FinalStatus {
                code: status.code,
                message,
                trailers,
            })
            .await;
        self.record(step, StepOutcome::Performed, detail, None, 1);
    }

    async fn expect_close(&mut self, step: &Step) -> Result<(), Failure> {
        let began = Instant::now();
        match self.next_event(step).await {
            Ok(PeerEvent::HalfClosed) => {
                self.record(
                    step,
                    StepOutcome::Passed,
                    "half-close".into(),
                    Some(began.elapsed()),
                    1,
                );
                Ok(())
            }
            Ok(PeerEvent::Message(bytes)) => Err(self.failure(
                step,
                FailureKind::Mismatch,
                format!(
                    "expected the client to half-close, but it sent another message: {}",
                    render_bytes(&self.call.method.input(), &bytes)
                ),
                Vec::new(),
            )),
            other => Err(self.missing(step, "the client's half-close", other)),
        }
    }

    /// A client may half-close before it resets the stream: the reset is what counts.
    async fn expect_cancel(&mut self, step: &Step) -> Result<(), Failure> {
        let began = Instant::now();
        let mut event = self.next_event(step).await;
        while matches!(event, Ok(PeerEvent::HalfClosed)) {
            event = self.next_event(step).await;
        }
        match event {
            Ok(PeerEvent::Cancelled(reason)) => {
                self.record(step, StepOutcome::Passed, reason, Some(began.elapsed()), 1);
                Ok(())
            }
            other => Err(self.missing(step, "the client to cancel the call", other)),
        }
    }

    /// The next event, within the step's `within` and the call's deadline.
    async fn next_event(&mut self, step: &Step) -> Result<PeerEvent, NoEvent> {
        let raw = self.next_raw_event(step).await?;
        let event = self.as_seen_by_role(raw);
        self.note(&event);
        Ok(event)
    }

    /// The next event as the transport gives it.
    async fn next_raw_event(&mut self, step: &Step) -> Result<PeerEvent, NoEvent> {
        if let Some(event) = self.pending.pop_front() {
            return Ok(event);
        }
        // Already buffered: no timer needed (the common case on a fast stream).
        if let Some(ready) = futures::FutureExt::now_or_never(self.io.next_event()) {
            return ready.ok_or(NoEvent::Ended);
        }
        let (limit, within) = match step.within {
            Some(w) if Instant::now() + w < self.deadline => (Instant::now() + w, true),
            _ => (self.deadline, false),
        };
        match timeout_at(limit, self.io.next_event()).await {
            Ok(event) => event.ok_or(NoEvent::Ended),
            Err(_) => Err(NoEvent::TimedOut { within }),
        }
    }

    /// A client whose own deadline has passed ends the call with DEADLINE_EXCEEDED, whatever
    /// the server or the connection does then (a reset, a closed connection), as gRPC
    /// clients report it.
    fn as_seen_by_role(&self, event: PeerEvent) -> PeerEvent {
        match event {
            PeerEvent::Status { code, .. }
                if self.role == Role::Client
                    && code != StatusCode::OK
                    && code != StatusCode(4)
                    && self.past_deadline() =>
            {
                PeerEvent::Status {
                    code: StatusCode(4),
                    message: "the call's deadline passed (client side)".into(),
                    trailers: Vec::new(),
                    transport_error: None,
                }
            }
            other => other,
        }
    }

    /// The next event that is not response headers (which are kept for a later check).
    async fn next_skipping_headers(&mut self, step: &Step) -> Result<PeerEvent, NoEvent> {
        loop {
            match self.next_event(step).await? {
                PeerEvent::Headers(headers) => self.headers = Some(headers),
                other => return Ok(other),
            }
        }
    }

    /// A server's call whose deadline passed while the script was busy: what the script
    /// expects when it ends with `status: DEADLINE_EXCEEDED` (the call ends with it, a
    /// pass), a failure otherwise.
    async fn deadline_passed(&mut self) -> Option<Failure> {
        if let Some(step) = self.call.script.last() {
            if let Action::Status(status) = &step.action {
                if status.code == StatusCode(4) {
                    self.perform_status(step, status).await;
                    return None;
                }
            }
        }
        let summary = format!(
            "the call's deadline ({}) passed before this step was done",
            rounded(self.budget)
        );
        Some(match self.current {
            Some(step) => self.failure(step, FailureKind::Timeout, summary, Vec::new()),
            None => self.failure_at(
                self.call.pos,
                "call",
                FailureKind::Timeout,
                summary,
                Vec::new(),
            ),
        })
    }

    /// Whether the call's own deadline has passed.
    fn past_deadline(&self) -> bool {
        self.start.elapsed() >= self.budget
    }

    /// Adds an event to the transcript, when one is kept.
    fn note(&mut self, event: &PeerEvent) {
        let Some(transcript) = self.transcript.as_mut() else {
            return;
        };
        let descriptor = match self.role {
            Role::Client => self.call.method.output(),
            Role::Server => self.call.method.input(),
        };
        transcript.push(match event {
            PeerEvent::Headers(h) => format!("headers {{{}}}", render_metadata(h)),
            PeerEvent::Message(bytes) => render_bytes(&descriptor, bytes),
            PeerEvent::HalfClosed => "half-close".into(),
            PeerEvent::Status {
                code,
                message,
                trailers,
                ..
            } => format!(
                "status {code}{}{}",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                },
                if trailers.is_empty() {
                    String::new()
                } else {
                    format!(" trailers {{{}}}", render_metadata(trailers))
                }
            ),
            PeerEvent::Cancelled(reason) => format!("cancelled: {reason}"),
        });
    }

    fn take_received(&mut self) -> Vec<String> {
        self.transcript
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn peer(&self) -> &'static str {
        match self.role {
            Role::Client => "the server's",
            Role::Server => "the client's",
        }
    }

    /// A failure for a step whose event never came, or came as something else.
    fn missing(&mut self, step: &Step, wanted: &str, got: Result<PeerEvent, NoEvent>) -> Failure {
        let (kind, summary) = match got {
            Err(NoEvent::TimedOut { within: true }) => (
                FailureKind::Timeout,
                format!(
                    "expected {wanted} within {}, nothing came",
                    humantime::format_duration(step.within.unwrap_or_default())
                ),
            ),
            Err(NoEvent::TimedOut { within: false }) => (
                FailureKind::Timeout,
                format!(
                    "expected {wanted}, nothing came before the call's deadline ({})",
                    rounded(self.budget)
                ),
            ),
            Err(NoEvent::Ended) => (
                FailureKind::Transport,
                format!("expected {wanted}, but the call is gone"),
            ),
            Ok(PeerEvent::Status {
                code,
                message,
                transport_error: Some(error),
                ..
            }) if !self.past_deadline() => (
                FailureKind::Transport,
                format!(
                    "expected {wanted}, but the connection failed: {error} ({code}: {message})"
                ),
            ),
            Ok(PeerEvent::Status { code, message, .. }) if self.past_deadline() => (
                FailureKind::Timeout,
                format!(
                    "expected {wanted}, nothing came before the call's deadline ({}); the call then ended with {code}: {message}",
                    rounded(self.budget)
                ),
            ),
            Ok(PeerEvent::Status { code, message, .. }) => (
                FailureKind::Mismatch,
                format!(
                    "expected {wanted}, but the call ended with status {code}{}",
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    }
                ),
            ),
            Ok(PeerEvent::HalfClosed) => (
                FailureKind::Mismatch,
                format!("expected {wanted}, but the client half-closed its stream"),
            ),
            // h2's guard: this side's HTTP/2 layer closed the connection, not the client.
            Ok(PeerEvent::Cancelled(reason)) if reason.starts_with("GOAWAY") => (
                FailureKind::Transport,
                format!("expected {wanted}, but grpc-replay's HTTP/2 layer closed the connection: {reason}"),
            ),
            Ok(PeerEvent::Cancelled(reason)) => (
                FailureKind::Mismatch,
                format!("expected {wanted}, but the client cancelled the call ({reason})"),
            ),
            Ok(PeerEvent::Message(bytes)) => {
                let descriptor = match self.role {
                    Role::Client => self.call.method.output(),
                    Role::Server => self.call.method.input(),
                };
                (
                    FailureKind::Mismatch,
                    format!(
                        "expected {wanted}, received a message: {}",
                        render_bytes(&descriptor, &bytes)
                    ),
                )
            }
            Ok(PeerEvent::Headers(_)) => (
                FailureKind::Mismatch,
                format!("expected {wanted}, received headers"),
            ),
        };
        self.failure(step, kind, summary, Vec::new())
    }

    /// Records a failed step and returns the failure.
    fn failure(
        &mut self,
        step: &Step,
        kind: FailureKind,
        summary: String,
        diffs: Vec<Mismatch>,
    ) -> Failure {
        let failure = self.failure_at(step.pos, step.action.keyword(), kind, summary, diffs);
        self.record(step, StepOutcome::Failed, failure.summary.clone(), None, 1);
        failure
    }

    fn failure_at(
        &self,
        pos: crate::scenario::node::Pos,
        keyword: &'static str,
        kind: FailureKind,
        summary: String,
        diffs: Vec<Mismatch>,
    ) -> Failure {
        Failure {
            kind,
            pos,
            keyword,
            summary,
            diffs,
        }
    }

    fn record(
        &mut self,
        step: &Step,
        outcome: StepOutcome,
        detail: String,
        waited: Option<Duration>,
        count: u64,
    ) {
        let record = StepRecord {
            pos: step.pos,
            keyword: step.action.keyword(),
            outcome,
            detail,
            at: self.start.elapsed(),
            waited,
            count,
            implied: step.implied,
            received: self.take_received(),
        };
        self.observer
            .step(self.scenario, self.call, self.role, &record);
        self.records.push(record);
    }
}

/// A duration for messages: to the millisecond, or to the microsecond below one.
fn rounded(duration: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(if duration < Duration::from_millis(1) {
        Duration::from_micros(duration.as_micros() as u64)
    } else {
        Duration::from_millis(duration.as_millis() as u64)
    })
}

fn render_metadata(metadata: &ReceivedMetadata) -> String {
    metadata
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.text()))
        .collect::<Vec<_>>()
        .join(", ")
}
