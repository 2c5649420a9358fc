//! What both roles share on the wire: metadata conversion, status classification and
//! HTTP/2 settings.

mod metadata;
mod queue;
mod settings;
mod size;
mod status;

pub use metadata::{received_metadata, to_metadata_map};
pub use queue::{EventReceiver, EventSender, Repeated};
pub use settings::{
    Http2Settings, DEFAULT_CONNECTION_WINDOW, DEFAULT_STREAM_WINDOW, HEADER_LIST_GUARD, MAX_WINDOW,
    NOT_HTTP2_FRAMES, SMALL_FRAME_GUARD,
};
pub use size::{fault_of, FrameError, FrameLimit, DEFAULT_MAX_MESSAGE_SIZE};
pub use status::status_event;
