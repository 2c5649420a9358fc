//! The JUnit XML report, as CI systems read it (Jenkins, GitLab, GitHub test reporters):
//! a `<testsuite>` per scenario file, a `<testcase>` per call with its time; a failed call
//! has a `<failure>` (an `<error>` for transport failures) whose message is the step's
//! `file:line:column` and summary and whose text adds the field differences and the steps.
//! Valid against the Jenkins xUnit plugin's `junit-10.xsd`.

use std::fmt::Write as _;
use std::time::Duration;

use super::outcome::{Case, CaseStatus, RunOutcome, Suite, Verdict};
use super::style::Style;
use super::terminal::step_line;
use super::text::{failure_text, Render};
use crate::runner::FailureKind;

/// The whole report.
pub(super) fn render(outcome: &RunOutcome) -> String {
    let tally = outcome.tally();
    let timestamp = humantime::format_rfc3339_seconds(outcome.started_at).to_string();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">",
        escape(&format!("grpc-replay {}", outcome.command)),
        tally.calls + tally.invalid,
        tally.failed + tally.interrupted,
        tally.broken + tally.invalid,
        seconds(outcome.elapsed),
    );
    for suite in outcome.suites() {
        write_suite(&mut xml, &suite, &timestamp);
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn write_suite(xml: &mut String, suite: &Suite, timestamp: &str) {
    let file = escape(&suite.file().display().to_string());
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{file}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" \
         time=\"{}\" timestamp=\"{timestamp}\" file=\"{file}\">",
        suite.cases.len(),
        suite.count(CaseStatus::Failed) + suite.count(CaseStatus::Interrupted),
        suite.count(CaseStatus::TransportFailure) + suite.count(CaseStatus::Invalid),
        suite.count(CaseStatus::Skipped),
        seconds(suite.duration()),
    );
    for case in &suite.cases {
        let _ = write!(
            xml,
            "    <testcase name=\"{}\" classname=\"{file}\" time=\"{}\"",
            escape(&case.name),
            seconds(case.duration()),
        );
        match case.verdict {
            Verdict::Played(result) => match &result.failure {
                None => xml.push_str("/>\n"),
                Some(failure) => {
                    let kind = failure.kind();
                    let element = match kind {
                        FailureKind::Transport | FailureKind::Internal => "error",
                        FailureKind::Mismatch | FailureKind::Timeout => "failure",
                    };
                    let kind = kind.label();
                    let description = failure_text(failure, &result.file, result.role);
                    let message = description.lines().next().unwrap_or_default();
                    let text = with_steps(&description, case);
                    write_element(xml, element, kind, message, &text);
                }
            },
            Verdict::Skipped(reason) => {
                let _ = writeln!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&reason.to_string())
                );
            }
            Verdict::Interrupted(call) => {
                let message = format!(
                    "{}:{}:{}: interrupted: {}",
                    call.file.display(),
                    call.pos.line,
                    call.pos.column,
                    call.reason
                );
                write_element(xml, "failure", "interrupted", &message, &message);
            }
            Verdict::Invalid(error) => {
                write_element(xml, "error", "invalid", &error.headline(), &error.text);
            }
        }
    }
    xml.push_str("  </testsuite>\n");
}

/// Closes an open `<testcase` with a `<failure>` or `<error>` element.
fn write_element(xml: &mut String, element: &str, kind: &str, message: &str, text: &str) {
    let _ = writeln!(
        xml,
        ">\n      <{element} type=\"{kind}\" message=\"{}\">{}</{element}>\n    </testcase>",
        escape(message),
        escape_text(text),
    );
}

/// The failure's description, then every step as it happened.
fn with_steps(description: &str, case: &Case) -> String {
    let style = Style::plain();
    let render = Render {
        role: case.role,
        style: &style,
        full: true,
    };
    let mut text = format!("{description}\n\nsteps:\n");
    for record in case.steps() {
        text.push_str(&step_line(record, case.within(record), render));
        text.push('\n');
    }
    text
}

/// Seconds with millisecond precision, as JUnit's `time` attributes are written.
fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

/// Escapes text for an XML attribute value: markup, quotes and line breaks.
fn escape(text: &str) -> String {
    escape_xml(text, true)
}

/// Escapes text for element content, keeping line breaks readable.
fn escape_text(text: &str) -> String {
    escape_xml(text, false)
}

/// Characters XML 1.0 cannot hold (most control characters) become U+FFFD.
fn escape_xml(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_text};

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\n\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;&#10;\u{FFFD}"
        );
        assert_eq!(escape_text("a<b\n\"c\"\r"), "a&lt;b\n\"c\"&#13;");
    }
}
