//! `grpc-replay new METHOD [-o FILE]`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::args::NewArgs;
use super::check::emit;
use super::exit::Exit;
use super::reflect::catalog_pool;
use crate::matching::closest;
use crate::protos::{all_methods, find_method, method_path, missing_protos_hint};
use crate::skeleton::{skeleton, Origin};

/// Writes the skeleton to the file or standard output.
pub(super) fn new(args: NewArgs) -> Exit {
    let pool = match catalog_pool(&args.catalog) {
        Ok(pool) => pool,
        Err(exit) => return exit,
    };
    let Some(method) = find_method(&pool, &args.method) else {
        let known: Vec<String> = all_methods(&pool)
            .map(|m| method_path(&m).trim_start_matches('/').to_string())
            .collect();
        let hint = missing_protos_hint(&pool, &args.method)
            .or_else(|| {
                closest(&args.method, known.iter().map(String::as_str))
                    .map(|name| format!("did you mean `{name}`?"))
            })
            .unwrap_or_else(|| format!("the loaded protos define: {}", known.join(", ")));
        eprintln!("error: unknown method `{}`\n  help: {hint}", args.method);
        return Exit::Invalid;
    };
    let base = args
        .output
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    let origin = Origin {
        protos: relative_all(&args.catalog.protos.protos, base),
        protosets: relative_all(&args.catalog.protos.protosets, base),
        reflect_target: args
            .catalog
            .protos
            .reflect
            .then(|| args.catalog.target.clone())
            .flatten(),
    };
    let text = skeleton(&method, &origin);
    let Some(path) = &args.output else {
        emit(&text);
        return Exit::Passed;
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            eprintln!("wrote {}", path.display());
            Exit::Passed
        }
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", path.display());
            Exit::Invalid
        }
    }
}

/// The paths as a scenario in `base` names them: relative to it when both are relative or
/// one holds the other, else absolute.
fn relative_all(paths: &[PathBuf], base: &Path) -> Vec<String> {
    paths
        .iter()
        .map(|path| {
            let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            let (path, base) = (absolute(path), absolute(base));
            path.strip_prefix(&base)
                .map_or(path.clone(), Path::to_path_buf)
                .display()
                .to_string()
        })
        .collect()
}
