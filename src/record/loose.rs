//! `--loose FIELD_PATH`: fields whose recorded value is not checked on replay (times, ids).

use serde_json::{Map, Value};

/// The `--loose` paths, each a dotted list of field names (`created_at`, `order.id`);
/// a path through a repeated field applies to every element.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoosePaths {
    paths: Vec<Vec<String>>,
}

impl LoosePaths {
    /// Reads the paths as given on the command line.
    pub(crate) fn new(paths: &[String]) -> Self {
        LoosePaths {
            paths: paths
                .iter()
                .map(|p| p.split('.').map(str::to_string).collect())
                .collect(),
        }
    }

    /// The message with every loose field present in it replaced by `{$any: true}`, or
    /// `None` when none is present.
    pub(crate) fn apply(&self, message: &Value) -> Option<Value> {
        let mut expected = message.clone();
        let mut changed = false;
        for path in &self.paths {
            changed |= loosen(&mut expected, path);
        }
        changed.then_some(expected)
    }
}

fn loosen(value: &mut Value, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    match value {
        Value::Array(items) => items.iter_mut().fold(false, |c, i| loosen(i, path) | c),
        Value::Object(fields) => match fields.get_mut(first) {
            Some(field) if rest.is_empty() => {
                *field = any();
                true
            }
            Some(field) => loosen(field, rest),
            None => false,
        },
        _ => false,
    }
}

fn any() -> Value {
    let mut matcher = Map::new();
    matcher.insert("$any".to_string(), Value::Bool(true));
    Value::Object(matcher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn present_fields_become_any_at_every_depth_and_in_lists() {
        let loose = LoosePaths::new(&["created_at".into(), "notes.id".into()]);
        let message = json!({"created_at": "t", "notes": [{"id": 1, "m": "a"}, {"m": "b"}]});
        assert_eq!(
            loose.apply(&message),
            Some(json!({
                "created_at": {"$any": true},
                "notes": [{"id": {"$any": true}, "m": "a"}, {"m": "b"}]
            }))
        );
    }

    #[test]
    fn a_message_without_the_fields_is_left_alone() {
        let loose = LoosePaths::new(&["created_at".into()]);
        assert_eq!(loose.apply(&json!({"name": "x"})), None);
        assert_eq!(LoosePaths::default().apply(&json!({"a": 1})), None);
    }
}
