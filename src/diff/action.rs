//! What an action sends, as text two catalogs can compare: its kind, its connection, and
//! everything else it holds (templates by their source, jq filters, windows, limits).
//!
//! The text is the compiled action's pretty `Debug` form with each named template (whose
//! name is an id of the compile that made it) replaced by the template's source. Reading the
//! `Debug` form keeps this module free of any action kind's name: adding a kind touches only
//! its folder and `actions/mod.rs` (see ARCHITECTURE.md), and a new kind is compared here as
//! soon as it derives `Debug`, as every compiled action does. The fields of the action that
//! differ are named from the same text. Connections are compared the same way, with paths
//! under the side's directory made relative to it.

use std::collections::HashMap;

use crate::actions::Action;
use crate::catalog::Catalog;

/// An action, comparable across catalogs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ActionPrint {
    /// The action kind (`http`, `metrics`, ...).
    pub kind: &'static str,
    /// The connection's name, if the action names one.
    pub connection: Option<String>,
    /// Everything the action holds, templates by their source.
    pub text: String,
}

/// The templates and connections of one catalog, for printing its actions.
pub(super) struct Prints<'a> {
    catalog: &'a Catalog,
    root: Option<&'a str>,
    /// A named template's name, as `Debug` writes it (quoted), to its source.
    sources: HashMap<String, String>,
    /// A connection's name, as `Debug` writes it (quoted), to the name.
    connections: HashMap<String, String>,
}

impl<'a> Prints<'a> {
    pub(super) fn new(catalog: &'a Catalog, root: Option<&'a str>) -> Prints<'a> {
        let sources = catalog.env().templates().map(|(name, t)| (format!("{name:?}"), t.source().to_owned())).collect();
        let connections = catalog.connections().keys().map(|name| (format!("{name:?}"), name.clone())).collect();
        Prints { catalog, root, sources, connections }
    }

    /// The action's print.
    pub(super) fn action(&self, action: &Action) -> ActionPrint {
        let text = self.with_sources(&format!("{action:#?}"));
        let connection = connection_field(&text).and_then(|quoted| self.connections.get(quoted).cloned());
        ActionPrint { kind: action.kind(), connection, text }
    }

    /// Any compiled value (a prompt's messages), comparable across catalogs: its `Debug` text
    /// with named templates replaced by their source.
    pub(super) fn debug<T: std::fmt::Debug>(&self, value: &T) -> String {
        self.with_sources(&format!("{value:#?}"))
    }

    /// The settings of the connection of that name, comparable across catalogs (`None` when
    /// the catalog has no such connection).
    pub(super) fn connection(&self, name: &str) -> Option<String> {
        let c = self.catalog.connection(name)?;
        let mut text = self.with_sources(&format!("{:#?}", c.settings));
        if let Some(root) = self.root {
            // Paths beside a spec file start with the directory the side was read from.
            let quoted = format!("{root:?}");
            let open = format!("{}/", &quoted[..quoted.len() - 1]);
            text = text.replace(&open, "\"<root>/");
        }
        Some(text)
    }

    /// `text` with every `Named("<template name>")` (spread over lines or not) replaced by
    /// `Template("<source>")`.
    fn with_sources(&self, text: &str) -> String {
        const OPEN: &str = "Named(";
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(OPEN) {
            out.push_str(&rest[..at]);
            let after = &rest[at + OPEN.len()..];
            let inner = after.trim_start();
            let replaced = quoted_prefix(inner).and_then(|quoted| {
                let tail = inner[quoted.len()..].trim_start();
                let tail = tail.strip_prefix(',').unwrap_or(tail).trim_start();
                let tail = tail.strip_prefix(')')?;
                self.sources.get(quoted).map(|source| (source, tail))
            });
            match replaced {
                Some((source, tail)) => {
                    out.push_str(&format!("Template({source:?})"));
                    rest = tail;
                }
                None => {
                    out.push_str(OPEN);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// The quoted string (`"..."` as `Debug` writes it, escapes included) at the start of `text`.
fn quoted_prefix(text: &str) -> Option<&str> {
    if !text.starts_with('"') {
        return None;
    }
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(&text[..=i]),
            _ => {}
        }
    }
    None
}

/// The quoted connection name of the first `connection: Some("...")` field of a `Debug` text.
fn connection_field(text: &str) -> Option<&str> {
    let at = text.find("connection: ")?;
    let rest = text[at + "connection: ".len()..].strip_prefix("Some(")?;
    quoted_prefix(rest.trim_start())
}

/// The top-level fields (of the outermost struct) in which two pretty `Debug` texts differ,
/// in order: what an action or connection changed, in the words of its compiled form.
pub(super) fn changed_fields(old: &str, new: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let (only_a, only_b) = unmatched_lines(&a, &b);
    let mut fields = Vec::new();
    for (lines, changed) in [(&a, only_a), (&b, only_b)] {
        // Fields of the outermost struct sit one level inside the first line ending in `{`.
        let Some(indent) = lines.iter().find(|l| l.ends_with('{')).map(|l| indent_of(l) + 4) else { continue };
        for i in changed {
            let field = lines[..=i]
                .iter()
                .rev()
                .find(|l| indent_of(l) == indent && l.trim_start().contains(": "))
                .and_then(|l| l.trim_start().split(':').next())
                .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            if let Some(f) = field
                && !fields.iter().any(|x| x == f)
            {
                fields.push(f.to_owned());
            }
        }
    }
    fields
}

/// The indexes of the lines of `a` and of `b` outside a longest common subsequence (the
/// lines a line diff shows as removed and added). Beyond a few million line pairs, every
/// line between the common prefix and suffix counts.
fn unmatched_lines(a: &[&str], b: &[&str]) -> (Vec<usize>, Vec<usize>) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (a_mid, b_mid) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let (n, m) = (a_mid.len(), b_mid.len());
    if n.saturating_mul(m) > 4_000_000 {
        return ((prefix..prefix + n).collect(), (prefix..prefix + m).collect());
    }
    // lcs[i][j]: the longest common subsequence of a_mid[i..] and b_mid[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a_mid[i] == b_mid[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a_mid[i] == b_mid[j] {
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            only_a.push(prefix + i);
            i += 1;
        } else {
            only_b.push(prefix + j);
            j += 1;
        }
    }
    (only_a, only_b)
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_prefix_stops_at_the_closing_quote() {
        assert_eq!(quoted_prefix(r#""a\"b\\" rest"#), Some(r#""a\"b\\""#));
        assert_eq!(quoted_prefix(r#"x"a""#), None);
        assert_eq!(quoted_prefix(r#""open"#), None);
    }

    #[test]
    fn connection_field_reads_the_first_connection() {
        assert_eq!(connection_field(r#"Http(HttpAction { connection: Some("status-api"), method: "GET" })"#), Some(r#""status-api""#));
        assert_eq!(connection_field("Http(\n    HttpAction {\n        connection: Some(\n            \"a\",\n        ),"), Some("\"a\""));
        assert_eq!(connection_field(r#"Http(HttpAction { connection: None })"#), None);
    }

    #[test]
    fn changed_fields_names_the_outer_fields() {
        let a = "Http(\n    HttpAction {\n        connection: None,\n        url: Template(\n            \"/a\",\n        ),\n        query: [],\n        jq: None,\n    },\n)";
        let b = a.replace("\"/a\"", "\"/b\"").replace("jq: None", "jq: Some(1)");
        assert_eq!(changed_fields(a, &b), ["url", "jq"]);
        assert!(changed_fields(a, a).is_empty());
    }
}
