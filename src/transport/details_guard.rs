//! A `grpc-status-details-bin` that is not base64 ends the call as INTERNAL, as grpc-go's
//! client reports it ("malformed grpc-status-details-bin"), instead of reaching tonic,
//! whose status parser panics on it.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use http::{HeaderMap, HeaderValue};

/// The trailer carrying a `google.rpc.Status`.
const DETAILS: &str = "grpc-status-details-bin";

/// Base64 as gRPC reads binary metadata: standard alphabet, padding optional.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// When `headers` (response headers of a trailers-only answer, or trailers) hold a
/// `grpc-status-details-bin` that does not decode, replaces the status with INTERNAL and a
/// message that says why and what the peer's status was, and drops the bad value.
pub fn guard_status_details(headers: &mut HeaderMap) {
    let Some(value) = headers.get(DETAILS) else {
        return;
    };
    if LENIENT.decode(value.as_bytes()).is_ok() {
        return;
    }
    let peer_status = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("missing or not a number")
        .to_string();
    headers.remove(DETAILS);
    headers.insert("grpc-status", HeaderValue::from_static("13"));
    let message = format!(
        "malformed grpc-status-details-bin (not base64); the peer's grpc-status was {peer_status}"
    );
    // Printable ASCII without `%`: a grpc-message that needs no percent-encoding.
    if let Ok(value) = HeaderValue::from_str(&message) {
        headers.insert("grpc-message", value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn valid_details_pass_unchanged_padded_or_not() {
        for value in ["CAMSBGJhZA==", "CAMSBGJhZA"] {
            let mut map = headers(&[("grpc-status", "3"), (DETAILS, value)]);
            let before = map.clone();
            guard_status_details(&mut map);
            assert_eq!(map, before);
        }
    }

    #[test]
    fn invalid_details_become_internal_naming_the_peer_status() {
        let mut map = headers(&[("grpc-status", "3"), (DETAILS, "not*base64")]);
        guard_status_details(&mut map);
        assert_eq!(map.get("grpc-status").unwrap(), "13");
        assert!(map.get(DETAILS).is_none());
        let message = map.get("grpc-message").unwrap().to_str().unwrap();
        assert!(message.contains("not base64"), "{message}");
        assert!(message.ends_with("was 3"), "{message}");
    }
}
