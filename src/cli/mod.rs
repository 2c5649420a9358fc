//! The command line: flags, and the wiring of each command to the engine.

mod args;
mod check;
mod exit;
mod load;
mod run;
mod serve;

pub use args::Cli;
pub use exit::Exit;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::report::{Style, TerminalReporter, Verbosity};
use crate::runner::PlayOptions;
use args::{Command, OutputArgs, WireArgs};

/// Parses the command line and runs the command; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Exit::Invalid.into()
            } else {
                Exit::Passed.into()
            };
        }
    };
    let exit = match cli.command {
        Command::Check(args) => check::check(args),
        Command::List(args) => check::list(args),
        Command::Run(args) => runtime().block_on(run::run(args)),
        Command::Serve(args) => runtime().block_on(serve::serve(args)),
    };
    exit.into()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

fn style(output: &OutputArgs) -> Style {
    Style::new(output.color)
}

fn reporter(output: &OutputArgs, prefix: &str) -> Arc<TerminalReporter> {
    let verbosity = if output.quiet {
        Verbosity::Quiet
    } else if output.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    Arc::new(TerminalReporter::new(style(output), verbosity, prefix))
}

fn play_options(wire: &WireArgs) -> PlayOptions {
    PlayOptions {
        default_timeout: wire.timeout,
        transcript: false,
    }
}
