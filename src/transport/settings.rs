//! HTTP/2 flow-control windows, shared by both roles.

/// HTTP/2 settings for connections in either role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2Settings {
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: bytes a peer may send on one stream before it waits.
    pub stream_window: u32,
    /// The connection-level window: bytes a peer may send on all streams together.
    pub connection_window: u32,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Http2Settings {
            stream_window: 64 * 1024,
            connection_window: 8 * 1024 * 1024,
        }
    }
}
