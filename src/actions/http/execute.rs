//! Sends a rendered [`HttpRequest`] through its connection's client and turns the response
//! into a [`ToolOutput`]: status errors with an excerpt, the jq projection, the `max_bytes`
//! cut, and secrets masked in whatever comes back.

use std::time::Duration;

use std::collections::HashSet;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LINK};
use serde_json::Value;

use super::request::{Body, HttpRequest, encode_form};
use super::{MAX_PAGES_LIMIT, NextPage, Paginate, ResponseFormat, TokenTarget, xml};
use crate::actions::output::{self, Content, Media, MediaKind, ToolOutput};
use crate::catalog::jq::JqFilter;
use crate::catalog::jq_worker::{self, JqRunError};
use crate::connections;
use crate::connections::http::SendAuth;
use crate::connections::http::auth::Signer;
use crate::connections::http::client::{HttpClient, host_of, literal_ip};
use crate::connections::tape::{self, Tape};

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

/// What changes from one page's request to the next.
struct Page {
    url: url::Url,
    headers: Vec<(String, String)>,
    body: Option<Body>,
}

/// A 2xx answer.
struct Answer {
    bytes: bytes::Bytes,
    content_type: String,
    /// The `Link` header values, for `paginate.link`.
    links: Vec<String>,
    /// The credentials sent with it (tokens, signatures), to mask in what comes back.
    secrets: Vec<String>,
}

/// What authenticates a request that was prepared before sending, with what only the call
/// path has (the `aws` connection's clients): a Signature V4 signer, or an EKS bearer token.
#[derive(Default)]
pub(crate) struct Prepared {
    /// Signs each request, last.
    pub signer: Option<Signer>,
    /// `Authorization: Bearer` with this token.
    pub bearer: Option<String>,
    /// Records or replays the exchanges (`toolwright test`).
    pub tape: Option<std::sync::Arc<Tape>>,
}

/// Sends the request and shapes the response for the model.
pub(crate) async fn execute(client: &HttpClient, request: HttpRequest, prepared: Prepared) -> Result<ToolOutput, String> {
    let HttpRequest { method, url, headers, body, secrets, jq, format, paginate, max_bytes, auth, as_resource, .. } = request;
    if let Some(tape) = &prepared.tape {
        tape.add_secrets(secrets.iter().cloned());
    }
    let sending = Sending {
        auth: auth.as_deref(),
        signer: prepared.signer.as_ref(),
        bearer: prepared.bearer.as_deref(),
        tape: prepared.tape.as_deref(),
    };
    let masks = secret_masks(&headers);
    // What comes back on success is masked for the secrets only: masking every header
    // value would also blank out ordinary words such as `application/json` in the data.
    let mut secret_masks: Vec<String> = {
        let mut m: Vec<String> = secrets.into_iter().filter(|s| s.len() >= MIN_MASKED_PART).collect();
        m.sort_by_key(|s| std::cmp::Reverse(s.len()));
        m
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let resource_uri = as_resource.then(|| {
        let mut u = url.clone();
        u.set_query(None);
        u.set_fragment(None);
        u.to_string()
    });
    let page = Page { url, headers, body };
    if let Some(paginate) = paginate {
        // Boxed, like every rare and large future on this path (pagination, jq, tokens): inline,
        // they would make every call's future that large, and it is moved into each wrapper.
        let (out, tokens) =
            Box::pin(paginated(client, &method, page, &paginate, format, jq.as_deref(), max_bytes, &masks, &sending)).await?;
        add_masks(&mut secret_masks, tokens);
        return Ok(mask_output(out, &secret_masks));
    }
    let Answer { bytes, content_type, secrets: tokens, .. } = send(client, &method, &page, &masks, &sending).await?;
    add_masks(&mut secret_masks, tokens);
    if let Some(uri) = resource_uri {
        return Ok(as_embedded_resource(bytes, &content_type, uri, &secret_masks));
    }
    if bytes.is_empty() {
        return Ok(ToolOutput::empty());
    }
    if format == ResponseFormat::Json && jq.is_none() {
        let mime = media_type(&content_type);
        let kind = if mime.starts_with("image/") {
            Some(MediaKind::Image)
        } else if mime.starts_with("audio/") {
            Some(MediaKind::Audio)
        } else {
            None
        };
        if let Some(kind) = kind {
            let what = if kind == MediaKind::Image { "an image" } else { "audio" };
            let text = format!("{what} ({mime}, {} bytes)", bytes.len());
            return Ok(ToolOutput {
                structured: None,
                text,
                truncated: false,
                is_error: false,
                media: Some(Content::Beside(Media { kind, mime_type: mime, data: bytes })),
            });
        }
    }
    let json_input = match format {
        ResponseFormat::Text => {
            let out = off_loop(bytes.len(), move || output::shape_text(String::from_utf8_lossy(&bytes).into_owned(), max_bytes)).await?;
            return Ok(mask_output(out, &secret_masks));
        }
        ResponseFormat::Xml => {
            let value = off_loop(bytes.len(), move || xml::to_json(&bytes)).await?.map_err(|e| mask(&e, &masks))?;
            if jq.is_none() {
                let out = off_loop(usize::MAX, move || output::shape_json(value, max_bytes)).await?;
                return Ok(mask_output(out, &secret_masks));
            }
            bytes::Bytes::from(serde_json::to_vec(&value).map_err(|e| format!("internal: the XML answer as JSON: {e}"))?)
        }
        ResponseFormat::Json => bytes,
    };
    if let Some(filter) = jq {
        // The projection runs in a jq worker process under its own time and memory limits
        // (catalog::jq_worker): a filter that loops, recurses or grows without end is stopped
        // there and never reaches this process.
        let projected = match Box::pin(jq_worker::run(&filter, &json_input)).await {
            Ok(value) => value,
            Err(JqRunError::NotJson(e)) => return Err(mask(&not_json(&content_type, &e), &masks)),
            Err(e) => return Err(mask(&e.to_string(), &masks)),
        };
        let out = off_loop(usize::MAX, move || output::shape_json(projected, max_bytes)).await?;
        return Ok(mask_output(out, &secret_masks));
    }
    let out = off_loop(json_input.len(), move || shape(&json_input, &content_type, max_bytes)).await?;
    Ok(mask_output(out, &secret_masks))
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The answer as an embedded resource: its text (secrets masked) when it is text, else its
/// bytes as a blob.
fn as_embedded_resource(bytes: bytes::Bytes, content_type: &str, uri: String, masks: &[String]) -> ToolOutput {
    let mime = media_type(content_type);
    let mime = if mime.is_empty() { "application/octet-stream".to_owned() } else { mime };
    let textual = mime.starts_with("text/")
        || mime == "application/json"
        || mime == "application/xml"
        || mime.ends_with("+json")
        || mime.ends_with("+xml");
    let (data, kind_word) = match (textual, std::str::from_utf8(&bytes)) {
        (true, Ok(text)) => (bytes::Bytes::from(mask(text, masks)), "text"),
        _ => (bytes, "binary"),
    };
    let text = format!("the answer ({mime}, {} bytes, {kind_word}) is attached as the resource {uri}", data.len());
    ToolOutput {
        structured: None,
        text,
        truncated: false,
        is_error: false,
        media: Some(Content::Beside(Media { kind: MediaKind::Resource(uri), mime_type: mime, data })),
    }
}

/// Runs CPU work on the async worker when its input is small (a blocking-pool hand-off costs
/// more than the work), else on the blocking pool under [`PROCESSING_TIME_LIMIT`].
async fn off_loop<T: Send + 'static>(input_len: usize, work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    if input_len <= INLINE_SHAPING_BYTES {
        return Ok(work());
    }
    match tokio::time::timeout(PROCESSING_TIME_LIMIT, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(_)) => Err("internal error while shaping the response".to_owned()),
        Err(_) => Err(format!("shaping the response did not finish within {}s", PROCESSING_TIME_LIMIT.as_secs())),
    }
}

/// Sends one request and reads its 2xx answer; any other status is an error with an excerpt.
/// How requests authenticate at send time: a token header (bearer file, OAuth) and a signer.
struct Sending<'a> {
    auth: Option<&'a SendAuth>,
    signer: Option<&'a Signer>,
    /// A bearer token made before sending (EKS).
    bearer: Option<&'a str>,
    /// Records or replays the exchange; a replay authenticates nothing (no token file, no
    /// OAuth token, no signature: no credentials are needed, and the recording holds none).
    tape: Option<&'a Tape>,
}

/// Adds the parts of secrets a backend may echo to the masks of an answer, longest first.
fn add_masks(masks: &mut Vec<String>, secrets: Vec<String>) {
    for secret in secrets {
        masks.extend(
            secret_masks(&[(String::new(), secret)]).into_iter().filter(|p| p.len() >= MIN_MASKED_PART && !p.starts_with("Bearer")),
        );
    }
    masks.sort_by_key(|s| std::cmp::Reverse(s.len()));
    masks.dedup();
}

async fn send(
    client: &HttpClient,
    method: &reqwest::Method,
    page: &Page,
    masks: &[String],
    sending: &Sending<'_>,
) -> Result<Answer, String> {
    let url = &page.url;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("the URL scheme `{}` is not http or https; nothing was sent", url.scheme()));
    }
    let host = host_of(url).to_owned();
    // reqwest connects to IP literals without asking the resolver, so they are checked here.
    if let Some(ip) = literal_ip(url) {
        client.policy.check(ip).map_err(|why| format!("refused: {why}"))?;
    }
    let mut header_map = HeaderMap::with_capacity(page.headers.len() + 1);
    for (name, value) in &page.headers {
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
    let (body, content_type) = match &page.body {
        Some(Body::Json(value)) => {
            (Some(serde_json::to_vec(value).map_err(|e| format!("the request body cannot be encoded as JSON: {e}"))?), "application/json")
        }
        Some(Body::Form(fields)) => (Some(encode_form(fields).into_bytes()), "application/x-www-form-urlencoded"),
        None => (None, ""),
    };
    let body = body.map(bytes::Bytes::from);
    crate::telemetry::inject_trace_context(&mut header_map);
    if body.is_some() && !header_map.contains_key(CONTENT_TYPE) {
        header_map.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    let started = std::time::Instant::now();
    // Authentication at send time: a token header (a token file, an OAuth token; a 401 with an
    // OAuth token fetches a new token and sends once more), then the signature, last, over the
    // final method, URL, headers and body. Every secret involved is masked in what comes back.
    let mut secrets: Vec<String> = Vec::new();
    let mut fresh = false;
    let mut response = loop {
        // Only a request that may be sent again (OAuth) keeps a copy of its headers.
        let retry = !fresh && matches!(sending.auth, Some(SendAuth::OAuth2 { .. }));
        let mut headers = if retry { header_map.clone() } else { std::mem::take(&mut header_map) };
        let replaying = sending.tape.is_some_and(Tape::replaying);
        let value = match (sending.bearer, sending.auth) {
            _ if replaying => None,
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, Some(auth)) if !matches!(auth, SendAuth::AwsSigv4 { .. } | SendAuth::Eks { .. }) => {
                Box::pin(connections::http::auth::authorization(client, &client.tokens, auth, fresh)).await.map_err(|e| mask(&e, masks))?
            }
            _ => None,
        };
        if let Some(value) = value {
            let mut header =
                HeaderValue::from_str(&value).map_err(|_| "the token cannot be sent in a header; nothing was sent".to_owned())?;
            header.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, header);
            secrets.push(value);
        }
        let mut builder = client.client.request(method.clone(), url.clone()).headers(headers);
        if let Some(body) = &body {
            builder = builder.body(body.clone()); // `Bytes`: a reference count, not a copy
        }
        let mut built = builder.build().map_err(|e| client.describe(&e, &host))?;
        if let Some(signer) = sending.signer.filter(|_| !replaying) {
            secrets.extend(signer.sign(&mut built)?);
        }
        if let Some(tape) = sending.tape {
            // Each credential sent, and the token after its scheme (`Bearer TOKEN`).
            let tokens = secrets.iter().filter_map(|s| s.split_once(' ').map(|(_, t)| t.trim().to_owned()));
            tape.add_secrets(secrets.iter().cloned().chain(tokens).filter(|s| s.len() >= MIN_MASKED_VALUE));
        }
        let response = tape::send(sending.tape, client, built, &host).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED && matches!(sending.auth, Some(SendAuth::OAuth2 { .. })) && !fresh {
            fresh = true;
            continue;
        }
        break response;
    };
    let status = response.status();
    crate::telemetry::http_response_status(status.as_u16());
    tracing::debug!(%host, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "http response");
    if !status.is_success() {
        let mut all = masks.to_vec();
        for secret in &secrets {
            all.extend(secret_masks(&[(String::new(), secret.clone())]));
        }
        all.sort_by_key(|m| std::cmp::Reverse(m.len()));
        let excerpt = read_excerpt(&mut response, &all).await;
        return Err(status_error(status, &excerpt));
    }
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let links = response.headers().get_all(LINK).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    let bytes = client.read_body(&mut response, &host).await?;
    Ok(Answer { bytes: bytes.into(), content_type, links, secrets })
}

/// Follows a paginated answer: one request per page, each page's items appended, until no
/// next page, `max_pages`, or an error (a repeated token or link, a link to another origin).
/// The result is `{"items": [...], "pages": n}` (`items` projected by `response.jq` when
/// given), plus a `note` when `max_pages` stopped it; the output cap then applies to the whole.
#[allow(clippy::too_many_arguments)]
async fn paginated(
    client: &HttpClient,
    method: &reqwest::Method,
    mut page: Page,
    paginate: &Paginate,
    format: ResponseFormat,
    jq: Option<&JqFilter>,
    max_bytes: usize,
    masks: &[String],
    sending: &Sending<'_>,
) -> Result<(ToolOutput, Vec<String>), String> {
    let origin = page.url.origin();
    let mut tokens: Vec<String> = Vec::new();
    let mut items: Vec<Value> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    if matches!(paginate.next, NextPage::Link) {
        seen.insert(page.url.as_str().to_owned());
    }
    let mut pages: u32 = 0;
    let mut left_more = false;
    loop {
        let answer = send(client, method, &page, masks, sending).await?;
        tokens.extend(answer.secrets.iter().cloned());
        pages += 1;
        if answer.bytes.is_empty() {
            break;
        }
        let json: bytes::Bytes = match format {
            ResponseFormat::Xml => {
                let bytes = answer.bytes.clone();
                let value =
                    off_loop(bytes.len(), move || xml::to_json(&bytes)).await?.map_err(|e| mask(&format!("page {pages}: {e}"), masks))?;
                bytes::Bytes::from(serde_json::to_vec(&value).map_err(|e| format!("internal: the XML answer as JSON: {e}"))?)
            }
            _ => answer.bytes.clone(),
        };
        let page_items = match &paginate.items {
            Some(filter) => Box::pin(jq_worker::run(filter, &json)).await.map_err(|e| page_error(pages, e, &answer.content_type, masks))?,
            None => serde_json::from_slice::<Value>(&json)
                .map_err(|e| mask(&format!("page {pages}: {}", not_json(&answer.content_type, &e.to_string())), masks))?,
        };
        match page_items {
            Value::Array(list) => items.extend(list),
            Value::Null => {}
            other => items.push(other),
        }
        let next = match &paginate.next {
            NextPage::Link => match next_link(&answer.links) {
                None => None,
                Some(target) => {
                    let next = page
                        .url
                        .join(&target)
                        .map_err(|e| format!("page {pages}: the Link header's next URL does not parse ({e}); the call stops"))?;
                    if next.origin() != origin {
                        return Err(format!(
                            "page {pages}: the Link header points the next page to another origin ({}, not {}); credentials never follow a link off the origin, so the call stops",
                            next.origin().ascii_serialization(),
                            origin.ascii_serialization()
                        ));
                    }
                    Some((next.as_str().to_owned(), Value::String(next.as_str().to_owned())))
                }
            },
            NextPage::Token { next, .. } => {
                match Box::pin(jq_worker::run(next, &json)).await.map_err(|e| page_error(pages, e, &answer.content_type, masks))? {
                    Value::Null => None,
                    Value::String(s) if s.is_empty() => None,
                    v @ (Value::String(_) | Value::Number(_)) => Some((v.to_string(), v)),
                    other => {
                        let kind = match other {
                            Value::Array(_) => "several values or an array",
                            Value::Object(_) => "an object",
                            _ => "a boolean",
                        };
                        return Err(format!(
                            "page {pages}: `paginate.next` gave {kind}; it must give one string or number (the next token), or null to stop"
                        ));
                    }
                }
            }
        };
        let Some((key, token)) = next else { break };
        if !seen.insert(key) {
            return Err(format!(
                "page {pages}: the API gave the same next {} as an earlier page; it would loop, so the call stops after {pages} pages",
                if matches!(paginate.next, NextPage::Link) { "link" } else { "token" }
            ));
        }
        if pages >= paginate.max_pages {
            left_more = true;
            break;
        }
        match &paginate.next {
            NextPage::Link => {
                if let Value::String(next) = &token {
                    page.url = url::Url::parse(next).map_err(|e| format!("internal: next link: {e}"))?;
                }
            }
            NextPage::Token { target, .. } => set_token(&mut page, target, token),
        }
    }
    let total = items.len();
    let items = Value::Array(items);
    let items = match jq {
        None => items,
        Some(filter) => {
            let input = serde_json::to_vec(&items).map_err(|e| format!("internal: the pages as JSON: {e}"))?;
            Box::pin(jq_worker::run(filter, &input)).await.map_err(|e| mask(&e.to_string(), masks))?
        }
    };
    let mut result = serde_json::Map::new();
    result.insert("items".to_owned(), items);
    result.insert("pages".to_owned(), Value::from(pages));
    if left_more {
        result.insert(
            "note".to_owned(),
            Value::String(format!(
                "stopped after {pages} pages (max_pages) with {total} items; the API has more: narrow the query, or raise max_pages (at most {MAX_PAGES_LIMIT})"
            )),
        );
    }
    let out = off_loop(usize::MAX, move || output::shape_json(Value::Object(result), max_bytes)).await?;
    Ok((out, tokens))
}

/// A jq run on one page that failed.
fn page_error(page: u32, e: JqRunError, content_type: &str, masks: &[String]) -> String {
    let text = match e {
        JqRunError::NotJson(e) => not_json(content_type, &e),
        other => other.to_string(),
    };
    mask(&format!("page {page}: {text}"), masks)
}

/// Sets the next page's token where `paginate.set` says.
fn set_token(page: &mut Page, target: &TokenTarget, token: Value) {
    let text = match &token {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match target {
        TokenTarget::Query(name) => {
            let kept: Vec<(String, String)> =
                page.url.query_pairs().filter(|(k, _)| k != name).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            page.url.set_query(None);
            let mut pairs = page.url.query_pairs_mut();
            for (k, v) in &kept {
                pairs.append_pair(k, v);
            }
            pairs.append_pair(name, &text);
        }
        TokenTarget::Header(name) => {
            page.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            page.headers.push((name.clone(), text));
        }
        TokenTarget::Form(name) => match &mut page.body {
            Some(Body::Form(fields)) => {
                fields.retain(|(k, _)| k != name);
                fields.push((name.clone(), text));
            }
            body => *body = Some(Body::Form(vec![(name.clone(), text)])),
        },
        TokenTarget::Body(name) => match &mut page.body {
            Some(Body::Json(Value::Object(map))) => {
                map.insert(name.clone(), token);
            }
            body => {
                let mut map = serde_json::Map::new();
                map.insert(name.clone(), token);
                *body = Some(Body::Json(Value::Object(map)));
            }
        },
    }
}

/// The target of the first `rel="next"` link in RFC 8288 `Link` header values
/// (`<url>; rel="next", <url>; rel="last"`; `rel` may hold several space-separated types).
fn next_link(values: &[String]) -> Option<String> {
    for value in values {
        let mut rest = value.as_str();
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let close = after.find('>')?;
            let target = &after[..close];
            let mut params = &after[close + 1..];
            // The parameters run to the next comma outside a quoted string.
            let mut end = params.len();
            let mut quoted = false;
            for (i, c) in params.char_indices() {
                match c {
                    '"' => quoted = !quoted,
                    ',' if !quoted => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            rest = &params[end..];
            params = &params[..end];
            let is_next = params.split(';').any(|param| {
                let mut kv = param.splitn(2, '=');
                let key = kv.next().unwrap_or("").trim();
                let val = kv.next().unwrap_or("").trim().trim_matches('"');
                key.eq_ignore_ascii_case("rel") && val.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(target.trim().to_owned());
            }
        }
    }
    None
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
/// The message of an answer that is not a success. `probe.rs` reads its status from the
/// words "the backend answered HTTP NNN" (a test holds them).
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

/// Whether a content type is JSON: `application/json`, any `+json` type, or AWS's `application/x-amz-json-*`.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    // AWS's JSON protocols answer `application/x-amz-json-1.0` and `-1.1`.
    essence == "application/json" || essence.ends_with("+json") || essence.starts_with("application/x-amz-json-")
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
    fn status_errors_name_the_status_as_probe_reads_it() {
        let message = status_error(reqwest::StatusCode::FORBIDDEN, "");
        assert!(message.starts_with("the backend answered HTTP 403 Forbidden;"), "{message}");
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(is_json("application/x-amz-json-1.1"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }

    #[test]
    fn next_links() {
        let github = vec![r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#.to_owned()];
        assert_eq!(next_link(&github).as_deref(), Some("https://api.github.com/x?page=2"));
        let first_last = vec![r#"</a?p=1>; rel="first"; title="a, b", </a?p=3>; rel="prev next""#.to_owned()];
        assert_eq!(next_link(&first_last).as_deref(), Some("/a?p=3"));
        assert_eq!(next_link(&[r#"</a>; rel="last""#.to_owned()]), None);
        assert_eq!(next_link(&[]), None);
    }

    #[test]
    fn masks_header_values_and_their_parts() {
        let masks = secret_masks(&[("Authorization".into(), "Bearer s3cr3t-token".into())]);
        assert_eq!(mask("got Bearer s3cr3t-token here", &masks), "got *** here");
        assert_eq!(mask("token s3cr3t-token is bad", &masks), "token *** is bad");
    }
}
