//! Compiles a `steps` action: ids, each step's one action (any kind but `steps`), `output`
//! and `when`, `on_fail`, and the proof that every `steps.<id>` a template reads is an
//! earlier step.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::spec::StepsSpec;
use super::{FAILED_VAR, MAX_STEPS, STEPS_VAR, Step, StepsAction};
use crate::actions::{Action, ActionSpec, ConfirmSpec, Connections, KINDS};
use crate::catalog::template::{Escape, Template};
use crate::compile::Compiler;
use crate::compile::context::TemplateUse;
use crate::diag::Code;
use crate::spec::Document;
use crate::util::did_you_mean;

static STEP_ID_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]*$").expect("static regex"));
/// An argument a `when` filter reads: `.args.name`.
static WHEN_ARG_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\.args\.([A-Za-z_][A-Za-z0-9_]*)").expect("static regex"));

/// Compiles the action; `None` when it has errors (all reported).
pub(crate) fn compile(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    base: &str,
    spec: &StepsSpec,
    conns: &Connections,
    uses: &mut Vec<TemplateUse>,
) -> Option<StepsAction> {
    let mut ok = true;
    if spec.run.is_empty() || spec.run.len() > MAX_STEPS {
        compiler.push(
            doc,
            Code::InvalidValue,
            &format!("{base}/run"),
            format!("`run` holds {} steps; a sequence takes 1 to {MAX_STEPS}", spec.run.len()),
        );
        ok = false;
    }
    ok &= compiler.reserved_input(doc, STEPS_VAR, STEPS_VAR, "the outputs of earlier steps");
    if spec.on_fail.is_some() {
        ok &= compiler.reserved_input(doc, FAILED_VAR, STEPS_VAR, "the failed step and its error in `on_fail`");
    }
    let ids: Vec<&str> = spec.run.iter().map(|s| s.id.as_str()).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut steps = Vec::with_capacity(spec.run.len());
    for (i, step) in spec.run.iter().enumerate() {
        let p = format!("{base}/run/{i}");
        if !STEP_ID_RE.is_match(&step.id) {
            compiler
                .push(doc, Code::InvalidStepId, &format!("{p}/id"), format!("step id `{}` does not match ^[a-z][a-z0-9_]*$", step.id))
                .help = Some("use lower-case letters, digits and `_`, starting with a letter: it is read as `steps.<id>`".to_owned());
            ok = false;
        }
        if let Some(first) = seen.get(step.id.as_str()) {
            compiler.push(
                doc,
                Code::DuplicateStepId,
                &format!("{p}/id"),
                format!("step id `{}` is already used by step {}", step.id, first + 1),
            );
            ok = false;
        } else {
            seen.insert(&step.id, i);
        }
        let stage = Stage { pointer: &p, id: &step.id, earlier: &ids[..i], all: &ids, on_fail: false };
        let compiled = stage.compile(compiler, doc, &step.action(), step.confirm.as_ref(), conns, uses);
        let output = step.output.as_ref().and_then(|src| compiler.jq_filter(doc, &format!("{p}/output"), src, &mut ok));
        let when = step.when.as_ref().and_then(|src| compiler.jq_filter(doc, &format!("{p}/when"), src, &mut ok));
        if let Some(src) = &step.when {
            // The arguments `when` reads count as read (no `unused-input`). They reach jq as JSON
            // data, as a body value does, so that context adds no check; `when` guards itself.
            let vars: std::collections::BTreeSet<String> = WHEN_ARG_RE.captures_iter(src).map(|c| c[1].to_owned()).collect();
            if !vars.is_empty() {
                uses.push(TemplateUse { paths: vars.clone(), vars, ctx: Escape::BodyValue, pointer: format!("{p}/when"), guarded: true });
            }
        }
        match compiled {
            Some((action, confirm, needs, deferred)) => {
                steps.push(Step { id: step.id.clone(), action, output, when, confirm, needs, deferred });
            }
            None => ok = false,
        }
    }
    let on_fail = match &spec.on_fail {
        None => None,
        Some(action) => {
            let p = format!("{base}/on_fail");
            let stage = Stage { pointer: &p, id: "on_fail", earlier: &ids, all: &ids, on_fail: true };
            match stage.compile(compiler, doc, action, action.confirm.as_ref(), conns, uses) {
                Some((action, confirm, needs, deferred)) => {
                    Some(Arc::new(Step { id: "on_fail".to_owned(), action, output: None, when: None, confirm, needs, deferred }))
                }
                None => {
                    ok = false;
                    None
                }
            }
        }
    };
    let content = spec.content.as_ref().and_then(|listed| content(compiler, doc, base, listed, &ids, &mut ok));
    ok.then(|| StepsAction { steps: steps.into(), on_fail, content })
}

/// `content`: each listed id a step of `run`, listed once; the steps' indices in the listed order.
fn content(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    base: &str,
    listed: &[String],
    ids: &[&str],
    ok: &mut bool,
) -> Option<Arc<[usize]>> {
    let mut out: Vec<usize> = Vec::with_capacity(listed.len());
    for (i, id) in listed.iter().enumerate() {
        let pointer = format!("{base}/content/{i}");
        match ids.iter().position(|s| s == id) {
            Some(step) if out.contains(&step) => {
                compiler.push(doc, Code::DuplicateStepId, &pointer, format!("`content` lists step `{id}` twice")).help =
                    Some("list each step once: its content blocks appear once, where it is first listed".to_owned());
                *ok = false;
            }
            Some(step) => out.push(step),
            None => {
                let near = did_you_mean(id, ids.iter().copied()).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
                let all: Vec<String> = ids.iter().map(|s| format!("`{s}`")).collect();
                compiler
                    .push(doc, Code::UnknownStep, &pointer, format!("`content` lists `{id}`, but no step has the id `{id}`{near}"))
                    .help = Some(format!("the steps of `run`: {}", all.join(", ")));
                *ok = false;
            }
        }
    }
    Some(out.into())
}

/// Where one step (or `on_fail`) sits, and the steps it may read.
struct Stage<'a> {
    pointer: &'a str,
    id: &'a str,
    earlier: &'a [&'a str],
    all: &'a [&'a str],
    on_fail: bool,
}

impl Stage<'_> {
    /// Compiles the stage's one action and checks the outputs its templates read; gives the
    /// action, the earlier steps it reads and whether it reads `steps` or `failed` at all.
    fn compile(
        &self,
        compiler: &mut Compiler<'_>,
        doc: &Document,
        spec: &ActionSpec,
        confirm: Option<&ConfirmSpec>,
        conns: &Connections,
        outer: &mut Vec<TemplateUse>,
    ) -> Option<(Action, Option<Template>, Vec<String>, bool)> {
        let what = if self.on_fail { "`on_fail`".to_owned() } else { format!("step `{}`", self.id) };
        if spec.steps.is_some() {
            compiler
                .push_key(
                    doc,
                    Code::NestedSteps,
                    &format!("{}/{STEPS_VAR}", self.pointer),
                    format!("{what} is itself a `steps` action; steps do not nest"),
                )
                .help = Some("write the inner steps into this sequence".to_owned());
            return None;
        }
        match spec.count() {
            1 => {}
            n => {
                let kinds: Vec<String> = KINDS.iter().filter(|k| **k != STEPS_VAR).map(|k| format!("`{k}`")).collect();
                let msg = if n == 0 {
                    format!("{what} holds no action; give one of {}", kinds.join(", "))
                } else {
                    format!("{what} holds more than one action; keep exactly one")
                };
                compiler.push(doc, Code::ActionCount, self.pointer, msg);
                return None;
            }
        }
        let mut uses = Vec::new();
        let action = spec.compile(compiler, doc, self.pointer, conns, &mut uses);
        let confirm =
            confirm.map(|c| compiler.template(doc, &format!("{}/confirm/message", self.pointer), &c.message, Escape::Plain, &mut uses));
        let mut needs = BTreeSet::new();
        let mut deferred = false;
        let mut ok = true;
        for u in &mut uses {
            for path in &u.paths {
                let mut parts = path.split('.');
                let root = parts.next().unwrap_or_default();
                if self.on_fail && root == FAILED_VAR {
                    deferred = true;
                    continue;
                }
                if root != STEPS_VAR {
                    continue;
                }
                deferred = true;
                let problem = match parts.next() {
                    Some(id) if self.earlier.contains(&id) => {
                        needs.insert(id.to_owned());
                        continue;
                    }
                    None => format!("{what} reads `{STEPS_VAR}` as a whole; read one earlier step's output as `{STEPS_VAR}.<id>`"),
                    Some(id) if id == self.id => format!("{what} reads its own output `{STEPS_VAR}.{id}`; a step reads earlier steps only"),
                    Some(id) if self.all.contains(&id) => {
                        format!("{what} reads `{STEPS_VAR}.{id}`, but step `{id}` runs later; a step reads earlier steps only")
                    }
                    Some(id) => {
                        let near =
                            did_you_mean(id, self.earlier.iter().copied()).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
                        format!("{what} reads `{STEPS_VAR}.{id}`, but no step has the id `{id}`{near}")
                    }
                };
                let earlier: Vec<String> = self.earlier.iter().map(|e| format!("`{e}`")).collect();
                compiler.push(doc, Code::UnknownStep, &u.pointer, problem).help = Some(if earlier.is_empty() {
                    format!("{what} runs first: no earlier output to read")
                } else {
                    format!("the steps before it: {}", earlier.join(", "))
                });
                ok = false;
            }
            u.vars.retain(|v| v != STEPS_VAR && !(self.on_fail && v == FAILED_VAR));
        }
        outer.extend(uses);
        if !ok {
            return None;
        }
        let confirm = match confirm {
            Some(t) => Some(t?),
            None => None,
        };
        Some((action?, confirm, needs.into_iter().collect(), deferred))
    }
}
