//! The command line: flags, and the wiring of each command to the engine.

mod args;
mod bench;
mod check;
mod describe;
mod exit;
mod load;
mod reflect;
mod run;
mod serve;

pub use args::Cli;
pub use exit::Exit;

use std::fs::File;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::report::{
    EventStream, Progress, ReportFormat, RunOutcome, Stream, Style, TerminalReporter, Verbosity,
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
    let exit = match cli.command {
        Command::Bench(args) => runtime().block_on(bench::bench(args)),
        Command::Check(args) => check::check(args),
        Command::List(args) => check::list(args),
        Command::Describe(args) => describe::describe(args),
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
    let mut reporter = TerminalReporter::new(Style::new(output.color), verbosity);
    if output.reports.iter().any(|r| r.path.is_none()) {
        reporter = reporter.to_stream(Stream::Stderr);
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
        ..PlayOptions::default()
    }
}

/// The `--report` files, created before anything plays so that a bad path fails at once.
struct ReportFiles {
    /// Each report's format and file; `None` for standard output.
    reports: Vec<(ReportFormat, Option<(std::path::PathBuf, File)>)>,
    /// Whether the engine must keep a transcript (for the JSON report or events).
    transcript: bool,
}

impl ReportFiles {
    /// Creates the files (and their folders); on a bad path or two users of standard
    /// output, says so and returns the exit code.
    fn open(output: &OutputArgs) -> Result<ReportFiles, Exit> {
        let on_stdout = output.reports.iter().filter(|r| r.path.is_none()).count()
            + usize::from(output.output == OutputFormat::Json);
        if on_stdout > 1 {
            eprintln!(
                "error: only one of --output json and the --report FORMAT=- options can use standard output"
            );
            return Err(Exit::Invalid);
        }
        let mut reports = Vec::with_capacity(output.reports.len());
        for target in &output.reports {
            let file = match &target.path {
                None => None,
                Some(path) => Some((
                    path.clone(),
                    create(path).map_err(|e| {
                        eprintln!("error: cannot write the report {}: {e}", path.display());
                        Exit::Invalid
                    })?,
                )),
            };
            reports.push((target.format, file));
        }
        let transcript = output.output == OutputFormat::Json
            || output.reports.iter().any(|r| r.format.needs_transcript());
        Ok(ReportFiles {
            reports,
            transcript,
        })
    }

    /// Writes every report; `false` when one could not be written (said on standard error).
    fn write(self, outcome: &RunOutcome) -> bool {
        let mut written = true;
        for (format, file) in self.reports {
            let text = format.render(outcome);
            let (name, result) = match file {
                None => (
                    "to standard output".to_string(),
                    write_all(&mut std::io::stdout().lock(), &text),
                ),
                Some((path, mut file)) => (path.display().to_string(), write_all(&mut file, &text)),
            };
            if let Err(error) = result {
                eprintln!("error: cannot write the report {name}: {error}");
                written = false;
            }
        }
        written
    }
}

fn write_all(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Creates `path`, and its folder when missing.
fn create(path: &std::path::Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    File::create(path)
}

/// Ends a command: the closing summary, then the reports; the exit code of `outcome`, or
/// [`Exit::Invalid`] when a report could not be written.
fn finish(progress: &dyn Progress, reports: ReportFiles, outcome: &RunOutcome, exit: Exit) -> Exit {
    progress.summary(outcome);
    if reports.write(outcome) {
        exit
    } else {
        exit.max(Exit::Invalid)
    }
}
