//! One report per output format (text, json, github, sarif). All of them take the same sorted diagnostics.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::json;

use super::{Code, Diagnostic, LineIndex, Severity};

/// Output formats of `lint` (and of the diagnostics `serve` logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, with the source line and a caret under the span.
    Text,
    /// A JSON array of diagnostic objects.
    Json,
    /// GitHub Actions workflow commands (annotations on the diff).
    Github,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// Renders diagnostics. `sources` maps a diagnostic's `file` to its text, for the
/// text format's source excerpts; `color` adds ANSI colours (text format only).
pub fn report(format: Format, diags: &[Diagnostic], sources: &HashMap<String, LineIndex>, color: bool) -> String {
    match format {
        Format::Text => text(diags, sources, color),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_value(diags)).unwrap_or_else(|_| "[]".to_owned());
            s.push('\n');
            s
        }
        Format::Github => github(diags),
        Format::Sarif => {
            let mut s = serde_json::to_string_pretty(&sarif(diags)).unwrap_or_else(|_| "{}".to_owned());
            s.push('\n');
            s
        }
    }
}

fn text(diags: &[Diagnostic], sources: &HashMap<String, LineIndex>, color: bool) -> String {
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() };
    let mut out = String::new();
    for d in diags {
        let (sev_color, sev) = match d.severity {
            Severity::Error => ("1;31", "error"),
            Severity::Warning => ("1;33", "warning"),
        };
        let head = format!("{sev}[{}]", d.code.as_str());
        let _ = writeln!(out, "{}{} {}", paint(sev_color, &head), paint("1", ":"), paint("1", &d.message));
        let _ = writeln!(out, "  {} {}:{}:{}", paint("1;34", "-->"), d.file, d.span.line, d.span.column);
        if let Some(line_text) = sources.get(&d.file).and_then(|idx| idx.line(d.span.line)) {
            let num = d.span.line.to_string();
            let pad = " ".repeat(num.len());
            let line_text = line_text.replace('\t', " ");
            let start = usize::try_from(d.span.column.saturating_sub(1)).unwrap_or(0);
            let width = line_text.chars().count();
            let end = if d.span.end_line == d.span.line {
                usize::try_from(d.span.end_column.saturating_sub(1)).unwrap_or(start + 1)
            } else {
                width
            };
            let carets = end.saturating_sub(start).max(1);
            let _ = writeln!(out, "{pad} {}", paint("1;34", "|"));
            let _ = writeln!(out, "{} {} {line_text}", paint("1;34", &num), paint("1;34", "|"));
            let _ = writeln!(out, "{pad} {} {}{}", paint("1;34", "|"), " ".repeat(start), paint(sev_color, &"^".repeat(carets)));
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  {} {help}", paint("1;36", "= help:"));
        }
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, w: &str| if n == 1 { format!("{n} {w}") } else { format!("{n} {w}s") };
    let _ = writeln!(out, "{}, {}", plural(errors, "error"), plural(warnings, "warning"));
    out
}

fn json_value(diags: &[Diagnostic]) -> serde_json::Value {
    serde_json::Value::Array(
        diags
            .iter()
            .map(|d| {
                let mut o = json!({
                    "code": d.code.as_str(),
                    "severity": d.severity.as_str(),
                    "message": d.message,
                    "file": d.file,
                    "line": d.span.line,
                    "column": d.span.column,
                    "end_line": d.span.end_line,
                    "end_column": d.span.end_column,
                });
                if let (Some(help), Some(obj)) = (&d.help, o.as_object_mut()) {
                    obj.insert("help".to_owned(), json!(help));
                }
                o
            })
            .collect(),
    )
}

/// Escapes per the workflow-command rules: data escapes %, CR, LF; properties also `:` and `,`.
fn gh_escape(s: &str, property: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

fn github(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let cmd = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut msg = d.message.clone();
        if let Some(help) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(help);
        }
        let _ = writeln!(
            out,
            "::{cmd} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            gh_escape(&d.file, true),
            d.span.line,
            d.span.column,
            d.span.end_line,
            d.span.end_column,
            gh_escape(&format!("toolwright {}", d.code.as_str()), true),
            gh_escape(&msg, false)
        );
    }
    out
}

fn sarif(diags: &[Diagnostic]) -> serde_json::Value {
    let rules: Vec<_> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": {"text": c.summary()},
                "defaultConfiguration": {"level": c.severity().as_str()},
            })
        })
        .collect();
    let results: Vec<_> = diags
        .iter()
        .map(|d| {
            let index = Code::ALL.iter().position(|c| *c == d.code).unwrap_or(0);
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": index,
                "level": d.severity.as_str(),
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": d.file},
                        "region": {
                            "startLine": d.span.line,
                            "startColumn": d.span.column,
                            "endLine": d.span.end_line,
                            "endColumn": d.span.end_column,
                        }
                    }
                }]
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "toolwright",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }]
    })
}
