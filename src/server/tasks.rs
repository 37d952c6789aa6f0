//! Serving `task:` tools: a call starts as a task (`crate::tasks`), is answered inline when it
//! ends within the tool's `after`, and otherwise answers with the task's id, as an MCP Tasks
//! handle (`CreateTaskResult`) to a client that declared the `io.modelcontextprotocol/tasks`
//! extension on the request, or as a structured handle naming the built-in tools
//! `get_task_status` and `cancel_task` to every other client. `tasks/get`, `tasks/cancel` and
//! the two built-in tools read the same registry and never touch the backend.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock, CreateTaskResult, DetailedTask,
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, GetTaskResult, InputRequest, InputRequests,
    InputResponses, Task as McpTask, TaskPayload, TaskStatus,
};
use rmcp::{ErrorData as McpError, Peer, RoleServer};
use serde_json::{Value, json};

use super::auth;
use super::state::{CallSite, ServerState, audit, to_result};
use crate::actions::{Approval, AskFn, Question};
use crate::catalog::{CompiledTool, JsonObject, TASK_TOOLS};
use crate::observability::CallOutcome;
use crate::runtime::{self, Loaded, Outcome};
use crate::tasks::{Snapshot, Status};

/// The caller a task belongs to: the authenticated identity's name, when HTTP authentication is on.
fn owner(site: &CallSite<'_>) -> Option<String> {
    auth::request_identity(site.parts).map(|id| id.name.clone())
}

impl ServerState {
    /// Runs one `tools/call` that rmcp's handler received: a built-in task tool, a call of a
    /// `task:` tool (which may answer with a task, see `tasks.rs`), or any other call
    /// ([`ServerState::call_tool`]). `supports_tasks`: the request declared MCP Tasks.
    pub(super) async fn call_tool_response(
        &self,
        request: &CallToolRequestParams,
        site: CallSite<'_>,
        supports_tasks: bool,
    ) -> Result<CallToolResponse, McpError> {
        let loaded = self.runtime().current();
        let name = request.name.as_ref();
        let builtin = TASK_TOOLS.contains(&name) && loaded.catalog.tool(name).is_none();
        if builtin && loaded.catalog.tools().iter().any(|t| t.task.is_some()) {
            let started = std::time::Instant::now();
            let result = self.call_builtin(name, request, &site);
            audit(self, site.parts, request, if result.is_error == Some(true) { "rejected" } else { "ok" }, started.elapsed());
            return Ok(CallToolResponse::Complete(result));
        }
        let tool = match loaded.catalog.tool(name) {
            Some(t) if t.task.is_some() => t.clone(),
            _ => return self.call_tool(request, site).await.map(CallToolResponse::from),
        };
        let identity = auth::request_identity(site.parts);
        if let Err(hidden) = auth::callable_tool(&loaded.catalog, name, identity) {
            return Err(McpError::invalid_params(hidden.to_string(), None));
        }
        if tool.task.is_some_and(|t| t.required) && !supports_tasks {
            audit(self, site.parts, request, "rejected", std::time::Duration::ZERO);
            return Err(McpError::missing_required_client_capability(ClientCapabilities::builder().enable_tasks().build()));
        }
        let span = site.span(request);
        let started = std::time::Instant::now();
        let answer =
            tracing::Instrument::instrument(self.call_as_task(loaded.clone(), tool, request, &site, supports_tasks), span.clone()).await;
        let is_error = match &answer {
            TaskAnswer::Inline(o) => Some(o.is_error),
            _ => Some(false),
        };
        crate::telemetry::tool_call_done(&span, is_error);
        audit(self, site.parts, request, answer.word(), started.elapsed());
        Ok(answer.into_response())
    }

    /// Runs a call of a `task:` tool; see the module's doc. `supports_tasks`: the request
    /// declared the MCP Tasks extension.
    pub(super) async fn call_as_task(
        &self,
        loaded: Arc<Loaded>,
        tool: Arc<CompiledTool>,
        request: &CallToolRequestParams,
        site: &CallSite<'_>,
        supports_tasks: bool,
    ) -> TaskAnswer {
        let Some(settings) = tool.task else { return TaskAnswer::Inline(Outcome::error(CallOutcome::Error, "internal: not a task tool")) };
        let task = match self.tasks().start(&tool.name, owner(site), settings) {
            Ok(t) => t,
            Err(m) => return TaskAnswer::Inline(Outcome::error(CallOutcome::Overloaded, m)),
        };
        // Progress goes into the task's status; to the client too while it waits inline. The
        // client's forwarders are dropped when the task is handed out, so that a task that runs
        // for hours does not keep the request's stream (and what it holds) alive.
        let to_client = Arc::new(std::sync::Mutex::new((site.progress.clone(), site.log.clone())));
        let progress: crate::actions::ProgressFn = {
            let (task, to_client) = (task.clone(), to_client.clone());
            Arc::new(move |p: f64, total: Option<f64>, message: String| {
                let forward = to_client.lock().map(|f| f.0.clone()).unwrap_or_default();
                if let Some(f) = forward {
                    f(p, total, message.clone());
                }
                task.progress(p, total, message);
            })
        };
        // An MCP Tasks client answers approval questions through tasks/get and tasks/update;
        // any other client is asked as it would be without a task (elicitation), or cannot be.
        let ask = if supports_tasks { Some(task_ask(task.clone())) } else { site.ask.clone() };
        // Log messages reach the client while it waits inline, as progress does.
        let log: Option<crate::actions::LogFn> = site.log.is_some().then(|| {
            let to_client = to_client.clone();
            let f: crate::actions::LogFn = Arc::new(move |level, message: String| {
                let forward = to_client.lock().map(|f| f.1.clone()).unwrap_or_default();
                if let Some(f) = forward {
                    f(level, message);
                }
            });
            f
        });
        let runner = {
            let (task, tasks, args, answer) = (task.clone(), self.tasks_arc(), request.arguments.clone(), site.answer.clone());
            async move {
                let hooks = runtime::Hooks { progress: Some(progress), ask, log, answer };
                let call = runtime::call_with(&loaded, &tool, args.as_ref(), &task.cancel, hooks);
                // A bug that panics ends the task as failed (an internal error), never leaves it
                // working for ever.
                match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(call)).await {
                    Ok(outcome) => {
                        task.finish(outcome);
                    }
                    Err(_) => {
                        tracing::error!(task = %task.id, tool = %task.tool, "a task's call panicked; the task is failed");
                        task.fail("internal error: the call stopped unexpectedly; the server log says more");
                    }
                }
                tasks.ended(&task);
            }
        };
        tokio::spawn(tracing::Instrument::in_current_span(runner));
        // A question for an MCP Tasks client hands the task out at once: the client answers it
        // through tasks/update.
        let ended_inline = tokio::select! {
            biased;
            () = task.ended() => true,
            () = task.needs_attention(), if supports_tasks => false,
            () = site.ct.cancelled() => {
                task.cancel("the client cancelled the call");
                true
            }
            () = tokio::time::sleep(settings.after) => false,
        };
        if let Ok(mut f) = to_client.lock() {
            *f = (None, None);
        }
        if ended_inline || !self.tasks().hand_out(&task) {
            self.tasks().forget(&task.id);
            return TaskAnswer::Inline(inline_outcome(&task.snapshot()));
        }
        let snapshot = task.snapshot();
        if supports_tasks {
            TaskAnswer::Task(CreateTaskResult::new(mcp_task(&snapshot)))
        } else {
            TaskAnswer::Handle(handle_result(&snapshot))
        }
    }

    /// `get_task_status` and `cancel_task` (`name` is one of [`TASK_TOOLS`]).
    pub(super) fn call_builtin(&self, name: &str, request: &CallToolRequestParams, site: &CallSite<'_>) -> CallToolResult {
        let id = match request.arguments.as_ref().and_then(|a| a.get("task_id")) {
            Some(Value::String(id)) if request.arguments.as_ref().is_some_and(|a| a.len() == 1) => id.as_str(),
            _ => return tool_error(format!("`{name}` takes one argument, `task_id`: the id a tool call answered with")),
        };
        let Some(task) = self.tasks().get(id, owner(site).as_deref()) else { return tool_error(unknown_task(id)) };
        if name == TASK_TOOLS[1] {
            task.cancel("cancelled with cancel_task");
        }
        status_result(&task.snapshot())
    }

    /// `tasks/get`.
    pub(super) fn mcp_get_task(&self, id: &str, parts: Option<&::http::request::Parts>) -> Result<GetTaskResult, McpError> {
        let caller = auth::request_identity(parts).map(|i| i.name.as_str());
        let task = self.tasks().get(id, caller).ok_or_else(|| McpError::invalid_params(unknown_task(id), None))?;
        let snapshot = task.snapshot();
        let base = mcp_task(&snapshot);
        let payload = match snapshot.status {
            Status::Working => TaskPayload::Working,
            Status::InputRequired => match &snapshot.question {
                Some((key, question)) => match approval_request(question) {
                    Ok(params) => {
                        let mut input_requests = InputRequests::new();
                        input_requests.insert(key.clone(), InputRequest::Elicitation(ElicitRequest::new(params)));
                        TaskPayload::InputRequired { input_requests }
                    }
                    Err(e) => return Err(McpError::internal_error(e, None)),
                },
                None => TaskPayload::Working,
            },
            Status::Cancelled => TaskPayload::Cancelled,
            Status::Completed => {
                let result = snapshot.result.as_deref().map(|o| to_result(o.clone())).unwrap_or_default();
                let result = match serde_json::to_value(&result) {
                    Ok(Value::Object(o)) => o,
                    _ => JsonObject::new(),
                };
                TaskPayload::Completed { result }
            }
            Status::Failed => {
                let message = snapshot.error.clone().unwrap_or_else(|| "the task failed".to_owned());
                let error = match serde_json::to_value(McpError::internal_error(message, None)) {
                    Ok(Value::Object(o)) => o,
                    _ => JsonObject::new(),
                };
                TaskPayload::Failed { error }
            }
        };
        Ok(GetTaskResult::new(DetailedTask::new(base, payload)))
    }

    /// `tasks/update`: answers to the task's open approval question; answers to any other key
    /// are ignored, as the extension says.
    pub(super) fn mcp_update_task(
        &self,
        id: &str,
        responses: &InputResponses,
        parts: Option<&::http::request::Parts>,
    ) -> Result<(), McpError> {
        let caller = auth::request_identity(parts).map(|i| i.name.as_str());
        let task = self.tasks().get(id, caller).ok_or_else(|| McpError::invalid_params(unknown_task(id), None))?;
        // Only the open question's key is read; any other is ignored, whatever it holds.
        let Some((key, question)) = task.question() else { return Ok(()) };
        if let Some(value) = responses.get(&key) {
            let approval = match serde_json::from_value::<ElicitResult>(value.clone()) {
                Ok(result) => approval_of(&result, &question),
                Err(e) => return Err(McpError::invalid_params(format!("inputResponses[{key:?}] is not an elicitation result: {e}"), None)),
            };
            task.answer(&key, approval);
        }
        Ok(())
    }

    /// `tasks/cancel`.
    pub(super) fn mcp_cancel_task(&self, id: &str, parts: Option<&::http::request::Parts>) -> Result<(), McpError> {
        let caller = auth::request_identity(parts).map(|i| i.name.as_str());
        let task = self.tasks().get(id, caller).ok_or_else(|| McpError::invalid_params(unknown_task(id), None))?;
        task.cancel("cancelled with tasks/cancel");
        Ok(())
    }
}

/// How a call of a `task:` tool answered.
pub(super) enum TaskAnswer {
    /// It ended within `after` (or could not start): the result.
    Inline(Outcome),
    /// An MCP Tasks handle.
    Task(CreateTaskResult),
    /// The handle for clients without MCP Tasks.
    Handle(CallToolResult),
}

impl TaskAnswer {
    /// The word of the audit line.
    pub(super) fn word(&self) -> &'static str {
        match self {
            TaskAnswer::Inline(o) => o.kind.as_str(),
            TaskAnswer::Task(_) | TaskAnswer::Handle(_) => "task",
        }
    }

    /// The answer to the `tools/call`.
    pub(super) fn into_response(self) -> CallToolResponse {
        match self {
            TaskAnswer::Inline(o) => CallToolResponse::Complete(to_result(o)),
            TaskAnswer::Task(t) => CallToolResponse::Task(t),
            TaskAnswer::Handle(r) => CallToolResponse::Complete(r),
        }
    }
}

/// The answer of a call that ended while the client waited.
fn inline_outcome(s: &Snapshot) -> Outcome {
    match (s.status, &s.result) {
        (Status::Completed, Some(result)) => (**result).clone(),
        (Status::Cancelled, _) => Outcome::error(CallOutcome::Error, "the call was cancelled by the client"),
        _ => Outcome::error(CallOutcome::Error, s.error.clone().unwrap_or_else(|| "the call did not end".to_owned())),
    }
}

/// The elicitation that puts an approval question: the gate's form (`confirm.fields`), or
/// without one a single required boolean, `confirm`. `Err` only if a form the compile checked
/// is not one rmcp can carry (a bug, said as such).
pub(super) fn approval_request(question: &Question) -> Result<ElicitRequestParams, String> {
    let schema = match &question.fields {
        Some(fields) => serde_json::from_value::<ElicitationSchema>(Value::Object((*fields.schema).clone()))
            .map_err(|e| format!("internal: the approval form cannot be sent: {e}"))?,
        None => ElicitationSchema::builder()
            .required_bool_property(APPROVE, |b| b.title("Approve").description("true runs the action; false runs nothing"))
            .build_unchecked(),
    };
    Ok(ElicitRequestParams::FormElicitationParams { meta: None, message: question.message.clone(), requested_schema: schema })
}

/// The property of [`approval_request`]'s yes/no form.
const APPROVE: &str = "confirm";

/// What an elicitation's answer means for the gate: a yes/no question is approved only by an
/// accepted form whose `confirm` is true; a form with fields by any accepted answer, whose
/// content the caller then holds to the form.
pub(super) fn approval_of(result: &ElicitResult, question: &Question) -> Approval {
    match result.action {
        ElicitationAction::Accept if question.fields.is_some() => match &result.content {
            Some(Value::Object(content)) => Approval::Approved(content.clone()),
            None => Approval::Approved(JsonObject::new()),
            Some(_) => Approval::Refused("the answer's content is not a filled-in form (an object)".to_owned()),
        },
        ElicitationAction::Accept => match result.content.as_ref().and_then(|c| c.get(APPROVE)).and_then(Value::as_bool) {
            Some(true) => Approval::Approved(JsonObject::new()),
            Some(false) => Approval::Refused("the user answered no".to_owned()),
            None => Approval::Refused(format!("the answer did not say `{APPROVE}: true`")),
        },
        ElicitationAction::Decline => Approval::Refused("the user declined".to_owned()),
        ElicitationAction::Cancel => Approval::Refused("the user cancelled".to_owned()),
        _ => Approval::Refused("the answer was not understood".to_owned()),
    }
}

/// Asks through the session's client with `elicitation/create`.
pub(super) fn peer_ask(peer: Peer<RoleServer>) -> AskFn {
    Arc::new(move |question: Question| {
        let peer = peer.clone();
        Box::pin(async move {
            let params = match approval_request(&question) {
                Ok(p) => p,
                Err(e) => return Approval::CannotAsk(e),
            };
            match peer.create_elicitation(params).await {
                Ok(result) => approval_of(&result, &question),
                Err(e) => Approval::CannotAsk(format!("elicitation/create failed: {e}")),
            }
        })
    })
}

/// Asks through the task: it waits in `input_required` until tasks/update answers.
fn task_ask(task: Arc<crate::tasks::Task>) -> AskFn {
    Arc::new(move |question: Question| {
        let task = task.clone();
        Box::pin(async move { task.ask(question).await })
    })
}

fn unknown_task(id: &str) -> String {
    // The id is the caller's own text: quote at most a short, printable prefix of it.
    let shown: String = id.chars().take(64).filter(|c| !c.is_control()).collect();
    format!("unknown task id `{shown}`: no such task, or its result has expired (results are kept for the tool's ttl after the task ends)")
}

fn tool_error(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

fn stamp(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The MCP `Task` of a snapshot.
fn mcp_task(s: &Snapshot) -> McpTask {
    let status = match s.status {
        Status::Working => TaskStatus::Working,
        Status::InputRequired => TaskStatus::InputRequired,
        Status::Completed => TaskStatus::Completed,
        Status::Failed => TaskStatus::Failed,
        Status::Cancelled => TaskStatus::Cancelled,
    };
    let mut task = McpTask::new(s.id.clone(), status, stamp(s.created), stamp(s.updated))
        .with_ttl_ms(millis(s.ttl))
        .with_poll_interval_ms(millis(s.poll_interval));
    if let Some(m) = &s.message {
        task = task.with_status_message(m.clone());
    }
    task
}

/// The fields every `get_task_status` answer and handle share.
fn status_fields(s: &Snapshot) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("task_id".to_owned(), json!(s.id));
    m.insert("tool".to_owned(), json!(s.tool));
    m.insert("status".to_owned(), json!(s.status.as_str()));
    if let Some(msg) = &s.message {
        m.insert("status_message".to_owned(), json!(msg));
    }
    if let Some((p, total)) = s.progress {
        m.insert("progress".to_owned(), json!({"progress": p, "total": total}));
    }
    m.insert("created_at".to_owned(), json!(stamp(s.created)));
    m.insert("last_updated_at".to_owned(), json!(stamp(s.updated)));
    m.insert("poll_interval_ms".to_owned(), json!(millis(s.poll_interval)));
    m
}

/// What a client without MCP Tasks gets when a call becomes a task.
fn handle_result(s: &Snapshot) -> CallToolResult {
    let mut m = status_fields(s);
    m.insert("poll_with".to_owned(), json!(TASK_TOOLS[0]));
    m.insert("cancel_with".to_owned(), json!(TASK_TOOLS[1]));
    let text = format!(
        "`{}` is still running as task {}. Call `{}` with {{\"task_id\": \"{}\"}} in about {} s to get its status and, once it \
         has ended, its result; `{}` with the same task_id stops it.",
        s.tool,
        s.id,
        TASK_TOOLS[0],
        s.id,
        s.poll_interval.as_secs().max(1),
        TASK_TOOLS[1]
    );
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(Value::Object(m));
    result
}

/// `get_task_status`'s answer (and `cancel_task`'s): the status, and the result once ended. A
/// completed task whose result is a tool error is a tool error too, so the model reads it as one.
fn status_result(s: &Snapshot) -> CallToolResult {
    let mut m = status_fields(s);
    let (text, is_error) = match (s.status, &s.result) {
        (Status::InputRequired, _) => (
            format!(
                "task {} ({}) waits for the user's approval: {}. Only a client that can be asked answers it; call `{}` again later.",
                s.id,
                s.tool,
                s.question.as_ref().map_or("", |q| q.1.message.as_str()),
                TASK_TOOLS[0]
            ),
            false,
        ),
        (Status::Working, _) => (
            format!(
                "task {} ({}) is working: {}. Call `{}` again in about {} s.",
                s.id,
                s.tool,
                s.message.as_deref().unwrap_or("no progress reported yet"),
                TASK_TOOLS[0],
                s.poll_interval.as_secs().max(1)
            ),
            false,
        ),
        (Status::Completed, Some(result)) => {
            m.insert("result".to_owned(), json!({"is_error": result.is_error, "structured": result.structured, "text": result.text}));
            (format!("task {} ({}) has ended.\n{}", s.id, s.tool, result.text), result.is_error)
        }
        (Status::Cancelled, _) => (format!("task {} ({}) was cancelled: nothing more runs.", s.id, s.tool), false),
        _ => (format!("task {} ({}) failed: {}", s.id, s.tool, s.error.as_deref().unwrap_or("unknown reason")), true),
    };
    if let Some(e) = &s.error {
        m.insert("error".to_owned(), json!(e));
    }
    let content = vec![ContentBlock::text(text)];
    let mut result = if is_error { CallToolResult::error(content) } else { CallToolResult::success(content) };
    result.structured_content = Some(Value::Object(m));
    result
}
