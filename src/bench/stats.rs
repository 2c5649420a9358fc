//! What a benchmark counts while it plays: calls, messages, latencies and failures, kept in
//! a few shards so that concurrent calls rarely contend for the same lock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::histogram::histogram;
use super::schedule::LATE_TOLERANCE;
use crate::report::failure_text;
use crate::runner::{
    CallResult, Failure, FailureKind, FailureReason, Observer, StepKind, StepOutcome, StepRecord,
};
use crate::scenario::{Call, Role, Scenario};

/// Adds `duration` to `histogram` (growing it as needed; beyond its reach, at its top).
fn record(histogram: &Mutex<Histogram<u64>>, duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let mut histogram = lock(histogram);
    if histogram.record(nanos).is_err() {
        histogram.saturating_record(nanos);
    }
}

/// Counters and histograms of the calls one group of workers played; it observes the
/// engine for them.
pub(crate) struct Shard {
    calls: AtomicU64,
    failed: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    scheduled: AtomicU64,
    late: AtomicU64,
    latest_start_nanos: AtomicU64,
    call_latency: Mutex<Histogram<u64>>,
    message_latency: Mutex<Histogram<u64>>,
    failures: Mutex<Failures>,
}

/// Failed calls by reason, how many of them the transport caused, and the account of
/// the first one.
#[derive(Default)]
struct Failures {
    by_kind: BTreeMap<String, u64>,
    transport: u64,
    first: Option<String>,
}

impl Shard {
    /// An empty shard.
    pub(crate) fn new() -> Shard {
        Shard {
            calls: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            scheduled: AtomicU64::new(0),
            late: AtomicU64::new(0),
            latest_start_nanos: AtomicU64::new(0),
            call_latency: Mutex::new(histogram()),
            message_latency: Mutex::new(histogram()),
            failures: Mutex::new(Failures::default()),
        }
    }
}

impl Shard {
    /// A scheduled iteration started `late` after it was due.
    pub(crate) fn started(&self, late: Duration) {
        self.scheduled.fetch_add(1, Ordering::Relaxed);
        if late > LATE_TOLERANCE {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
        self.latest_start_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    /// A call ended; `late`: how long after it was due its iteration started.
    fn finished(&self, scenario: &Scenario, result: &CallResult, late: Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        record(&self.call_latency, result.duration.saturating_add(late));
        if let Some(failure) = &result.failure {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let mut failures = lock(&self.failures);
            *failures.by_kind.entry(failure_key(failure)).or_default() += 1;
            if failure.kind() == FailureKind::Transport {
                failures.transport += 1;
            }
            failures
                .first
                .get_or_insert_with(|| failure_text(failure, &scenario.path, result.role));
        }
    }
}

/// Observes the calls of one scheduled iteration for a shard: their latency counts from
/// when the iteration was due.
pub(super) struct Iteration<'a> {
    /// Where the figures go.
    pub shard: &'a Shard,
    /// How long after it was due the iteration started.
    pub late: Duration,
}

impl Observer for Iteration<'_> {
    fn step(&self, scenario: &Scenario, call: &Call, role: Role, record: &StepRecord) {
        self.shard.step(scenario, call, role, record);
    }

    fn message_latency(&self, latency: Duration) {
        self.shard.message_latency(latency);
    }

    fn call_finished(&self, scenario: &Scenario, result: &CallResult) {
        self.shard.finished(scenario, result, self.late);
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Observer for Shard {
    fn step(&self, _scenario: &Scenario, _call: &Call, _role: Role, record: &StepRecord) {
        if !matches!(record.kind, StepKind::Client | StepKind::Server) {
            return;
        }
        let counter = match record.outcome {
            StepOutcome::Performed => &self.sent,
            StepOutcome::Passed => &self.received,
            StepOutcome::Failed => return,
        };
        counter.fetch_add(record.count, Ordering::Relaxed);
    }

    fn message_latency(&self, latency: Duration) {
        record(&self.message_latency, latency);
    }

    fn call_finished(&self, scenario: &Scenario, result: &CallResult) {
        self.finished(scenario, result, Duration::ZERO);
    }
}

/// The key a failure is counted under: its reason's variant, and for a call that ended
/// with another status than expected, that status (`status UNAVAILABLE`).
fn failure_key(failure: &Failure) -> String {
    match &*failure.reason {
        FailureReason::StatusMismatch {
            expected, received, ..
        } if received.code != *expected => format!("status {}", received.code.name()),
        reason => reason.name().to_string(),
    }
}

/// The running totals, for live progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Calls ended.
    pub calls: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Messages sent.
    pub sent: u64,
    /// Messages received and checked.
    pub received: u64,
    /// Iterations started on a schedule (`--rate`).
    pub scheduled: u64,
    /// Of those, how many started more than [`LATE_TOLERANCE`] after they were due.
    pub late: u64,
}

impl Counts {
    /// The totals of `shards` so far.
    pub(crate) fn of(shards: &[Shard]) -> Counts {
        shards
            .iter()
            .fold(Counts::default(), |total, shard| Counts {
                calls: total.calls + shard.calls.load(Ordering::Relaxed),
                failed: total.failed + shard.failed.load(Ordering::Relaxed),
                sent: total.sent + shard.sent.load(Ordering::Relaxed),
                received: total.received + shard.received.load(Ordering::Relaxed),
                scheduled: total.scheduled + shard.scheduled.load(Ordering::Relaxed),
                late: total.late + shard.late.load(Ordering::Relaxed),
            })
    }

    /// Messages sent and received.
    pub(crate) fn messages(&self) -> u64 {
        self.sent + self.received
    }
}

/// Everything the shards recorded, merged.
pub(crate) struct Merged {
    /// The totals.
    pub counts: Counts,
    /// The longest a scheduled iteration waited past its time.
    pub latest_start: Duration,
    /// How long calls took, in nanoseconds.
    pub call_latency: Histogram<u64>,
    /// How long checked messages took from the send they answer, in nanoseconds.
    pub message_latency: Histogram<u64>,
    /// Failed calls by reason.
    pub failures: BTreeMap<String, u64>,
    /// Failed calls the transport caused.
    pub transport_failures: u64,
    /// The account of the first failure recorded.
    pub first_failure: Option<String>,
}

impl Merged {
    /// Merges `shards`.
    pub(crate) fn of(shards: &[Shard]) -> Merged {
        let mut merged = Merged {
            counts: Counts::of(shards),
            latest_start: Duration::ZERO,
            call_latency: histogram(),
            message_latency: histogram(),
            failures: BTreeMap::new(),
            transport_failures: 0,
            first_failure: None,
        };
        for shard in shards {
            let latest = Duration::from_nanos(shard.latest_start_nanos.load(Ordering::Relaxed));
            merged.latest_start = merged.latest_start.max(latest);
            merged
                .call_latency
                .add(&*lock(&shard.call_latency))
                .expect("auto-resizing histograms merge");
            merged
                .message_latency
                .add(&*lock(&shard.message_latency))
                .expect("auto-resizing histograms merge");
            let failures = lock(&shard.failures);
            for (kind, count) in &failures.by_kind {
                *merged.failures.entry(kind.clone()).or_default() += count;
            }
            merged.transport_failures += failures.transport;
            if merged.first_failure.is_none() {
                merged.first_failure.clone_from(&failures.first);
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Expected, Limit, StatusSeen};
    use crate::scenario::node::Pos;
    use crate::scenario::StatusCode;

    fn failure(reason: FailureReason) -> Failure {
        Failure {
            pos: Pos { line: 1, column: 1 },
            step: StepKind::Status,
            reason: Box::new(reason),
        }
    }

    #[test]
    fn failures_are_counted_by_reason_and_by_the_status_that_came_instead() {
        let ended_with = |code| {
            failure(FailureReason::StatusMismatch {
                expected: StatusCode::OK,
                received: StatusSeen {
                    code: StatusCode(code),
                    message: String::new(),
                    trailers: Vec::new(),
                    broken: None,
                    own_deadline: false,
                },
                diffs: Vec::new(),
            })
        };
        assert_eq!(failure_key(&ended_with(14)), "status UNAVAILABLE");
        // The expected code with other details: counted as the reason.
        assert_eq!(failure_key(&ended_with(0)), "status_mismatch");
        let absent = failure(FailureReason::Absent {
            expected: Expected::Status(StatusCode::OK),
            limit: Limit::Deadline(Duration::from_secs(1)),
            then: None,
        });
        assert_eq!(failure_key(&absent), "absent");
    }
}
