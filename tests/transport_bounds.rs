//! The bounds `serve` puts on its connections, tried over real sockets: the handshake
//! timeout (TLS and the HTTP/2 preface), the idle timeout, failed handshakes logged with
//! their reason and never flooding, and the accept loop backing off when the process runs
//! out of file descriptors.

mod process;

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use process::{grpc_replay, repo_root, Process};

const HELLO: &str = "tests/fixtures/transport/hello.yaml";
const QUIET: &str = "tests/fixtures/transport/quiet_server.yaml";
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame: what a client sends right after the preface.
const EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// What `serve` writes for every connection it closes before HTTP/2.
const CLOSED_EARLY: &str = "closed before HTTP/2 began";

fn serve(command: Command) -> (Process, String) {
    let mut server = Process::start("grpc-replay serve", command);
    let address = server.listening_address();
    (server, address)
}

fn serve_with(scenario: &str, extra: &[&str]) -> (Process, String) {
    let mut args = vec!["serve", scenario, "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    serve(grpc_replay(&args))
}

/// How long after `since` the server closed `stream`, or `None` if it was still open
/// at `limit`.
fn closed_within(stream: &mut TcpStream, since: Instant, limit: Duration) -> Option<Duration> {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let mut buffer = [0u8; 4096];
    while since.elapsed() < limit {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(since.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(since.elapsed()),
        }
    }
    None
}

/// A connection that has sent the HTTP/2 preface and its SETTINGS.
fn http2_connection(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.write_all(PREFACE).expect("preface");
    stream.write_all(EMPTY_SETTINGS).expect("settings");
    stream
}

/// Waits (bounded) until the server's standard error holds `text`; returns all of it.
fn wait_for_stderr(server: &mut Process, text: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let output = server.output_so_far();
        if output.contains(text) {
            return output;
        }
        if Instant::now() > deadline {
            server.fail(&format!("logged no `{text}` within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_passes(scenario: &str, address: &str, extra: &[&str]) {
    let mut args = vec!["run", scenario, "--target", address];
    args.extend_from_slice(extra);
    let finished = Process::run("grpc-replay run", grpc_replay(&args), RUN_LIMIT);
    assert_eq!(finished.code, Some(0), "{}", finished.describe());
}

#[test]
fn a_connection_that_never_starts_http2_is_closed_after_the_handshake_timeout() {
    let (mut server, address) = serve_with(HELLO, &["--handshake-timeout", "1s"]);
    let since = Instant::now();
    let mut silent = TcpStream::connect(&address).expect("connect");
    let closed = closed_within(&mut silent, since, Duration::from_secs(15));
    let closed = closed.unwrap_or_else(|| server.fail("kept a silent connection 15 s"));
    assert!(
        closed >= Duration::from_millis(900),
        "closed after {closed:?}"
    );
    wait_for_stderr(
        &mut server,
        "no HTTP/2 connection preface within 1s",
        RUN_LIMIT,
    );
}

#[test]
fn wrong_twin_a_connection_that_sends_the_preface_in_time_stays_open() {
    let (mut server, address) = serve_with(HELLO, &["--handshake-timeout", "1s"]);
    let since = Instant::now();
    let mut client = http2_connection(&address);
    if let Some(after) = closed_within(&mut client, since, Duration::from_secs(3)) {
        server.fail(&format!("closed an HTTP/2 connection after {after:?}"));
    }
    assert!(!server.output_so_far().contains(CLOSED_EARLY));
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let (mut server, address) = serve_with(HELLO, &["--idle-timeout", "1s"]);
    let since = Instant::now();
    let mut client = http2_connection(&address);
    let closed = closed_within(&mut client, since, Duration::from_secs(15));
    let closed = closed.unwrap_or_else(|| server.fail("kept an idle connection 15 s"));
    assert!(
        closed >= Duration::from_millis(900),
        "closed after {closed:?}"
    );
}

#[test]
fn wrong_twin_a_quiet_call_keeps_its_connection_past_the_idle_timeout() {
    let (server, address) = serve_with(QUIET, &["--idle-timeout", "1s", "--once"]);
    run_passes(QUIET, &address, &[]);
    let finished = server.finish(RUN_LIMIT);
    assert_eq!(finished.code, Some(0), "{}", finished.describe());
}

#[test]
fn failed_handshakes_are_logged_with_their_reason_and_a_flood_is_cut_short() {
    let (mut server, address) = serve_with(HELLO, &[]);
    // A real client first: nothing is logged for it.
    run_passes(HELLO, &address, &[]);
    for bytes in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x16, 3, 1, 0, 5],
    ] {
        TcpStream::connect(&address)
            .and_then(|mut s| s.write_all(bytes))
            .expect("send");
    }
    wait_for_stderr(
        &mut server,
        "the client sent an HTTP/1 request (GET / HTTP/1.1)",
        RUN_LIMIT,
    );
    wait_for_stderr(&mut server, "the client started TLS", RUN_LIMIT);
    for _ in 0..40 {
        let mut stream = TcpStream::connect(&address).expect("connect");
        stream.write_all(b"hello").expect("send");
        closed_within(&mut stream, Instant::now(), Duration::from_secs(5));
    }
    server.terminate();
    let finished = server.finish(RUN_LIMIT);
    let logged = finished.stderr.matches(CLOSED_EARLY).count();
    // Five lines, then one that counts the 37 others.
    assert_eq!(logged, 6, "{}", finished.describe());
    assert!(
        finished
            .stderr
            .contains("37 more connections closed before HTTP/2 began"),
        "{}",
        finished.describe()
    );
}

/// A self-signed certificate for `localhost`, written as PEM into `dir`.
fn self_signed(dir: &std::path::Path) -> (String, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let text = |p: std::path::PathBuf| p.display().to_string();
    (text(cert_path), text(key_path))
}

#[test]
fn tls_handshake_failures_are_logged_with_the_alert_or_the_plaintext() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (cert, key) = self_signed(dir.path());
    let (mut server, address) = serve_with(HELLO, &["--tls-cert", &cert, "--tls-key", &key]);
    // The twin: a client that trusts the certificate plays, and nothing is logged.
    run_passes(
        HELLO,
        &address,
        &["--cacert", &cert, "--authority", "localhost"],
    );
    assert!(!server.output_so_far().contains(CLOSED_EARLY));
    // A client that does not trust it ends the handshake with an alert.
    let untrusting = ["run", HELLO, "--target", &address, "--tls"];
    let finished = Process::run("run --tls", grpc_replay(&untrusting), RUN_LIMIT);
    assert_ne!(finished.code, Some(0), "{}", finished.describe());
    wait_for_stderr(
        &mut server,
        "TLS handshake failed: the client sent the alert",
        RUN_LIMIT,
    );
    let plaintext = ["run", HELLO, "--target", &address];
    let finished = Process::run("run (plaintext)", grpc_replay(&plaintext), RUN_LIMIT);
    assert_ne!(finished.code, Some(0), "{}", finished.describe());
    wait_for_stderr(
        &mut server,
        "the client sent plaintext HTTP/2 to this TLS server",
        RUN_LIMIT,
    );
}

/// User plus system CPU time of process `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
        .split(' ')
        .collect();
    // utime and stime are the 14th and 15th fields; the 3rd (state) is fields[0].
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn ticks_per_second() -> u64 {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK")
}

#[test]
fn out_of_file_descriptors_the_server_backs_off_and_recovers() {
    let mut command = Command::new("prlimit");
    command
        .arg("--nofile=48:48")
        .arg(env!("CARGO_BIN_EXE_grpc-replay"))
        .args(["serve", HELLO, "--listen", "127.0.0.1:0"])
        .current_dir(repo_root())
        .env("NO_COLOR", "1");
    let (mut server, address) = serve(command);
    // Far more open connections than descriptors: the rest wait in the listen backlog.
    let held: Vec<TcpStream> = (0..80).map(|_| http2_connection(&address)).collect();
    wait_for_stderr(&mut server, "cannot accept connections", RUN_LIMIT);
    let (before, since) = (cpu_ticks(server.pid()), Instant::now());
    std::thread::sleep(Duration::from_secs(3));
    let used = (cpu_ticks(server.pid()) - before) as f64 / ticks_per_second() as f64;
    let share = used / since.elapsed().as_secs_f64();
    // A spinning accept loop takes most of a core; backing off takes next to nothing.
    assert!(share < 0.25, "serve used {:.0} % of a core", share * 100.0);
    // Logged once for the whole episode, not once per failed accept.
    let output = server.output_so_far();
    assert_eq!(
        output.matches("cannot accept connections").count(),
        1,
        "{output}"
    );
    drop(held);
    run_passes(HELLO, &address, &[]);
    wait_for_stderr(&mut server, "accepting connections again", RUN_LIMIT);
}
