//! `grpc-replay new METHOD`: a scenario skeleton for a method — the steps its kind implies,
//! every field of the request and the response with an example value and its type.
//!
//! Example values are never a type's default (zero, empty), so that every field written
//! is also sent, and the file plays as written in both roles (`run --loopback`).

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};

use crate::describe::type_name;
use crate::protos::{method_path, RpcKind};

/// How deep nested messages are written out; deeper (or recursive) ones are left `{}` to
/// fill in as needed.
const MAX_DEPTH: usize = 4;

/// Where the descriptors came from, written into the skeleton so that it loads them again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    /// `proto:` paths, as they should be written.
    pub protos: Vec<String>,
    /// `protoset:` paths.
    pub protosets: Vec<String>,
    /// `reflect: true` with this `target:`.
    pub reflect_target: Option<String>,
}

/// The scenario text for `method`.
pub(crate) fn skeleton(method: &MethodDescriptor, origin: &Origin) -> String {
    let kind = RpcKind::of(method);
    let path = method_path(method);
    let call = path.trim_start_matches('/');
    let mut text = format!(
        "# {call}: {} ({}).\n\
         # Written by `grpc-replay new`; edit the values, then:\n\
         #   grpc-replay check FILE                 validate it offline\n\
         #   grpc-replay run --loopback FILE        play both roles in one process\n\
         #   grpc-replay run FILE -t HOST:PORT      call a server\n\
         #   grpc-replay serve FILE -l 127.0.0.1:50051   be the server\n\
         # The format: README, \"A scenario\" (### Steps, ### Messages and matching).\n\
         # Editor completion: README, \"Scenario schema\" (grpc-replay schema).\n",
        kind.label(),
        kind_sentence(kind)
    );
    text.push_str(&origin_keys(origin));
    text.push_str(&format!("name: {}\ncall: {call}\nscript:\n", method.name()));
    let request = method.input();
    let response = method.output();
    let client = |text: &mut String| step(text, "client", &request);
    let server = |text: &mut String| step(text, "server", &response);
    match kind {
        RpcKind::Unary => {
            client(&mut text);
            server(&mut text);
            text.push_str("  # implied: `close` after the one request, then `status: OK`\n");
        }
        RpcKind::ServerStreaming => {
            client(&mut text);
            server(&mut text);
            server(&mut text);
            text.push_str("  - status: OK        # the server ends its stream with a status\n");
        }
        RpcKind::ClientStreaming => {
            client(&mut text);
            client(&mut text);
            text.push_str("  - close             # the client half-closes: its stream ends\n");
            server(&mut text);
            text.push_str("  - status: OK\n");
        }
        RpcKind::Bidi => {
            client(&mut text);
            server(&mut text);
            client(&mut text);
            server(&mut text);
            text.push_str("  - close             # the client half-closes: its stream ends\n");
            text.push_str("  - status: OK\n");
        }
    }
    text.push_str(stream_hints(kind));
    text
}

/// Comments on what a stream of this kind can say beyond the skeleton's fixed messages.
fn stream_hints(kind: RpcKind) -> &'static str {
    match kind {
        RpcKind::Unary => "",
        RpcKind::ServerStreaming => {
            "# More: `repeat: N` on a `server:` step sends (and checks) it N times; the client\n             # side takes any number with `repeat: \"*\"` (README, \"Quantified repeats\").\n"
        }
        RpcKind::ClientStreaming => {
            "# More: a stream of any length is one `client:` step with\n             # `repeat: {min: 1, max: 1000, send: 2}` (the client sends 2, the server takes 1 to\n             # 1000) and `capture: {points: $count}` to answer with how many came (README,\n             # \"Quantified repeats\"); a request that may not come: `optional: true`.\n"
        }
        RpcKind::Bidi => {
            "# More: a ping-pong repeated N times is a `group:` —\n             # `group: {repeat: N, index: i, steps: [...]}`, `${i}` in its messages (README,\n             # \"Step groups\"); `unordered:` takes messages in any order; a message that may\n             # not come: `optional: true`.\n"
        }
    }
}

fn kind_sentence(kind: RpcKind) -> &'static str {
    match kind {
        RpcKind::Unary => "one request, one response",
        RpcKind::ServerStreaming => "one request, a stream of responses",
        RpcKind::ClientStreaming => "a stream of requests, one response",
        RpcKind::Bidi => "streams both ways, in any rhythm",
    }
}

fn origin_keys(origin: &Origin) -> String {
    let mut text = String::new();
    let list = |key: &str, paths: &[String]| match paths {
        [] => String::new(),
        [one] => format!("{key}: {}\n", quoted(one)),
        many => format!(
            "{key}: [{}]\n",
            many.iter()
                .map(|p| quoted(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    text.push_str(&list("proto", &origin.protos));
    text.push_str(&list("protoset", &origin.protosets));
    if let Some(target) = &origin.reflect_target {
        text.push_str(&format!(
            "reflect: true        # descriptors from the server's reflection\ntarget: {}\n",
            quoted(target)
        ));
    }
    text
}

/// `  - client: …` (or `server`) with the message's fields, under a comment naming its type.
fn step(text: &mut String, key: &str, message: &MessageDescriptor) {
    text.push_str(&format!("  # {}\n", message.full_name()));
    match well_known(message) {
        Some(value) => text.push_str(&format!("  - {key}: {value}\n")),
        None if message.fields().len() == 0 => text.push_str(&format!("  - {key}: {{}}\n")),
        None => {
            text.push_str(&format!("  - {key}:\n"));
            fields(text, message, 3, &mut vec![message.full_name().to_string()]);
        }
    }
}

/// The fields of `message`, indented by `indent` levels; `path`: the message types being
/// written, to stop at recursion.
fn fields(text: &mut String, message: &MessageDescriptor, indent: usize, path: &mut Vec<String>) {
    let pad = "  ".repeat(indent);
    for field in message.fields() {
        let oneof = field.containing_oneof().filter(|o| !o.is_synthetic());
        if let Some(oneof) = &oneof {
            if oneof
                .fields()
                .next()
                .is_some_and(|f| f.number() != field.number())
            {
                continue;
            }
            let names: Vec<String> = oneof.fields().map(|f| f.name().to_string()).collect();
            text.push_str(&format!(
                "{pad}# oneof {}: one of {}\n",
                oneof.name(),
                names.join(", ")
            ));
        }
        let comment = format!("# {}", field_type(&field));
        match nested(&field, path) {
            Some(inner) if !field.is_list() => {
                text.push_str(&format!("{pad}{}:  {comment}\n", field.name()));
                path.push(inner.full_name().to_string());
                fields(text, &inner, indent + 1, path);
                path.pop();
            }
            Some(inner) => {
                text.push_str(&format!("{pad}{}:  {comment}\n{pad}  -\n", field.name()));
                path.push(inner.full_name().to_string());
                fields(text, &inner, indent + 2, path);
                path.pop();
            }
            None => {
                let value = value_of(&field);
                text.push_str(&format!("{pad}{}: {value}  {comment}\n", field.name()));
            }
        }
    }
}

/// The message type to write out field by field, when `field` holds one that is neither
/// well known, nor empty, nor too deep or recursive.
fn nested(field: &FieldDescriptor, path: &[String]) -> Option<MessageDescriptor> {
    match field.kind() {
        Kind::Message(inner)
            if !field.is_map()
                && well_known(&inner).is_none()
                && inner.fields().len() > 0
                && path.len() < MAX_DEPTH
                && !path.iter().any(|p| p == inner.full_name()) =>
        {
            Some(inner)
        }
        _ => None,
    }
}

/// `repeated int32`, `map<string, int64>`, `.pkg.Message`.
fn field_type(field: &FieldDescriptor) -> String {
    if field.is_list() {
        format!("repeated {}", type_name(field))
    } else {
        type_name(field)
    }
}

/// A one-line example value for a field that is not written out field by field.
fn value_of(field: &FieldDescriptor) -> String {
    if let Kind::Message(entry) = field.kind() {
        if field.is_map() {
            let key = scalar(&entry.map_entry_key_field().kind());
            let value = scalar(&entry.map_entry_value_field().kind());
            let key = if key.starts_with('"') {
                key
            } else {
                quoted(&key)
            };
            return format!("{{{key}: {value}}}");
        }
    }
    let one = scalar(&field.kind());
    if field.is_list() {
        format!("[{one}]")
    } else {
        one
    }
}

/// An example value of a kind, in scenario (YAML, proto3 JSON) form.
fn scalar(kind: &Kind) -> String {
    match kind {
        Kind::Message(message) => well_known(message).unwrap_or_else(|| "{}".into()),
        Kind::Enum(enum_) => enum_
            .values()
            .find(|v| v.number() != 0)
            .or_else(|| enum_.values().next())
            .map_or_else(|| "0".into(), |v| v.name().to_string()),
        Kind::Double | Kind::Float => "1.5".into(),
        Kind::Bool => "true".into(),
        Kind::String => quoted("example"),
        Kind::Bytes => quoted("aGVsbG8="),
        _ => "1".into(),
    }
}

/// The example of a well-known type that proto3 JSON writes as a scalar.
fn well_known(message: &MessageDescriptor) -> Option<String> {
    let value = match message.full_name() {
        "google.protobuf.Timestamp" => quoted("2024-01-01T00:00:00Z"),
        "google.protobuf.Duration" => quoted("1.5s"),
        "google.protobuf.FieldMask" => quoted("name"),
        "google.protobuf.StringValue" => quoted("example"),
        "google.protobuf.BytesValue" => quoted("aGVsbG8="),
        "google.protobuf.BoolValue" => "true".into(),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => "1.5".into(),
        "google.protobuf.Int32Value"
        | "google.protobuf.Int64Value"
        | "google.protobuf.UInt32Value"
        | "google.protobuf.UInt64Value" => "1".into(),
        "google.protobuf.Empty" | "google.protobuf.Struct" => "{}".into(),
        _ => return None,
    };
    Some(value)
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::{bundled_pool, find_method};

    #[test]
    fn a_bidi_skeleton_has_both_streams_a_close_and_a_status() {
        let pool = bundled_pool();
        let method = find_method(&pool, "routeguide.RouteGuide/RouteChat").unwrap();
        let text = skeleton(&method, &Origin::default());
        assert!(
            text.contains("call: routeguide.RouteGuide/RouteChat\n"),
            "{text}"
        );
        assert!(
            text.contains("      location:  # .routeguide.Point\n"),
            "{text}"
        );
        assert!(text.contains("        latitude: 1  # int32\n"), "{text}");
        assert!(
            text.contains("      message: \"example\"  # string\n"),
            "{text}"
        );
        assert_eq!(text.matches("  - client:").count(), 2, "{text}");
        assert_eq!(text.matches("  - server:").count(), 2, "{text}");
        assert!(text.contains("  - close"), "{text}");
        assert!(text.contains("  - status: OK\n"), "{text}");
        assert!(text.contains("`group: {repeat: N, index: i"), "{text}");
    }

    #[test]
    fn a_stream_skeleton_points_to_the_constructs_for_its_kind() {
        let pool = bundled_pool();
        let text_of = |path: &str| skeleton(&find_method(&pool, path).unwrap(), &Origin::default());
        let record = text_of("routeguide.RouteGuide/RecordRoute");
        assert!(
            record.contains("`repeat: {min: 1, max: 1000, send: 2}`"),
            "{record}"
        );
        assert!(record.contains("`capture: {points: $count}`"), "{record}");
        let list = text_of("routeguide.RouteGuide/ListFeatures");
        assert!(list.contains("`repeat: \"*\"`"), "{list}");
        let unary = text_of("HelloWorld/hello");
        assert!(!unary.contains("# More:"), "{unary}");
    }

    #[test]
    fn the_origin_is_written_back() {
        let pool = bundled_pool();
        let method = find_method(&pool, "HelloWorld/hello").unwrap();
        let origin = Origin {
            reflect_target: Some("localhost:50051".into()),
            ..Origin::default()
        };
        let text = skeleton(&method, &origin);
        assert!(text.contains("reflect: true"), "{text}");
        assert!(text.contains("target: \"localhost:50051\"\n"), "{text}");
        assert!(text.contains("  - client: \"example\"\n"), "{text}");
    }
}
