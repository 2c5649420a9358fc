//! `grpc-replay run`: the client role, optionally against an in-process server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use tonic::transport::Channel;

use super::args::RunArgs;
use super::exit::Exit;
use super::load::load_scenarios_reflecting;
use super::reflect::reflector;
use super::{finish, play_options, progress, ReportFiles};
use crate::client::{connect, run_scenario, ConnectError, ConnectOptions};
use crate::report::{Collector, Progress, RunOutcome, SkippedCall, Tally};
use crate::runner::{CallResult, Failure, FailureReason, Observer, PlayOptions, Silent, StepKind};
use crate::scenario::{Call, Role, Scenario};
use crate::server::{start, ServeOptions, ServerHandle};
use crate::transport::Http2Settings;

/// Why calls are skipped after a failure with `--fail-fast`.
const FAIL_FAST_REASON: &str = "not played: --fail-fast stopped the run after a failure";

/// How the client connects, from the TLS flags.
fn connect_options(args: &RunArgs, http2: Http2Settings) -> ConnectOptions {
    ConnectOptions {
        tls: args.tls || args.cacert.is_some() || args.cert.is_some(),
        cacert: args.cacert.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        authority: args.authority.clone(),
        http2,
    }
}

/// Runs the command.
pub async fn run(args: RunArgs) -> Exit {
    let reports = match ReportFiles::open(&args.output) {
        Ok(reports) => reports,
        Err(exit) => return exit,
    };
    let roles: &[Role] = if args.loopback {
        &[Role::Client, Role::Server]
    } else {
        &[Role::Client]
    };
    let http2 = Http2Settings {
        stream_window: args.wire.http2_stream_window,
        connection_window: args.wire.http2_connection_window,
    };
    let connect_options = connect_options(&args, http2);
    let reflector =
        (!args.loopback).then(|| reflector(args.target.clone(), connect_options.clone()));
    let Some(scenarios) = load_scenarios_reflecting(&args.load, roles, reflector) else {
        return Exit::Invalid;
    };
    let started_at = SystemTime::now();
    let started = Instant::now();
    let play = play_options(&args.wire, reports.transcript);
    let progress = progress(&args.output, Role::Client, args.jobs > 1);
    let collector = Collector::new(progress.clone());

    let server = if args.loopback {
        let options = ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http2,
            reflection: false,
            tls: None,
            client_ca: None,
            play: play.clone(),
            keep_passed_results: false,
        };
        match start(scenarios.clone(), options, Arc::new(Silent)).await {
            Ok(handle) => Some(handle),
            Err(error) => {
                eprintln!("error: {error}");
                return Exit::Transport;
            }
        }
    } else {
        None
    };

    let target_of = |scenario: &Scenario| -> Option<String> {
        match &server {
            Some(handle) => Some(handle.addr.to_string()),
            None => args.target.clone().or_else(|| scenario.target.clone()),
        }
    };
    let mut targets = Vec::with_capacity(scenarios.len());
    for scenario in &scenarios {
        match target_of(scenario) {
            Some(target) => targets.push(target),
            None => {
                eprintln!(
                    "error: {}: no target: give --target HOST:PORT, `target:` in the file, or --loopback",
                    scenario.path.display()
                );
                return Exit::Invalid;
            }
        }
    }

    let mut channels: HashMap<&str, Result<Channel, (String, String)>> = HashMap::new();
    for target in &targets {
        if !channels.contains_key(target.as_str()) {
            let channel = match connect(target, &connect_options).await {
                Ok(channel) => Ok(channel),
                Err(ConnectError::Invalid(message)) => {
                    eprintln!("error: {message}");
                    return Exit::Invalid;
                }
                Err(ConnectError::Unreachable { target, reason }) => Err((target, reason)),
            };
            channels.insert(target, channel);
        }
    }

    let player = FilePlayer {
        play: &play,
        collector: &collector,
        progress: progress.as_ref(),
        fail_fast: args.fail_fast,
    };
    let skipped: Vec<SkippedCall> = futures::stream::iter(scenarios.iter().zip(&targets))
        .map(|(scenario, target)| player.play(scenario, &channels[target.as_str()]))
        .buffer_unordered(usize::from(args.jobs))
        .collect::<Vec<Vec<SkippedCall>>>()
        .await
        .concat();

    let mut results = collector.results();
    if let Some(handle) = server {
        let server_side = server_side_failures(handle, &results).await;
        for result in &server_side {
            if let Some(scenario) = scenarios.iter().find(|s| s.path == result.file) {
                progress.call_finished(scenario, result);
            }
        }
        results.extend(server_side);
    }

    let exit = Exit::from_tally(&Tally::of(&results, &skipped));
    let outcome = RunOutcome {
        command: "run",
        role: Role::Client,
        scenarios: &scenarios,
        results: &results,
        skipped: &skipped,
        started_at,
        elapsed: started.elapsed(),
        exit_code: exit as u8,
    };
    finish(progress.as_ref(), reports, &outcome, exit)
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
            .map(|call| SkippedCall::new(scenario, call, Role::Client, FAIL_FAST_REASON))
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
