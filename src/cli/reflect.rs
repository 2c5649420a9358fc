//! `--reflect` and `reflect: true`: descriptors from the target's server reflection, asked
//! once per target per command.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prost_reflect::DescriptorPool;

use super::args::CatalogArgs;
use super::exit::Exit;
use crate::client::ConnectOptions;
use crate::protos::{fetch_descriptors, load_pool, Reflected, Reflector};

/// The pool `list` and `describe` read: the flags' sources, the target's reflection added
/// with --reflect; on error, says it and returns the exit code.
pub(super) fn catalog_pool(args: &CatalogArgs) -> Result<DescriptorPool, Exit> {
    let mut sources = args.protos.sources();
    if args.protos.reflect {
        let Some(target) = &args.target else {
            eprintln!("error: --reflect needs the server to ask: --target HOST:PORT");
            return Err(Exit::Invalid);
        };
        let options = ConnectOptions {
            tls: args.tls || args.cacert.is_some(),
            cacert: args.cacert.clone(),
            authority: args.authority.clone(),
            ..ConnectOptions::default()
        };
        match ask(target, &options) {
            Ok(reflected) => sources.reflected = Some(reflected),
            Err(error) => {
                eprintln!("error: {error}");
                return Err(Exit::Transport);
            }
        }
    }
    load_pool(&sources).map_err(|error| {
        eprintln!("error: {error}");
        Exit::Invalid
    })
}

/// A reflector that asks `target` (else the file's `target:`) with `options`, on a thread
/// of its own (scenarios load inside the command's runtime), and remembers each answer.
pub(super) fn reflector(target: Option<String>, options: ConnectOptions) -> Reflector {
    let answers: Mutex<HashMap<String, Result<Reflected, String>>> = Mutex::default();
    Reflector(Arc::new(move |file_target: Option<&str>| {
        let target = target
            .clone()
            .or_else(|| file_target.map(str::to_string))
            .ok_or_else(|| {
                "server reflection needs a target: give --target HOST:PORT or `target:` in the \
                 file"
                    .to_string()
            })?;
        let mut answers = answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .entry(target.clone())
            .or_insert_with(|| ask(&target, &options))
            .clone()
    }))
}

/// Asks `target` for its descriptors, blocking this thread.
pub(super) fn ask(target: &str, options: &ConnectOptions) -> Result<Reflected, String> {
    let (target, options) = (target.to_string(), options.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime for server reflection: {e}"))?;
        let set = runtime.block_on(fetch_descriptors(&target, &options))?;
        Ok(Reflected {
            target,
            set: Arc::new(set),
        })
    })
    .join()
    .unwrap_or_else(|_| Err("server reflection stopped unexpectedly".into()))
}
