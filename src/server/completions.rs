//! `completion/complete` for prompt arguments (`ref/prompt`) and resource template variables
//! (`ref/resource`, whose `uri` is the template as listed), through `completions::complete`.

use rmcp::ErrorData as McpError;
use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, Reference};
use tokio_util::sync::CancellationToken;

use super::auth::{self, Identity};
use crate::completions::{self, CompleteError};
use crate::runtime::Loaded;

/// `completion/complete`: an unknown prompt, template or argument is invalid params (-32602),
/// a failed `complete` action an internal error.
/// A prompt or template the caller may not see is answered exactly as an unknown one.
pub(super) async fn complete(
    loaded: &Loaded,
    request: CompleteRequestParams,
    identity: Option<&Identity>,
    cancel: &CancellationToken,
) -> Result<CompleteResult, McpError> {
    let catalog = &loaded.catalog;
    let (arguments, owner) = match &request.r#ref {
        Reference::Prompt(p) => match catalog.prompt(&p.name) {
            Some(prompt) if auth::may_see(identity, &prompt.scopes) => (&prompt.arguments, format!("prompt `{}`", p.name)),
            found => {
                if let Some(prompt) = found {
                    auth::log_forbidden(identity, "prompt", &prompt.name, &prompt.scopes);
                }
                return Err(McpError::invalid_params(format!("unknown prompt `{}`", p.name), None));
            }
        },
        Reference::Resource(r) => match catalog.resource_template(&r.uri) {
            Some(template) if auth::may_see(identity, &template.scopes) => (&template.arguments, format!("resource template `{}`", r.uri)),
            found => {
                if let Some(template) = found {
                    auth::log_forbidden(identity, "resource template", &r.uri, &template.scopes);
                }
                return Err(McpError::invalid_params(format!("no resource template is `{}`", r.uri), None));
            }
        },
        other => {
            return Err(McpError::invalid_params(format!("completions of a `{}` reference are not served", other.reference_type()), None));
        }
    };
    let context = request.context.and_then(|c| c.arguments).unwrap_or_default();
    let found = completions::complete(loaded, arguments, &owner, &request.argument.name, &request.argument.value, context, cancel)
        .await
        .map_err(|e| match e {
            CompleteError::UnknownArgument { .. } => McpError::invalid_params(e.to_string(), None),
            CompleteError::Failed(message) => McpError::internal_error(message, None),
        })?;
    let total = u32::try_from(found.total).unwrap_or(u32::MAX);
    let info = CompletionInfo::with_pagination(found.values, Some(total), found.has_more).map_err(|e| McpError::internal_error(e, None))?;
    Ok(CompleteResult::new(info))
}
