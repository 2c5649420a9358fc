//! examples/k8s: the manifests validate offline against the Kubernetes schemas
//! (`kubernetes-validate`, PyPI, which ships them), the Indexed Job's and the merge Job's
//! commands run as written (their `$(NAME)` expanded as Kubernetes does, their mounts
//! mapped to local directories), and the Dockerfile builds where a container engine
//! answers (skipped with a message where none does).

mod bench_support;
mod process;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bench_support::{grpc_replay, number, BENCH_LIMIT};
use process::{Finished, Process};
use serde_json::Value;

/// The example's directory.
const K8S: &str = "examples/k8s";
/// Its manifests.
const MANIFESTS: [&str; 5] = [
    "scenarios.yaml",
    "server.yaml",
    "reports-pvc.yaml",
    "bench-job.yaml",
    "merge-job.yaml",
];
/// The validator, and how to get it.
const VALIDATOR: &str = "kubernetes-validate";
const INSTALL: &str = "python3 -m pip install kubernetes-validate==1.37.0";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn manifest(name: &str) -> PathBuf {
    root().join(K8S).join(name)
}

/// `kubernetes-validate --strict` on `files`, to its end.
fn validate(files: &[PathBuf]) -> Finished {
    let mut command = Command::new(VALIDATOR);
    command.args(["--strict", "--no-warn"]).args(files);
    if let Err(e) = Command::new(VALIDATOR).arg("--version").output() {
        panic!("{VALIDATOR} cannot run ({e}); install it with `{INSTALL}`");
    }
    Process::run(VALIDATOR, command, Duration::from_secs(120))
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schemas() {
    let files: Vec<PathBuf> = MANIFESTS.iter().map(|name| manifest(name)).collect();
    let validated = validate(&files);
    assert_eq!(validated.code, Some(0), "{}", validated.describe());
    for name in MANIFESTS {
        assert!(validated.stdout.contains(name), "{}", validated.describe());
    }
}

#[test]
fn wrong_twin_a_misspelt_field_fails_validation() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = std::fs::read_to_string(manifest("bench-job.yaml")).expect("bench-job.yaml");
    assert!(text.contains("completionMode: Indexed"));
    let broken = dir.path().join("bench-job.yaml");
    std::fs::write(&broken, text.replace("completionMode:", "completionsMode:")).unwrap();
    let validated = validate(&[broken]);
    let output = format!("{}{}", validated.stdout, validated.stderr);
    assert!(
        validated.code != Some(0) && output.contains("completionsMode"),
        "{}",
        validated.describe()
    );
}

/// Every resource of the example's manifests.
fn resources() -> Vec<Value> {
    MANIFESTS
        .iter()
        .flat_map(|name| {
            let text = std::fs::read_to_string(manifest(name)).expect("a manifest");
            serde_saphyr::from_multiple::<Value>(&text)
                .unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
        })
        .collect()
}

/// The resource of `kind` named `name`.
fn resource<'a>(all: &'a [Value], kind: &str, name: &str) -> &'a Value {
    all.iter()
        .find(|r| r["kind"] == kind && r["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {K8S}"))
}

/// The first container of a workload's pod template.
fn container(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]
}

/// A container's args with `$(NAME)` expanded from `env` (as Kubernetes does) and each
/// mount path replaced by its local directory.
fn expand(
    container: &Value,
    env: &HashMap<String, String>,
    mounts: &[(&str, &Path)],
) -> Vec<String> {
    let args = container["args"]
        .as_array()
        .expect("the container has args");
    args.iter()
        .map(|arg| {
            let mut arg = arg.as_str().expect("args are strings").to_string();
            for (name, value) in env {
                arg = arg.replace(&format!("$({name})"), value);
            }
            for (mount, local) in mounts {
                arg = arg.replace(mount, &local.display().to_string());
            }
            assert!(
                !arg.contains("$("),
                "{arg}: a variable the container does not set"
            );
            arg
        })
        .collect()
}

/// The plain `value:` entries of a container's env.
fn env_values(container: &Value) -> HashMap<String, String> {
    let env = container["env"].as_array().cloned().unwrap_or_default();
    env.iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Writes the ConfigMap's files into `dir`.
fn write_config_map(config_map: &Value, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let data = config_map["data"]
        .as_object()
        .expect("the ConfigMap has data");
    for (name, text) in data {
        std::fs::write(dir.join(name), text.as_str().expect("text")).unwrap();
    }
}

/// The demo server as its Deployment runs it, on a free loopback port.
fn start_server(all: &[Value], scenarios: &Path) -> (Process, String) {
    let server = container(resource(all, "Deployment", "grpc-replay-server"));
    let mut args = expand(server, &HashMap::new(), &[("/scenarios", scenarios)]);
    let listen = args.iter_mut().find(|a| a.as_str() == "0.0.0.0:50051");
    *listen.expect("the server listens on 0.0.0.0:50051") = "127.0.0.1:0".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut process = Process::start("grpc-replay serve (Deployment)", grpc_replay(&args));
    let address = process.listening_address();
    (process, address)
}

/// The bench Job's shards, as the Indexed Job runs them: shard `i` with `SHARD=i`.
fn run_shards(all: &[Value], scenarios: &Path, reports: &Path, target: &str) -> u64 {
    let job = resource(all, "Job", "grpc-replay-bench");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let shards = job["spec"]["completions"].as_u64().expect("completions");
    assert_eq!(
        job["spec"]["parallelism"].as_u64(),
        Some(shards),
        "all shards at once"
    );
    let bench = container(job);
    let index = &bench["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "SHARD");
    assert_eq!(
        index.expect("a SHARD variable")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    let mut env = env_values(bench);
    assert_eq!(
        env.get("TARGET").map(String::as_str),
        Some("grpc-replay-server:50051")
    );
    env.insert("TARGET".into(), target.into());
    env.insert("DURATION".into(), "1s".into());
    let mounts = [("/scenarios", scenarios), ("/reports", reports)];
    let running: Vec<Process> = (0..shards)
        .map(|shard| {
            env.insert("SHARD".into(), shard.to_string());
            let args = expand(bench, &env, &mounts);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Process::start(&format!("bench shard {shard}"), grpc_replay(&args))
        })
        .collect();
    for shard in running {
        let finished = shard.finish(BENCH_LIMIT);
        assert_eq!(finished.code, Some(0), "{}", finished.describe());
    }
    shards
}

#[test]
fn the_indexed_job_and_the_merge_job_run_as_written() {
    let all = resources();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (scenarios, reports) = (dir.path().join("scenarios"), dir.path().join("reports"));
    std::fs::create_dir_all(&reports).unwrap();
    write_config_map(
        resource(&all, "ConfigMap", "grpc-replay-scenarios"),
        &scenarios,
    );
    let (_server, address) = start_server(&all, &scenarios);
    let shards = run_shards(&all, &scenarios, &reports, &address);

    let merge = container(resource(&all, "Job", "grpc-replay-merge"));
    let args = expand(merge, &HashMap::new(), &[("/reports", &reports)]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let merged = Process::run("bench merge (Job)", grpc_replay(&args), BENCH_LIMIT);
    assert_eq!(merged.code, Some(0), "{}", merged.describe());
    assert!(
        merged.stdout.contains(&format!("{shards} reports merged")),
        "{}",
        merged.describe()
    );

    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(reports.join(name)).expect("a report");
        serde_json::from_str(&text).expect("JSON")
    };
    let json = read("merged.json");
    let shard_calls: f64 = (0..shards)
        .map(|shard| number(&read(&format!("shard-{shard}.json")), "/calls/total"))
        .sum();
    assert!(shard_calls > 0.0);
    assert_eq!(number(&json, "/calls/total"), shard_calls, "{json:#}");
    assert_eq!(number(&json, "/calls/failed"), 0.0, "{json:#}");
    assert_eq!(
        json["merged_from"].as_array().map(Vec::len),
        Some(shards as usize)
    );
    assert_eq!(
        json["files"].as_array().map(Vec::len),
        Some(2),
        "both scenarios played"
    );
}

/// A container engine that answers, if any.
fn container_engine() -> Result<&'static str, String> {
    let mut why = Vec::new();
    for engine in ["docker", "podman"] {
        match Command::new(engine).arg("info").output() {
            Ok(output) if output.status.success() => return Ok(engine),
            Ok(output) => why.push(format!(
                "{engine} info: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(e) => why.push(format!("{engine}: {e}")),
        }
    }
    Err(why.join("; "))
}

#[test]
fn the_dockerfile_is_multi_stage_and_builds_where_an_engine_answers() {
    let text = std::fs::read_to_string(manifest("Dockerfile")).expect("the Dockerfile");
    let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(
        stages.len() >= 2 && stages[0].ends_with(" AS builder"),
        "{stages:?}"
    );
    assert!(text.contains("cargo build --release --locked --bin grpc-replay"));
    assert!(text.contains("COPY --from=builder /src/target/release/grpc-replay "));
    assert!(text.contains("ENTRYPOINT [\"grpc-replay\"]"));
    let engine = match container_engine() {
        Ok(engine) => engine,
        Err(why) => {
            eprintln!(
                "skipped building examples/k8s/Dockerfile: no container engine answers ({why})"
            );
            return;
        }
    };
    let tag = "grpc-replay:k8s-example-test";
    let mut build = Command::new(engine);
    build.args(["build", "-f", "examples/k8s/Dockerfile", "-t", tag, "."]);
    build.current_dir(root());
    let built = Process::run("image build", build, Duration::from_secs(1800));
    assert_eq!(built.code, Some(0), "{}", built.describe());
    let mut run = Command::new(engine);
    run.args(["run", "--rm", tag, "--version"]);
    let ran = Process::run("image run", run, Duration::from_secs(120));
    assert!(
        ran.code == Some(0) && ran.stdout.contains("grpc-replay"),
        "{}",
        ran.describe()
    );
}
