//! The CloudWatch backends against mocked SDK clients (aws-smithy-mocks): the query lifecycles
//! MiniStack cannot produce (it completes every query at once), the tool's deadline and the
//! client's cancellation (both must send StopQuery), result paging, and AWS errors.
//!
//! Time is paused (tokio's test clock), so the polling backoff and the deadlines cost nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{MetricDataResult, StatusCode};
use aws_sdk_cloudwatchlogs::Client as LogsClient;
use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_cloudwatchlogs::operation::start_query::StartQueryOutput;
use aws_sdk_cloudwatchlogs::operation::stop_query::StopQueryOutput;
use aws_sdk_cloudwatchlogs::types::{QueryStatistics, QueryStatus, ResultField};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use toolwright::actions::logs_insights::LogsRequest;
use toolwright::actions::metrics::{MetricQuery, MetricsRequest};
use toolwright::actions::{CallContext, logs_insights, metrics};

type Progress = Arc<Mutex<Vec<(f64, Option<f64>, String)>>>;

fn context(timeout: Duration) -> (CallContext, Progress) {
    let seen: Progress = Arc::default();
    let sink = seen.clone();
    let ctx = CallContext {
        cancel: CancellationToken::new(),
        deadline: Instant::now() + timeout,
        timeout,
        progress: Some(Arc::new(move |p, total, message| {
            sink.lock().expect("progress lock").push((p, total, message));
        })),
        ask: None,
        log: None,
    };
    (ctx, seen)
}

fn request(limit: i64) -> LogsRequest {
    LogsRequest {
        connection: None,
        log_groups: vec!["/ecs/checkout".into(), "/ecs/payments".into()],
        query: "fields @timestamp, @message | filter @message like \"ERROR\"".into(),
        start: 1_800_000_000,
        end: 1_800_003_600,
        limit,
        max_bytes: 16_000,
    }
}

fn start_rule() -> Rule {
    mock!(LogsClient::start_query)
        .match_requests(|r| {
            r.log_group_names() == ["/ecs/checkout", "/ecs/payments"]
                && r.start_time() == Some(1_800_000_000)
                && r.end_time() == Some(1_800_003_600)
                && r.limit().is_some()
                && r.query_string() == Some("fields @timestamp, @message | filter @message like \"ERROR\"")
        })
        .then_output(|| StartQueryOutput::builder().query_id("q-1").build())
}

fn stop_rule() -> Rule {
    mock!(LogsClient::stop_query)
        .match_requests(|r| r.query_id() == Some("q-1"))
        .then_output(|| StopQueryOutput::builder().success(true).build())
}

fn stats(scanned: f64) -> QueryStatistics {
    QueryStatistics::builder().records_matched(2.0).records_scanned(scanned).bytes_scanned(scanned * 100.0).build()
}

fn status(s: QueryStatus, scanned: f64) -> GetQueryResultsOutput {
    GetQueryResultsOutput::builder().status(s).statistics(stats(scanned)).build()
}

fn row(n: usize) -> Vec<ResultField> {
    vec![
        ResultField::builder().field("@timestamp").value(format!("2027-01-15 08:00:0{n}.000")).build(),
        ResultField::builder().field("@message").value(format!("ERROR number {n}")).build(),
        ResultField::builder().field("@ptr").value("CmAKJgoiMTIz").build(),
    ]
}

fn complete(rows: std::ops::Range<usize>, next: Option<&str>) -> GetQueryResultsOutput {
    let mut b = GetQueryResultsOutput::builder().status(QueryStatus::Complete).statistics(stats(1234.0));
    for n in rows {
        b = b.results(row(n));
    }
    b.set_next_token(next.map(str::to_owned)).build()
}

#[tokio::test(start_paused = true)]
async fn scheduled_running_complete_returns_rows_without_ptr_and_reports_progress() {
    let start = start_rule();
    let results = mock!(LogsClient::get_query_results)
        .match_requests(|r| r.query_id() == Some("q-1") && r.max_items() == Some(100) && r.next_token().is_none())
        .sequence()
        .output(|| status(QueryStatus::Scheduled, 0.0))
        .output(|| status(QueryStatus::Running, 600.0))
        .output(|| status(QueryStatus::Running, 1234.0))
        .output(|| complete(0..2, None))
        .build();
    let stop = stop_rule();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start, &results, &stop]);
    let (ctx, progress) = context(Duration::from_secs(60));
    let began = Instant::now();

    let out = logs_insights::run(&client, &request(100), 16_000, &ctx).await.expect("rows");

    // The first poll at once, then the backoff: 100 ms, 200 ms, 400 ms before the other three.
    assert_eq!(began.elapsed(), Duration::from_millis(700));
    assert_eq!(start.num_calls(), 1);
    assert_eq!(results.num_calls(), 4);
    assert_eq!(stop.num_calls(), 0, "a completed query is not stopped");
    assert!(!out.truncated);
    let s = out.structured.expect("structured");
    assert_eq!(
        s,
        json!({
            "rows": [
                {"@timestamp": "2027-01-15 08:00:00.000", "@message": "ERROR number 0"},
                {"@timestamp": "2027-01-15 08:00:01.000", "@message": "ERROR number 1"},
            ],
            "statistics": {"records_matched": 2, "records_scanned": 1234, "bytes_scanned": 123_400},
        })
    );
    assert_eq!(out.text, serde_json::to_string(&s).expect("text"));
    let progress = progress.lock().expect("lock").clone();
    assert_eq!(
        progress,
        vec![
            (1.0, None, "query Scheduled, 0 records scanned".to_owned()),
            (2.0, None, "query Running, 600 records scanned".to_owned()),
            (3.0, None, "query Running, 1234 records scanned".to_owned()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn results_are_paged_with_next_token_up_to_the_limit_and_cut_at_a_row_boundary() {
    let start = start_rule();
    let first = mock!(LogsClient::get_query_results)
        .match_requests(|r| r.next_token().is_none() && r.max_items() == Some(5))
        .then_output(|| complete(0..2, Some("page-2")));
    let second = mock!(LogsClient::get_query_results)
        .match_requests(|r| r.next_token() == Some("page-2") && r.max_items() == Some(3))
        .then_output(|| complete(2..4, Some("page-3")));
    let third = mock!(LogsClient::get_query_results)
        .match_requests(|r| r.next_token() == Some("page-3") && r.max_items() == Some(1))
        .then_output(|| complete(4..9, Some("page-4")));
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start, &first, &second, &third]);
    let (ctx, _) = context(Duration::from_secs(60));

    let out = logs_insights::run(&client, &request(5), 16_000, &ctx).await.expect("rows");
    let s = out.structured.expect("structured");
    let rows = s["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 5, "{s}");
    assert_eq!(rows[4]["@message"], json!("ERROR number 4"));
    assert_eq!((first.num_calls(), second.num_calls(), third.num_calls()), (1, 1, 1));

    // Over max_bytes the rows are cut at a row boundary, and the output says so.
    let first = mock!(LogsClient::get_query_results).then_output(|| complete(0..9, None));
    let start = start_rule();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start, &first]);
    let out = logs_insights::run(&client, &request(100), 400, &ctx).await.expect("rows");
    assert!(out.truncated);
    assert!(out.text.len() <= 400, "{}", out.text);
    let s = out.structured.expect("structured");
    let kept = s["kept"].as_u64().expect("kept");
    assert!((1..9).contains(&kept), "{s}");
    assert_eq!(s["total"], json!(9));
    assert_eq!(s["truncated"], json!(true));
    assert_eq!(s["rows"].as_array().map(Vec::len), Some(kept as usize));
}

async fn ends_with(final_status: QueryStatus) -> (String, usize) {
    let start = start_rule();
    let results = mock!(LogsClient::get_query_results)
        .sequence()
        .output(|| status(QueryStatus::Running, 10.0))
        .output(move || status(final_status.clone(), 10.0))
        .build();
    let stop = stop_rule();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start, &results, &stop]);
    let (ctx, _) = context(Duration::from_secs(60));
    let err = logs_insights::run(&client, &request(10), 16_000, &ctx).await.expect_err("an error");
    (err, stop.num_calls())
}

#[tokio::test(start_paused = true)]
async fn a_failed_query_is_a_tool_error() {
    let (err, stops) = ends_with(QueryStatus::Failed).await;
    assert!(err.contains("failed") && err.contains("status Failed"), "{err}");
    assert_eq!(stops, 0);
}

#[tokio::test(start_paused = true)]
async fn a_query_that_timed_out_in_cloudwatch_is_a_tool_error() {
    let (err, stops) = ends_with(QueryStatus::Timeout).await;
    assert!(err.contains("timed out in CloudWatch Logs") && err.contains("60 minutes"), "{err}");
    assert_eq!(stops, 0);
    let (err, _) = ends_with(QueryStatus::Cancelled).await;
    assert!(err.contains("status Cancelled"), "{err}");
    let (err, _) = ends_with(QueryStatus::UnknownValue).await;
    assert!(err.contains("status Unknown"), "{err}");
}

fn forever_running() -> Rule {
    mock!(LogsClient::get_query_results).sequence().output(|| status(QueryStatus::Running, 77.0)).repeatedly().build()
}

#[tokio::test(start_paused = true)]
async fn the_tools_timeout_stops_the_query() {
    let start = start_rule();
    let results = forever_running();
    let stop = stop_rule();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start, &results, &stop]);
    let (ctx, _) = context(Duration::from_secs(10));
    let began = Instant::now();

    let err = logs_insights::run(&client, &request(10), 16_000, &ctx).await.expect_err("timeout");

    assert_eq!(stop.num_calls(), 1, "StopQuery was sent");
    assert!(err.contains("timed out") && err.contains("was stopped (StopQuery)"), "{err}");
    assert!(err.contains("last status Running, 77 records scanned"), "{err}");
    assert_eq!(began.elapsed(), Duration::from_secs(10), "it ends at the deadline");
    // Polls at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 5.1, 7.1 and 9.1 s fit before 10 s.
    assert_eq!(results.num_calls(), 9);
}

#[tokio::test(start_paused = true)]
async fn a_client_cancellation_stops_the_query() {
    let start = start_rule();
    let results = forever_running();
    let stop = stop_rule();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start, &results, &stop]);
    let (ctx, _) = context(Duration::from_secs(60));
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        cancel.cancel();
    });
    let began = Instant::now();

    let err = logs_insights::run(&client, &request(10), 16_000, &ctx).await.expect_err("cancelled");

    assert_eq!(stop.num_calls(), 1, "StopQuery was sent");
    assert!(err.contains("cancelled by the client") && err.contains("was stopped (StopQuery)"), "{err}");
    assert_eq!(began.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_stops_its_query_in_the_background() {
    let start = start_rule();
    let results = forever_running();
    let stop = stop_rule();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start, &results, &stop]);
    let (ctx, _) = context(Duration::from_secs(60));
    let req = request(10);
    // The way a transport abandons a call: its future is dropped mid-poll.
    let outcome = tokio::time::timeout(Duration::from_secs(2), logs_insights::run(&client, &req, 16_000, &ctx)).await;
    assert!(outcome.is_err(), "still running when dropped");
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(stop.num_calls(), 1, "StopQuery was sent from the drop guard");
}

/// A JSON 1.1 error response as CloudWatch Logs sends it.
fn logs_error(code: &str, message: &str) -> String {
    json!({"__type": code, "message": message}).to_string()
}

#[tokio::test(start_paused = true)]
async fn aws_errors_become_actionable_messages() {
    let cases = [
        (
            "ResourceNotFoundException",
            "The specified log group does not exist.",
            vec!["`/ecs/checkout`", "`/ecs/payments`", "logs:StartQuery", "does not exist"],
        ),
        (
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/reader/s is not authorized to perform: logs:StartQuery",
            vec!["access denied", "`logs:StartQuery`", "IAM policy"],
        ),
        ("MalformedQueryException", "unexpected symbol found | at line 1", vec!["malformed", "toolwright render"]),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid: FwoGZXIvYXdzEBYaDHqa0AP1abcdefghijklmnop",
            vec!["refused the AWS credentials"],
        ),
    ];
    for (code, message, wants) in cases {
        let body = logs_error(code, message);
        let start = mock!(LogsClient::start_query).sequence().http_status(400, Some(body)).repeatedly().build();
        let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start]);
        let (ctx, _) = context(Duration::from_secs(60));
        let err = logs_insights::run(&client, &request(10), 16_000, &ctx).await.expect_err("an error");
        for want in wants {
            assert!(err.contains(want), "{code}: `{want}` missing from: {err}");
        }
        assert!(!err.contains("FwoGZXIvYXdz"), "a token is never echoed: {err}");
    }
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_by_the_sdk_and_then_reported() {
    let body = logs_error("ThrottlingException", "Rate exceeded");
    let start = mock!(LogsClient::start_query).sequence().http_status(400, Some(body)).repeatedly().build();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&start]);
    let (ctx, _) = context(Duration::from_secs(60));
    let err = logs_insights::run(&client, &request(10), 16_000, &ctx).await.expect_err("throttled");
    assert!(err.contains("throttled `logs:StartQuery`") && err.contains("retries"), "{err}");
    assert!(start.num_calls() > 1, "the SDK retried ({} calls)", start.num_calls());
}

fn metric_result(id: &str, start: i64, values: &[f64], status: StatusCode) -> MetricDataResult {
    MetricDataResult::builder()
        .id(id)
        .label(format!("{id} label"))
        .set_timestamps(Some((0..values.len()).map(|i| DateTime::from_secs(start + 60 * i as i64)).collect()))
        .set_values(Some(values.to_vec()))
        .status_code(status)
        .build()
}

#[tokio::test(start_paused = true)]
async fn metric_pages_are_merged_per_series_with_a_summary() {
    let first = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| {
            r.next_token().is_none()
                && r.scan_by() == Some(&aws_sdk_cloudwatch::types::ScanBy::TimestampAscending)
                && r.metric_data_queries().len() == 2
                && r.metric_data_queries()[0].metric_stat().and_then(|s| s.stat()) == Some("p99")
                && r.metric_data_queries()[0].metric_stat().and_then(|s| s.period()) == Some(300)
                && r.metric_data_queries()[1].expression() == Some("p99 * 2")
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(metric_result("p99", 1_800_000_000, &[1.0, 4.0], StatusCode::PartialData))
                .metric_data_results(metric_result("doubled", 1_800_000_000, &[2.0, 8.0], StatusCode::PartialData))
                .next_token("next")
                .build()
        });
    let second = mock!(aws_sdk_cloudwatch::Client::get_metric_data).match_requests(|r| r.next_token() == Some("next")).then_output(|| {
        GetMetricDataOutput::builder()
            .metric_data_results(metric_result("p99", 1_800_000_120, &[2.5], StatusCode::Complete))
            .metric_data_results(metric_result("doubled", 1_800_000_120, &[5.0], StatusCode::Complete))
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&first, &second]);
    let request = MetricsRequest {
        connection: None,
        queries: vec![
            MetricQuery {
                id: "p99".into(),
                namespace: Some("AWS/ApplicationELB".into()),
                metric: Some("TargetResponseTime".into()),
                dimensions: vec![("LoadBalancer".into(), "app/x/1".into())],
                stat: Some("p99".into()),
                expression: None,
                label: None,
                unit: None,
                return_data: true,
            },
            MetricQuery {
                id: "doubled".into(),
                namespace: None,
                metric: None,
                dimensions: vec![],
                stat: None,
                expression: Some("p99 * 2".into()),
                label: None,
                unit: None,
                return_data: true,
            },
        ],
        period: 300,
        max_bytes: 16_000,
        start: 1_800_000_000,
        end: 1_800_003_600,
    };
    let (ctx, _) = context(Duration::from_secs(30));
    let out = metrics::run(&client, &request, 16_000, &ctx).await.expect("series");
    let s = out.structured.expect("structured");
    assert_eq!(s["period"], json!(300));
    assert_eq!(s["start"], json!("2027-01-15T08:00:00Z"));
    let p99 = &s["series"][0];
    assert_eq!(p99["id"], json!("p99"));
    assert_eq!(p99["label"], json!("p99 label"));
    assert_eq!(p99["status"], json!("Complete"));
    assert_eq!(p99["timestamps"], json!(["2027-01-15T08:00:00Z", "2027-01-15T08:01:00Z", "2027-01-15T08:02:00Z"]));
    assert_eq!(p99["values"], json!([1.0, 4.0, 2.5]));
    assert_eq!(p99["summary"], json!({"min": 1.0, "max": 4.0, "average": 2.5, "last": 2.5, "count": 3}));
    assert_eq!(s["series"][1]["summary"]["last"], json!(5.0));
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}
