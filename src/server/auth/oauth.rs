//! OAuth 2.1 resource-server mode: JWTs checked against the authorization server's JWKS
//! (a file, or a URL fetched and cached), its issuer, the audience and the expiry. The only
//! module that imports jsonwebtoken.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use http::header;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::scopes::{Identity, log_safe};

/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// Shortest wait between two JWKS fetches caused by a token whose key is not in the set.
const MIN_REFETCH: Duration = Duration::from_secs(30);
/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
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
    /// Re-read by [`OAuth::reload`] (whoever watches the file calls it, see `Auth::reload_file`).
    File(PathBuf),
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
        let body = crate::util::read_capped(&mut response, MAX_JWKS_BYTES).await;
        if let Some(e) = body.error {
            return Err(format!("cannot read the JWKS from {url}: {e}"));
        }
        if body.cut {
            return Err(format!("the JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes"));
        }
        parse_jwks(&body.bytes)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
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

pub(super) struct OAuth {
    pub(super) issuer: String,
    audience: String,
    source: KeySource,
    keys: ArcSwap<KeySet>,
}

impl OAuth {
    /// Reads the JWKS file or fetches the JWKS URL; the error says what is wrong.
    pub(super) async fn new(config: OAuthConfig) -> Result<Self, String> {
        // Whatever else enables jsonwebtoken features, this process uses aws-lc-rs.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let jwks = config.jwks.trim();
        let (source, keys) = if jwks.starts_with("https://") || jwks.starts_with("http://") {
            let url = url::Url::parse(jwks).map_err(|e| format!("--oauth-jwks `{jwks}` is not a URL: {e}"))?;
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if url.scheme() != "https" && !loopback {
                return Err(format!("--oauth-jwks `{jwks}` must be https:// (plain http is allowed on loopback only)"));
            }
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .user_agent(concat!("toolwright/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("cannot build an HTTP client for the JWKS: {e}"))?;
            let fetcher = Fetcher {
                url,
                client,
                refresh: config.jwks_refresh,
                attempt: tokio::sync::Mutex::new(None),
                stale: AtomicBool::new(false),
            };
            let keys = fetcher.fetch().await?;
            (KeySource::Url(fetcher), KeySet { keys, loaded: Instant::now(), content: None })
        } else {
            let path = PathBuf::from(jwks);
            let bytes = read(&path)?;
            let keys = parse_jwks(&bytes).map_err(|e| format!("{jwks}: {e}"))?;
            (KeySource::File(path), KeySet { keys, loaded: Instant::now(), content: Some(Sha256::digest(&bytes).into()) })
        };
        tracing::info!(issuer = %config.issuer, audience = %config.audience, jwks = %jwks, keys = keys.keys.len(), "OAuth resource-server mode: JWTs accepted");
        Ok(OAuth { issuer: config.issuer, audience: config.audience, source, keys: ArcSwap::from_pointee(keys) })
    }

    /// The JWKS file, when the JWKS is one.
    pub(super) fn file(&self) -> Option<&Path> {
        match &self.source {
            KeySource::File(path) => Some(path),
            KeySource::Url(_) => None,
        }
    }

    /// Re-reads a JWKS file (a file with errors is reported and the keys loaded before stay
    /// in force); a JWKS URL is fetched again on the next request.
    pub(super) fn reload(&self) {
        match &self.source {
            KeySource::File(path) => self.reload_file(path),
            KeySource::Url(fetcher) => fetcher.stale.store(true, Ordering::Relaxed),
        }
    }

    fn reload_file(&self, path: &Path) {
        let read = read(path).and_then(|bytes| {
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            if self.keys.load().content == Some(digest) {
                return Ok(None);
            }
            parse_jwks(&bytes).map(|keys| Some(KeySet { keys, loaded: Instant::now(), content: Some(digest) }))
        });
        match read {
            Ok(None) => {}
            Ok(Some(set)) => {
                tracing::info!(file = %path.display(), keys = set.keys.len(), "JWKS reloaded");
                self.keys.store(Arc::new(set));
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "JWKS file has errors; the keys loaded before stay in force")
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

    /// The keys that may have signed a token with this `kid` and `alg`. A JWKS from a URL is
    /// fetched again when it is due, or when no key fits (a rotation), at most once per
    /// [`MIN_REFETCH`].
    async fn keys_for(&self, kid: Option<&str>, alg: Algorithm) -> Arc<KeySet> {
        if let KeySource::Url(fetcher) = &self.source {
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
        self.keys.load_full()
    }

    /// Checks a JWT: signature by a key of the JWKS, `iss`, `aud`, `exp` (and `nbf`) with
    /// [`LEEWAY_SECS`] of leeway. The error is a short reason for `error_description`.
    pub(super) async fn verify(&self, token: &str) -> Result<Identity, &'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

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
