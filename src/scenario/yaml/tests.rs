//! The fast reader against serde-saphyr: wherever the fast reader takes a file, both read
//! the same values at the same positions, and serde-saphyr accepts it too.

use std::fmt::Debug;
use std::path::Path;

use proptest::prelude::*;
use serde::de::DeserializeOwned;

use super::super::bounds;
use super::super::node::Node;
use super::super::raw::RawFile;
use super::{read_fast, read_slowly, reader};

/// Whether the fast reader took `text`; panics when the two readers disagree.
fn agree<T: DeserializeOwned + Debug>(text: &str) -> bool {
    let Some((fast, _)) = reader::read::<T>(text, &[]) else {
        return false;
    };
    match read_slowly::<T>(text) {
        Ok(slow) => assert_eq!(
            format!("{fast:?}"),
            format!("{slow:?}"),
            "read differently:\n{text}"
        ),
        Err(e) => panic!("the fast reader took a file serde-saphyr refuses ({e}):\n{text}"),
    }
    true
}

fn bundled_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scenarios", "tests/fixtures", "bench/scenarios"] {
        for entry in glob::glob(&format!("{}/{dir}/**/*.yaml", root.display())).unwrap() {
            files.push(std::fs::read_to_string(entry.unwrap()).unwrap());
        }
    }
    files
}

#[test]
fn bundled_scenarios_read_the_same_and_most_take_the_fast_way() {
    let files = bundled_files();
    let taken = files.iter().filter(|text| agree::<RawFile>(text)).count();
    assert!(files.len() > 100, "{} files", files.len());
    assert!(
        taken * 4 > files.len() * 3,
        "{taken} of {} taken",
        files.len()
    );
}

#[test]
fn what_scenarios_usually_hold_takes_the_fast_way() {
    let text = concat!(
        "name: many steps  # a comment\n",
        "call: greet.GreetService/GreetEveryone\n",
        "timeout: 30m\n",
        "script:\n",
        "  - client: {greeting: {first_name: P0}}\n",
        "  - server: {result: Hello P0!}\n",
        "  - {server: 'it is', repeat: 2}\n",
        "  - server:\n",
        "      result: \"Hello, you\"\n",
        "    within: 1s\n",
        "  - close\n",
        "  - status: OK\n",
    );
    assert!(agree::<RawFile>(text));
}

#[test]
fn a_long_mapping_is_read_and_a_key_written_twice_in_it_is_left_to_serde_saphyr() {
    let entries: Vec<String> = (0..40).map(|i| format!("k{i}: {{a: 1, b: 2}}\n")).collect();
    let text = entries.concat();
    assert!(agree::<Node>(&text));
    let twice = format!("{text}k7: 3\n");
    assert!(reader::read::<Node>(&twice, &[]).is_none());
    assert!(read_slowly::<Node>(&twice).is_err());
}

#[test]
fn sizes_out_of_bounds_are_found_where_granit_parser_finds_them() {
    let path = Path::new("t.yaml");
    for text in [
        "a: {b: 1, $zeros: -1}\n",
        "- x\n- {c: {'$len': 99999999999}}\n",
        "a: {$len: 12}\n",
    ] {
        let source: std::sync::Arc<str> = std::sync::Arc::from(text);
        let (_, sizes) =
            read_fast::<Node>(text, bounds::SIZE_KEYS).expect("the fast reader takes it");
        assert_eq!(sizes.len(), 1, "{text}");
        let noted = bounds::check_sizes(path, &source, &sizes).map_err(|e| format!("{e:?}"));
        let parsed = bounds::check_text(path, &source).map_err(|e| format!("{e:?}"));
        assert_eq!(noted, parsed, "{text}");
        assert_eq!(noted.is_err(), !text.contains("12"), "{text}");
    }
}

#[test]
fn what_it_does_not_understand_is_left_to_serde_saphyr() {
    for text in [
        "a: !!str 1\n",
        "a: &x 1\nb: *x\n",
        "a: |\n  text\n",
        "a: \"tab\\t\"\n",
        "a: 'it''s'\n",
        "a: one\n  two\n",
        "a: 1\na: 2\n",
        "<<: {a: 1}\n",
        "a: 1.5\n",
        "a:\tb\n",
        "a: b\r\n",
        "%YAML 1.2\n---\na: b\n",
        "a: b\n---\nc: d\n",
        "",
    ] {
        assert!(reader::read::<Node>(text, &[]).is_none(), "{text:?}");
    }
}

/// Scalars as a scenario may write them, and the ones whose meaning is easy to get wrong.
fn scalar() -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        "~",
        "null",
        "NULL",
        "",
        "true",
        "Yes",
        "n",
        "off",
        "0",
        "-0",
        "7",
        "007",
        "12",
        "-12",
        "1.5",
        "1e3",
        "0x1f",
        "+3",
        ".inf",
        "-.inf",
        ".NaN",
        "1_000",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "''",
        "\"\"",
        "'a b'",
        "\"x: y\"",
        "'it''s'",
        "\"tab\\t\"",
        "\"quote\\\"d\"",
        "Hello P0!",
        "a#b",
        "a # comment",
        "é",
        "日本語",
        "x y z",
        "$zeros",
        "${name}",
        "P${index}",
        "30m",
        "10ms",
        "OK",
        "-x",
        "- x",
        "?x",
        ":x",
        "a:b",
        "[a, b]",
        "{a: 1}",
        "[]",
        "{}",
        "'multi\n  line'",
        "|\n  block",
        ">-\n  folded",
        "!tag x",
        "&anchor x",
        "*alias",
        "@x",
        "`x`",
        "%x",
        "'null'",
        "\"true\"",
        "'12'",
    ]);
    prop_oneof![
        3 => tricky.prop_map(str::to_owned),
        1 => "[a-zA-Z0-9 _.:#'\"!-]{0,8}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "name",
        "call",
        "timeout",
        "script",
        "calls",
        "vars",
        "metadata",
        "client",
        "server",
        "close",
        "cancel",
        "status",
        "message",
        "repeat",
        "group",
        "steps",
        "index",
        "sleep",
        "within",
        "after",
        "match",
        "optional",
        "greeting",
        "first_name",
        "result",
        "$zeros",
        "'quoted'",
        "\"name\"",
        "1",
        "null",
        "<<",
        "é",
        "a b",
    ]);
    prop_oneof![4 => keys.prop_map(str::to_owned), 1 => "[a-z]{1,3}"]
}

/// A YAML value: a scalar's text, or a collection.
#[derive(Debug, Clone)]
enum Value {
    Scalar(String),
    Seq(Vec<Value>),
    Map(Vec<(String, Value)>),
}

fn value() -> impl Strategy<Value = Value> {
    scalar()
        .prop_map(Value::Scalar)
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Seq),
                prop::collection::vec((key(), inner), 0..4).prop_map(Value::Map),
            ]
        })
}

/// Writes values in block style where `block` says so, in flow style elsewhere.
struct Writer {
    out: String,
    block: Vec<bool>,
    turn: usize,
}

impl Writer {
    fn next_block(&mut self) -> bool {
        self.turn += 1;
        self.block[self.turn % self.block.len()]
    }

    fn flow(&mut self, value: &Value) {
        match value {
            Value::Scalar(s) => self.out.push_str(s),
            Value::Seq(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    self.out.push_str(if i == 0 { "" } else { ", " });
                    self.flow(item);
                }
                self.out.push(']');
            }
            Value::Map(entries) => {
                self.out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    self.out.push_str(if i == 0 { "" } else { ", " });
                    self.out.push_str(&format!("{k}: "));
                    self.flow(v);
                }
                self.out.push('}');
            }
        }
    }

    /// A value after `key:` or `- `, at `indent`.
    fn inline(&mut self, value: &Value, indent: usize) {
        match value {
            Value::Seq(items) if !items.is_empty() && self.next_block() => {
                self.out.push('\n');
                self.block_seq(items, indent + 2);
            }
            Value::Map(entries) if !entries.is_empty() && self.next_block() => {
                self.out.push('\n');
                self.block_map(entries, indent + 2);
            }
            other => {
                self.out.push(' ');
                self.flow(other);
                let end = if self.next_block() {
                    "\n"
                } else {
                    "  # note\n"
                };
                self.out.push_str(end);
            }
        }
    }

    fn block_seq(&mut self, items: &[Value], indent: usize) {
        for item in items {
            self.out.push_str(&" ".repeat(indent));
            match item {
                Value::Map(entries) if !entries.is_empty() && self.next_block() => {
                    self.out.push_str("- ");
                    self.entries(entries, indent + 2, true);
                }
                other => {
                    self.out.push('-');
                    self.inline(other, indent);
                }
            }
        }
    }

    fn block_map(&mut self, entries: &[(String, Value)], indent: usize) {
        self.out.push_str(&" ".repeat(indent));
        self.entries(entries, indent, false);
    }

    /// Entries of a block mapping whose first key is already indented.
    fn entries(&mut self, entries: &[(String, Value)], indent: usize, _in_seq: bool) {
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                self.out.push_str(&" ".repeat(indent));
            }
            self.out.push_str(&format!("{k}:"));
            self.inline(v, indent);
        }
    }
}

fn yaml(value: &Value, block: Vec<bool>, header: bool) -> String {
    let mut writer = Writer {
        out: if header {
            "---\n".into()
        } else {
            String::new()
        },
        block,
        turn: 0,
    };
    match value {
        Value::Map(entries) if !entries.is_empty() => writer.block_map(entries, 0),
        Value::Seq(items) if !items.is_empty() => writer.block_seq(items, 0),
        other => writer.flow(other),
    }
    writer.out
}

/// A file shaped like a scenario: the call keys, then a script of steps.
fn scenario() -> impl Strategy<Value = Value> {
    let step = prop_oneof![
        1 => prop::sample::select(vec!["close", "cancel", "closed"]).prop_map(|w| Value::Scalar(w.into())),
        4 => prop::collection::vec((key(), value()), 1..3).prop_map(Value::Map),
    ];
    (
        scalar(),
        prop::collection::vec(step, 0..6),
        prop::collection::vec((key(), value()), 0..2),
    )
        .prop_map(|(name, steps, extra)| {
            let mut entries = vec![
                ("name".to_owned(), Value::Scalar(name)),
                (
                    "call".to_owned(),
                    Value::Scalar("greet.GreetService/GreetEveryone".into()),
                ),
                ("script".to_owned(), Value::Seq(steps)),
            ];
            entries.extend(extra);
            Value::Map(entries)
        })
}

/// Line edits of a bundled scenario, where parsers most often part ways: a line indented
/// more or less, written twice, left out, or swapped with the next.
fn relined() -> impl Strategy<Value = String> {
    let edit = (any::<prop::sample::Index>(), 0..5u8);
    (
        prop::sample::select(bundled_files()),
        prop::collection::vec(edit, 1..4),
    )
        .prop_map(|(text, edits)| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            for (at, kind) in edits {
                let i = at
                    .index(lines.len().max(1))
                    .min(lines.len().saturating_sub(1));
                let Some(line) = lines.get(i).cloned() else {
                    continue;
                };
                match kind {
                    0 => lines[i] = format!(" {line}"),
                    1 => lines[i] = line.strip_prefix(' ').unwrap_or(&line).to_owned(),
                    2 => lines.insert(i, line),
                    3 => drop(lines.remove(i)),
                    _ if i + 1 < lines.len() => lines.swap(i, i + 1),
                    _ => {}
                }
            }
            lines.join("\n") + "\n"
        })
}

/// Small edits of a bundled scenario: a character put in, taken out or replaced.
fn mutated() -> impl Strategy<Value = String> {
    let files = bundled_files();
    let edit = (
        any::<prop::sample::Index>(),
        0..3u8,
        prop::sample::select(vec![
            ' ', '\n', ':', '-', '{', '}', '[', ']', ',', '#', '\'', '"', '!', '&', '*', '|', '>',
            '?', 'a', '1', 'é', '~', '.',
        ]),
    );
    (
        prop::sample::select(files),
        prop::collection::vec(edit, 1..4),
    )
        .prop_map(|(text, edits)| {
            let mut chars: Vec<char> = text.chars().collect();
            for (at, kind, c) in edits {
                let i = at.index(chars.len().max(1)).min(chars.len());
                match kind {
                    0 => chars.insert(i, c),
                    1 if i < chars.len() => drop(chars.remove(i)),
                    _ if i < chars.len() => chars[i] = c,
                    _ => chars.push(c),
                }
            }
            chars.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn generated_values_read_the_same(
        value in value(),
        block in prop::collection::vec(any::<bool>(), 1..5),
        header in any::<bool>(),
    ) {
        agree::<Node>(&yaml(&value, block, header));
    }

    #[test]
    fn generated_scenarios_read_the_same(
        value in scenario(),
        block in prop::collection::vec(any::<bool>(), 1..5),
    ) {
        let text = yaml(&value, block, false);
        agree::<RawFile>(&text);
        agree::<Node>(&text);
    }

    /// Past 16 keys a mapping's keys are checked through a set: duplicates still stop
    /// the fast reader wherever they are.
    #[test]
    fn long_mappings_read_the_same(
        entries in prop::collection::vec((prop_oneof![3 => "[a-z]{2,5}", 1 => key()], scalar()), 0..60),
    ) {
        let text: String = entries.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        agree::<Node>(&text);
        agree::<Node>(&format!("outer:\n{}", text.lines().map(|l| format!("  {l}\n")).collect::<String>()));
    }

    /// The sizes noted by the fast reader are bounded as granit-parser's events are:
    /// the same verdict, message and place (`$zeros: -1`, `$len: 18446744073709551616`…).
    #[test]
    fn sizes_are_bounded_the_same_on_either_reader(
        value in value(),
        block in prop::collection::vec(any::<bool>(), 1..5),
    ) {
        let text = yaml(&value, block, false);
        let path = Path::new("t.yaml");
        let source: std::sync::Arc<str> = std::sync::Arc::from(text.as_str());
        if let Some((_, sizes)) = read_fast::<Node>(&text, bounds::SIZE_KEYS) {
            let noted = bounds::check_sizes(path, &source, &sizes).map_err(|e| format!("{e:?}"));
            let parsed = bounds::check_text(path, &source).map_err(|e| format!("{e:?}"));
            prop_assert_eq!(noted, parsed, "{}", text);
        }
    }

    #[test]
    fn edited_scenarios_read_the_same(text in prop_oneof![mutated(), relined()]) {
        agree::<RawFile>(&text);
        agree::<Node>(&text);
    }
}

/// Not a vacuous agreement: of generated files serde-saphyr accepts, the fast reader takes
/// most (when measured: two thirds of values, nine tenths of scenarios edited by character
/// and 155 of 163 edited by line).
#[test]
fn the_fast_reader_takes_most_files_serde_saphyr_accepts() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    fn sample<T: DeserializeOwned + Debug>(texts: impl Iterator<Item = String>) -> (usize, usize) {
        let (mut fast, mut accepted) = (0, 0);
        for text in texts.take(500) {
            fast += usize::from(agree::<T>(&text));
            accepted += usize::from(read_slowly::<T>(&text).is_ok());
        }
        (fast, accepted)
    }
    let mut runner = TestRunner::deterministic();
    let values = std::iter::repeat_with(|| value().new_tree(&mut runner).unwrap().current());
    let (fast, accepted) = sample::<Node>(values.map(|v| yaml(&v, vec![true, false], false)));
    assert!(fast * 2 > accepted, "values: {fast} of {accepted}");
    let edited = std::iter::repeat_with(|| mutated().new_tree(&mut runner).unwrap().current());
    let (fast, accepted) = sample::<RawFile>(edited);
    assert!(
        fast * 4 > accepted * 3,
        "edited scenarios: {fast} of {accepted}"
    );
    let relined = std::iter::repeat_with(|| relined().new_tree(&mut runner).unwrap().current());
    let (fast, accepted) = sample::<RawFile>(relined);
    assert!(
        fast * 4 > accepted * 3,
        "scenarios edited by line: {fast} of {accepted}"
    );
}
