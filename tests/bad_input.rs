//! Invalid scenarios: every command that loads one exits 2 before any network traffic,
//! naming the file and the exact `LINE:COLUMN`, and saying what is wrong; none panics.
//!
//! Each case is a file in `tests/fixtures/bad/` (a few are written to a temporary
//! directory instead).

mod support;

use support::{closed_port, grpc_replay, CliRun};

const FIXTURES: &str = "tests/fixtures/bad";

/// The command a bad file is given to.
#[derive(Clone, Copy)]
enum Command {
    /// `grpc-replay check FILE`.
    Check,
    /// `grpc-replay check --role ROLE FILE`.
    CheckAs(&'static str),
    /// `grpc-replay run FILE --target` a closed port: loading must fail before connecting.
    Run,
    /// `grpc-replay serve FILE --listen 127.0.0.1:0 --once`: loading must fail before
    /// listening.
    Serve,
}

impl Command {
    fn run(self, path: &str) -> CliRun {
        match self {
            Command::Check => grpc_replay(&["check", path]),
            Command::CheckAs(role) => grpc_replay(&["check", "--role", role, path]),
            Command::Run => {
                let target = format!("127.0.0.1:{}", closed_port());
                grpc_replay(&["run", path, "--target", &target, "--color", "never"])
            }
            Command::Serve => grpc_replay(&[
                "serve",
                path,
                "--listen",
                "127.0.0.1:0",
                "--once",
                "--color",
                "never",
            ]),
        }
    }
}

/// Asserts that `command` rejects `path` with exit 2, an error at `path:AT` (`LINE:COLUMN`)
/// and every part of `gist` in the message.
fn assert_rejected(command: Command, path: &str, at: &str, gist: &[&str]) -> CliRun {
    let run = command.run(path);
    run.assert_exit(2)
        .assert_stderr_contains(&format!("{path}:{at}: "))
        .assert_stdout_lacks("listening on")
        .assert_stdout_lacks("passed");
    for part in gist {
        run.assert_stderr_contains(part);
    }
    run
}

/// [`assert_rejected`] for a file of `tests/fixtures/bad/`.
fn assert_fixture_rejected(command: Command, fixture: &str, at: &str, gist: &[&str]) -> CliRun {
    assert_rejected(command, &format!("{FIXTURES}/{fixture}"), at, gist)
}

/// One `#[test]` per bad fixture, each checked by `grpc-replay check`.
macro_rules! rejected_by_check {
    ($($test:ident: $fixture:literal at $at:literal says [$($gist:literal),+ $(,)?];)+) => {
        $(
            #[test]
            fn $test() {
                assert_fixture_rejected(Command::Check, $fixture, $at, &[$($gist),+]);
            }
        )+
    };
}

rejected_by_check! {
    malformed_yaml: "malformed_yaml.yaml" at "5:11"
        says ["did not find expected ',' or '}'"];
    unknown_top_level_key: "unknown_top_level_key.yaml" at "2:1"
        says ["unknown field `scirpt`", "script"];
    unknown_step_key: "unknown_step_key.yaml" at "4:5"
        says ["unknown field `bogus`", "within, repeat, match"];
    two_actions_in_one_step: "two_actions.yaml" at "4:5"
        says ["one step does one thing, but this one has client and server"];
    unknown_field_in_a_message: "unknown_field.yaml" at "4:14"
        says ["unknown field `reslt` in calculator.MaximumResponse", "did you mean `result`?"];
    wrong_value_type_for_a_field: "wrong_value_type.yaml" at "3:22"
        says ["field `number` (int64)"];
    unknown_method: "unknown_method.yaml" at "2:7"
        says ["unknown method `calculator.CalculatorService/Minimum`"];
    method_without_a_slash: "method_without_slash.yaml" at "1:7"
        says ["`calculator.CalculatorService.Maximum` is not a method name",
              "package.Service/Method"];
    bad_duration_in_after: "bad_after.yaml" at "4:12"
        says ["`after: 5 parsecs` is not a duration"];
    bad_duration_in_within: "bad_within.yaml" at "5:13"
        says ["`within: soon` is not a duration"];
    bad_duration_in_timeout: "bad_timeout.yaml" at "2:10"
        says ["`timeout: -1s` is not a duration"];
    bad_duration_in_sleep: "bad_sleep.yaml" at "4:12"
        says ["`sleep: 10 fortnights` is not a duration"];
    bad_status_code: "bad_status_code.yaml" at "4:13"
        says ["`SORT_OF_OK` is not a status code", "INVALID_ARGUMENT"];
    repeat_zero: "repeat_zero.yaml" at "4:13"
        says ["`repeat:` takes a whole number of times, 1 or more"];
    repeat_not_a_number: "repeat_text.yaml" at "4:13"
        says ["`repeat:` takes a whole number of times, 1 or more"];
    unknown_matcher: "unknown_matcher.yaml" at "4:23"
        says ["unknown matcher `$foo`", "$regex"];
    invalid_regex: "invalid_regex.yaml" at "4:22"
        says ["invalid regular expression"];
    matcher_mixed_with_field_names: "matcher_beside_field.yaml" at "4:37"
        says ["`latitude` stands beside matcher keys"];
    undefined_variable: "undefined_variable.yaml" at "3:38"
        says ["variable `GRPC_REPLAY_TEST_UNDEFINED` is not defined", "--var"];
    unclosed_variable: "unclosed_variable.yaml" at "7:22"
        says ["`${` is not closed by `}`"];
    two_client_messages_on_a_unary_call: "two_client_messages_on_unary.yaml" at "4:5"
        says ["routeguide.RouteGuide/GetFeature is unary: the client sends exactly one message"];
    server_message_after_status: "server_after_status.yaml" at "5:5"
        says ["nothing can follow `status` (line 4): it ends the call"];
    client_message_after_close: "client_after_close.yaml" at "5:5"
        says ["the client already half-closed its stream (line 4)"];
    headers_after_a_server_message: "headers_after_server.yaml" at "5:5"
        says ["`headers:` come before the server's first message"];
    missing_script: "missing_script.yaml" at "2:7"
        says ["the call has no `script:`"];
    both_call_and_calls: "call_and_calls.yaml" at "3:5"
        says ["either `call:` (one call) or `calls:` (several), not both"];
    duplicate_call_ids: "duplicate_call_ids.yaml" at "7:5"
        says ["two calls have the id `twin`"];
    proto_file_that_does_not_exist: "missing_proto.yaml" at "1:8"
        says ["cannot load protos", "no/such/service.proto"];
    empty_file: "empty.yaml" at "1:1"
        says ["no call: write `call: package.Service/Method`"];
}

// ---- the same errors through `run` and `serve` ------------------------------------------

#[test]
fn run_rejects_bad_files_before_connecting() {
    assert_fixture_rejected(
        Command::Run,
        "malformed_yaml.yaml",
        "5:11",
        &["did not find expected ',' or '}'"],
    );
    assert_fixture_rejected(
        Command::Run,
        "unknown_field.yaml",
        "4:14",
        &["unknown field `reslt`"],
    );
    assert_fixture_rejected(
        Command::Run,
        "two_client_messages_on_unary.yaml",
        "4:5",
        &["the client sends exactly one message"],
    );
    assert_fixture_rejected(
        Command::Run,
        "bad_within.yaml",
        "5:13",
        &["`within: soon` is not a duration"],
    );
}

#[test]
fn serve_rejects_bad_files_before_listening() {
    assert_fixture_rejected(
        Command::Serve,
        "unknown_method.yaml",
        "2:7",
        &["unknown method"],
    );
    assert_fixture_rejected(
        Command::Serve,
        "undefined_variable.yaml",
        "3:38",
        &["`GRPC_REPLAY_TEST_UNDEFINED` is not defined"],
    );
    assert_fixture_rejected(
        Command::Serve,
        "server_after_status.yaml",
        "5:5",
        &["nothing can follow `status`"],
    );
    assert_fixture_rejected(Command::Serve, "empty.yaml", "1:1", &["no call"]);
}

// ---- matchers where a role must send a value ------------------------------------------------

#[test]
fn client_message_holding_only_matchers_cannot_be_played_by_run() {
    let fixture = "client_matcher_sent.yaml";
    let unplayable = ["the client role sends this `client:` message, but it holds a matcher"];
    grpc_replay(&["check", &format!("{FIXTURES}/{fixture}")])
        .assert_exit(0)
        .assert_stdout_contains(
            "client no (line 4: a matcher where a value is sent; `check --role client` says more), \
             server ok",
        );
    assert_fixture_rejected(Command::Run, fixture, "4:22", &unplayable);
    assert_fixture_rejected(Command::CheckAs("client"), fixture, "4:22", &unplayable);
    assert_fixture_rejected(Command::CheckAs("both"), fixture, "4:22", &unplayable);
    grpc_replay(&[
        "check",
        "--role",
        "server",
        &format!("{FIXTURES}/{fixture}"),
    ])
    .assert_exit(0);
}

#[test]
fn server_message_holding_only_matchers_cannot_be_played_by_serve() {
    let fixture = "server_matcher_sent.yaml";
    let unplayable = ["the server role sends this `server:` message, but it holds a matcher"];
    grpc_replay(&["check", &format!("{FIXTURES}/{fixture}")])
        .assert_exit(0)
        .assert_stdout_contains(
            "client ok, server no (line 5: a matcher where a value is sent; \
             `check --role server` says more)",
        );
    assert_fixture_rejected(Command::Serve, fixture, "5:22", &unplayable);
    assert_fixture_rejected(Command::CheckAs("server"), fixture, "5:22", &unplayable);
    assert_fixture_rejected(Command::CheckAs("both"), fixture, "5:22", &unplayable);
    grpc_replay(&[
        "check",
        "--role",
        "client",
        &format!("{FIXTURES}/{fixture}"),
    ])
    .assert_exit(0);
}

// ---- whole directories and files written on the fly -------------------------------------------

#[test]
fn check_of_a_directory_reports_every_bad_file() {
    let run = grpc_replay(&["check", FIXTURES]);
    run.assert_exit(2);
    let mut fixtures: Vec<String> = std::fs::read_dir(FIXTURES)
        .expect("the bad fixtures")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    fixtures.sort();
    let playable_by_one_role = ["client_matcher_sent.yaml", "server_matcher_sent.yaml"];
    for fixture in fixtures
        .iter()
        .filter(|f| !playable_by_one_role.contains(&f.as_str()))
    {
        run.assert_stderr_contains(&format!("{FIXTURES}/{fixture}:"));
    }
}

#[test]
fn script_that_is_not_a_list() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("not_a_list.yaml");
    std::fs::write(
        &path,
        "call: calculator.CalculatorService/Maximum\nscript:\n  client: {number: 1}\n",
    )
    .expect("write the scenario");
    let path = path.to_string_lossy();
    assert_rejected(Command::Check, &path, "3:3", &["expected a list here"]);
    assert_rejected(Command::Run, &path, "3:3", &["expected a list here"]);
}

#[test]
fn file_that_is_not_utf8_is_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("latin1.yaml");
    std::fs::write(
        &path,
        b"call: Chat/chat\nscript:\n  - client: {name: \"\xe9\"}\n",
    )
    .expect("write the scenario");
    let path = path.to_string_lossy();
    grpc_replay(&["check", &path])
        .assert_exit(2)
        .assert_stderr_contains(&format!("{path}: cannot read"))
        .assert_stderr_contains("UTF-8");
}

#[test]
fn file_that_does_not_exist_is_named() {
    let path = format!("{FIXTURES}/no_such_file.yaml");
    grpc_replay(&["check", &path])
        .assert_exit(2)
        .assert_stderr_contains(&format!("{path}: no such file or directory"));
}
