//! `grpc-replay serve`: the server role until stopped, or until every script played.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::args::ServeArgs;
use super::exit::Exit;
use super::load::load_scenarios;
use super::{finish, play_options, progress, ReportFiles};
use crate::report::{Progress, RunOutcome, SkippedCall};
use crate::runner::{CallResult, Observer, StepRecord};
use crate::scenario::{Call, Role, Scenario};
use crate::server::{start, ServeOptions};
use crate::transport::Http2Settings;

/// The address used when neither `--listen` nor the scenario's `listen:` says one.
const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Runs the command.
pub async fn serve(args: ServeArgs) -> Exit {
    let reports = match ReportFiles::open(&args.output) {
        Ok(reports) => reports,
        Err(exit) => return exit,
    };
    let Some(scenarios) = load_scenarios(&args.load, &[Role::Server]) else {
        return Exit::Invalid;
    };
    let listen = match args.listen {
        Some(addr) => addr,
        None => {
            let text = scenarios
                .iter()
                .find_map(|s| s.listen.clone())
                .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
            match text.parse::<SocketAddr>() {
                Ok(addr) => addr,
                Err(e) => {
                    eprintln!("error: `listen: {text}` is not HOST:PORT with a numeric host ({e})");
                    return Exit::Invalid;
                }
            }
        }
    };
    let options = ServeOptions {
        listen,
        http2: Http2Settings {
            stream_window: args.wire.http2_stream_window,
            connection_window: args.wire.http2_connection_window,
        },
        reflection: !args.no_reflection,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        client_ca: args.client_ca.clone(),
        play: play_options(&args.wire, reports.transcript),
        // Only a report lists every call; the summary needs counts.
        keep_passed_results: !args.output.reports.is_empty(),
    };
    let script_count: usize = scenarios.iter().map(|s| s.calls.len()).sum();
    let progress = progress(&args.output, Role::Server, false);
    let collector = Arc::new(Watch::new(progress.clone()));
    let started_at = SystemTime::now();
    let started = Instant::now();
    let handle = match start(scenarios.clone(), options, collector.clone()).await {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Transport;
        }
    };
    let mut stop = match StopSignals::listen() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("error: cannot listen for Ctrl-C and SIGTERM: {error}");
            handle.shutdown().await;
            return Exit::Transport;
        }
    };
    progress.listening(handle.addr, script_count, args.once);
    tokio::select! {
        _ = handle.all_played(), if args.once => {}
        _ = collector.first_failure(), if args.fail_fast => {}
        _ = stop.received() => {}
    }
    let summary = handle.shutdown().await;
    let reason = if args.fail_fast && collector.has_failed() {
        "never played: --fail-fast stopped the server after a failure"
    } else {
        "never played: no client made this call"
    };
    let mut skipped = Vec::with_capacity(summary.never_played.len());
    for (file, id, _method) in &summary.never_played {
        let Some((scenario, call)) = find_call(&scenarios, file, id) else {
            continue;
        };
        let call = SkippedCall::new(scenario, call, Role::Server, reason);
        progress.call_skipped(scenario, &call);
        skipped.push(call);
    }
    let mut outcome = RunOutcome {
        passed_not_kept: summary.passed_not_kept,
        command: "serve",
        role: Role::Server,
        scenarios: &scenarios,
        results: &summary.results,
        skipped: &skipped,
        started_at,
        elapsed: started.elapsed(),
        exit_code: 0,
    };
    let exit = Exit::from_tally(&outcome.tally());
    outcome.exit_code = exit as u8;
    finish(progress.as_ref(), reports, &outcome, exit)
}

/// The call `id` of the scenario read from `file`.
fn find_call<'a>(
    scenarios: &'a [Scenario],
    file: &std::path::Path,
    id: &str,
) -> Option<(&'a Scenario, &'a crate::scenario::Call)> {
    let scenario = scenarios.iter().find(|s| s.path == file)?;
    let call = scenario.calls.iter().find(|c| c.id == id)?;
    Some((scenario, call))
}

/// Ctrl-C and SIGTERM, listened to from before the readiness line on, so that a supervisor
/// may stop the server as soon as it is ready and still get the summary and reports.
pub(super) struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Starts listening for the signals.
    pub(super) fn listen() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// Resolves when one arrives.
    pub(super) async fn received(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Passes the engine's events on to the live output and notices the first failure (for
/// `--fail-fast`). It keeps no result: the registry keeps what the summary and reports
/// need, so a server's memory stays flat however many calls it serves.
struct Watch {
    progress: Arc<dyn Progress>,
    failed: tokio::sync::watch::Sender<bool>,
}

impl Watch {
    fn new(progress: Arc<dyn Progress>) -> Watch {
        Watch {
            progress,
            failed: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Whether a call has failed.
    fn has_failed(&self) -> bool {
        *self.failed.borrow()
    }

    /// Resolves once a call has failed.
    async fn first_failure(&self) {
        let mut failed = self.failed.subscribe();
        let _ = failed.wait_for(|failed| *failed).await;
    }
}

impl Observer for Watch {
    fn call_started(&self, scenario: &Scenario, call: &Call, role: Role) {
        self.progress.call_started(scenario, call, role);
    }

    fn step(&self, scenario: &Scenario, call: &Call, role: Role, record: &StepRecord) {
        self.progress.step(scenario, call, role, record);
    }

    fn call_finished(&self, scenario: &Scenario, result: &CallResult) {
        self.progress.call_finished(scenario, result);
        if !result.passed() {
            self.failed.send_replace(true);
        }
    }
}
