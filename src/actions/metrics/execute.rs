//! CloudWatch GetMetricData: metric stats (any statistic, percentiles included) and
//! expressions over one window and period, timestamps ascending, paged with NextToken.
//!
//! Each series comes back with its label, status, timestamps (RFC 3339), values and a summary
//! (min, max, average, last, count), so a model can reason about a series without reading every
//! point. When the result is over the tool's `max_bytes`, the oldest points are dropped first,
//! the same number from every series, and the summaries still cover every point.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use aws_sdk_cloudwatch::types::{Dimension, MessageData, Metric, MetricDataQuery, MetricStat, ScanBy, StandardUnit};
use serde_json::{Map, Value, json};

use super::request::{MetricQuery, MetricsRequest};
use crate::actions::CallContext;
use crate::actions::output::{self, ToolOutput};
use crate::connections::aws::client::{Attempt, describe_error};

/// A bound on result pages, against a service that keeps handing out tokens.
const MAX_PAGES: usize = 200;

/// One series as it is collected over the pages.
#[derive(Debug, Default)]
struct Series {
    id: String,
    label: Option<String>,
    status: Option<String>,
    timestamps: Vec<String>,
    values: Vec<f64>,
    messages: Vec<Value>,
}

/// Runs one GetMetricData request and shapes the series for the model.
pub async fn run(client: &Client, request: &MetricsRequest, max_bytes: usize, ctx: &CallContext) -> Result<ToolOutput, String> {
    let queries: Vec<MetricDataQuery> = request.queries.iter().map(|q| data_query(q, request.period)).collect();
    // The series in the order of the spec's queries; a query with `return_data: false` has none.
    let mut series: Vec<Series> = request
        .queries
        .iter()
        .filter(|q| q.return_data)
        .map(|q| Series { id: q.id.clone(), label: q.label.clone(), ..Series::default() })
        .collect();
    let mut messages: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let send = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from_secs(request.start))
            .end_time(DateTime::from_secs(request.end))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.clone())
            .send();
        let answer = tokio::select! {
            biased;
            () = ctx.cancel.cancelled() => return Err("the metric fetch was cancelled by the client".to_owned()),
            () = tokio::time::sleep_until(ctx.deadline) => return Err("GetMetricData did not finish before the tool's timeout; ask for a shorter window or a longer period".to_owned()),
            answer = send => answer,
        };
        let answer = answer.map_err(|e| {
            let metrics: Vec<String> = request.queries.iter().filter_map(|q| q.metric.as_ref().map(|m| format!("`{m}`"))).collect();
            let resource =
                (!metrics.is_empty()).then(|| format!("metric{} {}", if metrics.len() == 1 { "" } else { "s" }, metrics.join(", ")));
            describe_error(&Attempt { service: "CloudWatch", action: "cloudwatch:GetMetricData", resource }, &e)
        })?;
        for result in answer.metric_data_results() {
            let id = result.id().unwrap_or_default();
            let index = match series.iter().position(|s| s.id == id) {
                Some(i) => i,
                None => {
                    series.push(Series { id: id.to_owned(), ..Series::default() });
                    series.len() - 1
                }
            };
            let s = &mut series[index];
            if let Some(label) = result.label() {
                s.label = Some(label.to_owned());
            }
            if let Some(status) = result.status_code() {
                s.status = Some(status.as_str().to_owned());
            }
            s.timestamps.extend(result.timestamps().iter().map(rfc3339));
            s.values.extend_from_slice(result.values());
            s.messages.extend(result.messages().iter().map(message_json));
        }
        messages.extend(answer.messages().iter().map(message_json));
        token = answer.next_token().filter(|next| Some(*next) != token.as_deref()).map(str::to_owned);
        if token.is_none() {
            break;
        }
    }

    let head = json!({
        "period": request.period,
        "start": rfc3339(&DateTime::from_secs(request.start)),
        "end": rfc3339(&DateTime::from_secs(request.end)),
    });
    Ok(shape(head, &series, &messages, max_bytes))
}

/// The API query for one rendered query. Expressions get the period only when they are
/// Metrics Insights queries (`SELECT ...`); math expressions take it from their inputs.
fn data_query(q: &MetricQuery, period: i32) -> MetricDataQuery {
    let builder = MetricDataQuery::builder().id(&q.id).set_label(q.label.clone()).return_data(q.return_data);
    if let Some(expression) = &q.expression {
        let insights = expression.trim_start().get(..6).is_some_and(|w| w.eq_ignore_ascii_case("select"));
        return builder.expression(expression).set_period(insights.then_some(period)).build();
    }
    let dimensions: Vec<Dimension> =
        q.dimensions.iter().map(|(name, value)| Dimension::builder().name(name).value(value).build()).collect();
    let metric = Metric::builder()
        .set_namespace(q.namespace.clone())
        .set_metric_name(q.metric.clone())
        .set_dimensions((!dimensions.is_empty()).then_some(dimensions))
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(period)
        .stat(q.stat.clone().unwrap_or_else(|| "Average".to_owned()))
        .set_unit(q.unit.as_deref().map(StandardUnit::from))
        .build();
    builder.metric_stat(stat).build()
}

fn rfc3339(t: &DateTime) -> String {
    t.fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| t.secs().to_string())
}

fn message_json(m: &MessageData) -> Value {
    json!({"code": m.code(), "value": m.value()})
}

/// min, max, average, last and count over every point of a series.
fn summary(values: &[f64]) -> Value {
    let Some(&last) = values.last() else {
        return json!({"min": null, "max": null, "average": null, "last": null, "count": 0});
    };
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    #[allow(clippy::cast_precision_loss)]
    let average = values.iter().sum::<f64>() / values.len() as f64;
    json!({"min": min, "max": max, "average": average, "last": last, "count": values.len()})
}

/// The result with at most `keep` points (the newest) per series.
fn build(head: &Value, series: &[Series], messages: &[Value], keep: Option<usize>) -> Value {
    let mut object = match head {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let items: Vec<Value> = series
        .iter()
        .map(|s| {
            let total = s.values.len();
            let from = keep.map_or(0, |k| total.saturating_sub(k));
            let mut o = Map::new();
            o.insert("id".into(), json!(s.id));
            o.insert("label".into(), json!(s.label.clone().unwrap_or_else(|| s.id.clone())));
            o.insert("status".into(), json!(s.status));
            o.insert("timestamps".into(), json!(s.timestamps.get(from..).unwrap_or_default()));
            o.insert("values".into(), json!(s.values.get(from..).unwrap_or_default()));
            o.insert("summary".into(), summary(&s.values));
            if from > 0 {
                o.insert("points_kept".into(), json!(total - from));
                o.insert("points_total".into(), json!(total));
            }
            if !s.messages.is_empty() {
                o.insert("messages".into(), Value::Array(s.messages.clone()));
            }
            Value::Object(o)
        })
        .collect();
    object.insert("series".into(), Value::Array(items));
    if !messages.is_empty() {
        object.insert("messages".into(), Value::Array(messages.to_vec()));
    }
    if keep.is_some() {
        object.insert("truncated".into(), json!(true));
        object.insert("note".into(), json!("the oldest points were left out to fit the output limit; each summary covers every point"));
    }
    Value::Object(object)
}

/// Shapes the result to `max_bytes`: everything when it fits; else the largest number of
/// newest points per series that fits (the summaries stay whole); else the generic cut, which
/// keeps whole series.
fn shape(head: Value, series: &[Series], messages: &[Value], max_bytes: usize) -> ToolOutput {
    let size = |v: &Value| serde_json::to_string(v).map_or(usize::MAX, |s| s.len());
    let full = build(&head, series, messages, None);
    if size(&full) <= max_bytes {
        return output::shape_json(full, max_bytes);
    }
    let longest = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let fits = |k: usize| size(&build(&head, series, messages, Some(k))) <= max_bytes;
    if longest == 0 || !fits(0) {
        return output::shape_json(build(&head, series, messages, Some(0)), max_bytes);
    }
    // The largest `k` in 0..longest that fits (fits(0) holds; fits(longest) does not).
    let (mut lo, mut hi) = (0, longest);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) { lo = mid } else { hi = mid }
    }
    let value = build(&head, series, messages, Some(lo));
    let text = serde_json::to_string(&value).unwrap_or_default();
    ToolOutput { structured: Some(value), text, truncated: true, is_error: false, media: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize) -> Series {
        Series {
            id: "m1".into(),
            label: Some("Latency".into()),
            status: Some("Complete".into()),
            timestamps: (0..n).map(|i| rfc3339(&DateTime::from_secs(1_800_000_000 + 60 * i as i64))).collect(),
            values: (0..n).map(|i| i as f64).collect(),
            messages: Vec::new(),
        }
    }

    #[test]
    fn summary_covers_every_point() {
        assert_eq!(summary(&[3.0, 1.0, 2.0]), json!({"min": 1.0, "max": 3.0, "average": 2.0, "last": 2.0, "count": 3}));
        assert_eq!(summary(&[])["count"], json!(0));
    }

    #[test]
    fn over_the_limit_the_newest_points_stay_and_the_summary_stays_whole() {
        let head = json!({"period": 60});
        let s = [series(500)];
        let out = shape(head.clone(), &s, &[], 2_000);
        assert!(out.truncated);
        assert!(out.text.len() <= 2_000, "{}", out.text.len());
        let v = out.structured.expect("structured");
        let first = &v["series"][0];
        let kept = first["points_kept"].as_u64().expect("points_kept") as usize;
        assert!(kept > 10 && kept < 500, "{kept}");
        assert_eq!(first["values"].as_array().map(Vec::len), Some(kept));
        assert_eq!(first["values"].as_array().and_then(|a| a.last()), Some(&json!(499.0)));
        assert_eq!(first["summary"]["count"], json!(500));
        assert_eq!(first["summary"]["min"], json!(0.0));
        // One more point would not fit.
        assert!(serde_json::to_string(&build(&head, &s, &[], Some(kept + 1))).expect("json").len() > 2_000);

        let small = shape(head, &[series(3)], &[], 2_000);
        assert!(!small.truncated);
        assert!(small.structured.expect("structured")["series"][0].get("points_kept").is_none());
    }
}
