//! Where the `--report` files go: each written whole to a temporary file beside it and
//! renamed over it, so that a reader (or a process killed mid-write) never sees an empty
//! or torn report, only the previous complete one or the new one.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::outcome::RunOutcome;
use super::ReportFormat;

/// The reports a command writes: each a format and a file, or standard output.
#[derive(Debug)]
pub(crate) struct ReportSink {
    targets: Vec<(ReportFormat, Option<PathBuf>)>,
}

/// A report that could not be written: its name (a path, or "standard output") and why.
pub(super) type SinkError = (String, std::io::Error);

impl ReportSink {
    /// Prepares the reports: creates the folders, checks that each file can be written,
    /// and removes a report left by an earlier run (so that it is never taken for this
    /// run's). `None` as a path is standard output, written only by [`ReportSink::finish`].
    pub(crate) fn open(
        targets: Vec<(ReportFormat, Option<PathBuf>)>,
    ) -> Result<ReportSink, SinkError> {
        for path in targets.iter().filter_map(|(_, path)| path.as_ref()) {
            prepare(path).map_err(|e| (path.display().to_string(), e))?;
        }
        Ok(ReportSink { targets })
    }

    /// Whether any report goes to a file (a snapshot then has somewhere to go).
    pub(crate) fn has_files(&self) -> bool {
        self.targets.iter().any(|(_, path)| path.is_some())
    }

    /// Writes the report files (not standard output) for `outcome`, each atomically.
    pub(crate) fn snapshot(&self, outcome: &RunOutcome) -> Vec<SinkError> {
        self.targets
            .iter()
            .filter_map(|(format, path)| {
                let path = path.as_ref()?;
                write_atomic(path, &format.render(outcome))
                    .err()
                    .map(|e| (path.display().to_string(), e))
            })
            .collect()
    }

    /// Writes every report for `outcome`: the files atomically, then standard output.
    pub(crate) fn finish(&self, outcome: &RunOutcome) -> Vec<SinkError> {
        let mut errors = self.snapshot(outcome);
        for (format, _) in self.targets.iter().filter(|(_, path)| path.is_none()) {
            let mut out = std::io::stdout().lock();
            let written = out
                .write_all(format.render(outcome).as_bytes())
                .and_then(|()| out.flush());
            if let Err(error) = written {
                errors.push(("to standard output".to_string(), error));
            }
        }
        errors
    }
}

/// Creates the folder of `path`, checks that a file can be created there, and removes an
/// old report at `path`.
fn prepare(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    let temporary = temporary_for(path);
    std::fs::File::create(&temporary)?;
    std::fs::remove_file(&temporary)?;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
pub(super) fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = temporary_for(path);
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// `.NAME.PID.tmp` beside `path`.
fn temporary_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.xml");
        write_atomic(&path, "first").unwrap();
        write_atomic(&path, "second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.xml"]);
    }

    #[test]
    fn opening_creates_folders_and_removes_a_stale_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/junit.xml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "old run").unwrap();
        let sink = ReportSink::open(vec![(ReportFormat::Junit, Some(path.clone()))]).unwrap();
        assert!(sink.has_files());
        assert!(!path.exists(), "a report of an earlier run is removed");
        let dir_as_file = ReportSink::open(vec![(ReportFormat::Tap, Some(dir.path().into()))]);
        assert!(dir_as_file.is_err());
    }
}
