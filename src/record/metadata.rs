//! Headers as a recording writes them: transport headers left out, secrets turned into
//! variables, `-bin` values as standard base64, `grpc-timeout` and `grpc-message` decoded.

use std::time::Duration;

use base64::Engine as _;
use http::HeaderMap;

use super::yaml::scalar;

/// Request headers that belong to the transport, not to the call's metadata.
const REQUEST_TRANSPORT: &[&str] = &[
    "user-agent",
    "te",
    "content-type",
    "grpc-accept-encoding",
    "grpc-encoding",
    "grpc-timeout",
    "deadline",
    "grpc-message-type",
];

/// Response headers and trailers that belong to the transport or to the status (`date`:
/// HTTP servers such as hyper stamp every response with the time).
const RESPONSE_TRANSPORT: &[&str] = &[
    "content-type",
    "date",
    "grpc-accept-encoding",
    "grpc-encoding",
    "grpc-status",
    "grpc-message",
];

/// Metadata whose values are never written in clear.
pub(super) const ALWAYS_SECRET: &[&str] = &["authorization", "cookie"];

/// Which metadata keys become variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Secrets {
    /// `--redact` keys, lower-case, beyond [`ALWAYS_SECRET`].
    pub redact: Vec<String>,
}

impl Secrets {
    /// The variable that stands for `key`'s value, when `key` is secret: `authorization`
    /// → `AUTHORIZATION`, `x-api-key` → `X_API_KEY`.
    pub(crate) fn variable(&self, key: &str) -> Option<String> {
        let secret = ALWAYS_SECRET.contains(&key) || self.redact.iter().any(|r| r == key);
        secret.then(|| {
            key.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect()
        })
    }
}

/// Request metadata as a YAML flow mapping (`None` when there is none); the variables
/// used for secrets are added to `variables`.
pub(super) fn request_metadata(
    headers: &HeaderMap,
    secrets: &Secrets,
    variables: &mut Vec<String>,
) -> Option<String> {
    mapping(headers, REQUEST_TRANSPORT, secrets, variables)
}

/// Response headers or trailers as a YAML flow mapping (`None` when there are none).
pub(super) fn response_metadata(
    headers: &HeaderMap,
    secrets: &Secrets,
    variables: &mut Vec<String>,
) -> Option<String> {
    mapping(headers, RESPONSE_TRANSPORT, secrets, variables)
}

fn mapping(
    headers: &HeaderMap,
    transport: &[&str],
    secrets: &Secrets,
    variables: &mut Vec<String>,
) -> Option<String> {
    let mut entries = Vec::new();
    for key in headers.keys() {
        let name = key.as_str();
        if transport.contains(&name) {
            continue;
        }
        let value = match secrets.variable(name) {
            Some(variable) => {
                let reference = format!("\"${{{variable}}}\"");
                if !variables.contains(&variable) {
                    variables.push(variable);
                }
                reference
            }
            None => scalar(&joined(headers, name)),
        };
        entries.push(format!("{}: {value}", scalar(name)));
    }
    (!entries.is_empty()).then(|| format!("{{{}}}", entries.join(", ")))
}

/// Every value of `key`, joined as HTTP joins repeated headers; `-bin` values decoded and
/// written in standard base64 (what scenarios take).
fn joined(headers: &HeaderMap, key: &str) -> String {
    let binary = key.ends_with("-bin");
    let values: Vec<String> = headers
        .get_all(key)
        .iter()
        .map(|value| {
            let bytes = value.as_bytes();
            if binary {
                let decoded = base64::engine::general_purpose::STANDARD_NO_PAD.decode(
                    bytes
                        .iter()
                        .copied()
                        .filter(|b| *b != b'=')
                        .collect::<Vec<_>>(),
                );
                if let Ok(decoded) = decoded {
                    return base64::engine::general_purpose::STANDARD.encode(decoded);
                }
            }
            String::from_utf8_lossy(bytes).into_owned()
        })
        .collect();
    values.join(", ")
}

/// A `grpc-timeout` value (`100m`, `9999882u`) as a duration.
pub(super) fn grpc_timeout(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// A `grpc-message` value, percent-decoded as the gRPC spec says (invalid UTF-8 is
/// replaced).
pub(super) fn status_message(raw: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'%', Some(byte)) => {
                bytes.push(byte);
                i += 3;
            }
            (byte, _) => {
                bytes.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn transport_headers_are_left_out_and_secrets_become_variables() {
        let map = headers(&[
            ("user-agent", "grpc-go/1.85"),
            ("te", "trailers"),
            ("grpc-timeout", "9999882u"),
            ("x-user", "alice"),
            ("authorization", "Bearer s3cret"),
            ("x-api-key", "k"),
        ]);
        let secrets = Secrets {
            redact: vec!["x-api-key".into()],
        };
        let mut variables = Vec::new();
        let written = request_metadata(&map, &secrets, &mut variables).unwrap();
        assert_eq!(
            written,
            "{x-user: alice, authorization: \"${AUTHORIZATION}\", x-api-key: \"${X_API_KEY}\"}"
        );
        assert!(!written.contains("s3cret"));
        assert_eq!(variables, ["AUTHORIZATION", "X_API_KEY"]);
    }

    #[test]
    fn a_servers_date_header_is_transport_not_metadata() {
        let map = headers(&[("date", "Sun, 29 Nov 2026 21:12:42 GMT"), ("x-id", "7")]);
        let written = response_metadata(&map, &Secrets::default(), &mut Vec::new());
        assert_eq!(written.unwrap(), "{x-id: \"7\"}");
    }

    #[test]
    fn binary_values_are_written_in_padded_base64() {
        let map = headers(&[("x-trace-bin", "AQI")]);
        let written = response_metadata(&map, &Secrets::default(), &mut Vec::new());
        assert_eq!(written.unwrap(), "{x-trace-bin: \"AQI=\"}");
    }

    #[test]
    fn timeouts_and_status_messages_decode() {
        assert_eq!(grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(
            grpc_timeout("9999882u"),
            Some(Duration::from_micros(9999882))
        );
        assert_eq!(grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(grpc_timeout("x"), None);
        assert_eq!(grpc_timeout(""), None);
        assert_eq!(status_message(b"a%20b%E2%9C%93%"), "a b\u{2713}%");
    }
}
