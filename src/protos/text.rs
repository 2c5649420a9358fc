//! Compiling `.proto` text: protox, built in, for proto2 and proto3; a `protoc` found on
//! this machine for Editions files, which protox does not parse yet.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::located::{spot_of, ProtoSpot};

/// The environment variable naming the `protoc` command to use for Editions files (a
/// command line: `protoc`, `/opt/protoc/bin/protoc`, `python3 -m grpc_tools.protoc`).
pub const PROTOC_ENV: &str = "GRPC_REPLAY_PROTOC";

/// Why `.proto` text did not compile, and where in which file when the compiler says.
#[derive(Debug)]
pub(super) struct TextError {
    /// What is wrong (without the place).
    pub message: String,
    /// Where.
    pub spot: Option<ProtoSpot>,
}

impl From<String> for TextError {
    fn from(message: String) -> Self {
        TextError {
            message,
            spot: None,
        }
    }
}

/// Compiles `files` into an encoded `FileDescriptorSet` with their imports.
pub(super) fn compile_text(
    files: &[PathBuf],
    import_paths: &[PathBuf],
) -> Result<Vec<u8>, TextError> {
    let includes = includes(files, import_paths);
    let error = match compile_with_protox(files, &includes) {
        Ok(set) => return Ok(set),
        Err(error) => error,
    };
    let protox_error = error.to_string();
    let place = match files.iter().find_map(|f| edition_line(f).map(|l| (f, l))) {
        Some((file, line)) => format!("{}:{line}: this file uses", file.display()),
        // protox stops at the `edition` keyword of an imported file.
        None if protox_error.contains("found 'edition'") => format!(
            "{}: a file it imports uses",
            files
                .first()
                .map_or(String::new(), |f| f.display().to_string())
        ),
        None => {
            return Err(TextError {
                spot: spot_of(&error, &includes),
                message: protox_error,
            })
        }
    };
    let compiled = compile_with_protoc(files, &includes).map_err(|why| {
        format!(
            "{place} Editions (`edition = ...`), which the built-in compiler does not read \
             yet, and no protoc could compile it ({why}). Install protoc 27 or later (or \
             `pip install grpcio-tools`) and set {PROTOC_ENV} if it is not on PATH, or \
             compile it yourself — protoc -o api.pb --include_imports FILE.proto — and pass \
             --protoset api.pb"
        )
    });
    Ok(compiled?)
}

/// The import paths, then each file's own directory.
fn includes(files: &[PathBuf], import_paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut includes = import_paths.to_vec();
    for file in files {
        let dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if !includes.iter().any(|i| i == dir) {
            includes.push(dir.to_path_buf());
        }
    }
    includes
}

fn compile_with_protox(files: &[PathBuf], includes: &[PathBuf]) -> Result<Vec<u8>, protox::Error> {
    let mut compiler = protox::Compiler::new(includes)?;
    compiler.include_imports(true);
    for file in files {
        compiler.open_file(file)?;
    }
    Ok(compiler.encode_file_descriptor_set())
}

/// The line of a file's `edition = "…";` statement, if it has one.
fn edition_line(file: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix("edition")
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|index| index + 1)
}

/// Runs the first protoc that answers: `$GRPC_REPLAY_PROTOC`, `protoc`, then grpcio-tools'.
fn compile_with_protoc(files: &[PathBuf], includes: &[PathBuf]) -> Result<Vec<u8>, String> {
    let candidates: Vec<Vec<String>> = match std::env::var(PROTOC_ENV) {
        Ok(command) => vec![command.split_whitespace().map(String::from).collect()],
        Err(_) => vec![
            vec!["protoc".into()],
            vec!["python3".into(), "-m".into(), "grpc_tools.protoc".into()],
        ],
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let out = std::env::temp_dir().join(format!(
        "grpc-replay-{}-{}.pb",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut failures = Vec::new();
    for command in candidates.iter().filter(|c| !c.is_empty()) {
        let mut run = Command::new(&command[0]);
        run.args(&command[1..])
            .arg(format!("--descriptor_set_out={}", out.display()))
            .arg("--include_imports")
            .args(includes.iter().map(|i| format!("-I{}", i.display())))
            .args(files);
        match run.output() {
            Ok(output) if output.status.success() => {
                let set = std::fs::read(&out).map_err(|e| e.to_string());
                let _ = std::fs::remove_file(&out);
                return set;
            }
            Ok(output) => failures.push(format!(
                "`{}`: {}",
                command.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(e) => failures.push(format!("`{}`: {e}", command.join(" "))),
        }
    }
    let _ = std::fs::remove_file(&out);
    Err(failures.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edition_statement_is_found_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.proto");
        std::fs::write(&file, "// header\n\nedition = \"2023\";\npackage p;\n").unwrap();
        assert_eq!(edition_line(&file), Some(3));
        std::fs::write(&file, "syntax = \"proto3\";\nmessage editions {}\n").unwrap();
        assert_eq!(edition_line(&file), None);
    }
}
