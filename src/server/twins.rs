//! Scripts that no client can tell apart: the same method and the same client side
//! (request metadata, messages, half-close, cancel). The conversation never narrows such
//! scripts apart, so the tie-break (file order) always picks the first, and the others
//! can never be played. Found when the scripts load, so that `serve` can say so.
//!
//! The comparison is conservative: a script whose client side holds a matcher, a
//! template, an `expect:`, a timing check, request metadata or a group is never called a
//! twin, as telling whether two such checks accept the same clients is not attempted.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::scenario::{Action, Call, Scenario, StatusCode};

/// A script served: its file, the call's id and the line where the call starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScriptRef {
    /// The scenario file.
    pub file: PathBuf,
    /// The call's id in that file.
    pub call_id: String,
    /// The 1-based line of the call.
    pub line: u32,
}

/// Two scripts served together that no client can tell apart; `first` is the one the
/// tie-break picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Twins {
    /// The method both scripts serve (`/package.Service/Method`).
    pub method: String,
    /// The script that is played.
    pub first: ScriptRef,
    /// The script that can never be played.
    pub second: ScriptRef,
}

/// What the client does that a script checks, fully known.
#[derive(Debug, Hash, PartialEq, Eq)]
enum ClientMove {
    /// A message, byte for byte, accepted from `min` to `max` times in a row, with the
    /// compressed flag its `compressed:` checks (if it does).
    Message {
        bytes: Bytes,
        min: u64,
        max: u64,
        compressed: Option<bool>,
    },
    /// A half-close that the script waits for.
    Close,
    /// A cancel.
    Cancel,
}

/// Everything of a script that a client's conversation is checked against.
#[derive(Debug, Hash, PartialEq, Eq)]
struct ClientSide {
    method: String,
    timeout: Option<Duration>,
    moves: Vec<ClientMove>,
}

/// The client side of `call`, when every check in it is a literal one.
fn client_side(call: &Call) -> Option<ClientSide> {
    if !call.metadata.is_empty() || call.metadata_template.is_some() {
        return None;
    }
    let final_ok = matches!(
        call.script.last().map(|s| &s.action),
        Some(Action::Status(s)) if s.code == StatusCode::OK
    );
    let mut moves = Vec::new();
    for step in &call.script {
        let client_step = matches!(
            step.action,
            Action::Client(_) | Action::Close | Action::Cancel
        );
        if client_step && (step.within.is_some() || step.after.is_some()) {
            return None;
        }
        match &step.action {
            Action::Client(message) => {
                if message.expect.is_some() || message.template.is_some() {
                    return None;
                }
                let bytes = message.message.exact_encoding()?.clone();
                moves.push(ClientMove::Message {
                    bytes,
                    min: step.repeat.min,
                    max: step.repeat.max,
                    compressed: message.compressed,
                });
            }
            // The server role does not wait for an implied close before an error status.
            Action::Close if step.implied && !final_ok => {}
            Action::Close => moves.push(ClientMove::Close),
            Action::Cancel => moves.push(ClientMove::Cancel),
            Action::Unordered(_) | Action::Group(_) => return None,
            Action::Server(_) | Action::Headers(_) | Action::Status(_) | Action::Sleep(_) => {}
        }
    }
    Some(ClientSide {
        method: call.path.clone(),
        timeout: call.timeout,
        moves,
    })
}

/// Every script that is a twin of an earlier one (in load order), paired with the first
/// script of its kind. Linear in the number of scripts.
pub(crate) fn indistinguishable(scenarios: &[Scenario]) -> Vec<Twins> {
    let mut first_of: HashMap<ClientSide, ScriptRef> = HashMap::new();
    let mut twins = Vec::new();
    for scenario in scenarios {
        for call in &scenario.calls {
            let Some(side) = client_side(call) else {
                continue;
            };
            let script = ScriptRef {
                file: scenario.path.clone(),
                call_id: call.id.clone(),
                line: call.pos.line,
            };
            match first_of.entry(side) {
                Entry::Occupied(first) => twins.push(Twins {
                    method: call.path.clone(),
                    first: first.get().clone(),
                    second: script,
                }),
                Entry::Vacant(slot) => {
                    slot.insert(script);
                }
            }
        }
    }
    twins
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::{load_str, LoadOptions, PoolCache};

    fn scenario(name: &str, text: &str) -> Scenario {
        load_str(
            Path::new(name),
            text,
            &LoadOptions::default(),
            &mut PoolCache::default(),
        )
        .expect("a valid scenario")
    }

    const ECHO: &str = "call: calculator.CalculatorService/Maximum
script: [{client: {number: 1}}, {server: {result: 1}}, close, {status: OK}]
";

    #[test]
    fn the_same_client_side_in_two_files_is_a_pair_of_twins() {
        let answers_two = ECHO.replace("{result: 1}", "{result: 2}");
        let scenarios = [scenario("a.yaml", ECHO), scenario("b.yaml", &answers_two)];
        let twins = indistinguishable(&scenarios);
        assert_eq!(twins.len(), 1, "{twins:?}");
        assert_eq!(twins[0].first.file, Path::new("a.yaml"));
        assert_eq!(twins[0].second.file, Path::new("b.yaml"));
        assert_eq!(twins[0].method, "/calculator.CalculatorService/Maximum");
    }

    /// The wrong twins: scripts that a client's message, its cancel, a matcher or the
    /// message's compressed flag can tell apart are not reported.
    #[test]
    fn scripts_a_client_can_tell_apart_are_not_twins() {
        let other_message = ECHO.replace("{number: 1}", "{number: 2}");
        let cancels = ECHO.replace("close, {status: OK}", "cancel");
        let matcher = ECHO.replace("{number: 1}", "{number: {$any: true}}");
        let flagged = ECHO.replace(
            "{client: {number: 1}}",
            "{client: {number: 1}, compressed: true}",
        );
        for other in [other_message, cancels, matcher, flagged] {
            let scenarios = [scenario("a.yaml", ECHO), scenario("b.yaml", &other)];
            assert_eq!(indistinguishable(&scenarios), Vec::new(), "{other}");
        }
    }
}
