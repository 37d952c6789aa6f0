//! Running a watch: a check every `every` (the next tick `every` after the previous one
//! started, or at once when a check took longer; checks never overlap; a tick is moved up to
//! [`TICK_GRAIN`] later so that many watches share a wake-up) until `for` has
//! passed, each check rendered at its tick's time, bounded by max(`every`, 10s) and the
//! call's deadline, and judged by `fail_when` and `succeed_when` in the jq worker. A breach
//! runs `on_fail` once; a cancellation stops everything at once.
//!
//! The bookkeeping ([`Tally`]) is apart from the timing, so that the outcome rules are tested
//! without a clock.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::request::WatchRequest;
use super::show;
use crate::actions::{Action, CallContext, LogLevel, Request, ToolOutput};
use crate::catalog::jq::JqFilter;
use crate::catalog::jq_worker;
use crate::connections::Clients;

/// A watch running: boxed, since its check is itself a [`Request`] (a future cannot hold
/// itself), and `Send` said here, where the compiler cannot infer it through the cycle.
pub type Running<'a> = Pin<Box<dyn Future<Output = Result<ToolOutput, String>> + Send + 'a>>;

/// How much of a value or an error a progress message or the summary shows.
const EXCERPT_CHARS: usize = 120;

impl WatchRequest {
    /// Runs the watch. The answer is structured (`{outcome, checks, failed_checks, last,
    /// breach, on_fail, error?}`) with a text summary; `breached`, `timed_out` and `failed` are
    /// tool errors that carry it. A cancelled watch is an error without it (`on_fail` does not run).
    pub fn execute<'a>(self, clients: &'a Clients, ctx: &'a CallContext) -> Running<'a> {
        Box::pin(self.run(clients, ctx))
    }

    async fn run(self, clients: &Clients, ctx: &CallContext) -> Result<ToolOutput, String> {
        let watch = self.watch.clone();
        let start = Instant::now();
        let planned = watch.planned_checks();
        let mut tally = Tally::new(watch.fail_when.source(), watch.succeed_when.is_some(), watch.watch_for, watch.max_failed_checks);
        let mut first = Some(Request::clone(&self.first));
        let mut tick = start;
        let end = loop {
            let at = SystemTime::now();
            // The first check was rendered with the call (its time is the call's); each later
            // one is rendered at its tick, so that its windows move.
            let request = match first.take() {
                Some(r) => Ok(r),
                None => self.render_check(at).map_err(|e| e.message),
            };
            let result = tokio::select! {
                r = self.check(request, clients, ctx) => r,
                () = ctx.cancel.cancelled() => return Err(cancelled(tally.checks)),
            };
            let end = tally.record(at, result);
            if ctx.progress.is_some() || ctx.log.is_some() {
                let message = tally.progress_message(planned);
                let level = if message.contains(" failed (") { LogLevel::Warning } else { LogLevel::Info };
                ctx.log(level, || message.clone());
                if let Some(progress) = &ctx.progress {
                    #[allow(clippy::cast_precision_loss)]
                    progress(tally.checks as f64, Some(planned as f64), message);
                }
            }
            if let Some(end) = end {
                break end;
            }
            let next = (tick + watch.every).max(Instant::now());
            if next >= start + watch.watch_for {
                break tally.for_elapsed();
            }
            if next >= ctx.deadline {
                return Err(format!(
                    "the call's deadline ({}) came after {} checks, before the watch's `for` ({}) ended; give the tool a longer `timeout`",
                    humantime::format_duration(ctx.timeout),
                    tally.checks,
                    show(watch.watch_for)
                ));
            }
            tokio::select! {
                () = tokio::time::sleep_until(shared_tick(next)) => {}
                () = ctx.cancel.cancelled() => return Err(cancelled(tally.checks)),
            }
            tick = next;
        };
        let on_fail = match (&end, &watch.on_fail) {
            (End::Breached(breach), Some(action)) => Some(self.on_fail(action, breach, clients, ctx).await),
            _ => None,
        };
        Ok(tally.answer(&end, on_fail, self.later.max_bytes))
    }

    /// One check: its request under its bound, then `fail_when` and `succeed_when`.
    async fn check(&self, request: Result<Request, String>, clients: &Clients, ctx: &CallContext) -> CheckResult {
        let request = match request {
            Ok(r) => r,
            Err(e) => return CheckResult { value: None, verdict: Err(e) },
        };
        let bound = self.watch.check_bound();
        let own = Instant::now() + bound;
        let deadline = own.min(ctx.deadline);
        let check_ctx =
            CallContext { cancel: ctx.cancel.clone(), deadline, timeout: bound, progress: None, ask: None, log: ctx.log.clone() };
        let out = match Box::pin(request.execute(clients, &check_ctx)).await {
            Ok(out) if out.is_error => return CheckResult { value: None, verdict: Err(out.text) },
            Ok(out) => out,
            Err(_) if Instant::now() >= deadline && deadline < own => {
                return CheckResult { value: None, verdict: Err("the call's deadline passed during the check".to_owned()) };
            }
            Err(_) if Instant::now() >= deadline => {
                return CheckResult { value: None, verdict: Err(format!("the check did not finish within {}", show(bound))) };
            }
            Err(e) => return CheckResult { value: None, verdict: Err(e) },
        };
        let value = out.into_value();
        let verdict = self.judge(&value).await;
        CheckResult { value: Some(value), verdict }
    }

    /// `fail_when` first (a breach wins), then `succeed_when`.
    async fn judge(&self, value: &Value) -> Result<Verdict, String> {
        if truthy(&self.watch.fail_when, value, "fail_when").await? {
            return Ok(Verdict::Breach);
        }
        match &self.watch.succeed_when {
            Some(filter) if truthy(filter, value, "succeed_when").await? => Ok(Verdict::Succeed),
            _ => Ok(Verdict::Pass),
        }
    }

    /// Runs `on_fail` once, rendered now with `failed`, under the call's deadline; it does not
    /// start when the deadline has passed or the call was cancelled.
    async fn on_fail(&self, action: &Action, breach: &Breach, clients: &Clients, ctx: &CallContext) -> Value {
        if ctx.cancel.is_cancelled() {
            return json!({"ran": false, "error": "on_fail did not run: the call was cancelled"});
        }
        if Instant::now() >= ctx.deadline {
            return json!({"ran": false, "error": "on_fail did not run: the call's deadline had passed"});
        }
        if let Some(confirm) = &self.watch.on_fail_confirm {
            let question = self.render_text_on_fail(confirm, SystemTime::now(), breach.to_json());
            let approved = match question {
                Ok(m) => ctx.approve("`on_fail`", m).await,
                Err(e) => Err(format!("its approval question: {}", e.message)),
            };
            if let Err(why) = approved {
                return json!({"ran": false, "error": format!("on_fail did not run: {why}")});
            }
        }
        let request = match self.render_on_fail(action, SystemTime::now(), breach.to_json()) {
            Ok(r) => r,
            Err(e) => return json!({"ran": false, "error": format!("on_fail did not render: {}", e.message)}),
        };
        let answer = tokio::select! {
            r = Box::pin(request.execute(clients, ctx)) => r,
            () = ctx.cancel.cancelled() => Err("the call was cancelled while on_fail ran".to_owned()),
        };
        match answer {
            Ok(out) if out.is_error => json!({"ran": true, "error": out.text}),
            Ok(out) => json!({"ran": true, "answer": out.into_value()}),
            Err(e) => json!({"ran": true, "error": e}),
        }
    }
}

/// How far a tick may be moved later so that watches share their wake-ups: a thousand watches
/// started at different moments would otherwise wake the server a thousand times a second,
/// one check each; rounded to this grain they wake it at most twenty times, a batch each.
const TICK_GRAIN: Duration = Duration::from_millis(50);

/// `at`, moved later to the next multiple of [`TICK_GRAIN`] since the first watch of the
/// process started (at most one grain later; `every` is at least a second). Only the wake-up
/// moves: the schedule stays `every` apart, so nothing drifts.
fn shared_tick(at: Instant) -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let since = at.saturating_duration_since(epoch).as_nanos();
    let grain = TICK_GRAIN.as_nanos();
    let rounded = since.div_ceil(grain) * grain;
    let late = u64::try_from(rounded - since).unwrap_or(0);
    at + Duration::from_nanos(late)
}

/// Whether a predicate gives anything but false or null (no output is null).
async fn truthy(filter: &JqFilter, value: &Value, name: &str) -> Result<bool, String> {
    let out = jq_worker::run_value(filter, value).await.map_err(|e| format!("`{name}` failed: {e}"))?;
    Ok(!matches!(out, Value::Null | Value::Bool(false)))
}

fn cancelled(checks: u64) -> String {
    format!("the watch was cancelled after {checks} checks")
}

/// What one check gave: the check's value, when the backend answered, and the verdict or why
/// the check failed.
#[derive(Debug)]
pub(crate) struct CheckResult {
    pub(crate) value: Option<Value>,
    pub(crate) verdict: Result<Verdict, String>,
}

/// What the filters said of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// `fail_when` was true.
    Breach,
    /// `succeed_when` was true.
    Succeed,
    /// Neither.
    Pass,
}

/// A breach: which check, when, its value and why.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Breach {
    check: u64,
    at: SystemTime,
    value: Value,
    reason: String,
}

impl Breach {
    /// `{check, at, value, reason}`: the answer's `breach`, and `failed` for `on_fail`.
    fn to_json(&self) -> Value {
        json!({
            "check": self.check,
            "at": humantime::format_rfc3339_seconds(self.at).to_string(),
            "value": self.value,
            "reason": self.reason,
        })
    }
}

/// How a watch ended (a cancellation is an error, not an end).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum End {
    /// `succeed_when` was true (`early`), or `for` passed without a breach and without `succeed_when`.
    Succeeded { early: bool },
    /// `fail_when` was true.
    Breached(Breach),
    /// `for` passed, `succeed_when` was given and never true.
    TimedOut,
    /// `max_failed_checks` checks failed in a row.
    Failed,
}

impl End {
    /// The outcome's word in the answer.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            End::Succeeded { .. } => "succeeded",
            End::Breached(_) => "breached",
            End::TimedOut => "timed_out",
            End::Failed => "failed",
        }
    }

    /// Whether the call is a tool error (`isError: true`).
    pub(crate) fn is_error(&self) -> bool {
        !matches!(self, End::Succeeded { .. })
    }
}

/// The count of a watch so far and the outcome rules.
#[derive(Debug)]
pub(crate) struct Tally {
    /// Checks done, good or failed.
    pub(crate) checks: u64,
    /// Failed checks in all.
    failed_checks: u64,
    /// Failed checks since the last good one.
    in_a_row: u32,
    max_failed_checks: u32,
    /// The value of the last check that gave one.
    last: Option<Value>,
    /// Why the last check failed, when it did.
    last_error: Option<String>,
    /// The last check's verdict, for the progress message.
    last_verdict: Option<Verdict>,
    fail_when: String,
    has_succeed_when: bool,
    watch_for: String,
}

impl Tally {
    /// The tally of a watch judged by `fail_when` (its source, for the breach's reason), with
    /// or without `succeed_when`, over `watch_for`.
    pub(crate) fn new(fail_when: &str, has_succeed_when: bool, watch_for: Duration, max_failed_checks: u32) -> Self {
        Tally {
            checks: 0,
            failed_checks: 0,
            in_a_row: 0,
            max_failed_checks,
            last: None,
            last_error: None,
            last_verdict: None,
            fail_when: fail_when.to_owned(),
            has_succeed_when,
            watch_for: show(watch_for),
        }
    }

    /// Counts one check made at `at`; the end it brings, if any.
    pub(crate) fn record(&mut self, at: SystemTime, result: CheckResult) -> Option<End> {
        self.checks += 1;
        if let Some(v) = &result.value {
            self.last = Some(v.clone());
        }
        match result.verdict {
            Err(e) => {
                self.failed_checks += 1;
                self.in_a_row += 1;
                self.last_error = Some(e);
                self.last_verdict = None;
                (self.in_a_row >= self.max_failed_checks).then_some(End::Failed)
            }
            Ok(verdict) => {
                self.in_a_row = 0;
                self.last_error = None;
                self.last_verdict = Some(verdict);
                match verdict {
                    Verdict::Breach => Some(End::Breached(Breach {
                        check: self.checks,
                        at,
                        value: result.value.unwrap_or(Value::Null),
                        reason: format!("fail_when `{}` was true", self.fail_when),
                    })),
                    Verdict::Succeed => Some(End::Succeeded { early: true }),
                    Verdict::Pass => None,
                }
            }
        }
    }

    /// The end when `for` has passed with no other end.
    pub(crate) fn for_elapsed(&self) -> End {
        if self.has_succeed_when { End::TimedOut } else { End::Succeeded { early: false } }
    }

    /// The status after the last check, for progress notifications (and a task's status).
    pub(crate) fn progress_message(&self, planned: u64) -> String {
        let n = self.checks;
        if let Some(e) = &self.last_error {
            return format!(
                "check {n}/{planned} failed ({} in a row, {} end the watch): {}",
                self.in_a_row,
                self.max_failed_checks,
                excerpt(e)
            );
        }
        let said = match self.last_verdict {
            Some(Verdict::Breach) => "fail_when true: breached".to_owned(),
            Some(Verdict::Succeed) => "fail_when false, succeed_when true: succeeded".to_owned(),
            _ if self.has_succeed_when => "fail_when false, succeed_when false".to_owned(),
            _ => "fail_when false".to_owned(),
        };
        format!("check {n}/{planned}: {said}; last: {}", self.last_excerpt())
    }

    fn last_excerpt(&self) -> String {
        self.last.as_ref().map_or_else(|| "null".to_owned(), |v| excerpt(&v.to_string()))
    }

    /// The answer: structured, with a summary before its JSON text; cut to `max_bytes` by
    /// shortening the values it quotes.
    pub(crate) fn answer(&self, end: &End, on_fail: Option<Value>, max_bytes: usize) -> ToolOutput {
        let mut answer = Map::new();
        answer.insert("outcome".to_owned(), json!(end.word()));
        answer.insert("checks".to_owned(), json!(self.checks));
        answer.insert("failed_checks".to_owned(), json!(self.failed_checks));
        answer.insert("last".to_owned(), self.last.clone().unwrap_or(Value::Null));
        answer.insert("breach".to_owned(), if let End::Breached(b) = end { b.to_json() } else { Value::Null });
        answer.insert("on_fail".to_owned(), on_fail.clone().unwrap_or(Value::Null));
        if let (End::Failed, Some(e)) = (end, &self.last_error) {
            answer.insert("error".to_owned(), json!(e));
        }
        let (answer, truncated) = fit(answer, max_bytes);
        let summary = self.summary(end, on_fail.as_ref());
        let text = format!("{summary}\n{}", Value::Object(answer.clone()));
        ToolOutput { structured: Some(Value::Object(answer)), text, truncated, is_error: end.is_error(), media: None }
    }

    /// One or two lines saying how the watch ended.
    fn summary(&self, end: &End, on_fail: Option<&Value>) -> String {
        let n = self.checks;
        let mut s = match end {
            End::Succeeded { early: true } => format!("watch succeeded at check {n}: succeed_when was true; last: {}", self.last_excerpt()),
            End::Succeeded { early: false } => {
                format!("watch succeeded: {n} checks over {}, fail_when never true; last: {}", self.watch_for, self.last_excerpt())
            }
            End::TimedOut => format!(
                "watch timed out: succeed_when was not true within {} ({n} checks, fail_when never true); last: {}",
                self.watch_for,
                self.last_excerpt()
            ),
            End::Breached(b) => format!(
                "watch breached at check {n} ({}): {}; value: {}",
                humantime::format_rfc3339_seconds(b.at),
                b.reason,
                excerpt(&b.value.to_string())
            ),
            End::Failed => format!(
                "watch failed: {} checks in a row failed (on_fail does not run: a failed check is not a breach); the last: {}",
                self.in_a_row,
                self.last_error.as_deref().map(excerpt).unwrap_or_default()
            ),
        };
        if let Some(o) = on_fail {
            match (o.get("answer"), o.get("error").and_then(Value::as_str)) {
                (Some(a), _) => s.push_str(&format!("\non_fail ran and answered: {}", excerpt(&a.to_string()))),
                (None, Some(e)) if o["ran"] == json!(true) => s.push_str(&format!("\non_fail failed: {}", excerpt(e))),
                (None, Some(e)) => s.push_str(&format!("\n{e}")),
                (None, None) => {}
            }
        }
        s
    }
}

/// The first [`EXCERPT_CHARS`] characters of `s`, marked when cut.
fn excerpt(s: &str) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

/// Cuts an answer longer than `max_bytes` by replacing the values it quotes (`last`,
/// `breach.value`, `on_fail.answer`), largest first, with an excerpt of their JSON text.
fn fit(mut answer: Map<String, Value>, max_bytes: usize) -> (Map<String, Value>, bool) {
    let size = |a: &Map<String, Value>| serde_json::to_string(a).map_or(usize::MAX, |s| s.len());
    if size(&answer) <= max_bytes {
        return (answer, false);
    }
    let room = (max_bytes / 4).max(EXCERPT_CHARS);
    let paths: [&[&str]; 3] = [&["last"], &["breach", "value"], &["on_fail", "answer"]];
    for path in paths {
        if let Some(v) = value_at(&mut answer, path) {
            let text = v.to_string();
            if text.len() > room {
                let head: String = text.chars().take(room).collect();
                *v = Value::String(format!("{head}… [cut: {} bytes of JSON]", text.len()));
            }
        }
        if size(&answer) <= max_bytes {
            break;
        }
    }
    (answer, true)
}

fn value_at<'a>(answer: &'a mut Map<String, Value>, path: &[&str]) -> Option<&'a mut Value> {
    let (first, rest) = path.split_first()?;
    let mut v = answer.get_mut(*first)?;
    for key in rest {
        v = v.get_mut(*key)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(succeed_when: bool, max_failed_checks: u32) -> Tally {
        Tally::new(".errors > 2", succeed_when, Duration::from_secs(10), max_failed_checks)
    }

    fn good(v: Value, verdict: Verdict) -> CheckResult {
        CheckResult { value: Some(v), verdict: Ok(verdict) }
    }

    fn bad(e: &str) -> CheckResult {
        CheckResult { value: None, verdict: Err(e.to_owned()) }
    }

    #[test]
    fn failed_checks_end_the_watch_only_in_a_row() {
        let mut t = watch(false, 3);
        let now = SystemTime::now();
        assert_eq!(t.record(now, bad("500")), None);
        assert_eq!(t.record(now, bad("500")), None);
        assert_eq!(t.record(now, good(json!({"errors": 0}), Verdict::Pass)), None, "a good check resets the count");
        assert_eq!(t.record(now, bad("500")), None);
        assert_eq!(t.record(now, bad("500")), None);
        assert_eq!(t.record(now, bad("503")), Some(End::Failed));
        let out = t.answer(&End::Failed, None, 16_000);
        assert!(out.is_error);
        let s = out.structured.expect("structured");
        assert_eq!(s["outcome"], json!("failed"));
        assert_eq!(s["checks"], json!(6));
        assert_eq!(s["failed_checks"], json!(5));
        assert_eq!(s["error"], json!("503"));
        assert_eq!(s["last"], json!({"errors": 0}), "the last value a check gave");
        assert_eq!(s["on_fail"], Value::Null);
        assert!(out.text.starts_with("watch failed: 3 checks in a row failed"), "{}", out.text);
    }

    #[test]
    fn a_breach_names_its_check_time_value_and_reason() {
        let mut t = watch(true, 3);
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(t.record(at, good(json!({"errors": 1}), Verdict::Pass)), None);
        assert_eq!(t.progress_message(10), "check 1/10: fail_when false, succeed_when false; last: {\"errors\":1}");
        let end = t.record(at, good(json!({"errors": 5}), Verdict::Breach)).expect("an end");
        assert_eq!(end.word(), "breached");
        assert_eq!(t.progress_message(10), "check 2/10: fail_when true: breached; last: {\"errors\":5}");
        let out = t.answer(&end, Some(json!({"ran": true, "answer": {"rolled_back": true}})), 16_000);
        assert!(out.is_error);
        let s = out.structured.expect("structured");
        assert_eq!(
            s["breach"],
            json!({"check": 2, "at": "2023-11-14T22:13:20Z", "value": {"errors": 5}, "reason": "fail_when `.errors > 2` was true"})
        );
        assert!(out.text.contains("\non_fail ran and answered: {\"rolled_back\":true}"), "{}", out.text);
    }

    #[test]
    fn for_elapsed_is_success_unless_succeed_when_was_awaited() {
        let t = watch(false, 3);
        assert_eq!(t.for_elapsed(), End::Succeeded { early: false });
        assert!(!t.for_elapsed().is_error());
        let t = watch(true, 3);
        assert_eq!(t.for_elapsed(), End::TimedOut);
        assert!(t.for_elapsed().is_error());
        let mut t = watch(true, 3);
        assert_eq!(t.record(SystemTime::now(), good(json!({"done": true}), Verdict::Succeed)), Some(End::Succeeded { early: true }));
    }

    #[test]
    fn progress_says_why_a_check_failed_and_cuts_long_values() {
        let mut t = watch(false, 3);
        t.record(SystemTime::now(), bad("HTTP 500 from the backend"));
        assert_eq!(t.progress_message(10), "check 1/10 failed (1 in a row, 3 end the watch): HTTP 500 from the backend");
        t.record(SystemTime::now(), good(json!({"x": "y".repeat(500)}), Verdict::Pass));
        let m = t.progress_message(10);
        assert!(m.ends_with('…') && m.chars().count() < 200, "{m}");
    }

    #[test]
    fn a_long_answer_is_cut_by_its_quoted_values() {
        let mut t = watch(false, 3);
        let big = json!({"rows": (0..500).map(|i| json!({"i": i})).collect::<Vec<_>>()});
        let end = t.record(SystemTime::now(), good(big, Verdict::Breach)).expect("end");
        let out = t.answer(&end, None, 2_000);
        assert!(out.truncated);
        let s = out.structured.expect("structured");
        assert!(serde_json::to_string(&s).expect("json").len() <= 2_000);
        assert_eq!(s["outcome"], json!("breached"));
        assert!(s["last"].as_str().is_some_and(|l| l.contains("[cut: ")), "{}", s["last"]);
    }
}
