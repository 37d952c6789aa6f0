//! The `aws` block of a connection as written in a spec.

use schemars::JsonSchema;
use serde::Deserialize;

/// AWS settings on top of the standard AWS credential chain.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsConnectionSpec {
    /// AWS region, such as `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// A named profile from the shared AWS config files.
    #[serde(default)]
    pub profile: Option<String>,
    /// A role to assume.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// An endpoint override (an emulator, a VPC endpoint).
    #[serde(default)]
    pub endpoint_url: Option<String>,
}
