//! `grpc-replay run`: the client role, optionally against an in-process server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tonic::transport::Channel;

use super::args::RunArgs;
use super::exit::Exit;
use super::load::{load_scenarios_reflecting, Loaded};
use super::reflect::reflector;
use super::reporting::{exit_of, unfinished, Clock, Live, Reports};
use super::signals::StopSignals;
use super::{play_options, progress};
use crate::client::{connect, run_scenario, ConnectError, ConnectOptions};
use crate::report::{Collector, FileError, Progress, RunOutcome, SkipReason, SkippedCall};
use crate::runner::{CallResult, Failure, FailureReason, Observer, PlayOptions, Silent, StepKind};
use crate::scenario::{Call, Role, Scenario};
use crate::server::{start, ServeOptions, ServerHandle};
use crate::transport::Http2Settings;

/// How long the connections get, after the last call, to send what is queued before the
/// process exits. A cancel queues its RST_STREAM(CANCEL) in the connection's task; without
/// this pause the process exits first and the server sees a broken pipe, not a cancel
/// (tests/client_cancel.rs fails then).
const CANCEL_FLUSH: Duration = Duration::from_millis(50);

/// Runs the command.
pub(super) async fn run(args: RunArgs) -> Exit {
    let reports = match Reports::open(&args.output) {
        Ok(reports) => reports,
        Err(exit) => return exit,
    };
    let clock = Clock::start();
    let roles: &[Role] = if args.loopback {
        &[Role::Client, Role::Server]
    } else {
        &[Role::Client]
    };
    let http2 = Http2Settings {
        stream_window: args.wire.http2_stream_window,
        connection_window: args.wire.http2_connection_window,
    };
    let connect_options = ConnectOptions {
        wait_for_target: args.wait_for_target.unwrap_or_default(),
        ..args.client_tls.connect_options(http2)
    };
    let reflector =
        (!args.loopback).then(|| reflector(args.target.clone(), connect_options.clone()));
    let Loaded {
        scenarios,
        mut errors,
    } = load_scenarios_reflecting(&args.load, roles, reflector);
    let play = play_options(&args.wire, reports.transcript);
    let progress = progress(&args.output, Role::Client, args.jobs > 1);
    let server = if args.loopback && !scenarios.is_empty() {
        match start_loopback(&scenarios, http2, &play).await {
            Ok(handle) => Some(handle),
            Err(error) => {
                eprintln!("error: {error}");
                return Exit::Transport;
            }
        }
    } else {
        None
    };
    let loopback_addr = server.as_ref().map(|handle| handle.addr.to_string());
    let (scenarios, targets) = with_targets(scenarios, &args, loopback_addr, &mut errors);
    let session = Session {
        progress: progress.clone(),
        scenarios: scenarios.into(),
        errors: errors.into(),
        collector: Arc::new(Collector::new(progress.clone())),
        clock,
    };
    let live = reports.keep_written(session.live());
    let stopped = match connect_all(&targets, &connect_options).await {
        Ok(channels) => {
            let stopped = session.play(&args, &play, &targets, &channels).await;
            // A cancelled call's RST_STREAM is queued when the call ends.
            tokio::time::sleep(CANCEL_FLUSH).await;
            stopped
        }
        Err(exit) => Err(exit.into()),
    };
    live.stop().await;
    session.finish(stopped, server, &reports).await
}

/// Starts the in-process server of `--loopback` on a free loopback port.
async fn start_loopback(
    scenarios: &[Scenario],
    http2: Http2Settings,
    play: &PlayOptions,
) -> Result<ServerHandle, crate::server::ServeError> {
    let options = ServeOptions {
        connections: crate::transport::ConnectionLimits::default(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        http2,
        reflection: false,
        tls: None,
        client_ca: None,
        play: play.clone(),
        keep_passed_results: false,
    };
    start(scenarios.to_vec(), options, Arc::new(Silent)).await
}

/// The scenarios that have a target, with their targets (the in-process server's with
/// `--loopback`); a scenario without one is an error of its file.
fn with_targets(
    scenarios: Vec<Scenario>,
    args: &RunArgs,
    loopback: Option<String>,
    errors: &mut Vec<FileError>,
) -> (Vec<Scenario>, Vec<String>) {
    let mut kept = Vec::with_capacity(scenarios.len());
    let mut targets = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let target = loopback
            .clone()
            .or_else(|| args.target.clone())
            .or_else(|| scenario.target.clone());
        match target {
            Some(target) => {
                kept.push(scenario);
                targets.push(target);
            }
            None => {
                let message =
                    "no target: give --target HOST:PORT, `target:` in the file, or --loopback";
                eprintln!("error: {}: {message}", scenario.path.display());
                errors.push(whole_file_error(&scenario, message));
            }
        }
    }
    (kept, targets)
}

/// An error about the whole of `scenario`'s file.
fn whole_file_error(scenario: &Scenario, message: &str) -> FileError {
    FileError {
        file: scenario.path.clone(),
        name: scenario.name.clone(),
        line: 0,
        column: 0,
        message: message.to_string(),
        text: format!("{}: {message}", scenario.path.display()),
    }
}

/// A channel per distinct target (or the target and why it could not be opened); `Err`
/// when the options themselves are wrong (said on standard error).
async fn connect_all(targets: &[String], options: &ConnectOptions) -> Result<Channels, Exit> {
    let mut channels = HashMap::new();
    for target in targets {
        if !channels.contains_key(target) {
            let channel = match connect(target, options).await {
                Ok(channel) => Ok(channel),
                Err(ConnectError::Invalid(message)) => {
                    eprintln!("error: {message}");
                    return Err(Exit::Invalid);
                }
                Err(ConnectError::Unreachable { target, reason }) => Err((target, reason)),
            };
            channels.insert(target.clone(), channel);
        }
    }
    Ok(channels)
}

/// A channel per target, or the target and why it could not be opened.
type Channels = HashMap<String, Result<Channel, (String, String)>>;

/// What a run plays and what it has recorded.
struct Session {
    progress: Arc<dyn Progress>,
    scenarios: Arc<[Scenario]>,
    errors: Arc<[FileError]>,
    collector: Arc<Collector>,
    clock: Clock,
}

/// How playing ended: the calls not played (`--fail-fast`), or the signal that stopped
/// it, or the exit code of options found wrong before anything played.
type Stopped = Result<Vec<SkippedCall>, StopReason>;

/// Why a run stopped before playing everything.
enum StopReason {
    /// A signal arrived.
    Signal(&'static str),
    /// Wrong options (already said).
    Exit(Exit),
}

impl From<Exit> for StopReason {
    fn from(exit: Exit) -> StopReason {
        StopReason::Exit(exit)
    }
}

impl Session {
    /// What a report written while it plays holds.
    fn live(&self) -> Live {
        Live {
            command: "run",
            role: Role::Client,
            scenarios: self.scenarios.clone(),
            errors: self.errors.clone(),
            collector: self.collector.clone(),
            clock: self.clock,
        }
    }

    /// Plays every file, up to `--jobs` at a time, until done or a stop signal.
    async fn play(
        &self,
        args: &RunArgs,
        play: &PlayOptions,
        targets: &[String],
        channels: &Channels,
    ) -> Stopped {
        let mut stop = StopSignals::listen().map_err(|error| {
            eprintln!("error: cannot listen for Ctrl-C and SIGTERM: {error}");
            Exit::Transport
        })?;
        let player = FilePlayer {
            play,
            collector: &self.collector,
            progress: self.progress.as_ref(),
            fail_fast: args.fail_fast,
        };
        let playing = futures::stream::iter(self.scenarios.iter().zip(targets))
            .map(|(scenario, target)| player.play(scenario, &channels[target]))
            .buffer_unordered(usize::from(args.jobs))
            .collect::<Vec<Vec<SkippedCall>>>();
        tokio::select! {
            skipped = playing => Ok(skipped.concat()),
            signal = stop.received() => Err(StopReason::Signal(signal)),
        }
    }

    /// Stops the in-process server, says what was not played, writes the summary and the
    /// reports, and returns the exit code.
    async fn finish(
        self,
        stopped: Stopped,
        server: Option<ServerHandle>,
        reports: &Reports,
    ) -> Exit {
        let progress = self.progress.as_ref();
        let mut results = self.collector.results();
        let (skipped, forced) = match stopped {
            Ok(skipped) => (skipped, None),
            Err(StopReason::Signal(signal)) => {
                let reason = SkipReason::Signal(signal);
                (
                    unfinished(&self.scenarios, &results, Role::Client, reason),
                    None,
                )
            }
            Err(StopReason::Exit(exit)) => (Vec::new(), Some(exit)),
        };
        for call in skipped.iter().filter(|call| call.interrupted) {
            if let Some(scenario) = self.scenarios.iter().find(|s| s.path == call.file) {
                progress.call_skipped(scenario, call);
            }
        }
        if let Some(handle) = server {
            let server_side = server_side_failures(handle, &results).await;
            for result in &server_side {
                if let Some(scenario) = self.scenarios.iter().find(|s| s.path == result.file) {
                    progress.call_finished(scenario, result);
                }
            }
            results.extend(server_side);
        }
        let exit = forced.unwrap_or_else(|| exit_of(&results, &skipped, &self.errors));
        let outcome = RunOutcome {
            passed_not_kept: 0,
            command: "run",
            role: Role::Client,
            scenarios: &self.scenarios,
            results: &results,
            skipped: &skipped,
            errors: &self.errors,
            started_at: self.clock.started_at(),
            elapsed: self.clock.elapsed(),
            exit_code: exit as u8,
        };
        reports.finish(progress, &outcome, exit)
    }
}

/// Plays files, each with its calls in order, and reports what was not played.
struct FilePlayer<'a> {
    play: &'a PlayOptions,
    collector: &'a Collector,
    progress: &'a dyn Progress,
    fail_fast: bool,
}

impl FilePlayer<'_> {
    /// Plays the calls of `scenario` on `channel` (or records them as unreachable); with
    /// `--fail-fast`, stops as soon as any call fails. Returns the calls not played.
    async fn play(
        &self,
        scenario: &Scenario,
        channel: &Result<Channel, (String, String)>,
    ) -> Vec<SkippedCall> {
        let stopped = self.fail_fast && self.collector.has_failed();
        if !stopped {
            match channel {
                Ok(channel) => {
                    let playing = run_scenario(scenario, channel, self.play, self.collector);
                    if self.fail_fast {
                        tokio::select! {
                            _ = playing => {}
                            _ = self.collector.first_failure() => {}
                        }
                    } else {
                        playing.await;
                    }
                }
                Err((target, cause)) => {
                    for call in &scenario.calls {
                        let result = unreachable_result(scenario, call, target, cause);
                        self.collector.call_finished(scenario, &result);
                    }
                }
            }
        }
        let skipped: Vec<SkippedCall> = scenario
            .calls
            .iter()
            .filter(|call| !self.collector.finished(&scenario.path, &call.id))
            .map(|call| SkippedCall::new(scenario, call, Role::Client, SkipReason::FailFastRun))
            .collect();
        for call in &skipped {
            self.progress.call_skipped(scenario, call);
        }
        self.progress.file_finished(&scenario.path);
        skipped
    }
}

/// Stops the in-process server and returns the calls that failed on its side although
/// the client's side passed. (When the client's side failed too, its failure already
/// holds the server's account, which a server that strays sends in its status message;
/// when the client never finished, the server's side failed because of that.)
async fn server_side_failures(handle: ServerHandle, client: &[CallResult]) -> Vec<CallResult> {
    let client_passed = |server: &CallResult| {
        client
            .iter()
            .any(|c| c.file == server.file && c.call_id == server.call_id && c.passed())
    };
    handle
        .shutdown()
        .await
        .results
        .into_iter()
        .filter(|r| !r.passed() && client_passed(r))
        .collect()
}

fn unreachable_result(scenario: &Scenario, call: &Call, target: &str, cause: &str) -> CallResult {
    CallResult {
        file: scenario.path.clone(),
        scenario: scenario.name.clone(),
        call_id: call.id.clone(),
        call_name: call.name.clone(),
        method: call.path.clone(),
        role: Role::Client,
        duration: Duration::ZERO,
        steps: Vec::new(),
        failure: Some(Failure {
            pos: call.pos,
            step: StepKind::Call,
            reason: Box::new(FailureReason::Unreachable {
                target: target.to_string(),
                cause: cause.to_string(),
            }),
        }),
    }
}
