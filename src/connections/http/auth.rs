//! Authentication done when a request is sent: a bearer token read from a file (re-read when
//! the file changes: projected service-account tokens rotate), OAuth 2.0 client-credentials
//! tokens (fetched through the connection's own client, so its network policy applies; kept
//! until shortly before they expire; fetched again once when the API answers 401), the
//! credentials of a Kubernetes API server (a token, a token file, basic), and EKS tokens
//! (an STS `GetCallerIdentity` URL presigned with Signature V4, kept for ten minutes).
//!
//! The state is shared by the connection's clients on every thread ([`TokenCache`]), so a
//! token is fetched once per connection, not once per thread.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::client::HttpClient;
use super::kube::{Credential, Target};
use super::{KubeSource, SendAuth};

/// A token is fetched again this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// A token whose answer gives no `expires_in` is kept this long.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// The most bytes of a token file or a token endpoint's answer that are read.
const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// An EKS token is made again after this long: the API server accepts one for 15 minutes after
/// the time it was signed (its `X-Amz-Expires=60` is not what limits it).
pub const EKS_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The prefix of an EKS token, before the base64url of the presigned URL.
pub const EKS_TOKEN_PREFIX: &str = "k8s-aws-v1.";

/// The tokens of one connection, shared by its clients.
#[derive(Debug, Default)]
pub struct TokenCache {
    /// The bearer file's token, with the file's modification time and length when it was read.
    file: Mutex<Option<(Option<SystemTime>, u64, String)>>,
    /// The OAuth token and when it stops being used.
    oauth: tokio::sync::Mutex<Option<(String, Instant)>>,
    /// The Kubernetes API server, once read (a failure is not kept: the next call tries again).
    kube: Mutex<Option<Arc<Target>>>,
    /// The EKS token and when it is made again.
    eks: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl TokenCache {
    /// The Kubernetes API server of connection `connection`, read from `source` the first time.
    pub(crate) fn kube_target(&self, connection: &str, source: &KubeSource) -> Result<Arc<Target>, String> {
        let mut kept = self.kube.lock().map_err(|_| "internal: the token cache is poisoned".to_owned())?;
        if let Some(target) = kept.as_ref() {
            return Ok(Arc::clone(target));
        }
        let target = Arc::new(super::kube::resolve(connection, source)?);
        *kept = Some(Arc::clone(&target));
        Ok(target)
    }
}

/// The `Authorization` header value for `auth`, if it sends one; `fresh` fetches an OAuth token
/// even when one is kept (after a 401). Errors are messages for a model; they never hold a secret.
pub(crate) async fn authorization(
    client: &HttpClient,
    tokens: &TokenCache,
    auth: &SendAuth,
    fresh: bool,
) -> Result<Option<String>, String> {
    match auth {
        SendAuth::BearerFile(path) => {
            bearer_file(tokens, path, "the bearer token file", "the connection's `auth.bearer_file` must name a readable file")
                .map(|t| Some(format!("Bearer {t}")))
        }
        SendAuth::OAuth2 { token_url, client_id, client_secret, scopes } => {
            let mut kept = tokens.oauth.lock().await;
            if !fresh
                && let Some((token, until)) = kept.as_ref()
                && Instant::now() < *until
            {
                return Ok(Some(format!("Bearer {token}")));
            }
            let (token, lifetime) = fetch_token(client, token_url, client_id, client_secret, scopes).await?;
            *kept = Some((token.clone(), Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN).max(Duration::from_secs(1))));
            Ok(Some(format!("Bearer {token}")))
        }
        SendAuth::Kubernetes(_) => {
            let target = client.kube().ok_or("internal: a Kubernetes request through a client without a Kubernetes server")?;
            match &target.credential {
                Credential::None => Ok(None),
                Credential::Token(token) => Ok(Some(format!("Bearer {token}"))),
                Credential::TokenFile(path) => bearer_file(
                    tokens,
                    path,
                    "the Kubernetes token file",
                    "it is the service account's `token` (`kubernetes: in_cluster`) or the kubeconfig user's `tokenFile`",
                )
                .map(|t| Some(format!("Bearer {t}"))),
                Credential::Basic(encoded) => Ok(Some(format!("Basic {encoded}"))),
            }
        }
        SendAuth::AwsSigv4 { .. } | SendAuth::Eks { .. } => {
            Err("internal: a signed request has no Authorization of its own (see Signer)".to_owned())
        }
    }
}

/// The token in `path`, read again when the file's modification time or length changed.
/// `what` names the file in messages, `hint` says what it should be.
fn bearer_file(tokens: &TokenCache, path: &std::path::Path, what: &str, hint: &str) -> Result<String, String> {
    let unreadable = |e: std::io::Error| format!("cannot read {what} {}: {e}; {hint}", path.display());
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
        return Err(format!("{what} {} is empty or holds more than one line", path.display()));
    }
    *kept = Some((stamp.0, stamp.1, token.clone()));
    Ok(token)
}

/// The EKS token of a connection: kept until [`EKS_TOKEN_LIFETIME`] has passed (or shortly
/// before the credentials that presigned it expire), then made again with the `aws`
/// connection's credentials. `sts` is the `aws` connection's `endpoint_url`, if any.
pub(crate) async fn eks_token(
    tokens: &TokenCache,
    aws: &crate::connections::aws::client::AwsClients,
    cluster: &str,
    region: Option<&str>,
) -> Result<String, String> {
    let mut kept = tokens.eks.lock().await;
    if let Some((token, until)) = kept.as_ref()
        && Instant::now() < *until
    {
        return Ok(token.clone());
    }
    let (credentials, chain_region) = Box::pin(aws.signing_credentials()).await?;
    let region = region.map(str::to_owned).or(chain_region).ok_or_else(|| {
        "no AWS region for the EKS token: set `region` in `auth.eks` or in its `aws` connection, or AWS_REGION".to_owned()
    })?;
    let sts = match aws.endpoint_url() {
        Some(endpoint) => url::Url::parse(endpoint).map_err(|e| format!("the aws connection's endpoint_url does not parse: {e}"))?,
        None => {
            url::Url::parse(&format!("https://sts.{region}.amazonaws.com/")).map_err(|e| format!("no STS endpoint for `{region}`: {e}"))?
        }
    };
    let now = SystemTime::now();
    let mut lifetime = EKS_TOKEN_LIFETIME;
    if let Some(expiry) = credentials.expiry() {
        let left = expiry.duration_since(now).unwrap_or_default().saturating_sub(EXPIRY_MARGIN);
        lifetime = lifetime.min(left).max(Duration::from_secs(1));
    }
    let signer = Signer { credentials, region, service: "sts".to_owned() };
    let token = signer.eks_token(&sts, cluster, now)?;
    *kept = Some((token.clone(), Instant::now() + lifetime));
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
        let params = self.params(&identity, SigningSettings::default(), SystemTime::now())?;
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

    fn params<'a>(
        &'a self,
        identity: &'a aws_smithy_runtime_api::client::identity::Identity,
        settings: aws_sigv4::http_request::SigningSettings,
        time: SystemTime,
    ) -> Result<aws_sigv4::http_request::SigningParams<'a>, String> {
        Ok(aws_sigv4::sign::v4::SigningParams::builder()
            .identity(identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| format!("cannot sign the request: {e}"))?
            .into())
    }

    /// An EKS token, as `aws eks get-token` makes it: `k8s-aws-v1.` and the base64url (no
    /// padding) of `GET <sts>/?Action=GetCallerIdentity&Version=2011-06-15` presigned for 60
    /// seconds with the header `x-k8s-aws-id: <cluster>` signed. The API server (through
    /// aws-iam-authenticator) sends that request to STS and maps the identity it answers to a
    /// Kubernetes user; the signed header binds the token to one cluster.
    pub(crate) fn eks_token(&self, sts: &url::Url, cluster: &str, time: SystemTime) -> Result<String, String> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
        use base64::Engine as _;
        let mut url = sts.clone();
        if url.path().is_empty() {
            url.set_path("/");
        }
        url.set_fragment(None);
        url.query_pairs_mut().clear().append_pair("Action", "GetCallerIdentity").append_pair("Version", "2011-06-15");
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(60));
        let identity: aws_smithy_runtime_api::client::identity::Identity = self.credentials.clone().into();
        let params = self.params(&identity, settings, time)?;
        let signable = SignableRequest::new("GET", url.as_str(), [("x-k8s-aws-id", cluster)].into_iter(), SignableBody::Bytes(&[]))
            .map_err(|e| format!("cannot presign the EKS token: {e}"))?;
        let (instructions, _signature) = sign(signable, &params).map_err(|e| format!("cannot presign the EKS token: {e}"))?.into_parts();
        let (_headers, query) = instructions.into_parts();
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &query {
                pairs.append_pair(name, value);
            }
        }
        Ok(format!("{EKS_TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// The token's shape: the prefix, base64url without padding, and a URL presigned for STS
    /// with `x-k8s-aws-id` among the signed headers and the cluster bound into the signature.
    #[test]
    fn eks_tokens_are_presigned_get_caller_identity_urls() {
        let signer = |secret: &str| Signer {
            credentials: aws_credential_types::Credentials::new("AKIDEXAMPLE", secret, None, None, "test"),
            region: "eu-west-1".to_owned(),
            service: "sts".to_owned(),
        };
        let sts = url::Url::parse("https://sts.eu-west-1.amazonaws.com").expect("url");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let token = signer("secret-one").eks_token(&sts, "prod", time).expect("token");
        let encoded = token.strip_prefix(EKS_TOKEN_PREFIX).expect("prefix");
        assert!(!encoded.contains(['=', '+', '/']), "{encoded}");
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).expect("base64url");
        let url = url::Url::parse(std::str::from_utf8(&decoded).expect("text")).expect("a URL");
        assert_eq!(url.host_str(), Some("sts.eu-west-1.amazonaws.com"));
        let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(query["Action"], "GetCallerIdentity");
        assert_eq!(query["Version"], "2011-06-15");
        assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(query["X-Amz-Expires"], "60");
        assert_eq!(query["X-Amz-SignedHeaders"], "host;x-k8s-aws-id");
        assert_eq!(query["X-Amz-Credential"], "AKIDEXAMPLE/20270115/eu-west-1/sts/aws4_request");
        assert_eq!(query["X-Amz-Date"], "20270115T080000Z");
        assert_eq!(query["X-Amz-Signature"].len(), 64);
        // Another cluster or another secret gives another signature; the same inputs the same token.
        assert_ne!(signer("secret-one").eks_token(&sts, "staging", time).expect("token"), token);
        assert_ne!(signer("secret-two").eks_token(&sts, "prod", time).expect("token"), token);
        assert_eq!(signer("secret-one").eks_token(&sts, "prod", time).expect("token"), token);
        assert!(!token.contains("secret-one"));
    }
}
