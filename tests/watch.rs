//! The `watch` action against a real HTTP server on 127.0.0.1 started by each test, compiled,
//! rendered and executed exactly as `tools/call` does (`runtime::call`), and its lint rules.
//!
//! The fake is a service's health endpoint and a deployer of the usual shape (as in
//! tests/steps.rs): `GET /health` (and `GET /deployments/{id}/health`) answers `{"errors": <the
//! current 5xx rate in percent>, "ready": <bool>}`, and the test flips the rate mid-watch by
//! telling the server from which health request on it is high; `GET /broken` answers 500;
//! `POST /deployments` answers 201 `{id}`; `POST .../rollback` answers `{"rolled_back": true}`.
//! It records every request with the instant it arrived, so that tests assert what was sent and
//! that nothing arrives after the watch ended.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use common::{compile, json_response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolwright::actions::ProgressFn;
use toolwright::compile::compile_dirs;
use toolwright::runtime::{Outcome, Runtime};

fn init() {
    // jq filters run in worker processes of the toolwright binary, not of this test binary.
    toolwright::catalog::jq_worker::set_program(env!("CARGO_BIN_EXE_toolwright").into());
}

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    body: Vec<u8>,
    at: Instant,
}

#[derive(Default)]
struct ServerState {
    seen: Mutex<Vec<Seen>>,
    /// From this health request on (1-based), the error rate is high; `None`: never.
    bad_from: Mutex<Option<usize>>,
    /// From this health request on, the service reports itself ready; `None`: never.
    ready_from: Mutex<Option<usize>>,
    health_served: Mutex<usize>,
}

struct TestServer {
    url: String,
    state: Arc<ServerState>,
}

impl TestServer {
    async fn start() -> TestServer {
        let state = Arc::new(ServerState::default());
        let addr = common::serve("127.0.0.1", Router::new().fallback(respond).with_state(Arc::clone(&state))).await;
        TestServer { url: format!("http://{addr}"), state }
    }
    /// The error rate goes up from the `n`th health check on.
    fn bad_from(&self, n: usize) {
        *self.state.bad_from.lock().expect("lock") = Some(n);
    }
    fn ready_from(&self, n: usize) {
        *self.state.ready_from.lock().expect("lock") = Some(n);
    }
    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("lock").clone()
    }
    fn count(&self, method: &str, path_end: &str) -> usize {
        self.seen().iter().filter(|s| s.method == method && s.path.ends_with(path_end)).count()
    }
}

async fn respond(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default().to_vec();
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();
    state.seen.lock().expect("lock").push(Seen { method: method.clone(), path: path.clone(), body, at: Instant::now() });
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["health"] | ["deployments", _, "health"]) => {
            let n = {
                let mut served = state.health_served.lock().expect("lock");
                *served += 1;
                *served
            };
            let bad = state.bad_from.lock().expect("lock").is_some_and(|from| n >= from);
            let ready = state.ready_from.lock().expect("lock").is_some_and(|from| n >= from);
            json_response(StatusCode::OK, &json!({"errors": if bad { 5.5 } else { 0.4 }, "ready": ready}))
        }
        ("GET", ["broken"]) => json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"error": "health backend unavailable"})),
        ("POST", ["deployments"]) => json_response(StatusCode::CREATED, &json!({"id": "d-42"})),
        ("POST", ["deployments", _, "rollback"]) => json_response(StatusCode::OK, &json!({"rolled_back": true})),
        _ => json_response(StatusCode::NOT_FOUND, &json!({"error": "no such route"})),
    }
}

fn connection(base_url: &str) -> String {
    format!("kind: connection\nname: svc\nhttp:\n  base_url: {base_url}\n  allow_private_networks: true\n---\n")
}

/// A tool taking `service`; `action` is the block under `action:`, indented by two spaces.
fn tool(timeout: &str, action: &str) -> String {
    format!(
        "kind: tool
name: guard
description: Watch a service and roll it back when its error rate breaches.
input:
  type: object
  properties:
    service: {{type: string}}
  required: [service]
timeout: {timeout}
action:
{action}"
    )
}

async fn call_with(runtime: &Runtime, cancel: &CancellationToken, progress: Option<ProgressFn>) -> Outcome {
    let loaded = runtime.current();
    let tool = toolwright::runtime::lookup(&loaded.catalog, "guard").expect("tool `guard`").clone();
    toolwright::runtime::call(&loaded, &tool, json!({"service": "checkout"}).as_object(), cancel, progress).await
}

async fn call(runtime: &Runtime) -> Outcome {
    call_with(runtime, &CancellationToken::new(), None).await
}

/// Waits longer than a tick and says how many health checks arrived meanwhile.
async fn checks_after_the_end(server: &TestServer) -> usize {
    let before = server.count("GET", "health");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.count("GET", "health") - before
}

const BREACH_WATCH: &str = "  watch:
    every: 1s
    for: 10s
    check:
      http: {connection: svc, url: /health, query: {service: '{{ service }}'}}
    fail_when: .errors > 2
    on_fail:
      http:
        connection: svc
        method: POST
        url: /deployments/{{ service }}/rollback
        body: {check: '{{ failed.check }}', reason: '{{ failed.reason }}', errors: '{{ failed.value.errors }}', at: '{{ failed.at }}'}
";

/// The error rate goes up at the third check: the watch breaches there, `on_fail` (the
/// rollback) is sent exactly once with the breach, the call is a tool error that carries the
/// structured answer, and no check arrives after the end.
#[tokio::test]
async fn a_breach_rolls_back_exactly_once_and_stops_the_checks() {
    init();
    let server = TestServer::start().await;
    server.bad_from(3);
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("15s", BREACH_WATCH)))).expect("runtime");
    let started = Instant::now();
    let out = call(&runtime).await;
    let took = started.elapsed();
    assert!(out.is_error, "a breach is a tool error: {}", out.text);
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(5), "three checks a second apart took {took:?}");
    let s = out.structured.clone().expect("a breach carries the structured answer");
    assert_eq!(s["outcome"], json!("breached"));
    assert_eq!(s["checks"], json!(3));
    assert_eq!(s["failed_checks"], json!(0));
    assert_eq!(s["last"], json!({"errors": 5.5, "ready": false}));
    assert_eq!(s["breach"]["check"], json!(3));
    assert_eq!(s["breach"]["value"], json!({"errors": 5.5, "ready": false}));
    assert_eq!(s["breach"]["reason"], json!("fail_when `.errors > 2` was true"));
    let at = s["breach"]["at"].as_str().expect("at");
    assert!(at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T', "RFC 3339: {at}");
    assert_eq!(s["on_fail"], json!({"ran": true, "answer": {"rolled_back": true}}));
    assert!(out.text.starts_with("watch breached at check 3 ("), "{}", out.text);
    assert!(out.text.contains("\non_fail ran and answered: {\"rolled_back\":true}"), "{}", out.text);

    assert_eq!(server.count("POST", "/rollback"), 1, "on_fail runs exactly once");
    let seen = server.seen();
    let rollback = seen.iter().find(|s| s.path.ends_with("/rollback")).expect("rollback");
    assert_eq!(rollback.path, "/deployments/checkout/rollback");
    let body: Value = serde_json::from_slice(&rollback.body).expect("JSON body");
    // A body leaf that is exactly one variable keeps its JSON type, as an argument does.
    assert_eq!(body["check"], json!(3));
    assert_eq!(body["errors"], json!(5.5));
    assert_eq!(body["reason"], json!("fail_when `.errors > 2` was true"));
    assert_eq!(body["at"], json!(at));
    // The rollback comes right after the breaching check, and only then.
    let health: Vec<&Seen> = seen.iter().filter(|s| s.path == "/health").collect();
    assert_eq!(health.len(), 3);
    assert!(rollback.at >= health[2].at);
    // The checks are a tick apart. Ticks are timed from when a check starts; the first request
    // arrives later after its start than the others (its client is built on first use), so
    // its gap to the second may look shorter.
    for pair in health.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(750) && gap < Duration::from_millis(1600), "checks {gap:?} apart");
    }
    assert_eq!(checks_after_the_end(&server).await, 0, "no check after the watch ended");
}

/// `succeed_when` true ends the watch early, succeeded: no error, no `on_fail`.
#[tokio::test]
async fn succeed_when_ends_the_watch_early() {
    init();
    let server = TestServer::start().await;
    server.ready_from(2);
    let action = BREACH_WATCH.replace("    fail_when: .errors > 2\n", "    fail_when: .errors > 2\n    succeed_when: .ready\n");
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("15s", &action)))).expect("runtime");
    let out = call(&runtime).await;
    assert!(!out.is_error, "{}", out.text);
    let s = out.structured.expect("structured");
    assert_eq!(s["outcome"], json!("succeeded"));
    assert_eq!(s["checks"], json!(2));
    assert_eq!(s["breach"], Value::Null);
    assert_eq!(s["on_fail"], Value::Null);
    assert!(out.text.starts_with("watch succeeded at check 2: succeed_when was true"), "{}", out.text);
    assert_eq!(server.count("POST", "/rollback"), 0);
    assert_eq!(checks_after_the_end(&server).await, 0);
}

/// Without `succeed_when`, `for` passing without a breach is success, after for / every checks;
/// each check is reported through progress.
#[tokio::test]
async fn for_elapsed_without_a_breach_succeeds_after_its_checks() {
    init();
    let server = TestServer::start().await;
    let action = BREACH_WATCH.replace("for: 10s", "for: 3s");
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("15s", &action)))).expect("runtime");
    let messages = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&messages);
    let progress: ProgressFn = Arc::new(move |p, total, message| sink.lock().expect("lock").push((p, total, message)));
    let started = Instant::now();
    let out = call_with(&runtime, &CancellationToken::new(), Some(progress)).await;
    let took = started.elapsed();
    assert!(!out.is_error, "{}", out.text);
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_millis(3500), "took {took:?}");
    let s = out.structured.expect("structured");
    assert_eq!(s["outcome"], json!("succeeded"));
    assert_eq!(s["checks"], json!(3));
    assert_eq!(s["last"], json!({"errors": 0.4, "ready": false}));
    assert!(out.text.starts_with("watch succeeded: 3 checks over 3s, fail_when never true"), "{}", out.text);
    let messages = messages.lock().expect("lock").clone();
    assert_eq!(
        messages,
        (1..=3)
            .map(|n| (f64::from(n), Some(3.0), format!("check {n}/3: fail_when false; last: {{\"errors\":0.4,\"ready\":false}}")))
            .collect::<Vec<_>>()
    );
    assert_eq!(server.count("POST", "/rollback"), 0);
    assert_eq!(checks_after_the_end(&server).await, 0);
}

/// With `succeed_when` given and never true, `for` passing is `timed_out`: a tool error with the
/// structured answer, and no `on_fail` (it is not a breach).
#[tokio::test]
async fn for_elapsed_while_awaiting_success_is_timed_out() {
    init();
    let server = TestServer::start().await;
    let action = BREACH_WATCH
        .replace("for: 10s", "for: 2s")
        .replace("    fail_when: .errors > 2\n", "    fail_when: .errors > 2\n    succeed_when: .ready\n");
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("15s", &action)))).expect("runtime");
    let out = call(&runtime).await;
    assert!(out.is_error, "{}", out.text);
    let s = out.structured.expect("structured");
    assert_eq!(s["outcome"], json!("timed_out"));
    assert_eq!(s["checks"], json!(2));
    assert!(out.text.starts_with("watch timed out: succeed_when was not true within 2s"), "{}", out.text);
    assert_eq!(server.count("POST", "/rollback"), 0);
}

/// Checks that keep failing (HTTP 500) end the watch as `failed` after `max_failed_checks`,
/// with the last error, and `on_fail` does not run (a failed check is not a breach).
#[tokio::test]
async fn checks_that_keep_failing_end_the_watch_without_on_fail() {
    init();
    let server = TestServer::start().await;
    let action = BREACH_WATCH
        .replace("url: /health, query: {service: '{{ service }}'}", "url: /broken, query: {service: '{{ service }}'}")
        .replace("    fail_when: .errors > 2\n", "    fail_when: .errors > 2\n    max_failed_checks: 2\n");
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("15s", &action)))).expect("runtime");
    let out = call(&runtime).await;
    assert!(out.is_error, "{}", out.text);
    let s = out.structured.expect("structured");
    assert_eq!(s["outcome"], json!("failed"));
    assert_eq!(s["checks"], json!(2));
    assert_eq!(s["failed_checks"], json!(2));
    assert_eq!(s["last"], Value::Null);
    assert_eq!(s["on_fail"], Value::Null);
    assert!(s["error"].as_str().is_some_and(|e| e.contains("500")), "{}", s["error"]);
    assert!(out.text.starts_with("watch failed: 2 checks in a row failed (on_fail does not run"), "{}", out.text);
    assert_eq!(server.count("GET", "/broken"), 2);
    assert_eq!(server.count("POST", "/rollback"), 0);
}

/// A cancel mid-watch stops it at once: no further check, no `on_fail`.
#[tokio::test]
async fn a_cancel_stops_the_watch_at_once() {
    init();
    let server = TestServer::start().await;
    server.bad_from(4);
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("15s", BREACH_WATCH)))).expect("runtime");
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        canceller.cancel();
    });
    let started = Instant::now();
    let out = call_with(&runtime, &cancel, None).await;
    assert!(started.elapsed() < Duration::from_millis(1900), "the cancel ended the call at once: {:?}", started.elapsed());
    assert!(out.is_error);
    assert!(out.text.contains("cancelled"), "{}", out.text);
    assert_eq!(server.count("GET", "/health"), 2, "checks at 0s and 1s");
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(server.count("GET", "/health"), 2, "no check after the cancel (the rate would breach at the fourth)");
    assert_eq!(server.count("POST", "/rollback"), 0, "a cancelled watch does not roll back");
}

/// The watch's own answer to a cancel, below the runtime's (a watch inside steps reads it).
#[tokio::test]
async fn a_cancelled_watch_says_how_many_checks_ran() {
    init();
    let server = TestServer::start().await;
    let (catalog, backends) = common::setup(&(connection(&server.url) + &tool("15s", BREACH_WATCH)));
    let tool = catalog.tool("guard").expect("tool");
    let args = tool.prepare_args(json!({"service": "checkout"}).as_object()).expect("args");
    let request =
        toolwright::actions::render(&catalog, tool, &args, std::time::SystemTime::now(), toolwright::catalog::SecretMode::Resolve)
            .expect("render");
    let cancel = CancellationToken::new();
    let ctx = toolwright::actions::CallContext::new(cancel.clone(), tool.timeout, None);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cancel.cancel();
    });
    let out = request.execute(&backends, &ctx).await;
    assert_eq!(out, Err("the watch was cancelled after 2 checks".to_owned()));
}

const CANARY: &str = "  steps:
    run:
      - id: deploy
        http: {connection: svc, method: POST, url: /deployments, body: {service: '{{ service }}'}}
        output: '{id: .id}'
      - id: watch
        watch:
          every: 1s
          for: 4s
          check:
            http: {connection: svc, url: '/deployments/{{ steps.deploy.id }}/health'}
          fail_when: .errors > 2
        output: .outcome
    on_fail:
      http:
        connection: svc
        method: POST
        url: /deployments/{{ steps.deploy.id }}/rollback
        body: {why: '{{ failed.error }}'}
";

/// The canary as a sequence: deploy, watch the new deployment (the check reads the deploy
/// step's output), and when the watch breaches, the sequence fails and its `on_fail` rolls
/// the deployment back, once.
#[tokio::test]
async fn a_canary_as_steps_rolls_back_when_its_watch_breaches() {
    init();
    let server = TestServer::start().await;
    server.bad_from(2);
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", CANARY)))).expect("runtime");
    let out = call(&runtime).await;
    assert!(out.is_error, "{}", out.text);
    assert!(out.text.starts_with("step `watch` (2 of 2) failed: watch breached at check 2"), "{}", out.text);
    assert!(out.text.contains("on_fail ran and answered: {\"rolled_back\":true}"), "{}", out.text);
    let seen = server.seen();
    assert_eq!(
        seen.iter().map(|s| (s.method.as_str(), s.path.as_str())).collect::<Vec<_>>(),
        [
            ("POST", "/deployments"),
            ("GET", "/deployments/d-42/health"),
            ("GET", "/deployments/d-42/health"),
            ("POST", "/deployments/d-42/rollback"),
        ]
    );
    let body: Value = serde_json::from_slice(&seen[3].body).expect("JSON");
    assert!(body["why"].as_str().is_some_and(|w| w.starts_with("watch breached at check 2")), "{body}");
    assert_eq!(checks_after_the_end(&server).await, 0);
}

/// The same canary with a healthy deployment: the sequence succeeds, nothing is rolled back.
#[tokio::test]
async fn a_healthy_canary_succeeds() {
    init();
    let server = TestServer::start().await;
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", &CANARY.replace("for: 4s", "for: 2s"))))).expect("runtime");
    let out = call(&runtime).await;
    assert!(!out.is_error, "{}", out.text);
    let s = out.structured.expect("structured");
    assert_eq!(s["steps"]["watch"], json!("succeeded"));
    assert_eq!(server.count("GET", "/health"), 2);
    assert_eq!(server.count("POST", "/rollback"), 0);
}

/// `render` (and lint's examples) show the first check rendered with the arguments, and
/// `on_fail` as a placeholder when it reads `failed`; nothing is sent.
#[tokio::test]
async fn render_shows_the_first_check() {
    init();
    let server = TestServer::start().await;
    let spec = connection(&server.url) + &tool("15s", BREACH_WATCH) + "examples:\n  - args: {service: checkout}\n";
    let catalog = compile(&spec);
    let rendered =
        toolwright::runtime::render_only(&catalog, "guard", json!({"service": "checkout"}).as_object()).expect("tool").expect("renders");
    assert_eq!(rendered["action"], json!("watch"));
    assert_eq!(rendered["every"], json!("1s"));
    assert_eq!(rendered["for"], json!("10s"));
    assert_eq!(rendered["checks"], json!(10));
    assert_eq!(rendered["max_failed_checks"], json!(3));
    assert_eq!(rendered["fail_when"], json!(".errors > 2"));
    assert_eq!(rendered["check"]["action"], json!("http"));
    assert_eq!(rendered["check"]["url"], json!(format!("{}/health?service=checkout", server.url)));
    assert_eq!(rendered["on_fail"], json!({"action": "http", "request": "<rendered after a breach: it reads `failed`>"}));
    // An on_fail that reads only the arguments is shown rendered.
    let plain = BREACH_WATCH.replace(
        "body: {check: '{{ failed.check }}', reason: '{{ failed.reason }}', errors: '{{ failed.value.errors }}', at: '{{ failed.at }}'}",
        "body: {service: '{{ service }}'}",
    );
    let catalog = compile(&(connection(&server.url) + &tool("15s", &plain)));
    let rendered =
        toolwright::runtime::render_only(&catalog, "guard", json!({"service": "checkout"}).as_object()).expect("tool").expect("renders");
    assert_eq!(rendered["on_fail"]["request"]["body"], json!({"service": "checkout"}));
    assert!(server.seen().is_empty(), "render sends nothing");
}

/// `lint --check-env` finds a watch's check and `on_fail` (and a watch's inside a sequence)
/// through `Action::with_nested`.
#[test]
fn with_nested_lists_a_watchs_check_and_on_fail() {
    let catalog = compile(&(connection("https://svc.example.com") + &tool("15s", BREACH_WATCH)));
    let pointers: Vec<String> = catalog.tool("guard").expect("tool").action.with_nested().into_iter().map(|(p, _)| p).collect();
    assert_eq!(pointers, ["/watch", "/watch/check/http", "/watch/on_fail/http"]);
    let catalog = compile(&(connection("https://svc.example.com") + &tool("30s", CANARY)));
    let pointers: Vec<String> = catalog.tool("guard").expect("tool").action.with_nested().into_iter().map(|(p, _)| p).collect();
    assert_eq!(pointers, ["/steps", "/steps/run/0/http", "/steps/run/1/watch", "/steps/run/1/watch/check/http", "/steps/on_fail/http"]);
}

/// The codes and messages lint reports for `yaml`.
fn lint(yaml: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tools.yaml"), yaml).expect("write spec");
    let compiled = compile_dirs(&[dir.path().to_path_buf()], None);
    compiled.diagnostics.iter().map(|d| (d.code.as_str().to_owned(), d.message.clone())).collect()
}

fn codes(timeout: &str, action: &str) -> Vec<(String, String)> {
    lint(&(connection("https://svc.example.com") + &tool(timeout, action)))
}

#[test]
fn lint_holds_the_watch_to_its_timeout_and_its_tick() {
    assert_eq!(
        codes("10s", BREACH_WATCH),
        [(
            "watch-timeout".to_owned(),
            "the tool's `timeout` is 10s, shorter than the watch's `for` (10s) plus `every` (1s) = 11s; the call would end before the watch"
                .to_owned()
        )]
    );
    // Without a `timeout`, the default (30s) must hold the watch.
    let long = lint(
        &(connection("https://svc.example.com") + &tool("15s", &BREACH_WATCH.replace("for: 10s", "for: 1m")).replace("timeout: 15s\n", "")),
    );
    assert_eq!(long.len(), 1, "{long:?}");
    assert_eq!(long[0].0, "watch-timeout");
    assert!(
        long[0].1.starts_with("the tool's default `timeout` is 30s, shorter than the watch's `for` (1m) plus `every` (1s) = 1m1s"),
        "{}",
        long[0].1
    );
    assert_eq!(
        codes("15s", &BREACH_WATCH.replace("every: 1s", "every: 500ms")),
        [("invalid-value".to_owned(), "`every` is 500ms; a watch checks at most once a second".to_owned())]
    );
    assert_eq!(
        codes("15s", &BREACH_WATCH.replace("every: 1s", "every: 5s").replace("for: 10s", "for: 3s")),
        [("invalid-value".to_owned(), "`for` (3s) is shorter than `every` (5s): not one full tick".to_owned())]
    );
    let zero =
        codes("15s", &BREACH_WATCH.replace("    fail_when: .errors > 2\n", "    fail_when: .errors > 2\n    max_failed_checks: 0\n"));
    assert_eq!(zero.len(), 1, "{zero:?}");
    assert_eq!(zero[0].0, "invalid-value");
    assert!(zero[0].1.contains("max_failed_checks"), "{}", zero[0].1);
    assert_eq!(codes("15s", &BREACH_WATCH.replace("every: 1s", "every: soon"))[0].0, "invalid-duration");
}

#[test]
fn lint_refuses_nested_watches_and_steps_bad_filters_and_the_reserved_name() {
    let nested = codes(
        "30s",
        "  watch:
    every: 1s
    for: 5s
    check:
      watch:
        every: 1s
        for: 2s
        check: {http: {connection: svc, url: '/health/{{ service }}'}}
        fail_when: .errors > 2
    fail_when: .outcome != \"succeeded\"
",
    );
    assert_eq!(
        nested,
        [(
            "nested-watch".to_owned(),
            "a watch's `check` is itself a `watch` action; a watch holds one `logs_insights`, `metrics` or `http` action there".to_owned()
        )]
    );
    let steps = codes(
        "30s",
        "  watch:
    every: 1s
    for: 5s
    check: {http: {connection: svc, url: '/health/{{ service }}'}}
    fail_when: .errors > 2
    on_fail:
      steps:
        run:
          - id: a
            http: {connection: svc, method: POST, url: /rollback}
",
    );
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0].0, "nested-watch");
    assert!(steps[0].1.starts_with("a watch's `on_fail` is itself a `steps` action"), "{}", steps[0].1);
    let none = codes("30s", "  watch:\n    every: 1s\n    for: 5s\n    check: {}\n    fail_when: .errors > 2\n");
    assert_eq!(none[0].0, "action-count", "{none:?}");
    let bad_jq = codes("15s", &BREACH_WATCH.replace("fail_when: .errors > 2", "fail_when: .errors >"));
    assert_eq!(bad_jq.len(), 1, "{bad_jq:?}");
    assert_eq!(bad_jq[0].0, "invalid-jq");
    let reserved = lint(
        &(connection("https://svc.example.com")
            + &tool("15s", BREACH_WATCH)
                .replace("    service: {type: string}\n", "    service: {type: string}\n    failed: {type: string}\n")),
    );
    assert!(reserved.iter().any(|(c, m)| c == "reserved-input-name" && m.contains("a watch tool's templates reserve")), "{reserved:?}");
    // `failed` is the watch's `on_fail`'s only: in the check it is an undeclared variable.
    let in_check = codes("15s", &BREACH_WATCH.replace("url: /health, query", "url: '/health/{{ failed.check }}', query"));
    assert!(in_check.iter().any(|(c, _)| c == "undeclared-variable"), "{in_check:?}");
}

/// An example of a watch tool lints clean, and the canary's watch step reading `steps.deploy`
/// is proved against the earlier step like any other step's template.
#[test]
fn examples_and_the_canary_lint_clean() {
    let diags = lint(&(connection("https://svc.example.com") + &tool("15s", BREACH_WATCH) + "examples:\n  - args: {service: checkout}\n"));
    assert!(diags.is_empty(), "{diags:?}");
    let diags = lint(&(connection("https://svc.example.com") + &tool("30s", CANARY) + "examples:\n  - args: {service: checkout}\n"));
    assert!(diags.is_empty(), "{diags:?}");
    let typo = codes(
        "30s",
        &CANARY.replace("url: '/deployments/{{ steps.deploy.id }}/health'", "url: '/deployments/{{ steps.deplyo.id }}/health'"),
    );
    assert_eq!(typo[0].0, "unknown-step", "{typo:?}");
}
