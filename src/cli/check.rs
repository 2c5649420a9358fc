//! `grpc-replay check` and `grpc-replay list`: offline validation and the method catalogue.

use super::args::{CatalogArgs, CheckArgs, RoleArg};
use super::exit::Exit;
use super::load::load_scenarios_reflecting;
use super::reflect::{catalog_pool, reflector};
use crate::protos::RpcKind;
use crate::scenario::{unplayable, Action, Role, Step, UnplayableCause};
use crate::transport::Http2Settings;

/// Validates scenarios and says which roles can play them.
pub(super) fn check(args: CheckArgs) -> Exit {
    let roles: Vec<Role> = match args.role {
        None => Vec::new(),
        Some(RoleArg::Client) => vec![Role::Client],
        Some(RoleArg::Server) => vec![Role::Server],
        Some(RoleArg::Both) => vec![Role::Client, Role::Server],
    };
    // --reflect and `reflect: true` ask the target; nothing else connects.
    let options = args.client_tls.connect_options(Http2Settings::default());
    let asker = reflector(args.target.clone(), options);
    let loaded = load_scenarios_reflecting(&args.load, &roles, Some(asker));
    if !loaded.errors.is_empty() {
        return Exit::Invalid;
    }
    let scenarios = loaded.scenarios;
    let mut calls = 0;
    let mut out = String::new();
    for scenario in &scenarios {
        calls += scenario.calls.len();
        let playable: Vec<String> = [Role::Client, Role::Server]
            .into_iter()
            .map(|role| {
                let blocked = scenario.calls.iter().find_map(|c| unplayable(c, role));
                match blocked {
                    None => format!("{} ok", role.label()),
                    Some(blocked) => format!(
                        "{} no (line {}: {}; `check --role {}` says more)",
                        role.label(),
                        blocked.pos.line,
                        obstacle(blocked.cause),
                        role.label()
                    ),
                }
            })
            .collect();
        for call in &scenario.calls {
            for (step, size) in oversized(&call.script, args.max_message_size) {
                eprintln!(
                    "warning: {}:{}: this `{}:` message is {size} bytes, over the message size \
                     limit ({} bytes): run, serve and bench refuse it unless their \
                     --max-message-size is raised",
                    scenario.path.display(),
                    step.pos,
                    step.action.keyword(),
                    args.max_message_size
                );
            }
        }
        out.push_str(&format!(
            "ok {} — {} call{} ({})\n",
            scenario.path.display(),
            scenario.calls.len(),
            if scenario.calls.len() == 1 { "" } else { "s" },
            playable.join(", ")
        ));
    }
    out.push_str(&format!(
        "{} files, {calls} calls: valid\n",
        scenarios.len()
    ));
    emit(&out);
    // The process ends next: the system takes the memory back at once, where dropping a
    // scenario of 100,000 steps frees it piece by piece (a tenth of `check`'s time).
    std::mem::forget(scenarios);
    Exit::Passed
}

/// In short, what keeps a role from playing a file.
fn obstacle(cause: UnplayableCause) -> &'static str {
    match cause {
        UnplayableCause::Matcher => "a matcher where a value is sent",
        UnplayableCause::NoSendCount => "a quantified `repeat:` with no `send:` count",
        UnplayableCause::CompressedFlag => {
            "a `compressed:` flag the call's compression cannot send"
        }
    }
}

/// The message steps of a script (inside `unordered:` and `group:` too) whose message is
/// larger than `limit` bytes, with that size.
fn oversized(script: &[Step], limit: u64) -> Vec<(&Step, u64)> {
    let mut found = Vec::new();
    for step in script {
        if let Action::Client(message) | Action::Server(message) = &step.action {
            let size = message.message.to_send().map_or(0, |b| b.len() as u64);
            if size > limit {
                found.push((step, size));
            }
        }
        found.extend(oversized(step.action.inner(), limit));
    }
    found
}

/// Prints every service and method with its streaming kind.
pub(super) fn list(args: CatalogArgs) -> Exit {
    let pool = match catalog_pool(&args) {
        Ok(pool) => pool,
        Err(exit) => return exit,
    };
    let mut out = String::new();
    for service in pool.services() {
        out.push_str(&format!("{}\n", service.full_name()));
        for method in service.methods() {
            let name = format!("{}/{}", service.full_name(), method.name());
            out.push_str(&format!(
                "  {name:<48} {:<17} {} → {}\n",
                RpcKind::of(&method).label(),
                method.input().full_name(),
                method.output().full_name()
            ));
        }
    }
    emit(&out);
    Exit::Passed
}

/// Writes to standard output; a reader that went away (`| head`) just ends the output.
pub(super) fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
