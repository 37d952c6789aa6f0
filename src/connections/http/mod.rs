//! The `http` connection kind: base URL, default headers (which may read secrets), timeout,
//! network policy and response cap shared by the http actions that name the connection.

pub mod auth;
pub mod client;
pub(crate) mod compile;
pub mod kube;
pub mod spec;

use std::path::PathBuf;
use std::time::Duration;

use crate::catalog::Template;

/// Most bytes read from a response when the connection does not say (10 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

/// Whether an HTTP connection may reach private addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivateNetworks {
    /// Refuse every loopback, private, link-local, unique-local or unspecified address.
    Deny,
    /// Allow all of them.
    AllowAll,
    /// Allow these networks only.
    Allow(Vec<ipnet::IpNet>),
}

/// The base URL a `kubernetes` connection's requests are rendered under: the server is only
/// known when the connection's client is built (from the environment or the kubeconfig), so
/// the client replaces this origin with the server's before sending. `.invalid` never resolves
/// (RFC 2606), so a request that kept it could not reach anyone.
pub const KUBERNETES_PLACEHOLDER: &str = "https://kubernetes.invalid/";

/// A compiled HTTP connection.
#[derive(Clone, Debug)]
pub struct HttpConnection {
    /// Base URL ([`KUBERNETES_PLACEHOLDER`] for `kubernetes` auth).
    pub base_url: Option<url::Url>,
    /// Default header templates.
    pub headers: Vec<(String, Template)>,
    /// Request deadline.
    pub timeout: Option<Duration>,
    /// Network policy.
    pub private_networks: PrivateNetworks,
    /// Most bytes read from a response.
    pub max_response_bytes: u64,
    /// How requests authenticate (boxed: rare, and large beside the other settings).
    pub auth: Option<Box<HttpAuth>>,
    /// Private CA and client certificate.
    pub tls: TlsSettings,
}

/// How requests through a connection authenticate.
#[derive(Clone, Debug)]
pub enum HttpAuth {
    /// `Authorization: Basic`, rendered with the request (header context: `secret()` allowed).
    Basic {
        /// User name template.
        username: Template,
        /// Password template.
        password: Template,
    },
    /// `Authorization: Bearer <file contents>`, read at send time when the file changed.
    BearerFile(PathBuf),
    /// An OAuth 2.0 client-credentials grant; the client id and secret are rendered with the
    /// request, the token is fetched (and kept) at send time.
    OAuth2 {
        /// The token endpoint.
        token_url: url::Url,
        /// Client id template.
        client_id: Template,
        /// Client secret template.
        client_secret: Template,
        /// Scopes asked for.
        scopes: Vec<String>,
    },
    /// AWS Signature Version 4, with the credentials of an `aws` connection (or the chain's).
    AwsSigv4 {
        /// The service's signing name.
        service: String,
        /// The region signed for, when the spec gives one.
        region: Option<String>,
        /// The `aws` connection whose credentials sign.
        connection: Option<String>,
    },
    /// A Kubernetes API server: server, CA and credentials from the pod or a kubeconfig, read
    /// when the connection's client is built.
    Kubernetes(KubeSource),
    /// An EKS cluster: a token presigned with the credentials of an `aws` connection.
    Eks {
        /// The cluster's name.
        cluster: String,
        /// The STS region, when the spec gives one.
        region: Option<String>,
        /// The `aws` connection whose credentials presign.
        connection: String,
    },
}

/// Where a `kubernetes` connection finds its server and credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeSource {
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`, the token and CA files).
    InCluster,
    /// A kubeconfig file (absolute, or starting with `~/`) and a context (default: the current one).
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// The context.
        context: Option<String>,
    },
}

impl HttpAuth {
    /// The key of the kind in `auth:`.
    pub fn kind(&self) -> &'static str {
        match self {
            HttpAuth::Basic { .. } => "basic",
            HttpAuth::BearerFile(_) => "bearer_file",
            HttpAuth::OAuth2 { .. } => "oauth2_client_credentials",
            HttpAuth::AwsSigv4 { .. } => "aws_sigv4",
            HttpAuth::Kubernetes(_) => "kubernetes",
            HttpAuth::Eks { .. } => "eks",
        }
    }
}

/// TLS settings of a connection (absolute paths; the compile resolved them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM CA certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and its key, for mutual TLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// The name the server's certificate is checked against instead of the URL's host.
    pub server_name: Option<String>,
}

/// Authentication that happens when the request is sent.
#[derive(Clone, Debug)]
pub enum SendAuth {
    /// `Authorization: Bearer` with the contents of this file.
    BearerFile(std::path::PathBuf),
    /// A client-credentials token from `token_url`, with the client id and secret rendered
    /// (secrets: never printed).
    OAuth2 {
        /// The token endpoint.
        token_url: url::Url,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
        /// Scopes.
        scopes: Vec<String>,
    },
    /// AWS Signature Version 4: the credentials come from the `aws` connection's clients.
    AwsSigv4 {
        /// The service's signing name.
        service: String,
        /// The region, when the spec gives one.
        region: Option<String>,
        /// The `aws` connection whose credentials sign; `None`: the standard chain.
        aws: Option<std::sync::Arc<crate::connections::Connection>>,
    },
    /// Kubernetes: the credentials the connection's client read (a token, a token file, basic,
    /// or none beside a client certificate).
    Kubernetes(KubeSource),
    /// EKS: a token presigned with the `aws` connection's credentials, kept for ten minutes.
    Eks {
        /// The cluster's name.
        cluster: String,
        /// The STS region, when the spec gives one.
        region: Option<String>,
        /// The `aws` connection whose credentials presign.
        aws: Option<std::sync::Arc<crate::connections::Connection>>,
    },
}

impl PartialEq for SendAuth {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SendAuth::BearerFile(a), SendAuth::BearerFile(b)) => a == b,
            (
                SendAuth::OAuth2 { token_url: a, client_id: b, client_secret: c, scopes: d },
                SendAuth::OAuth2 { token_url: e, client_id: f, client_secret: g, scopes: h },
            ) => (a, b, c, d) == (e, f, g, h),
            (SendAuth::AwsSigv4 { service: a, region: b, aws: c }, SendAuth::AwsSigv4 { service: d, region: e, aws: f }) => {
                (a, b) == (d, e) && crate::connections::same(c, f)
            }
            (SendAuth::Kubernetes(a), SendAuth::Kubernetes(b)) => a == b,
            (SendAuth::Eks { cluster: a, region: b, aws: c }, SendAuth::Eks { cluster: d, region: e, aws: f }) => {
                (a, b) == (d, e) && crate::connections::same(c, f)
            }
            _ => false,
        }
    }
}
