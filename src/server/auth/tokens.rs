//! Static bearer tokens from a file (`--auth-tokens`), one `NAME TOKEN [SCOPE,SCOPE...]` per
//! line. A token is kept only as its SHA-256 digest, compared in constant time against every
//! entry; no token, nor any line of the file, ever reaches a log or an error message.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::scopes::{Identity, log_safe};

/// Shortest static token accepted in the tokens file.
const MIN_TOKEN_CHARS: usize = 16;

/// One line of the tokens file; the token itself is kept only as its digest.
struct TokenEntry {
    name: String,
    digest: [u8; 32],
    scopes: Vec<String>,
}

struct TokenTable {
    entries: Vec<TokenEntry>,
    /// SHA-256 of the file, to tell a real change from a touch.
    content: [u8; 32],
}

/// The tokens file and the tokens it holds; [`StaticTokens::reload`] re-reads it (whoever
/// watches the file calls it, see `Auth::reload_file`).
pub(super) struct StaticTokens {
    path: PathBuf,
    table: ArcSwap<TokenTable>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

impl StaticTokens {
    /// Reads the tokens file; the error names every bad line (never quoting it).
    pub(super) fn load(path: &Path) -> Result<Self, String> {
        let bytes = read(path)?;
        let table =
            parse_tokens(&bytes).map_err(|errors| format!("{}: {}", path.display(), errors.join(&format!("\n{}: ", path.display()))))?;
        tracing::info!(file = %path.display(), tokens = table.entries.len(), names = ?table.entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), "bearer tokens loaded");
        Ok(StaticTokens { path: path.to_owned(), table: ArcSwap::from_pointee(table) })
    }

    /// The tokens file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file holds no token.
    pub(super) fn is_empty(&self) -> bool {
        self.table.load().entries.is_empty()
    }

    /// Re-reads the file. A file with errors is reported and the tokens loaded before stay
    /// in force; a file with the same content changes nothing.
    pub(super) fn reload(&self) {
        let path = self.path.display().to_string();
        let bytes = match read(&self.path) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "tokens file unreadable; the tokens loaded before stay in force");
                return;
            }
        };
        match parse_tokens(&bytes) {
            Ok(table) => {
                if table.content != self.table.load().content {
                    tracing::info!(file = %path, tokens = table.entries.len(), names = ?table.entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), "bearer tokens reloaded");
                    self.table.store(Arc::new(table));
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::error!(file = %path, error = %e, "tokens file has errors; the tokens loaded before stay in force");
                }
            }
        }
    }

    /// The identity of a token, comparing its digest with every entry's in constant time.
    pub(super) fn check(&self, token: &str) -> Option<Identity> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let table = self.table.load();
        let mut found = None;
        for entry in &table.entries {
            if bool::from(entry.digest.ct_eq(&digest)) {
                found = Some(entry);
            }
        }
        found.map(|e| Identity { name: e.name.clone(), scopes: e.scopes.clone() })
    }
}

fn is_name(s: &str) -> bool {
    s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.@:-".contains(c))
}

/// RFC 6750 `b64token`: what a bearer token can be.
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c))
}

/// RFC 6749 `scope-token`.
fn is_scope(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

/// Parses the tokens file. Errors name the line and never quote it (it may hold a token).
fn parse_tokens(bytes: &[u8]) -> Result<TokenTable, Vec<String>> {
    let content: [u8; 32] = Sha256::digest(bytes).into();
    let Ok(text) = std::str::from_utf8(bytes) else { return Err(vec!["the file is not UTF-8".to_owned()]) };
    let mut errors = Vec::new();
    let mut entries: Vec<TokenEntry> = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut digests: HashMap<[u8; 32], usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        // A field that starts with `#` starts a comment; names, tokens and scopes cannot.
        let fields: Vec<&str> = line.split_whitespace().take_while(|f| !f.starts_with('#')).collect();
        if fields.is_empty() {
            continue;
        }
        let (name, token, scopes) = match fields.as_slice() {
            [name, token] => (*name, *token, ""),
            [name, token, scopes] => (*name, *token, *scopes),
            _ => {
                errors.push(format!("line {n}: expected `NAME TOKEN [SCOPE,SCOPE...]` ({} fields found)", fields.len()));
                continue;
            }
        };
        if !is_name(name) {
            errors.push(format!("line {n}: the name must be 1 to 64 letters, digits or `_.@:-`, starting with a letter or digit"));
            continue;
        }
        if !is_b64token(token) {
            errors.push(format!("line {n}: the token of `{name}` holds characters a bearer token cannot have (letters, digits and `-._~+/` only, `=` at the end)"));
            continue;
        }
        if token.chars().count() < MIN_TOKEN_CHARS {
            errors.push(format!(
                "line {n}: the token of `{name}` is shorter than {MIN_TOKEN_CHARS} characters; make one with `openssl rand -hex 32`"
            ));
            continue;
        }
        let scopes: Vec<String> = if scopes.is_empty() { Vec::new() } else { scopes.split(',').map(str::to_owned).collect() };
        if let Some(bad) = scopes.iter().find(|s| !is_scope(s)) {
            errors.push(format!("line {n}: `{}` is not a scope (scopes are separated by commas, without spaces)", log_safe(bad)));
            continue;
        }
        if let Some(first) = names.get(name) {
            errors.push(format!("line {n}: the name `{name}` is already used on line {first}"));
            continue;
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(first) = digests.get(&digest) {
            errors.push(format!("line {n}: `{name}` has the same token as line {first}; every token must be different"));
            continue;
        }
        names.insert(name.to_owned(), n);
        digests.insert(digest, n);
        entries.push(TokenEntry { name: name.to_owned(), digest, scopes });
    }
    if errors.is_empty() { Ok(TokenTable { entries, content }) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_A: &str = "0123456789abcdef0123456789abcdef";
    const TOKEN_B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn tokens_file_parses_names_tokens_scopes_and_comments() {
        let text = format!("# team tokens\n\nalice {TOKEN_A} incidents:read,incidents:write  # on-call\n  bob {TOKEN_B}\n");
        let table = parse_tokens(text.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(table.entries.len(), 2);
        assert_eq!(table.entries[0].name, "alice");
        assert_eq!(table.entries[0].scopes, vec!["incidents:read", "incidents:write"]);
        assert!(table.entries[1].scopes.is_empty());
    }

    #[test]
    fn tokens_file_errors_name_lines_and_never_quote_tokens() {
        let secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t";
        let text = format!("alice {secret} a b\nbob tiny7\ncarol {secret}!\ndave {secret}\ndave {TOKEN_A}\nerin {secret}\n");
        let errors = parse_tokens(text.as_bytes()).err().unwrap_or_default();
        let all = errors.join("\n");
        assert!(all.contains("line 1:") && all.contains("line 2:") && all.contains("line 3:"), "{all}");
        assert!(all.contains("line 5: the name `dave` is already used on line 4"), "{all}");
        assert!(all.contains("line 6: `erin` has the same token as line 4"), "{all}");
        assert!(!all.contains(secret) && !all.contains("tiny7"), "{all}");
    }
}
