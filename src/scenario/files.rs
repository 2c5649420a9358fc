//! Finding scenario files: files as given, directories searched for `*.yaml` / `*.yml`.

use std::path::{Path, PathBuf};

use super::error::LoadError;

/// Expands files and directories into the scenario files they hold (`*.yaml`, `*.yml`,
/// directories searched recursively, sorted by path).
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            walk(path, &mut files)
                .map_err(|e| LoadError::file(path, format!("cannot read directory: {e}")))?;
            if files.len() == before {
                return Err(LoadError::file(
                    path,
                    "no scenario files (*.yaml, *.yml) in this directory",
                ));
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(LoadError::file(path, "no such file or directory"));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    Ok(())
}
