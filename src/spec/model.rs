//! The spec format as Rust types (`Spec`): what a document means once its
//! structure has been checked. The kinds `tool` and `connection` are here; each other kind
//! (`prompt`, `resource`, `resource_template`) is in its own folder's `spec.rs` and
//! re-exported here. The JSON Schema of the format (`toolwright schema`)
//! is generated from these types, so the two cannot drift apart.
//!
//! Field names are a contract (docs/spec.md): extend them, never rename them.

use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::actions::{ActionSpec, CompleteSpec, ConfirmSpec};
pub use crate::catalog::JsonObject;
pub use crate::connections::aws::spec::AwsConnectionSpec;
pub use crate::connections::http::spec::HttpConnectionSpec;
pub use crate::prompts::spec::PromptSpec;
pub use crate::resources::spec::{ResourceSpec, ResourceTemplateSpec};
pub use crate::testing::spec::ToolTestSpec;

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
    /// Tests that `toolwright test` runs through the real call path, each a call with
    /// arguments and what it must give (`--record`/`--replay` keep the backend's answers).
    #[serde(default)]
    pub tests: Option<Vec<ToolTestSpec>>,
    /// Who may see and call the tool over authenticated HTTP.
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    /// Concurrency and rate limits; calls beyond them fail at once with a retry hint.
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    /// Run the call as a task when it outlasts `after`: the client polls for the result
    /// (MCP Tasks, or the built-in tools `get_task_status` and `cancel_task`).
    #[serde(default)]
    pub task: Option<TaskSpec>,
    /// Ask the user to approve every call before the action runs (elicitation); a client that
    /// cannot be asked gets a tool error and nothing runs.
    #[serde(default)]
    pub confirm: Option<ConfirmSpec>,
}

/// How a long call becomes a task.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Answer inline when the action ends within this long (default `0s`: always a task).
    #[serde(default)]
    pub after: Option<String>,
    /// How long the result is kept after the task ends (default `1h`, at most `7d`).
    #[serde(default)]
    pub ttl: Option<String>,
    /// How often clients are told to poll (default `5s`, at least `1s`).
    #[serde(default)]
    pub poll_interval: Option<String>,
    /// Serve the tool only to clients that declare MCP Tasks: any other client gets the error
    /// "missing required client capability" (-32021) instead of a handle to poll (default false).
    #[serde(default)]
    pub required: Option<bool>,
}

/// Access control of one tool, prompt, resource or resource template.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// Scopes a caller needs (all of them) to see and use it (call the tool, get the prompt,
    /// read the resource); over authenticated HTTP only.
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
