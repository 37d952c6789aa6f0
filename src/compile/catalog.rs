//! The compiled catalog: immutable, hashed, shared by every call that starts while it is current.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use minijinja::Environment;
use serde_json::Value;

use super::jq::JqFilter;
use super::templates::Ctx;
use crate::spec::model::{Annotations, AwsConnectionSpec, JsonObject};

/// A template in the catalog's environment, or a literal that needs no rendering.
#[derive(Clone, Debug)]
pub enum Tpl {
    /// Text without template syntax.
    Lit(String),
    /// Literal text and `{{ name }}` placeholders, rendered without minijinja.
    Simple(super::templates::Simple),
    /// The name of a compiled template.
    Tmpl(String),
}

/// The time window of a CloudWatch action.
#[derive(Clone, Debug)]
pub enum WindowTpl {
    /// Relative to now: from `since` ago until `until` ago (or now).
    Since {
        /// Duration template.
        since: Tpl,
        /// Duration template.
        until: Option<Tpl>,
    },
    /// Absolute RFC 3339 timestamps.
    Range {
        /// Timestamp template.
        start: Tpl,
        /// Timestamp template (default now).
        end: Option<Tpl>,
    },
}

/// A compiled Logs Insights action.
#[derive(Clone, Debug)]
pub struct LogsAction {
    /// Connection name.
    pub connection: Option<String>,
    /// Log group templates.
    pub log_groups: Vec<Tpl>,
    /// The query template.
    pub query: Tpl,
    /// The window.
    pub window: WindowTpl,
    /// Rows to return.
    pub limit: i64,
}

/// One compiled metric query.
#[derive(Clone, Debug)]
pub struct MetricQueryTpl {
    /// Query id.
    pub id: String,
    /// Namespace template.
    pub namespace: Option<Tpl>,
    /// Metric name template.
    pub metric: Option<Tpl>,
    /// Dimension name → value template.
    pub dimensions: Vec<(String, Tpl)>,
    /// Statistic template.
    pub stat: Option<Tpl>,
    /// Expression template.
    pub expression: Option<Tpl>,
    /// Label template.
    pub label: Option<Tpl>,
    /// Unit.
    pub unit: Option<String>,
    /// Whether the series is returned.
    pub return_data: bool,
}

/// A compiled metrics action.
#[derive(Clone, Debug)]
pub struct MetricsAction {
    /// Connection name.
    pub connection: Option<String>,
    /// The queries.
    pub queries: Vec<MetricQueryTpl>,
    /// Period template (a duration); chosen from the window when absent.
    pub period: Option<Tpl>,
    /// The window.
    pub window: WindowTpl,
}

/// A JSON body as a value tree of templates.
#[derive(Clone, Debug)]
pub enum BodyTpl {
    /// A literal value.
    Lit(Value),
    /// A string template.
    Str(Tpl),
    /// A leaf that is exactly `{{ x }}`: renders to JSON text and is parsed back.
    Typed(Tpl),
    /// An array.
    Array(Vec<BodyTpl>),
    /// An object.
    Object(Vec<(String, BodyTpl)>),
}

/// A query parameter value.
#[derive(Clone, Debug)]
pub enum QueryValue {
    /// A string template.
    Str(Tpl),
    /// A literal number or boolean.
    Lit(String),
}

/// A compiled HTTP action.
#[derive(Clone, Debug)]
pub struct HttpAction {
    /// Connection name.
    pub connection: Option<String>,
    /// Upper-case method.
    pub method: String,
    /// URL template.
    pub url: Tpl,
    /// Query parameters.
    pub query: Vec<(String, QueryValue)>,
    /// Header templates.
    pub headers: Vec<(String, Tpl)>,
    /// JSON body.
    pub body: Option<BodyTpl>,
    /// Response projection.
    pub jq: Option<Arc<JqFilter>>,
}

/// The backend action of a tool.
#[derive(Clone, Debug)]
pub enum Action {
    /// CloudWatch Logs Insights.
    LogsInsights(LogsAction),
    /// CloudWatch GetMetricData.
    Metrics(MetricsAction),
    /// HTTP.
    Http(HttpAction),
}

impl Action {
    /// `logs_insights`, `metrics` or `http`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::LogsInsights(_) => "logs_insights",
            Action::Metrics(_) => "metrics",
            Action::Http(_) => "http",
        }
    }
}

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
    pub headers: Vec<(String, Tpl)>,
    /// Request deadline.
    pub timeout: Option<Duration>,
    /// Network policy.
    pub private_networks: PrivateNetworks,
    /// Most bytes read from a response.
    pub max_response_bytes: u64,
}

/// A compiled connection.
#[derive(Clone, Debug)]
pub enum Connection {
    /// AWS settings.
    Aws(AwsConnectionSpec),
    /// HTTP settings.
    Http(HttpConnection),
}

/// One tool, ready to call: templates and validators are compiled.
#[derive(Debug)]
pub struct CompiledTool {
    /// MCP tool name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: String,
    /// Annotations.
    pub annotations: Annotations,
    /// The input schema as given.
    pub input_schema: Arc<JsonObject>,
    /// The output schema, if any.
    pub output_schema: Option<Arc<JsonObject>>,
    /// Validator for arguments.
    pub validator: LazyValidator,
    /// Validator for structured output.
    pub output_validator: Option<LazyValidator>,
    /// Top-level defaults applied to absent arguments.
    pub defaults: Vec<(String, Value)>,
    /// For each argument, the contexts its value lands in (checked before rendering).
    pub arg_contexts: Vec<(String, Vec<Ctx>)>,
    /// Cap on what the model receives.
    pub max_bytes: usize,
    /// Deadline for the whole call.
    pub timeout: Duration,
    /// The action.
    pub action: Action,
    /// Where the tool is defined (`file:line`).
    pub source: String,
    /// Scopes a caller needs to see and call the tool (empty: everyone).
    pub scopes: Vec<String>,
    /// Calls in flight at once, if limited.
    pub concurrency: Option<u32>,
    /// Calls started per minute, if limited.
    pub per_minute: Option<u32>,
}

/// Which JSON Schema rules a [`LazyValidator`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaUse {
    /// Tool arguments: draft 2020-12, `format` asserted.
    Input,
    /// Structured output: draft 2020-12, `format` annotates only.
    Output,
}

impl SchemaUse {
    /// Compiles `schema` for this use.
    pub fn build(self, schema: &Value) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
        match self {
            SchemaUse::Input => {
                jsonschema::options().with_draft(jsonschema::Draft::Draft202012).should_validate_formats(true).build(schema)
            }
            SchemaUse::Output => jsonschema::draft202012::new(schema),
        }
    }
}

/// A schema's validator, compiled when first needed. The compile builds every validator to
/// check its schema (and the examples' arguments) and drops it at once, so that a large
/// catalog costs memory for the tools that are called, not for every tool defined: about
/// 10 KB per validator, and keeping them all until the catalog was ready left the heap
/// fragmented (7 MiB more resident with 1,000 tools). A tool's first call builds it, once.
#[derive(Debug)]
pub struct LazyValidator {
    schema: Arc<JsonObject>,
    kind: SchemaUse,
    cell: std::sync::OnceLock<Result<jsonschema::Validator, String>>,
}

impl LazyValidator {
    /// A validator for `schema`, not built yet.
    pub fn new(schema: Arc<JsonObject>, kind: SchemaUse) -> Self {
        LazyValidator { schema, kind, cell: std::sync::OnceLock::new() }
    }

    /// The validator, built on first use. The compile checked that the schema compiles, so
    /// the error is not expected; it says what failed rather than panicking.
    pub fn get(&self) -> Result<&jsonschema::Validator, &str> {
        self.cell
            .get_or_init(|| {
                self.kind.build(&Value::Object((*self.schema).clone())).map_err(|e| format!("the schema does not compile: {e}"))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Whether the validator is built now.
    pub fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }
}

/// The compiled catalog. Never mutated: a reload builds a new one.
pub struct Catalog {
    pub(crate) tools: Vec<Arc<CompiledTool>>,
    pub(crate) by_name: HashMap<String, usize>,
    pub(crate) connections: HashMap<String, Arc<Connection>>,
    pub(crate) env: Arc<Environment<'static>>,
    pub(crate) hash: String,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("tools", &self.tools.len()).field("hash", &self.hash).finish()
    }
}

impl Catalog {
    /// Tools sorted by name.
    pub fn tools(&self) -> &[Arc<CompiledTool>] {
        &self.tools
    }

    /// A tool by name.
    pub fn tool(&self, name: &str) -> Option<&Arc<CompiledTool>> {
        self.by_name.get(name).and_then(|i| self.tools.get(*i))
    }

    /// A connection by name.
    pub fn connection(&self, name: &str) -> Option<&Arc<Connection>> {
        self.connections.get(name)
    }

    /// All connections by name.
    pub fn connections(&self) -> &HashMap<String, Arc<Connection>> {
        &self.connections
    }

    /// The template environment.
    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }

    /// SHA-256 of every file's relative path and contents, in load order, as hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}
