//! The `http` block of a connection as written in a spec.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// HTTP settings shared by the tools that use the connection.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConnectionSpec {
    /// Base URL that relative tool URLs resolve against.
    pub base_url: String,
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
    /// How requests authenticate: exactly one of `basic`, `bearer_file`, `oauth2_client_credentials` or `aws_sigv4`.
    #[serde(default)]
    pub auth: Option<HttpAuthSpec>,
    /// TLS settings: a private CA, a client certificate for mTLS.
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
