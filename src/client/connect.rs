//! Opening a channel to the target: plain HTTP/2 or TLS (rustls), with the HTTP/2 windows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::transport::Http2Settings;

/// How the client connects.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Use TLS.
    pub tls: bool,
    /// CA certificate (PEM) to trust instead of the public roots.
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    pub cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    pub key: Option<PathBuf>,
    /// The `:authority` (and TLS server name) to use instead of the target's host.
    pub authority: Option<String>,
    /// HTTP/2 windows.
    pub http2: Http2Settings,
    /// How long to keep trying when the target does not answer (zero: one attempt).
    pub wait_for_target: Duration,
}

/// The first pause between two attempts to connect; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// The longest pause between two attempts to connect.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The options are wrong (a file cannot be read, a target cannot be parsed).
    #[error("{0}")]
    Invalid(String),
    /// The target did not answer.
    #[error("cannot connect to {target}: {reason}")]
    Unreachable {
        /// HOST:PORT.
        target: String,
        /// What went wrong.
        reason: String,
    },
}

/// Connects to `target` (`HOST:PORT`, or a URL with `http://` / `https://`).
pub(crate) async fn connect(
    target: &str,
    options: &ConnectOptions,
) -> Result<Channel, ConnectError> {
    let tls = options.tls || target.starts_with("https://");
    let url = if target.contains("://") {
        target.to_string()
    } else {
        format!("{}://{target}", if tls { "https" } else { "http" })
    };
    let mut endpoint = Endpoint::from_shared(url.clone())
        .map_err(|e| {
            ConnectError::Invalid(format!("`{target}` is not a valid target (HOST:PORT): {e}"))
        })?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .initial_stream_window_size(options.http2.stream_window)
        .initial_connection_window_size(options.http2.connection_window)
        .user_agent(concat!("grpc-replay/", env!("CARGO_PKG_VERSION")))
        .map_err(|e| ConnectError::Invalid(e.to_string()))?;
    if let Some(authority) = &options.authority {
        let origin = format!("{}://{authority}", if tls { "https" } else { "http" })
            .parse()
            .map_err(|e| {
                ConnectError::Invalid(format!("`{authority}` is not a valid authority: {e}"))
            })?;
        endpoint = endpoint.origin(origin);
    }
    if tls {
        endpoint = endpoint
            .tls_config(tls_config(options)?)
            .map_err(|e| ConnectError::Invalid(format!("TLS: {e}")))?;
    }
    connect_waiting(&endpoint, options.wait_for_target)
        .await
        .map_err(|reason| ConnectError::Unreachable {
            target: target.to_string(),
            reason: with_tls_hint(reason, tls),
        })
}

/// Connects, trying again (with growing pauses) for up to `wait`; the last error when
/// every attempt failed.
async fn connect_waiting(endpoint: &Endpoint, wait: Duration) -> Result<Channel, String> {
    let give_up = tokio::time::Instant::now() + wait;
    let mut pause = FIRST_PAUSE;
    loop {
        match endpoint.connect().await {
            Ok(channel) => return Ok(channel),
            Err(error) => {
                let left = give_up.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() {
                    let waited = if wait.is_zero() {
                        String::new()
                    } else {
                        format!(
                            " (still, after --wait-for-target {})",
                            humantime::format_duration(wait)
                        )
                    };
                    return Err(format!("{}{waited}", error_chain(&error)));
                }
                tokio::time::sleep(pause.min(left)).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

/// Reads a PEM file given to `flag`: it must hold a `-----BEGIN …` block whose label holds
/// `label` (`CERTIFICATE`, `PRIVATE KEY`). `Err` names the flag and the file.
pub(crate) fn read_pem(path: &Path, flag: &str, label: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{flag} {}: cannot read the file: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let has_block = text
        .lines()
        .any(|line| line.starts_with("-----BEGIN ") && line.contains(label));
    if !has_block {
        let what = if bytes.is_empty() {
            "is empty"
        } else {
            "holds no"
        };
        let tail = if bytes.is_empty() {
            String::new()
        } else {
            format!(" PEM {label} block (-----BEGIN … {label}-----)")
        };
        return Err(format!("{flag} {}: the file {what}{tail}", path.display()));
    }
    Ok(bytes)
}

fn tls_config(options: &ConnectOptions) -> Result<ClientTlsConfig, ConnectError> {
    let read = |path: &PathBuf, flag: &str| {
        let label = if flag == "--key" {
            "PRIVATE KEY"
        } else {
            "CERTIFICATE"
        };
        read_pem(path, flag, label).map_err(ConnectError::Invalid)
    };
    let mut config = ClientTlsConfig::new();
    config = match &options.cacert {
        Some(path) => config.ca_certificate(Certificate::from_pem(read(path, "--cacert")?)),
        None => config.with_webpki_roots(),
    };
    match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => {
            config = config.identity(Identity::from_pem(
                read(cert, "--cert")?,
                read(key, "--key")?,
            ));
        }
        (None, None) => {}
        _ => {
            return Err(ConnectError::Invalid(
                "--cert and --key go together (mutual TLS)".into(),
            ))
        }
    }
    if let Some(authority) = &options.authority {
        let host = authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(h, _)| h);
        config = config.domain_name(host.to_string());
    }
    Ok(config)
}

/// A TLS client whose server answers in plaintext sees a record of an unknown content type
/// (rustls names it only in its error's text): the error then says so.
fn with_tls_hint(reason: String, tls: bool) -> String {
    if tls && reason.contains("InvalidContentType") {
        format!("{reason}; the server may not use TLS: try without --tls")
    } else {
        reason
    }
}

/// An error and its causes on one line.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
