//! Loading the scenario files named on the command line, reporting every located error.

use crate::cli::args::LoadArgs;
use crate::protos::ProtoSources;
use crate::scenario::{
    collect_files, load_file, LoadOptions, PoolCache, Role, Scenario, VarSources,
};

/// Loads every file for `roles`; on any error, prints them all and returns `None`.
pub fn load_scenarios(args: &LoadArgs, roles: &[Role]) -> Option<Vec<Scenario>> {
    let files = match collect_files(&args.paths) {
        Ok(files) => files,
        Err(error) => {
            print_error(error);
            return None;
        }
    };
    let options = LoadOptions {
        vars: VarSources {
            cli: args.vars.iter().cloned().collect(),
            use_env: true,
        },
        protos: ProtoSources {
            files: args.protos.protos.clone(),
            import_paths: args.protos.import_paths.clone(),
        },
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
    (!failed).then_some(scenarios)
}

/// Prints a diagnostic to standard error with its snippet.
pub fn print_error(error: impl miette::Diagnostic + Send + Sync + 'static) {
    eprintln!("{:?}", miette::Report::new(error));
}
