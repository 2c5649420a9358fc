//! When a benchmark's iterations are due: at a fixed rate (open loop), optionally ramped up
//! linearly over a first stretch; or, without a rate, when each worker joins a concurrency
//! ramp.

use std::time::Duration;

/// An iteration that starts more than this after its scheduled time started late (the
/// timer's own resolution is about a millisecond).
pub(crate) const LATE_TOLERANCE: Duration = Duration::from_millis(2);

/// The pace of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Schedule {
    /// Iterations started per second once ramped up; `None`: as fast as the workers go.
    pub rate: Option<f64>,
    /// How long the rate (or, without a rate, the concurrency) takes to climb linearly
    /// from zero to its full value.
    pub ramp: Duration,
}

impl Schedule {
    /// When iteration `n` (from 0) is due, from the start; `None` without a rate.
    ///
    /// During a ramp of `T` seconds to `R` per second the rate is `R·t/T`, so `R·t²/2T`
    /// iterations are due by `t`; after it, one every `1/R` seconds.
    pub(crate) fn due(&self, n: u64) -> Option<Duration> {
        let rate = self.rate?;
        let ramp = self.ramp.as_secs_f64();
        let in_ramp = rate * ramp / 2.0;
        let n = n as f64;
        let seconds = if n < in_ramp {
            (2.0 * ramp * n / rate).sqrt()
        } else {
            ramp + (n - in_ramp) / rate
        };
        Some(Duration::from_secs_f64(seconds))
    }

    /// When worker `worker` of `workers` begins, from the start: without a rate, the
    /// workers join one by one over the ramp; with one (or no ramp), all at once.
    pub(crate) fn worker_start(&self, worker: usize, workers: usize) -> Duration {
        if self.rate.is_some() || workers == 0 {
            return Duration::ZERO;
        }
        self.ramp.mul_f64(worker as f64 / workers as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(duration: Option<Duration>) -> f64 {
        duration
            .expect("a rate schedules every iteration")
            .as_secs_f64()
            * 1e3
    }

    #[test]
    fn a_steady_rate_spaces_iterations_evenly() {
        let schedule = Schedule {
            rate: Some(10.0),
            ramp: Duration::ZERO,
        };
        for n in 0..5 {
            assert!((ms(schedule.due(n)) - 100.0 * n as f64).abs() < 1e-6);
        }
    }

    #[test]
    fn a_ramp_starts_slow_and_meets_the_steady_rate_where_it_ends() {
        // 2s to 100/s: 100 iterations during the ramp, then one every 10ms.
        let schedule = Schedule {
            rate: Some(100.0),
            ramp: Duration::from_secs(2),
        };
        let gaps: Vec<f64> = (0..100)
            .map(|n| ms(schedule.due(n + 1)) - ms(schedule.due(n)))
            .collect();
        assert!(gaps.windows(2).all(|w| w[1] <= w[0] + 1e-9), "gaps shrink");
        assert!((ms(schedule.due(100)) - 2000.0).abs() < 1e-6);
        assert!((ms(schedule.due(150)) - 2500.0).abs() < 1e-6);
        // Half the ramp's time holds a quarter of its iterations (the rate is linear).
        assert!((ms(schedule.due(25)) - 1000.0).abs() < 1e-6);
    }

    #[test]
    fn without_a_rate_the_ramp_staggers_the_workers() {
        let ramped = Schedule {
            rate: None,
            ramp: Duration::from_secs(4),
        };
        let starts: Vec<Duration> = (0..4).map(|w| ramped.worker_start(w, 4)).collect();
        assert_eq!(starts, [0, 1, 2, 3].map(Duration::from_secs));
        assert_eq!(ramped.due(3), None);
        let rated = Schedule {
            rate: Some(5.0),
            ..ramped
        };
        assert_eq!(rated.worker_start(3, 4), Duration::ZERO);
    }
}
