//! grpc-replay: replay YAML gRPC scenarios as the client or as the server.

use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    restore_default_sigpipe();
    configure_diagnostics();
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

/// Scenario errors keep each `FILE:LINE:COLUMN` on one line in CI logs and files: lines are
/// wrapped only on a terminal.
fn configure_diagnostics() {
    let terminal = std::io::stderr().is_terminal();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .wrap_lines(terminal)
                .build(),
        )
    }));
}
