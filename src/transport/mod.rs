//! What both roles share on the wire: metadata conversion, status classification and
//! HTTP/2 settings; and the server's accept loop with its connection bounds.

mod accept;
mod connection;
mod details_guard;
mod goaway;
mod handshake;
mod handshake_log;
mod metadata;
mod queue;
mod server_tls;
mod settings;
mod size;
mod status;

pub use accept::{
    accept, ConnectionLimits, Incoming, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
};
pub use connection::{Connection, ConnectionInfo, OpenCall};
pub use details_guard::guard_status_details;
pub use goaway::{Calm, Peer};
pub use handshake::{FailedConnection, HandshakeFailure};
pub use handshake_log::HandshakeLog;
pub use metadata::{received_metadata, to_metadata_map};
pub use queue::{EventReceiver, EventSender, Repeated, SendQueue};
pub use server_tls::server_tls;
pub use settings::{
    Http2Settings, DEFAULT_CONNECTION_WINDOW, DEFAULT_STREAM_WINDOW, MAX_WINDOW, NOT_HTTP2_FRAMES,
};
pub use size::{
    decoder_fault, fault_of, FrameError, FrameLimit, ReceivedFlags, DEFAULT_MAX_MESSAGE_SIZE,
};
pub use status::status_event;
