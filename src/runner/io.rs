//! What the engine needs from a transport: one side of one call.

use bytes::Bytes;

use crate::matching::{MetaValue, ReceivedMetadata};
use crate::scenario::StatusCode;

/// Something the peer did, in the order it happened.
#[derive(Debug, Clone)]
pub enum PeerEvent {
    /// Response headers (client role).
    Headers(ReceivedMetadata),
    /// A message, still encoded.
    Message {
        /// The message's bytes (decompressed when it came compressed).
        bytes: Bytes,
        /// Its gRPC frame's compressed flag; `None` when the transport did not see it.
        compressed: Option<bool>,
    },
    /// The client ended its stream (server role).
    HalfClosed,
    /// The call ended with a status (client role).
    Status {
        /// The code.
        code: StatusCode,
        /// The status message.
        message: String,
        /// Trailing metadata.
        trailers: ReceivedMetadata,
        /// When the status did not come from the peer but from a broken connection:
        /// what broke.
        transport_error: Option<String>,
    },
    /// The client cancelled the call (server role): it reset the stream with CANCEL or
    /// STREAM_CLOSED, or with any code at the call's deadline, or its connection ended.
    Cancelled(String),
    /// The client reset the stream with another code before the call's deadline (server
    /// role): not a cancel.
    Reset(String),
    /// This side's HTTP/2 layer closed the connection (one of its guards tripped): neither
    /// the peer's doing nor the script's; the transport's account of which guard.
    LocalGoaway(String),
    /// The peer's next message could not be read: over the size limit, or cut short.
    Malformed(MessageFault),
}

/// What is wrong with a message that could not be read, or may not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFault {
    /// It is `size` bytes, over the `limit` (`--max-message-size`).
    TooLarge {
        /// The message's size in bytes (as its gRPC frame announces it, for a received one).
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The stream ended inside it (its frame announced more bytes than came).
    Truncated,
    /// It came compressed and decompresses to more than `limit` bytes
    /// (`--max-message-size`), however small it was on the wire.
    TooLargeDecompressed {
        /// The limit in bytes.
        limit: u64,
    },
    /// It is marked compressed but could not be decompressed (a corrupt body, or no
    /// compression the call agreed on).
    Undecompressable,
}

/// How long a server waits past the call's deadline before it ends the call itself: the
/// client's own reset at its deadline (it started its clock first) arrives in that time and
/// is what a script's `cancel` step matches.
pub(crate) const DEADLINE_RESET_GRACE: std::time::Duration = std::time::Duration::from_millis(50);

/// A final status to end a call with (server role).
#[derive(Debug, Clone)]
pub(crate) struct FinalStatus {
    /// The code.
    pub code: StatusCode,
    /// The message.
    pub message: String,
    /// Trailing metadata.
    pub trailers: Vec<(String, MetaValue)>,
}

/// How many messages may wait for the transport before sending waits: enough to keep the
/// HTTP/2 connection busy, few enough that a long stream does not pile up in memory.
pub(crate) const SEND_QUEUE: usize = 1024;

/// One side of one call, as the engine drives it. Sending queues messages for the transport
/// and waits only while [`SEND_QUEUE`] sends are already waiting. Receiving is eager: the
/// transport reads what the peer sends as it arrives and hands it over through
/// [`CallIo::next_event`]; its queue is bounded (so a long stream keeps memory flat), and
/// while a send waits, received events are parked instead, so a peer that answers while the
/// script sends never stalls the stream.
pub(crate) trait CallIo {
    /// Queues a message for the peer, to go out `count` times. It may wait in a batch
    /// until [`CallIo::flush`] or the next wait for an event. While the queue has no
    /// room, what the peer sends is moved to `parked` (to be read from there first), so
    /// that a peer that sends while this side is not reading never stalls both sides.
    fn send_messages(
        &mut self,
        message: &Bytes,
        count: u64,
        parked: &mut std::collections::VecDeque<PeerEvent>,
    ) -> impl std::future::Future<Output = ()> + Send;
    /// Sends response headers (server role).
    fn send_headers(&mut self, headers: Vec<(String, MetaValue)>);
    /// Sends the messages still batched (before the script pauses), parking what the
    /// peer sends meanwhile as [`CallIo::send_messages`] does.
    fn flush(
        &mut self,
        _parked: &mut std::collections::VecDeque<PeerEvent>,
    ) -> impl std::future::Future<Output = ()> + Send {
        async {}
    }
    /// Half-closes the client's stream (client role), after the messages batched.
    fn close_send(&mut self) -> impl std::future::Future<Output = ()> + Send;
    /// Cancels the call (client role), after the messages already queued.
    fn cancel(&mut self) -> impl std::future::Future<Output = ()> + Send;
    /// Ends the call with a status (server role).
    fn finish(&mut self, status: FinalStatus) -> impl std::future::Future<Output = ()> + Send;
    /// The next thing the peer did; `None` once nothing more can happen. Sends the
    /// messages batched before it waits.
    fn next_event(&mut self) -> impl std::future::Future<Output = Option<PeerEvent>> + Send;
    /// The next thing the peer did if it has already arrived, without waiting: the fast
    /// path of a busy stream. `None` says only that nothing is there yet.
    fn ready_now(&mut self) -> Option<PeerEvent> {
        None
    }
    /// The request metadata the client sent (server role).
    fn request_metadata(&self) -> ReceivedMetadata;
}
