//! Live progress from the engine to whoever reports it.

use super::outcome::{CallResult, RefusedCall, StepRecord};
use crate::scenario::{Call, Role, Scenario};

/// Receives what happens while calls are played. Shared by concurrent calls.
pub(crate) trait Observer: Send + Sync {
    /// A call begins.
    fn call_started(&self, _scenario: &Scenario, _call: &Call, _role: Role) {}
    /// A step finished (performed, passed or failed).
    fn step(&self, _scenario: &Scenario, _call: &Call, _role: Role, _record: &StepRecord) {}
    /// A checked message arrived, `latency` after the oldest send it answers (only when
    /// [`super::PlayOptions::latencies`] is on).
    fn message_latency(&self, _latency: std::time::Duration) {}
    /// A call ended.
    fn call_finished(&self, _scenario: &Scenario, _result: &CallResult) {}
    /// The server role answered a call without playing a script.
    fn call_refused(&self, _refused: &RefusedCall) {}
}

/// An observer that ignores everything.
pub(crate) struct Silent;

impl Observer for Silent {}
