//! Values for `${NAME}`: from `--var`, then `--vars-file`, then the environment, then the
//! file's `vars:`. Each value is text, put into the scalar that names it (see
//! [`super::template`] for the scanner); captured names are left for the step that plays.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use super::node::{Node, NodeValue, Pos};
use super::raw::Located;
use super::template::{self, Part};

/// Where variable values come from, in order of precedence.
#[derive(Debug, Clone, Default)]
pub struct VarSources {
    /// `--var NAME=VALUE` values: they win.
    pub cli: HashMap<String, String>,
    /// `--vars-file` values: after `cli`.
    pub files: HashMap<String, String>,
    /// Whether the process environment is consulted after `cli` and `files`.
    pub use_env: bool,
}

/// Where a variable's value came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    /// `--var`.
    Cli,
    /// `--vars-file`.
    VarsFile,
    /// The process environment.
    Env,
    /// The file's `vars:`, at this position.
    FileVars(Pos),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Cli => f.write_str("--var"),
            Origin::VarsFile => f.write_str("--vars-file"),
            Origin::Env => f.write_str("the environment"),
            Origin::FileVars(pos) => write!(f, "`vars:` at line {}", pos.line),
        }
    }
}

/// One value put into a scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Substitution {
    /// The variable.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Where the value came from.
    pub origin: Origin,
}

impl fmt::Display for Substitution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`${{{}}}` is {:?} (from {})",
            self.name, self.value, self.origin
        )
    }
}

/// A `${…}` that cannot be resolved, where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VarError {
    /// Where the reference is.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

/// Resolves the `${NAME}` references of a file's scalars, remembering what it put where.
pub(super) struct Resolver<'a> {
    sources: &'a VarSources,
    /// `vars:` entries: name → the value as written.
    file_vars: HashMap<String, Located>,
    /// The names `capture:` steps set: left as templates.
    captured: HashSet<String>,
    /// The file as written, to place errors inside a scalar.
    source: Arc<str>,
    /// Where each line of `source` starts (byte offsets).
    line_starts: Vec<usize>,
    /// The values put into each scalar, by the scalar's position.
    pub substituted: HashMap<Pos, Vec<Substitution>>,
    /// Every use of a captured variable: where, and which.
    pub captured_uses: Vec<(Pos, String)>,
}

impl<'a> Resolver<'a> {
    /// A resolver for one file.
    pub(super) fn new(
        sources: &'a VarSources,
        file_vars: Vec<(Located, Located)>,
        captured: HashSet<String>,
        source: Arc<str>,
    ) -> Self {
        Resolver {
            sources,
            file_vars: file_vars.into_iter().map(|(k, v)| (k.value, v)).collect(),
            captured,
            line_starts: std::iter::once(0)
                .chain(source.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            source,
            substituted: HashMap::new(),
            captured_uses: Vec::new(),
        }
    }

    /// The value of a variable that is not captured, and where it comes from.
    fn lookup(&self, name: &str, pos: Pos) -> Result<Substitution, VarError> {
        let found = |value: &str, origin| {
            Ok(Substitution {
                name: name.to_string(),
                value: value.to_string(),
                origin,
            })
        };
        if let Some(value) = self.sources.cli.get(name) {
            return found(value, Origin::Cli);
        }
        if let Some(value) = self.sources.files.get(name) {
            return found(value, Origin::VarsFile);
        }
        if let Some(value) = self
            .sources
            .use_env
            .then(|| std::env::var(name).ok())
            .flatten()
        {
            return found(&value, Origin::Env);
        }
        match self.file_vars.get(name) {
            Some(written) => {
                let at = written.pos;
                found(&self.file_var(written)?, Origin::FileVars(at))
            }
            None => Err(VarError {
                pos,
                message: format!(
                    "variable `{name}` is not defined (set it with --var {name}=VALUE, --vars-file, the environment, or the file's `vars:`)"
                ),
            }),
        }
    }

    /// A `vars:` value: its text, with `${NAME}` of the command line and the environment.
    fn file_var(&self, written: &Located) -> Result<String, VarError> {
        let pos = written.pos;
        let parts = self.scan(&written.value, pos)?;
        let mut out = String::new();
        for (_, part) in parts {
            match part {
                Part::Text(text) => out.push_str(&text),
                Part::Var(name) if self.file_vars.contains_key(&name) && !self.outside(&name) => {
                    return Err(VarError {
                        pos,
                        message: format!("a `vars:` value cannot use another `vars:` entry (`${{{name}}}`); use --var, --vars-file or the environment"),
                    })
                }
                Part::Var(name) => out.push_str(&self.lookup(&name, pos)?.value),
            }
        }
        Ok(out)
    }

    /// Whether a name has a value outside the file.
    fn outside(&self, name: &str) -> bool {
        self.sources.cli.contains_key(name)
            || self.sources.files.contains_key(name)
            || (self.sources.use_env && std::env::var_os(name).is_some())
    }

    fn scan(&self, text: &str, pos: Pos) -> Result<Vec<(usize, Part)>, VarError> {
        template::scan(text).map_err(|e| VarError {
            pos: self.inside(pos, &text[..e.offset]),
            message: e.message,
        })
    }

    /// The position of a place inside a scalar written at `pos`, when the scalar's text
    /// up to it is written as is on the scalar's line (else the scalar's start).
    fn inside(&self, pos: Pos, before: &str) -> Pos {
        let line = self
            .line_starts
            .get(pos.line.saturating_sub(1) as usize)
            .and_then(|start| self.source[*start..].lines().next())
            .unwrap_or_default();
        let from: String = line
            .chars()
            .skip(pos.column.saturating_sub(1) as usize)
            .collect();
        let quote = usize::from(from.starts_with(['"', '\'']));
        if from[quote..].starts_with(before) {
            let column = pos.column + (quote + before.chars().count()) as u32;
            Pos { column, ..pos }
        } else {
            pos
        }
    }

    /// Resolves one scalar's text written at `pos`: a string, or a template when it uses
    /// captured variables. Values are put in as text and never scanned again.
    pub(super) fn scalar(&mut self, text: String, pos: Pos) -> Result<NodeValue, VarError> {
        if !text.contains('$') {
            return Ok(NodeValue::Str(text));
        }
        let mut parts: Vec<Part> = Vec::new();
        for (offset, part) in self.scan(&text, pos)? {
            let part = match part {
                Part::Var(name) if self.captured.contains(&name) => {
                    let at = self.inside(pos, &text[..offset]);
                    self.captured_uses.push((at, name.clone()));
                    Part::Var(name)
                }
                Part::Var(name) => {
                    let value = self.lookup(&name, self.inside(pos, &text[..offset]))?;
                    let text = value.value.clone();
                    self.substituted.entry(pos).or_default().push(value);
                    Part::Text(text)
                }
                text => text,
            };
            match (parts.last_mut(), part) {
                (Some(Part::Text(before)), Part::Text(more)) => before.push_str(&more),
                (_, part) => parts.push(part),
            }
        }
        Ok(match parts.as_slice() {
            [] => NodeValue::Str(String::new()),
            [Part::Text(text)] => NodeValue::Str(text.clone()),
            _ => NodeValue::Template(parts),
        })
    }

    /// Resolves every scalar of a node.
    pub(super) fn node(&mut self, node: Node) -> Result<Node, VarError> {
        let value = match node.value {
            NodeValue::Str(text) => self.scalar(text, node.pos)?,
            NodeValue::Seq(items) => NodeValue::Seq(
                items
                    .into_iter()
                    .map(|i| self.node(i))
                    .collect::<Result<_, _>>()?,
            ),
            NodeValue::Map(entries) => NodeValue::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((k, self.node(v)?)))
                    .collect::<Result<_, VarError>>()?,
            ),
            other => other,
        };
        Ok(Node {
            pos: node.pos,
            value,
        })
    }

    /// Resolves a string of the file format (a method, a duration…), where captured
    /// variables have no value yet.
    pub(super) fn text(&mut self, mut located: Located) -> Result<Located, VarError> {
        let pos = located.pos;
        match self.scalar(std::mem::take(&mut located.value), pos)? {
            NodeValue::Str(text) => {
                located.value = text;
                Ok(located)
            }
            _ => Err(VarError {
                pos,
                message:
                    "captured variables can be used in messages and request `metadata:`, not here"
                        .into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(cli: &[(&str, &str)], files: &[(&str, &str)]) -> VarSources {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        VarSources {
            cli: map(cli),
            files: map(files),
            use_env: false,
        }
    }

    fn file_vars(yaml: &str) -> Vec<(Located, Located)> {
        let map: Vec<(Located, Located)> =
            serde_saphyr::from_str::<super::super::raw::RawVars>(yaml)
                .unwrap()
                .0;
        map
    }

    fn resolve(resolver: &mut Resolver, text: &str) -> Result<NodeValue, VarError> {
        resolver.scalar(text.to_string(), Pos { line: 1, column: 1 })
    }

    fn str_of(value: NodeValue) -> String {
        match value {
            NodeValue::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn sources_are_taken_in_order_and_remembered() {
        let sources = sources(&[("A", "cli")], &[("A", "file"), ("B", "file")]);
        let vars = file_vars("{A: vars, B: vars, C: vars}");
        let mut r = Resolver::new(&sources, vars, HashSet::new(), Arc::from(""));
        assert_eq!(
            str_of(resolve(&mut r, "${A}/${B}/${C}").unwrap()),
            "cli/file/vars"
        );
        let origins: Vec<_> = r.substituted[&Pos { line: 1, column: 1 }]
            .iter()
            .map(|s| s.origin.clone())
            .collect();
        assert_eq!(origins[..2], [Origin::Cli, Origin::VarsFile]);
        assert!(matches!(origins[2], Origin::FileVars(_)));
    }

    #[test]
    fn values_are_text_exactly_as_written_and_never_rescanned() {
        let vars = file_vars("{N: NO, Z: 01234, R: 1.50, E: \"$${X}\"}");
        let sources = sources(&[("Q", "a\"b ${N} # c")], &[]);
        let mut r = Resolver::new(&sources, vars, HashSet::new(), Arc::from(""));
        assert_eq!(
            str_of(resolve(&mut r, "${N}${Z}${R}").unwrap()),
            "NO012341.50"
        );
        assert_eq!(str_of(resolve(&mut r, "${Q}").unwrap()), "a\"b ${N} # c");
        assert_eq!(str_of(resolve(&mut r, "${E}").unwrap()), "${X}");
        assert_eq!(str_of(resolve(&mut r, "$${Q}").unwrap()), "${Q}");
    }

    #[test]
    fn captured_names_stay_templates_and_their_uses_are_listed() {
        let sources = sources(&[("N", "1")], &[]);
        let captured: HashSet<String> = ["ID".to_string()].into();
        let mut r = Resolver::new(&sources, Vec::new(), captured, Arc::from(""));
        let value = resolve(&mut r, "${ID}-${N}-$${ID}").unwrap();
        assert_eq!(
            value,
            NodeValue::Template(vec![Part::Var("ID".into()), Part::Text("-1-${ID}".into())])
        );
        assert_eq!(r.captured_uses.len(), 1);
        assert_eq!(str_of(resolve(&mut r, "$${ID}").unwrap()), "${ID}");
        assert_eq!(r.captured_uses.len(), 1);
    }

    #[test]
    fn errors_point_inside_the_scalar_as_written() {
        let source: Arc<str> = Arc::from("a: 1\nb:  \"x${MISSING}\"\nc: ok ${OPEN\n");
        let sources = sources(&[], &[]);
        let mut r = Resolver::new(&sources, Vec::new(), HashSet::new(), source);
        let err = r
            .scalar("x${MISSING}".into(), Pos { line: 2, column: 5 })
            .unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, column: 7 });
        assert!(err.message.contains("`MISSING` is not defined"));
        let err = r
            .scalar("ok ${OPEN".into(), Pos { line: 3, column: 4 })
            .unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, column: 7 });
    }

    #[test]
    fn a_vars_value_may_use_outside_values_only() {
        let sources = sources(&[("HOST", "h")], &[]);
        let vars = file_vars("{URL: \"http://${HOST}\", BAD: \"${URL}\"}");
        let mut r = Resolver::new(&sources, vars, HashSet::new(), Arc::from(""));
        assert_eq!(str_of(resolve(&mut r, "${URL}").unwrap()), "http://h");
        assert!(resolve(&mut r, "${BAD}")
            .unwrap_err()
            .message
            .contains("another `vars:`"));
    }
}
