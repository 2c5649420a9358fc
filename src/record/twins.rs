//! Recordings that `serve` could not tell apart: the same method and the same client side
//! (a stateful server asked the same thing twice). Served from one folder, the first in
//! file order answers both, so `record` says so when it stops.

use std::path::Path;

use crate::scenario::{collect_files, load_file, LoadOptions, PoolCache};
use crate::server::{indistinguishable, Twins};

/// The twins among the scenario files in `folder`, as `serve FOLDER` would load them.
/// Files that do not load on their own (one that needs `--var`, a proto passed by flag) are
/// left out: `serve` reports those itself.
pub(crate) fn twins_in(folder: &Path) -> Vec<Twins> {
    let Ok(files) = collect_files(&[folder.to_path_buf()]) else {
        return Vec::new();
    };
    let options = LoadOptions::default();
    let mut pools = PoolCache::default();
    let scenarios: Vec<_> = files
        .iter()
        .filter_map(|file| load_file(file, &options, &mut pools).ok())
        .collect();
    indistinguishable(&scenarios)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED: &str = "call: calculator.CalculatorService/Maximum
script:
  - client: {number: 4}
  - close
  - server: {result: RESULT}
  - status: OK
";

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("written");
        }
        dir
    }

    #[test]
    fn two_recordings_of_the_same_question_with_different_answers_are_twins() {
        let dir = folder(&[
            ("0001-Maximum.yaml", &RECORDED.replace("RESULT", "4")),
            ("0002-Maximum.yaml", &RECORDED.replace("RESULT", "5")),
        ]);
        let twins = twins_in(dir.path());
        assert_eq!(twins.len(), 1, "{twins:?}");
        assert!(twins[0].first.file.ends_with("0001-Maximum.yaml"));
        assert!(twins[0].second.file.ends_with("0002-Maximum.yaml"));
    }

    #[test]
    fn recordings_of_different_questions_are_not_twins() {
        let other = RECORDED.replace("number: 4", "number: 9");
        let dir = folder(&[
            ("0001-Maximum.yaml", &RECORDED.replace("RESULT", "4")),
            ("0002-Maximum.yaml", &other.replace("RESULT", "9")),
            ("0003-broken.yaml", "call: no.Such/Method\n"),
        ]);
        assert_eq!(twins_in(dir.path()), Vec::new());
    }
}
