//! A client's cancel as gRPC clients do it: RST_STREAM(CANCEL) on a request stream that
//! was never half-closed.
//!
//! Ending the request body normally would put END_STREAM on the wire first, and a server
//! would see a half-close. Instead the request body, below tonic's encoder, ends with an
//! error that holds `h2::Error` with reason CANCEL: hyper's client answers a body error
//! by resetting the stream with the HTTP/2 reason found in the error's sources
//! (`on_user_err` → `send_reset(err.h2_reason())`), and sends no END_STREAM.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::oneshot;
use tonic::body::Body;

/// The calling side's half: [`CancelSignal::cancel`] resets the call's stream. Dropping
/// it without cancelling leaves the call alone.
#[derive(Debug)]
pub(super) struct CancelSignal(Option<oneshot::Sender<()>>);

impl CancelSignal {
    /// A signal and the service wrapper (around `inner`) whose one call it cancels.
    pub(super) fn pair<S>(inner: S) -> (CancelSignal, Cancellable<S>) {
        let (signal, heard) = oneshot::channel();
        (
            CancelSignal(Some(signal)),
            Cancellable {
                inner,
                heard: Some(heard),
            },
        )
    }

    /// Resets the request stream with CANCEL (at once if the body is waiting for the next
    /// message; a request half that already ended is reset by dropping the response).
    pub(super) fn cancel(&mut self) {
        if let Some(signal) = self.0.take() {
            // The body is gone when the request half already ended: nothing to reset there.
            let _ = signal.send(());
        }
    }
}

/// Wraps a channel for one call: the request body can be ended by its [`CancelSignal`].
#[derive(Debug)]
pub(super) struct Cancellable<S> {
    inner: S,
    heard: Option<oneshot::Receiver<()>>,
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
            Some(heard) => request.map(|body| {
                Body::new(CancelBody {
                    body,
                    heard: Some(heard),
                })
            }),
            None => request,
        };
        self.inner.call(request)
    }
}

/// A request body that ends with a CANCEL error once its signal fires.
struct CancelBody {
    body: Body,
    heard: Option<oneshot::Receiver<()>>,
}

/// The error that makes hyper reset the stream with CANCEL.
fn cancel_error() -> Box<dyn StdError + Send + Sync> {
    Box::new(h2::Error::from(h2::Reason::CANCEL))
}

impl CancelBody {
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

impl HttpBody for CancelBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(heard) = self.heard.as_mut() {
            match Pin::new(heard).poll(cx) {
                Poll::Ready(Ok(())) => {
                    self.heard = None;
                    return Poll::Ready(Some(Err(cancel_error())));
                }
                // The call ended without a cancel.
                Poll::Ready(Err(_)) => self.heard = None,
                Poll::Pending => {}
            }
        }
        match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
            // A cancel drops the message queue right after it fires the signal, and this
            // poll may have looked at the signal just before: the queue's end is then the
            // cancel's, and must not go out as END_STREAM.
            None if self.cancelled_now() => {
                self.heard = None;
                Poll::Ready(Some(Err(cancel_error())))
            }
            frame => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
        }
    }

    /// Never the end while a cancel may still come: hyper would put END_STREAM on the last
    /// message, and the cancel that ended the queue would go out as a half-close.
    fn is_end_stream(&self) -> bool {
        self.heard.is_none() && self.body.is_end_stream()
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

    /// A body whose signal fired ends with an error that carries CANCEL, before any
    /// more of the request (so no END_STREAM); one whose signal was dropped plays on.
    #[tokio::test]
    async fn a_cancelled_body_ends_with_cancel_and_an_uncancelled_one_ends_normally() {
        let (signal, heard) = oneshot::channel::<()>();
        let mut body = CancelBody {
            body: Body::new(http_body_util::Full::new(Bytes::from_static(b"hi"))),
            heard: Some(heard),
        };
        signal.send(()).expect("the body listens");
        assert_ends_with_cancel(&mut body).await;

        let (signal, heard) = oneshot::channel::<()>();
        drop(signal);
        let body = CancelBody {
            body: Body::new(http_body_util::Full::new(Bytes::from_static(b"hi"))),
            heard: Some(heard),
        };
        let collected = body.collect().await.expect("no error").to_bytes();
        assert_eq!(collected.as_ref(), b"hi");
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
        let mut body = CancelBody {
            body: Body::new(EndedByCancel(Some(signal))),
            heard: Some(heard),
        };
        assert!(!body.is_end_stream(), "a cancel may still come");
        assert_ends_with_cancel(&mut body).await;

        let (signal, heard) = oneshot::channel::<()>();
        let mut body = CancelBody {
            body: Body::new(http_body_util::Empty::<Bytes>::new()),
            heard: Some(heard),
        };
        drop(signal);
        assert!(body.frame().await.is_none(), "the stream ends");
        assert!(body.is_end_stream());
    }
}
