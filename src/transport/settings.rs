//! HTTP/2 flow-control windows, shared by both roles.
//!
//! h2 (since 0.4.16) closes a connection with GOAWAY `ENHANCE_YOUR_CALM` when the framing
//! overhead of small DATA frames received but not yet read exceeds a budget that follows
//! the connection window (half of it). grpc-go writes one DATA frame per message, so many
//! streams of small messages pile up overhead fast. The stream window bounds what each
//! stream may hold unread (memory); the connection window is the largest HTTP/2 allows, so
//! that the budget stays above what many such streams can pile up. Measured on 2 cores:
//! with an 8 MiB connection window, 50 concurrent grpc-go streams of 20,000 small messages
//! tripped the guard every time; with the largest window they pass, at the same throughput.

/// What a failure says when h2's small-frame guard cut a connection: the cause and the
/// flags that help (a smaller stream window lets less pile up per stream; a larger
/// connection window raises the budget).
pub(super) const SMALL_FRAME_GUARD: &str = "GOAWAY ENHANCE_YOUR_CALM: too many small DATA frames \
    were pending unread (h2's guard); lower --http2-stream-window or raise \
    --http2-connection-window";

/// What a failure says when h2 cut a connection because the peer sent a header block far
/// over the size this side accepts (16 KiB, the limit of hyper's HTTP/2 client; h2 gives up
/// on the connection at four times that).
pub(super) const HEADER_LIST_GUARD: &str = "GOAWAY ENHANCE_YOUR_CALM: the server sent a header \
    block (headers or trailers) far larger than the 16 KiB grpc-replay accepts (h2's guard)";

/// What a failure says when the server's first bytes are not HTTP/2 frames: a TLS server
/// answering a plaintext client looks like that.
pub const NOT_HTTP2_FRAMES: &str = "the server's answer is not HTTP/2 (FRAME_SIZE_ERROR): \
    it may expect TLS; try --tls (with --cacert for a private CA)";

/// The default stream window: 64 KiB.
pub const DEFAULT_STREAM_WINDOW: u32 = 64 * 1024;

/// The largest flow-control window HTTP/2 allows: 2³¹ − 1 bytes (RFC 9113 §6.9.1).
pub const MAX_WINDOW: u32 = i32::MAX as u32;

/// The default connection window: the largest HTTP/2 allows.
pub const DEFAULT_CONNECTION_WINDOW: u32 = MAX_WINDOW;

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
            stream_window: DEFAULT_STREAM_WINDOW,
            connection_window: DEFAULT_CONNECTION_WINDOW,
        }
    }
}
