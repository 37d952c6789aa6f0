//! Recording files: one JSON file per test, `<DIR>/<tool>/<test>.json`, holding the call's time
//! and every backend exchange of the test in order (see `connections::tape` for what an
//! exchange holds).
//!
//! Before a recording is written its secrets are redacted: the values of credential headers
//! (`Authorization`, cookies, AWS session tokens: [`CREDENTIAL_HEADERS`]) become `***`, and so
//! does every occurrence of a secret value the calls used (what `secret()` resolved, tokens
//! and signatures sent) in URLs, header values and bodies. Then the file's text is checked
//! again: if it still holds a secret value (as sent, JSON-escaped, percent-encoded or in
//! base64: a backend may echo a credential in another form) or anything that looks like a
//! credential ([`credential_patterns`]), nothing is written and the test errs. `--replay`
//! refuses a recording in which those patterns appear in the same way, so a recording edited
//! by hand, or written by another tool, cannot bring a credential into a repository unnoticed.
//!
//! Secret values shorter than four characters are neither redacted nor checked: they cannot be
//! told apart from ordinary text (the server's masking of echoed credentials uses the same bound).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::SystemTime;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ToolTest;
use crate::connections::tape::{Body, CREDENTIAL_HEADERS, Exchange, REDACTED, Script};

/// The `format` of a recording file.
pub const FORMAT: &str = "toolwright-recording/1";

/// The shortest secret value that is redacted and checked.
pub const MIN_SECRET_CHARS: usize = 4;

/// A recording file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// Always [`FORMAT`].
    pub format: String,
    /// The tool's name.
    pub tool: String,
    /// The test's name.
    pub test: String,
    /// The call's time (RFC 3339, milliseconds): a replay renders the call at this instant, so
    /// that every value derived from the clock (`epoch()`, CloudWatch time ranges) is the same.
    pub time: String,
    /// Every backend exchange of the test, in the order sent.
    pub exchanges: Vec<Exchange>,
}

/// Where the recording of a test lives under `dir`.
pub fn path(dir: &Path, test: &ToolTest) -> Result<PathBuf, String> {
    // Test names cannot be `.` or `..` (the compile checks them); tool names can.
    if test.tool == "." || test.tool == ".." {
        return Err(format!("tool `{}` cannot name a recording directory; rename the tool to record its tests", test.tool));
    }
    Ok(dir.join(&test.tool).join(format!("{}.json", test.name)))
}

/// Things that look like credentials in a recording: AWS access key ids, private keys, bearer
/// and basic credentials, JWTs, GitHub and Slack tokens.
pub fn credential_patterns() -> &'static [(&'static str, Regex)] {
    static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
        [
            ("an AWS access key id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
            ("a private key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
            ("a bearer or basic credential", r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/-]{16,}=*"),
            ("a JSON Web Token", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
            ("a GitHub token", r"\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"),
            ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ]
        .into_iter()
        .filter_map(|(what, re)| Regex::new(re).ok().map(|r| (what, r)))
        .collect()
    });
    &PATTERNS
}

/// Replaces secrets in the exchanges: credential headers whole, and every secret value (of at
/// least [`MIN_SECRET_CHARS`], longest first) wherever it appears as text.
pub fn redact(exchanges: &mut [Exchange], secrets: &[String]) {
    let mut secrets: Vec<&str> = secrets.iter().map(String::as_str).filter(|s| s.chars().count() >= MIN_SECRET_CHARS).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    let text = |s: &str| -> String {
        let mut out = s.to_owned();
        for secret in &secrets {
            if out.contains(secret) {
                out = out.replace(secret, REDACTED);
            }
        }
        out
    };
    let headers = |h: &mut Vec<(String, String)>| {
        for (name, value) in h.iter_mut() {
            *value = if CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) { REDACTED.to_owned() } else { text(value) };
        }
    };
    let body = |b: &mut Option<Body>| {
        if let Some(b) = b {
            match b {
                Body::Json(v) => redact_json(v, &text),
                Body::Text(t) => *t = text(t),
                Body::Base64(_) => {}
            }
        }
    };
    for exchange in exchanges {
        exchange.request.url = text(&exchange.request.url);
        headers(&mut exchange.request.headers);
        body(&mut exchange.request.body);
        if let Some(response) = &mut exchange.response {
            headers(&mut response.headers);
            body(&mut response.body);
        }
        if let Some(error) = &mut exchange.error {
            *error = text(error);
        }
    }
}

fn redact_json(v: &mut Value, text: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = text(s),
        Value::Array(items) => items.iter_mut().for_each(|i| redact_json(i, text)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut val) in entries {
                redact_json(&mut val, text);
                map.insert(text(&k), val);
            }
        }
        _ => {}
    }
}

/// The forms in which a secret value may appear in a recording's text: as sent, JSON-escaped,
/// percent-encoded (URL and form style) and base64 (standard and URL-safe, without padding).
fn forms(secret: &str) -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    let all = [
        ("as sent", secret.to_owned()),
        ("JSON-escaped", json),
        ("percent-encoded", utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string()),
        ("form-encoded", url::form_urlencoded::byte_serialize(secret.as_bytes()).collect()),
        ("in base64", base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret)),
        ("in base64url", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)),
    ];
    // Each distinct text once, under the first (plainest) name that gives it.
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (form, text) in all {
        if !out.iter().any(|(_, t)| *t == text) {
            out.push((form, text));
        }
    }
    out
}

/// What in `text` is a secret or looks like a credential, one line each (never the value).
pub fn leaks(text: &str, secrets: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, secret) in secrets.iter().enumerate().filter(|(_, s)| s.chars().count() >= MIN_SECRET_CHARS) {
        for (form, value) in forms(secret) {
            if text.contains(&value) {
                out.push(format!("secret value #{} ({} characters) {form}", i + 1, secret.chars().count()));
            }
        }
    }
    for (what, re) in credential_patterns() {
        if let Some(m) = re.find(text) {
            let line = text[..m.start()].matches('\n').count() + 1;
            out.push(format!("{what} (line {line})"));
        }
    }
    out
}

/// Credential headers that do not hold `***`: a recording must never carry one.
fn unredacted_headers(exchanges: &[Exchange]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, e) in exchanges.iter().enumerate() {
        let response = e.response.as_ref().map(|r| r.headers.as_slice()).unwrap_or_default();
        for (side, headers) in [("request", e.request.headers.as_slice()), ("response", response)] {
            for (name, value) in headers {
                if CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) && value != REDACTED {
                    out.push(format!("exchange {}: the {side} header `{name}` is not redacted", i + 1));
                }
            }
        }
    }
    out
}

/// Where in the exchanges a leak found in the whole text lies: `exchange N request/response`.
fn locate(exchanges: &[Exchange], secrets: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, e) in exchanges.iter().enumerate() {
        let parts = [
            ("request", serde_json::to_string(&e.request).unwrap_or_default()),
            ("response", serde_json::to_string(&e.response).unwrap_or_default()),
            ("error", serde_json::to_string(&e.error).unwrap_or_default()),
        ];
        for (part, text) in parts {
            for leak in leaks(&text, secrets) {
                out.push(format!("{leak}, in exchange {} ({part})", i + 1));
            }
        }
    }
    out
}

/// Redacts the exchanges, checks the result and writes the recording of `test` under `dir`;
/// nothing is written when the text would still hold a secret or a credential.
pub fn write(dir: &Path, test: &ToolTest, time: SystemTime, mut exchanges: Vec<Exchange>, secrets: &[String]) -> Result<PathBuf, String> {
    let path = path(dir, test)?;
    redact(&mut exchanges, secrets);
    let recording = Recording {
        format: FORMAT.to_owned(),
        tool: test.tool.clone(),
        test: test.name.clone(),
        time: humantime::format_rfc3339_millis(time).to_string(),
        exchanges,
    };
    let mut text = serde_json::to_string_pretty(&recording).map_err(|e| format!("internal: the recording as JSON: {e}"))?;
    text.push('\n');
    let mut found = unredacted_headers(&recording.exchanges);
    if !leaks(&text, secrets).is_empty() {
        let located = locate(&recording.exchanges, secrets);
        found.extend(if located.is_empty() { leaks(&text, secrets) } else { located });
    }
    if !found.is_empty() {
        return Err(format!(
            "the recording would still hold a secret after redaction, so {} was not written: {} (a backend that echoes a credential in another form, or a credential in the arguments or answers, cannot be recorded)",
            path.display(),
            found.join("; ")
        ));
    }
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(parent).map_err(|e| format!("cannot write in {}: {e}", parent.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.persist(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The most bytes of a recording file that are read.
const MAX_RECORDING_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the recording of `test` under `dir`, refusing one that holds a credential.
pub fn read(dir: &Path, test: &ToolTest) -> Result<(PathBuf, Script), String> {
    let path = path(dir, test)?;
    let meta = std::fs::metadata(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("no recording at {} (record it with `toolwright test --record {}`)", path.display(), dir.display())
        } else {
            format!("cannot read {}: {e}", path.display())
        }
    })?;
    if meta.len() > MAX_RECORDING_BYTES {
        return Err(format!("{} is larger than {MAX_RECORDING_BYTES} bytes; it is not a recording toolwright wrote", path.display()));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let recording: Recording = serde_json::from_str(&text).map_err(|e| format!("{} is not a recording: {e}", path.display()))?;
    let mut refused = unredacted_headers(&recording.exchanges);
    refused.extend(leaks(&text, &[]));
    if !refused.is_empty() {
        return Err(format!(
            "refused to replay {}: it holds what looks like a credential: {}; record it again (recordings are redacted), and revoke the credential if it was real",
            path.display(),
            refused.join("; ")
        ));
    }
    if recording.format != FORMAT {
        return Err(format!("{} has format `{}`; this toolwright reads `{FORMAT}`", path.display(), recording.format));
    }
    if recording.tool != test.tool || recording.test != test.name {
        return Err(format!(
            "{} is the recording of `{}/{}`, not of `{}/{}`",
            path.display(),
            recording.tool,
            recording.test,
            test.tool,
            test.name
        ));
    }
    let time =
        humantime::parse_rfc3339(&recording.time).map_err(|e| format!("{}: `time` is not an RFC 3339 time ({e})", path.display()))?;
    Ok((path, Script { time: Some(time), exchanges: recording.exchanges }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::tape::{RecordedRequest, RecordedResponse};

    fn exchange(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Exchange {
        Exchange {
            request: RecordedRequest {
                method: "GET".to_owned(),
                url: url.to_owned(),
                headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
                body: None,
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: vec![("set-cookie".to_owned(), "sid=abc".to_owned())],
                body: Body::of(body),
            }),
            error: None,
        }
    }

    #[test]
    fn redaction_covers_credential_headers_and_every_occurrence_of_a_secret() {
        let secret = "tok-3f9a8b7c6d5e".to_owned();
        let mut exchanges = vec![exchange(
            "https://api.example.com/x?echo=tok-3f9a8b7c6d5e",
            &[("authorization", "Bearer tok-3f9a8b7c6d5e"), ("x-api-key", "k:tok-3f9a8b7c6d5e")],
            br#"{"you_sent":"Bearer tok-3f9a8b7c6d5e","tok-3f9a8b7c6d5e":1}"#,
        )];
        redact(&mut exchanges, &[secret.clone(), "ab".to_owned()]);
        let text = serde_json::to_string(&exchanges).expect("json");
        assert!(!text.contains(&secret), "{text}");
        assert_eq!(exchanges[0].request.headers[0].1, "***");
        assert_eq!(exchanges[0].request.headers[1].1, "k:***");
        assert_eq!(exchanges[0].response.as_ref().expect("response").headers[0].1, "***");
        assert!(text.contains(r#"\"you_sent\":\"Bearer ***\""#) || text.contains(r#""you_sent":"Bearer ***""#), "{text}");
        assert!(leaks(&text, &[secret]).is_empty());
    }

    #[test]
    fn leaks_find_encoded_secrets_and_credential_patterns_without_quoting_them() {
        use base64::Engine as _;
        let secret = "p@ss w/rd+1".to_owned();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&secret);
        for (text, form) in [
            (format!("x {secret} y"), "as sent"),
            ("q=p%40ss%20w%2Frd%2B1".to_owned(), "percent-encoded"),
            ("q=p%40ss+w%2Frd%2B1".to_owned(), "form-encoded"),
            (format!("\"{encoded}\""), "in base64"),
        ] {
            let found = leaks(&text, std::slice::from_ref(&secret));
            assert!(found.iter().any(|l| l.ends_with(form)), "{form}: {found:?}");
            assert!(found.iter().all(|l| !l.contains(&secret)), "{found:?}");
        }
        for (text, what) in [
            ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
            ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
            ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "a bearer or basic credential"),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "a GitHub token"),
        ] {
            let found = leaks(&format!("{{\n\"x\": \"{text}\"\n}}"), &[]);
            assert_eq!(found, vec![format!("{what} (line 2)")]);
        }
        assert!(leaks("Bearer *** and basic *** and ordinary text", &[]).is_empty());
    }

    #[test]
    fn unredacted_credential_headers_are_found() {
        let e = exchange("https://h/", &[("Authorization", "Bearer x")], b"");
        assert_eq!(
            unredacted_headers(&[e]),
            vec![
                "exchange 1: the request header `Authorization` is not redacted".to_owned(),
                "exchange 1: the response header `set-cookie` is not redacted".to_owned(),
            ]
        );
    }
}
