//! The spec format as Rust types (`Spec`): what a document means once its
//! structure has been checked. The JSON Schema of the format (`toolwright schema`)
//! is generated from these types, so the two cannot drift apart.
//!
//! Field names are a contract (DESIGN.md): extend them, never rename them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// A JSON object, as in `input`, `output.schema` and example `args`.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// The `kind` of a tool document.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum ToolKind {
    /// A tool.
    #[serde(rename = "tool")]
    Tool,
}

/// The `kind` of a connection document.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum ConnectionKind {
    /// A connection.
    #[serde(rename = "connection")]
    Connection,
}

/// An MCP tool: a JSON Schema for its arguments bound to one backend action.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "tool")]
pub struct ToolSpec {
    /// Always `tool`.
    pub kind: ToolKind,
    /// The MCP tool name: ^[A-Za-z0-9_.-]{1,128}$, unique in the catalog.
    pub name: String,
    /// A short human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// What the tool does, written for the model that will choose it. Required, non-empty.
    pub description: String,
    /// Hints mapped to MCP tool annotations.
    #[serde(default)]
    pub annotations: Option<Annotations>,
    /// JSON Schema 2020-12 for the arguments; the root is `type: object`.
    pub input: JsonObject,
    /// What the model receives.
    #[serde(default)]
    pub output: Option<OutputSpec>,
    /// Deadline for the whole call, such as `30s` or `2m`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Exactly one backend action.
    pub action: ActionSpec,
    /// Example arguments; lint validates and renders each one (nothing is sent).
    #[serde(default)]
    pub examples: Option<Vec<Example>>,
    /// Who may see and call the tool over authenticated HTTP.
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    /// Concurrency and rate limits; calls beyond them fail at once with a retry hint.
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
}

/// Access control of one tool.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// Scopes a caller needs (all of them) to see and call the tool.
    pub scopes: Vec<String>,
}

/// Limits of one tool.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Calls of this tool in flight at once.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub concurrency: Option<u32>,
    /// Calls of this tool started per minute.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub per_minute: Option<u32>,
}

/// MCP tool annotations (hints for clients; not enforced).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    /// The tool does not modify its environment.
    #[serde(default)]
    pub read_only: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(default)]
    pub destructive: Option<bool>,
    /// Calling the tool twice with the same arguments has no additional effect.
    #[serde(default)]
    pub idempotent: Option<bool>,
    /// The tool interacts with an open world of external entities.
    #[serde(default)]
    pub open_world: Option<bool>,
}

/// Shaping of what the model receives.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Cap on the bytes the model receives; output is cut at a row or element boundary and says so.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_bytes: Option<u64>,
    /// MCP outputSchema; structured results are checked against it.
    #[serde(default)]
    pub schema: Option<JsonObject>,
}

/// The backend action: exactly one of `logs_insights`, `metrics` or `http`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// A CloudWatch Logs Insights query.
    #[serde(default)]
    pub logs_insights: Option<LogsInsightsSpec>,
    /// A CloudWatch GetMetricData fetch.
    #[serde(default)]
    pub metrics: Option<MetricsSpec>,
    /// An HTTP call.
    #[serde(default)]
    pub http: Option<HttpSpec>,
}

/// A CloudWatch Logs Insights query. The operator writes the query; callers fill in typed values.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsInsightsSpec {
    /// A `kind: connection` with an `aws` block; the default AWS chain when absent.
    #[serde(default)]
    pub connection: Option<String>,
    /// Log group names (templates), 1 to 50.
    pub log_groups: Vec<String>,
    /// The Logs Insights query (a template; values become quoted literals).
    pub query: String,
    /// How far back the window starts, such as `1h` or `{{ minutes }}m`.
    #[serde(default)]
    pub since: Option<String>,
    /// How far back the window ends (default: now).
    #[serde(default)]
    pub until: Option<String>,
    /// Window start as an RFC 3339 timestamp (template).
    #[serde(default)]
    pub start: Option<String>,
    /// Window end as an RFC 3339 timestamp (template).
    #[serde(default)]
    pub end: Option<String>,
    /// Maximum rows, 1 to 10,000 (default 1,000).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A CloudWatch GetMetricData fetch.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// A `kind: connection` with an `aws` block; the default AWS chain when absent.
    #[serde(default)]
    pub connection: Option<String>,
    /// The metric queries and expressions.
    pub queries: Vec<MetricQuerySpec>,
    /// 1, 5, 10, 20 or 30 seconds or a multiple of 60; chosen from the window when absent.
    #[serde(default)]
    pub period: Option<String>,
    /// How far back the window starts.
    #[serde(default)]
    pub since: Option<String>,
    /// How far back the window ends (default: now).
    #[serde(default)]
    pub until: Option<String>,
    /// Window start as an RFC 3339 timestamp (template).
    #[serde(default)]
    pub start: Option<String>,
    /// Window end as an RFC 3339 timestamp (template).
    #[serde(default)]
    pub end: Option<String>,
}

/// One GetMetricData query: a metric stat or an expression.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricQuerySpec {
    /// Query id: ^[a-z][A-Za-z0-9_]*$, unique within the action.
    pub id: String,
    /// Metric namespace, such as `AWS/ApplicationELB`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Metric name.
    #[serde(default)]
    pub metric: Option<String>,
    /// Dimension name → value (values are templates).
    #[serde(default)]
    pub dimensions: Option<BTreeMap<String, String>>,
    /// Statistic: Average, Sum, Minimum, Maximum, SampleCount, p99, tm90, ...
    #[serde(default)]
    pub stat: Option<String>,
    /// A metric math expression over other query ids.
    #[serde(default)]
    pub expression: Option<String>,
    /// Label of the returned series.
    #[serde(default)]
    pub label: Option<String>,
    /// Unit filter, such as `Seconds`.
    #[serde(default)]
    pub unit: Option<String>,
    /// Whether the series is returned (default true).
    #[serde(default)]
    pub return_data: Option<bool>,
}

/// An HTTP call.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// A `kind: connection` with an `http` block (base URL, headers, timeout, network policy).
    #[serde(default)]
    pub connection: Option<String>,
    /// GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Relative to the connection's base_url, or absolute. Values become encoded path segments.
    pub url: String,
    /// Query parameters; values are templates, encoded as one parameter value each.
    #[serde(default)]
    pub query: Option<BTreeMap<String, Scalar>>,
    /// Request headers; values are templates and may use `secret('NAME')`.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// JSON body as a value tree; a leaf that is exactly `{{ x }}` keeps x's JSON type.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Handling of the response.
    #[serde(default)]
    pub response: Option<ResponseSpec>,
}

/// Handling of an HTTP response.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// A jq filter that projects a JSON response.
    #[serde(default)]
    pub jq: Option<String>,
}

/// A string, number or boolean.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Scalar(pub serde_json::Value);

impl JsonSchema for Scalar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A string (template), number or boolean.",
            "type": ["string", "number", "boolean"]
        })
    }
}

/// An example call.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// What the example shows.
    #[serde(default)]
    pub description: Option<String>,
    /// Arguments, validated against `input` and rendered by lint.
    pub args: JsonObject,
}

/// A named backend connection that tools refer to with `connection:`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "connection")]
pub struct ConnectionSpec {
    /// Always `connection`.
    pub kind: ConnectionKind,
    /// The name tools use in `connection:`.
    pub name: String,
    /// What the connection is for.
    #[serde(default)]
    pub description: Option<String>,
    /// AWS settings, for logs_insights and metrics actions.
    #[serde(default)]
    pub aws: Option<AwsConnectionSpec>,
    /// HTTP settings, for http actions.
    #[serde(default)]
    pub http: Option<HttpConnectionSpec>,
}

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

/// HTTP settings shared by the tools that use the connection.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConnectionSpec {
    /// Base URL that relative tool URLs resolve against.
    pub base_url: String,
    /// Default headers; values may use `secret('NAME')`.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Deadline for each request, such as `10s`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Allow destinations on private networks: `true`, or a list of CIDRs.
    #[serde(default)]
    pub allow_private_networks: Option<AllowPrivateNetworks>,
    /// Most bytes read from a response (default 10 MiB).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_response_bytes: Option<u64>,
}

/// `true`/`false`, or a list of CIDRs that may be reached.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AllowPrivateNetworks {
    /// Allow (or refuse) every private destination.
    All(bool),
    /// Allow these networks only, such as `10.0.0.0/8`.
    Cidrs(Vec<String>),
}
