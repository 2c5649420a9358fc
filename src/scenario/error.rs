//! Located errors in scenario files, rendered with miette.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use super::node::Pos;

/// Something wrong in a scenario file, with the file, line and column, and a snippet.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{location}: {message}")]
#[diagnostic(code(grpc_replay::scenario))]
pub struct LoadError {
    /// `file:line:column`, or the file alone when no position is known.
    pub location: String,
    /// What is wrong, and what was expected.
    pub message: String,
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u32,
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
        LoadError {
            location: format!("{}:{}:{}", file.display(), pos.line, pos.column),
            message: message.into(),
            file: file.to_path_buf(),
            line: pos.line,
            source_code: Some(NamedSource::new(file.display().to_string(), source.clone())),
            span: offset.map(|o| SourceSpan::new(o.into(), 1)),
            help: None,
        }
    }

    /// An error about a whole file (it cannot be read, for instance).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        LoadError {
            location: file.display().to_string(),
            message: message.into(),
            file: file.to_path_buf(),
            line: 0,
            source_code: None,
            span: None,
            help: None,
        }
    }

    /// Adds advice on how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
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
