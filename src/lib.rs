//! grpc-replay: replay YAML gRPC scenarios as the client or as the server.

pub mod bench;
pub mod cli;
pub mod client;
pub mod codec;
pub mod describe;
pub mod matching;
pub mod protos;
pub mod record;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod schema;
pub mod server;
pub mod skeleton;
pub mod transport;
