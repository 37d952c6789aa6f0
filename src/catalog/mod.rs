//! The compiled catalog and everything that runs on it at call time: argument preparation
//! (`args`, and `arguments` for prompts and resource templates), rendering with contextual
//! escaping (`template`, `render`), time windows (`window`), compiled jq (`jq`) and secret
//! resolution (`template`).
//!
//! Architecture invariant: nothing here reads a spec or runs the compiler. `compile` builds a
//! [`Catalog`]; `runtime`, `server`, `actions` and `connections` only read it.

pub mod args;
pub mod arguments;
pub mod confirm;
pub mod jq;
pub mod jq_bounded;
pub mod jq_worker;
pub mod render;
pub mod template;
pub mod window;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use minijinja::Environment;
use serde_json::Value;

pub use args::ArgError;
pub use confirm::{CONFIRM_VAR, Confirm, ConfirmFields};
pub use template::{Escape, SecretMode, Template};

use crate::actions::Action;
use crate::connections::Connection;
use crate::prompts::CompiledPrompt;
use crate::resources::{CompiledResource, CompiledResourceTemplate};

/// A JSON object, as in `input`, `output.schema` and example `args`.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// MCP tool annotations (hints for clients; not enforced).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotations {
    /// The tool does not modify its environment.
    pub read_only: Option<bool>,
    /// The tool may perform destructive updates.
    pub destructive: Option<bool>,
    /// Calling the tool twice with the same arguments has no additional effect.
    pub idempotent: Option<bool>,
    /// The tool interacts with an open world of external entities.
    pub open_world: Option<bool>,
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
    pub arg_contexts: Vec<(String, Vec<Escape>)>,
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
    /// When the tool's calls become tasks (`task:`), if they may.
    pub task: Option<TaskSettings>,
    /// The approval gate put to the user before every call (`confirm:`): its question and,
    /// when it asks for values, its form.
    pub confirm: Option<Confirm>,
}

/// A tool's `task:` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskSettings {
    /// A call that ends within this long is answered inline.
    pub after: Duration,
    /// How long a result is kept after its task ends.
    pub ttl: Duration,
    /// The poll interval clients are told.
    pub poll_interval: Duration,
    /// Only clients that declare MCP Tasks may call the tool.
    pub required: bool,
}

impl TaskSettings {
    /// `after` when not given: every call is a task.
    pub const DEFAULT_AFTER: Duration = Duration::ZERO;
    /// `ttl` when not given.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
    /// The longest `ttl`.
    pub const MAX_TTL: Duration = Duration::from_secs(7 * 86_400);
    /// `poll_interval` when not given.
    pub const DEFAULT_POLL: Duration = Duration::from_secs(5);
}

/// The names of the built-in tools listed beside a catalog that has `task:` tools; no spec
/// may take them.
pub const TASK_TOOLS: [&str; 2] = ["get_task_status", "cancel_task"];

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

/// Whether the caller may see a prompt, resource or resource template that needs these scopes
/// (its `auth.scopes`): under HTTP authentication the caller's grants decide (the server says);
/// without it, [`ALL_VISIBLE`]. What a caller may not see does not exist for it.
pub type Visible<'a> = &'a (dyn Fn(&[String]) -> bool + Sync);

/// Everything is visible: stdio, HTTP without authentication, the CLI.
pub const ALL_VISIBLE: Visible<'static> = &|_| true;

/// The compiled catalog. Never mutated: a reload builds a new one.
pub struct Catalog {
    pub(crate) tools: Vec<Arc<CompiledTool>>,
    pub(crate) by_name: HashMap<String, usize>,
    pub(crate) connections: HashMap<String, Arc<Connection>>,
    pub(crate) env: Arc<Environment<'static>>,
    pub(crate) hash: String,
    /// Prompts sorted by name.
    pub(crate) prompts: Vec<Arc<CompiledPrompt>>,
    /// Resources sorted by URI.
    pub(crate) resources: Vec<Arc<CompiledResource>>,
    /// Resource templates sorted by name.
    pub(crate) resource_templates: Vec<Arc<CompiledResourceTemplate>>,
    /// Indexes into `resource_templates` in the order a URI is matched against them: most
    /// literal text first (the most specific), then by template.
    pub(crate) template_order: Vec<usize>,
}

/// The prompts, resources and resource templates of a catalog, as the compile hands them over.
#[derive(Default)]
pub struct Surface {
    /// Prompts.
    pub prompts: Vec<Arc<CompiledPrompt>>,
    /// Resources.
    pub resources: Vec<Arc<CompiledResource>>,
    /// Resource templates.
    pub resource_templates: Vec<Arc<CompiledResourceTemplate>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("tools", &self.tools.len())
            .field("prompts", &self.prompts.len())
            .field("resources", &self.resources.len())
            .field("resource_templates", &self.resource_templates.len())
            .field("hash", &self.hash)
            .finish()
    }
}

impl Catalog {
    /// A catalog of `tools` sorted by name (the first of a duplicated name wins a lookup).
    pub fn new(
        tools: Vec<Arc<CompiledTool>>,
        connections: HashMap<String, Arc<Connection>>,
        env: Environment<'static>,
        hash: String,
    ) -> Catalog {
        let mut by_name = HashMap::new();
        for (i, t) in tools.iter().enumerate() {
            by_name.entry(t.name.clone()).or_insert(i);
        }
        Catalog {
            tools,
            by_name,
            connections,
            env: Arc::new(env),
            hash,
            prompts: Vec::new(),
            resources: Vec::new(),
            resource_templates: Vec::new(),
            template_order: Vec::new(),
        }
    }

    /// This catalog with `surface`'s prompts, resources and resource templates (each sorted here).
    pub fn with_surface(mut self, surface: Surface) -> Catalog {
        let Surface { mut prompts, mut resources, mut resource_templates } = surface;
        prompts.sort_by(|a, b| a.name.cmp(&b.name));
        resources.sort_by(|a, b| a.uri.cmp(&b.uri));
        resource_templates.sort_by(|a, b| a.name.cmp(&b.name));
        let mut order: Vec<usize> = (0..resource_templates.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&resource_templates[a].template, &resource_templates[b].template);
            b.literal_chars().cmp(&a.literal_chars()).then_with(|| a.source().cmp(b.source()))
        });
        self.prompts = prompts;
        self.resources = resources;
        self.resource_templates = resource_templates;
        self.template_order = order;
        self
    }

    /// Prompts sorted by name.
    pub fn prompts(&self) -> &[Arc<CompiledPrompt>] {
        &self.prompts
    }

    /// A prompt by name.
    pub fn prompt(&self, name: &str) -> Option<&Arc<CompiledPrompt>> {
        self.prompts.binary_search_by(|p| p.name.as_str().cmp(name)).ok().and_then(|i| self.prompts.get(i))
    }

    /// Resources sorted by URI.
    pub fn resources(&self) -> &[Arc<CompiledResource>] {
        &self.resources
    }

    /// The resource at exactly `uri`.
    pub fn resource(&self, uri: &str) -> Option<&Arc<CompiledResource>> {
        self.resources.binary_search_by(|r| r.uri.as_str().cmp(uri)).ok().and_then(|i| self.resources.get(i))
    }

    /// Resource templates sorted by name.
    pub fn resource_templates(&self) -> &[Arc<CompiledResourceTemplate>] {
        &self.resource_templates
    }

    /// The resource template written exactly `uri_template` (a completion's reference).
    pub fn resource_template(&self, uri_template: &str) -> Option<&Arc<CompiledResourceTemplate>> {
        self.resource_templates.iter().find(|t| t.template.source() == uri_template)
    }

    /// The most specific resource template the caller may see (`visible`) that matches `uri`,
    /// with the variables' values.
    pub fn match_template(
        &self,
        uri: &str,
        visible: Visible<'_>,
    ) -> Option<(&Arc<CompiledResourceTemplate>, crate::resources::uri_template::Bindings)> {
        self.template_order
            .iter()
            .filter_map(|&i| self.resource_templates.get(i))
            .filter(|t| visible(&t.scopes))
            .find_map(|t| t.template.matches(uri).map(|vars| (t, vars)))
    }

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

    /// The templates and connections of this catalog without its tools: what a request that
    /// renders part of itself when it runs (a `steps` action's later steps) carries, so that
    /// running it reads no catalog.
    pub fn templates_only(&self) -> Catalog {
        Catalog {
            tools: Vec::new(),
            by_name: HashMap::new(),
            connections: self.connections.clone(),
            env: self.env.clone(),
            hash: self.hash.clone(),
            prompts: Vec::new(),
            resources: Vec::new(),
            resource_templates: Vec::new(),
            template_order: Vec::new(),
        }
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
