//! The `tools/call` and `tools/list` fast path of the Streamable HTTP transport.
//!
//! rmcp handles a request that needs no session by parsing it into its message enum,
//! serialising it back into a `Value` to check the SEP-2243 headers, and building a whole
//! service (tasks, channels, a cancellation tree) for that one request: about a fifth of
//! the server's CPU per call. This layer sits in front of rmcp at `/mcp` and answers the
//! common case itself: a well-formed `tools/call` that rmcp would accept and route to the
//! handler without a session. Everything else (another method, a session, any header or
//! field that is unusual, any check that might fail, progress, a tool the caller may not
//! see) goes to rmcp untouched, so rmcp stays the one that refuses and explains. The answer
//! is built from rmcp's own types and serialised the way rmcp does; a test sends the same
//! requests with and without this path and compares status, headers and bodies.
//!
//! `tools/list` (without a cursor and without authentication, whose scopes filter the list)
//! is answered from the list serialised once per catalog: for 1,000 tools rmcp would clone
//! and serialise 600 KB of descriptions for every request.
//!
//! Set `TOOLWRIGHT_HTTP_FAST_PATH=0` to send every request through rmcp.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ProtocolVersion, RequestId, RequestMetaObject, ServerJsonRpcMessage, ServerResult,
};
use serde::Deserialize;

use super::auth;
use super::guard::Guard;
use super::state::{CallSite, ServerState};
use crate::catalog::JsonObject;

/// What the fast path needs to know about the transport's settings.
pub struct FastPath {
    shared: Arc<ServerState>,
    /// `--stateless`: 2025 revisions' requests need no session either.
    stateless: bool,
    /// The `Host` allow list, read as rmcp reads it.
    guard: Guard,
    max_body_bytes: usize,
}

impl FastPath {
    /// The fast path for a transport with these settings (those of `http::HttpOptions`), or
    /// `None` when it is turned off (`TOOLWRIGHT_HTTP_FAST_PATH=0`).
    pub fn new(shared: Arc<ServerState>, stateless: bool, allowed_hosts: &[String], max_body_bytes: usize) -> Option<Arc<Self>> {
        if std::env::var("TOOLWRIGHT_HTTP_FAST_PATH").is_ok_and(|v| v.trim() == "0") {
            return None;
        }
        // Requests with an Origin are left to rmcp, so only the Host list matters here.
        let guard = Guard::new(allowed_hosts, &[]);
        Some(Arc::new(FastPath { shared, stateless, guard, max_body_bytes }))
    }
}

/// A `tools/call` request with nothing else in it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Call<'a> {
    jsonrpc: &'a str,
    id: RequestId,
    method: &'a str,
    params: Params,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    name: String,
    #[serde(default)]
    arguments: Option<JsonObject>,
    #[serde(rename = "_meta", default)]
    meta: Option<RequestMetaObject>,
}

/// A `tools/list` request with nothing else in it (no cursor: every tool fits one page).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct List<'a> {
    jsonrpc: &'a str,
    id: RequestId,
    method: &'a str,
    #[serde(default)]
    params: Option<ListParams>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(rename = "_meta", default)]
    meta: Option<RequestMetaObject>,
}

/// What the fast path answers.
enum Eligible {
    /// A `tools/call`.
    Call { id: RequestId, params: Box<CallToolRequestParams>, meta: RequestMetaObject, modern: bool },
    /// A `tools/list` of every tool.
    List { id: RequestId, modern: bool },
}

/// The middleware: answers what it can, hands the rest to rmcp.
pub async fn layer(State(fast): State<Arc<FastPath>>, request: Request, next: Next) -> Response {
    let Some(limit) = head_is_eligible(&fast, request.method(), request.headers()).filter(|_| request.uri().path() == "/mcp") else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(error = %e, "could not read a request body");
            return plain(StatusCode::BAD_REQUEST, "Bad Request: the request body could not be read");
        }
    };
    match eligible(&fast, &parts, &bytes) {
        Some(Eligible::Call { id, params, meta, modern }) => answer(&fast.shared, parts, id, *params, meta, modern).await,
        Some(Eligible::List { id, modern }) => list(&fast.shared, &id, modern),
        None => next.run(Request::from_parts(parts, Body::from(bytes))).await,
    }
}

/// The body limit when the request's method and headers are those of a call the fast path
/// may answer; `None` sends the request to rmcp.
fn head_is_eligible(fast: &FastPath, method: &Method, headers: &HeaderMap) -> Option<usize> {
    if method != Method::POST || headers.contains_key(header::ORIGIN) || headers.contains_key("mcp-session-id") {
        return None;
    }
    host_allowed(fast, headers).then_some(())?;
    accepts_json_and_sse(headers).then_some(())?;
    let content_type = single(headers, header::CONTENT_TYPE.as_str())?;
    let essence = content_type.split_once(';').map_or(content_type, |(e, _)| e);
    essence.trim().eq_ignore_ascii_case("application/json").then_some(())?;
    let length: usize = single(headers, header::CONTENT_LENGTH.as_str())?.parse().ok()?;
    (length <= fast.max_body_bytes).then_some(length)
}

fn host_allowed(fast: &FastPath, headers: &HeaderMap) -> bool {
    fast.guard.host_allowed(headers)
}

/// `Accept` names both media types, without parameters that could weigh them out.
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let (mut json, mut sse) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { return false };
        for entry in value.split(',') {
            let entry = entry.trim();
            if entry.contains(['"', ';']) {
                return false;
            }
            json |= entry.eq_ignore_ascii_case("application/json");
            sse |= entry.eq_ignore_ascii_case("text/event-stream");
        }
    }
    json && sse
}

/// The one value of a header, as text; `None` when absent, repeated or not text.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    values.next().is_none().then(|| first.to_str().ok()).flatten()
}

/// The request, when the body and head are a `tools/call` or `tools/list` that rmcp would
/// hand to the handler without a session and without sending anything before the result.
fn eligible(fast: &FastPath, parts: &http::request::Parts, body: &[u8]) -> Option<Eligible> {
    if let Ok(call) = serde_json::from_slice::<Call<'_>>(body) {
        if call.jsonrpc != "2.0" || call.method != "tools/call" {
            return None;
        }
        let meta = call.params.meta.unwrap_or_default();
        let modern = version_fits(fast, &parts.headers, &meta, "tools/call", Some(&call.params.name))?;
        // rmcp refuses a tool the caller may not see (and says so in the log); a tool whose
        // schema asks for `Mcp-Param-*` headers has them checked by rmcp.
        let loaded = fast.shared.runtime().current();
        let tool = loaded.catalog.tool(&call.params.name)?;
        // A `task:` tool's call may answer with a task, which depends on the client's
        // declared capabilities: rmcp's handler decides.
        if auth::request_identity(Some(parts)).is_some_and(|id| !id.allows(&tool.scopes))
            || fast.shared.wants_param_headers(&loaded, &tool.name)
            || tool.task.is_some()
            || tool.confirm.is_some()
            || tool.action.asks()
        {
            return None;
        }
        let mut params = CallToolRequestParams::new(call.params.name);
        params.arguments = call.params.arguments;
        return Some(Eligible::Call { id: call.id, params: Box::new(params), meta, modern });
    }
    let list: List<'_> = serde_json::from_slice(body).ok()?;
    if list.jsonrpc != "2.0" || list.method != "tools/list" {
        return None;
    }
    let meta = list.params.and_then(|p| p.meta).unwrap_or_default();
    let modern = version_fits(fast, &parts.headers, &meta, "tools/list", None)?;
    // An authenticated caller sees only the tools its scopes allow: rmcp's handler filters.
    if auth::request_identity(Some(parts)).is_some() {
        return None;
    }
    Some(Eligible::List { id: list.id, modern })
}

/// Whether the request's protocol version, metadata and SEP-2243 headers are ones rmcp
/// accepts without a session and without streaming; `Some(true)` for 2026-07-28.
fn version_fits(fast: &FastPath, headers: &HeaderMap, meta: &RequestMetaObject, method: &str, name: Option<&str>) -> Option<bool> {
    let version = single(headers, "mcp-protocol-version")?;
    let modern = version == ProtocolVersion::V_2026_07_28.as_str();
    if modern {
        // Per-request metadata complete and naming the header's version; SEP-2243 headers
        // present once each and agreeing with the body.
        if !meta.missing_required_keys(&ProtocolVersion::V_2026_07_28).is_empty()
            || meta.protocol_version().is_none_or(|v| v.as_str() != version)
            || single(headers, "mcp-method") != Some(method)
            || headers.get_all("mcp-name").iter().count() != usize::from(name.is_some())
            || name.is_some_and(|n| single(headers, "mcp-name") != Some(n))
        {
            return None;
        }
    } else if !(fast.stateless
        && version < ProtocolVersion::V_2026_07_28.as_str()
        && ProtocolVersion::KNOWN_VERSIONS.iter().any(|v| v.as_str() == version)
        && !meta.contains_key("io.modelcontextprotocol/protocolVersion"))
    {
        return None;
    }
    // Progress goes out as notifications before the result, which rmcp streams.
    // So do log messages (a 2026-07-28 request's `logLevel`).
    if meta.contains_key("progressToken")
        || meta.contains_key("io.modelcontextprotocol/logLevel")
        || headers.keys().any(|k| k.as_str().starts_with("mcp-param-"))
    {
        return None;
    }
    Some(modern)
}

/// Answers a `tools/list` from the catalog's serialised list.
fn list(shared: &ServerState, id: &RequestId, modern: bool) -> Response {
    let (result, id) = match (shared.list_result_json(modern), serde_json::to_vec(id)) {
        (Ok(result), Ok(id)) => (result, id),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "could not serialise a tools/list result");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error: the result could not be serialised");
        }
    };
    tracing::debug!("tools/list on the fast path");
    let mut body = Vec::with_capacity(result.len() + id.len() + 40);
    body.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    body.extend_from_slice(&id);
    body.extend_from_slice(br#","result":"#);
    body.extend_from_slice(&result);
    body.push(b'}');
    json_response(body)
}

fn json_response(body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Runs the call on its own task, as rmcp does: a client that goes away cancels it, and
/// the call still ends properly (metrics, audit line, a Logs Insights query stopped).
async fn answer(
    shared: &Arc<ServerState>,
    parts: http::request::Parts,
    id: RequestId,
    params: CallToolRequestParams,
    meta: RequestMetaObject,
    modern: bool,
) -> Response {
    tracing::debug!(tool = %params.name, "tools/call on the fast path");
    let ct = tokio_util::sync::CancellationToken::new();
    let on_drop = ct.clone().drop_guard();
    let task = tokio::spawn({
        let shared = shared.clone();
        async move {
            let site = CallSite { parts: Some(&parts), meta: &meta, id: &id, ct: &ct, progress: None, ask: None, log: None, answer: None };
            let result = shared.call_tool(&params, site).await;
            let message = match result {
                Ok(result) => {
                    // What rmcp's handler does to every result for the negotiated version.
                    let mut result = ServerResult::from(CallToolResponse::from(result));
                    if modern {
                        result.fill_missing_cache_hints();
                    } else {
                        result.strip_result_type_for_legacy_peer();
                        result.strip_non_object_output_for_legacy_peer();
                    }
                    ServerJsonRpcMessage::response(result, id)
                }
                Err(error) => ServerJsonRpcMessage::error(error, Some(id)),
            };
            serde_json::to_vec(&message)
        }
    });
    let joined = task.await;
    on_drop.disarm();
    match joined {
        Ok(Ok(body)) => json_response(body),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not serialise a tools/call result");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error: the result could not be serialised")
        }
        Err(e) => {
            tracing::error!(error = %e, "a tools/call task failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error: the call failed")
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}
