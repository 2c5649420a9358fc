//! The bad-input catalogue: more than a hundred ways to get a scenario or a flag wrong, each
//! refused with exit 2 and an error at the right `FILE:LINE:COLUMN` (or naming the flag),
//! with no panic, no abort, no hang, no library jargon — and a mutation-fuzz smoke run over
//! the loader: bundled scenarios mutated at random (seeded), each loaded in-process
//! (no panic, bounded time), and every mutant the loader accepts then played with
//! `run --loopback` (no panic, no abort, a documented exit code, bounded time).
//!
//! Sizes: GRPC_REPLAY_FUZZ_CASES mutants (default 300, the smoke size; the audit's full
//! size is 130,000: `GRPC_REPLAY_FUZZ_CASES=130000 cargo test --release --test catalogue`),
//! GRPC_REPLAY_FUZZ_SEED picks another sequence (printed).

mod process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use grpc_replay::scenario::{load_str, LoadOptions, PoolCache, Role};
use process::{Finished, Process};

/// How long one `check` may take.
const CHECK_LIMIT: Duration = Duration::from_secs(20);

/// Words a library may leak into a message, which a user must never see.
const JARGON: &[&str] = &[
    "DuplicateKeyPolicy",
    "budget breached",
    "Options",
    "grpc_replay::",
    "panicked",
    "RUST_BACKTRACE",
];

/// Every case: a name, where the error must be (`LINE:COLUMN`), and the file's text.
const CASES: &[(&str, &str, &str)] = &[
    ("after_bad", "4:12", "call: HelloWorld/hello\nscript:\n  - client: Sam\n    after: 5 parsecs\n"),
    ("after_too_long", "4:12", "call: HelloWorld/hello\nscript:\n  - client: Sam\n    after: 100000000h\n"),
    ("anchor_undefined", "3:13", "call: HelloWorld/hello\nscript:\n  - client: *nothing\n"),
    ("bad_indent", "4:4", "call: HelloWorld/hello\nscript:\n  - client: Sam\n   - server: Hello Sam\n"),
    ("bad_regex", "5:29", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: a}\n    expect: {name: {$regex: \"(\"}}\n"),
    ("between_bad", "5:46", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: a}\n    expect: {location: {latitude: {$between: [1]}}}\n"),
    ("bool_for_string", "3:20", "call: Chat/chat\nscript:\n  - client: {name: [1]}\n"),
    ("bytes_bad_base64", "5:20", "call: Chat/chat\nscript:\n  - client: {name: a, message: b}\n  - server: x\n    expect: {$len: -2}\n"),
    ("call_and_calls", "1:1", "call: HelloWorld/hello\nscript:\n  - client: Sam\ncalls: []\n"),
    ("calls_empty", "1:1", "calls: []\n"),
    ("calls_item_scalar", "2:5", "calls:\n  - hello\n"),
    ("calls_not_list", "1:8", "calls: {a: 1}\n"),
    ("capture_not_map", "5:14", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: a}\n    capture: [a]\n"),
    ("capture_unknown_field", "5:18", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: a}\n    capture: {n: nope}\n"),
    ("client_after_close", "5:5", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n  - close\n  - client: Ann\n"),
    ("compression_bad", "2:14", "call: HelloWorld/hello\ncompression: zip\nscript:\n  - client: Sam\n"),
    ("concurrent_not_bool", "1:13", "concurrent: sometimes\ncall: HelloWorld/hello\nscript:\n  - client: Sam\n"),
    ("deadline_header_not_bool", "2:18", "call: HelloWorld/hello\ndeadline_header: maybe\nscript:\n  - client: Sam\n"),
    ("deadline_header_too_long", "1:7", "call: HelloWorld/hello\ntimeout: 8000y\ndeadline_header: true\nscript:\n  - client: Sam\n  - server: Hello Sam\n"),
    ("duplicate_call_id", "7:5", "calls:\n  - id: a\n    call: HelloWorld/hello\n    script:\n      - client: Sam\n      - server: Hello Sam\n  - id: a\n    call: HelloWorld/hello\n    script:\n      - client: Sam\n      - server: Hello Sam\n"),
    ("duplicate_key", "2:1", "name: x\nname: y\ncall: HelloWorld/hello\nscript:\n  - client: Sam\n  - server: Hello Sam\n"),
    ("duplicate_step_key", "4:5", "call: HelloWorld/hello\nscript:\n  - client: Sam\n    client: Ann\n  - server: Hello Sam\n"),
    ("enum_unknown", "3:19", "call: tutorial.NumberService/AccumulateNumbers\nscript:\n  - client: {num: x}\n"),
    ("expect_on_status", "4:5", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - status: OK\n    expect: {a: 1}\n"),
    ("float_for_int", "3:24", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1.5}\n"),
    ("headers_bad_name", "4:15", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - headers: {\"Bad Name\": x}\n  - server: Hello Sam\n"),
    ("headers_scalar", "4:14", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - headers: 5\n  - server: Hello Sam\n"),
    ("import_path_missing", "2:16", "proto: ../../work/wt-ci/proto/calculator.proto\nimport_paths: [nowhere]\ncall: calculator.CalculatorService/Maximum\nscript:\n  - client: {number: 1}\n"),
    ("int32_overflow", "3:24", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 99999999999}\n"),
    ("len_huge", "5:27", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: a}\n    expect: {name: {$len: 99999999999}}\n"),
    ("len_negative", "5:27", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: a}\n    expect: {name: {$len: -1}}\n"),
    ("match_mode_bad", "2:8", "call: routeguide.RouteGuide/GetFeature\nmatch: fuzzy\nscript:\n  - client: {latitude: 1}\n"),
    ("message_as_list", "3:13", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: [1, 2]\n"),
    ("metadata_bad_name", "2:12", "call: HelloWorld/hello\nmetadata: {\"a b\": c}\nscript:\n  - client: Sam\n"),
    ("metadata_bin_not_base64", "2:19", "call: HelloWorld/hello\nmetadata: {x-bin: \"%%%\"}\nscript:\n  - client: Sam\n"),
    ("metadata_value_list", "2:17", "call: HelloWorld/hello\nmetadata: {x-a: [1, [2]]}\nscript:\n  - client: Sam\n  - server: Hello Sam\n"),
    ("method_empty", "1:7", "call: \"\"\nscript:\n  - client: Sam\n"),
    ("method_list", "1:7", "call: [a]\nscript:\n  - client: Sam\n"),
    ("method_no_slash", "1:7", "call: HelloWorld.hello\nscript:\n  - client: Sam\n"),
    ("name_list", "1:7", "name: [a]\ncall: HelloWorld/hello\nscript:\n  - client: Sam\n  - server: Hello Sam\n"),
    ("nested_wrong", "4:24", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {location: 5}\n"),
    ("no_call", "1:1", "name: x\nscript:\n  - client: Sam\n"),
    ("no_script", "1:7", "call: HelloWorld/hello\n"),
    ("not_a_mapping", "1:1", "- a\n- b\n"),
    ("proto_missing", "1:8", "proto: nowhere.proto\ncall: HelloWorld/hello\nscript:\n  - client: Sam\n"),
    ("proto_not_string", "1:8", "proto: {a: 1}\ncall: HelloWorld/hello\nscript:\n  - client: Sam\n"),
    ("repeat_huge", "4:13", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n    repeat: 9223372036854775807\n"),
    ("repeat_negative", "4:13", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n    repeat: -3\n"),
    ("repeat_on_close", "5:11", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n  - close\n    repeat: 2\n"),
    ("repeat_text", "4:13", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n    repeat: many\n"),
    ("repeat_zero", "4:13", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n    repeat: 0\n"),
    ("scalar_file", "1:1", "just text\n"),
    ("script_empty", "1:7", "call: HelloWorld/hello\nscript: []\n"),
    ("script_mapping", "2:9", "call: HelloWorld/hello\nscript: {client: Sam}\n"),
    ("script_scalar", "2:9", "call: HelloWorld/hello\nscript: hello\n"),
    ("server_after_status", "4:5", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - status: OK\n  - server: Hi\n"),
    ("sleep_bad", "4:12", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n  - sleep: zzz\n"),
    ("sleep_map", "4:12", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n  - sleep: {a: 1}\n"),
    ("sleep_too_long", "4:12", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n  - sleep: 300000000000y\n"),
    ("status_code_number_out", "4:13", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - status: 17\n"),
    ("status_message_map", "5:14", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - status: NOT_FOUND\n    message: {a: 1}\n"),
    ("status_negative", "4:13", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - status: -1\n"),
    ("status_unknown_code", "4:13", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - status: MAYBE\n"),
    ("step_empty_map", "3:5", "call: HelloWorld/hello\nscript:\n  - {}\n"),
    ("step_no_action", "3:5", "call: HelloWorld/hello\nscript:\n  - within: 1s\n"),
    ("step_scalar", "3:5", "call: HelloWorld/hello\nscript:\n  - hello\n"),
    ("step_two_actions", "3:5", "call: HelloWorld/hello\nscript:\n  - client: Sam\n    server: Hi\n"),
    ("step_unknown_key", "4:5", "call: HelloWorld/hello\nscript:\n  - client: Sam\n    bogus: 1\n"),
    ("string_for_message", "3:13", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: hello\n"),
    ("tab_indent", "3:2", "call: HelloWorld/hello\nscript:\n\t- client: Sam\n"),
    ("tag_double_bang", "3:13", "call: HelloWorld/hello\nscript:\n  - client: !!str Sam\n"),
    ("tag_on_map", "3:13", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: !point {latitude: 1}\n"),
    ("tag_on_timeout", "2:10", "call: HelloWorld/hello\ntimeout: !number 5s\nscript:\n  - client: Sam\n"),
    ("tag_on_value", "3:13", "call: HelloWorld/hello\nscript:\n  - client: !str Sam\n  - server: Hello Sam\n"),
    ("target_map", "1:9", "target: {a: 1}\ncall: HelloWorld/hello\nscript:\n  - client: Sam\n  - server: Hello Sam\n"),
    ("timeout_absurd", "2:10", "call: HelloWorld/hello\ntimeout: 300000000000y\nscript:\n  - client: Sam\n"),
    ("timeout_negative", "2:10", "call: HelloWorld/hello\ntimeout: -5s\nscript:\n  - client: Sam\n"),
    ("timeout_not_duration", "2:10", "call: HelloWorld/hello\ntimeout: soon\nscript:\n  - client: Sam\n"),
    ("timeout_number", "2:10", "call: HelloWorld/hello\ntimeout: 5\nscript:\n  - client: Sam\n"),
    ("timeout_too_long", "2:10", "call: HelloWorld/hello\ntimeout: 100000000h\nscript:\n  - client: Sam\n"),
    ("trailers_scalar", "6:15", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - server: Hello Sam\n  - status: OK\n    trailers: 3\n"),
    ("two_client_unary", "4:5", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - client: Ann\n"),
    ("two_server_unary", "5:5", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - server: A\n  - server: B\n"),
    ("unclosed_flow", "3:13", "call: HelloWorld/hello\nscript:\n  - client: {a: 1\n"),
    ("unclosed_quote", "4:1", "call: HelloWorld/hello\nscript:\n  - client: \"Sam\n"),
    ("unclosed_variable", "3:13", "call: HelloWorld/hello\nscript:\n  - client: ${NOPE\n"),
    ("undefined_variable", "3:13", "call: HelloWorld/hello\nscript:\n  - client: ${NOPE}\n"),
    ("unknown_field", "3:14", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitud: 1}\n"),
    ("unknown_matcher", "5:21", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: a}\n    expect: {name: {$nope: 1}}\n"),
    ("unknown_method", "1:7", "call: HelloWorld/goodbye\nscript:\n  - client: Sam\n"),
    ("unknown_service", "1:7", "call: Nope/hello\nscript:\n  - client: Sam\n"),
    ("unknown_top_key", "2:1", "name: x\ncal: HelloWorld/hello\nscript:\n  - client: Sam\n"),
    ("unordered_empty", "4:5", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n  - unordered: []\n"),
    ("unordered_scalar", "4:16", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n  - unordered: x\n"),
    ("variable_bad_name", "3:13", "call: HelloWorld/hello\nscript:\n  - client: ${a-b}\n"),
    ("vars_nested", "1:7", "vars: {A: {b: 1}}\ncall: HelloWorld/hello\nscript:\n  - client: Sam\n"),
    ("vars_not_map", "1:7", "vars: [a]\ncall: HelloWorld/hello\nscript:\n  - client: Sam\n"),
    ("within_bad", "5:13", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - server: Hello Sam\n    within: later\n"),
    ("within_on_performed_sleep", "5:5", "call: HelloWorld/bidiHello\nscript:\n  - client: Sam\n  - sleep: 1s\n    sleep: 2s\n"),
    ("within_too_long", "5:13", "call: HelloWorld/hello\nscript:\n  - client: Sam\n  - server: Hello Sam\n    within: 300000000000y\n"),
    ("wrong_type_int", "3:24", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: abc}\n"),
    ("zeros_huge", "4:29", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: {$zeros: 1000000000000}}\n"),
    ("zeros_negative", "4:29", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: {$zeros: -1}}\n"),
    ("zeros_over_limit", "4:29", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: {$zeros: 1073741825}}\n"),
    ("zeros_text", "4:29", "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: 1}\n  - server: {name: {$zeros: lots}}\n"),
];

fn grpc_replay(args: &[&str]) -> Command {
    let mut command = process::grpc_replay(args);
    command.args(["--color", "never"]);
    command
}

/// Asserts a refusal: exit 2 within the limit, no jargon, and `located` in the message.
fn assert_refused(name: &str, done: &Finished, located: &str) {
    assert_eq!(done.code, Some(2), "{name}: {}", done.describe());
    let said = format!("{}{}", done.stdout, done.stderr);
    for word in JARGON {
        assert!(!said.contains(word), "{name}: `{word}` in {said}");
    }
    assert!(said.contains(located), "{name}: no `{located}` in {said}");
}

/// `check FILE` for text written to a file of `dir`.
fn check_text(dir: &Path, name: &str, text: &str) -> (PathBuf, Finished) {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, text).expect("a scratch file");
    let path = file.display().to_string();
    let done = Process::run(name, grpc_replay(&["check", &path]), CHECK_LIMIT);
    (file, done)
}

#[test]
fn every_bad_scenario_is_refused_at_its_line() {
    assert!(CASES.len() >= 100, "{} cases", CASES.len());
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, at, text) in CASES {
        let (file, done) = check_text(dir.path(), name, text);
        assert_refused(name, &done, &format!("{}:{at}: ", file.display()));
    }
}

#[test]
fn a_file_nested_beyond_the_readers_limits_is_refused_in_plain_words() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let text = format!(
        "call: HelloWorld/hello\nscript:\n  - client: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let (file, done) = check_text(dir.path(), "deep", &text);
    assert_refused("deep", &done, &format!("{}:3:", file.display()));
}

#[test]
fn the_valid_twin_of_the_catalogue_is_accepted() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let text = "call: routeguide.RouteGuide/GetFeature\ntimeout: 99999999h\nscript:\n  \
        - client: {latitude: 1}\n  - server: {name: {$zeros: 4194304}}\n    \
        within: 99999999h\n";
    let (_, done) = check_text(dir.path(), "good", text);
    assert_eq!(done.code, Some(0), "{}", done.describe());
}

/// A `.proto` that does not compile: the error points into the `.proto` (file, line,
/// column, snippet), and the scenario line that loaded it is named.
#[test]
fn a_broken_proto_is_refused_at_its_line_in_the_proto() {
    let dir = "tests/fixtures/bad_proto";
    let cases = [
        ("uses_broken", "broken.proto:7:3: expected ';'"),
        (
            "uses_undefined",
            "undefined.proto:6:3: name 'Missing' is not defined",
        ),
        // The error is in the file imported, not in the one the scenario names.
        ("uses_imports_broken", "broken.proto:7:3: expected ';'"),
    ];
    for (scenario, located) in cases {
        let file = format!("{dir}/{scenario}.yaml");
        let mut command = grpc_replay(&["check", &file]);
        command.current_dir(env!("CARGO_MANIFEST_DIR"));
        let done = Process::run(scenario, command, CHECK_LIMIT);
        assert_refused(scenario, &done, &format!("{dir}/{located}"));
        assert_refused(scenario, &done, &format!("loaded by {file}:2:8 (`proto:`)"));
    }
}

#[test]
fn wrong_twin_the_same_proto_with_its_semicolon_loads() {
    let mut command = grpc_replay(&["check", "tests/fixtures/bad_proto/uses_good.yaml"]);
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    let done = Process::run("uses_good", command, CHECK_LIMIT);
    assert_eq!(done.code, Some(0), "{}", done.describe());
}

/// Bad flags: each refused with exit 2, naming the flag or the value.
#[test]
// A table of cases, one per flag: long, and read top to bottom.
#[allow(clippy::too_many_lines)]
fn bad_flags_are_refused_before_anything_runs() {
    let file = "tests/fixtures/ci/mixed/good.yaml";
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", file, "--loopback", "--timeout", "300000000000y"],
            "--timeout",
        ),
        (
            &["run", file, "--loopback", "--timeout", "soon"],
            "--timeout",
        ),
        (
            &["run", file, "--loopback", "--http2-stream-window", "0"],
            "--http2-stream-window",
        ),
        (
            &[
                "run",
                file,
                "--loopback",
                "--http2-connection-window",
                "4294967295",
            ],
            "2147483647",
        ),
        (&["serve", file, "--http2-stream-window", "-1"], "'-1'"),
        (&["bench", file, "--loopback", "-d", "0s"], "more than 0s"),
        (
            &["serve", file, "--handshake-timeout", "0s"],
            "a connection timeout is more than 0s",
        ),
        (&["serve", file, "--idle-timeout", "soon"], "--idle-timeout"),
        (&["bench", file, "--loopback", "-n", "0"], "--iterations"),
        (&["bench", file, "--loopback", "--rate", "0"], "--rate"),
        (&["run", file, "--loopback", "--jobs", "0"], "--jobs"),
        (
            &["run", file, "--loopback", "--wait-for-target", "forever"],
            "--wait-for-target",
        ),
        (&["check", file, "-I", "no/such/dir"], "is not a directory"),
        (
            &["run", file, "--loopback", "--report", "xml=r.xml"],
            "not a report format",
        ),
        (
            &["run", file, "--loopback", "--report", "junit="],
            "has no PATH",
        ),
        (
            &["run", file, "--loopback", "--var", "a-b=1"],
            "not a variable name",
        ),
        (
            &[
                "serve",
                file,
                "--listen",
                "no-such-host.invalid:1",
                "--once",
            ],
            "cannot listen",
        ),
        (
            &[
                "run",
                file,
                "--target",
                "127.0.0.1:1",
                "--cacert",
                "/nonexistent.pem",
            ],
            "/nonexistent.pem",
        ),
        (&["run", file, "--color", "purple"], "--color"),
        (
            &[
                "run",
                file,
                "-t",
                "127.0.0.1:1",
                "--cacert",
                "tests/fixtures/ci/empty.pem",
            ],
            "--cacert tests/fixtures/ci/empty.pem: the file is empty",
        ),
        (
            &[
                "run",
                file,
                "-t",
                "127.0.0.1:1",
                "--cacert",
                "tests/fixtures/ci/not_pem.pem",
            ],
            "--cacert tests/fixtures/ci/not_pem.pem: the file holds no PEM CERTIFICATE",
        ),
        (
            &[
                "serve",
                file,
                "--tls-cert",
                "tests/fixtures/ci/not_pem.pem",
                "--tls-key",
                "tests/fixtures/ci/empty.pem",
            ],
            "--tls-cert tests/fixtures/ci/not_pem.pem",
        ),
    ];
    for (args, said) in cases {
        let name = args.join(" ");
        let mut command = grpc_replay(args);
        command.current_dir(env!("CARGO_MANIFEST_DIR"));
        let done = Process::run(&name, command, CHECK_LIMIT);
        assert_refused(&name, &done, said);
    }
}

/// A small deterministic generator (xorshift64*), so that a failing mutant can be made again.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens a mutation inserts: YAML syntax, tags, anchors, variables, huge and negative
/// numbers and durations, generators and matchers.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ": ",
    "- ",
    "#",
    "'",
    "\"",
    "\t",
    "\n",
    "!",
    "!!str ",
    "!x ",
    "&a ",
    "*a",
    "${X}",
    "$${",
    "null",
    "~",
    "-1",
    "0",
    "99999999999999999999",
    "1e400",
    "300000000000y",
    "100000000h",
    "{$zeros: 1000000000000}",
    "{$len: -1}",
    "{$any: true}",
    "\u{0}",
    "é",
    "\u{feff}",
    "status: ",
    "close",
    "cancel",
    "repeat: 1000000000000",
    "within: 1ns",
    "sleep: 1ms",
    "after: 1ms",
    "timeout: 1ms",
    "unordered: ",
    "client: ",
    "server: ",
];

/// One random change to `text`.
fn mutate(text: &str, random: &mut Random) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = random.below(chars.len());
    let mut out: String = chars[..at].iter().collect();
    let rest: String = chars[at..].iter().collect();
    match random.below(5) {
        0 => out.push_str(TOKENS[random.below(TOKENS.len())]),
        1 => {
            let skip = random.below(12) + 1;
            out.extend(rest.chars().skip(skip));
            return out;
        }
        2 => {
            let line: String = rest.lines().next().unwrap_or_default().to_string();
            out.push_str(&line);
            out.push('\n');
        }
        3 => out.push(char::from(b"0123456789-:. xyz"[random.below(17)])),
        _ => return out,
    }
    out.push_str(&rest);
    out
}

/// The bundled scenarios that load with the bundled protos.
fn seeds() -> Vec<(PathBuf, String)> {
    let mut seeds = Vec::new();
    for dir in [
        "calculator",
        "chat",
        "greet",
        "helloworld",
        "routeguide",
        "tutorial",
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(dir);
        for entry in std::fs::read_dir(&dir)
            .expect("a scenario folder")
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                seeds.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    seeds.sort();
    seeds
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutated_scenarios_never_panic_hang_or_abort() {
    let cases = setting("GRPC_REPLAY_FUZZ_CASES", 300);
    let seed = setting("GRPC_REPLAY_FUZZ_SEED", 0x5eed_cafe);
    eprintln!("fuzz: {cases} mutants, GRPC_REPLAY_FUZZ_SEED={seed}");
    let seeds = seeds();
    let mut random = Random(seed | 1);
    let accepted_dir = tempfile::tempdir().expect("a temporary folder");
    let options = LoadOptions {
        roles: vec![Role::Client, Role::Server],
        ..LoadOptions::default()
    };
    let mut pools = PoolCache::default();
    let mut accepted = 0;
    for n in 0..cases {
        let (path, text) = &seeds[random.below(seeds.len())];
        let mut mutant = text.clone();
        for _ in 0..=random.below(3) {
            mutant = mutate(&mutant, &mut random);
        }
        let started = Instant::now();
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            load_str(path, &mutant, &options, &mut pools)
        }));
        let took = started.elapsed();
        let Ok(loaded) = loaded else {
            panic!(
                "mutant {n} of {} panicked the loader:\n{mutant}",
                path.display()
            );
        };
        assert!(
            took < Duration::from_secs(5),
            "mutant {n} took {took:?}:\n{mutant}"
        );
        if loaded.is_ok() {
            accepted += 1;
            let file = accepted_dir.path().join(format!("mutant-{n}.yaml"));
            std::fs::write(file, &mutant).unwrap();
        }
    }
    eprintln!("fuzz: {accepted} of {cases} mutants load; playing them");
    if accepted == 0 {
        return;
    }
    let dir = accepted_dir.path().display().to_string();
    let args = [
        "run",
        "--loopback",
        &dir,
        "--timeout",
        "2s",
        "--jobs",
        "4",
        "-q",
    ];
    let done = Process::run("run", grpc_replay(&args), Duration::from_secs(240));
    assert!(
        matches!(done.code, Some(0..=3)),
        "not a documented exit code: {}",
        done.describe()
    );
    assert!(!done.stderr.contains("panicked"), "{}", done.describe());
}
