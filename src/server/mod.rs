//! The server role: serves every call script of the given files for the methods their
//! protos define, with reflection and health, until stopped or until every script played.

mod call;
mod candidate;
mod conversation;
mod grpc_message;
mod index;
mod reflection;
mod registry;
mod request_end;
mod service;
mod twins;

pub(crate) use registry::{Registry, ServeSummary};
pub(crate) use twins::{indistinguishable, ScriptRef, Twins};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Server;

use crate::protos::{all_methods, method_path};
use crate::runner::{Observer, PlayOptions};
use crate::scenario::Scenario;
use crate::transport::{accept, server_tls, ConnectionLimits, HandshakeLog, Http2Settings};
use service::{ReplayService, ServerState};

/// How the server listens.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    /// The address to bind (port 0 picks a free one).
    pub listen: SocketAddr,
    /// HTTP/2 windows.
    pub http2: Http2Settings,
    /// Answer server reflection (v1, v1alpha) and health.
    pub reflection: bool,
    /// TLS certificate and key (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// CA (PEM) that client certificates must chain to (mutual TLS).
    pub client_ca: Option<PathBuf>,
    /// Handshake and idle timeouts of accepted connections.
    pub connections: ConnectionLimits,
    /// Engine limits.
    pub play: PlayOptions,
    /// Keep the result of every call for the reports; otherwise only failed calls and each
    /// script's first passed call are kept (and all are counted), so a long run does not
    /// grow.
    pub keep_passed_results: bool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// A TLS file is missing or invalid, or reflection could not be built.
    #[error("{0}")]
    Setup(String),
}

/// A running server.
pub(crate) struct ServerHandle {
    /// The bound address.
    pub addr: SocketAddr,
    registry: Arc<Registry>,
    log: Arc<HandshakeLog>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl ServerHandle {
    /// Waits until every script has been played once.
    pub(crate) async fn all_played(&self) {
        self.registry.all_played().await
    }

    /// Stops serving (open calls get a moment to finish) and returns the tally.
    pub(crate) async fn shutdown(mut self) -> ServeSummary {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if tokio::time::timeout(Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
        self.log.flush();
        self.registry.summary()
    }
}

/// Binds the listener and starts serving the scripts of `scenarios`.
pub(crate) async fn start(
    scenarios: Vec<Scenario>,
    options: ServeOptions,
    observer: Arc<dyn Observer>,
) -> Result<ServerHandle, ServeError> {
    let pools = distinct_pools(&scenarios);
    let known_paths = pools
        .iter()
        .flat_map(|pool| {
            all_methods(pool)
                .map(|m| method_path(&m))
                .collect::<Vec<_>>()
        })
        .collect();
    let registry = Arc::new(Registry::new(scenarios, options.keep_passed_results));
    let state = Arc::new(ServerState {
        registry: registry.clone(),
        play: options.play.clone(),
        observer,
        known_paths,
    });

    let mut routes = Routes::default();
    if options.reflection {
        routes = reflection::add_reflection_and_health(routes, registry.scenarios()).await?;
    }
    let router =
        std::mem::take(routes.axum_router_mut()).fallback_service(ReplayService::new(state));
    let routes = Routes::from(router);

    let mut builder = Server::builder()
        .initial_stream_window_size(options.http2.stream_window)
        .initial_connection_window_size(options.http2.connection_window);
    let tls = tls_acceptor(&options)?;
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| ServeError::Bind {
            addr: options.listen,
            reason: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| ServeError::Bind {
        addr: options.listen,
        reason: e.to_string(),
    })?;
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let log = Arc::new(HandshakeLog::to_stderr());
    let incoming = accept(listener, tls, options.connections, log.clone());
    let task = tokio::spawn(builder.add_routes(routes).serve_with_incoming_shutdown(
        incoming,
        async {
            let _ = shutdown_rx.await;
        },
    ));
    Ok(ServerHandle {
        addr,
        registry,
        log,
        shutdown: Some(shutdown_tx),
        task,
    })
}

fn distinct_pools(scenarios: &[Scenario]) -> Vec<prost_reflect::DescriptorPool> {
    let mut pools: Vec<prost_reflect::DescriptorPool> = Vec::new();
    for call in scenarios.iter().flat_map(|s| &s.calls) {
        let pool = call.method.parent_pool();
        if !pools.iter().any(|p| p == pool) {
            pools.push(pool.clone());
        }
    }
    pools
}

fn tls_acceptor(options: &ServeOptions) -> Result<Option<tokio_rustls::TlsAcceptor>, ServeError> {
    match (&options.tls, &options.client_ca) {
        (Some((cert, key)), ca) => server_tls(cert, key, ca.as_deref())
            .map(Some)
            .map_err(ServeError::Setup),
        (None, Some(_)) => Err(ServeError::Setup(
            "--client-ca needs --tls-cert and --tls-key".into(),
        )),
        (None, None) => Ok(None),
    }
}
