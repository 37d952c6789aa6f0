//! The HTTP backend: sends a rendered [`HttpRequest`] with a pooled reqwest client and
//! turns the response into a [`ToolOutput`].
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
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{ToolOutput, output};
use crate::compile::catalog::{Action, HttpConnection, PrivateNetworks};
use crate::compile::jq::JqFilter;
use crate::compile::render::HttpRequest;
use crate::compile::{CompiledTool, DEFAULT_MAX_RESPONSE_BYTES};

/// Redirects followed before a call fails.
pub const MAX_REDIRECTS: usize = 5;

/// How long decoding, the jq projection and shaping of one response may take. jaq has no
/// fuel, so a filter that loops is only stopped from delaying the call by this bound.
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

/// A refusal or failure whose message is complete and written for a model. It travels
/// through reqwest's error chain (from the resolver and the redirect policy) and is picked
/// out again by [`HttpClient::describe`].
#[derive(Debug, Clone)]
struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Refusal {}

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
fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// `host:port` of a URL, for messages (never the path or query).
fn host_of(url: &url::Url) -> &str {
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
                Box::new(Refusal(format!("could not resolve the host `{host}`: {e}; check the host name in the connection or URL")))
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
                return Err(Box::new(Refusal(msg)) as Box<dyn StdError + Send + Sync>);
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
            return attempt.error(Refusal(format!("the backend redirected more than {MAX_REDIRECTS} times; stopped")));
        }
        let next = attempt.url();
        if !matches!(next.scheme(), "http" | "https") {
            let msg = format!("refused redirect: the backend redirected to a `{}:` URL; only http and https are followed", next.scheme());
            return attempt.error(Refusal(msg));
        }
        if next.scheme() == "http" && attempt.previous().last().is_some_and(|p| p.scheme() == "https") {
            let msg = format!(
                "refused redirect: the backend redirected from https to plain http ({}), which would send the request headers unencrypted",
                host_of(next)
            );
            return attempt.error(Refusal(msg));
        }
        if let Some(ip) = literal_ip(next)
            && let Err(why) = policy.check(ip)
        {
            return attempt.error(Refusal(format!("refused redirect: {why}")));
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
            return attempt.error(Refusal(msg));
        }
        attempt.follow()
    })
}

/// One pooled client with the settings of one connection (or of tools without one).
pub(crate) struct HttpClient {
    client: reqwest::Client,
    policy: Arc<NetworkPolicy>,
    timeout: Option<Duration>,
    max_response_bytes: u64,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl HttpClient {
    /// The client of an HTTP connection.
    pub(crate) fn for_connection(name: &str, settings: &HttpConnection) -> Result<HttpClient, String> {
        let policy = NetworkPolicy::new(Some(name.to_owned()), settings.private_networks.clone());
        Self::build(policy, settings.timeout, settings.max_response_bytes)
            .map_err(|e| format!("could not build the HTTP client of connection `{name}`: {e}"))
    }

    /// The client of tools without a connection: public addresses only, default limits.
    pub(crate) fn without_connection() -> Result<HttpClient, String> {
        Self::build(NetworkPolicy::new(None, PrivateNetworks::Deny), None, DEFAULT_MAX_RESPONSE_BYTES)
            .map_err(|e| format!("could not build the HTTP client: {e}"))
    }

    fn build(policy: NetworkPolicy, timeout: Option<Duration>, max_response_bytes: u64) -> Result<HttpClient, reqwest::Error> {
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
        Ok(HttpClient { client: builder.build()?, policy, timeout, max_response_bytes })
    }

    /// Sends the request and shapes the response for the model.
    pub(crate) async fn execute(&self, tool: &CompiledTool, request: HttpRequest) -> Result<ToolOutput, String> {
        let HttpRequest { method, url, headers, body, secrets, .. } = request;
        let masks = secret_masks(&headers);
        // What comes back on success is masked for the secrets only: masking every header
        // value would also blank out ordinary words such as `application/json` in the data.
        let secret_masks: Vec<String> = {
            let mut m: Vec<String> = secrets.into_iter().filter(|s| s.len() >= MIN_MASKED_PART).collect();
            m.sort_by_key(|s| std::cmp::Reverse(s.len()));
            m
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| format!("`{method}` is not an HTTP method"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("the URL scheme `{}` is not http or https; nothing was sent", url.scheme()));
        }
        let host = host_of(&url).to_owned();
        // reqwest connects to IP literals without asking the resolver, so they are checked here.
        if let Some(ip) = literal_ip(&url) {
            self.policy.check(ip).map_err(|why| format!("refused: {why}"))?;
        }
        let mut header_map = HeaderMap::with_capacity(headers.len() + 1);
        for (name, value) in &headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid HTTP header name; nothing was sent"))?;
            // The value is never quoted in the message: it may hold a secret.
            let mut value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
                format!(
                    "header `{name}` holds a character that cannot be sent (CR, LF, NUL or another control character); nothing was sent"
                )
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
        let mut builder = self.client.request(method, url).headers(header_map);
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let started = std::time::Instant::now();
        let mut response = builder.send().await.map_err(|e| self.describe(&e, &host))?;
        let status = response.status();
        crate::telemetry::http_response_status(status.as_u16());
        tracing::debug!(tool = %tool.name, %host, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "http response");
        if !status.is_success() {
            let excerpt = read_excerpt(&mut response, &masks).await;
            return Err(status_error(status, &excerpt));
        }
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let bytes = self.read_body(&mut response, &host).await?;
        if bytes.is_empty() {
            return Ok(ToolOutput::empty());
        }
        let jq = match &tool.action {
            Action::Http(a) => a.jq.clone(),
            _ => None,
        };
        let max_bytes = tool.max_bytes;
        if jq.is_none() && bytes.len() <= INLINE_SHAPING_BYTES {
            return shape(&bytes, &content_type, None, max_bytes).map(|o| mask_output(o, &secret_masks)).map_err(|e| mask(&e, &masks));
        }
        let has_jq = jq.is_some();
        let task = tokio::task::spawn_blocking(move || shape(&bytes, &content_type, jq.as_deref(), max_bytes));
        match tokio::time::timeout(PROCESSING_TIME_LIMIT, task).await {
            Ok(Ok(result)) => result.map(|o| mask_output(o, &secret_masks)).map_err(|e| mask(&e, &masks)),
            Ok(Err(_)) => Err("internal error while shaping the response".to_owned()),
            Err(_) if has_jq => Err(format!(
                "the response projection (jq) did not finish within {}s; the filter may loop or the response may be too large",
                PROCESSING_TIME_LIMIT.as_secs()
            )),
            Err(_) => Err(format!("shaping the response did not finish within {}s", PROCESSING_TIME_LIMIT.as_secs())),
        }
    }

    /// Reads the whole body, failing as soon as it grows past `max_response_bytes`.
    async fn read_body(&self, response: &mut reqwest::Response, host: &str) -> Result<Vec<u8>, String> {
        let limit = self.max_response_bytes;
        let too_large = || {
            format!(
                "the response was larger than {limit} bytes (the connection's max_response_bytes); ask for less data, for example with a smaller limit or a narrower filter"
            )
        };
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large());
        }
        let capacity = response.content_length().unwrap_or(0).min(1024 * 1024);
        let mut buf = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        // Each chunk is non-empty, so the loop ends by the limit or the end of the body; a
        // backend that trickles forever is stopped by the connection and tool timeouts.
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(&e, host))? {
            if u64::try_from(buf.len() + chunk.len()).unwrap_or(u64::MAX) > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    /// A message for a failed request: a policy refusal as it was written, otherwise what
    /// failed, the innermost cause, and what the model can do about it.
    fn describe(&self, err: &reqwest::Error, host: &str) -> String {
        let mut root = err.to_string();
        let mut source: Option<&(dyn StdError + 'static)> = StdError::source(err);
        // Error chains are short; the bound only guards against a cyclic one.
        for _ in 0..32 {
            let Some(e) = source else { break };
            if let Some(refusal) = e.downcast_ref::<Refusal>() {
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
    let mut buf: Vec<u8> = Vec::new();
    // Bounded by ERROR_BODY_BYTES (chunks are non-empty) and by the call's timeouts.
    while buf.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    let cut = buf.len() >= ERROR_BODY_BYTES;
    buf.truncate(ERROR_BODY_BYTES);
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

/// Decodes, projects and cuts a non-empty 2xx body.
fn shape(bytes: &[u8], content_type: &str, jq: Option<&JqFilter>, max_bytes: usize) -> Result<ToolOutput, String> {
    let json = is_json(content_type);
    match jq {
        Some(filter) => {
            // The operator wrote a projection, so the body is expected to be JSON even if the
            // backend labels it otherwise; one that does not parse cannot be projected.
            let value: Value = serde_json::from_slice(bytes).map_err(|e| {
                if json {
                    format!("the response is labelled JSON but does not parse ({e}), so the jq projection cannot run")
                } else {
                    let label = if content_type.is_empty() { "without a content type" } else { content_type };
                    format!("the response ({label}) is not JSON, so the jq projection cannot run")
                }
            })?;
            let projected = project(filter, &value)?;
            Ok(output::shape_json(projected, max_bytes))
        }
        None if json => match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => Ok(output::shape_json(value, max_bytes)),
            // A body that claims to be JSON but is not still says something to a model as text.
            Err(_) => Ok(output::shape_text(String::from_utf8_lossy(bytes).into_owned(), max_bytes)),
        },
        None => Ok(output::shape_text(String::from_utf8_lossy(bytes).into_owned(), max_bytes)),
    }
}

/// Runs the jq projection: one output is the result, several become an array, none is null.
fn project(filter: &JqFilter, value: &Value) -> Result<Value, String> {
    let mut outputs = filter.run(value).map_err(|m| format!("the response projection (jq) failed: {m}"))?;
    Ok(match outputs.len() {
        0 => Value::Null,
        1 => outputs.pop().unwrap_or(Value::Null),
        _ => Value::Array(outputs),
    })
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
