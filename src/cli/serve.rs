//! `grpc-replay serve`: the server role until stopped, or until every script played.

use std::net::SocketAddr;
use std::time::Instant;

use super::args::ServeArgs;
use super::exit::Exit;
use super::load::load_scenarios;
use super::{play_options, reporter, style};
use crate::report::Tally;
use crate::scenario::Role;
use crate::server::{start, ServeOptions};
use crate::transport::Http2Settings;

/// The address used when neither `--listen` nor the scenario's `listen:` says one.
const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Runs the command.
pub async fn serve(args: ServeArgs) -> Exit {
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
    let style = style(&args.output);
    let options = ServeOptions {
        listen,
        http2: Http2Settings {
            stream_window: args.wire.http2_stream_window,
            connection_window: args.wire.http2_connection_window,
        },
        reflection: !args.no_reflection,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        client_ca: args.client_ca.clone(),
        play: play_options(&args.wire),
    };
    let script_count: usize = scenarios.iter().map(|s| s.calls.len()).sum();
    let started = Instant::now();
    let handle = match start(scenarios, options, reporter(&args.output, "")).await {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Transport;
        }
    };
    println!("listening on {}", handle.addr);
    println!(
        "{}",
        style.dim(&format!(
            "serving {script_count} script{}{}",
            if script_count == 1 { "" } else { "s" },
            if args.once {
                "; exits once every script has played"
            } else {
                "; Ctrl-C to stop"
            }
        ))
    );
    tokio::select! {
        _ = handle.all_played(), if args.once => {}
        _ = shutdown_signal() => {}
    }
    let summary = handle.shutdown().await;
    let tally = Tally::of(&summary.results);
    for (file, id, method) in &summary.never_played {
        println!(
            "{} never played: {} [{id}] {method}",
            style.dim("-"),
            file.display()
        );
    }
    println!("served {}", tally.line(started.elapsed(), &style));
    Exit::from_tally(&tally)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
