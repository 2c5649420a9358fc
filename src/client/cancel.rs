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
use std::task::{Context, Poll};

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
                    let reset = h2::Error::from(h2::Reason::CANCEL);
                    return Poll::Ready(Some(Err(Box::new(reset))));
                }
                // The call ended without a cancel.
                Poll::Ready(Err(_)) => self.heard = None,
                Poll::Pending => {}
            }
        }
        Pin::new(&mut self.body).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

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
        let error = body
            .frame()
            .await
            .expect("a frame")
            .expect_err("the cancel");
        let reason = error
            .downcast_ref::<h2::Error>()
            .and_then(h2::Error::reason);
        assert_eq!(reason, Some(h2::Reason::CANCEL));

        let (signal, heard) = oneshot::channel::<()>();
        drop(signal);
        let body = CancelBody {
            body: Body::new(http_body_util::Full::new(Bytes::from_static(b"hi"))),
            heard: Some(heard),
        };
        let collected = body.collect().await.expect("no error").to_bytes();
        assert_eq!(collected.as_ref(), b"hi");
    }
}
