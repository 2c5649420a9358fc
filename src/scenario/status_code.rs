//! gRPC status codes by name and number, for scenarios.

/// The canonical names, indexed by code number.
const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// A gRPC status code (0–16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCode(pub i32);

impl StatusCode {
    /// `OK`.
    pub const OK: StatusCode = StatusCode(0);

    /// Parses a canonical name (any case) or a number.
    pub fn parse(text: &str) -> Option<StatusCode> {
        let text = text.trim();
        if let Ok(n) = text.parse::<i32>() {
            return (0..NAMES.len() as i32)
                .contains(&n)
                .then_some(StatusCode(n));
        }
        let upper = text.to_ascii_uppercase();
        NAMES
            .iter()
            .position(|name| *name == upper)
            .map(|i| StatusCode(i as i32))
    }

    /// The canonical name, or the number for an unknown code.
    pub fn name(self) -> String {
        usize::try_from(self.0)
            .ok()
            .and_then(|i| NAMES.get(i))
            .map_or_else(|| self.0.to_string(), |n| (*n).to_string())
    }

    /// Every canonical name, for error messages.
    pub fn all_names() -> &'static [&'static str] {
        &NAMES
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}
