//! One tool: its description, schemas, timeout, action, the variables its templates read
//! (each declared in `input`, each declared one read), limits and scopes.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::Compiler;
use super::context::TemplateUse;
use crate::actions::{Connections, KINDS};
use crate::catalog::{Annotations, CONFIRM_VAR, CompiledTool, Confirm, ConfirmFields, LazyValidator, SchemaUse, TASK_TOOLS, TaskSettings};
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::model::{TaskSpec, ToolSpec};
use crate::spec::yaml::push_escaped;

/// The deadline of a call when the tool sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// What the model receives at most when the tool sets no `output.max_bytes`.
pub const DEFAULT_MAX_BYTES: usize = 16_000;

impl Compiler<'_> {
    pub(crate) fn tool(&mut self, doc: &Document, spec: &ToolSpec, conns: &Connections) -> Option<CompiledTool> {
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        if spec.description.trim().is_empty() {
            self.push(doc, Code::BlankDescription, "/description", "the description is blank").help =
                Some("say what the tool does, for the model that chooses it".to_owned());
        }
        if let Some(action) = doc.json.get("action") {
            self.inline_secrets(doc, "/action", action);
        }
        let input_schema = Arc::new(spec.input.clone());
        // Each validator is built here to check its schema (and the examples' arguments), then
        // dropped: the runtime builds a tool's validators on its first call (see LazyValidator).
        let built = self.input_schema(doc, &spec.input);
        let validator = built.as_ref().map(|_| LazyValidator::new(input_schema.clone(), SchemaUse::Input));
        let (output_schema, output_validator) = match spec.output.as_ref().and_then(|o| o.schema.as_ref()) {
            Some(s) => {
                let schema = Arc::new(s.clone());
                let v = self.output_schema(doc, s).map(|_| LazyValidator::new(schema.clone(), SchemaUse::Output));
                (Some(schema), v)
            }
            None => (None, None),
        };
        let timeout = match &spec.timeout {
            Some(t) => self.duration(doc, "/timeout", t),
            None => Some(DEFAULT_TIMEOUT),
        };
        if TASK_TOOLS.contains(&spec.name.as_str()) {
            self.push(doc, Code::ReservedToolName, "/name", format!("`{}` is the name of a built-in tool", spec.name)).help =
                Some("toolwright lists `get_task_status` and `cancel_task` beside `task:` tools; choose another name".to_owned());
        }
        let task = match &spec.task {
            Some(t) => self.task(doc, t, timeout),
            None => Some(None),
        };
        let mut uses: Vec<TemplateUse> = Vec::new();
        let confirm =
            spec.confirm.as_ref().map(|c| self.template(doc, "/confirm/message", &c.message, crate::catalog::Escape::Plain, &mut uses));
        // `Some(None)`: no form; `None`: a diagnostic.
        let form = match &spec.confirm {
            Some(c) => self.confirm_form(doc, c),
            None => Some(None),
        };
        self.nested_confirm_fields(doc);
        let asks_values = spec.confirm.as_ref().is_some_and(|c| c.fields.is_some());
        if asks_values {
            self.reserved_input(doc, CONFIRM_VAR, "gated", "the answers to `confirm.fields`");
        }
        if spec.action.confirm.is_some() {
            self.push_key(doc, Code::InvalidValue, "/action/confirm", "`confirm` inside the tool's `action` is not read here").help = Some(
                "write `confirm: {message: ...}` on the tool, beside `action:` (inside `action` it belongs to `on_fail` blocks)".to_owned(),
            );
        }
        let action = match spec.action.count() {
            1 => spec.action.compile(self, doc, "/action", conns, &mut uses),
            n => {
                let msg = if n == 0 {
                    format!("`action` is empty; give one of {}", one_of(KINDS))
                } else {
                    "`action` holds more than one action; keep exactly one".to_owned()
                };
                self.push(doc, Code::ActionCount, "/action", msg);
                None
            }
        };

        // Variables: every one read must be declared; every declared one should be read.
        let declared = super::arguments::Declared { key: "input", schema: &spec.input, extra: &[], warn_optional: true };
        // `confirm.<field>`: the answers to the tool's form, unless an argument takes the name
        // (allowed without a form).
        let input_declares_confirm = spec.input.get("properties").and_then(|p| p.get(CONFIRM_VAR)).is_some();
        let confirm_contexts = if asks_values || !input_declares_confirm {
            self.confirm_reads(doc, &mut uses, spec.confirm.as_ref().and_then(|c| c.fields.as_ref()))
        } else {
            Vec::new()
        };
        let (read, arg_contexts) = self.check_reads(doc, &uses, &declared, "/action");
        let props: Vec<String> =
            spec.input.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default();
        if action.is_some() {
            for p in &props {
                if !read.contains(p.as_str()) {
                    let mut ptr = "/input/properties/".to_owned();
                    push_escaped(&mut ptr, p);
                    self.push_key(doc, Code::UnusedInput, &ptr, format!("input property `{p}` is not read by any template")).help =
                        Some("remove it, or use it in the action".to_owned());
                }
            }
        }

        self.tests = self.tool_tests(doc, spec);
        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        if errors_after > errors_before {
            return None;
        }
        let defaults = spec
            .input
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.iter().filter_map(|(k, v)| v.get("default").map(|d| (k.clone(), d.clone()))).collect())
            .unwrap_or_default();
        let pos = doc.pointers.node("/name");
        let tool = CompiledTool {
            name: spec.name.clone(),
            title: spec.title.clone(),
            description: spec.description.clone(),
            annotations: spec.annotations.as_ref().map(annotations).unwrap_or_default(),
            input_schema,
            output_schema,
            validator: validator?,
            output_validator,
            defaults,
            arg_contexts,
            max_bytes: spec
                .output
                .as_ref()
                .and_then(|o| o.max_bytes)
                .map_or(DEFAULT_MAX_BYTES, |b| usize::try_from(b).unwrap_or(usize::MAX)),
            timeout: timeout?,
            action: action?,
            source: format!("{}:{}", self.files[doc.file].name, pos.line),
            scopes: spec.auth.as_ref().map(|a| a.scopes.clone()).unwrap_or_default(),
            concurrency: spec.limits.as_ref().and_then(|l| l.concurrency),
            per_minute: spec.limits.as_ref().and_then(|l| l.per_minute),
            task: task?,
            confirm: match confirm {
                Some(message) => Some(Confirm {
                    message: message?,
                    fields: form?.map(|schema| {
                        let mut strict = schema.clone();
                        strict.insert("additionalProperties".to_owned(), Value::Bool(false));
                        Arc::new(ConfirmFields {
                            schema: Arc::new(schema),
                            validator: LazyValidator::new(Arc::new(strict), SchemaUse::Input),
                            contexts: confirm_contexts,
                        })
                    }),
                }),
                None => None,
            },
        };
        if let Some(v) = &built {
            self.examples = self.example_args(doc, spec, &tool, v);
        }
        Some(tool)
    }

    /// A tool's `task:` block; `None` after a diagnostic.
    fn task(&mut self, doc: &Document, spec: &TaskSpec, timeout: Option<Duration>) -> Option<Option<TaskSettings>> {
        let get = |c: &mut Self, key: &str, value: &Option<String>, default: Duration| match value {
            Some(v) => c.duration(doc, &format!("/task/{key}"), v),
            None => Some(default),
        };
        let after = get(self, "after", &spec.after, TaskSettings::DEFAULT_AFTER);
        let ttl = get(self, "ttl", &spec.ttl, TaskSettings::DEFAULT_TTL);
        let poll_interval = get(self, "poll_interval", &spec.poll_interval, TaskSettings::DEFAULT_POLL);
        let (after, ttl, poll_interval) = (after?, ttl?, poll_interval?);
        let mut ok = true;
        if ttl > TaskSettings::MAX_TTL || ttl.is_zero() {
            self.push(doc, Code::InvalidValue, "/task/ttl", "`ttl` must be more than 0s and at most 7d");
            ok = false;
        }
        if poll_interval < Duration::from_secs(1) {
            self.push(doc, Code::InvalidValue, "/task/poll_interval", "`poll_interval` must be at least 1s");
            ok = false;
        }
        if let Some(timeout) = timeout.filter(|t| after >= *t) {
            self.push(
                doc,
                Code::InvalidValue,
                "/task/after",
                format!(
                    "`after` ({}) is not shorter than the tool's timeout ({}): no call would ever become a task",
                    humantime::format_duration(after),
                    humantime::format_duration(timeout)
                ),
            );
            ok = false;
        }
        ok.then_some(Some(TaskSettings { after, ttl, poll_interval, required: spec.required.unwrap_or(false) }))
    }
}

/// `a`, `b` or `c`, each in backticks.
pub(crate) fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// The catalog's annotations from the spec's.
fn annotations(a: &crate::spec::model::Annotations) -> Annotations {
    Annotations { read_only: a.read_only, destructive: a.destructive, idempotent: a.idempotent, open_world: a.open_world }
}
