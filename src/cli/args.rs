//! Command-line flags (clap derive).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::report::ColorChoice;

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
        Exit codes: 0 all passed, 1 a scenario failed its expectations,\n\
        2 invalid input (usage, YAML, proto, scenario), 3 transport failure."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play the client role: send the `client:` lines, check the `server:` lines.
    #[command(after_help = "Examples:\n  \
        grpc-replay run scenarios/calculator/maximum.yaml --target localhost:50051\n  \
        grpc-replay run --loopback scenarios/\n  \
        grpc-replay run scenarios/ -t localhost:50051 --var USER=alice -v")]
    Run(RunArgs),
    /// Play the server role: send the `server:` lines, check the `client:` lines.
    #[command(after_help = "Examples:\n  \
        grpc-replay serve scenarios/calculator/ --listen 127.0.0.1:50051\n  \
        grpc-replay serve s.yaml --listen 127.0.0.1:0 --once & ./my-client; wait\n\n\
        Each incoming call plays the first unplayed script whose method, request metadata\n\
        and first client message match. A client that strays from the script gets\n\
        FAILED_PRECONDITION with the file, line and difference in the status message.")]
    Serve(ServeArgs),
    /// Validate scenarios offline: YAML, methods, messages, durations, variables.
    Check(CheckArgs),
    /// List the services and methods of the bundled protos (or of --proto files).
    List(ProtoArgs),
}

/// Where protos come from.
#[derive(Debug, Clone, Args)]
pub struct ProtoArgs {
    /// A .proto file to load instead of the bundled protos (repeatable).
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,
    /// A directory to search for imports (repeatable).
    #[arg(short = 'I', long = "import-path", value_name = "DIR")]
    pub import_paths: Vec<PathBuf>,
}

/// What every command that loads scenarios takes.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Scenario files or directories (searched for *.yaml and *.yml).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Protos to load.
    #[command(flatten)]
    pub protos: ProtoArgs,
    /// Set a variable for `${NAME}` in scenarios (repeatable); wins over the environment
    /// and the file's `vars:`.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// Output options.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Print failures and the summary only.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every step as it happens.
    #[arg(short, long)]
    pub verbose: bool,
    /// When to color the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// HTTP/2 and timing options of both roles.
#[derive(Debug, Clone, Args)]
pub struct WireArgs {
    /// Deadline of a call whose scenario sets no `timeout:` (humantime: 500ms, 10s, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
    /// HTTP/2 stream flow-control window in bytes.
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES")]
    pub http2_stream_window: u32,
    /// HTTP/2 connection flow-control window in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub http2_connection_window: u32,
}

/// `grpc-replay run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenarios and protos.
    #[command(flatten)]
    pub load: LoadArgs,
    /// The server to call (HOST:PORT); overrides the scenario's `target:`.
    #[arg(short, long, value_name = "HOST:PORT", conflicts_with = "loopback")]
    pub target: Option<String>,
    /// Also play the server role in this process, on a free loopback port, and call it
    /// over real TCP: the scenario checks itself, no peer needed.
    #[arg(long)]
    pub loopback: bool,
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
    /// Scenarios and protos.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Address to listen on; port 0 picks a free port (printed on the readiness line).
    /// Default: the scenario's `listen:`, else 127.0.0.1:50051.
    #[arg(short, long, value_name = "HOST:PORT")]
    pub listen: Option<SocketAddr>,
    /// Exit by itself once every script has been played once (the CI mode).
    #[arg(long)]
    pub once: bool,
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
    /// HTTP/2 and timing.
    #[command(flatten)]
    pub wire: WireArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `grpc-replay check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Scenarios and protos.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Also require that the scripts can be played in this role.
    #[arg(long, value_enum, value_name = "ROLE")]
    pub role: Option<RoleArg>,
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
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{name}` is not a variable name (letters, digits, `_`)"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. 500ms, 10s"))
}
