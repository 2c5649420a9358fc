//! Per-message latency of `grpc-replay bench` against `grpc-replay serve` over real TCP:
//! a reply pairs with the latest send before it in the script, and scripted pauses are not
//! latency.

mod bench_support;
mod process;

use bench_support::{bench, number, serve};

/// The server's script: three replies to "Bob", the first after a 1s pause.
const PAUSED: &str = "tests/fixtures/bench/paused_replies.yaml";
/// The same conversation, but the client's script does not know about the pause.
const UNSCRIPTED: &str = "tests/fixtures/bench/paused_replies_unscripted.yaml";
/// The scripted pause.
const PAUSE_MS: f64 = 1000.0;
/// Calls played per bench run.
const CALLS: u64 = 6;

/// Benches `client_file` against `serve PAUSED`; returns the per-message latency summary
/// (milliseconds) after checking the call and message counts.
fn per_message_latency(client_file: &str) -> serde_json::Value {
    let (mut server, address) = serve(&[PAUSED]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let report = dir.path().join("report.json");
    let calls = CALLS.to_string();
    let args = [client_file, "--target", &address, "-n", &calls, "-c", "3"];
    let (_, json) = bench(&args, &report, 0, &mut server);
    assert_eq!(number(&json, "/calls/total"), CALLS as f64, "{json:#}");
    assert_eq!(number(&json, "/calls/failed"), 0.0, "{json:#}");
    assert_eq!(number(&json, "/messages/sent"), (2 * CALLS) as f64);
    assert_eq!(number(&json, "/messages/received"), (3 * CALLS) as f64);
    json["message_latency_ms"].clone()
}

#[test]
fn each_reply_pairs_with_the_latest_send_and_the_scripted_pause_is_left_out() {
    let latency = per_message_latency(PAUSED);
    // Three replies per call, all to "Bob": three pairs (pairing the i-th reply with the
    // i-th send would give two, the second of them including the pause).
    assert_eq!(
        number(&latency, "/count"),
        (3 * CALLS) as f64,
        "{latency:#}"
    );
    // Loopback replies take a few milliseconds; half the pause is a generous bound, even
    // on a busy machine.
    assert!(
        number(&latency, "/max") < PAUSE_MS / 2.0,
        "the 1s scripted pause was counted as latency: {latency:#}"
    );
}

#[test]
fn wrong_twin_a_pause_the_client_script_does_not_know_about_is_latency() {
    let latency = per_message_latency(UNSCRIPTED);
    assert_eq!(
        number(&latency, "/count"),
        (3 * CALLS) as f64,
        "{latency:#}"
    );
    // Every reply comes after the server's pause, and the client's script does not
    // explain it: every pair includes it.
    assert!(
        number(&latency, "/min") >= PAUSE_MS - 1.0,
        "the server's unscripted 1s wait is missing from the latency: {latency:#}"
    );
}
