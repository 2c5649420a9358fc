//! The step walker: plays one call's script in one role over a [`CallIo`]. The walker
//! is here; how it waits for the peer, performs and checks steps, applies captures,
//! keeps the deadline and builds failures is in the submodules.

mod capture;
mod check;
mod deadline;
mod events;
mod failure;
mod group;
mod receive;
mod send;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::{sleep_until, timeout_at, Instant};

use super::captures::Captures;
use super::io::{CallIo, FinalStatus, MessageFault, PeerEvent};
use super::latency::Pairing;
use super::observer::Observer;
use super::outcome::{
    CallResult, Failure, FailureKind, FailureReason, MetadataPlace, Seen, StepKind, StepOutcome,
    StepRecord, Subject,
};
use crate::matching::{MessageSpec, ReceivedMetadata, SpecError};
use crate::scenario::node::Pos;
use crate::scenario::{Action, Call, MessageStep, Role, Scenario, StatusCode, Step};

/// Limits that apply to every call.
#[derive(Debug, Clone)]
pub(crate) struct PlayOptions {
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
    /// `--max-message-size`: the largest message sent or received, in bytes.
    pub max_message_size: u64,
}

impl Default for PlayOptions {
    fn default() -> Self {
        PlayOptions {
            default_timeout: Duration::from_secs(10),
            transcript: false,
            latencies: false,
            captures: Captures::default(),
            max_message_size: crate::transport::DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// The status a server ends a call with when the client strays from the script.
pub(super) const STRAYED_CODE: StatusCode = StatusCode(9); // FAILED_PRECONDITION

/// Plays `call` in `role` over `io`, reporting each step to `observer`.
/// `peer_deadline` is a deadline the peer asked for (a server's incoming `grpc-timeout`).
pub(crate) async fn play_call<I: CallIo>(
    scenario: &Scenario,
    call: &Call,
    role: Role,
    io: &mut I,
    options: &PlayOptions,
    peer_deadline: Option<Duration>,
    observer: &dyn Observer,
) -> CallResult {
    let start = Instant::now();
    let budget = deadline::budget(call.timeout, peer_deadline, options.default_timeout);
    observer.call_started(scenario, call, role);
    let mut player = Player {
        scenario,
        call,
        role,
        io,
        observer,
        start,
        deadline: start + budget + deadline::grace(role),
        budget,
        pending: VecDeque::new(),
        headers: None,
        records: Vec::new(),
        transcript: options.transcript.then(Vec::new),
        pairing: options.latencies.then(Pairing::default),
        captures: options.captures.clone(),
        current: None,
        max_message_size: options.max_message_size,
        unread: None,
        later_round: false,
        peer_type: match role {
            Role::Client => call.method.output(),
            Role::Server => call.method.input(),
        },
    };
    let failure = player.play_within_deadline().await;
    if let Some(failure) = &failure {
        player.end_failed_call(failure).await;
    }
    player.io.flush(&mut player.pending).await;
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

/// The state of one call being played.
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
    transcript: Option<Vec<Seen>>,
    /// The latest send and the pauses since, when latencies are measured.
    pairing: Option<Pairing>,
    /// The file's captured variables.
    captures: Captures,
    /// The step being played.
    current: Option<&'a Step>,
    /// The largest message this side sends, in bytes.
    max_message_size: u64,
    /// An event read and put back (see `events.rs`), read before any other.
    unread: Option<Seen>,
    /// Playing a group's second or later round (see `group.rs`).
    later_round: bool,
    /// The type of the messages the peer sends.
    peer_type: prost_reflect::MessageDescriptor,
}

impl<I: CallIo> Player<'_, I> {
    /// Plays the script; a server ends the call at its deadline, whatever the script is
    /// doing (sleeping, waiting `after:`, sending).
    async fn play_within_deadline(&mut self) -> Option<Failure> {
        match self.role {
            Role::Client => self.play().await.err(),
            Role::Server => match timeout_at(self.deadline, self.play()).await {
                Ok(result) => result.err(),
                Err(_) => self.deadline_passed().await,
            },
        }
    }

    /// After a failure: a client cancels the call, a server ends it with a status that
    /// says what went wrong.
    async fn end_failed_call(&mut self, failure: &Failure) {
        let deadline_passed = failure.kind() == FailureKind::Timeout && self.past_deadline();
        match self.role {
            Role::Client => self.io.cancel().await,
            Role::Server => {
                self.io
                    .finish(FinalStatus {
                        code: match *failure.reason {
                            _ if deadline_passed => StatusCode(4), // DEADLINE_EXCEEDED
                            // As gRPC servers answer a message they cannot decompress,
                            FailureReason::BadMessage {
                                fault: MessageFault::Undecompressable,
                                ..
                            } => StatusCode(13), // INTERNAL
                            // and one over their limit.
                            FailureReason::BadMessage { .. } => StatusCode(8), // RESOURCE_EXHAUSTED
                            _ => STRAYED_CODE,
                        },
                        message: crate::report::status_message(failure, &self.scenario.path),
                        trailers: Vec::new(),
                    })
                    .await
            }
        }
    }

    async fn play(&mut self) -> Result<(), Failure> {
        let metadata = match &self.call.metadata_template {
            None => Cow::Borrowed(&self.call.metadata),
            Some(template) => Cow::Owned(
                template
                    .resolve(&self.captures.snapshot())
                    .map_err(|e| unbuildable(self.call.pos, StepKind::Call, e))?,
            ),
        };
        if self.role == Role::Server {
            let received = self.io.request_metadata();
            if let Err(diffs) = metadata.check(&received) {
                return Err(Failure {
                    pos: self.call.pos,
                    step: StepKind::Call,
                    reason: Box::new(FailureReason::MetadataMismatch {
                        place: MetadataPlace::Request,
                        diffs,
                    }),
                });
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
                    self.io.cancel().await;
                    self.record(
                        step,
                        StepOutcome::Performed,
                        || Subject::Cancel(None),
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

    pub(super) async fn step(&mut self, step: &Step) -> Result<(), Failure> {
        match &step.action {
            Action::Group(group) => self.group(step, group).await,
            _ => self.single(step).await,
        }
    }

    /// Plays a step that is not a `group:` (those are played round by round, in `group.rs`).
    async fn single(&mut self, step: &Step) -> Result<(), Failure> {
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
                self.capture_from_metadata(step, &headers, "");
                let sent = headers.clone();
                self.io.send_headers(headers);
                self.record(
                    step,
                    StepOutcome::Performed,
                    || Subject::Metadata(sent),
                    None,
                    1,
                );
                Ok(())
            }
            (Action::Headers(spec), Role::Client) => self.check_headers(step, spec).await,
            (Action::Close, Role::Client) => {
                self.wait_after(step).await;
                self.io.close_send().await;
                self.record(step, StepOutcome::Performed, || Subject::HalfClose, None, 1);
                Ok(())
            }
            (Action::Close, Role::Server) => self.expect_close(step).await,
            (Action::Cancel, Role::Server) => self.expect_cancel(step).await,
            (Action::Status(status), Role::Client) => self.check_status(step, status).await,
            (Action::Sleep(duration), _) => {
                self.scripted_pause(Some(*duration));
                self.pause(*duration).await;
                let slept = Subject::Sleep(*duration);
                self.record(step, StepOutcome::Performed, || slept, None, 1);
                Ok(())
            }
            (Action::Unordered(steps), _) => Box::pin(self.unordered(step, steps)).await,
            (Action::Cancel, Role::Client) | (Action::Status(_), Role::Server) => {
                unreachable!("handled by play()")
            }
            (Action::Group(_), _) => unreachable!("handled by step()"),
        }
    }

    pub(super) async fn wait_after(&mut self, step: &Step) {
        self.scripted_pause(step.after);
        if let Some(after) = step.after {
            self.pause(after).await;
        }
    }

    /// Waits `duration`, after sending what is batched; a client stops waiting at the
    /// call's deadline (a server's whole script is already bounded by it, in
    /// `play_within_deadline`). The wait is boxed: a pause is rare, and its flush and timer
    /// would otherwise grow the future of every step, which moves each time a step starts.
    async fn pause(&mut self, duration: Duration) {
        Box::pin(self.pause_inline(duration)).await;
    }

    async fn pause_inline(&mut self, duration: Duration) {
        self.io.flush(&mut self.pending).await;
        let end = Instant::now().checked_add(duration);
        let end = match (self.role, end) {
            (Role::Client, Some(end)) => end.min(self.deadline),
            (Role::Client, None) => self.deadline,
            (Role::Server, end) => end.unwrap_or(self.deadline),
        };
        sleep_until(end).await;
    }

    /// The script pauses (on either side): not part of the latency of what comes next.
    pub(super) fn scripted_pause(&mut self, pause: Option<Duration>) {
        if let (Some(pairing), Some(pause)) = (self.pairing.as_mut(), pause) {
            pairing.paused(pause);
        }
    }

    /// The message a step sends and the one its checking side compares against: as loaded,
    /// or built now from captured values when the step uses them.
    pub(super) fn built<'m>(
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
            .map_err(|e| unbuildable(step.pos, StepKind::of(&step.action), e))?;
        let checked = expect.unwrap_or_else(|| sent.clone());
        Ok((Cow::Owned(sent), Cow::Owned(checked)))
    }
}

/// A step that cannot be built from the captured values (one is missing, or does not fit
/// its field).
fn unbuildable(pos: Pos, step: StepKind, error: SpecError) -> Failure {
    Failure {
        pos,
        step,
        reason: Box::new(FailureReason::Unbuildable {
            cause: error.message,
        }),
    }
}
