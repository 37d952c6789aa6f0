//! The `http` block of a connection as written in a spec.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// HTTP settings shared by the tools that use the connection.
// `base_url` is required unless `auth` holds `kubernetes` (whose server comes from the pod's
// environment or the kubeconfig): the schema says so with `if`/`else`, so a connection without
// it gets the same `missing-field` diagnostic (message and position) as when it was required outright.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "if" = {"required": ["auth"], "properties": {"auth": {"required": ["kubernetes"]}}},
    "else" = {"required": ["base_url"]}
))]
pub struct HttpConnectionSpec {
    /// Base URL that relative tool URLs resolve against. Required, except with `auth.kubernetes`
    /// (which takes the server from the pod's environment or the kubeconfig, and refuses one here).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Default headers; values may use `secret('NAME')`.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Deadline for each request, such as `10s`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Allow destinations on private networks: `true`, or a list of CIDRs.
    #[serde(default)]
    pub allow_private_networks: Option<AllowPrivateNetworks>,
    /// Most bytes read from a response (default 10 MiB).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_response_bytes: Option<u64>,
    /// How requests authenticate: exactly one of `basic`, `bearer_file`, `oauth2_client_credentials`,
    /// `aws_sigv4`, `kubernetes` or `eks`.
    #[serde(default)]
    pub auth: Option<HttpAuthSpec>,
    /// TLS settings: a private CA, a client certificate for mTLS, the name the server's certificate is checked against.
    #[serde(default)]
    pub tls: Option<TlsSpec>,
}

/// How requests through a connection authenticate (exactly one key).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpAuthSpec {
    /// `Authorization: Basic`, from a username and a password (use `secret('NAME')`).
    #[serde(default)]
    pub basic: Option<BasicAuthSpec>,
    /// `Authorization: Bearer` with the contents of this file, read again when it changes
    /// (projected service-account tokens rotate). Relative to the spec file's directory.
    #[serde(default)]
    pub bearer_file: Option<String>,
    /// An OAuth 2.0 client-credentials grant: the token is fetched from `token_url`, kept until
    /// shortly before it expires, and fetched again once when the API answers 401.
    #[serde(default)]
    pub oauth2_client_credentials: Option<OAuth2ClientCredentialsSpec>,
    /// Sign every request with AWS Signature Version 4.
    #[serde(default)]
    pub aws_sigv4: Option<AwsSigv4Spec>,
    /// A Kubernetes API server: `in_cluster` (the pod's service account), or
    /// `{kubeconfig: PATH, context: NAME}`. The server, CA and credentials come from there.
    #[serde(default)]
    pub kubernetes: Option<KubernetesSpec>,
    /// An Amazon EKS cluster: a bearer token made from an STS `GetCallerIdentity` URL presigned
    /// with the credentials of an `aws` connection (what `aws eks get-token` prints).
    #[serde(default)]
    pub eks: Option<EksSpec>,
}

/// `in_cluster`, or `{kubeconfig: PATH, context: NAME}` (no other key).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum KubernetesSpec {
    /// `in_cluster`: the server from `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, the
    /// token and CA from the pod's service account directory.
    InCluster(InCluster),
    /// A kubeconfig file and one of its contexts.
    Kubeconfig(KubeconfigSpec),
}

/// The one word `in_cluster`.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum InCluster {
    /// The pod's own service account.
    #[serde(rename = "in_cluster")]
    InCluster,
}

/// A kubeconfig file, read when the connection is first used.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubeconfigSpec {
    /// The kubeconfig file: relative to the spec file's directory; a leading `~/` is the home directory.
    pub kubeconfig: String,
    /// The context to use; default: the file's `current-context`.
    #[serde(default)]
    pub context: Option<String>,
}

/// Authentication to an Amazon EKS cluster's API server.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EksSpec {
    /// The EKS cluster's name (sent, signed, in the `x-k8s-aws-id` header of the presigned URL).
    pub cluster: String,
    /// A `kind: connection` with an `aws` block whose credentials presign (profile, role_arn);
    /// its `endpoint_url`, when set, is the STS endpoint.
    pub connection: String,
    /// The STS region; default: the `aws` connection's region (or the standard chain's).
    #[serde(default)]
    pub region: Option<String>,
}

/// AWS Signature Version 4 signing of every request of a connection.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsSigv4Spec {
    /// The signing name of the service, such as `ecs`, `xray`, `rds`, `ec2`, `codedeploy`.
    pub service: String,
    /// The region to sign for; default: the `aws` connection's region (or the standard chain's).
    #[serde(default)]
    pub region: Option<String>,
    /// A `kind: connection` with an `aws` block whose credentials sign (profile, role_arn); the
    /// standard AWS credential chain when absent.
    #[serde(default)]
    pub connection: Option<String>,
}

/// HTTP basic authentication.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthSpec {
    /// The user name (a template; may use `secret('NAME')`).
    pub username: String,
    /// The password: `{{ secret('NAME') }}`.
    pub password: String,
}

/// An OAuth 2.0 client-credentials grant (RFC 6749 section 4.4).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2ClientCredentialsSpec {
    /// The authorization server's token endpoint (http or https; the connection's network policy applies).
    pub token_url: String,
    /// The client id (a template; may use `secret('NAME')`).
    pub client_id: String,
    /// The client secret: `{{ secret('NAME') }}`.
    pub client_secret: String,
    /// Scopes to ask for.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// TLS settings of a connection. Paths are relative to the spec file's directory.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// PEM file of the CA certificates that sign the server's certificate (added to the system's).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// PEM file of the client certificate (mutual TLS); needs `client_key_file`.
    #[serde(default)]
    pub client_cert_file: Option<String>,
    /// PEM file of the client certificate's private key.
    #[serde(default)]
    pub client_key_file: Option<String>,
    /// The name the server's certificate is checked against instead of the URL's host (a DNS
    /// name or an IP address), such as `kubernetes.default.svc`.
    #[serde(default)]
    pub server_name: Option<String>,
}

/// `true`/`false`, or a list of CIDRs that may be reached.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AllowPrivateNetworks {
    /// Allow (or refuse) every private destination.
    All(bool),
    /// Allow these networks only, such as `10.0.0.0/8`.
    Cidrs(Vec<String>),
}
