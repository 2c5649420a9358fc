//! Descriptors from outside the binary: protosets written by a real `protoc` (grpcio-tools'
//! from PyPI, libprotoc 27+, which writes Editions), Editions `.proto` text compiled through
//! that protoc, and a grpcio peer generated from the same Editions 2023 files that checks,
//! byte for byte, what grpc-replay puts on the wire.
//!
//! The Python side lives in a virtual environment at `target/venv`:
//!   python3 -m venv target/venv && target/venv/bin/pip install grpcio-tools
//! Without it these tests say so on stderr and return, unless GRPC_REPLAY_REQUIRE_PY is set
//! (scripts/test.sh sets it), which turns the skip into a failure.

mod process;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use process::{venv_python, Finished, Process};

/// The grpc-replay binary under test.
const GRPC_REPLAY: &str = env!("CARGO_BIN_EXE_grpc-replay");
/// The Editions 2023 fixtures: shop.proto imports levels.proto.
const EDITIONS_DIR: &str = "tests/fixtures/descriptors/editions";
/// How long one grpc-replay run may take.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The command line that runs grpcio-tools' protoc.
fn protoc_command(python: &Path) -> String {
    format!("{} -m grpc_tools.protoc", python.display())
}

/// Compiles the Editions fixtures with grpcio-tools' protoc into `out`: `shop.pb` (a
/// protoset with imports) and the Python modules of the peer.
fn compile_fixtures(python: &Path, out: &Path) -> PathBuf {
    let protoset = out.join("shop.pb");
    let mut command = Command::new(python);
    command
        .args([
            "-m",
            "grpc_tools.protoc",
            "-I",
            EDITIONS_DIR,
            "--include_imports",
        ])
        .arg(format!("--descriptor_set_out={}", protoset.display()))
        .arg(format!("--python_out={}", out.display()))
        .args(["shop.proto", "levels.proto"])
        .current_dir(root());
    let done = Process::run("grpc_tools.protoc", command, RUN_LIMIT);
    assert_eq!(done.code, Some(0), "{}", done.describe());
    protoset
}

/// Starts the grpcio peer built from shop.proto; returns it and its address.
fn start_shop_server(python: &Path, generated: &Path) -> (Process, String) {
    let mut command = Command::new(python);
    command
        .arg(root().join(EDITIONS_DIR).join("shop_server.py"))
        .arg(generated);
    let mut server = Process::start("shop_server.py (grpcio)", command);
    let address = server.listening_address();
    (server, address)
}

/// Runs grpc-replay with `args` and extra environment variables.
fn grpc_replay(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = process::grpc_replay(args);
    command.envs(env.iter().copied());
    let done = Process::run("grpc-replay", command, RUN_LIMIT);
    assert!(
        !done.stderr.contains("panicked"),
        "grpc-replay panicked\n{}",
        done.describe()
    );
    done
}

fn assert_exit(done: &Finished, code: i32) {
    assert_eq!(done.code, Some(code), "{}", done.describe());
}

/// A protoset from a real protoc, with an Editions 2023 file (explicit presence, a closed
/// enum from 1, packed and expanded repeated fields, a delimited message) importing an
/// implicit-presence one, plays against a grpcio peer built from the same files: the
/// request bytes equal protobuf-python's encoding and the reply reads back. The wrong twin
/// (a zero with explicit presence said not to be sent) fails.
#[test]
fn an_editions_protoset_from_protoc_round_trips_byte_exact_with_a_grpcio_peer() {
    let Some(python) = venv_python() else { return };
    let out = tempfile::tempdir().unwrap();
    let protoset = compile_fixtures(&python, out.path());
    let (_server, address) = start_shop_server(&python, out.path());
    let protoset = protoset.to_str().unwrap();
    let place = format!("{EDITIONS_DIR}/place.yaml");
    let done = grpc_replay(
        &["run", "--protoset", protoset, &place, "-t", &address],
        &[],
    );
    assert_exit(&done, 0);
    assert!(done.stdout.contains("1 passed"), "{}", done.describe());

    let wrong = format!("{EDITIONS_DIR}/place_wrong.yaml");
    let done = grpc_replay(
        &["run", "--protoset", protoset, &wrong, "-t", &address],
        &[],
    );
    assert_exit(&done, 1);
    assert!(
        done.stdout
            .contains("has_count: expected false, received true"),
        "{}",
        done.describe()
    );
}

/// Editions `.proto` text goes through the protoc named by GRPC_REPLAY_PROTOC and plays the
/// same way; `list` shows the service.
#[test]
fn editions_proto_text_compiles_through_protoc_and_plays() {
    let Some(python) = venv_python() else { return };
    let out = tempfile::tempdir().unwrap();
    compile_fixtures(&python, out.path());
    let (_server, address) = start_shop_server(&python, out.path());
    let protoc = protoc_command(&python);
    let env = [("GRPC_REPLAY_PROTOC", protoc.as_str())];
    let proto = format!("{EDITIONS_DIR}/shop.proto");
    let place = format!("{EDITIONS_DIR}/place.yaml");
    let done = grpc_replay(&["run", "--proto", &proto, &place, "-t", &address], &env);
    assert_exit(&done, 0);
    let done = grpc_replay(&["list", "--proto", &proto], &env);
    assert_exit(&done, 0);
    assert!(
        done.stdout.contains("editions.shop.Shop/Place"),
        "{}",
        done.describe()
    );
    // A proto3 file whose import is an Editions file.
    let importer = format!("{EDITIONS_DIR}/uses_levels.proto");
    let done = grpc_replay(&["describe", "uses.U", "--proto", &importer], &env);
    assert_exit(&done, 0);
    assert!(
        done.stdout.contains(".editions.levels.Level l = 1;"),
        "{}",
        done.describe()
    );
}

/// Without a protoc that reads Editions, the error names the file and the line of its
/// `edition` statement and says how to get past it (--protoset).
#[test]
fn editions_text_without_protoc_is_a_located_error_that_suggests_a_protoset() {
    let proto = format!("{EDITIONS_DIR}/shop.proto");
    let env = [("GRPC_REPLAY_PROTOC", "/nonexistent/protoc")];
    let done = grpc_replay(&["list", "--proto", &proto], &env);
    assert_exit(&done, 2);
    assert!(
        done.stderr.contains(&format!("{proto}:5:")) && done.stderr.contains("--protoset"),
        "{}",
        done.describe()
    );
}

/// A scenario names its protoset with `protoset:` (relative to the file); a file that is
/// not a descriptor set is refused with its name.
#[test]
fn the_protoset_key_loads_and_a_broken_protoset_is_refused() {
    let Some(python) = venv_python() else { return };
    let out = tempfile::tempdir().unwrap();
    let protoset = compile_fixtures(&python, out.path());
    let scenario = out.path().join("check.yaml");
    std::fs::write(
        &scenario,
        "protoset: shop.pb\ncall: editions.shop.Shop/Place\nscript:\n  - client: {count: 1}\n  \
         - server: {has_count: true}\n",
    )
    .unwrap();
    let done = grpc_replay(&["check", scenario.to_str().unwrap()], &[]);
    assert_exit(&done, 0);

    std::fs::write(&protoset, b"\x0a\x05not a descriptor").unwrap();
    let done = grpc_replay(&["check", scenario.to_str().unwrap()], &[]);
    assert_exit(&done, 2);
    assert!(
        done.stderr.contains("shop.pb") && done.stderr.contains("FileDescriptorSet"),
        "{}",
        done.describe()
    );
}

/// A descriptor set whose `syntax` prost-reflect does not know (it panics on those) is a
/// clear error.
#[test]
fn an_unknown_syntax_is_an_error_not_a_panic() {
    let out = tempfile::tempdir().unwrap();
    let protoset = out.path().join("odd.pb");
    // FileDescriptorSet { file: [FileDescriptorProto { name: "odd.proto", syntax: "proto4" }] }
    let mut file = vec![0x0a, 9];
    file.extend(b"odd.proto");
    file.extend([0x62, 6]);
    file.extend(b"proto4");
    let mut set = vec![0x0a, file.len() as u8];
    set.extend(file);
    std::fs::write(&protoset, set).unwrap();
    let done = grpc_replay(&["list", "--protoset", protoset.to_str().unwrap()], &[]);
    assert_exit(&done, 2);
    assert!(
        done.stderr.contains("odd.proto: unknown syntax `proto4`"),
        "{}",
        done.describe()
    );
}

/// The reflection fixtures: vault.proto is not bundled; vault.yaml serves it.
const REFLECT_DIR: &str = "tests/fixtures/descriptors/reflect";

/// Starts `grpc-replay serve` on a free port with `extra` flags; returns it and its address.
fn serve_vault(extra: &[&str]) -> (Process, String) {
    let mut command = Command::new(GRPC_REPLAY);
    command
        .args([
            "serve",
            &format!("{REFLECT_DIR}/vault.yaml"),
            "-l",
            "127.0.0.1:0",
        ])
        .args(extra)
        .current_dir(root())
        .env("NO_COLOR", "1");
    let mut server = Process::start("grpc-replay serve", command);
    let address = server.listening_address();
    (server, address)
}

/// `run --reflect` and a file's `reflect: true` play a service whose protos only the server
/// has; `list` and `describe` read it too. Without reflection the same file does not load,
/// and the error says how to load its protos; a wrong expectation fails against it.
#[test]
fn reflection_from_grpc_replay_serve_loads_a_service_that_is_not_bundled() {
    let (_server, address) = serve_vault(&[]);
    let client = format!("{REFLECT_DIR}/vault_client.yaml");
    let done = grpc_replay(&["run", "--reflect", "-t", &address, &client], &[]);
    assert_exit(&done, 0);
    assert!(done.stdout.contains("2 passed"), "{}", done.describe());
    let key = format!("{REFLECT_DIR}/vault_reflect_key.yaml");
    assert_exit(&grpc_replay(&["run", "-t", &address, &key], &[]), 0);

    let wrong = format!("{REFLECT_DIR}/vault_wrong.yaml");
    let done = grpc_replay(&["run", "-t", &address, &wrong], &[]);
    assert_exit(&done, 1);
    assert!(
        done.stdout
            .contains(r#"room: expected "north", received "east""#),
        "{}",
        done.describe()
    );

    let done = grpc_replay(&["run", "-t", &address, &client], &[]);
    assert_exit(&done, 2);
    assert!(
        done.stderr.contains("--reflect") && done.stderr.contains("--protoset"),
        "{}",
        done.describe()
    );

    let done = grpc_replay(&["list", "--reflect", "-t", &address], &[]);
    assert_exit(&done, 0);
    assert!(
        done.stdout.contains("vault.v1.Vault/Watch") && done.stdout.contains("server-streaming"),
        "{}",
        done.describe()
    );
    let done = grpc_replay(
        &["describe", "vault.v1.Key", "--reflect", "-t", &address],
        &[],
    );
    assert_exit(&done, 0);
    assert_eq!(
        done.stdout,
        "vault.v1.Key is a message:\nmessage Key {\n  string owner = 1;\n  optional int32 pin = 2;\n}\n"
    );
}

/// A server that does not answer reflection gets an error that names --proto and
/// --protoset.
#[test]
fn a_server_without_reflection_gets_advice_to_load_protos() {
    let (_server, address) = serve_vault(&["--no-reflection"]);
    let done = grpc_replay(&["list", "--reflect", "-t", &address], &[]);
    assert_ne!(done.code, Some(0), "{}", done.describe());
    assert!(
        done.stderr
            .contains("does not answer gRPC server reflection")
            && done.stderr.contains("--proto FILE or --protoset FILE"),
        "{}",
        done.describe()
    );
}

/// The Go seed servers register grpc-go's reflection (current: v1; 1.33: v1alpha only, so
/// the fallback is exercised): `list --reflect` and `run --reflect` work against both.
#[test]
fn reflection_from_go_seed_servers_v1_and_v1alpha() {
    for binary in ["seed-server", "seed-server-1.33"] {
        let Some(path) = process::go_peer(binary) else {
            continue;
        };
        let mut server = Process::start(binary, Command::new(&path));
        let address = server.listening_address();
        let done = grpc_replay(&["list", "--reflect", "-t", &address], &[]);
        assert_exit(&done, 0);
        assert!(
            done.stdout.contains("routeguide.RouteGuide/RouteChat"),
            "{binary}: {}",
            done.describe()
        );
        let done = grpc_replay(
            &["run", "--reflect", "-t", &address, "scenarios/routeguide"],
            &[],
        );
        assert_exit(&done, 0);
        let wrong = "tests/fixtures/go/maximum_wrong.yaml";
        let done = grpc_replay(&["run", "--reflect", "-t", &address, wrong], &[]);
        assert_exit(&done, 1);
    }
}

/// A self-signed certificate for localhost and 127.0.0.1 made by `openssl` in `dir`
/// (`cert.pem`, `key.pem`), or `None` (said on stderr) without openssl.
fn self_signed_certificate(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .is_ok_and(|o| o.status.success());
    if !made {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: openssl cannot make a certificate"
        );
        return None;
    }
    Some((cert, key))
}

/// Reflection over TLS uses the TLS flags: `list` and `run` with --cacert read a TLS
/// server's reflection; without TLS the same server cannot be asked.
#[test]
fn reflection_over_tls_uses_the_tls_flags() {
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed_certificate(dir.path()) else {
        return;
    };
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let (_server, address) = serve_vault(&["--tls-cert", cert, "--tls-key", key]);
    let port = address.rsplit_once(':').unwrap().1;
    let target = format!("localhost:{port}");
    let done = grpc_replay(&["list", "--reflect", "-t", &target, "--cacert", cert], &[]);
    assert_exit(&done, 0);
    assert!(
        done.stdout.contains("vault.v1.Vault/Open"),
        "{}",
        done.describe()
    );
    let client = format!("{REFLECT_DIR}/vault_client.yaml");
    let run = ["run", "--reflect", "-t", &target, "--cacert", cert, &client];
    assert_exit(&grpc_replay(&run, &[]), 0);
    let done = grpc_replay(&["list", "--reflect", "-t", &target], &[]);
    assert_exit(&done, 3);
}
