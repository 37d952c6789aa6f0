//! Compiles a `watch` action: `every` and `for` (and the tool's `timeout`, which must hold
//! them), the check and `on_fail` (one plain action each: no `watch`, no `steps`), the jq
//! predicates, and `max_failed_checks`.

use std::sync::Arc;
use std::time::Duration;

use super::spec::WatchSpec;
use super::{DEFAULT_MAX_FAILED_CHECKS, FAILED_VAR, MIN_EVERY, WatchAction, show};
use crate::actions::{Action, ActionSpec, Connections, KINDS};
use crate::catalog::template::Escape;
use crate::compile::Compiler;
use crate::compile::context::TemplateUse;
use crate::compile::tools::DEFAULT_TIMEOUT;
use crate::diag::Code;
use crate::spec::Document;
use crate::util::parse_duration;

/// The kinds a watch cannot hold: itself, and a sequence.
const NOT_NESTED: &[&str] = &["watch", "steps"];

/// Compiles the action; `None` when it has errors (all reported).
pub(crate) fn compile(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    base: &str,
    spec: &WatchSpec,
    conns: &Connections,
    uses: &mut Vec<TemplateUse>,
) -> Option<WatchAction> {
    let mut ok = true;
    let every = compiler.duration(doc, &format!("{base}/every"), &spec.every);
    if let Some(e) = every.filter(|e| *e < MIN_EVERY) {
        compiler
            .push(
                doc,
                Code::InvalidValue,
                &format!("{base}/every"),
                format!("`every` is {}; a watch checks at most once a second", show(e)),
            )
            .help = Some("use 1s or more".to_owned());
        ok = false;
    }
    let watch_for = compiler.duration(doc, &format!("{base}/for"), &spec.watch_for);
    if let (Some(e), Some(f)) = (every, watch_for)
        && f < e
    {
        compiler
            .push(
                doc,
                Code::InvalidValue,
                &format!("{base}/for"),
                format!("`for` ({}) is shorter than `every` ({}): not one full tick", show(f), show(e)),
            )
            .help = Some(format!("watch for {} or more", show(e)));
        ok = false;
    }
    if let (Some(e), Some(f)) = (every, watch_for) {
        ok &= fits_timeout(compiler, doc, base, e, f);
    }
    // The schema's minimum of 1 reports a zero (`invalid-value`) before any kind compiles.
    let max_failed_checks = spec.max_failed_checks.unwrap_or(DEFAULT_MAX_FAILED_CHECKS).max(1);

    let check = plain_action(compiler, doc, &format!("{base}/check"), "`check`", &spec.check, conns, uses);
    let fail_when = compiler.jq_filter(doc, &format!("{base}/fail_when"), &spec.fail_when, &mut ok);
    let succeed_when = spec.succeed_when.as_ref().and_then(|src| compiler.jq_filter(doc, &format!("{base}/succeed_when"), src, &mut ok));

    let mut on_fail_reads_failed = false;
    let mut on_fail_confirm = None;
    if spec.check.confirm.is_some() {
        compiler
            .push_key(doc, Code::InvalidValue, &format!("{base}/check/confirm"), "a watch's `check` takes no `confirm`: checks only read")
            .help = Some("put `confirm` in `on_fail`, the action that changes something".to_owned());
        ok = false;
    }
    let on_fail = match &spec.on_fail {
        None => None,
        Some(action) => {
            ok &= compiler.reserved_input(doc, FAILED_VAR, "watch", "the breach in `on_fail`");
            let mut own = Vec::new();
            let compiled = plain_action(compiler, doc, &format!("{base}/on_fail"), "`on_fail`", action, conns, &mut own);
            if let Some(c) = &action.confirm {
                on_fail_confirm = compiler.template(doc, &format!("{base}/on_fail/confirm/message"), &c.message, Escape::Plain, &mut own);
                ok &= on_fail_confirm.is_some();
            }
            // `failed` is the watch's to give; what else `on_fail` reads is the tool's business
            // (arguments, and a sequence's `steps` when the watch is a step).
            for u in &mut own {
                on_fail_reads_failed |= u.vars.remove(FAILED_VAR);
                u.paths.retain(|p| p.split('.').next() != Some(FAILED_VAR));
            }
            uses.extend(own);
            if compiled.is_none() {
                ok = false;
            }
            compiled
        }
    };
    if !ok {
        return None;
    }
    Some(WatchAction {
        every: every?,
        watch_for: watch_for?,
        check: Arc::new(check?),
        fail_when: fail_when?,
        succeed_when,
        on_fail: on_fail.map(Arc::new),
        on_fail_reads_failed,
        on_fail_confirm,
        max_failed_checks,
    })
}

/// Compiles the one action of `check` or `on_fail` at `pointer`: exactly one, and neither a
/// watch nor a sequence.
fn plain_action(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    pointer: &str,
    what: &str,
    spec: &ActionSpec,
    conns: &Connections,
    uses: &mut Vec<TemplateUse>,
) -> Option<Action> {
    let plain: Vec<String> = KINDS.iter().filter(|k| !NOT_NESTED.contains(*k)).map(|k| format!("`{k}`")).collect();
    let plain = match plain.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => plain.concat(),
    };
    let nested: Vec<&str> = NOT_NESTED.iter().copied().filter(|k| held(spec, k)).collect();
    if let Some(kind) = nested.first() {
        compiler
            .push_key(
                doc,
                Code::NestedWatch,
                &format!("{pointer}/{kind}"),
                format!("a watch's {what} is itself a `{kind}` action; a watch holds one {plain} action there"),
            )
            .help = Some(if *kind == "steps" {
            "to run several actions, make the watch one step of a `steps` action".to_owned()
        } else {
            "watches do not nest: give the inner watch's check here".to_owned()
        });
        return None;
    }
    if spec.count() != 1 {
        let msg = if spec.count() == 0 {
            format!("a watch's {what} holds no action; give one of {plain}")
        } else {
            format!("a watch's {what} holds more than one action; keep exactly one")
        };
        compiler.push(doc, Code::ActionCount, pointer, msg);
        return None;
    }
    spec.compile(compiler, doc, pointer, conns, uses)
}

/// Whether the block holds an action of `kind`.
fn held(spec: &ActionSpec, kind: &str) -> bool {
    match kind {
        "watch" => spec.watch.is_some(),
        "steps" => spec.steps.is_some(),
        _ => false,
    }
}

/// Checks that the tool's `timeout` (default 30s) holds `for` plus `every`: the last check
/// starts before `for` ends and may take a tick. A `timeout` that does not parse is reported
/// by the tool's compile.
fn fits_timeout(compiler: &mut Compiler<'_>, doc: &Document, base: &str, every: Duration, watch_for: Duration) -> bool {
    let written = doc.json.get("timeout").and_then(|t| t.as_str());
    let timeout = match written {
        Some(t) => match parse_duration(t) {
            Ok(d) => d,
            Err(_) => return true,
        },
        None => DEFAULT_TIMEOUT,
    };
    let needed = watch_for.saturating_add(every);
    if timeout >= needed {
        return true;
    }
    // Said at `timeout` when the tool gives one, else at the `for` that needs more.
    let (pointer, whose) = match written {
        Some(_) => ("/timeout".to_owned(), "the tool's `timeout`"),
        None => (format!("{base}/for"), "the tool's default `timeout`"),
    };
    compiler
        .push(
            doc,
            Code::WatchTimeout,
            &pointer,
            format!(
                "{whose} is {}, shorter than the watch's `for` ({}) plus `every` ({}) = {}; the call would end before the watch",
                show(timeout),
                show(watch_for),
                show(every),
                show(needed)
            ),
        )
        .help = Some(format!("set the tool's `timeout: {}` or more (leave room for what runs before and after)", show(needed)));
    false
}
