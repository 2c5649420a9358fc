//! Open-loop load: with `--rate`, calls are timed from when their iteration was due, so a
//! server too slow for the rate shows in the latencies and in the count of iterations that
//! started late; `--ramp` climbs to the rate linearly.

mod bench_support;
mod process;

use bench_support::{bench, number, serve};

/// The client's script: one unary call.
const UNARY: &str = "tests/fixtures/bench/unary.yaml";
/// The same call as a server that answers 100ms after the request.
const SLOW: &str = "tests/fixtures/bench/slow_unary.yaml";

/// Benches UNARY against `serve server_file` with `flags`; returns the report.
fn bench_against(server_file: &str, flags: &[&str]) -> serde_json::Value {
    let (mut server, address) = serve(&[server_file]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let report = dir.path().join("report.json");
    let args = [&[UNARY, "--target", &address], flags].concat();
    let (_, json) = bench(&args, &report, 0, &mut server);
    json
}

#[test]
fn a_server_too_slow_for_the_rate_shows_in_latency_and_late_starts() {
    // 50 iterations/s with one in flight, each call at least 100ms: iteration k is due at
    // 20k ms but cannot start before 100k ms, so it ends at least 80k + 100 ms after it was
    // due: the 20th (k = 19) at least 1620ms.
    let json = bench_against(SLOW, &["--rate", "50", "-c", "1", "-n", "20"]);
    assert_eq!(number(&json, "/schedule/iterations"), 20.0, "{json:#}");
    assert!(number(&json, "/schedule/started_late") >= 18.0, "{json:#}");
    assert!(
        number(&json, "/schedule/latest_start_ms") >= 1400.0,
        "{json:#}"
    );
    // A closed loop would say about 100ms.
    assert!(number(&json, "/call_latency_ms/max") >= 1500.0, "{json:#}");
}

#[test]
fn wrong_twin_with_enough_concurrency_the_same_rate_keeps_its_schedule() {
    // Every iteration has a worker when it is due: each call takes its 100ms, plus
    // whatever a busy machine adds (the bound leaves it most of a second).
    let json = bench_against(SLOW, &["--rate", "50", "-c", "20", "-n", "20"]);
    assert_eq!(number(&json, "/schedule/iterations"), 20.0, "{json:#}");
    assert!(number(&json, "/call_latency_ms/max") < 1000.0, "{json:#}");
    assert!(number(&json, "/call_latency_ms/min") >= 100.0, "{json:#}");
}

#[test]
fn a_ramp_climbs_to_the_rate_linearly() {
    // 20/s after a 3s ramp: the ramp holds 30 iterations (the rate's mean is half), the
    // other 10 follow at 50ms: the 40th is due at 3.45s.
    let json = bench_against(UNARY, &["--rate", "20", "--ramp", "3s", "-n", "40"]);
    assert_eq!(number(&json, "/ramp_seconds"), 3.0, "{json:#}");
    assert!(number(&json, "/elapsed_seconds") >= 3.45, "{json:#}");
}

#[test]
fn wrong_twin_without_a_ramp_the_same_iterations_come_sooner() {
    // The 40th iteration is due at 1.95s.
    let json = bench_against(UNARY, &["--rate", "20", "-n", "40"]);
    assert!(json["ramp_seconds"].is_null(), "{json:#}");
    assert!(number(&json, "/elapsed_seconds") < 3.0, "{json:#}");
}
