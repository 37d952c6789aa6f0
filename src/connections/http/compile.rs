//! Compiles the `http` block of a connection, and header templates (shared with the http action).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::spec::{AllowPrivateNetworks, HttpAuthSpec, HttpConnectionSpec, KubernetesSpec, TlsSpec};
use super::{DEFAULT_MAX_RESPONSE_BYTES, HttpAuth, HttpConnection, KubeSource, PrivateNetworks, TlsSettings};
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
    let kubernetes = http.auth.as_ref().is_some_and(|a| a.kubernetes.is_some());
    let base_url = match (&http.base_url, kubernetes) {
        (Some(_), true) => {
            compiler.push(
                doc,
                Code::InvalidValue,
                "/http/base_url",
                "a `kubernetes` connection takes its server from the pod's environment or the kubeconfig; remove `base_url`",
            );
            ok = false;
            None
        }
        // Requests render under a placeholder whose origin the client replaces with the server's.
        (None, true) => url::Url::parse(super::KUBERNETES_PLACEHOLDER).ok(),
        // The schema requires `base_url` without `kubernetes`; this is only reached if it did not.
        (None, false) => {
            compiler.push_key(doc, Code::MissingField, "/http", "missing field `base_url` in `http`");
            ok = false;
            None
        }
        (Some(text), false) => match url::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            Ok(u) => {
                compiler.push(doc, Code::InvalidUrl, "/http/base_url", format!("base_url scheme `{}` is not http or https", u.scheme()));
                ok = false;
                None
            }
            Err(e) => {
                compiler.push(doc, Code::InvalidUrl, "/http/base_url", format!("base_url `{text}` does not parse: {e}"));
                ok = false;
                None
            }
        },
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
    if let Some(url) = base_url.as_ref().filter(|_| !kubernetes) {
        refused_destination(compiler, doc, "/http/base_url", url, &private_networks, "allow_private_networks");
    }
    let mut auth_uses = Vec::new();
    let auth = match &http.auth {
        None => None,
        Some(spec) => {
            let auth = compile_auth(compiler, doc, spec, &mut auth_uses).map(Box::new);
            if auth.is_none() {
                ok = false;
            }
            auth
        }
    };
    for u in &auth_uses {
        for v in u.vars.iter().filter(|v| !crate::catalog::template::GLOBALS.contains(&v.as_str())) {
            compiler.push(
                doc,
                Code::UndeclaredVariable,
                &u.pointer,
                format!("connection auth cannot read `{v}`: a connection has no arguments"),
            );
            ok = false;
        }
    }
    let tls = match &http.tls {
        None => TlsSettings::default(),
        Some(spec) => match compile_tls(compiler, doc, spec, kubernetes) {
            Some(t) => t,
            None => {
                ok = false;
                TlsSettings::default()
            }
        },
    };
    ok.then(|| HttpConnection {
        base_url,
        headers,
        timeout,
        private_networks,
        max_response_bytes: http.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
        auth,
        tls,
    })
}

/// Compiles `auth:`: exactly one kind.
fn compile_auth(compiler: &mut Compiler<'_>, doc: &Document, spec: &HttpAuthSpec, uses: &mut Vec<TemplateUse>) -> Option<HttpAuth> {
    let kinds = usize::from(spec.basic.is_some())
        + usize::from(spec.bearer_file.is_some())
        + usize::from(spec.oauth2_client_credentials.is_some())
        + usize::from(spec.aws_sigv4.is_some())
        + usize::from(spec.kubernetes.is_some())
        + usize::from(spec.eks.is_some());
    if kinds != 1 {
        let msg = if kinds == 0 {
            "`auth` is empty; give one of `basic`, `bearer_file`, `oauth2_client_credentials`, `aws_sigv4`, `kubernetes` or `eks`"
        } else {
            "`auth` holds more than one kind; keep exactly one"
        };
        compiler.push(doc, Code::AuthCount, "/http/auth", msg);
        return None;
    }
    if let Some(basic) = &spec.basic {
        let username = compiler.template(doc, "/http/auth/basic/username", &basic.username, Escape::Header, uses);
        let password = compiler.template(doc, "/http/auth/basic/password", &basic.password, Escape::Header, uses);
        return Some(HttpAuth::Basic { username: username?, password: password? });
    }
    if let Some(path) = &spec.bearer_file {
        return Some(HttpAuth::BearerFile(beside(compiler, doc, path)));
    }
    let valid_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if let Some(kubernetes) = &spec.kubernetes {
        return match kubernetes {
            KubernetesSpec::InCluster(_) => Some(HttpAuth::Kubernetes(KubeSource::InCluster)),
            KubernetesSpec::Kubeconfig(k) => {
                if k.kubeconfig.trim().is_empty() {
                    compiler.push(
                        doc,
                        Code::InvalidValue,
                        "/http/auth/kubernetes/kubeconfig",
                        "`kubeconfig` is empty; give the kubeconfig file's path",
                    );
                    return None;
                }
                if k.context.as_deref().is_some_and(|c| c.trim().is_empty()) {
                    compiler.push(
                        doc,
                        Code::InvalidValue,
                        "/http/auth/kubernetes/context",
                        "`context` is empty; name a context of the kubeconfig, or leave it out for its current-context",
                    );
                    return None;
                }
                // `~/` is the home directory, expanded when the client is built (not here: the
                // compile reads nothing but spec files, and the environment may differ then).
                let path = if k.kubeconfig.starts_with("~/") {
                    std::path::PathBuf::from(&k.kubeconfig)
                } else {
                    beside(compiler, doc, &k.kubeconfig)
                };
                Some(HttpAuth::Kubernetes(KubeSource::Kubeconfig { path, context: k.context.clone() }))
            }
        };
    }
    if let Some(eks) = &spec.eks {
        // The `connection` is checked once every connection is compiled (compile/connections.rs).
        let valid_cluster = eks.cluster.len() <= 100
            && eks.cluster.starts_with(|c: char| c.is_ascii_alphanumeric())
            && eks.cluster.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_cluster {
            compiler.push(
                doc,
                Code::InvalidValue,
                "/http/auth/eks/cluster",
                format!("`{}` is not an EKS cluster name (a letter or digit, then letters, digits, `-` or `_`; at most 100)", eks.cluster),
            );
            return None;
        }
        if let Some(region) = eks.region.as_deref().filter(|r| !valid_name(r)) {
            compiler.push(doc, Code::InvalidValue, "/http/auth/eks/region", format!("`{region}` is not a region such as `us-east-1`"));
            return None;
        }
        return Some(HttpAuth::Eks { cluster: eks.cluster.clone(), region: eks.region.clone(), connection: eks.connection.clone() });
    }
    if let Some(sigv4) = &spec.aws_sigv4 {
        // The `connection` is checked once every connection is compiled (compile/connections.rs).
        if !valid_name(&sigv4.service) {
            compiler.push(
                doc,
                Code::InvalidValue,
                "/http/auth/aws_sigv4/service",
                format!("`{}` is not a service signing name such as `ecs` or `xray`", sigv4.service),
            );
            return None;
        }
        if let Some(region) = sigv4.region.as_deref().filter(|r| !valid_name(r)) {
            compiler.push(
                doc,
                Code::InvalidValue,
                "/http/auth/aws_sigv4/region",
                format!("`{region}` is not a region such as `us-east-1`"),
            );
            return None;
        }
        return Some(HttpAuth::AwsSigv4 {
            service: sigv4.service.clone(),
            region: sigv4.region.clone(),
            connection: sigv4.connection.clone(),
        });
    }
    let oauth = spec.oauth2_client_credentials.as_ref()?;
    let pointer = "/http/auth/oauth2_client_credentials";
    let token_url = match url::Url::parse(&oauth.token_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        _ => {
            compiler.push(
                doc,
                Code::InvalidUrl,
                &format!("{pointer}/token_url"),
                format!("`{}` is not an http or https URL", oauth.token_url),
            );
            None
        }
    };
    let client_id = compiler.template(doc, &format!("{pointer}/client_id"), &oauth.client_id, Escape::Header, uses);
    let client_secret = compiler.template(doc, &format!("{pointer}/client_secret"), &oauth.client_secret, Escape::Header, uses);
    Some(HttpAuth::OAuth2 {
        token_url: token_url?,
        client_id: client_id?,
        client_secret: client_secret?,
        scopes: oauth.scopes.clone().unwrap_or_default(),
    })
}

/// Compiles `tls:`: a client certificate needs its key and the other way round; `server_name`
/// is a DNS name or an IP address; a `kubernetes` connection takes its CA and client
/// certificate from the pod or the kubeconfig, so only `server_name` may be given with it.
fn compile_tls(compiler: &mut Compiler<'_>, doc: &Document, spec: &TlsSpec, kubernetes: bool) -> Option<TlsSettings> {
    if kubernetes {
        let given = [("ca_file", &spec.ca_file), ("client_cert_file", &spec.client_cert_file), ("client_key_file", &spec.client_key_file)];
        let mut refused = false;
        for (key, value) in given {
            if value.is_some() {
                compiler.push_key(
                    doc,
                    Code::InvalidValue,
                    &format!("/http/tls/{key}"),
                    format!("a `kubernetes` connection takes its CA and client certificate from the service account or the kubeconfig; remove `tls.{key}`"),
                );
                refused = true;
            }
        }
        if refused {
            return None;
        }
    }
    if let Some(name) = &spec.server_name
        && rustls::pki_types::ServerName::try_from(name.as_str()).is_err()
    {
        compiler.push(
            doc,
            Code::InvalidValue,
            "/http/tls/server_name",
            format!("`{name}` is not a DNS name or an IP address such as `kubernetes.default.svc`"),
        );
        return None;
    }
    let client_cert = match (&spec.client_cert_file, &spec.client_key_file) {
        (Some(cert), Some(key)) => Some((beside(compiler, doc, cert), beside(compiler, doc, key))),
        (None, None) => None,
        (Some(_), None) => {
            compiler.push_key(doc, Code::InvalidValue, "/http/tls/client_cert_file", "`client_cert_file` needs `client_key_file`");
            return None;
        }
        (None, Some(_)) => {
            compiler.push_key(doc, Code::InvalidValue, "/http/tls/client_key_file", "`client_key_file` needs `client_cert_file`");
            return None;
        }
    };
    Some(TlsSettings {
        ca_file: spec.ca_file.as_ref().map(|p| beside(compiler, doc, p)),
        client_cert,
        server_name: spec.server_name.clone(),
    })
}

/// A path from a spec, relative to the spec file's directory unless absolute.
fn beside(compiler: &Compiler<'_>, doc: &Document, path: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(path);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let file = std::path::Path::new(&compiler.files[doc.file].name);
    file.parent().map_or_else(|| path.to_path_buf(), |dir| dir.join(path))
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
