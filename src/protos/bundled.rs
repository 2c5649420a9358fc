//! The protos compiled into the binary by `build.rs`: the seed protos, and google.rpc's
//! error model (`google/rpc/status.proto`, `error_details.proto`, `code.proto`).

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, MessageDescriptor};

/// The encoded `FileDescriptorSet` of every file in `proto/`, with its imports.
const BUNDLED_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/bundled_descriptor_set.bin"));

/// The encoded `FileDescriptorSet` of `proto/google/rpc/`, with its imports.
const RICH_ERRORS_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rich_errors_descriptor_set.bin"));

/// The descriptor pool of the bundled protos, used when a scenario names no `proto:`.
pub fn bundled_pool() -> DescriptorPool {
    DescriptorPool::decode(BUNDLED_DESCRIPTOR_SET)
        .expect("build.rs embeds a descriptor set that protox produced and prost-reflect reads")
}

/// The pool of google.rpc's error model: `Status` and the standard error details
/// (`ErrorInfo`, `RetryInfo`, `BadRequest`…), whatever protos a scenario loads.
pub fn rich_errors_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(RICH_ERRORS_DESCRIPTOR_SET)
            .expect("build.rs embeds a descriptor set that protox produced and prost-reflect reads")
    })
}

/// The message type a `type.googleapis.com/NAME` URL (or a bare `NAME`) names: from `pool`
/// (the scenario's protos) first, then from google.rpc's bundled error details.
pub fn find_any_type(pool: &DescriptorPool, type_url: &str) -> Option<MessageDescriptor> {
    let name = type_url.rsplit('/').next().unwrap_or(type_url);
    pool.get_message_by_name(name)
        .or_else(|| rich_errors_pool().get_message_by_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_types_come_from_the_scenario_then_from_google_rpc() {
        let pool = bundled_pool();
        let found = |url: &str| find_any_type(&pool, url).map(|d| d.full_name().to_string());
        assert_eq!(
            found("type.googleapis.com/google.rpc.BadRequest").as_deref(),
            Some("google.rpc.BadRequest")
        );
        assert_eq!(
            found("google.rpc.RetryInfo").as_deref(),
            Some("google.rpc.RetryInfo")
        );
        assert_eq!(
            found("type.googleapis.com/routeguide.Point").as_deref(),
            Some("routeguide.Point")
        );
        assert_eq!(found("type.googleapis.com/google.rpc.Nope"), None);
    }
}
