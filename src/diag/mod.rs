//! Diagnostics: one model for every problem toolwright finds, and one report per output format.
//!
//! Every stage (loading, parsing, structure checks, compilation) reports into a
//! `Vec<Diagnostic>`; nothing stops at the first problem.

mod codes;
pub(crate) mod report;

pub use codes::Code;
pub use report::{Format, report};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The catalog cannot be built.
    Error,
    /// The catalog builds, but something looks wrong.
    Warning,
    /// A hint (`lint --hints`): nothing is wrong, something could be better. Never changes an
    /// exit code, and is reported only when asked for.
    Info,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// The SARIF 2.1.0 `level`: `error`, `warning` or `note`.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        }
    }
}

/// A region of a file, 1-based, columns counted in characters; `end_column` is exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// First line.
    pub line: u32,
    /// First column.
    pub column: u32,
    /// Last line.
    pub end_line: u32,
    /// Column just past the end.
    pub end_column: u32,
}

/// One problem, where it is and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule that fired.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file, as the user named it (relative to the directory they passed).
    pub file: String,
    /// Where in the file.
    pub span: Span,
    /// What to do about it, when we know.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, file: impl Into<String>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic { code, severity: code.severity(), message: message.into(), file: file.into(), span, help: None }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Whether this is a warning.
    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    /// Sort key: file, position, code, message.
    fn sort_key(&self) -> (&str, Span, &'static str, &str) {
        (&self.file, self.span, self.code.as_str(), &self.message)
    }
}

/// Sorts diagnostics into their reporting order and drops exact duplicates.
pub fn sort(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diags.dedup();
}

/// Line starts of a file, to turn (line, column, length in characters) into spans
/// and to show source lines.
#[derive(Clone, Debug)]
pub struct LineIndex {
    text: String,
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes a text.
    pub fn new(text: &str) -> Self {
        // A line ends at LF, CRLF, or a lone CR (as YAML counts lines).
        let mut starts = vec![0];
        let bytes = text.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            match b {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
        }
        LineIndex { text: text.to_owned(), starts }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let i = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        Some(self.text[start..end].trim_end_matches(['\n', '\r']))
    }

    /// The span that starts at (line, column) and runs `len` characters; a zero length
    /// runs to the end of the line's non-blank text (at least one character).
    pub fn span(&self, line: u32, column: u32, len: u32) -> Span {
        if line == 0 {
            return Span { line: 1, column: 1, end_line: 1, end_column: 1 };
        }
        let column = column.max(1);
        let Some(text) = self.line(line) else {
            return Span { line, column, end_line: line, end_column: column + 1 };
        };
        if len == 0 {
            let width = u32::try_from(text.trim_end().chars().count()).unwrap_or(u32::MAX);
            let end = width.max(column) + 1;
            return Span { line, column, end_line: line, end_column: end };
        }
        // Walk `len` characters from the start, across lines if need be.
        let line_start = self.starts[usize::try_from(line - 1).unwrap_or(0)];
        let start_byte =
            text.char_indices().nth(usize::try_from(column - 1).unwrap_or(0)).map_or(line_start + text.len(), |(i, _)| line_start + i);
        let mut cur_line = line;
        let mut cur_col = column;
        let mut chars = self.text[start_byte.min(self.text.len())..].chars().peekable();
        for _ in 0..len {
            match chars.next() {
                None => break,
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n' | '\r') => {
                    cur_line += 1;
                    cur_col = 1;
                }
                Some(_) => cur_col += 1,
            }
        }
        // A span that ends at the very start of a line reads better as ending at the previous line's end.
        if cur_col == 1 && cur_line > line {
            cur_line -= 1;
            let width = self.line(cur_line).map_or(0, |t| t.chars().count());
            cur_col = u32::try_from(width).unwrap_or(u32::MAX) + 1;
        }
        Span { line, column, end_line: cur_line, end_column: cur_col.max(if cur_line == line { column + 1 } else { 1 }) }
    }
}
