//! The running catalog and the one call path shared by `serve`, `call` and `render`.
//!
//! Architecture invariant: a reload never exposes a half-built catalog. The current
//! [`Loaded`] catalog sits behind an `ArcSwap`; a call takes one `Arc` at its start and
//! finishes on that catalog even if a reload swaps in another meanwhile.

use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::backend::{self, Backends};
use crate::compile::templates::SecretMode;
use crate::compile::{self, Catalog, CompiledTool};
use crate::spec::model::JsonObject;

/// A compiled catalog with the backend clients built for it.
pub struct Loaded {
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// Clients for its connections.
    pub backends: Arc<Backends>,
    /// Increases by one on every successful load.
    pub generation: u64,
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
}

impl Outcome {
    /// A tool error with a message for the model.
    pub fn error(message: impl Into<String>) -> Self {
        Outcome { is_error: true, structured: None, text: message.into() }
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
    /// A runtime serving `catalog`. Fails when a backend client cannot be built.
    pub fn new(catalog: Catalog) -> Result<Self, String> {
        let backends = Backends::new(&catalog)?;
        Ok(Runtime {
            current: ArcSwap::from_pointee(Loaded { catalog: Arc::new(catalog), backends: Arc::new(backends), generation: 1 }),
            reloads: std::sync::Mutex::new(ReloadInfo { last_success: Some(SystemTime::now()), ..ReloadInfo::default() }),
        })
    }

    /// What the reloads did so far.
    pub fn reload_info(&self) -> ReloadInfo {
        self.reloads.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Records a failed reload; the catalog in force stays.
    pub fn record_failure(&self, diagnostics: Value) {
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
        let backends = Backends::new(&catalog)?;
        let generation = self.current.load().generation + 1;
        let loaded = Arc::new(Loaded { catalog: Arc::new(catalog), backends: Arc::new(backends), generation });
        self.current.store(loaded.clone());
        if let Ok(mut r) = self.reloads.lock() {
            r.reloads_ok += 1;
            r.last_success = Some(SystemTime::now());
        }
        Ok(loaded)
    }
}

fn find<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a Arc<CompiledTool>, UnknownTool> {
    catalog.tool(name).ok_or_else(|| UnknownTool {
        name: name.to_owned(),
        suggestion: crate::util::did_you_mean(name, catalog.tools().iter().map(|t| t.name.as_str())).map(str::to_owned),
    })
}

/// Runs one tool call: validate and default the arguments, render with contextual
/// escaping, run the backend under the tool's deadline, shape the output. Everything
/// but an unknown tool is an [`Outcome`]; `cancel` stops the call early.
pub async fn call(
    loaded: &Loaded,
    name: &str,
    args: Option<&JsonObject>,
    cancel: &CancellationToken,
    progress: Option<backend::ProgressFn>,
) -> Result<Outcome, UnknownTool> {
    let tool = find(&loaded.catalog, name)?;
    let args = match tool.prepare_args(args) {
        Ok(a) => a,
        Err(e) => return Ok(Outcome::error(e.message)),
    };
    let rendered = match compile::render(&loaded.catalog, tool, &args, SystemTime::now(), SecretMode::Resolve) {
        Ok(r) => r,
        Err(e) => return Ok(Outcome::error(e.message)),
    };
    let ctx = backend::CallContext { cancel: cancel.clone(), deadline: tokio::time::Instant::now() + tool.timeout, progress };
    let run = backend::execute(&loaded.backends, &loaded.catalog, tool, rendered, &ctx);
    // `execute` keeps to `ctx.deadline` itself (leaving a Logs Insights query time to be
    // stopped), so this bound is only a backstop past it. A cancelled call's future is
    // dropped; a started Logs Insights query is then stopped in the background.
    let result = tokio::select! {
        r = tokio::time::timeout_at(ctx.deadline + backend::aws::STOP_GRACE, run) => match r {
            Ok(r) => r,
            Err(_) => Err(format!("the call timed out after {}; try a narrower request", humantime::format_duration(tool.timeout))),
        },
        () = cancel.cancelled() => Err("the call was cancelled by the client".to_owned()),
    };
    Ok(match result {
        Ok(out) => {
            // A cut result is missing rows by design; only a whole one is held to the schema.
            if let (Some(v), Some(validator), false) = (&out.structured, &tool.output_validator, out.truncated) {
                if let Some(err) = validator.iter_errors(v).next() {
                    return Ok(Outcome::error(format!("the backend's answer does not match the tool's output schema: {err}")));
                }
            }
            Outcome { is_error: false, structured: out.structured, text: out.text }
        }
        Err(message) => Outcome::error(message),
    })
}

/// Renders a call without sending anything (`toolwright render`): the exact request,
/// secrets redacted.
pub fn render_only(catalog: &Catalog, name: &str, args: Option<&JsonObject>) -> Result<Result<Value, String>, UnknownTool> {
    let tool = find(catalog, name)?;
    Ok(tool
        .prepare_args(args)
        .and_then(|a| compile::render(catalog, tool, &a, SystemTime::now(), SecretMode::Redact))
        .map(|r| r.to_json())
        .map_err(|e| e.message))
}
