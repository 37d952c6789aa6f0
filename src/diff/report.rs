//! One report per output format of `toolwright diff`: text, json, github (workflow commands)
//! and markdown (a pull request comment). Values taken from specs travel as
//! [`Piece::Code`] and are escaped here for each format: a spec cannot inject markup into a
//! comment nor a workflow command into a log.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::json;

use super::{Change, Message, Piece, Report, Severity, SideName};
use crate::diag::report::gh_escape;
use crate::diag::{self, Diagnostic, LineIndex};

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable: breaking changes, then other changes, then a count.
    Text,
    /// One JSON object with counts and every change.
    Json,
    /// GitHub Actions workflow commands: `::error` for a breaking change, `::warning` otherwise.
    Github,
    /// Markdown for a pull request comment: a heading with counts, then tables.
    Markdown,
}

/// How the two sides are named (the arguments as given, or `git:REV:PATH`).
#[derive(Clone, Copy, Debug)]
pub struct Labels<'a> {
    /// The old side.
    pub old: &'a str,
    /// The new side.
    pub new: &'a str,
}

/// A side that does not compile, with its diagnostics.
pub struct SideErrors<'a> {
    /// Which side.
    pub side: SideName,
    /// How it is named.
    pub label: &'a str,
    /// Its diagnostics (errors and warnings), sorted.
    pub diagnostics: &'a [Diagnostic],
    /// Its files' lines, for the text excerpts.
    pub sources: &'a HashMap<String, LineIndex>,
}

/// The most rows a Markdown report shows (a comment holds at most 65,536 characters).
const MAX_MARKDOWN_ROWS: usize = 250;

/// Renders the changes of a comparison.
pub fn changes(format: Format, report: &Report, labels: Labels<'_>) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_value(report, labels)).unwrap_or_else(|_| "{}".to_owned());
            s.push('\n');
            s
        }
        Format::Github => github(report),
        Format::Markdown => markdown(report, labels),
    }
}

/// "2 breaking, 3 other changes (1 cannot be compared)" or "no changes".
fn summary(report: &Report) -> String {
    if report.changes.is_empty() {
        return "no changes".to_owned();
    }
    let breaking = report.count(Severity::Breaking);
    let other = report.changes.len() - breaking;
    let unknown = report.count(Severity::Unknown);
    let mut s = format!("{breaking} breaking, {other} other {}", if other == 1 { "change" } else { "changes" });
    if unknown > 0 {
        let _ = write!(s, " ({unknown} cannot be compared)");
    }
    s
}

fn text(report: &Report) -> String {
    if report.changes.is_empty() {
        return "no changes\n".to_owned();
    }
    let mut out = String::new();
    let (breaking, other): (Vec<&Change>, Vec<&Change>) = report.changes.iter().partition(|c| c.severity == Severity::Breaking);
    for (title, list) in [("Breaking changes", breaking), ("Other changes", other)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title} ({})", list.len());
        for c in list {
            // Tool names are checked by the compile (letters, digits, `_`, `-`, `.`).
            let _ = writeln!(out, "  {}: {}", c.tool, c.message.plain());
        }
    }
    let _ = writeln!(out, "\n{}", summary(report));
    out
}

fn json_value(report: &Report, labels: Labels<'_>) -> serde_json::Value {
    let changes: Vec<serde_json::Value> = report
        .changes
        .iter()
        .map(|c| {
            let mut o = json!({
                "tool": c.tool,
                "severity": c.severity.as_str(),
                "code": c.kind.as_str(),
                "pointer": c.pointer,
                "message": c.message.plain(),
            });
            if let (Some(s), Some(obj)) = (&c.source, o.as_object_mut()) {
                obj.insert("side".to_owned(), json!(s.side.as_str()));
                obj.insert("file".to_owned(), json!(s.file));
                obj.insert("line".to_owned(), json!(s.line));
            }
            o
        })
        .collect();
    json!({
        "old": labels.old,
        "new": labels.new,
        "breaking": report.count(Severity::Breaking),
        "non_breaking": report.count(Severity::NonBreaking),
        "cannot_compare": report.count(Severity::Unknown),
        "changes": changes,
    })
}

fn github(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.changes {
        let command = if c.severity == Severity::Breaking { "error" } else { "warning" };
        let mut props = String::new();
        // Annotations go on the new side's files; a removed tool's file may be gone.
        if let Some(s) = c.source.as_ref().filter(|s| s.side == SideName::New) {
            let _ = write!(props, "file={},line={},", gh_escape(&s.file, true), s.line);
        }
        let title = format!("toolwright diff {} ({})", c.kind.as_str(), c.severity.as_str());
        let message = format!("{}: {}", Message::new().code(&c.tool).plain(), c.message.plain());
        let _ = writeln!(out, "::{command} {props}title={}::{}", gh_escape(&title, true), gh_escape(&message, false));
    }
    let _ = writeln!(out, "toolwright diff: {}", summary(report));
    out
}

/// Escapes our own words for Markdown (they hold no markup, but stay safe if they ever do).
fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A value from a spec as a Markdown code span, safe inside a table cell: line breaks and
/// other control characters become spaces, `|` is escaped (GFM reads `\|` in a cell as a
/// pipe, in code spans too), and the fence is longer than any run of backticks inside, so the
/// value can neither end the span nor the row. Inside a code span nothing is markup or HTML.
fn md_code(s: &str, in_table: bool) -> String {
    let mut body: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if in_table {
        body = body.replace('|', "\\|");
    }
    if body.trim().is_empty() {
        return if body.is_empty() { "(empty)".to_owned() } else { format!("`{body}`") };
    }
    let fence = "`".repeat(super::longest_run(&body, '`') + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

fn md_message(m: &Message) -> String {
    m.0.iter()
        .map(|p| match p {
            Piece::Text(t) => md_text(t),
            Piece::Code(c) => md_code(c, true),
        })
        .collect()
}

/// A comment marker that a workflow can look for to update its earlier comment.
pub const MARKDOWN_MARKER: &str = "<!-- toolwright diff -->";

fn markdown(report: &Report, labels: Labels<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKDOWN_MARKER}");
    let breaking = report.count(Severity::Breaking);
    let heading = if report.changes.is_empty() {
        "no changes".to_owned()
    } else {
        let other = report.changes.len() - breaking;
        format!(
            "{breaking} breaking {}, {other} other {}",
            if breaking == 1 { "change" } else { "changes" },
            if other == 1 { "change" } else { "changes" }
        )
    };
    let _ = writeln!(out, "### toolwright diff: {heading}\n");
    let _ = writeln!(out, "Comparing {} with {}.", md_code(labels.old, false), md_code(labels.new, false));
    let mut shown = 0;
    let (breaking, other): (Vec<&Change>, Vec<&Change>) = report.changes.iter().partition(|c| c.severity == Severity::Breaking);
    if !breaking.is_empty() {
        let _ = writeln!(out, "\n#### Breaking changes\n\n| tool | change |\n| --- | --- |");
        for c in breaking.iter().take(MAX_MARKDOWN_ROWS) {
            let _ = writeln!(out, "| {} | {} |", md_code(&c.tool, true), md_message(&c.message));
            shown += 1;
        }
    }
    if !other.is_empty() && shown < MAX_MARKDOWN_ROWS {
        let _ = writeln!(out, "\n#### Other changes\n\n| tool | change | kind |\n| --- | --- | --- |");
        for c in other.iter().take(MAX_MARKDOWN_ROWS - shown) {
            let kind = match c.severity {
                Severity::Unknown => "cannot compare",
                _ => "non-breaking",
            };
            let _ = writeln!(out, "| {} | {} | {kind} |", md_code(&c.tool, true), md_message(&c.message));
            shown += 1;
        }
    }
    if shown < report.changes.len() {
        let _ = writeln!(out, "\n… and {} more changes (`toolwright diff --format json` lists every one).", report.changes.len() - shown);
    }
    out
}

/// Renders the sides that do not compile (nothing was compared).
pub fn errors(format: Format, labels: Labels<'_>, sides: &[SideErrors<'_>]) -> String {
    let mut out = String::new();
    match format {
        Format::Text => {
            for (i, s) in sides.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let _ = writeln!(out, "error: the {} side `{}` does not compile; nothing was compared\n", s.side.as_str(), s.label);
                out.push_str(&diag::report(diag::Format::Text, s.diagnostics, s.sources, false));
            }
        }
        Format::Json => {
            let errors: Vec<serde_json::Value> = sides
                .iter()
                .map(|s| {
                    let diagnostics: serde_json::Value =
                        serde_json::from_str(&diag::report(diag::Format::Json, s.diagnostics, s.sources, false)).unwrap_or(json!([]));
                    json!({"side": s.side.as_str(), "catalog": s.label, "diagnostics": diagnostics})
                })
                .collect();
            let value = json!({"old": labels.old, "new": labels.new, "errors": errors});
            out = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_owned());
            out.push('\n');
        }
        Format::Github => {
            for s in sides {
                match s.side {
                    // The new side's files are the pull request's: annotate them in place.
                    SideName::New => out.push_str(&diag::report(diag::Format::Github, s.diagnostics, s.sources, false)),
                    SideName::Old => {
                        for d in s.diagnostics {
                            let title = format!("toolwright {} (old side)", d.code.as_str());
                            let message = format!("{}: {}:{}:{}: {}", s.label, d.file, d.span.line, d.span.column, d.message);
                            let _ = writeln!(
                                out,
                                "::{} title={}::{}",
                                d.severity.as_str(),
                                gh_escape(&title, true),
                                gh_escape(&message, false)
                            );
                        }
                    }
                }
                let _ = writeln!(out, "toolwright diff: the {} side `{}` does not compile; nothing was compared", s.side.as_str(), s.label);
            }
        }
        Format::Markdown => {
            let _ = writeln!(out, "{MARKDOWN_MARKER}");
            let heading = match sides {
                [one] => format!("the {} side does not compile", one.side.as_str()),
                _ => "neither side compiles".to_owned(),
            };
            let _ = writeln!(out, "### toolwright diff: {heading}\n");
            let _ = writeln!(out, "Comparing {} with {}: nothing was compared.", md_code(labels.old, false), md_code(labels.new, false));
            for s in sides {
                let body = diag::report(diag::Format::Text, s.diagnostics, s.sources, false);
                let fence = "`".repeat((super::longest_run(&body, '`') + 1).max(3));
                let _ = writeln!(out, "\n#### The {} side, {}\n\n{fence}text\n{body}{fence}", s.side.as_str(), md_code(s.label, false));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_cannot_be_left() {
        assert_eq!(md_code("plain", true), "`plain`");
        assert_eq!(md_code("a|b", true), "`a\\|b`");
        assert_eq!(md_code("a|b", false), "`a|b`");
        assert_eq!(md_code("x`y", true), "``x`y``");
        assert_eq!(md_code("`x", true), "`` `x ``");
        assert_eq!(md_code("a\nb\r\tc", true), "`a b  c`");
        assert_eq!(md_code("<script>", true), "`<script>`");
        assert_eq!(md_code("", true), "(empty)");
    }

    #[test]
    fn our_words_are_escaped_too() {
        assert_eq!(md_text("a <b> | *c* [d](e) & `f`\nx"), "a &lt;b&gt; \\| \\*c\\* \\[d\\](e) &amp; \\`f\\` x");
    }

    #[test]
    fn workflow_commands_cannot_be_injected() {
        assert_eq!(gh_escape("a\n::error::x%", false), "a%0A::error::x%25");
        assert_eq!(gh_escape("f:1,2", true), "f%3A1%2C2");
    }
}
