//! Architecture "tidy" test: reads every `.rs` file under `src/` and fails when a layer rule
//! is broken (in the spirit of rust-analyzer's `tidy` tests).
//!
//! The rules are the table [`RULES`] just below; adding a rule is one line. Each row says which
//! files it binds (module patterns, see [`module_matches`]), which of those are exempt, which
//! paths they may not name (path patterns, see [`path_matches`]) and why the rule exists.
//!
//! "Naming a path" covers every form a reference can take: `use` declarations (grouped, nested,
//! multi-line, `pub use`, `as` renames, globs), `extern crate`, and paths anywhere in code
//! (`crate::compile::render(..)`, `rmcp::model::Tool`, `::rmcp::x`, `<T as rmcp::X>`). Comments
//! (line, doc, block, nested block) and string, byte-string, raw-string and char literals are
//! stripped first by a small tokenizer below, so prose that mentions `crate::spec` is fine.
//!
//! The checker tests itself (the `checker_*` tests): every row of the table is fed a synthetic
//! source that breaks it in each form and must report it, and the same text in comments and
//! strings must not trigger it. One more test copies `src/` into a temporary directory, injects
//! a violation and asserts that the checker finds it on the copy.
//!
//! What it does not see (it reads tokens, it does not resolve names): a name brought in by an
//! import is reported at the import, not at each later use (`use crate::compile;` is reported,
//! a later `compile::render(..)` in runtime.rs is not, except in action folders where a bare
//! `spec::`/`compile::` is the sibling module); `use super::*`/`use self::*` are not taken to name
//! the siblings they may bring in (the `mod tests { use super::*; }` idiom); paths built by
//! macros from strings, and `#[path = "..."]` module files. `#[cfg(test)]` code is checked like
//! any other code, and its violations say so.

mod common;

use common::copy_dir;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The rules.
// ---------------------------------------------------------------------------------------------

/// Execution: what runs a call. It sees only the compiled catalog and rendered requests. The
/// folders of the document kinds (`prompts`, `resources`) and `completions` are execution too.
const EXECUTION: &[&str] = &[
    "catalog",
    "backend",
    "connections",
    "server",
    "observability",
    "runtime",
    "telemetry",
    "actions/*",
    "prompts",
    "resources",
    "completions",
];
/// The compile-time files of an action, connection or document kind's folder (the rest of the
/// folder is execution), and `actions/mod.rs`, the registration, which names every kind's spec
/// and compile.
const ACTION_COMPILE_TIME: &[&str] = &[
    "actions/*/spec",
    "actions/*/compile",
    "connections/*/spec",
    "connections/*/compile",
    "actions/mod",
    "prompts/spec",
    "prompts/compile",
    "resources/spec",
    "resources/compile",
];
/// Every file under `src/`.
const EVERY_FILE: &[&str] = &[""];

const WHY_1: &str = "execution (catalog, backends/connections, runtime, completions, server, telemetry/observability and \
                     the execution files of each action and document kind) sees only the compiled catalog and self-contained rendered requests; it never \
                     reaches back into spec parsing or the compile step, so those can change shape freely and a reload \
                     can never leave a call depending on compile-time state";
const WHY_2: &str = "rmcp is the MCP SDK: keeping it inside src/server/ means protocol revisions and SDK upgrades touch one \
                     module, and everything else works on toolwright's own types";
const WHY_3: &str = "file watching is the reload layer's job: everything else only ever sees a whole, swapped-in catalog";
const WHY_4_OTEL: &str = "the OpenTelemetry SDK and exporter are set up in one place; the rest of the code emits plain \
                          `tracing` spans, so tracing can be turned off, swapped or upgraded without touching callers";
const WHY_4_JWT: &str = "JWT validation is security-critical: one module (src/server/auth) checks tokens, so there is exactly \
                         one place to audit";
const WHY_5: &str = "library layers return typed errors (thiserror, or messages written for a model); anyhow's opaque errors \
                     belong only at the edges: the CLI, main.rs and the server's serve loops";

/// The layer rules.
#[rustfmt::skip]
const RULES: &[Rule] = &[
    //        id   title                                              files bound     exempt                           paths they may not name                                                                      why
    Rule::new("1", "execution never names spec or compile",           EXECUTION,      ACTION_COMPILE_TIME,             &["crate::spec", "crate::compile", "crate::actions::_::spec", "crate::actions::_::compile", "crate::connections::_::spec", "crate::connections::_::compile"], WHY_1),
    Rule::new("1", "execution never names spec or compile",           &["actions/*", "connections/*", "prompts", "resources"], ACTION_COMPILE_TIME, &["~::spec", "~::compile"],                                       WHY_1),
    Rule::new("2", "only src/server/ names rmcp",                     EVERY_FILE,     &["server"],                     &["rmcp"],                                                                                   WHY_2),
    Rule::new("3", "only src/reload/ names notify",                   EVERY_FILE,     &["reload"],                     &["notify", "notify_debouncer_full"],                                                        WHY_3),
    Rule::new("4", "only telemetry/observability name OpenTelemetry", EVERY_FILE,     &["telemetry", "observability"], &["opentelemetry*", "tracing_opentelemetry"],                                                WHY_4_OTEL),
    Rule::new("4", "only src/server/auth names jsonwebtoken",         EVERY_FILE,     &["server/auth"],                &["jsonwebtoken"],                                                                           WHY_4_JWT),
    Rule::new("5", "anyhow only in cli/, main.rs and server/",        EVERY_FILE,     &["cli", "main", "server"],      &["anyhow"],                                                                                 WHY_5),
];

/// One row of [`RULES`]: files matching `files` and not `except` may not name any of `forbidden`.
#[derive(Debug)]
struct Rule {
    /// The rule's number, as the architecture notes number them.
    id: &'static str,
    /// The rule in a few words.
    title: &'static str,
    /// Module patterns of the files the rule binds.
    files: &'static [&'static str],
    /// Module patterns of files exempt from it.
    except: &'static [&'static str],
    /// Path patterns the bound files may not name.
    forbidden: &'static [&'static str],
    /// Why the rule exists (printed with every violation).
    why: &'static str,
}

impl Rule {
    const fn new(
        id: &'static str,
        title: &'static str,
        files: &'static [&'static str],
        except: &'static [&'static str],
        forbidden: &'static [&'static str],
        why: &'static str,
    ) -> Rule {
        Rule { id, title, files, except, forbidden, why }
    }

    fn binds(&self, module: &[String]) -> bool {
        self.files.iter().any(|p| module_matches(p, module)) && !self.except.iter().any(|p| module_matches(p, module))
    }
}

// ---------------------------------------------------------------------------------------------
// The main test.
// ---------------------------------------------------------------------------------------------

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn layer_rules_hold() {
    let (files, violations) = check_tree(&src_dir());
    // Guard against passing because nothing was read.
    assert!(files >= 10, "read only {files} .rs files under {}; is this the right directory?", src_dir().display());
    if !violations.is_empty() {
        let mut report = format!("{} architecture violation(s) in {} files read:\n", violations.len(), files);
        for v in &violations {
            report.push_str(&v.to_string());
            report.push('\n');
        }
        for (row, rule) in RULES.iter().enumerate() {
            let n = violations.iter().filter(|v| v.row == row).count();
            if n > 0 {
                report.push_str(&format!("rule {} ({}): {n} violation(s)\n", rule.id, rule.title));
            }
        }
        panic!("{report}");
    }
}

// ---------------------------------------------------------------------------------------------
// The checker.
// ---------------------------------------------------------------------------------------------

/// A broken rule at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Violation {
    /// The file, relative to the crate root (`src/runtime.rs`).
    file: String,
    /// 1-based line of the offending path segment.
    line: usize,
    /// Index of the row in [`RULES`].
    row: usize,
    /// The path as written (`crate::compile::render`).
    path: String,
    /// The forbidden pattern it matched.
    pattern: &'static str,
    /// Whether it sits in `#[cfg(test)]` code.
    in_test: bool,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rule = &RULES[self.row];
        let test = if self.in_test { " (in #[cfg(test)] code)" } else { "" };
        write!(
            f,
            "{}:{}: rule {} ({}): `{}` names `{}`{test}. Why: {}.",
            self.file, self.line, rule.id, rule.title, self.path, self.pattern, rule.why
        )
    }
}

/// Checks every `.rs` file under `src`; returns how many files were read and the violations,
/// sorted by file and line.
fn check_tree(src: &Path) -> (usize, Vec<Violation>) {
    let mut files = Vec::new();
    collect_rs(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(src).expect("under src").to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        out.extend(check_source(&rel, &text));
    }
    (files.len(), out)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Checks one file. `rel` is its path under `src/`, such as `server/mod.rs`.
fn check_source(rel: &str, text: &str) -> Vec<Violation> {
    let module = module_of(rel);
    let rows: Vec<usize> = (0..RULES.len()).filter(|&i| RULES[i].binds(&module)).collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for path in paths_in(text) {
        let names: Vec<&str> = path.segments.iter().map(|s| s.name.as_str()).collect();
        for &row in &rows {
            for &pattern in RULES[row].forbidden {
                if let Some(last) = path_matches(pattern, &names) {
                    out.push(Violation {
                        file: format!("src/{rel}"),
                        line: path.segments[last].line,
                        row,
                        path: path.written(),
                        pattern,
                        in_test: path.in_test,
                    });
                }
            }
        }
    }
    out.sort_by_key(|v| (v.line, v.row));
    out.dedup_by(|a, b| a.line == b.line && a.row == b.row && a.path == b.path);
    out
}

/// The module path of a file under `src/`: `server/mod.rs` is `["server"]`, `runtime.rs` is
/// `["runtime"]`, `lib.rs` is `[]` and `main.rs` is `["main"]`.
fn module_of(rel: &str) -> Vec<String> {
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod") || parts == ["lib"] {
        parts.pop();
    }
    parts
}

/// Whether module pattern `pattern` names `module`: the pattern's `/`-separated segments match
/// the module's first segments, `*` matching any one segment. So `server` names
/// src/server.rs, src/server/mod.rs and everything below; `actions/*` names every file of
/// every action folder but not src/actions/mod.rs; `""` names every file.
fn module_matches(pattern: &str, module: &[String]) -> bool {
    if pattern.is_empty() {
        return true;
    }
    let segs: Vec<&str> = pattern.split('/').collect();
    segs.len() <= module.len() && segs.iter().zip(module).all(|(p, m)| *p == "*" || p == m)
}

/// Whether path pattern `pattern` matches the start of `path`; the index of the last path
/// segment it matched. Pattern segments (separated by `::`): a name matches itself, `name*`
/// any name starting with `name`, `_` any one name, and `~` any run (possibly empty) of `self`
/// and `super`. A glob in the path (`use crate::*`) matches whatever is left of the pattern,
/// unless everything before it is `self`/`super` (`use super::*` in a test module names the
/// parent file, not its siblings).
fn path_matches(pattern: &str, path: &[&str]) -> Option<usize> {
    let pat: Vec<&str> = pattern.split("::").collect();
    match_from(&pat, path, 0)
}

fn match_from(pat: &[&str], path: &[&str], at: usize) -> Option<usize> {
    let Some((&p, rest)) = pat.split_first() else {
        return at.checked_sub(1);
    };
    if at < path.len() && path[at] == "*" {
        let relative_only = path[..at].iter().all(|s| matches!(*s, "self" | "super"));
        return (!relative_only && p != "~").then_some(at);
    }
    if p == "~" {
        // Zero or more `self`/`super`, then the rest.
        let mut i = at;
        loop {
            if let Some(found) = match_from(rest, path, i) {
                return Some(found);
            }
            if i < path.len() && matches!(path[i], "self" | "super") {
                i += 1;
            } else {
                return None;
            }
        }
    }
    let name = *path.get(at)?;
    let ok = match p.strip_suffix('*') {
        _ if p == "_" => true,
        Some(prefix) => name.starts_with(prefix),
        None => name == p,
    };
    if ok { match_from(rest, path, at + 1) } else { None }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer: Rust source without comments and literals.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// An identifier or keyword; `raw` for `r#name`.
    Ident { name: String, raw: bool },
    /// `::`.
    PathSep,
    /// Any other punctuation character.
    Punct(char),
    /// A string, char or number literal, or a lifetime (contents dropped).
    Lit,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Splits Rust source into tokens, dropping comments and the contents of literals. Never
/// panics; unterminated comments and literals run to the end of the text.
fn tokenize(text: &str) -> Vec<Token> {
    let c: Vec<char> = text.chars().collect();
    let n = c.len();
    let mut i = 0;
    let mut line = 1;
    let mut out = Vec::new();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < n {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        // Comments.
        if ch == '/' && at(i + 1) == '/' {
            while i < n && c[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0usize;
            while i < n {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            continue;
        }
        let start_line = line;
        // Raw strings: r"..", r#".."#, br#".."#, cr#".."#.
        let prefix_len = if matches!(ch, 'b' | 'c') && at(i + 1) == 'r' { 2 } else { usize::from(ch == 'r') };
        if prefix_len > 0 {
            let mut j = i + prefix_len;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) == '"' {
                j += 1;
                loop {
                    if j >= n {
                        break;
                    }
                    if c[j] == '\n' {
                        line += 1;
                    }
                    if c[j] == '"' && (0..hashes).all(|k| at(j + 1 + k) == '#') {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push(Token { tok: Tok::Lit, line: start_line });
                i = j;
                continue;
            }
            // Raw identifier: r#name.
            if ch == 'r' && hashes == 1 && is_ident_start(at(i + 2)) {
                let mut j = i + 2;
                while j < n && is_ident_continue(c[j]) {
                    j += 1;
                }
                out.push(Token { tok: Tok::Ident { name: c[i + 2..j].iter().collect(), raw: true }, line });
                i = j;
                continue;
            }
        }
        // Strings: "..", b"..", c"..".
        let str_start = if ch == '"' {
            Some(i + 1)
        } else if matches!(ch, 'b' | 'c') && at(i + 1) == '"' {
            Some(i + 2)
        } else {
            None
        };
        if let Some(mut j) = str_start {
            while j < n && c[j] != '"' {
                if c[j] == '\\' {
                    j += 1;
                }
                if j < n && c[j] == '\n' {
                    line += 1;
                }
                j += 1;
            }
            out.push(Token { tok: Tok::Lit, line: start_line });
            i = j + 1;
            continue;
        }
        // Char literals ('a', '\n', '\u{1F600}', b'x') and lifetimes or labels ('a, 'static).
        if ch == '\'' || (ch == 'b' && at(i + 1) == '\'') {
            let q = if ch == 'b' { i + 1 } else { i };
            if at(q + 1) == '\\' {
                let mut j = q + 2;
                while j < n && c[j] != '\'' && c[j] != '\n' {
                    j += 1;
                }
                i = j + 1;
            } else if at(q + 2) == '\'' {
                i = q + 3;
            } else {
                // A lifetime or label: the quote and an identifier.
                let mut j = q + 1;
                while j < n && is_ident_continue(c[j]) {
                    j += 1;
                }
                i = j.max(q + 1);
            }
            out.push(Token { tok: Tok::Lit, line: start_line });
            continue;
        }
        if is_ident_start(ch) {
            let mut j = i;
            while j < n && is_ident_continue(c[j]) {
                j += 1;
            }
            out.push(Token { tok: Tok::Ident { name: c[i..j].iter().collect(), raw: false }, line });
            i = j;
            continue;
        }
        if ch.is_ascii_digit() {
            let mut j = i;
            while j < n && (is_ident_continue(c[j]) || (c[j] == '.' && at(j + 1).is_ascii_digit())) {
                j += 1;
            }
            out.push(Token { tok: Tok::Lit, line });
            i = j;
            continue;
        }
        if ch == ':' && at(i + 1) == ':' {
            out.push(Token { tok: Tok::PathSep, line });
            i += 2;
            continue;
        }
        out.push(Token { tok: Tok::Punct(ch), line });
        i += 1;
    }
    out
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

// ---------------------------------------------------------------------------------------------
// Paths: every path a file names.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    name: String,
    line: usize,
}

/// One path the source names: a `use` leaf, an `extern crate`, or a path in code.
#[derive(Clone, Debug, PartialEq, Eq)]
struct NamedPath {
    segments: Vec<Segment>,
    in_test: bool,
}

impl NamedPath {
    fn written(&self) -> String {
        self.segments.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("::")
    }
}

/// Keywords after which `::name` starts a global path (`x as ::rmcp::X`, `&mut ::rmcp::X`);
/// after any other word, `::` continues a path.
const KEYWORDS_BEFORE_TYPES: &[&str] = &[
    "as", "in", "return", "break", "mut", "dyn", "impl", "where", "for", "let", "const", "static", "type", "move", "else", "match", "if",
    "while", "pub", "ref",
];

fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Ident { name, raw: false } if name == kw)
}

fn ident(t: &Tok) -> Option<&str> {
    match t {
        Tok::Ident { name, .. } => Some(name),
        _ => None,
    }
}

/// Every path named in `text`: `use` trees expanded to their leaves, `extern crate` names,
/// and paths of two or more segments (or with a leading `::`) in code.
fn paths_in(text: &str) -> Vec<NamedPath> {
    let toks = tokenize(text);
    let test = test_ranges(&toks);
    let in_test = |i: usize| test.iter().any(|&(a, b)| a <= i && i <= b);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i].tok;
        // `use` declarations (not Rust 2024's `use<..>` precise capturing).
        if is_kw(t, "use") && !matches!(toks.get(i + 1).map(|t| &t.tok), Some(Tok::Punct('<'))) {
            let mut leaves = Vec::new();
            let end = parse_use_tree(&toks, i + 1, &[], &mut leaves);
            for segments in leaves {
                out.push(NamedPath { segments, in_test: in_test(i) });
            }
            i = end.max(i + 1);
            continue;
        }
        // `extern crate name [as alias];`
        if is_kw(t, "extern") && toks.get(i + 1).is_some_and(|t| is_kw(&t.tok, "crate")) {
            if let Some(tok) = toks.get(i + 2)
                && let Some(name) = ident(&tok.tok)
            {
                out.push(NamedPath { segments: vec![Segment { name: name.to_owned(), line: tok.line }], in_test: in_test(i) });
            }
            i += 3;
            continue;
        }
        // A path in code starts at an identifier that does not continue another path or
        // follow a `.` (fields and methods), or at a leading `::`.
        let prev = if i > 0 { Some(&toks[i - 1].tok) } else { None };
        let after_word = match prev {
            Some(Tok::Ident { name, raw: false }) => !KEYWORDS_BEFORE_TYPES.contains(&name.as_str()),
            Some(Tok::Ident { raw: true, .. } | Tok::Punct('>')) => true,
            _ => false,
        };
        let global = matches!(t, Tok::PathSep) && !after_word && toks.get(i + 1).is_some_and(|t| ident(&t.tok).is_some());
        let keyword = matches!(t, Tok::Ident { name, raw: false } if KEYWORDS_BEFORE_TYPES.contains(&name.as_str()));
        let starts = ident(t).is_some() && !keyword && !matches!(prev, Some(Tok::PathSep | Tok::Punct('.')));
        if global || starts {
            let mut j = if global { i + 1 } else { i };
            let mut segments = vec![];
            loop {
                let tok = &toks[j];
                segments.push(Segment { name: ident(&tok.tok).unwrap_or_default().to_owned(), line: tok.line });
                if matches!(toks.get(j + 1).map(|t| &t.tok), Some(Tok::PathSep)) && toks.get(j + 2).is_some_and(|t| ident(&t.tok).is_some())
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if segments.len() >= 2 || global {
                out.push(NamedPath { segments, in_test: in_test(i) });
            }
            i = j + 1;
            continue;
        }
        i += 1;
    }
    out
}

/// Parses one use tree starting at `i` under `prefix`, appending each leaf path to `out`;
/// returns the index just past the tree. Handles `::a`, `a::b`, `a::{b, c::{d}}`, `a as b`,
/// `a::*` and `a::{self}`.
fn parse_use_tree(toks: &[Token], mut i: usize, prefix: &[Segment], out: &mut Vec<Vec<Segment>>) -> usize {
    let mut path: Vec<Segment> = prefix.to_vec();
    if matches!(toks.get(i).map(|t| &t.tok), Some(Tok::PathSep)) {
        i += 1; // a leading `::`
    }
    loop {
        let Some(tok) = toks.get(i) else {
            out.push(path);
            return i;
        };
        match &tok.tok {
            Tok::Punct('{') => {
                i += 1;
                loop {
                    match toks.get(i).map(|t| &t.tok) {
                        None => return i,
                        Some(Tok::Punct('}')) => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        Some(_) => {
                            let next = parse_use_tree(toks, i, &path, out);
                            i = if next > i { next } else { i + 1 };
                        }
                    }
                }
            }
            Tok::Punct('*') => {
                path.push(Segment { name: "*".to_owned(), line: tok.line });
                out.push(path);
                return i + 1;
            }
            Tok::Ident { name, .. } => {
                // `{self}` names the prefix itself.
                if !(name == "self" && !path.is_empty() && path.len() == prefix.len()) {
                    path.push(Segment { name: name.clone(), line: tok.line });
                }
                i += 1;
                if matches!(toks.get(i).map(|t| &t.tok), Some(Tok::PathSep)) {
                    i += 1;
                    continue;
                }
                if toks.get(i).is_some_and(|t| is_kw(&t.tok, "as")) {
                    i += 2; // `as alias` or `as _`
                }
                out.push(path);
                return i;
            }
            _ => {
                if path.len() > prefix.len() {
                    out.push(path);
                }
                return i;
            }
        }
    }
}

/// Token index ranges (inclusive) of items under `#[cfg(test)]`.
fn test_ranges(toks: &[Token]) -> Vec<(usize, usize)> {
    let pattern = [Tok::Punct('#'), Tok::Punct('['), Tok::Ident { name: "cfg".into(), raw: false }, Tok::Punct('(')];
    let mut ranges = Vec::new();
    let mut i = 0;
    while i + 7 <= toks.len() {
        let head = toks[i..i + 4].iter().map(|t| &t.tok).eq(pattern.iter());
        if !(head && is_kw(&toks[i + 4].tok, "test") && toks[i + 5].tok == Tok::Punct(')') && toks[i + 6].tok == Tok::Punct(']')) {
            i += 1;
            continue;
        }
        let start = i + 7;
        let mut depth = 0i64;
        let mut j = start;
        while j < toks.len() {
            match toks[j].tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']') => depth -= 1,
                Tok::Punct('}') => {
                    depth -= 1;
                    if depth <= 0 {
                        break;
                    }
                }
                Tok::Punct(';') if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        ranges.push((start, j));
        i = start;
    }
    ranges
}

// ---------------------------------------------------------------------------------------------
// Tests of the checker itself.
// ---------------------------------------------------------------------------------------------

/// A file path under `src/` that module pattern `pattern` names (`*` becomes `demo`).
fn sample_files(pattern: &str) -> Vec<String> {
    if pattern.is_empty() {
        return vec!["lib.rs".to_owned(), "util.rs".to_owned(), "demo/mod.rs".to_owned()];
    }
    let p = pattern.replace('*', "demo");
    vec![format!("{p}.rs"), format!("{p}/mod.rs"), format!("{p}/inner.rs")]
}

/// Concrete paths that pattern `pattern` forbids (`_` becomes `demo`, `name*` becomes
/// `name` and `name_sdk`, `~` becomes nothing, `self`, `super` and `super::super`).
fn sample_paths(pattern: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for seg in pattern.split("::") {
        let choices: Vec<String> = match seg {
            "_" => vec!["demo".into()],
            "~" => vec![String::new(), "self".into(), "super".into(), "super::super".into()],
            s => match s.strip_suffix('*') {
                Some(prefix) => vec![prefix.into(), format!("{prefix}_sdk")],
                None => vec![s.into()],
            },
        };
        out = out
            .iter()
            .flat_map(|base| {
                choices.iter().map(move |c| match (base.is_empty(), c.is_empty()) {
                    (true, _) => c.clone(),
                    (false, true) => base.clone(),
                    (false, false) => format!("{base}::{c}"),
                })
            })
            .collect();
    }
    out
}

/// Sources that name `p` (each must be reported), with the 1-based line that names the last
/// segment of `p`.
/// `crate_name` says whether `p` starts with an external crate's name (so `::p` and
/// `extern crate p` name it too).
fn breaking_sources(p: &str, crate_name: bool) -> Vec<(String, usize)> {
    let single = !p.contains("::");
    let mut v = vec![
        (format!("use {p}::Thing;\n"), 1),
        (format!("use {p};\n"), 1),
        (format!("pub use {p}::Thing;\n"), 1),
        (format!("pub(crate) use {p}::{{a, b}};\n"), 1),
        (format!("use {p} as alias;\n"), 1),
        (format!("use {{{p}::{{a, b}}, other::thing}};\n"), 1),
        (format!("use {{\n    other::x,\n    {p}::{{\n        a,\n        b,\n    }},\n}};\n"), 3),
        (format!("fn f() {{\n    let _ = {p}::thing(1);\n}}\n"), 2),
        (format!("fn f(_: &{p}::Thing) {{}}\n"), 1),
        (format!("fn f() -> Vec<{p}::Thing> {{ todo!() }}\n"), 1),
        (format!("fn f() {{ {p}::mac!(\"x\"); }}\n"), 1),
        (format!("#[cfg(test)]\nmod tests {{\n    use {p}::Thing;\n}}\n"), 3),
        // Literals that could fool a naive scanner, then the real reference.
        (format!("const Q: char = '\"';\nuse {p}::Thing;\n"), 2),
        (format!("fn f<'a>(x: &'a str) -> &'a str {{ x }}\nuse {p}::Thing;\n"), 2),
        (format!("const S: &str = r#\"\"\"#; const B: u8 = b'\\''; use {p}::Thing;\n"), 1),
        (format!("/* a /* nested */ comment */ use {p}::Thing;\n"), 1),
    ];
    // The last segment of `p` on a later line than the first.
    if let Some((head, last)) = p.rsplit_once("::") {
        v.push((format!("use {head}::\n    {last}::Thing;\n"), 2));
        v.push((format!("use {head}::{{\n    x,\n    {last},\n}};\n"), 3));
        v.push((format!("use {head}::{{{last}::{{self, a}}}};\n"), 1));
    }
    v.push((format!("fn f<T: {p}::Trait>() {{ <T as {p}::Trait>::go(); }}\n"), 1));
    if crate_name {
        v.push((format!("fn f() {{ let _ = ::{p}::thing(); }}\n"), 1));
        v.push((format!("fn f(_: &mut ::{p}::Thing) {{ <T as ::{p}::Trait>::go(); }}\n"), 1));
    }
    if single && crate_name {
        v.push((format!("extern crate {p};\n"), 1));
        v.push((format!("extern crate {p} as alias;\n"), 1));
    }
    v
}

/// Whether a path pattern starts with an external crate's name.
fn is_crate_name(pattern: &str) -> bool {
    !matches!(pattern.split("::").next(), Some("crate" | "self" | "super" | "~" | "_"))
}

/// Sources that mention `p` only in comments and literals (none may be reported).
fn harmless_sources(p: &str) -> Vec<String> {
    vec![
        format!("// use {p}::Thing;\n"),
        format!("/// See [`{p}::Thing`].\nfn f() {{}}\n"),
        format!("//! Uses {p}::Thing.\n"),
        format!("/* use {p}::Thing; */\n"),
        format!("/** {p}::Thing */\nfn f() {{}}\n"),
        format!("/*! {p}::Thing */\n"),
        format!("/* outer /* inner */ still a comment: use {p}::Thing; */\n"),
        format!("const S: &str = \"use {p}::Thing;\";\n"),
        format!("const S: &str = \"a \\\" quote, then use {p}::Thing;\";\n"),
        format!("const S: &str = r#\"use {p}::Thing; \"quoted\" \"#;\n"),
        format!("const S: &str = r##\"a \"# inside, use {p}::Thing;\"##;\n"),
        format!("const B: &[u8] = b\"use {p}::Thing;\";\n"),
        format!("const S: &str = \"multi\nline use {p}::Thing;\n\";\n"),
        format!("const C: char = '\"'; const S: &str = \"{p}::Thing\";\n"),
        format!("fn f<'a>(x: &'a str) {{ let _ = \"{p}::X\"; }}\n"),
        format!("#[doc = \"{p}::Thing\"]\nfn f() {{}}\n"),
    ]
}

#[test]
fn checker_reports_every_rule_in_every_form() {
    let mut checked = 0;
    for (row, rule) in RULES.iter().enumerate() {
        for files_pattern in rule.files {
            for file in sample_files(files_pattern) {
                if !rule.binds(&module_of(&file)) {
                    continue;
                }
                for &pattern in rule.forbidden {
                    for p in sample_paths(pattern) {
                        for (source, line) in breaking_sources(&p, is_crate_name(pattern)) {
                            let found = check_source(&file, &source);
                            assert!(
                                found.iter().any(|v| v.row == row && v.line == line),
                                "rule {} (row {row}) missed `{p}` (pattern `{pattern}`) in src/{file} at line {line}:\n{source}\nfound: {found:#?}",
                                rule.id
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} cases checked");
}

#[test]
fn checker_ignores_comments_and_literals() {
    for rule in RULES {
        for files_pattern in rule.files {
            for file in sample_files(files_pattern) {
                for &pattern in rule.forbidden {
                    for p in sample_paths(pattern) {
                        for source in harmless_sources(&p) {
                            let found = check_source(&file, &source);
                            assert!(found.is_empty(), "false positive in src/{file}:\n{source}\nfound: {found:#?}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn checker_leaves_exempt_files_alone() {
    for (row, rule) in RULES.iter().enumerate() {
        for except in rule.except {
            for file in sample_files(except) {
                for &pattern in rule.forbidden {
                    for p in sample_paths(pattern) {
                        for (source, _) in breaking_sources(&p, is_crate_name(pattern)) {
                            let found = check_source(&file, &source);
                            assert!(
                                !found.iter().any(|v| v.row == row),
                                "rule {} (row {row}) should exempt src/{file}:\n{source}\nfound: {found:#?}",
                                rule.id
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn checker_module_scopes() {
    let binds = |rule: usize, file: &str| RULES[rule].binds(&module_of(file));
    // Rule 1: execution files, every file of an action folder but spec and compile.
    for f in [
        "runtime.rs",
        "telemetry.rs",
        "backend/mod.rs",
        "backend/http.rs",
        "connections/aws.rs",
        "catalog/mod.rs",
        "server/auth.rs",
        "server/auth/jwt.rs",
        "observability/metrics.rs",
        "actions/http/mod.rs",
        "actions/http/request.rs",
        "actions/http/execute.rs",
        "actions/logs_insights/execute/poll.rs",
    ] {
        assert!(binds(0, f), "rule 1 should bind src/{f}");
    }
    for f in [
        "spec/model.rs",
        "compile/mod.rs",
        "cli/mod.rs",
        "reload/mod.rs",
        "diag/codes.rs",
        "util.rs",
        "lib.rs",
        "main.rs",
        "actions/mod.rs",
        "actions/http/spec.rs",
        "actions/http/compile.rs",
        "actions/http/compile/templates.rs",
        "runtime_helpers.rs",
    ] {
        assert!(!binds(0, f) && !binds(1, f), "rule 1 should not bind src/{f}");
    }
    assert_eq!(module_of("lib.rs"), Vec::<String>::new());
    assert_eq!(module_of("server/mod.rs"), ["server"]);
    assert_eq!(module_of("actions/http/request.rs"), ["actions", "http", "request"]);
    // Rules 2-5: who may name what.
    assert!(!binds(2, "server/fast.rs") && binds(2, "cli/serve.rs") && binds(2, "lib.rs"));
    assert!(!binds(3, "reload/mod.rs") && !binds(3, "reload/watch.rs") && binds(3, "server/mod.rs"));
    assert!(!binds(4, "telemetry.rs") && !binds(4, "observability/otel.rs") && binds(4, "cli/serve.rs"));
    assert!(!binds(5, "server/auth.rs") && !binds(5, "server/auth/jwks.rs") && binds(5, "server/mod.rs"));
    assert!(!binds(6, "cli/mod.rs") && !binds(6, "main.rs") && !binds(6, "server/http.rs") && binds(6, "runtime.rs") && binds(6, "lib.rs"));
}

#[test]
fn checker_knows_what_is_not_a_reference() {
    let none = |file: &str, source: &str| {
        let found = check_source(file, source);
        assert!(found.is_empty(), "false positive in src/{file}:\n{source}\nfound: {found:#?}");
    };
    // Methods, fields and later path segments that merely share a crate's name.
    none("server/mod.rs", "fn f(p: Peer) { let _ = p.notify_tool_list_changed(); }\n");
    none("runtime.rs", "fn f(s: &S) { let _ = s.notify.clone(); let _ = x.spec; s.compile(); }\n");
    none("runtime.rs", "fn f() { let _ = catalog::spec::X; let _ = backend::compile::Y; let _ = Self::compile(); }\n");
    none("runtime.rs", "fn f() { let _ = jq::compile(src); let _ = tokio::sync::Notify::new(); }\n");
    none("cli/serve.rs", "fn f() { let _ = EnvFilter::new(\"info,rmcp=warn\"); }\n");
    none("util.rs", "fn f() { let anyhow = 1; let notify = anyhow + 1; let _ = notify; }\n");
    // `use super::*` in a test module names the file it sits in, not the action's spec.
    none("actions/http/execute.rs", "#[cfg(test)]\nmod tests {\n    use super::*;\n}\n");
    // Rust 2024 precise capturing is not a `use` declaration.
    none("runtime.rs", "fn f<'a>(x: &'a str) -> impl Sized + use<'a> { x }\n");
    // Compile-time files of an action and the registration may name spec and compile.
    none("actions/http/compile.rs", "use super::spec::HttpSpec;\nuse crate::compile::templates::Ctx;\n");
    none("actions/mod.rs", "pub mod http;\nuse http::{compile, spec};\nfn f() { http::compile::run(); }\n");
    none("compile/mod.rs", "use crate::spec::model::ToolSpec;\n");
    // The places allowed to name the crates.
    none("server/mod.rs", "use rmcp::model::Tool;\nfn f() -> anyhow::Result<()> { Ok(()) }\n");
    none("server/auth.rs", "use jsonwebtoken::decode;\n");
    none("reload/mod.rs", "use notify_debouncer_full::new_debouncer;\nuse notify::RecursiveMode;\n");
    none("telemetry.rs", "use opentelemetry::trace::TracerProvider;\nuse tracing_opentelemetry::OpenTelemetryLayer;\n");
    none("main.rs", "fn main() -> anyhow::Result<()> { Ok(()) }\n");
}

#[test]
fn checker_finds_specific_forms() {
    let lines =
        |file: &str, source: &str| -> Vec<(usize, String)> { check_source(file, source).into_iter().map(|v| (v.line, v.path)).collect() };
    // The brief's examples, one by one.
    assert_eq!(lines("runtime.rs", "use crate::spec::model::X;\n"), [(1, "crate::spec::model::X".to_owned())]);
    assert_eq!(
        lines("runtime.rs", "use crate::{compile::{a, b}, spec};\n"),
        [(1, "crate::compile::a".to_owned()), (1, "crate::compile::b".to_owned()), (1, "crate::spec".to_owned())]
    );
    assert_eq!(lines("runtime.rs", "use crate::spec as s;\n"), [(1, "crate::spec".to_owned())]);
    assert_eq!(lines("runtime.rs", "fn f() {\n    crate::compile::render(x);\n}\n"), [(2, "crate::compile::render".to_owned())]);
    assert_eq!(lines("runtime.rs", "fn f() -> rmcp::model::Tool { todo!() }\n"), [(1, "rmcp::model::Tool".to_owned())]);
    assert_eq!(lines("util.rs", "extern crate notify;\n"), [(1, "notify".to_owned())]);
    assert_eq!(lines("runtime.rs", "use crate::*;\n"), [(1, "crate::*".to_owned())]);
    // Action folders: every relative form of the sibling spec and compile modules.
    for (src, path) in [
        ("use super::spec::HttpSpec;\n", "super::spec::HttpSpec"),
        ("use self::compile::run;\n", "self::compile::run"),
        ("pub use spec::HttpSpec;\n", "spec::HttpSpec"),
        ("fn f() { super::super::compile::go(); }\n", "super::super::compile::go"),
        ("use crate::actions::http::spec::HttpSpec;\n", "crate::actions::http::spec::HttpSpec"),
        ("use crate::actions::{http::compile, metrics};\n", "crate::actions::http::compile"),
    ] {
        let found = lines("actions/http/execute.rs", src);
        assert!(found.iter().any(|(l, p)| *l == 1 && p == path), "missed `{path}` in\n{src}\nfound: {found:?}");
    }
    // `#[cfg(test)]` code is checked too, and says so.
    let v = check_source("backend/http.rs", "#[cfg(test)]\nmod tests {\n    use crate::compile::compile;\n}\nuse crate::spec::X;\n");
    assert_eq!(v.iter().map(|v| (v.line, v.in_test)).collect::<Vec<_>>(), [(3, true), (5, false)]);
    // Every message names the file, the line, the rule and why.
    let msg = v[1].to_string();
    assert!(msg.starts_with("src/backend/http.rs:5: rule 1 (execution never names spec or compile):"), "{msg}");
    assert!(msg.contains("crate::spec") && msg.contains("Why: execution"), "{msg}");
}

#[test]
fn checker_tokenizer_survives_odd_input() {
    // Unterminated comments and literals, lone quotes, lifetimes next to chars.
    for s in [
        "/* never closed",
        "\"never closed",
        "r#\"never closed",
        "'",
        "b'",
        "'\\",
        "x::",
        "use",
        "use {",
        "use a::{b",
        "#[cfg(test)",
        "'a'b'c'",
    ] {
        let _ = paths_in(s);
    }
    let toks = tokenize("let c = '\\u{1F600}'; let l: &'static str = \"a\\\\\"; 'outer: loop {}");
    let idents: Vec<&str> = toks.iter().filter_map(|t| ident(&t.tok)).collect();
    assert_eq!(idents, ["let", "c", "let", "l", "str", "loop"]);
    // Line numbers count newlines inside comments and literals.
    let toks = tokenize("/* a\nb */ \"c\nd\" r#\"e\nf\"# x");
    assert_eq!(toks.last().map(|t| t.line), Some(4));
}

/// On every real source file the tokenizer sees balanced brackets: a literal or comment it
/// misread (and so code it skipped or invented) would almost always unbalance them.
#[test]
fn checker_tokenizer_balances_brackets_on_the_real_tree() {
    let mut files = Vec::new();
    collect_rs(&src_dir(), &mut files);
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let toks = tokenize(&text);
        for (open, close) in [('{', '}'), ('(', ')'), ('[', ']')] {
            let count = |c: char| toks.iter().filter(|t| t.tok == Tok::Punct(c)).count();
            assert_eq!(count(open), count(close), "{}: `{open}` and `{close}` do not balance", path.display());
        }
        let lines = text.matches('\n').count() + 1;
        assert!(toks.last().is_none_or(|t| t.line <= lines), "{}: line numbers run past the end", path.display());
    }
}

/// Copies `src/` into a temporary directory, injects a violation and checks the copy: the
/// checker must report it (and, before the injection, must report on the copy exactly what
/// it reports on the real tree).
#[test]
fn injected_violation_in_a_copy_of_src_is_reported() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let copy = tmp.path().join("src");
    copy_dir(&src_dir(), &copy);

    let (files, before) = check_tree(&copy);
    let (real_files, real) = check_tree(&src_dir());
    assert_eq!((files, &before), (real_files, &real), "the copy reads like the real tree");

    let inject = |file: &str, line_text: &str| -> usize {
        let path = copy.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("src/{file} is expected to exist: {e}"));
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let line = text.matches('\n').count() + 1;
        text.push_str(line_text);
        text.push('\n');
        std::fs::write(&path, text).expect("write");
        line
    };
    let rule1_line = inject("runtime.rs", "use crate::spec::model::JsonObject;");
    let rule2_line = inject("util.rs", "pub fn leak() -> Option<rmcp::model::Tool> { None }");
    let rule5_line = inject("diag/mod.rs", "pub use anyhow::Error as AnyError;");

    let (_, after) = check_tree(&copy);
    for (file, line, rule) in [("src/runtime.rs", rule1_line, "1"), ("src/util.rs", rule2_line, "2"), ("src/diag/mod.rs", rule5_line, "5")]
    {
        assert!(
            after.iter().any(|v| v.file == file && v.line == line && RULES[v.row].id == rule),
            "the violation of rule {rule} injected at {file}:{line} was not reported; found:\n{}",
            after.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        );
    }
    assert_eq!(after.len(), before.len() + 3, "exactly the three injected violations are new");
}
