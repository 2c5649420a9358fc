//! Golden files: the whole terminal output of failing runs, pinned in `tests/golden/`, so
//! that a change to what a person reads is a reviewed change. Timings and ports are
//! normalised. `GOLDEN_BLESS=1 cargo test --test golden` rewrites the files.
//!
//! Every failure kind a user meets has a case: a message that differs, the n-th of a
//! `repeat:`, too few messages for a range, an unordered group, headers and trailers, a
//! status, a message's compressed flag, nothing within `within:`, nothing before the
//! deadline, a reply instead of the status and the reverse, a step that
//! cannot be built from captures, a long message cut short (and in full with `-v`), an
//! unreachable target (explained once for its two calls), a GOAWAY for a header block too
//! large, and a TLS client that meets a plaintext server.

mod support;

use std::path::PathBuf;

use regex::Regex;
use support::{closed_port, grpc_replay, shared_reference_server, CliRun};

/// The output, with what changes from run to run replaced by placeholders.
fn normalised(run: &CliRun) -> String {
    let rules = [
        // Step times `+12.3ms`, `+1.50s`.
        (r"\+\d+(\.\d+)?(ms|s)\b", "+T"),
        // `(waited 1.2ms)`, `(waited 1.2ms of 200ms)`.
        (r"waited \d+(\.\d+)?(ms|s)", "waited T"),
        // Call durations: `as client, 12ms)`.
        (r", \d+(\.\d+)?(ms|s)\)", ", T)"),
        // The run's duration, ending the summary line: `(1.20s)`.
        (r"(?m)^(\d+ files?, .*)\(\d+(\.\d+)?(ms|s)\)$", "${1}(T)"),
        // The `date` response header.
        (r"date: \w+, \d+ \w+ \d+ [\d:]+ GMT", "date: DATE"),
        // Ports.
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
    ];
    let mut text = format!("exit code: {:?}\n--- stdout ---\n{}", run.code, run.stdout);
    if !run.stderr.is_empty() {
        text.push_str(&format!("--- stderr ---\n{}", run.stderr));
    }
    for (pattern, replacement) in rules {
        let regex = Regex::new(pattern).expect("a valid pattern");
        text = regex.replace_all(&text, replacement).into_owned();
    }
    // Step lines are padded to align; a placeholder of another width shifts them.
    Regex::new(r" +\+T ")
        .expect("a valid pattern")
        .replace_all(&text, " +T ")
        .into_owned()
}

/// Compares the normalised output of `run` with `tests/golden/NAME.txt` (or writes it
/// when `GOLDEN_BLESS` is set).
fn assert_golden(name: &str, run: &CliRun) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.txt"));
    let actual = normalised(run);
    if std::env::var_os("GOLDEN_BLESS").is_some() {
        std::fs::write(&path, &actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (GOLDEN_BLESS=1 writes it)", path.display()));
    assert!(
        actual == expected,
        "the output differs from {} (GOLDEN_BLESS=1 rewrites it)\n--- expected ---\n{expected}\n--- actual ---\n{actual}",
        path.display()
    );
}

/// Runs `fixture` against the reference server.
fn against_reference(fixture: &str, extra: &[&str]) -> CliRun {
    let target = shared_reference_server().target();
    let mut args = vec!["run", fixture, "--target", &target, "--color", "never"];
    args.extend_from_slice(extra);
    grpc_replay(&args)
}

#[test]
fn golden_message_mismatch() {
    let run = against_reference("tests/fixtures/client/record_route_wrong.yaml", &[]);
    assert_golden("message_mismatch", &run);
}

#[test]
fn golden_nth_message_of_a_repeat() {
    let run = against_reference("tests/fixtures/client/accumulate_wrong.yaml", &[]);
    assert_golden("nth_message_of_a_repeat", &run);
}

#[test]
fn golden_too_few_messages_of_a_range() {
    let run = against_reference("tests/fixtures/golden/too_few.yaml", &[]);
    assert_golden("too_few_messages_of_a_range", &run);
}

#[test]
fn golden_unordered_group_matches_none() {
    let run = against_reference("tests/fixtures/client/bidi_hello_wrong.yaml", &[]);
    assert_golden("unordered_group_matches_none", &run);
}

#[test]
fn golden_headers_and_trailers_differ() {
    let run = against_reference("tests/fixtures/client/echo_metadata_wrong.yaml", &[]);
    assert_golden("headers_and_trailers_differ", &run);
}

#[test]
fn golden_status_differs() {
    let run = against_reference("tests/fixtures/client/unlucky_wrong.yaml", &[]);
    assert_golden("status_differs", &run);
}

#[test]
fn golden_nothing_within() {
    let run = against_reference("tests/fixtures/client/within_too_short.yaml", &[]);
    assert_golden("nothing_within", &run);
}

#[test]
fn golden_nothing_before_the_deadline() {
    let run = against_reference("tests/fixtures/client/deadline_mid_stream.yaml", &[]);
    assert_golden("nothing_before_the_deadline", &run);
}

#[test]
fn golden_status_instead_of_a_message() {
    let run = against_reference("tests/fixtures/golden/status_instead_of_message.yaml", &[]);
    assert_golden("status_instead_of_a_message", &run);
}

#[test]
fn golden_message_instead_of_the_status() {
    let run = against_reference("tests/fixtures/golden/message_instead_of_status.yaml", &[]);
    assert_golden("message_instead_of_the_status", &run);
}

#[test]
fn golden_compressed_flag_differs() {
    let run = against_reference("tests/fixtures/golden/compressed_flag.yaml", &[]);
    assert_golden("compressed_flag_differs", &run);
}

#[test]
fn golden_unbuildable_from_captures() {
    let run = against_reference("tests/fixtures/golden/unbuildable.yaml", &[]);
    assert_golden("unbuildable_from_captures", &run);
}

#[test]
fn golden_long_message_cut_short_and_in_full_with_v() {
    let fixture = "tests/fixtures/golden/long_message.yaml";
    assert_golden("long_message", &against_reference(fixture, &[]));
    assert_golden("long_message_verbose", &against_reference(fixture, &["-v"]));
}

#[test]
fn golden_unreachable_target_explained_once() {
    let target = format!("127.0.0.1:{}", closed_port());
    let run = grpc_replay(&[
        "run",
        "tests/fixtures/client/get_feature.yaml",
        "--target",
        &target,
        "--color",
        "never",
    ]);
    assert_golden("unreachable_target", &run);
}

#[test]
fn golden_goaway_for_a_header_block_too_large() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let vars = dir.path().join("vars.yaml");
    std::fs::write(&vars, format!("BIG: {}\n", "x".repeat(200_000))).expect("write vars");
    let run = grpc_replay(&[
        "run",
        "tests/fixtures/golden/big_header.yaml",
        "--loopback",
        "--vars-file",
        vars.to_str().expect("a UTF-8 path"),
        "--color",
        "never",
    ]);
    assert_golden("goaway_header_too_large", &run);
}

#[test]
fn golden_tls_client_meets_a_plaintext_server() {
    let run = against_reference("tests/fixtures/client/hello.yaml", &["--tls"]);
    assert_golden("tls_to_plaintext", &run);
}
