//! `grpc-replay bench`: the load mode, optionally against an in-process server.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use tonic::transport::Channel;

use super::args::{BenchAction, BenchArgs, MergeArgs, ReportTarget};
use super::exit::Exit;
use super::load::load_scenarios_reflecting;
use super::{create, write_all};
use crate::bench::{
    expand_reports, merge, read_report, Bench, BenchOptions, BenchReport, LiveProgress, MergeError,
    Merged, Schedule, ServerSide, Setup, Shard, Stop,
};
use crate::client::{connect, ConnectError, ConnectOptions};
use crate::runner::PlayOptions;
use crate::scenario::{Role, Scenario};
use crate::server::{start, ServeOptions, ServerHandle};
use crate::transport::Http2Settings;

/// Iterations played when neither --duration nor --iterations is given.
const DEFAULT_ITERATIONS: u64 = 1000;

/// Runs the command.
pub(super) async fn bench(args: BenchArgs) -> Exit {
    if let Some(BenchAction::Merge(merge)) = &args.action {
        return merge_reports(merge);
    }
    let Ok(mut report_file) = open_report(args.report.as_ref()) else {
        return Exit::Invalid;
    };
    let json_on_stdout = args.report.as_ref().is_some_and(|r| r.path.is_none());
    let roles: &[Role] = match args.loopback {
        true => &[Role::Client, Role::Server],
        false => &[Role::Client],
    };
    let Some((http2, connect)) = connect_settings(&args) else {
        return Exit::Invalid;
    };
    let reflector =
        (!args.loopback).then(|| super::reflect::reflector(args.target.clone(), connect.clone()));
    let loaded = load_scenarios_reflecting(&args.load, roles, reflector);
    if !loaded.errors.is_empty() {
        return Exit::Invalid;
    }
    let scenarios = loaded.scenarios;
    let play = PlayOptions {
        default_timeout: args.wire.timeout,
        latencies: true,
        max_message_size: args.wire.max_message_size,
        ..PlayOptions::default()
    };

    let server_shard = Arc::new(Shard::new());
    let server = if args.loopback {
        match start_loopback(&scenarios, http2, &play, server_shard.clone()).await {
            Ok(server) => Some(server),
            Err(exit) => return exit,
        }
    } else {
        None
    };
    let Some(target) = target_of(server.as_ref(), args.target.as_ref(), &scenarios) else {
        eprintln!(
            "error: no target: give --target HOST:PORT, `target:` in the file, or --loopback"
        );
        return Exit::Invalid;
    };
    let channels = match connect_all(&target, &connect, args.connections).await {
        Ok(channels) => channels,
        Err(exit) => return exit,
    };

    let options = bench_options(&args, play);
    let stop = options.stop;
    let files = scenarios.iter().map(|s| s.path.display().to_string());
    let files: Vec<String> = files.collect();
    let calls_expected = match stop {
        Stop::Iterations(iterations) => calls_in(&scenarios, iterations),
        Stop::Duration(_) => 0,
    };
    let scenarios: Arc<[Scenario]> = scenarios.into();
    let bench = Arc::new(Bench::new(options));
    let live = (!json_on_stdout)
        .then(|| LiveProgress::start(bench.clone(), calls_expected))
        .flatten();
    let elapsed = run_until_done(&bench, scenarios, &channels, live).await;
    let server_side = match server {
        Some(server) => Some(loopback_side(server, &server_shard).await),
        None => None,
    };
    let merged = bench.merged();
    let transport_failures = merged.transport_failures > 0;
    let setup = Setup {
        files,
        target,
        connections: channels.len(),
        concurrency: bench.options().concurrency,
        schedule: bench.options().schedule,
        merged_from: Vec::new(),
    };
    let report = BenchReport::new(setup, elapsed, merged, server_side);
    let exit = verdict(report.passed(), transport_failures);
    exit.max(present(&report, args.report.as_ref(), report_file.as_mut()))
}

/// The target: the in-process server's address, `--target`, or the first `target:` of
/// the scenarios.
fn target_of(
    server: Option<&ServerHandle>,
    flag: Option<&String>,
    scenarios: &[Scenario],
) -> Option<String> {
    match (server, flag) {
        (Some(server), _) => Some(server.addr.to_string()),
        (None, Some(target)) => Some(target.clone()),
        (None, None) => scenarios.iter().find_map(|s| s.target.clone()),
    }
}

/// The load's shape from the flags: concurrency, rate, ramp, and when it stops.
fn bench_options(args: &BenchArgs, play: PlayOptions) -> BenchOptions {
    let stop = match (args.duration, args.iterations) {
        (Some(duration), _) => Stop::Duration(duration),
        (None, iterations) => Stop::Iterations(iterations.unwrap_or(DEFAULT_ITERATIONS)),
    };
    BenchOptions {
        concurrency: args.concurrency as usize,
        schedule: Schedule {
            rate: args.rate,
            ramp: args.ramp.unwrap_or_default(),
        },
        stop,
        play,
    }
}

/// The HTTP/2 settings and how to connect, from the flags; `None` (said on standard error)
/// when they contradict each other.
fn connect_settings(args: &BenchArgs) -> Option<(Http2Settings, ConnectOptions)> {
    if args.loopback && args.client_tls.enabled() {
        eprintln!("error: --loopback serves without TLS: drop --tls, --cacert and --cert");
        return None;
    }
    let http2 = Http2Settings {
        stream_window: args.wire.http2_stream_window,
        connection_window: args.wire.http2_connection_window,
    };
    let connect = ConnectOptions {
        wait_for_target: args.wait_for_target.unwrap_or_default(),
        ..args.client_tls.connect_options(http2)
    };
    Some((http2, connect))
}

/// The exit code of a benchmark: passed, failed, or failed with transport errors.
fn verdict(passed: bool, transport_failures: bool) -> Exit {
    if passed {
        Exit::Passed
    } else if transport_failures {
        Exit::Transport
    } else {
        Exit::Failed
    }
}

/// Stops the in-process server of `--loopback`; what it counted.
async fn loopback_side(server: ServerHandle, shard: &Shard) -> ServerSide {
    server.shutdown().await;
    ServerSide::of(Merged::of(std::slice::from_ref(shard)))
}

/// Plays the load until it is done or Ctrl-C stops it early, ending the live progress
/// line; the time it took.
async fn run_until_done(
    bench: &Arc<Bench>,
    scenarios: Arc<[Scenario]>,
    channels: &[Channel],
    live: Option<LiveProgress>,
) -> std::time::Duration {
    let interrupt = tokio::spawn({
        let bench = bench.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                bench.stop_early();
            }
        }
    });
    let elapsed = bench.run(scenarios, channels).await;
    interrupt.abort();
    if let Some(live) = live {
        live.finish();
    }
    elapsed
}

/// `bench merge`: reads the reports, prints the combined table, writes the combined
/// report; fails when a benchmark failed, or (exit 2) when a report cannot be merged.
fn merge_reports(args: &MergeArgs) -> Exit {
    let Ok(mut report_file) = open_report(args.report.as_ref()) else {
        return Exit::Invalid;
    };
    let read: Result<Vec<_>, MergeError> = expand_reports(&args.reports).and_then(|paths| {
        paths
            .iter()
            .map(|path| Ok((path.display().to_string(), read_report(path)?)))
            .collect()
    });
    let merged = match read.and_then(|reports| merge(&reports)) {
        Ok(merged) => merged,
        Err(error) => {
            eprintln!("error: cannot merge {error}");
            return Exit::Invalid;
        }
    };
    let exit = verdict(merged.passed(), merged.calls.transport_failed > 0);
    exit.max(present(&merged, args.report.as_ref(), report_file.as_mut()))
}

/// Creates the file of a `--report json=PATH` (before the benchmark, so that a path that
/// cannot be written fails at once); `Err` when it cannot (said on standard error).
fn open_report(target: Option<&ReportTarget>) -> Result<Option<File>, ()> {
    let Some(path) = target.and_then(|target| target.path.as_ref()) else {
        return Ok(None);
    };
    create(path).map(Some).map_err(|error| {
        eprintln!("error: cannot write the report {}: {error}", path.display());
    })
}

/// Prints the table (on standard error when the JSON report takes standard output) and
/// writes the report; `Exit::Invalid` when the report could not be written.
fn present(report: &BenchReport, target: Option<&ReportTarget>, file: Option<&mut File>) -> Exit {
    let table = crate::report::bench_table(report);
    if target.is_some_and(|t| t.path.is_none()) {
        eprint!("{table}");
    } else {
        print!("{table}");
        let _ = std::io::stdout().flush();
    }
    match target {
        Some(target) if !write_report(report, target, file) => Exit::Invalid,
        _ => Exit::Passed,
    }
}

/// Starts the in-process server of `--loopback`, counting its calls in `observer`.
async fn start_loopback(
    scenarios: &[Scenario],
    http2: Http2Settings,
    play: &PlayOptions,
    observer: Arc<Shard>,
) -> Result<ServerHandle, Exit> {
    let options = ServeOptions {
        connections: crate::transport::ConnectionLimits::default(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        http2,
        reflection: false,
        tls: None,
        client_ca: None,
        play: PlayOptions {
            latencies: false,
            ..play.clone()
        },
        keep_passed_results: false,
    };
    start(scenarios.to_vec(), options, observer)
        .await
        .map_err(|error| {
            eprintln!("error: {error}");
            Exit::Transport
        })
}

/// Opens `count` connections to `target`.
async fn connect_all(
    target: &str,
    options: &ConnectOptions,
    count: u32,
) -> Result<Vec<Channel>, Exit> {
    let mut channels = Vec::with_capacity(count as usize);
    for _ in 0..count {
        match connect(target, options).await {
            Ok(channel) => channels.push(channel),
            Err(error) => {
                eprintln!("error: {error}");
                return Err(match error {
                    ConnectError::Invalid(_) => Exit::Invalid,
                    ConnectError::Unreachable { .. } => Exit::Transport,
                });
            }
        }
    }
    Ok(channels)
}

/// How many calls `iterations` iterations play (iteration `n` plays file `n mod files`).
fn calls_in(scenarios: &[Scenario], iterations: u64) -> u64 {
    let per_file: Vec<u64> = scenarios.iter().map(|s| s.calls.len() as u64).collect();
    let files = per_file.len() as u64;
    let whole_rounds = iterations / files * per_file.iter().sum::<u64>();
    let rest: u64 = per_file.iter().take((iterations % files) as usize).sum();
    whole_rounds + rest
}

/// Writes the JSON report to `file` (created for `target`), or to standard output when
/// `target` says `-`; `false` when it could not (said on standard error).
fn write_report(report: &BenchReport, target: &ReportTarget, file: Option<&mut File>) -> bool {
    let json = serde_json::to_string_pretty(report).expect("the report serializes") + "\n";
    let result = match file {
        Some(file) => write_all(file, &json),
        None => write_all(&mut std::io::stdout().lock(), &json),
    };
    if let Err(error) = result {
        let name = target.path.as_ref().map_or_else(
            || "to standard output".to_string(),
            |path| path.display().to_string(),
        );
        eprintln!("error: cannot write the report {name}: {error}");
        return false;
    }
    true
}
