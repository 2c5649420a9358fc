//! grpc-replay against an emulated Ballerina peer: an HTTP/2 client and server written with
//! the `h2` crate (not tonic) that put on the wire what `ballerina/grpc`
//! (module-ballerina-grpc 1.14 and its HTTP/2 transport) puts there. No Ballerina runtime
//! can be installed here; `interop/ballerina/` holds the real programs for those who have
//! one.
//!
//! The Ballerina client ([`BallerinaClient`]): HTTP/2 with prior knowledge; headers
//! `content-type: application/grpc`, `te: trailers`, `grpc-accept-encoding: gzip`,
//! `user-agent: ballerina/…` and the non-standard `scheme: http` and
//! `authority: http://HOST:PORT`; no `grpc-timeout`, a deadline travels as a `deadline`
//! header holding an RFC 3339 UTC time; the HEADERS frame goes out together with the first
//! message (or with `complete()`); one DATA frame per message; `complete()` is an empty
//! DATA frame with END_STREAM; `sendError()` is RST_STREAM with STREAM_CLOSED; every field
//! is written, default values included (`""` is `0A 00`).
//!
//! The Ballerina service ([`BallerinaServer`]): response headers with `te: trailers`,
//! `grpc-encoding: identity`, `grpc-accept-encoding: gzip` and `server: ballerina`, sent
//! with the first message or the status; every call ends with a trailing HEADERS frame,
//! never Trailers-Only; `grpc-message` is plain text, not percent-encoded; an unknown path
//! gets HTTP 404 with `content-type: text/plain`, `grpc-status: UNIMPLEMENTED` (the name)
//! and a text body. It serves `Chat` and `HelloWorld` as interop/ballerina's services do,
//! and `ChatAdmin/echo` of tests/fixtures/ballerina/chat_admin.proto (test only).

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};

use support::process::{grpc_replay as process_grpc_replay, Process};
use support::{grpc_replay, CliRun};

/// The longest a test's exchange with a peer may take.
const EXCHANGE_LIMIT: Duration = Duration::from_secs(20);

/// How long `grpc-replay serve` may take to print its address or to exit.
const PROCESS_LIMIT: Duration = Duration::from_secs(30);

/// The user-agent of the emulated Ballerina client.
const BALLERINA_USER_AGENT: &str = "ballerina/2201.12.0";

/// A path under `tests/fixtures/ballerina/`, relative to the package root.
fn fixture(name: &str) -> String {
    format!("tests/fixtures/ballerina/{name}")
}

/// Runs `future` to its end on a single-threaded runtime, within [`EXCHANGE_LIMIT`]. On one
/// thread, frames queued without an `.await` between them leave in one write, as
/// Ballerina's HEADERS and first DATA frame do.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async {
            tokio::time::timeout(EXCHANGE_LIMIT, future)
                .await
                .unwrap_or_else(|_| panic!("the exchange took longer than {EXCHANGE_LIMIT:?}"))
        })
}

// ---------------------------------------------------------------------------------------
// Protobuf as Ballerina writes it, and gRPC framing
// ---------------------------------------------------------------------------------------

/// Protobuf encoding by hand, writing every field as Ballerina does, defaults included.
mod pb {
    fn put_varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    fn put_string(out: &mut Vec<u8>, field: u64, value: &str) {
        put_varint(out, field << 3 | 2);
        put_varint(out, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }

    /// A `google.protobuf.StringValue` (a Ballerina `string`): `""` is `0A 00`.
    pub(crate) fn string_value(value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, 1, value);
        out
    }

    /// A `ChatMessage {name = 1; message = 2}` with both fields written.
    pub(crate) fn chat_message(name: &str, message: &str) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, 1, name);
        put_string(&mut out, 2, message);
        out
    }

    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first().expect("a complete varint");
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    }

    /// The value of string field `number` (the last one written), or `""` when absent.
    pub(crate) fn string_field(mut bytes: &[u8], number: u64) -> String {
        let mut found = String::new();
        while !bytes.is_empty() {
            let tag = varint(&mut bytes);
            assert_eq!(
                tag & 7,
                2,
                "only string fields are expected, found tag {tag}"
            );
            let len = varint(&mut bytes) as usize;
            let (value, rest) = bytes.split_at(len);
            if tag >> 3 == number {
                found = String::from_utf8(value.to_vec()).expect("a UTF-8 string field");
            }
            bytes = rest;
        }
        found
    }
}

/// One gRPC message on the wire: uncompressed flag, big-endian length, the message.
fn grpc_frame(message: &[u8]) -> Bytes {
    let mut framed = Vec::with_capacity(5 + message.len());
    framed.push(0);
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    Bytes::from(framed)
}

/// Reads the gRPC messages of an HTTP/2 body, whatever DATA frames carry them.
struct MessageReader {
    body: RecvStream,
    buffer: BytesMut,
}

impl MessageReader {
    fn new(body: RecvStream) -> Self {
        MessageReader {
            body,
            buffer: BytesMut::new(),
        }
    }

    /// The next message; `None` once the peer ended its stream.
    async fn next(&mut self) -> Result<Option<Vec<u8>>, h2::Error> {
        loop {
            if self.buffer.len() >= 5 {
                assert_eq!(self.buffer[0], 0, "a compressed message arrived");
                let len = u32::from_be_bytes(self.buffer[1..5].try_into().expect("4 bytes"));
                if self.buffer.len() >= 5 + len as usize {
                    self.buffer.advance(5);
                    return Ok(Some(self.buffer.split_to(len as usize).to_vec()));
                }
            }
            match self.body.data().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                    self.buffer.extend_from_slice(&chunk);
                }
                None => {
                    assert!(self.buffer.is_empty(), "the stream ended inside a message");
                    return Ok(None);
                }
            }
        }
    }

    /// The whole body as text, for an answer that is not gRPC.
    async fn text(mut self) -> Result<String, h2::Error> {
        let mut body = self.buffer.to_vec();
        while let Some(chunk) = self.body.data().await {
            let chunk = chunk?;
            let _ = self.body.flow_control().release_capacity(chunk.len());
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Every message left, then the trailers (empty when the stream had none).
    async fn rest(mut self) -> Result<(Vec<Vec<u8>>, HeaderMap), h2::Error> {
        let mut messages = Vec::new();
        while let Some(message) = self.next().await? {
            messages.push(message);
        }
        let trailers = self.body.trailers().await?.unwrap_or_default();
        Ok((messages, trailers))
    }
}

// ---------------------------------------------------------------------------------------
// The Ballerina client
// ---------------------------------------------------------------------------------------

/// A Ballerina gRPC client's HTTP/2 connection.
struct BallerinaClient {
    requests: h2::client::SendRequest<Bytes>,
    addr: SocketAddr,
}

/// What a Ballerina call sends first, together with its HEADERS frame.
enum First<'a> {
    /// The first message.
    Message(&'a [u8]),
    /// `complete()` with no message: an empty DATA frame with END_STREAM.
    Complete,
}

impl BallerinaClient {
    /// Connects with HTTP/2 prior knowledge (`http://`).
    async fn connect(addr: SocketAddr) -> BallerinaClient {
        let tcp = TcpStream::connect(addr)
            .await
            .expect("connect to grpc-replay");
        tcp.set_nodelay(true).expect("TCP_NODELAY");
        let (requests, connection) = h2::client::handshake(tcp)
            .await
            .expect("an HTTP/2 handshake with prior knowledge");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        BallerinaClient { requests, addr }
    }

    /// Starts a call on `path` with Ballerina's headers (and a `deadline` header `deadline`
    /// from now, if given); the HEADERS frame leaves with `first`.
    async fn call(
        &self,
        path: &str,
        deadline: Option<Duration>,
        first: First<'_>,
    ) -> BallerinaCall {
        let mut request = Request::post(format!("http://{}{path}", self.addr))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("grpc-accept-encoding", "gzip")
            .header("user-agent", BALLERINA_USER_AGENT)
            .header("scheme", "http")
            .header("authority", format!("http://{}", self.addr));
        if let Some(deadline) = deadline {
            let at = humantime::format_rfc3339_millis(SystemTime::now() + deadline);
            request = request.header("deadline", at.to_string());
        }
        let request = request.body(()).expect("a valid request");
        let mut requests = self
            .requests
            .clone()
            .ready()
            .await
            .expect("the connection takes a new stream");
        let (response, mut send) = requests
            .send_request(request, false)
            .expect("the request is sent");
        match first {
            First::Message(message) => send.send_data(grpc_frame(message), false),
            First::Complete => send.send_data(Bytes::new(), true),
        }
        .expect("the first frame is queued with the HEADERS");
        BallerinaCall {
            send,
            response: Some(response),
            head: None,
            reader: None,
        }
    }
}

impl BallerinaClient {
    /// A call that sends one message and completes: the whole answer.
    async fn call_once(&self, path: &str, deadline: Option<Duration>, message: &[u8]) -> Answer {
        let mut call = self.call(path, deadline, First::Message(message)).await;
        call.complete();
        call.answer().await
    }
}

/// One call of the Ballerina client.
struct BallerinaCall {
    send: SendStream<Bytes>,
    response: Option<h2::client::ResponseFuture>,
    head: Option<http::response::Parts>,
    reader: Option<MessageReader>,
}

/// Everything the server answered to a call.
#[derive(Debug)]
struct Answer {
    /// The HTTP status.
    status: StatusCode,
    /// The response headers.
    headers: HeaderMap,
    /// The messages, in order (those read with [`BallerinaCall::next_message`] excluded).
    messages: Vec<Vec<u8>>,
    /// The trailers; empty for a Trailers-Only response.
    trailers: HeaderMap,
    /// The body of an answer that is not gRPC (content-type other than application/grpc).
    text: String,
}

impl Answer {
    /// A header of the trailers, or of the headers in a Trailers-Only response.
    fn status_header(&self, name: &str) -> Option<&str> {
        self.trailers
            .get(name)
            .or_else(|| self.headers.get(name))
            .map(|value| value.to_str().expect("an ASCII header"))
    }

    /// The `grpc-status`.
    fn grpc_status(&self) -> Option<&str> {
        self.status_header("grpc-status")
    }

    /// The messages as `google.protobuf.StringValue`s.
    fn strings(&self) -> Vec<String> {
        self.messages
            .iter()
            .map(|message| pb::string_field(message, 1))
            .collect()
    }

    /// Asserts an HTTP 200 answer that ended with `grpc-status: 0` and carried `strings`.
    fn assert_ok(&self, strings: &[&str]) {
        assert_eq!(self.status, StatusCode::OK, "{self:#?}");
        assert_eq!(self.grpc_status(), Some("0"), "{self:#?}");
        assert_eq!(self.strings(), strings, "{self:#?}");
    }
}

impl BallerinaCall {
    /// `sendXxx(message)`: one DATA frame.
    fn send_message(&mut self, message: &[u8]) {
        self.send
            .send_data(grpc_frame(message), false)
            .expect("the message is queued");
    }

    /// `complete()`: an empty DATA frame with END_STREAM.
    fn complete(&mut self) {
        self.send
            .send_data(Bytes::new(), true)
            .expect("the half-close is queued");
    }

    /// `sendError()`: RST_STREAM with STREAM_CLOSED.
    fn send_error(&mut self) {
        self.send.send_reset(Reason::STREAM_CLOSED);
    }

    async fn reader(&mut self) -> &mut MessageReader {
        if let Some(response) = self.response.take() {
            let (head, body) = response.await.expect("response headers").into_parts();
            self.head = Some(head);
            self.reader = Some(MessageReader::new(body));
        }
        self.reader.as_mut().expect("the response has begun")
    }

    /// The next message of the response; `None` when the response ended.
    async fn next_message(&mut self) -> Option<Vec<u8>> {
        self.reader()
            .await
            .next()
            .await
            .expect("the response stream is readable")
    }

    /// Reads the rest of the response: gRPC messages and trailers, or a text body.
    async fn answer(mut self) -> Answer {
        self.reader().await;
        let reader = self.reader.take().expect("the response has begun");
        let head = self.head.take().expect("the response has begun");
        let mut answer = Answer {
            status: head.status,
            headers: head.headers,
            messages: Vec::new(),
            trailers: HeaderMap::new(),
            text: String::new(),
        };
        if answer
            .headers
            .get("content-type")
            .is_some_and(|t| t == "application/grpc")
        {
            (answer.messages, answer.trailers) = reader
                .rest()
                .await
                .expect("the response stream is readable");
        } else {
            answer.text = reader.text().await.expect("the response body is readable");
        }
        answer
    }
}

/// Makes the Chat call of Ballerina's example client (seed 004): three messages sent before
/// any answer is read, then `complete()`.
async fn ballerina_chat(client: &BallerinaClient) -> Answer {
    let messages = [("Sam", "Hi"), ("Ann", "Hey"), ("John", "Hello")]
        .map(|(name, message)| pb::chat_message(name, message));
    let mut call = client
        .call("/Chat/chat", None, First::Message(&messages[0]))
        .await;
    for message in &messages[1..] {
        call.send_message(message);
    }
    call.complete();
    call.answer().await
}

// ---------------------------------------------------------------------------------------
// grpc-replay serve
// ---------------------------------------------------------------------------------------

/// How a `grpc-replay serve --once` process ended.
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn context(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code and that standard output contains every line of `expected`.
    fn assert(&self, code: i32, expected: &[&str]) {
        assert_eq!(self.code, Some(code), "{}", self.context());
        for needle in expected {
            assert!(
                self.stdout.contains(needle),
                "stdout lacks {needle:?}\n{}",
                self.context()
            );
        }
    }
}

/// `grpc-replay serve FILES… --listen 127.0.0.1:0 --once`, killed if dropped while running.
struct Served {
    process: Process,
    addr: SocketAddr,
}

impl Served {
    /// Starts serving `files` and waits for `listening on ADDR`.
    fn start(files: &[&str]) -> Served {
        let mut args = vec!["serve"];
        args.extend_from_slice(files);
        args.extend([
            "--listen",
            "127.0.0.1:0",
            "--once",
            "--verbose",
            "--color",
            "never",
        ]);
        let mut process = Process::start("grpc-replay serve", process_grpc_replay(&args));
        let addr = process
            .listening_address()
            .trim()
            .parse()
            .expect("`listening on` names an address");
        Served { process, addr }
    }

    /// Waits (bounded by [`PROCESS_LIMIT`]) for the process to exit by itself (`--once`).
    fn finish(self) -> Finished {
        let finished = self.process.finish(PROCESS_LIMIT);
        Finished {
            code: finished.code,
            stdout: finished.stdout,
            stderr: finished.stderr,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The Ballerina service
// ---------------------------------------------------------------------------------------

/// The emulated Ballerina service, on its own runtime; dropping it stops it.
struct BallerinaServer {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BallerinaServer {
    /// Listens on a free loopback port.
    fn start() -> BallerinaServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        runtime.spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve_connection(socket));
            }
        });
        BallerinaServer {
            addr,
            runtime: Some(runtime),
        }
    }

    /// The address as `--target` takes it.
    fn target(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for BallerinaServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn serve_connection(socket: TcpStream) {
    let _ = socket.set_nodelay(true);
    let Ok(mut connection) = h2::server::handshake(socket).await else {
        return;
    };
    while let Some(Ok((request, respond))) = connection.accept().await {
        tokio::spawn(async move {
            let path = request.uri().path().to_string();
            let incoming = MessageReader::new(request.into_body());
            // A reset from the client ends the call; there is nobody left to answer.
            let _ = answer_call(&path, incoming, BallerinaResponse::new(respond)).await;
        });
    }
}

/// A Ballerina response: headers with the first message or the status, trailers always.
struct BallerinaResponse {
    respond: h2::server::SendResponse<Bytes>,
    stream: Option<SendStream<Bytes>>,
}

impl BallerinaResponse {
    fn new(respond: h2::server::SendResponse<Bytes>) -> Self {
        BallerinaResponse {
            respond,
            stream: None,
        }
    }

    /// The response stream, its headers sent on first use.
    fn stream(&mut self) -> Result<&mut SendStream<Bytes>, h2::Error> {
        if self.stream.is_none() {
            let head = Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .header("grpc-encoding", "identity")
                .header("grpc-accept-encoding", "gzip")
                .header("server", "ballerina")
                .body(())
                .expect("valid response headers");
            self.stream = Some(self.respond.send_response(head, false)?);
        }
        Ok(self.stream.as_mut().expect("just set"))
    }

    fn send(&mut self, message: &[u8]) -> Result<(), h2::Error> {
        self.stream()?.send_data(grpc_frame(message), false)
    }

    /// Ends the call in a trailing HEADERS frame; `message` goes as it is, not
    /// percent-encoded.
    fn finish(&mut self, code: u16, message: &str) -> Result<(), h2::Error> {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from(code));
        if !message.is_empty() {
            let message = HeaderValue::from_str(message).expect("a header-safe status message");
            trailers.insert("grpc-message", message);
        }
        self.stream()?.send_trailers(trailers)
    }

    /// An unknown path: HTTP 404, text/plain, the status by name, a text body.
    fn not_found(mut self, path: &str) -> Result<(), h2::Error> {
        let head = Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "text/plain")
            .header("grpc-status", "UNIMPLEMENTED")
            .body(())
            .expect("valid response headers");
        let mut stream = self.respond.send_response(head, false)?;
        let body = format!("Method not found: {}", path.trim_start_matches('/'));
        stream.send_data(Bytes::from(body), true)
    }
}

/// Reads every message up to the client's half-close, as Ballerina does before it calls a
/// unary or server-streaming function.
async fn all_messages(incoming: &mut MessageReader) -> Result<Vec<Vec<u8>>, h2::Error> {
    let mut messages = Vec::new();
    while let Some(message) = incoming.next().await? {
        messages.push(message);
    }
    Ok(messages)
}

/// The first of `messages` as a StringValue, `""` when there is none.
fn first_string(messages: &[Vec<u8>]) -> String {
    messages
        .first()
        .map(|message| pb::string_field(message, 1))
        .unwrap_or_default()
}

/// Answers one call as interop/ballerina's services do (and `ChatAdmin/echo`, test only).
async fn answer_call(
    path: &str,
    mut incoming: MessageReader,
    mut outgoing: BallerinaResponse,
) -> Result<(), h2::Error> {
    match path {
        "/Chat/chat" => {
            while let Some(message) = incoming.next().await? {
                let name = pb::string_field(&message, 1);
                let text = pb::string_field(&message, 2);
                outgoing.send(&pb::string_value(&format!("{name}: {text}")))?;
            }
        }
        "/HelloWorld/hello" => {
            let name = first_string(&all_messages(&mut incoming).await?);
            outgoing.send(&pb::string_value(&format!("Hello {name}")))?;
        }
        "/HelloWorld/lotsOfReplies" => {
            let name = first_string(&all_messages(&mut incoming).await?);
            for greeting in ["Hi", "Hey", "Hello"] {
                outgoing.send(&pb::string_value(&format!("{greeting} {name}")))?;
            }
        }
        "/HelloWorld/lotsOfGreetings" => {
            let names: Vec<String> = all_messages(&mut incoming)
                .await?
                .iter()
                .map(|message| pb::string_field(message, 1))
                .collect();
            outgoing.send(&pb::string_value(&format!("Hello {}", names.join(", "))))?;
        }
        "/HelloWorld/bidiHello" => {
            while let Some(message) = incoming.next().await? {
                let name = pb::string_field(&message, 1);
                outgoing.send(&pb::string_value(&format!("Hello {name}")))?;
            }
        }
        "/ChatAdmin/echo" => {
            let messages = all_messages(&mut incoming).await?;
            let message = messages.first().map(Vec::as_slice).unwrap_or_default();
            let (name, text) = (pb::string_field(message, 1), pb::string_field(message, 2));
            if text.is_empty() {
                return outgoing.finish(3, "message is empty: 100% of chats need one");
            }
            outgoing.send(&pb::chat_message(&name, &text))?;
        }
        _ => return outgoing.not_found(path),
    }
    outgoing.finish(0, "")
}

// ---------------------------------------------------------------------------------------
// The emulation itself
// ---------------------------------------------------------------------------------------

#[test]
fn ballerina_writes_default_valued_fields() {
    assert_eq!(pb::string_value(""), [0x0A, 0x00]);
    assert_eq!(
        pb::chat_message("", "Hi"),
        [0x0A, 0x00, 0x12, 0x02, b'H', b'i']
    );
    assert_eq!(
        pb::chat_message("Sam", ""),
        [0x0A, 0x03, b'S', b'a', b'm', 0x12, 0x00]
    );
}

/// The emulated client against the emulated server: the service's answers have the shape
/// the tests below rely on.
#[test]
fn the_emulated_ballerina_service_answers_as_ballerina_does() {
    let server = BallerinaServer::start();
    block_on(async {
        let client = BallerinaClient::connect(server.addr).await;
        let chat = ballerina_chat(&client).await;
        chat.assert_ok(&["Sam: Hi", "Ann: Hey", "John: Hello"]);
        for (name, value) in [
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("grpc-encoding", "identity"),
            ("grpc-accept-encoding", "gzip"),
            ("server", "ballerina"),
        ] {
            assert_eq!(
                chat.headers.get(name).map(|v| v.to_str().unwrap()),
                Some(value),
                "{chat:#?}"
            );
        }
        assert!(
            chat.headers.get("grpc-status").is_none(),
            "never Trailers-Only: {chat:#?}"
        );

        let refused = client
            .call_once("/ChatAdmin/echo", None, &pb::chat_message("Sam", ""))
            .await;
        assert!(refused.messages.is_empty(), "{refused:#?}");
        assert_eq!(refused.trailers["grpc-status"], "3", "{refused:#?}");
        assert_eq!(
            refused.trailers["grpc-message"],
            "message is empty: 100% of chats need one"
        );

        let unknown = client
            .call_once("/ChatAdmin/history", None, &pb::string_value("Sam"))
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:#?}");
        assert_eq!(unknown.headers["content-type"], "text/plain");
        assert_eq!(unknown.headers["grpc-status"], "UNIMPLEMENTED");
        assert_eq!(unknown.text, "Method not found: ChatAdmin/history");
    });
}

// ---------------------------------------------------------------------------------------
// A Ballerina client against grpc-replay serve
// ---------------------------------------------------------------------------------------

#[test]
fn a_ballerina_client_chats_with_grpc_replay() {
    let served = Served::start(&["scenarios/ballerina/chat.yaml"]);
    let answer = block_on(async {
        let client = BallerinaClient::connect(served.addr).await;
        ballerina_chat(&client).await
    });
    answer.assert_ok(&["Sam: Hi", "Ann: Hey", "John: Hello"]);
    served
        .finish()
        .assert(0, &["served 1 file, 1 call: 1 passed"]);
}

#[test]
fn a_ballerina_client_makes_every_helloworld_call() {
    let served = Served::start(&["scenarios/ballerina/helloworld.yaml"]);
    block_on(async {
        let client = BallerinaClient::connect(served.addr).await;
        let ballerina = pb::string_value("Ballerina");

        // hello carries a deadline, as interop/ballerina's client sets one.
        let deadline = Some(Duration::from_secs(5));
        client
            .call_once("/HelloWorld/hello", deadline, &ballerina)
            .await
            .assert_ok(&["Hello Ballerina"]);

        client
            .call_once("/HelloWorld/lotsOfReplies", None, &ballerina)
            .await
            .assert_ok(&["Hi Ballerina", "Hey Ballerina", "Hello Ballerina"]);

        let mut greetings = client
            .call(
                "/HelloWorld/lotsOfGreetings",
                None,
                First::Message(&pb::string_value("Bob")),
            )
            .await;
        greetings.send_message(&pb::string_value("Alice"));
        greetings.send_message(&pb::string_value("Eve"));
        greetings.complete();
        greetings
            .answer()
            .await
            .assert_ok(&["Hello Bob, Alice, Eve"]);

        let mut bidi = client
            .call(
                "/HelloWorld/bidiHello",
                None,
                First::Message(&pb::string_value("Sam")),
            )
            .await;
        let mut answers = Vec::new();
        for next in ["Ann", "John"] {
            answers.push(bidi.next_message().await.expect("an answer"));
            bidi.send_message(&pb::string_value(next));
        }
        answers.push(bidi.next_message().await.expect("an answer"));
        bidi.complete();
        let rest = bidi.answer().await;
        rest.assert_ok(&[]);
        let answers: Vec<String> = answers.iter().map(|a| pb::string_field(a, 1)).collect();
        assert_eq!(answers, ["Hello Sam", "Hello Ann", "Hello John"]);
    });
    served
        .finish()
        .assert(0, &["served 1 file, 4 calls: 4 passed"]);
}

#[test]
fn a_ballerina_client_may_complete_without_a_message() {
    let served = Served::start(&[&fixture("zero_messages.yaml")]);
    let answer = block_on(async {
        let client = BallerinaClient::connect(served.addr).await;
        client
            .call("/Chat/chat", None, First::Complete)
            .await
            .answer()
            .await
    });
    answer.assert_ok(&[]);
    served
        .finish()
        .assert(0, &["served 1 file, 1 call: 1 passed"]);
}

#[test]
fn a_ballerina_clients_headers_and_default_valued_fields_are_understood() {
    let served = Served::start(&[&fixture("request_headers.yaml")]);
    let answer = block_on(async {
        let client = BallerinaClient::connect(served.addr).await;
        let mut call = client
            .call(
                "/Chat/chat",
                None,
                First::Message(&pb::chat_message("", "Hi")),
            )
            .await;
        call.send_message(&pb::chat_message("Sam", ""));
        call.complete();
        call.answer().await
    });
    answer.assert_ok(&[": Hi", "Sam: "]);
    served
        .finish()
        .assert(0, &["served 1 file, 1 call: 1 passed"]);
}

/// `sendError()` resets the stream with STREAM_CLOSED; the connection carries on.
#[test]
fn a_ballerina_client_cancels_a_chat_then_chats_on_the_same_connection() {
    let served = Served::start(&[&fixture("cancel_then_chat.yaml")]);
    let answer = block_on(async {
        let client = BallerinaClient::connect(served.addr).await;
        let question = pb::chat_message("Sam", "Anyone there?");
        let mut gives_up = client
            .call("/Chat/chat", None, First::Message(&question))
            .await;
        let reply = gives_up.next_message().await.expect("the server answers");
        assert_eq!(pb::string_field(&reply, 1), "Sam: Anyone there?");
        gives_up.send_error();
        ballerina_chat(&client).await
    });
    answer.assert_ok(&["Sam: Hi", "Ann: Hey", "John: Hello"]);
    served.finish().assert(
        0,
        &[
            "✓ tests/fixtures/ballerina/cancel_then_chat.yaml [gives-up]",
            "✓ cancel     the client reset the",
            "✓ tests/fixtures/ballerina/cancel_then_chat.yaml [chats]",
            "served 1 file, 2 calls: 2 passed",
        ],
    );
}

/// Method names are case-sensitive: `/Chat/Chat` is not `/Chat/chat`. The answer is a
/// gRPC UNIMPLEMENTED, and the connection serves the next call. A Ballerina client does not
/// percent-decode `grpc-message`: it shows the text as it came, so the text must be
/// readable as it is (the gRPC spec lets a server leave spaces and printable ASCII but `%`
/// unencoded).
#[test]
fn a_ballerina_client_calling_an_unknown_method_gets_unimplemented() {
    let served = Served::start(&["scenarios/ballerina/chat.yaml"]);
    let (unknown, chat) = block_on(async {
        let client = BallerinaClient::connect(served.addr).await;
        let message = pb::chat_message("Sam", "Hi");
        let unknown = client.call_once("/Chat/Chat", None, &message).await;
        (unknown, ballerina_chat(&client).await)
    });
    assert_eq!(unknown.status, StatusCode::OK, "{unknown:#?}");
    assert_eq!(unknown.grpc_status(), Some("12"), "{unknown:#?}");
    chat.assert_ok(&["Sam: Hi", "Ann: Hey", "John: Hello"]);
    served
        .finish()
        .assert(0, &["served 1 file, 1 call: 1 passed"]);
    assert_eq!(
        unknown.status_header("grpc-message"),
        Some("grpc-replay: unknown method /Chat/Chat"),
        "a Ballerina client shows grpc-message without percent-decoding it"
    );
}

/// The `deadline` header bounds a call whose script sets no `timeout:`: the server stops
/// waiting for a message that does not come when the deadline passes, not after the
/// default 10 s, and says so in the status.
#[test]
fn a_ballerina_clients_deadline_bounds_the_wait_for_its_messages() {
    let served = Served::start(&[&fixture("deadline_waiting.yaml")]);
    let deadline = Duration::from_secs(1);
    let (answer, elapsed) = block_on(async {
        let client = BallerinaClient::connect(served.addr).await;
        let started = Instant::now();
        let call = client
            .call(
                "/Chat/chat",
                Some(deadline),
                First::Message(&pb::chat_message("Sam", "Hi")),
            )
            .await;
        (call.answer().await, started.elapsed())
    });
    assert_eq!(answer.strings(), ["Sam: Hi"], "{answer:#?}");
    assert_ne!(answer.grpc_status(), Some("0"), "{answer:#?}");
    let message = answer.status_header("grpc-message").unwrap_or_default();
    assert!(message.contains("deadline"), "{answer:#?}");
    assert!(
        elapsed >= deadline - Duration::from_millis(100) && elapsed < Duration::from_secs(5),
        "the call ended after {elapsed:?}, its deadline was {deadline:?}"
    );
    served
        .finish()
        .assert(1, &["served 1 file, 1 call: 0 passed, 1 failed"]);
}

/// A deadline shorter than the script's `after:`: the answer would come after the
/// deadline, so the call ends at the deadline instead, without it.
#[test]
fn a_ballerina_clients_deadline_stops_a_late_answer() {
    let served = Served::start(&[&fixture("deadline_slow_answer.yaml")]);
    let deadline = Duration::from_secs(1);
    let (answer, elapsed) = block_on(async {
        let client = BallerinaClient::connect(served.addr).await;
        let started = Instant::now();
        let message = pb::chat_message("Sam", "Hi");
        let answer = client
            .call_once("/Chat/chat", Some(deadline), &message)
            .await;
        (answer, started.elapsed())
    });
    assert!(
        answer.messages.is_empty(),
        "an answer came past the deadline: {answer:#?}"
    );
    assert_ne!(answer.grpc_status(), Some("0"), "{answer:#?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "the call ended after {elapsed:?}, its deadline was {deadline:?}"
    );
    served.finish().assert(1, &["1 failed"]);
}

// ---------------------------------------------------------------------------------------
// grpc-replay run against a Ballerina service
// ---------------------------------------------------------------------------------------

fn run_against(server: &BallerinaServer, files: &[&str]) -> CliRun {
    let target = server.target();
    let mut args = vec!["run"];
    args.extend_from_slice(files);
    args.extend(["--target", &target, "--color", "never"]);
    grpc_replay(&args)
}

#[test]
fn grpc_replay_plays_the_ballerina_scenarios_against_a_ballerina_service() {
    let server = BallerinaServer::start();
    run_against(&server, &["scenarios/ballerina/"])
        .assert_exit(0)
        .assert_stdout_contains("2 files, 5 calls: 5 passed");
}

#[test]
fn a_ballerina_services_default_valued_fields_and_plain_status_messages_match() {
    let server = BallerinaServer::start();
    run_against(&server, &[&fixture("echo.yaml")])
        .assert_exit(0)
        .assert_stdout_contains("1 file, 3 calls: 3 passed");
}

#[test]
fn a_ballerina_404_is_the_status_unimplemented() {
    let server = BallerinaServer::start();
    run_against(&server, &[&fixture("unimplemented.yaml")])
        .assert_exit(0)
        .assert_stdout_contains("1 file, 1 call: 1 passed");
}

#[test]
fn the_client_role_can_send_a_ballerina_deadline_header() {
    // The server script checks the `deadline` header (an RFC 3339 time, to the
    // millisecond); the client script asks for it with `deadline_header: true`.
    let served = Served::start(&[&fixture("deadline_header_server.yaml")]);
    grpc_replay(&[
        "run",
        &fixture("deadline_header.yaml"),
        "--target",
        &served.addr.to_string(),
        "--color",
        "never",
    ])
    .assert_exit(0);
    let finished = served.finish();
    assert_eq!(finished.code, Some(0), "{}", finished.context());
}

#[test]
fn a_script_expecting_a_method_the_ballerina_service_lacks_fails() {
    let server = BallerinaServer::start();
    run_against(&server, &[&fixture("unimplemented_expect_ok.yaml")])
        .assert_exit(1)
        .assert_stdout_contains(
            "tests/fixtures/ballerina/unimplemented_expect_ok.yaml:9:5: step `server`: \
             expected the server's message, but the call ended with status UNIMPLEMENTED",
        )
        .assert_stdout_contains(r#"expected: {"name":"Sam","message":"Hi"}"#)
        .assert_stdout_contains("1 file, 1 call: 0 passed, 1 failed");
}

// ---------------------------------------------------------------------------------------
// interop/ballerina: the hand-written `bal grpc` stubs
// ---------------------------------------------------------------------------------------

/// The descriptor constant `NAME_DESC = "…"` of a stub file, decoded.
fn stub_descriptor(stub: &str, constant: &str) -> prost_types::FileDescriptorProto {
    let prefix = format!("public const string {constant} = \"");
    let start = stub
        .find(&prefix)
        .unwrap_or_else(|| panic!("no {constant} in the stub"))
        + prefix.len();
    let hex = &stub[start..start + stub[start..].find('"').expect("a closing quote")];
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("upper-case hex"))
        .collect();
    prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("a FileDescriptorProto")
}

/// What `bal grpc --input proto/NAME.proto` embeds: the file's descriptor as protoc
/// writes it (JSON names included, no source info).
fn compiled_descriptor(proto: &str) -> prost_types::FileDescriptorProto {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut compiler = protox::Compiler::new([format!("{root}/proto")]).expect("a compiler");
    compiler.include_source_info(false);
    compiler
        .open_file(proto)
        .expect("the bundled proto compiles");
    compiler
        .file_descriptor_set()
        .file
        .into_iter()
        .find(|file| file.name() == proto)
        .expect("the proto's own descriptor")
}

#[test]
fn the_ballerina_stubs_embed_the_bundled_protos() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (example, proto, constant, paths) in [
        ("chat", "chat.proto", "CHAT_DESC", &["Chat/chat"][..]),
        (
            "helloworld",
            "helloworld.proto",
            "HELLOWORLD_DESC",
            &[
                "HelloWorld/hello",
                "HelloWorld/lotsOfReplies",
                "HelloWorld/lotsOfGreetings",
                "HelloWorld/bidiHello",
            ][..],
        ),
    ] {
        let read = |side: &str| {
            let path = format!("{root}/interop/ballerina/{example}/{side}/{example}_pb.bal");
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let (service, client) = (read("service"), read("client"));
        assert_eq!(
            service, client,
            "the {example} stubs of the service and the client differ"
        );
        assert_eq!(
            stub_descriptor(&service, constant),
            compiled_descriptor(proto),
            "{constant} is not proto/{proto}"
        );
        for path in paths {
            assert!(
                service.contains(&format!("(\"{path}\"")),
                "{example}_pb.bal does not call {path}"
            );
        }
    }
}
