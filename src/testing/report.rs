//! The report of `toolwright test`, per format: text (a line per test, the reasons under each
//! failure, a summary), json (an object with every test and the counts) and github (workflow
//! commands: an `::error` annotation at each failing test's `name`, then the summary).

use std::fmt::Write as _;

use serde_json::json;

use super::runner::{Status, TestResult};
use crate::diag::report::gh_escape;

/// Output formats of `toolwright test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A line per test and the reasons under each failure.
    Text,
    /// One JSON object: every test and the counts.
    Json,
    /// GitHub Actions workflow commands (an annotation at each failing test).
    Github,
}

/// How many tests ended each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Could not run or be recorded.
    pub errors: usize,
}

impl Counts {
    /// The counts of `results`.
    pub fn of(results: &[TestResult]) -> Counts {
        let n = |s: Status| results.iter().filter(|r| r.status == s).count();
        Counts { passed: n(Status::Pass), failed: n(Status::Fail), errors: n(Status::Error) }
    }

    /// `2 passed, 1 failed, 0 errors`.
    pub fn summary(self) -> String {
        let errors = if self.errors == 1 { "1 error".to_owned() } else { format!("{} errors", self.errors) };
        format!("{} passed, {} failed, {errors}", self.passed, self.failed)
    }
}

/// The report of `results` in `format`; `color` adds ANSI colours (text only).
pub fn report(format: Format, results: &[TestResult], color: bool) -> String {
    match format {
        Format::Text => text(results, color),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_value(results)).unwrap_or_else(|_| "{}".to_owned());
            s.push('\n');
            s
        }
        Format::Github => github(results),
    }
}

fn label(r: &TestResult) -> String {
    format!("{}/{}", r.test.tool, r.test.name)
}

fn text(results: &[TestResult], color: bool) -> String {
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() };
    let mut out = String::new();
    for r in results {
        let (code, word) = match r.status {
            Status::Pass => ("1;32", "PASS "),
            Status::Fail => ("1;31", "FAIL "),
            Status::Error => ("1;31", "ERROR"),
        };
        let _ = writeln!(out, "{} {} ({}:{}:{})", paint(code, word), label(r), r.test.file, r.test.span.line, r.test.span.column);
        for m in &r.messages {
            let mut lines = m.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "      - {first}");
            }
            for line in lines {
                let _ = writeln!(out, "        {line}");
            }
        }
    }
    let _ = writeln!(out, "{}", Counts::of(results).summary());
    out
}

fn json_value(results: &[TestResult]) -> serde_json::Value {
    let counts = Counts::of(results);
    let tests: Vec<_> = results
        .iter()
        .map(|r| {
            json!({
                "tool": r.test.tool,
                "test": r.test.name,
                "status": r.status.as_str(),
                "file": r.test.file,
                "line": r.test.span.line,
                "column": r.test.span.column,
                "messages": r.messages,
                "recording": r.recording.as_ref().map(|p| p.display().to_string()),
                "duration_ms": u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
            })
        })
        .collect();
    json!({"tests": tests, "passed": counts.passed, "failed": counts.failed, "errors": counts.errors})
}

fn github(results: &[TestResult]) -> String {
    let mut out = String::new();
    for r in results.iter().filter(|r| r.status != Status::Pass) {
        let title = match r.status {
            Status::Error => format!("toolwright test {} could not run", label(r)),
            _ => format!("toolwright test {} failed", label(r)),
        };
        let _ = writeln!(
            out,
            "::error file={},line={},col={},endLine={},endColumn={},title={}::{}",
            gh_escape(&r.test.file, true),
            r.test.span.line,
            r.test.span.column,
            r.test.span.end_line,
            r.test.span.end_column,
            gh_escape(&title, true),
            gh_escape(&r.messages.join("\n"), false)
        );
    }
    let _ = writeln!(out, "{}", Counts::of(results).summary());
    out
}
