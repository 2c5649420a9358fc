//! Asking a server for its descriptors through gRPC server reflection (v1, then v1alpha,
//! which has the same messages under another path).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use http::uri::PathAndQuery;
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use crate::client::{connect, ConnectOptions};

const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
/// How long the whole exchange may take.
const LIMIT: Duration = Duration::from_secs(15);

/// Asks `target` for every service it lists and the files that define them, with their
/// imports; returns them as an encoded `FileDescriptorSet`, bytes as the server sent them.
pub async fn fetch_descriptors(target: &str, options: &ConnectOptions) -> Result<Vec<u8>, String> {
    let channel = connect(target, options).await.map_err(|e| e.to_string())?;
    let exchange = async {
        match fetch_over(channel.clone(), V1).await {
            Err(status) if status.code() == Code::Unimplemented => {
                fetch_over(channel, V1ALPHA).await
            }
            other => other,
        }
    };
    match tokio::time::timeout(LIMIT, exchange).await {
        Err(_) => Err(format!(
            "{target} did not answer server reflection within {LIMIT:?}"
        )),
        Ok(Err(status)) if status.code() == Code::Unimplemented => Err(format!(
            "{target} does not answer gRPC server reflection (grpc.reflection.v1 or v1alpha); \
             give its protos with --proto FILE or --protoset FILE instead"
        )),
        Ok(Err(status)) => Err(format!(
            "server reflection at {target} failed: {:?}: {}",
            status.code(),
            status.message()
        )),
        Ok(Ok(set)) => Ok(set),
    }
}

/// One reflection stream: list the services, then fetch files until every import is in.
async fn fetch_over(channel: Channel, path: &'static str) -> Result<Vec<u8>, Status> {
    let mut session = Session::open(channel, path).await?;
    let services = match session.receive().await? {
        MessageResponse::ListServicesResponse(list) => list.service,
        other => return Err(unexpected(&other)),
    };
    let mut queue: VecDeque<MessageRequest> = services
        .into_iter()
        .filter(|s| !s.name.starts_with("grpc.reflection."))
        .map(|s| MessageRequest::FileContainingSymbol(s.name))
        .collect();
    let mut names = HashSet::new();
    let mut set = Vec::new();
    while let Some(request) = queue.pop_front() {
        let files = match session.ask(request).await? {
            MessageResponse::FileDescriptorResponse(files) => files.file_descriptor_proto,
            MessageResponse::ErrorResponse(error) => {
                return Err(Status::new(
                    Code::from(error.error_code),
                    error.error_message,
                ))
            }
            other => return Err(unexpected(&other)),
        };
        for bytes in files {
            let file = prost_types::FileDescriptorProto::decode(bytes.as_slice()).map_err(|e| {
                Status::internal(format!("a file descriptor that does not decode: {e}"))
            })?;
            if !names.insert(file.name().to_string()) {
                continue;
            }
            queue.extend(
                file.dependency
                    .iter()
                    .filter(|d| !names.contains(*d))
                    .map(|d| MessageRequest::FileByFilename(d.clone())),
            );
            // FileDescriptorSet.file is field 1: a tag, a length, the bytes.
            prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut set);
            prost::encoding::encode_varint(bytes.len() as u64, &mut set);
            set.extend(bytes);
        }
    }
    session.finish().await;
    Ok(set)
}

fn request(message: MessageRequest) -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    }
}

fn unexpected(response: &MessageResponse) -> Status {
    Status::internal(format!("unexpected reflection answer: {response:?}"))
}

/// A reflection stream: one request, one answer, in turn.
struct Session {
    requests: mpsc::Sender<ServerReflectionRequest>,
    answers: Streaming<ServerReflectionResponse>,
}

impl Session {
    /// Opens the stream with its first request, `ListServices`, already sent: some servers
    /// (grpc-go) send their response headers only with the first answer.
    async fn open(channel: Channel, path: &'static str) -> Result<Session, Status> {
        let (requests, receiver) = mpsc::channel(1);
        requests
            .send(request(MessageRequest::ListServices(String::new())))
            .await
            .map_err(|_| Status::internal("the request queue closed"))?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let codec =
            tonic_prost::ProstCodec::<ServerReflectionRequest, ServerReflectionResponse>::default();
        let answers = grpc
            .streaming(
                tonic::Request::new(ReceiverStream::new(receiver)),
                PathAndQuery::from_static(path),
                codec,
            )
            .await?
            .into_inner();
        Ok(Session { requests, answers })
    }

    async fn ask(&mut self, message: MessageRequest) -> Result<MessageResponse, Status> {
        self.requests
            .send(request(message))
            .await
            .map_err(|_| Status::unavailable("the reflection stream closed"))?;
        self.receive().await
    }

    /// Half-closes and reads the stream to its end, so that the call ends with a status
    /// rather than a cancel.
    async fn finish(self) {
        let Session {
            requests,
            mut answers,
        } = self;
        drop(requests);
        while let Ok(Some(_)) = answers.message().await {}
    }

    async fn receive(&mut self) -> Result<MessageResponse, Status> {
        self.answers
            .message()
            .await?
            .and_then(|answer| answer.message_response)
            .ok_or_else(|| Status::unavailable("the reflection stream ended without an answer"))
    }
}
