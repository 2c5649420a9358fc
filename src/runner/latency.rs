//! Per-message latency: a checked message pairs with the send it answers in the script —
//! the latest message this side sent before it — and the pauses the script asks for in
//! between (`after:` on either side's steps, `sleep:`) are not counted.
//!
//! ```yaml
//! - client: "Ann"          # sent at t0
//! - client: "Bob"          # sent at t1
//! - server: "Hello Bob"    # taken at t2: latency t2 - t1 - 20ms
//!   after: 20ms
//! - server: "Bob again"    # taken at t3: latency t3 - t1 - 20ms (same send, same pause)
//! ```

use std::time::Duration;

use tokio::time::Instant;

/// The latest send of a call and the scripted pauses since.
#[derive(Debug, Default)]
pub(super) struct Pairing {
    /// When this side last sent a message; `None` before its first.
    last_send: Option<Instant>,
    /// The scripted pauses since that send.
    paused: Duration,
}

impl Pairing {
    /// This side sent a message at `at`: later checked messages answer it.
    pub(super) fn sent(&mut self, at: Instant) {
        self.last_send = Some(at);
        self.paused = Duration::ZERO;
    }

    /// The script pauses for `pause` (on either side) after the latest send.
    pub(super) fn paused(&mut self, pause: Duration) {
        if self.last_send.is_some() {
            self.paused = self.paused.saturating_add(pause);
        }
    }

    /// The latency of a checked message taken at `at`: the time since the send it answers,
    /// less the scripted pauses; `None` when this side has sent nothing yet.
    pub(super) fn answered(&self, at: Instant) -> Option<Duration> {
        let sent = self.last_send?;
        Some(
            at.saturating_duration_since(sent)
                .saturating_sub(self.paused),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_reply_pairs_with_the_latest_send_not_the_oldest() {
        let t0 = Instant::now();
        let mut pairing = Pairing::default();
        pairing.sent(t0);
        pairing.sent(t0 + 10 * MS);
        assert_eq!(pairing.answered(t0 + 13 * MS), Some(3 * MS));
        // A second reply to the same send pairs with it too.
        assert_eq!(pairing.answered(t0 + 15 * MS), Some(5 * MS));
    }

    #[test]
    fn scripted_pauses_since_the_send_are_not_latency() {
        let t0 = Instant::now();
        let mut pairing = Pairing::default();
        pairing.paused(100 * MS); // before any send: nothing to subtract from
        pairing.sent(t0);
        pairing.paused(20 * MS);
        pairing.paused(5 * MS);
        assert_eq!(pairing.answered(t0 + 27 * MS), Some(2 * MS));
        pairing.sent(t0 + 30 * MS);
        assert_eq!(
            pairing.answered(t0 + 31 * MS),
            Some(MS),
            "a send resets the pauses"
        );
    }

    #[test]
    fn nothing_pairs_before_the_first_send_and_latency_never_goes_negative() {
        let t0 = Instant::now();
        let mut pairing = Pairing::default();
        assert_eq!(pairing.answered(t0), None);
        pairing.sent(t0);
        pairing.paused(50 * MS);
        assert_eq!(pairing.answered(t0 + 49 * MS), Some(Duration::ZERO));
    }
}
