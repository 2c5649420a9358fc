//! The YAML reader's messages in the words of this tool: no library option names
//! ("set DuplicateKeyPolicy in Options"), no parser internals ("budget breached",
//! "mapping start").

/// `message` from the YAML reader, reworded for a person writing a scenario.
pub(super) fn yaml_message(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("`{key}` is written twice in this mapping: keep one");
    }
    if message.contains("budget breached") {
        return "the file is too large or too deeply nested for the YAML reader (its safety \
                limits on nodes, depth and aliases); split it, or flatten it"
            .to_string();
    }
    let plain = [
        (
            "expected mapping start",
            "expected a mapping here (`key: value` lines, or `{key: value}`)",
        ),
        (
            "expected sequence start",
            "expected a list here (`- item` lines, or `[item, …]`)",
        ),
        ("expected string scalar", "expected a text value here"),
        ("invalid boolean", "expected true or false"),
    ];
    for (said, meant) in plain {
        if message == said {
            return meant.to_string();
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::yaml_message;

    #[test]
    fn library_jargon_is_translated() {
        let duplicate =
            "duplicate mapping key: name, set DuplicateKeyPolicy in Options if acceptable";
        assert_eq!(
            yaml_message(duplicate),
            "`name` is written twice in this mapping: keep one"
        );
        let budget = yaml_message("budget breached: Nodes { limit: 10, seen: 11 }");
        assert!(
            !budget.contains("budget") && !budget.contains("Nodes"),
            "{budget}"
        );
        assert!(yaml_message("expected mapping start").contains("mapping"));
        assert_eq!(yaml_message("unclosed bracket '{'"), "unclosed bracket '{'");
    }
}
