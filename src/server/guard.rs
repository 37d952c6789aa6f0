//! The DNS-rebinding defence of every HTTP endpoint that reveals anything: the `Host` and
//! `Origin` allow lists (`--allowed-hosts`, `--allowed-origins`), read exactly as rmcp reads
//! them for `/mcp`, so that `/status` and `/metrics` (and the `/mcp` fast path) refuse what
//! `/mcp` refuses. Health probes (`/healthz`, `/readyz`) stay open.
//!
//! Our own code because rmcp keeps its checks private to its tower service; the rules are
//! small: a `Host` entry matches the host and, when it names one, the port; an `Origin` entry
//! matches scheme and host, and its port when it names one (`:*` any port, the scheme's
//! default port when the origin omits it); `null` matches only `null`; an entry that does
//! not parse matches nothing; an empty host list allows every host.

use http::HeaderMap;
use http::header;

/// The allow lists, parsed once.
#[derive(Clone, Debug)]
pub struct Guard {
    /// Allowed `Host` values as (lower-case host without brackets, port if given); `None`: any.
    hosts: Option<Vec<(String, Option<u16>)>>,
    /// Allowed origins; an empty list allows every origin.
    origins: Vec<AllowedOrigin>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum AllowedOrigin {
    Null,
    Tuple { scheme: String, host: String, port: Port },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    Any,
    Exact(u16),
}

/// An `Origin` header value as (scheme, host, port), or `None` for `null`.
type Origin = Option<(String, String, Option<u16>)>;

fn normal_host(host: &str) -> String {
    host.trim_matches(['[', ']']).to_ascii_lowercase()
}

fn parse_origin(value: &str) -> Option<Origin> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("null") {
        return Some(None);
    }
    let uri = http::Uri::try_from(value).ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    Some(Some((scheme, normal_host(authority.host()), authority.port_u16())))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl Guard {
    /// The guard of these allow lists.
    pub fn new(allowed_hosts: &[String], allowed_origins: &[String]) -> Guard {
        let hosts = (!allowed_hosts.is_empty()).then(|| {
            allowed_hosts
                .iter()
                .map(|h| h.trim())
                .filter(|h| !h.is_empty())
                .map(|h| match http::uri::Authority::try_from(h) {
                    Ok(a) => (normal_host(a.host()), a.port_u16()),
                    Err(_) => (normal_host(h), None),
                })
                .collect()
        });
        let origins = allowed_origins
            .iter()
            .filter_map(|raw| {
                let raw = raw.trim();
                let (base, any) = match raw.strip_suffix(":*") {
                    Some(base) => (base, true),
                    None => (raw, false),
                };
                match parse_origin(base)? {
                    None if !any => Some(AllowedOrigin::Null),
                    None => None,
                    Some((scheme, host, port)) => {
                        let port = match (any, port) {
                            (true, None) | (false, None) => Port::Any,
                            (true, Some(_)) => return None,
                            (false, Some(p)) => Port::Exact(p),
                        };
                        Some(AllowedOrigin::Tuple { scheme, host, port })
                    }
                }
            })
            .collect();
        Guard { hosts, origins }
    }

    /// Whether the request's single `Host` header is allowed.
    pub fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(allowed) = &self.hosts else { return true };
        let mut values = headers.get_all(header::HOST).iter();
        let (Some(host), None) = (values.next(), values.next()) else { return false };
        let Some(authority) = host.to_str().ok().and_then(|h| http::uri::Authority::try_from(h).ok()) else { return false };
        let (host, port) = (normal_host(authority.host()), authority.port_u16());
        allowed.iter().any(|(h, p)| *h == host && p.is_none_or(|p| Some(p) == port))
    }

    /// Whether the request's `Origin`, if it has one, is allowed.
    pub fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::ORIGIN) else { return true };
        if self.origins.is_empty() {
            return true;
        }
        let Some(origin) = value.to_str().ok().and_then(parse_origin) else { return false };
        self.origins.iter().any(|allowed| match (allowed, &origin) {
            (AllowedOrigin::Null, None) => true,
            (AllowedOrigin::Tuple { scheme, host, port }, Some((o_scheme, o_host, o_port))) => {
                scheme == o_scheme
                    && host == o_host
                    && match port {
                        Port::Any => true,
                        Port::Exact(p) => o_port.or_else(|| default_port(o_scheme)) == Some(*p),
                    }
            }
            _ => false,
        })
    }
}

/// Refuses a request whose `Host` or `Origin` is not allowed, with rmcp's answers (403).
pub async fn layer(
    axum::extract::State(guard): axum::extract::State<std::sync::Arc<Guard>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !guard.host_allowed(request.headers()) {
        return (http::StatusCode::FORBIDDEN, "Forbidden: Host header is not allowed").into_response();
    }
    if !guard.origin_allowed(request.headers()) {
        return (http::StatusCode::FORBIDDEN, "Forbidden: Origin header is not allowed").into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        h
    }

    #[test]
    fn hosts_and_origins_are_read_as_rmcp_reads_them() {
        let hosts = crate::server::http::default_hosts();
        let origins = crate::server::http::default_origins();
        let g = Guard::new(&hosts, &origins);
        assert!(g.host_allowed(&headers(&[("host", "127.0.0.1:8000")])));
        assert!(g.host_allowed(&headers(&[("host", "[::1]:8000")])));
        assert!(!g.host_allowed(&headers(&[("host", "evil.example:8000")])));
        assert!(!g.host_allowed(&headers(&[])));
        assert!(!g.host_allowed(&headers(&[("host", "127.0.0.1"), ("host", "evil.example")])));
        assert!(g.origin_allowed(&headers(&[])));
        assert!(g.origin_allowed(&headers(&[("origin", "http://localhost:3000")])));
        assert!(!g.origin_allowed(&headers(&[("origin", "http://evil.example")])));
        assert!(!g.origin_allowed(&headers(&[("origin", "null")])));
        let exact = Guard::new(&["api.example.com:443".into()], &["https://app.example.com:443".into(), "null".into()]);
        assert!(exact.origin_allowed(&headers(&[("origin", "https://app.example.com")])));
        assert!(!exact.origin_allowed(&headers(&[("origin", "https://app.example.com:8443")])));
        assert!(exact.origin_allowed(&headers(&[("origin", "null")])));
        assert!(exact.host_allowed(&headers(&[("host", "api.example.com:443")])));
        assert!(!exact.host_allowed(&headers(&[("host", "api.example.com:80")])));
        assert!(Guard::new(&[], &[]).host_allowed(&headers(&[("host", "anything")])));
    }
}
