//! Sends a rendered [`HttpRequest`] through its connection's client and turns the response
//! into a [`ToolOutput`]: status errors with an excerpt, the jq projection, the `max_bytes`
//! cut, and secrets masked in whatever comes back.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::request::HttpRequest;
use crate::actions::output::{self, ToolOutput};
use crate::catalog::jq_worker::{self, JqRunError};
use crate::connections;
use crate::connections::http::SendAuth;
use crate::connections::http::client::{HttpClient, host_of, literal_ip};

/// How long decoding and shaping one response may take (a jq projection has its own limits,
/// see `catalog::jq_worker`).
pub const PROCESSING_TIME_LIMIT: Duration = Duration::from_secs(2);

/// The longest excerpt of an error response's body that reaches the model, in characters.
const EXCERPT_CHARS: usize = 300;

/// How much of an error response's body is read to make the excerpt.
const ERROR_BODY_BYTES: usize = 8 * 1024;

/// Responses up to this size without a jq filter are shaped on the async worker: a
/// blocking-pool hand-off costs more than parsing them.
const INLINE_SHAPING_BYTES: usize = 256 * 1024;

/// The shortest header value that is masked in text the backend sent back.
const MIN_MASKED_VALUE: usize = 4;

/// The shortest part of a header value (such as the token after `Bearer`) that is masked;
/// shorter parts are words like `Bearer` whose masking would only garble the message.
const MIN_MASKED_PART: usize = 8;

/// Sends the request and shapes the response for the model.
pub(crate) async fn execute(
    client: &HttpClient,
    request: HttpRequest,
    signer: Option<connections::http::auth::Signer>,
) -> Result<ToolOutput, String> {
    let HttpRequest { method, url, headers, body, secrets, jq, max_bytes, auth, .. } = request;
    let mut masks = secret_masks(&headers);
    // What comes back on success is masked for the secrets only: masking every header
    // value would also blank out ordinary words such as `application/json` in the data.
    let mut echo_masks: Vec<String> = secrets.into_iter().filter(|s| s.len() >= MIN_MASKED_PART).collect();
    echo_masks.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| format!("`{method}` is not an HTTP method"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("the URL scheme `{}` is not http or https; nothing was sent", url.scheme()));
    }
    let host = host_of(&url).to_owned();
    // reqwest connects to IP literals without asking the resolver, so they are checked here.
    if let Some(ip) = literal_ip(&url) {
        client.policy.check(ip).map_err(|why| format!("refused: {why}"))?;
    }
    let mut header_map = HeaderMap::with_capacity(headers.len() + 1);
    for (name, value) in &headers {
        let header =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("`{name}` is not a valid HTTP header name; nothing was sent"))?;
        // The value is never quoted in the message: it may hold a secret.
        let mut value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
            format!("header `{name}` holds a character that cannot be sent (CR, LF, NUL or another control character); nothing was sent")
        })?;
        // Sensitive values print as `Sensitive` in any Debug output, such as trace logs.
        value.set_sensitive(true);
        header_map.append(header, value);
    }
    let body = match body {
        None => None,
        Some(value) => Some(serde_json::to_vec(&value).map_err(|e| format!("the request body cannot be encoded as JSON: {e}"))?),
    };
    crate::telemetry::inject_trace_context(&mut header_map);
    if body.is_some() && !header_map.contains_key(CONTENT_TYPE) {
        header_map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let started = std::time::Instant::now();
    // Authentication done at send time (a token file, an OAuth token): a 401 with an OAuth
    // token fetches a new token and sends once more.
    let mut fresh = false;
    let mut response = loop {
        let mut headers = header_map.clone();
        if let Some(auth) = auth.as_deref().filter(|a| !matches!(a, SendAuth::AwsSigv4 { .. })) {
            let value = connections::http::auth::authorization(client, &client.tokens, auth, fresh).await.map_err(|e| mask(&e, &masks))?;
            // The token is a secret like a header value: masked in error excerpts and answers.
            let parts = secret_masks(&[(String::new(), value.clone())]);
            echo_masks.extend(parts.iter().filter(|p| p.len() >= MIN_MASKED_PART && !p.starts_with("Bearer")).cloned());
            echo_masks.sort_by_key(|s| std::cmp::Reverse(s.len()));
            masks.extend(parts);
            masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
            let mut value =
                HeaderValue::from_str(&value).map_err(|_| "the token cannot be sent in a header; nothing was sent".to_owned())?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let mut builder = client.client.request(method.clone(), url.clone()).headers(headers);
        if let Some(body) = &body {
            builder = builder.body(body.clone());
        }
        let mut built = builder.build().map_err(|e| client.describe(&e, &host))?;
        if let Some(signer) = &signer {
            // Signed last: the signature covers the final method, URL, headers and body.
            for secret in signer.sign(&mut built)? {
                masks.extend(secret_masks(&[(String::new(), secret)]));
            }
        }
        let response = client.client.execute(built).await.map_err(|e| client.describe(&e, &host))?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED && matches!(auth.as_deref(), Some(SendAuth::OAuth2 { .. })) && !fresh {
            fresh = true;
            continue;
        }
        break response;
    };
    let status = response.status();
    crate::telemetry::http_response_status(status.as_u16());
    tracing::debug!(%host, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "http response");
    if !status.is_success() {
        let excerpt = read_excerpt(&mut response, &masks).await;
        return Err(status_error(status, &excerpt));
    }
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let bytes = client.read_body(&mut response, &host).await?;
    if bytes.is_empty() {
        return Ok(ToolOutput::empty());
    }
    if let Some(filter) = jq {
        // The projection runs in a jq worker process under its own time and memory limits
        // (catalog::jq_worker): a filter that loops, recurses or grows without end is stopped
        // there and never reaches this process.
        let projected = match jq_worker::run(&filter, &bytes).await {
            Ok(value) => value,
            Err(JqRunError::NotJson(e)) => return Err(mask(&not_json(&content_type, &e), &masks)),
            Err(e) => return Err(mask(&e.to_string(), &masks)),
        };
        let task = tokio::task::spawn_blocking(move || output::shape_json(projected, max_bytes));
        return match tokio::time::timeout(PROCESSING_TIME_LIMIT, task).await {
            Ok(Ok(out)) => Ok(mask_output(out, &echo_masks)),
            Ok(Err(_)) => Err("internal error while shaping the response".to_owned()),
            Err(_) => Err(format!("shaping the response did not finish within {}s", PROCESSING_TIME_LIMIT.as_secs())),
        };
    }
    if bytes.len() <= INLINE_SHAPING_BYTES {
        return Ok(mask_output(shape(&bytes, &content_type, max_bytes), &echo_masks));
    }
    let task = tokio::task::spawn_blocking(move || shape(&bytes, &content_type, max_bytes));
    match tokio::time::timeout(PROCESSING_TIME_LIMIT, task).await {
        Ok(Ok(out)) => Ok(mask_output(out, &echo_masks)),
        Ok(Err(_)) => Err("internal error while shaping the response".to_owned()),
        Err(_) => Err(format!("shaping the response did not finish within {}s", PROCESSING_TIME_LIMIT.as_secs())),
    }
}

/// Why a body that a jq projection needed is not JSON, by what the backend labelled it.
fn not_json(content_type: &str, parse_error: &str) -> String {
    if is_json(content_type) {
        format!("the response is labelled JSON but does not parse ({parse_error}), so the jq projection cannot run")
    } else {
        let label = if content_type.is_empty() { "without a content type" } else { content_type };
        format!("the response ({label}) is not JSON, so the jq projection cannot run")
    }
}

/// Masks secrets a backend echoed in a successful answer, in the text and in every string
/// of the structured content.
fn mask_output(mut out: ToolOutput, masks: &[String]) -> ToolOutput {
    if masks.is_empty() || !masks.iter().any(|m| out.text.contains(m.as_str())) {
        return out;
    }
    fn walk(v: &mut serde_json::Value, masks: &[String]) {
        match v {
            serde_json::Value::String(s) => *s = mask(s, masks),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, masks)),
            serde_json::Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut val) in entries {
                    walk(&mut val, masks);
                    map.insert(mask(&k, masks), val);
                }
            }
            _ => {}
        }
    }
    out.text = mask(&out.text, masks);
    if let Some(s) = out.structured.as_mut() {
        walk(s, masks);
    }
    out
}

/// Reads the start of an error response's body for the message, masking the request's
/// header values before anything is cut (a cut could leave part of a secret that no mask
/// matches); a read error just ends it.
async fn read_excerpt(response: &mut reqwest::Response, masks: &[String]) -> String {
    // A read error just ends the excerpt.
    let body = crate::util::read_capped(response, ERROR_BODY_BYTES).await;
    let cut = body.cut || body.bytes.len() >= ERROR_BODY_BYTES;
    let buf = body.bytes;
    let mut text = mask(&String::from_utf8_lossy(&buf), masks);
    if cut {
        // The last word may be the start of a secret that continued past the cut.
        let keep = text.rfind(char::is_whitespace).unwrap_or(0);
        text.truncate(keep);
    }
    // Whitespace is collapsed so that an HTML page or pretty JSON still says something in 300 characters.
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut excerpt: String = collapsed.chars().take(EXCERPT_CHARS).collect();
    if excerpt.len() < collapsed.len() {
        excerpt.push('…');
    }
    excerpt
}

/// The message for a response status that is not 2xx.
fn status_error(status: reqwest::StatusCode, excerpt: &str) -> String {
    let hint = match status.as_u16() {
        400 | 405 | 409 | 413 | 415 | 422 => "The backend refused the request; check the arguments.",
        401 | 403 => "The backend refused the credentials or permissions; this is a configuration problem that retrying does not fix.",
        404 | 410 => "The backend found nothing there; check the identifiers in the arguments.",
        408 | 429 => "The backend is busy or rate-limiting; wait and try again.",
        500..=599 => "The backend failed; trying again later may help.",
        _ => "The call did not succeed.",
    };
    let body = if excerpt.is_empty() { "(empty body)".to_owned() } else { format!("body: {excerpt}") };
    format!("the backend answered HTTP {status}; {body}. {hint}")
}

/// Whether a content type is JSON: `application/json` or any `+json` type.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// Decodes and cuts a non-empty 2xx body without a projection.
fn shape(bytes: &[u8], content_type: &str, max_bytes: usize) -> ToolOutput {
    // A body that claims to be JSON but is not still says something to a model as text.
    if is_json(content_type)
        && let Ok(value) = serde_json::from_slice::<Value>(bytes)
    {
        return output::shape_json(value, max_bytes);
    }
    output::shape_text(String::from_utf8_lossy(bytes).into_owned(), max_bytes)
}

/// The header values (and their space, comma or `=` separated parts) that are masked in
/// text the backend sends back, because a backend may echo a credential in an error page.
fn secret_masks(headers: &[(String, String)]) -> Vec<String> {
    let mut masks: Vec<String> = Vec::new();
    for (_, value) in headers {
        let whole = std::iter::once((value.trim(), MIN_MASKED_VALUE));
        let parts = value.split([' ', ',', '=', ';', ':']).map(|p| (p.trim(), MIN_MASKED_PART));
        for (part, min) in whole.chain(parts) {
            if part.len() >= min && !masks.iter().any(|m| m == part) {
                masks.push(part.to_owned());
            }
        }
    }
    // Longest first, so that a whole value is masked before its parts.
    masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
    masks
}

/// Replaces every mask in `text` with `***`.
fn mask(text: &str, masks: &[String]) -> String {
    let mut out = text.to_owned();
    for m in masks {
        if out.contains(m.as_str()) {
            out = out.replace(m.as_str(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }

    #[test]
    fn masks_header_values_and_their_parts() {
        let masks = secret_masks(&[("Authorization".into(), "Bearer s3cr3t-token".into())]);
        assert_eq!(mask("got Bearer s3cr3t-token here", &masks), "got *** here");
        assert_eq!(mask("token s3cr3t-token is bad", &masks), "token *** is bad");
    }
}
