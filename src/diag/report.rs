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

/// The most characters of a source line a text excerpt shows: longer lines are cut to a window
/// around the span, as rustc and ruff do.
const EXCERPT_CHARS: usize = 120;
/// Characters of context kept before the span in a cut line.
const EXCERPT_BEFORE: usize = 40;
/// The most characters of a message or help text in any format (a message may quote a value
/// from the spec, which may be long).
const MAX_MESSAGE_CHARS: usize = 1_000;
/// The most diagnostics the text format prints in full; the rest are counted.
const MAX_TEXT_DIAGNOSTICS: usize = 200;

/// `s` cut to `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..at])),
    }
}

/// The part of a source line that a text excerpt shows, and the span's start and width in it.
fn excerpt(line: &str, start: usize, end: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    let width = chars.len();
    let carets = end.saturating_sub(start).max(1);
    if width <= EXCERPT_CHARS {
        return (line.to_owned(), start, carets);
    }
    let start = start.min(width);
    let from = start.saturating_sub(EXCERPT_BEFORE);
    let to = (from + EXCERPT_CHARS).min(width);
    let mut shown: String = chars[from..to].iter().collect();
    let mut at = start - from;
    if from > 0 {
        shown.insert(0, '…');
        at += 1;
    }
    if to < width {
        shown.push('…');
    }
    let room = shown.chars().count().saturating_sub(at).max(1);
    (shown, at, carets.min(room))
}

fn text(diags: &[Diagnostic], sources: &HashMap<String, LineIndex>, color: bool) -> String {
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() };
    let mut out = String::new();
    for d in diags.iter().take(MAX_TEXT_DIAGNOSTICS) {
        let (sev_color, sev) = match d.severity {
            Severity::Error => ("1;31", "error"),
            Severity::Warning => ("1;33", "warning"),
            Severity::Info => ("1;36", "info"),
        };
        let head = format!("{sev}[{}]", d.code.as_str());
        let _ = writeln!(out, "{}{} {}", paint(sev_color, &head), paint("1", ":"), paint("1", &clip(&d.message, MAX_MESSAGE_CHARS)));
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
            let (line_text, start, carets) = excerpt(&line_text, start, end);
            let _ = writeln!(out, "{pad} {}", paint("1;34", "|"));
            let _ = writeln!(out, "{} {} {line_text}", paint("1;34", &num), paint("1;34", "|"));
            let _ = writeln!(out, "{pad} {} {}{}", paint("1;34", "|"), " ".repeat(start), paint(sev_color, &"^".repeat(carets)));
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  {} {}", paint("1;36", "= help:"), clip(help, MAX_MESSAGE_CHARS));
        }
        out.push('\n');
    }
    if diags.len() > MAX_TEXT_DIAGNOSTICS {
        let _ = writeln!(out, "… and {} more (`--format json` lists every one)\n", diags.len() - MAX_TEXT_DIAGNOSTICS);
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.iter().filter(|d| d.is_warning()).count();
    let hints = diags.len() - errors - warnings;
    let plural = |n: usize, w: &str| if n == 1 { format!("{n} {w}") } else { format!("{n} {w}s") };
    // Hints are counted only when there are some (they appear only with `lint --hints`), so
    // the summary line of a plain lint stays what it always was.
    if hints == 0 {
        let _ = writeln!(out, "{}, {}", plural(errors, "error"), plural(warnings, "warning"));
    } else {
        let _ = writeln!(out, "{}, {}, {}", plural(errors, "error"), plural(warnings, "warning"), plural(hints, "hint"));
    }
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
                    "message": clip(&d.message, MAX_MESSAGE_CHARS),
                    "file": d.file,
                    "line": d.span.line,
                    "column": d.span.column,
                    "end_line": d.span.end_line,
                    "end_column": d.span.end_column,
                });
                if let (Some(help), Some(obj)) = (&d.help, o.as_object_mut()) {
                    obj.insert("help".to_owned(), json!(clip(help, MAX_MESSAGE_CHARS)));
                }
                o
            })
            .collect(),
    )
}

/// Escapes per the workflow-command rules: data escapes %, CR, LF; properties also `:` and `,`.
pub(crate) fn gh_escape(s: &str, property: bool) -> String {
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
            Severity::Info => "notice",
        };
        let mut msg = clip(&d.message, MAX_MESSAGE_CHARS).into_owned();
        if let Some(help) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(&clip(help, MAX_MESSAGE_CHARS));
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
                "defaultConfiguration": {"level": c.severity().sarif_level()},
            })
        })
        .collect();
    let results: Vec<_> = diags
        .iter()
        .map(|d| {
            let index = Code::ALL.iter().position(|c| *c == d.code).unwrap_or(0);
            let mut text = clip(&d.message, MAX_MESSAGE_CHARS).into_owned();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(&clip(help, MAX_MESSAGE_CHARS));
            }
            json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": index,
                "level": d.severity.sarif_level(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    #[test]
    fn short_lines_are_shown_whole() {
        assert_eq!(excerpt("name: x", 6, 7), ("name: x".to_owned(), 6, 1));
    }

    #[test]
    fn long_lines_are_cut_to_a_window_around_the_span() {
        let line = format!("{}NEEDLE{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, at, carets) = excerpt(&line, 5000, 5006);
        assert!(shown.chars().count() <= EXCERPT_CHARS + 2, "{}", shown.chars().count());
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().skip(at).take(carets).collect::<String>(), "NEEDLE");
        // A span at the very start, and one past the end of the line, stay in the window.
        let (shown, at, _) = excerpt(&line, 0, 1);
        assert_eq!((shown.chars().next(), at), (Some('a'), 0));
        let (shown, at, carets) = excerpt(&line, 20_000, 20_001);
        assert!(at + carets <= shown.chars().count() + 1, "{at} {carets}");
    }

    /// Hints (`lint --hints`) are `info` in json, `::notice` for GitHub, `note` in SARIF, and
    /// counted apart from warnings on the text summary line, which keeps its old form without them.
    #[test]
    fn hints_have_their_own_level_in_every_format() {
        let span = Span { line: 1, column: 1, end_line: 1, end_column: 5 };
        let hint = Diagnostic::new(Code::NoTests, "t.yaml", span, "tool `t` has no tests");
        let warning = Diagnostic::new(Code::UnusedInput, "t.yaml", span, "unused");
        let sources = HashMap::new();
        let text = report(Format::Text, &[hint.clone(), warning.clone()], &sources, false);
        assert!(text.starts_with("info[no-tests]: tool `t` has no tests\n"), "{text}");
        assert!(text.ends_with("0 errors, 1 warning, 1 hint\n"), "{text}");
        assert!(report(Format::Text, std::slice::from_ref(&warning), &sources, false).ends_with("0 errors, 1 warning\n"));
        assert!(report(Format::Github, std::slice::from_ref(&hint), &sources, false).starts_with("::notice file=t.yaml,"));
        let json = report(Format::Json, std::slice::from_ref(&hint), &sources, false);
        assert!(json.contains(r#""severity": "info""#), "{json}");
        let sarif: serde_json::Value = serde_json::from_str(&report(Format::Sarif, &[hint], &sources, false)).expect("JSON");
        assert_eq!(sarif["runs"][0]["results"][0]["level"], "note");
        let rules = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().expect("rules");
        let rule = rules.iter().find(|r| r["id"] == "no-tests").expect("the rule");
        assert_eq!(rule["defaultConfiguration"]["level"], "note");
    }

    /// A 1 MiB one-line spec used to make 2 MB of lint output (the line and as many carets).
    #[test]
    fn text_output_is_bounded_for_huge_lines_and_many_diagnostics() {
        let line = "x".repeat(1 << 20);
        let mut sources = HashMap::new();
        sources.insert("big.yaml".to_owned(), LineIndex::new(&line));
        let span = Span { line: 1, column: 1, end_line: 1, end_column: 1 << 20 };
        let one = Diagnostic::new(Code::YamlSyntax, "big.yaml", span, "m".repeat(1 << 20));
        let out = report(Format::Text, std::slice::from_ref(&one), &sources, false);
        assert!(out.len() < 2_000, "{} bytes", out.len());
        let many = vec![one; 10_000];
        let out = report(Format::Text, &many, &sources, false);
        assert!(out.len() < 200 * 2_000, "{} bytes", out.len());
        assert!(out.contains("and 9800 more"), "{}", &out[out.len() - 200..]);
        let json = report(Format::Json, &many[..10], &sources, false);
        assert!(json.len() < 10 * 2_000, "{} bytes", json.len());
    }
}
