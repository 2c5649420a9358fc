//! Protobuf descriptors: the bundled seed protos, and at run time `.proto` files, protosets
//! and server reflection, all through one normalising step.

mod bundled;
mod loader;
mod normalise;
mod text;

pub use bundled::bundled_pool;
pub use loader::{load_pool, ProtoError, ProtoSources, Reflected};
pub use normalise::{build_pool, normalise};
pub use text::PROTOC_ENV;

use prost_reflect::{DescriptorPool, MethodDescriptor};

/// The four shapes a gRPC method can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    Bidi,
}

impl RpcKind {
    /// The kind of a method, from its streaming flags.
    pub fn of(method: &MethodDescriptor) -> Self {
        match (method.is_client_streaming(), method.is_server_streaming()) {
            (false, false) => RpcKind::Unary,
            (false, true) => RpcKind::ServerStreaming,
            (true, false) => RpcKind::ClientStreaming,
            (true, true) => RpcKind::Bidi,
        }
    }

    /// Whether the client sends a stream of messages.
    pub fn client_streams(self) -> bool {
        matches!(self, RpcKind::ClientStreaming | RpcKind::Bidi)
    }

    /// Whether the server sends a stream of messages.
    pub fn server_streams(self) -> bool {
        matches!(self, RpcKind::ServerStreaming | RpcKind::Bidi)
    }

    /// The name used in listings: `unary`, `server-streaming`, `client-streaming`, `bidi`.
    pub fn label(self) -> &'static str {
        match self {
            RpcKind::Unary => "unary",
            RpcKind::ServerStreaming => "server-streaming",
            RpcKind::ClientStreaming => "client-streaming",
            RpcKind::Bidi => "bidi",
        }
    }
}

/// Finds a method by `package.Service/Method` (or `Service/Method` without a package);
/// a leading `/` as in an HTTP/2 path is accepted.
pub fn find_method(pool: &DescriptorPool, name: &str) -> Option<MethodDescriptor> {
    let (service, method) = name.trim_start_matches('/').split_once('/')?;
    pool.get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method)
}

/// The HTTP/2 path of a method: `/package.Service/Method`.
pub fn method_path(method: &MethodDescriptor) -> String {
    format!("/{}/{}", method.parent_service().full_name(), method.name())
}

/// Every method the pool defines, in file order.
pub fn all_methods(pool: &DescriptorPool) -> impl Iterator<Item = MethodDescriptor> + '_ {
    pool.services()
        .flat_map(|service| service.methods().collect::<Vec<_>>())
}
