//! What every session and both transports share: the runtime, the MCP tool list of the
//! catalog in force, the peers to tell about list changes, and [`ServerState::call_tool`], the one
//! `tools/call` path of rmcp's handler (`handler.rs`) and of the HTTP fast path (`fast.rs`).

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, ListToolsResult, LoggingLevel, RequestId, RequestMetaObject,
    ResourceContents, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::{ErrorData as McpError, Peer, RoleServer};
use serde_json::{Value, json};

use super::auth::{self, CallerName};
use crate::catalog::JsonObject;
use crate::catalog::{Catalog, CompiledTool, TASK_TOOLS};
use crate::runtime::{self, Loaded, Runtime};
use crate::tasks::Tasks;

/// The MCP description of one compiled tool.
pub(super) fn mcp_tool(t: &CompiledTool) -> Tool {
    let mut tool = Tool::new(t.name.clone(), t.description.clone(), t.input_schema.clone());
    if let Some(title) = &t.title {
        tool = tool.with_title(title.clone());
    }
    if let Some(out) = &t.output_schema {
        tool = tool.with_raw_output_schema(out.clone());
    }
    let a = &t.annotations;
    if a.read_only.is_some() || a.destructive.is_some() || a.idempotent.is_some() || a.open_world.is_some() || t.title.is_some() {
        let mut ann = ToolAnnotations::new();
        ann.title = t.title.clone();
        ann.read_only_hint = a.read_only;
        ann.destructive_hint = a.destructive;
        ann.idempotent_hint = a.idempotent;
        ann.open_world_hint = a.open_world;
        tool = tool.with_annotations(ann);
    }
    tool
}

/// The built-in tools listed beside a catalog with `task:` tools.
fn builtin_tools() -> [Tool; 2] {
    let schema = |description: &str| -> JsonObject {
        let v = json!({
            "type": "object",
            "properties": {"task_id": {"type": "string", "description": description}},
            "required": ["task_id"],
            "additionalProperties": false,
        });
        match v {
            Value::Object(o) => o,
            _ => JsonObject::new(),
        }
    };
    let mut read = ToolAnnotations::new();
    read.read_only_hint = Some(true);
    read.idempotent_hint = Some(true);
    let mut cancel = ToolAnnotations::new();
    cancel.read_only_hint = Some(false);
    cancel.destructive_hint = Some(false);
    cancel.idempotent_hint = Some(true);
    [
        Tool::new(
            TASK_TOOLS[0],
            "Status of a task that a long-running tool started: working, completed, failed or cancelled, its latest \
             status message and progress, and, once it has ended, the tool's result. Call it again after the \
             poll interval it gives while the status is working.",
            schema("The task_id a tool call answered with."),
        )
        .with_annotations(read),
        Tool::new(
            TASK_TOOLS[1],
            "Cancels a running task that a long-running tool started: its work stops at once and nothing more is \
             sent to the backend (a watch's on_fail does not run). Cancelling an ended task changes nothing.",
            schema("The task_id a tool call answered with."),
        )
        .with_annotations(cancel),
    ]
}

/// The MCP tools of a catalog: its tools, and the built-in task tools when any tool has `task:`.
fn tool_list_of(catalog: &Catalog) -> Vec<Tool> {
    let mut tools: Vec<Tool> = catalog.tools().iter().map(|t| mcp_tool(t)).collect();
    if catalog.tools().iter().any(|t| t.task.is_some()) {
        tools.extend(builtin_tools());
    }
    tools
}

/// The MCP tool list of a catalog, built once per catalog.
pub struct ToolList {
    generation: u64,
    tools: Arc<Vec<Tool>>,
    /// The `result` of a `tools/list` listing every tool, serialised as rmcp does for the
    /// revisions before 2026-07-28 ([0]) and for 2026-07-28 ([1]); built on first use.
    json: [std::sync::OnceLock<bytes::Bytes>; 2],
    /// Tools whose input schema asks for `Mcp-Param-*` headers (`x-mcp-header`), which only
    /// rmcp checks; the fast path leaves their calls to it.
    param_headers: std::collections::HashSet<String>,
}

impl ToolList {
    fn new(generation: u64, tools: Arc<Vec<Tool>>) -> Self {
        let param_headers = tools.iter().filter(|t| mentions_header_params(&t.input_schema)).map(|t| t.name.to_string()).collect();
        ToolList { generation, tools, json: Default::default(), param_headers }
    }
}

/// Counters of the changes of each list: the catalog's generation for tools (every reload
/// changes it), and for prompts and resources how many reloads changed their listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ListVersions {
    pub(super) tools: u64,
    pub(super) prompts: u64,
    pub(super) resources: u64,
}

/// State shared by every session: the runtime, the MCP tool list cache and the peers
/// that asked to hear about list changes.
pub struct ServerState {
    runtime: Arc<Runtime>,
    list: arc_swap::ArcSwap<ToolList>,
    pub(super) peers: Mutex<Vec<Peer<RoleServer>>>,
    /// The level a 2025 client set with `logging/setLevel` (none: no log messages).
    pub(super) log_level: Mutex<Option<LoggingLevel>>,
    pub(super) info: ServerConfig,
    /// Which lists the reloads changed; `subscriptions/listen` waits on it.
    pub(super) changes: tokio::sync::watch::Sender<ListVersions>,
    /// HTTP authentication, when configured (set once, before serving).
    auth: std::sync::OnceLock<Arc<auth::Auth>>,
    /// Whether audit lines carry argument values (not only names).
    audit_values: std::sync::atomic::AtomicBool,
    /// The tasks of `task:` tools.
    tasks: Arc<Tasks>,
}

impl ServerState {
    /// ServerState state over a runtime.
    pub fn new(runtime: Arc<Runtime>) -> Arc<Self> {
        let loaded = runtime.current();
        let runtime_metrics = runtime.metrics();
        let list = ToolList::new(loaded.generation, Arc::new(tool_list_of(&loaded.catalog)));
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_completions()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_tasks()
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("toolwright", env!("CARGO_PKG_VERSION"));
        info.instructions =
            Some("Tools generated from the operator's tool specs. Arguments are validated against each tool's input schema.".to_owned());
        Arc::new(ServerState {
            runtime,
            list: arc_swap::ArcSwap::from_pointee(list),
            peers: Mutex::new(Vec::new()),
            log_level: Mutex::new(None),
            info,
            changes: tokio::sync::watch::Sender::new(ListVersions { tools: loaded.generation, prompts: 0, resources: 0 }),
            auth: std::sync::OnceLock::new(),
            audit_values: Default::default(),
            tasks: Arc::new(Tasks::new(crate::tasks::DEFAULT_MAX_TASKS, runtime_metrics)),
        })
    }

    /// Sets how many tasks may run at once (`serve --max-tasks`); call before serving.
    pub fn set_max_tasks(&self, max: usize) {
        self.tasks.set_max(max);
    }

    /// The tasks of `task:` tools.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    pub(super) fn tasks_arc(&self) -> Arc<Tasks> {
        self.tasks.clone()
    }

    /// Puts argument values (not only names) into audit lines.
    pub fn audit_argument_values(&self, on: bool) {
        self.audit_values.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Turns HTTP authentication on; only the first call counts.
    pub fn set_auth(&self, auth: Arc<auth::Auth>) {
        let _ = self.auth.set(auth);
    }

    /// HTTP authentication, when it is on.
    pub fn auth(&self) -> Option<&Arc<auth::Auth>> {
        self.auth.get()
    }

    /// The runtime.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    pub(super) fn tools(&self, loaded: &Loaded) -> Arc<Vec<Tool>> {
        self.tool_list(loaded).tools.clone()
    }

    fn tool_list(&self, loaded: &Loaded) -> Arc<ToolList> {
        let cached = self.list.load_full();
        if cached.generation == loaded.generation {
            return cached;
        }
        let tools = Arc::new(tool_list_of(&loaded.catalog));
        let list = Arc::new(ToolList::new(loaded.generation, tools));
        self.list.store(list.clone());
        list
    }

    /// Whether a tool of the catalog `loaded` asks for `Mcp-Param-*` headers.
    pub(super) fn wants_param_headers(&self, loaded: &Loaded, name: &str) -> bool {
        self.tool_list(loaded).param_headers.contains(name)
    }

    /// The `result` of a `tools/list` that lists every tool of the catalog in force,
    /// serialised once per catalog exactly as rmcp's handler answers it (`modern`: for a
    /// 2026-07-28 request).
    pub(super) fn list_result_json(&self, modern: bool) -> Result<bytes::Bytes, serde_json::Error> {
        let list = self.tool_list(&self.runtime.current());
        let slot = &list.json[usize::from(modern)];
        if let Some(json) = slot.get() {
            return Ok(json.clone());
        }
        let mut result = rmcp::model::ServerResult::ListToolsResult(ListToolsResult::with_all_items((*list.tools).clone()));
        if modern {
            result.fill_missing_cache_hints();
        } else {
            result.strip_result_type_for_legacy_peer();
            result.strip_non_object_output_for_legacy_peer();
        }
        let json = bytes::Bytes::from(serde_json::to_vec(&result)?);
        Ok(slot.get_or_init(|| json).clone())
    }

    /// Swaps in a new catalog and tells every connected session that the tool list changed,
    /// and the prompt and resource lists when they did.
    pub async fn swap(&self, catalog: Catalog) -> Result<u64, String> {
        let before = self.runtime.current();
        let loaded = self.runtime.swap(catalog)?;
        let _ = self.tools(&loaded);
        let prompts_changed = super::prompts::listing(&before.catalog) != super::prompts::listing(&loaded.catalog);
        let resources_changed = super::resources::listing(&before.catalog) != super::resources::listing(&loaded.catalog);
        self.changes.send_modify(|v| {
            v.tools = loaded.generation;
            v.prompts += u64::from(prompts_changed);
            v.resources += u64::from(resources_changed);
        });
        let peers: Vec<Peer<RoleServer>> = match self.peers.lock() {
            Ok(mut p) => {
                p.retain(|peer| !peer.is_transport_closed());
                p.clone()
            }
            Err(_) => Vec::new(),
        };
        for peer in peers {
            let _ = peer.notify_tool_list_changed().await;
            if prompts_changed {
                let _ = peer.notify_prompt_list_changed().await;
            }
            if resources_changed {
                let _ = peer.notify_resource_list_changed().await;
            }
        }
        Ok(loaded.generation)
    }
}

/// Who made a request, for audit lines: the authenticated identity's name when the HTTP
/// transport has one, else the transport's own word for an unauthenticated caller.
pub(super) fn caller_of(parts: Option<&::http::request::Parts>) -> String {
    match parts {
        Some(parts) => parts.extensions.get::<CallerName>().map_or_else(|| "anonymous-http".to_owned(), |c| c.0.clone()),
        None => "stdio".to_owned(),
    }
}

/// One audit line per call: time (from the log), caller, tool, argument names, outcome,
/// duration. Argument values only when the operator asked for them.
pub(super) fn audit(
    shared: &ServerState,
    parts: Option<&::http::request::Parts>,
    request: &CallToolRequestParams,
    outcome_word: &str,
    took: std::time::Duration,
) {
    let names: Vec<&str> = request.arguments.as_ref().map(|a| a.keys().map(String::as_str).collect()).unwrap_or_default();
    let caller = caller_of(parts);
    // Microseconds are plenty, and a rounded number prints short (`0.248`, not `0.24789799999999998`).
    let ms = (took.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    if shared.audit_values.load(std::sync::atomic::Ordering::Relaxed) {
        let values = request.arguments.as_ref().map(|a| serde_json::Value::Object(a.clone()).to_string()).unwrap_or_default();
        tracing::info!(target: "toolwright::audit", caller, tool = %request.name, arguments = ?names, argument_values = %values, outcome = outcome_word, duration_ms = ms, "call");
    } else {
        tracing::info!(target: "toolwright::audit", caller, tool = %request.name, arguments = ?names, outcome = outcome_word, duration_ms = ms, "call");
    }
}

/// What a `tools/call` needs from the request around it, whether rmcp's handler or the
/// HTTP fast path (`fast.rs`) received it.
pub(super) struct CallSite<'a> {
    /// The HTTP request's head (`None` on stdio).
    pub(super) parts: Option<&'a ::http::request::Parts>,
    /// The request's `_meta`.
    pub(super) meta: &'a RequestMetaObject,
    /// The JSON-RPC id.
    pub(super) id: &'a RequestId,
    /// Cancelled when the client gives up on the call.
    pub(super) ct: &'a tokio_util::sync::CancellationToken,
    /// Sends progress notifications, when the client asked for them.
    pub(super) progress: Option<crate::actions::ProgressFn>,
    /// Asks the user to approve a `confirm:` gate, when the client can be asked.
    pub(super) ask: Option<crate::actions::AskFn>,
    /// Sends `notifications/message` at or above the level the client set.
    pub(super) log: Option<crate::actions::LogFn>,
    /// The answer to the tool's own gate that the call carried (a 2026-07-28 retry with
    /// `inputResponses` and a valid `requestState`, see `mrtr.rs`).
    pub(super) answer: Option<crate::actions::Approval>,
}

impl CallSite<'_> {
    /// The OpenTelemetry span of a call (disabled, and the closure never run, without
    /// --otlp-endpoint).
    pub(super) fn span(&self, request: &CallToolRequestParams) -> tracing::Span {
        crate::telemetry::tool_call_span(&request.name, || crate::telemetry::Incoming {
            headers: self.parts.map(|p| &p.headers),
            meta_traceparent: self.meta.get_traceparent(),
            meta_tracestate: self.meta.get_tracestate(),
            request_id: self.id,
            arguments: request.arguments.as_ref(),
        })
    }
}

impl ServerState {
    /// Runs one `tools/call`: scope check, span, the call, the audit line.
    pub(super) async fn call_tool(&self, request: &CallToolRequestParams, site: CallSite<'_>) -> Result<CallToolResult, McpError> {
        let loaded = self.runtime.current();
        let identity = auth::request_identity(site.parts);
        // The one lookup of the call. A tool whose scopes the caller lacks is refused as if
        // it did not exist (and logged by the lookup, without a span).
        let tool = auth::callable_tool(&loaded.catalog, &request.name, identity);
        if let (Err(hidden), Some(_)) = (&tool, identity) {
            return Err(McpError::invalid_params(hidden.to_string(), None));
        }
        // The OpenTelemetry span of the call (disabled, and the closure never run, without --otlp-endpoint).
        let span = site.span(request);
        let started = std::time::Instant::now();
        let result = match tool {
            Ok(tool) => {
                let hooks = runtime::Hooks { progress: site.progress, ask: site.ask, log: site.log, answer: site.answer };
                let call = runtime::call_with(&loaded, tool, request.arguments.as_ref(), site.ct, hooks);
                Ok(tracing::Instrument::instrument(call, span.clone()).await)
            }
            Err(unknown) => Err(unknown),
        };
        crate::telemetry::tool_call_done(&span, result.as_ref().ok().map(|o| o.is_error));
        audit(self, site.parts, request, result.as_ref().map_or("unknown-tool", |o| o.kind.as_str()), started.elapsed());
        match result {
            Ok(outcome) => Ok(to_result(outcome)),
            Err(unknown) => Err(McpError::invalid_params(unknown.to_string(), None)),
        }
    }
}

pub(super) fn to_result(outcome: runtime::Outcome) -> CallToolResult {
    use crate::actions::output::{Block, ToolOutput};
    let content = ToolOutput::blocks(outcome.text, outcome.media)
        .into_iter()
        .map(|b| match b {
            Block::Text(text) => ContentBlock::text(text),
            Block::Media(media) => media_block(media),
        })
        .collect();
    let mut result = if outcome.is_error { CallToolResult::error(content) } else { CallToolResult::success(content) };
    result.structured_content = outcome.structured;
    result
}

/// An image, audio or embedded resource content block.
fn media_block(media: crate::actions::output::Media) -> ContentBlock {
    use crate::actions::output::MediaKind;
    use base64::Engine as _;
    let base64 = || base64::engine::general_purpose::STANDARD.encode(&media.data);
    match media.kind {
        MediaKind::Image => ContentBlock::image(base64(), media.mime_type),
        MediaKind::Audio => ContentBlock::audio(base64(), media.mime_type),
        MediaKind::Resource(uri) => {
            let contents = match std::str::from_utf8(&media.data) {
                Ok(text)
                    if !media.mime_type.starts_with("image/") && !media.mime_type.starts_with("audio/") && is_textual(&media.mime_type) =>
                {
                    ResourceContents::text(text, uri)
                }
                _ => ResourceContents::blob(base64(), uri),
            };
            ContentBlock::resource(contents.with_mime_type(media.mime_type))
        }
    }
}

/// Whether a media type is text (an embedded resource's `text` rather than `blob`).
fn is_textual(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime == "application/json"
        || mime == "application/xml"
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
}

/// Whether `x-mcp-header` appears anywhere in a schema.
pub(super) fn mentions_header_params(schema: &JsonObject) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::Object(o) => mentions_header_params(o),
            Value::Array(a) => a.iter().any(walk),
            _ => false,
        }
    }
    schema.iter().any(|(k, v)| k == "x-mcp-header" || walk(v))
}
