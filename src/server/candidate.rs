//! One script that an incoming call may be following, played on a virtual call: it sees
//! every client event, and what it would do on the wire goes to the coordinator as a
//! proposal instead (see `conversation`).

use std::collections::VecDeque;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::matching::{MetaValue, ReceivedMetadata};
use crate::runner::{CallIo, CallResult, FinalStatus, PeerEvent};
use crate::scenario::StatusCode;

/// Something a script does on the wire (server role).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ServerAction {
    /// Response headers.
    Headers(Vec<(String, MetaValue)>),
    /// A message, `count` times.
    Send(Bytes, u64),
    /// The final status.
    Finish {
        /// The code.
        code: StatusCode,
        /// The message.
        message: String,
        /// The trailers.
        trailers: Vec<(String, MetaValue)>,
    },
}

impl ServerAction {
    /// The action that ends a call with `status`.
    fn finish(status: FinalStatus) -> ServerAction {
        ServerAction::Finish {
            code: status.code,
            message: status.message,
            trailers: status.trailers,
        }
    }

    /// The status of a `Finish`.
    pub(super) fn into_status(self) -> Option<FinalStatus> {
        match self {
            ServerAction::Finish {
                code,
                message,
                trailers,
            } => Some(FinalStatus {
                code,
                message,
                trailers,
            }),
            _ => None,
        }
    }
}

/// What a candidate tells the coordinator.
pub(super) enum Report {
    /// It would do this (not waiting for it to happen).
    Proposed(ServerAction),
    /// It would send this message and waits until the send is done (or abandoned).
    Sending(ServerAction, oneshot::Sender<()>),
    /// It waits for a client event, having read `consumed` events.
    Waiting(u64),
    /// Its script ended.
    Done(Box<CallResult>),
}

/// The reports of all candidates, each tagged with its candidate's number.
pub(super) type Reports = mpsc::UnboundedSender<(usize, Report)>;

/// The virtual call a candidate's script plays on.
pub(super) struct CandidateIo {
    number: usize,
    metadata: ReceivedMetadata,
    events: mpsc::UnboundedReceiver<PeerEvent>,
    consumed: u64,
    reports: Reports,
}

impl CandidateIo {
    /// The call of candidate `number`: client events arrive on `events`.
    pub(super) fn new(
        number: usize,
        metadata: ReceivedMetadata,
        events: mpsc::UnboundedReceiver<PeerEvent>,
        reports: Reports,
    ) -> CandidateIo {
        CandidateIo {
            number,
            metadata,
            events,
            consumed: 0,
            reports,
        }
    }

    /// Tells the coordinator; a coordinator that is gone has chosen already.
    pub(super) fn report(&self, report: Report) {
        let _ = self.reports.send((self.number, report));
    }
}

impl CallIo for CandidateIo {
    async fn send_messages(&mut self, message: &Bytes, count: u64, _: &mut VecDeque<PeerEvent>) {
        let (done, sent) = oneshot::channel();
        let send = ServerAction::Send(message.clone(), count);
        self.report(Report::Sending(send, done));
        let _ = sent.await;
    }

    fn send_headers(&mut self, headers: Vec<(String, MetaValue)>) {
        self.report(Report::Proposed(ServerAction::Headers(headers)));
    }

    async fn close_send(&mut self) {}

    async fn cancel(&mut self) {}

    async fn finish(&mut self, status: FinalStatus) {
        self.report(Report::Proposed(ServerAction::finish(status)));
    }

    fn ready_now(&mut self) -> Option<PeerEvent> {
        let event = self.events.try_recv().ok()?;
        self.consumed += 1;
        Some(event)
    }

    async fn next_event(&mut self) -> Option<PeerEvent> {
        if let Some(event) = self.ready_now() {
            return Some(event);
        }
        self.report(Report::Waiting(self.consumed));
        let event = self.events.recv().await?;
        self.consumed += 1;
        Some(event)
    }

    fn request_metadata(&self) -> ReceivedMetadata {
        self.metadata.clone()
    }
}
