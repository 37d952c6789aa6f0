//! What templates read and where it is declared, for every kind that has templates (a tool's
//! action, a prompt's messages, a resource's action, a completion's action); and the arguments
//! schema of prompts and resource templates: its checks, the types MCP can pass, and each
//! property's completions (`enum`, or `complete`, an action compiled as a tool no client sees).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize as _;
use serde_json::Value;

use super::Compiler;
use super::context::TemplateUse;
use super::tools::one_of;
use crate::actions::{Action, CompleteSpec, Connections, KINDS};
use crate::catalog::arguments::{Arguments, Completion};
use crate::catalog::template::{self, Escape};
use crate::catalog::{Annotations, CompiledTool, JsonObject, LazyValidator, SchemaUse};
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::yaml::push_escaped;
use crate::util::did_you_mean;

/// The deadline of a completion's action: it answers while someone types.
pub const COMPLETE_TIMEOUT: Duration = Duration::from_secs(10);
/// What a completion's action may return at most, in bytes (its values are filtered and cut
/// to 100 afterwards; a cut answer would lose values silently).
pub const COMPLETE_MAX_BYTES: usize = 1024 * 1024;

/// The JSON types an argument passed as a string can be read back as.
const PASSABLE: &[&str] = &["string", "integer", "number", "boolean", "null"];

/// Where the variables that templates read are declared.
pub(crate) struct Declared<'s> {
    /// The document's key that declares them (`input`, `arguments`), for messages.
    pub key: &'s str,
    /// The schema: its `properties`, `required` and defaults.
    pub schema: &'s JsonObject,
    /// Names templates may read that the schema does not declare (a completion's `value`).
    pub extra: &'s [&'s str],
    /// Whether to warn about optional properties without a default read unguarded (not for
    /// a completion, whose other arguments are often not given yet: it then completes to nothing).
    pub warn_optional: bool,
}

impl Declared<'_> {
    fn props(&self) -> Vec<String> {
        self.schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
    }
}

impl Compiler<'_> {
    /// Checks what the templates of `uses` read against `declared`: each variable read must be
    /// declared (`undeclared-variable`, found from the node at `start` onwards), and an
    /// optional property without a default read unguarded is a warning. Returns the declared
    /// names read, and for each the contexts its value lands in.
    pub(crate) fn check_reads(
        &mut self,
        doc: &Document,
        uses: &[TemplateUse],
        declared: &Declared<'_>,
        start: &str,
    ) -> (BTreeSet<String>, Vec<(String, Vec<Escape>)>) {
        let props = declared.props();
        let key = declared.key;
        let mut read: BTreeSet<String> = BTreeSet::new();
        let mut contexts: BTreeMap<String, BTreeSet<Escape>> = BTreeMap::new();
        // A name of minijinja's globals (`secret`, `range`, `namespace`, ...) is an argument
        // when the schema declares it, and the global otherwise.
        let declared_or_not_global = |v: &String| props.contains(v) || !template::GLOBALS.contains(&v.as_str());
        let mut undeclared: BTreeSet<&str> = BTreeSet::new();
        for u in uses {
            for v in u.vars.iter().filter(|v| declared_or_not_global(v)) {
                if props.contains(v) {
                    read.insert(v.clone());
                    contexts.entry(v.clone()).or_default().insert(u.ctx);
                } else if !declared.extra.contains(&v.as_str()) {
                    undeclared.insert(v);
                }
            }
        }
        for v in undeclared {
            let near = did_you_mean(v, props.iter().map(String::as_str)).map(str::to_owned);
            let pos = self.find_var(doc, first_use(uses, v, start), v);
            let mut d =
                self.loc(doc.file).diag(Code::UndeclaredVariable, pos, format!("template reads `{v}`, which `{key}` does not declare"));
            d.help = Some(match near {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("add `{v}` to `{key}.properties`"),
            });
            self.diags.push(d);
        }
        if declared.warn_optional {
            // An optional property without a default that a template reads unguarded makes
            // every call without it fail ("undefined"); say so now rather than at call time.
            let schema = declared.schema;
            let required: Vec<&str> =
                schema.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let has_default = |p: &str| schema.get("properties").and_then(|ps| ps.get(p)).and_then(|s| s.get("default")).is_some();
            let mut warned: BTreeSet<&str> = BTreeSet::new();
            for u in uses.iter().filter(|u| !u.guarded) {
                for v in u.vars.iter().filter(|v| props.contains(v)) {
                    if !required.contains(&v.as_str()) && !has_default(v) && warned.insert(v) {
                        let pos = self.find_var(doc, first_use(uses, v, start), v);
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
        }
        (read, contexts.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect())
    }

    /// A prompt's `arguments` or a resource template's `input`, at the document's key `key`:
    /// the checks of a tool's `input`, each property of a type MCP can pass as a string, and
    /// each property's completions. `owner` names the hidden tools of `complete` actions
    /// (`prompt:triage`). The contexts are left empty for the caller, which knows the
    /// templates. `None` after an error (reported).
    pub(crate) fn arguments(
        &mut self,
        doc: &Document,
        key: &str,
        schema: &JsonObject,
        conns: &Connections,
        owner: &str,
    ) -> Option<Arguments> {
        let errors_before = self.error_count();
        let built = self.arguments_schema(doc, key, schema);
        let props = schema.get("properties").and_then(Value::as_object);
        let mut completions = Vec::new();
        for (name, prop) in props.into_iter().flatten() {
            let mut base = format!("/{key}/properties/");
            push_escaped(&mut base, name);
            let types: Vec<&str> = match prop.get("type") {
                Some(Value::String(t)) => vec![t.as_str()],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if let Some(bad) = types.iter().find(|t| !PASSABLE.contains(t)) {
                self.push(
                    doc,
                    Code::ArgumentType,
                    &format!("{base}/type"),
                    format!("`{name}` is of type `{bad}`, which MCP cannot pass: arguments arrive as strings, read as a string, integer, number or boolean"),
                )
                .help = Some(format!("declare `{name}` as one of `string`, `integer`, `number` or `boolean`"));
            }
            if let Some(complete) = prop.get("complete") {
                let tool_name = format!("{owner}/{name}:complete");
                if let Some(c) = self.complete(doc, &format!("{base}/complete"), complete, schema, key, conns, tool_name) {
                    completions.push((name.clone(), c));
                }
            } else if let Some(Value::Array(values)) = prop.get("enum") {
                let values = values.iter().map(crate::catalog::template::plain_text).collect();
                completions.push((name.clone(), Completion::Values(values)));
            }
        }
        if self.error_count() > errors_before {
            return None;
        }
        built?;
        let schema = Arc::new(schema.clone());
        Some(Arguments {
            validator: LazyValidator::new(schema.clone(), SchemaUse::Input),
            defaults: defaults_of(&schema),
            schema,
            contexts: Vec::new(),
            completions,
        })
    }

    /// A property's `complete` at `pointer`: one action (not a watch) and an optional `jq`,
    /// compiled as a tool no client sees whose arguments are the owner's (all optional) and
    /// `value`, the text typed.
    #[allow(clippy::too_many_arguments)]
    fn complete(
        &mut self,
        doc: &Document,
        pointer: &str,
        value: &Value,
        owner_schema: &JsonObject,
        key: &str,
        conns: &Connections,
        tool_name: String,
    ) -> Option<Completion> {
        let spec = match CompleteSpec::deserialize(value) {
            Ok(s) => s,
            Err(e) => {
                // The format check passed this block; reaching this is a bug.
                self.push(doc, Code::InvalidValue, pointer, format!("internal error: {e}"));
                return None;
            }
        };
        let action_spec = spec.action();
        match action_spec.count() {
            1 => {}
            0 => {
                let kinds: Vec<&str> = KINDS.iter().copied().filter(|k| *k != "watch").collect();
                self.push(
                    doc,
                    Code::ActionCount,
                    pointer,
                    format!("`complete` holds no action; give one of {} (and optionally `jq`)", one_of(&kinds)),
                );
                return None;
            }
            _ => {
                self.push(doc, Code::ActionCount, pointer, "`complete` holds more than one action; keep exactly one");
                return None;
            }
        }
        if action_spec.watch.is_some() {
            self.push(
                doc,
                Code::InvalidValue,
                &format!("{pointer}/watch"),
                "a completion cannot be a `watch`: it answers while someone types",
            )
            .help = Some("use an `http` action (or `steps`) that lists the values".to_owned());
            return None;
        }
        let mut ok = true;
        let jq = spec.jq.as_deref().and_then(|src| self.jq_filter(doc, &format!("{pointer}/jq"), src, &mut ok));
        let mut uses = Vec::new();
        let action = action_spec.compile(self, doc, pointer, conns, &mut uses);
        let declared = Declared { key, schema: owner_schema, extra: &[crate::completions::TYPED], warn_optional: false };
        let (_, contexts) = self.check_reads(doc, &uses, &declared, pointer);
        let (action, true) = (action?, ok) else { return None };
        let input = complete_input(owner_schema);
        if let Err(e) = SchemaUse::Input.build(&Value::Object(input.clone())) {
            self.push(doc, Code::InvalidInputSchema, pointer, format!("internal error: the completion's arguments do not compile: {e}"));
            return None;
        }
        let defaults = defaults_of(owner_schema);
        let tool = self.hidden_tool(doc, tool_name, input, action, contexts, defaults, COMPLETE_TIMEOUT, COMPLETE_MAX_BYTES);
        Some(Completion::Action { tool: Arc::new(tool), jq })
    }

    /// An action as a tool that no client sees (a resource's, a completion's): what
    /// `runtime::call` runs, with its argument checks, deadline and output cap.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn hidden_tool(
        &self,
        doc: &Document,
        name: String,
        input: JsonObject,
        action: Action,
        contexts: Vec<(String, Vec<Escape>)>,
        defaults: Vec<(String, Value)>,
        timeout: Duration,
        max_bytes: usize,
    ) -> CompiledTool {
        let input = Arc::new(input);
        let pos = doc.pointers.node("/name");
        CompiledTool {
            description: format!("`{name}`, which no client lists"),
            name,
            title: None,
            annotations: Annotations::default(),
            validator: LazyValidator::new(input.clone(), SchemaUse::Input),
            input_schema: input,
            output_schema: None,
            output_validator: None,
            defaults,
            arg_contexts: contexts,
            max_bytes,
            timeout,
            action,
            source: format!("{}:{}", self.files[doc.file].name, pos.line),
            scopes: Vec::new(),
            concurrency: None,
            per_minute: None,
            task: None,
            confirm: None,
        }
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
}

/// The defaults of a schema's top-level properties.
pub(crate) fn defaults_of(schema: &JsonObject) -> Vec<(String, Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().filter_map(|(k, v)| v.get("default").map(|d| (k.clone(), d.clone()))).collect())
        .unwrap_or_default()
}

/// The arguments of a completion's action: the owner's properties, none required (the client
/// gives those it has), without their own `complete`, and `value`, the text typed.
fn complete_input(owner: &JsonObject) -> JsonObject {
    let mut props = JsonObject::new();
    for (name, prop) in owner.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let mut prop = prop.clone();
        if let Value::Object(p) = &mut prop {
            p.shift_remove("complete");
        }
        props.insert(name.clone(), prop);
    }
    props.insert(crate::completions::TYPED.to_owned(), serde_json::json!({"type": "string", "description": "The text typed so far."}));
    let mut input = JsonObject::new();
    input.insert("type".to_owned(), Value::from("object"));
    input.insert("properties".to_owned(), Value::Object(props));
    input
}

/// Where to look for a variable in the source: the first template that reads it (an action's,
/// or a `confirm` message before the action), else `start`.
fn first_use<'a>(uses: &'a [TemplateUse], var: &str, start: &'a str) -> &'a str {
    uses.iter().find(|u| u.vars.contains(var)).map_or(start, |u| u.pointer.as_str())
}
