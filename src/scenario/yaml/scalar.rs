//! What a plain scalar means, the way serde-saphyr decides it (YAML 1.2 numbers, YAML 1.1
//! booleans, `~`/`null`/empty as null), narrowed to the cases the fast reader is sure of.

/// A scalar's meaning where its type is not fixed by the target (a message value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Meaning {
    /// `~`, `null` or nothing.
    Null,
    /// A YAML 1.1 boolean word.
    Bool(bool),
    /// A decimal integer that fits `i64`.
    Int(i64),
    /// A decimal integer above `i64::MAX` that fits `u64`.
    UInt(u64),
    /// Text.
    Text,
}

/// The meaning of a scalar; `None` when the fast reader leaves it to serde-saphyr (a
/// number other than a plain decimal integer, or anything that may be one).
pub(super) fn meaning(text: &str, plain: bool) -> Option<Meaning> {
    if !plain {
        return Some(Meaning::Text);
    }
    if is_null(text, plain) {
        return Some(Meaning::Null);
    }
    if let Some(b) = boolean(text) {
        return Some(Meaning::Bool(b));
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.' | b'~') {
        return integer(text);
    }
    Some(Meaning::Text)
}

/// Whether a scalar is null: plain `~`, `null` in any case, or empty.
pub(super) fn is_null(text: &str, plain: bool) -> bool {
    plain && (text.is_empty() || text == "~" || text.eq_ignore_ascii_case("null"))
}

/// A YAML 1.1 boolean word in any case: `true`/`yes`/`y`/`on`, `false`/`no`/`n`/`off`.
pub(super) fn boolean(text: &str) -> Option<bool> {
    let is = |words: [&str; 4]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
    if is(["true", "yes", "y", "on"]) {
        Some(true)
    } else if is(["false", "no", "n", "off"]) {
        Some(false)
    } else {
        None
    }
}

/// A plain decimal integer (`0`, `42`, `-7`; no sign `+`, no leading zero, no `_`).
fn integer(text: &str) -> Option<Meaning> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    let simple = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'));
    if !simple {
        return None;
    }
    if negative {
        return text.parse::<i64>().ok().map(Meaning::Int);
    }
    let value = digits.parse::<u64>().ok()?;
    Some(i64::try_from(value).map_or(Meaning::UInt(value), Meaning::Int))
}

/// Whether a mapping key is one the fast reader compares as serde-saphyr does: by its
/// text. Keys that may be numbers (serde-saphyr compares those by value), null keys and
/// the merge key `<<` are left to serde-saphyr, and so are keys longer than its parser
/// looks ahead for a key.
pub(super) fn is_plain_key(text: &str) -> bool {
    let Some(&first) = text.as_bytes().first() else {
        return false;
    };
    !(first.is_ascii_digit()
        || matches!(first, b'-' | b'+' | b'.' | b'~')
        || text.eq_ignore_ascii_case("null")
        || text == "<<"
        || text.len() > 256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_mean_what_serde_saphyr_reads() {
        assert_eq!(meaning("~", true), Some(Meaning::Null));
        assert_eq!(meaning("", true), Some(Meaning::Null));
        assert_eq!(meaning("NULL", true), Some(Meaning::Null));
        assert_eq!(meaning("Yes", true), Some(Meaning::Bool(true)));
        assert_eq!(meaning("off", true), Some(Meaning::Bool(false)));
        assert_eq!(meaning("-12", true), Some(Meaning::Int(-12)));
        assert_eq!(
            meaning("18446744073709551615", true),
            Some(Meaning::UInt(u64::MAX))
        );
        assert_eq!(meaning("Hello P0!", true), Some(Meaning::Text));
        assert_eq!(meaning("null", false), Some(Meaning::Text));
        assert_eq!(meaning("12", false), Some(Meaning::Text));
    }

    #[test]
    fn numbers_it_is_not_sure_of_are_left_to_serde_saphyr() {
        for text in [
            "1.5",
            "0x1F",
            "012",
            "+1",
            ".inf",
            "1e3",
            "1_000",
            "99999999999999999999",
            "-",
            "30m",
        ] {
            assert_eq!(meaning(text, true), None, "{text}");
        }
    }
}
