//! `grpc-replay record`: the proxy that writes scenarios; `report` words its lines.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::args::ProtoArgs;
use super::exit::Exit;
use super::signals::StopSignals;
use crate::protos::load_pool;
use crate::record::{
    record, twins_in, ListenerTls, LoosePaths, RecordError, RecordObserver, RecordOptions,
    Recording, Secrets, Timing, UpstreamTls, WriteOptions,
};
use crate::report::{record_lines, RecordEvent, Stream};
use crate::transport::{Http2Settings, DEFAULT_CONNECTION_WINDOW, DEFAULT_STREAM_WINDOW};

/// `grpc-replay record`.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// Address clients connect to (port 0 picks a free port, printed on the readiness line).
    #[arg(short, long, value_name = "HOST:PORT")]
    pub listen: SocketAddr,
    /// The real server every call is forwarded to.
    #[arg(short, long, value_name = "HOST:PORT")]
    pub upstream: String,
    /// Folder for the scenario files, one per call: `NNNN-Method.yaml` (created if
    /// missing; numbering continues after the files already there).
    #[arg(short, long, default_value = "recordings", value_name = "DIR")]
    pub out: PathBuf,
    /// Protos to decode messages with.
    #[command(flatten)]
    pub protos: ProtoArgs,
    /// `gaps`: write each pause seen before a step as its `after:`.
    #[arg(long, value_enum, default_value_t = Timing::None, value_name = "none|gaps")]
    pub timing: Timing,
    /// A field whose value changes from run to run (time, id): the side that checks it
    /// accepts any value (`expect:` with `{$any: true}`); the side that sends it still
    /// sends the recorded value. A dotted path of proto field names (repeatable).
    #[arg(long = "loose", value_name = "FIELD_PATH")]
    pub loose: Vec<String>,
    /// A metadata key whose value is written as a `${VARIABLE}` instead of in clear
    /// (repeatable; `authorization` and `cookie` always are).
    #[arg(long = "redact", value_name = "KEY")]
    pub redact: Vec<String>,
    /// Stop after N calls (for scripts).
    #[arg(long, value_name = "N")]
    pub once: Option<u64>,
    /// The listener speaks TLS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Connect to the upstream over TLS (Web PKI roots, or --cacert).
    #[arg(long)]
    pub upstream_tls: bool,
    /// Trust these roots (PEM) for the upstream instead of the Web PKI roots.
    #[arg(long, value_name = "FILE", requires = "upstream_tls")]
    pub cacert: Option<PathBuf>,
    /// The `:authority` of forwarded calls and the upstream's TLS server name (default:
    /// what the client sent, and the upstream's host).
    #[arg(long, value_name = "HOST[:PORT]", value_parser = parse_authority)]
    pub authority: Option<String>,
    /// HTTP/2 stream flow-control window in bytes, on both sides of the proxy.
    #[arg(long, default_value_t = DEFAULT_STREAM_WINDOW, value_name = "BYTES")]
    pub http2_stream_window: u32,
    /// HTTP/2 connection flow-control window in bytes, on both sides of the proxy.
    #[arg(long, default_value_t = DEFAULT_CONNECTION_WINDOW, value_name = "BYTES")]
    pub http2_connection_window: u32,
}

/// Runs the proxy until Ctrl-C, SIGTERM or `--once`; prints a line per call and a summary.
pub(super) async fn record_command(args: RecordArgs) -> Exit {
    let mut sources = args.protos.sources();
    if args.protos.reflect {
        match super::reflect::ask(&args.upstream, &Default::default()) {
            Ok(reflected) => sources.reflected = Some(reflected),
            Err(error) => {
                eprintln!("error: {error}");
                return Exit::Transport;
            }
        }
    }
    let pool = match load_pool(&sources) {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Invalid;
        }
    };
    let options = RecordOptions {
        listen: args.listen,
        upstream: args.upstream.clone(),
        out: args.out.clone(),
        write: WriteOptions {
            pool,
            timing: args.timing,
            loose: LoosePaths::new(&args.loose),
            secrets: Secrets {
                redact: args.redact.iter().map(|k| k.to_ascii_lowercase()).collect(),
            },
        },
        once: args.once,
        settings: Http2Settings {
            stream_window: args.http2_stream_window,
            connection_window: args.http2_connection_window,
        },
        listener_tls: args
            .tls_cert
            .clone()
            .zip(args.tls_key.clone())
            .map(|(cert, key)| ListenerTls { cert, key }),
        upstream_tls: args.upstream_tls.then(|| UpstreamTls {
            cacert: args.cacert.clone(),
        }),
        authority: args.authority.clone(),
    };
    let mut signals = match StopSignals::listen() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("error: cannot listen for signals: {error}");
            return Exit::Invalid;
        }
    };
    let stop = async move {
        signals.received().await;
    };
    match record(options, Arc::new(Lines), stop).await {
        Ok(recordings) => {
            Lines::show(RecordEvent::Stopped {
                recordings: &recordings,
                out: &args.out,
            });
            if !recordings.is_empty() {
                for twins in twins_in(&args.out) {
                    Lines::show(RecordEvent::Twins(&twins));
                }
            }
            Exit::Passed
        }
        Err(RecordError::Io(error)) => {
            eprintln!("error: cannot record on {}: {error}", args.listen);
            Exit::Transport
        }
        Err(error) => {
            eprintln!("error: {error}");
            Exit::Invalid
        }
    }
}

/// An `:authority`: `HOST` or `HOST:PORT`.
fn parse_authority(text: &str) -> Result<String, String> {
    text.parse::<http::uri::Authority>()
        .map(|_| text.to_string())
        .map_err(|e| format!("`{text}` is not a valid authority: {e}"))
}

/// Prints what happens for people, as `report` renders it.
struct Lines;

impl Lines {
    fn show(event: RecordEvent) {
        for line in record_lines(&event) {
            match line.stream {
                Stream::Stdout => println!("{}", line.text),
                Stream::Stderr => eprintln!("{}", line.text),
            }
        }
    }
}

impl RecordObserver for Lines {
    fn listening(&self, address: SocketAddr) {
        Lines::show(RecordEvent::Listening(address));
    }

    fn recorded(&self, recording: &Recording) {
        Lines::show(RecordEvent::Recorded(recording));
    }

    fn connection_failed(&self, client: SocketAddr, error: &str) {
        Lines::show(RecordEvent::ConnectionFailed { client, error });
    }
}
