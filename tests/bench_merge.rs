//! Benchmarks run apart merge into one: four `grpc-replay bench` processes (two fast, two
//! slow) against one `grpc-replay serve`, their reports merged by `bench merge`, checked
//! against the histogram of all their samples decoded here from the shards' reports.

mod bench_support;
mod process;

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bench_support::{finish_bench, grpc_replay, number, serve, start_bench, BENCH_LIMIT};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use process::{Finished, Process};

/// The fast shards' load: a unary call.
const FAST: &str = "tests/fixtures/bench/unary.yaml";
/// The slow shards' load: a call answered 50ms after the half-close.
const SLOW: &str = "tests/fixtures/bench/slow_greetings.yaml";
/// Calls per fast and per slow shard.
const FAST_CALLS: u64 = 60;
const SLOW_CALLS: u64 = 12;

/// The histogram a report carries in `field`, decoded with the HdrHistogram library.
fn histogram(report: &serde_json::Value, field: &str) -> Histogram<u64> {
    let text = report["histograms"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no histograms.{field} in\n{report:#}"));
    let bytes = STANDARD.decode(text).expect("base64");
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("an HdrHistogram V2 encoding")
}

/// Runs the four shards at once against one server; returns their report files and
/// reports.
fn run_shards(dir: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    let (mut server, address) = serve(&[FAST, SLOW]);
    let (fast, slow) = (FAST_CALLS.to_string(), SLOW_CALLS.to_string());
    let shards: Vec<(PathBuf, Process)> = [(FAST, &fast), (SLOW, &slow)]
        .iter()
        .flat_map(|load| [*load, *load])
        .enumerate()
        .map(|(n, (file, calls))| {
            let report = dir.join(format!("shard-{n}.json"));
            let args = [file, "--target", &address, "-n", calls, "-c", "3"];
            let bench = start_bench(&args, &report);
            (report, bench)
        })
        .collect();
    shards
        .into_iter()
        .map(|(path, bench)| {
            let (_, json) = finish_bench(bench, &path, 0, &mut server);
            (path, json)
        })
        .collect()
}

/// `grpc-replay bench merge REPORTS --report json=OUT`, to its end.
fn merge(reports: &[&Path], out: &Path) -> Finished {
    let out = format!("json={}", out.display());
    let mut args = vec!["bench".to_string(), "merge".to_string()];
    args.extend(reports.iter().map(|path| path.display().to_string()));
    args.extend(["--report".to_string(), out]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Process::start("grpc-replay bench merge", grpc_replay(&args)).finish(BENCH_LIMIT)
}

/// `value` and `reference` (nanoseconds, as milliseconds in the report) agree within HDR
/// precision (3 significant digits).
fn assert_close(what: &str, value: f64, reference_nanos: u64) {
    let reference = reference_nanos as f64 / 1e6;
    assert!(
        (value - reference).abs() <= reference * 1e-3 + 1e-6,
        "{what}: merged {value}ms, all samples {reference}ms"
    );
}

#[test]
fn four_shards_merge_into_the_histogram_of_all_their_samples() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let shards = run_shards(dir.path());
    let mut all_calls = Histogram::<u64>::new(3).unwrap();
    let mut all_messages = Histogram::<u64>::new(3).unwrap();
    for (_, report) in &shards {
        all_calls.add(histogram(report, "call_latency_ns")).unwrap();
        all_messages
            .add(histogram(report, "message_latency_ns"))
            .unwrap();
    }
    let out = dir.path().join("merged.json");
    let paths: Vec<&Path> = shards.iter().map(|(path, _)| path.as_path()).collect();
    let merged = merge(&paths, &out);
    let total = 2 * (FAST_CALLS + SLOW_CALLS);
    assert!(
        merged.code == Some(0)
            && merged.stdout.contains("4 reports merged")
            && merged
                .stdout
                .contains(&format!("({total} passed, 0 failed)")),
        "{}",
        merged.describe()
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("the merged report"))
            .expect("JSON");
    assert_eq!(number(&json, "/calls/total"), total as f64, "{json:#}");
    assert_eq!(number(&json, "/messages/sent"), total as f64);
    assert_eq!(number(&json, "/messages/received"), total as f64);
    assert_eq!(number(&json, "/concurrency"), 12.0);
    assert_eq!(all_calls.len(), total);
    for (summary, reference) in [("call", &all_calls), ("message", &all_messages)] {
        let pointer = |stat: &str| format!("/{summary}_latency_ms/{stat}");
        assert_eq!(number(&json, &pointer("count")), reference.len() as f64);
        for (stat, quantile) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            let value = number(&json, &pointer(stat));
            assert_close(&pointer(stat), value, reference.value_at_quantile(quantile));
        }
        assert_close(
            &pointer("max"),
            number(&json, &pointer("max")),
            reference.max(),
        );
    }
    // The slow fifth of the calls (50ms and more) sits above p80, so the merged p90 is
    // slow while the fast shards' own p90s are not: percentiles were not averaged.
    assert!(number(&json, "/call_latency_ms/p90") >= 50.0, "{json:#}");
    assert_eq!(histogram(&json, "call_latency_ns"), all_calls);
}

#[test]
fn wrong_twin_a_damaged_shard_report_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (mut server, address) = serve(&[FAST]);
    let good = dir.path().join("good.json");
    let bench = start_bench(&[FAST, "--target", &address, "-n", "5"], &good);
    let (_, mut json) = finish_bench(bench, &good, 0, &mut server);
    json["histograms"]["call_latency_ns"] = "AAAA".into();
    let damaged = dir.path().join("damaged.json");
    std::fs::write(&damaged, json.to_string()).expect("write the damaged report");
    let out = dir.path().join("merged.json");
    let merged = merge(&[&good, &damaged], &out);
    assert!(
        merged.code == Some(2)
            && merged
                .stderr
                .contains("damaged.json: histograms.call_latency_ns"),
        "{}",
        merged.describe()
    );
}
