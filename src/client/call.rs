//! The client side of one call over a tonic channel.

use std::collections::VecDeque;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use http::uri::PathAndQuery;
use tokio::task::JoinHandle;
use tonic::client::Grpc;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;
use tonic::Request;

use super::cancel::CancelSignal;
use super::compat::StatusNames;
use crate::codec::BytesCodec;
use crate::matching::{MetaValue, ReceivedMetadata};
use crate::runner::{CallIo, FinalStatus, PeerEvent, SEND_QUEUE};
use crate::scenario::{Call, Compression};
use crate::transport::{
    decoder_fault, received_metadata, status_event, to_metadata_map, EventReceiver, EventSender,
    ReceivedFlags, SendQueue,
};

/// A call in flight: messages go out through a queue, and a reader task hands over
/// everything the server sends as it arrives.
pub(crate) struct ClientCall {
    outgoing: SendQueue<Bytes>,
    cancel: CancelSignal,
    events: EventReceiver,
    reader: JoinHandle<()>,
}

impl ClientCall {
    /// Starts `call` with this request metadata (built from captured variables); a
    /// response message over `max_message_size` bytes fails the call.
    pub(crate) fn start_with_metadata(
        channel: Channel,
        call: &Call,
        deadline: Duration,
        metadata: &[(String, MetaValue)],
        max_message_size: u64,
    ) -> ClientCall {
        let (outgoing, requests) = SendQueue::new(SEND_QUEUE);
        let (mut events_tx, events) = EventSender::new();
        let mut request = Request::new(requests);
        *request.metadata_mut() = to_metadata_map(metadata);
        if call.deadline_header {
            // Ballerina reads the deadline from this header, not from `grpc-timeout`.
            // Four-digit years: a longer deadline (from --timeout) is written as the latest.
            let header = deadline.min(crate::scenario::bounds::MAX_DEADLINE_HEADER);
            let at = humantime::format_rfc3339_millis(std::time::SystemTime::now() + header);
            if let Ok(value) = at.to_string().parse() {
                request.metadata_mut().insert("deadline", value);
            }
        }
        request.set_timeout(deadline);
        let path = PathAndQuery::from_str(&call.path).expect("method paths are valid HTTP paths");
        let gzip = call.compression == Some(Compression::Gzip);
        let (cancel, channel, reset_deadline) = CancelSignal::pair(channel);
        let read = async move {
            let limit = usize::try_from(max_message_size).unwrap_or(usize::MAX);
            let mut grpc = Grpc::new(StatusNames::new(channel, max_message_size))
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit);
            if gzip {
                grpc = grpc.send_compressed(CompressionEncoding::Gzip);
            }
            let response = match grpc.ready().await {
                Ok(()) => grpc.streaming(request, path, BytesCodec).await,
                Err(error) => Err(tonic::Status::from_error(error.into())),
            };
            let (stream, flags) = match response {
                Ok(response) => {
                    events_tx
                        .push(PeerEvent::Headers(received_metadata(response.metadata())))
                        .await;
                    let flags = response.extensions().get::<ReceivedFlags>().cloned();
                    (response.into_inner(), flags)
                }
                Err(status) => {
                    events_tx.push(status_event(&status)).await;
                    events_tx.flush().await;
                    return;
                }
            };
            forward_responses(&mut events_tx, stream, flags, max_message_size).await;
        };
        // After a cancel the request body resets the stream; the reader stops holding the
        // response once that reset may go (dropping it resets too, see `client::cancel`).
        let reader = tokio::spawn(async move {
            tokio::select! {
                () = read => {}
                () = reset_deadline.passed() => {}
            }
        });
        ClientCall {
            outgoing,
            cancel,
            events,
            reader,
        }
    }
}

/// Forwards the response messages (each with its compressed flag, from `flags`), then the
/// final status, as peer events until the call ends (or its player stops listening);
/// `limit` is `--max-message-size`.
async fn forward_responses(
    events_tx: &mut EventSender,
    mut stream: tonic::Streaming<Bytes>,
    flags: Option<ReceivedFlags>,
    limit: u64,
) {
    loop {
        let Some(read) = events_tx.next_message(&mut stream).await else {
            return;
        };
        match read {
            Ok(Some(bytes)) => {
                let compressed = flags.as_ref().and_then(ReceivedFlags::take);
                if !events_tx
                    .push(PeerEvent::Message { bytes, compressed })
                    .await
                {
                    return;
                }
            }
            Ok(None) => {
                let event = match stream.trailers().await {
                    Ok(trailers) => PeerEvent::Status {
                        code: crate::scenario::StatusCode::OK,
                        message: String::new(),
                        trailers: trailers.as_ref().map(received_metadata).unwrap_or_default(),
                        transport_error: None,
                    },
                    Err(status) => status_event(&status),
                };
                events_tx.push(event).await;
                events_tx.flush().await;
                return;
            }
            Err(status) => {
                events_tx
                    .push(failed_read(&status, flags.as_ref(), limit))
                    .await;
                events_tx.flush().await;
                return;
            }
        }
    }
}

/// The event for a response stream that failed: the server's status, what broke on the
/// way, or a message tonic's decoder refused itself, which the server never said.
fn failed_read(status: &tonic::Status, flags: Option<&ReceivedFlags>, limit: u64) -> PeerEvent {
    match flags.and_then(|flags| decoder_fault(status, Some(flags), limit)) {
        Some(fault) => PeerEvent::Malformed(fault),
        None => status_event(status),
    }
}

impl CallIo for ClientCall {
    async fn send_messages(
        &mut self,
        message: &Bytes,
        count: u64,
        parked: &mut VecDeque<PeerEvent>,
    ) {
        let (events, outgoing) = (&mut self.events, &mut self.outgoing);
        let size = message.len();
        outgoing.push(message, count, size, events, parked).await;
    }

    async fn flush(&mut self, parked: &mut VecDeque<PeerEvent>) {
        self.outgoing.flush(&mut self.events, parked).await;
    }

    fn send_headers(&mut self, _headers: Vec<(String, MetaValue)>) {}

    async fn close_send(&mut self) {
        self.outgoing.flush_keeping(&mut self.events).await;
        self.outgoing.close();
    }

    /// Resets the stream (RST_STREAM CANCEL) without half-closing it first, as gRPC
    /// clients cancel: the request body ends with a CANCEL error (see `client::cancel`)
    /// after the messages already queued, and dropping the response resets a stream whose
    /// request half had already ended. Returns once the reset has gone to h2.
    async fn cancel(&mut self) {
        self.outgoing.flush_if_room();
        self.cancel.cancel();
        self.outgoing.close();
        // The reader ends when the reset reaches the response, or drops it at the latest
        // `FLUSH_GRACE` after the cancel.
        let _ = (&mut self.reader).await;
    }

    async fn finish(&mut self, _status: FinalStatus) {}

    async fn next_event(&mut self) -> Option<PeerEvent> {
        self.outgoing.flush_keeping(&mut self.events).await;
        self.events.recv().await
    }

    fn ready_now(&mut self) -> Option<PeerEvent> {
        self.events.ready_now()
    }

    fn request_metadata(&self) -> ReceivedMetadata {
        Vec::new()
    }
}

impl Drop for ClientCall {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
