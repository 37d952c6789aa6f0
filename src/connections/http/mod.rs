//! The `http` connection kind: base URL, default headers (which may read secrets), timeout,
//! network policy and response cap shared by the http actions that name the connection.

pub mod client;
pub(crate) mod compile;
pub mod spec;

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

/// A compiled HTTP connection.
#[derive(Clone, Debug)]
pub struct HttpConnection {
    /// Base URL.
    pub base_url: Option<url::Url>,
    /// Default header templates.
    pub headers: Vec<(String, Template)>,
    /// Request deadline.
    pub timeout: Option<Duration>,
    /// Network policy.
    pub private_networks: PrivateNetworks,
    /// Most bytes read from a response.
    pub max_response_bytes: u64,
}
