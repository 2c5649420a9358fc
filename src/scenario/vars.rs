//! `${NAME}` substitution: from `--var`, then the environment, then the file's `vars:`.

use std::collections::{HashMap, HashSet};

use super::node::Pos;

/// Where variable values come from, in order of precedence.
#[derive(Debug, Clone, Default)]
pub struct VarSources {
    /// `--var NAME=VALUE` (and `--vars-file`) values: they win.
    pub cli: HashMap<String, String>,
    /// Whether the process environment is consulted after `cli`.
    pub use_env: bool,
}

/// A `${NAME}` that nothing defines, or a `${` that is never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarError {
    /// Where the reference is.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

/// Replaces every `${NAME}` in `text`, keeping lines where they are so that positions
/// in errors still point at the file. `$${` stands for a literal `${`. Names in `captured`
/// are left as they are: their values come from `capture:` steps when the file plays.
pub fn substitute(
    text: &str,
    sources: &VarSources,
    file_vars: &HashMap<String, String>,
    captured: &HashSet<String>,
) -> Result<String, VarError> {
    if !text.contains("${") {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        substitute_line(
            line,
            index as u32 + 1,
            sources,
            file_vars,
            captured,
            &mut out,
        )?;
    }
    Ok(out)
}

fn substitute_line(
    line: &str,
    line_no: u32,
    sources: &VarSources,
    file_vars: &HashMap<String, String>,
    captured: &HashSet<String>,
    out: &mut String,
) -> Result<(), VarError> {
    let mut rest = line;
    let mut column = 1u32;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        column += rest[..start].chars().count() as u32;
        let tail = &rest[start..];
        if let Some(rest_after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = rest_after;
            column += 3;
        } else if let Some(body) = tail.strip_prefix("${") {
            let pos = Pos {
                line: line_no,
                column,
            };
            let name_len = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            let name = &body[..name_len];
            if !body[name_len..].starts_with('}') {
                return Err(VarError {
                    pos,
                    message: "`${` is not closed by `}` after a variable name (letters, digits, `_`); write `$${` for a literal `${`".into(),
                });
            }
            if name.is_empty() {
                return Err(VarError {
                    pos,
                    message: "`${}` names no variable".into(),
                });
            }
            let end = 2 + name_len;
            if captured.contains(name) {
                out.push_str(&tail[..=end]);
                column += tail[..=end].chars().count() as u32;
                rest = &tail[end + 1..];
                continue;
            }
            let value = lookup(name, sources, file_vars).ok_or_else(|| VarError {
                pos,
                message: format!(
                    "variable `{name}` is not defined (set it with --var {name}=VALUE, the environment, or the file's `vars:`)"
                ),
            })?;
            out.push_str(&value);
            column += tail[..=end].chars().count() as u32;
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
            column += 1;
        }
    }
    out.push_str(rest);
    Ok(())
}

fn lookup(name: &str, sources: &VarSources, file_vars: &HashMap<String, String>) -> Option<String> {
    sources
        .cli
        .get(name)
        .cloned()
        .or_else(|| sources.use_env.then(|| std::env::var(name).ok()).flatten())
        .or_else(|| file_vars.get(name).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(pairs: &[(&str, &str)]) -> VarSources {
        VarSources {
            cli: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            use_env: false,
        }
    }

    #[test]
    fn cli_values_win_over_file_values() {
        let file: HashMap<_, _> = [("N".to_string(), "1".to_string())].into();
        let out = substitute(
            "a: ${N}\nb: ${N}x\n",
            &sources(&[("N", "7")]),
            &file,
            &HashSet::new(),
        )
        .unwrap();
        assert_eq!(out, "a: 7\nb: 7x\n");
        let out = substitute("a: ${N}\n", &sources(&[]), &file, &HashSet::new()).unwrap();
        assert_eq!(out, "a: 1\n");
    }

    #[test]
    fn undefined_variable_is_located() {
        let err = substitute(
            "a: 1\nb:  ${MISSING}\n",
            &sources(&[]),
            &HashMap::new(),
            &HashSet::new(),
        )
        .unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, column: 5 });
        assert!(err.message.contains("MISSING"));
    }

    #[test]
    fn captured_names_are_left_for_later() {
        let captured: HashSet<String> = ["ID".to_string()].into();
        let out = substitute(
            "a: ${ID}-${N}\n",
            &sources(&[("N", "1")]),
            &HashMap::new(),
            &captured,
        )
        .unwrap();
        assert_eq!(out, "a: ${ID}-1\n");
    }

    #[test]
    fn double_dollar_is_a_literal() {
        let out = substitute(
            "a: $${X} $5\n",
            &sources(&[]),
            &HashMap::new(),
            &HashSet::new(),
        )
        .unwrap();
        assert_eq!(out, "a: ${X} $5\n");
    }
}
