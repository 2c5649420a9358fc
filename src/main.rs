//! grpc-replay: replay YAML gRPC scenarios as the client or as the server.

fn main() -> std::process::ExitCode {
    restore_default_sigpipe();
    grpc_replay::cli::main()
}

/// Lets `grpc-replay list | head` end quietly instead of failing on a closed pipe, as
/// command-line tools do.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default is async-signal-safe and
    // happens before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
