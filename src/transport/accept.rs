//! The server's accept loop: every accepted connection gets the handshake timeout for its
//! TLS handshake and HTTP/2 preface (failures logged with their reason, rate-limited), then
//! the idle timeout; when the process runs out of file descriptors the loop backs off
//! instead of spinning.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use super::connection::Connection;
use super::handshake::{handshake, FailedConnection};
use super::handshake_log::HandshakeLog;

/// The default time a client has to finish TLS and send the HTTP/2 preface.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default time a connection with no open call and no traffic stays open.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The first pause after an accept failed for lack of resources; it doubles up to
/// [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);

/// The longest pause between accepts while resources lack.
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// Bounds on the connections the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time for the TLS handshake and the HTTP/2 preface together.
    pub handshake_timeout: Duration,
    /// Time a connection with no open call may go without a byte either way.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Connections ready for HTTP/2, as the server reads them.
pub type Incoming = ReceiverStream<Result<Connection, io::Error>>;

/// Accepts connections on `listener` until the returned stream is dropped.
pub fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    log: Arc<HandshakeLog>,
) -> Incoming {
    let (ready, incoming) = mpsc::channel(64);
    tokio::spawn(accept_loop(listener, tls, limits, log, ready));
    ReceiverStream::new(incoming)
}

type Ready = mpsc::Sender<Result<Connection, io::Error>>;

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    log: Arc<HandshakeLog>,
    ready: Ready,
) {
    let mut backoff = Backoff::default();
    loop {
        let accepted = tokio::select! {
            () = ready.closed() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, peer)) => {
                backoff.recovered(&log);
                // Small frames (replies, window updates) must not wait for Nagle.
                let _ = tcp.set_nodelay(true);
                let start = start_connection(tcp, peer, tls.clone(), limits, log.clone());
                let ready = ready.clone();
                tokio::spawn(async move {
                    if let Some(connection) = start.await {
                        let _ = ready.send(Ok(connection)).await;
                    }
                });
            }
            Err(error) => {
                let pause = backoff.failed(&error, &log);
                tokio::select! {
                    () = ready.closed() => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
    log.flush();
}

async fn start_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    log: Arc<HandshakeLog>,
) -> Option<Connection> {
    match handshake(tcp, tls.as_ref(), limits.handshake_timeout).await {
        Ok(stream) => Some(Connection::new(stream?, peer, limits.idle_timeout)),
        Err(failure) => {
            log.failed(&FailedConnection { peer, failure });
            None
        }
    }
}

/// The pause after a failed accept: growing while the process lacks file descriptors or
/// memory (logged once per episode), short for anything else.
#[derive(Debug, Default)]
struct Backoff {
    pause: Option<Duration>,
}

impl Backoff {
    fn failed(&mut self, error: &io::Error, log: &HandshakeLog) -> Duration {
        if !lacks_resources(error) {
            return Duration::from_millis(1);
        }
        let pause = match self.pause {
            None => {
                log.note(&format!(
                    "cannot accept connections: {error}; waiting for open connections to \
                     close (raise the limit with `ulimit -n`)"
                ));
                FIRST_PAUSE
            }
            Some(pause) => (pause * 2).min(MAX_PAUSE),
        };
        self.pause = Some(pause);
        pause
    }

    fn recovered(&mut self, log: &HandshakeLog) {
        if self.pause.take().is_some() {
            log.note("accepting connections again");
        }
    }
}

/// EMFILE, ENFILE, ENOBUFS, ENOMEM: accepting again at once would fail the same way.
fn lacks_resources(error: &io::Error) -> bool {
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    const ENOBUFS: i32 = 105;
    matches!(
        error.raw_os_error(),
        Some(ENOMEM | ENFILE | EMFILE | ENOBUFS)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_exhaustion_backs_off_doubling_logged_once_until_an_accept_succeeds() {
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let log = HandshakeLog::new(Box::new(move |l| sink.lock().unwrap().push(l.to_string())));
        let mut backoff = Backoff::default();
        let emfile = io::Error::from_raw_os_error(24);
        let pauses: Vec<Duration> = (0..8).map(|_| backoff.failed(&emfile, &log)).collect();
        assert_eq!(pauses[0], FIRST_PAUSE);
        assert_eq!(pauses[1], FIRST_PAUSE * 2);
        assert_eq!(pauses[7], MAX_PAUSE);
        backoff.recovered(&log);
        backoff.recovered(&log);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("ulimit -n"));
    }

    #[test]
    fn another_accept_error_is_not_a_lack_of_resources() {
        assert!(!lacks_resources(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
    }
}
