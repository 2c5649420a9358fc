//! Loading descriptors at run time: `.proto` text, protoset files and what a server
//! answered through reflection, merged into one pool through [`super::normalise`].

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use prost_reflect::DescriptorPool;

use super::located::ProtoSpot;
use super::normalise::build_pool;
use super::text::compile_text;

/// Where descriptors come from; several sources are merged into one pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProtoSources {
    /// `.proto` files to compile.
    pub files: Vec<PathBuf>,
    /// Directories searched for the files and their imports.
    pub import_paths: Vec<PathBuf>,
    /// Encoded `FileDescriptorSet` files (`protoc -o FILE --include_imports`, `buf build -o`).
    pub protosets: Vec<PathBuf>,
    /// What a server answered through reflection.
    pub reflected: Option<Reflected>,
}

impl ProtoSources {
    /// Whether no source is named (the bundled protos are then used).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.protosets.is_empty() && self.reflected.is_none()
    }

    /// The sources, named for a message.
    fn describe(&self) -> String {
        let mut names: Vec<String> = self
            .files
            .iter()
            .chain(&self.protosets)
            .map(|f| f.display().to_string())
            .collect();
        if let Some(reflected) = &self.reflected {
            names.push(format!("reflection of {}", reflected.target));
        }
        names.join(", ")
    }
}

/// The descriptors a server answered through reflection, as an encoded `FileDescriptorSet`.
/// Two are the same when they come from the same target.
#[derive(Debug, Clone)]
pub struct Reflected {
    /// The server asked (HOST:PORT).
    pub target: String,
    /// The files it sent, with their imports.
    pub set: Arc<Vec<u8>>,
}

impl PartialEq for Reflected {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target
    }
}

impl Eq for Reflected {}

impl Hash for Reflected {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.target.hash(state);
    }
}

/// Gets a server's descriptors through reflection, given the target a scenario file names
/// (the command line may override it); the CLI provides it, caching one answer per target.
#[derive(Clone)]
pub struct Reflector(pub Arc<ReflectFn>);

/// What a [`Reflector`] calls: the file's `target:` in, the server's descriptors out.
pub(super) type ReflectFn = dyn Fn(Option<&str>) -> Result<Reflected, String> + Send + Sync;

impl std::fmt::Debug for Reflector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reflector")
    }
}

/// Descriptors that could not be read or compiled.
#[derive(Debug, thiserror::Error)]
#[error("cannot load protos {sources}: {message}")]
pub struct ProtoError {
    /// The sources that were asked for, for the message.
    pub sources: String,
    /// What went wrong.
    pub message: String,
    /// Where in a `.proto` file, when the compiler says.
    pub spot: Option<ProtoSpot>,
}

/// Builds the pool of `sources`; well-known types always resolve. With no source, the
/// bundled pool is returned.
pub fn load_pool(sources: &ProtoSources) -> Result<DescriptorPool, ProtoError> {
    if sources.is_empty() {
        return Ok(super::bundled_pool());
    }
    let error = |message: String| ProtoError {
        sources: sources.describe(),
        message,
        spot: None,
    };
    // Encoded FileDescriptorSets concatenate into one: `file` is a repeated field.
    let mut set = Vec::new();
    if !sources.files.is_empty() {
        let compiled = compile_text(&sources.files, &sources.import_paths);
        set.extend(compiled.map_err(|e| ProtoError {
            spot: e.spot,
            ..error(e.message)
        })?);
    }
    for protoset in &sources.protosets {
        let bytes = std::fs::read(protoset)
            .map_err(|e| error(format!("cannot read {}: {e}", protoset.display())))?;
        super::normalise::normalise(&bytes)
            .map_err(|e| error(format!("{}: {e}", protoset.display())))?;
        set.extend(bytes);
    }
    if let Some(reflected) = &sources.reflected {
        set.extend(reflected.set.iter());
    }
    build_pool(&set).map_err(error)
}
