//! Child processes for the tests that run peers (grpc-replay, the Go programs): output
//! lines read as they come, every wait bounded, killed when dropped.

// Each test binary uses the part of this module it needs.
#![allow(dead_code)]

pub(crate) mod raw_h2;

use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The repository root: fixture paths in the tests are relative to it.
pub(crate) fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `grpc-replay ARGS`, run from the repository root with `NO_COLOR` set (its output is a
/// pipe, so it has no colour either way).
pub(crate) fn grpc_replay(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grpc-replay"));
    command
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1");
    command
}

/// Runs `grpc-replay ARGS` to its end within `limit`.
pub(crate) fn run_grpc_replay(args: &[&str], limit: Duration) -> Finished {
    Process::run("grpc-replay", grpc_replay(args), limit)
}

/// The skip policy for peers that are built or installed apart (the Go programs, Python
/// modules): `true` when every one of `paths` is there. Otherwise the test is skipped —
/// said on standard error, past the harness's capture — unless `require` is set in the
/// environment (the project's test command sets it), where a missing peer fails the test.
pub(crate) fn peers_present(paths: &[&Path], require: &str, remedy: &str) -> bool {
    let missing: Vec<String> = paths
        .iter()
        .filter(|path| !path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("{} missing ({remedy})", missing.join(", "));
    assert!(
        std::env::var_os(require).is_none(),
        "{require} is set but {why}"
    );
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
    false
}

/// The virtual environment's Python (`target/venv`, made by scripts/test.sh), or `None`
/// (said on stderr) when it cannot import grpcio and grpcio-tools and
/// GRPC_REPLAY_REQUIRE_PY is unset.
pub(crate) fn venv_python() -> Option<PathBuf> {
    let python = repo_root().join("target/venv/bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import grpc_tools.protoc, grpc"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ready {
        return Some(python);
    }
    let install = "python3 -m venv target/venv && target/venv/bin/pip install grpcio-tools";
    assert!(
        std::env::var_os("GRPC_REPLAY_REQUIRE_PY").is_none(),
        "GRPC_REPLAY_REQUIRE_PY is set but {} cannot import grpc_tools: {install}",
        python.display()
    );
    let _ = writeln!(
        std::io::stderr(),
        "skipped: no grpcio-tools in target/venv ({install})"
    );
    None
}

/// A Go peer built by `interop/go/build.sh` (`interop/go/bin/PROGRAM`), or `None` when it
/// is not built and the test is skipped (see [`peers_present`]; `GRPC_REPLAY_REQUIRE_GO`).
pub(crate) fn go_peer(program: &str) -> Option<PathBuf> {
    let path = repo_root().join("interop/go/bin").join(program);
    peers_present(
        &[&path],
        "GRPC_REPLAY_REQUIRE_GO",
        "run interop/go/build.sh",
    )
    .then_some(path)
}

/// How long a server may take to print `listening on …` or to accept connections.
pub(crate) const LISTEN_LIMIT: Duration = Duration::from_secs(15);
/// How long the output of an exited process may take to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// A child process whose output lines are read as they come; killed when dropped.
pub(crate) struct Process {
    name: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    seen_stdout: Vec<String>,
    seen_stderr: Vec<String>,
}

/// How a process ended, and everything it printed.
pub(crate) struct Finished {
    /// What the process is, for messages.
    pub name: String,
    /// Its exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Finished {
    /// The whole story, for assertion messages.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} exited with {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.name, self.code, self.stdout, self.stderr
        )
    }
}

/// Sends every line read from `reader` on the returned channel, until end of file.
fn read_lines(reader: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Every line still to come from an exited process (bounded), after the ones seen.
fn drain(lines: &Receiver<String>, seen: &mut Vec<String>) -> String {
    let deadline = Instant::now() + DRAIN_LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                seen.push(format!("(output still open after {DRAIN_LIMIT:?})"));
                break;
            }
        }
    }
    seen.iter().map(|line| format!("{line}\n")).collect()
}

impl Process {
    /// Starts `command`, named `name` in messages.
    pub(crate) fn start(name: &str, mut command: Command) -> Process {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let stdout = read_lines(child.stdout.take().expect("piped stdout"));
        let stderr = read_lines(child.stderr.take().expect("piped stderr"));
        Process {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            seen_stdout: Vec::new(),
            seen_stderr: Vec::new(),
        }
    }

    /// Runs `command` to its end, within `limit`.
    pub(crate) fn run(name: &str, command: Command, limit: Duration) -> Finished {
        Process::start(name, command).finish(limit)
    }

    /// Panics with what went wrong and what the process printed so far (it is then
    /// killed on drop).
    pub(crate) fn fail(&mut self, what: &str) -> ! {
        let output = self.output_so_far();
        panic!("{} {what}\n{output}", self.name)
    }

    /// What the process printed so far, for messages.
    pub(crate) fn output_so_far(&mut self) -> String {
        self.seen_stdout.extend(self.stdout.try_iter());
        self.seen_stderr.extend(self.stderr.try_iter());
        format!(
            "--- {} stdout ---\n{}\n--- {} stderr ---\n{}\n",
            self.name,
            self.seen_stdout.join("\n"),
            self.name,
            self.seen_stderr.join("\n")
        )
    }

    /// The next line of standard output, waiting at most until `deadline`; `None` when
    /// none came in time. Fails when the process closed its output.
    pub(crate) fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.stdout.recv_timeout(left) {
            Ok(line) => {
                self.seen_stdout.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.try_wait().ok().flatten();
                self.fail(&format!("closed its output (exit status {status:?})"))
            }
        }
    }

    /// Waits (bounded) for the `listening on HOST:PORT` line and returns the address.
    pub(crate) fn listening_address(&mut self) -> String {
        let deadline = Instant::now() + LISTEN_LIMIT;
        loop {
            match self.next_line(deadline) {
                Some(line) => {
                    if let Some(address) = line.strip_prefix("listening on ") {
                        return address.to_string();
                    }
                }
                None => self.fail(&format!(
                    "printed no `listening on` line within {LISTEN_LIMIT:?}"
                )),
            }
        }
    }

    /// Waits (bounded) until `port` on 127.0.0.1 accepts connections.
    pub(crate) fn wait_for_port(&mut self, port: u16) {
        let deadline = Instant::now() + LISTEN_LIMIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.fail(&format!("exited ({status}) before listening on {port}"));
            }
            if Instant::now() > deadline {
                self.fail(&format!("did not listen on {port} within {LISTEN_LIMIT:?}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the process printed on standard output so far.
    pub(crate) fn stdout_so_far(&mut self) -> String {
        self.seen_stdout.extend(self.stdout.try_iter());
        self.seen_stdout
            .iter()
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id (to read its CPU time in /proc).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as a service manager would.
    pub(crate) fn terminate(&mut self) {
        self.signal("TERM");
    }

    /// Sends the signal `name` (`INT`, `TERM`, `KILL`…).
    pub(crate) fn signal(&mut self, name: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status();
        if !matches!(status, Ok(status) if status.success()) {
            self.fail(&format!("could not be sent SIG{name} ({status:?})"));
        }
    }

    /// Waits (bounded by `limit`) for a line of standard output that contains `text`.
    pub(crate) fn wait_for_line(&mut self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            match self.next_line(deadline) {
                Some(line) if line.contains(text) => return line,
                Some(_) => {}
                None => self.fail(&format!("printed no line with `{text}` within {limit:?}")),
            }
        }
    }

    /// Waits up to `limit` for the process to exit by itself; `None` (and the process is
    /// killed, as it is dropped) when it did not.
    pub(crate) fn try_finish(mut self, limit: Duration) -> Option<Finished> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return Some(self.finish(Duration::ZERO)),
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
        }
        None
    }

    /// Waits (bounded) for the process to exit by itself, then collects its output.
    pub(crate) fn finish(self, limit: Duration) -> Finished {
        self.finish_explaining(limit, "")
    }

    /// As [`Process::finish`]; `late` says what it means when the process is still
    /// running after `limit`.
    pub(crate) fn finish_explaining(mut self, limit: Duration, late: &str) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => self.fail(&format!("did not exit within {limit:?} {late}")),
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
        };
        let stdout = drain(&self.stdout, &mut self.seen_stdout);
        let stderr = drain(&self.stderr, &mut self.seen_stderr);
        Finished {
            name: self.name.clone(),
            code: status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&status),
            stdout,
            stderr,
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
