//! The log of connections closed before HTTP/2 began: each one a line with its reason,
//! but at most [`BURST`] lines in each [`WINDOW`], the others counted and summarised, so a
//! scanner or a misconfigured client in a loop cannot flood the output.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::handshake::FailedConnection;

/// The lines a window may hold.
pub(super) const BURST: u32 = 5;

/// How long a window lasts.
pub(super) const WINDOW: Duration = Duration::from_secs(10);

/// Where the lines go (standard error in `serve`).
pub(super) type LogLine = Box<dyn Fn(&str) + Send + Sync>;

/// A rate-limited log of failed handshakes and accept trouble.
pub struct HandshakeLog {
    state: Mutex<Window>,
    write: LogLine,
}

struct Window {
    start: Instant,
    shown: u32,
    hidden: u64,
}

impl HandshakeLog {
    /// A log that writes its lines with `write`.
    pub fn new(write: LogLine) -> HandshakeLog {
        HandshakeLog {
            state: Mutex::new(Window {
                start: Instant::now(),
                shown: 0,
                hidden: 0,
            }),
            write,
        }
    }

    /// A log that writes `warning: …` lines to standard error.
    pub fn to_stderr() -> HandshakeLog {
        HandshakeLog::new(Box::new(|line| eprintln!("warning: {line}")))
    }

    /// Logs a failed handshake, unless this window is full.
    pub fn failed(&self, failure: &FailedConnection) {
        self.failed_at(failure, Instant::now());
    }

    fn failed_at(&self, failure: &FailedConnection, now: Instant) {
        let mut window = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(window.start) >= WINDOW {
            self.summarise(&mut window);
            window.start = now;
            window.shown = 0;
        }
        if window.shown < BURST {
            window.shown += 1;
            (self.write)(&failure.to_string());
        } else {
            window.hidden += 1;
        }
    }

    /// Writes one line as it is (for conditions logged once, such as fd exhaustion).
    pub fn note(&self, line: &str) {
        (self.write)(line);
    }

    /// Writes the count of failures not shown, if any (when the server stops).
    pub fn flush(&self) {
        let mut window = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.summarise(&mut window);
    }

    fn summarise(&self, window: &mut Window) {
        if window.hidden > 0 {
            (self.write)(&format!(
                "{} more connection{} closed before HTTP/2 began (not shown: at most {BURST} \
                 are logged every {}s)",
                window.hidden,
                if window.hidden == 1 { "" } else { "s" },
                WINDOW.as_secs()
            ));
            window.hidden = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::handshake::HandshakeFailure;
    use super::*;

    fn collecting() -> (HandshakeLog, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let log = HandshakeLog::new(Box::new(move |line| {
            sink.lock().unwrap().push(line.to_string())
        }));
        (log, lines)
    }

    fn failure() -> FailedConnection {
        FailedConnection {
            peer: "127.0.0.1:9".parse().unwrap(),
            failure: HandshakeFailure::TlsOnPlaintextPort,
        }
    }

    #[test]
    fn a_burst_is_cut_and_counted_then_a_new_window_logs_again() {
        let (log, lines) = collecting();
        let start = Instant::now();
        for _ in 0..50 {
            log.failed_at(&failure(), start);
        }
        assert_eq!(lines.lock().unwrap().len(), BURST as usize);
        log.failed_at(&failure(), start + WINDOW);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), BURST as usize + 2);
        assert!(lines[BURST as usize].starts_with("45 more connections"));
        assert!(lines[BURST as usize + 1].contains("the client started TLS"));
    }

    #[test]
    fn a_few_failures_are_all_logged_and_nothing_is_summarised() {
        let (log, lines) = collecting();
        log.failed(&failure());
        log.failed(&failure());
        log.flush();
        assert_eq!(lines.lock().unwrap().len(), 2);
    }
}
