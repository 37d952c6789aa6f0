//! A `watch` request: the first check rendered at once (so `toolwright render` and lint's
//! examples show it, and a bad argument fails before anything is sent), and what each later
//! tick needs to render the check again at its own time (the catalog's templates and
//! connections, the arguments, the secret mode): executing it reads no catalog.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::{FAILED_VAR, WatchAction, show};
use crate::actions::later::Later;
use crate::actions::{Action, Request};
use crate::catalog::ArgError;
use crate::catalog::render::Renderer;

/// A watch, ready to run.
#[derive(Clone, Debug)]
pub struct WatchRequest {
    /// The compiled watch (its check and `on_fail` are rendered when they run).
    pub watch: WatchAction,
    /// The first check, rendered at the call's time with its arguments.
    pub first: Box<Request>,
    /// `on_fail` rendered with the arguments alone, when it does not read `failed`: what
    /// `render` shows (after a breach it is rendered again, at that time).
    pub on_fail_rendered: Option<Box<Request>>,
    /// What later checks need (each renders at its tick's time).
    pub later: Later,
}

impl PartialEq for WatchRequest {
    fn eq(&self, other: &Self) -> bool {
        self.first == other.first
            && self.on_fail_rendered == other.on_fail_rendered
            && self.later == other.later
            && self.to_json() == other.to_json()
    }
}

impl WatchAction {
    /// Renders the first check (and `on_fail`, when it reads no `failed`); later checks
    /// render at their tick.
    pub fn render(&self, renderer: &Renderer<'_>, max_bytes: usize) -> Result<WatchRequest, ArgError> {
        let first = self.check.render_with(renderer, max_bytes).map_err(|e| within("`check`", e))?;
        let on_fail_rendered = match &self.on_fail {
            Some(action) if !self.on_fail_reads_failed => {
                Some(Box::new(action.render_with(renderer, max_bytes).map_err(|e| within("`on_fail`", e))?))
            }
            _ => None,
        };
        Ok(WatchRequest { watch: self.clone(), first: Box::new(first), on_fail_rendered, later: Later::of(renderer, max_bytes) })
    }
}

/// An argument error of the watch's check or `on_fail`, saying which.
fn within(what: &str, e: ArgError) -> ArgError {
    ArgError { argument: e.argument, message: format!("the watch's {what}: {}", e.message) }
}

impl WatchRequest {
    /// A check that is Logs Insights stops its query after the deadline, within its own grace:
    /// the watch allows it that grace to say what happened.
    pub const GRACE: Duration = crate::connections::aws::client::STOP_GRACE;

    /// Renders the check at `at` (a tick's time), in the call's secret mode.
    pub(crate) fn render_check(&self, at: SystemTime) -> Result<Request, ArgError> {
        self.later.action(&self.watch.check, at, Vec::new()).map_err(|e| within("`check`", e))
    }

    /// Renders `on_fail` at `at` with the arguments plus `failed` (the breach).
    pub(crate) fn render_on_fail(&self, action: &Action, at: SystemTime, failed: Value) -> Result<Request, ArgError> {
        self.later.action(action, at, vec![(FAILED_VAR, failed)]).map_err(|e| within("`on_fail`", e))
    }

    /// Renders `on_fail`'s approval question with the arguments and `failed`.
    pub(crate) fn render_text_on_fail(
        &self,
        template: &crate::catalog::Template,
        at: SystemTime,
        failed: Value,
    ) -> Result<String, ArgError> {
        self.later.text(template, at, vec![(FAILED_VAR, failed)])
    }

    /// The client span: none of its own; each check's request has its span.
    pub fn span(&self) -> tracing::Span {
        tracing::Span::none()
    }

    /// The watch as JSON, for `toolwright render`: its schedule, its filters, the first check's
    /// request, and `on_fail`'s request (or a placeholder when it reads `failed`).
    pub fn to_json(&self) -> Value {
        let w = &self.watch;
        let on_fail = w.on_fail.as_ref().map(|action| {
            let request = match &self.on_fail_rendered {
                Some(r) => r.to_json(),
                None => Value::String(format!("<rendered after a breach: it reads `{FAILED_VAR}`>")),
            };
            json!({"action": action.kind(), "request": request})
        });
        json!({
            "action": "watch",
            "every": show(w.every),
            "for": show(w.watch_for),
            "checks": w.planned_checks(),
            "max_failed_checks": w.max_failed_checks,
            "fail_when": w.fail_when.source(),
            "succeed_when": w.succeed_when.as_ref().map(|f| f.source()),
            "check": self.first.to_json(),
            "on_fail": on_fail,
        })
    }
}
