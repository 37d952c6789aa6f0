//! Compiles the `http` block of a connection, and header templates (shared with the http action).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::spec::{AllowPrivateNetworks, HttpConnectionSpec};
use super::{DEFAULT_MAX_RESPONSE_BYTES, HttpConnection, PrivateNetworks};
use crate::catalog::Template;
use crate::catalog::template::Escape;
use crate::compile::Compiler;
use crate::compile::context::TemplateUse;
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::yaml::push_escaped;

static HEADER_NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$").expect("static regex"));

/// Compiles the block; `None` when it has errors (all reported).
pub(crate) fn compile(compiler: &mut Compiler<'_>, doc: &Document, http: &HttpConnectionSpec) -> Option<HttpConnection> {
    let mut ok = true;
    let base_url = match url::Url::parse(&http.base_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        Ok(u) => {
            compiler.push(doc, Code::InvalidUrl, "/http/base_url", format!("base_url scheme `{}` is not http or https", u.scheme()));
            ok = false;
            None
        }
        Err(e) => {
            compiler.push(doc, Code::InvalidUrl, "/http/base_url", format!("base_url `{}` does not parse: {e}", http.base_url));
            ok = false;
            None
        }
    };
    let mut uses = Vec::new();
    let headers = headers(compiler, doc, "/http/headers", http.headers.as_ref().unwrap_or(&BTreeMap::new()), &mut uses);
    for u in &uses {
        for v in u.vars.iter().filter(|v| !crate::catalog::template::GLOBALS.contains(&v.as_str())) {
            compiler.push(
                doc,
                Code::UndeclaredVariable,
                &u.pointer,
                format!("connection headers cannot read `{v}`: a connection has no arguments"),
            );
            ok = false;
        }
    }
    let timeout = match &http.timeout {
        Some(t) => compiler.duration(doc, "/http/timeout", t),
        None => None,
    };
    let private_networks = match &http.allow_private_networks {
        None | Some(AllowPrivateNetworks::All(false)) => PrivateNetworks::Deny,
        Some(AllowPrivateNetworks::All(true)) => PrivateNetworks::AllowAll,
        Some(AllowPrivateNetworks::Cidrs(list)) => {
            let mut nets = Vec::new();
            for (i, s) in list.iter().enumerate() {
                match s.parse::<ipnet::IpNet>().or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)) {
                    Ok(n) => nets.push(n),
                    Err(_) => {
                        compiler.push(
                            doc,
                            Code::InvalidValue,
                            &format!("/http/allow_private_networks/{i}"),
                            format!("`{s}` is not a CIDR such as 10.0.0.0/8"),
                        );
                        ok = false;
                    }
                }
            }
            PrivateNetworks::Allow(nets)
        }
    };
    if http.timeout.is_some() && timeout.is_none() {
        ok = false;
    }
    if let Some(url) = &base_url {
        refused_destination(compiler, doc, "/http/base_url", url, &private_networks, "allow_private_networks");
    }
    ok.then(|| HttpConnection {
        base_url,
        headers,
        timeout,
        private_networks,
        max_response_bytes: http.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
    })
}

/// Warns when every request to `url` would be refused by the network policy: its host is a
/// literal private, loopback or link-local address (or `localhost`) that `policy` does not allow.
pub(crate) fn refused_destination(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    pointer: &str,
    url: &url::Url,
    policy: &PrivateNetworks,
    fix: &str,
) {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost") => {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        }
        _ => return,
    };
    let Some(kind) = super::client::non_public_kind(ip) else { return };
    let allowed = match policy {
        PrivateNetworks::AllowAll => true,
        PrivateNetworks::Deny => false,
        PrivateNetworks::Allow(nets) => nets.iter().any(|n| n.contains(&ip)),
    };
    if allowed {
        return;
    }
    let host = url.host_str().unwrap_or_default();
    compiler
        .push(
            doc,
            Code::PrivateBaseUrl,
            pointer,
            format!("`{host}` is {kind}, and the network policy refuses it: every call to it would fail"),
        )
        .help = Some(format!("if this destination is meant, allow it: `{fix}: true`, or the networks it may reach, such as `[{ip}/32]`"));
}

/// Compiles header templates (of a connection or an action) under `pointer`.
pub(crate) fn headers(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    pointer: &str,
    headers: &BTreeMap<String, String>,
    uses: &mut Vec<TemplateUse>,
) -> Vec<(String, Template)> {
    let mut out = Vec::new();
    for (k, v) in headers {
        let mut p = pointer.to_owned();
        p.push('/');
        push_escaped(&mut p, k);
        if !HEADER_NAME_RE.is_match(k) {
            compiler.push_key(doc, Code::InvalidValue, &p, format!("`{k}` is not a valid HTTP header name"));
            continue;
        }
        if v.contains(['\r', '\n']) {
            compiler.push(doc, Code::InvalidValue, &p, format!("header `{k}` holds a line break"));
            continue;
        }
        if let Some(t) = compiler.template(doc, &p, v, Escape::Header, uses) {
            out.push((k.clone(), t));
        }
    }
    out
}
