//! Reports: live terminal progress and the closing summary. Writers only read results.

mod style;
mod summary;
mod terminal;

pub use style::{ColorChoice, Style};
pub use summary::Tally;
pub use terminal::{format_duration, format_elapsed, TerminalReporter, Verbosity};
