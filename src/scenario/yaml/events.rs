//! libyaml's events, narrowed to what the fast reader takes: one document of collections
//! and scalars written on one line, plain or quoted without escapes, so that each value is
//! exactly the text between its marks. Anything else is [`Unsupported`].

use super::super::node::Pos;
use super::libyaml::{Kind, Mark, Parser, Style};

/// Why the fast reader stopped: the file is left to serde-saphyr.
#[derive(Debug)]
pub(super) struct Unsupported;

/// The deepest nesting the fast reader takes (serde-saphyr's own limit is 64).
const MAX_DEPTH: usize = 32;

/// The largest file the fast reader takes: serde-saphyr refuses more than 64 MiB of scalar
/// text, which a larger file may hold.
const MAX_FILE: usize = 64 * 1024 * 1024;

/// One event.
#[derive(Debug)]
pub(super) enum Ev<'a> {
    /// A scalar: its text exactly as written, whether it was plain (unquoted), and where.
    Scalar {
        text: &'a str,
        plain: bool,
        pos: Pos,
    },
    /// A sequence starts.
    SeqStart(Pos),
    /// The sequence ends.
    SeqEnd,
    /// A mapping starts.
    MapStart(Pos),
    /// The mapping ends.
    MapEnd,
}

impl Ev<'_> {
    /// Where the event's node starts (`None` for the end of a collection).
    pub(super) fn pos(&self) -> Option<Pos> {
        match self {
            Ev::Scalar { pos, .. } | Ev::SeqStart(pos) | Ev::MapStart(pos) => Some(*pos),
            Ev::SeqEnd | Ev::MapEnd => None,
        }
    }
}

/// The events of one file, one at a time, with one of look-ahead.
pub(super) struct Events<'a> {
    text: &'a str,
    parser: Parser<'a>,
    peeked: Option<Ev<'a>>,
    /// The collections open, innermost last: for a block mapping, the column of its keys.
    open: Vec<Option<usize>>,
    nodes: usize,
    documents: usize,
    /// Where the last scalar ended: the text from there to the next is checked.
    cursor: usize,
}

impl<'a> Events<'a> {
    /// The events of `text`; `Unsupported` for a text the fast reader never takes.
    pub(super) fn new(text: &'a str) -> Result<Self, Unsupported> {
        let odd_byte = |b: &u8| *b < b' ' && *b != b'\n' || *b == 0x7f;
        if text.len() > MAX_FILE
            || text.as_bytes().iter().any(odd_byte)
            || text.starts_with('\u{feff}')
        {
            return Err(Unsupported);
        }
        Ok(Events {
            text,
            parser: Parser::new(text),
            peeked: None,
            open: Vec::new(),
            nodes: 0,
            documents: 0,
            cursor: 0,
        })
    }

    /// The next event, left in place.
    pub(super) fn peek(&mut self) -> Result<&Ev<'a>, Unsupported> {
        if self.peeked.is_none() {
            let event = self.read()?;
            self.peeked = Some(event);
        }
        self.peeked.as_ref().ok_or(Unsupported)
    }

    /// The next event.
    pub(super) fn next(&mut self) -> Result<Ev<'a>, Unsupported> {
        match self.peeked.take() {
            Some(event) => Ok(event),
            None => self.read(),
        }
    }

    /// Whether the stream ended after one document.
    pub(super) fn finish(mut self) -> Result<(), Unsupported> {
        if self.peeked.is_some() || !self.only_syntax(self.text.len()) {
            return Err(Unsupported);
        }
        loop {
            match self.parser.next().map_err(|_| Unsupported)?.kind {
                Kind::DocumentEnd => {}
                Kind::StreamEnd if self.documents == 1 => return Ok(()),
                _ => return Err(Unsupported),
            }
        }
    }

    fn read(&mut self) -> Result<Ev<'a>, Unsupported> {
        loop {
            let event = self.parser.next().map_err(|_| Unsupported)?;
            let pos = pos_of(&event.start);
            let ev = match event.kind {
                Kind::StreamStart => continue,
                Kind::DocumentStart { plain: true } if self.documents == 0 => {
                    self.documents = 1;
                    continue;
                }
                Kind::Scalar {
                    value: Some(text),
                    style,
                    marked: false,
                } => self.scalar(text, style, &event.start, &event.end)?,
                Kind::SequenceStart { marked: false } => {
                    if self.indentless(&event.start) {
                        return Err(Unsupported);
                    }
                    self.open(None)?;
                    Ev::SeqStart(pos)
                }
                Kind::MappingStart { marked: false } => {
                    let flow = self.text.as_bytes().get(event.start.index) == Some(&b'{');
                    self.open((!flow).then_some(event.start.column))?;
                    Ev::MapStart(pos)
                }
                Kind::SequenceEnd => {
                    self.open.pop();
                    Ev::SeqEnd
                }
                Kind::MappingEnd => {
                    self.open.pop();
                    Ev::MapEnd
                }
                _ => return Err(Unsupported),
            };
            return Ok(ev);
        }
    }

    /// A scalar written as is, on one line (not folded) and not empty (`key:`, which
    /// serde-saphyr and libyaml place differently), after nothing but syntax.
    fn scalar(
        &mut self,
        text: &'a str,
        style: Style,
        start: &Mark,
        end: &Mark,
    ) -> Result<Ev<'a>, Unsupported> {
        let plain = style == Style::Plain;
        if (plain && text.is_empty()) || start.line != end.line || !self.only_syntax(start.index) {
            return Err(Unsupported);
        }
        self.cursor = end.index;
        self.count_node()?;
        Ok(Ev::Scalar {
            text,
            plain,
            pos: pos_of(start),
        })
    }

    /// Whether the text from the last scalar up to `to` holds only what structures a file:
    /// spaces, line breaks, `[ ] { } ,`, `- ` and `: ` (a space or a line break after them;
    /// `---` too) and comments with a space or a line break before their `#`. libyaml also
    /// takes `}#` as a comment, and `{?a: 1}` as the key `a` where serde-saphyr reads `?a`.
    fn only_syntax(&self, to: usize) -> bool {
        let Some(gap) = self.text.get(self.cursor..to) else {
            return false;
        };
        let bytes = gap.as_bytes();
        let mut comment = false;
        for (i, &b) in bytes.iter().enumerate() {
            let before = if i == 0 {
                (self.cursor == 0).then_some(b'\n')
            } else {
                Some(bytes[i - 1])
            };
            let after = bytes.get(i + 1).copied();
            match b {
                b'\n' => comment = false,
                _ if comment => {}
                b'#' if matches!(before, Some(b' ' | b'\n')) => comment = true,
                b' ' | b',' | b'[' | b']' | b'{' | b'}' => {}
                b'-' if matches!(after, Some(b' ' | b'\n' | b'-') | None) => {}
                b':' if matches!(after, Some(b' ' | b'\n') | None) => {}
                _ => return false,
            }
        }
        true
    }

    /// Whether a sequence starting at `start` is a block sequence written at the column of
    /// the keys of the mapping that holds it (`key:` then `- item` below `key`), which
    /// serde-saphyr places at its first item and libyaml at its first `-`.
    fn indentless(&self, start: &Mark) -> bool {
        self.text.as_bytes().get(start.index) == Some(&b'-')
            && self.open.last() == Some(&Some(start.column))
    }

    /// A collection opens; `keys_column` is the column of a block mapping's keys.
    fn open(&mut self, keys_column: Option<usize>) -> Result<(), Unsupported> {
        self.count_node()?;
        self.open.push(keys_column);
        if self.open.len() > MAX_DEPTH {
            return Err(Unsupported);
        }
        Ok(())
    }

    /// Counts a node: serde-saphyr's budget allows as many nodes as the file has bytes
    /// (twice as many events); the fast reader stays at half that.
    fn count_node(&mut self) -> Result<(), Unsupported> {
        self.nodes += 1;
        if self.nodes > self.text.len() / 2 + 1 {
            return Err(Unsupported);
        }
        Ok(())
    }
}

fn pos_of(mark: &Mark) -> Pos {
    let one_based = |n: usize| u32::try_from(n + 1).unwrap_or(u32::MAX);
    Pos {
        line: one_based(mark.line),
        column: one_based(mark.column),
    }
}
