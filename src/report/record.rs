//! What `grpc-replay record` tells people: the readiness line, a line per recorded call
//! (and a warning when its file could not be written), a warning per failed connection,
//! and the summary when recording stops. One renderer for every [`RecordEvent`].

use std::net::SocketAddr;
use std::path::Path;

use super::twins::twins_warning;
use super::Stream;
use crate::record::{Ending, NotWritten, Recording, Side, Unwritten};
use crate::server::Twins;

/// Something that happened while recording, to be shown.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RecordEvent<'a> {
    /// The listener is bound.
    Listening(SocketAddr),
    /// A call finished and was written (or not).
    Recorded(&'a Recording),
    /// A client's connection was closed because the upstream could not be reached or
    /// spoken to (`error` says why).
    ConnectionFailed {
        /// The client's address.
        client: SocketAddr,
        /// What went wrong.
        error: &'a str,
    },
    /// Two recordings in the output folder that a server cannot tell apart.
    Twins(&'a Twins),
    /// Recording stopped: every call recorded, and the folder written to.
    Stopped {
        /// The calls recorded.
        recordings: &'a [Recording],
        /// The output folder.
        out: &'a Path,
    },
}

/// One line of output and the stream it belongs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordLine {
    /// Standard output for progress, standard error for warnings.
    pub stream: Stream,
    /// The text, without its newline.
    pub text: String,
}

/// The lines that show `event`.
pub(crate) fn record_lines(event: &RecordEvent) -> Vec<RecordLine> {
    let out = |text| RecordLine {
        stream: Stream::Stdout,
        text,
    };
    let warning = |text| RecordLine {
        stream: Stream::Stderr,
        text: format!("warning: {text}"),
    };
    match event {
        RecordEvent::Listening(address) => vec![out(format!("listening on {address}"))],
        RecordEvent::Recorded(recording) => {
            let mut lines = vec![out(call_line(recording))];
            if let Err(unwritten) = &recording.file {
                lines.push(warning(why_unwritten(&recording.path, unwritten)));
            }
            lines
        }
        RecordEvent::ConnectionFailed { client, error } => {
            vec![warning(format!("connection from {client} closed: {error}"))]
        }
        RecordEvent::Twins(twins) => vec![warning(format!(
            "{}; keep such recordings in separate folders, or record the fields that differ \
             with --loose",
            twins_warning(twins)
        ))],
        RecordEvent::Stopped {
            recordings,
            out: folder,
        } => {
            vec![out(summary(recordings, folder))]
        }
    }
}

/// `recorded calculator.CalculatorService/Maximum: 5 → 4 messages, OK → recordings/0001-Maximum.yaml`.
fn call_line(recording: &Recording) -> String {
    let ending = match &recording.ending {
        Ending::Status(code) => code.name(),
        Ending::Cancelled(reason) => format!("cancelled by the client ({reason:?})"),
        Ending::Reset(reason) => format!("reset by the server ({reason:?})"),
        Ending::Unfinished => "no status".to_string(),
    };
    let file = match &recording.file {
        Ok(path) => path.display().to_string(),
        Err(_) => "not written".to_string(),
    };
    format!(
        "recorded {}: {} → {} messages, {ending} → {file}",
        recording.path.trim_start_matches('/'),
        recording.client_messages,
        recording.server_messages
    )
}

/// Why a call has no file, saying what would fix it.
fn why_unwritten(path: &str, unwritten: &Unwritten) -> String {
    let call = path.trim_start_matches('/');
    let not_written = format!("{call} was forwarded but not written");
    match unwritten {
        Unwritten::Call(NotWritten::NoDescriptor { .. }) => format!(
            "{not_written}: no loaded proto defines it; pass the .proto that declares service \
             {} with --proto (and -I for its imports)",
            call.split('/').next().unwrap_or(call)
        ),
        Unwritten::Call(NotWritten::ServerReset(reason)) => format!(
            "{not_written}: the server reset the stream ({reason:?}), which a scenario cannot \
             express"
        ),
        Unwritten::Call(NotWritten::Undecodable { side, index, error }) => {
            let side = match side {
                Side::Client => "client",
                Side::Server => "server",
            };
            format!("{not_written}: {side} message {index} does not decode ({error})")
        }
        Unwritten::Io(file, error) => format!(
            "{call} was forwarded but {} could not be written: {error}",
            file.display()
        ),
    }
}

/// The closing line: calls recorded, files written, calls without a file.
fn summary(recordings: &[Recording], out: &Path) -> String {
    let written = recordings.iter().filter(|r| r.file.is_ok()).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "{} call{} recorded: {written} file{} written in {}, {} not written",
        recordings.len(),
        plural(recordings.len()),
        plural(written),
        out.display(),
        recordings.len() - written
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use h2::Reason;

    use super::*;
    use crate::scenario::StatusCode;

    /// Where the pinned output lives; `GOLDEN_BLESS=1` rewrites it.
    const GOLDEN: &str = "tests/golden/record_lines.txt";

    fn recording(path: &str, ending: Ending, file: Result<&str, Unwritten>) -> Recording {
        Recording {
            path: path.to_string(),
            client_messages: 5,
            server_messages: 1,
            ending,
            file: file.map(PathBuf::from),
        }
    }

    /// A recording session that meets every ending and every reason for no file.
    fn session() -> Vec<Recording> {
        let no_proto = NotWritten::NoDescriptor {
            path: "/greet.GreetService/GreetEveryone".into(),
        };
        let undecodable = NotWritten::Undecodable {
            side: Side::Server,
            index: 2,
            error: "buffer underflow".into(),
        };
        let io = Unwritten::Io("out/0006-hello.yaml".into(), "disk full".into());
        vec![
            recording(
                "/calculator.CalculatorService/Maximum",
                Ending::Status(StatusCode(0)),
                Ok("out/0001-Maximum.yaml"),
            ),
            recording(
                "/Chat/chat",
                Ending::Cancelled(Reason::STREAM_CLOSED),
                Ok("out/0002-chat.yaml"),
            ),
            recording(
                "/greet.GreetService/GreetEveryone",
                Ending::Status(StatusCode(14)),
                Err(Unwritten::Call(no_proto)),
            ),
            recording(
                "/Chat/chat",
                Ending::Reset(Reason::INTERNAL_ERROR),
                Err(Unwritten::Call(NotWritten::ServerReset(
                    Reason::INTERNAL_ERROR,
                ))),
            ),
            recording(
                "/HelloWorld/hello",
                Ending::Unfinished,
                Err(Unwritten::Call(undecodable)),
            ),
            recording("/HelloWorld/hello", Ending::Status(StatusCode(0)), Err(io)),
        ]
    }

    /// Every line of a session, each marked with its stream.
    fn rendered(recordings: &[Recording]) -> String {
        let client = "127.0.0.1:40000".parse().expect("an address");
        let mut events = vec![RecordEvent::Listening(
            "127.0.0.1:50052".parse().expect("an address"),
        )];
        events.extend(recordings.iter().map(RecordEvent::Recorded));
        events.push(RecordEvent::ConnectionFailed {
            client,
            error: "cannot connect to upstream 127.0.0.1:1: Connection refused (os error 111)",
        });
        let out = Path::new("out");
        events.push(RecordEvent::Stopped { recordings, out });
        events.push(RecordEvent::Stopped {
            recordings: &recordings[..1],
            out,
        });
        let recorded = |name: &str| crate::server::ScriptRef {
            file: out.join(name),
            call_id: "call".into(),
            line: 3,
        };
        let twins = Twins {
            method: "/calculator.CalculatorService/Maximum".into(),
            first: recorded("0001-Maximum.yaml"),
            second: recorded("0002-Maximum.yaml"),
        };
        events.push(RecordEvent::Twins(&twins));
        let mut text = String::new();
        for line in events.iter().flat_map(record_lines) {
            let stream = match line.stream {
                Stream::Stdout => "out",
                Stream::Stderr => "err",
            };
            text.push_str(&format!("{stream}| {}\n", line.text));
        }
        text
    }

    #[test]
    fn the_lines_of_a_recording_session_match_the_golden_file() {
        let actual = rendered(&session());
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if std::env::var_os("GOLDEN_BLESS").is_some() {
            std::fs::write(&path, &actual).expect("the golden file is written");
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{GOLDEN}: {e} (GOLDEN_BLESS=1 writes it)"));
        assert_eq!(actual, expected, "GOLDEN_BLESS=1 rewrites {GOLDEN}");
    }

    /// The twin: a session whose every call was written has no warning and says so.
    #[test]
    fn a_session_without_failures_warns_of_nothing() {
        let all_written = &session()[..2];
        let lines: Vec<RecordLine> = all_written
            .iter()
            .map(RecordEvent::Recorded)
            .flat_map(|e| record_lines(&e))
            .collect();
        assert!(
            lines.iter().all(|l| l.stream == Stream::Stdout),
            "{lines:?}"
        );
        let summary = record_lines(&RecordEvent::Stopped {
            recordings: all_written,
            out: Path::new("out"),
        });
        assert_eq!(
            summary[0].text,
            "2 calls recorded: 2 files written in out, 0 not written"
        );
    }
}
