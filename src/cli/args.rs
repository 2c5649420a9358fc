//! Command-line flags (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::client::ConnectOptions;
use crate::report::{ColorChoice, ReportFormat};
use crate::scenario::bounds;
use crate::transport::{
    Http2Settings, DEFAULT_CONNECTION_WINDOW, DEFAULT_STREAM_WINDOW, MAX_WINDOW,
};

/// Replay YAML gRPC scenarios as the client or as the server, against real peers in any
/// language built from the same .proto files.
#[derive(Debug, Parser)]
#[command(
    name = "grpc-replay",
    version,
    after_help = "Examples:\n  \
        grpc-replay run --loopback scenarios/          # check scripts against themselves, no peer needed\n  \
        grpc-replay run scenarios/calculator/ --target localhost:50051\n  \
        grpc-replay serve scenarios/calculator/maximum.yaml --listen 127.0.0.1:50051 --once\n  \
        grpc-replay check scenarios/                   # validate offline\n  \
        grpc-replay list                               # bundled services and methods\n\n\
        Exit codes: 0 all passed, 1 a scenario failed its expectations or a call was\n\
        interrupted, 2 invalid input (usage, YAML, proto, scenario, report path),\n\
        3 transport failure; the worst wins (3, then 2, then 1)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// When to color the output (every command): auto colors on a terminal unless
    /// NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto,
          value_name = "WHEN")]
    pub color: ColorChoice,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play the client role: send the `client:` lines, check the `server:` lines.
    #[command(after_help = "Examples:\n  \
        grpc-replay run scenarios/calculator/maximum.yaml --target localhost:50051\n  \
        grpc-replay run --loopback scenarios/\n  \
        grpc-replay run scenarios/ -t localhost:50051 --var USER=alice -v\n  \
        grpc-replay run 'scenarios/**/*.yaml' -t localhost:50051 --jobs 4 --filter calculator\n  \
        grpc-replay run scenarios/ -t localhost:50051 --report junit=reports/junit.xml \\\n      \
        --report json=reports/transcript.json --fail-fast\n\n\
        Exit codes: 0 all passed, 1 a scenario failed its expectations or a call was\n\
        interrupted (Ctrl-C, SIGTERM), 2 invalid input (usage, YAML, proto, scenario,\n\
        report path; the files that load still play), 3 transport failure. The worst\n\
        wins: 3, then 2, then 1.")]
    Run(RunArgs),
    /// Play the server role: send the `server:` lines, check the `client:` lines.
    #[command(after_help = "Examples:\n  \
        grpc-replay serve scenarios/calculator/ --listen 127.0.0.1:50051\n  \
        grpc-replay serve s.yaml --listen 127.0.0.1:0 --once & ./my-client; wait\n  \
        grpc-replay serve scenarios/ -l 127.0.0.1:0 --once --report junit=reports/server.xml\n\n\
        Each incoming call plays the first unplayed script whose method, request metadata\n\
        and first client message match. A client that strays from the script gets\n\
        FAILED_PRECONDITION with the file, line and difference in the status message.")]
    Serve(ServeArgs),
    /// Load mode: replay a scenario's calls over and over, concurrently, and report calls/s,
    /// messages/s, latency percentiles (per call, per message) and failures.
    #[command(after_help = "Examples:\n  \
        grpc-replay bench scenarios/greet/greet_everyone.yaml -t localhost:50051 -c 50 -d 30s\n  \
        grpc-replay bench s.yaml -t localhost:50051 --connections 4 -c 64 -n 100000\n  \
        grpc-replay bench s.yaml -t localhost:50051 --rate 500 -d 1m --report json=bench.json\n  \
        grpc-replay bench --loopback scenarios/greet/greet_everyone.yaml -d 5s\n\n\
        One iteration plays one file as `run` does; iteration N plays file N mod FILES.\n\
        Per-message latency: from a send to the checked reply that answers it (the i-th\n\
        reply of a call pairs with its i-th send). Ctrl-C stops starting iterations; the\n\
        figures then cover what was played.\n\n\
        Exit codes: 0 every call passed, 1 some failed, 2 invalid input,\n\
        3 transport failure (cannot connect, or calls lost their connection).")]
    Bench(BenchArgs),
    /// Validate scenarios offline: YAML, methods, messages, durations, variables.
    Check(CheckArgs),
    /// A transparent gRPC proxy that writes each call it forwards as a scenario file,
    /// replayable as the client and as the server.
    #[command(after_help = "Examples:\n  \
        grpc-replay record --listen 127.0.0.1:50052 --upstream 127.0.0.1:50051 --out recordings/\n  \
        grpc-replay record -l 127.0.0.1:0 -u 127.0.0.1:50051 --once 3 --loose created_at\n\n\
        Point the client at --listen. Each finished call prints a line and becomes\n\
        DIR/NNNN-Method.yaml; Ctrl-C prints a summary. Replay with\n\
        `grpc-replay run DIR --target SERVER` and `grpc-replay serve DIR`.")]
    Record(super::record::RecordArgs),
    /// List the services and methods of the bundled protos (or of --proto, --protoset,
    /// --reflect).
    List(CatalogArgs),
    /// Print a service, method, message or enum as proto-like text (like grpcurl describe).
    #[command(after_help = "Examples:\n  \
        grpc-replay describe routeguide.RouteGuide\n  \
        grpc-replay describe routeguide.RouteGuide/RouteChat\n  \
        grpc-replay describe routeguide.Point --proto api/route_guide.proto\n  \
        grpc-replay describe my.pkg.Service --reflect -t localhost:50051")]
    Describe(DescribeArgs),
    /// Write a scenario skeleton for a method: the steps its kind implies, every field of
    /// the request and the response with an example value and its type.
    #[command(after_help = "Examples:\n  \
        grpc-replay new routeguide.RouteGuide/RouteChat -o route_chat.yaml\n  \
        grpc-replay new my.pkg.Service/Method --proto api.proto -o method.yaml\n  \
        grpc-replay new my.pkg.Service/Method --reflect -t localhost:50051\n\n\
        The file passes `check` and `run --loopback` as written; edit its values.")]
    New(NewArgs),
    /// Print the JSON Schema of the scenario format (for editors and CI; the same as
    /// docs/scenario-schema.json).
    Schema,
}

/// `grpc-replay new`.
#[derive(Debug, Clone, Args)]
pub struct NewArgs {
    /// The method: `package.Service/Method`.
    #[arg(value_name = "METHOD")]
    pub method: String,
    /// Write the scenario to FILE (refused if it exists) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where descriptors come from.
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

/// Where `list` and `describe` read descriptors.
#[derive(Debug, Clone, Args)]
pub struct CatalogArgs {
    /// Protos to load.
    #[command(flatten)]
    pub protos: ProtoArgs,
    /// The server to ask with --reflect (HOST:PORT).
    #[arg(short, long, value_name = "HOST:PORT", requires = "reflect")]
    pub target: Option<String>,
    /// Connect with TLS (for --reflect).
    #[arg(long)]
    pub tls: bool,
    /// CA certificate (PEM) to trust (implies --tls).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// The :authority (and TLS server name) to send instead of the target's host.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub authority: Option<String>,
}

/// `grpc-replay describe`.
#[derive(Debug, Clone, Args)]
pub struct DescribeArgs {
    /// `package.Service`, `package.Service/Method`, `package.Message` or `package.Enum`.
    #[arg(value_name = "SYMBOL")]
    pub symbol: String,
    /// Where descriptors come from.
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

/// Where protos come from.
#[derive(Debug, Clone, Args)]
pub struct ProtoArgs {
    /// A .proto file to load instead of the bundled protos (repeatable).
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,
    /// A directory to search for imports (repeatable).
    #[arg(short = 'I', long = "import-path", value_name = "DIR", value_parser = parse_dir)]
    pub import_paths: Vec<PathBuf>,
    /// A protoset (a binary FileDescriptorSet from `protoc -o FILE --include_imports` or
    /// `buf build -o FILE`) to load instead of the bundled protos (repeatable).
    #[arg(long = "protoset", value_name = "FILE")]
    pub protosets: Vec<PathBuf>,
    /// Load the descriptors from the target's gRPC server reflection (v1, else v1alpha),
    /// with any --proto/--protoset added.
    #[arg(long)]
    pub reflect: bool,
}

impl ProtoArgs {
    /// The descriptor sources these flags name.
    pub fn sources(&self) -> crate::protos::ProtoSources {
        crate::protos::ProtoSources {
            files: self.protos.clone(),
            import_paths: self.import_paths.clone(),
            protosets: self.protosets.clone(),
            reflected: None,
        }
    }
}

/// What every command that loads scenarios takes.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Scenarios")]
pub struct LoadArgs {
    /// Scenario files, directories (searched for *.yaml and *.yml), or glob patterns such
    /// as 'scenarios/**/*.yaml' (quoted, so that grpc-replay expands them).
    #[arg(required = true, value_name = "FILE|DIR|GLOB")]
    pub paths: Vec<PathBuf>,
    /// Protos to load.
    #[command(flatten)]
    pub protos: ProtoArgs,
    /// Set a variable for `${NAME}` in scenarios (repeatable); wins over --vars-file, the
    /// environment and the file's `vars:`.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read variables from a YAML file, a mapping of NAME: VALUE (repeatable; later files
    /// win, --var wins over them).
    #[arg(long = "vars-file", value_name = "FILE")]
    pub vars_files: Vec<PathBuf>,
    /// Keep only the calls whose file path, scenario name, call id or call name contains
    /// TEXT (plain text, case-sensitive; repeatable: a call is kept when any matches).
    #[arg(long = "filter", value_name = "TEXT")]
    pub filters: Vec<String>,
}

/// Output options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output and reports")]
pub struct OutputArgs {
    /// Print failures and the summary only.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every step as it happens.
    #[arg(short, long)]
    pub verbose: bool,
    /// What standard output carries: lines for people, or JSON events, one object per
    /// line (call_started, step, call_finished, summary; `listening` for serve).
    #[arg(long, value_enum, default_value_t = OutputFormat::Human, value_name = "FORMAT")]
    pub output: OutputFormat,
    /// Write a report when the command ends (repeatable): junit (JUnit XML), json (every
    /// step: sent, received, timings, statuses, headers, trailers; docs/report-schema.json)
    /// or tap (TAP 13). PATH `-` is standard output (the human output then goes to
    /// standard error).
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub reports: Vec<ReportTarget>,
}

/// What standard output carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Human,
    /// JSON events, one object per line.
    Json,
}

/// A `--report FORMAT=PATH`.
#[derive(Debug, Clone)]
pub struct ReportTarget {
    /// The format.
    pub format: ReportFormat,
    /// The file; `None` for standard output (`-`).
    pub path: Option<PathBuf>,
}

/// HTTP/2 and timing options of both roles.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP/2 and timing")]
pub struct WireArgs {
    /// Deadline of a call whose scenario sets no `timeout:` (humantime: 500ms, 10s, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
    /// HTTP/2 stream flow-control window in bytes: what one stream may hold unread
    /// (1 to 2147483647).
    #[arg(long, default_value_t = DEFAULT_STREAM_WINDOW, value_name = "BYTES",
          value_parser = parse_window)]
    pub http2_stream_window: u32,
    /// HTTP/2 connection flow-control window in bytes, 1 to 2147483647 (default: the
    /// largest allowed, which keeps h2's small-frame guard from closing connections that
    /// carry many streams).
    #[arg(long, default_value_t = DEFAULT_CONNECTION_WINDOW, value_name = "BYTES",
          value_parser = parse_window)]
    pub http2_connection_window: u32,
    /// The largest message sent or received, in bytes: a number, or a number with a unit
    /// (8MiB, 512KiB, 5MB; KiB, MiB, GiB are powers of 1024, KB, MB, GB of 1000), at most
    /// 1GiB. Default 4MiB, as gRPC.
    #[arg(long, default_value = "4MiB", value_parser = parse_size, value_name = "BYTES")]
    pub max_message_size: u64,
}

/// TLS towards the server, for the commands that call one (`run`, `bench`).
#[derive(Debug, Clone, Args)]
pub struct ClientTlsArgs {
    /// Connect with TLS.
    #[arg(long)]
    pub tls: bool,
    /// CA certificate (PEM) to trust (implies --tls).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS (implies --tls).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The :authority (and TLS server name) to send instead of the target's host.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub authority: Option<String>,
}

impl ClientTlsArgs {
    /// Whether any flag asks for TLS.
    pub fn enabled(&self) -> bool {
        self.tls || self.cacert.is_some() || self.cert.is_some()
    }

    /// The connection options these flags ask for, with `http2` windows.
    pub fn connect_options(&self, http2: Http2Settings) -> ConnectOptions {
        ConnectOptions {
            tls: self.enabled(),
            cacert: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            authority: self.authority.clone(),
            http2,
            wait_for_target: Duration::ZERO,
        }
    }
}

/// `grpc-replay run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The server to call (HOST:PORT); overrides the scenario's `target:`.
    #[arg(short, long, value_name = "HOST:PORT", conflicts_with = "loopback")]
    pub target: Option<String>,
    /// Also play the server role in this process, on a free loopback port, and call it
    /// over real TCP: the scenario checks itself, no peer needed.
    #[arg(long)]
    pub loopback: bool,
    /// Play up to N files at the same time (the calls of a file keep their order); each
    /// file's output is printed as one block when it ends.
    #[arg(short, long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Stop after the first failed call; calls not played are reported as skipped.
    #[arg(long)]
    pub fail_fast: bool,
    /// TLS towards the server.
    #[command(flatten)]
    pub client_tls: ClientTlsArgs,
    /// Keep trying to connect for up to this long (backing off from 50ms to 1s) when the
    /// target does not answer yet: for a service that starts in the same CI job.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub wait_for_target: Option<Duration>,
    /// Scenarios and protos.
    #[command(flatten)]
    pub load: LoadArgs,
    /// HTTP/2 and timing.
    #[command(flatten)]
    pub wire: WireArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `grpc-replay serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (an IP address or a host name such as localhost); port 0
    /// picks a free port (printed on the readiness line). Default: the scenario's
    /// `listen:`, else 127.0.0.1:50051.
    #[arg(short, long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Exit by itself once every script has been played once (the CI mode); stopped
    /// before that (Ctrl-C, SIGTERM), the scripts not played are failures (exit 1).
    #[arg(long)]
    pub once: bool,
    /// Stop serving after the first failed call; scripts not played are reported as
    /// skipped.
    #[arg(long)]
    pub fail_fast: bool,
    /// Do not answer gRPC server reflection and health.
    #[arg(long)]
    pub no_reflection: bool,
    /// Server certificate (PEM) for TLS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Server key (PEM) for TLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) that client certificates must chain to (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Time a new connection has to finish its TLS handshake and send the HTTP/2
    /// preface; slower ones are closed (and logged with the reason).
    #[arg(long, default_value = "10s", value_parser = parse_connection_timeout,
          value_name = "DURATION")]
    pub handshake_timeout: Duration,
    /// Time a connection with no open call may stay silent before it is closed.
    #[arg(long, default_value = "5m", value_parser = parse_connection_timeout,
          value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// Scenarios and protos.
    #[command(flatten)]
    pub load: LoadArgs,
    /// HTTP/2 and timing.
    #[command(flatten)]
    pub wire: WireArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `grpc-replay bench`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BenchArgs {
    /// Instead of a benchmark: another bench action.
    #[command(subcommand)]
    pub action: Option<BenchAction>,
    /// The server to call (HOST:PORT); overrides the scenario's `target:`.
    #[arg(short, long, value_name = "HOST:PORT", conflicts_with = "loopback")]
    pub target: Option<String>,
    /// Also play the server role in this process, on a free loopback port.
    #[arg(long)]
    pub loopback: bool,
    /// Keep trying to connect for up to this long (backing off from 50ms to 1s) when the
    /// target does not answer yet.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub wait_for_target: Option<Duration>,
    /// Iterations in flight at once.
    #[arg(short, long, default_value_t = 10, value_name = "C",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// HTTP/2 connections to spread the iterations over.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Stop starting iterations after this long (humantime: 30s, 5m).
    #[arg(short, long, value_parser = parse_run_length, value_name = "DURATION",
          conflicts_with = "iterations")]
    pub duration: Option<Duration>,
    /// Play this many iterations (default 1000 when --duration is not given).
    #[arg(short = 'n', long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,
    /// Start this many iterations per second, all workers together, and time each call
    /// from when its iteration was due (default: as fast as the concurrency allows).
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Climb linearly from zero to the full --rate (or, without one, to the full
    /// --concurrency) over this long first (humantime: 10s, 1m).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub ramp: Option<Duration>,
    /// Write the figures as JSON (PATH `-`: standard output; the table then goes to
    /// standard error).
    #[arg(long = "report", value_name = "json=PATH", value_parser = parse_bench_report)]
    pub report: Option<ReportTarget>,
    /// TLS towards the server.
    #[command(flatten)]
    pub client_tls: ClientTlsArgs,
    /// Scenarios and protos.
    #[command(flatten)]
    pub load: LoadArgs,
    /// HTTP/2 and timing.
    #[command(flatten)]
    pub wire: WireArgs,
}

/// What `grpc-replay bench` does besides benchmarking.
#[derive(Debug, Clone, Subcommand)]
pub enum BenchAction {
    /// Combine the JSON reports of benchmarks run side by side (several machines, the pods
    /// of a Kubernetes Job) into one: counts and latency histograms add up.
    Merge(MergeArgs),
}

/// `grpc-replay bench merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Reports written by `bench --report json=PATH`, or glob patterns such as
    /// '/reports/shard-*.json' (quoted, so that grpc-replay expands them).
    #[arg(required = true, value_name = "REPORT|GLOB")]
    pub reports: Vec<PathBuf>,
    /// Write the combined report as JSON (PATH `-`: standard output; the table then goes
    /// to standard error).
    #[arg(long = "report", value_name = "json=PATH", value_parser = parse_bench_report)]
    pub report: Option<ReportTarget>,
}

/// `grpc-replay check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Also require that the scripts can be played in this role.
    #[arg(long, value_enum, value_name = "ROLE")]
    pub role: Option<RoleArg>,
    /// The server to ask for descriptors with --reflect or a file's `reflect: true`
    /// (HOST:PORT); default: the file's `target:`.
    #[arg(short, long, value_name = "HOST:PORT")]
    pub target: Option<String>,
    /// TLS for the reflection request.
    #[command(flatten)]
    pub client_tls: ClientTlsArgs,
    /// Scenarios and protos.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Warn about scripted messages larger than this many bytes, the limit `run`, `serve`
    /// and `bench` apply (same units as theirs; default 4MiB).
    #[arg(long, default_value = "4MiB", value_parser = parse_size, value_name = "BYTES")]
    pub max_message_size: u64,
}

/// A role, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// The client role (`run`).
    Client,
    /// The server role (`serve`).
    Server,
    /// Both roles (`run --loopback`).
    Both,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    check_var_name(name)?;
    Ok((name.to_string(), value.to_string()))
}

/// Accepts the names `${NAME}` can use: letters, digits, `_`.
pub(super) fn check_var_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{name}` is not a variable name (letters, digits, `_`)"
        ));
    }
    Ok(())
}

fn parse_report(text: &str) -> Result<ReportTarget, String> {
    let names = || {
        ReportFormat::ALL
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (format, path) = text.split_once('=').ok_or_else(|| {
        format!(
            "`{text}` is not FORMAT=PATH (formats: {}; PATH `-` is standard output)",
            names()
        )
    })?;
    let format = ReportFormat::named(format)
        .ok_or_else(|| format!("`{format}` is not a report format (formats: {})", names()))?;
    let path = match path {
        "" => {
            return Err(format!(
                "`{text}` has no PATH (write `-` for standard output)"
            ))
        }
        "-" => None,
        path => Some(PathBuf::from(path)),
    };
    Ok(ReportTarget { format, path })
}

/// A `--report` for `bench`, which writes JSON only.
fn parse_bench_report(text: &str) -> Result<ReportTarget, String> {
    let report = parse_report(text)?;
    if report.format != ReportFormat::Json {
        return Err(format!("`{text}`: bench writes only json=PATH"));
    }
    Ok(report)
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a positive number of iterations per second"
        )),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. 500ms, 10s"))
        .and_then(|d| bounds::duration(d).map_err(|e| format!("`{text}` {e}")))
}

/// How long `bench` runs: more than zero (a run of no calls measures nothing).
fn parse_run_length(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!("`{text}`: a run lasts more than 0s")),
        length => Ok(length),
    }
}

/// A connection timeout of `serve`: more than zero (0 would close every connection).
fn parse_connection_timeout(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!("`{text}`: a connection timeout is more than 0s")),
        limit => Ok(limit),
    }
}

/// An HTTP/2 window: 1 to 2³¹ − 1 bytes (0 would stall every call; more is not HTTP/2).
fn parse_window(text: &str) -> Result<u32, String> {
    match text.parse::<u64>() {
        Ok(n) if (1..=u64::from(MAX_WINDOW)).contains(&n) => Ok(n as u32),
        _ => Err(format!(
            "`{text}` is not an HTTP/2 window: a number of bytes from 1 to {MAX_WINDOW}"
        )),
    }
}

/// A size in bytes: digits, optionally followed by a unit (B, KB, MB, GB in powers of
/// 1000; KiB, MiB, GiB in powers of 1024), from 1 byte to 1 GiB.
pub(super) fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| (1..=bounds::MAX_MESSAGE_SIZE).contains(n))
        .ok_or_else(|| {
            format!(
                "`{text}` is not a message size: a number of bytes from 1 to 1GiB, optionally \
                 with a unit (KB, MB, GB: powers of 1000; KiB, MiB, GiB: powers of 1024), \
                 such as 8MiB"
            )
        })
}

/// A directory that exists (for `-I`).
fn parse_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_dir() {
        Ok(path)
    } else {
        Err(format!("`{text}` is not a directory"))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("4194304"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("8MiB"), Ok(8 * 1024 * 1024));
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        for bad in [
            "",
            "0",
            "2GiB",
            "8mb",
            "MiB",
            "-1",
            "1.5MiB",
            "99999999999999999999",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
