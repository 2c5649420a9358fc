//! grpc-replay: replay YAML gRPC scenarios as the client or as the server.

pub(crate) mod bench;
pub mod cli;
pub(crate) mod client;
pub(crate) mod codec;
pub(crate) mod describe;
pub mod matching;
pub mod protos;
pub(crate) mod record;
pub(crate) mod report;
pub(crate) mod runner;
pub mod scenario;
pub(crate) mod schema;
pub(crate) mod server;
pub(crate) mod skeleton;
pub mod transport;
