//! `capture:` — values taken from received messages, headers, trailers and statuses, used
//! as `${NAME}` in later steps and calls of the same file. Played with `run --loopback`, so
//! both roles run over real TCP: the client checks what the server role sends, and the
//! server role checks the metadata and messages built from the captured values.

mod process;

use std::path::Path;
use std::time::Duration;

use process::Finished;

const FIXTURES: &str = "tests/fixtures/captures";

/// Runs grpc-replay to its end, bounded.
fn grpc_replay(args: &[&str]) -> Finished {
    process::run_grpc_replay(args, Duration::from_secs(60))
}

fn fixture(name: &str) -> String {
    Path::new(FIXTURES).join(name).display().to_string()
}

fn text(output: &Finished) -> String {
    output.describe()
}

#[test]
fn message_fields_feed_later_calls_in_both_roles() {
    let out = grpc_replay(&[
        "run",
        "--loopback",
        &fixture("across_calls.yaml"),
        "--color",
        "never",
    ]);
    assert_eq!(out.code, Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("1 file, 2 calls: 2 passed"),
        "{}",
        text(&out)
    );
}

#[test]
fn headers_trailers_and_status_messages_can_be_captured() {
    let out = grpc_replay(&[
        "run",
        "--loopback",
        &fixture("metadata_and_status.yaml"),
        "--color",
        "never",
        "-v",
    ]);
    let all = text(&out);
    assert_eq!(out.code, Some(0), "{all}");
    assert!(all.contains("PERMISSION_DENIED: no entry today"), "{all}");
    assert!(all.contains(r#""Hello no entry today""#), "{all}");
}

#[test]
fn a_captured_value_that_differs_fails_with_the_diff() {
    let out = grpc_replay(&[
        "run",
        "--loopback",
        &fixture("wrong_value.yaml"),
        "--color",
        "never",
    ]);
    let all = text(&out);
    assert_eq!(out.code, Some(1), "{all}");
    assert!(
        all.contains("wrong_value.yaml:14:9: step `server`"),
        "{all}"
    );
    assert!(all.contains("sum: expected 71, received 7"), "{all}");
}

#[test]
fn capture_mistakes_are_located_load_errors() {
    for (name, at, gist) in [
        ("bad_path.yaml", "5:21", "has no field `altitude`"),
        ("on_close.yaml", "6:18", "`capture:` goes with a message"),
        (
            "in_status_message.yaml",
            "7:14",
            "captured variables can be used in messages and request `metadata:`, not in `message:`",
        ),
        (
            "used_too_early.yaml",
            "4:25",
            "is used before the step that captures it (line 10)",
        ),
    ] {
        let out = grpc_replay(&["check", &fixture(name)]);
        let all = text(&out);
        assert_eq!(out.code, Some(2), "{name}: {all}");
        assert!(
            all.contains(&format!("{name}:{at}")),
            "{name} at {at}: {all}"
        );
        assert!(all.contains(gist), "{name}: {all}");
        assert!(!all.contains("panicked"), "{all}");
    }
}
