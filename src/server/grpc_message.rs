//! `grpc-message` with the least percent-encoding the gRPC protocol asks for.
//!
//! The protocol percent-encodes only bytes outside printable ASCII (0x20–0x7E) and `%`.
//! tonic also encodes spaces, quotes and brackets, which gRPC libraries decode but some
//! clients (Ballerina's) show as they are: every located failure message would read
//! `grpc-replay:%20tests/…`. Responses are rewritten on the way out.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body_util::BodyExt;

const GRPC_MESSAGE: &str = "grpc-message";

/// Re-encodes `grpc-message` in the response headers (Trailers-Only) and trailers.
pub(super) fn minimal_grpc_message(
    response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let (mut parts, body) = response.into_parts();
    reencode(&mut parts.headers);
    let body = body.map_frame(|frame| match frame.into_trailers() {
        Ok(mut trailers) => {
            reencode(&mut trailers);
            http_body::Frame::trailers(trailers)
        }
        Err(frame) => frame,
    });
    http::Response::from_parts(parts, tonic::body::Body::new(body))
}

fn reencode(headers: &mut HeaderMap) {
    let Some(value) = headers.get(GRPC_MESSAGE) else {
        return;
    };
    let decoded = percent_decode(value.as_bytes());
    if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(percent_encode(&decoded))) {
        headers.insert(GRPC_MESSAGE, value);
    }
}

fn percent_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            text[i],
            text.get(i + 1).copied().and_then(hex),
            text.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_protocol_requires_is_encoded() {
        let tonic_style = b"grpc-replay:%20a%20%60b%60%20%7B%22x%22%7D%20100%25%20%E2%98%BA";
        let decoded = percent_decode(tonic_style);
        assert_eq!(
            percent_encode(&decoded),
            r#"grpc-replay: a `b` {"x"} 100%25 %E2%98%BA"#
        );
    }

    #[test]
    fn a_lone_percent_stays() {
        assert_eq!(percent_decode(b"50% off"), b"50% off");
    }
}
