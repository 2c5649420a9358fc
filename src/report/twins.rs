//! The load-time warning about scripts that no client can tell apart.

use crate::server::{ScriptRef, Twins};

/// `FILE:LINE (call ID)`.
fn script(script: &ScriptRef) -> String {
    format!(
        "{}:{} (call {})",
        script.file.display(),
        script.line,
        script.call_id
    )
}

/// One line saying which two scripts are twins and which of them can never be played.
pub(crate) fn twins_warning(twins: &Twins) -> String {
    format!(
        "{} and {} serve {} with the same client side, so no client can tell them apart: \
         the tie-break (file order) always plays the first, and the second can never be played",
        script(&twins.first),
        script(&twins.second),
        twins.method
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_names_both_files_and_lines() {
        let twins = Twins {
            method: "/calculator.CalculatorService/Maximum".into(),
            first: ScriptRef {
                file: "a.yaml".into(),
                call_id: "one".into(),
                line: 3,
            },
            second: ScriptRef {
                file: "b/c.yaml".into(),
                call_id: "two".into(),
                line: 7,
            },
        };
        let text = twins_warning(&twins);
        assert!(text.starts_with("a.yaml:3 (call one) and b/c.yaml:7 (call two) serve /calculator.CalculatorService/Maximum"), "{text}");
    }
}
