//! Turning a tonic status into a peer event, telling a peer's status from a broken
//! connection.

use std::error::Error as StdError;

use tonic::Status;

use super::metadata::received_metadata;
use crate::matching::{MetaValue, ReceivedMetadata};
use crate::runner::PeerEvent;
use crate::scenario::{StatusCode, DETAILS_TRAILER};

/// The event for a status that ended a call on the client side. The call's own deadline
/// expiring is DEADLINE_EXCEEDED, as gRPC clients report it, not a broken connection.
pub fn status_event(status: &Status) -> PeerEvent {
    if let Some(fault) = status.source().and_then(super::fault_of) {
        return PeerEvent::Malformed(fault);
    }
    if deadline_expired(status) {
        return PeerEvent::Status {
            code: StatusCode(tonic::Code::DeadlineExceeded as i32),
            message: "the call's deadline passed (client side)".into(),
            trailers: Vec::new(),
            transport_error: None,
        };
    }
    PeerEvent::Status {
        code: StatusCode(status.code() as i32),
        message: status.message().to_string(),
        trailers: trailers(status),
        transport_error: transport_error(status),
    }
}

/// The trailers as the peer sent them: tonic moves `grpc-status-details-bin` out of the
/// metadata into [`Status::details`], and it goes back among them here, where scripts
/// check it (raw under `trailers:`, decoded under `details:`).
fn trailers(status: &Status) -> ReceivedMetadata {
    let mut trailers = received_metadata(status.metadata());
    if !status.details().is_empty() && !trailers.iter().any(|(k, _)| k == DETAILS_TRAILER) {
        trailers.push((
            DETAILS_TRAILER.to_string(),
            MetaValue::Binary(status.details().to_vec()),
        ));
    }
    trailers
}

/// Whether tonic ended the call because its `grpc-timeout` ran out.
fn deadline_expired(status: &Status) -> bool {
    let mut source: Option<&(dyn StdError + 'static)> = status.source();
    while let Some(error) = source {
        if error.downcast_ref::<tonic::TimeoutExpired>().is_some() {
            return true;
        }
        source = error.source();
    }
    false
}

/// When the status comes from the connection rather than from the peer: what broke.
fn transport_error(status: &Status) -> Option<String> {
    let mut source: Option<&(dyn StdError + 'static)> = status.source();
    let mut broken = None;
    while let Some(error) = source {
        if let Some(h2) = error.downcast_ref::<h2::Error>() {
            if h2.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM) {
                return Some(calm_cause(h2));
            }
            if h2.reason() == Some(h2::Reason::FRAME_SIZE_ERROR)
                && h2.is_go_away()
                && !h2.is_remote()
            {
                return Some(super::NOT_HTTP2_FRAMES.into());
            }
            if h2.is_go_away() || h2.is_io() {
                broken = Some(h2.to_string());
            }
        } else if error.downcast_ref::<std::io::Error>().is_some()
            || error.downcast_ref::<tonic::transport::Error>().is_some()
        {
            broken.get_or_insert_with(|| error.to_string());
        } else if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
            if hyper.is_closed() || hyper.is_incomplete_message() || hyper.is_canceled() {
                broken.get_or_insert_with(|| hyper.to_string());
            }
        }
        source = error.source();
    }
    broken
}

/// Why an HTTP/2 layer closed the connection with ENHANCE_YOUR_CALM. h2 names the guard
/// that tripped only in the GOAWAY's debug data, which its error's text carries; each
/// guard has its own cause and its own remedy.
fn calm_cause(error: &h2::Error) -> String {
    let text = error.to_string();
    if error.is_remote() {
        return format!("the server closed the connection ({text})");
    }
    if text.contains("too_many_data_frames") {
        super::SMALL_FRAME_GUARD.into()
    } else if text.contains("header_list_way_too_large") || text.contains("too_many_continuations")
    {
        super::HEADER_LIST_GUARD.into()
    } else {
        format!("{text}: grpc-replay's HTTP/2 layer (h2) closed the connection")
    }
}
