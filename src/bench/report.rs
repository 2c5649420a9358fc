//! The figures of a benchmark: a table for people, JSON for programs.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::histogram::encode;
use super::schedule::Schedule;
use super::stats::Merged;

/// The version of the report's layout; `bench merge` reads this version only.
pub(super) const REPORT_VERSION: u32 = 1;

/// Everything a benchmark measured (`--report json=PATH` writes it as is); `bench merge`
/// reads such reports back and combines them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BenchReport {
    /// The layout's version ([`REPORT_VERSION`]).
    pub version: u32,
    /// The reports this one combines (`bench merge`); empty for a single benchmark.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The scenario files played.
    pub files: Vec<String>,
    /// The server called (`HOST:PORT`).
    pub target: String,
    /// Iterations in flight at once.
    pub concurrency: usize,
    /// HTTP/2 connections the calls were spread over.
    pub connections: usize,
    /// Iterations asked for per second, when the rate was fixed.
    pub rate: Option<f64>,
    /// How long the rate (or the concurrency) took to climb to its full value, in seconds;
    /// `None` without `--ramp`.
    pub ramp_seconds: Option<f64>,
    /// How the iterations kept to their schedule, when the rate was fixed.
    pub schedule: Option<ScheduleFigures>,
    /// From the start to the end of the last call, in seconds.
    pub elapsed_seconds: f64,
    /// The calls.
    pub calls: CallFigures,
    /// The messages.
    pub messages: MessageFigures,
    /// How long each call took, from its start to its status (milliseconds).
    pub call_latency_ms: Option<LatencySummary>,
    /// How long each checked message took from the send it answers (the latest message
    /// the client sent before it in the script), less the scripted pauses in between, in
    /// milliseconds; `None` when no message was checked.
    pub message_latency_ms: Option<LatencySummary>,
    /// Failed calls by status code (`status UNAVAILABLE`: the call ended with a status the
    /// script did not expect) or by what went wrong (`mismatch`, `timeout`, `transport`).
    pub failures: BTreeMap<String, u64>,
    /// The account of the first failure (file, line, step, differences).
    pub first_failure: Option<String>,
    /// The server side of a `--loopback` benchmark.
    pub server_side: Option<ServerSide>,
    /// The latency histograms, for merging.
    pub histograms: Histograms,
}

/// The latency histograms in nanoseconds, each as base64 of HdrHistogram's V2 compressed
/// encoding (3 significant digits), which any HdrHistogram library decodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Histograms {
    /// Per call (from when its iteration was due, with `--rate`).
    pub call_latency_ns: String,
    /// Per checked message.
    pub message_latency_ns: String,
}

/// How scheduled iterations kept to their times. Their calls are timed from when the
/// iteration was due, so a server too slow for the rate shows in the latencies instead of
/// silently lowering the rate (no coordinated omission).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ScheduleFigures {
    /// Iterations started on the schedule.
    pub iterations: u64,
    /// Of those, how many started more than [`LATE_TOLERANCE`] after they were due (every
    /// worker was busy, or the machine was).
    pub started_late: u64,
    /// The longest an iteration waited past its time, in milliseconds.
    pub latest_start_ms: f64,
}

/// Calls and their rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CallFigures {
    /// Calls ended.
    pub total: u64,
    /// Calls that passed.
    pub passed: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Of those, how many the transport failed (connection refused or reset, TLS).
    pub transport_failed: u64,
    /// Calls ended per second.
    pub per_second: f64,
}

/// Messages and their rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MessageFigures {
    /// Messages sent.
    pub sent: u64,
    /// Messages received and checked.
    pub received: u64,
    /// Messages sent and received per second.
    pub per_second: f64,
}

/// What the in-process server of a `--loopback` benchmark saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ServerSide {
    /// Calls it played.
    pub calls: u64,
    /// Calls that failed on its side.
    pub failed: u64,
    /// Its failed calls by kind.
    pub failures: BTreeMap<String, u64>,
    /// Its first failure.
    pub first_failure: Option<String>,
}

impl ServerSide {
    /// The server side's figures from what its observer counted.
    pub(crate) fn of(merged: Merged) -> ServerSide {
        ServerSide {
            calls: merged.counts.calls,
            failed: merged.counts.failed,
            failures: merged.failures,
            first_failure: merged.first_failure,
        }
    }
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct LatencySummary {
    /// How many values.
    pub count: u64,
    /// The smallest.
    pub min: f64,
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The 99.9th percentile.
    pub p99_9: f64,
    /// The largest.
    pub max: f64,
}

impl LatencySummary {
    /// The summary of a histogram in nanoseconds; `None` when it is empty.
    pub(crate) fn of(nanos: &Histogram<u64>) -> Option<LatencySummary> {
        let ms = |value: u64| value as f64 / 1e6;
        (!nanos.is_empty()).then(|| LatencySummary {
            count: nanos.len(),
            min: ms(nanos.min()),
            mean: nanos.mean() / 1e6,
            p50: ms(nanos.value_at_quantile(0.5)),
            p90: ms(nanos.value_at_quantile(0.9)),
            p99: ms(nanos.value_at_quantile(0.99)),
            p99_9: ms(nanos.value_at_quantile(0.999)),
            max: ms(nanos.max()),
        })
    }

    /// The figures in the table's column order: min, mean, p50, p90, p99, p99.9, max.
    pub(crate) fn columns(&self) -> [f64; 7] {
        [
            self.min, self.mean, self.p50, self.p90, self.p99, self.p99_9, self.max,
        ]
    }
}

/// What a benchmark was about, for its report.
pub(crate) struct Setup {
    /// The scenario files.
    pub files: Vec<String>,
    /// The server called.
    pub target: String,
    /// The connections.
    pub connections: usize,
    /// Iterations in flight at once.
    pub concurrency: usize,
    /// The pace.
    pub schedule: Schedule,
    /// The reports combined (`bench merge`).
    pub merged_from: Vec<String>,
}

impl BenchReport {
    /// The report of what the client side counted in `elapsed`.
    pub(crate) fn new(
        setup: Setup,
        elapsed: Duration,
        client: Merged,
        server_side: Option<ServerSide>,
    ) -> BenchReport {
        let seconds = elapsed.as_secs_f64();
        let per_second = |count: u64| {
            if seconds > 0.0 {
                count as f64 / seconds
            } else {
                0.0
            }
        };
        let counts = client.counts;
        let schedule = setup.schedule;
        BenchReport {
            version: REPORT_VERSION,
            merged_from: setup.merged_from,
            files: setup.files,
            target: setup.target,
            concurrency: setup.concurrency,
            connections: setup.connections,
            rate: schedule.rate,
            ramp_seconds: (!schedule.ramp.is_zero()).then_some(schedule.ramp.as_secs_f64()),
            schedule: schedule.rate.map(|_| ScheduleFigures {
                iterations: counts.scheduled,
                started_late: counts.late,
                latest_start_ms: client.latest_start.as_secs_f64() * 1e3,
            }),
            elapsed_seconds: seconds,
            calls: CallFigures {
                total: counts.calls,
                passed: counts.calls - counts.failed,
                failed: counts.failed,
                transport_failed: client.transport_failures,
                per_second: per_second(counts.calls),
            },
            messages: MessageFigures {
                sent: counts.sent,
                received: counts.received,
                per_second: per_second(counts.messages()),
            },
            call_latency_ms: LatencySummary::of(&client.call_latency),
            message_latency_ms: LatencySummary::of(&client.message_latency),
            histograms: Histograms {
                call_latency_ns: encode(&client.call_latency),
                message_latency_ns: encode(&client.message_latency),
            },
            failures: client.failures,
            first_failure: client.first_failure,
            server_side,
        }
    }

    /// Whether every call passed, on both sides.
    pub(crate) fn passed(&self) -> bool {
        self.calls.failed == 0 && self.server_side.as_ref().is_none_or(|s| s.failed == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram_in_milliseconds() {
        let mut nanos = Histogram::<u64>::new(3).unwrap();
        for ms in 1..=100u64 {
            nanos.record(ms * 1_000_000).unwrap();
        }
        let summary = LatencySummary::of(&nanos).unwrap();
        assert_eq!(summary.count, 100);
        assert!((summary.min - 1.0).abs() < 0.01, "{summary:?}");
        assert!((summary.p50 - 50.0).abs() < 0.1, "{summary:?}");
        assert!((summary.p99 - 99.0).abs() < 0.1, "{summary:?}");
        assert!((summary.max - 100.0).abs() < 0.1, "{summary:?}");
        assert!(LatencySummary::of(&Histogram::<u64>::new(3).unwrap()).is_none());
    }
}
