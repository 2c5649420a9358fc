//! The command line: flags, and the wiring of each command to the engine.

mod args;
mod bench;
mod check;
mod describe;
mod exit;
mod load;
mod new;
mod record;
mod reflect;
mod reporting;
mod run;
mod serve;
mod signals;

pub use args::Cli;
pub use exit::Exit;

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use clap::Parser;

use crate::report::{
    ColorChoice, EventStream, Progress, Stream, Style, TerminalReporter, Verbosity,
};
use crate::runner::PlayOptions;
use crate::scenario::Role;
use args::{Command, OutputArgs, OutputFormat, WireArgs};

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
    let _ = COLOR.set(cli.color);
    let exit = match cli.command {
        Command::Bench(args) => runtime().block_on(bench::bench(args)),
        Command::Check(args) => check::check(args),
        Command::List(args) => check::list(args),
        Command::Describe(args) => describe::describe(args),
        Command::New(args) => new::new(args),
        Command::Schema => {
            check::emit(&crate::schema::scenario_schema_text());
            Exit::Passed
        }
        Command::Record(args) => runtime().block_on(record::record_command(args)),
        Command::Run(args) => runtime().block_on(run::run(args)),
        Command::Serve(args) => runtime().block_on(serve::serve(args)),
    };
    exit.into()
}

/// `--color`, set once the command line is read.
static COLOR: OnceLock<ColorChoice> = OnceLock::new();

/// When to color the output (`--color`).
fn color() -> ColorChoice {
    COLOR.get().copied().unwrap_or_default()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// The live output a command asked for: JSON events, or lines for people (grouped per file
/// when files play at the same time; on standard error when a report takes standard
/// output).
fn progress(output: &OutputArgs, role: Role, grouped: bool) -> Arc<dyn Progress> {
    if output.output == OutputFormat::Json {
        return Arc::new(EventStream::new(role));
    }
    let verbosity = if output.quiet {
        Verbosity::Quiet
    } else if output.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let mut reporter = TerminalReporter::new(Style::new(color()), verbosity);
    if output.reports.iter().any(|r| r.path.is_none()) {
        reporter = reporter.writing_to(Stream::Stderr);
    }
    if grouped {
        reporter = reporter.grouped_by_file();
    }
    Arc::new(reporter)
}

/// Engine limits; `transcript`: keep what the peer sent in every step.
fn play_options(wire: &WireArgs, transcript: bool) -> PlayOptions {
    PlayOptions {
        default_timeout: wire.timeout,
        transcript,
        max_message_size: wire.max_message_size,
        ..PlayOptions::default()
    }
}

fn write_all(out: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Creates `path`, and its folder when missing.
fn create(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::File::create(path)
}
