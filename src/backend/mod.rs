//! Backends: run a rendered request and shape what comes back for the model.
//!
//! Architecture invariant: this module never sees YAML or spans. It gets [`Rendered`]
//! requests and the compiled connection settings of a [`Catalog`].

pub mod http;
pub mod output;

use std::collections::HashMap;
use std::sync::Arc;

use crate::compile::{Catalog, CompiledTool, Connection, Rendered};
use http::HttpClient;

/// Clients built once per catalog: one pooled `reqwest::Client` per http connection (plus one
/// for tools without a connection). Reused across calls; cheap to share (`Arc` inside).
///
/// Build a new one whenever the catalog is rebuilt: [`execute`] refuses to use a client with a
/// connection of another catalog, whose network policy may differ.
#[derive(Clone, Debug)]
pub struct Backends {
    inner: Arc<Clients>,
}

#[derive(Debug)]
struct Clients {
    http: HashMap<String, HttpClient>,
    without_connection: HttpClient,
}

impl Backends {
    /// Builds the clients of every http connection of `catalog`.
    pub fn new(catalog: &Catalog) -> Result<Backends, String> {
        let mut http = HashMap::new();
        for (name, connection) in catalog.connections() {
            if let Connection::Http(settings) = connection.as_ref() {
                http.insert(
                    name.clone(),
                    HttpClient::for_connection(name, connection, settings)?,
                );
            }
        }
        let without_connection = HttpClient::without_connection()?;
        Ok(Backends {
            inner: Arc::new(Clients {
                http,
                without_connection,
            }),
        })
    }

    /// The client for a request's connection, checked to belong to `catalog`.
    fn http_client(
        &self,
        catalog: &Catalog,
        connection: Option<&str>,
    ) -> Result<&HttpClient, String> {
        let Some(name) = connection else {
            return Ok(&self.inner.without_connection);
        };
        let client = self.inner.http.get(name).ok_or_else(|| format!("internal: no HTTP client for connection `{name}`; the backends were built for another catalog"))?;
        match (catalog.connection(name), &client.connection) {
            (Some(current), Some(built)) if Arc::ptr_eq(current, built) => Ok(client),
            _ => Err(format!(
                "internal: the HTTP client for connection `{name}` was built for another catalog; rebuild the backends when the catalog changes"
            )),
        }
    }
}

/// What a tool call produced, ready for MCP: `structured` becomes structuredContent, `text` the text content.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The structured result, always a JSON object when present.
    pub structured: Option<serde_json::Value>,
    /// A compact text rendering (the JSON text of `structured`, or the text the backend sent).
    pub text: String,
    /// Whether the output was cut to the tool's `max_bytes`.
    pub truncated: bool,
}

impl ToolOutput {
    /// The result of a call that returned nothing (such as HTTP 204).
    pub fn empty() -> ToolOutput {
        ToolOutput {
            structured: None,
            text: String::new(),
            truncated: false,
        }
    }
}

/// Runs a rendered request for a tool and shapes the output (jq projection, max_bytes cut). Errors are messages written for a model (what failed, what to do), never containing secrets (header values are never echoed).
///
/// The tool's `timeout` bounds the whole call, including reading and shaping the response.
pub async fn execute(
    backends: &Backends,
    catalog: &Catalog,
    tool: &CompiledTool,
    rendered: Rendered,
) -> Result<ToolOutput, String> {
    let call = async {
        match rendered {
            Rendered::Http(request) => {
                let client = backends.http_client(catalog, request.connection.as_deref())?;
                client.execute(tool, request).await
            }
            // Another issue adds the CloudWatch backends; until then these tools fail clearly.
            Rendered::LogsInsights(_) | Rendered::Metrics(_) => {
                Err("CloudWatch actions are not available in this build yet".to_owned())
            }
        }
    };
    match tokio::time::timeout(tool.timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the call timed out after {}",
            humantime::format_duration(tool.timeout)
        )),
    }
}
