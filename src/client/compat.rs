//! Tolerance for peers that bend the gRPC wire format, applied before tonic reads a
//! response. Ballerina answers an unknown method with HTTP 404 and `grpc-status:
//! UNIMPLEMENTED` — the code's name where the protocol has its number.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderValue;
use http_body_util::BodyExt;
use tonic::body::Body;

use crate::scenario::StatusCode;
use crate::transport::{guard_status_details, FrameLimit};

/// Wraps a channel: rewrites a `grpc-status` given by name into its number, gives a
/// non-gRPC error answer (Ballerina's HTTP 404 with a text body) its body as the status
/// message when it has none, and checks response messages against the size limit
/// ([`FrameLimit`]), whose [`crate::transport::ReceivedFlags`] go into the response's
/// extensions.
#[derive(Debug, Clone)]
pub(super) struct StatusNames<S> {
    inner: S,
    max_message_size: u64,
}

impl<S> StatusNames<S> {
    /// Wraps `inner`; a response message over `max_message_size` bytes is a fault.
    pub(super) fn new(inner: S, max_message_size: u64) -> Self {
        StatusNames {
            inner,
            max_message_size,
        }
    }
}

/// The most of an error body read into a status message.
const BODY_LIMIT: usize = 4096;

type Answer<E> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, E>> + Send>>;

impl<S, Req> tower::Service<http::Request<Req>> for StatusNames<S>
where
    S: tower::Service<http::Request<Req>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Answer<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Req>) -> Self::Future {
        let answer = self.inner.call(request);
        let limit = self.max_message_size;
        Box::pin(async move {
            let response = numeric_status(answer.await?);
            let response = with_body_as_message(response).await;
            let mut response = response.map(|body| FrameLimit::new(body, limit));
            // Each message's compressed flag, for the reader (`client::call`).
            let flags = response.body().flags();
            response.extensions_mut().insert(flags);
            Ok(response.map(Body::new))
        })
    }
}

/// Replaces a status name in the response headers with its number.
fn numeric_status<B>(mut response: http::Response<B>) -> http::Response<B> {
    let named = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.parse::<i32>().is_err())
        .and_then(StatusCode::parse);
    if let Some(code) = named {
        response
            .headers_mut()
            .insert("grpc-status", HeaderValue::from(code.0));
    }
    guard_status_details(response.headers_mut());
    response
}

/// For an error answer that is not gRPC (HTTP status other than 200, a text body, a
/// `grpc-status` but no `grpc-message`), reads the text as the status message.
async fn with_body_as_message(response: http::Response<Body>) -> http::Response<Body> {
    let headers = response.headers();
    let plain_text = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/"));
    if response.status() == http::StatusCode::OK
        || !plain_text
        || !headers.contains_key("grpc-status")
        || headers.contains_key("grpc-message")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let limited = http_body_util::Limited::new(body, BODY_LIMIT);
    let text = match tokio::time::timeout(Duration::from_secs(1), limited.collect()).await {
        Ok(Ok(collected)) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_string(),
        _ => String::new(),
    };
    let printable: String = text
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { ' ' })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&printable.replace('%', "%25")) {
        parts.headers.insert("grpc-message", value);
    }
    http::Response::from_parts(parts, Body::empty())
}

#[cfg(test)]
mod tests {
    use super::numeric_status;

    #[test]
    fn status_names_become_numbers() {
        let response = http::Response::builder()
            .status(404)
            .header("grpc-status", "UNIMPLEMENTED")
            .body(())
            .unwrap();
        assert_eq!(numeric_status(response).headers()["grpc-status"], "12");
        let response = http::Response::builder()
            .header("grpc-status", "5")
            .body(())
            .unwrap();
        assert_eq!(numeric_status(response).headers()["grpc-status"], "5");
    }
}
