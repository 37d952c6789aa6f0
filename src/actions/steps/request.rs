//! A `steps` request: the steps whose templates read only the call's arguments are rendered
//! at once (so `toolwright render` and lint's examples show them, and a bad argument fails
//! before anything is sent); a step that reads an earlier output is rendered when it runs,
//! from the templates and connections the request carries (it reads no catalog).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{STEPS_VAR, Step, StepsAction};
use crate::actions::Request;
use crate::actions::later::Later;
use crate::catalog::ArgError;
use crate::catalog::render::Renderer;

/// A sequence of steps, ready to run.
#[derive(Clone, Debug)]
pub struct StepsRequest {
    /// The compiled steps.
    pub steps: Arc<[Step]>,
    /// Of each step, its request when it was rendered with the call's arguments alone.
    pub rendered: Vec<Option<Request>>,
    /// Run once after a failed step.
    pub on_fail: Option<Arc<Step>>,
    /// `on_fail`'s request, when it reads neither `steps` nor `failed`.
    pub on_fail_rendered: Option<Box<Request>>,
    /// What later renders need (every step renders at the call's time).
    pub later: Later,
    /// The steps whose content blocks make the result's, in order (`content`).
    pub content: Option<Arc<[usize]>>,
}

impl PartialEq for StepsRequest {
    fn eq(&self, other: &Self) -> bool {
        self.rendered == other.rendered
            && self.on_fail_rendered == other.on_fail_rendered
            && self.later == other.later
            && self.to_json() == other.to_json()
    }
}

impl StepsAction {
    /// Renders every step that reads no earlier output; the others wait for their turn.
    pub fn render(&self, renderer: &Renderer<'_>, max_bytes: usize) -> Result<StepsRequest, ArgError> {
        let mut rendered = Vec::with_capacity(self.steps.len());
        for step in self.steps.iter() {
            rendered.push(if step.deferred {
                None
            } else {
                Some(step.action.render_with(renderer, max_bytes).map_err(|e| in_step(&step.id, e))?)
            });
        }
        let on_fail_rendered = match &self.on_fail {
            Some(step) if !step.deferred => Some(Box::new(step.action.render_with(renderer, max_bytes).map_err(|e| in_step(&step.id, e))?)),
            _ => None,
        };
        Ok(StepsRequest {
            steps: self.steps.clone(),
            rendered,
            on_fail: self.on_fail.clone(),
            on_fail_rendered,
            later: Later::of(renderer, max_bytes),
            content: self.content.clone(),
        })
    }
}

/// An argument error of one step, saying which.
fn in_step(id: &str, e: ArgError) -> ArgError {
    ArgError { argument: e.argument, message: format!("step `{id}`: {}", e.message) }
}

impl StepsRequest {
    /// A Logs Insights step stops its query after the deadline (within its own grace): the
    /// sequence allows the most any kind of step takes, so that step can say what happened.
    pub const GRACE: Duration = crate::connections::aws::client::STOP_GRACE;

    /// Renders a deferred step with the call's arguments plus `extra` (`steps`, and `failed`
    /// for `on_fail`), in the render's secret mode and at the call's time.
    pub(crate) fn render_later(&self, step: &Step, extra: Vec<(&str, Value)>) -> Result<Request, ArgError> {
        self.later.action(&step.action, self.later.call_time(), extra)
    }

    /// Renders a text template (a step's `confirm.message`) as [`StepsRequest::render_later`] does.
    pub(crate) fn render_text_later(&self, template: &crate::catalog::Template, extra: Vec<(&str, Value)>) -> Result<String, ArgError> {
        self.later.text(template, self.later.call_time(), extra)
    }

    /// The client span: none of its own; each step's request has its span.
    pub fn span(&self) -> tracing::Span {
        tracing::Span::none()
    }

    /// The sequence as JSON, for `toolwright render`: each step's request when it renders from
    /// the arguments alone, else a placeholder naming the earlier outputs it waits for.
    pub fn to_json(&self) -> Value {
        let step_json = |step: &Step, rendered: Option<&Request>| {
            let request = match rendered {
                Some(r) => r.to_json(),
                None => Value::String(placeholder(step)),
            };
            json!({
                "id": step.id,
                "action": step.action.kind(),
                "when": step.when.as_ref().map(|f| f.source()),
                "output": step.output.as_ref().map(|f| f.source()),
                "request": request,
            })
        };
        let steps: Vec<Value> = self.steps.iter().zip(&self.rendered).map(|(s, r)| step_json(s, r.as_ref())).collect();
        let mut out = json!({"action": "steps", "steps": steps});
        if let (Some(step), Some(map)) = (&self.on_fail, out.as_object_mut()) {
            let mut j = step_json(step, self.on_fail_rendered.as_deref());
            if let Some(m) = j.as_object_mut() {
                m.remove("id");
                m.remove("when");
                m.remove("output");
            }
            map.insert("on_fail".to_owned(), j);
        }
        if let (Some(content), Some(map)) = (&self.content, out.as_object_mut()) {
            let ids: Vec<&str> = content.iter().filter_map(|i| self.steps.get(*i)).map(|s| s.id.as_str()).collect();
            map.insert("content".to_owned(), json!(ids));
        }
        out
    }
}

/// What `render` shows for a request that needs earlier outputs.
fn placeholder(step: &Step) -> String {
    if step.id == "on_fail" {
        return "<rendered if a step fails: it reads `steps` or `failed`>".to_owned();
    }
    let needs: Vec<String> = step.needs.iter().map(|n| format!("`{STEPS_VAR}.{n}`")).collect();
    format!("<rendered when the step runs: it reads {}>", needs.join(", "))
}
