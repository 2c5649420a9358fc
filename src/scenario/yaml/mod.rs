//! Reading a scenario file's YAML into its raw types ([`super::raw`]).
//!
//! Two readers fill the same types. The fast one ([`reader`]) takes libyaml's events ([`libyaml`])
//! straight into serde and handles what scenario files usually hold: one document of
//! block and flow collections, plain and simple quoted scalars, each read exactly as
//! written. At anything else (tags, anchors, block scalars, escapes, a duplicate key, a
//! value it would have to guess the type of, any error) it gives up, and serde-saphyr
//! reads the whole file, with its own limits, positions and error messages. A file the
//! fast reader takes reads the same through either (`tests` prove it on generated files).

mod events;
mod libyaml;
mod reader;
mod scalar;
#[cfg(test)]
mod tests;

use serde::de::DeserializeOwned;

use super::node::Pos;

/// Reads a file through the fast reader, noting the scalars written under given keys.
pub(super) use reader::read as read_fast;

/// A scalar written as the value of a key the fast reader was asked to watch.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Watched<'a> {
    /// The key.
    pub key: &'a str,
    /// The scalar as written.
    pub value: &'a str,
    /// Where the scalar is.
    pub pos: Pos,
}

/// Reads `text` into `T` through serde-saphyr alone.
pub(super) fn read_slowly<T: DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, options(text))
}

/// serde-saphyr's limits, scaled to the file: its defaults protect against hostile input
/// but stop at about 40,000 steps, and a long generated scenario is a normal thing here.
fn options(text: &str) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(text.len());
    budget.max_events = budget.max_events.max(2 * text.len());
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}
