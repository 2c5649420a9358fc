//! Values are exactly what the file and the flags say. `grpc-replay run` sends values from
//! `--var`, `--vars-file`, the environment, `vars:` and captures, in flow and block style,
//! to a recording Chat server in this process, which compares what arrived on the wire
//! with the values the test chose. The property test feeds arbitrary strings; the other
//! tests pin each bug of the values issue.

mod support;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use futures::{Stream, StreamExt};
use proptest::prelude::*;
use support::process::{Finished, Process};
use support::proto::unpackaged::chat_server::{Chat, ChatServer};
use support::proto::unpackaged::ChatMessage;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};

const FIXTURES: &str = "tests/fixtures/values";
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// One call as the recording server received it.
#[derive(Debug, Clone, Default)]
struct Received {
    /// Request metadata with text values.
    metadata: HashMap<String, String>,
    /// The messages, in order.
    messages: Vec<(String, String)>,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// Chat that records every call; a message named `echo` is answered with its `message`.
struct RecordingChat(Log);

#[tonic::async_trait]
impl Chat for RecordingChat {
    type chatStream = Pin<Box<dyn Stream<Item = Result<String, Status>> + Send>>;

    async fn chat(
        &self,
        request: Request<Streaming<ChatMessage>>,
    ) -> Result<Response<Self::chatStream>, Status> {
        let metadata = request
            .metadata()
            .iter()
            .filter_map(|entry| match entry {
                tonic::metadata::KeyAndValueRef::Ascii(k, v) => {
                    Some((k.to_string(), v.to_str().ok()?.to_string()))
                }
                tonic::metadata::KeyAndValueRef::Binary(..) => None,
            })
            .collect();
        let index = {
            let mut log = self.0.lock().unwrap();
            log.push(Received {
                metadata,
                messages: Vec::new(),
            });
            log.len() - 1
        };
        let log = self.0.clone();
        let replies = request.into_inner().filter_map(move |message| {
            let log = log.clone();
            async move {
                match message {
                    Ok(m) => {
                        log.lock().unwrap()[index]
                            .messages
                            .push((m.name.clone(), m.message.clone()));
                        (m.name == "echo").then_some(Ok(m.message))
                    }
                    Err(status) => Some(Err(status)),
                }
            }
        });
        Ok(Response::new(Box::pin(replies)))
    }
}

/// The recording server on its own thread, one per test (they run in parallel); dropping
/// it stops it.
struct Recorder {
    addr: SocketAddr,
    log: Log,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let log = Log::default();
        let service = ChatServer::new(RecordingChat(log.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Recorder {
            addr,
            log,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The calls received since the last time.
    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut self.log.lock().unwrap())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A YAML double-quoted scalar for any text, written independently of grpc-replay:
/// everything but printable ASCII is escaped.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => write!(out, "\\u{:04X}", c as u32).unwrap(),
            c => write!(out, "\\U{:08X}", c as u32).unwrap(),
        }
    }
    out.push('"');
    out
}

/// Values for each source of one run of the client.
#[derive(Debug, Clone, Default)]
struct Case {
    cli: Vec<String>,
    vars_file: Vec<String>,
    env: Vec<String>,
    vars: Vec<String>,
    captured: Vec<String>,
    /// Whether the `vars:` section and the variables file are written in flow style.
    flow_sources: bool,
}

impl Case {
    /// Every variable with its value, in the order the client sends them.
    fn variables(&self) -> Vec<(String, &String)> {
        [
            named("VC", &self.cli),
            named("VF", &self.vars_file),
            named("VE", &self.env),
            named("VV", &self.vars),
            named("CV", &self.captured),
        ]
        .concat()
    }
}

/// Values named `PREFIX_0`, `PREFIX_1`…
fn named<'a>(prefix: &str, values: &'a [String]) -> Vec<(String, &'a String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{prefix}_{i}"), v))
        .collect()
}

/// A scenario's literal for a text: `${` escaped as `$${`.
fn literal(text: &str) -> String {
    quoted(&text.replace("${", "$${"))
}

/// A mapping of names to values, in flow or block style; `write` writes each value.
fn mapping(
    entries: &[(String, &String)],
    flow: bool,
    indent: &str,
    write: fn(&str) -> String,
) -> String {
    let items = entries.iter().map(|(k, v)| format!("{k}: {}", write(v)));
    if flow {
        format!(
            "{{{}}}\n",
            items.collect::<Vec<_>>().join(&format!(",\n{indent}  "))
        )
    } else {
        items.map(|i| format!("\n{indent}{i}")).collect::<String>() + "\n"
    }
}

/// The client's scenario: captures first (echoed by the server), then each variable sent
/// twice, in flow style (quoted) and in block style (plain), with text around it.
fn client_file(case: &Case) -> String {
    let vars = named("VV", &case.vars);
    let mut file = String::from("# ${NOT_A_VARIABLE} in a comment\ncall: Chat/chat\n");
    if !vars.is_empty() {
        file += "vars: ";
        file += &mapping(&vars, case.flow_sources, "  ", literal);
    }
    file += "script:\n";
    for (i, value) in case.captured.iter().enumerate() {
        writeln!(
            file,
            "  - client: {{name: echo, message: {}}}",
            literal(value)
        )
        .unwrap();
        writeln!(
            file,
            "  - server: {{$any: true}}\n    capture: {{CV_{i}: value}}"
        )
        .unwrap();
    }
    for (name, _) in case.variables() {
        writeln!(
            file,
            "  - client: {{name: \"${{{name}}}\", message: '<${{{name}}}>'}}"
        )
        .unwrap();
        writeln!(
            file,
            "  - client:\n      name: ${{{name}}}\n      message: <${{{name}}}>"
        )
        .unwrap();
    }
    file
}

/// What the server must receive for a case.
fn expected(case: &Case) -> Vec<(String, String)> {
    let echoes = case
        .captured
        .iter()
        .map(|v| ("echo".to_string(), v.clone()));
    let sent = case.variables().into_iter().flat_map(|(_, v)| {
        let pair = (v.clone(), format!("<{v}>"));
        [pair.clone(), pair]
    });
    echoes.chain(sent).collect()
}

/// Runs the client for a case against the recorder and returns what the server received.
fn play(recorder: &Recorder, case: &Case, extra: &[&str]) -> (Finished, Vec<Received>) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("values.yaml");
    std::fs::write(&scenario, client_file(case)).unwrap();
    let vars_file = dir.path().join("vars.yaml");
    let file_vars = named("VF", &case.vars_file);
    std::fs::write(
        &vars_file,
        mapping(&file_vars, case.flow_sources, "", quoted),
    )
    .unwrap();
    let mut command = support::process::grpc_replay(&[]);
    command
        .arg("run")
        .arg(&scenario)
        .arg("--vars-file")
        .arg(&vars_file);
    command.args(["--target", &recorder.addr.to_string(), "--color", "never"]);
    command.args(extra);
    for (i, value) in case.cli.iter().enumerate() {
        command.arg("--var").arg(format!("VC_{i}={value}"));
    }
    for (i, value) in case.env.iter().enumerate() {
        command.env(format!("VE_{i}"), value);
    }
    let finished = Process::run("grpc-replay run", command, RUN_LIMIT);
    (finished, recorder.take())
}

/// Plays a case and checks the bytes that arrived: exactly the values.
fn assert_arrive_exactly(recorder: &Recorder, case: &Case) -> Result<(), TestCaseError> {
    let (finished, received) = play(recorder, case, &[]);
    prop_assert_eq!(finished.code, Some(0), "{}", finished.describe());
    prop_assert_eq!(received.len(), 1, "{}", finished.describe());
    let want = expected(case);
    let got = &received[0].messages;
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        prop_assert_eq!(w, g, "message {} differs", i);
    }
    prop_assert_eq!(want.len(), got.len());
    Ok(())
}

/// Any text but NUL (which neither arguments nor the environment can carry), mixing
/// arbitrary characters with the pieces that break text substitution.
fn value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<char>()
            .prop_filter("no NUL", |c| *c != '\0')
            .prop_map(String::from),
        prop::sample::select(vec![
            "\"", "'", "\\", "#", " # ", ": ", " ", "\n", "\t", "\r\n", "${", "$${", "${X}",
            "$${X}", "}", "$", "- ", "* ", "&a ", "*a", "!tag ", "|", ">", "@", "`", "{", "[", ",",
            "%", "~", "null", "NO", "yes", "01234", "0x1F", "1e3", ".inf", "\u{85}", "\u{2028}",
            "\u{FEFF}", "é", "😀", "\u{7F}", "\u{1B}",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

fn values() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(value(), 1..40)
}

fn case() -> impl Strategy<Value = Case> {
    (
        values(),
        values(),
        values(),
        values(),
        values(),
        any::<bool>(),
    )
        .prop_map(|(cli, vars_file, env, vars, captured, flow_sources)| Case {
            cli,
            vars_file,
            env,
            vars,
            captured,
            flow_sources,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_values_arrive_exactly_from_every_source(case in case()) {
        let recorder = Recorder::start();
        assert_arrive_exactly(&recorder, &case)?;
    }
}

/// The values of the issue, each through every source.
fn issue_values() -> Vec<String> {
    [
        "a\"b",
        "C:\\temp\\new",
        "two\nlines",
        "hello # not a comment",
        "NO",
        "01234",
        "abc\", x-admin: \"true",
        "Sam\", message: \"hi\"} #",
        "${X}",
        "$${X}",
        " padded ",
        "",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn the_values_of_the_issue_arrive_exactly_from_every_source() {
    let values = issue_values();
    for flow_sources in [false, true] {
        let case = Case {
            cli: values.clone(),
            vars_file: values.clone(),
            env: values.clone(),
            vars: values.clone(),
            captured: values.clone(),
            flow_sources,
        };
        assert_arrive_exactly(&Recorder::start(), &case).unwrap();
    }
}

#[test]
fn a_changed_value_is_caught_by_the_receiving_side() {
    // The wrong twin of the tests above: the check compares what arrived.
    let recorder = Recorder::start();
    let case = Case {
        cli: vec!["sent".into()],
        ..Case::default()
    };
    let mut wrong = case.clone();
    wrong.cli = vec!["sent ".into()];
    let (finished, received) = play(&recorder, &case, &[]);
    assert_eq!(finished.code, Some(0), "{}", finished.describe());
    assert_eq!(received[0].messages, expected(&case));
    assert_ne!(received[0].messages, expected(&wrong));
}

#[test]
fn a_value_cannot_add_a_header() {
    let recorder = Recorder::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.yaml");
    std::fs::write(
        &file,
        "call: Chat/chat\nmetadata:\n  authorization: ${TOKEN}\nscript:\n  - client: {name: a, message: b}\n",
    )
    .unwrap();
    let token = "abc\", x-admin: \"true";
    let mut command = support::process::grpc_replay(&[]);
    command.arg("run").arg(&file);
    command.args(["--target", &recorder.addr.to_string()]);
    command.arg("--var").arg(format!("TOKEN={token}"));
    let finished = Process::run("grpc-replay run", command, RUN_LIMIT);
    assert_eq!(finished.code, Some(0), "{}", finished.describe());
    let received = recorder.take();
    assert_eq!(
        received[0]
            .metadata
            .get("authorization")
            .map(String::as_str),
        Some(token)
    );
    assert!(!received[0].metadata.contains_key("x-admin"));
}

fn grpc_replay(args: &[&str]) -> Finished {
    let command = support::process::grpc_replay(args);
    Process::run("grpc-replay", command, RUN_LIMIT)
}

fn fixture(name: &str) -> String {
    Path::new(FIXTURES).join(name).display().to_string()
}

#[test]
fn comments_are_not_templates_and_double_dollar_escapes_captured_names() {
    let recorder = Recorder::start();
    let target = recorder.addr.to_string();
    let out = grpc_replay(&[
        "run",
        &fixture("comment_and_escape.yaml"),
        "--target",
        &target,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let messages = &recorder.take()[0].messages;
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        messages,
        &[
            pair("${tok}", "before the capture"),
            pair("echo", "AAAA"),
            pair("literal ${tok}", "AAAA")
        ]
    );
}

#[test]
fn captured_values_of_every_kind_round_trip_exactly() {
    let out = grpc_replay(&[
        "run",
        "--loopback",
        &fixture("round_trip.yaml"),
        "--color",
        "never",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("2 passed"), "{}", out.describe());
    // The wrong twin: one nanosecond off is a mismatch.
    let out = grpc_replay(&[
        "run",
        "--loopback",
        &fixture("round_trip_wrong.yaml"),
        "--color",
        "never",
    ]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(out.stdout.contains("at"), "{}", out.describe());
}

fn assert_load_error(args: &[&str], at: &str, gist: &str) {
    let out = grpc_replay(args);
    let all = out.describe();
    assert_eq!(out.code, Some(2), "{all}");
    assert!(all.contains(at), "expected {at}: {all}");
    assert!(all.contains(gist), "expected {gist}: {all}");
    assert!(!all.contains("panicked"), "{all}");
}

#[test]
fn a_captured_bytes_field_beside_a_matcher_is_a_load_error_not_a_panic() {
    let file = fixture("bytes_beside_matcher.yaml");
    let at = "bytes_beside_matcher.yaml:11:38";
    assert_load_error(&["run", "--loopback", &file], at, "holds a matcher");
    assert_load_error(&["check", "--role", "client", &file], at, "holds a matcher");
    // The server role only checks that message: it plays.
    let out = grpc_replay(&["check", "--role", "server", &file]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
}

#[test]
fn what_cannot_work_is_a_load_error() {
    assert_load_error(
        &["check", &fixture("two_oneof_members.yaml")],
        "two_oneof_members.yaml:4:25",
        "`left` and `right` are both members of oneof `choice`",
    );
    assert_load_error(
        &["check", &fixture("server_first_on_unary.yaml")],
        "server_first_on_unary.yaml:3:5",
        "put `client: {...}` before this `server:` step",
    );
}

#[test]
fn errors_point_at_the_file_as_written_and_name_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("columns.yaml");
    std::fs::write(
        &file,
        "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: \"${LAT}\", longitud: 1}\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let long = format!("{}1", "0".repeat(40));
    assert_load_error(
        &["check", &path, "--var", &format!("LAT={long}")],
        "columns.yaml:3:34",
        "unknown field `longitud`",
    );
    std::fs::write(
        &file,
        "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: \"${LAT}\"}\n",
    )
    .unwrap();
    assert_load_error(
        &["check", &path, "--var", "LAT=north"],
        "columns.yaml:3:24",
        "`${LAT}` is \"north\" (from --var)",
    );
    std::fs::write(
        &file,
        "call: routeguide.RouteGuide/GetFeature\nscript:\n  - client: {latitude: ${LAT}}\n",
    )
    .unwrap();
    assert_load_error(
        &["check", &path, "--var", "LAT=1"],
        "columns.yaml:3:25",
        "a `${NAME}` must be quoted",
    );
}
