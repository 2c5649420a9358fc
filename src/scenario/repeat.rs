//! `repeat:` and `optional:` of a step: how many times it happens, as a count or a range.
//!
//! `repeat: N` is exact. `repeat: "*"` accepts any number (0 or more) and
//! `repeat: {min: A, max: B, send: C}` a range (`min` 0 and `max` unbounded when left out);
//! `send:` is how many the performing side does, `min` when left out and `min` is 1 or more.
//! `optional: true` lowers `min` to 0.

use super::bounds::MAX_REPEAT;
use super::model::Repeat;
use super::node::{Node, NodeValue, Pos};

/// Why a `repeat:` cannot be read: where, and what is wrong.
pub(super) type RepeatError = (Pos, String);

/// Reads `repeat:` (absent: once) and `optional:`.
pub(super) fn parse(node: Option<&Node>, optional: bool) -> Result<Repeat, RepeatError> {
    let mut repeat = match node {
        None => Repeat::exactly(1),
        Some(node) => match &node.value {
            NodeValue::Str(star) if star == "*" => Repeat {
                min: 0,
                max: Repeat::UNBOUNDED,
                send: None,
            },
            NodeValue::Map(entries) => range(node.pos, entries)?,
            _ => match count(node) {
                Some(n) if n >= 1 => Repeat::exactly(n),
                _ => return Err((node.pos, EXACT_HELP.to_string())),
            },
        },
    };
    if optional {
        repeat.min = 0;
    }
    Ok(repeat)
}

const EXACT_HELP: &str = "`repeat:` takes a whole number of times, 1 or more (at most \
    1,000,000,000), `\"*\"` (any number), or a range `{min: A, max: B, send: C}`";

/// A whole number in bounds, written as one or put there by a variable.
fn count(node: &Node) -> Option<u64> {
    let n = match &node.value {
        NodeValue::Int(n) => u64::try_from(*n).ok()?,
        NodeValue::Str(text) => text.parse::<u64>().ok()?,
        _ => return None,
    };
    (n <= MAX_REPEAT as u64).then_some(n)
}

fn range(pos: Pos, entries: &[(super::node::Key, Node)]) -> Result<Repeat, RepeatError> {
    let (mut min, mut max, mut send) = (None, None, None);
    for (key, value) in entries {
        let slot = match key.name.as_str() {
            "min" => &mut min,
            "max" => &mut max,
            "send" => &mut send,
            other => {
                return Err((
                    key.pos,
                    format!("`repeat:` ranges take `min:`, `max:` and `send:`, not `{other}:`"),
                ))
            }
        };
        let n = count(value).ok_or_else(|| {
            (
                value.pos,
                format!("`{}:` takes a whole number, 0 to 1,000,000,000", key.name),
            )
        })?;
        *slot = Some((n, value.pos));
    }
    let low = min.map_or(0, |(n, _)| n);
    let high = max.map_or(Repeat::UNBOUNDED, |(n, _)| n);
    if let Some((0, at)) = max {
        return Err((
            at,
            "`max: 0` leaves nothing to repeat: leave the step out".into(),
        ));
    }
    if low > high {
        let at = max.map_or(pos, |(_, at)| at);
        return Err((at, format!("`max: {high}` is less than `min: {low}`")));
    }
    if let Some((n, at)) = send.filter(|(n, _)| *n < low || *n > high) {
        let upper = max.map_or("no limit".to_string(), |(m, _)| m.to_string());
        return Err((
            at,
            format!("`send: {n}` is outside the range it sends in ({low} to {upper})"),
        ));
    }
    let send = send.map(|(n, _)| n).or((low >= 1).then_some(low));
    Ok(Repeat {
        min: low,
        max: high,
        send,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::node::Key;

    fn int(n: i64) -> Node {
        Node {
            pos: Pos { line: 3, column: 9 },
            value: NodeValue::Int(n),
        }
    }

    fn map(entries: &[(&str, i64)]) -> Node {
        Node {
            pos: Pos { line: 2, column: 5 },
            value: NodeValue::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let pos = Pos::default();
                        (
                            Key {
                                pos,
                                name: k.to_string(),
                            },
                            int(*v),
                        )
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn a_count_is_exact_and_a_star_is_open() {
        assert_eq!(parse(None, false), Ok(Repeat::exactly(1)));
        assert_eq!(parse(Some(&int(3)), false), Ok(Repeat::exactly(3)));
        let star = Node {
            pos: Pos::default(),
            value: NodeValue::Str("*".into()),
        };
        let open = parse(Some(&star), false).unwrap();
        assert_eq!(
            (open.min, open.max, open.send),
            (0, Repeat::UNBOUNDED, None)
        );
        assert!(parse(Some(&int(0)), false).is_err());
    }

    #[test]
    fn a_range_sends_its_minimum_unless_told() {
        let r = parse(Some(&map(&[("min", 2), ("max", 101)])), false).unwrap();
        assert_eq!((r.min, r.max, r.send), (2, 101, Some(2)));
        let r = parse(Some(&map(&[("min", 2), ("send", 7)])), false).unwrap();
        assert_eq!((r.min, r.max, r.send), (2, Repeat::UNBOUNDED, Some(7)));
        let r = parse(Some(&map(&[("max", 4)])), false).unwrap();
        assert_eq!((r.min, r.max, r.send), (0, 4, None));
    }

    #[test]
    fn a_range_out_of_order_or_a_send_outside_it_is_refused() {
        assert!(parse(Some(&map(&[("min", 5), ("max", 2)])), false).is_err());
        assert!(parse(Some(&map(&[("min", 2), ("max", 4), ("send", 5)])), false).is_err());
        assert!(parse(Some(&map(&[("max", 0)])), false).is_err());
        assert!(parse(Some(&map(&[("most", 3)])), false).is_err());
    }

    #[test]
    fn optional_lowers_the_minimum_and_keeps_the_send() {
        let r = parse(None, true).unwrap();
        assert_eq!((r.min, r.max, r.send), (0, 1, Some(1)));
        let r = parse(Some(&int(3)), true).unwrap();
        assert_eq!((r.min, r.max, r.send), (0, 3, Some(3)));
    }
}
