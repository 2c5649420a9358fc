//! The start of an accepted connection, before HTTP/2 serves it: the TLS handshake (when
//! the server has TLS) and the client's HTTP/2 connection preface, both within one time
//! limit, and why a connection that fails them is closed.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The first bytes of every HTTP/2 connection (RFC 9113 §3.4).
pub(super) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The byte that starts a TLS handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// What a TLS server answers a client that does not speak TLS: a fatal alert record
/// (`unexpected_message`). An HTTP/2 client reads it as a frame far over the size limit
/// (FRAME_SIZE_ERROR), which grpc-replay's client explains as "it may expect TLS".
const TLS_ALERT: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a];

/// Why a plaintext server closes a connection that starts TLS (GOAWAY debug data).
const NOT_TLS: &[u8] = b"grpc-replay: this port is plaintext HTTP/2, not TLS";

/// What a plaintext HTTP/2 server answers a client that starts TLS: its SETTINGS and a
/// GOAWAY (PROTOCOL_ERROR) that says why. A TLS client reads a record of an unknown
/// content type, which grpc-replay's client explains as "the server may not use TLS".
fn not_tls_goaway() -> Vec<u8> {
    let mut frames = vec![0, 0, 0, 4, 0, 0, 0, 0, 0]; // SETTINGS, empty
    let length = u8::try_from(8 + NOT_TLS.len()).expect("a short reason");
    frames.extend([0, 0, length, 7, 0, 0, 0, 0, 0]); // GOAWAY on stream 0
    frames.extend([0, 0, 0, 0, 0, 0, 0, 1]); // last stream 0, PROTOCOL_ERROR
    frames.extend(NOT_TLS);
    frames
}

/// The transport under HTTP/2: plain TCP or TLS over it.
pub enum Stream {
    /// Plaintext.
    Plain(TcpStream),
    /// TLS (boxed: its state is large).
    Tls(Box<TlsStream<TcpStream>>),
}

/// Why a connection was closed before HTTP/2 began.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeFailure {
    /// Nothing (or not enough) came within the handshake timeout.
    #[error("no {stage} within {}", humantime::format_duration(*.after))]
    Timeout {
        /// What was awaited: the TLS handshake or the HTTP/2 preface.
        stage: &'static str,
        /// The handshake timeout.
        after: Duration,
    },
    /// A TLS ClientHello reached a plaintext port.
    #[error(
        "the client started TLS, but this server is plaintext \
         (give serve --tls-cert/--tls-key, or call it without TLS)"
    )]
    TlsOnPlaintextPort,
    /// Plaintext reached a TLS port.
    #[error("the client sent plaintext {0} to this TLS server (the client needs TLS)")]
    PlaintextOnTlsPort(&'static str),
    /// An HTTP/1 request: gRPC needs HTTP/2.
    #[error("the client sent an HTTP/1 request ({0}); gRPC needs HTTP/2")]
    Http1(String),
    /// Bytes that are not the HTTP/2 connection preface.
    #[error("the client's first bytes are not the HTTP/2 connection preface: {0}")]
    BadPreface(String),
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// The socket failed.
    #[error("{0}")]
    Io(String),
}

/// Runs the start of a connection within `limit`. `Ok(None)` is a connection closed
/// before it sent a byte (a port probe), which is not worth a log line.
pub(super) async fn handshake(
    tcp: TcpStream,
    tls: Option<&TlsAcceptor>,
    limit: Duration,
) -> Result<Option<Stream>, HandshakeFailure> {
    let mut stage = "TLS handshake";
    let start = async {
        let mut stream = match tls {
            None => Stream::Plain(tcp),
            Some(acceptor) => match tls_handshake(tcp, acceptor).await? {
                Some(tls) => Stream::Tls(Box::new(tls)),
                None => return Ok(None),
            },
        };
        stage = "HTTP/2 connection preface";
        Ok(read_preface(&mut stream, tls.is_some())
            .await?
            .then_some(stream))
    };
    match tokio::time::timeout(limit, start).await {
        Ok(result) => result,
        Err(_) => Err(HandshakeFailure::Timeout {
            stage,
            after: limit,
        }),
    }
}

/// The TLS handshake, after a look at the first byte: plaintext on a TLS port gets its own
/// reason instead of rustls's "corrupt message".
async fn tls_handshake(
    mut tcp: TcpStream,
    acceptor: &TlsAcceptor,
) -> Result<Option<TlsStream<TcpStream>>, HandshakeFailure> {
    let mut first = [0u8; 16];
    let seen = tcp.peek(&mut first).await.map_err(io_failure)?;
    if seen == 0 {
        return Ok(None);
    }
    if first[0] != TLS_HANDSHAKE_RECORD {
        // As a TLS server would: the client can tell it met TLS.
        answer_and_close(&mut tcp, TLS_ALERT).await;
        let what = if PREFACE.starts_with(&first[..seen]) {
            "HTTP/2"
        } else {
            "data"
        };
        return Err(HandshakeFailure::PlaintextOnTlsPort(what));
    }
    acceptor
        .accept(tcp)
        .await
        .map(Some)
        .map_err(|e| HandshakeFailure::Tls(tls_reason(&e)))
}

/// How long a misdirected client gets to read the answer before the socket closes.
const LINGER: Duration = Duration::from_millis(500);

/// How long the client must have been silent before the answer goes out.
const QUIET: Duration = Duration::from_millis(50);

/// Reads what the client sends until it pauses (its first request is then on its way,
/// so the answer fails that request with a reason instead of cancelling it), writes
/// `answer`, then reads on until the client closes: closing with unread bytes would reset
/// the connection before the client read the answer. Each wait is bounded by [`LINGER`].
async fn answer_and_close(tcp: &mut TcpStream, answer: &[u8]) {
    let mut sink = [0u8; 4096];
    let until_quiet = async {
        while let Ok(Ok(read)) = tokio::time::timeout(QUIET, tcp.read(&mut sink)).await {
            if read == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, until_quiet).await;
    if tcp.write_all(answer).await.is_err() {
        return;
    }
    let drain = async { while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
    let _ = tcp.shutdown().await;
}

/// Reads the client's preface, failing as soon as a byte differs. `Ok(false)`: the client
/// closed without sending anything.
async fn read_preface(stream: &mut Stream, over_tls: bool) -> Result<bool, HandshakeFailure> {
    let mut buffer = [0u8; PREFACE.len()];
    let mut filled = 0;
    while filled < PREFACE.len() {
        let read = match stream {
            Stream::Plain(tcp) => tcp.read(&mut buffer[filled..]).await,
            Stream::Tls(tls) => tls.read(&mut buffer[filled..]).await,
        }
        .map_err(io_failure)?;
        if read == 0 && filled == 0 {
            return Ok(false);
        }
        filled += read;
        let seen = &buffer[..filled];
        if !PREFACE.starts_with(seen) {
            let failure = not_preface(seen, over_tls);
            if failure == HandshakeFailure::TlsOnPlaintextPort {
                // As a plaintext HTTP/2 server would: the client can tell it met no TLS.
                if let Stream::Plain(tcp) = stream {
                    answer_and_close(tcp, &not_tls_goaway()).await;
                }
            }
            return Err(failure);
        }
        if read == 0 {
            return Err(HandshakeFailure::BadPreface(format!(
                "the connection closed after {filled} of its {} bytes",
                PREFACE.len()
            )));
        }
    }
    Ok(true)
}

/// What a client that does not speak HTTP/2 sent instead.
fn not_preface(seen: &[u8], over_tls: bool) -> HandshakeFailure {
    if !over_tls && seen.first() == Some(&TLS_HANDSHAKE_RECORD) {
        return HandshakeFailure::TlsOnPlaintextPort;
    }
    let text = String::from_utf8_lossy(seen);
    let first_line = text.lines().next().unwrap_or_default();
    let method = first_line.split(' ').next().unwrap_or_default();
    let is_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if is_method && (first_line.contains(" HTTP/1") || seen.len() < PREFACE.len()) {
        return HandshakeFailure::Http1(first_line.escape_debug().to_string());
    }
    HandshakeFailure::BadPreface(format!("{:?}", text))
}

/// What went wrong in the TLS handshake, in the terms of the TLS messages.
fn tls_reason(error: &std::io::Error) -> String {
    let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return error.to_string();
    };
    match tls {
        rustls::Error::AlertReceived(alert) => format!(
            "the client sent the alert {alert:?} (for BadCertificate or UnknownCA: \
             the client does not trust the certificate of --tls-cert)"
        ),
        rustls::Error::NoCertificatesPresented => {
            "the client sent no certificate, and --client-ca requires one".into()
        }
        rustls::Error::InvalidCertificate(why) => {
            format!("the client's certificate is refused ({why:?}); it must chain to --client-ca")
        }
        rustls::Error::PeerIncompatible(why) => {
            format!("the client supports no TLS version or cipher in common ({why:?})")
        }
        other => other.to_string(),
    }
}

fn io_failure(error: std::io::Error) -> HandshakeFailure {
    HandshakeFailure::Io(error.to_string())
}

/// A handshake failure with the client's address, as logged.
#[derive(Debug, thiserror::Error)]
#[error("connection from {peer} closed before HTTP/2 began: {failure}")]
pub struct FailedConnection {
    /// The client's address.
    pub peer: SocketAddr,
    /// Why.
    pub failure: HandshakeFailure,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_client_hello_on_a_plaintext_port_is_named() {
        assert_eq!(
            not_preface(&[0x16, 0x03, 0x01], false),
            HandshakeFailure::TlsOnPlaintextPort
        );
    }

    #[test]
    fn an_http1_request_is_named_with_its_request_line() {
        let failure = not_preface(b"GET / HTTP/1.1\r\nHost: x\r\n", false);
        assert_eq!(failure, HandshakeFailure::Http1("GET / HTTP/1.1".into()));
    }

    #[test]
    fn the_goaway_for_a_tls_client_is_well_formed() {
        let frames = not_tls_goaway();
        let goaway = &frames[9..];
        let length = usize::from(goaway[2]);
        assert_eq!(goaway.len(), 9 + length);
        assert_eq!(goaway[3], 7, "a GOAWAY frame");
    }

    #[test]
    fn other_bytes_are_a_bad_preface() {
        assert!(matches!(
            not_preface(b"hello", false),
            HandshakeFailure::BadPreface(_)
        ));
    }
}
