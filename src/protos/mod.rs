//! Protobuf descriptors: the bundled seed protos, and at run time `.proto` files, protosets
//! and server reflection, all through one normalising step.

mod bundled;
mod loader;
mod located;
mod normalise;
mod reflect_client;
mod text;

pub use bundled::{bundled_pool, find_any_type, rich_errors_pool};
pub use loader::{load_pool, ProtoError, ProtoSources, Reflected, Reflector};
pub use located::ProtoSpot;
pub use normalise::{build_pool, normalise};
pub use reflect_client::fetch_descriptors;
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

/// When no loaded file's package holds `name` (`pkg.Service/Method`, `pkg.Message`…), the
/// advice to load the protos that define it; `None` when its package is loaded (a typo is
/// then likelier) or `name` has no package.
pub fn missing_protos_hint(pool: &DescriptorPool, name: &str) -> Option<String> {
    let name = name.trim_start_matches(['.', '/']);
    let outer = name.split(['/', '.']).next().unwrap_or(name);
    let package_less = pool.get_service_by_name(outer).is_some()
        || pool.get_message_by_name(outer).is_some()
        || pool.get_enum_by_name(outer).is_some();
    if package_less || !name.split('/').next().unwrap_or(name).contains('.') {
        return None;
    }
    let name = name.replace('/', ".");
    let mut packages: Vec<String> = Vec::new();
    for file in pool.files() {
        let package = file.package_name();
        if !package.is_empty() && name.starts_with(&format!("{package}.")) {
            return None;
        }
        if !package.is_empty()
            && !package.starts_with("google.")
            && !packages.iter().any(|p| p == package)
        {
            packages.push(package.to_string());
        }
    }
    Some(format!(
        "no loaded proto file defines its package (loaded: {}); load the protos that do with \
         --proto FILE, --protoset FILE or --reflect (server reflection), or in the scenario \
         with `proto:`, `protoset:` or `reflect: true`",
        packages.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_outside_every_loaded_package_gets_the_loading_advice() {
        let pool = bundled_pool();
        let hint = missing_protos_hint(&pool, "shop.v1.Shop/Place").unwrap();
        assert!(hint.contains("--protoset FILE"), "{hint}");
        assert!(hint.contains("routeguide"), "{hint}");
        assert_eq!(
            missing_protos_hint(&pool, "routeguide.RouteGuide/Nope"),
            None
        );
        assert_eq!(missing_protos_hint(&pool, "Greeter/SayHello"), None);
    }
}
