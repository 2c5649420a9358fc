//! The queues between the script and the transport: what the script sends goes out as
//! (item, count) pairs expanded on the way, and what the peer sends comes in bursts, so
//! that a stream of many small messages costs few queue operations and wake-ups.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{FutureExt, Stream};
use tokio::sync::mpsc;

use crate::runner::PeerEvent;

/// A stream that yields each queued item `count` times; items come in batches (see
/// [`SendQueue`]).
pub struct Repeated<T> {
    queue: mpsc::Receiver<Vec<(T, u64)>>,
    batch: std::vec::IntoIter<(T, u64)>,
    current: Option<(T, u64)>,
}

impl<T> Repeated<T> {
    /// Expands what arrives on `queue`.
    pub fn new(queue: mpsc::Receiver<Vec<(T, u64)>>) -> Self {
        Repeated {
            queue,
            batch: Vec::new().into_iter(),
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
            if let Some(next) = self.batch.next() {
                if next.1 > 0 {
                    self.current = Some(next);
                }
                continue;
            }
            match self.queue.poll_recv(cx) {
                Poll::Ready(Some(batch)) => self.batch = batch.into_iter(),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The most items a [`SendQueue`] gathers before it hands them over.
const SEND_BATCH: usize = 64;

/// The most message bytes a batch gathers before it is handed over: a queue of `depth`
/// batches holds at most `depth` times this, or `depth` messages larger than it (as a
/// queue of single messages did).
const SEND_BATCH_BYTES: usize = 16 * 1024;

/// What a [`SendQueue`] carries, made from a message `M` (for bytes, a clone that
/// shares the buffer). A message sent again right after itself (the same buffer) goes as
/// one (item, count) entry: it is not cloned again, and its buffer's count is touched once
/// a batch, not once a message, by the script's side.
pub trait QueueItem<M>: Sized {
    /// The item that carries `message`.
    fn of(message: &M) -> Self;
    /// Whether this item carries `message` itself, not only the same value.
    fn holds(&self, message: &M) -> bool;
}

impl QueueItem<Bytes> for Bytes {
    fn of(message: &Bytes) -> Self {
        message.clone()
    }

    fn holds(&self, message: &Bytes) -> bool {
        self.as_ptr() == message.as_ptr() && self.len() == message.len()
    }
}

impl QueueItem<Bytes> for Result<Bytes, tonic::Status> {
    fn of(message: &Bytes) -> Self {
        Ok(message.clone())
    }

    fn holds(&self, message: &Bytes) -> bool {
        self.as_ref().is_ok_and(|item| item.holds(message))
    }
}

/// The script's end of a [`Repeated`] stream: what it sends gathers in a batch that goes
/// out as one queue item when it is full or when the script flushes it (which it does
/// before it waits for anything), so that a fast stream costs few queue operations and
/// wake-ups.
pub struct SendQueue<T> {
    queue: Option<mpsc::Sender<Vec<(T, u64)>>>,
    batch: Vec<(T, u64)>,
    /// The size of the messages in `batch`.
    batch_bytes: usize,
    /// How many items `batch` gathers before it goes: [`SEND_BATCH`], or 1 where nothing
    /// flushes before the script waits (see [`SendQueue::unbatched`]).
    batch_items: usize,
}

impl<T> SendQueue<T> {
    /// A queue that holds at most `depth` batches, and the stream it feeds.
    pub fn new(depth: usize) -> (SendQueue<T>, Repeated<T>) {
        let (queue, rx) = mpsc::channel(depth);
        let sender = SendQueue {
            queue: Some(queue),
            batch: Vec::new(),
            batch_bytes: 0,
            batch_items: SEND_BATCH,
        };
        (sender, Repeated::new(rx))
    }

    /// Hands each item over as it is pushed, or batches them (the default): a queue whose
    /// owner does not flush before each wait must not batch.
    pub fn unbatched(&mut self, unbatched: bool) {
        self.batch_items = if unbatched { 1 } else { SEND_BATCH };
    }

    /// Adds `message` (of `size` bytes), to go out `count` times; hands the batch
    /// over when it is full, moving what the peer sends to `parked` while the queue has no
    /// room.
    pub async fn push<M>(
        &mut self,
        message: &M,
        count: u64,
        size: usize,
        events: &mut EventReceiver,
        parked: &mut std::collections::VecDeque<PeerEvent>,
    ) where
        T: QueueItem<M>,
    {
        if self.queue.is_some() {
            match self.batch.last_mut() {
                Some((last, repeated)) if last.holds(message) => *repeated += count,
                _ => self.batch.push((T::of(message), count)),
            }
            self.batch_bytes += size;
            if self.batch.len() >= self.batch_items || self.batch_bytes >= SEND_BATCH_BYTES {
                // Boxed: the wait for room is a large future, which would otherwise be
                // part of (and moved with) the future of every send.
                Box::pin(self.flush(events, parked)).await;
            }
        }
    }

    /// Hands the batch over, moving what the peer sends to `parked` while the queue has
    /// no room.
    pub async fn flush(
        &mut self,
        events: &mut EventReceiver,
        parked: &mut std::collections::VecDeque<PeerEvent>,
    ) {
        self.hand_over(events, Some(parked)).await;
    }

    /// Hands the batch over; what the peer sends while the queue has no room stays in
    /// `events`, to be read next. Nothing is lost if this is dropped half-way.
    pub async fn flush_keeping(&mut self, events: &mut EventReceiver) {
        self.hand_over(events, None).await;
    }

    async fn hand_over(
        &mut self,
        events: &mut EventReceiver,
        mut parked: Option<&mut std::collections::VecDeque<PeerEvent>>,
    ) {
        let Some(queue) = self.queue.as_ref().filter(|_| !self.batch.is_empty()) else {
            return;
        };
        let room = queue.reserve();
        tokio::pin!(room);
        loop {
            let meanwhile = async {
                match parked.as_deref_mut() {
                    Some(parked) => events.park(parked).await,
                    None => events.absorb().await,
                }
            };
            tokio::select! {
                biased;
                room = &mut room => {
                    if let Ok(permit) = room {
                        permit.send(std::mem::take(&mut self.batch));
                    }
                    self.batch.clear();
                    self.batch_bytes = 0;
                    return;
                }
                () = meanwhile => {}
            }
        }
    }

    /// Hands the batch over if the queue has room now, and drops it otherwise: what a
    /// cancel does, which must not wait for a peer that no longer reads (a reset drops
    /// what is still queued anyway).
    pub fn flush_if_room(&mut self) {
        if let Some(queue) = self.queue.as_ref().filter(|_| !self.batch.is_empty()) {
            if let Ok(permit) = queue.try_reserve() {
                permit.send(std::mem::take(&mut self.batch));
            }
        }
        self.clear();
    }

    /// Hands the batch over with `last` at its end, waiting for room (the peer's events
    /// are no longer read), and ends the stream.
    pub async fn finish(&mut self, last: Option<(T, u64)>) {
        if let Some(queue) = self.queue.take() {
            self.batch.extend(last);
            if !self.batch.is_empty() {
                let _ = queue.send(std::mem::take(&mut self.batch)).await;
            }
        }
    }

    /// Ends the stream with what was handed over; a batch not flushed is dropped.
    pub fn close(&mut self) {
        self.queue = None;
        self.clear();
    }

    /// Forgets the batch (handed over, or dropped).
    fn clear(&mut self) {
        self.batch.clear();
        self.batch_bytes = 0;
    }

    /// Returns once the stream's reader is gone (the peer reset the call); never while
    /// the stream is open or after it ended.
    pub async fn closed(&self) {
        match &self.queue {
            Some(queue) => queue.closed().await,
            None => std::future::pending().await,
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
        stream: &mut tonic::Streaming<Bytes>,
    ) -> Option<Result<Option<Bytes>, tonic::Status>> {
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

    /// Waits for more and keeps it, to be read next: the same as [`EventReceiver::park`]
    /// for a wait that may be dropped half-way (nothing is lost then).
    pub async fn absorb(&mut self) {
        if let Some(burst) = self.queue.recv().await {
            self.ready.extend(burst);
        } else {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    impl QueueItem<i32> for i32 {
        fn of(message: &i32) -> Self {
            *message
        }

        fn holds(&self, message: &i32) -> bool {
            self == message
        }
    }

    /// A message pushed again right after itself adds to its entry's count; another
    /// buffer with the same bytes gets its own entry. Either way every message goes out.
    #[tokio::test]
    async fn a_message_sent_again_shares_its_entry() {
        let (_events_tx, mut events) = EventSender::new();
        let mut parked = std::collections::VecDeque::new();
        let (mut queue, stream) = SendQueue::<Bytes>::new(4);
        let hello = Bytes::from_static(b"hello");
        let copy = Bytes::copy_from_slice(b"hello");
        for (message, count) in [(&hello, 1), (&hello, 2), (&copy, 1), (&hello, 1)] {
            queue
                .push(message, count, message.len(), &mut events, &mut parked)
                .await;
        }
        assert_eq!(queue.batch.len(), 3, "{:?}", queue.batch);
        assert_eq!(queue.batch[0].1, 3);
        queue.finish(None).await;
        let out: Vec<Bytes> = stream.collect().await;
        assert_eq!(out, vec![hello.clone(); 5]);
        let item = Result::<Bytes, tonic::Status>::of(&hello);
        assert!(item.holds(&hello));
        assert!(!item.holds(&copy));
        assert!(!Result::<Bytes, tonic::Status>::Err(tonic::Status::ok("")).holds(&hello));
    }

    #[tokio::test]
    async fn items_come_out_as_often_as_asked() {
        let (tx, rx) = mpsc::channel(4);
        tx.send(vec![("a", 3), ("none", 0)]).await.unwrap();
        tx.send(vec![]).await.unwrap();
        tx.send(vec![("b", 1)]).await.unwrap();
        drop(tx);
        let out: Vec<&str> = Repeated::new(rx).collect().await;
        assert_eq!(out, ["a", "a", "a", "b"]);
    }

    /// What is pushed goes out, in order, only once flushed (or once a batch is full);
    /// `finish` sends the rest and ends the stream.
    #[tokio::test]
    async fn a_send_queue_hands_over_batches_in_order() {
        let (_events_tx, mut events) = EventSender::new();
        let mut parked = std::collections::VecDeque::new();
        let (mut queue, mut stream) = SendQueue::<i32>::new(4);
        queue.push(&1, 1, 1, &mut events, &mut parked).await;
        queue.push(&2, 2, 1, &mut events, &mut parked).await;
        assert!(stream.next().now_or_never().is_none(), "not flushed yet");
        queue.flush(&mut events, &mut parked).await;
        let flushed: Vec<i32> = (0..3)
            .filter_map(|_| stream.next().now_or_never().flatten())
            .collect();
        assert_eq!(flushed, [1, 2, 2]);
        for item in 0..SEND_BATCH as i32 {
            queue.push(&item, 1, 1, &mut events, &mut parked).await;
        }
        let full: Vec<i32> = (0..SEND_BATCH)
            .filter_map(|_| stream.next().now_or_never().flatten())
            .collect();
        assert_eq!(
            full,
            (0..SEND_BATCH as i32).collect::<Vec<_>>(),
            "a full batch goes"
        );
        queue.push(&7, 1, 1, &mut events, &mut parked).await;
        queue.flush_if_room();
        queue.finish(Some((8, 1))).await;
        let rest: Vec<i32> = stream.collect().await;
        assert_eq!(rest, [7, 8]);
    }

    /// A batch whose messages reach the byte bound is handed over at once: a queue of
    /// batches holds no more large messages than a queue of single ones.
    #[tokio::test]
    async fn a_batch_of_large_messages_goes_at_once() {
        let (_events_tx, mut events) = EventSender::new();
        let mut parked = std::collections::VecDeque::new();
        let (mut queue, mut stream) = SendQueue::<i32>::new(4);
        queue
            .push(&1, 1, SEND_BATCH_BYTES - 1, &mut events, &mut parked)
            .await;
        assert!(stream.next().now_or_never().is_none(), "under the bound");
        queue.push(&2, 1, 1, &mut events, &mut parked).await;
        let out: Vec<i32> = (0..2)
            .filter_map(|_| stream.next().now_or_never().flatten())
            .collect();
        assert_eq!(out, [1, 2]);
    }

    /// A cancel's flush never waits: with no room, the batch is dropped.
    #[tokio::test]
    async fn flush_if_room_drops_what_has_no_room() {
        let (_events_tx, mut events) = EventSender::new();
        let mut parked = std::collections::VecDeque::new();
        let (mut queue, stream) = SendQueue::<i32>::new(1);
        queue.push(&1, 1, 1, &mut events, &mut parked).await;
        queue.flush_if_room();
        queue.push(&2, 1, 1, &mut events, &mut parked).await;
        queue.flush_if_room();
        queue.close();
        let out: Vec<i32> = stream.collect().await;
        assert_eq!(out, [1]);
    }
}
