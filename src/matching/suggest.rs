//! "Did you mean …?" for misspelt names.

/// The candidate closest to `wanted`, when it is close enough to be a likely typo.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_lower = wanted.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                c,
                strsim::jaro_winkler(&wanted_lower, &c.to_ascii_lowercase()),
            )
        })
        .filter(|(_, score)| *score >= 0.85)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_and_ignores_strangers() {
        let names = ["number", "result", "first_name"];
        assert_eq!(closest("numbr", names), Some("number"));
        assert_eq!(closest("First_Name", names), Some("first_name"));
        assert_eq!(closest("zzz", names), None);
    }
}
