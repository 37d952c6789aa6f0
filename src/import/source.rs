//! Reading an OpenAPI document: a file or an http(s) URL, at most [`MAX_DOCUMENT_BYTES`], JSON
//! or YAML.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use super::ImportError;

/// The largest document import reads (GitHub's complete REST description is about 12 MB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;
/// How long fetching a document may take, connecting included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `source` is a URL to fetch rather than a file to read.
pub fn is_url(source: &str) -> bool {
    let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `source` as the generated files name it: a URL without its credentials, query and
/// fragment (they may hold tokens), a file path as given.
pub fn label(source: &str) -> String {
    if !is_url(source) {
        return source.to_owned();
    }
    match url::Url::parse(source) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "a URL".to_owned(),
    }
}

/// The document's text, from a file or an http(s) URL.
pub async fn read(source: &str, cap: usize) -> Result<String, ImportError> {
    let bytes = if is_url(source) { fetch(source, cap).await? } else { read_file(source, cap)? };
    let shown = label(source);
    let text = String::from_utf8(bytes).map_err(|_| ImportError(format!("`{shown}` is not UTF-8 text")))?;
    Ok(text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text))
}

fn read_file(path: &str, cap: usize) -> Result<Vec<u8>, ImportError> {
    let file = std::fs::File::open(path).map_err(|e| ImportError(format!("cannot read `{path}`: {e}")))?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ImportError(format!("cannot read `{path}`: {e}")))?;
    if bytes.len() > cap {
        return Err(ImportError(format!("`{path}` is larger than {} MiB, more than import reads", cap / (1024 * 1024))));
    }
    Ok(bytes)
}

async fn fetch(url: &str, cap: usize) -> Result<Vec<u8>, ImportError> {
    let shown = label(url);
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .user_agent(concat!("toolwright/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ImportError(format!("cannot build an HTTP client: {e}")))?;
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json, application/yaml;q=0.9, */*;q=0.5")
        .send()
        .await
        .map_err(|e| ImportError(format!("cannot fetch `{shown}`: {}", error_chain(&e))))?;
    let status = response.status();
    if !status.is_success() {
        return Err(ImportError(format!("cannot fetch `{shown}`: the server answered {status}")));
    }
    let body = crate::util::read_capped(&mut response, cap).await;
    if let Some(e) = body.error {
        return Err(ImportError(format!("cannot fetch `{shown}`: {}", error_chain(&e))));
    }
    if body.cut {
        return Err(ImportError(format!("`{shown}` is larger than {} MiB, more than import reads", cap / (1024 * 1024))));
    }
    Ok(body.bytes)
}

/// An error and its causes, `: `-separated (reqwest's own message omits the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Parses the document: JSON when it starts with `{`, YAML otherwise (YAML 1.2 booleans only,
/// as OpenAPI 3.1 requires, and as the spec files are read).
pub fn parse(text: &str, shown: &str) -> Result<Value, ImportError> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| ImportError(format!("`{shown}` is not valid JSON: {e}")));
    }
    let options = serde_saphyr::options! { with_snippet: false, strict_booleans: true };
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|e| {
        let message = e.to_string();
        let first = message.lines().next().unwrap_or("").trim();
        ImportError(format!("`{shown}` is neither JSON nor valid YAML: {first}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_what_may_be_secret() {
        assert_eq!(label("https://user:pw@example.com/api.json?token=abc#x"), "https://example.com/api.json");
        assert_eq!(label("specs/api.yaml"), "specs/api.yaml");
        assert!(is_url("HTTPS://example.com/a.json"));
        assert!(!is_url("http.yaml"));
    }

    #[test]
    fn json_and_yaml_parse_and_garbage_does_not() {
        assert_eq!(parse("{\"openapi\": \"3.1.0\"}", "a").expect("json")["openapi"], "3.1.0");
        let yaml = parse("openapi: 3.0.3\npaths:\n  /a:\n    get:\n      responses:\n        200: {description: ok}\n", "a").expect("yaml");
        assert_eq!(yaml["openapi"], "3.0.3");
        assert!(yaml.pointer("/paths/~1a/get/responses/200").is_some(), "{yaml}");
        assert!(parse("{not json", "a").expect_err("bad json").0.contains("not valid JSON"));
        assert!(parse("a: [unclosed", "a").expect_err("bad yaml").0.contains("YAML"));
    }
}
