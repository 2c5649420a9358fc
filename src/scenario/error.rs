//! Located errors in scenario files, rendered with miette.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use super::node::Pos;
use crate::protos::ProtoSpot;

/// Something wrong in a scenario file, with the file, line and column, and a snippet.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error(transparent)]
#[diagnostic(transparent)]
pub struct LoadError(Box<Located>);

/// The parts of a [`LoadError`], boxed so that results carrying one stay small.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{location}: {message}")]
struct Located {
    /// `file:line:column`, or the file alone when no position is known.
    location: String,
    /// What is wrong, and what was expected.
    message: String,
    /// The file.
    file: PathBuf,
    /// 1-based line, 0 when unknown.
    line: u32,
    /// 1-based column, 0 when unknown.
    column: u32,
    #[source_code]
    source_code: Option<NamedSource<Arc<str>>>,
    #[label("here")]
    span: Option<SourceSpan>,
    #[help]
    help: Option<String>,
}

impl LoadError {
    /// An error at a position in a file whose text is `source`.
    pub fn at(file: &Path, source: &Arc<str>, pos: Pos, message: impl Into<String>) -> Self {
        let offset = offset_of(source, pos);
        let line_length = offset.map_or(0, |o| line_around(source, o).len());
        if line_length > MAX_SNIPPET_LINE {
            // A huge value on one line: the place is enough, the line is not printed.
            let mut error = LoadError::file(file, message);
            error.0.location = format!("{}:{}:{}", file.display(), pos.line, pos.column);
            error.0.line = pos.line;
            error.0.column = pos.column;
            return error.with_help(format!(
                "line {} is {line_length} bytes long: no snippet is shown",
                pos.line
            ));
        }
        LoadError(Box::new(Located {
            location: format!("{}:{}:{}", file.display(), pos.line, pos.column),
            message: message.into(),
            file: file.to_path_buf(),
            line: pos.line,
            column: pos.column,
            source_code: Some(NamedSource::new(file.display().to_string(), source.clone())),
            span: offset.map(|o| SourceSpan::new(o.into(), 1)),
            help: None,
        }))
    }

    /// An error at `spot` in a `.proto` file that `scenario` loads: through its `proto:`
    /// at `loaded_at`, or through `--proto` when that is `None`.
    pub fn in_proto(
        spot: &ProtoSpot,
        message: &str,
        scenario: &Path,
        loaded_at: Option<Pos>,
    ) -> Self {
        let pos = Pos {
            line: spot.line,
            column: spot.column,
        };
        let loaded_by = match loaded_at {
            Some(at) => format!(
                "loaded by {}:{}:{} (`proto:`)",
                scenario.display(),
                at.line,
                at.column
            ),
            None => format!("loaded for {} by --proto", scenario.display()),
        };
        LoadError::at(&spot.file, &spot.text, pos, message).with_help(loaded_by)
    }

    /// An error about a whole file (it cannot be read, for instance).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        LoadError(Box::new(Located {
            location: file.display().to_string(),
            message: message.into(),
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            source_code: None,
            span: None,
            help: None,
        }))
    }

    /// Adds advice on how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The file the error is in.
    pub fn path(&self) -> &Path {
        &self.0.file
    }

    /// The 1-based line, 0 when the error concerns the whole file.
    pub fn line(&self) -> u32 {
        self.0.line
    }

    /// The 1-based column, 0 when unknown.
    pub fn column(&self) -> u32 {
        self.0.column
    }
}

/// The longest line shown in a snippet.
const MAX_SNIPPET_LINE: usize = 1000;

/// The line of `source` that holds byte `offset`.
fn line_around(source: &str, offset: usize) -> &str {
    let start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = source[offset..]
        .find('\n')
        .map_or(source.len(), |i| offset + i);
    &source[start..end]
}

/// The byte offset of a 1-based line and column.
fn offset_of(source: &str, pos: Pos) -> Option<usize> {
    if pos.line == 0 {
        return None;
    }
    let line_start = if pos.line == 1 {
        0
    } else {
        source
            .match_indices('\n')
            .nth(pos.line as usize - 2)
            .map(|(i, _)| i + 1)?
    };
    let line = source[line_start..].split('\n').next().unwrap_or_default();
    let column = line
        .char_indices()
        .nth(pos.column.saturating_sub(1) as usize)
        .map_or(line.len(), |(i, _)| i);
    Some((line_start + column).min(source.len().saturating_sub(1)))
}
