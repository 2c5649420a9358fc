//! Loading `.proto` files at run time with protox.

use std::path::{Path, PathBuf};

use prost_reflect::DescriptorPool;

/// Which `.proto` files to load, and where their imports are found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProtoSources {
    /// The files to compile.
    pub files: Vec<PathBuf>,
    /// Directories searched for the files and their imports.
    pub import_paths: Vec<PathBuf>,
}

/// A `.proto` file that could not be read or compiled.
#[derive(Debug, thiserror::Error)]
#[error("cannot load protos {files}: {message}")]
pub struct ProtoError {
    /// The files that were asked for, for the message.
    pub files: String,
    /// What protox said.
    pub message: String,
}

/// Compiles `sources` into a descriptor pool; well-known types always resolve.
/// With no files, the bundled pool is returned.
pub fn load_pool(sources: &ProtoSources) -> Result<DescriptorPool, ProtoError> {
    if sources.files.is_empty() {
        return Ok(super::bundled_pool());
    }
    let error = |message: String| ProtoError {
        files: sources
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        message,
    };
    let mut includes = sources.import_paths.clone();
    for file in &sources.files {
        let dir = file.parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if !includes.iter().any(|i| i == dir) {
            includes.push(dir.to_path_buf());
        }
    }
    let mut compiler = protox::Compiler::new(&includes).map_err(|e| error(e.to_string()))?;
    compiler.include_imports(true);
    for file in &sources.files {
        compiler.open_file(file).map_err(|e| error(e.to_string()))?;
    }
    Ok(compiler.descriptor_pool())
}
