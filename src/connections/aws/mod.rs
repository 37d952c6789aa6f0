//! The `aws` connection kind: the region, profile, role and endpoint that CloudWatch actions
//! (and later any signed AWS call) use on top of the standard AWS credential chain.

pub mod client;
pub(crate) mod compile;
pub mod spec;
pub(crate) mod tape;

/// A compiled `aws` connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsConnection {
    /// AWS region, such as `us-east-1`.
    pub region: Option<String>,
    /// A named profile from the shared AWS config files.
    pub profile: Option<String>,
    /// A role to assume.
    pub role_arn: Option<String>,
    /// An endpoint override (an emulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
}
