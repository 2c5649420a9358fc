//! What users install grpc-replay with, checked offline: the GitHub Actions composite action
//! (action.yml) and the example workflows pass actionlint, which also checks the inputs a
//! workflow gives the action; the Dockerfile passes a structural check (hadolint is not
//! reachable from here): a build stage and a runtime stage, pinned images, a locked build,
//! an unprivileged user, an exec-form entry point.
//!
//! actionlint comes from the Go module proxy (scripts/test.sh installs it into
//! target/tools: `GOBIN=$PWD/target/tools go install
//! github.com/rhysd/actionlint/cmd/actionlint@latest`); without it the check skips with a
//! message, unless GRPC_REPLAY_REQUIRE_GO is set.

mod process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use process::Process;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// target/tools/actionlint, or `actionlint` on PATH; `None` (said) when neither runs.
fn actionlint() -> Option<PathBuf> {
    let local = root().join("target/tools/actionlint");
    for candidate in [local, PathBuf::from("actionlint")] {
        let runs = Command::new(&candidate).arg("-version").output();
        if runs.is_ok_and(|o| o.status.success()) {
            return Some(candidate);
        }
    }
    let install =
        "GOBIN=$PWD/target/tools go install github.com/rhysd/actionlint/cmd/actionlint@latest";
    assert!(
        std::env::var_os("GRPC_REPLAY_REQUIRE_GO").is_none(),
        "GRPC_REPLAY_REQUIRE_GO is set but actionlint is missing: {install}"
    );
    eprintln!("SKIPPED: actionlint is not installed ({install})");
    None
}

/// Runs actionlint in a scratch repository holding action.yml at its root and `workflow`
/// (with the example workflows) under .github/workflows; returns its exit code and output.
fn lint_with_action(linter: &Path, workflow: &str) -> (Option<i32>, String) {
    let repo = tempfile::tempdir().expect("a temporary folder");
    let workflows = repo.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(repo.path().join("action.yml"), read("action.yml")).unwrap();
    std::fs::write(workflows.join("uses-action.yml"), workflow).unwrap();
    let example = read("examples/ci/github-actions.yml");
    std::fs::write(workflows.join("github-actions.yml"), example).unwrap();
    let init = Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo.path())
        .status();
    assert!(init.is_ok_and(|s| s.success()), "git init");
    let mut command = Command::new(linter);
    command
        .args(["-no-color", "-oneline", "-shellcheck=", "-pyflakes="])
        .current_dir(repo.path());
    let done = Process::run("actionlint", command, Duration::from_secs(60));
    (done.code, format!("{}{}", done.stdout, done.stderr))
}

#[test]
fn the_action_and_the_example_workflows_pass_actionlint() {
    let Some(linter) = actionlint() else { return };
    let (code, output) = lint_with_action(&linter, &read("examples/ci/uses-action.yml"));
    assert_eq!(code, Some(0), "{output}");
}

#[test]
fn actionlint_refuses_an_input_the_action_does_not_have() {
    let Some(linter) = actionlint() else { return };
    let workflow = read("examples/ci/uses-action.yml").replace("wait-for-target:", "wait-for:");
    let (code, output) = lint_with_action(&linter, &workflow);
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("input \"wait-for\" is not defined in action"),
        "{output}"
    );
}

/// The Dockerfile's instructions: keyword (upper case) and arguments, continuation lines
/// joined, comments left out.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
            (keyword.to_uppercase(), args.trim().to_string())
        })
        .collect()
}

/// What is wrong with a Dockerfile for the CLI (nothing, for a good one).
fn dockerfile_problems(text: &str) -> Vec<String> {
    let steps = instructions(text);
    let mut problems = Vec::new();
    let stages: Vec<&String> = steps
        .iter()
        .filter(|(k, _)| k == "FROM")
        .map(|(_, a)| a)
        .collect();
    if stages.len() < 2 {
        problems.push("not multi-stage: a build stage and a runtime stage".to_string());
    }
    for image in &stages {
        let name = image.split_whitespace().next().unwrap_or_default();
        if !name.contains(':') || name.ends_with(":latest") {
            problems.push(format!("image `{name}` is not pinned to a tag"));
        }
    }
    let has =
        |keyword: &str, part: &str| steps.iter().any(|(k, a)| k == keyword && a.contains(part));
    let checks = [
        (has("FROM", " AS build"), "no stage named `build`"),
        (
            has("RUN", "cargo build --release --locked"),
            "the build is not `--locked`",
        ),
        (
            has("COPY", "--from=build") && has("COPY", "/target/release/grpc-replay"),
            "the runtime stage does not copy the binary from the build stage",
        ),
        (
            has("ENTRYPOINT", "[\"grpc-replay\"]"),
            "no exec-form ENTRYPOINT [\"grpc-replay\"]",
        ),
    ];
    for (ok, problem) in checks {
        if !ok {
            problems.push(problem.to_string());
        }
    }
    let user = steps
        .iter()
        .rev()
        .find(|(k, _)| k == "USER")
        .map(|(_, a)| a.as_str());
    if matches!(user, None | Some("root" | "0")) {
        problems.push("the container runs as root".to_string());
    }
    problems
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_unprivileged_in_another() {
    assert_eq!(
        dockerfile_problems(&read("Dockerfile")),
        Vec::<String>::new()
    );
    let ignored = read(".dockerignore");
    assert!(ignored.lines().any(|l| l.trim() == "target/"), "{ignored}");
}

#[test]
fn the_structural_check_finds_a_single_stage_root_image() {
    let bad =
        "FROM rust\nCOPY . .\nRUN cargo build --release\nENTRYPOINT target/release/grpc-replay\n";
    let problems = dockerfile_problems(bad);
    for expected in [
        "not multi-stage",
        "not pinned",
        "not `--locked`",
        "does not copy the binary",
        "exec-form",
        "runs as root",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected}: {problems:?}"
        );
    }
}
