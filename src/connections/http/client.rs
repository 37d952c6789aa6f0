//! The HTTP client of a connection: a pooled reqwest client with the connection's network
//! policy, timeout and response cap. `actions::http` sends requests through it.
//!
//! The network policy (the SSRF rules) is enforced on the address actually connected to:
//! a DNS resolver per client drops refused addresses (so a name that resolves to a private
//! address, or is rebound to one between calls, is refused), IP-literal hosts are checked
//! before sending (reqwest does not ask the resolver about them), and the redirect policy
//! checks every IP-literal redirect target (named targets go through the resolver anyway).

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::{DEFAULT_MAX_RESPONSE_BYTES, HttpConnection, PrivateNetworks};

/// Redirects followed before a call fails.
pub const MAX_REDIRECTS: usize = 5;

/// A refusal or failure whose message is complete and written for a model. It travels
/// through reqwest's error chain (from the resolver and the redirect policy) and is picked
/// out again by [`HttpClient::describe`].
#[derive(Debug, Clone)]
struct PolicyRefusal(String);

impl fmt::Display for PolicyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for PolicyRefusal {}

/// Which destinations one client may connect to.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    connection: Option<String>,
    private_networks: PrivateNetworks,
}

impl NetworkPolicy {
    /// The policy of a connection (`Some(name)`) or of tools without one (`None`).
    pub fn new(connection: Option<String>, private_networks: PrivateNetworks) -> NetworkPolicy {
        NetworkPolicy { connection, private_networks }
    }

    /// `Ok` when `ip` may be connected to; otherwise why not, for a model and an operator.
    /// Public addresses are always allowed.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        let Some(kind) = non_public_kind(ip) else {
            return Ok(());
        };
        let canonical = canonical_ip(ip);
        match &self.private_networks {
            PrivateNetworks::AllowAll => Ok(()),
            PrivateNetworks::Allow(nets) if nets.iter().any(|n| n.contains(&ip) || n.contains(&canonical)) => Ok(()),
            PrivateNetworks::Allow(nets) => {
                let list = nets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let who = match &self.connection {
                    Some(c) => format!("connection `{c}`"),
                    None => "this tool".to_owned(),
                };
                Err(format!(
                    "{ip} is {kind} outside the networks {who} allows ({list}); add it to allow_private_networks if it is meant to be reached"
                ))
            }
            PrivateNetworks::Deny => Err(match &self.connection {
                Some(c) => format!("{ip} is {kind} and connection `{c}` does not allow private networks (set allow_private_networks)"),
                None => format!(
                    "{ip} is {kind}, and a tool without a connection may reach only public addresses (use a connection with allow_private_networks)"
                ),
            }),
        }
    }
}

/// What kind of non-public address `ip` is ("a loopback address", ...), or `None` for a
/// public one. IPv4-mapped, NAT64 and 6to4 IPv6 forms are judged by the IPv4 address they
/// carry, because that is where a packet to them ends up.
pub fn non_public_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b) {
        _ if ip.is_unspecified() => "an unspecified address",
        // Linux connects 0.0.0.0/8 destinations to the local host.
        (0, _) => "a \"this network\" address (0.0.0.0/8)",
        (127, _) => "a loopback address",
        (10, _) | (172, 16..=31) | (192, 168) => "a private address",
        (100, 64..=127) => "a shared (CGNAT) address",
        (169, 254) => "a link-local address",
        (192, 0) if c == 0 => "a reserved (IETF protocol) address",
        (198, 18..=19) => "a reserved (benchmarking) address",
        (224..=239, _) => "a multicast address",
        _ if ip.is_broadcast() => "a broadcast address",
        (240..=255, _) => "a reserved address",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..6] == [0; 6] {
        return Some("a deprecated IPv4-compatible address");
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        // NAT64 (RFC 6052): the gateway forwards to the embedded IPv4 address.
        return v4_kind(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4 (RFC 3056): the embedded IPv4 address is the relay's destination.
        return v4_kind(embedded(s[1], s[2]));
    }
    match s[0] {
        0xfe80..=0xfebf => Some("a link-local address"),
        0xfec0..=0xfeff => Some("a site-local address"),
        0xfc00..=0xfdff => Some("a unique-local address"),
        0xff00..=0xffff => Some("a multicast address"),
        _ => None,
    }
}

/// The IPv4 address of an IPv4-mapped IPv6 address, so that `127.0.0.1/32` in an allow list
/// also covers `::ffff:127.0.0.1`.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address of a URL whose host is an IP literal.
pub(crate) fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// `host:port` of a URL, for messages (never the path or query).
pub(crate) fn host_of(url: &url::Url) -> &str {
    &url[url::Position::BeforeHost..url::Position::AfterPort]
}

/// A DNS resolver that returns only the addresses the policy allows. Because the connector
/// connects only to what this returns, the address checked is the address connected to,
/// whatever the name resolves to next time (DNS rebinding).
struct PolicyResolver {
    policy: Arc<NetworkPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await.map_err(|e| {
                Box::new(PolicyRefusal(format!("could not resolve the host `{host}`: {e}; check the host name in the connection or URL")))
            })?;
            let mut allowed = Vec::new();
            let mut refused = None;
            for addr in found {
                match policy.check(addr.ip()) {
                    Ok(()) => allowed.push(addr),
                    Err(why) => {
                        refused.get_or_insert(why);
                    }
                }
            }
            if allowed.is_empty() {
                let msg = match refused {
                    Some(why) => format!("refused: the host `{host}` resolves only to refused addresses: {why}"),
                    None => format!("could not resolve the host `{host}`: it has no addresses"),
                };
                return Err(Box::new(PolicyRefusal(msg)) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Follows at most [`MAX_REDIRECTS`] redirects, never to a refused IP literal, to a scheme
/// other than http(s), from https down to http (which would send the headers in clear), or
/// to another origin (which would send custom secret headers to another host).
fn redirect_policy(policy: Arc<NetworkPolicy>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous()` starts with the original URL, so it holds one entry per hop taken plus one.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(PolicyRefusal(format!("the backend redirected more than {MAX_REDIRECTS} times; stopped")));
        }
        let next = attempt.url();
        if !matches!(next.scheme(), "http" | "https") {
            let msg = format!("refused redirect: the backend redirected to a `{}:` URL; only http and https are followed", next.scheme());
            return attempt.error(PolicyRefusal(msg));
        }
        if next.scheme() == "http" && attempt.previous().last().is_some_and(|p| p.scheme() == "https") {
            let msg = format!(
                "refused redirect: the backend redirected from https to plain http ({}), which would send the request headers unencrypted",
                host_of(next)
            );
            return attempt.error(PolicyRefusal(msg));
        }
        if let Some(ip) = literal_ip(next)
            && let Err(why) = policy.check(ip)
        {
            return attempt.error(PolicyRefusal(format!("refused redirect: {why}")));
        }
        // reqwest drops Authorization on a cross-host hop but not custom headers such as
        // X-Api-Key, which may hold a secret: never follow a redirect to another origin.
        if let Some(first) = attempt.previous().first()
            && first.origin() != next.origin()
        {
            let msg = format!(
                "refused redirect: the backend redirected to another origin ({}); request headers may hold secrets, so toolwright follows redirects only within the same scheme, host and port",
                host_of(next)
            );
            return attempt.error(PolicyRefusal(msg));
        }
        attempt.follow()
    })
}

/// The TLS material of a client, read from the connection's files (or the Kubernetes target).
/// When it is all default, reqwest's own TLS setup is used; otherwise [`rustls_config`] builds
/// the rustls configuration reqwest is given.
#[derive(Default)]
struct Tls {
    /// CA certificates trusted besides the system's (or instead of them, see `roots_only`).
    roots: Vec<CertificateDer<'static>>,
    /// Trust `roots` only (a Kubernetes cluster's CA, as kubectl does), not the system's too.
    roots_only: bool,
    /// The client certificate chain and its key, for mutual TLS.
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// The name the server's certificate is checked against instead of the URL's host.
    server_name: Option<ServerName<'static>>,
}

impl Tls {
    fn is_default(&self) -> bool {
        self.roots.is_empty() && self.identity.is_none() && self.server_name.is_none()
    }
}

/// The certificates of a PEM bundle; the error completes "<the file> ..." ("holds no PEM certificate").
pub(crate) fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject as _;
    let certs = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| format!("holds no PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate".to_owned());
    }
    Ok(certs)
}

/// A client certificate chain and its private key (PKCS#8, PKCS#1 or SEC1), from PEM.
pub(crate) fn pem_identity(cert: &[u8], key: &[u8]) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    use rustls::pki_types::pem::PemObject as _;
    let chain = pem_certificates(cert).map_err(|e| format!("the certificate {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("no private key: {e}"))?;
    Ok((chain, key))
}

/// Reads a connection's CA and client certificate files (when its client is built: on the
/// first call through it) and takes a Kubernetes target's CA, client certificate and
/// `tls-server-name`; the connection's `tls.server_name` wins over the kubeconfig's. A file
/// that cannot be read or parsed is an error naming it.
fn tls_settings(settings: &super::TlsSettings, kube: Option<&super::kube::Target>) -> Result<Tls, String> {
    let read =
        |path: &std::path::Path, what: &str| std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()));
    let mut tls = Tls::default();
    if let Some(target) = kube {
        tls.roots = target.ca.clone();
        tls.roots_only = !tls.roots.is_empty();
        tls.identity = target.identity.as_ref().map(|(chain, key)| (chain.clone(), key.clone_key()));
        if let Some(name) = &target.server_name {
            tls.server_name = Some(
                ServerName::try_from(name.clone()).map_err(|_| format!("tls-server-name `{name}` is not a DNS name or an IP address"))?,
            );
        }
    }
    if let Some(path) = &settings.ca_file {
        let pem = read(path, "tls.ca_file")?;
        tls.roots = pem_certificates(&pem).map_err(|e| format!("tls.ca_file {} {e}", path.display()))?;
    }
    if let Some((cert, key)) = &settings.client_cert {
        let cert_pem = read(cert, "tls.client_cert_file")?;
        let key_pem = read(key, "tls.client_key_file")?;
        tls.identity = Some(pem_identity(&cert_pem, &key_pem).map_err(|e| {
            format!(
                "tls.client_cert_file {} and tls.client_key_file {} are not a PEM certificate and its key: {e}",
                cert.display(),
                key.display()
            )
        })?);
    }
    if let Some(name) = &settings.server_name {
        tls.server_name =
            Some(ServerName::try_from(name.clone()).map_err(|_| format!("tls.server_name `{name}` is not a DNS name or an IP address"))?);
    }
    Ok(tls)
}

/// Checks the server's certificate against a configured name instead of the URL's host (the
/// TLS server name indication still carries the URL's host); everything else (the chain, the
/// CA, validity dates, the signatures of the handshake) is the wrapped verifier's.
#[derive(Debug)]
struct NamedVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// The rustls configuration of a client with TLS settings: the verifier reqwest itself uses
/// (the platform's roots plus the extra CAs), or WebPKI with the cluster's CA alone, wrapped by
/// [`NamedVerifier`] when a server name is configured; the client certificate; HTTP/1.1 (the
/// only protocol toolwright's reqwest speaks).
fn rustls_config(tls: Tls) -> Result<rustls::ClientConfig, String> {
    let provider =
        rustls::crypto::CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier: Arc<dyn ServerCertVerifier> = if tls.roots_only {
        let mut store = rustls::RootCertStore::empty();
        for ca in tls.roots {
            store.add(ca).map_err(|e| format!("a CA certificate cannot be used: {e}"))?;
        }
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(store), Arc::clone(&provider))
            .build()
            .map_err(|e| format!("the CA certificates cannot be used: {e}"))?
    } else if tls.roots.is_empty() {
        Arc::new(rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(|e| format!("the system's CA certificates: {e}"))?)
    } else {
        Arc::new(
            rustls_platform_verifier::Verifier::new_with_extra_roots(tls.roots, Arc::clone(&provider))
                .map_err(|e| format!("the CA certificates cannot be used: {e}"))?,
        )
    };
    let verifier = match tls.server_name {
        Some(name) => Arc::new(NamedVerifier { inner: verifier, name }),
        None => verifier,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match tls.identity {
        Some((chain, key)) => {
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("the client certificate and key cannot be used: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// One pooled client with the settings of one connection (or of tools without one).
pub struct HttpClient {
    pub(crate) client: reqwest::Client,
    pub(crate) policy: Arc<NetworkPolicy>,
    /// The connection's tokens, shared by its clients on every thread.
    pub(crate) tokens: Arc<super::auth::TokenCache>,
    /// The API server of a `kubernetes` connection (base URL, credential).
    kube: Option<Arc<super::kube::Target>>,
    timeout: Option<Duration>,
    max_response_bytes: u64,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .field("kube", &self.kube)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl HttpClient {
    /// The client of an HTTP connection.
    pub(crate) fn for_connection(
        name: &str,
        settings: &HttpConnection,
        tokens: Arc<super::auth::TokenCache>,
    ) -> Result<HttpClient, String> {
        let policy = NetworkPolicy::new(Some(name.to_owned()), settings.private_networks.clone());
        // A Kubernetes connection's server, CA and credentials: read once per connection (the
        // clients of every thread share them), here rather than at compile time.
        let kube = match settings.auth.as_deref() {
            Some(super::HttpAuth::Kubernetes(source)) => Some(tokens.kube_target(name, source)?),
            _ => None,
        };
        let tls = tls_settings(&settings.tls, kube.as_deref()).map_err(|e| format!("connection `{name}`: {e}"))?;
        Self::build(policy, settings.timeout, settings.max_response_bytes, tls, tokens, kube)
            .map_err(|e| format!("could not build the HTTP client of connection `{name}`: {e}"))
    }

    /// The client of tools without a connection: public addresses only, default limits.
    pub(crate) fn without_connection() -> Result<HttpClient, String> {
        Self::build(NetworkPolicy::new(None, PrivateNetworks::Deny), None, DEFAULT_MAX_RESPONSE_BYTES, Tls::default(), Arc::default(), None)
            .map_err(|e| format!("could not build the HTTP client: {e}"))
    }

    fn build(
        policy: NetworkPolicy,
        timeout: Option<Duration>,
        max_response_bytes: u64,
        tls: Tls,
        tokens: Arc<super::auth::TokenCache>,
        kube: Option<Arc<super::kube::Target>>,
    ) -> Result<HttpClient, String> {
        let policy = Arc::new(policy);
        let mut builder = reqwest::Client::builder()
            .dns_resolver(PolicyResolver { policy: Arc::clone(&policy) })
            .redirect(redirect_policy(Arc::clone(&policy)))
            // A proxy would resolve and connect on our behalf, out of the resolver's sight,
            // so proxies from the environment are not used.
            .no_proxy()
            // The Referer header would carry the previous URL (and its query) to a redirect target.
            .referer(false)
            .user_agent(concat!("toolwright/", env!("CARGO_PKG_VERSION")));
        if let Some(t) = timeout {
            builder = builder.timeout(t);
        }
        if !tls.is_default() {
            builder = builder.tls_backend_preconfigured(rustls_config(tls)?);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(HttpClient { client, policy, tokens, kube, timeout, max_response_bytes })
    }

    /// The most bytes of an answer this client reads (the connection's `max_response_bytes`).
    pub(crate) fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// The Kubernetes API server this client sends to, for `kubernetes` connections.
    pub(crate) fn kube(&self) -> Option<&super::kube::Target> {
        self.kube.as_deref()
    }

    /// Reads the whole body, failing as soon as it grows past `max_response_bytes`.
    pub(crate) async fn read_body(&self, response: &mut reqwest::Response, host: &str) -> Result<Vec<u8>, String> {
        let limit = self.max_response_bytes;
        let too_large = || {
            format!(
                "the response was larger than {limit} bytes (the connection's max_response_bytes); ask for less data, for example with a smaller limit or a narrower filter"
            )
        };
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large());
        }
        let body = crate::util::read_capped(response, usize::try_from(limit).unwrap_or(usize::MAX)).await;
        if let Some(e) = &body.error {
            return Err(self.describe(e, host));
        }
        if body.cut {
            return Err(too_large());
        }
        Ok(body.bytes)
    }

    /// A message for a failed request: a policy refusal as it was written, otherwise what
    /// failed, the innermost cause, and what the model can do about it.
    pub(crate) fn describe(&self, err: &reqwest::Error, host: &str) -> String {
        let mut root = err.to_string();
        let mut source: Option<&(dyn StdError + 'static)> = StdError::source(err);
        // Error chains are short; the bound only guards against a cyclic one.
        for _ in 0..32 {
            let Some(e) = source else { break };
            if let Some(refusal) = e.downcast_ref::<PolicyRefusal>() {
                return refusal.0.clone();
            }
            root = e.to_string();
            source = e.source();
        }
        if err.is_timeout() {
            return match (&self.timeout, &self.policy.connection) {
                (Some(t), Some(c)) => format!(
                    "the request to {host} timed out after {} (the timeout of connection `{c}`); the backend is slow or unreachable, try again later or ask for less data",
                    humantime::format_duration(*t)
                ),
                _ => format!("the request to {host} timed out; the backend is slow or unreachable"),
            };
        }
        if err.is_connect() && root.contains("invalid peer certificate") {
            return format!(
                "could not connect to {host}: the server's TLS certificate was refused ({root}); it is not signed by a trusted CA or not issued for the name checked: check the connection's CA (`tls.ca_file`, the kubeconfig's certificate-authority) and `tls.server_name`"
            );
        }
        if err.is_connect() {
            return format!("could not connect to {host}: {root}; the backend may be down or unreachable, try again later");
        }
        if err.is_redirect() {
            return format!("following a redirect from {host} failed: {root}");
        }
        if err.is_body() || err.is_decode() {
            return format!("reading the response from {host} failed: {root}");
        }
        format!("the request to {host} failed: {root}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        non_public_kind(s.parse().expect("an address"))
    }

    #[test]
    fn classifies_addresses() {
        for (ip, want) in [
            ("127.0.0.1", Some("a loopback address")),
            ("127.1.2.3", Some("a loopback address")),
            ("10.1.2.3", Some("a private address")),
            ("172.16.0.1", Some("a private address")),
            ("172.31.255.255", Some("a private address")),
            ("192.168.1.1", Some("a private address")),
            ("100.64.0.1", Some("a shared (CGNAT) address")),
            ("169.254.169.254", Some("a link-local address")),
            ("0.0.0.0", Some("an unspecified address")),
            ("0.1.2.3", Some("a \"this network\" address (0.0.0.0/8)")),
            ("224.0.0.1", Some("a multicast address")),
            ("255.255.255.255", Some("a broadcast address")),
            ("::", Some("an unspecified address")),
            ("::1", Some("a loopback address")),
            ("::ffff:127.0.0.1", Some("a loopback address")),
            ("::ffff:169.254.169.254", Some("a link-local address")),
            ("64:ff9b::a00:1", Some("a private address")),
            ("2002:7f00:1::", Some("a loopback address")),
            ("fe80::1", Some("a link-local address")),
            ("fd00::1", Some("a unique-local address")),
            ("ff02::1", Some("a multicast address")),
            ("::127.0.0.1", Some("a deprecated IPv4-compatible address")),
            ("8.8.8.8", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("2606:4700::1111", None),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::808:808", None),
        ] {
            assert_eq!(kind(ip), want, "{ip}");
        }
    }

    #[test]
    fn policies() {
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let deny = NetworkPolicy::new(Some("x".into()), PrivateNetworks::Deny);
        assert_eq!(
            deny.check(ip),
            Err("127.0.0.1 is a loopback address and connection `x` does not allow private networks (set allow_private_networks)"
                .to_owned())
        );
        assert!(deny.check("1.1.1.1".parse().expect("ip")).is_ok());
        assert!(NetworkPolicy::new(None, PrivateNetworks::AllowAll).check(ip).is_ok());
        let some = NetworkPolicy::new(Some("x".into()), PrivateNetworks::Allow(vec!["127.0.0.1/32".parse().expect("net")]));
        assert!(some.check(ip).is_ok());
        assert!(some.check("::ffff:127.0.0.1".parse().expect("ip")).is_ok());
        assert!(some.check("127.0.0.2".parse().expect("ip")).is_err());
        assert!(some.check("8.8.8.8".parse().expect("ip")).is_ok());
    }
}
