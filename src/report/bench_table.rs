//! The benchmark table: a [`BenchReport`] as people read it in a terminal or a CI log.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::bench::{BenchReport, ScheduleFigures, LATE_TOLERANCE};

/// A benchmark report as a table for people.
pub(crate) fn bench_table(report: &BenchReport) -> String {
    let mut out = String::new();
    let files = match report.files.as_slice() {
        [one] => one.clone(),
        many => format!("{} files", many.len()),
    };
    let rate = report
        .rate
        .map(|r| format!(", rate {} iterations/s", decimal(r)))
        .unwrap_or_default();
    let ramp = report
        .ramp_seconds
        .map(|r| format!(" after a {r}s ramp"))
        .unwrap_or_default();
    if !report.merged_from.is_empty() {
        let _ = writeln!(
            out,
            "{} reports merged: {}",
            report.merged_from.len(),
            report.merged_from.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "{files} against {}: concurrency {} over {} connection{}{rate}{ramp}, {:.2}s",
        report.target,
        report.concurrency,
        report.connections,
        if report.connections == 1 { "" } else { "s" },
        report.elapsed_seconds
    );
    let _ = writeln!(
        out,
        "  calls     {:>12}  {:>12}/s   ({} passed, {} failed)",
        grouped(report.calls.total),
        decimal(report.calls.per_second),
        grouped(report.calls.passed),
        grouped(report.calls.failed)
    );
    let _ = writeln!(
        out,
        "  messages  {:>12}  {:>12}/s   ({} sent, {} received and checked)",
        grouped(report.messages.sent + report.messages.received),
        decimal(report.messages.per_second),
        grouped(report.messages.sent),
        grouped(report.messages.received)
    );
    write_latencies(&mut out, report);
    if let Some(schedule) = &report.schedule {
        write_schedule(&mut out, schedule);
    }
    write_failures(
        &mut out,
        "failures",
        &report.failures,
        &report.first_failure,
    );
    if let Some(server) = &report.server_side {
        let _ = writeln!(
            out,
            "  server side (loopback): {} calls, {} failed",
            grouped(server.calls),
            grouped(server.failed)
        );
        write_failures(
            &mut out,
            "server-side failures",
            &server.failures,
            &server.first_failure,
        );
    }
    out
}

/// The latency rows: per call and per checked message.
fn write_latencies(out: &mut String, report: &BenchReport) {
    let _ = writeln!(
        out,
        "  latency (ms)  {:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "min", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    for (name, summary) in [
        ("per call", &report.call_latency_ms),
        ("per message", &report.message_latency_ms),
    ] {
        let _ = write!(out, "    {name:<11}");
        match summary {
            Some(summary) => {
                for value in summary.columns() {
                    let _ = write!(out, "{:>10}", format!("{value:.3}"));
                }
                let _ = writeln!(out);
            }
            None => {
                let _ = writeln!(out, "{:>10}", "-");
            }
        }
    }
}

fn write_schedule(out: &mut String, schedule: &ScheduleFigures) {
    let _ = writeln!(
        out,
        "  schedule  {} of {} iterations started late (over {}ms past due, at most {:.3}ms);",
        grouped(schedule.started_late),
        grouped(schedule.iterations),
        LATE_TOLERANCE.as_millis(),
        schedule.latest_start_ms
    );
    let advice = if schedule.started_late > 0 {
        "; raise --concurrency to keep up with --rate"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "            calls are timed from when their iteration was due{advice}"
    );
}

fn write_failures(
    out: &mut String,
    title: &str,
    failures: &BTreeMap<String, u64>,
    first: &Option<String>,
) {
    if failures.is_empty() {
        return;
    }
    let _ = writeln!(out, "  {title}:");
    for (kind, count) in failures {
        let _ = writeln!(out, "    {kind:<40} {:>10}", grouped(*count));
    }
    if let Some(first) = first {
        let _ = writeln!(out, "  first failure:");
        for line in first.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A rate with one decimal and grouped thousands: `12,345.6`.
pub(crate) fn decimal(value: f64) -> String {
    let tenths = (value * 10.0).round().max(0.0) as u64;
    format!("{}.{}", grouped(tenths / 10), tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(decimal(12345.64), "12,345.6");
        assert_eq!(decimal(0.04), "0.0");
    }
}
