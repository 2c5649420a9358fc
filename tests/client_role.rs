//! The client role (`grpc-replay run`) against typed tonic reference servers over TCP.
//!
//! Every fixture in `tests/fixtures/client/` that must pass has a `*_wrong.yaml` twin that
//! must fail; the twin's test checks the exit code, the `file:line:column` of the failing
//! step and the field differences the report prints.

mod support;

use std::time::Duration;

use support::{closed_port, grpc_replay, shared_reference_server, CliRun, ReferenceServer};

const FIXTURES: &str = "tests/fixtures/client";

/// Replays a fixture as the client against the shared reference server.
fn replay(fixture: &str, extra: &[&str]) -> CliRun {
    let path = format!("{FIXTURES}/{fixture}");
    let target = shared_reference_server().target();
    let mut args = vec!["run", &path, "--target", &target, "--color", "never"];
    args.extend_from_slice(extra);
    grpc_replay(&args)
}

/// Asserts that every one of the fixture's `calls` passes.
fn assert_passes(fixture: &str, extra: &[&str], calls: usize) -> CliRun {
    let run = replay(fixture, extra);
    let noun = if calls == 1 { "call" } else { "calls" };
    run.assert_exit(0)
        .assert_stdout_contains(&format!("1 file, {calls} {noun}: {calls} passed ("))
        .assert_stdout_lacks("✗");
    run
}

/// A failing step as the report must show it.
struct Failing<'a> {
    /// `LINE:COLUMN` of the step in the fixture.
    at: &'a str,
    /// The step's keyword.
    keyword: &'a str,
    /// A part of the one-line summary.
    summary: &'a str,
    /// Lines that show the messages: `expected: …`, `received: …` (each at most once).
    shown: &'a [&'a str],
    /// The field differences, each `path: expected X, received Y`.
    diffs: &'a [&'a str],
}

/// Asserts that the fixture exits 1, that `passed` of its calls pass, and that each of
/// `failures` is reported with its location, summary and differences.
fn assert_fails(fixture: &str, extra: &[&str], passed: usize, failures: &[Failing]) -> CliRun {
    let run = replay(fixture, extra);
    run.assert_exit(1)
        .assert_stdout_contains(&format!(": {passed} passed, {} failed (", failures.len()));
    for failure in failures {
        run.assert_stdout_contains(&format!(
            "{FIXTURES}/{fixture}:{}: step `{}`: ",
            failure.at, failure.keyword
        ))
        .assert_stdout_contains(failure.summary);
        for diff in failure.diffs {
            run.assert_stdout_contains(&format!("\n        {diff}\n"));
        }
        for line in failure.shown {
            run.assert_stdout_contains(&format!("\n        {line}"));
        }
    }
    run
}

// ---- unary ----------------------------------------------------------------------------

#[test]
fn unary_get_feature_finds_named_and_unnamed_features() {
    assert_passes("get_feature.yaml", &[], 2);
    assert_fails(
        "get_feature_wrong.yaml",
        &[],
        0,
        &[
            Failing {
                at: "8:9",
                keyword: "server",
                summary: "message differs from the script",
                shown: &[r#"expected: {"name":"Patriots Path","#],
                diffs: &[
                    r#"name: expected "Patriots Path", received "Patriots Path, Mendham, NJ 07945, USA""#,
                ],
            },
            Failing {
                at: "15:9",
                keyword: "server",
                summary: "message differs from the script",
                shown: &[r#"received: {"location":{"latitude":1,"longitude":2}}"#],
                diffs: &["location.latitude: expected 3, received 1"],
            },
        ],
    );
}

#[test]
fn unary_hello_takes_string_values_as_plain_values() {
    assert_passes("hello.yaml", &[], 1);
    assert_fails(
        "hello_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "5:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: "Hi Ann""#, r#"received: "Hello Ann""#],
            diffs: &[r#"value: expected "Hi Ann", received "Hello Ann""#],
        }],
    );
}

// ---- server streaming -----------------------------------------------------------------

#[test]
fn server_streaming_list_features_in_database_order() {
    assert_passes("list_features.yaml", &[], 1);
    assert_fails(
        "list_features_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "7:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"received: {"name":"Patriots Path, Mendham, NJ 07945, USA","#],
            diffs: &[
                r#"name: expected "101 New Jersey 10, Whippany, NJ 07981, USA", received "Patriots Path, Mendham, NJ 07945, USA""#,
                "location.latitude: expected 408122808, received 407838351",
                "location.longitude: expected -743999179, received -746143763",
            ],
        }],
    );
}

#[test]
fn server_streaming_lots_of_replies_in_order() {
    assert_passes("lots_of_replies.yaml", &[], 1);
    assert_fails(
        "lots_of_replies_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "6:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: "Hello Bo""#, r#"received: "Hey Bo""#],
            diffs: &[r#"value: expected "Hello Bo", received "Hey Bo""#],
        }],
    );
}

// ---- client streaming -----------------------------------------------------------------

#[test]
fn client_streaming_record_route_summarises_the_route() {
    assert_passes("record_route.yaml", &[], 1);
    assert_fails(
        "record_route_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "9:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"received: {"point_count":4,"feature_count":3,"distance":244354}"#],
            diffs: &["distance: expected 244355, received 244354"],
        }],
    );
}

#[test]
fn client_streaming_lots_of_greetings_joins_the_names() {
    assert_passes("lots_of_greetings.yaml", &[], 1);
    assert_fails(
        "lots_of_greetings_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "8:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[
                r#"expected: "Hello Ann, Bob""#,
                r#"received: "Hello Ann, Bob, Cy""#,
            ],
            diffs: &[r#"value: expected "Hello Ann, Bob", received "Hello Ann, Bob, Cy""#],
        }],
    );
}

// ---- bidirectional streaming ------------------------------------------------------------

#[test]
fn bidi_maximum_with_after_within_close_and_status() {
    let run = assert_passes("maximum.yaml", &["-v"], 1);
    run.assert_stdout_contains("✓ server     {\"result\":\"6\"} line 13")
        .assert_stdout_contains("→ close      half-close line 15")
        .assert_stdout_contains("✓ status     OK line 16");
    assert!(
        run.elapsed >= Duration::from_millis(50),
        "`after: 50ms` did not delay the call: {run:?}"
    );
    assert_fails(
        "maximum_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "13:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: {"result":"7"}"#, r#"received: {"result":"6"}"#],
            diffs: &["result: expected 7, received 6"],
        }],
    );
}

#[test]
fn bidi_greet_everyone_with_variables_from_the_file_and_the_command_line() {
    assert_passes("greet_everyone.yaml", &["-v"], 1)
        .assert_stdout_contains(r#"{"greeting":{"first_name":"Ann","last_name":"Lee"}}"#);
    assert_passes("greet_everyone.yaml", &["-v", "--var", "FIRST=Zed"], 1)
        .assert_stdout_contains(r#"{"greeting":{"first_name":"Zed","last_name":"Lee"}}"#)
        .assert_stdout_contains(r#"✓ server     {"result":"Hello Zed!"}"#);
    // The twin expects the `vars:` value: it passes alone, and --var makes it fail.
    assert_passes("greet_everyone_wrong.yaml", &[], 1);
    assert_fails(
        "greet_everyone_wrong.yaml",
        &["--var", "FIRST=Zed"],
        0,
        &[Failing {
            at: "8:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[
                r#"expected: {"result":"Hello Ann!"}"#,
                r#"received: {"result":"Hello Zed!"}"#,
            ],
            diffs: &[r#"result: expected "Hello Ann!", received "Hello Zed!""#],
        }],
    );
}

#[test]
fn bidi_accumulate_numbers_with_repeat() {
    assert_passes("accumulate.yaml", &[], 1);
    assert_fails(
        "accumulate_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "7:5",
            keyword: "server",
            summary: "message differs from the script (message 3 of 3)",
            shown: &[r#"expected: {}"#, r#"received: {"sum":5}"#],
            diffs: &["sum: expected 0, received 5"],
        }],
    );
}

#[test]
fn expect_is_what_the_client_role_checks() {
    assert_passes("expect.yaml", &[], 1);
    assert_fails(
        "expect_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "8:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: {"sum":9}"#, r#"received: {"sum":8}"#],
            diffs: &["sum: expected 9, received 8"],
        }],
    );
}

#[test]
fn bidi_chat_answers_with_a_string_value_written_plain() {
    assert_passes("chat.yaml", &[], 1);
    assert_fails(
        "chat_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "5:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: "Sam: Hello""#, r#"received: "Sam: Hi""#],
            diffs: &[r#"value: expected "Sam: Hello", received "Sam: Hi""#],
        }],
    );
}

#[test]
fn bidi_route_chat_sends_every_note_at_the_location() {
    assert_passes("route_chat.yaml", &[], 1);
    assert_fails(
        "route_chat_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "9:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"received: {"location":{"latitude":1,"longitude":1},"message":"first"}"#],
            diffs: &[r#"message: expected "third", received "first""#],
        }],
    );
}

#[test]
fn bidi_hello_in_an_unordered_group() {
    assert_passes("bidi_hello.yaml", &[], 1);
    assert_fails(
        "bidi_hello_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "6:5",
            keyword: "unordered",
            summary: "matches none of the messages still expected in the group",
            shown: &[r#"received: "Hello Ann""#],
            diffs: &[r#"value: expected "Hello Bob", received "Hello Ann""#],
        }],
    );
}

// ---- headers, status, cancel, sleep, within -------------------------------------------

#[test]
fn headers_and_trailers_are_checked_on_streaming_and_unary_calls() {
    assert_passes("echo_metadata.yaml", &[], 2);
    assert_fails(
        "echo_metadata_wrong.yaml",
        &[],
        0,
        &[
            Failing {
                at: "8:9",
                keyword: "headers",
                summary: "the response headers differ",
                shown: &[],
                diffs: &[r#"x-echoed: expected "no", received "yes""#],
            },
            Failing {
                at: "22:9",
                keyword: "status",
                summary: "the call ended with OK as expected, but its trailers differ",
                shown: &[],
                diffs: &[r#"trailers.x-trailer: expected "later", received "done""#],
            },
        ],
    );
}

#[test]
fn status_code_and_message_end_the_call() {
    assert_passes("unlucky.yaml", &[], 2);
    assert_fails(
        "unlucky_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "7:5",
            keyword: "status",
            summary:
                "expected status NOT_FOUND, the call ended with INVALID_ARGUMENT: unlucky number",
            shown: &[],
            diffs: &[
                "code: expected NOT_FOUND, received INVALID_ARGUMENT",
                r#"message: expected "lucky number", received "unlucky number""#,
            ],
        }],
    );
}

#[test]
fn cancel_ends_the_call_from_the_client() {
    assert_passes("cancel.yaml", &["-v"], 1)
        .assert_stdout_contains("→ cancel     the client cancels line 6");
    assert_fails(
        "cancel_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "5:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: {"result":"5"}"#, r#"received: {"result":"4"}"#],
            diffs: &["result: expected 5, received 4"],
        }],
    );
}

#[test]
fn sleep_pauses_while_answers_are_buffered() {
    let pause = Duration::from_millis(300);
    let run = assert_passes("sleep.yaml", &[], 1);
    assert!(
        run.elapsed >= pause,
        "`sleep: 300ms` did not pause: {run:?}"
    );
    let run = assert_fails(
        "sleep_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "6:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: "Hello Bob""#, r#"received: "Hello Ann""#],
            diffs: &[r#"value: expected "Hello Bob", received "Hello Ann""#],
        }],
    );
    assert!(
        run.elapsed >= pause,
        "`sleep: 300ms` did not pause: {run:?}"
    );
}

#[test]
fn within_too_short_fails_long_before_the_call_deadline() {
    // The call's timeout is 30s; the step allows 200ms for an answer that never comes.
    replay("within_too_short.yaml", &[])
        .assert_exit(1)
        .assert_stdout_contains(&format!(
            "{FIXTURES}/within_too_short.yaml:8:5: step `server`: \
             expected the server's message within 200ms, nothing came\n        \
             expected: {{\"result\":\"3\"}}\n"
        ))
        .assert_faster_than(Duration::from_secs(5));
}

#[test]
fn call_deadline_without_an_answer_is_a_timeout_not_a_transport_failure() {
    // Whether or not the server has sent its response headers when the call's deadline
    // (1s) passes, nothing came in time: an expectation failure (exit 1), not a broken
    // connection (exit 3).
    for (fixture, at, wanted) in [
        ("deadline_mid_stream.yaml", "8:5", r#"{"result":"3"}"#),
        ("deadline_before_headers.yaml", "8:5", r#""Hello Ann""#),
    ] {
        replay(fixture, &[])
            .assert_exit(1)
            .assert_stdout_contains(&format!(
                "{FIXTURES}/{fixture}:{at}: step `server`: expected the server's message, \
                 nothing came before the call's deadline (1s)\n        expected: {wanted}\n"
            ))
            .assert_faster_than(Duration::from_secs(10));
    }
}

// ---- matching -----------------------------------------------------------------------------

#[test]
fn match_partial_compares_only_the_fields_written() {
    assert_passes("partial.yaml", &[], 2);
    assert_fails(
        "partial_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "5:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: {"name":"101 New Jersey 10, Whippany, NJ 07981, USA"}"#],
            diffs: &[
                "location.latitude: expected 0, received 408122808",
                "location.longitude: expected 0, received -743999179",
            ],
        }],
    );
}

#[test]
fn match_partial_reaches_into_nested_messages() {
    assert_passes("partial_nested.yaml", &[], 1);
    assert_fails(
        "partial_nested_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "6:5",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: {"location":{"latitude":1}}"#],
            diffs: &["location.latitude: expected 1, received 408122808"],
        }],
    )
    .assert_stdout_lacks("location.longitude");
}

#[test]
fn every_matcher_passes_and_fails() {
    assert_passes("matchers.yaml", &[], 3);
    let shohola = r#""U.S. 6, Shohola, PA 18458, USA""#;
    let name_diff = |expected: &str| format!("name: expected {expected}, received {shohola}");
    let diffs = [
        ("8:9", name_diff("matching /^Patriots/")),
        ("14:9", name_diff(r#"containing "Mendham""#)),
        (
            "20:9",
            r#"location.latitude: expected equal to "1", received 413628156"#.to_string(),
        ),
        ("26:9", name_diff(&format!("not {shohola}"))),
        (
            "32:9",
            "location.latitude: expected > 413628156, received 413628156".to_string(),
        ),
        (
            "38:9",
            "location.latitude: expected >= 413628157, received 413628156".to_string(),
        ),
        (
            "44:9",
            "location.longitude: expected < -749015468, received -749015468".to_string(),
        ),
        (
            "50:9",
            "location.longitude: expected <= -749015469, received -749015468".to_string(),
        ),
        (
            "56:9",
            "location.latitude: expected between 1 and 2, received 413628156".to_string(),
        ),
        ("62:9", name_diff("length 29, length is 30")),
        (
            "67:9",
            r#"(message): expected matching /^Ann: /, received "Sam: Hi""#.to_string(),
        ),
    ];
    let one_diff_each: Vec<[&str; 1]> = diffs.iter().map(|(_, diff)| [diff.as_str()]).collect();
    let failures: Vec<Failing> = diffs
        .iter()
        .zip(&one_diff_each)
        .map(|((at, _), diff)| Failing {
            at,
            keyword: "server",
            summary: "message differs from the script",
            shown: &["expected: {"],
            diffs: diff,
        })
        .collect();
    assert_fails("matchers_wrong.yaml", &[], 0, &failures);
}

// ---- several calls ------------------------------------------------------------------------

#[test]
fn concurrent_calls_run_at_the_same_time() {
    // Three calls that each pause 1s: one after another they would take 3s.
    let concurrently = Duration::from_millis(2500);
    assert_passes("concurrent.yaml", &[], 3).assert_faster_than(concurrently);
    assert_fails(
        "concurrent_wrong.yaml",
        &[],
        2,
        &[Failing {
            at: "15:9",
            keyword: "server",
            summary: "message differs from the script",
            shown: &[r#"expected: "Ann: Hi""#, r#"received: "Ann: Yo""#],
            diffs: &[r#"value: expected "Ann: Hi", received "Ann: Yo""#],
        }],
    )
    .assert_stdout_contains(&format!("✗ {FIXTURES}/concurrent_wrong.yaml [ann]"))
    .assert_stdout_contains(&format!("✓ {FIXTURES}/concurrent_wrong.yaml [sam]"))
    .assert_stdout_contains(&format!("✓ {FIXTURES}/concurrent_wrong.yaml [sum]"))
    .assert_faster_than(concurrently);
}

#[test]
fn pipelined_stream_of_200000_messages_does_not_deadlock() {
    let reasonable = Duration::from_secs(20);
    assert_passes("big_stream.yaml", &[], 1).assert_faster_than(reasonable);
    assert_fails(
        "big_stream_wrong.yaml",
        &[],
        0,
        &[Failing {
            at: "8:5",
            keyword: "server",
            summary: "message differs from the script (message 200000 of 200000)",
            shown: &[r#"expected: {}"#, r#"received: {"sum":1}"#],
            diffs: &["sum: expected 0, received 1"],
        }],
    )
    .assert_faster_than(reasonable);
}

// ---- transport ----------------------------------------------------------------------------

#[test]
fn unreachable_target_exits_3() {
    let target = format!("127.0.0.1:{}", closed_port());
    grpc_replay(&[
        "run",
        &format!("{FIXTURES}/maximum.yaml"),
        "--target",
        &target,
        "--color",
        "never",
    ])
    .assert_exit(3)
    .assert_stdout_contains(&format!(
        "{FIXTURES}/maximum.yaml:3:7: step `call`: cannot connect to {target}"
    ))
    .assert_stdout_contains("transport failure")
    .assert_faster_than(Duration::from_secs(10));
}

#[test]
fn dropping_a_reference_server_stops_it() {
    let server = ReferenceServer::start();
    let target = server.target();
    let hello = format!("{FIXTURES}/hello.yaml");
    let args = ["run", &hello, "--target", &target, "--color", "never"];
    grpc_replay(&args).assert_exit(0);
    drop(server);
    grpc_replay(&args)
        .assert_exit(3)
        .assert_stdout_contains(&format!("cannot connect to {target}"));
}
