//! The replay engine: walks a call's script in one role over any transport.

mod captures;
mod io;
mod observer;
mod outcome;
mod play;

pub use captures::Captures;
pub use io::{CallIo, FinalStatus, PeerEvent, DEADLINE_RESET_GRACE, SEND_QUEUE};
pub use observer::{Observer, Silent};
pub use outcome::{CallResult, Failure, FailureKind, StepOutcome, StepRecord};
pub use play::{play_call, PlayOptions, STRAYED_CODE};
