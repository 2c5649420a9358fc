//! The fast path of message checks (issue 7): a received message whose bytes equal the
//! pre-encoded expectation passes without decoding; any other is decoded and compared
//! field by field. These tests prove both paths give the same verdicts: messages encoded
//! by hand, as another protobuf stack may encode them (fields in another order, default
//! values written, unknown fields, unpacked repeated fields, split sub-messages, repeated
//! scalars, overlong varints, map entries in another order), must match; unequal ones
//! must not — on the path `MessageSpec::check` takes, and on the decoding path
//! (`MessageSpec::check_message` of the decoded message) alike.

use std::sync::OnceLock;

use grpc_replay::matching::{MatchMode, MessageSpec};
use grpc_replay::protos::{load_pool, ProtoSources};
use grpc_replay::scenario::node::Node;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

/// A message type with a field of every kind whose encoding can vary.
const SAMPLE_PROTO: &str = r#"
syntax = "proto3";
package fastpath;

import "google/protobuf/wrappers.proto";

enum Color {
  COLOR_UNSPECIFIED = 0;
  RED = 1;
  GREEN = 2;
}

message Inner {
  string label = 1;
  int32 weight = 2;
}

message Sample {
  int32 id = 1;
  string name = 2;
  repeated int32 numbers = 3;
  Inner inner = 4;
  map<string, int32> counts = 5;
  Color color = 6;
  bytes blob = 7;
  int64 big = 8;
  double ratio = 9;
  bool flag = 10;
  oneof choice {
    string text = 11;
    int32 code = 12;
  }
  repeated Inner items = 13;
  map<string, Inner> inners = 14;
  google.protobuf.StringValue note = 15;
}
"#;

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("sample.proto");
        std::fs::write(&file, SAMPLE_PROTO).expect("the proto is written");
        load_pool(&ProtoSources {
            files: vec![file],
            import_paths: vec![dir.path().to_path_buf()],
            ..ProtoSources::default()
        })
        .expect("the sample proto compiles")
    })
}

fn message_type(name: &str) -> MessageDescriptor {
    pool()
        .get_message_by_name(name)
        .unwrap_or_else(|| panic!("{name} is in the pool"))
}

/// The expectation written as YAML (a `server:` or `client:` step's message) for `Sample`.
fn spec(yaml: &str) -> MessageSpec {
    spec_of("fastpath.Sample", yaml, MatchMode::Exact)
}

fn spec_of(type_name: &str, yaml: &str, mode: MatchMode) -> MessageSpec {
    let node: Node = serde_saphyr::from_str(yaml).expect("valid YAML");
    MessageSpec::compile(&node, &message_type(type_name), mode).expect("a valid message")
}

/// The verdicts of the path `check` takes (bytes first) and of the decoding path.
fn verdicts(spec: &MessageSpec, received: &[u8]) -> (bool, bool) {
    let checked = spec.check(received).is_ok();
    let decoded = DynamicMessage::decode(spec.descriptor().clone(), received)
        .expect("the hand-made encoding is valid protobuf");
    (checked, spec.check_message(&decoded).is_ok())
}

#[track_caller]
fn assert_matches(spec: &MessageSpec, received: &[u8]) {
    assert_eq!(
        verdicts(spec, received),
        (true, true),
        "(check, decoding path) for {} and bytes {received:02x?}",
        spec.display()
    );
}

#[track_caller]
fn assert_differs(spec: &MessageSpec, received: &[u8]) {
    assert_eq!(
        verdicts(spec, received),
        (false, false),
        "(check, decoding path) for {} and bytes {received:02x?}",
        spec.display()
    );
}

/// Raw protobuf encoding, one field at a time.
mod wire {
    const VARINT: u64 = 0;
    const FIXED64: u64 = 1;
    const LENGTH_DELIMITED: u64 = 2;

    pub(crate) fn varint(mut value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn key(field: u64, wire_type: u64) -> Vec<u8> {
        varint(field << 3 | wire_type)
    }

    /// An int32, int64, bool or enum field (negative numbers as 10-byte varints).
    pub(crate) fn int(field: u64, value: i64) -> Vec<u8> {
        [key(field, VARINT), varint(value as u64)].concat()
    }

    pub(crate) fn bytes(field: u64, data: &[u8]) -> Vec<u8> {
        [
            key(field, LENGTH_DELIMITED),
            varint(data.len() as u64),
            data.to_vec(),
        ]
        .concat()
    }

    pub(crate) fn double(field: u64, value: f64) -> Vec<u8> {
        [key(field, FIXED64), value.to_le_bytes().to_vec()].concat()
    }

    /// A field whose value bytes are given as they are (an overlong varint, say).
    pub(crate) fn raw_varint(field: u64, encoded: &[u8]) -> Vec<u8> {
        [key(field, VARINT), encoded.to_vec()].concat()
    }

    /// A packed repeated varint field.
    pub(crate) fn packed(field: u64, values: &[i64]) -> Vec<u8> {
        let body: Vec<u8> = values.iter().flat_map(|v| varint(*v as u64)).collect();
        bytes(field, &body)
    }

    /// A map entry: key (field 1), then value (field 2).
    pub(crate) fn entry(field: u64, key: &[u8], value: &[u8]) -> Vec<u8> {
        bytes(field, &[bytes(1, key), value.to_vec()].concat())
    }
}

/// `Sample` as written in the expectations below.
const FULL: &str = "{id: 7, name: Flo, numbers: [1, 2, 300], inner: {label: a, weight: 3}, \
    counts: {x: 1}, color: GREEN, blob: AQI=, big: -5, ratio: 0.5, flag: true, text: hi, \
    items: [{label: b}, {weight: 4}], inners: {k: {label: c}}, note: memo}";

/// The fields of [`FULL`], each encoded the canonical way, in field-number order.
fn full_fields() -> Vec<Vec<u8>> {
    vec![
        wire::int(1, 7),
        wire::bytes(2, b"Flo"),
        wire::packed(3, &[1, 2, 300]),
        wire::bytes(4, &[wire::bytes(1, b"a"), wire::int(2, 3)].concat()),
        wire::entry(5, b"x", &wire::int(2, 1)),
        wire::int(6, 2),
        wire::bytes(7, &[1, 2]),
        wire::int(8, -5),
        wire::double(9, 0.5),
        wire::int(10, 1),
        wire::bytes(11, b"hi"),
        wire::bytes(13, &wire::bytes(1, b"b")),
        wire::bytes(13, &wire::int(2, 4)),
        wire::entry(14, b"k", &wire::bytes(2, &wire::bytes(1, b"c"))),
        wire::bytes(15, &wire::bytes(1, b"memo")),
    ]
}

#[test]
fn the_sent_bytes_are_the_canonical_encoding_and_pass_both_paths() {
    let expected = spec(FULL);
    let canonical = full_fields().concat();
    assert_eq!(
        expected.to_send().map(|b| b.to_vec()),
        Some(canonical.clone()),
        "the pre-encoded message is the canonical encoding"
    );
    assert_matches(&expected, &canonical);
}

#[test]
fn fields_in_another_order_match() {
    let mut fields = full_fields();
    fields.reverse();
    // The elements of `items` (fields[11] and fields[12]) keep their order: it is the
    // list's order.
    fields.swap(2, 3);
    assert_matches(&spec(FULL), &fields.concat());
    let mut shuffled = full_fields();
    shuffled.rotate_left(5);
    assert_matches(&spec(FULL), &shuffled.concat());
}

#[test]
fn default_values_written_out_match() {
    let expected = spec("{name: Flo}");
    let received = [
        wire::int(1, 0),
        wire::bytes(2, b"Flo"),
        wire::packed(3, &[]),
        wire::int(6, 0),
        wire::bytes(7, b""),
        wire::int(8, 0),
        wire::double(9, 0.0),
        wire::int(10, 0),
    ]
    .concat();
    assert_matches(&expected, &received);
}

#[test]
fn default_values_inside_sub_messages_match() {
    let expected = spec("{inner: {label: a}, items: [{label: b}]}");
    let received = [
        wire::bytes(4, &[wire::bytes(1, b"a"), wire::int(2, 0)].concat()),
        wire::bytes(13, &[wire::bytes(1, b"b"), wire::int(2, 0)].concat()),
    ]
    .concat();
    assert_matches(&expected, &received);
}

#[test]
fn default_values_inside_map_values_match() {
    let expected = spec("{inners: {k: {label: c}}}");
    let received = wire::entry(
        14,
        b"k",
        &wire::bytes(2, &[wire::bytes(1, b"c"), wire::int(2, 0)].concat()),
    );
    assert_matches(&expected, &received);
}

#[test]
fn map_entries_with_defaults_left_out_match() {
    // An entry may omit its key or its value when they are the default.
    assert_matches(
        &spec("{counts: {x: 0}}"),
        &wire::bytes(5, &wire::bytes(1, b"x")),
    );
    assert_matches(
        &spec("{counts: {x: 0}}"),
        &wire::entry(5, b"x", &wire::int(2, 0)),
    );
    assert_matches(
        &spec("{counts: {\"\": 1}}"),
        &wire::bytes(5, &wire::int(2, 1)),
    );
    assert_matches(
        &spec("{inners: {k: {}}}"),
        &wire::bytes(14, &wire::bytes(1, b"k")),
    );
}

#[test]
fn unknown_fields_match() {
    let unknown = [
        wire::int(99, 12345),
        wire::bytes(100, b"from a newer schema"),
        wire::double(101, 1.5),
    ]
    .concat();
    assert_matches(
        &spec(FULL),
        &[full_fields().concat(), unknown.clone()].concat(),
    );
    assert_matches(
        &spec(FULL),
        &[unknown.clone(), full_fields().concat()].concat(),
    );
    assert_matches(&spec("{}"), &unknown);
}

#[test]
fn unknown_fields_inside_sub_messages_match() {
    let expected = spec("{inner: {label: a}, items: [{label: b}]}");
    let received = [
        wire::bytes(4, &[wire::bytes(1, b"a"), wire::int(9, 1)].concat()),
        wire::bytes(13, &[wire::int(9, 1), wire::bytes(1, b"b")].concat()),
    ]
    .concat();
    assert_matches(&expected, &received);
}

#[test]
fn unknown_fields_inside_map_values_match() {
    let expected = spec("{inners: {k: {label: c}}}");
    let received = wire::entry(
        14,
        b"k",
        &wire::bytes(2, &[wire::bytes(1, b"c"), wire::int(9, 1)].concat()),
    );
    assert_matches(&expected, &received);
}

#[test]
fn unknown_fields_inside_a_wrapper_match() {
    let expected = spec_of("google.protobuf.StringValue", "memo", MatchMode::Exact);
    assert_matches(
        &expected,
        &[wire::bytes(1, b"memo"), wire::int(7, 1)].concat(),
    );
    assert_differs(
        &expected,
        &[wire::bytes(1, b"other"), wire::int(7, 1)].concat(),
    );
}

#[test]
fn unpacked_repeated_numbers_match_packed_ones() {
    let expected = spec("{numbers: [1, 2, 300]}");
    let unpacked = [wire::int(3, 1), wire::int(3, 2), wire::int(3, 300)].concat();
    assert_matches(&expected, &unpacked);
    let mixed = [
        wire::packed(3, &[1]),
        wire::int(3, 2),
        wire::packed(3, &[300]),
    ]
    .concat();
    assert_matches(&expected, &mixed);
}

#[test]
fn a_sub_message_split_in_two_merges() {
    let expected = spec("{inner: {label: a, weight: 3}}");
    let split = [
        wire::bytes(4, &wire::bytes(1, b"a")),
        wire::bytes(4, &wire::int(2, 3)),
    ]
    .concat();
    assert_matches(&expected, &split);
}

#[test]
fn a_scalar_written_twice_keeps_the_last_value() {
    let received = [wire::int(1, 5), wire::int(1, 7)].concat();
    assert_matches(&spec("{id: 7}"), &received);
    assert_differs(&spec("{id: 5}"), &received);
}

#[test]
fn a_oneof_written_twice_keeps_the_last_member() {
    let received = [wire::bytes(11, b"hi"), wire::int(12, 4)].concat();
    assert_matches(&spec("{code: 4}"), &received);
    assert_differs(&spec("{text: hi}"), &received);
}

#[test]
fn overlong_varints_match() {
    // 1 as two bytes (0x81 0x00) and 0 as three; both are valid encodings.
    let received = [
        wire::raw_varint(1, &[0x81, 0x00]),
        wire::raw_varint(6, &[0x80, 0x80, 0x00]),
    ]
    .concat();
    assert_matches(&spec("{id: 1}"), &received);
}

#[test]
fn map_entries_in_another_order_match() {
    let expected = spec("{counts: {a: 1, b: 2, c: 3}}");
    let received = [
        wire::entry(5, b"c", &wire::int(2, 3)),
        wire::entry(5, b"a", &wire::int(2, 1)),
        wire::entry(5, b"b", &wire::int(2, 2)),
    ]
    .concat();
    assert_matches(&expected, &received);
    // Inside an entry, the value before the key.
    let value_first = wire::bytes(5, &[wire::int(2, 1), wire::bytes(1, b"a")].concat());
    assert_matches(&spec("{counts: {a: 1}}"), &value_first);
}

#[test]
fn a_nan_matches_itself() {
    let expected = spec("{ratio: NaN}");
    let received = wire::double(9, f64::NAN);
    assert_eq!(
        expected.to_send().map(|b| b.to_vec()),
        Some(received.clone())
    );
    assert_matches(&expected, &received);
}

#[test]
fn unequal_messages_differ() {
    let expected = spec(FULL);
    let with = |index: usize, replacement: Vec<u8>| {
        let mut fields = full_fields();
        fields[index] = replacement;
        fields.concat()
    };
    let changed = [
        with(0, wire::int(1, 8)),
        with(1, wire::bytes(2, b"flo")),
        with(2, wire::packed(3, &[1, 2])),
        with(2, wire::packed(3, &[1, 2, 300, 4])),
        with(2, wire::packed(3, &[2, 1, 300])),
        with(3, wire::bytes(4, &wire::bytes(1, b"a"))),
        with(4, wire::entry(5, b"y", &wire::int(2, 1))),
        with(5, wire::int(6, 1)),
        with(6, wire::bytes(7, &[1, 3])),
        with(7, wire::int(8, 5)),
        with(8, wire::double(9, 0.25)),
        with(9, wire::int(10, 0)),
        with(10, wire::int(12, 0)),
        with(12, wire::bytes(13, &wire::int(2, 5))),
        with(
            13,
            wire::entry(14, b"k", &wire::bytes(2, &wire::bytes(1, b"d"))),
        ),
        with(14, wire::bytes(15, &wire::bytes(1, b"meme"))),
    ];
    for received in &changed {
        assert_differs(&expected, received);
    }
    let mut missing = full_fields();
    missing.remove(11);
    assert_differs(&expected, &missing.concat());
    assert_differs(&expected, &[]);
}

#[test]
fn a_sub_message_the_script_writes_must_be_present() {
    let expected = spec("{inner: {}}");
    assert_eq!(
        expected.to_send().map(|b| b.to_vec()),
        Some(wire::bytes(4, b""))
    );
    assert_matches(&expected, &wire::bytes(4, b""));
    assert_matches(&expected, &wire::bytes(4, &wire::int(2, 0)));
    assert_differs(&expected, &[]);
    assert_differs(&expected, &wire::int(1, 0));
}

#[test]
fn partial_expectations_and_matchers_check_only_what_they_say() {
    let partial = spec_of("fastpath.Sample", "{name: Flo}", MatchMode::Partial);
    assert_matches(&partial, &wire::bytes(2, b"Flo"));
    assert_matches(&partial, &full_fields().concat());
    assert_differs(&partial, &wire::bytes(2, b"Bob"));
    let matcher = spec("{id: {$gt: 5}, name: Flo}");
    assert!(matcher.to_send().is_none(), "a matcher cannot be sent");
    assert_matches(
        &matcher,
        &[wire::int(1, 6), wire::bytes(2, b"Flo")].concat(),
    );
    assert_differs(
        &matcher,
        &[wire::int(1, 5), wire::bytes(2, b"Flo")].concat(),
    );
    assert_differs(
        &matcher,
        &[wire::int(1, 6), wire::bytes(2, b"Flo"), wire::int(10, 1)].concat(),
    );
}
