//! Live output of a command: the engine's events, plus what the command itself says.

use std::net::SocketAddr;
use std::path::Path;

use super::outcome::{RunOutcome, SkippedCall};
use crate::runner::Observer;
use crate::scenario::Scenario;

/// What `run` and `serve` print while they play: human lines or a stream of JSON events.
pub(crate) trait Progress: Observer {
    /// The server is bound to `addr` and serves `scripts` call scripts; `once`: it exits
    /// once every script has played.
    fn listening(&self, addr: SocketAddr, scripts: usize, once: bool);
    /// A call of `scenario` is not played.
    fn call_skipped(&self, scenario: &Scenario, skipped: &SkippedCall);
    /// Every call of `file` has ended: output grouped per file is printed now.
    fn file_finished(&self, file: &Path);
    /// The closing summary.
    fn summary(&self, outcome: &RunOutcome);
}
