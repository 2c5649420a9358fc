//! Terminal styling: colors when the output is a terminal (or when asked), plain text in
//! CI logs and files.

use std::io::IsTerminal;

/// When to color output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Color when standard output is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// Applies (or not) ANSI styles.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Decides from the choice and the environment.
    pub fn new(choice: ColorChoice) -> Style {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Style { enabled }
    }

    /// No styles, for report files.
    pub fn plain() -> Style {
        Style { enabled: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Green, for passes.
    pub fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Bold red, for failures.
    pub fn bad(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// Dim, for timings and positions.
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Bold, for headings.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}
