//! Why an HTTP/2 connection or stream ended with ENHANCE_YOUR_CALM. The code alone says
//! little: h2 uses it for several guards, each with its own cause and remedy, and a peer
//! may send it for reasons of its own. h2 names the guard only in the GOAWAY's debug data,
//! and shows that data only in its error's text, so this is the one place that reads it.

use super::settings::{HEADER_LIST_GUARD, SMALL_FRAME_GUARD};

/// The cause of an ENHANCE_YOUR_CALM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Calm {
    /// This side's h2 closed the connection: too many small DATA frames were pending unread.
    SmallFrames,
    /// This side's h2 closed the connection: the peer sent a header block far too large
    /// (or in too many CONTINUATION frames).
    HeaderList,
    /// This side's h2 closed the connection: the peer reset too many streams (h2's guard
    /// against rapid-reset floods).
    PeerResets,
    /// This side's h2 closed the connection: it had to reset too many of the peer's streams.
    LocalResets,
    /// This side's h2 closed the connection for a guard it names with this debug data.
    OtherLocal(String),
    /// The peer sent it: a GOAWAY (`go_away`) or a stream reset, with its debug data.
    Remote {
        /// Whether the connection ended (GOAWAY), not only the stream.
        go_away: bool,
        /// The debug data, if any.
        debug: String,
    },
}

/// Which side the peer is, for the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// grpc-replay is the server; the peer is a client.
    Client,
    /// grpc-replay is the client; the peer is a server.
    Server,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Client => "client",
            Peer::Server => "server",
        }
    }
}

impl Calm {
    /// The cause of `error`, when its code is ENHANCE_YOUR_CALM.
    pub fn of(error: &h2::Error) -> Option<Calm> {
        (error.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM))
            .then(|| Calm::from_parts(error.is_remote(), error.is_go_away(), &error.to_string()))
    }

    /// The cause, from who sent it, whether it ended the connection, and h2's text.
    fn from_parts(remote: bool, go_away: bool, text: &str) -> Calm {
        let debug = debug_data(text).unwrap_or_default();
        if remote {
            return Calm::Remote {
                go_away,
                debug: debug.to_string(),
            };
        }
        match debug {
            "too_many_data_frames" => Calm::SmallFrames,
            "header_list_way_too_large" | "too_many_continuations" => Calm::HeaderList,
            "too_many_resets" => Calm::PeerResets,
            "too_many_internal_resets" => Calm::LocalResets,
            other => Calm::OtherLocal(other.to_string()),
        }
    }

    /// Whether grpc-replay's own HTTP/2 layer closed the connection (a guard tripped).
    pub fn is_local(&self) -> bool {
        !matches!(self, Calm::Remote { .. })
    }

    /// What a failure says, `peer` being the other side.
    pub fn explain(&self, peer: Peer) -> String {
        let peer = peer.name();
        match self {
            Calm::SmallFrames => SMALL_FRAME_GUARD.into(),
            Calm::HeaderList if peer == "server" => HEADER_LIST_GUARD.into(),
            Calm::HeaderList => format!(
                "GOAWAY ENHANCE_YOUR_CALM: the {peer} sent a header block far larger than \
                 the 16 KiB grpc-replay accepts (h2's guard)"
            ),
            Calm::PeerResets => format!(
                "GOAWAY ENHANCE_YOUR_CALM: the {peer} reset too many streams in a short time \
                 (h2's guard against rapid-reset floods)"
            ),
            Calm::LocalResets => format!(
                "GOAWAY ENHANCE_YOUR_CALM: grpc-replay had to reset too many of the {peer}'s \
                 streams (h2's guard)"
            ),
            Calm::OtherLocal(debug) => format!(
                "GOAWAY ENHANCE_YOUR_CALM: grpc-replay's HTTP/2 layer (h2) closed the \
                 connection ({})",
                if debug.is_empty() {
                    "no reason given"
                } else {
                    debug
                }
            ),
            Calm::Remote { go_away, debug } => {
                let what = if *go_away {
                    "closed the connection with GOAWAY"
                } else {
                    "reset the stream with"
                };
                let why = if debug.is_empty() {
                    String::new()
                } else {
                    format!(" ({debug})")
                };
                format!("the {peer} {what} ENHANCE_YOUR_CALM{why}: it found grpc-replay too busy")
            }
        }
    }
}

/// The debug data h2 writes after the code: `… ENHANCE_YOUR_CALM (b"too_many_resets")`.
fn debug_data(text: &str) -> Option<&str> {
    let start = text.rfind("(b\"")? + 3;
    let end = text[start..].find("\")")? + start;
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// h2's text for a GOAWAY it sent itself with `debug` (its Display format).
    fn local(debug: &str) -> Calm {
        let text = format!("connection error detected: ENHANCE_YOUR_CALM (b\"{debug}\")");
        Calm::from_parts(false, true, &text)
    }

    #[test]
    fn each_local_guard_is_told_by_its_debug_data() {
        assert_eq!(local("too_many_data_frames"), Calm::SmallFrames);
        assert_eq!(local("header_list_way_too_large"), Calm::HeaderList);
        assert_eq!(local("too_many_continuations"), Calm::HeaderList);
        assert_eq!(local("too_many_resets"), Calm::PeerResets);
        assert_eq!(local("too_many_internal_resets"), Calm::LocalResets);
        assert_eq!(local("new_guard"), Calm::OtherLocal("new_guard".into()));
    }

    #[test]
    fn only_the_small_frame_guard_is_blamed_on_small_frames() {
        assert!(local("too_many_data_frames")
            .explain(Peer::Client)
            .contains("small DATA frames"));
        for debug in ["header_list_way_too_large", "too_many_resets", "other"] {
            let said = local(debug).explain(Peer::Client);
            assert!(!said.contains("small DATA frames"), "{debug}: {said}");
        }
    }

    #[test]
    fn what_the_peer_sent_is_the_peers_doing() {
        let text = "connection error received: ENHANCE_YOUR_CALM (b\"too_many_pings\")";
        let calm = Calm::from_parts(true, true, text);
        assert!(!calm.is_local());
        let said = calm.explain(Peer::Server);
        assert!(
            said.starts_with("the server closed the connection with GOAWAY"),
            "{said}"
        );
        assert!(said.contains("too_many_pings"), "{said}");
        let reset = Calm::from_parts(true, false, "stream error received: ENHANCE_YOUR_CALM");
        assert!(reset
            .explain(Peer::Client)
            .starts_with("the client reset the stream"));
    }
}
