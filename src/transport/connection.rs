//! An accepted connection as the HTTP/2 server reads it: the checked preface handed on
//! first, then the stream, ended (as if the client had closed it) once it has been idle —
//! no byte either way and no call open — for the idle timeout.

use std::future::Future as _;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::Connected;

use super::handshake::{Stream, PREFACE};

/// What a call's handler knows of its connection (a request extension).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    calls: Arc<Calls>,
}

/// The calls open on a connection, and when the last one ended.
#[derive(Debug)]
struct Calls {
    open: AtomicUsize,
    /// When the connection was accepted.
    since: std::time::Instant,
    /// Milliseconds from `since` to when the last call ended (0: none has).
    last_ended_ms: AtomicU64,
}

impl Calls {
    /// When the last call ended, if one has.
    fn last_ended(&self) -> Option<Instant> {
        match self.last_ended_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Instant::from_std(self.since) + Duration::from_millis(ms)),
        }
    }
}

impl ConnectionInfo {
    /// Marks a call open on this connection until the returned guard drops: the idle
    /// timeout does not close a connection while a call is open, however quiet, nor
    /// sooner than its limit after the last call ended (its answer may still be queued).
    pub fn call_opened(&self) -> OpenCall {
        self.calls.open.fetch_add(1, Ordering::Relaxed);
        OpenCall(self.calls.clone())
    }
}

/// A call open on a connection; see [`ConnectionInfo::call_opened`].
#[derive(Debug)]
pub struct OpenCall(Arc<Calls>);

impl Drop for OpenCall {
    fn drop(&mut self) {
        let ended = self.0.since.elapsed().as_millis().max(1);
        let ended = u64::try_from(ended).unwrap_or(u64::MAX);
        self.0.last_ended_ms.store(ended, Ordering::Relaxed);
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An accepted connection whose handshake succeeded.
pub struct Connection {
    stream: Stream,
    preface_left: usize,
    idle: Idle,
    info: ConnectionInfo,
}

impl Connection {
    /// The connection from `peer` over `stream`, whose preface has been read and checked.
    pub fn new(stream: Stream, peer: SocketAddr, idle_timeout: Duration) -> Connection {
        Connection {
            stream,
            preface_left: PREFACE.len(),
            idle: Idle::new(idle_timeout),
            info: ConnectionInfo {
                peer,
                calls: Arc::new(Calls {
                    open: AtomicUsize::new(0),
                    since: std::time::Instant::now(),
                    last_ended_ms: AtomicU64::new(0),
                }),
            },
        }
    }
}

/// When the connection was last used, and the timer that checks it.
struct Idle {
    limit: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Idle {
    fn new(limit: Duration) -> Idle {
        let now = Instant::now();
        Idle {
            limit,
            last: now,
            timer: Box::pin(tokio::time::sleep_until(now + limit)),
        }
    }

    fn touch(&mut self) {
        self.last = Instant::now();
    }

    /// Whether the connection has been idle for its limit; if not, `cx` is woken when it
    /// may have been.
    fn expired(&mut self, cx: &mut Context<'_>, calls: &Calls) -> bool {
        while self.timer.as_mut().poll(cx).is_ready() {
            let open_calls = calls.open.load(Ordering::Relaxed);
            let now = Instant::now();
            let last = calls
                .last_ended()
                .map_or(self.last, |ended| ended.max(self.last));
            let due = last + self.limit;
            if open_calls == 0 && now >= due {
                return true;
            }
            let next = if open_calls > 0 {
                now + self.limit
            } else {
                due
            };
            self.timer.as_mut().reset(next);
        }
        false
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.preface_left > 0 {
            let start = PREFACE.len() - this.preface_left;
            let count = this.preface_left.min(buf.remaining());
            buf.put_slice(&PREFACE[start..start + count]);
            this.preface_left -= count;
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.idle.touch();
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                // Idle: the end of the stream closes the connection.
                if this.idle.expired(cx, &this.info.calls) {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.idle.touch();
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.idle.touch();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl Connected for Connection {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        self.info.clone()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(tcp) => tcp.is_write_vectored(),
            Stream::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
