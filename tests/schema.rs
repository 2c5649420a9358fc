//! The JSON Schema of the scenario format (docs/scenario-schema.json, `grpc-replay schema`):
//! it accepts every bundled scenario and every `new` skeleton, and rejects each broken file
//! of tests/fixtures/schema/bad/ (which `grpc-replay check` rejects too). Checked in process
//! with the `jsonschema` crate and by an independent validator, check-jsonschema from PyPI,
//! in the virtual environment at target/venv:
//!   python3 -m venv target/venv && target/venv/bin/pip install check-jsonschema
//! Without it that half says so on stderr and returns, unless GRPC_REPLAY_REQUIRE_PY is set.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::grpc_replay;

const SCHEMA_FILE: &str = "docs/scenario-schema.json";
const BAD_DIR: &str = "tests/fixtures/schema/bad";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The YAML files under `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn schema_errors(file: &Path) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(SCHEMA_FILE)).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let text = std::fs::read_to_string(file).unwrap();
    let instance: Value = serde_saphyr::from_str(&text).expect("YAML");
    validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// check-jsonschema from target/venv, or `None` when it is missing (the shared skip
/// policy: said on stderr, a failure under GRPC_REPLAY_REQUIRE_PY).
fn check_jsonschema() -> Option<PathBuf> {
    let program = root().join("target/venv/bin/check-jsonschema");
    support::process::peers_present(
        &[&program],
        "GRPC_REPLAY_REQUIRE_PY",
        "python3 -m venv target/venv && target/venv/bin/pip install check-jsonschema",
    )
    .then_some(program)
}

/// Whether check-jsonschema accepts `files`; its output for messages.
fn independent_verdict(program: &Path, files: &[PathBuf]) -> (bool, String) {
    let output = Command::new(program)
        .arg("--schemafile")
        .arg(root().join(SCHEMA_FILE))
        .args(files)
        .output()
        .expect("check-jsonschema runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn the_printed_schema_is_the_docs_copy() {
    let run = grpc_replay(&["schema"]);
    run.assert_exit(0);
    let docs = std::fs::read_to_string(root().join(SCHEMA_FILE)).unwrap();
    assert!(
        run.stdout == docs,
        "{SCHEMA_FILE} is stale: write it with `cargo run -- schema > {SCHEMA_FILE}`"
    );
}

#[test]
fn every_bundled_scenario_and_skeleton_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let skeletons = [
        "routeguide.RouteGuide/RouteChat",
        "routeguide.RouteGuide/RecordRoute",
        "HelloWorld/lotsOfReplies",
        "calculator.CalculatorService/Maximum",
    ];
    let mut files = yaml_files(&root().join("scenarios"));
    assert!(files.len() >= 10, "{files:?}");
    for (index, method) in skeletons.iter().enumerate() {
        let file = dir.path().join(format!("{index}.yaml"));
        grpc_replay(&["new", method, "-o", file.to_str().unwrap()]).assert_exit(0);
        files.push(file);
    }
    for file in &files {
        let errors = schema_errors(file);
        assert!(
            errors.is_empty(),
            "{}: {}",
            file.display(),
            errors.join("\n")
        );
    }
    if let Some(program) = check_jsonschema() {
        let (valid, text) = independent_verdict(&program, &files);
        assert!(valid, "{text}");
    }
}

#[test]
fn every_broken_file_is_rejected_by_both_validators_and_by_check() {
    let files = yaml_files(&root().join(BAD_DIR));
    assert!(files.len() >= 10, "{files:?}");
    for file in &files {
        assert!(
            !schema_errors(file).is_empty(),
            "the schema accepts {}",
            file.display()
        );
        grpc_replay(&["check", file.to_str().unwrap()]).assert_exit(2);
    }
    // One run for all: check-jsonschema names each file it rejects (`FILE::$…: why`).
    if let Some(program) = check_jsonschema() {
        let (valid, text) = independent_verdict(&program, &files);
        assert!(!valid, "{text}");
        for file in &files {
            let named = format!("{}::", file.display());
            assert!(
                text.contains(&named),
                "check-jsonschema accepts {named}\n{text}"
            );
        }
    }
}
