//! One tool: its description, schemas, timeout, action, the variables its templates read
//! (each declared in `input`, each declared one read), limits and scopes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use super::Compiler;
use super::context::TemplateUse;
use crate::actions::{Connections, KINDS};
use crate::catalog::template::{self, Escape};
use crate::catalog::{Annotations, CompiledTool, LazyValidator, SchemaUse, TASK_TOOLS, TaskSettings};
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::model::{TaskSpec, ToolSpec};
use crate::spec::yaml::{Pos, push_escaped};
use crate::util::did_you_mean;

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
        let confirm = spec.confirm.as_ref().map(|c| self.template(doc, "/confirm/message", &c.message, Escape::Plain, &mut uses));
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
        let props: Vec<String> =
            spec.input.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default();
        let mut read: BTreeSet<&str> = BTreeSet::new();
        let mut arg_contexts: BTreeMap<String, BTreeSet<Escape>> = BTreeMap::new();
        // A name of minijinja's globals (`secret`, `range`, `namespace`, ...) is an argument
        // when `input` declares it, and the global otherwise.
        let declared_or_not_global = |v: &String| props.contains(v) || !template::GLOBALS.contains(&v.as_str());
        for u in &uses {
            for v in u.vars.iter().filter(|v| declared_or_not_global(v)) {
                read.insert(v);
                if props.contains(v) {
                    arg_contexts.entry(v.clone()).or_default().insert(u.ctx);
                }
            }
        }
        for v in &read {
            if !props.iter().any(|p| p == v) {
                let near = did_you_mean(v, props.iter().map(String::as_str)).map(str::to_owned);
                let pos = self.find_var(doc, &uses, v);
                let mut d =
                    self.loc(doc.file).diag(Code::UndeclaredVariable, pos, format!("template reads `{v}`, which `input` does not declare"));
                d.help = Some(match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("add `{v}` to `input.properties`"),
                });
                self.diags.push(d);
            }
        }
        // An optional property without a default that a template reads unguarded makes every
        // call without it fail ("undefined"); say so now rather than at call time.
        let required: Vec<&str> =
            spec.input.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let has_default = |p: &str| spec.input.get("properties").and_then(|ps| ps.get(p)).and_then(|s| s.get("default")).is_some();
        let mut warned: BTreeSet<&str> = BTreeSet::new();
        for u in uses.iter().filter(|u| !u.guarded) {
            for v in u.vars.iter().filter(|v| props.contains(v)) {
                if !required.contains(&v.as_str()) && !has_default(v) && warned.insert(v) {
                    let pos = self.find_var(doc, &uses, v);
                    let d = self
                        .loc(doc.file)
                        .diag(
                            Code::OptionalWithoutDefault,
                            pos,
                            format!("template reads `{v}`, which is optional and has no default: a call without it fails"),
                        )
                        .with_help(format!("give `{v}` a `default`, add it to `required`, or guard it: `{{{{ {v} | default('') }}}}`"));
                    self.diags.push(d);
                }
            }
        }
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
            arg_contexts: arg_contexts.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect(),
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
                Some(t) => Some(t?),
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

    /// The first place in the document's action that mentions a variable.
    /// Searches from the first template that reads it (the action, or `confirm`).
    fn find_var(&self, doc: &Document, uses: &[TemplateUse], var: &str) -> Pos {
        let re = Regex::new(&format!(r"\b{}\b", regex::escape(var))).ok();
        let from = uses.iter().find(|u| u.vars.contains(var)).map_or("/action", |u| u.pointer.as_str());
        let action = doc.pointers.node(from);
        let index = &self.indexes[doc.file];
        if let Some(re) = re {
            let mut line = action.line;
            while let Some(text) = index.line(line) {
                if let Some(m) = re.find_iter(text).find(|m| text[..m.start()].contains("{{") || text[..m.start()].contains("{%")) {
                    let col = text[..m.start()].chars().count();
                    return Pos { line, column: u32::try_from(col).unwrap_or(0) + 1, len: u32::try_from(var.chars().count()).unwrap_or(1) };
                }
                line += 1;
                if line > action.line + 10_000 {
                    break;
                }
            }
        }
        action
    }
}

/// `a`, `b` or `c`, each in backticks.
fn one_of(names: &[&str]) -> String {
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
