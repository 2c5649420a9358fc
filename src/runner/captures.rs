//! Values captured while a file plays, shared by its calls.

use std::sync::{Arc, Mutex};

use crate::scenario::CapturedVars;

/// The variables `capture:` steps have set so far. Cloning shares the same store; a new
/// store starts empty.
#[derive(Debug, Clone, Default)]
pub(crate) struct Captures(Arc<Mutex<CapturedVars>>);

impl Captures {
    /// A copy of the values captured so far.
    pub(crate) fn snapshot(&self) -> CapturedVars {
        self.0.lock().expect("captures lock").clone()
    }

    /// Sets a variable.
    pub(crate) fn set(&self, name: &str, value: String) {
        self.0
            .lock()
            .expect("captures lock")
            .insert(name.to_string(), value);
    }
}
