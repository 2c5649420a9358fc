//! Which scripts an incoming call may follow, found fast: by method, then by the first
//! message the client sends, so that thousands of scripts of one method cost little.
//!
//! A script whose first client message is checked exactly (no matcher, every field
//! compared) is filed under that message's encoding; a received first message is decoded
//! and encoded again the same way, and looked up. Scripts that start otherwise (with a
//! matcher, a template, or a server step) are always candidates. The index only narrows:
//! a lookup that finds nothing gives every script of the method, to be checked one by one.

use std::collections::HashMap;

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor};

use crate::scenario::{Action, Call, MessageStep};

/// The scripts of one method path.
#[derive(Default)]
struct MethodIndex {
    /// Every script, in file order.
    all: Vec<usize>,
    /// Scripts filed by the encoding of their first client message, per message type.
    by_first: Vec<(MessageDescriptor, HashMap<Bytes, Vec<usize>>)>,
    /// Scripts that cannot be filed.
    unfiled: Vec<usize>,
    /// Whether every script starts by checking a client message.
    all_start_with_client: bool,
}

/// Scripts by method path and first message. Scripts are numbered in file order.
pub(super) struct ScriptIndex {
    methods: HashMap<String, MethodIndex>,
}

impl ScriptIndex {
    /// Files every call of `calls` (numbered in the order given).
    pub(super) fn new<'a>(calls: impl Iterator<Item = &'a Call>) -> ScriptIndex {
        let mut methods: HashMap<String, MethodIndex> = HashMap::new();
        for (number, call) in calls.enumerate() {
            let method = methods
                .entry(call.path.clone())
                .or_insert_with(|| MethodIndex {
                    all_start_with_client: true,
                    ..MethodIndex::default()
                });
            method.all.push(number);
            let first = first_client_message(call);
            method.all_start_with_client &= starts_with_client(call);
            match first.and_then(filing_key) {
                Some((descriptor, key)) => {
                    let slot = match method.by_first.iter().position(|(d, _)| *d == descriptor) {
                        Some(slot) => slot,
                        None => {
                            method.by_first.push((descriptor, HashMap::new()));
                            method.by_first.len() - 1
                        }
                    };
                    method.by_first[slot].1.entry(key).or_default().push(number);
                }
                None => method.unfiled.push(number),
            }
        }
        ScriptIndex { methods }
    }

    /// Every script of `path`, in file order.
    pub(super) fn all(&self, path: &str) -> &[usize] {
        self.methods.get(path).map_or(&[], |m| &m.all)
    }

    /// Whether every script of `path` starts by checking a client message (so the first
    /// message may be read before any script is chosen).
    pub(super) fn all_start_with_client(&self, path: &str) -> bool {
        self.methods
            .get(path)
            .is_some_and(|m| m.all_start_with_client)
    }

    /// The scripts of `path` that the first message `first` may fit, in file order: those
    /// filed under it and the unfiled ones; every script when none is filed under it.
    pub(super) fn lookup(&self, path: &str, first: &[u8]) -> Vec<usize> {
        let Some(method) = self.methods.get(path) else {
            return Vec::new();
        };
        let mut found: Vec<usize> = method
            .by_first
            .iter()
            .filter_map(|(descriptor, filed)| filed.get(&canonical(descriptor, first)?))
            .flatten()
            .copied()
            .collect();
        if found.is_empty() {
            return method.all.clone();
        }
        found.extend(&method.unfiled);
        found.sort_unstable();
        found
    }
}

/// The first message the server role checks, when the script starts with one that is
/// always there (after any `headers:` or `sleep:`; not `optional:` nor a range from 0).
pub(super) fn first_client_message(call: &Call) -> Option<&MessageStep> {
    call.script.iter().find_map(|step| match &step.action {
        Action::Client(m) if step.repeat.min >= 1 => Some(Some(m)),
        Action::Sleep(_) | Action::Headers(_) => None,
        _ => Some(None),
    })?
}

/// Whether the server role's first act is to check a client message (after any `sleep:`):
/// a script that sends `headers:` first must be played before the client says more, for
/// a client may wait for those headers.
fn starts_with_client(call: &Call) -> bool {
    call.script
        .iter()
        .find(|step| !matches!(step.action, Action::Sleep(_)))
        .is_some_and(|step| matches!(step.action, Action::Client(_)))
}

/// The type and key a script is filed under, when its first message is checked exactly.
fn filing_key(step: &MessageStep) -> Option<(MessageDescriptor, Bytes)> {
    if step.template.is_some() {
        return None;
    }
    let spec = step.checked();
    let descriptor = spec.descriptor().clone();
    let key = canonical(&descriptor, spec.exact_encoding()?)?;
    Some((descriptor, key))
}

/// A message decoded and encoded again, so that field order and written defaults do not
/// matter.
fn canonical(descriptor: &MessageDescriptor, bytes: &[u8]) -> Option<Bytes> {
    let message = DynamicMessage::decode(descriptor.clone(), bytes).ok()?;
    Some(Bytes::from(message.encode_to_vec()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::{load_str, LoadOptions, PoolCache};

    fn calls(text: &str) -> Vec<Call> {
        let scenario = load_str(
            Path::new("t.yaml"),
            text,
            &LoadOptions::default(),
            &mut PoolCache::default(),
        )
        .expect("a valid scenario");
        scenario.calls
    }

    const FILE: &str = "calls:
  - id: one
    call: calculator.CalculatorService/Maximum
    script: [{client: {number: 1}}, {server: {result: 1}}]
  - id: two
    call: calculator.CalculatorService/Maximum
    script: [{client: {number: 2}}, {server: {result: 2}}]
  - id: any
    call: calculator.CalculatorService/Maximum
    script: [{client: {number: {$any: true}}}, {server: {result: 0}}]
  - id: again-one
    call: calculator.CalculatorService/Maximum
    script: [{client: {number: 1}}, {server: {result: 1}}, cancel]
";
    const PATH: &str = "/calculator.CalculatorService/Maximum";

    #[test]
    fn a_first_message_finds_its_scripts_and_those_with_matchers() {
        let calls = calls(FILE);
        let index = ScriptIndex::new(calls.iter());
        assert_eq!(index.lookup(PATH, &[0x08, 1]), [0, 2, 3]);
        assert_eq!(index.lookup(PATH, &[0x08, 2]), [1, 2]);
        assert!(index.all_start_with_client(PATH));
    }

    /// Headers before the first message: the server must not wait for that message before
    /// playing (a client that waits for the headers would never send it).
    #[test]
    fn a_script_that_sends_headers_first_does_not_start_with_the_client() {
        let headers_first = "call: calculator.CalculatorService/Maximum
script: [{headers: {x-echo: hello}}, {client: {number: 1}}, {server: {result: 1}}]
";
        let mut both = calls(FILE);
        both.extend(calls(headers_first));
        let index = ScriptIndex::new(both.iter());
        assert!(!index.all_start_with_client(PATH));
        assert_eq!(index.lookup(PATH, &[0x08, 1]), [0, 2, 3, 4]);
    }

    #[test]
    fn a_message_filed_under_nothing_gives_every_script() {
        let calls = calls(FILE);
        let index = ScriptIndex::new(calls.iter());
        assert_eq!(index.lookup(PATH, &[0x08, 9]), [0, 1, 2, 3]);
        assert!(index.lookup("/Other/method", &[]).is_empty());
    }
}
