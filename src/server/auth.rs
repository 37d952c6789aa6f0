//! Authentication on the Streamable HTTP transport, and per-tool scopes.
//!
//! Two kinds of bearer token are accepted, alone or together:
//! - static tokens from a file (`--auth-tokens`), one `NAME TOKEN [SCOPE,SCOPE...]` per line;
//! - JWTs from an OAuth 2.1 authorization server (`--oauth-issuer`, resource-server mode of the
//!   MCP authorization spec), checked against the server's JWKS, issuer, audience and expiry.
//!
//! [`protect`] puts one axum middleware in front of every route but `/healthz`, `/readyz` and
//! `/.well-known/...` (deny by default, so `/mcp`, `/status` and `/metrics` all need a token),
//! serves the Protected Resource Metadata (RFC 9728), and answers a request without a valid
//! token with 401 and `WWW-Authenticate: Bearer resource_metadata="..."`. An authenticated
//! request carries an [`Identity`] in its extensions; rmcp hands the request's `Parts` to the
//! handler, where [`identity`] finds it again, and the handler hides and refuses the tools
//! whose scopes the caller lacks. Without authentication configured nothing changes: no
//! identity, every tool. stdio is never authenticated (it is the local user).
//!
//! Secrets: a static token is kept only as its SHA-256 digest, compared in constant time
//! against every entry; no token, nor any line of the tokens file, ever reaches a log or an
//! error message.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use rmcp::RoleServer;
use rmcp::model::Tool;
use rmcp::service::RequestContext;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Shared;
use crate::catalog::Catalog;
use crate::runtime::UnknownTool;

/// How often, at most, a request checks whether the tokens or JWKS file changed on disk.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// Shortest wait between two JWKS fetches caused by a token whose key is not in the set.
const MIN_REFETCH: Duration = Duration::from_secs(30);
/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Longest bearer token looked at.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Shortest static token accepted in the tokens file.
const MIN_TOKEN_CHARS: usize = 16;
/// Sessions remembered with their owner; the oldest are forgotten past this.
const MAX_SESSIONS: usize = 100_000;
/// The RFC 9728 well-known path.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
/// The MCP session header.
const SESSION_HEADER: &str = "mcp-session-id";
/// Signature algorithms accepted on JWTs: asymmetric only, so a public key can never be
/// used as an HMAC secret.
const JWT_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Who made an HTTP request, as the authentication layer established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// For logs: the token's name in the tokens file, or the JWT's `sub` (else `client_id`).
    pub name: String,
    /// Scopes granted: the token's scopes in the file, or the JWT's `scope`/`scp` claim.
    pub scopes: Vec<String>,
}

impl Identity {
    /// Whether the identity holds every scope in `required` (`*`, which only the tokens file
    /// can grant, holds them all).
    pub fn allows(&self, required: &[String]) -> bool {
        required.iter().all(|r| self.scopes.iter().any(|s| s == r || s == "*"))
    }
}

/// The identity of the HTTP request behind an MCP request; `None` on stdio and on HTTP
/// without authentication.
pub fn identity(context: &RequestContext<RoleServer>) -> Option<&Identity> {
    request_identity(context.extensions.get::<http::request::Parts>())
}

/// The authenticated identity of an HTTP request, if any.
pub fn request_identity(parts: Option<&http::request::Parts>) -> Option<&Identity> {
    parts.and_then(|parts| parts.extensions.get::<Identity>())
}

/// The tools of `tools` (MCP descriptions of `catalog`'s tools) that `identity` may see.
pub fn visible_tools(catalog: &Catalog, identity: &Identity, tools: &[Tool]) -> Vec<Tool> {
    tools.iter().filter(|t| catalog.tool(&t.name).is_none_or(|c| identity.allows(&c.scopes))).cloned().collect()
}

/// Refuses a call that the caller may not make. A tool whose scopes the caller lacks is
/// answered exactly like an unknown tool (and the did-you-mean hint names visible tools
/// only), so a caller learns nothing about tools it cannot see; the server log says why.
/// `None`: go ahead (also when there is no identity, or the tool is simply unknown to
/// everybody, which the caller may then learn with a hint among its visible tools).
pub fn refuse_call(catalog: &Catalog, name: &str, identity: Option<&Identity>) -> Option<UnknownTool> {
    let id = identity?;
    let tool = catalog.tool(name);
    if tool.is_some_and(|t| id.allows(&t.scopes)) {
        return None;
    }
    match tool {
        Some(t) => {
            let missing: Vec<&str> = t.scopes.iter().filter(|s| !id.allows(std::slice::from_ref(*s))).map(String::as_str).collect();
            tracing::warn!(target: "toolwright::audit", caller = id.name.as_str(), tool = %name, missing_scopes = ?missing, outcome = "forbidden", "call");
        }
        None => tracing::info!(target: "toolwright::audit", caller = id.name.as_str(), tool = %name, outcome = "unknown-tool", "call"),
    }
    let visible = catalog.tools().iter().filter(|t| id.allows(&t.scopes)).map(|t| t.name.as_str());
    Some(UnknownTool { name: name.to_owned(), suggestion: crate::util::did_you_mean(name, visible).map(str::to_owned) })
}

/// Every scope named in the catalog, sorted (the metadata's `scopes_supported`).
pub fn catalog_scopes(catalog: &Catalog) -> Vec<String> {
    let mut all: Vec<String> = catalog.tools().iter().flat_map(|t| t.scopes.iter().cloned()).collect::<HashSet<_>>().into_iter().collect();
    all.sort();
    all
}

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

/// OAuth resource-server settings.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// The authorization server; a JWT's `iss` must equal it exactly.
    pub issuer: String,
    /// A JWT's `aud` must contain this.
    pub audience: String,
    /// The JWKS: a file path, or an `https://` URL (`http://` on loopback only).
    pub jwks: String,
    /// How often a JWKS fetched from a URL is fetched again.
    pub jwks_refresh: Duration,
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
            Some(path) => Some(StaticTokens::load(path)?),
            None => None,
        };
        let oauth = match config.oauth {
            Some(o) => Some(OAuth::new(o).await?),
            None => None,
        };
        if tokens.as_ref().is_some_and(|t| t.table.load().entries.is_empty()) && oauth.is_none() {
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

/// Printable, bounded text for logs from a claim the token's issuer chose.
fn log_safe(s: &str) -> String {
    s.chars().take(256).map(|c| if c.is_control() { '?' } else { c }).collect()
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

// ----------------------------------------------------------------------------- files on disk

/// What identifies a file's version cheaply: modification time, length and inode (which a
/// Kubernetes Secret or ConfigMap swap changes through its symlinks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let ino = 0;
    Some(Stamp { modified: meta.modified().ok(), len: meta.len(), ino })
}

/// A file re-read when it changes: requests look at its stamp at most once per
/// [`CHECK_EVERY`], so a rotated token takes effect within about a second without a signal.
struct FileWatch {
    path: PathBuf,
    state: Mutex<(Instant, Option<Stamp>)>,
}

impl FileWatch {
    fn new(path: &Path) -> Self {
        FileWatch { path: path.to_owned(), state: Mutex::new((Instant::now(), stamp(path))) }
    }

    /// Whether the file looks changed since it was last read (and remembers the new stamp).
    fn due(&self) -> bool {
        // Another request checking right now is as good as this one checking.
        let Ok(mut state) = self.state.try_lock() else { return false };
        if state.0.elapsed() < CHECK_EVERY {
            return false;
        }
        state.0 = Instant::now();
        let now = stamp(&self.path);
        if now == state.1 {
            return false;
        }
        state.1 = now;
        true
    }

    /// Reads the file, remembering its stamp first (a change while reading is then seen by
    /// the next check).
    fn read(&self) -> Result<Vec<u8>, String> {
        if let Ok(mut state) = self.state.lock() {
            state.1 = stamp(&self.path);
        }
        std::fs::read(&self.path).map_err(|e| format!("cannot read {}: {e}", self.path.display()))
    }
}

// ----------------------------------------------------------------------------- static tokens

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

struct StaticTokens {
    watch: FileWatch,
    table: ArcSwap<TokenTable>,
}

impl StaticTokens {
    fn load(path: &Path) -> Result<Self, AuthError> {
        let watch = FileWatch::new(path);
        let bytes = watch.read().map_err(AuthError)?;
        let table = parse_tokens(&bytes)
            .map_err(|errors| AuthError(format!("{}: {}", path.display(), errors.join(&format!("\n{}: ", path.display())))))?;
        tracing::info!(file = %path.display(), tokens = table.entries.len(), names = ?table.entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), "bearer tokens loaded");
        Ok(StaticTokens { watch, table: ArcSwap::from_pointee(table) })
    }

    fn reload(&self) {
        let path = self.watch.path.display().to_string();
        let bytes = match self.watch.read() {
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
    fn check(&self, token: &str) -> Option<Identity> {
        if self.watch.due() {
            self.reload();
        }
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

// ----------------------------------------------------------------------------- OAuth / JWT

/// A key that can check signatures.
struct VerifyKey {
    kid: Option<String>,
    /// The JWK's `alg`, when it names one: the only algorithm the key is used with then.
    alg: Option<Algorithm>,
    family: AlgorithmFamily,
    key: DecodingKey,
}

impl VerifyKey {
    fn fits(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        self.family == alg.family() && self.alg.is_none_or(|a| a == alg) && kid.is_none_or(|k| self.kid.as_deref() == Some(k))
    }
}

struct KeySet {
    keys: Vec<VerifyKey>,
    loaded: Instant,
    /// SHA-256 of a JWKS file, to tell a real change from a touch.
    content: Option<[u8; 32]>,
}

/// Parses a JWKS, keeping the keys usable for signatures and skipping the rest (encryption
/// keys, symmetric keys, unknown key types) with a warning. Fails when none is left.
fn parse_jwks(bytes: &[u8]) -> Result<Vec<VerifyKey>, String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
    let Some(list) = doc.get("keys").and_then(|k| k.as_array()) else { return Err("the JWKS has no `keys` array".to_owned()) };
    let mut keys = Vec::new();
    for (i, value) in list.iter().enumerate() {
        let jwk: Jwk = match serde_json::from_value(value.clone()) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(index = i, error = %e, "JWKS key skipped: not a JWK this server reads");
                continue;
            }
        };
        let kid = jwk.common.key_id.clone();
        let skip = |why: &str| tracing::warn!(index = i, kid = ?kid, "JWKS key skipped: {why}");
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))) {
            skip("not a signature key (`use`)");
            continue;
        }
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_) | AlgorithmParameters::Other(_)) {
            skip("a symmetric or unknown key type (only RSA, EC and OKP keys verify JWTs here)");
            continue;
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => match Algorithm::from_str(&a.to_string()) {
                Ok(a) if JWT_ALGORITHMS.contains(&a) => Some(a),
                _ => {
                    skip("its `alg` is not a signature algorithm accepted here");
                    continue;
                }
            },
        };
        match DecodingKey::from_jwk(&jwk) {
            Ok(key) => keys.push(VerifyKey { kid, alg, family: key.family(), key }),
            Err(e) => skip(&format!("unusable ({e})")),
        }
    }
    if keys.is_empty() {
        return Err("the JWKS holds no key that can verify a JWT signature".to_owned());
    }
    Ok(keys)
}

/// Where the JWKS comes from.
enum KeySource {
    File(FileWatch),
    Url(Fetcher),
}

struct Fetcher {
    url: url::Url,
    client: reqwest::Client,
    refresh: Duration,
    /// When the last fetch was tried; held while a fetch runs, so only one runs at a time.
    attempt: tokio::sync::Mutex<Option<Instant>>,
    /// Set by a reload: fetch again on the next request.
    stale: AtomicBool,
}

impl Fetcher {
    async fn fetch(&self) -> Result<Vec<VerifyKey>, String> {
        let url = &self.url;
        let mut response = self
            .client
            .get(url.clone())
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("cannot fetch the JWKS from {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("fetching the JWKS from {url} answered {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
            return Err(format!("the JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("cannot read the JWKS from {url}: {e}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(format!("the JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes"));
            }
        }
        parse_jwks(&body)
    }
}

/// JWT claims this server reads (the registered ones are checked by jsonwebtoken).
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<ScopeClaim>,
    #[serde(default)]
    scp: Option<ScopeClaim>,
}

/// `scope` is a space-separated string (RFC 9068); some servers send `scp` as an array,
/// others (Entra ID) as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

impl ScopeClaim {
    fn into_scopes(self) -> Vec<String> {
        match self {
            ScopeClaim::Text(s) => s.split_whitespace().map(str::to_owned).collect(),
            ScopeClaim::List(l) => l,
        }
    }
}

struct OAuth {
    issuer: String,
    audience: String,
    source: KeySource,
    keys: ArcSwap<KeySet>,
}

impl OAuth {
    async fn new(config: OAuthConfig) -> Result<Self, AuthError> {
        // Whatever else enables jsonwebtoken features, this process uses aws-lc-rs.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let jwks = config.jwks.trim();
        let (source, keys) = if jwks.starts_with("https://") || jwks.starts_with("http://") {
            let url = url::Url::parse(jwks).map_err(|e| AuthError(format!("--oauth-jwks `{jwks}` is not a URL: {e}")))?;
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if url.scheme() != "https" && !loopback {
                return Err(AuthError(format!("--oauth-jwks `{jwks}` must be https:// (plain http is allowed on loopback only)")));
            }
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .user_agent(concat!("toolwright/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| AuthError(format!("cannot build an HTTP client for the JWKS: {e}")))?;
            let fetcher = Fetcher {
                url,
                client,
                refresh: config.jwks_refresh,
                attempt: tokio::sync::Mutex::new(None),
                stale: AtomicBool::new(false),
            };
            let keys = fetcher.fetch().await.map_err(AuthError)?;
            (KeySource::Url(fetcher), KeySet { keys, loaded: Instant::now(), content: None })
        } else {
            let watch = FileWatch::new(Path::new(jwks));
            let bytes = watch.read().map_err(AuthError)?;
            let keys = parse_jwks(&bytes).map_err(|e| AuthError(format!("{jwks}: {e}")))?;
            (KeySource::File(watch), KeySet { keys, loaded: Instant::now(), content: Some(Sha256::digest(&bytes).into()) })
        };
        tracing::info!(issuer = %config.issuer, audience = %config.audience, jwks = %jwks, keys = keys.keys.len(), "OAuth resource-server mode: JWTs accepted");
        Ok(OAuth { issuer: config.issuer, audience: config.audience, source, keys: ArcSwap::from_pointee(keys) })
    }

    fn reload(&self) {
        match &self.source {
            KeySource::File(watch) => self.reload_file(watch),
            KeySource::Url(fetcher) => fetcher.stale.store(true, Ordering::Relaxed),
        }
    }

    fn reload_file(&self, watch: &FileWatch) {
        let read = watch.read().and_then(|bytes| {
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            if self.keys.load().content == Some(digest) {
                return Ok(None);
            }
            parse_jwks(&bytes).map(|keys| Some(KeySet { keys, loaded: Instant::now(), content: Some(digest) }))
        });
        match read {
            Ok(None) => {}
            Ok(Some(set)) => {
                tracing::info!(file = %watch.path.display(), keys = set.keys.len(), "JWKS reloaded");
                self.keys.store(Arc::new(set));
            }
            Err(e) => {
                tracing::error!(file = %watch.path.display(), error = %e, "JWKS file has errors; the keys loaded before stay in force")
            }
        }
    }

    /// Fetches the JWKS again (the caller holds the fetch lock).
    async fn refetch(&self, fetcher: &Fetcher, attempt: &mut Option<Instant>) {
        *attempt = Some(Instant::now());
        fetcher.stale.store(false, Ordering::Relaxed);
        match fetcher.fetch().await {
            Ok(keys) => {
                tracing::debug!(url = %fetcher.url, keys = keys.len(), "JWKS fetched");
                self.keys.store(Arc::new(KeySet { keys, loaded: Instant::now(), content: None }));
            }
            Err(e) => tracing::warn!(error = %e, "JWKS refresh failed; the keys fetched before stay in force"),
        }
    }

    /// The keys that may have signed a token with this `kid` and `alg`, refreshing the set
    /// when it is due, or when no key fits (a rotation), at most once per [`MIN_REFETCH`].
    async fn keys_for(&self, kid: Option<&str>, alg: Algorithm) -> Arc<KeySet> {
        match &self.source {
            KeySource::File(watch) => {
                if watch.due() {
                    self.reload_file(watch);
                }
            }
            KeySource::Url(fetcher) => {
                let set = self.keys.load();
                if set.loaded.elapsed() >= fetcher.refresh || fetcher.stale.load(Ordering::Relaxed) {
                    // One request refreshes; the others go on with the keys in hand.
                    if let Ok(mut attempt) = fetcher.attempt.try_lock() {
                        self.refetch(fetcher, &mut attempt).await;
                    }
                } else if !set.keys.iter().any(|k| k.fits(kid, alg)) {
                    let mut attempt = fetcher.attempt.lock().await;
                    let fresh = self.keys.load();
                    if !fresh.keys.iter().any(|k| k.fits(kid, alg)) && attempt.is_none_or(|t| t.elapsed() >= MIN_REFETCH) {
                        self.refetch(fetcher, &mut attempt).await;
                    }
                }
            }
        }
        self.keys.load_full()
    }

    /// Checks a JWT: signature by a key of the JWKS, `iss`, `aud`, `exp` (and `nbf`) with
    /// [`LEEWAY_SECS`] of leeway. The error is a short reason for `error_description`.
    async fn verify(&self, token: &str) -> Result<Identity, &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "the token is not a JWT this server can read")?;
        if !JWT_ALGORITHMS.contains(&header.alg) {
            return Err("the token's signature algorithm is not accepted (asymmetric algorithms only)");
        }
        if header.crit.is_some() {
            return Err("the token has critical header parameters this server does not understand");
        }
        let kid = header.kid.as_deref();
        let set = self.keys_for(kid, header.alg).await;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let mut last = Err("no key of the authorization server's JWKS matches the token");
        for key in set.keys.iter().filter(|k| k.fits(kid, header.alg)) {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => return Ok(identity_of(data.claims)),
                Err(e) => {
                    last = Err(describe(e.kind()));
                    // Only a signature that does not verify is worth trying the next key for.
                    if !matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) {
                        break;
                    }
                }
            }
        }
        last
    }
}

fn identity_of(claims: Claims) -> Identity {
    let name = claims.sub.or(claims.client_id).filter(|s| !s.is_empty()).map_or_else(|| "jwt".to_owned(), |s| log_safe(&s));
    let mut scopes: Vec<String> = claims.scope.map(ScopeClaim::into_scopes).unwrap_or_default();
    scopes.extend(claims.scp.map(ScopeClaim::into_scopes).unwrap_or_default());
    // `*` is an operator's grant in the tokens file, never an authorization server's.
    scopes.retain(|s| s != "*");
    scopes.sort();
    scopes.dedup();
    Identity { name, scopes }
}

fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "the token has expired",
        K::ImmatureSignature => "the token is not valid yet (nbf)",
        K::InvalidAudience => "the token is not meant for this server (aud)",
        K::InvalidIssuer => "the token was not issued by the trusted authorization server (iss)",
        K::InvalidSignature => "the token's signature does not verify",
        K::MissingRequiredClaim(c) if c == "exp" => "the token has no exp claim",
        K::MissingRequiredClaim(c) if c == "iss" => "the token has no iss claim",
        K::MissingRequiredClaim(c) if c == "aud" => "the token has no aud claim",
        K::InvalidClaimFormat(_) => "a claim of the token is malformed",
        K::InvalidAlgorithm => "the token's algorithm does not fit the key",
        _ => "the token cannot be decoded",
    }
}

// ----------------------------------------------------------------------------- sessions

/// The principal that opened each session: a session id presented with another caller's
/// token is answered as an unknown session, so a leaked session id is not enough to act in
/// someone else's session. Bounded: past [`MAX_SESSIONS`] the oldest are forgotten (and then
/// only checked by token, like any request).
#[derive(Default)]
struct Sessions {
    owner: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Sessions {
    fn bind(&mut self, session: &str, principal: &str) {
        if self.owner.insert(session.to_owned(), principal.to_owned()).is_none() {
            self.order.push_back(session.to_owned());
        }
        while self.owner.len() > MAX_SESSIONS {
            match self.order.pop_front() {
                Some(old) => {
                    self.owner.remove(&old);
                }
                None => break,
            }
        }
    }

    fn unbind(&mut self, session: &str) {
        if self.owner.remove(session).is_some() {
            self.order.retain(|s| s != session);
        }
    }

    /// False only when the session is known to belong to another principal.
    fn allows(&self, session: &str, principal: &str) -> bool {
        self.owner.get(session).is_none_or(|p| p == principal)
    }
}

// ----------------------------------------------------------------------------- axum

/// Puts authentication in front of `app` when `shared` has it (see the module doc), and
/// serves the Protected Resource Metadata. Without it, returns `app` unchanged.
pub fn protect(app: Router, shared: &Arc<Shared>) -> Router {
    let Some(auth) = shared.auth().cloned() else {
        let scoped = shared.runtime().current().catalog.tools().iter().filter(|t| !t.scopes.is_empty()).count();
        if scoped > 0 {
            tracing::warn!(
                tools = scoped,
                "tools declare `auth.scopes` but HTTP authentication is off: every caller sees and can call them (use --auth-tokens or --oauth-issuer)"
            );
        }
        return app;
    };
    let metadata = Router::new()
        .route(WELL_KNOWN, get(metadata))
        .route(&format!("{WELL_KNOWN}/{{*resource}}"), get(metadata))
        .with_state(shared.clone());
    app.merge(metadata).layer(axum::middleware::from_fn_with_state(auth, authenticate))
}

/// Paths served without a token: probes and the metadata a client needs to get one.
fn is_open(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz") || path.starts_with("/.well-known/")
}

async fn metadata(State(shared): State<Arc<Shared>>) -> Response {
    let Some(auth) = shared.auth() else { return StatusCode::NOT_FOUND.into_response() };
    let doc = auth.metadata(&shared.runtime().current().catalog);
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
    request.extensions_mut().insert(super::CallerName(caller.identity.name.clone()));
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
    use jsonwebtoken::{EncodingKey, Header, encode};

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

    #[test]
    fn scopes_need_all_and_star_grants_all() {
        let id = Identity { name: "a".into(), scopes: vec!["x".into(), "y".into()] };
        assert!(id.allows(&[]));
        assert!(id.allows(&["x".into(), "y".into()]));
        assert!(!id.allows(&["x".into(), "z".into()]));
        let admin = Identity { name: "root".into(), scopes: vec!["*".into()] };
        assert!(admin.allows(&["anything".into()]));
    }

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

    #[test]
    fn sessions_belong_to_their_opener() {
        let mut s = Sessions::default();
        s.bind("s1", "token:alice");
        assert!(s.allows("s1", "token:alice"));
        assert!(!s.allows("s1", "jwt:alice"));
        assert!(s.allows("unknown", "jwt:bob"));
        s.unbind("s1");
        assert!(s.allows("s1", "jwt:bob"));
    }

    /// An ES256 key pair: the private key for signing test tokens, the JWKS for the server.
    fn es256() -> (EncodingKey, serde_json::Value) {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap_or_else(|e| panic!("{e}"));
        let der = pair.to_pkcs8v1().unwrap_or_else(|e| panic!("{e}"));
        let key = EncodingKey::from_ec_der(der.as_ref());
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default();
        jwk["kid"] = json!("k1");
        (key, json!({"keys": [jwk]}))
    }

    async fn oauth_with(jwks: &serde_json::Value) -> (OAuth, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, jwks.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let config = OAuthConfig {
            issuer: "https://issuer.test".into(),
            audience: "https://mcp.test/mcp".into(),
            jwks: path.display().to_string(),
            jwks_refresh: Duration::from_secs(600),
        };
        (OAuth::new(config).await.unwrap_or_else(|e| panic!("{e}")), dir)
    }

    fn sign(key: &EncodingKey, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        encode(&header, &claims, key).unwrap_or_else(|e| panic!("{e}"))
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    #[tokio::test]
    async fn es256_jwts_are_checked_for_issuer_audience_expiry_and_scopes() {
        let (key, jwks) = es256();
        let (oauth, _dir) = oauth_with(&jwks).await;
        let good = json!({"iss": "https://issuer.test", "aud": ["other", "https://mcp.test/mcp"], "exp": now() + 300, "sub": "alice", "scp": ["b", "a"], "scope": "c"});
        let id = oauth.verify(&sign(&key, good.clone())).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id, Identity { name: "alice".into(), scopes: vec!["a".into(), "b".into(), "c".into()] });

        let mut expired = good.clone();
        expired["exp"] = json!(now() - 120);
        assert_eq!(oauth.verify(&sign(&key, expired)).await, Err("the token has expired"));
        let mut within_leeway = good.clone();
        within_leeway["exp"] = json!(now() - 5);
        assert!(oauth.verify(&sign(&key, within_leeway)).await.is_ok());
        let mut wrong_aud = good.clone();
        wrong_aud["aud"] = json!("https://elsewhere.test/mcp");
        assert_eq!(oauth.verify(&sign(&key, wrong_aud)).await, Err("the token is not meant for this server (aud)"));
        let mut wrong_iss = good.clone();
        wrong_iss["iss"] = json!("https://evil.test");
        assert!(oauth.verify(&sign(&key, wrong_iss)).await.is_err());
        let mut no_iss = good.clone();
        no_iss.as_object_mut().map(|o| o.remove("iss"));
        assert_eq!(oauth.verify(&sign(&key, no_iss)).await, Err("the token has no iss claim"));
        let mut no_aud = good.clone();
        no_aud.as_object_mut().map(|o| o.remove("aud"));
        assert_eq!(oauth.verify(&sign(&key, no_aud)).await, Err("the token has no aud claim"));
        let mut star = good;
        star["scope"] = json!("* a");
        star.as_object_mut().map(|o| o.remove("scp"));
        assert_eq!(oauth.verify(&sign(&key, star)).await.map(|i| i.scopes), Ok(vec!["a".to_owned()]));

        // Another key pair with the same kid: the signature does not verify.
        let (other, _) = es256();
        let forged = sign(&other, json!({"iss": "https://issuer.test", "aud": "https://mcp.test/mcp", "exp": now() + 300}));
        assert_eq!(oauth.verify(&forged).await, Err("the token's signature does not verify"));
    }

    #[tokio::test]
    async fn symmetric_keys_and_hmac_tokens_are_refused() {
        let (_, mut jwks) = es256();
        // An `oct` key in the set is skipped, and an HS256 token is refused before any key is tried.
        if let Some(keys) = jwks["keys"].as_array_mut() {
            keys.push(json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}));
        }
        let (oauth, _dir) = oauth_with(&jwks).await;
        assert_eq!(oauth.keys.load().keys.len(), 1);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("h".into());
        let token = encode(
            &header,
            &json!({"iss": "https://issuer.test", "aud": "https://mcp.test/mcp", "exp": now() + 300}),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(oauth.verify(&token).await, Err("the token's signature algorithm is not accepted (asymmetric algorithms only)"));
    }

    #[test]
    fn a_jwks_without_usable_keys_is_an_error() {
        assert!(parse_jwks(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).is_err());
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(br#"{"nokeys": []}"#).is_err());
    }
}
