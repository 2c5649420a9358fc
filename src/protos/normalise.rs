//! The one step every descriptor set passes before prost-reflect sees it: Editions files
//! become the proto2/proto3 files that mean the same on the wire, and a set that would make
//! prost-reflect panic is refused with a message instead.
//!
//! prost-reflect 0.16 knows `proto2` and `proto3` only (and panics while reporting any
//! other `syntax`). An Editions file says what a field means through *features*, resolved
//! from the edition's defaults, then the file, the enclosing messages, the field. They map
//! onto what prost-reflect reads:
//!
//! | feature                      | written as                                         |
//! |------------------------------|----------------------------------------------------|
//! | `field_presence = EXPLICIT`  | proto3 `optional` (synthetic oneof), proto2 `optional` |
//! | `field_presence = IMPLICIT`  | a plain proto3 field                               |
//! | `field_presence = LEGACY_REQUIRED` | `required`                                   |
//! | `repeated_field_encoding`    | `[packed = true/false]` on every packable field    |
//! | `message_encoding = DELIMITED` | a group (`TYPE_GROUP`)                           |
//! | `enum_type = CLOSED`         | nothing to do: prost-reflect keeps unknown values  |
//!
//! The file becomes proto3 unless one of its enums starts at a value other than 0 (only a
//! closed enum may), which proto3 forbids; it then becomes proto2, where a field with
//! implicit presence keeps its value but is also sent when it holds zero.

use std::collections::HashSet;
use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Value};

const SCHEMA_NAME: &str = "descriptor_schema.proto";
const SCHEMA: &str = include_str!("descriptor_schema.proto");

const LABEL_REQUIRED: i32 = 2;
const LABEL_REPEATED: i32 = 3;
const TYPE_GROUP: i32 = 10;
const TYPE_MESSAGE: i32 = 11;
const TYPE_STRING: i32 = 9;
const TYPE_BYTES: i32 = 12;
const EDITION_2023: i32 = 1000;
const EDITION_2024: i32 = 1001;

/// The features that change what prost-reflect must be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Features {
    /// `field_presence`: 1 explicit, 2 implicit, 3 legacy required.
    presence: i32,
    /// `repeated_field_encoding`: 1 packed, 2 expanded.
    repeated: i32,
    /// `message_encoding`: 1 length-prefixed, 2 delimited.
    message_encoding: i32,
}

const EXPLICIT: i32 = 1;
const IMPLICIT: i32 = 2;
const LEGACY_REQUIRED: i32 = 3;
const PACKED: i32 = 1;
const DELIMITED: i32 = 2;

impl Features {
    /// The defaults of an edition this tool reads.
    fn defaults(edition: i32) -> Result<Self, String> {
        match edition {
            EDITION_2023 | EDITION_2024 => Ok(Features {
                presence: EXPLICIT,
                repeated: PACKED,
                message_encoding: 1,
            }),
            other => Err(format!(
                "edition {} is not supported (2023 and 2024 are)",
                edition_name(other)
            )),
        }
    }

    /// These features overridden by the `features` of `element`'s options, if any.
    fn merged(mut self, element: &DynamicMessage) -> Self {
        let Some(features) = child(element, "options").and_then(|o| child(&o, "features")) else {
            return self;
        };
        for (name, slot) in [
            ("field_presence", &mut self.presence),
            ("repeated_field_encoding", &mut self.repeated),
            ("message_encoding", &mut self.message_encoding),
        ] {
            if features.has_field_by_name(name) {
                *slot = int(&features, name);
            }
        }
        self
    }
}

fn edition_name(edition: i32) -> String {
    match edition {
        998 => "proto2".into(),
        999 => "proto3".into(),
        EDITION_2023 => "2023".into(),
        EDITION_2024 => "2024".into(),
        9999 => "UNSTABLE".into(),
        other => format!("#{other}"),
    }
}

/// Rewrites an encoded `FileDescriptorSet` so that prost-reflect reads it as its authors
/// meant: Editions files resolved, files repeated under the same name kept once.
pub fn normalise(set: &[u8]) -> Result<Vec<u8>, String> {
    let descriptor = schema()
        .get_message_by_name("grpc_replay.descriptor.FileDescriptorSet")
        .expect("the schema defines FileDescriptorSet");
    let mut set = DynamicMessage::decode(descriptor, set)
        .map_err(|e| format!("not a FileDescriptorSet (protoc -o FILE --include_imports): {e}"))?;
    let mut names = HashSet::new();
    let mut kept = Vec::new();
    for value in list(&set, "file") {
        let Value::Message(mut file) = value else {
            continue;
        };
        let name = string(&file, "name");
        if !names.insert(name.clone()) {
            continue;
        }
        normalise_file(&mut file).map_err(|e| format!("{name}: {e}"))?;
        kept.push(Value::Message(file));
    }
    set.set_field_by_name("file", Value::List(kept));
    Ok(set.encode_to_vec())
}

/// Builds a pool from an encoded set, normalised first; no input makes this panic.
pub fn build_pool(set: &[u8]) -> Result<DescriptorPool, String> {
    let normalised = normalise(set)?;
    let decoded = std::panic::catch_unwind(|| DescriptorPool::decode(normalised.as_slice()))
        .map_err(|_| "the descriptor set is malformed (prost-reflect could not read it)")?;
    decoded.map_err(|e| e.to_string())
}

fn normalise_file(file: &mut DynamicMessage) -> Result<(), String> {
    match string(file, "syntax").as_str() {
        "" | "proto2" | "proto3" => return Ok(()),
        "editions" => {}
        other => return Err(format!("unknown syntax `{other}`")),
    }
    let features = Features::defaults(int(file, "edition"))?.merged(file);
    let proto3 = !enums_of_file(file).iter().any(starts_above_zero);
    each_message(file, "message_type", |message| {
        normalise_message(message, features, proto3)
    });
    each_message(file, "extension", |field| {
        normalise_field(field, features.merged(field), false)
    });
    file.set_field_by_name(
        "syntax",
        Value::String(if proto3 { "proto3" } else { "proto2" }.into()),
    );
    file.clear_field_by_name("edition");
    Ok(())
}

/// Every enum of a file, nested ones too.
fn enums_of_file(file: &DynamicMessage) -> Vec<DynamicMessage> {
    fn walk(message: &DynamicMessage, enums: &mut Vec<DynamicMessage>) {
        enums.extend(messages(message, "enum_type"));
        for nested in messages(message, "nested_type") {
            walk(&nested, enums);
        }
    }
    let mut enums = messages(file, "enum_type");
    for message in messages(file, "message_type") {
        walk(&message, &mut enums);
    }
    enums
}

fn starts_above_zero(enum_: &DynamicMessage) -> bool {
    messages(enum_, "value")
        .first()
        .is_some_and(|first| int(first, "number") != 0)
}

fn normalise_message(message: &mut DynamicMessage, inherited: Features, proto3: bool) {
    let features = inherited.merged(message);
    let mut taken: HashSet<String> = messages(message, "field")
        .iter()
        .chain(messages(message, "oneof_decl").iter())
        .map(|m| string(m, "name"))
        .collect();
    let mut synthetic = Vec::new();
    let real_oneofs = list(message, "oneof_decl").len();
    each_message(message, "field", |field| {
        let explicit = normalise_field(field, features.merged(field), proto3);
        if explicit && proto3 {
            let mut name = format!("_{}", string(field, "name"));
            while !taken.insert(name.clone()) {
                name.insert(0, 'X');
            }
            field.set_field_by_name("proto3_optional", Value::Bool(true));
            let index = (real_oneofs + synthetic.len()) as i32;
            field.set_field_by_name("oneof_index", Value::I32(index));
            synthetic.push(name);
        }
    });
    if !synthetic.is_empty() {
        let oneof = |name: String| {
            let mut decl = DynamicMessage::new(
                schema()
                    .get_message_by_name("grpc_replay.descriptor.OneofDescriptorProto")
                    .expect("the schema defines OneofDescriptorProto"),
            );
            decl.set_field_by_name("name", Value::String(name));
            Value::Message(decl)
        };
        if let Some(Value::List(decls)) = message.get_field_by_name_mut("oneof_decl") {
            decls.extend(synthetic.into_iter().map(oneof));
        }
    }
    each_message(message, "nested_type", |nested| {
        normalise_message(nested, features, proto3)
    });
    each_message(message, "extension", |field| {
        normalise_field(field, features.merged(field), false);
    });
}

/// Writes a field's resolved features in proto2/proto3 terms; returns whether it is a
/// singular scalar with explicit presence outside any oneof (proto3 `optional` in proto3).
fn normalise_field(field: &mut DynamicMessage, features: Features, may_be_optional: bool) -> bool {
    let kind = int(field, "type");
    if int(field, "label") == LABEL_REPEATED {
        if ![TYPE_STRING, TYPE_BYTES, TYPE_MESSAGE, TYPE_GROUP].contains(&kind) {
            let mut options = child(field, "options").unwrap_or_else(|| {
                DynamicMessage::new(
                    schema()
                        .get_message_by_name("grpc_replay.descriptor.FieldOptions")
                        .expect("the schema defines FieldOptions"),
                )
            });
            options.set_field_by_name("packed", Value::Bool(features.repeated == PACKED));
            field.set_field_by_name("options", Value::Message(options));
        }
        return false;
    }
    if kind == TYPE_MESSAGE && features.message_encoding == DELIMITED {
        field.set_field_by_name("type", Value::I32(TYPE_GROUP));
    }
    match features.presence {
        LEGACY_REQUIRED => {
            field.set_field_by_name("label", Value::I32(LABEL_REQUIRED));
            false
        }
        IMPLICIT => false,
        _ => {
            may_be_optional
                && ![TYPE_MESSAGE, TYPE_GROUP].contains(&int(field, "type"))
                && !field.has_field_by_name("oneof_index")
        }
    }
}

/// Applies `f` to each message in the repeated field `name`.
fn each_message<R>(
    parent: &mut DynamicMessage,
    name: &str,
    mut f: impl FnMut(&mut DynamicMessage) -> R,
) {
    if let Some(Value::List(items)) = parent.get_field_by_name_mut(name) {
        for item in items {
            if let Value::Message(message) = item {
                f(message);
            }
        }
    }
}

fn list(message: &DynamicMessage, name: &str) -> Vec<Value> {
    match message.get_field_by_name(name).as_deref() {
        Some(Value::List(items)) => items.clone(),
        _ => Vec::new(),
    }
}

fn messages(message: &DynamicMessage, name: &str) -> Vec<DynamicMessage> {
    list(message, name)
        .into_iter()
        .filter_map(|v| match v {
            Value::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn child(message: &DynamicMessage, name: &str) -> Option<DynamicMessage> {
    if !message.has_field_by_name(name) {
        return None;
    }
    match message.get_field_by_name(name).as_deref() {
        Some(Value::Message(m)) => Some(m.clone()),
        _ => None,
    }
}

fn int(message: &DynamicMessage, name: &str) -> i32 {
    message
        .get_field_by_name(name)
        .and_then(|v| v.as_i32())
        .unwrap_or(0)
}

fn string(message: &DynamicMessage, name: &str) -> String {
    message
        .get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The schema above, compiled once.
fn schema() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut compiler = protox::Compiler::with_file_resolver(SchemaResolver);
        compiler
            .open_file(SCHEMA_NAME)
            .expect("the embedded descriptor schema compiles");
        compiler.descriptor_pool()
    })
}

struct SchemaResolver;

impl protox::file::FileResolver for SchemaResolver {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        if name == SCHEMA_NAME {
            protox::file::File::from_source(name, SCHEMA)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::{
        field_descriptor_proto::{Label, Type},
        DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
        FileDescriptorProto, FileDescriptorSet,
    };

    fn field(name: &str, number: i32, label: Label) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            label: Some(label as i32),
            r#type: Some(Type::Int32 as i32),
            ..Default::default()
        }
    }

    /// An Editions 2023 file with default features: message `t.M { int32 a = 1; repeated
    /// int32 r = 2; }` and an enum whose first value is `first`.
    fn editions_set(first: i32) -> Vec<u8> {
        let file = FileDescriptorProto {
            name: Some("t.proto".into()),
            package: Some("t".into()),
            syntax: Some("editions".into()),
            message_type: vec![DescriptorProto {
                name: Some("M".into()),
                field: vec![
                    field("a", 1, Label::Optional),
                    field("r", 2, Label::Repeated),
                ],
                ..Default::default()
            }],
            enum_type: vec![EnumDescriptorProto {
                name: Some("E".into()),
                value: vec![EnumValueDescriptorProto {
                    name: Some("E_A".into()),
                    number: Some(first),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let set = FileDescriptorSet { file: vec![file] }.encode_to_vec();
        // prost-types has no `edition` field: set it through the schema.
        let descriptor = schema()
            .get_message_by_name("grpc_replay.descriptor.FileDescriptorSet")
            .unwrap();
        let mut set = DynamicMessage::decode(descriptor, set.as_slice()).unwrap();
        each_message(&mut set, "file", |file| {
            file.set_field_by_name("edition", Value::I32(EDITION_2023))
        });
        set.encode_to_vec()
    }

    #[test]
    fn editions_defaults_become_proto3_optional_and_packed() {
        let pool = build_pool(&editions_set(0)).unwrap();
        let message = pool.get_message_by_name("t.M").unwrap();
        assert_eq!(
            message.parent_file().syntax(),
            prost_reflect::Syntax::Proto3
        );
        let a = message.get_field_by_name("a").unwrap();
        assert!(a.supports_presence(), "explicit presence is kept");
        assert!(message.get_field_by_name("r").unwrap().is_packed());
        assert!(message.oneofs().all(|o| o.is_synthetic()));
    }

    #[test]
    fn an_enum_starting_above_zero_makes_the_file_proto2() {
        let pool = build_pool(&editions_set(1)).unwrap();
        let message = pool.get_message_by_name("t.M").unwrap();
        assert_eq!(
            message.parent_file().syntax(),
            prost_reflect::Syntax::Proto2
        );
        assert!(message.get_field_by_name("a").unwrap().supports_presence());
        assert!(message.get_field_by_name("r").unwrap().is_packed());
    }

    #[test]
    fn an_unsupported_edition_is_named() {
        let set = editions_set(0);
        let descriptor = schema()
            .get_message_by_name("grpc_replay.descriptor.FileDescriptorSet")
            .unwrap();
        let mut set = DynamicMessage::decode(descriptor, set.as_slice()).unwrap();
        each_message(&mut set, "file", |file| {
            file.set_field_by_name("edition", Value::I32(9999))
        });
        let error = build_pool(&set.encode_to_vec()).unwrap_err();
        assert_eq!(
            error,
            "t.proto: edition UNSTABLE is not supported (2023 and 2024 are)"
        );
    }
}
