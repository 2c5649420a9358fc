//! Independent readers of the reports, for the tests: PyPI's junitparser and xmlschema
//! (with the Jenkins xUnit plugin's junit-10.xsd), tap.py, and the `jsonschema` crate with
//! docs/report-schema.json. The Python ones run in `target/venv` when scripts/test.sh made
//! it (else the `python3` on PATH); they skip with a message when their modules are
//! missing, unless GRPC_REPLAY_REQUIRE_PY is set.
//!
//! A test binary that uses this module also declares `mod process;`.

// Each test binary uses the part of this module it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::process::Process;

/// How to get the Python modules.
const INSTALL: &str = "bash scripts/test.sh makes target/venv with them; or \
     python3 -m venv target/venv && target/venv/bin/pip install junitparser xmlschema 'tap.py[yaml]'";

/// The package root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/venv/bin/python3` when it exists, else `python3`.
fn interpreter() -> PathBuf {
    let venv = root().join("target/venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Runs a Python script with `args`; `None` (the check skipped, said on stderr) when the
/// `modules` are missing and GRPC_REPLAY_REQUIRE_PY is unset.
pub(crate) fn python(modules: &str, script: &str, args: &[&Path]) -> Option<String> {
    let probe = Command::new(interpreter())
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var_os("GRPC_REPLAY_REQUIRE_PY").is_none(),
            "GRPC_REPLAY_REQUIRE_PY is set but python3 cannot import {modules}: {INSTALL}"
        );
        eprintln!("SKIPPED: the check with python3 `{modules}` (not installed; {INSTALL})");
        return None;
    }
    let mut command = Command::new(interpreter());
    command.arg("-c").arg(script).args(args);
    let done = Process::run(modules, command, Duration::from_secs(60));
    assert_eq!(
        done.code,
        Some(0),
        "python3 {modules} check failed:\n{}",
        done.stderr
    );
    Some(done.stdout)
}

/// The JUnit report as PyPI's junitparser reads it: totals, then every suite and case.
pub(crate) fn junitparser(path: &Path) -> Option<Value> {
    const SCRIPT: &str = r#"
import json, sys
from junitparser import JUnitXml
xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        results = [{"kind": type(r).__name__, "type": r.type, "message": r.message,
                    "text": r.text} for r in case.result]
        cases.append({"name": case.name, "classname": case.classname, "time": case.time,
                      "results": results})
    suites.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                   "errors": suite.errors, "skipped": suite.skipped, "time": suite.time,
                   "cases": cases})
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "errors": xml.errors,
                  "suites": suites}))
"#;
    let out = python("junitparser", SCRIPT, &[path])?;
    Some(serde_json::from_str(&out).expect("junitparser's account is JSON"))
}

/// Validates a JUnit report against the Jenkins xUnit plugin's junit-10.xsd (PyPI's
/// xmlschema); `false` when the check was skipped.
pub(crate) fn validate_junit_xsd(path: &Path) -> bool {
    const SCRIPT: &str = r#"
import sys, xmlschema
xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])
print("valid")
"#;
    let xsd = root().join("tests/fixtures/reports/junit-10.xsd");
    python("xmlschema", SCRIPT, &[&xsd, path]).is_some()
}

/// The TAP report as PyPI's tap.py reads it: the plan, every test point with its YAML
/// block, and any line it did not understand.
pub(crate) fn tap_parser(path: &Path) -> Option<Value> {
    const SCRIPT: &str = r#"
import json, sys
from tap.parser import Parser
plan, version, tests, unknown = None, None, [], []
for line in Parser().parse_file(sys.argv[1]):
    if line.category == "plan":
        plan = line.expected_tests
    elif line.category == "version":
        version = line.version
    elif line.category == "test":
        tests.append({"ok": line.ok, "number": line.number, "description": line.description,
                      "skip": line.skip, "yaml": line.yaml_block})
    elif line.category == "unknown":
        unknown.append(str(line))
print(json.dumps({"plan": plan, "version": version, "tests": tests, "unknown": unknown}))
"#;
    let out = python("tap, yaml", SCRIPT, &[path])?;
    Some(serde_json::from_str(&out).expect("tap.py's account is JSON"))
}

/// Asserts that `instance` is valid against docs/report-schema.json.
pub(crate) fn assert_valid_report(instance: &Value) {
    let text = std::fs::read_to_string(root().join("docs/report-schema.json"))
        .expect("docs/report-schema.json is readable");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let errors = schema_errors(&schema, instance);
    assert!(
        errors.is_empty(),
        "{instance}\nbreaks the schema:\n{}",
        errors.join("\n")
    );
}

/// Every way `instance` breaks `schema`.
pub(crate) fn schema_errors(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .expect("the schema is a valid JSON Schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}
