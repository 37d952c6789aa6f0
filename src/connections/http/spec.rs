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
