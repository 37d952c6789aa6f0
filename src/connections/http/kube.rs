//! Where a `kubernetes` connection finds its API server: the pod's service account
//! (`kubernetes: in_cluster`) or a kubeconfig file and context. Read when the connection's
//! client is built (never by the compile), into a [`Target`]: the server's base URL, the CA,
//! the client certificate, the name the server's certificate is checked against, and the
//! credential sent with each request (a token file is read again when it changes, at send time).
//!
//! Only static credentials are supported: `exec` plugins, `auth-provider`, impersonation,
//! `proxy-url` and `insecure-skip-tls-verify: true` are refused with a message naming the
//! connection, the file and the field. No message quotes a value of the kubeconfig.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::KubeSource;

/// The service account directory Kubernetes mounts in every pod (unless automounting is off).
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// An environment variable that replaces [`SERVICE_ACCOUNT_DIR`] (for tests, or a token
/// projected elsewhere).
pub const SERVICE_ACCOUNT_DIR_ENV: &str = "TOOLWRIGHT_KUBERNETES_SA_DIR";

/// The most bytes of a kubeconfig, a CA or a client certificate file that are read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The API server of a `kubernetes` connection and how to authenticate to it.
pub struct Target {
    /// The server's base URL (`https://host:port`, maybe with a path prefix).
    pub base: url::Url,
    /// The cluster's CA certificates; when given, the only ones trusted (as kubectl does).
    pub ca: Vec<CertificateDer<'static>>,
    /// The client certificate chain and key, for mutual TLS.
    pub identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// The kubeconfig's `tls-server-name`.
    pub server_name: Option<String>,
    /// What authenticates each request besides a client certificate.
    pub credential: Credential,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key, never a token.
        f.debug_struct("Target")
            .field("base", &self.base.as_str())
            .field("ca", &self.ca.len())
            .field("client_certificate", &self.identity.is_some())
            .field("server_name", &self.server_name)
            .field("credential", &self.credential)
            .finish()
    }
}

/// The credential a request carries.
pub enum Credential {
    /// Nothing (a client certificate alone, or an unauthenticated proxy).
    None,
    /// `Authorization: Bearer <token>` (the kubeconfig's `token`).
    Token(String),
    /// `Authorization: Bearer <the file's contents>`, read again when the file changes.
    TokenFile(PathBuf),
    /// `Authorization: Basic <this>` (base64 of `username:password`).
    Basic(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::None => f.write_str("None"),
            Credential::Token(_) => f.write_str("Token(***)"),
            Credential::TokenFile(p) => write!(f, "TokenFile({})", p.display()),
            Credential::Basic(_) => f.write_str("Basic(***)"),
        }
    }
}

impl Target {
    /// `url` (rendered under [`super::KUBERNETES_PLACEHOLDER`]) moved onto the server: its path
    /// under the server's path prefix, its query kept. Any other URL is returned as it is.
    pub fn rebase(&self, url: &url::Url) -> url::Url {
        if url.origin() != placeholder().origin() {
            return url.clone();
        }
        let mut out = self.base.clone();
        out.set_path(&format!("{}{}", self.base.path().trim_end_matches('/'), url.path()));
        out.set_query(url.query());
        out.set_fragment(None);
        out
    }
}

fn placeholder() -> url::Url {
    url::Url::parse(super::KUBERNETES_PLACEHOLDER).unwrap_or_else(|_| unreachable!("a constant URL"))
}

/// Reads the server, CA and credentials of `source` for connection `connection`. Errors name
/// the connection and the file.
pub fn resolve(connection: &str, source: &KubeSource) -> Result<Target, String> {
    match source {
        KubeSource::InCluster => in_cluster(&|name| std::env::var(name).ok()).map_err(|e| format!("connection `{connection}`: {e}")),
        KubeSource::Kubeconfig { path, context } => {
            let path = expand_home(path).map_err(|e| format!("connection `{connection}`: {e}"))?;
            let shown = path.display().to_string();
            let bytes = read_file(&path).map_err(|e| format!("connection `{connection}`: cannot read the kubeconfig {shown}: {e}"))?;
            let text =
                String::from_utf8(bytes).map_err(|_| format!("connection `{connection}`: the kubeconfig {shown} is not UTF-8 text"))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            from_kubeconfig(&text, dir, context.as_deref()).map_err(|e| format!("connection `{connection}`: the kubeconfig {shown}: {e}"))
        }
    }
}

/// `~/x` as `$HOME/x`; any other path as it is.
fn expand_home(path: &Path) -> Result<PathBuf, String> {
    match path.to_str().and_then(|p| p.strip_prefix("~/")) {
        None => Ok(path.to_path_buf()),
        Some(rest) => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Ok(PathBuf::from(home).join(rest)),
            None => Err(format!("the kubeconfig path {} starts with `~/` but HOME is not set", path.display())),
        },
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("it is larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(bytes)
}

/// The pod's own API server: `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, and the
/// service account's `ca.crt` and `token` (read at send time) in [`SERVICE_ACCOUNT_DIR`] or
/// `$TOOLWRIGHT_KUBERNETES_SA_DIR`.
fn in_cluster(env: &dyn Fn(&str) -> Option<String>) -> Result<Target, String> {
    let base = in_cluster_base(env)?;
    let dir = env(SERVICE_ACCOUNT_DIR_ENV).filter(|d| !d.is_empty()).unwrap_or_else(|| SERVICE_ACCOUNT_DIR.to_owned());
    let dir = PathBuf::from(dir);
    let ca_path = dir.join("ca.crt");
    let pem = read_file(&ca_path).map_err(|e| format!("cannot read the service account CA {}: {e}", ca_path.display()))?;
    let ca = super::client::pem_certificates(&pem).map_err(|e| format!("the service account CA {} {e}", ca_path.display()))?;
    Ok(Target { base, ca, identity: None, server_name: None, credential: Credential::TokenFile(dir.join("token")) })
}

/// `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/`, an IPv6 address bracketed.
fn in_cluster_base(env: &dyn Fn(&str) -> Option<String>) -> Result<url::Url, String> {
    let missing = "`kubernetes: in_cluster` needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which Kubernetes sets in every pod; outside a cluster use `kubernetes: {kubeconfig: PATH}`";
    let host = env("KUBERNETES_SERVICE_HOST").map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).ok_or(missing)?;
    let port = env("KUBERNETES_SERVICE_PORT").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).ok_or(missing)?;
    let port: u16 = port.parse().map_err(|_| format!("KUBERNETES_SERVICE_PORT `{port}` is not a port number"))?;
    // An IPv6 address is bracketed in a URL (`https://[fd00::1]:443`).
    let authority = match host.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => format!("[{v6}]:{port}"),
        Err(_) => format!("{host}:{port}"),
    };
    let base = url::Url::parse(&format!("https://{authority}/"))
        .ok()
        .filter(|u| u.host_str().is_some() && u.path() == "/")
        .ok_or_else(|| format!("KUBERNETES_SERVICE_HOST `{host}` is not a host name or an IP address"))?;
    Ok(base)
}

/// A kubeconfig (only the fields toolwright reads; the rest is ignored).
#[derive(Deserialize, Default)]
struct Kubeconfig {
    #[serde(default, rename = "current-context")]
    current_context: Option<String>,
    #[serde(default)]
    clusters: Option<Vec<NamedCluster>>,
    #[serde(default)]
    contexts: Option<Vec<NamedContext>>,
    #[serde(default)]
    users: Option<Vec<NamedUser>>,
}

#[derive(Deserialize)]
struct NamedCluster {
    name: String,
    #[serde(default)]
    cluster: Option<Cluster>,
}

#[derive(Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: Option<Context>,
}

#[derive(Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: Option<User>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Cluster {
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    certificate_authority: Option<String>,
    #[serde(default)]
    certificate_authority_data: Option<String>,
    #[serde(default)]
    tls_server_name: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: Option<bool>,
    #[serde(default)]
    proxy_url: Option<String>,
}

#[derive(Deserialize, Default)]
struct Context {
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct User {
    #[serde(default)]
    token: Option<String>,
    #[serde(default, rename = "tokenFile")]
    token_file: Option<String>,
    #[serde(default)]
    client_certificate: Option<String>,
    #[serde(default)]
    client_certificate_data: Option<String>,
    #[serde(default)]
    client_key: Option<String>,
    #[serde(default)]
    client_key_data: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    exec: Option<IgnoredAny>,
    #[serde(default)]
    auth_provider: Option<IgnoredAny>,
    #[serde(default, rename = "as")]
    impersonate: Option<IgnoredAny>,
    #[serde(default, rename = "as-groups")]
    impersonate_groups: Option<IgnoredAny>,
    #[serde(default, rename = "as-uid")]
    impersonate_uid: Option<IgnoredAny>,
}

/// The target of `context` (default: `current-context`) in a kubeconfig's text; relative paths
/// in it are relative to `dir`, the kubeconfig's directory (as kubectl reads them).
fn from_kubeconfig(text: &str, dir: &Path, context: Option<&str>) -> Result<Target, String> {
    let options = serde_saphyr::options! { with_snippet: false, strict_booleans: true };
    let config: Kubeconfig = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        // The parser's message may quote a value (a token): only its position is shown.
        match e.location().filter(|l| l.line() > 0) {
            Some(l) => format!("is not a kubeconfig this version reads (YAML error at line {}, column {})", l.line(), l.column()),
            None => "is not a kubeconfig this version reads (a YAML error)".to_owned(),
        }
    })?;
    let context_name = match context {
        Some(c) => c.to_owned(),
        None => config
            .current_context
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or("it has no `current-context`; name one with `context:` in the connection")?,
    };
    let contexts = config.contexts.as_deref().unwrap_or_default();
    let Some(ctx) = contexts.iter().find(|c| c.name == context_name) else {
        let names: Vec<&str> = contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(format!("it has no context `{context_name}` (it has: {})", list(&names)));
    };
    let ctx = ctx.context.as_ref().ok_or_else(|| format!("context `{context_name}` is empty"))?;
    let cluster_name =
        ctx.cluster.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| format!("context `{context_name}` names no cluster"))?;
    let clusters = config.clusters.as_deref().unwrap_or_default();
    let cluster = clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .ok_or_else(|| format!("context `{context_name}` names the cluster `{cluster_name}`, which it does not define"))?;
    let empty = Cluster::default();
    let cluster = cluster.cluster.as_ref().unwrap_or(&empty);
    let at_cluster = |what: &str| format!("cluster `{cluster_name}`: {what}");
    if cluster.insecure_skip_tls_verify == Some(true) {
        return Err(at_cluster(
            "`insecure-skip-tls-verify: true` is not supported: toolwright always verifies the server's certificate; give the cluster's `certificate-authority`",
        ));
    }
    if cluster.proxy_url.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(at_cluster("`proxy-url` is not supported: toolwright connects to the API server directly"));
    }
    let server = cluster.server.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| at_cluster("it has no `server`"))?;
    let base = url::Url::parse(server)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
        .ok_or_else(|| at_cluster("its `server` is not an https URL"))?;
    let ca_pem =
        pem_source(dir, cluster.certificate_authority.as_deref(), cluster.certificate_authority_data.as_deref(), "certificate-authority")
            .map_err(|e| at_cluster(&e))?;
    let ca = match ca_pem {
        None => Vec::new(),
        Some((pem, what)) => super::client::pem_certificates(&pem).map_err(|e| at_cluster(&format!("{what} {e}")))?,
    };
    let server_name = cluster.tls_server_name.clone().filter(|s| !s.is_empty());
    if let Some(name) = &server_name
        && rustls::pki_types::ServerName::try_from(name.as_str()).is_err()
    {
        return Err(at_cluster("its `tls-server-name` is not a DNS name or an IP address"));
    }

    let mut target = Target { base, ca, identity: None, server_name, credential: Credential::None };
    let Some(user_name) = ctx.user.as_deref().filter(|u| !u.is_empty()) else {
        return Ok(target);
    };
    let users = config.users.as_deref().unwrap_or_default();
    let user = users
        .iter()
        .find(|u| u.name == user_name)
        .ok_or_else(|| format!("context `{context_name}` names the user `{user_name}`, which it does not define"))?;
    let empty = User::default();
    let user = user.user.as_ref().unwrap_or(&empty);
    let at_user = |what: &str| format!("user `{user_name}`: {what}");
    if user.exec.is_some() {
        return Err(at_user("uses `exec`: exec plugins are not supported; use a token, tokenFile or client certificate"));
    }
    if user.auth_provider.is_some() {
        return Err(at_user("uses `auth-provider`: auth provider plugins are not supported; use a token, tokenFile or client certificate"));
    }
    if user.impersonate.is_some() || user.impersonate_groups.is_some() || user.impersonate_uid.is_some() {
        return Err(at_user("uses impersonation (`as`, `as-groups`, `as-uid`), which is not supported"));
    }
    let cert = pem_source(dir, user.client_certificate.as_deref(), user.client_certificate_data.as_deref(), "client-certificate")
        .map_err(|e| at_user(&e))?;
    let key = pem_source(dir, user.client_key.as_deref(), user.client_key_data.as_deref(), "client-key").map_err(|e| at_user(&e))?;
    target.identity = match (cert, key) {
        (None, None) => None,
        (Some((cert, what)), Some((key, key_what))) => Some(
            super::client::pem_identity(&cert, &key)
                .map_err(|e| at_user(&format!("{what} and {key_what} are not a PEM certificate and its key: {e}")))?,
        ),
        (Some(_), None) => return Err(at_user("it has a client certificate but no `client-key` or `client-key-data`")),
        (None, Some(_)) => return Err(at_user("it has a client key but no `client-certificate` or `client-certificate-data`")),
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    target.credential = if let Some(token) = nonempty(&user.token) {
        if token.contains(|c: char| c.is_control()) {
            return Err(at_user("its `token` holds a line break or another control character"));
        }
        Credential::Token(token)
    } else if let Some(file) = nonempty(&user.token_file) {
        Credential::TokenFile(dir.join(file))
    } else if let (Some(name), Some(password)) = (nonempty(&user.username), nonempty(&user.password)) {
        Credential::Basic(base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}")))
    } else {
        Credential::None
    };
    Ok(target)
}

/// The PEM bytes of a `<what>` / `<what>-data` pair and how to name them in a message: the data
/// (base64) wins over the file, as kubectl reads them; the file is relative to the kubeconfig's
/// directory.
fn pem_source(dir: &Path, file: Option<&str>, data: Option<&str>, what: &str) -> Result<Option<(Vec<u8>, String)>, String> {
    if let Some(data) = data.filter(|d| !d.is_empty()) {
        let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
        let pem =
            base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).map_err(|_| format!("`{what}-data` is not base64"))?;
        return Ok(Some((pem, format!("`{what}-data`"))));
    }
    match file.filter(|f| !f.is_empty()) {
        None => Ok(None),
        Some(file) => {
            let path = dir.join(file);
            let pem = read_file(&path).map_err(|e| format!("cannot read its `{what}` {}: {e}", path.display()))?;
            Ok(Some((pem, format!("`{what}` {}", path.display()))))
        }
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn in_cluster_needs_the_service_variables_and_brackets_ipv6() {
        let err = in_cluster(&env(&[])).err().unwrap_or_default();
        assert!(err.contains("KUBERNETES_SERVICE_HOST") && err.contains("kubeconfig"), "{err}");
        let err =
            in_cluster(&env(&[("KUBERNETES_SERVICE_HOST", "10.96.0.1"), ("KUBERNETES_SERVICE_PORT", "https")])).err().unwrap_or_default();
        assert!(err.contains("not a port number"), "{err}");
        let base = |host: &'static str| {
            let vars: &'static [(&'static str, &'static str)] = match host {
                "v6" => &[("KUBERNETES_SERVICE_HOST", "fd00:10:96::1"), ("KUBERNETES_SERVICE_PORT", "443")],
                _ => &[("KUBERNETES_SERVICE_HOST", "10.96.0.1"), ("KUBERNETES_SERVICE_PORT", "6443")],
            };
            in_cluster_base(&env(vars)).map(|u| u.to_string())
        };
        assert_eq!(base("v6").as_deref(), Ok("https://[fd00:10:96::1]/"), "443 is https's default port");
        assert_eq!(base("v4").as_deref(), Ok("https://10.96.0.1:6443/"));
        // The CA is read next: a missing directory is an error naming the file.
        let err = in_cluster(&env(&[
            ("KUBERNETES_SERVICE_HOST", "fd00:10:96::1"),
            ("KUBERNETES_SERVICE_PORT", "443"),
            ("TOOLWRIGHT_KUBERNETES_SA_DIR", "/nonexistent/sa"),
        ]))
        .err()
        .unwrap_or_default();
        assert!(err.contains("/nonexistent/sa/ca.crt"), "{err}");
    }

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: prod
preferences: {}
clusters:
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:6443/prefix/
    tls-server-name: kubernetes.default.svc
- name: exec-cluster
  cluster: {server: "https://example.com"}
- name: insecure
  cluster: {server: "https://example.com", insecure-skip-tls-verify: true}
contexts:
- name: prod
  context: {cluster: prod-cluster, user: alice, namespace: default}
- name: files
  context: {cluster: prod-cluster, user: bob}
- name: exec
  context: {cluster: exec-cluster, user: eks}
- name: insecure
  context: {cluster: insecure, user: alice}
- name: anonymous
  context: {cluster: prod-cluster}
- name: basic
  context: {cluster: prod-cluster, user: carol}
users:
- name: alice
  user: {token: alice-token-value, tokenFile: ignored}
- name: bob
  user: {tokenFile: tokens/bob}
- name: carol
  user: {username: carol, password: pw}
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
"#;

    #[test]
    fn kubeconfig_contexts_clusters_and_users() {
        let dir = Path::new("/etc/kube");
        let t = from_kubeconfig(KUBECONFIG, dir, None).expect("current-context");
        assert_eq!(t.base.as_str(), "https://10.0.0.1:6443/prefix/");
        assert_eq!(t.server_name.as_deref(), Some("kubernetes.default.svc"));
        assert!(matches!(&t.credential, Credential::Token(s) if s == "alice-token-value"), "token wins over tokenFile");
        assert!(!format!("{t:?}").contains("alice-token-value"));
        let t = from_kubeconfig(KUBECONFIG, dir, Some("files")).expect("files");
        assert!(matches!(&t.credential, Credential::TokenFile(p) if p == Path::new("/etc/kube/tokens/bob")), "{t:?}");
        let t = from_kubeconfig(KUBECONFIG, dir, Some("anonymous")).expect("anonymous");
        assert!(matches!(t.credential, Credential::None));
        let t = from_kubeconfig(KUBECONFIG, dir, Some("basic")).expect("basic");
        assert!(matches!(&t.credential, Credential::Basic(b) if b == "Y2Fyb2w6cHc="), "{t:?}");
        // The path prefix is kept, the placeholder's path and query are moved onto it.
        let rendered = url::Url::parse("https://kubernetes.invalid/api/v1/pods?limit=5").expect("url");
        let t = from_kubeconfig(KUBECONFIG, dir, None).expect("current-context");
        assert_eq!(t.rebase(&rendered).as_str(), "https://10.0.0.1:6443/prefix/api/v1/pods?limit=5");
        let other = url::Url::parse("https://elsewhere.example/x").expect("url");
        assert_eq!(t.rebase(&other), other);
    }

    #[test]
    fn unsupported_kubeconfig_features_are_named() {
        let dir = Path::new("/etc/kube");
        let err = from_kubeconfig(KUBECONFIG, dir, Some("exec")).err().unwrap_or_default();
        assert_eq!(err, "user `eks`: uses `exec`: exec plugins are not supported; use a token, tokenFile or client certificate");
        let err = from_kubeconfig(KUBECONFIG, dir, Some("insecure")).err().unwrap_or_default();
        assert!(err.contains("insecure-skip-tls-verify") && err.contains("cluster `insecure`"), "{err}");
        let err = from_kubeconfig(KUBECONFIG, dir, Some("nope")).err().unwrap_or_default();
        assert!(err.contains("no context `nope`") && err.contains("`prod`"), "{err}");
        let err = from_kubeconfig("clusters: []\n", dir, None).err().unwrap_or_default();
        assert!(err.contains("current-context"), "{err}");
        // A YAML error shows its position, never the text around it.
        let err = from_kubeconfig("users:\n- name: a\n  user: {token: secret-value\n", dir, Some("a")).err().unwrap_or_default();
        assert!(err.contains("YAML error") && !err.contains("secret-value"), "{err}");
        let err = from_kubeconfig("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: https://h, certificate-authority-data: '!!'}}]\n", dir, None).err().unwrap_or_default();
        assert!(err.contains("certificate-authority-data") && err.contains("base64"), "{err}");
    }
}
