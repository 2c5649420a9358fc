//! The message-size limit (`--max-message-size`), read from the gRPC framing of a body as
//! it arrives: an announced length over the limit, or a body that ends inside a message,
//! becomes a typed error before tonic's decoder sees the bytes (tonic would report both as
//! an untyped status, and the server role would read them as the client cancelling).
//! The same reading notes each message's compressed flag ([`ReceivedFlags`]), which tonic's
//! decoder does not pass on.

use super::details_guard::guard_status_details;
use std::collections::VecDeque;
use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::runner::MessageFault;

/// gRPC's usual limit on a received message (tonic's and grpc-go's default): 4 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 4 * 1024 * 1024;

/// The error a [`FrameLimit`] body yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("gRPC message over the size limit, or cut short ({0:?})")]
pub struct FrameError(pub MessageFault);

/// The fault behind a failed stream, when a [`FrameLimit`] found it.
pub fn fault_of(error: &(dyn StdError + 'static)) -> Option<MessageFault> {
    let mut source = Some(error);
    while let Some(cause) = source {
        if let Some(FrameError(fault)) = cause.downcast_ref::<FrameError>() {
            return Some(*fault);
        }
        source = cause.source();
    }
    None
}

/// The fault behind an error that tonic's decoder raised itself: one with no transport
/// error behind it, raised before the body's trailers came (`flags` notes them; after
/// them, the error is the peer's status). It is a compressed message that decompresses to
/// more than `limit` bytes (tonic says RESOURCE_EXHAUSTED), or one it could not
/// decompress. (Sizes on the wire are the [`FrameLimit`]'s to check, before the decoder.)
pub fn decoder_fault(
    status: &tonic::Status,
    flags: Option<&ReceivedFlags>,
    limit: u64,
) -> Option<MessageFault> {
    if StdError::source(status).is_some() || flags.is_some_and(ReceivedFlags::trailers_came) {
        return None;
    }
    Some(match status.code() {
        tonic::Code::ResourceExhausted => MessageFault::TooLargeDecompressed { limit },
        _ => MessageFault::Undecompressable,
    })
}

/// The compressed flags (byte 0 of each message's 5-byte prefix) of the messages a
/// [`FrameLimit`] has read the prefix of, in order, until the reader of the decoded
/// messages takes them: tonic's decoder yields message N only after its bytes passed
/// through the [`FrameLimit`], so [`ReceivedFlags::take`] after each decoded message gives
/// that message's flag. A handle is shared (cloning it shares the same flags). It also
/// notes when the trailers came: an error tonic raises before them is its own, not the
/// peer's status.
#[derive(Debug, Clone, Default)]
pub struct ReceivedFlags(Arc<Mutex<Noted>>);

#[derive(Debug, Default)]
struct Noted {
    flags: VecDeque<bool>,
    trailers: bool,
}

impl ReceivedFlags {
    /// The flag of the oldest message not taken yet: whether it came compressed; `None`
    /// when no prefix was read that was not taken already.
    pub fn take(&self) -> Option<bool> {
        self.0.lock().ok()?.flags.pop_front()
    }

    /// Whether the body's trailers have come (the peer's status, for a response).
    pub fn trailers_came(&self) -> bool {
        self.0.lock().is_ok_and(|noted| noted.trailers)
    }

    fn push(&self, compressed: bool) {
        if let Ok(mut noted) = self.0.lock() {
            noted.flags.push_back(compressed);
        }
    }

    fn note_trailers(&self) {
        if let Ok(mut noted) = self.0.lock() {
            noted.trailers = true;
        }
    }
}

/// Where the reading is in the gRPC framing: `[flag][length: 4 bytes][message]…`.
#[derive(Debug, Default)]
struct Framing {
    header: [u8; 5],
    /// Header bytes read of the next message.
    have: usize,
    /// Bytes of the current message still to come.
    remaining: u64,
}

impl Framing {
    /// Reads `data`, noting each header's compressed flag in `flags`; a header that
    /// announces more than `limit` bytes is a fault.
    fn feed(
        &mut self,
        mut data: &[u8],
        limit: u64,
        flags: &ReceivedFlags,
    ) -> Result<(), MessageFault> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let n = data
                    .len()
                    .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= n as u64;
                data = &data[n..];
                continue;
            }
            let n = data.len().min(5 - self.have);
            self.header[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have == 5 {
                self.have = 0;
                flags.push(self.header[0] != 0);
                let size = u64::from(u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]));
                if size > limit {
                    return Err(MessageFault::TooLarge { size, limit });
                }
                self.remaining = size;
            }
        }
        Ok(())
    }

    /// Whether the body is inside a message (its header or its bytes).
    fn inside_message(&self) -> bool {
        self.have > 0 || self.remaining > 0
    }
}

/// A body of gRPC messages, checked against the size limit as its frames arrive.
pub struct FrameLimit<B> {
    inner: Pin<Box<B>>,
    limit: u64,
    framing: Framing,
    flags: ReceivedFlags,
    failed: bool,
}

impl<B> FrameLimit<B> {
    /// Checks `inner` against `limit` bytes per message.
    pub fn new(inner: B, limit: u64) -> Self {
        FrameLimit {
            inner: Box::pin(inner),
            limit,
            framing: Framing::default(),
            flags: ReceivedFlags::default(),
            failed: false,
        }
    }

    /// The compressed flags of the messages this body carries, as they are read.
    pub fn flags(&self) -> ReceivedFlags {
        self.flags.clone()
    }

    fn fail(&mut self, fault: MessageFault) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.failed = true;
        Poll::Ready(Some(Err(Box::new(FrameError(fault)))))
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

impl<B> Body for FrameLimit<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match ready!(self.inner.as_mut().poll_frame(cx)) {
            Some(Ok(frame)) => {
                let this = &mut *self;
                if let Some(data) = frame.data_ref() {
                    if let Err(fault) = this.framing.feed(data, this.limit, &this.flags) {
                        return self.fail(fault);
                    }
                } else if frame.is_trailers() {
                    if self.framing.inside_message() {
                        return self.fail(MessageFault::Truncated);
                    }
                    self.flags.note_trailers();
                }
                Poll::Ready(Some(Ok(guarded(frame))))
            }
            Some(Err(error)) => Poll::Ready(Some(Err(error.into()))),
            None if self.framing.inside_message() => self.fail(MessageFault::Truncated),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.failed && self.inner.is_end_stream() && !self.framing.inside_message()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A trailers frame with a `grpc-status-details-bin` that tonic could not read made safe
/// ([`guard_status_details`]); any other frame as it is.
fn guarded(frame: Frame<Bytes>) -> Frame<Bytes> {
    match frame.into_trailers() {
        Ok(mut trailers) => {
            guard_status_details(&mut trailers);
            Frame::trailers(trailers)
        }
        Err(frame) => frame,
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    fn framed(sizes: &[u32]) -> Vec<u8> {
        let plain: Vec<(bool, u32)> = sizes.iter().map(|&size| (false, size)).collect();
        framed_flagged(&plain)
    }

    /// Messages of these sizes, each with its compressed flag set or not.
    fn framed_flagged(messages: &[(bool, u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(compressed, size) in messages {
            out.push(u8::from(compressed));
            out.extend(size.to_be_bytes());
            out.extend(std::iter::repeat_n(7u8, size as usize));
        }
        out
    }

    /// Reads `bytes` split into `chunk`-byte DATA frames; the flags of the messages read.
    async fn flags_read(bytes: Vec<u8>, chunk: usize) -> Vec<bool> {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = bytes
            .chunks(chunk)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let body = FrameLimit::new(StreamBody::new(futures::stream::iter(frames)), 1 << 20);
        let flags = body.flags();
        let read = body.collect().await.map(|c| c.to_bytes().to_vec());
        assert_eq!(read.ok(), Some(bytes), "the bytes pass unchanged");
        std::iter::from_fn(|| flags.take()).collect()
    }

    /// Reads `bytes` split into `chunk`-byte DATA frames through a limit.
    async fn read(bytes: Vec<u8>, chunk: usize, limit: u64) -> Result<Vec<u8>, MessageFault> {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = bytes
            .chunks(chunk)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let body = FrameLimit::new(StreamBody::new(futures::stream::iter(frames)), limit);
        match body.collect().await {
            Ok(collected) => Ok(collected.to_bytes().to_vec()),
            Err(error) => Err(fault_of(error.as_ref()).expect("a FrameError")),
        }
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    proptest::proptest! {
        /// Values are sacred: the bytes pass unchanged, and the verdict is the first
        /// message over the limit, or the cut, however the body is split into frames.
        #[test]
        fn framing_is_read_exactly(
            sizes in proptest::collection::vec(0u32..64, 0..8),
            chunk in 1usize..80,
            limit in 0u64..64,
            cut in proptest::option::of(1usize..40),
        ) {
            let mut bytes = framed(&sizes);
            let over = sizes.iter().map(|&s| u64::from(s)).find(|&s| s > limit);
            // Where the first oversized message's header ends: the body is refused there.
            let header_end = over.map(|_| {
                let index = sizes.iter().position(|&s| u64::from(s) > limit).unwrap_or(0);
                sizes[..index].iter().map(|&s| 5 + s as usize).sum::<usize>() + 5
            });
            let cut = cut.filter(|&c| c <= bytes.len());
            if let Some(c) = cut {
                bytes.truncate(bytes.len() - c);
            }
            // A cut that falls between two messages leaves a whole stream.
            let boundaries: Vec<usize> = sizes
                .iter()
                .scan(0, |end, &s| {
                    *end += 5 + s as usize;
                    Some(*end)
                })
                .collect();
            let inside = cut.is_some() && !bytes.is_empty() && !boundaries.contains(&bytes.len());
            let expected = match (over, header_end) {
                (Some(size), Some(end)) if end <= bytes.len() => {
                    Err(MessageFault::TooLarge { size, limit })
                }
                _ if inside => Err(MessageFault::Truncated),
                _ => Ok(bytes.clone()),
            };
            proptest::prop_assert_eq!(block_on(read(bytes, chunk, limit)), expected);
        }
    }

    proptest::proptest! {
        /// Each message's compressed flag is noted once, in order, however the body is
        /// split into frames (a prefix split across frames included).
        #[test]
        fn flags_are_noted_in_order_however_split(
            messages in proptest::collection::vec((proptest::bool::ANY, 0u32..40), 0..8),
            chunk in 1usize..60,
        ) {
            let bytes = framed_flagged(&messages);
            let expected: Vec<bool> = messages.iter().map(|&(flag, _)| flag).collect();
            proptest::prop_assert_eq!(block_on(flags_read(bytes, chunk)), expected);
        }
    }

    #[tokio::test]
    async fn a_flag_is_noted_once_its_prefix_is_read_and_taken_once() {
        let bytes = framed_flagged(&[(true, 3), (false, 0), (true, 1)]);
        assert_eq!(flags_read(bytes, 2).await, [true, false, true]);
        let flags = ReceivedFlags::default();
        assert!(!flags.trailers_came());
        flags.note_trailers();
        assert!(flags.trailers_came());
        let flags = ReceivedFlags::default();
        let mut framing = Framing::default();
        framing.feed(&[1, 0, 0, 0], 10, &flags).unwrap();
        assert_eq!(flags.take(), None, "a prefix cut short says nothing yet");
        framing.feed(&[2, 9, 9], 10, &flags).unwrap();
        assert_eq!((flags.take(), flags.take()), (Some(true), None));
    }

    #[tokio::test]
    async fn messages_up_to_the_limit_pass_unchanged_however_split() {
        let bytes = framed(&[0, 10, 3, 10]);
        for chunk in [1, 2, 5, 6, 7, 100] {
            assert_eq!(read(bytes.clone(), chunk, 10).await, Ok(bytes.clone()));
        }
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_too_large_however_split() {
        let bytes = framed(&[3, 11]);
        for chunk in [1, 4, 9, 100] {
            assert_eq!(
                read(bytes.clone(), chunk, 10).await,
                Err(MessageFault::TooLarge {
                    size: 11,
                    limit: 10
                })
            );
        }
    }

    #[tokio::test]
    async fn a_body_that_ends_inside_a_message_is_truncated() {
        let mut bytes = framed(&[4, 6]);
        bytes.truncate(bytes.len() - 1);
        assert_eq!(read(bytes, 3, 10).await, Err(MessageFault::Truncated));
        let header_only = framed(&[4])[..3].to_vec();
        assert_eq!(read(header_only, 1, 10).await, Err(MessageFault::Truncated));
    }
}
