//! The CI surface of `run` and `serve`: JUnit, JSON and TAP reports (each read back by an
//! independent consumer: PyPI's junitparser and xmlschema with the Jenkins JUnit XSD, the
//! `jsonschema` crate with docs/report-schema.json, PyPI's tap.py), exit codes,
//! `--fail-fast`, `--output json`, `--jobs`, `--filter`, globs and `--vars-file`.
//!
//! Scenarios come from tests/fixtures/reports/ and are played with `run --loopback` (no
//! external peer); a failing case is a step whose `expect:` the other role does not meet.
//! The Python checks skip with a message when their modules are missing, unless
//! GRPC_REPLAY_REQUIRE_PY is set (scripts/test.sh sets it and installs them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod parsers;
mod process;

use process::Process;

use parsers::{junitparser, schema_errors, tap_parser, validate_junit_xsd};

/// The fixtures, relative to the package root (the binary runs there, so that reports name
/// files the same way on every machine).
const FIXTURES: &str = "tests/fixtures/reports";
/// The longest any command here may take.
const TIME_LIMIT: Duration = Duration::from_secs(30);

/// What a finished command left.
struct Finished {
    code: i32,
    stdout: String,
    stderr: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// `grpc-replay ARGS` from the repository root, with `NO_COLOR` unset (the colour tests
/// set what they need).
fn grpc_replay(args: &[&str]) -> Command {
    let mut command = process::grpc_replay(args);
    command.env_remove("NO_COLOR");
    command
}

/// What a finished process left, with its exit code (-1 for a signal).
fn finished(done: process::Finished) -> Finished {
    Finished {
        code: done.code.unwrap_or(-1),
        stdout: done.stdout,
        stderr: done.stderr,
    }
}

/// Runs grpc-replay to its end, within the time limit.
fn run(args: &[&str]) -> Finished {
    finished(Process::run("grpc-replay", grpc_replay(args), TIME_LIMIT))
}

/// A scratch folder for reports.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

fn report_arg(format: &str, path: &Path) -> String {
    format!("{format}={}", path.display())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Validates a JSON report against docs/report-schema.json.
fn assert_matches_schema(report: &Value) {
    assert_valid(&report_schema(), report);
}

/// Validates a line of `--output json` against the schema's `$defs/event`.
fn assert_valid_event(event: &Value) {
    let schema = report_schema();
    let events = serde_json::json!({
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/event",
    });
    assert_valid(&events, event);
}

fn report_schema() -> Value {
    serde_json::from_str(&read(&root().join("docs/report-schema.json")))
        .expect("the schema is JSON")
}

fn assert_valid(schema: &Value, instance: &Value) {
    let errors = schema_errors(schema, instance);
    assert!(
        errors.is_empty(),
        "{instance}\nbreaks the schema:\n{}",
        errors.join("\n")
    );
}

/// Plays `args` with every report format into `dir`; returns the run and the paths.
fn run_with_reports(dir: &Path, args: &[&str]) -> (Finished, PathBuf, PathBuf, PathBuf) {
    let (junit, json, tap) = (
        dir.join("reports/junit.xml"),
        dir.join("reports/run.json"),
        dir.join("reports/run.tap"),
    );
    let (junit_arg, json_arg, tap_arg) = (
        report_arg("junit", &junit),
        report_arg("json", &json),
        report_arg("tap", &tap),
    );
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--color", "never", "--report", &junit_arg, "--report", &json_arg, "--report", &tap_arg,
    ]);
    (run(&all), junit, json, tap)
}

/// The suite folder: three passing files (four calls) and wrong_feature.yaml failing.
fn suite_run(dir: &Path) -> (Finished, PathBuf, PathBuf, PathBuf) {
    let suite = fixture("suite");
    let played = run_with_reports(dir, &["run", "--loopback", &suite]);
    assert_eq!(
        played.0.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        played.0.stdout, played.0.stderr
    );
    played
}

const FAILING_FILE: &str = "tests/fixtures/reports/suite/wrong_feature.yaml";
const FAILING_PLACE: &str = "tests/fixtures/reports/suite/wrong_feature.yaml:7:5: step `server`";
const FAILING_DIFF: &str = r#"name: expected "Broadway", received "Main Street""#;

#[test]
fn a_failing_scenario_among_passing_ones_exits_1_with_the_summary() {
    let dir = scratch();
    let (done, ..) = suite_run(dir.path());
    let last = done.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("4 files, 5 calls: 4 passed, 1 failed ("),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains(FAILING_PLACE), "{}", done.stdout);
    assert!(done.stdout.contains(FAILING_DIFF), "{}", done.stdout);
}

#[test]
fn junit_report_has_exactly_the_failing_case_failed_and_validates() {
    let dir = scratch();
    let (_, junit, ..) = suite_run(dir.path());
    let xml = read(&junit);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert_eq!(xml.matches("<testcase ").count(), 5, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    validate_junit_xsd(&junit);
    let Some(parsed) = junitparser(&junit) else {
        return;
    };
    assert_eq!(parsed["tests"], 5);
    assert_eq!(parsed["failures"], 1);
    assert_eq!(parsed["errors"], 0);
    let suites = parsed["suites"].as_array().unwrap();
    let names: Vec<&str> = suites.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "tests/fixtures/reports/suite/hello.yaml",
            "tests/fixtures/reports/suite/maximum.yaml",
            "tests/fixtures/reports/suite/route.yaml",
            FAILING_FILE,
        ]
    );
    let route_cases: Vec<&str> = suites[2]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(route_cases, ["whippany", "nowhere"]);
    let failed: Vec<(&Value, &Value)> = suites
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap().iter().map(move |c| (s, c)))
        .filter(|(_, c)| !c["results"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(failed.len(), 1, "{parsed:#}");
    let (suite, case) = failed[0];
    assert_eq!(suite["name"], FAILING_FILE);
    assert_eq!(
        (suite["tests"].as_u64(), suite["failures"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(case["name"], "feature name is checked");
    assert_eq!(case["classname"], FAILING_FILE);
    assert!(case["time"].as_f64().unwrap() > 0.0);
    let result = &case["results"][0];
    assert_eq!(result["kind"], "Failure");
    assert_eq!(result["type"], "mismatch");
    let message = result["message"].as_str().unwrap();
    assert!(message.starts_with(FAILING_PLACE), "{message}");
    let text = result["text"].as_str().unwrap();
    assert!(text.contains(FAILING_DIFF), "{text}");
    assert!(text.contains("steps:\n"), "{text}");
    assert!(text.contains("✗ server"), "{text}");
}

#[test]
fn json_report_holds_the_transcript_and_the_diff_and_matches_its_schema() {
    let dir = scratch();
    let (_, _, json, _) = suite_run(dir.path());
    let report = read_json(&json);
    assert_matches_schema(&report);
    let mut broken = report.clone();
    broken["files"][0]["calls"][0]["status"] = "green".into();
    broken["files"][0]["calls"][0]["steps"][0]["surprise"] = true.into();
    assert_eq!(
        schema_errors(&report_schema(), &broken).len(),
        2,
        "the schema is checked"
    );
    assert_eq!(report["command"], "run");
    assert_eq!(report["exit_code"], 1);
    let summary = &report["summary"];
    assert_eq!(
        [
            &summary["files"],
            &summary["calls"],
            &summary["passed"],
            &summary["failed"]
        ],
        [4, 5, 4, 1]
    );
    let files = report["files"].as_array().unwrap();
    let failing = files.iter().find(|f| f["path"] == FAILING_FILE).unwrap();
    let call = &failing["calls"][0];
    assert_eq!(call["status"], "failed");
    let failure = &call["failure"];
    assert_eq!(
        (&failure["kind"], &failure["line"], &failure["step"]),
        (&"mismatch".into(), &7.into(), &"server".into())
    );
    assert_eq!(
        failure["diffs"],
        serde_json::json!([{"path": "name", "expected": "\"Broadway\"", "received": "\"Main Street\""}])
    );
    assert!(failure["text"].as_str().unwrap().contains(FAILING_DIFF));
    // The transcript: what the client sent, and what the server sent back.
    let steps = call["steps"].as_array().unwrap();
    assert_eq!(steps[0]["outcome"], "performed");
    assert_eq!(steps[0]["detail"], r#"{"latitude":1,"longitude":2}"#);
    let failed_step = steps.iter().find(|s| s["outcome"] == "failed").unwrap();
    let received = failed_step["received"].as_array().unwrap();
    let message = received.iter().find(|r| r["kind"] == "message").unwrap();
    assert_eq!(message["message"]["name"], "Main Street");

    // Headers, trailers and `within:` with the measured wait.
    let maximum = files
        .iter()
        .find(|f| f["path"] == "tests/fixtures/reports/suite/maximum.yaml")
        .unwrap();
    let steps = maximum["calls"][0]["steps"].as_array().unwrap();
    let headers = steps.iter().find(|s| s["keyword"] == "headers").unwrap();
    assert!(headers["detail"]
        .as_str()
        .unwrap()
        .contains("x-served-by: grpc-replay"));
    let status = steps.iter().find(|s| s["keyword"] == "status").unwrap();
    let status_received = status["received"].as_array().unwrap();
    let final_status = status_received
        .iter()
        .find(|r| r["kind"] == "status")
        .unwrap();
    let text = final_status["text"].as_str().unwrap();
    assert!(
        text.starts_with("status OK") && text.contains("x-checked: yes"),
        "{text}"
    );
    let bounded = steps.iter().find(|s| s["line"] == 11).unwrap();
    assert_eq!(bounded["within_ms"], 2000.0);
    let waited = bounded["waited_ms"].as_f64().unwrap();
    assert!((0.0..2000.0).contains(&waited), "{bounded}");
}

#[test]
fn tap_report_counts_and_explains_the_failure() {
    let dir = scratch();
    let (_, _, _, tap) = suite_run(dir.path());
    let text = read(&tap);
    assert!(text.starts_with("TAP version 13\n1..5\n"), "{text}");
    assert_eq!(text.matches("\nnot ok ").count(), 1, "{text}");
    let Some(parsed) = tap_parser(&tap) else {
        return;
    };
    assert_eq!(parsed["version"], 13);
    assert_eq!(parsed["plan"], 5);
    assert_eq!(parsed["unknown"], serde_json::json!([]), "{parsed:#}");
    let tests = parsed["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 5);
    let failed: Vec<&Value> = tests.iter().filter(|t| t["ok"] == false).collect();
    assert_eq!(failed.len(), 1);
    let failed = failed[0];
    assert_eq!(failed["number"], 5);
    assert_eq!(
        failed["description"],
        format!("- {FAILING_FILE} — feature name is checked")
    );
    let yaml = &failed["yaml"];
    assert!(
        yaml["message"].as_str().unwrap().starts_with(FAILING_PLACE),
        "{yaml}"
    );
    assert_eq!(yaml["at"]["line"], 7);
    assert_eq!(yaml["kind"], "mismatch");
    assert_eq!(yaml["diffs"][0]["path"], "name");
    assert_eq!(yaml["diffs"][0]["received"], "\"Main Street\"");
}

#[test]
fn passing_runs_write_reports_without_failures() {
    let dir = scratch();
    let suite = fixture("suite");
    let (done, junit, json, tap) = run_with_reports(
        dir.path(),
        &[
            "run",
            "--loopback",
            &suite,
            "--filter",
            "hello",
            "--filter",
            "route",
            "--filter",
            "maximum",
        ],
    );
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    assert!(
        done.stdout.contains("3 files, 4 calls: 4 passed ("),
        "{}",
        done.stdout
    );
    let xml = read(&junit);
    assert!(
        xml.contains("tests=\"4\" failures=\"0\" errors=\"0\""),
        "{xml}"
    );
    assert!(
        !xml.contains("<failure") && !xml.contains("<error"),
        "{xml}"
    );
    validate_junit_xsd(&junit);
    if let Some(parsed) = junitparser(&junit) {
        assert_eq!(
            (parsed["tests"].as_u64(), parsed["failures"].as_u64()),
            (Some(4), Some(0))
        );
    }
    let report = read_json(&json);
    assert_matches_schema(&report);
    assert_eq!(report["summary"]["passed"], 4);
    assert_eq!(report["exit_code"], 0);
    let calls: Vec<&Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["calls"].as_array().unwrap())
        .collect();
    assert!(calls
        .iter()
        .all(|c| c["status"] == "passed" && c["failure"].is_null()));
    if let Some(parsed) = tap_parser(&tap) {
        let tests = parsed["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 4);
        assert!(tests.iter().all(|t| t["ok"] == true), "{parsed:#}");
    }
}

#[test]
fn transport_failures_are_junit_errors_and_exit_3() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let dir = scratch();
    let hello = fixture("suite/hello.yaml");
    let (done, junit, json, tap) = run_with_reports(
        dir.path(),
        &["run", &hello, "--target", &closed, "--timeout", "2s"],
    );
    assert_eq!(done.code, 3, "{}{}", done.stdout, done.stderr);
    assert!(
        done.stdout.contains("1 transport failure ("),
        "{}",
        done.stdout
    );
    let xml = read(&junit);
    assert!(xml.contains("failures=\"0\" errors=\"1\""), "{xml}");
    assert!(xml.contains("<error type=\"transport\""), "{xml}");
    validate_junit_xsd(&junit);
    if let Some(parsed) = junitparser(&junit) {
        assert_eq!(parsed["errors"], 1);
        let result = &parsed["suites"][0]["cases"][0]["results"][0];
        assert_eq!(result["kind"], "Error");
    }
    let report = read_json(&json);
    assert_matches_schema(&report);
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["summary"]["transport_failures"], 1);
    assert_eq!(
        report["files"][0]["calls"][0]["status"],
        "transport_failure"
    );
    assert_eq!(
        report["files"][0]["calls"][0]["failure"]["kind"],
        "transport"
    );
    if let Some(parsed) = tap_parser(&tap) {
        assert_eq!(parsed["tests"][0]["ok"], false);
        assert_eq!(parsed["tests"][0]["yaml"]["kind"], "transport");
    }
}

#[test]
fn a_missed_within_is_a_timeout_with_its_limit() {
    let dir = scratch();
    let late = fixture("slow/late_reply.yaml");
    let (done, junit, json, _) = run_with_reports(dir.path(), &["run", "--loopback", &late]);
    assert_eq!(done.code, 1, "{}{}", done.stdout, done.stderr);
    assert!(
        done.stdout.contains("within 100ms, nothing came"),
        "{}",
        done.stdout
    );
    let xml = read(&junit);
    assert!(xml.contains("<failure type=\"timeout\""), "{xml}");
    validate_junit_xsd(&junit);
    let report = read_json(&json);
    assert_matches_schema(&report);
    let call = &report["files"][0]["calls"][0];
    assert_eq!(call["failure"]["kind"], "timeout");
    let duration = call["duration_ms"].as_f64().unwrap();
    assert!(
        (100.0..500.0).contains(&duration),
        "the client waited {duration}ms, not 100ms"
    );
}

#[test]
fn fail_fast_reports_the_calls_not_started_as_skipped() {
    let dir = scratch();
    let (wrong, hello, route) = (
        fixture("suite/wrong_feature.yaml"),
        fixture("suite/hello.yaml"),
        fixture("suite/route.yaml"),
    );
    let (done, junit, json, tap) = run_with_reports(
        dir.path(),
        &["run", "--loopback", "--fail-fast", &wrong, &hello, &route],
    );
    assert_eq!(done.code, 1, "{}{}", done.stdout, done.stderr);
    assert!(
        done.stdout
            .contains("3 files, 4 calls: 0 passed, 1 failed, 3 skipped ("),
        "{}",
        done.stdout
    );
    let xml = read(&junit);
    assert_eq!(
        xml.matches("<skipped message=\"not played: --fail-fast")
            .count(),
        3,
        "{xml}"
    );
    validate_junit_xsd(&junit);
    if let Some(parsed) = junitparser(&junit) {
        let skipped: u64 = parsed["suites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["skipped"].as_u64().unwrap())
            .sum();
        assert_eq!(skipped, 3);
    }
    let report = read_json(&json);
    assert_matches_schema(&report);
    assert_eq!(report["summary"]["skipped"], 3);
    let statuses: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["calls"].as_array().unwrap())
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "skipped", "skipped", "skipped"]);
    if let Some(parsed) = tap_parser(&tap) {
        let skips = parsed["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["skip"] == true);
        assert_eq!(skips.count(), 3);
    }
}

#[test]
fn output_json_streams_one_event_per_line() {
    let suite = fixture("suite");
    let done = run(&["run", "--loopback", &suite, "--output", "json"]);
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(done.stderr.is_empty(), "{}", done.stderr);
    let events: Vec<Value> = done
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    for event in &events {
        assert_valid_event(event);
    }
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(kinds.first(), Some(&"call_started"));
    assert_eq!(kinds.last(), Some(&"summary"));
    assert_eq!((count("call_started"), count("call_finished")), (5, 5));
    assert!(count("step") >= 15, "{kinds:?}");
    let last = events.last().unwrap();
    assert_eq!(last["exit_code"], 1);
    assert_eq!(
        (&last["summary"]["passed"], &last["summary"]["failed"]),
        (&4.into(), &1.into())
    );
    let failed = events
        .iter()
        .find(|e| e["event"] == "call_finished" && e["call"]["status"] == "failed")
        .unwrap();
    assert_eq!(failed["file"], FAILING_FILE);
    assert_eq!(failed["call"]["failure"]["diffs"][0]["path"], "name");
    let bounded = events
        .iter()
        .find(|e| e["event"] == "step" && e["step"]["within_ms"] == 2000.0)
        .unwrap();
    assert!(bounded["step"]["waited_ms"].is_number(), "{bounded}");
}

#[test]
fn serve_output_json_starts_with_the_listening_event() {
    let hello = fixture("suite/hello.yaml");
    let mut server = Process::start(
        "grpc-replay serve",
        grpc_replay(&[
            "serve",
            &hello,
            "--listen",
            "127.0.0.1:0",
            "--once",
            "--output",
            "json",
        ]),
    );
    let first = server
        .next_line(Instant::now() + TIME_LIMIT)
        .expect("the first event");
    let listening: Value = serde_json::from_str(&first).expect("a JSON event");
    assert_valid_event(&listening);
    assert_eq!(listening["event"], "listening");
    let addr = listening["addr"].as_str().unwrap().to_string();
    let refused = run(&["run", &fixture("serve/unscripted.yaml"), "--target", &addr]);
    assert_eq!(refused.code, 0, "{}{}", refused.stdout, refused.stderr);
    let client = run(&["run", &hello, "--target", &addr]);
    assert_eq!(client.code, 0, "{}{}", client.stdout, client.stderr);
    let done = finished(server.finish(TIME_LIMIT));
    assert_eq!(done.code, 0, "{}", done.stderr);
    let events: Vec<Value> = done
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for event in &events {
        assert_valid_event(event);
    }
    let finished = events
        .iter()
        .find(|e| e["event"] == "call_finished")
        .unwrap();
    assert_eq!(
        (&finished["call"]["role"], &finished["call"]["status"]),
        (&"server".into(), &"passed".into())
    );
    let refusals: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "call_refused")
        .collect();
    assert_eq!(refusals.len(), 1, "{}", done.stdout);
    assert_eq!(refusals[0]["method"], "/routeguide.RouteGuide/GetFeature");
    assert_eq!(events.last().unwrap()["event"], "summary");
}

#[test]
fn jobs_play_files_at_once_and_print_each_file_as_one_block() {
    let dir = scratch();
    let json = dir.path().join("run.json");
    let json_arg = report_arg("json", &json);
    let parallel = fixture("parallel");
    let done = run(&[
        "run",
        "--loopback",
        &parallel,
        "--jobs",
        "2",
        "-v",
        "--color",
        "never",
        "--report",
        &json_arg,
    ]);
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    let elapsed = read_json(&json)["duration_ms"].as_f64().unwrap();
    assert!(
        elapsed < 1700.0,
        "two one-second files took {elapsed}ms with --jobs 2"
    );

    let suite = fixture("suite");
    let done = run(&[
        "run",
        "--loopback",
        &suite,
        "--jobs",
        "4",
        "-v",
        "--color",
        "never",
    ]);
    assert_eq!(done.code, 1, "{}{}", done.stdout, done.stderr);
    // Every line naming a file (call start and verdict) belongs to one run of lines per
    // file, with the steps in between.
    let mut seen: Vec<&str> = Vec::new();
    for line in done.stdout.lines() {
        let Some(file) = line
            .split_whitespace()
            .nth(1)
            .filter(|w| w.ends_with(".yaml"))
        else {
            continue;
        };
        if seen.last() != Some(&file) {
            assert!(
                !seen.contains(&file),
                "{file} is printed in two pieces:\n{}",
                done.stdout
            );
            seen.push(file);
        }
    }
    assert_eq!(seen.len(), 4, "{}", done.stdout);
    assert!(done
        .stdout
        .contains("4 files, 5 calls: 4 passed, 1 failed ("));
}

#[test]
fn filter_keeps_the_calls_whose_path_name_or_id_contains_the_text() {
    let suite = fixture("suite");
    let by_id = run(&[
        "run",
        "--loopback",
        &suite,
        "--filter",
        "nowhere",
        "--color",
        "never",
    ]);
    assert_eq!(by_id.code, 0, "{}{}", by_id.stdout, by_id.stderr);
    assert!(
        by_id.stdout.contains("1 file, 1 call: 1 passed ("),
        "{}",
        by_id.stdout
    );
    assert!(
        by_id.stdout.contains("route.yaml [nowhere]"),
        "{}",
        by_id.stdout
    );

    let by_name = run(&["run", "--loopback", &suite, "--filter", "greets by name"]);
    assert!(
        by_name.stdout.contains("1 file, 1 call: 1 passed ("),
        "{}",
        by_name.stdout
    );

    let none = run(&["run", "--loopback", &suite, "--filter", "no-such-call"]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr
            .contains("no call matches --filter no-such-call"),
        "{}",
        none.stderr
    );
}

#[test]
fn glob_patterns_are_expanded_when_the_shell_did_not() {
    let pattern = fixture("**/h*.yaml");
    let done = run(&["run", "--loopback", &pattern, "--color", "never"]);
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    assert!(done.stdout.contains("suite/hello.yaml"), "{}", done.stdout);
    assert!(
        done.stdout.contains("1 file, 1 call: 1 passed ("),
        "{}",
        done.stdout
    );

    let nothing = fixture("suite/nothing*.yaml");
    let done = run(&["run", "--loopback", &nothing]);
    assert_eq!(done.code, 2);
    assert!(
        done.stderr.contains("matches this pattern"),
        "{}",
        done.stderr
    );
}

#[test]
fn vars_file_feeds_variables_and_var_wins_over_it() {
    let dir = scratch();
    let json = dir.path().join("run.json");
    let json_arg = report_arg("json", &json);
    let (greeting, who) = (fixture("vars/greeting.yaml"), fixture("vars/who.yaml"));
    let sent = |extra: &[&str]| -> String {
        let mut args = vec![
            "run",
            "--loopback",
            greeting.as_str(),
            "--vars-file",
            who.as_str(),
        ];
        args.extend(["--report", json_arg.as_str()]);
        args.extend(extra);
        let done = run(&args);
        assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
        read_json(&json)["files"][0]["calls"][0]["steps"][0]["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(sent(&[]), "\"Ann\"");
    assert_eq!(sent(&["--var", "WHO=Bob"]), "\"Bob\"");

    let undefined = run(&["run", "--loopback", &greeting]);
    assert_eq!(undefined.code, 2, "{}", undefined.stderr);
    assert!(undefined.stderr.contains("WHO"), "{}", undefined.stderr);
}

#[test]
fn verbose_steps_show_the_wait_against_within() {
    let maximum = fixture("suite/maximum.yaml");
    let done = run(&["run", "--loopback", &maximum, "-v", "--color", "never"]);
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    let bounded = done
        .stdout
        .lines()
        .find(|l| l.contains("line 11"))
        .unwrap_or_else(|| panic!("{}", done.stdout));
    assert!(
        bounded.contains("(waited ") && bounded.ends_with(" of 2s)"),
        "{bounded}"
    );
}

#[test]
fn a_report_on_standard_output_moves_the_human_output_to_standard_error() {
    let hello = fixture("suite/hello.yaml");
    let done = run(&[
        "run",
        "--loopback",
        &hello,
        "--report",
        "junit=-",
        "--color",
        "never",
    ]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stdout.starts_with("<?xml"), "{}", done.stdout);
    assert!(
        done.stdout.trim_end().ends_with("</testsuites>"),
        "{}",
        done.stdout
    );
    assert!(
        done.stderr.contains("1 file, 1 call: 1 passed ("),
        "{}",
        done.stderr
    );
}

#[test]
fn bad_report_options_are_usage_errors_before_anything_plays() {
    let hello = fixture("suite/hello.yaml");
    let dir = scratch();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let inside_a_file = report_arg("junit", &blocker.join("junit.xml"));
    let cases: [(&[&str], &str); 3] = [
        (
            &["--report", "xml=out.xml"],
            "`xml` is not a report format (formats: junit, json, tap)",
        ),
        (&["--report", &inside_a_file], "cannot write the report"),
        (
            &["--report", "json=-", "--output", "json"],
            "can use standard output",
        ),
    ];
    for (extra, message) in cases {
        let mut args = vec!["run", "--loopback", hello.as_str()];
        args.extend(extra);
        let done = run(&args);
        assert_eq!(done.code, 2, "{extra:?}: {}{}", done.stdout, done.stderr);
        assert!(done.stderr.contains(message), "{extra:?}: {}", done.stderr);
        assert!(
            !done.stdout.contains("passed"),
            "{extra:?} played: {}",
            done.stdout
        );
    }
}

/// A `serve` in the background.
struct Server {
    process: Process,
    addr: String,
}

impl Server {
    /// Starts `serve ARGS --listen 127.0.0.1:0` and waits for its readiness line.
    fn start(args: &[&str]) -> Server {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--color", "never"];
        all.extend(args);
        let mut process = Process::start("grpc-replay serve", grpc_replay(&all));
        let addr = process.listening_address();
        Server { process, addr }
    }

    /// Waits for the server to exit by itself; its exit code and its output.
    fn wait(self) -> (i32, String) {
        let done = finished(self.process.finish(TIME_LIMIT));
        (done.code, done.stdout)
    }
}

#[test]
fn serve_reports_what_it_served() {
    let dir = scratch();
    let (junit, json) = (dir.path().join("serve.xml"), dir.path().join("serve.json"));
    let (junit_arg, json_arg) = (report_arg("junit", &junit), report_arg("json", &json));
    let hello = fixture("suite/hello.yaml");
    let server = Server::start(&[
        &hello, "--once", "--report", &junit_arg, "--report", &json_arg,
    ]);
    let client = run(&["run", &hello, "--target", &server.addr, "--color", "never"]);
    assert_eq!(client.code, 0, "{}{}", client.stdout, client.stderr);
    let (code, output) = server.wait();
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("served 1 file, 1 call: 1 passed ("),
        "{output}"
    );
    let xml = read(&junit);
    assert!(
        xml.contains("<testsuites name=\"grpc-replay serve\" tests=\"1\" failures=\"0\""),
        "{xml}"
    );
    validate_junit_xsd(&junit);
    let report = read_json(&json);
    assert_matches_schema(&report);
    assert_eq!(report["command"], "serve");
    let call = &report["files"][0]["calls"][0];
    assert_eq!(
        (&call["role"], &call["status"]),
        (&"server".into(), &"passed".into())
    );
    // The server's transcript holds what the client sent.
    let first = &call["steps"][0];
    assert_eq!(first["outcome"], "passed");
    assert_eq!(first["received"][0]["message"], "Ann");
}

#[test]
fn serve_fail_fast_stops_at_the_first_failure_and_skips_the_rest() {
    let dir = scratch();
    let junit = dir.path().join("serve.xml");
    let junit_arg = report_arg("junit", &junit);
    let (strict, hello) = (fixture("serve/strict.yaml"), fixture("suite/hello.yaml"));
    let server = Server::start(&[&strict, &hello, "--fail-fast", "--report", &junit_arg]);
    let client = run(&["run", &strict, "--target", &server.addr, "--color", "never"]);
    assert_eq!(client.code, 1, "{}{}", client.stdout, client.stderr);
    assert!(
        client.stdout.contains("FAILED_PRECONDITION"),
        "{}",
        client.stdout
    );
    let (code, output) = server.wait();
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("served 2 files, 2 calls: 0 passed, 1 failed, 1 skipped ("),
        "{output}"
    );
    let xml = read(&junit);
    assert!(xml.contains("<failure type=\"mismatch\" message=\"tests/fixtures/reports/serve/strict.yaml:6:5: step `client`"), "{xml}");
    assert!(
        xml.contains(
            "<skipped message=\"never played: --fail-fast stopped the server after a failure\"/>"
        ),
        "{xml}"
    );
    validate_junit_xsd(&junit);
}

#[test]
fn the_ci_example_script_serves_replays_and_leaves_the_junit_report() {
    let dir = scratch();
    let suite = fixture("suite");
    let mut command = Command::new("bash");
    command
        .args(["examples/ci/replay.sh", &suite])
        .current_dir(root())
        .env("GRPC_REPLAY", env!("CARGO_BIN_EXE_grpc-replay"))
        .env("REPORT_DIR", dir.path());
    let done = finished(Process::run("examples/ci/replay.sh", command, TIME_LIMIT));
    assert_eq!(done.code, 1, "{}{}", done.stdout, done.stderr);
    assert!(
        done.stdout.contains("replay.sh: server on 127.0.0.1:"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.contains("served 4 files, 5 calls: 5 passed ("),
        "{}",
        done.stdout
    );
    let junit = dir.path().join("junit.xml");
    let xml = read(&junit);
    assert!(
        xml.contains("tests=\"5\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    validate_junit_xsd(&junit);
    validate_junit_xsd(&dir.path().join("server-junit.xml"));
    assert_matches_schema(&read_json(&dir.path().join("transcript.json")));
}

#[test]
fn the_github_workflow_runs_the_example_script_and_uploads_the_reports() {
    let text = read(&root().join("examples/ci/github-actions.yml"));
    let workflow: Value = serde_saphyr::from_str(&text).expect("the workflow is YAML");
    let steps = workflow["jobs"]["replay"]["steps"].as_array().unwrap();
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs.contains(&"bash examples/ci/replay.sh scenarios/"),
        "{runs:?}"
    );
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(
        uses.iter()
            .any(|u| u.starts_with("actions/upload-artifact@")),
        "{uses:?}"
    );
    let junit = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.contains("junit-report"))
        })
        .expect("a step publishes the JUnit report");
    assert_eq!(junit["with"]["report_paths"], "reports/junit.xml");
}
