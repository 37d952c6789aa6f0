//! CloudWatch Logs Insights: StartQuery, poll GetQueryResults until the query ends, page the
//! results up to the limit, and StopQuery when the deadline passes or the client cancels.
//!
//! The query text, the log groups, the window and the limit come rendered (and escaped) from
//! `request.rs`; this module only sends them. The window travels in startTime/endTime and
//! the limit is always sent, so neither depends on the query text.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{QueryStatistics, QueryStatus, ResultField};
use serde_json::{Map, Value, json};

use super::request::LogsRequest;
use crate::actions::CallContext;
use crate::actions::output::{self, ToolOutput};
use crate::connections::aws::client::{Attempt, STOP_GRACE, describe_error};

/// The wait after the first GetQueryResults, which is sent at once (a small query on a
/// quiet log group is often complete by then); each wait doubles up to [`MAX_POLL_INTERVAL`].
/// Polls in the first second: at 0, 0.1, 0.3 and 0.7 s.
pub const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The longest wait between two polls.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// The most rows one GetQueryResults page may hold.
const MAX_PAGE: i64 = 10_000;
/// A bound on result pages, against a service that keeps handing out tokens.
const MAX_PAGES: usize = 100;

/// Why a wait ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interrupt {
    Deadline,
    Cancelled,
}

/// Awaits `fut` unless the client cancels or the deadline passes first.
async fn guarded<F: Future>(ctx: &CallContext, fut: F) -> Result<F::Output, Interrupt> {
    tokio::select! {
        biased;
        () = ctx.cancel.cancelled() => Err(Interrupt::Cancelled),
        () = tokio::time::sleep_until(ctx.deadline) => Err(Interrupt::Deadline),
        out = fut => Ok(out),
    }
}

/// A started query that is stopped if it is abandoned: when this guard is dropped while
/// armed (the call's future was dropped, say by a transport that went away), StopQuery is sent
/// from a background task, so an abandoned query does not run (and cost) for up to an hour.
struct RunningQuery {
    client: Client,
    id: String,
    armed: bool,
}

impl RunningQuery {
    /// The query ended by itself (or was stopped): nothing to do on drop.
    fn disarm(&mut self) {
        self.armed = false;
    }

    /// Sends StopQuery (bounded by [`STOP_GRACE`]); `Err` says why it did not work. The guard
    /// stays armed until StopQuery has answered, so a call dropped meanwhile still stops it.
    async fn stop(&mut self) -> Result<(), String> {
        let answer = tokio::time::timeout(STOP_GRACE, self.client.stop_query().query_id(&self.id).send()).await;
        self.armed = false;
        match answer {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(describe_error(&Attempt { service: "CloudWatch Logs", action: "logs:StopQuery", resource: None }, &e)),
            Err(_) => Err("StopQuery did not answer in time".to_owned()),
        }
    }
}

impl Drop for RunningQuery {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let id = std::mem::take(&mut self.id);
        handle.spawn(async move {
            let stopped = tokio::time::timeout(STOP_GRACE, client.stop_query().query_id(&id).send()).await;
            tracing::debug!(query_id = %id, ok = matches!(stopped, Ok(Ok(_))), "stopped an abandoned Logs Insights query");
        });
    }
}

/// Runs one Logs Insights request and shapes its rows for the model (cut to `max_bytes` at a
/// row boundary). Errors are messages for the model.
pub async fn run(client: &Client, request: &LogsRequest, max_bytes: usize, ctx: &CallContext) -> Result<ToolOutput, String> {
    let groups = request.log_groups.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(", ");
    let resource = Some(format!("log group{} {groups}", if request.log_groups.len() == 1 { "" } else { "s" }));
    let limit = request.limit.clamp(1, MAX_PAGE);
    let limit_i32 = i32::try_from(limit).unwrap_or(i32::MAX);

    let start = client
        .start_query()
        .set_log_group_names(Some(request.log_groups.clone()))
        .query_string(&request.query)
        .start_time(request.start)
        .end_time(request.end)
        .limit(limit_i32)
        .send();
    // StartQuery is not abandoned half-way when the client cancels: without its answer there
    // is no query id to stop. It gets until the deadline plus the grace to answer.
    let started = match tokio::time::timeout_at(ctx.deadline + STOP_GRACE, start).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(describe_error(&Attempt { service: "CloudWatch Logs", action: "logs:StartQuery", resource }, &e));
        }
        Err(_) => {
            return Err("CloudWatch Logs did not answer StartQuery before the tool's timeout".to_owned());
        }
    };
    let Some(id) = started.query_id().map(str::to_owned) else {
        return Err("CloudWatch Logs answered StartQuery without a query id".to_owned());
    };
    let mut query = RunningQuery { client: client.clone(), id: id.clone(), armed: true };
    if ctx.cancel.is_cancelled() {
        return Err(interrupted(&mut query, Interrupt::Cancelled, None).await);
    }

    let page_size = limit_i32;
    let mut wait = Duration::ZERO;
    let mut polls: u64 = 0;
    let mut last: Option<(QueryStatus, Option<QueryStatistics>)> = None;
    let first_page = loop {
        if !wait.is_zero()
            && let Err(why) = guarded(ctx, tokio::time::sleep(wait)).await
        {
            return Err(interrupted(&mut query, why, last.as_ref()).await);
        }
        wait = if wait.is_zero() { FIRST_POLL_INTERVAL } else { (wait * 2).min(MAX_POLL_INTERVAL) };
        let answer = match guarded(ctx, client.get_query_results().query_id(&id).max_items(page_size).send()).await {
            Err(why) => return Err(interrupted(&mut query, why, last.as_ref()).await),
            Ok(Err(e)) => {
                // The query is abandoned: stop it (best effort) before reporting.
                let _ = query.stop().await;
                return Err(describe_error(&Attempt { service: "CloudWatch Logs", action: "logs:GetQueryResults", resource: None }, &e));
            }
            Ok(Ok(answer)) => answer,
        };
        polls += 1;
        let status = answer.status().cloned().unwrap_or(QueryStatus::UnknownValue);
        match status {
            QueryStatus::Complete => {
                query.disarm();
                break answer;
            }
            QueryStatus::Scheduled | QueryStatus::Running => {
                let scanned = answer.statistics().map_or(0.0, QueryStatistics::records_scanned);
                if let Some(progress) = &ctx.progress {
                    // The number of polls always increases, as MCP requires of progress values.
                    #[allow(clippy::cast_precision_loss)]
                    progress(polls as f64, None, format!("query {}, {} records scanned", status.as_str(), whole(scanned)));
                }
                last = Some((status, answer.statistics().cloned()));
            }
            other => {
                query.disarm();
                return Err(ended_badly(&other));
            }
        }
    };

    let statistics = first_page.statistics().cloned();
    let mut rows: Vec<Value> = Vec::new();
    push_rows(&mut rows, first_page.results(), limit);
    let mut token = first_page.next_token().map(str::to_owned);
    let mut pages = 1;
    while let Some(t) = token.take() {
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit || pages >= MAX_PAGES {
            break;
        }
        let want = i32::try_from(limit - i64::try_from(rows.len()).unwrap_or(0)).unwrap_or(i32::MAX);
        let answer = match guarded(ctx, client.get_query_results().query_id(&id).next_token(&t).max_items(want).send()).await {
            Err(Interrupt::Cancelled) => {
                return Err("the call was cancelled by the client while the query's results were being read".to_owned());
            }
            Err(Interrupt::Deadline) => {
                return Err(
                    "the query finished, but reading its results did not finish before the tool's timeout; ask for fewer rows".to_owned()
                );
            }
            Ok(Err(e)) => {
                return Err(describe_error(&Attempt { service: "CloudWatch Logs", action: "logs:GetQueryResults", resource: None }, &e));
            }
            Ok(Ok(answer)) => answer,
        };
        pages += 1;
        push_rows(&mut rows, answer.results(), limit);
        token = answer.next_token().filter(|next| *next != t).map(str::to_owned);
    }

    let mut result = Map::new();
    result.insert("rows".to_owned(), Value::Array(rows));
    result.insert("statistics".to_owned(), statistics_json(statistics.as_ref()));
    Ok(output::shape_json(Value::Object(result), max_bytes))
}

/// Appends result rows as objects (field → value), without `@ptr`, up to `limit` rows.
fn push_rows(rows: &mut Vec<Value>, results: &[Vec<ResultField>], limit: i64) {
    for fields in results {
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit {
            return;
        }
        let row: Map<String, Value> = fields
            .iter()
            .filter_map(|f| {
                let name = f.field()?;
                // `@ptr` is an opaque pointer for GetLogRecord, useless to a model.
                (name != "@ptr").then(|| (name.to_owned(), f.value().map_or(Value::Null, |v| Value::String(v.to_owned()))))
            })
            .collect();
        rows.push(Value::Object(row));
    }
}

/// A count from the API (a double) as a JSON integer when it is whole.
fn whole(x: f64) -> Value {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9.0e15 { json!(x as u64) } else { json!(x) }
}

fn statistics_json(s: Option<&QueryStatistics>) -> Value {
    match s {
        Some(s) => json!({
            "records_matched": whole(s.records_matched()),
            "records_scanned": whole(s.records_scanned()),
            "bytes_scanned": whole(s.bytes_scanned()),
        }),
        None => Value::Null,
    }
}

/// The message for a query that ended without results.
fn ended_badly(status: &QueryStatus) -> String {
    match status {
        QueryStatus::Failed => "the Logs Insights query failed in CloudWatch Logs (status Failed); the query may not suit these log groups: see it with `toolwright render`".to_owned(),
        QueryStatus::Timeout => "the Logs Insights query timed out in CloudWatch Logs (status Timeout: a query may run at most 60 minutes); narrow the time window or the search".to_owned(),
        QueryStatus::Cancelled => "the Logs Insights query was cancelled in CloudWatch Logs by someone else (status Cancelled); run the tool again".to_owned(),
        other => format!("CloudWatch Logs reported status {} for the Logs Insights query; run the tool again", other.as_str()),
    }
}

/// Stops the query after the deadline passed or the client cancelled, and says so.
async fn interrupted(query: &mut RunningQuery, why: Interrupt, last: Option<&(QueryStatus, Option<QueryStatistics>)>) -> String {
    let stopped = query.stop().await;
    let state = last.map(|(status, stats)| {
        let scanned = stats.as_ref().map_or(0.0, QueryStatistics::records_scanned);
        format!(" (last status {}, {} records scanned)", status.as_str(), whole(scanned))
    });
    let stop = match stopped {
        Ok(()) => "was stopped (StopQuery)".to_owned(),
        Err(e) => format!("could not be stopped: {e}"),
    };
    match why {
        Interrupt::Deadline => format!(
            "the Logs Insights query timed out: it did not finish before the tool's timeout and {stop}{}; narrow the time window or the search, or raise the tool's `timeout`",
            state.unwrap_or_default()
        ),
        Interrupt::Cancelled => format!("the Logs Insights query was cancelled by the client and {stop}{}", state.unwrap_or_default()),
    }
}
