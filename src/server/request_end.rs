//! How a client's request stream ended early, read from the HTTP/2 stream itself.
//!
//! tonic's request decoder turns a body error whose code is CANCEL into a clean end of
//! stream, so a cancelled call would look half-closed. The request body is wrapped before
//! tonic sees it ([`RequestReset::from_body_error`]): tonic then passes the error on, and
//! the reader tells a cancel from a half-close by the RST_STREAM code.

use std::error::Error as StdError;

use h2::Reason;

use crate::runner::PeerEvent;
use crate::transport::{Calm, Peer};

/// The request body's error, with the RST_STREAM code when the stream was reset.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub(super) struct RequestReset {
    /// The RST_STREAM (or GOAWAY) code.
    pub reason: Option<Reason>,
    /// Whether the connection ended (GOAWAY, an I/O error), not only the stream.
    pub connection: bool,
    /// The error as the HTTP/2 layer put it.
    pub detail: String,
    /// With the code ENHANCE_YOUR_CALM: its cause.
    pub calm: Option<Calm>,
}

impl RequestReset {
    /// Wraps a request body's error, keeping the HTTP/2 code found in its sources.
    pub(super) fn from_body_error(
        error: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> RequestReset {
        let error = error.into();
        let mut source: Option<&(dyn StdError + 'static)> = Some(error.as_ref());
        while let Some(cause) = source {
            if let Some(h2) = cause.downcast_ref::<h2::Error>() {
                return RequestReset {
                    reason: h2.reason(),
                    connection: h2.is_go_away() || h2.is_io(),
                    detail: h2.to_string(),
                    calm: Calm::of(h2),
                };
            }
            source = cause.source();
        }
        RequestReset {
            reason: None,
            connection: true,
            detail: error.to_string(),
            calm: None,
        }
    }

    /// What the script sees. One of this side's HTTP/2 guards closing the connection is a
    /// [`PeerEvent::LocalGoaway`] with its cause. A reset with CANCEL, or with
    /// STREAM_CLOSED (as Ballerina's clients cancel), is a cancel; so is a reset with any
    /// code once `at_deadline` (the client gave up when the call's deadline passed), and a
    /// connection that ended. Any other reset is a [`PeerEvent::Reset`].
    pub(super) fn event(&self, at_deadline: bool) -> PeerEvent {
        match &self.calm {
            Some(calm) if calm.is_local() => {
                return PeerEvent::LocalGoaway(calm.explain(Peer::Client))
            }
            Some(calm) if self.connection => {
                return PeerEvent::Cancelled(calm.explain(Peer::Client))
            }
            _ => {}
        }
        match self.reason {
            _ if self.connection => {
                PeerEvent::Cancelled(format!("the connection ended: {}", self.detail))
            }
            Some(Reason::CANCEL) => {
                PeerEvent::Cancelled("the client reset the stream (CANCEL)".into())
            }
            Some(Reason::STREAM_CLOSED) => PeerEvent::Cancelled(
                "the client reset the stream (STREAM_CLOSED, as Ballerina's clients cancel)".into(),
            ),
            Some(reason) if at_deadline => PeerEvent::Cancelled(format!(
                "the client reset the stream ({reason:?}) at the call's deadline"
            )),
            Some(reason) => PeerEvent::Reset(format!("the client reset the stream ({reason:?})")),
            None => PeerEvent::Cancelled(format!("the client ended the call: {}", self.detail)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reset(reason: Reason) -> RequestReset {
        RequestReset::from_body_error(h2::Error::from(reason))
    }

    fn is_cancel(event: &PeerEvent) -> bool {
        matches!(event, PeerEvent::Cancelled(_))
    }

    #[test]
    fn cancel_and_stream_closed_are_cancels() {
        assert!(is_cancel(&reset(Reason::CANCEL).event(false)));
        assert!(is_cancel(&reset(Reason::STREAM_CLOSED).event(false)));
    }

    #[test]
    fn another_code_is_a_cancel_only_at_the_deadline() {
        let internal = reset(Reason::INTERNAL_ERROR);
        assert!(matches!(internal.event(false), PeerEvent::Reset(_)));
        assert!(is_cancel(&internal.event(true)));
    }

    fn calm(calm: Calm, connection: bool) -> RequestReset {
        RequestReset {
            reason: Some(Reason::ENHANCE_YOUR_CALM),
            connection,
            detail: String::new(),
            calm: Some(calm),
        }
    }

    #[test]
    fn a_local_guard_is_this_sides_goaway_told_by_its_cause() {
        let PeerEvent::LocalGoaway(cause) = calm(Calm::PeerResets, true).event(false) else {
            panic!("not a local GOAWAY");
        };
        assert!(cause.contains("reset too many streams"), "{cause}");
        assert!(!cause.contains("small DATA frames"), "{cause}");
        let PeerEvent::LocalGoaway(cause) = calm(Calm::SmallFrames, true).event(false) else {
            panic!("not a local GOAWAY");
        };
        assert!(cause.contains("small DATA frames"), "{cause}");
    }

    #[test]
    fn wrong_twin_a_calm_the_client_sent_is_the_clients_doing() {
        let sent = |go_away| Calm::Remote {
            go_away,
            debug: "too_many_pings".into(),
        };
        let event = calm(sent(true), true).event(false);
        assert!(matches!(&event, PeerEvent::Cancelled(how) if how.contains("too_many_pings")));
        assert!(matches!(
            calm(sent(false), false).event(false),
            PeerEvent::Reset(_)
        ));
    }

    #[test]
    fn the_code_is_found_below_other_errors() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] h2::Error);
        let wrapped = RequestReset::from_body_error(Outer(Reason::CANCEL.into()));
        assert_eq!(wrapped.reason, Some(Reason::CANCEL));
    }
}
