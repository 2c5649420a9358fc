//! Checked steps other than messages: response headers, the status, half-close, cancel.

use tokio::time::Instant;

use super::events::{render_metadata, NoEvent};
use super::{Player, StepOutcome};
use crate::matching::{render_bytes, Mismatch, ReceivedMetadata};
use crate::runner::io::{CallIo, PeerEvent};
use crate::runner::outcome::{Failure, FailureKind};
use crate::scenario::{StatusCode, StatusStep, Step};

impl<I: CallIo> Player<'_, I> {
    pub(super) async fn check_headers(
        &mut self,
        step: &Step,
        spec: &crate::matching::MetadataSpec,
    ) -> Result<(), Failure> {
        let began = Instant::now();
        let headers = loop {
            if let Some(headers) = self.headers.clone() {
                break headers;
            }
            match self.next_event(step).await {
                Ok(PeerEvent::Headers(h)) => self.headers = Some(h),
                Ok(PeerEvent::Status {
                    trailers,
                    transport_error: None,
                    ..
                }) if self.pending.is_empty() => {
                    // A Trailers-Only response: its headers are the trailers.
                    break trailers;
                }
                other => return Err(self.missing(step, "response headers", other)),
            }
        };
        spec.check(&headers).map_err(|diffs| {
            self.failure(
                step,
                FailureKind::Mismatch,
                "the response headers differ".into(),
                diffs,
            )
        })?;
        self.capture_from_metadata(step, &headers, "");
        let detail = render_metadata(&headers);
        self.record(step, StepOutcome::Passed, detail, Some(began.elapsed()), 1);
        Ok(())
    }

    pub(super) async fn check_status(
        &mut self,
        step: &Step,
        expected: &StatusStep,
    ) -> Result<(), Failure> {
        let began = Instant::now();
        self.io.close_send();
        let (code, message, trailers, transport_error) = self.await_status(step, expected).await?;
        let diffs = status_diffs(expected, code, &message, &trailers);
        if !diffs.is_empty() {
            let kind = if transport_error.is_some() {
                FailureKind::Transport
            } else {
                FailureKind::Mismatch
            };
            let summary = status_summary(expected, code, &message, transport_error, &diffs);
            return Err(self.failure(step, kind, summary, diffs));
        }
        self.capture_from_metadata(step, &trailers, &message);
        let detail = if message.is_empty() {
            code.name()
        } else {
            format!("{code}: {message}")
        };
        self.record(step, StepOutcome::Passed, detail, Some(began.elapsed()), 1);
        Ok(())
    }

    /// The status the call ended with: code, message, trailers, and what broke when it
    /// came from a broken connection.
    async fn await_status(
        &mut self,
        step: &Step,
        expected: &StatusStep,
    ) -> Result<(StatusCode, String, ReceivedMetadata, Option<String>), Failure> {
        match self.next_skipping_headers(step).await {
            Ok(PeerEvent::Status {
                code,
                message,
                trailers,
                transport_error,
            }) => Ok((code, message, trailers, transport_error)),
            Err(NoEvent::TimedOut { within: false }) if expected.code == StatusCode(4) => {
                // The call's deadline passed: the client ends it with DEADLINE_EXCEEDED.
                Ok((
                    StatusCode(4),
                    "deadline exceeded (client side)".into(),
                    Vec::new(),
                    None,
                ))
            }
            Ok(PeerEvent::Message(bytes)) => {
                let descriptor = self.call.method.output();
                Err(self.failure(
                    step,
                    FailureKind::Mismatch,
                    format!(
                        "expected the call to end with status {}, but the server sent another message: {}",
                        expected.code,
                        render_bytes(&descriptor, &bytes)
                    ),
                    Vec::new(),
                ))
            }
            other => Err(self.missing(step, &format!("status {}", expected.code), other)),
        }
    }

    pub(super) async fn expect_close(&mut self, step: &Step) -> Result<(), Failure> {
        let began = Instant::now();
        match self.next_event(step).await {
            Ok(PeerEvent::HalfClosed) => {
                self.record(
                    step,
                    StepOutcome::Passed,
                    "half-close".into(),
                    Some(began.elapsed()),
                    1,
                );
                Ok(())
            }
            Ok(PeerEvent::Message(bytes)) => Err(self.failure(
                step,
                FailureKind::Mismatch,
                format!(
                    "expected the client to half-close, but it sent another message: {}",
                    render_bytes(&self.call.method.input(), &bytes)
                ),
                Vec::new(),
            )),
            other => Err(self.missing(step, "the client's half-close", other)),
        }
    }

    /// A client may half-close before it resets the stream: the reset is what counts.
    pub(super) async fn expect_cancel(&mut self, step: &Step) -> Result<(), Failure> {
        let began = Instant::now();
        let mut event = self.next_event(step).await;
        while matches!(event, Ok(PeerEvent::HalfClosed)) {
            event = self.next_event(step).await;
        }
        match event {
            Ok(PeerEvent::Cancelled(reason)) => {
                self.record(step, StepOutcome::Passed, reason, Some(began.elapsed()), 1);
                Ok(())
            }
            other => Err(self.missing(step, "the client to cancel the call", other)),
        }
    }
}

/// How the status the call ended with differs from the expected one.
fn status_diffs(
    expected: &StatusStep,
    code: StatusCode,
    message: &str,
    trailers: &ReceivedMetadata,
) -> Vec<Mismatch> {
    let mut diffs = Vec::new();
    if code != expected.code {
        diffs.push(Mismatch {
            path: "code".into(),
            expected: expected.code.name(),
            actual: code.name(),
        });
    }
    if let Some(spec) = &expected.message {
        if let Err(want) = spec.check(message) {
            diffs.push(Mismatch {
                path: "message".into(),
                expected: want,
                actual: format!("{message:?}"),
            });
        }
    }
    if let Err(more) = expected.trailers.check(trailers) {
        diffs.extend(more.into_iter().map(|mut d| {
            d.path = format!("trailers.{}", d.path);
            d
        }));
    }
    diffs
}

/// The one-line account of a status that differs.
fn status_summary(
    expected: &StatusStep,
    code: StatusCode,
    message: &str,
    transport_error: Option<String>,
    diffs: &[Mismatch],
) -> String {
    let ended = if message.is_empty() {
        code.name()
    } else {
        format!("{code}: {message}")
    };
    match transport_error {
        Some(error) => format!("the connection failed: {error}"),
        None if code != expected.code => {
            format!(
                "expected status {}, the call ended with {ended}",
                expected.code
            )
        }
        None => {
            let message_differs = diffs.iter().any(|d| d.path == "message");
            let trailers_differ = diffs.iter().any(|d| d.path != "message");
            let parts = match (message_differs, trailers_differ) {
                (true, true) => "message and trailers",
                (true, false) => "message",
                _ => "trailers",
            };
            format!("the call ended with {ended} as expected, but its {parts} differ")
        }
    }
}
