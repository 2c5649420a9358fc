//! The live progress bar of a benchmark on a terminal: how far it is, and the current
//! rate of calls and messages (over the last tick, not the average).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use super::{Bench, Counts, Stop};
use crate::report::{decimal, grouped};

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(250);

/// A progress bar redrawn every [`TICK`] while a benchmark runs.
pub(crate) struct LiveProgress {
    bar: ProgressBar,
    ticker: JoinHandle<()>,
}

impl LiveProgress {
    /// Starts drawing the progress of `bench` when standard output is a terminal;
    /// `calls_expected`: how many calls an iteration-bound benchmark will play.
    pub(crate) fn start(bench: Arc<Bench>, calls_expected: u64) -> Option<LiveProgress> {
        if !std::io::stdout().is_terminal() {
            return None;
        }
        let stop = bench.options().stop;
        let (length, template) = match stop {
            Stop::Iterations(_) => (
                calls_expected,
                "{spinner} [{bar:30}] {pos}/{len} calls  {msg}",
            ),
            Stop::Duration(duration) => (
                u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                "{spinner} [{bar:30}] {elapsed}/{duration}  {msg}",
            ),
        };
        let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stdout());
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("the progress template is valid")
                .progress_chars("=> "),
        );
        let ticker = tokio::spawn({
            let bar = bar.clone();
            async move {
                let mut interval = tokio::time::interval(TICK);
                let mut previous = (Counts::default(), bench.elapsed());
                loop {
                    interval.tick().await;
                    let now = (bench.counts(), bench.elapsed());
                    bar.set_position(match stop {
                        Stop::Iterations(_) => now.0.calls,
                        Stop::Duration(_) => u64::try_from(now.1.as_millis()).unwrap_or(0),
                    });
                    bar.set_message(current_rates(previous, now));
                    previous = now;
                }
            }
        });
        Some(LiveProgress { bar, ticker })
    }

    /// Stops drawing and clears the bar (the final table follows).
    pub(crate) fn finish(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

/// `1,234.0 calls/s  56,789.0 msg/s  2 failed`, over the time between two readings.
fn current_rates(before: (Counts, Duration), now: (Counts, Duration)) -> String {
    let seconds = now.1.saturating_sub(before.1).as_secs_f64().max(1e-3);
    let rate = |now: u64, before: u64| decimal(now.saturating_sub(before) as f64 / seconds);
    format!(
        "{} calls/s  {} msg/s  {} failed",
        rate(now.0.calls, before.0.calls),
        rate(now.0.messages(), before.0.messages()),
        grouped(now.0.failed)
    )
}
