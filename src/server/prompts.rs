//! `prompts/list` and `prompts/get` over the catalog in force: the catalog's prompts as MCP
//! prompts, and their messages rendered by `prompts::get` as MCP prompt messages.

use base64::Engine as _;
use rmcp::ErrorData as McpError;
use rmcp::model::{
    ContentBlock, EmbeddedResource, GetPromptRequestParams, GetPromptResult, ListPromptsResult, Prompt, PromptArgument, PromptMessage, Role,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::auth::{self, Identity};
use super::resources::{read_error, resource_contents};
use crate::catalog::Catalog;
use crate::prompts::get::{Content, GetError};
use crate::prompts::{self, CompiledPrompt};
use crate::runtime::Loaded;

/// The MCP description of one prompt: its arguments are the schema's properties, in order,
/// each with its `title` and `description` and whether `required` names it.
pub(super) fn mcp_prompt(p: &CompiledPrompt) -> Prompt {
    let arguments: Vec<PromptArgument> = p
        .arguments
        .properties()
        .map(|(name, schema)| {
            let mut a = PromptArgument::new(name.clone()).with_required(p.arguments.is_required(name));
            if let Some(title) = schema.get("title").and_then(Value::as_str) {
                a = a.with_title(title);
            }
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                a = a.with_description(description);
            }
            a
        })
        .collect();
    let mut prompt = Prompt::new(p.name.clone(), p.description.clone(), (!arguments.is_empty()).then_some(arguments));
    if let Some(title) = &p.title {
        prompt = prompt.with_title(title.clone());
    }
    prompt
}

/// Every prompt of a catalog, as MCP lists them (also what a reload compares to decide whether
/// the list changed).
pub(super) fn listing(catalog: &Catalog) -> Vec<Prompt> {
    catalog.prompts().iter().map(|p| mcp_prompt(p)).collect()
}

/// `prompts/list`: the prompts the caller may see.
pub(super) fn list(catalog: &Catalog, identity: Option<&Identity>) -> ListPromptsResult {
    ListPromptsResult::with_all_items(
        catalog.prompts().iter().filter(|p| auth::may_see(identity, &p.scopes)).map(|p| mcp_prompt(p)).collect(),
    )
}

/// `prompts/get`: an unknown prompt (or one the caller may not see, answered exactly alike, the
/// hint naming visible prompts only) or arguments that do not fit are invalid params (-32602);
/// a resource a message names fails as `resources/read` would for this caller.
pub(super) async fn get(
    loaded: &Loaded,
    request: GetPromptRequestParams,
    identity: Option<&Identity>,
    cancel: &CancellationToken,
) -> Result<GetPromptResult, McpError> {
    let catalog = &loaded.catalog;
    let found = catalog.prompt(&request.name);
    let Some(prompt) = found.filter(|p| auth::may_see(identity, &p.scopes)) else {
        if let Some(p) = found {
            auth::log_forbidden(identity, "prompt", &p.name, &p.scopes);
        }
        let visible = catalog.prompts().iter().filter(|p| auth::may_see(identity, &p.scopes)).map(|p| p.name.as_str());
        let near = crate::util::did_you_mean(&request.name, visible);
        let hint = near.map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
        return Err(McpError::invalid_params(format!("unknown prompt `{}`{hint}", request.name), None));
    };
    let given = request.arguments.unwrap_or_default();
    let visible = |scopes: &[String]| auth::may_see(identity, scopes);
    let messages = prompts::get::get(loaded, prompt, given, &visible, cancel).await.map_err(|e| match e {
        GetError::InvalidArguments(message) => McpError::invalid_params(message, None),
        GetError::Resource(e) => read_error(e),
    })?;
    let messages = messages
        .into_iter()
        .map(|m| {
            let role = match m.role {
                prompts::Role::User => Role::User,
                prompts::Role::Assistant => Role::Assistant,
            };
            let content = match m.content {
                Content::Text(text) => ContentBlock::text(text),
                Content::Resource(contents) => ContentBlock::Resource(EmbeddedResource::new(resource_contents(contents))),
                Content::Image(b) => ContentBlock::image(base64::engine::general_purpose::STANDARD.encode(&b.data), b.mime_type),
                Content::Audio(b) => ContentBlock::audio(base64::engine::general_purpose::STANDARD.encode(&b.data), b.mime_type),
            };
            PromptMessage::new(role, content)
        })
        .collect();
    let mut result = GetPromptResult::new(messages);
    result.description = prompt.description.clone();
    Ok(result)
}
