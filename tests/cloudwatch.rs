//! The CloudWatch backends end to end against MiniStack (a real AWS emulator on 127.0.0.1,
//! installed by `scripts/ministack.sh` into its own virtualenv), and the injection guarantees
//! of Logs Insights queries (no emulator needed: the rendered request is checked).
//!
//! Each MiniStack test starts its own MiniStack on a free loopback port and stops it when its
//! guard is dropped, panics included. If MiniStack cannot be installed or started, the tests
//! fail and say why: they never skip silently.
//!
//! Data goes in through the Rust SDK; tools run through the real `toolwright call` binary with
//! the AWS environment set for it alone (static test credentials, `AWS_ENDPOINT_URL`, instance
//! metadata disabled, no shared config files), so nothing here talks to real AWS.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use serde_json::{Value, json};
use toolwright::actions::logs_insights::LogsRequest;
use toolwright::actions::{Request, render};
use toolwright::catalog::{Catalog, SecretMode};
use toolwright::compile::compile_dirs;
use toolwright::spec::model::JsonObject;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TOOLWRIGHT: &str = env!("CARGO_BIN_EXE_toolwright");
const LOAD_BALANCER: &str = "app/checkout-alb/50dc6c495c0c9188";

// ---------------------------------------------------------------------------------------------
// MiniStack
// ---------------------------------------------------------------------------------------------

/// The `ministack` executable, installed once per test process (parallel tests share it).
fn ministack_executable() -> &'static Path {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        let script = Path::new(ROOT).join("scripts/ministack.sh");
        let mut child = Command::new("bash")
            .arg(&script)
            .arg("install")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let began = Instant::now();
        // pip may take a minute on a cold cache; five is the bound.
        while child.try_wait().map_err(|e| e.to_string())?.is_none() {
            if began.elapsed() > Duration::from_secs(300) {
                let _ = child.kill();
                return Err("scripts/ministack.sh install did not finish within 5 minutes".to_owned());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "scripts/ministack.sh install failed ({}):\n{}{}",
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let path = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        if path.is_file() { Ok(path) } else { Err(format!("scripts/ministack.sh install printed no executable path: {stdout}")) }
    });
    match installed {
        Ok(path) => path,
        Err(why) => panic!("MiniStack is required by the CloudWatch tests and could not be installed: {why}"),
    }
}

/// A running MiniStack; stopped (SIGTERM, then SIGKILL) when dropped.
struct MiniStack {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl MiniStack {
    fn start() -> MiniStack {
        let exe = ministack_executable();
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let child = Command::new(exe)
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(log.reopen().expect("log"))
            .stderr(log.reopen().expect("log"))
            .spawn()
            .unwrap_or_else(|e| panic!("MiniStack could not be started ({}): {e}", exe.display()));
        let mut stack = MiniStack { child, port, log };
        let began = Instant::now();
        loop {
            if health(port) {
                return stack;
            }
            if let Ok(Some(status)) = stack.child.try_wait() {
                panic!("MiniStack exited ({status}) before it was healthy; its log:\n{}", stack.log_text());
            }
            if began.elapsed() > Duration::from_secs(30) {
                panic!("MiniStack was not healthy on 127.0.0.1:{port} after 30 s; its log:\n{}", stack.log_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for MiniStack {
    fn drop(&mut self) {
        // SIGTERM lets MiniStack remove its pid file; SIGKILL if it does not go in 3 s.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let began = Instant::now();
        while began.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("address").port()
}

/// `GET /_ministack/health` answers 200.
fn health(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /_ministack/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

// ---------------------------------------------------------------------------------------------
// Clients and the toolwright binary
// ---------------------------------------------------------------------------------------------

fn logs_client(stack: &MiniStack) -> aws_sdk_cloudwatchlogs::Client {
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(stack.url())
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(conf)
}

fn metrics_client(stack: &MiniStack) -> aws_sdk_cloudwatch::Client {
    let conf = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(stack.url())
        .build();
    aws_sdk_cloudwatch::Client::from_conf(conf)
}

/// What one `toolwright` run printed.
#[derive(Debug)]
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        assert!(self.ok, "toolwright failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs `toolwright` with an AWS environment of its own: every inherited `AWS_*` variable is
/// removed, then static test credentials, no shared config files and no instance metadata,
/// plus `env` (`None` removes a variable again).
fn toolwright(args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
    let mut cmd = Command::new(TOOLWRIGHT);
    cmd.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    let nowhere = std::env::temp_dir().join("toolwright-no-aws-config");
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env("RUST_LOG", "off");
    for (key, value) in env {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let out = cmd.output().expect("run toolwright");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn call(tools: &Path, tool: &str, args: Value, env: &[(&str, Option<&str>)]) -> Run {
    let args = args.to_string();
    toolwright(&["call", tool, "--args", &args, "--tools", &tools.to_string_lossy()], env)
}

/// The tests' copy of the example catalog (the repository's `tools.d/` is the user's to edit).
fn bundled() -> PathBuf {
    Path::new(ROOT).join("tests/fixtures/tools.d")
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

async fn put_events(client: &aws_sdk_cloudwatchlogs::Client, group: &str, events: &[(i64, &str)]) {
    client.create_log_group().log_group_name(group).send().await.expect("CreateLogGroup");
    client.create_log_stream().log_group_name(group).log_stream_name("web-1").send().await.expect("CreateLogStream");
    let mut events: Vec<InputLogEvent> = events
        .iter()
        .map(|(secs, message)| InputLogEvent::builder().timestamp(secs * 1000).message(*message).build().expect("event"))
        .collect();
    events.sort_by_key(InputLogEvent::timestamp);
    client.put_log_events().log_group_name(group).log_stream_name("web-1").set_log_events(Some(events)).send().await.expect("PutLogEvents");
}

fn write_tools(dir: &Path, yaml: &str) {
    std::fs::write(dir.join("tools.yaml"), yaml).expect("write tools.yaml");
}

// ---------------------------------------------------------------------------------------------
// End to end against MiniStack
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn logs_insights_through_toolwright_call() {
    let stack = MiniStack::start();
    let client = logs_client(&stack);
    let now = now_secs();
    put_events(
        &client,
        "/ecs/checkout",
        &[
            (now - 3 * 3600, "ERROR too old for the window"),
            (now - 50 * 60, "ERROR first"),
            (now - 20 * 60, "INFO second"),
            (now - 5 * 60, "ERROR third"),
        ],
    )
    .await;
    put_events(&client, "/ecs/payments", &[(now - 10 * 60, "ERROR from payments")]).await;
    let url = stack.url();
    let env = [("AWS_ENDPOINT_URL", Some(url.as_str()))];

    let out = call(&bundled(), "query_cloudwatch_logs", json!({"service": "checkout"}), &env).json();
    let rows = out["rows"].as_array().unwrap_or_else(|| panic!("rows in {out}"));
    // MiniStack ignores `like "ERROR"` (it knows only `like /regex/`), so the INFO line comes
    // back too; what is checked is the log group, the window, the order and the fields.
    let messages: Vec<&str> = rows.iter().filter_map(|r| r["@message"].as_str()).collect();
    assert_eq!(messages, ["ERROR third", "INFO second", "ERROR first"], "{out}");
    for row in rows {
        let keys: Vec<&str> = row.as_object().expect("a row object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["@timestamp", "@message", "@logStream"], "no @ptr: {row}");
        assert_eq!(row["@logStream"], json!("web-1"));
    }
    assert_eq!(out["statistics"]["records_scanned"], json!(3), "{out}");
    assert_eq!(out["statistics"]["records_matched"], json!(3), "{out}");
    assert!(out["statistics"]["bytes_scanned"].as_u64().is_some_and(|b| b > 0), "{out}");

    // The caller's `limit` lands in the query as a number.
    let out = call(&bundled(), "query_cloudwatch_logs", json!({"service": "checkout", "limit": 2}), &env).json();
    assert_eq!(out["rows"].as_array().map(Vec::len), Some(2), "{out}");
    assert_eq!(out["rows"][0]["@message"], json!("ERROR third"));

    // The window: 240 minutes reaches the old line.
    let out = call(&bundled(), "query_cloudwatch_logs", json!({"service": "checkout", "minutes": 240}), &env).json();
    assert_eq!(out["rows"].as_array().map(Vec::len), Some(4), "{out}");

    // Ordinary values with spaces, `/`, `:` and `-` go through.
    for text in ["timeout after 30s", "/api/v1/orders", "10:42:07", "req-7f3a-b2", "ünïcödé ok"] {
        let run = call(&bundled(), "query_cloudwatch_logs", json!({"service": "payments", "text": text}), &env);
        let out = run.json();
        assert_eq!(out["rows"][0]["@message"], json!("ERROR from payments"), "{text}: {out}");
    }

    // Refused values never reach MiniStack, and the error names the argument.
    for text in ["a\"b", "it's", "a | b", "x # y", "two\nlines", "back`tick", "back\\slash"] {
        let run = call(&bundled(), "query_cloudwatch_logs", json!({"service": "checkout", "text": text}), &env);
        assert!(!run.ok, "{text:?} was accepted: {}", run.stdout);
        assert!(run.stderr.contains("argument `text`"), "{text:?}: {}", run.stderr);
    }
}

#[tokio::test]
async fn metrics_through_toolwright_call() {
    let stack = MiniStack::start();
    let client = metrics_client(&stack);
    // Three points in three minutes half an hour ago, and one for another load balancer.
    let base = (now_secs() - 30 * 60) / 60 * 60;
    let datum = |lb: &str, at: i64, value: f64| {
        MetricDatum::builder()
            .metric_name("TargetResponseTime")
            .dimensions(Dimension::builder().name("LoadBalancer").value(lb).build())
            .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(at))
            .value(value)
            .build()
    };
    client
        .put_metric_data()
        .namespace("AWS/ApplicationELB")
        .metric_data(datum(LOAD_BALANCER, base, 0.25))
        .metric_data(datum(LOAD_BALANCER, base + 60, 0.75))
        .metric_data(datum(LOAD_BALANCER, base + 120, 0.5))
        .metric_data(datum("app/other-alb/1", base + 60, 100.0))
        .send()
        .await
        .expect("PutMetricData");
    let url = stack.url();
    let env = [("AWS_ENDPOINT_URL", Some(url.as_str()))];

    for stat in ["Average", "p99", "Maximum"] {
        let out = call(
            &bundled(),
            "get_metric_statistics",
            json!({"load_balancer": LOAD_BALANCER, "metric": "TargetResponseTime", "stat": stat}),
            &env,
        )
        .json();
        assert_eq!(out["period"], json!(60), "3 hours → 60 s: {out}");
        let series = out["series"].as_array().unwrap_or_else(|| panic!("series in {out}"));
        assert_eq!(series.len(), 1, "{out}");
        let s = &series[0];
        assert_eq!(s["id"], json!("m1"));
        assert_eq!(s["status"], json!("Complete"), "{out}");
        assert_eq!(s["values"], json!([0.25, 0.75, 0.5]), "{stat}: {out}");
        let stamps: Vec<String> = (0..3)
            .map(|i| humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs((base + 60 * i) as u64)).to_string())
            .collect();
        assert_eq!(s["timestamps"], json!(stamps), "ascending RFC 3339: {out}");
        assert_eq!(s["summary"], json!({"min": 0.25, "max": 0.75, "average": 0.5, "last": 0.5, "count": 3}), "{out}");
    }

    // A metric with no data is an empty series, not an error.
    let out = call(&bundled(), "get_metric_statistics", json!({"load_balancer": LOAD_BALANCER, "metric": "RequestCount"}), &env).json();
    assert_eq!(out["series"][0]["summary"]["count"], json!(0), "{out}");
    assert_eq!(out["series"][0]["values"], json!([]), "{out}");

    // Per-query status and messages come through (MiniStack does not evaluate expressions).
    let dir = tempfile::tempdir().expect("tempdir");
    write_tools(
        dir.path(),
        r#"
kind: tool
name: doubled
description: Twice the latency.
input: {type: object, properties: {lb: {type: string}}, required: [lb]}
action:
  metrics:
    queries:
      - {id: lat, namespace: AWS/ApplicationELB, metric: TargetResponseTime, dimensions: {LoadBalancer: "{{ lb }}"}, stat: Average, return_data: false}
      - {id: twice, expression: lat * 2, label: Twice}
    since: 2h
    period: 5m
"#,
    );
    let out = call(dir.path(), "doubled", json!({"lb": LOAD_BALANCER}), &env).json();
    assert_eq!(out["period"], json!(300));
    let series = out["series"].as_array().expect("series");
    assert_eq!(series.len(), 1, "return_data: false hides `lat`: {out}");
    assert_eq!(series[0]["id"], json!("twice"));
    assert_eq!(series[0]["status"], json!("InternalError"), "{out}");
    assert!(series[0]["messages"][0]["value"].as_str().is_some_and(|m| m.contains("Expressions")), "{out}");
}

#[tokio::test]
async fn connection_settings_and_endpoint_overrides() {
    let stack = MiniStack::start();
    let client = logs_client(&stack);
    let now = now_secs();
    put_events(&client, "/app/api", &[(now - 60, "hello from api")]).await;
    metrics_client(&stack)
        .put_metric_data()
        .namespace("App")
        .metric_data(
            MetricDatum::builder()
                .metric_name("Hits")
                .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(now - 600))
                .value(7.0)
                .build(),
        )
        .send()
        .await
        .expect("PutMetricData");
    let url = stack.url();
    // Nothing listens on this loopback port: a client sent there fails fast.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().expect("tempdir");
    write_tools(
        dir.path(),
        &format!(
            r#"
kind: connection
name: pinned
aws: {{region: us-east-1, endpoint_url: "{url}"}}
---
kind: connection
name: chain
aws: {{region: us-east-1}}
---
kind: connection
name: assumed
aws: {{region: us-east-1, role_arn: "arn:aws:iam::000000000000:role/toolwright-reader"}}
---
kind: connection
name: regionless
aws: {{}}
---
kind: tool
name: pinned_logs
description: Logs through a connection with an endpoint_url.
input: {{type: object}}
action: {{logs_insights: {{connection: pinned, log_groups: [/app/api], query: "fields @message", since: 1h}}}}
---
kind: tool
name: chain_logs
description: Logs through the environment's endpoint.
input: {{type: object}}
action: {{logs_insights: {{connection: chain, log_groups: [/app/api], query: "fields @message", since: 1h}}}}
---
kind: tool
name: chain_metrics
description: Metrics through the environment's endpoint.
input: {{type: object}}
action: {{metrics: {{connection: chain, queries: [{{id: hits, namespace: App, metric: Hits, stat: Sum}}], since: 1h}}}}
---
kind: tool
name: assumed_logs
description: Logs with an assumed role.
input: {{type: object}}
action: {{logs_insights: {{connection: assumed, log_groups: [/app/api], query: "fields @message", since: 1h}}}}
---
kind: tool
name: no_connection_logs
description: Logs with the default chain.
input: {{type: object}}
action: {{logs_insights: {{log_groups: [/app/api], query: "fields @message", since: 1h}}}}
---
kind: tool
name: regionless_logs
description: Logs without a region anywhere.
input: {{type: object}}
action: {{logs_insights: {{connection: regionless, log_groups: [/app/api], query: "fields @message", since: 1h}}}}
---
kind: tool
name: missing_group
description: A log group that does not exist.
input: {{type: object}}
action: {{logs_insights: {{connection: chain, log_groups: [/does/not-exist], query: "fields @message", since: 1h}}}}
"#
        ),
    );
    let hello = |run: Run| {
        let out = run.json();
        assert_eq!(out["rows"][0]["@message"], json!("hello from api"), "{out}");
    };
    // The connection's endpoint_url wins over AWS_ENDPOINT_URL.
    hello(call(dir.path(), "pinned_logs", json!({}), &[("AWS_ENDPOINT_URL", Some(&dead))]));
    // AWS_ENDPOINT_URL alone, and the service-specific variables over it.
    hello(call(dir.path(), "chain_logs", json!({}), &[("AWS_ENDPOINT_URL", Some(&url))]));
    hello(call(
        dir.path(),
        "chain_logs",
        json!({}),
        &[("AWS_ENDPOINT_URL", Some(&dead)), ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", Some(&url))],
    ));
    let out =
        call(dir.path(), "chain_metrics", json!({}), &[("AWS_ENDPOINT_URL", Some(&dead)), ("AWS_ENDPOINT_URL_CLOUDWATCH", Some(&url))])
            .json();
    assert_eq!(out["series"][0]["values"], json!([7.0]), "{out}");
    // role_arn: the role is assumed through STS (MiniStack's) with the chain's credentials.
    hello(call(dir.path(), "assumed_logs", json!({}), &[("AWS_ENDPOINT_URL", Some(&url))]));
    // No connection: the default chain, region from AWS_REGION.
    hello(call(dir.path(), "no_connection_logs", json!({}), &[("AWS_ENDPOINT_URL", Some(&url))]));

    // No region anywhere: a clear error, and nothing is sent.
    let run = call(dir.path(), "regionless_logs", json!({}), &[("AWS_ENDPOINT_URL", Some(&url)), ("AWS_REGION", None)]);
    assert!(!run.ok);
    assert!(run.stderr.contains("no AWS region for connection `regionless`"), "{}", run.stderr);

    // A missing log group is named.
    let run = call(dir.path(), "missing_group", json!({}), &[("AWS_ENDPOINT_URL", Some(&url))]);
    assert!(!run.ok);
    assert!(run.stderr.contains("`/does/not-exist`") && run.stderr.contains("logs:StartQuery"), "{}", run.stderr);

    // An unreachable endpoint says so, and credentials never appear in any message.
    let run = call(
        dir.path(),
        "chain_logs",
        json!({}),
        &[("AWS_ENDPOINT_URL", Some(&dead)), ("AWS_SECRET_ACCESS_KEY", Some("wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"))],
    );
    assert!(!run.ok);
    assert!(run.stderr.contains("could not reach CloudWatch Logs"), "{}", run.stderr);
    assert!(!run.stderr.contains("wJalrXUtnFEMI"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// Injection: checked on the rendered request, no emulator needed
// ---------------------------------------------------------------------------------------------

/// A catalog with a logs tool whose free-text arguments land in the query (twice, in
/// different positions) and in a log group name.
fn injection_catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tools(
        dir.path(),
        r#"
kind: tool
name: search
description: Search one app's logs.
input:
  type: object
  properties:
    app: {type: string}
    text: {type: string}
    field: {type: string}
    ids: {type: array, items: {type: string}}
    limit: {type: integer}
  required: [app, text, field]
action:
  logs_insights:
    log_groups: ["/apps/{{ app }}", /apps/shared]
    query: |
      fields @timestamp, @message
      | filter @message like {{ text }} and @logStream = {{ field }}
      | filter requestId in {{ ids | default([]) }}
      | limit {{ limit | default(20) }}
    since: 1h
    limit: 100
"#,
    );
    let compiled = compile_dirs(&[dir.path().to_path_buf()], None);
    let catalog = compiled.catalog.unwrap_or_else(|| panic!("the injection catalog compiles: {:?}", compiled.diagnostics));
    (dir, catalog)
}

fn render_logs(catalog: &Catalog, tool: &str, args: Value) -> Result<LogsRequest, String> {
    let Value::Object(args) = args else { panic!("object args") };
    let args: JsonObject = args;
    let tool = catalog.tool(tool).expect("tool");
    let args = tool.prepare_args(Some(&args)).map_err(|e| e.message)?;
    match render(catalog, tool, &args, SystemTime::now(), SecretMode::Redact).map_err(|e| e.message)? {
        Request::LogsInsights(r) => Ok(r),
        other => panic!("not a logs request: {other:?}"),
    }
}

/// The query text outside double-quoted literals (caller values can hold no `"` or `\`, so a
/// literal ends at the next `"`), with each literal replaced by `""`.
fn structure(query: &str) -> String {
    let mut out = String::new();
    let mut in_literal = false;
    for c in query.chars() {
        if c == '"' {
            in_literal = !in_literal;
            out.push('"');
        } else if !in_literal {
            out.push(c);
        }
    }
    assert!(!in_literal, "an unterminated literal in {query}");
    out
}

const BAD_CHARACTERS: &[(&str, &str)] =
    &[("\"", "`\"`"), ("'", "`'`"), ("|", "`|`"), ("#", "`#`"), ("\n", "a newline"), ("`", "`` ` ``"), ("\\", "`\\`")];

#[test]
fn caller_values_with_query_syntax_are_refused_naming_the_argument() {
    let (_dir, catalog) = injection_catalog();
    for (bad, _) in BAD_CHARACTERS {
        for arg in ["text", "field"] {
            let mut args = json!({"app": "checkout", "text": "ok", "field": "ok"});
            args[arg] = json!(format!("x{bad}y"));
            let err = render_logs(&catalog, "search", args).expect_err("refused");
            assert!(err.contains(&format!("argument `{arg}`")) && err.contains("Logs Insights query"), "{bad:?} in {arg}: {err}");
        }
        // Inside a list too.
        let args = json!({"app": "checkout", "text": "ok", "field": "ok", "ids": ["fine", format!("x{bad}y")]});
        let err = render_logs(&catalog, "search", args).expect_err("refused");
        assert!(err.contains("argument `ids`"), "{bad:?} in ids: {err}");
        // And through the bundled tool.
        let compiled = compile_dirs(&[bundled()], None);
        let bundled = compiled.catalog.expect("the bundled catalog compiles");
        let err = render_logs(&bundled, "query_cloudwatch_logs", json!({"service": "checkout", "text": format!("x{bad}y")}))
            .expect_err("refused");
        assert!(err.contains("argument `text`"), "{bad:?}: {err}");
    }
    // Control characters other than newline as well.
    for bad in ["\r", "\t", "\u{0}", "\u{1b}[31m"] {
        let err = render_logs(&catalog, "search", json!({"app": "a", "text": format!("x{bad}y"), "field": "f"})).expect_err("refused");
        assert!(err.contains("argument `text`"), "{bad:?}: {err}");
    }
}

#[test]
fn ordinary_values_become_quoted_literals_and_numbers_stay_numbers() {
    let (_dir, catalog) = injection_catalog();
    let r = render_logs(
        &catalog,
        "search",
        json!({"app": "checkout-v2", "text": "timeout after 30s: /api/v1/orders", "field": "web-1", "ids": ["a-1", "b 2"], "limit": 7}),
    )
    .expect("rendered");
    assert_eq!(
        r.query,
        "fields @timestamp, @message\n| filter @message like \"timeout after 30s: /api/v1/orders\" and @logStream = \"web-1\"\n| filter requestId in [\"a-1\", \"b 2\"]\n| limit 7"
    );
    assert_eq!(r.log_groups, ["/apps/checkout-v2", "/apps/shared"]);
    assert_eq!(r.limit, 100, "the spec's limit is always sent");
    assert!(r.end - r.start == 3600, "the window is in startTime/endTime, not in the query");
}

/// Values an attacker would try: each is refused, or lands as one literal that changes nothing
/// else in the query and no log group.
const ATTEMPTS: &[&str] = &[
    "x\" | SOURCE \"/aws/*",
    "\" | unmask(@message) | \"",
    "x | stats count(*) by @logStream",
    "SOURCE logGroups(namePrefix: [\"/\"])",
    "unmask(@message)",
    "display @message",
    "x\n| fields unmask(@message)",
    "x' or 'a' = 'a",
    "/.*/",
    "x\\\" | source",
    "`SOURCE`",
    "x # comment",
    "x\u{2028}| SOURCE",
    "x\u{0085}| unmask",
    "｜ SOURCE",
    "ʺ | SOURCE ʺ",
    "] | fields @message | filter [",
    ") or (1 = 1",
    "x* and @message like /.*/",
];

fn check_attempt(catalog: &Catalog, base: &LogsRequest, value: &str) {
    let args = json!({"app": "checkout", "text": value, "field": value, "ids": [value]});
    match render_logs(catalog, "search", args) {
        Err(err) => assert!(err.contains("argument `"), "{value:?}: the error names no argument: {err}"),
        Ok(r) => {
            assert_eq!(structure(&r.query), structure(&base.query), "{value:?} changed the query: {}", r.query);
            assert_eq!(r.log_groups, base.log_groups, "{value:?} changed the log groups");
            let expected = base.query.replace("\"plain\"", &format!("\"{value}\""));
            assert_eq!(r.query, expected, "{value:?} is not exactly one literal per use");
        }
    }
    // In the log group name, the value may only ever name one group under /apps/.
    match render_logs(catalog, "search", json!({"app": value, "text": "t", "field": "f"})) {
        Err(err) => assert!(err.contains("argument `app`"), "{value:?}: {err}"),
        Ok(r) => {
            assert_eq!(r.log_groups.len(), 2);
            assert_eq!(r.log_groups[1], "/apps/shared");
            let name = r.log_groups[0].strip_prefix("/apps/").expect("under /apps/");
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-#".contains(c)), "{value:?} → {name}");
        }
    }
}

#[test]
fn nothing_a_caller_sends_adds_a_command_a_source_or_unmask_or_changes_the_log_groups() {
    let (_dir, catalog) = injection_catalog();
    let base =
        render_logs(&catalog, "search", json!({"app": "checkout", "text": "plain", "field": "plain", "ids": ["plain"]})).expect("base");
    assert!(!structure(&base.query).to_ascii_lowercase().contains("source"));
    for value in ATTEMPTS {
        check_attempt(&catalog, &base, value);
    }
    // And any string at all.
    use proptest::prelude::*;
    let config = proptest::test_runner::Config { cases: 2_000, failure_persistence: None, ..proptest::test_runner::Config::default() };
    proptest!(config, |(value in "(\\PC|[\"'|#`\\\\\n\r]|SOURCE|unmask|fields|/){0,24}")| {
        check_attempt(&catalog, &base, &value);
    });
    // Numbers stay numbers: `limit` cannot carry text.
    let err =
        render_logs(&catalog, "search", json!({"app": "a", "text": "t", "field": "f", "limit": "5 | SOURCE"})).expect_err("not an integer");
    assert!(err.contains("limit"), "{err}");
}

#[test]
fn render_shows_what_would_be_sent() {
    let run = toolwright(
        &[
            "render",
            "query_cloudwatch_logs",
            "--args",
            r#"{"service": "payments", "text": "timeout after 30s", "minutes": 15}"#,
            "--tools",
            &bundled().to_string_lossy(),
        ],
        &[],
    );
    let out = run.json();
    assert_eq!(out["action"], json!("logs_insights"));
    assert_eq!(out["connection"], json!("aws-default"));
    assert_eq!(out["log_groups"], json!(["/ecs/payments"]));
    assert_eq!(
        out["query"],
        json!("fields @timestamp, @message, @logStream\n| filter @message like \"timeout after 30s\"\n| sort @timestamp desc\n| limit 100")
    );
    assert_eq!(out["limit"], json!(1000));
    let start = humantime::parse_rfc3339(out["start"].as_str().expect("start")).expect("RFC 3339");
    let end = humantime::parse_rfc3339(out["end"].as_str().expect("end")).expect("RFC 3339");
    assert_eq!(end.duration_since(start).expect("ordered"), Duration::from_secs(15 * 60));

    let run = toolwright(
        &[
            "render",
            "get_metric_statistics",
            "--args",
            &json!({"load_balancer": LOAD_BALANCER, "metric": "TargetResponseTime", "stat": "p99", "hours": 24}).to_string(),
            "--tools",
            &bundled().to_string_lossy(),
        ],
        &[],
    );
    let out = run.json();
    assert_eq!(out["action"], json!("metrics"));
    assert_eq!(out["period"], json!(60));
    assert_eq!(
        out["queries"],
        json!([{"id": "m1", "namespace": "AWS/ApplicationELB", "metric": "TargetResponseTime", "stat": "p99", "dimensions": {"LoadBalancer": LOAD_BALANCER}, "return_data": true}])
    );
}

/// `lint --check-env` against MiniStack: a log group named literally that exists passes, one
/// that does not is `env-log-group-missing` at its own line, a templated group is not checked,
/// a connection whose endpoint does not answer is `env-unreachable` at its `name` line, and an
/// aws connection without credentials is `env-credentials`. Plain `lint` sends nothing.
#[tokio::test]
async fn lint_check_env_finds_missing_log_groups_and_dead_endpoints() {
    let stack = MiniStack::start();
    let client = logs_client(&stack);
    client.create_log_group().log_group_name("/app/api").send().await.expect("CreateLogGroup");
    // A group whose name starts like the missing one: the check compares whole names.
    client.create_log_group().log_group_name("/app/worker-old").send().await.expect("CreateLogGroup");
    let url = stack.url();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().expect("tempdir");
    write_tools(
        dir.path(),
        &format!(
            r#"kind: connection
name: stack
aws: {{region: us-east-1, endpoint_url: "{url}"}}
---
kind: connection
name: dead
aws: {{region: us-east-1, endpoint_url: "{dead}"}}
---
kind: tool
name: api_errors
description: Errors of the API.
input: {{type: object}}
action:
  logs_insights:
    connection: stack
    log_groups:
      - /app/api
      - /app/worker
    query: fields @message
    since: 15m
---
kind: tool
name: service_errors
description: Errors of one service.
input:
  type: object
  properties:
    service: {{type: string, enum: [api]}}
  required: [service]
action:
  logs_insights:
    connection: stack
    log_groups: ["/app/{{{{ service }}}}"]
    query: fields @message
    since: 15m
---
kind: tool
name: dead_errors
description: Errors through a dead endpoint.
input: {{type: object}}
action:
  logs_insights:
    connection: dead
    log_groups: [/app/api]
    query: fields @message
    since: 15m
---
kind: tool
name: stepped_errors
description: Errors through a step.
input: {{type: object}}
action:
  steps:
    run:
      - id: logs
        logs_insights: {{connection: stack, log_groups: [/app/api, /app/in-steps], query: fields @message, since: 15m}}
---
kind: resource
uri: logs://recent-errors
name: recent_errors
description: The API's recent errors, read through Logs Insights.
action:
  logs_insights: {{connection: stack, log_groups: [/app/api, /app/in-resource], query: fields @message, since: 15m}}
---
kind: resource_template
uri_template: "logs://service/{{service}}"
name: service_logs
description: One service's recent logs.
input:
  type: object
  properties:
    service: {{type: string, pattern: "^[a-z]+$"}}
  required: [service]
action:
  logs_insights: {{connection: stack, log_groups: [/app/in-template, "/app/{{{{ service }}}}"], query: fields @message, since: 15m}}
"#
        ),
    );
    let tools = dir.path().to_string_lossy().into_owned();
    let plain = toolwright(&["lint", &tools, "--format", "json"], &[]);
    assert_eq!(plain.json(), serde_json::json!([]), "plain lint checks nothing in the environment");

    let checked = toolwright(&["lint", &tools, "--check-env", "--format", "json"], &[]);
    assert!(!checked.ok, "findings exit 1: {}", checked.stdout);
    let found: Vec<Value> = serde_json::from_str(&checked.stdout).expect("JSON diagnostics");
    let summary: Vec<(String, u64, String)> = found
        .iter()
        .map(|d| {
            (d["code"].as_str().unwrap_or("").to_owned(), d["line"].as_u64().unwrap_or(0), d["message"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert_eq!(summary.len(), 5, "{summary:#?}");
    // Resources and resource templates read through Logs Insights are checked as tools are.
    let in_resource = summary.iter().find(|(_, _, m)| m.contains("`/app/in-resource`")).expect("the group a resource names");
    assert_eq!(in_resource.0, "env-log-group-missing", "{summary:#?}");
    assert!(in_resource.2.contains("resource `recent_errors`"), "{summary:#?}");
    let in_template = summary.iter().find(|(_, _, m)| m.contains("`/app/in-template`")).expect("the group a template names");
    assert!(in_template.2.contains("resource template `service_logs`"), "{summary:#?}");
    assert_eq!(in_template.1, 75, "at the group's own line: {summary:#?}");
    let in_steps = summary.iter().find(|(_, _, m)| m.contains("`/app/in-steps`")).expect("the group a step names");
    assert_eq!((in_steps.0.as_str(), in_steps.1), ("env-log-group-missing", 56), "{summary:#?}");
    let missing = summary.iter().find(|(c, _, m)| c == "env-log-group-missing" && m.contains("api_errors")).expect("the missing group");
    assert_eq!(missing.1, 18, "at the group's own line: {summary:#?}");
    assert!(missing.2.contains("`/app/worker`") && missing.2.contains("api_errors"), "{summary:#?}");
    let dead_tool = summary.iter().find(|(c, ..)| c == "env-unreachable").expect("the dead endpoint");
    assert!(dead_tool.2.contains("dead_errors") && dead_tool.2.contains("DescribeLogGroups"), "{summary:#?}");

    // Without credentials anywhere, the aws connections say so at their `name` lines.
    let nowhere = std::env::temp_dir().join("toolwright-no-aws-config");
    let no_creds = toolwright(
        &["lint", &tools, "--check-env", "--format", "json"],
        &[("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None), ("HOME", nowhere.to_str())],
    );
    let found: Vec<Value> = serde_json::from_str(&no_creds.stdout).expect("JSON diagnostics");
    let creds: Vec<u64> = found.iter().filter(|d| d["code"] == "env-credentials").map(|d| d["line"].as_u64().unwrap_or(0)).collect();
    assert_eq!(creds, vec![2, 6], "{found:#?}");
}

/// `toolwright test --record` against MiniStack, then `--replay` with MiniStack stopped and no
/// AWS credentials: the CloudWatch SDK clients' exchanges are recorded and answered through the
/// SDK's HTTP client (connections/aws/tape.rs); the time range renders at the recording's time.
#[tokio::test]
async fn logs_insights_and_metrics_record_and_replay() {
    let stack = MiniStack::start();
    let now = now_secs();
    put_events(&logs_client(&stack), "/ecs/checkout", &[(now - 50 * 60, "ERROR first"), (now - 5 * 60, "ERROR second")]).await;
    let base = (now - 30 * 60) / 60 * 60;
    metrics_client(&stack)
        .put_metric_data()
        .namespace("AWS/ApplicationELB")
        .metric_data(
            MetricDatum::builder()
                .metric_name("TargetResponseTime")
                .dimensions(Dimension::builder().name("LoadBalancer").value(LOAD_BALANCER).build())
                .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(base))
                .value(0.25)
                .build(),
        )
        .send()
        .await
        .expect("PutMetricData");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = format!(
        r#"
kind: connection
name: cw
aws: {{region: us-east-1, endpoint_url: "{url}"}}
---
kind: tool
name: errors
description: Errors of a service.
input: {{type: object, properties: {{service: {{type: string}}}}, required: [service]}}
action:
  logs_insights:
    connection: cw
    log_groups: ["/ecs/{{{{ service }}}}"]
    query: fields @timestamp, @message | sort @timestamp desc
    since: 1h
tests:
  - name: checkout
    args: {{service: checkout}}
    expect: {{contains: ERROR second, rows: {{min: 2, max: 2}}}}
  - name: missing-group
    args: {{service: nothing}}
    expect: {{is_error: true}}
---
kind: tool
name: latency
description: Latency of the load balancer.
input: {{type: object}}
action:
  metrics:
    connection: cw
    queries:
      - {{id: lat, namespace: AWS/ApplicationELB, metric: TargetResponseTime, dimensions: {{LoadBalancer: "{LOAD_BALANCER}"}}, stat: Average}}
    since: 2h
    period: 1m
tests:
  - name: one-point
    expect: {{jq: '.series[0].values == [0.25]'}}
"#,
        url = stack.url()
    );
    write_tools(dir.path(), &spec);
    let tools = dir.path().to_string_lossy().into_owned();
    let rec = dir.path().join("rec").to_string_lossy().into_owned();
    let statuses = |run: &Run| -> Vec<(String, String)> {
        let v: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", run.stdout, run.stderr));
        v["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .map(|t| {
                (
                    format!("{}/{}", t["tool"].as_str().unwrap_or(""), t["test"].as_str().unwrap_or("")),
                    t["status"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let all_pass = vec![
        ("errors/checkout".to_owned(), "pass".to_owned()),
        ("errors/missing-group".to_owned(), "pass".to_owned()),
        ("latency/one-point".to_owned(), "pass".to_owned()),
    ];
    let recorded = toolwright(&["test", &tools, "--record", &rec, "--format", "json"], &[]);
    assert!(recorded.ok, "{}{}", recorded.stdout, recorded.stderr);
    assert_eq!(statuses(&recorded), all_pass);
    let text = std::fs::read_to_string(dir.path().join("rec/errors/checkout.json")).expect("the recording");
    let recording: Value = serde_json::from_str(&text).expect("JSON");
    let exchanges = recording["exchanges"].as_array().expect("exchanges");
    assert!(exchanges.len() >= 2, "StartQuery and GetQueryResults: {text}");
    let start = &exchanges[0]["request"];
    assert_eq!(start["headers"]["x-amz-target"], json!("Logs_20140328.StartQuery"), "{text}");
    assert_eq!(start["headers"]["authorization"], json!("***"), "{text}");
    assert_eq!(start["body"]["json"]["logGroupNames"], json!(["/ecs/checkout"]), "{text}");
    assert!(start["body"]["json"]["startTime"].as_i64().is_some(), "{text}");
    assert!(!text.contains("Credential=test/"), "{text}");

    // MiniStack stops, the credentials go; a second passes, so the window would differ if it
    // were computed from the clock rather than the recording's time.
    drop(stack);
    std::thread::sleep(Duration::from_millis(1100));
    let no_credentials = [("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None), ("AWS_REGION", None)];
    let replayed = toolwright(&["test", &tools, "--replay", &rec, "--format", "json"], &no_credentials);
    assert!(replayed.ok, "{}{}", replayed.stdout, replayed.stderr);
    assert_eq!(statuses(&replayed), all_pass);

    // A changed query is a different StartQuery body: the replay says where.
    write_tools(dir.path(), &spec.replace("sort @timestamp desc", "sort @timestamp asc"));
    let changed = toolwright(&["test", &tools, "--replay", &rec, "--format", "json"], &no_credentials);
    assert!(!changed.ok);
    assert!(changed.stdout.contains("body /queryString: recorded"), "{}", changed.stdout);
    assert!(statuses(&changed).contains(&("latency/one-point".to_owned(), "pass".to_owned())), "{}", changed.stdout);
}
