//! gRPC's length-prefixed messages, cut out of the DATA chunks of one direction.

use bytes::{Buf, Bytes, BytesMut};

/// One gRPC message as it crossed the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The compressed flag of the prefix.
    pub compressed: bool,
    /// The payload, still compressed when `compressed` is set.
    pub payload: Bytes,
}

/// Collects the bytes of one direction and yields each message once it is whole.
#[derive(Debug, Default)]
pub(super) struct FrameSplitter {
    buffer: BytesMut,
}

/// The prefix: one flag byte, then the length as a big-endian u32.
const PREFIX: usize = 5;

impl FrameSplitter {
    /// Adds a chunk of DATA and returns the messages it completes, in order.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        self.buffer.extend_from_slice(chunk);
        let mut frames = Vec::new();
        while self.buffer.len() >= PREFIX {
            let length = u32::from_be_bytes([
                self.buffer[1],
                self.buffer[2],
                self.buffer[3],
                self.buffer[4],
            ]) as usize;
            if self.buffer.len() < PREFIX + length {
                break;
            }
            let compressed = self.buffer[0] & 1 == 1;
            self.buffer.advance(PREFIX);
            let payload = self.buffer.split_to(length).freeze();
            frames.push(Frame {
                compressed,
                payload,
            });
        }
        frames
    }

    /// Bytes received that do not (yet) make a whole message.
    #[cfg(test)]
    pub(super) fn pending(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(compressed: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::from(compressed)];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn messages_split_across_and_within_chunks_come_out_whole() {
        let mut wire = framed(false, b"abc");
        wire.extend(framed(true, b""));
        wire.extend(framed(false, b"hello"));
        for cut in 0..wire.len() {
            let mut splitter = FrameSplitter::default();
            let mut frames = splitter.push(&wire[..cut]);
            frames.extend(splitter.push(&wire[cut..]));
            let payloads: Vec<(bool, &[u8])> = frames
                .iter()
                .map(|f| (f.compressed, f.payload.as_ref()))
                .collect();
            assert_eq!(
                payloads,
                vec![
                    (false, &b"abc"[..]),
                    (true, &b""[..]),
                    (false, &b"hello"[..])
                ],
                "cut at {cut}"
            );
            assert_eq!(splitter.pending(), 0);
        }
    }

    #[test]
    fn an_incomplete_message_waits() {
        let mut splitter = FrameSplitter::default();
        assert!(splitter.push(&framed(false, b"abcdef")[..7]).is_empty());
        assert_eq!(splitter.pending(), 7);
    }
}
