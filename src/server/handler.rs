//! The rmcp handler: one per session, over the [`ServerState`] state.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, CompleteRequestParams, CompleteResult, CustomRequest, CustomResult,
    ErrorCode, GetPromptRequestParams, GetPromptResponse, GetTaskParams, GetTaskResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, LoggingLevel, LoggingMessageNotificationParam, PaginatedRequestParams, ProgressNotificationParam,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ServerConfig, SetLevelRequestParams, SubscriptionFilter, Tool,
    UpdateTaskParams,
};
use rmcp::service::SubscriptionContext;
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use super::auth;

/// The -32602 answer to a request of a known `method` whose `params` do not parse as `T`.
/// Params that do parse mean rmcp refused the method itself (such as `logging/setLevel`,
/// removed in 2026-07-28): that stays -32601, method not found.
fn invalid_params<T: serde::de::DeserializeOwned>(method: String, params: Option<serde_json::Value>) -> McpError {
    match serde_json::from_value::<T>(params.unwrap_or(serde_json::Value::Null)) {
        Err(e) => McpError::invalid_params(format!("invalid params for `{method}`: {e}"), None),
        Ok(_) => McpError::new(ErrorCode::METHOD_NOT_FOUND, method, None),
    }
}

/// The order of log levels (rmcp's `LoggingLevel` has none).
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// Whether a request says it is of the 2026-07-28 revision (or later), where `logging/setLevel` is gone.
fn is_2026_request(params: Option<&serde_json::Value>) -> bool {
    params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
        .and_then(serde_json::Value::as_str)
        .is_some_and(|v| v >= "2026-07-28")
}
use super::state::{CallSite, ServerState, mcp_tool};

/// The rmcp handler; one per session (cheap: it holds an `Arc`).
#[derive(Clone)]
pub struct Handler {
    shared: Arc<ServerState>,
}

impl Handler {
    /// A handler over shared state.
    pub fn new(shared: Arc<ServerState>) -> Self {
        Handler { shared }
    }
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        self.shared.info.clone()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let loaded = self.shared.runtime().current();
        if let Some(identity) = auth::identity(&context) {
            return Ok(ListToolsResult::with_all_items(auth::visible_tools(&loaded.catalog, identity, &self.shared.tools(&loaded))));
        }
        let tools = self.shared.tools(&loaded);
        Ok(ListToolsResult::with_all_items((*tools).clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let loaded = self.shared.runtime().current();
        loaded.catalog.tool(name).map(|t| mcp_tool(t))
    }

    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        // Progress notifications go out only when the client asked for them with a token.
        let progress = context.meta.get_progress_token().map(|token| {
            let peer = context.peer.clone();
            let send: crate::actions::ProgressFn = Arc::new(move |progress: f64, total: Option<f64>, message: String| {
                let mut param = ProgressNotificationParam::new(token.clone(), progress);
                param.total = total;
                param.message = Some(message);
                let peer = peer.clone();
                tokio::spawn(async move {
                    let _ = peer.notify_progress(param).await;
                });
            });
            send
        });
        // What only some tools need is worked out only for them, off the plain call's path:
        // whether the client takes MCP Tasks (a `task:` tool) and can be asked (a `confirm` gate).
        let (task_tool, asks) = {
            let loaded = self.shared.runtime().current();
            loaded.catalog.tool(&request.name).map_or((false, false), |t| (t.task.is_some(), t.confirm.is_some() || t.action.asks()))
        };
        let supports_tasks = task_tool && context.client_capabilities().is_some_and(|c| c.supports_tasks());
        // Approval gates ask a client that took elicitation requests at initialize (the 2025
        // revisions; 2026-07-28 forbids server-to-client requests).
        let ask = (asks && context.peer.supported_elicitation_modes().contains(&rmcp::service::ElicitationMode::Form))
            .then(|| super::tasks::peer_ask(context.peer.clone()));
        // Log messages go out when the client asked for them: a 2026-07-28 request's `logLevel`,
        // else the level a 2025 client set with `logging/setLevel`.
        let threshold = context.meta.log_level().or_else(|| self.shared.log_level.lock().ok().and_then(|l| *l));
        let log = threshold.map(|threshold| {
            let peer = context.peer.clone();
            let send: crate::actions::LogFn = Arc::new(move |level: crate::actions::LogLevel, message: String| {
                let level = match level {
                    crate::actions::LogLevel::Debug => LoggingLevel::Debug,
                    crate::actions::LogLevel::Info => LoggingLevel::Info,
                    crate::actions::LogLevel::Warning => LoggingLevel::Warning,
                };
                if rank(level) < rank(threshold) {
                    return;
                }
                let mut param = LoggingMessageNotificationParam::new(level, serde_json::Value::String(message));
                param.logger = Some("toolwright".to_owned());
                let peer = peer.clone();
                tokio::spawn(async move {
                    let _ = peer.notify_logging_message(param).await;
                });
            });
            send
        });
        let parts = context.extensions.get::<::http::request::Parts>();
        // A 2026-07-28 request cannot be sent requests of ours: the tool's own gate is asked
        // with an InputRequiredResult (SEP-2322) instead, when the request declared elicitation
        // and is not served as an MCP Task (whose gate is asked through the task).
        let mut answer = None;
        let modern = context.protocol_version().is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        if modern && ask.is_none() && !supports_tasks {
            let loaded = self.shared.runtime().current();
            let elicits =
                context.client_capabilities().is_some_and(|c| c.elicitation.as_ref().is_some_and(|e| e.form.is_some() || e.url.is_none()));
            let gated = auth::callable_tool(&loaded.catalog, &request.name, auth::request_identity(parts))
                .ok()
                .filter(|t| t.confirm.is_some())
                .cloned();
            if let (true, Some(tool)) = (elicits, gated) {
                match super::mrtr::states().map(|states| states.gate(&loaded, &tool, &request)) {
                    Err(e) => return Err(e),
                    Ok(None) => {}
                    Ok(Some(Err(e))) => return Err(e),
                    Ok(Some(Ok(super::mrtr::Gate::Ask(result)))) => return Ok(CallToolResponse::InputRequired(result)),
                    Ok(Some(Ok(super::mrtr::Gate::Answered(a)))) => answer = Some(a),
                }
            }
        }
        let site = CallSite { parts, meta: &context.meta, id: &context.id, ct: &context.ct, progress, ask, log, answer };
        self.shared.call_tool_response(&request, site, supports_tasks).await
    }

    async fn get_task(&self, request: GetTaskParams, context: RequestContext<RoleServer>) -> Result<GetTaskResult, McpError> {
        self.shared.mcp_get_task(&request.task_id, context.extensions.get::<::http::request::Parts>())
    }

    async fn cancel_task(&self, request: CancelTaskParams, context: RequestContext<RoleServer>) -> Result<(), McpError> {
        self.shared.mcp_cancel_task(&request.task_id, context.extensions.get::<::http::request::Parts>())
    }

    async fn update_task(&self, request: UpdateTaskParams, context: RequestContext<RoleServer>) -> Result<(), McpError> {
        self.shared.mcp_update_task(&request.task_id, &request.input_responses, context.extensions.get::<::http::request::Parts>())
    }

    async fn set_level(&self, request: SetLevelRequestParams, _context: RequestContext<RoleServer>) -> Result<(), McpError> {
        if let Ok(mut level) = self.shared.log_level.lock() {
            *level = Some(request.level);
        }
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(super::prompts::list(&self.shared.runtime().current().catalog, auth::identity(&context)))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let loaded = self.shared.runtime().current();
        super::prompts::get(&loaded, request, auth::identity(&context), &context.ct).await.map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(super::resources::list(&self.shared.runtime().current().catalog, auth::identity(&context)))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(super::resources::list_templates(&self.shared.runtime().current().catalog, auth::identity(&context)))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let loaded = self.shared.runtime().current();
        let parts = context.extensions.get::<::http::request::Parts>();
        let identity = auth::request_identity(parts);
        super::resources::read(&loaded, &request.uri, identity, || super::state::caller_of(parts), &context.ct).await.map(Into::into)
    }

    async fn complete(&self, request: CompleteRequestParams, context: RequestContext<RoleServer>) -> Result<CompleteResult, McpError> {
        let loaded = self.shared.runtime().current();
        super::completions::complete(&loaded, request, auth::identity(&context), &context.ct).await
    }

    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        // The three lists change on reloads; single resources are not watched.
        let mut accepted = SubscriptionFilter::builder();
        if requested.tools_list_changed == Some(true) {
            accepted = accepted.tools_list_changed();
        }
        if requested.prompts_list_changed == Some(true) {
            accepted = accepted.prompts_list_changed();
        }
        if requested.resources_list_changed == Some(true) {
            accepted = accepted.resources_list_changed();
        }
        Some(accepted.build())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let mut changes = self.shared.changes.subscribe();
        let mut seen = *changes.borrow_and_update();
        let accepted = context.accepted().clone();
        loop {
            tokio::select! {
                () = context.cancelled() => return Ok(()),
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let now = *changes.borrow_and_update();
                    let sink = context.sink();
                    // Each list the subscription accepted and a reload changed since the last
                    // wake-up (several reloads between two wake-ups make one notification).
                    let sent = async {
                        if accepted.tools_list_changed == Some(true) && now.tools != seen.tools {
                            sink.notify_tool_list_changed().await?;
                        }
                        if accepted.prompts_list_changed == Some(true) && now.prompts != seen.prompts {
                            sink.notify_prompt_list_changed().await?;
                        }
                        if accepted.resources_list_changed == Some(true) && now.resources != seen.resources {
                            sink.notify_resource_list_changed().await?;
                        }
                        Ok::<(), rmcp::service::SubscriptionSendError>(())
                    };
                    if sent.await.is_err() {
                        return Ok(());
                    }
                    seen = now;
                }
            }
        }
    }

    /// rmcp hands a request whose params do not fit its method here, as if the method were
    /// unknown. For the methods this server implements that is a -32602 (invalid params) that
    /// says what is wrong, not a -32601 (method not found).
    async fn on_custom_request(&self, request: CustomRequest, context: RequestContext<RoleServer>) -> Result<CustomResult, McpError> {
        let CustomRequest { method, params, .. } = request;
        // The revision: the request's `_meta` (2026-07-28), else the HTTP header.
        let header_2026 = context
            .extensions
            .get::<::http::request::Parts>()
            .and_then(|p| p.headers.get("mcp-protocol-version"))
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v >= "2026-07-28");
        let revision_2026 = header_2026 || is_2026_request(params.as_ref());
        Err(match method.as_str() {
            "tools/call" => invalid_params::<CallToolRequestParams>(method, params),
            "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => {
                invalid_params::<PaginatedRequestParams>(method, params)
            }
            "prompts/get" => invalid_params::<GetPromptRequestParams>(method, params),
            "resources/read" => invalid_params::<ReadResourceRequestParams>(method, params),
            "completion/complete" => invalid_params::<CompleteRequestParams>(method, params),
            "logging/setLevel" if !revision_2026 => invalid_params::<SetLevelRequestParams>(method, params),
            _ => McpError::new(ErrorCode::METHOD_NOT_FOUND, method, None),
        })
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if let Ok(mut peers) = self.shared.peers.lock() {
            peers.retain(|p| !p.is_transport_closed());
            peers.push(context.peer.clone());
        }
    }
}
