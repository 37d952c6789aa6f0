//! Authentication done when a request is sent: a bearer token read from a file (re-read when
//! the file changes: projected service-account tokens rotate) and OAuth 2.0 client-credentials
//! tokens (fetched through the connection's own client, so its network policy applies; kept
//! until shortly before they expire; fetched again once when the API answers 401).
//!
//! The state is shared by the connection's clients on every thread ([`TokenCache`]), so a
//! token is fetched once per connection, not once per thread.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::SendAuth;
use super::client::HttpClient;

/// A token is fetched again this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// A token whose answer gives no `expires_in` is kept this long.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// The most bytes of a token file or a token endpoint's answer that are read.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// The tokens of one connection, shared by its clients.
#[derive(Debug, Default)]
pub struct TokenCache {
    /// The bearer file's token, with the file's modification time and length when it was read.
    file: Mutex<Option<(Option<SystemTime>, u64, String)>>,
    /// The OAuth token and when it stops being used.
    oauth: tokio::sync::Mutex<Option<(String, Instant)>>,
}

/// The `Authorization` header value for `auth`; `fresh` fetches an OAuth token even when one
/// is kept (after a 401). Errors are messages for a model; they never hold a secret.
pub(crate) async fn authorization(client: &HttpClient, tokens: &TokenCache, auth: &SendAuth, fresh: bool) -> Result<String, String> {
    match auth {
        SendAuth::BearerFile(path) => bearer_file(tokens, path).map(|t| format!("Bearer {t}")),
        SendAuth::OAuth2 { token_url, client_id, client_secret, scopes } => {
            let mut kept = tokens.oauth.lock().await;
            if !fresh
                && let Some((token, until)) = kept.as_ref()
                && Instant::now() < *until
            {
                return Ok(format!("Bearer {token}"));
            }
            let (token, lifetime) = fetch_token(client, token_url, client_id, client_secret, scopes).await?;
            *kept = Some((token.clone(), Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN).max(Duration::from_secs(1))));
            Ok(format!("Bearer {token}"))
        }
        SendAuth::AwsSigv4 { .. } => Err("internal: a signed request has no Authorization of its own (see Signer)".to_owned()),
    }
}

/// The token in `path`, read again when the file's modification time or length changed.
fn bearer_file(tokens: &TokenCache, path: &std::path::Path) -> Result<String, String> {
    let unreadable = |e: std::io::Error| {
        format!("cannot read the bearer token file {}: {e}; the connection's `auth.bearer_file` must name a readable file", path.display())
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    let stamp = (meta.modified().ok(), meta.len());
    let mut kept = tokens.file.lock().map_err(|_| "internal: the token cache is poisoned".to_owned())?;
    if let Some((modified, len, token)) = kept.as_ref()
        && (*modified, *len) == stamp
    {
        return Ok(token.clone());
    }
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(unreadable)?;
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_TOKEN_BYTES as u64), &mut bytes).map_err(unreadable)?;
    let token = String::from_utf8_lossy(&bytes).trim().to_owned();
    if token.is_empty() || token.contains(|c: char| c.is_control()) {
        return Err(format!("the bearer token file {} is empty or holds more than one line", path.display()));
    }
    *kept = Some((stamp.0, stamp.1, token.clone()));
    Ok(token)
}

/// Runs the client-credentials grant (RFC 6749 section 4.4; the client authenticates with
/// HTTP basic, section 2.3.1) and returns the token and how long it lives.
async fn fetch_token(
    client: &HttpClient,
    token_url: &url::Url,
    client_id: &str,
    client_secret: &str,
    scopes: &[String],
) -> Result<(String, Duration), String> {
    use base64::Engine as _;
    let what = format!("could not get an OAuth token from {token_url}");
    if let Some(ip) = super::client::literal_ip(token_url) {
        client.policy.check(ip).map_err(|why| format!("{what}: refused: {why}"))?;
    }
    // Built in a block: the serializer is not `Send` and must not live across an await.
    let form = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if !scopes.is_empty() {
            form.append_pair("scope", &scopes.join(" "));
        }
        form.finish()
    };
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", encode(client_id), encode(client_secret)));
    let mut authorization = reqwest::header::HeaderValue::from_str(&format!("Basic {basic}"))
        .map_err(|_| format!("{what}: the client id or secret cannot be sent"))?;
    authorization.set_sensitive(true);
    let mut response = client
        .client
        .post(token_url.clone())
        .header(reqwest::header::AUTHORIZATION, authorization)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(form)
        .send()
        .await
        .map_err(|e| format!("{what}: {}", client.describe(&e, token_url.host_str().unwrap_or_default())))?;
    let status = response.status();
    let body = crate::util::read_capped(&mut response, MAX_TOKEN_BYTES).await;
    if !status.is_success() {
        // The answer is not quoted: a token endpoint's error may echo the client's credentials.
        return Err(format!("{what}: it answered HTTP {status}; check the connection's client id, secret and scopes"));
    }
    let answer: Value = serde_json::from_slice(&body.bytes).map_err(|_| format!("{what}: the answer is not JSON"))?;
    let token = answer.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty() && !t.contains(|c: char| c.is_control()));
    let Some(token) = token else { return Err(format!("{what}: the answer has no `access_token`")) };
    let lifetime = answer.get("expires_in").and_then(Value::as_u64).map_or(DEFAULT_LIFETIME, Duration::from_secs);
    Ok((token.to_owned(), lifetime))
}

/// What signs one request with AWS Signature Version 4.
pub struct Signer {
    /// The credentials (from the `aws` connection's provider).
    pub credentials: aws_credential_types::Credentials,
    /// The region signed for.
    pub region: String,
    /// The service's signing name.
    pub service: String,
}

impl Signer {
    /// Adds the signature headers (`authorization`, `x-amz-date`, `x-amz-security-token`,
    /// `x-amz-content-sha256` when the settings want it) to a request that is ready to send:
    /// its method, URL, headers and body are final.
    pub(crate) fn sign(&self, request: &mut reqwest::Request) -> Result<Vec<String>, String> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let identity: aws_smithy_runtime_api::client::identity::Identity = self.credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("cannot sign the request: {e}"))?
            .into();
        let body: &[u8] = request.body().and_then(reqwest::Body::as_bytes).unwrap_or(&[]);
        let headers: Vec<(&str, &str)> = request.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).collect();
        let signable =
            SignableRequest::new(request.method().as_str(), request.url().as_str(), headers.into_iter(), SignableBody::Bytes(body))
                .map_err(|e| format!("cannot sign the request: {e}"))?;
        let (instructions, _signature) = sign(signable, &params).map_err(|e| format!("cannot sign the request: {e}"))?.into_parts();
        let (headers, _params) = instructions.into_parts();
        let mut secrets = Vec::new();
        for header in headers {
            let mut value = reqwest::header::HeaderValue::from_str(header.value())
                .map_err(|_| "cannot sign the request: a signature header is not a header value".to_owned())?;
            if header.sensitive() || header.name().eq_ignore_ascii_case("authorization") {
                value.set_sensitive(true);
                secrets.push(header.value().to_owned());
            }
            request.headers_mut().insert(header.name(), value);
        }
        Ok(secrets)
    }
}
