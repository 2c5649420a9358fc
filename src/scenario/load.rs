//! Reading a scenario file: YAML, variables, protos, methods, messages, timing and the
//! shape of the script are all checked here, before any network traffic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prost_reflect::DescriptorPool;

use super::bounds;
use super::error::LoadError;
use super::model::{Call, Compression, Role, Scenario};
use super::node::{Node, NodeValue, Pos};
use super::raw::{Located, RawCall, RawFile, RawStepAt};
use super::resolve::captured_names;
use super::shape::{add_implied_steps, unplayable};
use super::template::{self, MetadataTemplate};
use super::vars::{Resolver, Substitution, VarSources};
use crate::matching::{MatchMode, MetadataSpec, SpecError};
use crate::protos::{
    all_methods, find_method, load_pool, method_path, missing_protos_hint, ProtoError,
    ProtoSources, Reflector, RpcKind,
};

/// How scenario files are read.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Variable values from the command line and the environment.
    pub vars: VarSources,
    /// `--proto` / `--protoset` / `-I`: when they name files, they replace the file's
    /// `proto:` and `protoset:`.
    pub protos: ProtoSources,
    /// `--reflect`: the descriptors come from the target's server reflection (replacing
    /// the file's `proto:`, `protoset:` and `reflect:`).
    pub reflect: bool,
    /// Asks a target for its descriptors, for `--reflect` and `reflect: true`; `None` where
    /// no server can be asked.
    pub reflector: Option<Reflector>,
    /// The roles the scenario must be playable in; a step one of them cannot perform
    /// (a matcher where a message must be sent) is an error.
    pub roles: Vec<Role>,
}

/// Compiled descriptor pools, shared by the files that name the same protos.
#[derive(Debug, Default)]
pub struct PoolCache {
    pools: HashMap<ProtoSources, DescriptorPool>,
}

impl PoolCache {
    fn get(&mut self, sources: &ProtoSources) -> Result<DescriptorPool, ProtoError> {
        if let Some(pool) = self.pools.get(sources) {
            return Ok(pool.clone());
        }
        let pool = load_pool(sources)?;
        self.pools.insert(sources.clone(), pool.clone());
        Ok(pool)
    }
}

/// Reads and checks one scenario file.
pub fn load_file(
    path: &Path,
    options: &LoadOptions,
    pools: &mut PoolCache,
) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::file(path, format!("cannot read: {e}")))?;
    // The text is held once, as the scenario's source, not once more while it loads.
    load_source(path, Arc::from(text), options, pools)
}

/// Reads and checks a scenario from text; `path` names it and anchors relative paths.
pub fn load_str(
    path: &Path,
    text: &str,
    options: &LoadOptions,
    pools: &mut PoolCache,
) -> Result<Scenario, LoadError> {
    load_source(path, Arc::from(text), options, pools)
}

fn load_source(
    path: &Path,
    source: Arc<str>,
    options: &LoadOptions,
    pools: &mut PoolCache,
) -> Result<Scenario, LoadError> {
    let text: &str = &source;
    let raw = read_raw(path, &source)?;
    let file_vars = raw.vars.as_ref().map(|v| v.0.clone()).unwrap_or_default();
    let mut resolver = Resolver::new(
        &options.vars,
        file_vars,
        captured_names(&raw),
        source.clone(),
    );
    // Only a `$` starts a variable: a file without one reads as written.
    let raw = if text.contains('$') {
        resolver
            .file(raw)
            .map_err(|e| LoadError::at(path, &source, e.pos, e.message))?
    } else {
        raw
    };
    Loader {
        path,
        source: source.clone(),
        options,
        substituted: resolver.substituted,
        captured_uses: resolver.captured_uses,
    }
    .scenario(raw, pools)
}

/// The file as written: through the fast reader, which notes the sizes to check, or else
/// bounded on granit-parser's events (tags, sizes) and read by serde-saphyr.
fn read_raw(path: &Path, source: &Arc<str>) -> Result<RawFile, LoadError> {
    if let Some((raw, sizes)) = super::yaml::read_fast(source, bounds::SIZE_KEYS) {
        bounds::check_sizes(path, source, &sizes)?;
        return Ok(raw);
    }
    bounds::check_text(path, source)?;
    super::yaml::read_slowly(source).map_err(|e| yaml_error(path, source, &e))
}

fn yaml_error(path: &Path, source: &Arc<str>, error: &serde_saphyr::Error) -> LoadError {
    let inner = error.without_snippet();
    let message = inner.to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .trim()
        .to_string();
    let message = super::wording::yaml_message(&message);
    let Some(loc) = inner.location() else {
        return LoadError::file(path, message);
    };
    let pos = Pos {
        line: loc.line() as u32,
        column: loc.column() as u32,
    };
    let error = LoadError::at(path, source, pos, message);
    let line = source
        .lines()
        .nth(loc.line().saturating_sub(1) as usize)
        .unwrap_or_default();
    if line.contains("${") && line.contains('{') {
        error.with_help("inside `{…}` or `[…]` a `${NAME}` must be quoted: write \"${NAME}\"")
    } else {
        error
    }
}

/// Reads one file's keys into a [`Scenario`]; its methods are spread over the modules
/// that read each part (steps, messages, the script's shape).
pub(super) struct Loader<'a> {
    path: &'a Path,
    source: Arc<str>,
    options: &'a LoadOptions,
    /// The values put into each scalar, by the scalar's position, for errors.
    substituted: HashMap<Pos, Vec<Substitution>>,
    /// Where captured variables are used, and which.
    pub(super) captured_uses: Vec<(Pos, String)>,
}

/// What a step is read against: the call's method and match mode.
pub(super) struct StepContext<'a> {
    pub(super) method: &'a prost_reflect::MethodDescriptor,
    pub(super) mode: MatchMode,
}

/// The call-level keys, whether written at the top of the file or under `calls:`.
struct CallKeys {
    id: Option<Located>,
    name: Option<Located>,
    call: Located,
    timeout: Option<Located>,
    deadline_header: Option<bool>,
    metadata: Option<Node>,
    compression: Option<Located>,
    match_mode: Option<Located>,
    script: Vec<RawStepAt>,
}

impl From<RawCall> for CallKeys {
    fn from(raw: RawCall) -> Self {
        CallKeys {
            id: raw.id,
            name: raw.name,
            call: raw.call,
            timeout: raw.timeout,
            deadline_header: raw.deadline_header,
            metadata: raw.metadata,
            compression: raw.compression,
            match_mode: raw.match_mode,
            script: raw.script,
        }
    }
}

impl Loader<'_> {
    /// An error at `pos`; when variables put values there, it says which.
    pub(super) fn err(&self, pos: Pos, message: impl Into<String>) -> LoadError {
        let error = LoadError::at(self.path, &self.source, pos, message);
        match self.substituted.get(&pos) {
            Some(values) => error.with_help(
                values
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            None => error,
        }
    }

    pub(super) fn spec_err(&self, e: SpecError) -> LoadError {
        self.err(e.pos, e.message)
    }

    fn scenario(&self, mut raw: RawFile, pools: &mut PoolCache) -> Result<Scenario, LoadError> {
        let stem = self.path.file_stem().map_or_else(
            || "scenario".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let name = raw.name.as_ref().map_or(stem, |n| n.value.clone());
        let pool = self.pool(&raw, pools)?;
        let file_mode = self.match_mode(raw.match_mode.as_ref(), MatchMode::Exact)?;

        let keys = self.call_keys(&mut raw)?;

        let several = keys.len() > 1;
        let mut calls = Vec::with_capacity(keys.len());
        for (index, (call_keys, pos)) in keys.into_iter().enumerate() {
            let id = match &call_keys.id {
                Some(id) => id.value.clone(),
                None if several => format!("call-{}", index + 1),
                None => name.clone(),
            };
            if calls.iter().any(|c: &Call| c.id == id) {
                return Err(self.err(pos, format!("two calls have the id `{id}`")));
            }
            let call_name = call_keys.name.as_ref().map_or_else(
                || if several { id.clone() } else { name.clone() },
                |n| n.value.clone(),
            );
            calls.push(self.call(call_keys, id, call_name, &pool, file_mode)?);
        }

        let concurrent = raw.concurrent.unwrap_or(false);
        if !concurrent {
            self.check_capture_order(&calls)?;
        }
        Ok(Scenario {
            path: self.path.to_path_buf(),
            source: self.source.clone(),
            name,
            target: raw.target.map(|t| t.value),
            listen: raw.listen.map(|l| l.value),
            concurrent,
            calls,
        })
    }

    /// The calls' keys, written at the top of the file for one call or under `calls:`.
    fn call_keys(&self, raw: &mut RawFile) -> Result<Vec<(CallKeys, Pos)>, LoadError> {
        let top = Pos { line: 1, column: 1 };
        Ok(match (raw.call.take(), raw.calls.take()) {
            (Some(_), Some(calls)) => {
                let pos = calls.first().map_or(top, |c| c.pos);
                return Err(self.err(
                    pos,
                    "a file has either `call:` (one call) or `calls:` (several), not both",
                ));
            }
            (Some(call), None) => {
                let pos = call.pos;
                let script = raw.script.take().ok_or_else(|| {
                    self.err(
                        pos,
                        "the call has no `script:` (the steps of the conversation)",
                    )
                })?;
                vec![(
                    CallKeys {
                        id: None,
                        name: None,
                        call,
                        timeout: raw.timeout.take(),
                        deadline_header: raw.deadline_header,
                        metadata: raw.metadata.take(),
                        compression: raw.compression.take(),
                        match_mode: None,
                        script,
                    },
                    pos,
                )]
            }
            (None, Some(calls)) => {
                for (key, present) in [
                    ("script", raw.script.is_some()),
                    ("timeout", raw.timeout.is_some()),
                    ("deadline_header", raw.deadline_header.is_some()),
                    ("metadata", raw.metadata.is_some()),
                    ("compression", raw.compression.is_some()),
                ] {
                    if present {
                        return Err(self.err(top, format!("`{key}:` belongs to each entry of `calls:` in a file with several calls")));
                    }
                }
                if calls.is_empty() {
                    return Err(self.err(top, "`calls:` is empty"));
                }
                calls
                    .into_iter()
                    .map(|c| {
                        let pos = c.pos;
                        (CallKeys::from(c.value), pos)
                    })
                    .collect()
            }
            (None, None) => {
                return Err(self.err(
                    top,
                    "no call: write `call: package.Service/Method` with a `script:`, or `calls:`",
                ));
            }
        })
    }

    fn pool(&self, raw: &RawFile, pools: &mut PoolCache) -> Result<DescriptorPool, LoadError> {
        let base = self.path.parent().unwrap_or(Path::new("."));
        let mut pos = None;
        let from_cli = !self.options.protos.is_empty() || self.options.reflect;
        let mut sources = if from_cli {
            self.options.protos.clone()
        } else {
            let missing = raw.import_paths.iter().flatten();
            if let Some(dir) = missing.into_iter().find(|p| !base.join(&p.value).is_dir()) {
                let message = format!("`import_paths:` `{}` is not a directory", dir.value);
                return Err(self.err(dir.pos, message));
            }
            let mut import_paths: Vec<PathBuf> = raw
                .import_paths
                .iter()
                .flatten()
                .map(|p| base.join(&p.value))
                .collect();
            import_paths.extend(self.options.protos.import_paths.iter().cloned());
            pos = raw.proto.as_ref().or(raw.protoset.as_ref()).map(|n| n.pos);
            ProtoSources {
                files: self.paths(raw.proto.as_ref(), "proto", base)?,
                import_paths,
                protosets: self.paths(raw.protoset.as_ref(), "protoset", base)?,
                reflected: None,
            }
        };
        let reflect = if from_cli {
            self.options.reflect
        } else {
            raw.reflect.as_ref().is_some_and(|r| r.value)
        };
        if reflect {
            // Errors point at `reflect: true`, or name the file when --reflect asked.
            let located = |message: String| match raw.reflect.as_ref().filter(|_| !from_cli) {
                Some(at) => self.err(at.pos, message),
                None => LoadError::file(self.path, message),
            };
            let reflector = self.options.reflector.as_ref().ok_or_else(|| {
                located(
                    "server reflection needs another server to ask, and this command plays \
                     the server itself (serve, run --loopback); give the protos with --proto \
                     or --protoset, or `proto:`/`protoset:` in the file"
                        .into(),
                )
            })?;
            let target = raw.target.as_ref().map(|t| t.value.as_str());
            sources.reflected = Some((reflector.0)(target).map_err(located)?);
        }
        pools
            .get(&sources)
            .map_err(|error| match (&error.spot, pos) {
                (Some(spot), _) => LoadError::in_proto(spot, &error.message, self.path, pos),
                (None, Some(pos)) => self.err(pos, error.to_string()),
                (None, None) => LoadError::file(self.path, error.to_string()),
            })
    }

    /// The paths of `proto:` or `protoset:` (one path or a list), relative to the file.
    fn paths(
        &self,
        node: Option<&Node>,
        key: &str,
        base: &Path,
    ) -> Result<Vec<PathBuf>, LoadError> {
        let items: Vec<&Node> = match node.map(|n| &n.value) {
            None => Vec::new(),
            Some(NodeValue::Seq(items)) => items.iter().collect(),
            Some(_) => node.into_iter().collect(),
        };
        items
            .into_iter()
            .map(|item| {
                item.as_str().map(|file| base.join(file)).ok_or_else(|| {
                    self.err(
                        item.pos,
                        format!(
                            "`{key}:` takes a path or a list of paths, found {}",
                            item.kind()
                        ),
                    )
                })
            })
            .collect()
    }

    pub(super) fn match_mode(
        &self,
        raw: Option<&Located>,
        inherited: MatchMode,
    ) -> Result<MatchMode, LoadError> {
        match raw.map(|m| (m.value.as_str(), m.pos)) {
            None => Ok(inherited),
            Some(("exact", _)) => Ok(MatchMode::Exact),
            Some(("partial", _)) => Ok(MatchMode::Partial),
            Some((other, pos)) => Err(self.err(
                pos,
                format!("`match:` is `exact` or `partial`, not `{other}`"),
            )),
        }
    }

    pub(super) fn duration(&self, raw: &Located, key: &str) -> Result<Duration, LoadError> {
        humantime::parse_duration(raw.value.trim())
            .map_err(|e| format!("is not a duration ({e}); write e.g. 250ms, 2s, 1m"))
            .and_then(bounds::duration)
            .map_err(|e| self.err(raw.pos, format!("`{key}: {}` {e}", raw.value)))
    }

    fn call(
        &self,
        keys: CallKeys,
        id: String,
        name: String,
        pool: &DescriptorPool,
        file_mode: MatchMode,
    ) -> Result<Call, LoadError> {
        let pos = keys.call.pos;
        let method = find_method(pool, &keys.call.value)
            .ok_or_else(|| self.unknown_method(&keys.call, pool))?;
        let kind = RpcKind::of(&method);
        let timeout = keys
            .timeout
            .as_ref()
            .map(|t| self.duration(t, "timeout"))
            .transpose()?;
        let (metadata, metadata_template) = match &keys.metadata {
            None => (MetadataSpec::default(), None),
            Some(node) => {
                let uses = template::uses(node);
                let stand_in = template::with_placeholders(node);
                let spec = MetadataSpec::compile(&stand_in).map_err(|e| self.spec_err(e))?;
                (
                    spec,
                    (!uses.is_empty()).then(|| MetadataTemplate(node.clone())),
                )
            }
        };
        let compression = match keys.compression.as_ref().map(|c| (c.value.as_str(), c.pos)) {
            None | Some(("identity" | "none", _)) => None,
            Some(("gzip", _)) => Some(Compression::Gzip),
            Some((other, pos)) => {
                return Err(self.err(
                    pos,
                    format!("`compression:` is `gzip` or `identity`, not `{other}`"),
                ))
            }
        };
        let mode = self.match_mode(keys.match_mode.as_ref(), file_mode)?;
        let context = StepContext {
            method: &method,
            mode,
        };
        // Each step as written is dropped once read, so a long script never holds both
        // forms of all its steps at once; the room for the steps add_implied_steps may add
        // is taken now, not by doubling a vector of a million steps.
        let mut script = Vec::with_capacity(keys.script.len() + 2);
        for raw in keys.script {
            script.push(self.step(&raw, &context, None)?);
        }
        if script.is_empty() {
            return Err(self.err(pos, "the script is empty"));
        }
        self.check_shape(&script, kind, &method)?;
        self.check_client_first(&script, kind)?;
        if let (Some(timeout), Some(true)) = (timeout, keys.deadline_header) {
            bounds::deadline_header(timeout).map_err(|e| self.err(pos, e))?;
        }
        add_implied_steps(&mut script, kind);
        let call = Call {
            id,
            name,
            pos,
            path: method_path(&method),
            method,
            kind,
            timeout,
            deadline_header: keys.deadline_header.unwrap_or(false),
            metadata,
            metadata_template,
            compression,
            script,
        };
        for role in &self.options.roles {
            if let Some(blocked) = unplayable(&call, *role) {
                return Err(self.err(blocked.pos, blocked.message));
            }
        }
        Ok(call)
    }

    fn unknown_method(&self, raw: &Located, pool: &DescriptorPool) -> LoadError {
        let wanted = raw.value.trim_start_matches('/');
        let known: Vec<String> = all_methods(pool)
            .map(|m| format!("{}/{}", m.parent_service().full_name(), m.name()))
            .collect();
        let message = if wanted.contains('/') {
            format!("unknown method `{wanted}`")
        } else {
            format!("`{wanted}` is not a method name: write package.Service/Method (Service/Method without a package)")
        };
        let closest = crate::matching::closest(wanted, known.iter().map(String::as_str));
        let help = match (missing_protos_hint(pool, wanted), closest) {
            (Some(hint), _) => hint,
            (None, Some(name)) => format!("did you mean `{name}`? (names are case-sensitive)"),
            (None, None) => format!("the loaded protos define: {}", known.join(", ")),
        };
        self.err(raw.pos, message).with_help(help)
    }
}
