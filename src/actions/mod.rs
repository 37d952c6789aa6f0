//! Action kinds: one folder per kind (`http`, `logs_insights`, `metrics`, `steps`, `watch`), each holding
//! - `spec.rs`: the kind's block of a tool's `action:` as written (serde + schemars types),
//! - `compile.rs`: spec in, compiled action out, every problem a diagnostic,
//! - `mod.rs`: the compiled action (templates, compiled jq) that the catalog keeps,
//! - `request.rs`: the rendered request and `render()` (arguments in, request out, nothing sent),
//! - `execute.rs`: sending a request and shaping what comes back.
//!
//! This file registers the kinds: the [`action_kinds!`] invocation at the bottom is the one
//! place that lists them, and it generates the spec's `action:` block ([`ActionSpec`]), the
//! compiled [`Action`], the rendered [`Request`] and their dispatch.
//!
//! Architecture invariant: a [`Request`] is self-contained. It carries its connection, its jq
//! filter, its output cap and what traces may show, so executing it never reads a spec, a
//! `CompiledTool` or the catalog.

pub mod http;
pub mod later;
pub mod logs_insights;
pub mod metrics;
pub mod output;
pub mod steps;
pub mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::render::Renderer;
use crate::catalog::{ArgError, CompiledTool};
use crate::compile::Compiler;
use crate::compile::context::TemplateUse;
use crate::connections::{Clients, Connection};
use crate::spec::Document;
pub use output::ToolOutput;

/// What a call runs under, besides its request: the client's cancellation, the one
/// deadline of the call (the tool's `timeout` from the start of the call) and, when the
/// client asked for them, progress notifications (`progress`, optional `total`, message).
pub struct CallContext {
    /// Fires when the client cancels the request (`notifications/cancelled`).
    pub cancel: tokio_util::sync::CancellationToken,
    /// When the call must be over.
    pub deadline: tokio::time::Instant,
    /// The tool's timeout, which set the deadline (for messages).
    pub timeout: Duration,
    /// Sends a progress notification, when the client gave a progress token.
    pub progress: Option<ProgressFn>,
    /// Asks the user to approve an action (`confirm:`), when the client can be asked.
    pub ask: Option<AskFn>,
    /// Sends a log message to the client (`notifications/message`), when it set a level.
    pub log: Option<LogFn>,
}

impl CallContext {
    /// A context whose deadline is `timeout` from now.
    pub fn new(cancel: tokio_util::sync::CancellationToken, timeout: Duration, progress: Option<ProgressFn>) -> Self {
        CallContext { cancel, deadline: tokio::time::Instant::now() + timeout, timeout, progress, ask: None, log: None }
    }

    /// Tells the client what the call does, when it asked for log messages. Messages name
    /// requests and steps, never argument values or secrets.
    pub fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        if let Some(log) = &self.log {
            log(level, message());
        }
    }

    /// Asks the user to approve what `what` names with `message` (a `confirm:` gate); `Err`
    /// says why nothing may run (no way to ask, declined, cancelled, deadline).
    pub async fn approve(&self, what: &str, message: String) -> Result<(), String> {
        self.approve_form(what, Question { message, fields: None }).await.map(|_| ())
    }

    /// [`CallContext::approve`] for any question: with a form (`confirm.fields`), `Ok` holds the
    /// accepted answer as the client sent it (checked by the caller against the form).
    pub async fn approve_form(&self, what: &str, question: Question) -> Result<crate::catalog::JsonObject, String> {
        let Some(ask) = &self.ask else {
            return Err(format!(
                "{what} needs the user's approval (`confirm`), and this client cannot be asked (it supports neither \
                 elicitation nor MCP Tasks input requests); nothing was run"
            ));
        };
        let answer = tokio::select! {
            a = ask(question) => a,
            () = self.cancel.cancelled() => return Err(format!("the call was cancelled while waiting for approval of {what}; nothing was run")),
            () = tokio::time::sleep_until(self.deadline) => {
                return Err(format!(
                    "no approval of {what} arrived within the call's timeout ({}); nothing was run",
                    humantime::format_duration(self.timeout)
                ));
            }
        };
        answer.into_result(what)
    }
}

/// The level of a log message sent to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Details: each request sent and answered.
    Debug,
    /// What the call does: steps, checks, pages.
    Info,
    /// Something went wrong but the call goes on (a failed check that is retried).
    Warning,
}

/// Sends one log message at a level.
pub type LogFn = Arc<dyn Fn(LogLevel, String) + Send + Sync>;

/// The user's answer to an approval request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approval {
    /// Approved: the action runs. With a form (`confirm.fields`), the answer's content as sent.
    Approved(crate::catalog::JsonObject),
    /// Declined, cancelled or answered no (the words say which).
    Refused(String),
    /// The question could not be put (the words say why).
    CannotAsk(String),
}

impl Approval {
    /// What the answer means for the gate of `what`: the form's content, or why nothing runs.
    pub fn into_result(self, what: &str) -> Result<crate::catalog::JsonObject, String> {
        match self {
            Approval::Approved(content) => Ok(content),
            Approval::Refused(why) => Err(format!("{what} was not approved ({why}); nothing was run")),
            Approval::CannotAsk(why) => {
                Err(format!("{what} needs the user's approval (`confirm`), and the client could not be asked ({why}); nothing was run"))
            }
        }
    }
}

/// One approval question: the rendered `confirm.message` and, for a gate that asks for values,
/// its form (`confirm.fields`); without one the user is asked yes or no.
#[derive(Clone, Debug)]
pub struct Question {
    /// The question's text.
    pub message: String,
    /// The form, when the gate asks for values.
    pub fields: Option<Arc<crate::catalog::ConfirmFields>>,
}

/// Puts one approval question to the user.
pub type AskFn = Arc<dyn Fn(Question) -> futures::future::BoxFuture<'static, Approval> + Send + Sync>;

/// An approval gate as written: `confirm: {message}` on a tool or a step, and on a tool
/// optionally `fields` (and `required`), the values the user is asked for.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmSpec {
    /// The question put to the user before the action runs (a template over the arguments, and
    /// for a step the earlier outputs `steps.<id>`), such as "Roll back {{ service }}?".
    pub message: String,
    /// Only on a tool's `confirm`: values the user is asked for with the question (a change
    /// ticket, a reason), each a field name mapped to the restricted JSON Schema MCP
    /// elicitation allows (`string` with `minLength`, `maxLength`, `format`, `enum`,
    /// `enumNames` or `oneOf` titles; `number` or `integer` with `minimum`, `maximum`;
    /// `boolean`; an `array` of `enum` or `anyOf` options; each with `title`, `description`,
    /// `default`). The gated action's templates read the answer as `confirm.<field>`.
    #[schemars(extend("additionalProperties" = {"type": "object"}))]
    pub fields: Option<crate::catalog::JsonObject>,
    /// Only with `fields`: the fields the user must fill in.
    pub required: Option<Vec<String>>,
}

/// Sends one progress notification: progress so far, the total when known, and a message.
pub type ProgressFn = Arc<dyn Fn(f64, Option<f64>, String) + Send + Sync>;

/// The compile step's view of the connections compiled so far.
pub(crate) type Connections = HashMap<String, Arc<Connection>>;

/// Generates the registration of the action kinds. Each line names the kind's key in
/// `action:`, its variant, its folder, and its spec, action and request types; the kind's
/// folder provides `compile::compile`, `<Action>::render`, `<Request>::to_json`,
/// `<Request>::execute`, `<Request>::span` and `<Request>::GRACE`. It also generates
/// [`StepSpec`], a step of a `steps` action: an id and `output`/`when` beside one action of
/// any kind, and [`CompleteSpec`], a property's `complete:` (one action beside `jq`), both
/// written out field by field: serde's `flatten` would lose `deny_unknown_fields`.
macro_rules! action_kinds {
    ($(#[$spec_doc:meta])* ; $( $(#[$doc:meta])* $key:ident => $variant:ident($module:ident, $spec:ident, $action:ident, $request:ident) ),+ $(,)?) => {
        $(#[$spec_doc])*
        #[derive(Clone, Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct ActionSpec {
            $(
                $(#[$doc])*
                #[serde(default)]
                pub $key: Option<$module::spec::$spec>,
            )+
            /// Only in an `on_fail` block (of `steps` or `watch`): ask the user to approve the
            /// action before it runs; not approved, it does not run. A tool's own action takes
            /// `confirm` on the tool, a step beside its `id`.
            #[serde(default)]
            pub confirm: Option<ConfirmSpec>,
        }

        /// One step of a `steps` action: an `id`, exactly one action of any kind but `steps`
        /// written beside it, and optionally `output` and `when`.
        #[derive(Clone, Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct StepSpec {
            /// The step's id, `^[a-z][a-z0-9_]*$`, unique in the sequence; later templates read
            /// its output as `steps.<id>`.
            pub id: String,
            /// A jq filter over the step's result (the structured result the tool would return;
            /// text as a string); its answer is the step's output (default: the result).
            #[serde(default)]
            pub output: Option<String>,
            /// A jq predicate over `{args, steps}`: when it gives false or null the step is
            /// skipped and its output is null.
            #[serde(default)]
            pub when: Option<String>,
            /// Ask the user to approve this step before it runs (elicitation); declined or
            /// unanswerable: the step fails and nothing of it runs.
            #[serde(default)]
            pub confirm: Option<ConfirmSpec>,
            $(
                $(#[$doc])*
                #[serde(default)]
                pub $key: Option<$module::spec::$spec>,
            )+
        }

        impl StepSpec {
            /// The step's action block.
            pub fn action(&self) -> ActionSpec {
                ActionSpec { $( $key: self.$key.clone(), )+ confirm: None }
            }
        }

        /// Where a prompt argument's or a URI template variable's completions come from: one
        /// action of any kind but `watch` written beside an optional `jq`, whose answer is the
        /// list of values (`complete:` on a property of `arguments` or `input`).
        #[derive(Clone, Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct CompleteSpec {
            /// A jq filter over the action's answer that gives the values: a list of strings
            /// (or the strings it outputs one by one). Default: the answer itself.
            #[serde(default)]
            pub jq: Option<String>,
            $(
                $(#[$doc])*
                #[serde(default)]
                pub $key: Option<$module::spec::$spec>,
            )+
        }

        impl CompleteSpec {
            /// The completion's action block.
            pub fn action(&self) -> ActionSpec {
                ActionSpec { $( $key: self.$key.clone(), )+ confirm: None }
            }
        }

        /// The compiled action of a tool.
        #[derive(Clone, Debug)]
        pub enum Action {
            $( #[doc = concat!("`", stringify!($key), "`")] $variant($module::$action), )+
        }

        /// A rendered request, ready to execute.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Request {
            $( #[doc = concat!("`", stringify!($key), "`")] $variant($module::request::$request), )+
        }

        /// The keys of `action:`, in registration order.
        pub const KINDS: &[&str] = &[$( stringify!($key), )+];

        impl ActionSpec {
            /// How many actions the block holds (exactly one is valid).
            pub fn count(&self) -> usize {
                0 $( + usize::from(self.$key.is_some()) )+
            }

            /// Compiles the one action of the block at `pointer` (`/action`, or a step's; the
            /// caller checked there is one).
            pub(crate) fn compile(&self, c: &mut Compiler<'_>, doc: &Document, pointer: &str, connections: &Connections, uses: &mut Vec<TemplateUse>) -> Option<Action> {
                $(
                    if let Some(spec) = &self.$key {
                        let base = concat!("/", stringify!($key));
                        return $module::compile::compile(c, doc, &format!("{pointer}{base}"), spec, connections, uses).map(Action::$variant);
                    }
                )+
                None
            }
        }

        impl Action {
            /// The kind's key in `action:`.
            pub fn kind(&self) -> &'static str {
                match self { $( Action::$variant(_) => stringify!($key), )+ }
            }

            fn render_with(&self, renderer: &Renderer<'_>, max_bytes: usize) -> Result<Request, ArgError> {
                match self { $( Action::$variant(a) => a.render(renderer, max_bytes).map(Request::$variant), )+ }
            }
        }

        impl Request {
            /// The request as JSON, for `toolwright render` (secrets as the render's mode left them).
            pub fn to_json(&self) -> serde_json::Value {
                match self { $( Request::$variant(r) => r.to_json(), )+ }
            }

            /// The kind's key in `action:`.
            pub fn kind(&self) -> &'static str {
                match self { $( Request::$variant(_) => stringify!($key), )+ }
            }

            /// The client span of the request (what it may show is the kind's to decide).
            pub fn span(&self) -> tracing::Span {
                match self { $( Request::$variant(r) => r.span(), )+ }
            }

            /// How long past the call's deadline the kind may take to say what happened (a Logs
            /// Insights query is stopped with StopQuery then).
            pub fn grace(&self) -> Duration {
                match self { $( Request::$variant(_) => $module::request::$request::GRACE, )+ }
            }

            /// Each kind's future boxed on its own: an enum of them would be as large as the
            /// largest (a Logs Insights query's, several KiB), held for the whole call, which
            /// for a task that watches for an hour is most of its memory.
            fn execute_kind<'a>(
                self,
                clients: &'a Clients,
                ctx: &'a CallContext,
            ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<ToolOutput, String>> + Send + 'a>> {
                match self { $( Request::$variant(r) => Box::pin(r.execute(clients, ctx)), )+ }
            }
        }
    };
}

action_kinds! {
    /// The backend action: exactly one of `logs_insights`, `metrics`, `http`, `steps` or `watch`.
    ;
    /// A CloudWatch Logs Insights query.
    logs_insights => LogsInsights(logs_insights, LogsInsightsSpec, LogsAction, LogsRequest),
    /// A CloudWatch GetMetricData fetch.
    metrics => Metrics(metrics, MetricsSpec, MetricsAction, MetricsRequest),
    /// An HTTP call.
    http => Http(http, HttpSpec, HttpAction, HttpRequest),
    /// A sequence of actions run in order; later templates read earlier outputs as `steps.<id>`.
    steps => Steps(steps, StepsSpec, StepsAction, StepsRequest),
    /// A check action run every `every` for `for`, judged by jq (`fail_when`, `succeed_when`), with `on_fail` run once after a breach.
    watch => Watch(watch, WatchSpec, WatchAction, WatchRequest),
}

impl Action {
    /// Whether a call may ask the user to approve something: a step or an `on_fail` with
    /// `confirm`, in this action or one nested in it.
    pub fn asks(&self) -> bool {
        match self {
            Action::Steps(s) => s.steps.iter().chain(s.on_fail.as_deref()).any(|st| st.confirm.is_some() || st.action.asks()),
            Action::Watch(w) => w.on_fail_confirm.is_some(),
            _ => false,
        }
    }

    /// This action and the actions nested in it (a sequence's steps and its `on_fail`, a watch's
    /// `check` and `on_fail`, a watch that is a step), each with the JSON pointer of its kind's
    /// block below `action` (`/http`, `/steps/run/0/logs_insights`, `/watch/check/metrics`, ...),
    /// so that a check of one kind (`lint --check-env`) finds it wherever it is written.
    pub fn with_nested(&self) -> Vec<(String, &Action)> {
        let mut all = Vec::new();
        self.push_nested("", &mut all);
        all
    }

    fn push_nested<'a>(&'a self, parent: &str, all: &mut Vec<(String, &'a Action)>) {
        let here = format!("{parent}/{}", self.kind());
        all.push((here.clone(), self));
        match self {
            Action::Steps(steps) => {
                for (i, step) in steps.steps.iter().enumerate() {
                    step.action.push_nested(&format!("{here}/run/{i}"), all);
                }
                if let Some(on_fail) = &steps.on_fail {
                    on_fail.action.push_nested(&format!("{here}/on_fail"), all);
                }
            }
            Action::Watch(watch) => {
                watch.check.push_nested(&format!("{here}/check"), all);
                if let Some(on_fail) = &watch.on_fail {
                    on_fail.push_nested(&format!("{here}/on_fail"), all);
                }
            }
            _ => {}
        }
    }
}

/// Renders a tool's action with prepared arguments (see [`CompiledTool::prepare_args`]).
/// Nothing is sent; `secrets` says whether `secret()` reads, redacts or shows placeholders.
/// A tool whose gate asks for values renders with stand-in answers
/// ([`crate::catalog::ConfirmFields::placeholder`]): nobody was asked.
pub fn render(
    catalog: &crate::catalog::Catalog,
    tool: &CompiledTool,
    args: &crate::catalog::JsonObject,
    now: std::time::SystemTime,
    secrets: crate::catalog::SecretMode,
) -> Result<Request, ArgError> {
    match tool.confirm.as_ref().and_then(|c| c.fields.as_ref()) {
        Some(fields) => render_answered(catalog, tool, args, fields.placeholder(), now, secrets),
        None => {
            let renderer = Renderer::new(catalog, args, now);
            crate::catalog::template::with_secret_mode(secrets, || tool.action.render_with(&renderer, tool.max_bytes))
        }
    }
}

/// [`render`] after the user answered the tool's form: the action's templates read `answer` as
/// `confirm.<field>` (the compile reserved the name: no argument takes it).
pub fn render_answered(
    catalog: &crate::catalog::Catalog,
    tool: &CompiledTool,
    args: &crate::catalog::JsonObject,
    answer: crate::catalog::JsonObject,
    now: std::time::SystemTime,
    secrets: crate::catalog::SecretMode,
) -> Result<Request, ArgError> {
    let mut args = args.clone();
    args.insert(crate::catalog::CONFIRM_VAR.to_owned(), serde_json::Value::Object(answer));
    let renderer = Renderer::new(catalog, &args, now);
    crate::catalog::template::with_secret_mode(secrets, || tool.action.render_with(&renderer, tool.max_bytes))
}

impl Request {
    /// Runs the request and shapes the output for the model. Errors are messages written for
    /// a model (what failed, what to do), never containing secrets.
    ///
    /// The call's deadline bounds everything, reading and shaping the response included;
    /// kinds that clean up after the deadline (StopQuery) watch it themselves and get
    /// [`Request::grace`] more to say what happened.
    pub async fn execute(self, clients: &Clients, ctx: &CallContext) -> Result<ToolOutput, String> {
        let bound = ctx.deadline + self.grace();
        let span = self.span();
        let call = self.execute_kind(clients, ctx);
        let result = tokio::time::timeout_at(bound, tracing::Instrument::instrument(call, span.clone())).await;
        crate::telemetry::backend_done(&span, &result);
        match result {
            Ok(result) => result,
            Err(_) => Err(format!("the call timed out after {}", humantime::format_duration(ctx.timeout))),
        }
    }
}
