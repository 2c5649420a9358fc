//! Rich errors: the `details:` of a `status:` step. Each detail is a message written with
//! its `@type` (google.rpc's error details are bundled; any type of the loaded protos
//! works too). The server role sends them as `grpc-status-details-bin`, an encoded
//! `google.rpc.Status`; the client role decodes that trailer and checks them.

use prost::Message as _;
use prost_reflect::{DescriptorPool, MessageDescriptor};

use super::node::{Key, Node, NodeValue, Pos};
use super::status_code::StatusCode;
use crate::matching::{MatchMode, MessageSpec, MetaValue, Mismatch, SpecError};
use crate::protos::{find_any_type, rich_errors_pool};

/// The trailer that carries the encoded `google.rpc.Status`.
pub const DETAILS_TRAILER: &str = "grpc-status-details-bin";

/// The prefix of the type URLs gRPC libraries write.
const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// The wire form of `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// One entry of `details:`.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The type URL: `@type` as written, with `type.googleapis.com/` added to a bare name.
    pub type_url: String,
    /// The message: sent by the server role, what the client role checks.
    pub message: MessageSpec,
    /// Where the entry is written.
    pub pos: Pos,
}

/// The `details:` of a status step, in order (empty when the step has none).
#[derive(Debug, Clone, Default)]
pub struct Details(pub Vec<Detail>);

impl Details {
    /// Reads `details:`: a list of mappings, each with `@type` and the fields of that type.
    /// Types are looked up in `pool`, then in google.rpc's bundled error details.
    pub fn compile(
        node: &Node,
        pool: &DescriptorPool,
        mode: MatchMode,
    ) -> Result<Details, SpecError> {
        let NodeValue::Seq(items) = &node.value else {
            return Err(SpecError::new(
                node.pos,
                format!(
                    "`details:` is a list of messages, each with its `@type`, found {}",
                    node.kind()
                ),
            ));
        };
        items
            .iter()
            .map(|item| compile_detail(item, pool, mode))
            .collect::<Result<_, _>>()
            .map(Details)
    }

    /// Whether the step has no details.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where the first matcher is written, when a detail holds one (it cannot be sent).
    pub fn first_matcher(&self) -> Option<Pos> {
        self.0.iter().find_map(|d| d.message.first_matcher())
    }

    /// The `google.rpc.Status` to send as `grpc-status-details-bin`: the call's code and
    /// message, and the details; `None` when a detail holds a matcher.
    pub fn encode(&self, code: StatusCode, message: &str) -> Option<Vec<u8>> {
        let details = self
            .0
            .iter()
            .map(|d| {
                Some(prost_types::Any {
                    type_url: d.type_url.clone(),
                    value: d.message.to_send()?.to_vec(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let status = RpcStatus {
            code: code.0,
            message: message.to_string(),
            details,
        };
        Some(status.encode_to_vec())
    }

    /// Checks the details among received trailers; passes when the step has none.
    pub fn check_trailers(&self, trailers: &[(String, MetaValue)]) -> Result<(), Vec<Mismatch>> {
        if self.is_empty() {
            return Ok(());
        }
        let received = trailers.iter().find_map(|(key, value)| match value {
            MetaValue::Binary(bytes) if key == DETAILS_TRAILER => Some(bytes.as_slice()),
            _ => None,
        });
        self.check(received)
    }

    /// Checks the value of a received `grpc-status-details-bin` trailer (`None` when the
    /// call ended without one): the same details, in the same order, each checked as a
    /// message is.
    pub fn check(&self, received: Option<&[u8]>) -> Result<(), Vec<Mismatch>> {
        let whole = |actual: String| {
            Err(vec![Mismatch {
                path: "details".into(),
                expected: format!("{} detail(s) in {DETAILS_TRAILER}", self.0.len()),
                actual,
            }])
        };
        let Some(bytes) = received else {
            return whole(format!("no {DETAILS_TRAILER} trailer"));
        };
        let status = match RpcStatus::decode(bytes) {
            Ok(status) => status,
            Err(e) => {
                return whole(format!(
                    "bytes that do not decode as google.rpc.Status ({e})"
                ))
            }
        };
        if status.details.len() != self.0.len() {
            return whole(format!(
                "{} detail(s): {}",
                status.details.len(),
                render_details(&status.details, self.pool())
            ));
        }
        let mut diffs = Vec::new();
        for (i, (expected, any)) in self.0.iter().zip(&status.details).enumerate() {
            let path = format!("details[{i}]");
            if any.type_url != expected.type_url {
                diffs.push(Mismatch {
                    path: format!("{path}.@type"),
                    expected: expected.type_url.clone(),
                    actual: any.type_url.clone(),
                });
            } else if let Err(more) = expected.message.check(&any.value) {
                diffs.extend(more.into_iter().map(|mut d| {
                    d.path = join(&path, &d.path);
                    d
                }));
            }
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(diffs)
        }
    }

    /// The pool the details' types come from, to render what was received.
    fn pool(&self) -> DescriptorPool {
        self.0.first().map_or_else(
            || rich_errors_pool().clone(),
            |d| d.message.descriptor().parent_pool().clone(),
        )
    }
}

/// Reads one entry of `details:`.
fn compile_detail(
    node: &Node,
    pool: &DescriptorPool,
    mode: MatchMode,
) -> Result<Detail, SpecError> {
    let entries = node.as_map().ok_or_else(|| {
        SpecError::new(
            node.pos,
            format!(
                "a detail is a mapping of `@type` and the message's fields, found {}",
                node.kind()
            ),
        )
    })?;
    let mut types = entries.iter().filter(|(key, _)| key.name == "@type");
    let type_node = match (types.next(), types.next()) {
        (Some((_, value)), None) => value,
        _ => return Err(SpecError::new(
            node.pos,
            "a detail names its type once: `\"@type\": type.googleapis.com/google.rpc.ErrorInfo`",
        )),
    };
    let fields: Vec<(Key, Node)> = entries
        .iter()
        .filter(|(key, _)| key.name != "@type")
        .cloned()
        .collect();
    let NodeValue::Str(written) = &type_node.value else {
        return Err(SpecError::new(
            type_node.pos,
            format!("`@type` is a type URL, found {}", type_node.kind()),
        ));
    };
    let descriptor =
        find_any_type(pool, written).ok_or_else(|| unknown_type(type_node, written))?;
    let type_url = if written.contains('/') {
        written.clone()
    } else {
        format!("{TYPE_URL_PREFIX}{written}")
    };
    let body = Node {
        pos: node.pos,
        value: NodeValue::Map(fields),
    };
    let message = MessageSpec::compile(&well_known_value(body, &descriptor), &descriptor, mode)?;
    Ok(Detail {
        type_url,
        message,
        pos: node.pos,
    })
}

/// A well-known type is written as its JSON value under `value:`, as in the JSON form of
/// an `Any` (`{"@type": "…/google.protobuf.Duration", "value": "1s"}`).
fn well_known_value(body: Node, descriptor: &MessageDescriptor) -> Node {
    match &body.value {
        NodeValue::Map(entries)
            if descriptor.package_name() == "google.protobuf"
                && entries.len() == 1
                && entries[0].0.name == "value" =>
        {
            entries[0].1.clone()
        }
        _ => body,
    }
}

/// The error for an `@type` that no loaded proto and no google.rpc detail defines.
fn unknown_type(node: &Node, written: &str) -> SpecError {
    let bundled: Vec<String> = rich_errors_pool()
        .all_messages()
        .filter(|m| m.package_name() == "google.rpc" && m.parent_message().is_none())
        .filter(|m| m.name() != "Status")
        .map(|m| m.full_name().to_string())
        .collect();
    let name = written.rsplit('/').next().unwrap_or(written);
    let hint = crate::matching::closest(name, bundled.iter().map(String::as_str))
        .map(|closest| format!(" (did you mean `{closest}`?)"))
        .unwrap_or_default();
    SpecError::new(
        node.pos,
        format!(
            "unknown detail type `{written}`{hint}: neither the loaded protos nor google.rpc's \
             error details ({}) define it; write `type.googleapis.com/package.Message`",
            bundled.join(", ")
        ),
    )
}

/// Received details for output: `[{"@type": …, fields…}, …]`.
fn render_details(details: &[prost_types::Any], pool: DescriptorPool) -> String {
    let rendered: Vec<String> = details
        .iter()
        .map(|any| match find_any_type(&pool, &any.type_url) {
            Some(descriptor) => format!(
                "{{\"@type\": {:?}, {}}}",
                any.type_url,
                crate::matching::render_bytes(&descriptor, &any.value)
            ),
            None => format!(
                "{{\"@type\": {:?}, {} bytes}}",
                any.type_url,
                any.value.len()
            ),
        })
        .collect();
    format!("[{}]", rendered.join(", "))
}

fn join(path: &str, field: &str) -> String {
    if field.is_empty() {
        path.to_string()
    } else {
        format!("{path}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost_reflect::DynamicMessage;

    use super::*;
    use crate::protos::bundled_pool;

    fn text(value: &str) -> Node {
        Node {
            pos: Pos::default(),
            value: NodeValue::Str(value.to_string()),
        }
    }

    fn map(entries: Vec<(&str, Node)>) -> Node {
        let entries = entries
            .into_iter()
            .map(|(name, node)| {
                let key = Key {
                    pos: Pos::default(),
                    name: name.to_string(),
                };
                (key, node)
            })
            .collect();
        Node {
            pos: Pos::default(),
            value: NodeValue::Map(entries),
        }
    }

    fn list(items: Vec<Node>) -> Node {
        Node {
            pos: Pos::default(),
            value: NodeValue::Seq(items),
        }
    }

    /// `details:` with a BadRequest and an ErrorInfo holding these values.
    fn details(field: &str, description: &str, key: &str, value: &str) -> Details {
        let violation = map(vec![
            ("field", text(field)),
            ("description", text(description)),
        ]);
        let node = list(vec![
            map(vec![
                ("@type", text("type.googleapis.com/google.rpc.BadRequest")),
                ("field_violations", list(vec![violation])),
            ]),
            map(vec![
                ("@type", text("google.rpc.ErrorInfo")),
                ("reason", text("OUT_OF_RANGE")),
                ("metadata", map(vec![(key, text(value))])),
            ]),
        ]);
        Details::compile(&node, &bundled_pool(), MatchMode::Exact).unwrap()
    }

    fn decoded(any: &prost_types::Any) -> DynamicMessage {
        let descriptor = find_any_type(&bundled_pool(), &any.type_url).unwrap();
        DynamicMessage::decode(descriptor, any.value.as_slice()).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Values are sacred: what `details:` says is exactly what the encoded
        /// google.rpc.Status holds, and the check accepts its own encoding.
        #[test]
        fn details_round_trip_exactly(
            field in any::<String>(),
            description in any::<String>(),
            key in "[a-z_]{1,8}",
            value in any::<String>(),
            message in any::<String>(),
        ) {
            let details = details(&field, &description, &key, &value);
            let encoded = details.encode(StatusCode(3), &message).unwrap();
            let status = RpcStatus::decode(encoded.as_slice()).unwrap();
            prop_assert_eq!(status.code, 3);
            prop_assert_eq!(&status.message, &message);
            prop_assert_eq!(&status.details[0].type_url, "type.googleapis.com/google.rpc.BadRequest");
            prop_assert_eq!(&status.details[1].type_url, "type.googleapis.com/google.rpc.ErrorInfo");
            let bad_request = decoded(&status.details[0]);
            let violation = bad_request.get_field_by_name("field_violations").unwrap();
            let violation = violation.as_list().unwrap()[0].as_message().unwrap().clone();
            let text_of = |name: &str| violation.get_field_by_name(name).unwrap().as_str().map(str::to_string);
            prop_assert_eq!(text_of("field"), Some(field));
            prop_assert_eq!(text_of("description"), Some(description));
            let info = decoded(&status.details[1]);
            let metadata = info.get_field_by_name("metadata").unwrap();
            let metadata = metadata.as_map().unwrap();
            let got = metadata.get(&prost_reflect::MapKey::String(key.clone())).and_then(|v| v.as_str());
            prop_assert_eq!(got, Some(value.as_str()));
            prop_assert!(details.check(Some(&encoded)).is_ok());
        }

        /// A detail that differs in one value fails the check, at that value.
        #[test]
        fn a_differing_detail_fails(description in any::<String>(), other in any::<String>()) {
            prop_assume!(description != other);
            let sent = details("latitude", &description, "k", "v").encode(StatusCode(3), "").unwrap();
            let diffs = details("latitude", &other, "k", "v").check(Some(&sent)).unwrap_err();
            prop_assert_eq!(diffs.len(), 1);
            prop_assert_eq!(&diffs[0].path, "details[0].field_violations[0].description");
        }
    }

    #[test]
    fn missing_extra_and_undecodable_details_are_differences() {
        let two = details("a", "b", "k", "v");
        let diffs = two.check(None).unwrap_err();
        assert_eq!(diffs[0].actual, "no grpc-status-details-bin trailer");
        let one = Details(two.0[..1].to_vec())
            .encode(StatusCode(3), "")
            .unwrap();
        let diffs = two.check(Some(&one)).unwrap_err();
        assert!(
            diffs[0].actual.starts_with("1 detail(s): [{\"@type\""),
            "{diffs:?}"
        );
        assert!(two.check(Some(b"\xff\xff")).is_err());
        let mut swapped = two.clone();
        swapped.0.reverse();
        let sent = swapped.encode(StatusCode(3), "").unwrap();
        let diffs = two.check(Some(&sent)).unwrap_err();
        assert_eq!(diffs[0].path, "details[0].@type");
    }

    #[test]
    fn a_detail_needs_a_known_type() {
        let node = list(vec![map(vec![("reason", text("x"))])]);
        let error = Details::compile(&node, &bundled_pool(), MatchMode::Exact).unwrap_err();
        assert!(
            error.message.contains("names its type once"),
            "{}",
            error.message
        );
        let node = list(vec![map(vec![("@type", text("google.rpc.Nope"))])]);
        let error = Details::compile(&node, &bundled_pool(), MatchMode::Exact).unwrap_err();
        assert!(
            error.message.contains("unknown detail type"),
            "{}",
            error.message
        );
        let error = Details::compile(&text("x"), &bundled_pool(), MatchMode::Exact).unwrap_err();
        assert!(error.message.contains("is a list"), "{}", error.message);
    }

    #[test]
    fn a_well_known_detail_is_written_as_its_json_value() {
        let node = list(vec![map(vec![
            (
                "@type",
                text("type.googleapis.com/google.protobuf.Duration"),
            ),
            ("value", text("1.5s")),
        ])]);
        let details = Details::compile(&node, &bundled_pool(), MatchMode::Exact).unwrap();
        let sent = details.encode(StatusCode(14), "").unwrap();
        assert!(details.check(Some(&sent)).is_ok());
    }
}
