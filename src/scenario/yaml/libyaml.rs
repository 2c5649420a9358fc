//! libyaml's parser behind a safe interface: the only `unsafe` code of the crate, kept to
//! the calls serde_yaml made for years (initialize, set the input, parse, delete). Each
//! event is copied out and deleted before the next is asked for.

use std::mem::MaybeUninit;

use unsafe_libyaml as unsafe_sys;

/// A place in the text: byte offset, 0-based line and column (in characters).
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    pub index: usize,
    pub line: usize,
    pub column: usize,
}

/// A scalar's style as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` or `>`.
    Block,
}

/// What an event is. `marked` says whether the node carries an anchor or a tag.
#[derive(Debug)]
pub(super) enum Kind<'a> {
    StreamStart,
    StreamEnd,
    /// A document starts; `plain` when it has no `%YAML` or `%TAG` directive.
    DocumentStart {
        plain: bool,
    },
    DocumentEnd,
    Alias,
    /// A scalar. `value` is its value when that is the text between its marks (quotes
    /// aside); `None` when libyaml made it from something else (escapes, folded lines, a
    /// block scalar).
    Scalar {
        value: Option<&'a str>,
        style: Style,
        marked: bool,
    },
    SequenceStart {
        marked: bool,
    },
    SequenceEnd,
    MappingStart {
        marked: bool,
    },
    MappingEnd,
}

/// One event and where it starts and ends.
#[derive(Debug)]
pub(super) struct Event<'a> {
    pub kind: Kind<'a>,
    pub start: Mark,
    pub end: Mark,
}

/// A YAML syntax error: the fast reader stops.
#[derive(Debug)]
pub(super) struct ParseError;

/// libyaml's parser over a text borrowed for its whole life.
pub(super) struct Parser<'a> {
    // Boxed: libyaml's parser must not move once initialized.
    parser: Box<MaybeUninit<unsafe_sys::yaml_parser_t>>,
    failed: bool,
    text: &'a str,
}

impl<'a> Parser<'a> {
    /// A parser of `text`.
    pub(super) fn new(text: &'a str) -> Self {
        let mut parser = Box::new(MaybeUninit::<unsafe_sys::yaml_parser_t>::uninit());
        // SAFETY: initialize writes the whole struct (it returns FAIL only when it cannot
        // allocate its buffers, and then the parser is still valid to delete); the input
        // pointer and length are the text's, which outlives the parser ('a).
        let initialized = unsafe {
            let initialized = unsafe_sys::yaml_parser_initialize(parser.as_mut_ptr()).ok;
            unsafe_sys::yaml_parser_set_input_string(
                parser.as_mut_ptr(),
                text.as_ptr(),
                text.len() as _,
            );
            initialized
        };
        Parser {
            parser,
            failed: !initialized,
            text,
        }
    }

    /// The next event; after an error, always an error.
    pub(super) fn next(&mut self) -> Result<Event<'a>, ParseError> {
        if self.failed {
            return Err(ParseError);
        }
        let mut event = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
        // SAFETY: the parser is initialized; parse fills the event (zeroed on failure),
        // which is read only on success and deleted once copied out.
        let event = unsafe {
            if !unsafe_sys::yaml_parser_parse(self.parser.as_mut_ptr(), event.as_mut_ptr()).ok {
                self.failed = true;
                return Err(ParseError);
            }
            let copied = copy_event(event.as_ptr(), self.text);
            unsafe_sys::yaml_event_delete(event.as_mut_ptr());
            copied
        };
        self.failed = event.is_err();
        event
    }
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        // SAFETY: initialized in `new`, deleted once.
        unsafe { unsafe_sys::yaml_parser_delete(self.parser.as_mut_ptr()) }
    }
}

/// Copies what the reader needs out of a parsed event of `text`.
///
/// # Safety
/// `event` points to an event that `yaml_parser_parse` filled and that is not yet deleted.
unsafe fn copy_event<'a>(
    event: *const unsafe_sys::yaml_event_t,
    text: &'a str,
) -> Result<Event<'a>, ParseError> {
    let event = &*event;
    let marked = |anchor: *const u8, tag: *const u8| !anchor.is_null() || !tag.is_null();
    let kind = match event.type_ {
        unsafe_sys::YAML_STREAM_START_EVENT => Kind::StreamStart,
        unsafe_sys::YAML_STREAM_END_EVENT => Kind::StreamEnd,
        unsafe_sys::YAML_DOCUMENT_START_EVENT => {
            let start = event.data.document_start;
            Kind::DocumentStart {
                plain: start.version_directive.is_null()
                    && start.tag_directives.start == start.tag_directives.end,
            }
        }
        unsafe_sys::YAML_DOCUMENT_END_EVENT => Kind::DocumentEnd,
        unsafe_sys::YAML_ALIAS_EVENT => Kind::Alias,
        unsafe_sys::YAML_SCALAR_EVENT => {
            let scalar = event.data.scalar;
            let value = std::slice::from_raw_parts(scalar.value, scalar.length as usize);
            let style = match scalar.style {
                unsafe_sys::YAML_PLAIN_SCALAR_STYLE => Style::Plain,
                unsafe_sys::YAML_SINGLE_QUOTED_SCALAR_STYLE => Style::SingleQuoted,
                unsafe_sys::YAML_DOUBLE_QUOTED_SCALAR_STYLE => Style::DoubleQuoted,
                _ => Style::Block,
            };
            let written = between(text, &event.start_mark, &event.end_mark, style);
            Kind::Scalar {
                value: written.filter(|w| w.as_bytes() == value),
                style,
                marked: marked(scalar.anchor, scalar.tag),
            }
        }
        unsafe_sys::YAML_SEQUENCE_START_EVENT => Kind::SequenceStart {
            marked: marked(
                event.data.sequence_start.anchor,
                event.data.sequence_start.tag,
            ),
        },
        unsafe_sys::YAML_SEQUENCE_END_EVENT => Kind::SequenceEnd,
        unsafe_sys::YAML_MAPPING_START_EVENT => Kind::MappingStart {
            marked: marked(
                event.data.mapping_start.anchor,
                event.data.mapping_start.tag,
            ),
        },
        unsafe_sys::YAML_MAPPING_END_EVENT => Kind::MappingEnd,
        _ => return Err(ParseError),
    };
    Ok(Event {
        kind,
        start: mark(&event.start_mark),
        end: mark(&event.end_mark),
    })
}

/// The text between a scalar's marks, its quotes aside.
fn between<'a>(
    text: &'a str,
    start: &unsafe_sys::yaml_mark_t,
    end: &unsafe_sys::yaml_mark_t,
    style: Style,
) -> Option<&'a str> {
    let written = text.get(start.index as usize..end.index as usize)?;
    match style {
        Style::Plain => Some(written),
        Style::SingleQuoted => written.strip_prefix('\'')?.strip_suffix('\''),
        Style::DoubleQuoted => written.strip_prefix('"')?.strip_suffix('"'),
        Style::Block => None,
    }
}

fn mark(mark: &unsafe_sys::yaml_mark_t) -> Mark {
    Mark {
        index: mark.index as usize,
        line: mark.line as usize,
        column: mark.column as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_with_their_places() {
        let mut parser = Parser::new("a: 'b'\nc: 'it''s'\n");
        let mut kinds = Vec::new();
        while let Ok(event) = parser.next() {
            let end = matches!(event.kind, Kind::StreamEnd);
            kinds.push((
                format!("{:?}", event.kind),
                event.start.index,
                event.end.index,
            ));
            if end {
                break;
            }
        }
        let scalars: Vec<_> = kinds.iter().filter(|k| k.0.starts_with("Scalar")).collect();
        assert_eq!(scalars.len(), 4);
        assert_eq!((scalars[1].1, scalars[1].2), (3, 6));
        assert!(scalars[1].0.contains("Some(\"b\")") && scalars[1].0.contains("SingleQuoted"));
        // `it''s` is not the text between the quotes: libyaml made it.
        assert!(scalars[3].0.contains("value: None"));
    }

    #[test]
    fn a_syntax_error_stays_an_error() {
        let mut parser = Parser::new("a: [b\n");
        let mut results = Vec::new();
        for _ in 0..8 {
            results.push(parser.next().is_ok());
        }
        assert!(results.contains(&false));
        assert!(!results[results.iter().position(|ok| !ok).unwrap()..].contains(&true));
    }
}
