//! `grpc-replay check` and `grpc-replay list`: offline validation and the method catalogue.

use super::args::{CheckArgs, ProtoArgs, RoleArg};
use super::exit::Exit;
use super::load::load_scenarios;
use crate::protos::{load_pool, ProtoSources, RpcKind};
use crate::scenario::{unplayable, Role};

/// Validates scenarios and says which roles can play them.
pub fn check(args: CheckArgs) -> Exit {
    let roles: Vec<Role> = match args.role {
        None => Vec::new(),
        Some(RoleArg::Client) => vec![Role::Client],
        Some(RoleArg::Server) => vec![Role::Server],
        Some(RoleArg::Both) => vec![Role::Client, Role::Server],
    };
    let Some(scenarios) = load_scenarios(&args.load, &roles) else {
        return Exit::Invalid;
    };
    let mut calls = 0;
    for scenario in &scenarios {
        calls += scenario.calls.len();
        let playable: Vec<String> = [Role::Client, Role::Server]
            .into_iter()
            .map(|role| {
                let blocked = scenario.calls.iter().find_map(|c| unplayable(c, role));
                match blocked {
                    None => format!("{} ok", role.label()),
                    Some((pos, _)) => format!(
                        "{} no (line {}: a matcher where a value is sent)",
                        role.label(),
                        pos.line
                    ),
                }
            })
            .collect();
        println!(
            "ok {} — {} call{} ({})",
            scenario.path.display(),
            scenario.calls.len(),
            if scenario.calls.len() == 1 { "" } else { "s" },
            playable.join(", ")
        );
    }
    println!("{} files, {calls} calls: valid", scenarios.len());
    Exit::Passed
}

/// Prints every service and method with its streaming kind.
pub fn list(args: ProtoArgs) -> Exit {
    let sources = ProtoSources {
        files: args.protos,
        import_paths: args.import_paths,
    };
    let pool = match load_pool(&sources) {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Invalid;
        }
    };
    for service in pool.services() {
        println!("{}", service.full_name());
        for method in service.methods() {
            let name = format!("{}/{}", service.full_name(), method.name());
            println!(
                "  {name:<48} {:<17} {} → {}",
                RpcKind::of(&method).label(),
                method.input().full_name(),
                method.output().full_name()
            );
        }
    }
    Exit::Passed
}
