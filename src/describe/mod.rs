//! `grpc-replay describe`: a service, method, message or enum as proto-like text, the way
//! grpcurl prints it (types fully qualified with a leading dot, streaming kinds, numbers).

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, ServiceDescriptor,
};

/// What a symbol names.
pub(crate) enum Symbol {
    /// A service.
    Service(ServiceDescriptor),
    /// A method of a service.
    Method(MethodDescriptor),
    /// A message.
    Message(MessageDescriptor),
    /// An enum.
    Enum(EnumDescriptor),
}

/// Finds `name` (`pkg.Service`, `pkg.Service.Method`, `pkg.Service/Method`, `pkg.Message`,
/// `pkg.Enum`; a leading `.` or `/` is accepted).
pub(crate) fn find_symbol(pool: &DescriptorPool, name: &str) -> Option<Symbol> {
    let name = name.trim_start_matches(['.', '/']).replace('/', ".");
    if let Some(service) = pool.get_service_by_name(&name) {
        return Some(Symbol::Service(service));
    }
    if let Some(message) = pool.get_message_by_name(&name) {
        return Some(Symbol::Message(message));
    }
    if let Some(enum_) = pool.get_enum_by_name(&name) {
        return Some(Symbol::Enum(enum_));
    }
    let (service, method) = name.rsplit_once('.')?;
    pool.get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method)
        .map(Symbol::Method)
}

/// Every name [`find_symbol`] knows, for suggestions.
pub(crate) fn symbol_names(pool: &DescriptorPool) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for service in pool.services() {
        names.push(service.full_name().to_string());
        names.extend(service.methods().map(|m| method_name(&m)));
    }
    names.extend(pool.all_messages().map(|m| m.full_name().to_string()));
    names.extend(pool.all_enums().map(|e| e.full_name().to_string()));
    names
}

fn method_name(method: &MethodDescriptor) -> String {
    format!("{}.{}", method.parent_service().full_name(), method.name())
}

/// The description of `symbol`: a line saying what it is, then its definition.
pub(crate) fn describe(symbol: &Symbol) -> String {
    match symbol {
        Symbol::Service(service) => {
            let mut text = format!(
                "{} is a service:\nservice {} {{\n",
                service.full_name(),
                service.name()
            );
            for method in service.methods() {
                text.push_str(&format!("  {}\n", rpc_line(&method)));
            }
            text + "}\n"
        }
        Symbol::Method(method) => format!(
            "{} is a method:\n{}\n",
            method_name(method),
            rpc_line(method)
        ),
        Symbol::Message(message) => {
            format!(
                "{} is a message:\n{}",
                message.full_name(),
                message_text(message, 0)
            )
        }
        Symbol::Enum(enum_) => {
            format!("{} is an enum:\n{}", enum_.full_name(), enum_text(enum_, 0))
        }
    }
}

/// `rpc Name ( [stream ].pkg.In ) returns ( [stream ].pkg.Out );`
fn rpc_line(method: &MethodDescriptor) -> String {
    let stream = |yes: bool| if yes { "stream " } else { "" };
    format!(
        "rpc {} ( {}.{} ) returns ( {}.{} );",
        method.name(),
        stream(method.is_client_streaming()),
        method.input().full_name(),
        stream(method.is_server_streaming()),
        method.output().full_name()
    )
}

fn message_text(message: &MessageDescriptor, depth: usize) -> String {
    let pad = "  ".repeat(depth);
    let mut text = format!("{pad}message {} {{\n", message.name());
    for field in message.fields() {
        match field.containing_oneof().filter(|o| !o.is_synthetic()) {
            Some(oneof)
                if oneof
                    .fields()
                    .next()
                    .is_some_and(|f| f.number() == field.number()) =>
            {
                text.push_str(&format!("{pad}  oneof {} {{\n", oneof.name()));
                for member in oneof.fields() {
                    text.push_str(&format!("{pad}    {}\n", field_line(&member)));
                }
                text.push_str(&format!("{pad}  }}\n"));
            }
            Some(_) => {}
            None => text.push_str(&format!("{pad}  {}\n", field_line(&field))),
        }
    }
    for nested in message.child_messages().filter(|m| !m.is_map_entry()) {
        text.push_str(&message_text(&nested, depth + 1));
    }
    for nested in message.child_enums() {
        text.push_str(&enum_text(&nested, depth + 1));
    }
    text + &format!("{pad}}}\n")
}

/// `[repeated |optional ]type name = number;`, maps as `map<K, V>`.
fn field_line(field: &FieldDescriptor) -> String {
    let label = if field.is_map() {
        ""
    } else if field.is_list() {
        "repeated "
    } else if field.cardinality() == Cardinality::Required {
        "required "
    } else if field.field_descriptor_proto().proto3_optional()
        || (field.supports_presence()
            && field.containing_oneof().is_none()
            && !matches!(field.kind(), Kind::Message(_))
            && field.parent_file().syntax() == prost_reflect::Syntax::Proto2)
    {
        "optional "
    } else {
        ""
    };
    format!(
        "{label}{} {} = {};",
        type_name(field),
        field.name(),
        field.number()
    )
}

/// The field's type as written in a proto file.
pub(crate) fn type_name(field: &FieldDescriptor) -> String {
    match field.kind() {
        Kind::Message(entry) if field.is_map() => {
            let key = entry.map_entry_key_field();
            let value = entry.map_entry_value_field();
            format!(
                "map<{}, {}>",
                kind_name(&key.kind()),
                kind_name(&value.kind())
            )
        }
        kind => kind_name(&kind),
    }
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
    }
}

fn enum_text(enum_: &EnumDescriptor, depth: usize) -> String {
    let pad = "  ".repeat(depth);
    let mut text = format!("{pad}enum {} {{\n", enum_.name());
    for value in enum_.values() {
        text.push_str(&format!("{pad}  {} = {};\n", value.name(), value.number()));
    }
    text + &format!("{pad}}}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::bundled_pool;

    fn described(name: &str) -> String {
        describe(&find_symbol(&bundled_pool(), name).expect(name))
    }

    #[test]
    fn a_service_lists_its_methods_with_streaming_kinds() {
        let text = described("routeguide.RouteGuide");
        assert!(text.starts_with("routeguide.RouteGuide is a service:\nservice RouteGuide {\n"));
        assert!(text.contains(
            "  rpc RouteChat ( stream .routeguide.RouteNote ) returns ( stream .routeguide.RouteNote );\n"
        ));
        assert!(text
            .contains("  rpc GetFeature ( .routeguide.Point ) returns ( .routeguide.Feature );\n"));
    }

    #[test]
    fn a_method_is_found_with_a_slash_or_a_dot() {
        let slash = described("routeguide.RouteGuide/ListFeatures");
        assert_eq!(slash, described("routeguide.RouteGuide.ListFeatures"));
        assert_eq!(
            slash,
            "routeguide.RouteGuide.ListFeatures is a method:\n\
             rpc ListFeatures ( .routeguide.Rectangle ) returns ( stream .routeguide.Feature );\n"
        );
    }

    #[test]
    fn a_message_shows_field_types_and_numbers() {
        let text = described("routeguide.Feature");
        assert_eq!(
            text,
            "routeguide.Feature is a message:\nmessage Feature {\n  string name = 1;\n  \
             .routeguide.Point location = 2;\n}\n"
        );
    }

    #[test]
    fn unknown_symbols_are_none() {
        assert!(find_symbol(&bundled_pool(), "routeguide.Nothing").is_none());
        assert!(find_symbol(&bundled_pool(), "routeguide.RouteGuide.Nothing").is_none());
    }
}
