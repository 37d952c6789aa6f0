//! The rmcp handler: one per session, over the [`ServerState`] state.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, CustomRequest, CustomResult, ErrorCode, GetTaskParams, GetTaskResult,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerConfig, SetLevelRequestParams, SubscriptionFilter, Tool,
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
        let supports_tasks = context.client_capabilities().is_some_and(|c| c.supports_tasks());
        // Approval gates ask a client that took elicitation requests at initialize (the 2025
        // revisions; 2026-07-28 forbids server-to-client requests).
        let ask = context
            .peer
            .supported_elicitation_modes()
            .contains(&rmcp::service::ElicitationMode::Form)
            .then(|| super::tasks::peer_ask(context.peer.clone()));
        let site = CallSite {
            parts: context.extensions.get::<::http::request::Parts>(),
            meta: &context.meta,
            id: &context.id,
            ct: &context.ct,
            progress,
            ask,
        };
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
            *level = request.level;
        }
        Ok(())
    }

    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        // Only the tool list ever changes here.
        Some(if requested.tools_list_changed == Some(true) {
            SubscriptionFilter::builder().tools_list_changed().build()
        } else {
            SubscriptionFilter::new()
        })
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let mut changes = self.shared.changes.subscribe();
        changes.mark_unchanged();
        loop {
            tokio::select! {
                () = context.cancelled() => return Ok(()),
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    if context.sink().notify_tool_list_changed().await.is_err() {
                        return Ok(());
                    }
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
            "tools/list" => invalid_params::<PaginatedRequestParams>(method, params),
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
