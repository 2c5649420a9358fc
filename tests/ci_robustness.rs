//! CI never loses a result: a file that does not load, a run stopped by SIGINT or
//! SIGTERM (or killed outright), `serve --once` stopped with scripts unplayed, and a peer
//! that dies mid-call each leave complete reports, read back by independent parsers
//! (junitparser and xmlschema with the Jenkins XSD, tap.py, the JSON schema), and end
//! with the documented exit code.
//!
//! Fixtures: tests/fixtures/ci/. Every command runs from the package root.

mod parsers;
mod process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use parsers::{assert_valid_report, junitparser, tap_parser, validate_junit_xsd};
use process::{Finished, Process};

/// The fixtures, relative to the package root.
const FIXTURES: &str = "tests/fixtures/ci";
/// How long any command here may take to end once it should.
const LIMIT: Duration = Duration::from_secs(30);

/// The three report files of a command, in a temporary folder.
struct Reports {
    _dir: tempfile::TempDir,
    junit: PathBuf,
    json: PathBuf,
    tap: PathBuf,
}

impl Reports {
    fn new() -> Reports {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let base = dir.path().join("reports");
        Reports {
            junit: base.join("junit.xml"),
            json: base.join("report.json"),
            tap: base.join("report.tap"),
            _dir: dir,
        }
    }

    /// The `--report` flags that write them.
    fn args(&self) -> Vec<String> {
        [
            ("junit", &self.junit),
            ("json", &self.json),
            ("tap", &self.tap),
        ]
        .iter()
        .flat_map(|(format, path)| {
            [
                "--report".to_string(),
                format!("{format}={}", path.display()),
            ]
        })
        .collect()
    }

    /// Reads every report with its independent parser (each must accept it): the JSON
    /// report, and the JUnit and TAP reports as junitparser and tap.py read them (`None`
    /// when Python's modules are missing).
    fn parsed(&self) -> Parsed {
        let json: Value = serde_json::from_str(&read(&self.json)).expect("the report is JSON");
        assert_valid_report(&json);
        validate_junit_xsd(&self.junit);
        let tap = tap_parser(&self.tap);
        if let Some(tap) = &tap {
            assert_eq!(tap["unknown"], Value::Array(Vec::new()), "{tap}");
            assert_eq!(tap["plan"], tap["tests"].as_array().unwrap().len(), "{tap}");
        }
        Parsed {
            json,
            junit: junitparser(&self.junit),
            tap,
        }
    }
}

/// The reports as their parsers read them.
struct Parsed {
    json: Value,
    junit: Option<Value>,
    tap: Option<Value>,
}

impl Parsed {
    /// Asserts the status of the call `id` in the JSON report, and the same verdict in the
    /// JUnit (result element and type) and TAP (ok / not ok) reports.
    fn assert_case(&self, id: &str, status: &str, junit: Option<(&str, &str)>) -> &Self {
        let call = self.json["files"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["calls"].as_array().unwrap())
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no call {id} in {}", self.json));
        assert_eq!(call["status"], status, "{call}");
        let name = call["name"].as_str().unwrap();
        if let Some(parsed) = &self.junit {
            let case = cases(parsed)
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("no JUnit case {name} in {parsed}"));
            let results = case["results"].as_array().unwrap();
            match junit {
                None => assert!(results.is_empty(), "{case}"),
                Some((kind, kind_type)) => {
                    assert_eq!(results.len(), 1, "{case}");
                    assert_eq!(results[0]["kind"], kind, "{case}");
                    assert_eq!(results[0]["type"], kind_type, "{case}");
                }
            }
        }
        if let Some(tap) = &self.tap {
            let point = tap["tests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["description"].as_str().unwrap().ends_with(name))
                .unwrap_or_else(|| panic!("no TAP point {name} in {tap}"));
            assert_eq!(point["ok"], junit.is_none(), "{point}");
        }
        self
    }

    /// Asserts the JSON report's exit code and summary counts.
    fn assert_summary(&self, exit: i32, counts: &[(&str, u64)]) -> &Self {
        assert_eq!(self.json["exit_code"], exit, "{}", self.json["summary"]);
        for (key, count) in counts {
            assert_eq!(self.json["summary"][key], *count, "{key}: {}", self.json);
        }
        self
    }
}

/// Every JUnit case as junitparser read it.
fn cases(parsed: &Value) -> impl Iterator<Item = &Value> {
    parsed["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `grpc-replay ARGS` from the package root.
fn command(args: &[&str], reports: Option<&Reports>) -> Command {
    let mut command = process::grpc_replay(args);
    command.args(["--color", "never"]);
    if let Some(reports) = reports {
        command.args(reports.args());
    }
    command
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn assert_exit(finished: &Finished, code: i32) {
    assert_eq!(finished.code, Some(code), "{}", finished.describe());
    assert!(
        !finished.stderr.contains("panicked"),
        "{}",
        finished.describe()
    );
}

#[test]
fn a_file_that_does_not_load_is_an_error_case_and_the_others_still_play() {
    let reports = Reports::new();
    let mixed = fixture("mixed");
    let run = Process::run(
        "run",
        command(&["run", "--loopback", &mixed], Some(&reports)),
        LIMIT,
    );
    assert_exit(&run, 2);
    assert!(run.stdout.contains("✓"), "{}", run.describe());
    let parsed = reports.parsed();
    parsed
        .assert_summary(2, &[("passed", 1), ("invalid_files", 1)])
        .assert_case("hello", "passed", None)
        .assert_case("load", "invalid", Some(("Error", "invalid")));
    let located = format!("{FIXTURES}/mixed/bad.yaml:6:14: unknown field `reslt`");
    let failure = &parsed.json["files"][0]["calls"][0]["failure"];
    assert!(
        failure["text"].as_str().unwrap().contains(&located),
        "{failure}"
    );
    if let Some(junit) = &parsed.junit {
        let error = cases(junit).find(|c| c["name"] == "load").unwrap();
        assert!(
            error["results"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with(&located),
            "{error}"
        );
    }
    if let Some(tap) = &parsed.tap {
        let point = &tap["tests"][0];
        assert_eq!(point["yaml"]["at"]["line"], 6, "{point}");
    }
}

#[test]
fn the_valid_file_alone_passes() {
    let reports = Reports::new();
    let good = fixture("mixed/good.yaml");
    let run = Process::run(
        "run",
        command(&["run", "--loopback", &good], Some(&reports)),
        LIMIT,
    );
    assert_exit(&run, 0);
    reports
        .parsed()
        .assert_summary(0, &[("passed", 1), ("invalid_files", 0)])
        .assert_case("hello", "passed", None);
}

/// Starts `run --loopback slow.yaml`, waits for the quick call to pass, sends `signal`.
fn run_stopped_by(signal: &str) -> (Finished, Reports) {
    let reports = Reports::new();
    let slow = fixture("slow.yaml");
    let mut run = Process::start(
        "run",
        command(&["run", "--loopback", &slow], Some(&reports)),
    );
    run.wait_for_line("[quick]", LIMIT);
    run.signal(signal);
    (run.finish(LIMIT), reports)
}

/// A run stopped by SIG`signal` exits 1, says so, and its reports hold the call that
/// passed and the one that was interrupted.
fn assert_stopped_run_reports(signal: &str) {
    let (run, reports) = run_stopped_by(signal);
    assert_exit(&run, 1);
    assert!(
        run.stdout.contains(&format!("interrupted: SIG{signal}")),
        "{}",
        run.describe()
    );
    reports
        .parsed()
        .assert_summary(1, &[("passed", 1), ("interrupted", 1)])
        .assert_case("quick", "passed", None)
        .assert_case("slow", "interrupted", Some(("Failure", "interrupted")));
}

#[test]
fn a_run_stopped_by_sigint_reports_what_passed_and_what_was_interrupted() {
    assert_stopped_run_reports("INT");
}

#[test]
fn a_run_stopped_by_sigterm_reports_what_passed_and_what_was_interrupted() {
    assert_stopped_run_reports("TERM");
}

#[test]
fn a_run_killed_outright_leaves_the_reports_it_wrote_while_playing() {
    let reports = Reports::new();
    let slow = fixture("slow.yaml");
    let mut run = Process::start(
        "run",
        command(&["run", "--loopback", &slow], Some(&reports)),
    );
    run.wait_for_line("[quick]", LIMIT);
    // The reports are rewritten at most every second once a call has ended.
    let deadline = std::time::Instant::now() + LIMIT;
    while !read_or_empty(&reports.json).contains("\"passed\": 1") {
        assert!(
            std::time::Instant::now() < deadline,
            "no report with the passed call"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    run.signal("KILL");
    let killed = run.finish(LIMIT);
    assert_eq!(killed.code, None, "{}", killed.describe());
    reports
        .parsed()
        .assert_summary(1, &[("passed", 1), ("interrupted", 1)])
        .assert_case("quick", "passed", None)
        .assert_case("slow", "interrupted", Some(("Failure", "interrupted")));
}

fn read_or_empty(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `serve --once both.yaml` with reports; returns it and its address.
fn serve_once(reports: &Reports) -> (Process, String) {
    let both = fixture("both.yaml");
    let mut serve = Process::start(
        "serve",
        command(
            &["serve", &both, "--listen", "127.0.0.1:0", "--once"],
            Some(reports),
        ),
    );
    let address = serve.listening_address();
    (serve, address)
}

#[test]
fn serve_once_stopped_with_a_script_unplayed_fails() {
    let reports = Reports::new();
    let (mut serve, address) = serve_once(&reports);
    let quick = fixture("quick_only.yaml");
    let client = Process::run(
        "run",
        command(&["run", &quick, "--target", &address], None),
        LIMIT,
    );
    assert_exit(&client, 0);
    serve.terminate();
    let served = serve.finish(LIMIT);
    assert_exit(&served, 1);
    reports
        .parsed()
        .assert_summary(1, &[("passed", 1), ("interrupted", 1)])
        .assert_case("first", "passed", None)
        .assert_case("second", "interrupted", Some(("Failure", "interrupted")));
}

#[test]
fn serve_once_with_every_script_played_passes() {
    let reports = Reports::new();
    let (serve, address) = serve_once(&reports);
    let both = fixture("both.yaml");
    let client = Process::run(
        "run",
        command(&["run", &both, "--target", &address], None),
        LIMIT,
    );
    assert_exit(&client, 0);
    let served = serve.finish(LIMIT);
    assert_exit(&served, 0);
    reports
        .parsed()
        .assert_summary(0, &[("passed", 2), ("interrupted", 0)])
        .assert_case("first", "passed", None)
        .assert_case("second", "passed", None);
}

#[test]
fn a_server_killed_mid_call_is_a_transport_failure_in_every_report() {
    let slow = fixture("slow.yaml");
    let mut serve = Process::start(
        "serve",
        command(&["serve", &slow, "--listen", "127.0.0.1:0"], None),
    );
    let address = serve.listening_address();
    let reports = Reports::new();
    let mut run = Process::start(
        "run",
        command(&["run", &slow, "--target", &address], Some(&reports)),
    );
    run.wait_for_line("[quick]", LIMIT);
    // The slow call is under way (its reply is due in 60 s) when the server dies.
    std::thread::sleep(Duration::from_millis(300));
    serve.signal("KILL");
    let run = run.finish(LIMIT);
    assert_exit(&run, 3);
    reports
        .parsed()
        .assert_summary(3, &[("passed", 1), ("transport_failures", 1)])
        .assert_case("quick", "passed", None)
        .assert_case("slow", "transport_failure", Some(("Error", "transport")));
}

/// A port nothing listens on now (the OS picked it free).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// `run quick_only.yaml` against a port where a server starts a second later (host name
/// `localhost`); `wait` is the `--wait-for-target` flag, if any.
fn run_before_its_server(wait: Option<&str>) -> (Finished, Process) {
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    let quick = fixture("quick_only.yaml");
    let mut args = vec!["run", &quick, "--target", &target];
    if let Some(wait) = wait {
        args.extend(["--wait-for-target", wait]);
    }
    let run = Process::start("run", command(&args, None));
    std::thread::sleep(Duration::from_secs(1));
    let listen = format!("localhost:{port}");
    let mut serve = Process::start(
        "serve",
        command(&["serve", &quick, "--listen", &listen, "--once"], None),
    );
    serve.wait_for_port(port);
    (run.finish(LIMIT), serve)
}

#[test]
fn run_waits_for_a_server_that_starts_after_it() {
    let (run, serve) = run_before_its_server(Some("10s"));
    assert_exit(&run, 0);
    assert!(run.stdout.contains("1 passed"), "{}", run.describe());
    assert_exit(&serve.finish(LIMIT), 0);
}

#[test]
fn run_without_waiting_fails_to_connect_to_a_server_not_started_yet() {
    let (run, mut serve) = run_before_its_server(None);
    assert_exit(&run, 3);
    // The server never got its call: stopped, it fails for the script never played.
    serve.terminate();
    assert_exit(&serve.finish(LIMIT), 1);
}

#[test]
fn client_sleeps_and_afters_end_at_the_calls_deadline() {
    let sleepy = fixture("sleepy.yaml");
    let started = std::time::Instant::now();
    let run = Process::run("run", command(&["run", "--loopback", &sleepy], None), LIMIT);
    // The bound is the feature: 2 s deadlines, against a 30 s sleep and a 99999999h wait.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{}",
        run.describe()
    );
    assert_exit(&run, 1);
    assert!(
        run.stdout.contains("0 passed, 2 failed"),
        "{}",
        run.describe()
    );
}

/// A HelloWorld/hello call for `name` made with h2 itself, sending `grpc-timeout` as
/// given (grpc-replay's client always sends its own); returns the `grpc-status` trailer.
async fn raw_hello(address: &str, name: &str, grpc_timeout: &str) -> Option<String> {
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let request = http::Request::post(format!("http://{address}/HelloWorld/hello"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", grpc_timeout)
        .body(())
        .expect("request");
    let (response, mut send) = client.send_request(request, false).expect("send");
    // google.protobuf.StringValue {value: name}, in a gRPC frame.
    let mut message = vec![0x0a, name.len() as u8];
    message.extend_from_slice(name.as_bytes());
    let mut frame = vec![0, 0, 0, 0, message.len() as u8];
    frame.extend(message);
    send.send_data(frame.into(), true).expect("data");
    let mut body = response.await.ok()?.into_body();
    while let Some(data) = body.data().await {
        let _ = data.ok()?;
    }
    let trailers = body.trailers().await.ok()??;
    Some(trailers.get("grpc-status")?.to_str().ok()?.to_string())
}

/// `serve --once quick_only.yaml` answers one raw call for `name` with a `grpc-timeout`
/// far beyond what a deadline can hold; returns the call's status and serve's reports.
fn serve_a_raw_call_with_a_huge_grpc_timeout(name: &str) -> (Option<String>, Finished, Reports) {
    let reports = Reports::new();
    let quick = fixture("quick_only.yaml");
    let args = ["serve", &quick, "--listen", "127.0.0.1:0", "--once"];
    let mut serve = Process::start("serve", command(&args, Some(&reports)));
    let address = serve.listening_address();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let call = raw_hello(&address, name, "18446744073709551615S");
    let status = runtime.block_on(async { tokio::time::timeout(LIMIT, call).await });
    let status = status.unwrap_or_else(|_| serve.fail("did not answer within the limit"));
    let finished = serve
        .try_finish(LIMIT)
        .expect("serve --once ends after its one call");
    (status, finished, reports)
}

#[test]
fn a_grpc_timeout_beyond_any_deadline_is_no_deadline_and_the_call_plays() {
    // It made the server's handler panic: the call was lost ("never played").
    let (status, serve, reports) = serve_a_raw_call_with_a_huge_grpc_timeout("Sam");
    assert_eq!(status.as_deref(), Some("0"), "{}", serve.describe());
    assert_exit(&serve, 0);
    reports
        .parsed()
        .assert_summary(0, &[("passed", 1)])
        .assert_case("quick", "passed", None);
}

#[test]
fn wrong_twin_the_same_raw_call_with_another_name_fails_the_script() {
    let (status, serve, reports) = serve_a_raw_call_with_a_huge_grpc_timeout("Bob");
    assert_ne!(status.as_deref(), Some("0"), "{}", serve.describe());
    assert_exit(&serve, 1);
    reports
        .parsed()
        .assert_summary(1, &[("failed", 1)])
        .assert_case("quick", "failed", Some(("Failure", "mismatch")));
}

/// The reflection fixtures: vault.proto is not bundled; vault.yaml serves it (with
/// reflection), vault_client.yaml calls it, vault_reflect_key.yaml says `reflect: true`.
const VAULT: &str = "tests/fixtures/descriptors/reflect";

#[test]
fn check_asks_the_target_for_its_descriptors() {
    let served = format!("{VAULT}/vault.yaml");
    let mut serve = Process::start(
        "serve",
        command(&["serve", &served, "--listen", "127.0.0.1:0"], None),
    );
    let address = serve.listening_address();
    let client = format!("{VAULT}/vault_client.yaml");
    let flag = ["check", "--reflect", "-t", &address, &client];
    assert_exit(
        &Process::run("check --reflect", command(&flag, None), LIMIT),
        0,
    );
    let key = format!("{VAULT}/vault_reflect_key.yaml");
    let in_file = ["check", "-t", &address, &key];
    assert_exit(
        &Process::run("check reflect: true", command(&in_file, None), LIMIT),
        0,
    );
    // The twin: without reflection the vault service is unknown.
    let offline = Process::run("check", command(&["check", &client], None), LIMIT);
    assert_exit(&offline, 2);
}

#[test]
fn check_with_reflect_and_no_target_says_what_to_give() {
    let client = format!("{VAULT}/vault_client.yaml");
    let args = ["check", "--reflect", &client];
    let done = Process::run("check --reflect", command(&args, None), LIMIT);
    assert_exit(&done, 2);
    assert!(
        done.stderr.contains("give --target HOST:PORT"),
        "{}",
        done.describe()
    );
}

#[test]
fn serve_cannot_reflect_itself_and_says_to_give_the_protos() {
    let client = format!("{VAULT}/vault_client.yaml");
    let flag = ["serve", "--reflect", &client, "--once"];
    let done = Process::run("serve --reflect", command(&flag, None), LIMIT);
    assert_exit(&done, 2);
    assert!(
        done.stderr
            .contains("give the protos with --proto or --protoset"),
        "{}",
        done.describe()
    );
    // `reflect: true` in the file: the error points at it.
    let key = format!("{VAULT}/vault_reflect_key.yaml");
    let done = Process::run("serve", command(&["serve", &key, "--once"], None), LIMIT);
    assert_exit(&done, 2);
    assert!(
        done.stderr.contains(&format!("{key}:2:10: ")),
        "{}",
        done.describe()
    );
    assert!(
        done.stderr.contains("--proto or --protoset"),
        "{}",
        done.describe()
    );
}
