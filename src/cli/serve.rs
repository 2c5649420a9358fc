//! `grpc-replay serve`: the server role until stopped, or until every script played.

use std::net::SocketAddr;
use std::sync::Arc;

use super::args::ServeArgs;
use super::exit::Exit;
use super::load::{load_scenarios, Loaded};
use super::reporting::{Clock, Live, Reports};
use super::signals::StopSignals;
use super::{play_options, progress};
use crate::client::read_pem;
use crate::report::{Collector, FileError, RunOutcome, SkipReason, SkippedCall};
use crate::scenario::{Role, Scenario};
use crate::server::{start, ServeError, ServeOptions, ServerHandle};
use crate::transport::{ConnectionLimits, Http2Settings};

/// The address used when neither `--listen` nor the scenario's `listen:` says one.
const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Runs the command.
pub(super) async fn serve(args: ServeArgs) -> Exit {
    let reports = match Reports::open(&args.output) {
        Ok(reports) => reports,
        Err(exit) => return exit,
    };
    let clock = Clock::start();
    if args.load.protos.reflect {
        eprintln!(
            "error: --reflect: serve is the server, so there is no other server to ask for \
             descriptors; give the protos with --proto or --protoset"
        );
        return Exit::Invalid;
    }
    let Loaded { scenarios, errors } = load_scenarios(&args.load, &[Role::Server]);
    let scenarios: Arc<[Scenario]> = scenarios.into();
    let errors: Arc<[FileError]> = errors.into();
    if scenarios.is_empty() {
        return nothing_to_serve(&reports, &args, &errors, clock);
    }
    for twins in crate::server::indistinguishable(&scenarios) {
        eprintln!("warning: {}", crate::report::twins_warning(&twins));
    }
    let options = match serve_options(&args, &scenarios, &reports).await {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Invalid;
        }
    };
    let script_count: usize = scenarios.iter().map(|s| s.calls.len()).sum();
    let progress = progress(&args.output, Role::Server, false);
    let collector = Arc::new(Collector::keeping(
        progress.clone(),
        options.keep_passed_results,
    ));
    let live = reports.keep_written(Live {
        command: "serve",
        role: Role::Server,
        scenarios: scenarios.clone(),
        errors: errors.clone(),
        collector: collector.clone(),
        clock,
    });
    let (handle, mut stop) = match start_listening(&scenarios, options, &collector).await {
        Ok(started) => started,
        Err(exit) => return exit,
    };
    progress.listening(handle.addr, script_count, args.once);
    tokio::select! {
        _ = handle.all_played(), if args.once => {}
        _ = collector.first_failure(), if args.fail_fast => {}
        _ = stop.received() => {}
    }
    let summary = handle.shutdown().await;
    live.stop().await;
    let stopped_early = args.fail_fast && collector.has_failed();
    let skipped = never_played(&args, &scenarios, &summary.never_played, stopped_early);
    for call in &skipped {
        if let Some((scenario, _)) = find_call(&scenarios, &call.file, &call.call_id) {
            progress.call_skipped(scenario, call);
        }
    }
    let mut outcome = RunOutcome {
        passed_not_kept: summary.passed_not_kept,
        command: "serve",
        role: Role::Server,
        scenarios: &scenarios,
        results: &summary.results,
        skipped: &skipped,
        errors: &errors,
        started_at: clock.started_at(),
        elapsed: clock.elapsed(),
        exit_code: 0,
    };
    let exit = Exit::from_tally(&outcome.tally());
    outcome.exit_code = exit as u8;
    reports.finish(progress.as_ref(), &outcome, exit)
}

/// Starts the server and listens for the stop signals; the exit code (said on standard
/// error) when either cannot be done.
async fn start_listening(
    scenarios: &[Scenario],
    options: ServeOptions,
    collector: &Arc<Collector>,
) -> Result<(ServerHandle, StopSignals), Exit> {
    let handle = start(scenarios.to_vec(), options, collector.clone())
        .await
        .map_err(|error| {
            eprintln!("error: {error}");
            // Wrong TLS files or settings are invalid input; a busy address is not.
            match error {
                ServeError::Setup(_) => Exit::Invalid,
                _ => Exit::Transport,
            }
        })?;
    match StopSignals::listen() {
        Ok(stop) => Ok((handle, stop)),
        Err(error) => {
            eprintln!("error: cannot listen for Ctrl-C and SIGTERM: {error}");
            handle.shutdown().await;
            Err(Exit::Transport)
        }
    }
}

/// The server's settings from the flags and the scenarios: the address, TLS, HTTP/2
/// windows, what is kept of passed calls.
async fn serve_options(
    args: &ServeArgs,
    scenarios: &[Scenario],
    reports: &Reports,
) -> Result<ServeOptions, String> {
    check_tls_files(args)?;
    let listen = args
        .listen
        .clone()
        .or_else(|| scenarios.iter().find_map(|s| s.listen.clone()))
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    Ok(ServeOptions {
        listen: resolve_listen(&listen).await?,
        http2: Http2Settings {
            stream_window: args.wire.http2_stream_window,
            connection_window: args.wire.http2_connection_window,
        },
        reflection: !args.no_reflection,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        client_ca: args.client_ca.clone(),
        connections: ConnectionLimits {
            handshake_timeout: args.handshake_timeout,
            idle_timeout: args.idle_timeout,
        },
        play: play_options(&args.wire, reports.transcript),
        // Only a report lists every call; the summary needs counts.
        keep_passed_results: !args.output.reports.is_empty(),
    })
}

/// The scripts no client played before the server stopped, each with why; under `--once`
/// (not cut short by `--fail-fast`) every one of them fails the run.
fn never_played(
    args: &ServeArgs,
    scenarios: &[Scenario],
    never_played: &[(std::path::PathBuf, String, String)],
    stopped_early: bool,
) -> Vec<SkippedCall> {
    let reason = if stopped_early {
        SkipReason::FailFastServer
    } else if args.once {
        SkipReason::ServerStoppedOnce
    } else {
        SkipReason::NeverCalled
    };
    never_played
        .iter()
        .filter_map(|(file, id, _method)| find_call(scenarios, file, id))
        .map(|(scenario, call)| {
            if args.once && !stopped_early {
                SkippedCall::interrupted(scenario, call, Role::Server, reason)
            } else {
                SkippedCall::new(scenario, call, Role::Server, reason)
            }
        })
        .collect()
}

/// Reads the TLS files given on the command line: each must be a PEM file of its kind.
fn check_tls_files(args: &ServeArgs) -> Result<(), String> {
    let files = [
        (&args.tls_cert, "--tls-cert", "CERTIFICATE"),
        (&args.tls_key, "--tls-key", "PRIVATE KEY"),
        (&args.client_ca, "--client-ca", "CERTIFICATE"),
    ];
    for (path, flag, label) in files {
        if let Some(path) = path {
            read_pem(path, flag, label)?;
        }
    }
    Ok(())
}

/// The address `text` (HOST:PORT, the host an IP address or a name such as localhost)
/// stands for, IPv4 first.
async fn resolve_listen(text: &str) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(text)
        .await
        .map_err(|e| format!("cannot listen on `{text}`: not HOST:PORT with a known host ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("cannot listen on `{text}`: the host has no address"))
}

/// Ends `serve` when no file loaded: the errors in the reports.
fn nothing_to_serve(
    reports: &Reports,
    args: &ServeArgs,
    errors: &[FileError],
    clock: Clock,
) -> Exit {
    let progress = progress(&args.output, Role::Server, false);
    let exit = super::reporting::exit_of(&[], &[], errors);
    let outcome = RunOutcome {
        passed_not_kept: 0,
        command: "serve",
        role: Role::Server,
        scenarios: &[],
        results: &[],
        skipped: &[],
        errors,
        started_at: clock.started_at(),
        elapsed: clock.elapsed(),
        exit_code: exit as u8,
    };
    reports.finish(progress.as_ref(), &outcome, exit)
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
