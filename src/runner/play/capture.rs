//! Applying a step's `capture:` to what was sent or received.

use prost_reflect::{DynamicMessage, MessageDescriptor};

use super::Player;
use crate::matching::ReceivedMetadata;
use crate::runner::io::CallIo;
use crate::scenario::{CaptureSource, Step};

impl<I: CallIo> Player<'_, I> {
    /// Stores the step's captures taken from a message.
    pub(super) fn capture_from_message(
        &self,
        step: &Step,
        descriptor: &MessageDescriptor,
        bytes: &[u8],
    ) {
        if step.capture.is_empty() {
            return;
        }
        let Ok(message) = DynamicMessage::decode(descriptor.clone(), bytes) else {
            return;
        };
        for capture in &step.capture {
            if let CaptureSource::Field(path) = &capture.source {
                if let Some(value) = path.extract(&message) {
                    self.captures.set(&capture.name, value);
                }
            }
        }
    }

    /// Stores how many times the step happened, for its `$count` captures.
    pub(super) fn capture_count(&self, step: &Step, count: u64) {
        for capture in &step.capture {
            if matches!(capture.source, CaptureSource::Count) {
                self.captures.set(&capture.name, count.to_string());
            }
        }
    }

    /// Stores the step's captures taken from metadata (and the status message).
    pub(super) fn capture_from_metadata(
        &self,
        step: &Step,
        metadata: &ReceivedMetadata,
        status_message: &str,
    ) {
        for capture in &step.capture {
            let value = match &capture.source {
                CaptureSource::Header(key) | CaptureSource::Trailer(key) => metadata
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.text()),
                CaptureSource::StatusMessage => Some(status_message.to_string()),
                CaptureSource::Field(_) | CaptureSource::Count => None,
            };
            if let Some(value) = value {
                self.captures.set(&capture.name, value);
            }
        }
    }
}
