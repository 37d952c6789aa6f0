//! `resources/list`, `resources/templates/list` and `resources/read` over the catalog in force.
//! A read through an action runs the backend, so it gets an audit line as a tool call does.

use base64::Engine as _;
use rmcp::ErrorData as McpError;
use rmcp::model::{ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::auth::{self, Identity};
use crate::catalog::Catalog;
use crate::resources::read::{self, Contents, ReadError};
use crate::resources::{Body, CompiledResource, CompiledResourceTemplate};
use crate::runtime::Loaded;

/// The MCP description of one resource.
fn mcp_resource(r: &CompiledResource) -> Resource {
    let mut resource = Resource::new(r.uri.clone(), r.name.clone());
    resource.title = r.title.clone();
    resource.description = r.description.clone();
    resource.mime_type = r.mime_type.clone().or_else(|| match r.body {
        Body::Text(_) => Some("text/plain".to_owned()),
        Body::Blob(_) => Some("application/octet-stream".to_owned()),
        Body::Action(_) => None,
    });
    resource.size = r.size().map(|s| s as u64);
    resource
}

/// The MCP description of one resource template.
fn mcp_template(t: &CompiledResourceTemplate) -> ResourceTemplate {
    let mut template = ResourceTemplate::new(t.template.source(), t.name.clone());
    template.title = t.title.clone();
    template.description = t.description.clone();
    template.mime_type = t.mime_type.clone();
    template
}

/// Every resource and resource template of a catalog, as MCP lists them (what a reload
/// compares to decide whether the resource list changed).
pub(super) fn listing(catalog: &Catalog) -> (Vec<Resource>, Vec<ResourceTemplate>) {
    (catalog.resources().iter().map(|r| mcp_resource(r)).collect(), catalog.resource_templates().iter().map(|t| mcp_template(t)).collect())
}

/// `resources/list`: the resources the caller may see.
pub(super) fn list(catalog: &Catalog, identity: Option<&Identity>) -> ListResourcesResult {
    ListResourcesResult::with_all_items(
        catalog.resources().iter().filter(|r| auth::may_see(identity, &r.scopes)).map(|r| mcp_resource(r)).collect(),
    )
}

/// `resources/templates/list`: the resource templates the caller may see.
pub(super) fn list_templates(catalog: &Catalog, identity: Option<&Identity>) -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(
        catalog.resource_templates().iter().filter(|t| auth::may_see(identity, &t.scopes)).map(|t| mcp_template(t)).collect(),
    )
}

/// What a read returned, as MCP resource contents (bytes base64).
pub(super) fn resource_contents(contents: Contents) -> ResourceContents {
    match contents {
        Contents::Text { uri, mime_type, text } => ResourceContents::text(text, uri).with_mime_type(mime_type),
        Contents::Blob { uri, mime_type, data } => {
            ResourceContents::blob(base64::engine::general_purpose::STANDARD.encode(&data), uri).with_mime_type(mime_type)
        }
    }
}

/// A failed read as MCP says it: an unknown URI is the resource-not-found error (-32002, the
/// URI in `data`; rmcp answers -32602 to a 2026-07-28 client, as that revision says),
/// variables that do not fit are invalid params, a failed action an internal error.
pub(super) fn read_error(e: ReadError) -> McpError {
    match e {
        ReadError::NotFound(uri) => McpError::resource_not_found(format!("no resource at `{uri}`"), Some(json!({"uri": uri}))),
        ReadError::Invalid { uri, message } => McpError::invalid_params(message, Some(json!({"uri": uri}))),
        ReadError::Failed { uri, message } => McpError::internal_error(message, Some(json!({"uri": uri}))),
    }
}

/// `resources/read`, with an audit line (caller, URI, outcome, duration) when the read ran an
/// action. A resource or template the caller may not see is read as if it did not exist (an
/// unknown URI is not found), and logged.
pub(super) async fn read(
    loaded: &Loaded,
    uri: &str,
    identity: Option<&Identity>,
    caller: impl FnOnce() -> String,
    cancel: &CancellationToken,
) -> Result<ReadResourceResult, McpError> {
    let catalog = &loaded.catalog;
    let visible = |scopes: &[String]| auth::may_see(identity, scopes);
    if let Some(r) = catalog.resource(uri).filter(|r| !visible(&r.scopes)) {
        auth::log_forbidden(identity, "resource", &r.uri, &r.scopes);
    } else if let Some((t, _)) = catalog.match_template(uri, crate::catalog::ALL_VISIBLE).filter(|(t, _)| !visible(&t.scopes)) {
        auth::log_forbidden(identity, "resource template", t.template.source(), &t.scopes);
    }
    let through_action = catalog
        .resource(uri)
        .filter(|r| visible(&r.scopes))
        .map_or_else(|| catalog.match_template(uri, &visible).is_some(), |r| matches!(r.body, Body::Action(_)));
    let started = std::time::Instant::now();
    let result = read::read(loaded, uri, &visible, cancel).await;
    if through_action {
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ReadError::Invalid { .. }) => "rejected",
            Err(_) => "error",
        };
        let ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
        tracing::info!(target: "toolwright::audit", caller = caller(), resource = %uri, outcome, duration_ms = ms, "read");
    }
    Ok(ReadResourceResult::new(vec![resource_contents(result.map_err(read_error)?)]))
}
