//! The JSON Schema (draft-07) of the scenario format, for editors (completion, hover,
//! validation through yaml-language-server) and for CI. `grpc-replay schema` prints it;
//! `docs/scenario-schema.json` is the same text (a test keeps them equal).
//!
//! The schema knows the shape of a file: its keys, the step kinds and their modifiers,
//! matchers, status codes and durations. Messages are checked against their proto types
//! only by `grpc-replay check`, which reads the protos.

use serde_json::{json, Map, Value};

use crate::matching::MATCHER_KEYS;
use crate::scenario::StatusCode;

/// The schema, pretty-printed, with a final newline.
pub(crate) fn scenario_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&scenario_schema()).expect("JSON serialises");
    text.push('\n');
    text
}

/// The schema as a JSON value.
pub(crate) fn scenario_schema() -> Value {
    let per_call_only: Vec<Value> = [
        "script",
        "timeout",
        "deadline_header",
        "metadata",
        "compression",
    ]
    .iter()
    .map(|k| json!({"required": [k]}))
    .collect();
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "grpc-replay scenario",
        "description": "A gRPC conversation that grpc-replay plays as the client (run) or as the server (serve). README: \"A scenario\".",
        "type": "object",
        "properties": file_properties(),
        "additionalProperties": false,
        "oneOf": [
            {"required": ["call", "script"], "not": {"required": ["calls"]}},
            {
                "required": ["calls"],
                "not": {"anyOf": per_call_only}
            }
        ],
        "definitions": definitions(),
    })
}

fn file_properties() -> Value {
    let mut properties = call_properties();
    let paths = json!({
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]
    });
    let extra = json!({
        "proto": with_description(paths.clone(), "A .proto file or a list, relative to the scenario (default: the bundled protos)."),
        "protoset": with_description(paths, "A protoset (protoc -o FILE --include_imports, buf build -o FILE) or a list, relative to the scenario."),
        "reflect": {"type": "boolean", "description": "true: load the descriptors from the target's gRPC server reflection."},
        "import_paths": {"type": "array", "items": {"type": "string"}, "description": "Directories for the protos' imports, relative to the scenario."},
        "target": {"type": "string", "description": "Default HOST:PORT for the client role (--target wins)."},
        "listen": {"type": "string", "description": "Default address for the server role (--listen wins)."},
        "vars": {
            "type": "object",
            "description": "Default values for ${NAME}.",
            "propertyNames": {"pattern": "^[A-Za-z0-9_]+$"},
            "additionalProperties": {"type": ["string", "number", "boolean"]}
        },
        "concurrent": {"type": "boolean", "description": "true: the calls of the file run at the same time."},
        "calls": {
            "type": "array",
            "minItems": 1,
            "description": "Several calls, each with its own method and script.",
            "items": {
                "type": "object",
                "properties": call_properties(),
                "additionalProperties": false,
                "required": ["call", "script"]
            }
        }
    });
    let map = properties.as_object_mut().expect("an object");
    map.extend(extra.as_object().expect("an object").clone());
    map.remove("id");
    properties
}

/// The keys of one call (at the top of a one-call file, or under `calls:`).
fn call_properties() -> Value {
    json!({
        "id": {"type": "string", "description": "The call's id, for --filter and reports."},
        "name": {"type": "string", "description": "A readable name."},
        "call": {
            "type": "string",
            "pattern": "^/?[A-Za-z_][A-Za-z0-9_.]*/[A-Za-z_][A-Za-z0-9_]*$",
            "description": "The method: package.Service/Method (Service/Method without a package)."
        },
        "timeout": duration("The call's deadline (default: --timeout, 10s); sent as grpc-timeout."),
        "deadline_header": {"type": "boolean", "description": "true: also send the deadline as Ballerina's RFC 3339 `deadline` header."},
        "metadata": {"$ref": "#/definitions/metadata"},
        "compression": {"enum": ["gzip", "identity"], "description": "Compress every message of the call."},
        "match": {"$ref": "#/definitions/matchMode"},
        "script": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/step"}, "description": "The steps of the conversation."}
    })
}

fn with_description(mut schema: Value, text: &str) -> Value {
    schema["description"] = json!(text);
    schema
}

fn duration(description: &str) -> Value {
    json!({"$ref": "#/definitions/duration", "description": description})
}

fn definitions() -> Value {
    let status_names: Vec<&str> = StatusCode::all_names().to_vec();
    json!({
        "duration": {
            "type": "string",
            "description": "A duration: 250ms, 2s, 1m, 1m 30s (humantime), or a ${VARIABLE}.",
            "pattern": "^\\s*(\\$\\{[A-Za-z0-9_]+\\}|([0-9]+(\\.[0-9]+)?\\s*[A-Za-zµ]+\\s*)+)\\s*$"
        },
        "matchMode": {"enum": ["exact", "partial"], "description": "exact (default): the message must equal; partial: only the fields written are checked."},
        "statusCode": {
            "description": "A canonical status name or a number 0-16.",
            "anyOf": [
                {"enum": status_names},
                {"type": "integer", "minimum": 0, "maximum": 16},
                {"type": "string", "pattern": "^([0-9]|1[0-6])$"},
                {"type": "string", "pattern": "\\$\\{"}
            ]
        },
        "message": {
            "description": "A message in proto3 JSON form, written as YAML; fields may hold matchers ({$regex: ...}) and {$zeros: N}.",
            "$ref": "#/definitions/value"
        },
        "value": {
            "anyOf": [
                {"type": ["string", "number", "boolean", "null"]},
                {"type": "array", "items": {"$ref": "#/definitions/value"}},
                matcher_or_fields()
            ]
        },
        "metadata": {
            "type": "object",
            "description": "Metadata keys to text values or matchers (-bin keys: base64).",
            "additionalProperties": {
                "anyOf": [{"type": ["string", "number", "boolean"]}, matcher_or_fields()]
            }
        },
        "step": step(),
    })
}

/// An object: either message fields (names not starting with `$`), or a matcher / value
/// generator whose `$` keys are all known.
fn matcher_or_fields() -> Value {
    let mut known: Vec<&str> = MATCHER_KEYS.to_vec();
    known.push("$zeros");
    let mut properties = Map::new();
    for key in &known {
        let schema = match *key {
            "$any" => json!({"type": "boolean", "description": "Anything (also absent)."}),
            "$regex" => json!({"type": "string", "description": "Matches the regular expression."}),
            "$between" => {
                json!({"type": "array", "minItems": 2, "maxItems": 2, "description": "In the inclusive range [low, high]."})
            }
            "$len" => {
                json!({"description": "Has this length, or a length that passes these matchers.", "anyOf": [{"type": "integer", "minimum": 0}, {"type": "object"}, {"type": "string"}]})
            }
            "$zeros" => {
                json!({"description": "N zero bytes, for a bytes field.", "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]})
            }
            "$contains" => {
                json!({"description": "Contains the text; for a list: has an element equal to it."})
            }
            "$eq" | "$ne" => {
                json!({"type": ["string", "number", "boolean"], "description": "Equals / differs from the text."})
            }
            _ => json!({"type": ["number", "string"], "description": "Compares as a number."}),
        };
        properties.insert(key.to_string(), schema);
    }
    json!({
        "type": "object",
        "properties": properties,
        "propertyNames": {"anyOf": [{"pattern": "^[^$]"}, {"enum": known}]},
        "additionalProperties": {"$ref": "#/definitions/value"}
    })
}

/// `repeat:`: a count, `"*"`, or a range `{min, max, send}`.
fn repeat() -> Value {
    let count = json!({"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "\\$\\{"}]});
    json!({
        "description": "How many times the step happens: N, \"*\" (any number), or a range {min, max, send}. README: \"Quantified repeats\".",
        "anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": "\\$\\{"},
            {"const": "*"},
            {
                "type": "object",
                "properties": {"min": count, "max": count, "send": count},
                "additionalProperties": false
            }
        ]
    })
}

/// A step: `close` / `cancel`, or a mapping with exactly one action key and modifiers.
fn step() -> Value {
    let one_action: Vec<Value> = crate::scenario::ACTION_KEYS
        .iter()
        .map(|a| json!({"required": [a]}))
        .collect();
    json!({
        "description": "A step: close, cancel, or a mapping with one action (client, server, headers, close, cancel, status, sleep, unordered, group) and modifiers. README: \"Steps\".",
        "anyOf": [
            {"enum": ["close", "cancel"]},
            {
                "type": "object",
                "properties": {
                    "client": {"$ref": "#/definitions/message", "description": "A message from the client: sent by the client role, checked by the server role."},
                    "server": {"$ref": "#/definitions/message", "description": "A message from the server: sent by the server role, checked by the client role."},
                    "expect": {"$ref": "#/definitions/message", "description": "What the checking side compares against instead of the message itself."},
                    "headers": {"$ref": "#/definitions/metadata"},
                    "close": {"type": ["null", "boolean"], "description": "The client half-closes."},
                    "cancel": {"type": ["null", "boolean"], "description": "The client cancels the call."},
                    "status": {"$ref": "#/definitions/statusCode"},
                    "message": {"type": ["string", "object"], "description": "The status message (text or matcher)."},
                    "trailers": {"$ref": "#/definitions/metadata"},
                    "details": {
                        "type": "array",
                        "description": "Rich error details (google.rpc.Status in grpc-status-details-bin): messages, each with its \"@type\" (google.rpc's error details, or a type of the loaded protos).",
                        "items": {"type": "object", "required": ["@type"], "properties": {"@type": {"type": "string"}}}
                    },
                    "sleep": duration("Pause this long."),
                    "unordered": {"type": "array", "items": {"$ref": "#/definitions/step"}, "description": "Checked messages that may arrive in any order."},
                    "group": {
                        "type": "object",
                        "description": "Steps repeated as a block. README: \"Step groups\".",
                        "properties": {
                            "repeat": repeat(),
                            "index": {"type": "string", "pattern": "^[A-Za-z0-9_]+$", "description": "The variable that holds the round's number (0, 1, …) in its messages."},
                            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/step"}}
                        },
                        "required": ["steps"],
                        "additionalProperties": false
                    },
                    "compressed": {"type": "boolean", "description": "The receiving side checks the message's compressed flag (byte 0 of its gRPC frame); the sending side's `compression:` must agree. README: \"Compressed messages\"."},
                    "optional": {"type": "boolean", "description": "The checked message may be absent (a range from 0). README: \"Optional messages\"."},
                    "after": duration("The side that performs the step waits this long first."),
                    "within": duration("The side that checks the step waits at most this long."),
                    "repeat": repeat(),
                    "match": {"$ref": "#/definitions/matchMode"},
                    "capture": {
                        "type": "object",
                        "description": "NAME: SOURCE, a value for later ${NAME} (a field path, a header or trailer name, $message, or $count).",
                        "propertyNames": {"pattern": "^[A-Za-z0-9_]+$"},
                        "additionalProperties": {"type": "string"}
                    }
                },
                "additionalProperties": false,
                "oneOf": one_action,
                "dependencies": {
                    "message": ["status"],
                    "trailers": ["status"],
                    "details": ["status"]
                }
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_matcher_key_and_status_name_is_in_the_schema() {
        let text = scenario_schema_text();
        for key in MATCHER_KEYS {
            assert!(text.contains(&format!("\"{key}\"")), "{key}");
        }
        for name in StatusCode::all_names() {
            assert!(text.contains(&format!("\"{name}\"")), "{name}");
        }
    }
}
