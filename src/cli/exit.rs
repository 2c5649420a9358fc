//! The documented exit codes.

use std::process::ExitCode;

use crate::report::Tally;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: everything passed.
    Passed = 0,
    /// 1: a scenario failed its expectations, or a call was interrupted.
    Failed = 1,
    /// 2: invalid input (usage, YAML, proto, scenario).
    Invalid = 2,
    /// 3: transport failure (cannot connect, connection lost).
    Transport = 3,
}

impl Exit {
    /// The exit for a set of results, the worst first: a transport failure (3), then a
    /// file that did not load (2), then a failed or interrupted call (1).
    pub fn from_tally(tally: &Tally) -> Exit {
        if tally.broken > 0 {
            Exit::Transport
        } else if tally.invalid > 0 {
            Exit::Invalid
        } else if tally.failed > 0 || tally.interrupted > 0 {
            Exit::Failed
        } else {
            Exit::Passed
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(broken: usize, invalid: usize, failed: usize, interrupted: usize) -> Exit {
        Exit::from_tally(&Tally {
            broken,
            invalid,
            failed,
            interrupted,
            ..Tally::default()
        })
    }

    #[test]
    fn the_worst_outcome_wins_transport_then_invalid_then_failed() {
        assert_eq!(exit(0, 0, 0, 0), Exit::Passed);
        assert_eq!(exit(0, 0, 1, 0), Exit::Failed);
        assert_eq!(exit(0, 0, 0, 1), Exit::Failed);
        assert_eq!(exit(0, 1, 1, 1), Exit::Invalid);
        assert_eq!(exit(1, 1, 1, 1), Exit::Transport);
    }
}
