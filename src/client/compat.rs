//! Tolerance for peers that bend the gRPC wire format, applied before tonic reads a
//! response. Ballerina answers an unknown method with HTTP 404 and `grpc-status:
//! UNIMPLEMENTED` — the code's name where the protocol has its number.

use std::task::{Context, Poll};

use futures::future::{FutureExt, Map};
use http::HeaderValue;

use crate::scenario::StatusCode;

/// Wraps a channel and rewrites a `grpc-status` given by name into its number.
#[derive(Debug, Clone)]
pub struct StatusNames<S> {
    inner: S,
}

impl<S> StatusNames<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        StatusNames { inner }
    }
}

type Normalize<B, E> = fn(Result<http::Response<B>, E>) -> Result<http::Response<B>, E>;

impl<S, Req, B> tower::Service<http::Request<Req>> for StatusNames<S>
where
    S: tower::Service<http::Request<Req>, Response = http::Response<B>>,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future = Map<S::Future, Normalize<B, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Req>) -> Self::Future {
        self.inner
            .call(request)
            .map(|result| result.map(numeric_status) as Result<_, _>)
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
    response
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
