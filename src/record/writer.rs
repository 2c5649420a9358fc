//! A recorded call as a scenario file in the hand-written format: header comment, `call`,
//! `timeout`, `metadata`, `compression`, and the steps in the order the proxy saw them.

use std::io::Read;
use std::time::{Duration, Instant};

use h2::Reason;
use http::HeaderMap;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;

use super::frames::Frame;
use super::log::{Event, RecordedCall, Side, Timed};
use super::loose::LoosePaths;
use super::metadata::{grpc_timeout, request_metadata, response_metadata, status_message, Secrets};
use super::yaml::{flow, scalar};
use crate::protos::find_method;
use crate::scenario::StatusCode;

/// How pauses are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Timing {
    /// No timing: steps follow each other as fast as the peers go.
    #[default]
    None,
    /// Each pause the proxy saw before a step becomes that step's `after:`.
    Gaps,
}

/// What the writer needs besides the call.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteOptions {
    /// Descriptors to decode messages with.
    pub pool: DescriptorPool,
    /// `--timing`.
    pub timing: Timing,
    /// `--loose`: fields written as `{$any: true}` on the checked side.
    pub loose: LoosePaths,
    /// Metadata written as variables.
    pub secrets: Secrets,
}

/// Why a call could not be written as a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotWritten {
    /// No loaded proto defines the method.
    NoDescriptor {
        /// The HTTP/2 path of the call.
        path: String,
    },
    /// The server reset the stream: a scenario has no step for that.
    ServerReset(Reason),
    /// A message did not decode as the method's type.
    Undecodable {
        /// Who sent it.
        side: Side,
        /// Its place among that side's messages (1-based).
        index: usize,
        /// What the decoder said.
        error: String,
    },
}

/// Builds the text of the scenario for `call`.
pub(crate) fn render(call: &RecordedCall, options: &WriteOptions) -> Result<String, NotWritten> {
    let method =
        find_method(&options.pool, &call.path).ok_or_else(|| NotWritten::NoDescriptor {
            path: call.path.clone(),
        })?;
    let mut variables = Vec::new();
    let mut body = format!("call: {}\n", scalar(call.path.trim_start_matches('/')));
    let request = &call.request;
    let deadline_header = request.contains_key("deadline");
    if let Some(timeout) = timeout(request, call) {
        body.push_str(&format!(
            "timeout: {}\n",
            humantime::format_duration(timeout)
        ));
    }
    if deadline_header {
        body.push_str("deadline_header: true\n");
    }
    if let Some(metadata) = request_metadata(request, &options.secrets, &mut variables) {
        body.push_str(&format!("metadata: {metadata}\n"));
    }
    if header_text(request, "grpc-encoding").as_deref() == Some("gzip") {
        body.push_str("compression: gzip\n");
    }
    body.push_str("script:\n");
    let types = (method.input(), method.output());
    for step in steps(call, &types, options, &mut variables)? {
        body.push_str(&step);
    }
    Ok(format!("{}{body}", header_comment(call, &variables)))
}

/// When and between which peers; the variables the file needs.
fn header_comment(call: &RecordedCall, variables: &[String]) -> String {
    let mut comment = format!(
        "# Recorded by grpc-replay record at {}\n# between client {} and upstream {} (call {} of the recording).\n",
        humantime::format_rfc3339_seconds(call.started),
        call.client,
        call.upstream,
        call.sequence,
    );
    if !variables.is_empty() {
        comment.push_str(&format!(
            "# Secret metadata is not written: set the variables {} (--var NAME=VALUE) to replay.\n",
            variables.join(", ")
        ));
    }
    comment
}

/// The call's deadline: `grpc-timeout`, else Ballerina's RFC 3339 `deadline` header
/// measured from when the call started.
fn timeout(request: &HeaderMap, call: &RecordedCall) -> Option<Duration> {
    if let Some(timeout) = header_text(request, "grpc-timeout").and_then(|t| grpc_timeout(&t)) {
        return Some(timeout);
    }
    let deadline = humantime::parse_rfc3339_weak(&header_text(request, "deadline")?).ok()?;
    deadline.duration_since(call.started).ok()
}

fn header_text(headers: &HeaderMap, key: &str) -> Option<String> {
    headers.get(key)?.to_str().ok().map(str::to_string)
}

/// The message types of the two directions: requests, responses.
type Types = (MessageDescriptor, MessageDescriptor);

/// Each event as a step (a `- ` line and its modifier lines).
fn steps(
    call: &RecordedCall,
    types: &Types,
    options: &WriteOptions,
    variables: &mut Vec<String>,
) -> Result<Vec<String>, NotWritten> {
    let request_encoding = header_text(&call.request, "grpc-encoding");
    let mut response_encoding = None;
    let mut counts = [0usize; 2];
    let mut previous = call.started_at;
    let mut steps = Vec::new();
    for timed in status_last(&call.events) {
        let mut comment = None;
        let lines = match &timed.event {
            Event::Message(side, frame) => {
                let (descriptor, encoding, count) = match side {
                    Side::Client => (&types.0, &request_encoding, &mut counts[0]),
                    Side::Server => (&types.1, &response_encoding, &mut counts[1]),
                };
                *count += 1;
                let value = decode(frame, descriptor, encoding.as_deref()).map_err(|error| {
                    NotWritten::Undecodable {
                        side: *side,
                        index: *count,
                        error,
                    }
                })?;
                message_step(*side, &value, &options.loose)
            }
            Event::Headers(headers) => {
                response_encoding = header_text(headers, "grpc-encoding");
                match response_metadata(headers, &options.secrets, variables) {
                    Some(mapping) => vec![format!("headers: {mapping}")],
                    None => continue,
                }
            }
            Event::HalfClose => vec!["close:".to_string()],
            Event::Cancel(reason) => {
                comment = reset_comment(*reason);
                vec!["cancel:".to_string()]
            }
            Event::Status(trailers) => status_step(trailers, &options.secrets, variables),
            Event::ServerReset(reason) => return Err(NotWritten::ServerReset(*reason)),
        };
        let gap = gap(previous, timed.at, options.timing);
        previous = timed.at;
        steps.push(step_text(lines, gap, comment));
    }
    Ok(steps)
}

/// The events in the order a script can hold them: the client's messages and half-close
/// that arrived after the server's status (sent before the client learned of it) come
/// before the status, which ends a script.
fn status_last(events: &[Timed]) -> Vec<&Timed> {
    let Some(status) = events
        .iter()
        .position(|t| matches!(t.event, Event::Status(_)))
    else {
        return events.iter().collect();
    };
    let (before, after) = events.split_at(status);
    let (client, rest): (Vec<&Timed>, Vec<&Timed>) = after[1..]
        .iter()
        .partition(|t| matches!(t.event, Event::Message(Side::Client, _) | Event::HalfClose));
    let mut ordered: Vec<&Timed> = before.iter().chain(client).collect();
    ordered.push(&after[0]);
    ordered.extend(rest);
    ordered
}

/// The pause to write before a step seen at `at`, when `--timing gaps` asks for it and
/// it is at least a millisecond.
fn gap(previous: Instant, at: Instant, timing: Timing) -> Option<Duration> {
    let millis = at.saturating_duration_since(previous).as_millis();
    (timing == Timing::Gaps && millis > 0).then(|| Duration::from_millis(millis as u64))
}

/// What a `cancel` step cannot say: the RST_STREAM code, when it is not CANCEL. The
/// format has no reset code, so the file keeps it as a comment on the step.
fn reset_comment(reason: Reason) -> Option<String> {
    (reason != Reason::CANCEL).then(|| {
        format!(
            "# the client reset the stream with {reason:?} (code {}); a scenario has no \
             reset code, so this replays as CANCEL",
            u32::from(reason)
        )
    })
}

/// A step's lines as YAML list item, `comment` at the end of its first line;
/// `close:`/`cancel:` stay bare without modifiers.
fn step_text(mut lines: Vec<String>, after: Option<Duration>, comment: Option<String>) -> String {
    if let Some(after) = after {
        lines.push(format!("after: {}", humantime::format_duration(after)));
    } else if lines.len() == 1 && lines[0].ends_with(':') {
        lines[0].pop();
    }
    if let Some(comment) = comment {
        lines[0].push_str("  ");
        lines[0].push_str(&comment);
    }
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        text.push_str(if i == 0 { "  - " } else { "    " });
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// `client: MSG` or `server: MSG`, with `expect:` when a loose field is in it.
fn message_step(side: Side, value: &Value, loose: &LoosePaths) -> Vec<String> {
    let keyword = match side {
        Side::Client => "client",
        Side::Server => "server",
    };
    let mut lines = vec![format!("{keyword}: {}", flow(value))];
    if let Some(expected) = loose.apply(value) {
        lines.push(format!("expect: {}", flow(&expected)));
    }
    lines
}

/// `status: CODE` with `message:` and `trailers:` when there are any.
fn status_step(
    trailers: &HeaderMap,
    secrets: &Secrets,
    variables: &mut Vec<String>,
) -> Vec<String> {
    let code = header_text(trailers, "grpc-status")
        .and_then(|c| c.trim().parse::<i32>().ok())
        .map_or_else(|| StatusCode(2).name(), |c| StatusCode(c).name());
    let mut lines = vec![format!("status: {code}")];
    if let Some(message) = trailers.get("grpc-message") {
        lines.push(format!(
            "message: {}",
            scalar(&status_message(message.as_bytes()))
        ));
    }
    if let Some(mapping) = response_metadata(trailers, secrets, variables) {
        lines.push(format!("trailers: {mapping}"));
    }
    lines
}

/// A message in the proto3 JSON mapping (original field names).
fn decode(
    frame: &Frame,
    descriptor: &MessageDescriptor,
    encoding: Option<&str>,
) -> Result<Value, String> {
    let payload = if frame.compressed {
        match encoding {
            Some("gzip") => gunzip(&frame.payload)?,
            other => {
                return Err(format!(
                    "compressed with {}, which grpc-replay cannot read",
                    other.unwrap_or("no grpc-encoding")
                ))
            }
        }
    } else {
        frame.payload.to_vec()
    };
    let message = DynamicMessage::decode(descriptor.clone(), payload.as_slice())
        .map_err(|e| e.to_string())?;
    if message.unknown_fields().next().is_some() {
        return Err(format!(
            "it has fields that {} does not define (a different version of the proto?)",
            descriptor.full_name()
        ));
    }
    let options = SerializeOptions::new().use_proto_field_name(true);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| e.to_string())
}

fn gunzip(payload: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(payload)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out)
}

/// The method's file name part of a call path (`/pkg.Service/Method` → `Method`), kept to
/// characters safe in file names.
pub(super) fn method_name(path: &str) -> String {
    let name: String = path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    if name.is_empty() {
        "call".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::bundled_pool;
    use crate::record::log::Timed;
    use crate::scenario::{load_str, Action, LoadOptions, PoolCache, Role, Scenario};
    use bytes::Bytes;
    use proptest::prelude::*;
    use prost::Message as _;
    use std::path::Path;
    use std::time::SystemTime;

    /// A call of `path` in which the client sent `request`, the server an empty message,
    /// then `trailers`.
    fn call(path: &str, request: Vec<u8>, trailers: HeaderMap) -> RecordedCall {
        let now = Instant::now();
        let event = |event| Timed { at: now, event };
        RecordedCall {
            sequence: 1,
            path: path.to_string(),
            request: HeaderMap::new(),
            started: SystemTime::now(),
            started_at: now,
            client: "127.0.0.1:1".parse().unwrap(),
            upstream: "127.0.0.1:2".to_string(),
            events: vec![
                event(Event::Message(
                    Side::Client,
                    Frame {
                        compressed: false,
                        payload: Bytes::from(request),
                    },
                )),
                event(Event::HalfClose),
                event(Event::Message(
                    Side::Server,
                    Frame {
                        compressed: false,
                        payload: Bytes::new(),
                    },
                )),
                event(Event::Status(trailers)),
            ],
        }
    }

    fn load(text: &str) -> Scenario {
        let options = LoadOptions {
            roles: vec![Role::Client, Role::Server],
            ..LoadOptions::default()
        };
        load_str(
            Path::new("rec.yaml"),
            text,
            &options,
            &mut PoolCache::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"))
    }

    fn options() -> WriteOptions {
        WriteOptions {
            pool: bundled_pool(),
            ..WriteOptions::default()
        }
    }

    fn ok() -> HeaderMap {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        trailers
    }

    /// The bytes the loaded file sends for its first client message.
    fn first_client_message(scenario: &Scenario) -> Bytes {
        let step = scenario.calls[0]
            .script
            .iter()
            .find_map(|s| match &s.action {
                Action::Client(message) => Some(message),
                _ => None,
            })
            .expect("a client step");
        step.message.to_send().expect("a sendable message").clone()
    }

    #[test]
    fn a_variable_reference_in_a_value_is_written_escaped() {
        let request = "a${B}".to_string().encode_to_vec();
        let written = render(&call("/HelloWorld/hello", request, ok()), &options()).unwrap();
        assert!(written.contains("client: \"a$${B}\""), "{written}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_text_field_survives_record_file_and_load(text in any::<String>()) {
            let request = text.encode_to_vec();
            let written = render(&call("/HelloWorld/hello", request.clone(), ok()), &options()).unwrap();
            let sent = first_client_message(&load(&written));
            prop_assert_eq!(sent.as_ref(), request.as_slice());
        }

        #[test]
        fn any_status_message_survives_record_file_and_load(text in any::<String>()) {
            let encoded: String = text
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            let mut trailers = ok();
            trailers.insert("grpc-message", encoded.parse().unwrap());
            let request = String::new().encode_to_vec();
            let written = render(&call("/HelloWorld/hello", request, trailers), &options()).unwrap();
            let status = load(&written).calls[0].script.iter().find_map(|s| match &s.action {
                Action::Status(status) => Some(status.message.clone()),
                _ => None,
            });
            let sent = status.flatten().and_then(|m| m.to_send().map(str::to_string));
            prop_assert_eq!(sent, Some(text));
        }
    }

    #[test]
    fn deadline_gaps_and_secrets_are_written() {
        let mut recorded = call("/HelloWorld/hello", "x".to_string().encode_to_vec(), ok());
        recorded.started = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
        let deadline = recorded.started + Duration::from_millis(1500);
        let deadline = humantime::format_rfc3339_millis(deadline).to_string();
        recorded
            .request
            .insert("deadline", deadline.parse().unwrap());
        recorded
            .request
            .insert("authorization", "Bearer x".parse().unwrap());
        recorded.events[1].at = recorded.started_at + Duration::from_millis(7);
        recorded.events[2].at = recorded.started_at + Duration::from_millis(7);
        let options = WriteOptions {
            timing: Timing::Gaps,
            ..options()
        };
        let written = render(&recorded, &options).unwrap();
        assert!(
            written.contains("timeout: 1s 500ms\ndeadline_header: true\n"),
            "{written}"
        );
        assert!(
            written.contains("  - close:\n    after: 7ms\n  - server: \"\"\n"),
            "{written}"
        );
        assert!(
            written.contains("metadata: {authorization: \"${AUTHORIZATION}\"}"),
            "{written}"
        );
        assert!(
            written.contains("set the variables AUTHORIZATION"),
            "{written}"
        );
        assert!(!written.contains("Bearer"), "{written}");
    }

    /// A cancelled call: the client sent a message, then reset the stream with `reason`.
    fn reset_call(reason: Reason) -> RecordedCall {
        let mut recorded = call("/HelloWorld/hello", "x".to_string().encode_to_vec(), ok());
        recorded.events.truncate(1);
        recorded.events.push(Timed {
            at: recorded.started_at,
            event: Event::Cancel(reason),
        });
        recorded
    }

    #[test]
    fn a_reset_code_other_than_cancel_is_kept_in_a_comment_on_the_cancel_step() {
        let written = render(&reset_call(Reason::STREAM_CLOSED), &options()).unwrap();
        assert!(
            written.ends_with(
                "  - cancel  # the client reset the stream with STREAM_CLOSED (code 5); a \
                 scenario has no reset code, so this replays as CANCEL\n"
            ),
            "{written}"
        );
        let gaps = WriteOptions {
            timing: Timing::Gaps,
            ..options()
        };
        let mut late = reset_call(Reason::INTERNAL_ERROR);
        late.events[1].at += Duration::from_millis(3);
        let written = render(&late, &gaps).unwrap();
        assert!(
            written.contains(
                "  - cancel:  # the client reset the stream with INTERNAL_ERROR (code 2)"
            ) && written.ends_with("replays as CANCEL\n    after: 3ms\n"),
            "{written}"
        );
        for text in [
            written,
            render(&reset_call(Reason::STREAM_CLOSED), &options()).unwrap(),
        ] {
            let step = load(&text).calls[0].script.last().map(|s| s.action.clone());
            assert!(matches!(step, Some(Action::Cancel)), "{text}");
        }
    }

    /// A server that refused the call before its message reached the proxy: the message
    /// and half-close that arrived after the status are written before it.
    #[test]
    fn client_events_after_the_status_are_written_before_it() {
        let mut unimplemented = HeaderMap::new();
        unimplemented.insert("grpc-status", "12".parse().unwrap());
        let mut recorded = call(
            "/HelloWorld/hello",
            "x".to_string().encode_to_vec(),
            unimplemented,
        );
        recorded.events.remove(2);
        recorded.events.rotate_left(2);
        assert!(matches!(recorded.events[0].event, Event::Status(_)));
        let written = render(&recorded, &options()).unwrap();
        assert!(
            written.ends_with("  - client: x\n  - close\n  - status: UNIMPLEMENTED\n"),
            "{written}"
        );
        load(&written);
    }

    /// The twin: CANCEL is what `cancel` means, with nothing to add.
    #[test]
    fn a_cancel_reset_is_a_bare_cancel_step() {
        let written = render(&reset_call(Reason::CANCEL), &options()).unwrap();
        assert!(
            written.ends_with("  - client: x\n  - cancel\n"),
            "{written}"
        );
    }

    #[test]
    fn a_method_without_descriptor_is_not_written() {
        let written = render(&call("/nowhere.Svc/Do", Vec::new(), ok()), &options());
        assert_eq!(
            written,
            Err(NotWritten::NoDescriptor {
                path: "/nowhere.Svc/Do".to_string()
            })
        );
    }

    #[test]
    fn loose_fields_are_checked_loosely_and_sent_as_recorded() {
        let pool = bundled_pool();
        let descriptor = pool
            .get_message_by_name("greet.GreetEveryoneRequest")
            .unwrap();
        let json = serde_json::json!({"greeting": {"first_name": "stamp-1234"}});
        let request = DynamicMessage::deserialize(descriptor, json)
            .unwrap()
            .encode_to_vec();
        let mut options = options();
        options.loose = LoosePaths::new(&["greeting.first_name".into()]);
        let path = "/greet.GreetService/GreetEveryone";
        let written = render(&call(path, request.clone(), ok()), &options).unwrap();
        assert!(
            written.contains("expect: {greeting: {first_name: {\"$any\": true}}}"),
            "{written}"
        );
        let scenario = load(&written);
        assert_eq!(first_client_message(&scenario).as_ref(), request.as_slice());
    }
}
