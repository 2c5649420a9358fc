//! grpc-replay: replay YAML gRPC scenarios as the client or as the server.

fn main() -> std::process::ExitCode {
    grpc_replay::cli::main()
}
