//! The replay engine: walks a call's script in one role over any transport, and records
//! what happened as data ([`CallResult`]); `report/` turns it into text.

mod captures;
mod io;
mod latency;
mod observer;
mod outcome;
mod panic;
mod play;

pub(crate) use captures::Captures;
pub(crate) use io::{
    CallIo, FinalStatus, MessageFault, PeerEvent, DEADLINE_RESET_GRACE, SEND_QUEUE,
};
pub(crate) use observer::{Observer, Silent};
pub(crate) use outcome::{
    CallResult, Expected, Failure, FailureKind, FailureReason, Limit, MessageData, MetadataPlace,
    Refusal, RefusedCall, Seen, StatusSeen, StepKind, StepOutcome, StepRecord, Subject, Written,
};
pub(crate) use panic::{caught, panic_message, panicked};
pub(crate) use play::{play_call, PlayOptions};
