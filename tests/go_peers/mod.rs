//! The Go peers of `interop/go/bin` (built by `bash interop/go/build.sh`, never by the
//! tests): where they are, and what a test does when they are missing.

// Each test binary uses the part of this module it needs.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// Which build of the Go peers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GoVersion {
    /// grpc-go as pinned in interop/go/go.mod.
    Current,
    /// Debian bookworm's grpc-go 1.33.3 with Go 1.19.
    V1_33,
}

impl GoVersion {
    /// The path of a Go peer binary of this version, or `None` (after saying the test
    /// is skipped) when it has not been built. Under `GRPC_REPLAY_REQUIRE_GO` a missing
    /// peer fails the test instead.
    pub(crate) fn peer(self, program: &str) -> Option<PathBuf> {
        let suffix = match self {
            GoVersion::Current => "",
            GoVersion::V1_33 => "-1.33",
        };
        peer_binary(&format!("{program}{suffix}"))
    }
}

/// `interop/go/bin/NAME`, or `None` (after saying the test is skipped) when missing.
pub(crate) fn peer_binary(name: &str) -> Option<PathBuf> {
    let path = repo_root().join("interop/go/bin").join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("GRPC_REPLAY_REQUIRE_GO").is_none(),
        "GRPC_REPLAY_REQUIRE_GO is set but {} is missing: run interop/go/build.sh",
        path.display()
    );
    // Straight to stderr, past the test harness's capture, so the skip is visible.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: Go peers not built (run interop/go/build.sh): {} is missing",
        path.display()
    );
    None
}

/// The repository root (tests run from anywhere).
pub(crate) fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
