//! `grpc-replay bench` over mutual TLS, against `grpc-replay serve` with a certificate of
//! a test CA made for the run (rcgen): the same flags as `run`.

mod bench_support;
mod process;

use std::path::{Path, PathBuf};

use bench_support::{finish_bench, grpc_replay, number, start_bench, BENCH_LIMIT};
use process::Process;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

/// A unary call the server answers and the client checks.
const SCENARIO: &str = "tests/fixtures/bench/unary.yaml";
/// The name in the server's certificate (the target is 127.0.0.1, so `--authority` says it).
const SERVER_NAME: &str = "bench.test";

/// PEM files of a test CA, a server certificate for [`SERVER_NAME`] and a client
/// certificate, both signed by the CA.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "bench test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("a CA key"))
            .expect("the CA certificate");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write ca.pem");
        for (name, san, usage) in [
            ("server", SERVER_NAME, ExtendedKeyUsagePurpose::ServerAuth),
            (
                "client",
                "bench-client",
                ExtendedKeyUsagePurpose::ClientAuth,
            ),
        ] {
            let key = KeyPair::generate().expect("a key");
            let mut params = CertificateParams::new(vec![san.to_string()]).expect("parameters");
            params.extended_key_usages = vec![usage];
            let cert = params.signed_by(&key, &ca).expect("a signed certificate");
            std::fs::write(dir.path().join(format!("{name}.pem")), cert.pem()).expect("write");
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem())
                .expect("write");
        }
        Pki { dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// `serve SCENARIO` with the server certificate, asking clients for one of the CA's.
fn serve_mutual_tls(pki: &Pki) -> (Process, String) {
    let (cert, key, ca) = (
        pki.file("server.pem"),
        pki.file("server.key"),
        pki.file("ca.pem"),
    );
    let args = [
        "serve",
        SCENARIO,
        "--listen",
        "127.0.0.1:0",
        "--color",
        "never",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--client-ca",
        &ca,
    ];
    let mut server = Process::start("grpc-replay serve (TLS)", grpc_replay(&args));
    let address = server.listening_address();
    (server, address)
}

fn report_in(pki: &Pki) -> PathBuf {
    pki.dir.path().join("report.json")
}

#[test]
fn bench_calls_a_mutual_tls_server_with_the_run_flags() {
    let pki = Pki::new();
    let (mut server, address) = serve_mutual_tls(&pki);
    let (ca, cert, key) = (
        pki.file("ca.pem"),
        pki.file("client.pem"),
        pki.file("client.key"),
    );
    let args = [
        SCENARIO,
        "--target",
        &address,
        "-n",
        "20",
        "-c",
        "4",
        "--cacert",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
        "--authority",
        SERVER_NAME,
    ];
    let report = report_in(&pki);
    let (_, json) = finish_bench(start_bench(&args, &report), &report, 0, &mut server);
    assert_eq!(number(&json, "/calls/total"), 20.0, "{json:#}");
    assert_eq!(number(&json, "/calls/passed"), 20.0, "{json:#}");
    assert_eq!(number(&json, "/message_latency_ms/count"), 20.0, "{json:#}");
}

/// Runs bench with `tls_args` against the mutual-TLS server: it must fail to call it.
fn bench_is_refused(pki: &Pki, tls_args: &[&str]) {
    let (mut server, address) = serve_mutual_tls(pki);
    let args = [&[SCENARIO, "--target", &address, "-n", "5"], tls_args].concat();
    let report = report_in(pki);
    let finished = start_bench(&args, &report).finish(BENCH_LIMIT);
    assert!(
        finished.code == Some(3) && !finished.stderr.contains("panicked"),
        "expected bench to fail with exit 3 (transport)\n{}\n{}",
        finished.describe(),
        server.output_so_far()
    );
    assert_no_passed_calls(&report);
}

/// A failed bench wrote no report (the file is made, empty, before connecting), or one
/// without a passed call.
fn assert_no_passed_calls(report: &Path) {
    let text = std::fs::read_to_string(report).unwrap_or_default();
    if !text.is_empty() {
        let json: serde_json::Value = serde_json::from_str(&text).expect("a JSON report");
        assert_eq!(number(&json, "/calls/passed"), 0.0, "{json:#}");
    }
}

#[test]
fn wrong_twin_without_the_client_certificate_the_server_refuses() {
    let pki = Pki::new();
    let ca = pki.file("ca.pem");
    bench_is_refused(&pki, &["--cacert", &ca, "--authority", SERVER_NAME]);
}

#[test]
fn wrong_twin_without_the_test_ca_the_server_is_not_trusted() {
    let pki = Pki::new();
    let (cert, key) = (pki.file("client.pem"), pki.file("client.key"));
    bench_is_refused(
        &pki,
        &[
            "--tls",
            "--cert",
            &cert,
            "--key",
            &key,
            "--authority",
            SERVER_NAME,
        ],
    );
}
