//! The running catalog and the one call path shared by `serve`, `call` and `render`.
//!
//! Architecture invariant: a reload never exposes a half-built catalog. The current
//! [`Loaded`] catalog sits behind an `ArcSwap`; a call takes one `Arc` at its start and
//! finishes on that catalog even if a reload swaps in another meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::actions::{self, AskFn, CallContext, ProgressFn};
use crate::catalog::{Catalog, CompiledTool, JsonObject, SecretMode};
use crate::connections::Clients;
use crate::observability::CallOutcome;
use crate::observability::prometheus::Metrics;

/// A compiled catalog with the backend clients built for it.
pub struct Loaded {
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// Clients for its connections.
    pub backends: Arc<Clients>,
    /// Increases by one on every successful load.
    pub generation: u64,
    /// Per-tool limits (kept across reloads while a tool's limits stay the same).
    limiters: HashMap<String, Arc<ToolLimiter>>,
    /// Process-wide state every generation shares.
    process: Arc<Process>,
}

/// What outlives catalogs: metrics and the global cap on calls in flight.
struct Process {
    metrics: Arc<Metrics>,
    in_flight: Option<(usize, Arc<Semaphore>)>,
}

/// The limits of one tool.
struct ToolLimiter {
    concurrency: Option<(u32, Arc<Semaphore>)>,
    per_minute: Option<(u32, Mutex<Bucket>)>,
}

/// A token bucket: `per_minute` tokens at most, refilled continuously.
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl ToolLimiter {
    fn new(tool: &CompiledTool) -> Option<Self> {
        if tool.concurrency.is_none() && tool.per_minute.is_none() {
            return None;
        }
        Some(ToolLimiter {
            concurrency: tool.concurrency.map(|n| (n, Arc::new(Semaphore::new(n as usize)))),
            per_minute: tool.per_minute.map(|n| (n, Mutex::new(Bucket { tokens: f64::from(n), last: Instant::now() }))),
        })
    }

    fn same_limits(&self, tool: &CompiledTool) -> bool {
        self.concurrency.as_ref().map(|c| c.0) == tool.concurrency && self.per_minute.as_ref().map(|p| p.0) == tool.per_minute
    }

    /// Takes one call's worth of the rate limit, or says how long to wait.
    fn take_rate(&self) -> Result<(), Duration> {
        let Some((per_minute, bucket)) = &self.per_minute else { return Ok(()) };
        let Ok(mut b) = bucket.lock() else { return Ok(()) };
        let rate = f64::from(*per_minute) / 60.0;
        let now = Instant::now();
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(f64::from(*per_minute));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

fn limiters_for(catalog: &Catalog, previous: Option<&Loaded>) -> HashMap<String, Arc<ToolLimiter>> {
    let mut out = HashMap::new();
    for tool in catalog.tools() {
        let kept = previous.and_then(|p| p.limiters.get(&tool.name)).filter(|l| l.same_limits(tool)).cloned();
        if let Some(l) = kept.or_else(|| ToolLimiter::new(tool).map(Arc::new)) {
            out.insert(tool.name.clone(), l);
        }
    }
    out
}

/// What a call produced, independent of the transport.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Whether the call failed (a tool error the model should read, not a protocol error).
    pub is_error: bool,
    /// Structured content (a JSON object), when there is one.
    pub structured: Option<Value>,
    /// The text the model reads.
    pub text: String,
    /// How the call ended, in the words metrics, audit lines and traces share.
    pub kind: CallOutcome,
    /// Content beyond the text block: an image, audio or embedded resource beside it, or the
    /// result's whole list of blocks.
    pub media: Option<crate::actions::output::Content>,
}

impl Outcome {
    /// A tool error of `kind` with a message for the model.
    pub fn error(kind: CallOutcome, message: impl Into<String>) -> Self {
        Outcome { is_error: true, structured: None, text: message.into(), kind, media: None }
    }
}

/// The tool name matched no tool (a protocol error, not a tool error).
#[derive(Clone, Debug, thiserror::Error)]
#[error("unknown tool `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
pub struct UnknownTool {
    /// The name asked for.
    pub name: String,
    /// A near tool name.
    pub suggestion: Option<String>,
}

/// What the last reloads did, for `/status` and logs.
#[derive(Clone, Debug, Default)]
pub struct ReloadInfo {
    /// When the catalog in force was loaded.
    pub last_success: Option<SystemTime>,
    /// When the last failed reload happened, and its diagnostics as `lint --format json` shows them.
    pub last_failure: Option<(SystemTime, Value)>,
    /// Successful reloads since start (not counting the first load).
    pub reloads_ok: u64,
    /// Failed reloads since start.
    pub reloads_failed: u64,
}

/// The current catalog, swappable.
pub struct Runtime {
    current: ArcSwap<Loaded>,
    reloads: std::sync::Mutex<ReloadInfo>,
}

impl Runtime {
    /// A runtime serving `catalog`, with at most `max_in_flight` calls running at once
    /// (`None`: no global cap). Fails when a backend client cannot be built.
    pub fn new(catalog: Catalog) -> Result<Self, String> {
        Self::with_max_in_flight(catalog, None)
    }

    /// [`Runtime::new`] with a global cap on calls in flight.
    pub fn with_max_in_flight(catalog: Catalog, max_in_flight: Option<usize>) -> Result<Self, String> {
        let backends = Clients::new(catalog.connections().values());
        Self::with_clients(catalog, backends, max_in_flight)
    }

    /// A runtime whose calls go through `backends`, clients built for `catalog`'s connections
    /// (`toolwright test` gives clients with a record or replay tape).
    pub fn with_clients(catalog: Catalog, backends: Clients, max_in_flight: Option<usize>) -> Result<Self, String> {
        let metrics = Arc::new(Metrics::default());
        metrics.catalog_size(catalog.tools().len());
        let process = Arc::new(Process { metrics, in_flight: max_in_flight.map(|n| (n, Arc::new(Semaphore::new(n)))) });
        let limiters = limiters_for(&catalog, None);
        Ok(Runtime {
            current: ArcSwap::from_pointee(Loaded {
                catalog: Arc::new(catalog),
                backends: Arc::new(backends),
                generation: 1,
                limiters,
                process,
            }),
            reloads: std::sync::Mutex::new(ReloadInfo { last_success: Some(SystemTime::now()), ..ReloadInfo::default() }),
        })
    }

    /// The process's metrics.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.current.load().process.metrics.clone()
    }

    /// What the reloads did so far.
    pub fn reload_info(&self) -> ReloadInfo {
        self.reloads.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Forgets the last failed reload: the files are again those of the catalog in force (or a
    /// new catalog was loaded), so its diagnostics no longer describe them. The count stays.
    pub fn clear_failure(&self) {
        if let Ok(mut r) = self.reloads.lock() {
            r.last_failure = None;
        }
    }

    /// Records a failed reload and its diagnostics (for `/status`); the catalog in force stays.
    pub fn record_failure(&self, diagnostics: Value) {
        self.current.load().process.metrics.reload(false);
        if let Ok(mut r) = self.reloads.lock() {
            r.reloads_failed += 1;
            r.last_failure = Some((SystemTime::now(), diagnostics));
        }
    }

    /// The catalog in force now.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Swaps in a new catalog; calls already running keep the one they started with.
    pub fn swap(&self, catalog: Catalog) -> Result<Arc<Loaded>, String> {
        let backends = Clients::new(catalog.connections().values());
        let previous = self.current.load_full();
        let limiters = limiters_for(&catalog, Some(&previous));
        previous.process.metrics.reload(true);
        previous.process.metrics.catalog_size(catalog.tools().len());
        let loaded = Arc::new(Loaded {
            catalog: Arc::new(catalog),
            backends: Arc::new(backends),
            generation: previous.generation + 1,
            limiters,
            process: previous.process.clone(),
        });
        self.current.store(loaded.clone());
        if let Ok(mut r) = self.reloads.lock() {
            r.reloads_ok += 1;
            r.last_success = Some(SystemTime::now());
            r.last_failure = None;
        }
        Ok(loaded)
    }
}

/// Looks a tool up by name; the error suggests a near name.
pub fn lookup<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a Arc<CompiledTool>, UnknownTool> {
    catalog.tool(name).ok_or_else(|| UnknownTool {
        name: name.to_owned(),
        suggestion: crate::util::did_you_mean(name, catalog.tools().iter().map(|t| t.name.as_str())).map(str::to_owned),
    })
}

/// Runs one call of `tool` (looked up once by the caller, in `loaded.catalog`): validate
/// and default the arguments, render with contextual escaping, run the backend under the
/// call's one deadline, shape the output. `cancel` stops the call early.
pub async fn call(
    loaded: &Loaded,
    tool: &CompiledTool,
    args: Option<&JsonObject>,
    cancel: &CancellationToken,
    progress: Option<ProgressFn>,
) -> Outcome {
    call_with(loaded, tool, args, cancel, Hooks { progress, ask: None, log: None, answer: None }).await
}

/// What a call may do besides running its action: send progress, and ask the user to
/// approve a `confirm:` gate.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Sends progress notifications, when the client asked for them.
    pub progress: Option<ProgressFn>,
    /// Asks the user for approval, when the client can be asked.
    pub ask: Option<AskFn>,
    /// Sends log messages about what the call does, when the client set a level.
    pub log: Option<crate::actions::LogFn>,
    /// The answer to the tool's own gate (`confirm:` on the tool), when the client gave it
    /// with the call (a 2026-07-28 retry carrying `inputResponses`): it is not asked again.
    pub answer: Option<crate::actions::Approval>,
}

/// [`call`] with both hooks.
pub async fn call_with(
    loaded: &Loaded,
    tool: &CompiledTool,
    args: Option<&JsonObject>,
    cancel: &CancellationToken,
    hooks: Hooks,
) -> Outcome {
    let started = Instant::now();
    let metrics = &loaded.process.metrics;
    metrics.in_flight(1);
    let outcome = run_call(loaded, tool, args, cancel, hooks).await;
    crate::telemetry::record_outcome(outcome.kind);
    metrics.in_flight(-1);
    metrics.call(&tool.name, outcome.kind, started.elapsed());
    outcome
}

/// Refuses a call that a limit does not allow, at once, with a retry hint.
fn admit(loaded: &Loaded, tool: &CompiledTool) -> Result<Vec<tokio::sync::OwnedSemaphorePermit>, String> {
    let mut permits = Vec::new();
    // A `task:` tool's calls are bounded by `--max-tasks` (the task registry admits them): a
    // thousand watches that each run for an hour must not hold the slots interactive calls need.
    if let (Some((n, sem)), None) = (&loaded.process.in_flight, tool.task) {
        match sem.clone().try_acquire_owned() {
            Ok(p) => permits.push(p),
            Err(_) => return Err(format!("toolwright is busy: {n} calls are already running (its limit); retry in about a second")),
        }
    }
    if let Some(limiter) = loaded.limiters.get(&tool.name) {
        if let Some((n, sem)) = &limiter.concurrency {
            match sem.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => {
                    return Err(format!("tool `{}` allows {n} calls at once and {n} are running; retry in about a second", tool.name));
                }
            }
        }
        if let Err(wait) = limiter.take_rate() {
            let per_minute = limiter.per_minute.as_ref().map_or(0, |p| p.0);
            return Err(format!(
                "tool `{}` allows {per_minute} calls per minute and that rate is used up; retry in {:.1} s",
                tool.name,
                wait.as_secs_f64().max(0.1)
            ));
        }
    }
    Ok(permits)
}

async fn run_call(loaded: &Loaded, tool: &CompiledTool, args: Option<&JsonObject>, cancel: &CancellationToken, hooks: Hooks) -> Outcome {
    let _permits = match admit(loaded, tool) {
        Ok(p) => p,
        Err(m) => return Outcome::error(CallOutcome::Overloaded, m),
    };
    let args = match tool.prepare_args(args) {
        Ok(a) => a,
        Err(e) => return Outcome::error(CallOutcome::Rejected, e.message),
    };
    // The clients' clock and secret mode: now and resolved, except under a replaying tape.
    let now = loaded.backends.now();
    let mut ctx = CallContext::new(cancel.clone(), tool.timeout, hooks.progress);
    ctx.ask = hooks.ask;
    ctx.log = hooks.log;
    // A gate that asks for values is asked before the action renders (its templates read the
    // answer as `confirm.<field>`); any other is asked after, so that arguments that do not
    // render are refused without troubling the user.
    let request = match &tool.confirm {
        Some(confirm) if confirm.fields.is_some() => {
            let answer = match gate(loaded, tool, confirm, &args, now, &ctx, hooks.answer).await {
                Ok(a) => a,
                Err(why) => return Outcome::error(CallOutcome::Rejected, why),
            };
            match actions::render_answered(&loaded.catalog, tool, &args, answer, now, loaded.backends.secret_mode()) {
                Ok(r) => r,
                Err(e) => return Outcome::error(CallOutcome::Rejected, e.message),
            }
        }
        _ => {
            let request = match actions::render(&loaded.catalog, tool, &args, now, loaded.backends.secret_mode()) {
                Ok(r) => r,
                Err(e) => return Outcome::error(CallOutcome::Rejected, e.message),
            };
            if let Some(confirm) = &tool.confirm
                && let Err(why) = gate(loaded, tool, confirm, &args, now, &ctx, hooks.answer).await
            {
                return Outcome::error(CallOutcome::Rejected, why);
            }
            request
        }
    };
    let backend_started = Instant::now();
    // Boxed: the backend's future is the largest part of a call's state; boxed, it is
    // allocated once instead of copied into every future that wraps it.
    let run = Box::pin(request.execute(&loaded.backends, &ctx));
    // `execute` keeps to the call's one deadline (`ctx`). A cancelled call's future is
    // dropped; a started Logs Insights query is then stopped in the background.
    let result = tokio::select! {
        r = run => r,
        () = cancel.cancelled() => Err("the call was cancelled by the client".to_owned()),
    };
    loaded.process.metrics.backend(&tool.name, backend_started.elapsed());
    match result {
        Ok(out) => {
            // A cut result is missing rows by design, and a tool error's answer (a watch that
            // breached) says what went wrong: only a whole, good one is held to the schema.
            if let (Some(v), Some(validator), false, false) = (&out.structured, &tool.output_validator, out.truncated, out.is_error) {
                let problem = match validator.get() {
                    Ok(validator) => validator
                        .iter_errors(v)
                        .next()
                        .map(|err| format!("the backend's answer does not match the tool's output schema: {err}")),
                    Err(e) => Some(format!("internal: the output {e}")),
                };
                if let Some(problem) = problem {
                    return Outcome::error(CallOutcome::Error, problem);
                }
            }
            let kind = if out.is_error { CallOutcome::Error } else { CallOutcome::Ok };
            Outcome { is_error: out.is_error, structured: out.structured, text: out.text, kind, media: out.media }
        }
        Err(message) => Outcome::error(CallOutcome::Error, message),
    }
}

/// The question of a tool's gate, rendered over the prepared arguments.
pub fn question(
    loaded: &Loaded,
    tool: &CompiledTool,
    confirm: &crate::catalog::Confirm,
    args: &JsonObject,
    now: SystemTime,
) -> Result<actions::Question, String> {
    let message = crate::catalog::render::Renderer::new(&loaded.catalog, args, now)
        .text(&confirm.message)
        .map_err(|e| format!("the approval question of `{}`: {}", tool.name, e.message))?;
    Ok(actions::Question { message, fields: confirm.fields.clone() })
}

/// Puts a tool's gate to the user (or takes the answer the client already gave, `answer`) and
/// checks what came back: `Ok` holds the answers to the form (empty without `fields`); `Err`
/// says why nothing runs.
async fn gate(
    loaded: &Loaded,
    tool: &CompiledTool,
    confirm: &crate::catalog::Confirm,
    args: &JsonObject,
    now: SystemTime,
    ctx: &CallContext,
    answer: Option<actions::Approval>,
) -> Result<JsonObject, String> {
    let what = format!("`{}`", tool.name);
    let question = question(loaded, tool, confirm, args, now)?;
    let content = match answer {
        Some(answer) => answer.into_result(&what)?,
        None => ctx.approve_form(&what, question).await?,
    };
    match &confirm.fields {
        Some(fields) => fields
            .check(Some(&content))
            .map_err(|why| format!("the answer to the approval form of {what} is invalid ({why}); nothing was run")),
        None => Ok(content),
    }
}

/// Renders a call without sending anything (`toolwright render`): the exact request,
/// secrets redacted.
pub fn render_only(catalog: &Catalog, name: &str, args: Option<&JsonObject>) -> Result<Result<Value, String>, UnknownTool> {
    let tool = lookup(catalog, name)?;
    Ok(tool
        .prepare_args(args)
        .and_then(|a| actions::render(catalog, tool, &a, SystemTime::now(), SecretMode::Redact))
        .map(|r| r.to_json())
        .map_err(|e| e.message))
}
