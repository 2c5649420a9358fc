//! The format's constructs for real conversations — ranges of messages (`repeat:
//! {min, max}`), `optional:` messages and `group:` blocks — played in both roles over real
//! HTTP/2: `serve` one script, `run` another against it, and `run --loopback` for each
//! script against itself. Every passing case has a wrong twin that must fail: too few, too
//! many, a count that differs, an optional message that arrives malformed, a round that
//! strays.

mod process;

use std::path::Path;
use std::time::Duration;

use process::{Finished, Process};

const FIXTURES: &str = "tests/fixtures/constructs";
const LIMIT: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> String {
    Path::new(FIXTURES).join(name).display().to_string()
}

/// `--var NAME=VALUE` for each pair.
fn vars(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(name, value)| ["--var".to_string(), format!("{name}={value}")])
        .collect()
}

/// Serves `server` (with `server_vars`) once and runs `client` (with `client_vars`)
/// against it; returns how the server and the client ended.
fn converse(
    server: &str,
    server_vars: &[(&str, &str)],
    client: &str,
    client_vars: &[(&str, &str)],
) -> (Finished, Finished) {
    let server_path = fixture(server);
    let mut args = vec![
        "serve",
        &server_path,
        "--listen",
        "127.0.0.1:0",
        "--once",
        "--color",
        "never",
    ];
    let server_vars = vars(server_vars);
    args.extend(server_vars.iter().map(String::as_str));
    let mut served = Process::start("grpc-replay serve", process::grpc_replay(&args));
    let target = served.listening_address();
    let client_path = fixture(client);
    let mut args = vec!["run", &client_path, "--target", &target, "--color", "never"];
    let client_vars = vars(client_vars);
    args.extend(client_vars.iter().map(String::as_str));
    let client = process::run_grpc_replay(&args, LIMIT);
    (served.finish(LIMIT), client)
}

/// Asserts the exit codes of a conversation: `(server, client)`.
fn assert_codes(ended: &(Finished, Finished), server: i32, client: i32) {
    let (s, c) = ended;
    assert_eq!(
        (s.code, c.code),
        (Some(server), Some(client)),
        "{}\n{}",
        s.describe(),
        c.describe()
    );
}

fn loopback(name: &str) -> Finished {
    process::run_grpc_replay(
        &["run", "--loopback", &fixture(name), "--color", "never"],
        LIMIT,
    )
}

#[test]
fn every_construct_plays_against_itself() {
    for name in [
        "record_route_range.yaml",
        "list_features_range.yaml",
        "ping_pong_group.yaml",
        "ping_pong_rounds.yaml",
        "optional_feature.yaml",
        "optional_client.yaml",
    ] {
        let out = loopback(name);
        assert_eq!(out.code, Some(0), "{}", out.describe());
    }
}

#[test]
fn a_server_range_answers_with_the_number_of_messages_that_came() {
    for points in ["2", "5", "101"] {
        let vars = [("POINTS", points), ("COUNT", points)];
        let ended = converse(
            "record_route_range.yaml",
            &[],
            "record_route_client.yaml",
            &vars,
        );
        assert_codes(&ended, 0, 0);
    }
}

#[test]
fn a_server_range_fails_too_few_and_too_many() {
    let too_few = [("POINTS", "1"), ("COUNT", "1")];
    let ended = converse(
        "record_route_range.yaml",
        &[],
        "record_route_client.yaml",
        &too_few,
    );
    assert_codes(&ended, 1, 1);
    assert!(
        ended.0.stdout.contains("the client half-closed"),
        "{}",
        ended.0.describe()
    );
    let too_many = [("POINTS", "102"), ("COUNT", "102")];
    let ended = converse(
        "record_route_range.yaml",
        &[],
        "record_route_client.yaml",
        &too_many,
    );
    assert_codes(&ended, 1, 1);
    assert!(
        ended.0.stdout.contains("the client sent another message"),
        "{}",
        ended.0.describe()
    );
}

#[test]
fn a_count_that_differs_from_the_one_sent_fails_the_client() {
    let vars = [("POINTS", "5"), ("COUNT", "6")];
    let ended = converse(
        "record_route_range.yaml",
        &[],
        "record_route_client.yaml",
        &vars,
    );
    assert_codes(&ended, 0, 1);
    assert!(
        ended
            .1
            .stdout
            .contains("point_count: expected 6, received 5"),
        "{}",
        ended.1.describe()
    );
}

#[test]
fn a_client_range_takes_what_the_server_sends_within_it() {
    for features in ["2", "4"] {
        let ended = converse(
            "list_features_serve.yaml",
            &[("FEATURES", features)],
            "list_features_range.yaml",
            &[],
        );
        assert_codes(&ended, 0, 0);
    }
    for (features, says) in [("1", "the server's message"), ("5", "another message")] {
        let ended = converse(
            "list_features_serve.yaml",
            &[("FEATURES", features)],
            "list_features_range.yaml",
            &[],
        );
        assert_eq!(ended.1.code, Some(1), "{}", ended.1.describe());
        assert!(ended.1.stdout.contains(says), "{}", ended.1.describe());
    }
}

#[test]
fn a_group_answers_each_message_as_it_comes() {
    // The written-out client waits for each answer before it sends on: a server that
    // answered only after the whole stream would never get the second message.
    let ended = converse(
        "ping_pong_group.yaml",
        &[("ROUNDS", "3")],
        "ping_pong_steps.yaml",
        &[],
    );
    assert_codes(&ended, 0, 0);
    let ended = converse(
        "ping_pong_rounds.yaml",
        &[],
        "ping_pong_steps_closed.yaml",
        &[],
    );
    assert_codes(&ended, 0, 0);
}

#[test]
fn a_group_played_fewer_times_than_its_count_fails() {
    let ended = converse(
        "ping_pong_group.yaml",
        &[("ROUNDS", "4")],
        "ping_pong_steps.yaml",
        &[],
    );
    assert_codes(&ended, 1, 1);
    assert!(
        ended.0.stdout.contains("the client half-closed"),
        "{}",
        ended.0.describe()
    );
}

#[test]
fn a_round_that_strays_ends_a_group_with_a_range_and_fails() {
    let ended = converse(
        "ping_pong_rounds.yaml",
        &[],
        "ping_pong_steps_closed.yaml",
        &[("THIRD", "7")],
    );
    assert_codes(&ended, 1, 1);
    assert!(
        ended.0.stdout.contains("the client sent another message"),
        "{}",
        ended.0.describe()
    );
}

#[test]
fn an_optional_message_may_come_or_not() {
    for send in ["0", "1"] {
        let ended = converse(
            "optional_serve.yaml",
            &[("SEND", send)],
            "optional_feature.yaml",
            &[],
        );
        assert_codes(&ended, 0, 0);
    }
    for send in ["0", "1"] {
        let ended = converse(
            "optional_client.yaml",
            &[],
            "optional_client_sends.yaml",
            &[("SEND", send)],
        );
        assert_codes(&ended, 0, 0);
    }
}

#[test]
fn an_optional_message_that_arrives_malformed_fails() {
    let ended = converse(
        "optional_serve.yaml",
        &[("MIDDLE", "mangled")],
        "optional_feature.yaml",
        &[],
    );
    assert_eq!(ended.1.code, Some(1), "{}", ended.1.describe());
    assert!(
        ended
            .1
            .stdout
            .contains("name: expected \"last\", received \"mangled\""),
        "{}",
        ended.1.describe()
    );
    let ended = converse(
        "optional_client.yaml",
        &[],
        "optional_client_sends.yaml",
        &[("LATITUDE", "9")],
    );
    assert_codes(&ended, 1, 1);
}

#[test]
fn a_range_with_no_count_to_send_is_a_located_error_for_the_sending_role() {
    let path = fixture("bad_unsendable.yaml");
    let out = process::run_grpc_replay(&["check", "--role", "client", &path], LIMIT);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("{path}:7:5: ")) && out.stderr.contains("`send: N`"),
        "{}",
        out.describe()
    );
    // The server role only checks it.
    let out = process::run_grpc_replay(&["check", "--role", "server", &path], LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.describe());
}

#[test]
fn ranges_out_of_order_are_located_errors() {
    let path = fixture("bad_range.yaml");
    let out = process::run_grpc_replay(&["check", &path], LIMIT);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("{path}:6:27: "))
            && out.stderr.contains("`max: 2` is less than `min: 5`"),
        "{}",
        out.describe()
    );
}

/// Serves `script` once and runs grpc-go's RecordRoute client (`route-record`, which
/// sends rand(100)+2 random points) against it with `seed`.
fn record_route_from_go(route_record: &Path, script: &str, seed: &str) -> (Finished, Finished) {
    let path = fixture(script);
    let args = [
        "serve",
        &path,
        "--listen",
        "127.0.0.1:0",
        "--once",
        "--color",
        "never",
    ];
    let mut served = Process::start("grpc-replay serve", process::grpc_replay(&args));
    let target = served.listening_address();
    let mut command = std::process::Command::new(route_record);
    command.args(["-addr", &target, "-seed", seed]);
    let client = Process::run("route-record", command, LIMIT);
    (served.finish(LIMIT), client)
}

#[test]
fn grpc_gos_record_route_client_gets_the_count_it_sent() {
    let Some(route_record) = process::go_peer("route-record") else {
        return;
    };
    let time_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |t| t.as_nanos() as u64 | 1)
        .to_string();
    for seed in ["1", "7", "42", &time_seed] {
        let ended = record_route_from_go(&route_record, "record_route_range.yaml", seed);
        assert_codes(&ended, 0, 0);
        assert!(
            ended.1.stdout.contains("PASS sent"),
            "{}",
            ended.1.describe()
        );
    }
    // The wrong twin: a script that answers another count.
    let ended = record_route_from_go(&route_record, "record_route_wrong_count.yaml", "7");
    assert_codes(&ended, 0, 1);
    assert!(
        ended.1.stdout.contains("summary point_count 1"),
        "{}",
        ended.1.describe()
    );
}
