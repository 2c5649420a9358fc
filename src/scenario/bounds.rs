//! The limits a scenario's numbers must keep, checked when the file loads so that no file
//! `check` accepts can make `run` or `serve` panic, abort or wait forever: durations gRPC
//! can carry, deadlines an RFC 3339 time can write, sizes a message can hold, counts that
//! add up without overflow. Also refused here: YAML tags (`!number 5`), which would
//! otherwise be dropped silently (a value's type comes from its proto field).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use granit_parser::{Event, Parser};

use super::error::LoadError;
use super::node::Pos;

/// The longest duration: the largest deadline `grpc-timeout` can carry (8 digits of
/// hours, about 11,400 years).
pub const MAX_DURATION: Duration = Duration::from_secs(99_999_999 * 3600);

/// The longest `timeout:` of a call with `deadline_header: true`, whose deadline is also
/// sent as an RFC 3339 time: 7,900 years keeps it before the year 10000 (four digits).
pub const MAX_DEADLINE_HEADER: Duration = Duration::from_secs(7_900 * 365 * 24 * 3600);

/// The largest message a scenario may write, and the most `--max-message-size` allows:
/// 1 GiB (a message is held whole in memory). Sizes written in a scenario (`$zeros`,
/// `$len`) are bounded by it; `check` warns about messages over the limit the commands
/// apply (4 MiB by default, as gRPC).
pub const MAX_MESSAGE_SIZE: u64 = 1024 * 1024 * 1024;

/// The most times a step may repeat.
pub const MAX_REPEAT: i64 = 1_000_000_000;

/// Checks a duration read from the file: `Err` says why it is out of bounds.
pub fn duration(value: Duration) -> Result<Duration, String> {
    if value > MAX_DURATION {
        return Err(format!(
            "is longer than the longest deadline gRPC can carry ({}h, about 11,400 years)",
            MAX_DURATION.as_secs() / 3600
        ));
    }
    Ok(value)
}

/// Checks the `timeout:` of a call with `deadline_header: true`.
pub fn deadline_header(timeout: Duration) -> Result<(), String> {
    if timeout > MAX_DEADLINE_HEADER {
        return Err(format!(
            "`timeout:` with `deadline_header: true` is at most {}h (7,900 years): the \
             deadline header is an RFC 3339 time, whose year has four digits",
            MAX_DEADLINE_HEADER.as_secs() / 3600
        ));
    }
    Ok(())
}

/// Checks the text of a scenario file for YAML tags and for generator and matcher sizes
/// (`$zeros: N`, `$len: N`) out of bounds; `source` is the text the loader reads (after
/// variables), so that positions match its other errors.
pub fn check_text(path: &Path, source: &Arc<str>) -> Result<(), LoadError> {
    let text: &str = source;
    if !may_hold_tag(text) && !text.contains("$zeros") && !text.contains("$len") {
        return Ok(());
    }
    let mut keys = KeyTracker::default();
    for event in Parser::new_from_str(text) {
        // Syntax errors are the YAML reader's to report, with its own message.
        let Ok((event, span)) = event else {
            return Ok(());
        };
        let pos = Pos {
            line: span.start.line() as u32,
            column: span.start.col() as u32 + 1,
        };
        let fail = |message: String| Err(LoadError::at(path, source, pos, message));
        match &event {
            Event::Scalar(_, _, _, Some(tag))
            | Event::SequenceStart(_, _, Some(tag))
            | Event::MappingStart(_, _, Some(tag)) => {
                let pos = tag_pos(text, pos);
                return Err(LoadError::at(
                    path,
                    source,
                    pos,
                    tag_message(&tag.to_string()),
                ));
            }
            Event::Scalar(value, _, _, None) => {
                if let Some(key) = keys.value_of() {
                    if let Err(message) = size(&key, value) {
                        return fail(message);
                    }
                }
            }
            _ => {}
        }
        keys.next(&event);
    }
    Ok(())
}

/// Whether `text` has a `!` where a YAML tag could begin: at the start of a node, so
/// after a space, a line break, a flow indicator or a `:`. A `!` inside a word (`Hi!`) is
/// text, and a file whose every `!` is such needs no second parse (most files with a `!`
/// have it at the end of a greeting).
fn may_hold_tag(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(index, byte)| {
        *byte == b'!'
            && (index == 0
                || matches!(
                    bytes[index - 1],
                    b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':' | b'?' | b'-'
                ))
    })
}

/// Where the tag of a node at `node` is written: the last `!…` before it on its line.
fn tag_pos(text: &str, node: Pos) -> Pos {
    let line = text
        .lines()
        .nth((node.line as usize).saturating_sub(1))
        .unwrap_or_default();
    let before: Vec<char> = line
        .chars()
        .take((node.column as usize).saturating_sub(1))
        .collect();
    let Some(mut start) = before.iter().rposition(|c| *c == '!') else {
        return node;
    };
    while start > 0 && before[start - 1] == '!' {
        start -= 1;
    }
    Pos {
        line: node.line,
        column: start as u32 + 1,
    }
}

fn tag_message(tag: &str) -> String {
    format!(
        "YAML tags such as `{tag}` are not supported: a value's type comes from the proto \
         field it is written in; remove the tag (quote the value to keep it as text)"
    )
}

/// The keys whose values are sizes: `$zeros` (a generator) and `$len` (a matcher).
pub(super) const SIZE_KEYS: &[&str] = &["$zeros", "$len"];

/// Checks the sizes the fast YAML reader noted under [`SIZE_KEYS`]; what [`check_text`]
/// checks of a file the fast reader takes (it takes no file with a YAML tag).
pub(super) fn check_sizes(
    path: &Path,
    source: &Arc<str>,
    written: &[super::yaml::Watched],
) -> Result<(), LoadError> {
    for scalar in written {
        size(scalar.key, scalar.value)
            .map_err(|message| LoadError::at(path, source, scalar.pos, message))?;
    }
    Ok(())
}

/// Checks the value of `$zeros` and `$len` (other keys pass).
fn size(key: &str, value: &str) -> Result<(), String> {
    if !SIZE_KEYS.contains(&key) {
        return Ok(());
    }
    match value.trim().parse::<i128>() {
        Ok(n) if n < 0 => Err(format!("`{key}: {value}`: a size is 0 or more")),
        Ok(n) if n > i128::from(MAX_MESSAGE_SIZE) => Err(format!(
            "`{key}: {value}` is larger than grpc-replay allows a message to be ({MAX_MESSAGE_SIZE} bytes, 1 GiB)"
        )),
        _ => Ok(()),
    }
}

/// Follows the YAML events to know, for each scalar, the key it is the value of.
#[derive(Default)]
struct KeyTracker {
    /// For each open collection: `None` for a sequence; for a mapping, the key read and
    /// waiting for its value (`Some(None)` while a key is expected).
    open: Vec<Option<Option<String>>>,
}

impl KeyTracker {
    /// The key whose value the next scalar is, when it is one.
    fn value_of(&self) -> Option<String> {
        self.open.last().cloned().flatten().flatten()
    }

    /// Takes `event` into account.
    fn next(&mut self, event: &Event) {
        match event {
            Event::MappingStart(..) => {
                self.node_done();
                self.open.push(Some(None));
            }
            Event::SequenceStart(..) => {
                self.node_done();
                self.open.push(None);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.open.pop();
            }
            Event::Scalar(value, ..) => match self.open.last_mut() {
                Some(Some(expected @ None)) => *expected = Some(value.to_string()),
                _ => self.node_done(),
            },
            Event::Alias(_) => self.node_done(),
            _ => {}
        }
    }

    /// A value ended (or a collection started as one): the mapping expects a key again.
    fn node_done(&mut self) {
        if let Some(Some(key)) = self.open.last_mut() {
            *key = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), String> {
        check_text(Path::new("t.yaml"), &Arc::from(text))
            .map_err(|e| format!("{}:{}: {}", e.line(), e.column(), e.message()))
    }

    #[test]
    fn tags_are_refused_where_they_are_written() {
        let error = check("a: 1\nb: !number 5s\n").unwrap_err();
        assert!(
            error.starts_with("2:4: YAML tags such as `!number`"),
            "{error}"
        );
        assert!(check("a: [!!str 5]\n").is_err());
        assert!(check("a: !foo {b: 1}\n").is_err());
        assert!(check("a: \"Hello!\"\nb: Hi! there\n").is_ok());
    }

    /// Whether the YAML reader sees a tag anywhere in `text` (before any syntax error).
    fn parser_sees_a_tag(text: &str) -> bool {
        Parser::new_from_str(text)
            .map_while(Result::ok)
            .any(|(event, _)| {
                matches!(
                    event,
                    Event::Scalar(_, _, _, Some(_))
                        | Event::SequenceStart(_, _, Some(_))
                        | Event::MappingStart(_, _, Some(_))
                )
            })
    }

    proptest::proptest! {
        /// The quick look never skips a file in which the YAML reader finds a tag.
        #[test]
        fn the_quick_look_misses_no_tag(
            tokens in proptest::collection::vec(
                proptest::sample::select(&[
                    "a", "b1", "!", "!t", "!!str", " ", "  ", "\n", "\t", ": ", ":", "- ", "-",
                    "? ", ", ", ",", "[", "]", "{", "}", "\"", "'", "&x ", "*x", "#", "|", ">",
                ][..]),
                0..16,
            )
        ) {
            let text = tokens.concat();
            if parser_sees_a_tag(&text) {
                proptest::prop_assert!(may_hold_tag(&text), "{:?}", text);
            }
        }
    }

    #[test]
    fn a_bang_inside_a_word_is_not_a_tag() {
        assert!(!may_hold_tag("a: Hello P0!\nb: {result: Hi!}\n"));
        assert!(may_hold_tag("a: !x 1\n"));
        assert!(may_hold_tag("!x 1\n"));
        assert!(may_hold_tag("a: [!x 1]\n"));
    }

    #[test]
    fn sizes_are_bounded_by_the_message_limit() {
        assert!(check("x: {$zeros: 1073741824}\n").is_ok());
        let error = check("x: {$zeros: 1073741825}\n").unwrap_err();
        assert!(error.contains("larger than grpc-replay allows"), "{error}");
        let error = check("x:\n  $len: -1\n").unwrap_err();
        assert!(
            error.starts_with("2:9: `$len: -1`: a size is 0 or more"),
            "{error}"
        );
        assert!(check("x: {$zeros: 1000000000000}\n").is_err());
        assert!(check("x: {$len: {$gt: -1}}\n").is_ok());
        // Only keys count: a value that reads `$len` is text.
        assert!(check("- [$len, -5]\n- {a: $len, b: -5}\n").is_ok());
    }

    #[test]
    fn durations_stop_at_the_largest_grpc_timeout() {
        assert!(duration(MAX_DURATION).is_ok());
        assert!(duration(MAX_DURATION + Duration::from_secs(1)).is_err());
        assert!(deadline_header(MAX_DEADLINE_HEADER).is_ok());
        assert!(deadline_header(MAX_DEADLINE_HEADER + Duration::from_secs(1)).is_err());
    }
}
