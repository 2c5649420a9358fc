//! Checked steps other than messages: response headers, the status, half-close, cancel.

use tokio::time::Instant;

use super::deadline::own_deadline_status;
use super::events::NoEvent;
use super::{Player, StepOutcome};
use crate::matching::{MetadataSpec, Mismatch};
use crate::runner::io::CallIo;
use crate::runner::outcome::{
    Expected, Failure, FailureReason, MetadataPlace, Seen, StatusSeen, Subject,
};
use crate::scenario::{StatusCode, StatusStep, Step};

impl<I: CallIo> Player<'_, I> {
    pub(super) async fn check_headers(
        &mut self,
        step: &Step,
        spec: &MetadataSpec,
    ) -> Result<(), Failure> {
        self.scripted_pause(step.after);
        let began = Instant::now();
        let headers = loop {
            if let Some(headers) = self.headers.clone() {
                break headers;
            }
            match self.next_event(step).await {
                Ok(Seen::Headers(h)) => self.headers = Some(h),
                Ok(Seen::Status(status)) if status.broken.is_none() && self.pending.is_empty() => {
                    // A Trailers-Only response: its headers are the trailers.
                    break status.trailers;
                }
                other => return Err(self.missing(step, Expected::Headers, other)),
            }
        };
        if let Err(diffs) = spec.check(&headers) {
            let reason = FailureReason::MetadataMismatch {
                place: MetadataPlace::ResponseHeaders,
                diffs,
            };
            return Err(self.failure(step, reason));
        }
        self.capture_from_metadata(step, &headers, "");
        let checked = Subject::Metadata(headers);
        self.record(
            step,
            StepOutcome::Passed,
            || checked,
            Some(began.elapsed()),
            1,
        );
        Ok(())
    }

    pub(super) async fn check_status(
        &mut self,
        step: &Step,
        expected: &StatusStep,
    ) -> Result<(), Failure> {
        let began = Instant::now();
        self.io.close_send().await;
        let status = self.await_status(step, expected.code).await?;
        let diffs = status_diffs(expected, &status);
        if !diffs.is_empty() {
            let reason = FailureReason::StatusMismatch {
                expected: expected.code,
                received: status,
                diffs,
            };
            return Err(self.failure(step, reason));
        }
        self.capture_from_metadata(step, &status.trailers, &status.message);
        let checked = Subject::Status {
            code: status.code,
            message: status.message,
        };
        self.record(
            step,
            StepOutcome::Passed,
            || checked,
            Some(began.elapsed()),
            1,
        );
        Ok(())
    }

    /// The status the call ended with.
    async fn await_status(
        &mut self,
        step: &Step,
        expected: StatusCode,
    ) -> Result<StatusSeen, Failure> {
        match self.next_skipping_headers(step).await {
            Ok(Seen::Status(status)) => Ok(status),
            // The call's deadline passed: the client ends it with DEADLINE_EXCEEDED.
            Err(NoEvent::TimedOut { within: false }) if expected == StatusCode(4) => {
                Ok(own_deadline_status())
            }
            other => Err(self.missing(step, Expected::Status(expected), other)),
        }
    }

    pub(super) async fn expect_close(&mut self, step: &Step) -> Result<(), Failure> {
        let began = Instant::now();
        match self.next_event(step).await {
            Ok(Seen::HalfClose) => {
                let checked = Subject::HalfClose;
                self.record(
                    step,
                    StepOutcome::Passed,
                    || checked,
                    Some(began.elapsed()),
                    1,
                );
                Ok(())
            }
            other => Err(self.missing(step, Expected::HalfClose, other)),
        }
    }

    /// A client may half-close before it resets the stream: the reset is what counts.
    pub(super) async fn expect_cancel(&mut self, step: &Step) -> Result<(), Failure> {
        let began = Instant::now();
        let mut event = self.next_event(step).await;
        while matches!(event, Ok(Seen::HalfClose)) {
            event = self.next_event(step).await;
        }
        match event {
            Ok(Seen::Cancel(how)) => {
                let checked = Subject::Cancel(Some(how));
                self.record(
                    step,
                    StepOutcome::Passed,
                    || checked,
                    Some(began.elapsed()),
                    1,
                );
                Ok(())
            }
            other => Err(self.missing(step, Expected::Cancel, other)),
        }
    }
}

/// How the status the call ended with differs from the expected one.
fn status_diffs(expected: &StatusStep, status: &StatusSeen) -> Vec<Mismatch> {
    let (code, message, trailers) = (status.code, status.message.as_str(), &status.trailers);
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
    if let Err(more) = expected.details.check_trailers(trailers) {
        diffs.extend(more);
    }
    diffs
}
