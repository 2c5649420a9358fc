//! Loading the scenario files named on the command line, reporting every located error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::cli::args::{check_var_name, LoadArgs};
use crate::protos::Reflector;
use crate::report::{ColorChoice, FileError};
use crate::scenario::{
    collect_files, load_file, LoadError, LoadOptions, PoolCache, Role, Scenario, VarSources,
};

/// What loading produced: the scenarios that loaded, and an error for each file (or
/// input every file needs) that did not, each already printed on standard error.
pub(super) struct Loaded {
    /// The scenarios that loaded, with the calls `--filter` keeps.
    pub scenarios: Vec<Scenario>,
    /// What did not load.
    pub errors: Vec<FileError>,
}

/// Loads every file for `roles` and keeps the calls `--filter` selects; a file that does
/// not load does not stop the others. No server is asked for reflection.
pub(super) fn load_scenarios(args: &LoadArgs, roles: &[Role]) -> Loaded {
    load_scenarios_reflecting(args, roles, None)
}

/// [`load_scenarios`], asking `reflector` for descriptors where `--reflect` or a file's
/// `reflect: true` says so.
pub(super) fn load_scenarios_reflecting(
    args: &LoadArgs,
    roles: &[Role],
    reflector: Option<Reflector>,
) -> Loaded {
    let failed = |error: LoadError| Loaded {
        scenarios: Vec::new(),
        errors: vec![file_error(&error)],
    };
    let files =
        match expand_globs(&args.paths).and_then(|paths| collect_files(&paths).map_err(Box::new)) {
            Ok(files) => without_repeats(files),
            Err(error) => return failed(*error),
        };
    let mut file_vars = HashMap::new();
    for file in &args.vars_files {
        match read_vars_file(file) {
            Ok(vars) => file_vars.extend(vars),
            Err(error) => return failed(*error),
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
    let mut loaded = Loaded {
        scenarios: Vec::with_capacity(files.len()),
        errors: Vec::new(),
    };
    for file in files {
        match load_file(&file, &options, &mut pools) {
            Ok(scenario) => loaded.scenarios.push(scenario),
            Err(error) => loaded.errors.push(file_error(&error)),
        }
    }
    let any_loaded = !loaded.scenarios.is_empty();
    loaded.scenarios = keep_filtered(loaded.scenarios, &args.filters);
    if any_loaded && loaded.scenarios.is_empty() {
        let message = format!(
            "no call matches --filter {}",
            args.filters.join(", --filter ")
        );
        loaded
            .errors
            .push(file_error(&LoadError::file(Path::new("--filter"), message)));
    }
    loaded
}

/// Prints `error` on standard error and returns it as a case for the reports.
fn file_error(error: &LoadError) -> FileError {
    print_error(error);
    let mut text = String::new();
    let plain = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none())
        .with_wrap_lines(false);
    if plain.render_report(&mut text, error).is_err() {
        text = error.to_string();
    }
    let name = error.path().file_stem().map_or_else(
        || error.path().display().to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    FileError {
        file: error.path().to_path_buf(),
        name,
        line: error.line(),
        column: error.column(),
        message: error.message().to_string(),
        text,
    }
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
pub(super) fn print_error(error: &dyn miette::Diagnostic) {
    let theme = match super::color() {
        ColorChoice::Auto => miette::GraphicalTheme::default(),
        ColorChoice::Always => miette::GraphicalTheme::unicode(),
        ColorChoice::Never => miette::GraphicalTheme::none(),
    };
    let mut text = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_wrap_lines(false);
    if handler.render_report(&mut text, error).is_err() {
        text = error.to_string();
    }
    eprintln!("{}", text.trim_end());
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
