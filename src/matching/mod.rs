//! Matching: what a scenario expects of messages, metadata and statuses, and the
//! field-level diff when a peer sends something else.

mod matcher;
mod metadata;
mod path;
mod pattern;
mod suggest;

pub use matcher::{Matcher, SpecError, MATCHER_KEYS};
pub use metadata::{MetaValue, MetadataSpec, ReceivedMetadata, TextSpec};
pub use path::FieldPath;
pub use pattern::{base64_encode, render_bytes, render_message, MatchMode, MessageSpec, Mismatch};
pub use suggest::closest;
