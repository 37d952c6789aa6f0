//! Backends: run a rendered request and shape what comes back for the model.
//!
//! Architecture invariant: this module never sees YAML or spans. It gets [`Rendered`]
//! requests and the compiled connection settings of a [`Catalog`].

pub mod aws;
pub mod http;
pub mod logs_insights;
pub mod metrics;
pub mod output;

use std::collections::HashMap;
use std::sync::Arc;

use crate::compile::{Catalog, CompiledTool, Connection, Rendered};
use aws::AwsClients;
use http::HttpClient;

/// What a call runs under, besides its request: the client's cancellation, the deadline
/// (the tool's `timeout` from the start of the call) and, when the client asked for them,
/// progress notifications (`progress`, optional `total`, message).
pub struct CallContext {
    /// Fires when the client cancels the request (`notifications/cancelled`).
    pub cancel: tokio_util::sync::CancellationToken,
    /// When the call must be over.
    pub deadline: tokio::time::Instant,
    /// Sends a progress notification, when the client gave a progress token.
    pub progress: Option<ProgressFn>,
}

/// Sends one progress notification: progress so far, the total when known, and a message.
pub type ProgressFn = std::sync::Arc<dyn Fn(f64, Option<f64>, String) + Send + Sync>;

/// Clients built once per catalog, each on first use: one pooled `reqwest::Client` per http
/// connection (plus one for tools without a connection), and one AWS SDK configuration with its
/// CloudWatch Logs and CloudWatch clients per aws connection (plus one for CloudWatch actions
/// without a connection). Reused across calls; cheap to share (`Arc` inside).
///
/// Build a new one whenever the catalog is rebuilt: [`execute`] refuses to use a client with a
/// connection of another catalog, whose network policy may differ.
#[derive(Clone, Debug)]
pub struct Backends {
    inner: Arc<Clients>,
}

#[derive(Debug)]
struct Clients {
    http: HashMap<String, LazyHttp>,
    without_connection: LazyHttp,
    /// One SDK configuration and client pair per aws connection, loaded on first use.
    aws: HashMap<String, AwsClients>,
    aws_without_connection: AwsClients,
}

/// An HTTP client built on first use: building one loads the system's root certificates
/// (a few milliseconds each), which a catalog with many connections would otherwise pay at
/// every start and every reload, for connections that may never be called.
///
/// One client (and so one connection pool) per thread that calls: the HTTP server runs one
/// event loop per thread, and a pooled connection lives on the loop that opened it, so a
/// shared pool would have every call wake another thread.
#[derive(Debug)]
struct LazyHttp {
    /// The connection (its name and compiled settings), or none for tools without one. Also
    /// how a client used with another catalog's connection (whose policy may differ) is noticed.
    connection: Option<(String, Arc<Connection>)>,
    client: thread_local::ThreadLocal<Result<HttpClient, String>>,
}

impl LazyHttp {
    fn new(connection: Option<(String, Arc<Connection>)>) -> Self {
        LazyHttp { connection, client: thread_local::ThreadLocal::new() }
    }

    fn get(&self) -> Result<&HttpClient, String> {
        let built = self.client.get_or(|| match &self.connection {
            None => HttpClient::without_connection(),
            Some((name, connection)) => match connection.as_ref() {
                Connection::Http(settings) => HttpClient::for_connection(name, settings),
                Connection::Aws(_) => Err(format!("internal: connection `{name}` is not an http connection")),
            },
        });
        built.as_ref().map_err(Clone::clone)
    }
}

impl Backends {
    /// Prepares the clients of every connection of `catalog`; each is built on first use.
    pub fn new(catalog: &Catalog) -> Result<Backends, String> {
        let mut http = HashMap::new();
        let mut aws = HashMap::new();
        for (name, connection) in catalog.connections() {
            match connection.as_ref() {
                Connection::Http(_) => {
                    http.insert(name.clone(), LazyHttp::new(Some((name.clone(), Arc::clone(connection)))));
                }
                Connection::Aws(settings) => {
                    aws.insert(name.clone(), AwsClients::for_connection(name, connection, settings));
                }
            }
        }
        let without_connection = LazyHttp::new(None);
        Ok(Backends {
            inner: Arc::new(Clients { http, without_connection, aws, aws_without_connection: AwsClients::without_connection() }),
        })
    }

    /// The client for a request's connection, checked to belong to `catalog`.
    fn http_client(&self, catalog: &Catalog, connection: Option<&str>) -> Result<&HttpClient, String> {
        let Some(name) = connection else {
            return self.inner.without_connection.get();
        };
        let client = self
            .inner
            .http
            .get(name)
            .ok_or_else(|| format!("internal: no HTTP client for connection `{name}`; the backends were built for another catalog"))?;
        match (catalog.connection(name), &client.connection) {
            (Some(current), Some((_, built))) if Arc::ptr_eq(current, built) => client.get(),
            _ => Err(format!(
                "internal: the HTTP client for connection `{name}` was built for another catalog; rebuild the backends when the catalog changes"
            )),
        }
    }

    /// The AWS clients for a request's connection, checked to belong to `catalog`.
    fn aws_clients(&self, catalog: &Catalog, connection: Option<&str>) -> Result<&AwsClients, String> {
        let Some(name) = connection else {
            return Ok(&self.inner.aws_without_connection);
        };
        let clients = self
            .inner
            .aws
            .get(name)
            .ok_or_else(|| format!("internal: no AWS clients for connection `{name}`; the backends were built for another catalog"))?;
        match (catalog.connection(name), &clients.connection) {
            (Some(current), Some(built)) if Arc::ptr_eq(current, built) => Ok(clients),
            _ => Err(format!(
                "internal: the AWS clients for connection `{name}` were built for another catalog; rebuild the backends when the catalog changes"
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
        ToolOutput { structured: None, text: String::new(), truncated: false }
    }
}

/// Runs a rendered request for a tool and shapes the output (jq projection, max_bytes cut). Errors are messages written for a model (what failed, what to do), never containing secrets (header values are never echoed).
///
/// The tool's `timeout` bounds the whole call, including reading and shaping the response.
/// The CloudWatch backends watch `ctx.deadline` and `ctx.cancel` themselves (a Logs Insights
/// query is stopped with StopQuery then), so their bound here leaves them [`aws::STOP_GRACE`]
/// beyond the deadline to say what happened.
pub async fn execute(
    backends: &Backends,
    catalog: &Catalog,
    tool: &CompiledTool,
    rendered: Rendered,
    ctx: &CallContext,
) -> Result<ToolOutput, String> {
    let bound = match &rendered {
        Rendered::Http(_) => tokio::time::Instant::now() + tool.timeout,
        Rendered::LogsInsights(_) | Rendered::Metrics(_) => ctx.deadline + aws::STOP_GRACE,
    };
    let span = crate::telemetry::backend_span(tool, &rendered);
    let call = async {
        match rendered {
            Rendered::Http(request) => {
                let client = backends.http_client(catalog, request.connection.as_deref())?;
                client.execute(tool, request).await
            }
            // The AWS arms are boxed: the SDK's futures (loading its configuration, the
            // calls) are large, and unboxed they would make every call's future, HTTP ones
            // too, that large to move around.
            Rendered::LogsInsights(request) => {
                let clients = backends.aws_clients(catalog, request.connection.as_deref())?;
                Box::pin(async move { logs_insights::run(clients.logs().await?, &request, tool.max_bytes, ctx).await }).await
            }
            Rendered::Metrics(request) => {
                let clients = backends.aws_clients(catalog, request.connection.as_deref())?;
                Box::pin(async move { metrics::run(clients.metrics().await?, &request, tool.max_bytes, ctx).await }).await
            }
        }
    };
    let result = tokio::time::timeout_at(bound, tracing::Instrument::instrument(call, span.clone())).await;
    crate::telemetry::backend_done(&span, &result);
    match result {
        Ok(result) => result,
        Err(_) => Err(format!("the call timed out after {}", humantime::format_duration(tool.timeout))),
    }
}
