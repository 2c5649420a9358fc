//! grpc-replay: replay YAML gRPC scenarios as the client or as the server.

use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    configure_diagnostics();
    grpc_replay::cli::main()
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
