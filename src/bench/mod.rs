//! The load mode (`grpc-replay bench`): plays scenario files over and over with a number of
//! iterations in flight, spread over several connections, optionally at a fixed rate, and
//! measures calls, messages, latencies and failures. The calls are played by the same
//! engine as `run` ([`crate::client::run_scenario`]); only the counting is added.

mod histogram;
mod live;
mod merge;
mod report;
mod schedule;
mod stats;

pub(crate) use live::LiveProgress;
pub(crate) use merge::{expand_reports, merge, read_report, MergeError};
pub(crate) use report::{BenchReport, ScheduleFigures, ServerSide, Setup};
pub(crate) use schedule::{Schedule, LATE_TOLERANCE};
pub(crate) use stats::{Counts, Merged, Shard};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tonic::transport::Channel;

use crate::client::run_scenario;
use crate::runner::PlayOptions;
use crate::scenario::Scenario;
use stats::Iteration;

/// When a benchmark stops starting iterations (the iterations in flight then finish).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stop {
    /// After this many iterations.
    Iterations(u64),
    /// Once this long has passed since the start.
    Duration(Duration),
}

/// How a benchmark plays.
#[derive(Debug, Clone)]
pub(crate) struct BenchOptions {
    /// Iterations in flight at once (each a worker playing one file after another).
    pub concurrency: usize,
    /// The pace: a rate (open loop) and a ramp.
    pub schedule: Schedule,
    /// When to stop.
    pub stop: Stop,
    /// Engine limits; [`PlayOptions::latencies`] gives the per-message latencies.
    pub play: PlayOptions,
}

/// A benchmark: its options, what it counted so far, and where it stands.
///
/// One iteration plays one scenario file as `run` does (its calls one after another, or at
/// once when the file says `concurrent: true`); iteration `n` plays file `n mod files`.
pub(crate) struct Bench {
    options: BenchOptions,
    shards: Vec<Shard>,
    next: AtomicU64,
    stop: watch::Sender<bool>,
    started: Instant,
}

/// How many shards the counters are split into: enough that workers on different cores
/// seldom share one, few enough that merging costs nothing.
fn shard_count(concurrency: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    concurrency.clamp(1, 4 * cores)
}

impl Bench {
    /// A benchmark that starts now.
    pub(crate) fn new(options: BenchOptions) -> Bench {
        let shards = (0..shard_count(options.concurrency))
            .map(|_| Shard::new())
            .collect();
        Bench {
            options,
            shards,
            next: AtomicU64::new(0),
            stop: watch::Sender::new(false),
            started: Instant::now(),
        }
    }

    /// The options.
    pub(crate) fn options(&self) -> &BenchOptions {
        &self.options
    }

    /// How long since the benchmark started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The totals so far.
    pub(crate) fn counts(&self) -> Counts {
        Counts::of(&self.shards)
    }

    /// Everything counted, merged.
    pub(crate) fn merged(&self) -> Merged {
        Merged::of(&self.shards)
    }

    /// Starts no more iterations (Ctrl-C); those in flight finish.
    pub(crate) fn stop_early(&self) {
        self.stop.send_replace(true);
    }

    /// Plays `scenarios` with [`BenchOptions::concurrency`] workers, worker `w` on
    /// `channels[w mod channels]`, until [`BenchOptions::stop`] or [`Bench::stop_early`];
    /// returns how long it took, from the start to the end of the last iteration.
    pub(crate) async fn run(
        self: &Arc<Self>,
        scenarios: Arc<[Scenario]>,
        channels: &[Channel],
    ) -> Duration {
        assert!(
            !scenarios.is_empty() && !channels.is_empty(),
            "a benchmark needs a scenario and a channel"
        );
        let workers: Vec<_> = (0..self.options.concurrency.max(1))
            .map(|worker| {
                let bench = self.clone();
                let scenarios = scenarios.clone();
                let channel = channels[worker % channels.len()].clone();
                tokio::spawn(async move { bench.work(worker, &scenarios, &channel).await })
            })
            .collect();
        for worker in workers {
            if let Err(error) = worker.await {
                if error.is_panic() {
                    std::panic::resume_unwind(error.into_panic());
                }
            }
        }
        self.elapsed()
    }

    /// One worker: joins at its place in a concurrency ramp, then claims iterations and
    /// plays them until there are none left. A scheduled iteration's calls are timed from
    /// when it was due, not from when it could start (no coordinated omission).
    async fn work(&self, worker: usize, scenarios: &[Scenario], channel: &Channel) {
        let shard = &self.shards[worker % self.shards.len()];
        let mut stopped = self.stop.subscribe();
        let schedule = &self.options.schedule;
        let joins = self.started + schedule.worker_start(worker, self.options.concurrency);
        if !wait_until(joins, &mut stopped).await {
            return;
        }
        while let Some((iteration, scheduled)) = self.claim() {
            let mut late = Duration::ZERO;
            if let Some(at) = scheduled {
                if !wait_until(at, &mut stopped).await {
                    return;
                }
                late = at.elapsed();
                shard.started(late);
            }
            let index = usize::try_from(iteration % scenarios.len() as u64).unwrap_or(0);
            let observer = Iteration { shard, late };
            run_scenario(&scenarios[index], channel, &self.options.play, &observer).await;
        }
    }

    /// The next iteration to play and, at a fixed rate, when it is due; `None` when the
    /// benchmark is over.
    fn claim(&self) -> Option<(u64, Option<Instant>)> {
        if *self.stop.borrow() {
            return None;
        }
        let iteration = self.next.fetch_add(1, Ordering::Relaxed);
        let scheduled = self
            .options
            .schedule
            .due(iteration)
            .map(|due| self.started + due);
        let over = match self.options.stop {
            Stop::Iterations(total) => iteration >= total,
            Stop::Duration(duration) => {
                scheduled.unwrap_or_else(Instant::now) >= self.started + duration
            }
        };
        (!over).then_some((iteration, scheduled))
    }
}

/// Sleeps until `at`; `false` when the benchmark was stopped first.
async fn wait_until(at: Instant, stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep_until(at) => true,
        _ = stopped.wait_for(|stop| *stop) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(stop: Stop, rate: Option<f64>) -> Bench {
        Bench::new(BenchOptions {
            concurrency: 4,
            schedule: Schedule {
                rate,
                ramp: Duration::ZERO,
            },
            stop,
            play: PlayOptions::default(),
        })
    }

    #[test]
    fn iterations_are_claimed_once_each_up_to_the_count() {
        let bench = bench(Stop::Iterations(3), None);
        let claimed: Vec<u64> = std::iter::from_fn(|| bench.claim().map(|(n, _)| n)).collect();
        assert_eq!(claimed, [0, 1, 2]);
        assert!(bench.claim().is_none());
    }

    #[test]
    fn a_rate_spaces_the_iterations_and_bounds_them_by_the_duration() {
        let bench = bench(Stop::Duration(Duration::from_millis(500)), Some(10.0));
        let due: Vec<Duration> = std::iter::from_fn(|| bench.claim())
            .map(|(_, at)| at.expect("a rate schedules every iteration") - bench.started)
            .collect();
        assert_eq!(due.len(), 5, "{due:?}");
        for (n, at) in due.iter().enumerate() {
            assert_eq!(*at, Duration::from_millis(100 * n as u64));
        }
    }

    #[test]
    fn stopping_early_ends_the_claims() {
        let bench = bench(Stop::Iterations(100), None);
        assert!(bench.claim().is_some());
        bench.stop_early();
        assert!(bench.claim().is_none());
    }
}
