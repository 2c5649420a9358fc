//! Where in a `.proto` file a compile error is: protox reports it as a miette diagnostic
//! (a labelled span in the file's text, named as imported); this finds the file on disk
//! and the line and column, so the error points into the `.proto`, not at the scenario
//! line that loaded it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::Diagnostic as _;

/// A place in a `.proto` file.
#[derive(Debug, Clone)]
pub struct ProtoSpot {
    /// The file, as found through the import paths.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The file's text, for a snippet.
    pub text: Arc<str>,
}

/// The place `error` points at, with its file looked up in `includes`; `None` when the
/// error has no place (a file not found, an import cycle).
pub(super) fn spot_of(error: &protox::Error, includes: &[PathBuf]) -> Option<ProtoSpot> {
    let label = error.labels()?.next()?;
    let contents = error.source_code()?.read_span(label.inner(), 0, 0).ok()?;
    let name = contents.name().or(error.file())?;
    let file = find(name, includes)?;
    let text: Arc<str> = std::fs::read_to_string(&file).ok()?.into();
    Some(ProtoSpot {
        file,
        line: u32::try_from(contents.line() + 1).ok()?,
        column: u32::try_from(contents.column() + 1).ok()?,
        text,
    })
}

/// The file protox calls `name` (relative to an import path, or a path of its own).
fn find(name: &str, includes: &[PathBuf]) -> Option<PathBuf> {
    includes
        .iter()
        .map(|include| include.join(name))
        .chain(std::iter::once(Path::new(name).to_path_buf()))
        .find(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(dir: &Path) -> protox::Error {
        protox::Compiler::new([dir])
            .and_then(|mut c| c.open_file(dir.join("api.proto")).map(|_| ()))
            .expect_err("a broken proto")
    }

    #[test]
    fn a_syntax_error_points_at_its_line_and_column_in_the_proto() {
        let dir = tempfile::tempdir().unwrap();
        let text = "syntax = \"proto3\";\nmessage A {\n  string name = 1\n  int32 n = 2;\n}\n";
        std::fs::write(dir.path().join("api.proto"), text).unwrap();
        let spot = spot_of(&compile(dir.path()), &[dir.path().to_path_buf()]).expect("a spot");
        assert_eq!(spot.file, dir.path().join("api.proto"));
        assert_eq!((spot.line, spot.column), (4, 3));
    }

    #[test]
    fn an_undefined_type_points_at_its_use() {
        let dir = tempfile::tempdir().unwrap();
        let text = "syntax = \"proto3\";\nmessage A {\n  Missing m = 1;\n}\n";
        std::fs::write(dir.path().join("api.proto"), text).unwrap();
        let spot = spot_of(&compile(dir.path()), &[dir.path().to_path_buf()]).expect("a spot");
        assert_eq!((spot.line, spot.column), (3, 3));
    }
}
