//! The seed protos compiled into the binary by `build.rs`.

use prost_reflect::DescriptorPool;

/// The encoded `FileDescriptorSet` of every file in `proto/`, with its imports.
const BUNDLED_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/bundled_descriptor_set.bin"));

/// The descriptor pool of the bundled protos, used when a scenario names no `proto:`.
pub fn bundled_pool() -> DescriptorPool {
    DescriptorPool::decode(BUNDLED_DESCRIPTOR_SET)
        .expect("build.rs embeds a descriptor set that protox produced and prost-reflect reads")
}
