//! Running a sequence: each step in order under the call's one deadline and cancellation,
//! `when` and `output` in the jq worker (as `response.jq`), a failed step stopping the
//! sequence and `on_fail` running once after it.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value, json};

use super::request::StepsRequest;
use super::{FAILED_VAR, STEPS_VAR, Step};
use crate::actions::output::{Block, Content};
use crate::actions::{CallContext, LogLevel, Request, ToolOutput, output};
use crate::catalog::jq_worker;
use crate::connections::Clients;

/// A sequence running: boxed, since each step is itself a [`Request`] (a future cannot hold
/// itself), and `Send` said here, where the compiler cannot infer it through the cycle.
pub type Running<'a> = Pin<Box<dyn Future<Output = Result<ToolOutput, String>> + Send + 'a>>;

const CANCELLED: &str = "the call was cancelled by the client";

impl StepsRequest {
    /// Runs the steps in order. The answer is `{"steps": {id: output, ...}, "result": <the
    /// output of the last step that ran>}`; a failed step is an error that names it, says
    /// why, and what `on_fail` answered.
    pub fn execute<'a>(self, clients: &'a Clients, ctx: &'a CallContext) -> Running<'a> {
        Box::pin(self.run_all(clients, ctx))
    }

    async fn run_all(mut self, clients: &Clients, ctx: &CallContext) -> Result<ToolOutput, String> {
        let total = self.steps.len();
        let mut pre = std::mem::take(&mut self.rendered).into_iter();
        let mut outputs = Map::new();
        let mut last = Value::Null;
        let steps = self.steps.clone();
        let content = self.content.clone();
        // Of each step `content` lists, its content blocks once it ran.
        let mut blocks: Vec<Option<Vec<Block>>> = vec![None; total];
        for (i, step) in steps.iter().enumerate() {
            let rendered = pre.next().flatten();
            ctx.log(LogLevel::Info, || format!("step {} of {total}: {}", i + 1, step.id));
            if let Some(progress) = &ctx.progress {
                #[allow(clippy::cast_precision_loss)]
                progress(i as f64, Some(total as f64), format!("step {} of {total}: {}", i + 1, step.id));
            }
            let keep = content.as_ref().is_some_and(|c| c.contains(&i));
            match self.run_step(step, rendered, &outputs, keep, clients, ctx).await {
                Ok(Some((value, kept))) => {
                    last = value.clone();
                    outputs.insert(step.id.clone(), value);
                    blocks[i] = kept;
                }
                Ok(None) => {
                    outputs.insert(step.id.clone(), Value::Null);
                }
                Err(error) => {
                    let head = format!("step `{}` ({} of {total}) failed: {error}", step.id, i + 1);
                    return Err(self.fail(head, &step.id, &error, outputs, clients, ctx).await);
                }
            }
        }
        let answer = json!({"steps": Value::Object(outputs), "result": last});
        let mut out = output::shape_json(answer, self.later.max_bytes);
        if let Some(order) = content {
            let listed = order.iter().filter_map(|i| blocks.get_mut(*i).and_then(Option::take)).flatten();
            let listed = output::bound_blocks(listed, self.later.max_bytes);
            // Every listed step skipped: the steps answer's text stays the one block.
            if !listed.is_empty() {
                out.media = Some(Content::Blocks(listed));
            }
        }
        Ok(out)
    }

    /// One step: `when`, the render (unless done already), the request, `output`; with
    /// `keep`, also the content blocks its answer alone would have been.
    /// `Ok(None)`: skipped by `when`.
    async fn run_step(
        &self,
        step: &Step,
        rendered: Option<Request>,
        outputs: &Map<String, Value>,
        keep: bool,
        clients: &Clients,
        ctx: &CallContext,
    ) -> Result<Option<(Value, Option<Vec<Block>>)>, String> {
        if ctx.cancel.is_cancelled() {
            return Err(CANCELLED.to_owned());
        }
        if tokio::time::Instant::now() >= ctx.deadline {
            return Err(timed_out(ctx));
        }
        if let Some(when) = &step.when {
            let input = json!({"args": Value::Object((*self.later.args).clone()), STEPS_VAR: Value::Object(outputs.clone())});
            let verdict = jq_worker::run_value(when, &input).await.map_err(|e| format!("its `when` failed: {e}"))?;
            if matches!(verdict, Value::Null | Value::Bool(false)) {
                return Ok(None);
            }
        }
        let request = match rendered {
            Some(r) => r,
            None => self.render_later(step, vec![(STEPS_VAR, Value::Object(outputs.clone()))]).map_err(|e| e.message)?,
        };
        if let Some(confirm) = &step.confirm {
            let message = self
                .render_text_later(confirm, vec![(STEPS_VAR, Value::Object(outputs.clone()))])
                .map_err(|e| format!("its approval question: {}", e.message))?;
            ctx.approve(&format!("step `{}`", step.id), message).await?;
        }
        let mut out = run(request, clients, ctx).await?;
        // A result that is a tool error (a watch that breached) fails the step: its text says why.
        if out.is_error {
            return Err(out.text);
        }
        let kept = keep.then(|| ToolOutput::blocks(out.text.clone(), out.media.take()));
        let result = out.into_value();
        let value = match &step.output {
            Some(filter) => jq_worker::run_value(filter, &result).await.map_err(|e| format!("its `output` failed: {e}"))?,
            None => result,
        };
        Ok(Some((value, kept)))
    }

    /// The error of a failed sequence, after running `on_fail` once (unless the call was
    /// cancelled or its deadline passed: nothing runs then).
    async fn fail(
        &mut self,
        mut message: String,
        id: &str,
        error: &str,
        outputs: Map<String, Value>,
        clients: &Clients,
        ctx: &CallContext,
    ) -> String {
        let Some(on_fail) = self.on_fail.clone() else { return message };
        if ctx.cancel.is_cancelled() {
            message.push_str("\non_fail did not run: the call was cancelled");
            return message;
        }
        if tokio::time::Instant::now() >= ctx.deadline {
            message.push_str("\non_fail did not run: the call's deadline had passed");
            return message;
        }
        if let Some(confirm) = &on_fail.confirm {
            let failed = json!({"step": id, "error": error});
            let question = self.render_text_later(confirm, vec![(STEPS_VAR, Value::Object(outputs.clone())), (FAILED_VAR, failed)]);
            let approved = match question {
                Ok(m) => ctx.approve("`on_fail`", m).await,
                Err(e) => Err(format!("its approval question: {}", e.message)),
            };
            if let Err(why) = approved {
                message.push_str(&format!("\non_fail did not run: {why}"));
                return message;
            }
        }
        let request = match self.on_fail_rendered.take() {
            Some(r) => Ok(*r),
            None => self
                .render_later(&on_fail, vec![(STEPS_VAR, Value::Object(outputs)), (FAILED_VAR, json!({"step": id, "error": error}))])
                .map_err(|e| e.message),
        };
        let answer = match request {
            Ok(r) => run(r, clients, ctx).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(out) => message.push_str(&format!("\non_fail ran and answered: {}", out.text)),
            Err(e) => message.push_str(&format!("\non_fail failed too: {e}")),
        }
        message
    }
}

/// Runs one step's request; a cancellation stops it at once.
async fn run(request: Request, clients: &Clients, ctx: &CallContext) -> Result<ToolOutput, String> {
    tokio::select! {
        r = Box::pin(request.execute(clients, ctx)) => r,
        () = ctx.cancel.cancelled() => Err(CANCELLED.to_owned()),
    }
}

fn timed_out(ctx: &CallContext) -> String {
    format!("the call timed out after {}", humantime::format_duration(ctx.timeout))
}
