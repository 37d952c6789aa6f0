//! Authentication on the Streamable HTTP transport, and per-tool scopes.
//!
//! Two kinds of bearer token are accepted, alone or together:
//! - static tokens from a file (`--auth-tokens`), one `NAME TOKEN [SCOPE,SCOPE...]` per line
//!   (`tokens.rs`);
//! - JWTs from an OAuth 2.1 authorization server (`--oauth-issuer`, resource-server mode of the
//!   MCP authorization spec), checked against the server's JWKS, issuer, audience and expiry
//!   (`oauth.rs`).
//!
//! [`protect`] puts one axum middleware in front of every route but `/healthz`, `/readyz` and
//! `/.well-known/...` (deny by default, so `/mcp`, `/status` and `/metrics` all need a token),
//! serves the Protected Resource Metadata (RFC 9728), and answers a request without a valid
//! token with 401 and `WWW-Authenticate: Bearer resource_metadata="..."`. An authenticated
//! request carries an [`Identity`] in its extensions; rmcp hands the request's `Parts` to the
//! handler, where [`identity`] finds it again, and the handler hides and refuses the tools
//! whose scopes the caller lacks. Without authentication configured nothing changes: no
//! identity, every tool. stdio is never authenticated (it is the local user). Scopes are
//! in `scopes.rs`, the owner of each session in `sessions.rs`.
//!
//! Secrets: a static token is kept only as its SHA-256 digest, compared in constant time
//! against every entry; no token, nor any line of the tokens file, ever reaches a log or an
//! error message.
//!
//! Files: this module watches no file. [`Auth::files`] names the tokens file and a JWKS file,
//! and whoever watches them (`reload/`) calls [`Auth::reload_file`] when one changes;
//! [`Auth::reload`] re-reads both (SIGHUP). A JWKS URL keeps its own refresh timer.
//!
//! Files of this module, in dependency order: `scopes.rs`, `sessions.rs`, then `tokens.rs` and
//! `oauth.rs` (which use `scopes.rs`), then this one.

mod oauth;
mod scopes;
mod sessions;
mod tokens;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use rmcp::RoleServer;
use rmcp::service::RequestContext;
use serde_json::json;

use self::oauth::OAuth;
pub use self::oauth::OAuthConfig;
pub use self::scopes::{HiddenTool, Identity, callable_tool, catalog_scopes, log_forbidden, may_see, scoped_summary, visible_tools};
use self::sessions::Sessions;
use self::tokens::StaticTokens;
use crate::catalog::Catalog;
use crate::runtime::Runtime;

/// Longest bearer token looked at.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The RFC 9728 well-known path.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
/// The MCP session header.
const SESSION_HEADER: &str = "mcp-session-id";

/// The identity of the HTTP request behind an MCP request; `None` on stdio and on HTTP
/// without authentication.
pub fn identity(context: &RequestContext<RoleServer>) -> Option<&Identity> {
    request_identity(context.extensions.get::<http::request::Parts>())
}

/// The authenticated identity of an HTTP request, if any.
pub fn request_identity(parts: Option<&http::request::Parts>) -> Option<&Identity> {
    parts.and_then(|parts| parts.extensions.get::<Identity>())
}

/// The name an authentication layer gives a caller; it puts this into the HTTP request's
/// extensions.
#[derive(Clone, Debug)]
pub struct CallerName(pub String);

/// A problem with the authentication settings or files.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(String);

/// What `serve` was told about authentication.
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    /// `--auth-tokens`: the static tokens file.
    pub tokens_file: Option<PathBuf>,
    /// `--oauth-*`: OAuth resource-server mode.
    pub oauth: Option<OAuthConfig>,
    /// `--oauth-resource`: this server's resource identifier (its `/mcp` URL as clients reach
    /// it); `http://<bind address>/mcp` when absent.
    pub resource: Option<String>,
}

/// The authentication state of the HTTP transport; reloadable.
pub struct Auth {
    tokens: Option<StaticTokens>,
    oauth: Option<OAuth>,
    /// The resource identifier published in the metadata.
    resource: String,
    /// Where the metadata is (the `resource_metadata` of a 401).
    metadata_url: String,
    sessions: Mutex<Sessions>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("static_tokens", &self.tokens.is_some())
            .field("oauth", &self.oauth.is_some())
            .field("resource", &self.resource)
            .finish()
    }
}

impl Auth {
    /// Reads the tokens file and the JWKS (fetching it when it is a URL). Fails on any error
    /// in them: a server that starts must be able to authenticate someone.
    pub async fn new(config: AuthConfig, bind: SocketAddr) -> Result<Self, AuthError> {
        let resource = match &config.resource {
            Some(r) => r.trim().to_owned(),
            None if bind.ip().is_unspecified() => {
                return Err(AuthError(format!(
                    "--oauth-resource is required with --http {bind}: the resource identifier is the URL clients use to reach /mcp, such as https://mcp.example.com/mcp"
                )));
            }
            None => format!("http://{bind}/mcp"),
        };
        let metadata_url = metadata_url(&resource)?;
        let tokens = match &config.tokens_file {
            Some(path) => Some(StaticTokens::load(path).map_err(AuthError)?),
            None => None,
        };
        let oauth = match config.oauth {
            Some(o) => Some(OAuth::new(o).await.map_err(AuthError)?),
            None => None,
        };
        if tokens.as_ref().is_some_and(|t| t.is_empty()) && oauth.is_none() {
            tracing::warn!("the tokens file holds no token: every request to /mcp will be refused");
        }
        Ok(Auth { tokens, oauth, resource, metadata_url, sessions: Mutex::new(Sessions::default()) })
    }

    /// Re-reads the tokens file and a JWKS file (a JWKS URL is fetched again on the next
    /// request). A file with errors is reported and the last good one stays in force.
    pub fn reload(&self) {
        if let Some(t) = &self.tokens {
            t.reload();
        }
        if let Some(o) = &self.oauth {
            o.reload();
        }
    }

    /// The files authentication reads: the tokens file and a JWKS file (not a JWKS URL).
    /// Whoever watches them calls [`Auth::reload_file`] when one changes.
    pub fn files(&self) -> Vec<PathBuf> {
        let tokens = self.tokens.as_ref().map(|t| t.path().to_owned());
        let jwks = self.oauth.as_ref().and_then(|o| o.file()).map(Path::to_owned);
        tokens.into_iter().chain(jwks).collect()
    }

    /// Re-reads `path` if it is one of [`Auth::files`]. A file with errors is reported and the
    /// last good one stays in force; a file whose content did not change changes nothing.
    pub fn reload_file(&self, path: &Path) {
        if let Some(t) = self.tokens.as_ref().filter(|t| t.path() == path) {
            t.reload();
        }
        if let Some(o) = self.oauth.as_ref().filter(|o| o.file() == Some(path)) {
            o.reload();
        }
    }

    /// The URL of the Protected Resource Metadata.
    pub fn resource_metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The Protected Resource Metadata document (RFC 9728).
    pub fn metadata(&self, catalog: &Catalog) -> serde_json::Value {
        let mut doc = json!({
            "resource": self.resource,
            "bearer_methods_supported": ["header"],
            "scopes_supported": catalog_scopes(catalog),
            "resource_name": "toolwright",
        });
        if let Some(o) = &self.oauth {
            doc["authorization_servers"] = json!([o.issuer]);
        }
        doc
    }

    /// Who sent these headers, or why nobody.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Refusal> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else { return Err(Refusal::Missing) };
        if values.next().is_some() {
            return Err(Refusal::BadRequest("more than one Authorization header"));
        }
        let Ok(value) = value.to_str() else { return Err(Refusal::Invalid("the Authorization header is not ASCII")) };
        let value = value.trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Another scheme is no bearer token at all (RFC 6750 §3.1: no error code).
            return Err(Refusal::Missing);
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(Refusal::Invalid("the bearer token is empty"));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::Invalid("the bearer token is too long"));
        }
        if let Some(tokens) = &self.tokens
            && let Some(identity) = tokens.check(token)
        {
            return Ok(Caller { principal: format!("token:{}", identity.name), identity });
        }
        match &self.oauth {
            Some(oauth) if token.split('.').count() == 3 => {
                let identity = oauth.verify(token).await.map_err(Refusal::Invalid)?;
                Ok(Caller { principal: format!("jwt:{}", identity.name), identity })
            }
            Some(_) => Err(Refusal::Invalid("the token is neither a known token nor a JWT")),
            None => Err(Refusal::Invalid("the token is not known")),
        }
    }

    fn refusal(&self, refusal: &Refusal) -> Response {
        let (status, challenge, body) = match refusal {
            Refusal::Missing => (
                StatusCode::UNAUTHORIZED,
                format!("Bearer resource_metadata=\"{}\"", self.metadata_url),
                json!({"error": "unauthorized", "error_description": "a bearer token is required (Authorization: Bearer ...)"}),
            ),
            Refusal::Invalid(why) => (
                StatusCode::UNAUTHORIZED,
                format!(
                    "Bearer resource_metadata=\"{}\", error=\"invalid_token\", error_description=\"{}\"",
                    self.metadata_url,
                    quoted_safe(why)
                ),
                json!({"error": "invalid_token", "error_description": why}),
            ),
            Refusal::BadRequest(why) => (
                StatusCode::BAD_REQUEST,
                format!(
                    "Bearer resource_metadata=\"{}\", error=\"invalid_request\", error_description=\"{}\"",
                    self.metadata_url,
                    quoted_safe(why)
                ),
                json!({"error": "invalid_request", "error_description": why}),
            ),
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            headers.insert(header::WWW_AUTHENTICATE, v);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // The request body was not read; a kept-alive connection would carry it into the
        // next request (see `refusals` in http.rs).
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

/// The `resource_metadata` URL of a resource (RFC 9728 §3.1: the well-known path goes
/// between the host and the resource's path).
fn metadata_url(resource: &str) -> Result<String, AuthError> {
    let url = url::Url::parse(resource).map_err(|e| AuthError(format!("--oauth-resource `{resource}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || url.fragment().is_some() || url.query().is_some() {
        return Err(AuthError(format!(
            "--oauth-resource `{resource}` must be an http(s) URL without query or fragment, such as https://mcp.example.com/mcp"
        )));
    }
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}{WELL_KNOWN}{path}", url.origin().ascii_serialization()))
}

/// A string fit for a quoted header parameter: printable ASCII without `"` and `\`.
fn quoted_safe(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '?' }).collect()
}

/// An authenticated caller.
struct Caller {
    identity: Identity,
    /// Kind and name; a session belongs to the principal that opened it.
    principal: String,
}

/// Why a request is refused.
#[derive(Debug)]
enum Refusal {
    /// No bearer token: 401 without an error code.
    Missing,
    /// A bearer token that does not authenticate: 401 `invalid_token`.
    Invalid(&'static str),
    /// A malformed request: 400 `invalid_request`.
    BadRequest(&'static str),
}

// ----------------------------------------------------------------------------- axum

/// Puts `auth` in front of `app` when there is one (see the module doc), and serves the
/// Protected Resource Metadata (its scopes from the catalog `runtime` serves). Without it,
/// returns `app` unchanged.
pub fn protect(app: Router, auth: Option<Arc<Auth>>, runtime: &Arc<Runtime>) -> Router {
    let Some(auth) = auth else {
        let scoped = scoped_summary(&runtime.current().catalog);
        if !scoped.is_empty() {
            tracing::warn!(
                scoped = scoped.as_str(),
                "tools, prompts or resources declare `auth.scopes` but HTTP authentication is off: every caller sees and can use them (use --auth-tokens or --oauth-issuer)"
            );
        }
        return app;
    };
    let metadata = Router::new()
        .route(WELL_KNOWN, get(metadata))
        .route(&format!("{WELL_KNOWN}/{{*resource}}"), get(metadata))
        .with_state((auth.clone(), runtime.clone()));
    app.merge(metadata).layer(axum::middleware::from_fn_with_state(auth, authenticate))
}

/// Paths served without a token: probes and the metadata a client needs to get one.
fn is_open(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz") || path.starts_with("/.well-known/")
}

async fn metadata(State((auth, runtime)): State<(Arc<Auth>, Arc<Runtime>)>) -> Response {
    let doc = auth.metadata(&runtime.current().catalog);
    let mut response = Json(doc).into_response();
    // Public by design; browser-based clients read it cross-origin.
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn authenticate(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    if is_open(request.uri().path()) {
        return next.run(request).await;
    }
    let caller = match auth.authenticate(request.headers()).await {
        Ok(c) => c,
        Err(refusal) => {
            match &refusal {
                // The first step of every OAuth client: not worth more than a debug line.
                Refusal::Missing => tracing::debug!(path = %request.uri().path(), "request refused: no bearer token"),
                Refusal::Invalid(why) | Refusal::BadRequest(why) => {
                    tracing::warn!(path = %request.uri().path(), reason = why, "request refused: bad bearer token")
                }
            }
            return auth.refusal(&refusal);
        }
    };
    let session = request.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(id) = &session
        && !auth.sessions.lock().is_ok_and(|s| s.allows(id, &caller.principal))
    {
        tracing::warn!(caller = %caller.identity.name, "request refused: the session was opened by another caller");
        let mut response = (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response();
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    tracing::debug!(caller = %caller.identity.name, path = %request.uri().path(), "authenticated");
    let delete = request.method() == Method::DELETE;
    request.extensions_mut().insert(CallerName(caller.identity.name.clone()));
    request.extensions_mut().insert(caller.identity);
    let response = next.run(request).await;
    if response.status().is_success()
        && let Ok(mut sessions) = auth.sessions.lock()
    {
        match &session {
            None => {
                if let Some(new) = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
                    sessions.bind(new, &caller.principal);
                }
            }
            Some(id) if delete => sessions.unbind(id),
            Some(_) => {}
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_well_known_path() {
        assert_eq!(
            metadata_url("http://127.0.0.1:8000/mcp").ok().as_deref(),
            Some("http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            metadata_url("https://mcp.example.com").ok().as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            metadata_url("https://example.com:443/tools/mcp/").ok().as_deref(),
            Some("https://example.com/.well-known/oauth-protected-resource/tools/mcp")
        );
        assert!(metadata_url("ftp://example.com/mcp").is_err());
        assert!(metadata_url("https://example.com/mcp?x=1").is_err());
    }
}
