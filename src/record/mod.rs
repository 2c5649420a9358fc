//! Record mode: a transparent gRPC proxy that writes each call it forwards as a scenario
//! file, replayable in both roles.
//!
//! `proxy` forwards HTTP/2 streams frame by frame and logs what crosses (`log`, `frames`);
//! `writer` turns a logged call into scenario text (`yaml`, `metadata`, `loose`); this
//! module runs the listener and hands each finished call to an observer.

mod frames;
mod log;
mod loose;
mod metadata;
mod proxy;
mod tls;
mod twins;
mod writer;
mod yaml;

pub(crate) use log::{Event, RecordedCall, Side};
pub(crate) use loose::LoosePaths;
pub(crate) use metadata::Secrets;
pub(crate) use tls::{ListenerTls, TlsError, UpstreamTls};
pub(crate) use twins::twins_in;
pub(crate) use writer::{render, NotWritten, Timing, WriteOptions};

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use h2::Reason;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::scenario::StatusCode;
use crate::transport::Http2Settings;
use proxy::{serve_connection, ProxyContext, ProxyError};

/// What `grpc-replay record` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct RecordOptions {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// The real server, `HOST:PORT`.
    pub upstream: String,
    /// The folder the scenario files go to.
    pub out: PathBuf,
    /// How calls are written.
    pub write: WriteOptions,
    /// Stop after this many calls.
    pub once: Option<u64>,
    /// HTTP/2 windows on both sides.
    pub settings: Http2Settings,
    /// TLS on the listener.
    pub listener_tls: Option<ListenerTls>,
    /// TLS to the upstream.
    pub upstream_tls: Option<UpstreamTls>,
    /// `--authority`: the `:authority` of forwarded calls and the upstream's TLS server
    /// name (default: what the client sent, and the upstream's host).
    pub authority: Option<String>,
}

/// Why recording could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    /// The output folder or the listener.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A TLS file.
    #[error("{0}")]
    Tls(#[from] TlsError),
    /// A flag's value.
    #[error("{0}")]
    Invalid(String),
}

/// How connections are made on both sides.
struct Endpoints {
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    connector: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

impl Endpoints {
    fn new(options: &RecordOptions) -> Result<Endpoints, RecordError> {
        let acceptor = options
            .listener_tls
            .as_ref()
            .map(tls::acceptor)
            .transpose()?;
        let connector = match &options.upstream_tls {
            None => None,
            Some(upstream) => {
                let name = options.authority.as_deref().unwrap_or(&options.upstream);
                let name = tls::server_name(name).map_err(RecordError::Invalid)?;
                Some((tls::connector(upstream)?, name))
            }
        };
        Ok(Endpoints {
            acceptor,
            connector,
        })
    }
}

/// A byte stream either side of the proxy: TCP or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How a recorded call ended, as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The server sent a status.
    Status(StatusCode),
    /// The client reset the stream.
    Cancelled(Reason),
    /// The server reset the stream.
    Reset(Reason),
    /// Neither: the stream ended without a status.
    Unfinished,
}

/// One recorded call: what crossed, and the file written or why there is none.
#[derive(Debug, Clone)]
pub(crate) struct Recording {
    /// The method's path.
    pub path: String,
    /// Messages the client sent.
    pub client_messages: usize,
    /// Messages the server sent.
    pub server_messages: usize,
    /// How it ended.
    pub ending: Ending,
    /// The file written, or why none was.
    pub file: Result<PathBuf, Unwritten>,
}

/// Why a call has no file.
#[derive(Debug, Clone)]
pub(crate) enum Unwritten {
    /// The call cannot be a scenario.
    Call(NotWritten),
    /// The file could not be created.
    Io(PathBuf, String),
}

/// What happens while recording, for the command to show.
pub(crate) trait RecordObserver: Send + Sync {
    /// The listener is bound.
    fn listening(&self, address: SocketAddr);
    /// A call finished and was written (or not).
    fn recorded(&self, recording: &Recording);
    /// A client connected but the upstream could not be reached or spoken to; the
    /// client's connection was closed.
    fn connection_failed(&self, client: SocketAddr, error: &str);
}

/// Binds, then proxies and records until `stop` resolves or `--once` calls are done;
/// returns every recording.
pub(crate) async fn record(
    options: RecordOptions,
    observer: Arc<dyn RecordObserver>,
    stop: impl Future<Output = ()>,
) -> Result<Vec<Recording>, RecordError> {
    let endpoints = Arc::new(Endpoints::new(&options)?);
    std::fs::create_dir_all(&options.out)?;
    let listener = TcpListener::bind(options.listen).await?;
    observer.listening(listener.local_addr()?);
    let (calls, mut finished) = mpsc::unbounded_channel();
    let (stopping, stopping_receiver) = watch::channel(false);
    let context = Arc::new(ProxyContext {
        upstream: options.upstream.clone(),
        settings: options.settings,
        calls,
        sequence: AtomicU64::new(last_sequence(&options.out)),
        stopping: stopping_receiver,
        authority: options.authority.clone(),
    });
    let mut recordings = Vec::new();
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (socket, client) = accepted?;
                let endpoints = endpoints.clone();
                let observer = observer.clone();
                connections.spawn(connection(socket, client, context.clone(), endpoints, observer));
            }
            Some(call) = finished.recv() => {
                let recording = write(&call, &options);
                observer.recorded(&recording);
                recordings.push(recording);
                if options.once.is_some_and(|n| recordings.len() as u64 >= n) {
                    break;
                }
            }
            () = &mut stop => break,
        }
    }
    // Let the connections deliver what they forwarded (the last call's status may still
    // be queued) and close.
    let _ = stopping.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(DRAIN_LIMIT, drained).await;
    Ok(recordings)
}

/// How long the calls under way may take to finish once recording stops.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the upstream connection for one client connection and proxies it.
async fn connection(
    socket: TcpStream,
    client: SocketAddr,
    context: Arc<ProxyContext>,
    endpoints: Arc<Endpoints>,
    observer: Arc<dyn RecordObserver>,
) {
    let (downstream, upstream) = match open(socket, &context.upstream, &endpoints).await {
        Ok(streams) => streams,
        Err(error) => return observer.connection_failed(client, &error),
    };
    match serve_connection(downstream, upstream, client, context).await {
        // A client that drops its TCP connection is no news: its calls say how they ended.
        Err(ProxyError::Client(error)) if error.is_io() => {}
        Err(error) => observer.connection_failed(client, &error.to_string()),
        Ok(()) => {}
    }
}

/// The client's stream (after the TLS handshake, if any) and a new upstream stream.
async fn open(
    socket: TcpStream,
    upstream: &str,
    endpoints: &Endpoints,
) -> Result<(Box<dyn Io>, Box<dyn Io>), String> {
    let _ = socket.set_nodelay(true);
    let downstream: Box<dyn Io> = match &endpoints.acceptor {
        Some(acceptor) => Box::new(
            acceptor
                .accept(socket)
                .await
                .map_err(|e| format!("TLS handshake with the client: {e}"))?,
        ),
        None => Box::new(socket),
    };
    let tcp = TcpStream::connect(upstream)
        .await
        .map_err(|e| format!("cannot connect to upstream {upstream}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let upstream_stream: Box<dyn Io> = match &endpoints.connector {
        Some((connector, name)) => Box::new(
            connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS handshake with upstream {upstream}: {e}"))?,
        ),
        None => Box::new(tcp),
    };
    Ok((downstream, upstream_stream))
}

/// The highest sequence number among the files already in `out` (`0007-Method.yaml`), so
/// that a new recording into the same folder adds files instead of replacing them.
fn last_sequence(out: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(out) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.split_once('-')?.0.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Writes the scenario of one call, and sums it up.
fn write(call: &RecordedCall, options: &RecordOptions) -> Recording {
    let file = render(call, &options.write)
        .map_err(Unwritten::Call)
        .and_then(|text| {
            let name = format!(
                "{:04}-{}.yaml",
                call.sequence,
                writer::method_name(&call.path)
            );
            let path = options.out.join(name);
            create_new(&path, &text)
                .map(|()| path.clone())
                .map_err(|e| Unwritten::Io(path, e.to_string()))
        });
    let count = |side: Side| {
        call.events
            .iter()
            .filter(|t| matches!(&t.event, Event::Message(s, _) if *s == side))
            .count()
    };
    Recording {
        path: call.path.clone(),
        client_messages: count(Side::Client),
        server_messages: count(Side::Server),
        ending: ending(call),
        file,
    }
}

fn create_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

fn ending(call: &RecordedCall) -> Ending {
    call.events
        .iter()
        .rev()
        .find_map(|t| match &t.event {
            Event::Status(trailers) => Some(Ending::Status(
                trailers
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok()?.trim().parse().ok())
                    .map_or(StatusCode(2), StatusCode),
            )),
            Event::Cancel(reason) => Some(Ending::Cancelled(*reason)),
            Event::ServerReset(reason) => Some(Ending::Reset(*reason)),
            _ => None,
        })
        .unwrap_or(Ending::Unfinished)
}
