//! Reading a scenario file: YAML, variables, protos, methods, messages, timing and the
//! shape of the script are all checked here, before any network traffic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prost_reflect::DescriptorPool;
use serde_saphyr::Spanned;

use super::error::LoadError;
use super::model::{
    Action, Call, Capture, CaptureSource, Compression, MessageStep, Role, Scenario, StatusStep,
    Step,
};
use super::node::{Node, NodeValue, Pos};
use super::raw::{Located, RawCall, RawFile, RawStep, RawStepFields};
use super::resolve::captured_names;
use super::status_code::StatusCode;
use super::template::{self, MessageTemplate, MetadataTemplate};
use super::vars::{Resolver, Substitution, VarSources};
use crate::matching::{FieldPath, MatchMode, MessageSpec, MetadataSpec, SpecError, TextSpec};
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

/// Expands files and directories into the scenario files they hold (`*.yaml`, `*.yml`,
/// directories searched recursively, sorted by path).
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            walk(path, &mut files)
                .map_err(|e| LoadError::file(path, format!("cannot read directory: {e}")))?;
            if files.len() == before {
                return Err(LoadError::file(
                    path,
                    "no scenario files (*.yaml, *.yml) in this directory",
                ));
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(LoadError::file(path, "no such file or directory"));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    Ok(())
}

/// Reads and checks one scenario file.
pub fn load_file(
    path: &Path,
    options: &LoadOptions,
    pools: &mut PoolCache,
) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::file(path, format!("cannot read: {e}")))?;
    load_str(path, &text, options, pools)
}

/// Reads and checks a scenario from text; `path` names it and anchors relative paths.
pub fn load_str(
    path: &Path,
    text: &str,
    options: &LoadOptions,
    pools: &mut PoolCache,
) -> Result<Scenario, LoadError> {
    let source: Arc<str> = Arc::from(text);
    super::bounds::check_text(path, &source)?;
    let raw: RawFile = serde_saphyr::from_str_with_options(text, yaml_options(text))
        .map_err(|e| yaml_error(path, &source, &e))?;
    let file_vars = raw.vars.as_ref().map(|v| v.0.clone()).unwrap_or_default();
    let mut resolver = Resolver::new(
        &options.vars,
        file_vars,
        captured_names(&raw),
        source.clone(),
    );
    let raw = resolver
        .file(raw)
        .map_err(|e| LoadError::at(path, &source, e.pos, e.message))?;
    Loader {
        path,
        source: source.clone(),
        options,
        substituted: resolver.substituted,
        captured_uses: resolver.captured_uses,
    }
    .scenario(raw, pools)
}

/// serde-saphyr's limits, scaled to the file: its defaults protect against hostile input
/// but stop at about 40,000 steps, and a long generated scenario is a normal thing here.
fn yaml_options(text: &str) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(text.len());
    budget.max_events = budget.max_events.max(2 * text.len());
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
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

fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::UInt(u) => Some(u.to_string()),
        NodeValue::Float(f) => Some(f.to_string()),
        NodeValue::Bool(b) => Some(b.to_string()),
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) | NodeValue::Template(_) => None,
    }
}

/// `repeat:` as a number, written as one or put there by a variable.
fn repeat_count(node: &Node) -> Option<u64> {
    let n = match &node.value {
        NodeValue::Int(n) => u64::try_from(*n).ok()?,
        NodeValue::Str(text) => text.parse::<u64>().ok()?,
        _ => return None,
    };
    (1..=super::bounds::MAX_REPEAT as u64)
        .contains(&n)
        .then_some(n)
}

/// The keys that make a step what it is.
pub(crate) const ACTION_KEYS: &[&str] = &[
    "client",
    "server",
    "headers",
    "close",
    "cancel",
    "status",
    "sleep",
    "unordered",
];

struct Loader<'a> {
    path: &'a Path,
    source: Arc<str>,
    options: &'a LoadOptions,
    /// The values put into each scalar, by the scalar's position, for errors.
    substituted: HashMap<Pos, Vec<Substitution>>,
    /// Where captured variables are used, and which.
    captured_uses: Vec<(Pos, String)>,
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
    script: Vec<Spanned<RawStep>>,
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
    fn err(&self, pos: Pos, message: impl Into<String>) -> LoadError {
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

    fn spec_err(&self, e: SpecError) -> LoadError {
        self.err(e.pos, e.message)
    }

    fn scenario(&self, raw: RawFile, pools: &mut PoolCache) -> Result<Scenario, LoadError> {
        let stem = self.path.file_stem().map_or_else(
            || "scenario".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let name = raw.name.as_ref().map_or(stem, |n| n.value.clone());
        let pool = self.pool(&raw, pools)?;
        let file_mode = self.match_mode(raw.match_mode.as_ref(), MatchMode::Exact)?;
        let top = Pos { line: 1, column: 1 };

        let keys: Vec<(CallKeys, Pos)> = match (raw.call, raw.calls) {
            (Some(_), Some(calls)) => {
                let pos = calls.first().map_or(top, Pos::of);
                return Err(self.err(
                    pos,
                    "a file has either `call:` (one call) or `calls:` (several), not both",
                ));
            }
            (Some(call), None) => {
                let pos = Pos::of(&call);
                let script = raw.script.ok_or_else(|| {
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
                        timeout: raw.timeout,
                        deadline_header: raw.deadline_header,
                        metadata: raw.metadata,
                        compression: raw.compression,
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
                        let pos = Pos::of(&c);
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
        };

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

    /// In a file whose calls run one after another, a captured variable is used only after
    /// the step that captures it.
    fn check_capture_order(&self, calls: &[Call]) -> Result<(), LoadError> {
        let mut first_capture: HashMap<&str, Pos> = HashMap::new();
        let steps = calls.iter().flat_map(|c| &c.script).flat_map(|step| {
            std::iter::once(step).chain(match &step.action {
                Action::Unordered(inner) => inner.iter().collect::<Vec<_>>(),
                _ => Vec::new(),
            })
        });
        for capture in steps.flat_map(|s| &s.capture) {
            first_capture
                .entry(capture.name.as_str())
                .or_insert(capture.pos);
        }
        for (pos, name) in &self.captured_uses {
            if let Some(captured) = first_capture.get(name.as_str()) {
                if pos.line <= captured.line {
                    return Err(self.err(
                        *pos,
                        format!(
                            "`${{{name}}}` is used before the step that captures it (line {})",
                            captured.line
                        ),
                    ));
                }
            }
        }
        Ok(())
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
                return Err(self.err(Pos::of(dir), message));
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
            raw.reflect == Some(true)
        };
        if reflect {
            let reflector = self.options.reflector.as_ref().ok_or_else(|| {
                LoadError::file(
                    self.path,
                    "server reflection needs a server to ask, and this command calls none; \
                     give the protos with --proto or --protoset",
                )
            })?;
            let target = raw.target.as_ref().map(|t| t.value.as_str());
            sources.reflected =
                Some((reflector.0)(target).map_err(|e| LoadError::file(self.path, e))?);
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

    fn match_mode(
        &self,
        raw: Option<&Located>,
        inherited: MatchMode,
    ) -> Result<MatchMode, LoadError> {
        match raw.map(|m| (m.value.as_str(), Pos::of(m))) {
            None => Ok(inherited),
            Some(("exact", _)) => Ok(MatchMode::Exact),
            Some(("partial", _)) => Ok(MatchMode::Partial),
            Some((other, pos)) => Err(self.err(
                pos,
                format!("`match:` is `exact` or `partial`, not `{other}`"),
            )),
        }
    }

    fn duration(&self, raw: &Located, key: &str) -> Result<Duration, LoadError> {
        humantime::parse_duration(raw.value.trim())
            .map_err(|e| format!("is not a duration ({e}); write e.g. 250ms, 2s, 1m"))
            .and_then(super::bounds::duration)
            .map_err(|e| self.err(Pos::of(raw), format!("`{key}: {}` {e}", raw.value)))
    }

    fn call(
        &self,
        keys: CallKeys,
        id: String,
        name: String,
        pool: &DescriptorPool,
        file_mode: MatchMode,
    ) -> Result<Call, LoadError> {
        let pos = Pos::of(&keys.call);
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
        let compression = match keys
            .compression
            .as_ref()
            .map(|c| (c.value.as_str(), Pos::of(c)))
        {
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
        let mut script = keys
            .script
            .iter()
            .map(|s| self.step(s, &context, false))
            .collect::<Result<Vec<_>, _>>()?;
        if script.is_empty() {
            return Err(self.err(pos, "the script is empty"));
        }
        self.check_shape(&script, kind, &method)?;
        self.check_client_first(&script, kind)?;
        if let (Some(timeout), Some(true)) = (timeout, keys.deadline_header) {
            super::bounds::deadline_header(timeout).map_err(|e| self.err(pos, e))?;
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
            if let Some((pos, message)) = unplayable(&call, *role) {
                return Err(self.err(pos, message));
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
        self.err(Pos::of(raw), message).with_help(help)
    }

    fn step(
        &self,
        raw: &Spanned<RawStep>,
        context: &StepContext,
        in_group: bool,
    ) -> Result<Step, LoadError> {
        let pos = Pos::of(raw);
        let fields = match &raw.value {
            RawStep::Word(word) => {
                let action = match word.as_str() {
                    "close" => Action::Close,
                    "cancel" => Action::Cancel,
                    other => {
                        return Err(self.err(pos, format!(
                            "unknown step `{other}`: a step is `close`, `cancel`, or a mapping with one of {}",
                            ACTION_KEYS.join(", ")
                        )))
                    }
                };
                return Ok(Step {
                    pos,
                    action,
                    after: None,
                    within: None,
                    repeat: 1,
                    implied: false,
                    capture: Vec::new(),
                });
            }
            RawStep::Fields(fields) => fields,
        };
        let present: Vec<&str> = action_keys(fields);
        let keyword = match present.as_slice() {
            [one] => *one,
            [] => {
                return Err(self.err(
                    pos,
                    format!(
                        "the step has no action: give one of {}",
                        ACTION_KEYS.join(", ")
                    ),
                ))
            }
            many => {
                return Err(self.err(
                    pos,
                    format!(
                        "one step does one thing, but this one has {}: split it into several steps",
                        many.join(" and ")
                    ),
                ))
            }
        };
        if matches!(fields.close, Some(Some(false))) || matches!(fields.cancel, Some(Some(false))) {
            return Err(self.err(
                pos,
                format!("`{keyword}: false` does nothing: leave the step out"),
            ));
        }
        if keyword != "status" && (fields.message.is_some() || fields.trailers.is_some()) {
            return Err(self.err(pos, "`message:` and `trailers:` go with `status:`"));
        }
        if !matches!(keyword, "client" | "server") && fields.expect.is_some() {
            return Err(self.err(pos, "`expect:` goes with `client:` or `server:`"));
        }
        let mode = self.match_mode(fields.match_mode.as_ref(), context.mode)?;
        let action = match keyword {
            "client" => Action::Client(self.message_step(
                fields.client.as_ref().unwrap(),
                fields.expect.as_ref(),
                &context.method.input(),
                mode,
            )?),
            "server" => Action::Server(self.message_step(
                fields.server.as_ref().unwrap(),
                fields.expect.as_ref(),
                &context.method.output(),
                mode,
            )?),
            "headers" => {
                self.no_captured_use(fields.headers.as_ref(), "headers")?;
                Action::Headers(
                    MetadataSpec::compile(fields.headers.as_ref().unwrap())
                        .map_err(|e| self.spec_err(e))?,
                )
            }
            "close" => Action::Close,
            "cancel" => Action::Cancel,
            "status" => Action::Status(self.status(fields)?),
            "sleep" => Action::Sleep(self.duration(fields.sleep.as_ref().unwrap(), "sleep")?),
            "unordered" => {
                if in_group {
                    return Err(self.err(pos, "`unordered:` groups cannot be nested"));
                }
                let steps = fields
                    .unordered
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|s| self.step(s, context, true))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(bad) = steps
                    .iter()
                    .find(|s| !matches!(s.action, Action::Client(_) | Action::Server(_)))
                {
                    return Err(self.err(
                        bad.pos,
                        format!(
                            "`unordered:` holds `client:` and `server:` messages only, not `{}`",
                            bad.action.keyword()
                        ),
                    ));
                }
                if steps.is_empty() {
                    return Err(self.err(pos, "`unordered:` is empty"));
                }
                Action::Unordered(steps)
            }
            _ => unreachable!("ACTION_KEYS lists every keyword"),
        };
        let repeat = match &fields.repeat {
            None => 1,
            Some(node) => match repeat_count(node) {
                Some(n) => n,
                _ => return Err(self.err(
                    node.pos,
                    "`repeat:` takes a whole number of times, 1 or more (at most 1,000,000,000)",
                )),
            },
        };
        if repeat > 1
            && !matches!(
                action,
                Action::Client(_) | Action::Server(_) | Action::Sleep(_)
            )
        {
            return Err(self.err(
                pos,
                format!(
                    "`repeat:` applies to messages and sleeps, not to `{}`",
                    action.keyword()
                ),
            ));
        }
        let capture = self.captures(fields.capture.as_ref(), &action, context)?;
        Ok(Step {
            pos,
            action,
            after: fields
                .after
                .as_ref()
                .map(|a| self.duration(a, "after"))
                .transpose()?,
            within: fields
                .within
                .as_ref()
                .map(|w| self.duration(w, "within"))
                .transpose()?,
            repeat,
            implied: false,
            capture,
        })
    }

    /// Reads a step's `capture:` mapping: each variable's source must exist where the step
    /// takes it from.
    fn captures(
        &self,
        node: Option<&Node>,
        action: &Action,
        context: &StepContext,
    ) -> Result<Vec<Capture>, LoadError> {
        let Some(node) = node else {
            return Ok(Vec::new());
        };
        let entries = node.as_map().ok_or_else(|| {
            self.err(
                node.pos,
                format!(
                    "`capture:` is a mapping of variable names to sources, found {}",
                    node.kind()
                ),
            )
        })?;
        entries
            .iter()
            .map(|(key, value)| {
                let text = value.as_str().ok_or_else(|| {
                    self.err(
                        value.pos,
                        format!(
                            "the source of `{}` is a text, found {}",
                            key.name,
                            value.kind()
                        ),
                    )
                })?;
                let source =
                    match action {
                        Action::Client(_) => FieldPath::parse(text, &context.method.input())
                            .map(CaptureSource::Field),
                        Action::Server(_) => FieldPath::parse(text, &context.method.output())
                            .map(CaptureSource::Field),
                        Action::Headers(_) => Ok(CaptureSource::Header(text.to_ascii_lowercase())),
                        Action::Status(_) if text == "$message" => Ok(CaptureSource::StatusMessage),
                        Action::Status(_) => Ok(CaptureSource::Trailer(text.to_ascii_lowercase())),
                        other => Err(format!(
                        "`capture:` goes with a message, `headers:` or `status:` step, not `{}`",
                        other.keyword()
                    )),
                    }
                    .map_err(|message| self.err(value.pos, message))?;
                Ok(Capture {
                    name: key.name.clone(),
                    source,
                    pos: key.pos,
                })
            })
            .collect()
    }

    fn message_step(
        &self,
        message: &Node,
        expect: Option<&Node>,
        descriptor: &prost_reflect::MessageDescriptor,
        mode: MatchMode,
    ) -> Result<MessageStep, LoadError> {
        let uses: Vec<Pos> = std::iter::once(message)
            .chain(expect)
            .flat_map(template::uses)
            .collect();
        // A step that uses captured variables is checked with stand-ins now and built when
        // it plays; an entry whose value is only known then is left out of the check (its
        // neighbours, and their matchers, are still checked).
        let compile = |node: &Node| {
            let mut node = node.clone();
            loop {
                match MessageSpec::compile(&template::with_placeholders(&node), descriptor, mode) {
                    Err(e) => match template::without_template_at(&node, e.pos) {
                        Some(rest) => node = rest,
                        None => return Err(self.spec_err(e)),
                    },
                    compiled => return compiled.map_err(|e| self.spec_err(e)),
                }
            }
        };
        Ok(MessageStep {
            message: compile(message)?,
            expect: expect.map(compile).transpose()?,
            template: (!uses.is_empty()).then(|| {
                Arc::new(MessageTemplate::new(
                    message.clone(),
                    expect.cloned(),
                    descriptor.clone(),
                    mode,
                ))
            }),
        })
    }

    /// Captured variables are built into messages and request metadata only.
    fn no_captured_use(&self, node: Option<&Node>, key: &str) -> Result<(), LoadError> {
        match node.and_then(|n| template::uses(n).first().copied()) {
            Some(pos) => Err(self.err(
                pos,
                format!("captured variables can be used in messages and request `metadata:`, not in `{key}:`"),
            )),
            None => Ok(()),
        }
    }

    fn status(&self, fields: &RawStepFields) -> Result<StatusStep, LoadError> {
        self.no_captured_use(fields.message.as_ref(), "message")?;
        self.no_captured_use(fields.trailers.as_ref(), "trailers")?;
        let node = fields.status.as_ref().unwrap();
        let text = scalar(node).unwrap_or_default();
        let code = StatusCode::parse(&text).ok_or_else(|| {
            self.err(
                node.pos,
                format!(
                    "`{text}` is not a status code: use a name ({}) or a number 0-16",
                    StatusCode::all_names().join(", ")
                ),
            )
        })?;
        Ok(StatusStep {
            code,
            message: fields
                .message
                .as_ref()
                .map(|m| TextSpec::compile(m, "`message:`"))
                .transpose()
                .map_err(|e| self.spec_err(e))?,
            trailers: fields
                .trailers
                .as_ref()
                .map(MetadataSpec::compile)
                .transpose()
                .map_err(|e| self.spec_err(e))?
                .unwrap_or_default(),
        })
    }

    /// On a call whose client sends one message (unary, server streaming), a server's
    /// handler starts once that message has arrived: a `server:` message scripted before
    /// it could never be sent by a real server.
    fn check_client_first(&self, script: &[Step], kind: RpcKind) -> Result<(), LoadError> {
        if kind.client_streams() {
            return Ok(());
        }
        let is_client = |s: &Step| matches!(s.action, Action::Client(_));
        for step in script {
            let early_server = match &step.action {
                Action::Client(_) => return Ok(()),
                Action::Unordered(inner) if inner.iter().any(is_client) => return Ok(()),
                Action::Unordered(inner) => inner.first().filter(|s| !is_client(s)),
                Action::Server(_) => Some(step),
                _ => None,
            };
            if let Some(server) = early_server {
                return Err(self.err(
                    server.pos,
                    format!(
                        "on a {} call the server answers the client's message: put `client: {{...}}` before this `server:` step",
                        kind.label()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks that the script fits the method's kind and the order of a call.
    fn check_shape(
        &self,
        script: &[Step],
        kind: RpcKind,
        method: &prost_reflect::MethodDescriptor,
    ) -> Result<(), LoadError> {
        let mut client_messages = 0u64;
        let mut server_messages = 0u64;
        let mut closed_at: Option<Pos> = None;
        let mut ended_at: Option<(Pos, &str)> = None;
        let label = kind.label();
        let method_name = format!("{}/{}", method.parent_service().full_name(), method.name());
        let mut flat: Vec<&Step> = Vec::new();
        for step in script {
            if let Action::Unordered(inner) = &step.action {
                flat.extend(inner.iter());
            } else {
                flat.push(step);
            }
        }
        for step in flat {
            if let Some((end, what)) = ended_at {
                return Err(self.err(
                    step.pos,
                    format!(
                        "nothing can follow `{what}` (line {}): it ends the call",
                        end.line
                    ),
                ));
            }
            match &step.action {
                Action::Client(_) => {
                    if let Some(closed) = closed_at {
                        return Err(self.err(step.pos, format!(
                            "the client already half-closed its stream (line {}): it cannot send more", closed.line
                        )));
                    }
                    client_messages += step.repeat;
                    if !kind.client_streams() && client_messages > 1 {
                        return Err(self.err(
                            step.pos,
                            format!(
                                "{method_name} is {label}: the client sends exactly one message"
                            ),
                        ));
                    }
                }
                Action::Server(_) => {
                    server_messages += step.repeat;
                    if !kind.server_streams() && server_messages > 1 {
                        return Err(self.err(
                            step.pos,
                            format!(
                                "{method_name} is {label}: the server sends at most one message"
                            ),
                        ));
                    }
                }
                Action::Headers(_) if server_messages > 0 => {
                    return Err(self.err(
                        step.pos,
                        "`headers:` come before the server's first message",
                    ));
                }
                Action::Close => {
                    if let Some(closed) = closed_at {
                        return Err(self.err(
                            step.pos,
                            format!("the client already half-closed (line {})", closed.line),
                        ));
                    }
                    closed_at = Some(step.pos);
                }
                Action::Cancel => ended_at = Some((step.pos, "cancel")),
                Action::Status(status) => {
                    if status.code == StatusCode::OK
                        && !kind.server_streams()
                        && server_messages == 0
                    {
                        return Err(self.err(step.pos, format!(
                            "{method_name} is {label}: a call that ends OK has one server message; add `server: {{...}}` before it"
                        )));
                    }
                    ended_at = Some((step.pos, "status"));
                }
                Action::Headers(_) | Action::Sleep(_) | Action::Unordered(_) => {}
            }
        }
        if !kind.client_streams() && client_messages == 0 {
            return Err(self.err(script[0].pos, format!(
                "{method_name} is {label}: the script needs the client's one message (`client: {{...}}`)"
            )));
        }
        let ends_with_status = ended_at.is_some_and(|(_, what)| what == "status");
        if !ends_with_status && ended_at.is_none() && !kind.server_streams() && server_messages == 0
        {
            let last = script.last().map_or(Pos::default(), |s| s.pos);
            return Err(self.err(last, format!(
                "{method_name} is {label}: the script needs the server's message, or a `status:` that ends the call"
            )));
        }
        Ok(())
    }
}

struct StepContext<'a> {
    method: &'a prost_reflect::MethodDescriptor,
    mode: MatchMode,
}

fn action_keys(fields: &RawStepFields) -> Vec<&'static str> {
    [
        ("client", fields.client.is_some()),
        ("server", fields.server.is_some()),
        ("headers", fields.headers.is_some()),
        ("close", fields.close.is_some()),
        ("cancel", fields.cancel.is_some()),
        ("status", fields.status.is_some()),
        ("sleep", fields.sleep.is_some()),
        ("unordered", fields.unordered.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, present)| present.then_some(k))
    .collect()
}

/// Makes the implied steps explicit: the client's half-close and `status: OK` at the end
/// of a script that has neither a status nor a cancel. The client half-closes after its
/// last message, except on bidi calls, where it half-closes just before the final status
/// (so that a client that waits for each reply before sending on, as in ping-pong, is not
/// expected to have closed while replies are still due).
fn add_implied_steps(script: &mut Vec<Step>, kind: RpcKind) {
    let has = |script: &[Step], f: fn(&Action) -> bool| script.iter().any(|s| f(&s.action));
    let implied = |pos: Pos, action: Action| Step {
        pos,
        action,
        after: None,
        within: None,
        repeat: 1,
        implied: true,
        capture: Vec::new(),
    };
    if has(script, |a| matches!(a, Action::Cancel)) {
        return;
    }
    if !has(script, |a| matches!(a, Action::Close)) {
        let sends = |a: &Action| match a {
            Action::Client(_) => true,
            Action::Unordered(steps) => steps.iter().any(|s| matches!(s.action, Action::Client(_))),
            _ => false,
        };
        let at = if kind == RpcKind::Bidi {
            script
                .iter()
                .position(|s| matches!(s.action, Action::Status(_)))
                .unwrap_or(script.len())
        } else {
            script
                .iter()
                .rposition(|s| sends(&s.action))
                .map_or(0, |i| i + 1)
        };
        let pos = script[at.min(script.len() - 1)].pos;
        script.insert(at, implied(pos, Action::Close));
    }
    if !has(script, |a| matches!(a, Action::Status(_))) {
        let pos = script.last().map_or(Pos::default(), |s| s.pos);
        script.push(implied(
            pos,
            Action::Status(StatusStep {
                code: StatusCode::OK,
                message: None,
                trailers: MetadataSpec::default(),
            }),
        ));
    }
}

/// The first thing in a call that `role` would have to send but that holds a matcher.
pub fn unplayable(call: &Call, role: Role) -> Option<(Pos, String)> {
    let why = |what: &str, pos: Pos| {
        (
            pos,
            format!(
                "the {} role sends this {what}, but it holds a matcher; give a concrete value {}",
                role.label(),
                if what.contains("message") {
                    "and put the matcher under `expect:`"
                } else {
                    "(matchers can only be checked)"
                }
            ),
        )
    };
    if role == Role::Client {
        if let Some(pos) = call.metadata.first_matcher() {
            return Some(why("request metadata", pos));
        }
    }
    let mut steps: Vec<&Step> = Vec::new();
    for step in &call.script {
        match &step.action {
            Action::Unordered(inner) => steps.extend(inner.iter()),
            _ => steps.push(step),
        }
    }
    steps
        .into_iter()
        .find_map(|step| match (&step.action, role) {
            (Action::Client(m), Role::Client) | (Action::Server(m), Role::Server) => m
                .message
                .first_matcher()
                .map(|pos| why(&format!("`{}:` message", step.action.keyword()), pos)),
            (Action::Headers(h), Role::Server) => h.first_matcher().map(|pos| why("header", pos)),
            (Action::Status(s), Role::Server) => s
                .trailers
                .first_matcher()
                .map(|pos| why("trailer", pos))
                .or_else(|| {
                    s.message
                        .as_ref()
                        .filter(|m| m.to_send().is_none())
                        .map(|_| why("status message", step.pos))
                }),
            _ => None,
        })
}
