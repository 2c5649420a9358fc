//! What the `bench` tests share: `grpc-replay serve` as the server on a free port, and
//! `grpc-replay bench` runs whose JSON report is read back.

// Each bench test binary uses the part of this module it needs.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use crate::process::{Finished, Process};

/// How long one bench run may take before the test fails.
pub(crate) const BENCH_LIMIT: Duration = Duration::from_secs(120);

pub(crate) use crate::process::grpc_replay;

/// `grpc-replay serve FILES` on a free loopback port; returns it with its address once it
/// listens (killed when dropped).
pub(crate) fn serve(files: &[&str]) -> (Process, String) {
    let args = [
        &["serve"],
        files,
        &["--listen", "127.0.0.1:0", "--color", "never"],
    ]
    .concat();
    let command = grpc_replay(&args);
    let mut server = Process::start("grpc-replay serve", command);
    let address = server.listening_address();
    (server, address)
}

/// Starts `grpc-replay bench ARGS --report json=REPORT`.
pub(crate) fn start_bench(args: &[&str], report: &Path) -> Process {
    let report = format!("json={}", report.display());
    let args = [&["bench"], args, &["--report", &report]].concat();
    Process::start("grpc-replay bench", grpc_replay(&args))
}

/// Waits for a bench started by [`start_bench`] and reads its report; fails the test
/// (with everything it printed) when it did not exit with `code` or wrote no report.
pub(crate) fn finish_bench(
    bench: Process,
    report: &Path,
    code: i32,
    server: &mut Process,
) -> (Finished, serde_json::Value) {
    let finished = bench.finish(BENCH_LIMIT);
    assert!(
        finished.code == Some(code) && !finished.stderr.contains("panicked"),
        "expected bench to exit with {code}\n{}\n{}",
        finished.describe(),
        server.output_so_far()
    );
    let text = std::fs::read_to_string(report).unwrap_or_else(|e| {
        panic!(
            "no report at {}: {e}\n{}",
            report.display(),
            finished.describe()
        )
    });
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the report is not JSON: {e}\n{text}"));
    (finished, json)
}

/// `grpc-replay bench ARGS --report json=REPORT`, run to its end.
pub(crate) fn bench(
    args: &[&str],
    report: &Path,
    code: i32,
    server: &mut Process,
) -> (Finished, serde_json::Value) {
    finish_bench(start_bench(args, report), report, code, server)
}

/// A number at `pointer` in `json` (`/calls/total`), failing the test when absent.
pub(crate) fn number(json: &serde_json::Value, pointer: &str) -> f64 {
    json.pointer(pointer)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("the report has no number at {pointer}:\n{json:#}"))
}
