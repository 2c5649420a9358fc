//! The queues between the script and the transport: what the script sends goes out as
//! (item, count) pairs expanded on the way, and what the peer sends comes in bursts, so
//! that a stream of many small messages costs few queue operations and wake-ups.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{FutureExt, Stream};
use tokio::sync::mpsc;

use crate::runner::PeerEvent;

/// A stream that yields each queued item `count` times.
pub struct Repeated<T> {
    queue: mpsc::Receiver<(T, u64)>,
    current: Option<(T, u64)>,
}

impl<T> Repeated<T> {
    /// Expands what arrives on `queue`.
    pub fn new(queue: mpsc::Receiver<(T, u64)>) -> Self {
        Repeated {
            queue,
            current: None,
        }
    }
}

impl<T: Clone + Unpin> Stream for Repeated<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            if let Some((item, left)) = self.current.as_mut() {
                if *left > 1 {
                    *left -= 1;
                    return Poll::Ready(Some(item.clone()));
                }
                let (item, _) = self.current.take().expect("checked above");
                return Poll::Ready(Some(item));
            }
            match self.queue.poll_recv(cx) {
                Poll::Ready(Some((_, 0))) => continue,
                Poll::Ready(Some(next)) => self.current = Some(next),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The most events handed over at once.
const BURST: usize = 256;

/// How many bursts may wait for the script before the reader waits too (and HTTP/2 flow
/// control then slows the peer): memory stays flat however long the stream.
const BURSTS_WAITING: usize = 64;

/// Hands events to the script in bursts: what is already there goes in one queue item.
pub struct EventSender {
    queue: mpsc::Sender<Vec<PeerEvent>>,
    burst: Vec<PeerEvent>,
}

impl EventSender {
    /// A sender and the receiving end the script reads.
    pub fn new() -> (EventSender, EventReceiver) {
        let (queue, rx) = mpsc::channel(BURSTS_WAITING);
        (
            EventSender {
                queue,
                burst: Vec::new(),
            },
            EventReceiver {
                queue: rx,
                ready: std::collections::VecDeque::new(),
            },
        )
    }

    /// Adds an event to the burst; hands the burst over when it is full. Returns `false`
    /// once the script is gone.
    pub async fn push(&mut self, event: PeerEvent) -> bool {
        self.burst.push(event);
        self.burst.len() < BURST || self.flush().await
    }

    /// The next message of `stream`: what has already arrived at once, and otherwise — after
    /// handing over the burst gathered so far — when it comes. `None` once the script is
    /// gone.
    pub async fn next_message(
        &mut self,
        stream: &mut tonic::Streaming<bytes::Bytes>,
    ) -> Option<Result<Option<bytes::Bytes>, tonic::Status>> {
        if let Some(read) = stream.message().now_or_never() {
            return Some(read);
        }
        if !self.flush().await {
            return None;
        }
        Some(stream.message().await)
    }

    /// Hands over what has gathered (a reader calls it before it would wait). Returns
    /// `false` once the script is gone.
    pub async fn flush(&mut self) -> bool {
        self.burst.is_empty()
            || self
                .queue
                .send(std::mem::take(&mut self.burst))
                .await
                .is_ok()
    }
}

/// The script's end of an [`EventSender`].
pub struct EventReceiver {
    queue: mpsc::Receiver<Vec<PeerEvent>>,
    ready: std::collections::VecDeque<PeerEvent>,
}

impl EventReceiver {
    /// The next event; `None` once the sender is gone and everything was read.
    pub async fn recv(&mut self) -> Option<PeerEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            self.ready.extend(self.queue.recv().await?);
        }
    }

    /// The next event if one has already arrived, without waiting.
    pub fn ready_now(&mut self) -> Option<PeerEvent> {
        if self.ready.is_empty() {
            self.ready.extend(self.queue.try_recv().ok()?);
        }
        self.ready.pop_front()
    }

    /// Puts `events` back in front of what is still to be read.
    pub fn put_back(&mut self, events: Vec<PeerEvent>) {
        for event in events.into_iter().rev() {
            self.ready.push_front(event);
        }
    }

    /// Moves everything received so far to `parked` and waits for more: what a script does
    /// while its own send waits for room, so that a peer that sends while it is not read
    /// cannot stall both sides.
    pub async fn park(&mut self, parked: &mut std::collections::VecDeque<PeerEvent>) {
        parked.extend(self.ready.drain(..));
        if let Some(burst) = self.queue.recv().await {
            parked.extend(burst);
        } else {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn items_come_out_as_often_as_asked() {
        let (tx, rx) = mpsc::channel(4);
        tx.send(("a", 3)).await.unwrap();
        tx.send(("none", 0)).await.unwrap();
        tx.send(("b", 1)).await.unwrap();
        drop(tx);
        let out: Vec<&str> = Repeated::new(rx).collect().await;
        assert_eq!(out, ["a", "a", "a", "b"]);
    }
}
