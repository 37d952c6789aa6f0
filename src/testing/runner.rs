//! Runs tests one after another through `runtime::call`, the call path `serve` and `call` use,
//! and judges each call's outcome by the test's `expect`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{Expect, ToolTest, recording};
use crate::catalog::jq_worker;
use crate::connections::tape::{Script, Tape, TapeMode};
use crate::runtime::{self, Outcome, Runtime};

/// How a test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every condition held.
    Pass,
    /// The call ran and a condition did not hold (or a replayed request differed from the recording).
    Fail,
    /// The test could not run or be recorded: no recording to replay, a recording refused, a
    /// recording that would hold a secret.
    Error,
}

impl Status {
    /// `pass`, `fail` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

/// What one test gave.
#[derive(Clone, Debug)]
pub struct TestResult {
    /// The test.
    pub test: ToolTest,
    /// How it ended.
    pub status: Status,
    /// Why it failed or erred, one line (or paragraph) each; empty when it passed.
    pub messages: Vec<String>,
    /// The recording written or replayed, if any.
    pub recording: Option<PathBuf>,
    /// How long the test took.
    pub duration: Duration,
}

/// The most characters of an answer a message quotes.
const QUOTED_CHARS: usize = 300;

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(QUOTED_CHARS).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Runs every test on `runtime` (whose clients carry `tape` when recording or replaying into
/// or from `dir`), one at a time, in the order given.
pub async fn run(runtime: &Runtime, tests: &[ToolTest], tape: Option<(&Arc<Tape>, &Path)>) -> Vec<TestResult> {
    let mut out = Vec::with_capacity(tests.len());
    for test in tests {
        out.push(run_one(runtime, test, tape).await);
    }
    out
}

async fn run_one(runtime: &Runtime, test: &ToolTest, tape: Option<(&Arc<Tape>, &Path)>) -> TestResult {
    let started = Instant::now();
    let mut result =
        TestResult { test: test.clone(), status: Status::Pass, messages: Vec::new(), recording: None, duration: Duration::ZERO };
    let error = |mut r: TestResult, message: String| {
        r.status = Status::Error;
        r.messages.push(message);
        r.duration = started.elapsed();
        r
    };
    if let Some((tape, dir)) = tape {
        match tape.mode() {
            TapeMode::Replay => match recording::read(dir, test) {
                Ok((path, script)) => {
                    result.recording = Some(path);
                    tape.start(script);
                }
                Err(e) => return error(result, format!("cannot replay: {e}")),
            },
            TapeMode::Record => tape.start(Script::default()),
        }
    }
    let loaded = runtime.current();
    let outcome = match runtime::lookup(&loaded.catalog, &test.tool) {
        Ok(tool) => runtime::call(&loaded, tool, Some(&test.args), &CancellationToken::new(), None).await,
        Err(unknown) => return error(result, format!("internal: {unknown}")),
    };
    result.messages = judge(&test.expect, &outcome).await;
    if let Some((tape, dir)) = tape {
        let taken = tape.finish();
        match tape.mode() {
            TapeMode::Replay => {
                // A request that differed from its recording got no answer: what the call then
                // gave says nothing about the spec, so the differences alone are reported.
                if !taken.problems.is_empty() {
                    result.messages = taken.problems.into_iter().map(|p| format!("replay: {p}")).collect();
                }
            }
            TapeMode::Record => {
                let time = taken.time.unwrap_or_else(|| loaded.backends.now());
                match recording::write(dir, test, time, taken.exchanges, &taken.secrets) {
                    Ok(path) => result.recording = Some(path),
                    Err(e) => return error(result, format!("not recorded: {e}")),
                }
            }
        }
    }
    if !result.messages.is_empty() {
        result.status = Status::Fail;
    }
    result.duration = started.elapsed();
    result
}

/// The result as one JSON value, as `expect.jq` reads it: the structured result, else the
/// text as a string.
fn value_of(outcome: &Outcome) -> Value {
    match &outcome.structured {
        Some(v) => v.clone(),
        None => Value::String(outcome.text.clone()),
    }
}

/// The text the model reads: the result's text, or, for a result that lists its content
/// blocks (a `steps` tool's `content:`), its text blocks joined by blank lines.
fn text_read(outcome: &Outcome) -> std::borrow::Cow<'_, str> {
    use crate::actions::output::{Block, Content};
    match &outcome.media {
        Some(Content::Blocks(blocks)) => std::borrow::Cow::Owned(
            blocks
                .iter()
                .filter_map(|b| match b {
                    Block::Text(t) => Some(t.as_str()),
                    Block::Media(_) => None,
                })
                .collect::<Vec<_>>()
                .join("\n\n"),
        ),
        _ => std::borrow::Cow::Borrowed(&outcome.text),
    }
}

/// The row count of a structured result: the elements of the array `max_bytes` would cut;
/// 0 when its arrays are all empty; `None` when it holds no array.
fn rows(outcome: &Outcome) -> Option<usize> {
    let Some(Value::Object(object)) = &outcome.structured else { return None };
    if let Some((_, items)) = crate::actions::output::rows_array(object) {
        return Some(items.len());
    }
    object.values().any(Value::is_array).then_some(0)
}

/// Every condition of `expect` that the outcome does not meet, one message each.
pub async fn judge(expect: &Expect, outcome: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    match (expect.is_error, outcome.is_error) {
        (false, true) => {
            // What else is expected is about a result there is not.
            out.push(format!("the call failed: {}", clip(&outcome.text)));
            return out;
        }
        (true, false) => out.push(format!("expected a tool error, but the call succeeded: {}", clip(&outcome.text))),
        _ => {}
    }
    let read = text_read(outcome);
    for needle in &expect.contains {
        if !read.contains(needle.as_str()) {
            out.push(format!("the answer does not contain {needle:?}: {}", clip(&read)));
        }
    }
    for needle in &expect.not_contains {
        if read.contains(needle.as_str()) {
            out.push(format!("the answer contains {needle:?}, which it must not: {}", clip(&read)));
        }
    }
    if let Some(filter) = &expect.jq {
        match jq_worker::run_value(filter, &value_of(outcome)).await {
            Ok(v @ (Value::Null | Value::Bool(false))) => {
                out.push(format!("`expect.jq` ({}) gave {v} for the result: {}", filter.source(), clip(&outcome.text)));
            }
            Ok(_) => {}
            Err(e) => out.push(format!("`expect.jq` ({}) failed: {e}", filter.source())),
        }
    }
    if let Some(bounds) = expect.rows {
        match rows(outcome) {
            None => out.push(format!("`expect.rows` counts the rows of an array, and the result holds none: {}", clip(&outcome.text))),
            Some(n) => {
                let n = n as u64;
                if let Some(min) = bounds.min.filter(|m| n < *m) {
                    out.push(format!("the result has {n} row(s), fewer than `rows.min` ({min})"));
                }
                if let Some(max) = bounds.max.filter(|m| n > *m) {
                    out.push(format!("the result has {n} row(s), more than `rows.max` ({max})"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::output::{Block, Content, Media, MediaKind};

    /// `contains` reads what the model reads: for a result that lists its blocks (a steps
    /// tool's `content:`), the text blocks, not the structured result's JSON text.
    #[tokio::test]
    async fn contains_reads_the_text_blocks_of_a_content_result() {
        let image = Media { kind: MediaKind::Image, mime_type: "image/png".to_owned(), data: bytes::Bytes::from_static(b"\x89PNG") };
        let outcome = Outcome {
            is_error: false,
            structured: Some(serde_json::json!({"steps": {}})),
            text: "{\"steps\":{}}".to_owned(),
            kind: crate::observability::CallOutcome::Ok,
            media: Some(Content::Blocks(vec![
                Block::Text("p99 is 420 ms".to_owned()),
                Block::Media(image),
                Block::Text("runbook".to_owned()),
            ])),
        };
        let expect = Expect {
            contains: vec!["420 ms".to_owned(), "runbook".to_owned()],
            not_contains: vec!["steps".to_owned()],
            ..Expect::default()
        };
        assert!(judge(&expect, &outcome).await.is_empty());
        let expect = Expect { contains: vec!["missing".to_owned()], ..Expect::default() };
        let messages = judge(&expect, &outcome).await;
        assert!(messages.len() == 1 && messages[0].contains("p99 is 420 ms"), "{messages:?}");
    }
}
