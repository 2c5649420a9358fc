//! `grpc-replay run`: the client role, optionally against an in-process server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tonic::transport::Channel;

use super::args::RunArgs;
use super::exit::Exit;
use super::load::load_scenarios;
use super::{play_options, reporter, style};
use crate::client::{connect, run_scenario, ConnectOptions};
use crate::report::{Tally, TerminalReporter, Verbosity};
use crate::runner::{CallResult, Failure, FailureKind, StepRecord};
use crate::scenario::{Role, Scenario};
use crate::server::{start, ServeOptions};
use crate::transport::Http2Settings;

/// Runs the command.
pub async fn run(args: RunArgs) -> Exit {
    let roles: &[Role] = if args.loopback {
        &[Role::Client, Role::Server]
    } else {
        &[Role::Client]
    };
    let Some(scenarios) = load_scenarios(&args.load, roles) else {
        return Exit::Invalid;
    };
    let style = style(&args.output);
    let started = Instant::now();
    let http2 = Http2Settings {
        stream_window: args.wire.http2_stream_window,
        connection_window: args.wire.http2_connection_window,
    };
    let observer = reporter(&args.output, "");
    let play = play_options(&args.wire);

    let server = if args.loopback {
        let server_observer: Arc<TerminalReporter> =
            Arc::new(TerminalReporter::new(style, Verbosity::Quiet, "[server] "));
        let options = ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http2,
            reflection: false,
            tls: None,
            client_ca: None,
            play: play.clone(),
        };
        match start(scenarios.clone(), options, server_observer).await {
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
    if let Some(missing) = scenarios.iter().find(|s| target_of(s).is_none()) {
        eprintln!(
            "error: {}: no target: give --target HOST:PORT, `target:` in the file, or --loopback",
            missing.path.display()
        );
        return Exit::Invalid;
    }

    let connect_options = ConnectOptions {
        tls: args.tls || args.cacert.is_some() || args.cert.is_some(),
        cacert: args.cacert.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        authority: args.authority.clone(),
        http2,
    };
    let mut channels: HashMap<String, Result<Channel, String>> = HashMap::new();
    let mut results: Vec<CallResult> = Vec::new();
    for scenario in &scenarios {
        let target = target_of(scenario).expect("checked above");
        if !channels.contains_key(&target) {
            let channel = match connect(&target, &connect_options).await {
                Ok(channel) => Ok(channel),
                Err(crate::client::ConnectError::Invalid(message)) => {
                    eprintln!("error: {message}");
                    return Exit::Invalid;
                }
                Err(error) => Err(error.to_string()),
            };
            channels.insert(target.clone(), channel);
        }
        match &channels[&target] {
            Ok(channel) => {
                results.extend(run_scenario(scenario, channel, &play, observer.as_ref()).await)
            }
            Err(reason) => {
                for call in &scenario.calls {
                    let result = unreachable_result(scenario, call, reason);
                    crate::runner::Observer::call_finished(observer.as_ref(), scenario, &result);
                    results.push(result);
                }
            }
        }
    }

    if let Some(handle) = server {
        let summary = handle.shutdown().await;
        let server_failures: Vec<CallResult> = summary
            .results
            .into_iter()
            .filter(|r| !r.passed())
            .collect();
        for failure in &server_failures {
            if let Some(f) = &failure.failure {
                println!(
                    "{} the server side failed: {}",
                    style.bad("✗"),
                    f.describe(&failure.file)
                );
            }
        }
        results.extend(server_failures);
    }

    let tally = Tally::of(&results);
    println!("{}", tally.line(started.elapsed(), &style));
    Exit::from_tally(&tally)
}

fn unreachable_result(
    scenario: &Scenario,
    call: &crate::scenario::Call,
    reason: &str,
) -> CallResult {
    CallResult {
        file: scenario.path.clone(),
        scenario: scenario.name.clone(),
        call_id: call.id.clone(),
        call_name: call.name.clone(),
        method: call.path.clone(),
        role: Role::Client,
        duration: std::time::Duration::ZERO,
        steps: Vec::<StepRecord>::new(),
        failure: Some(Failure {
            kind: FailureKind::Transport,
            pos: call.pos,
            keyword: "call",
            summary: reason.to_string(),
            diffs: Vec::new(),
        }),
    }
}
