//! Rich errors (`details:` on a `status:` step, `grpc-status-details-bin`) in both roles:
//! grpc-replay against itself, against grpc-go's `status.WithDetails` server and with a
//! grpc-go client reading the details (`interop/go/cmd/rich-errors`); every passing case
//! has a wrong twin that must fail.

mod process;

use std::process::Command;
use std::time::Duration;

use process::{go_peer, grpc_replay, run_grpc_replay, Finished, Process};

const BAD_POINT: &str = "tests/fixtures/rich_errors/bad_point.yaml";
/// bad_point.yaml with one detail's description changed.
const BAD_POINT_WRONG: &str = "tests/fixtures/rich_errors/bad_point_wrong.yaml";
/// The diff bad_point_wrong.yaml gets from a peer that sends bad_point.yaml's details.
const WRONG_DIFF: &str = "details[0].field_violations[0].description: expected \"out of bounds\", received \"out of range\"";
const RAW_TRAILER: &str = "tests/fixtures/rich_errors/raw_trailer.yaml";

const LIMIT: Duration = Duration::from_secs(60);

/// `grpc-replay serve FILE` on a free port, and its address.
fn serve(file: &str, once: bool) -> (Process, String) {
    let mut args = vec!["serve", file, "--listen", "127.0.0.1:0"];
    if once {
        args.push("--once");
    }
    let mut server = Process::start("grpc-replay serve", grpc_replay(&args));
    let address = server.listening_address();
    (server, address)
}

/// `grpc-replay run FILE --target ADDRESS`.
fn run_against(file: &str, address: &str) -> Finished {
    run_grpc_replay(&["run", file, "--target", address], LIMIT)
}

fn assert_passed(run: &Finished) {
    assert!(
        run.code == Some(0) && run.stdout.contains("1 passed"),
        "expected a pass\n{}",
        run.describe()
    );
}

/// Exit 1, the status step located (line 6 in the bad_point files), and `diff`.
fn assert_failed_with(run: &Finished, file: &str, diff: &str) {
    let located = format!("{file}:6:5: step `status`");
    assert!(
        run.code == Some(1) && run.stdout.contains(&located) && run.stdout.contains(diff),
        "expected exit 1 with `{located}` and `{diff}`\n{}",
        run.describe()
    );
}

#[test]
fn details_and_the_raw_trailer_replay_against_themselves() {
    for file in [BAD_POINT, RAW_TRAILER] {
        assert_passed(&run_grpc_replay(&["run", "--loopback", file], LIMIT));
    }
}

#[test]
fn a_detail_that_differs_fails_the_client_role() {
    let (_server, address) = serve(BAD_POINT, false);
    assert_passed(&run_against(BAD_POINT, &address));
    assert_failed_with(
        &run_against(BAD_POINT_WRONG, &address),
        BAD_POINT_WRONG,
        WRONG_DIFF,
    );
}

#[test]
fn the_raw_trailer_is_seen_and_decoded_by_the_client_role() {
    let (_server, address) = serve(RAW_TRAILER, false);
    assert_passed(&run_against(
        "tests/fixtures/rich_errors/raw_trailer_decoded.yaml",
        &address,
    ));
    let wrong = "tests/fixtures/rich_errors/raw_trailer_wrong.yaml";
    let run = run_against(wrong, &address);
    assert!(
        run.code == Some(1)
            && run
                .stdout
                .contains("trailers.grpc-status-details-bin: expected"),
        "expected the raw trailer's diff\n{}",
        run.describe()
    );
}

#[test]
fn bad_details_are_located_load_errors() {
    for (file, place, message) in [
        (
            "unknown_type.yaml",
            ":7:18:",
            "unknown detail type `type.googleapis.com/google.rpc.BadRequests`",
        ),
        (
            "unknown_type.yaml",
            ":7:18:",
            "did you mean `google.rpc.BadRequest`?",
        ),
        (
            "details_with_ok.yaml",
            ":8:7:",
            "`details:` go with an error code",
        ),
    ] {
        let path = format!("tests/fixtures/rich_errors/{file}");
        let check = run_grpc_replay(&["check", &path], LIMIT);
        let located = format!("{path}{place}");
        let output = format!("{}{}", check.stdout, check.stderr);
        assert!(
            check.code == Some(2) && output.contains(&located) && output.contains(message),
            "expected exit 2 (bad input), `{located}` and `{message}`\n{}",
            check.describe()
        );
    }
}

#[test]
fn the_client_role_checks_the_details_of_a_go_server() {
    let Some(binary) = go_peer("rich-errors") else {
        return;
    };
    let mut command = Command::new(binary);
    command.args(["--serve", "127.0.0.1:0"]);
    let mut server = Process::start("Go rich-errors --serve", command);
    let address = server.listening_address();
    assert_passed(&run_against(BAD_POINT, &address));
    assert_failed_with(
        &run_against(BAD_POINT_WRONG, &address),
        BAD_POINT_WRONG,
        WRONG_DIFF,
    );
}

/// The Go client against `serve FILE --once`.
fn go_client_against(file: &str) -> Option<(Finished, Process)> {
    let binary = go_peer("rich-errors")?;
    let (server, address) = serve(file, true);
    let mut command = Command::new(binary);
    command.args(["--call", &address]);
    let client = Process::run("Go rich-errors --call", command, LIMIT);
    Some((client, server))
}

#[test]
fn a_go_client_reads_the_details_the_server_role_sends() {
    let Some((client, server)) = go_client_against(BAD_POINT) else {
        return;
    };
    assert!(
        client.code == Some(0) && client.stdout.contains("rich error ok"),
        "{}",
        client.describe()
    );
    let served = server.finish(LIMIT);
    assert!(served.code == Some(0), "{}", served.describe());
}

#[test]
fn a_go_client_sees_a_detail_that_differs() {
    let Some((client, _server)) = go_client_against(BAD_POINT_WRONG) else {
        return;
    };
    assert!(
        client.code == Some(1)
            && client.stdout.contains("details[0]: expected")
            && client.stdout.contains("out of bounds"),
        "{}",
        client.describe()
    );
}
