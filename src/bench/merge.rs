//! `grpc-replay bench merge`: the reports of benchmarks run side by side (on several
//! machines, or the pods of a Kubernetes Job) combined into the report of one benchmark
//! that played them all. Counts and histograms add up, so the percentiles are those of
//! every sample; the elapsed time is the longest, and the rates are recomputed from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::histogram::{add, decode, histogram};
use super::report::{BenchReport, ServerSide, Setup, REPORT_VERSION};
use super::schedule::Schedule;
use super::stats::{Counts, Merged};

/// A report that cannot be merged, and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub(crate) struct MergeError {
    /// The report's file.
    pub file: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The report files `paths` name: each as given, or, when it does not exist and holds
/// `*`, `?` or `[`, the files the glob pattern matches in name order (for a container
/// without a shell: `'/reports/shard-*.json'`).
pub(crate) fn expand_reports(paths: &[PathBuf]) -> Result<Vec<PathBuf>, MergeError> {
    let mut expanded = Vec::with_capacity(paths.len());
    for path in paths {
        let text = path.to_string_lossy();
        if path.exists() || !text.contains(['*', '?', '[']) {
            expanded.push(path.clone());
            continue;
        }
        let fail = |reason: String| MergeError {
            file: text.to_string(),
            reason,
        };
        let matches = glob::glob(&text).map_err(|e| fail(format!("not a glob pattern ({e})")))?;
        let mut files: Vec<PathBuf> = matches
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if files.is_empty() {
            return Err(fail("no report file matches this pattern".into()));
        }
        files.sort();
        expanded.extend(files);
    }
    Ok(expanded)
}

/// Reads the bench report at `path` (written by `bench --report json=PATH`).
pub(crate) fn read_report(path: &Path) -> Result<BenchReport, MergeError> {
    let fail = |reason: String| MergeError {
        file: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it ({e})")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| fail(format!("not JSON ({e})")))?;
    match value.get("version").and_then(Value::as_u64) {
        Some(version) if version == u64::from(REPORT_VERSION) => {}
        Some(version) => {
            return Err(fail(format!(
                "a version {version} bench report; this grpc-replay reads version {REPORT_VERSION}"
            )))
        }
        None => {
            return Err(fail(
                "not a grpc-replay bench report (it has no `version`)".into(),
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| fail(format!("not a grpc-replay bench report ({e})")))
}

/// Combines `reports`, each named by its file, into one.
pub(crate) fn merge(reports: &[(String, BenchReport)]) -> Result<BenchReport, MergeError> {
    let mut merged = Merged {
        counts: Counts::default(),
        latest_start: Duration::ZERO,
        transport_failures: 0,
        call_latency: histogram(),
        message_latency: histogram(),
        failures: BTreeMap::new(),
        first_failure: None,
    };
    for (name, report) in reports {
        add_report(&mut merged, name, report)?;
    }
    let elapsed = reports
        .iter()
        .map(|(_, report)| seconds(report.elapsed_seconds))
        .max()
        .unwrap_or_default();
    Ok(BenchReport::new(
        setup_of(reports),
        elapsed,
        merged,
        server_side_of(reports),
    ))
}

/// A duration read from a report (nonsense such as a negative number counts as zero).
fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or_default()
}

/// Adds one report's counts, histograms and failures to `merged`.
fn add_report(merged: &mut Merged, name: &str, report: &BenchReport) -> Result<(), MergeError> {
    let fail = |reason: String| MergeError {
        file: name.to_string(),
        reason,
    };
    let histograms = &report.histograms;
    for (field, text, total, count) in [
        (
            "call_latency_ns",
            &histograms.call_latency_ns,
            &mut merged.call_latency,
            Some(report.calls.total),
        ),
        (
            "message_latency_ns",
            &histograms.message_latency_ns,
            &mut merged.message_latency,
            None,
        ),
    ] {
        let decoded = decode(text).map_err(|e| fail(format!("histograms.{field}: {e}")))?;
        if let Some(count) = count.filter(|count| *count != decoded.len()) {
            return Err(fail(format!(
                "histograms.{field} holds {} values but the report counts {count} calls",
                decoded.len()
            )));
        }
        add(total, &decoded);
    }
    let counts = &mut merged.counts;
    counts.calls += report.calls.total;
    counts.failed += report.calls.failed;
    merged.transport_failures += report.calls.transport_failed;
    counts.sent += report.messages.sent;
    counts.received += report.messages.received;
    if let Some(schedule) = &report.schedule {
        counts.scheduled += schedule.iterations;
        counts.late += schedule.started_late;
        let latest = seconds(schedule.latest_start_ms / 1e3);
        merged.latest_start = merged.latest_start.max(latest);
    }
    add_failures(&mut merged.failures, &report.failures);
    if merged.first_failure.is_none() {
        merged.first_failure.clone_from(&report.first_failure);
    }
    Ok(())
}

fn add_failures(total: &mut BTreeMap<String, u64>, more: &BTreeMap<String, u64>) {
    for (kind, count) in more {
        *total.entry(kind.clone()).or_default() += count;
    }
}

/// What the merged benchmark was about: every file and target, the concurrency,
/// connections and rates summed, the longest ramp.
fn setup_of(reports: &[(String, BenchReport)]) -> Setup {
    let mut files: Vec<String> = Vec::new();
    let mut targets: Vec<&str> = Vec::new();
    for (_, report) in reports {
        for file in &report.files {
            if !files.contains(file) {
                files.push(file.clone());
            }
        }
        if !targets.contains(&report.target.as_str()) {
            targets.push(&report.target);
        }
    }
    let ramp = reports
        .iter()
        .filter_map(|(_, report)| report.ramp_seconds.map(seconds))
        .max()
        .unwrap_or_default();
    Setup {
        files,
        target: targets.join(", "),
        connections: reports.iter().map(|(_, r)| r.connections).sum(),
        concurrency: reports.iter().map(|(_, r)| r.concurrency).sum(),
        schedule: Schedule {
            // The benchmarks ran side by side: a rate only when every one had one.
            rate: reports.iter().map(|(_, r)| r.rate).sum(),
            ramp,
        },
        merged_from: reports.iter().map(|(name, _)| name.clone()).collect(),
    }
}

/// The server sides of the reports that have one, added up.
fn server_side_of(reports: &[(String, BenchReport)]) -> Option<ServerSide> {
    let sides: Vec<&ServerSide> = reports
        .iter()
        .filter_map(|(_, report)| report.server_side.as_ref())
        .collect();
    if sides.is_empty() {
        return None;
    }
    let mut failures = BTreeMap::new();
    for side in &sides {
        add_failures(&mut failures, &side.failures);
    }
    Some(ServerSide {
        calls: sides.iter().map(|side| side.calls).sum(),
        failed: sides.iter().map(|side| side.failed).sum(),
        failures,
        first_failure: sides.iter().find_map(|side| side.first_failure.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;

    /// The report of a benchmark whose calls took `call_ms` (one call each) and that
    /// failed `failed` of them with a `status UNAVAILABLE`.
    fn report(call_ms: &[u64], failed: u64, rate: Option<f64>, elapsed: f64) -> BenchReport {
        let mut calls = histogram();
        for ms in call_ms {
            calls.record(ms * 1_000_000).unwrap();
        }
        let mut failures = BTreeMap::new();
        if failed > 0 {
            failures.insert("status UNAVAILABLE".to_string(), failed);
        }
        let merged = Merged {
            counts: Counts {
                calls: call_ms.len() as u64,
                failed,
                sent: call_ms.len() as u64,
                received: call_ms.len() as u64 - failed,
                scheduled: rate.map_or(0, |_| call_ms.len() as u64),
                late: rate.map_or(0, |_| 1),
            },
            latest_start: Duration::from_millis(3),
            transport_failures: 0,
            call_latency: calls,
            message_latency: histogram(),
            failures,
            first_failure: (failed > 0).then(|| "the first".to_string()),
        };
        let setup = Setup {
            files: vec!["a.yaml".into()],
            target: "svc:50051".into(),
            connections: 1,
            concurrency: 4,
            schedule: Schedule {
                rate,
                ramp: Duration::ZERO,
            },
            merged_from: Vec::new(),
        };
        BenchReport::new(setup, seconds(elapsed), merged, None)
    }

    fn named(reports: Vec<BenchReport>) -> Vec<(String, BenchReport)> {
        reports
            .into_iter()
            .enumerate()
            .map(|(n, report)| (format!("shard-{n}.json"), report))
            .collect()
    }

    #[test]
    fn percentiles_are_those_of_every_sample_not_an_average_of_percentiles() {
        let fast: Vec<u64> = (1..=90).collect();
        let slow: Vec<u64> = (1000..1010).collect();
        let merged = merge(&named(vec![
            report(&fast, 0, None, 2.0),
            report(&slow, 0, None, 4.0),
        ]))
        .unwrap();
        let mut all = Histogram::<u64>::new(3).unwrap();
        for ms in fast.iter().chain(&slow) {
            all.record(ms * 1_000_000).unwrap();
        }
        let summary = merged.call_latency_ms.unwrap();
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50, all.value_at_quantile(0.5) as f64 / 1e6);
        assert_eq!(summary.p99, all.value_at_quantile(0.99) as f64 / 1e6);
        assert_eq!(decode(&merged.histograms.call_latency_ns).unwrap(), all);
        assert_eq!(merged.calls.total, 100);
        assert_eq!(merged.concurrency, 8);
        assert_eq!(
            merged.elapsed_seconds, 4.0,
            "the longest, they ran side by side"
        );
        assert_eq!(merged.calls.per_second, 25.0);
        assert_eq!(merged.merged_from, ["shard-0.json", "shard-1.json"]);
        assert_eq!(merged.files, ["a.yaml"]);
    }

    #[test]
    fn counters_failures_and_rates_add_up() {
        let merged = merge(&named(vec![
            report(&[1, 2, 3], 1, Some(10.0), 1.0),
            report(&[4, 5], 2, Some(5.0), 1.0),
        ]))
        .unwrap();
        assert_eq!((merged.calls.failed, merged.calls.passed), (3, 2));
        assert_eq!(merged.failures["status UNAVAILABLE"], 3);
        assert_eq!(merged.first_failure.as_deref(), Some("the first"));
        assert_eq!(merged.rate, Some(15.0));
        let schedule = merged.schedule.unwrap();
        assert_eq!((schedule.iterations, schedule.started_late), (5, 2));
        let without_rate = merge(&named(vec![
            report(&[1], 0, Some(10.0), 1.0),
            report(&[1], 0, None, 1.0),
        ]))
        .unwrap();
        assert_eq!(without_rate.rate, None);
    }

    #[test]
    fn a_report_whose_histogram_disagrees_with_its_counts_is_refused() {
        let mut broken = report(&[1, 2, 3], 0, None, 1.0);
        broken.calls.total = 4;
        let error = merge(&named(vec![report(&[1], 0, None, 1.0), broken])).unwrap_err();
        assert_eq!(error.file, "shard-1.json");
        assert!(error.reason.contains("holds 3 values"), "{error}");
        let mut garbage = report(&[1], 0, None, 1.0);
        garbage.histograms.message_latency_ns = "%%%".into();
        let error = merge(&named(vec![garbage])).unwrap_err();
        assert!(error
            .reason
            .starts_with("histograms.message_latency_ns: not base64"));
    }

    #[test]
    fn patterns_expand_to_the_matching_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["shard-1.json", "shard-0.json", "merged.json"] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        let pattern = dir.path().join("shard-*.json");
        let plain = dir.path().join("merged.json");
        let expanded = expand_reports(&[pattern, plain.clone()]).unwrap();
        let names: Vec<_> = expanded.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, ["shard-0.json", "shard-1.json", "merged.json"]);
        let none = dir.path().join("other-*.json");
        let error = expand_reports(&[none]).unwrap_err();
        assert!(error
            .to_string()
            .ends_with("other-*.json: no report file matches this pattern"));
    }

    #[test]
    fn reading_refuses_other_versions_and_other_files_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let good = serde_json::to_value(report(&[1], 0, None, 1.0)).unwrap();
        let path = write("good.json", good.to_string());
        assert_eq!(read_report(&path).unwrap().calls.total, 1);
        let mut future = good.clone();
        future["version"] = 2.into();
        let error = read_report(&write("future.json", future.to_string())).unwrap_err();
        assert!(error
            .to_string()
            .contains("future.json: a version 2 bench report"));
        let error = read_report(&write("junit.xml", "<testsuites/>".into())).unwrap_err();
        assert!(error.to_string().contains("junit.xml: not JSON"), "{error}");
        let error = read_report(&write("other.json", "{\"version\": 1}".into())).unwrap_err();
        assert!(error.reason.contains("missing field"), "{error}");
    }
}
