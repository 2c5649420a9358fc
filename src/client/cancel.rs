//! A client's cancel as gRPC clients do it: RST_STREAM(CANCEL) on a request stream that
//! was never half-closed.
//!
//! Ending the request body normally would put END_STREAM on the wire first, and a server
//! would see a half-close. Instead the request body, below tonic's encoder, ends with an
//! error that holds `h2::Error` with reason CANCEL: hyper's client answers a body error
//! by resetting the stream with the HTTP/2 reason found in the error's sources
//! (`on_user_err` → `send_reset(err.h2_reason())`), and sends no END_STREAM.
//!
//! A reset must not overtake the messages sent before it: h2 drops a stream's DATA that
//! its connection task has not yet written when the stream is reset (`clear_queue`, and
//! the same for a reset scheduled by dropping the response). So a cancelled body first
//! passes on every message already queued, and resets only [`FLUSH_GRACE`] after the
//! last one went to h2, time for the connection task to write it; and the call keeps its
//! response until then (dropping it resets the stream at once).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};
use tonic::body::Body;

/// How long a reset waits after the last message went to h2, for h2's connection task
/// (woken by that message) to write it: a reset drops what it has not yet written. A
/// cancel that comes later than this after the last message resets at once.
pub(super) const FLUSH_GRACE: Duration = Duration::from_millis(25);

/// How long after a cancel the reader drops the response of a call whose request body has
/// neither ended nor reset yet (a request still waiting for a stream, or for window): the
/// body resets the stream itself once it can, and this bounds how long the cancel waits.
const RESET_FALLBACK: Duration = Duration::from_secs(1);

/// When the request body ended (END_STREAM went to h2), shared with the reader.
type EndedAt = Arc<OnceLock<Instant>>;

/// The calling side's half: [`CancelSignal::cancel`] resets the call's stream. Dropping
/// it without cancelling leaves the call alone.
#[derive(Debug)]
pub(super) struct CancelSignal {
    body: Option<oneshot::Sender<()>>,
    reader: Option<oneshot::Sender<()>>,
}

impl CancelSignal {
    /// A signal, the service wrapper (around `inner`) whose one call it cancels, and the
    /// deadline after which the call's reader may drop the response.
    pub(super) fn pair<S>(inner: S) -> (CancelSignal, Cancellable<S>, ResetDeadline) {
        let (body, heard) = oneshot::channel();
        let (reader, deadline) = oneshot::channel();
        let ended = EndedAt::default();
        (
            CancelSignal {
                body: Some(body),
                reader: Some(reader),
            },
            Cancellable {
                inner,
                heard: Some((heard, ended.clone())),
            },
            ResetDeadline { deadline, ended },
        )
    }

    /// Resets the request stream with CANCEL once the messages already queued went out (a
    /// request half that already ended is reset by the reader dropping the response).
    pub(super) fn cancel(&mut self) {
        // The body is gone when the request half already ended: nothing to reset there.
        if let Some(body) = self.body.take() {
            let _ = body.send(());
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.send(());
        }
    }
}

/// The reader's half: dropping the response of a call that is still open resets its
/// stream at once, and drops what h2 has not yet written. A request body that is still open
/// resets the stream itself after its messages; one that already ended cannot, so the reader
/// drops the response [`FLUSH_GRACE`] after that end.
#[derive(Debug)]
pub(super) struct ResetDeadline {
    deadline: oneshot::Receiver<()>,
    ended: EndedAt,
}

impl ResetDeadline {
    /// Resolves when the reader may drop the response of a cancelled call; never, for a
    /// call that is not cancelled.
    pub(super) async fn passed(self) {
        if self.deadline.await.is_err() {
            return std::future::pending::<()>().await;
        }
        match self.ended.get() {
            Some(ended) => tokio::time::sleep_until(*ended + FLUSH_GRACE).await,
            None => tokio::time::sleep(RESET_FALLBACK).await,
        }
    }
}

/// Wraps a channel for one call: the request body can be ended by its [`CancelSignal`].
#[derive(Debug)]
pub(super) struct Cancellable<S> {
    inner: S,
    heard: Option<(oneshot::Receiver<()>, EndedAt)>,
}

impl<S> tower::Service<http::Request<Body>> for Cancellable<S>
where
    S: tower::Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let request = match self.heard.take() {
            Some((heard, ended)) => {
                request.map(|body| Body::new(CancelBody::new(body, heard, ended)))
            }
            None => request,
        };
        self.inner.call(request)
    }
}

/// A request body that ends with a CANCEL error once its signal fires, after the messages
/// already queued and a [`FLUSH_GRACE`] for the last of them to be written.
struct CancelBody {
    body: Body,
    heard: Option<oneshot::Receiver<()>>,
    /// Set once the signal fired: the queue is drained, then this is waited for.
    reset_at: Option<Pin<Box<Sleep>>>,
    /// When the last message went to h2.
    last_data: Option<Instant>,
    /// Whether the queue ended (or failed) after the signal.
    drained: bool,
    /// Set when the body ends without a cancel.
    ended: EndedAt,
}

/// The error that makes hyper reset the stream with CANCEL.
fn cancel_error() -> Box<dyn StdError + Send + Sync> {
    Box::new(h2::Error::from(h2::Reason::CANCEL))
}

impl CancelBody {
    /// `body`, to be ended with CANCEL when `heard` fires; `ended` notes when it ends
    /// without one.
    fn new(body: Body, heard: oneshot::Receiver<()>, ended: EndedAt) -> CancelBody {
        CancelBody {
            body,
            heard: Some(heard),
            reset_at: None,
            last_data: None,
            drained: false,
            ended,
        }
    }

    /// The signal fired: from now on the body passes on what is queued, then resets.
    fn start_reset(&mut self) {
        self.heard = None;
        let at = self
            .last_data
            .map_or_else(Instant::now, |last| last + FLUSH_GRACE);
        self.reset_at = Some(Box::pin(tokio::time::sleep_until(at)));
    }

    /// After the signal: what is already queued, then the reset once the last message
    /// had its grace.
    fn poll_cancelled(&mut self, cx: &mut Context<'_>) -> Poll<Option<FrameResult>> {
        while !self.drained {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) if frame.is_data() => {
                    self.start_reset_after(Instant::now());
                    return Poll::Ready(Some(Ok(frame)));
                }
                // Trailers: a request that is reset has none.
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(_)) | None) => self.drained = true,
                // The queue is being dropped by the cancel: this wakes again if it holds more.
                Poll::Pending => break,
            }
        }
        let reset_at = self.reset_at.as_mut().expect("called once cancelled");
        ready!(reset_at.as_mut().poll(cx));
        Poll::Ready(Some(Err(cancel_error())))
    }

    /// A message went to h2 at `sent`: the reset waits for its grace.
    fn start_reset_after(&mut self, sent: Instant) {
        self.last_data = Some(sent);
        if let Some(reset_at) = self.reset_at.as_mut() {
            reset_at.as_mut().reset(sent + FLUSH_GRACE);
        }
    }

    /// Whether the signal has fired, without waiting; forgets a signal that can no longer
    /// fire.
    fn cancelled_now(&mut self) -> bool {
        let Some(heard) = self.heard.as_mut() else {
            return false;
        };
        match heard.try_recv() {
            Ok(()) => true,
            Err(oneshot::error::TryRecvError::Closed) => {
                self.heard = None;
                false
            }
            Err(oneshot::error::TryRecvError::Empty) => false,
        }
    }
}

/// One frame of the request body, or the error that resets it.
type FrameResult = Result<Frame<Bytes>, Box<dyn StdError + Send + Sync>>;

impl HttpBody for CancelBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<FrameResult>> {
        if self.reset_at.is_some() {
            return self.poll_cancelled(cx);
        }
        if let Some(heard) = self.heard.as_mut() {
            match Pin::new(heard).poll(cx) {
                Poll::Ready(Ok(())) => {
                    self.start_reset();
                    return self.poll_cancelled(cx);
                }
                // The call ended without a cancel.
                Poll::Ready(Err(_)) => self.heard = None,
                Poll::Pending => {}
            }
        }
        let frame = ready!(Pin::new(&mut self.body).poll_frame(cx));
        if frame.is_none() {
            // Noted before the signal is looked at again: a reader that heard the cancel
            // (sent after the body's) then knows whether this end is the stream's.
            let _ = self.ended.set(Instant::now());
        }
        match frame {
            // A cancel drops the message queue right after it fires the signal, and this
            // poll may have looked at the signal just before: the queue's end is then the
            // cancel's, and must not go out as END_STREAM.
            None if self.cancelled_now() => {
                self.start_reset();
                self.poll_cancelled(cx)
            }
            Some(Ok(frame)) if frame.is_data() => {
                self.last_data = Some(Instant::now());
                Poll::Ready(Some(Ok(frame)))
            }
            frame => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
        }
    }

    /// Never the end while a cancel may still come: hyper would put END_STREAM on the last
    /// message, and the cancel that ended the queue would go out as a half-close.
    fn is_end_stream(&self) -> bool {
        self.heard.is_none() && self.reset_at.is_none() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// The body's next frame is an error that carries CANCEL (hyper resets with it).
    async fn assert_ends_with_cancel(body: &mut CancelBody) {
        let error = body
            .frame()
            .await
            .expect("a frame")
            .expect_err("the cancel");
        let reason = error
            .downcast_ref::<h2::Error>()
            .and_then(h2::Error::reason);
        assert_eq!(reason, Some(h2::Reason::CANCEL));
    }

    /// A body whose signal fired first passes on the message already queued, then ends
    /// with an error that carries CANCEL (so no END_STREAM), no sooner than the grace for
    /// that message to be written; one whose signal was dropped plays on and ends.
    #[tokio::test]
    async fn a_cancelled_body_passes_on_its_queue_then_ends_with_cancel() {
        let (signal, heard) = oneshot::channel::<()>();
        let queued = Body::new(http_body_util::Full::new(Bytes::from_static(b"hi")));
        let ended = EndedAt::default();
        let mut body = CancelBody::new(queued, heard, ended.clone());
        signal.send(()).expect("the body listens");
        let before_the_message = Instant::now();
        let frame = body.frame().await.expect("a frame").expect("the message");
        assert_eq!(frame.into_data().expect("data").as_ref(), b"hi");
        assert_ends_with_cancel(&mut body).await;
        assert!(ended.get().is_none(), "a reset is no end of the request");
        assert!(
            before_the_message.elapsed() >= FLUSH_GRACE,
            "the reset waited for the message"
        );

        let (signal, heard) = oneshot::channel::<()>();
        drop(signal);
        let ended = EndedAt::default();
        let body = CancelBody::new(
            Body::new(http_body_util::Full::new(Bytes::from_static(b"hi"))),
            heard,
            ended.clone(),
        );
        let collected = body.collect().await.expect("no error").to_bytes();
        assert_eq!(collected.as_ref(), b"hi");
        assert!(ended.get().is_some(), "the reader learns the request ended");
    }

    /// A message queue that the cancel ends while the body waits on it: the signal fires
    /// between the body's look at it and the queue's end (as on another thread).
    struct EndedByCancel(Option<oneshot::Sender<()>>);

    impl HttpBody for EndedByCancel {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if let Some(signal) = self.0.take() {
                let _ = signal.send(());
            }
            Poll::Ready(None)
        }
    }

    /// The race a cancel can lose: the queue's end is the cancel's, so the body ends with
    /// CANCEL, not with the end of the stream (which hyper would send as END_STREAM). The
    /// twin: a queue that ends with no cancel ends the stream.
    #[tokio::test]
    async fn a_queue_ended_by_a_cancel_ends_with_cancel_not_end_stream() {
        let (signal, heard) = oneshot::channel::<()>();
        let mut body = CancelBody::new(
            Body::new(EndedByCancel(Some(signal))),
            heard,
            EndedAt::default(),
        );
        assert!(!body.is_end_stream(), "a cancel may still come");
        assert_ends_with_cancel(&mut body).await;

        let (signal, heard) = oneshot::channel::<()>();
        let mut body = CancelBody::new(
            Body::new(http_body_util::Empty::<Bytes>::new()),
            heard,
            EndedAt::default(),
        );
        drop(signal);
        assert!(body.frame().await.is_none(), "the stream ends");
        assert!(body.is_end_stream());
    }
}
