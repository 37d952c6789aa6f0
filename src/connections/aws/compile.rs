//! Compiles the `aws` block of a connection.

use super::AwsConnection;
use super::spec::AwsConnectionSpec;
use crate::compile::Compiler;
use crate::diag::Code;
use crate::spec::Document;

/// Compiles the block; `None` when it has errors (all reported).
pub(crate) fn compile(compiler: &mut Compiler<'_>, doc: &Document, aws: &AwsConnectionSpec) -> Option<AwsConnection> {
    if let Some(u) = &aws.endpoint_url
        && url::Url::parse(u).is_err()
    {
        compiler.push(doc, Code::InvalidUrl, "/aws/endpoint_url", format!("`{u}` is not a URL"));
        return None;
    }
    Some(AwsConnection {
        region: aws.region.clone(),
        profile: aws.profile.clone(),
        role_arn: aws.role_arn.clone(),
        endpoint_url: aws.endpoint_url.clone(),
    })
}
