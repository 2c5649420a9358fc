//! TLS on either side of the proxy (rustls): a certificate for the listener, and trust
//! roots and a server name for the upstream. Both sides offer HTTP/2 only (ALPN `h2`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// `--tls-cert`/`--tls-key`: the listener speaks TLS with this certificate.
#[derive(Debug, Clone)]
pub(crate) struct ListenerTls {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

/// `--upstream-tls` (with `--cacert`): the upstream connection speaks TLS.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpstreamTls {
    /// Trust roots (PEM) instead of the Web PKI roots.
    pub cacert: Option<PathBuf>,
}

/// A file that could not be used for TLS: what it was for, and why.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {}: {message}", path.display())]
pub(crate) struct TlsError {
    /// The flag that named the file.
    pub flag: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn error(flag: &'static str, path: &Path, message: impl ToString) -> TlsError {
    TlsError {
        flag,
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn certificates(flag: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| error(flag, path, e))?;
    if certs.is_empty() {
        return Err(error(flag, path, "no PEM certificate in it"));
    }
    Ok(certs)
}

/// The acceptor for the listener.
pub(super) fn acceptor(tls: &ListenerTls) -> Result<TlsAcceptor, TlsError> {
    let certs = certificates("--tls-cert", &tls.cert)?;
    let key =
        PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| error("--tls-key", &tls.key, e))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| error("--tls-cert", &tls.cert, e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| error("--tls-key", &tls.key, e))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The connector for the upstream.
pub(super) fn connector(tls: &UpstreamTls) -> Result<TlsConnector, TlsError> {
    let mut roots = RootCertStore::empty();
    match &tls.cacert {
        Some(path) => {
            for cert in certificates("--cacert", path)? {
                roots.add(cert).map_err(|e| error("--cacert", path, e))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let path = tls.cacert.clone().unwrap_or_default();
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| error("--cacert", &path, e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The TLS server name for `authority` (`HOST:PORT` or `HOST`, IPv6 in brackets).
pub(super) fn server_name(authority: &str) -> Result<ServerName<'static>, String> {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("`{host}` is not a valid TLS server name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_come_from_the_host() {
        assert_eq!(
            server_name("localhost:443").unwrap(),
            ServerName::try_from("localhost").unwrap()
        );
        assert_eq!(
            server_name("[::1]:50051").unwrap(),
            ServerName::try_from("::1").unwrap()
        );
        assert!(server_name("bad name:1").is_err());
    }
}
