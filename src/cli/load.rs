//! Loading the scenario files named on the command line, reporting every located error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::cli::args::{check_var_name, LoadArgs};
use crate::protos::Reflector;
use crate::scenario::{
    collect_files, load_file, LoadError, LoadOptions, PoolCache, Role, Scenario, VarSources,
};

/// Loads every file for `roles` and keeps the calls `--filter` selects; on any error,
/// prints them all and returns `None`. No server is asked for reflection.
pub fn load_scenarios(args: &LoadArgs, roles: &[Role]) -> Option<Vec<Scenario>> {
    load_scenarios_reflecting(args, roles, None)
}

/// [`load_scenarios`], asking `reflector` for descriptors where `--reflect` or a file's
/// `reflect: true` says so.
pub fn load_scenarios_reflecting(
    args: &LoadArgs,
    roles: &[Role],
    reflector: Option<Reflector>,
) -> Option<Vec<Scenario>> {
    let files =
        match expand_globs(&args.paths).and_then(|paths| collect_files(&paths).map_err(Box::new)) {
            Ok(files) => without_repeats(files),
            Err(error) => {
                print_error(*error);
                return None;
            }
        };
    let mut file_vars = HashMap::new();
    for file in &args.vars_files {
        match read_vars_file(file) {
            Ok(vars) => file_vars.extend(vars),
            Err(error) => {
                print_error(*error);
                return None;
            }
        }
    }
    let options = LoadOptions {
        vars: VarSources {
            cli: args.vars.iter().cloned().collect(),
            files: file_vars,
            use_env: true,
        },
        protos: args.protos.sources(),
        reflect: args.protos.reflect,
        reflector,
        roles: roles.to_vec(),
    };
    let mut pools = PoolCache::default();
    let mut scenarios = Vec::with_capacity(files.len());
    let mut failed = false;
    for file in files {
        match load_file(&file, &options, &mut pools) {
            Ok(scenario) => scenarios.push(scenario),
            Err(error) => {
                print_error(error);
                failed = true;
            }
        }
    }
    if failed {
        return None;
    }
    let scenarios = keep_filtered(scenarios, &args.filters);
    if scenarios.is_empty() {
        eprintln!(
            "error: no call matches --filter {}",
            args.filters.join(", --filter ")
        );
        return None;
    }
    Some(scenarios)
}

/// Replaces each path that does not exist and holds `*`, `?` or `[` by the directories and
/// *.yaml / *.yml files the pattern matches (`**` crosses directories), for shells that did
/// not expand it.
fn expand_globs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Box<LoadError>> {
    let mut expanded = Vec::with_capacity(paths.len());
    for path in paths {
        let text = path.to_string_lossy();
        if path.exists() || !text.contains(['*', '?', '[']) {
            expanded.push(path.clone());
            continue;
        }
        let matches = glob::glob(&text)
            .map_err(|e| LoadError::file(path, format!("not a valid glob pattern: {e}")))
            .map_err(Box::new)?;
        let before = expanded.len();
        expanded.extend(
            matches
                .filter_map(Result::ok)
                .filter(|p| p.is_dir() || is_scenario_file(p)),
        );
        if expanded.len() == before {
            return Err(Box::new(LoadError::file(
                path,
                "no directory or scenario file (*.yaml, *.yml) matches this pattern",
            )));
        }
    }
    Ok(expanded)
}

fn is_scenario_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// The files in order, each once (a pattern and a directory may name the same file).
fn without_repeats(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    files
        .into_iter()
        .filter(|file| seen.insert(file.clone()))
        .collect()
}

/// Reads a `--vars-file`: a YAML mapping of variable names to scalar values.
fn read_vars_file(path: &Path) -> Result<HashMap<String, String>, Box<LoadError>> {
    let error = |message: String| Box::new(LoadError::file(path, message));
    let text = std::fs::read_to_string(path)
        .map_err(|e| error(format!("cannot read the variables file: {e}")))?;
    if text.trim().is_empty() {
        return Ok(HashMap::new());
    }
    let vars: BTreeMap<String, String> = serde_saphyr::from_str(&text).map_err(|e| {
        error(format!(
            "not a mapping of variable names to values (NAME: VALUE): {e}"
        ))
    })?;
    for name in vars.keys() {
        check_var_name(name).map_err(error)?;
    }
    Ok(vars.into_iter().collect())
}

/// Keeps the calls whose file path, scenario name, call id or call name contains one of
/// `filters` (all of them when there are none), and the files that keep a call.
fn keep_filtered(scenarios: Vec<Scenario>, filters: &[String]) -> Vec<Scenario> {
    if filters.is_empty() {
        return scenarios;
    }
    let matches = |text: &str| filters.iter().any(|f| text.contains(f.as_str()));
    scenarios
        .into_iter()
        .filter_map(|mut scenario| {
            if !matches(&scenario.path.to_string_lossy()) && !matches(&scenario.name) {
                scenario
                    .calls
                    .retain(|call| matches(&call.id) || matches(&call.name));
            }
            (!scenario.calls.is_empty()).then_some(scenario)
        })
        .collect()
}

/// Prints a diagnostic to standard error with its snippet.
pub fn print_error(error: impl miette::Diagnostic + Send + Sync + 'static) {
    eprintln!("{:?}", miette::Report::new(error));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vars_file_reads_scalars_of_every_kind_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vars.yaml");
        std::fs::write(
            &file,
            "USER: alice\nPORT: 50051\nDEBUG: true\nRATIO: 1.50\n",
        )
        .unwrap();
        let vars = read_vars_file(&file).unwrap();
        assert_eq!(vars["USER"], "alice");
        assert_eq!(vars["PORT"], "50051");
        assert_eq!(vars["DEBUG"], "true");
        assert_eq!(vars["RATIO"], "1.50");
    }

    #[test]
    fn a_vars_file_rejects_nested_values_and_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vars.yaml");
        std::fs::write(&file, "USER: {name: alice}\n").unwrap();
        assert!(read_vars_file(&file).is_err());
        std::fs::write(&file, "not-a-name: 1\n").unwrap();
        let error = read_vars_file(&file).unwrap_err();
        assert!(
            error.message().contains("not a variable name"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn glob_patterns_expand_to_scenario_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["a.yaml", "b.yml", "notes.txt", "sub/c.yaml"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let pattern = dir.path().join("**").join("*");
        let expanded = expand_globs(&[pattern]).unwrap();
        let names: Vec<String> = expanded
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yml", "sub", "sub/c.yaml"]);
        let none = expand_globs(&[dir.path().join("*.json")]).unwrap_err();
        assert!(
            none.message().contains("matches this pattern"),
            "{}",
            none.message()
        );
    }
}
