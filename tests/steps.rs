//! The `steps` action against a real HTTP server on 127.0.0.1 started by each test, compiled,
//! rendered and executed exactly as `tools/call` does (`runtime::call`), and its lint rules.
//!
//! The fake is a deployment service's REST API of the usual shape (as Argo CD's, Spinnaker's
//! or a home-grown deployer's): `POST /deployments` with a JSON body answers 201 and the new
//! deployment `{id, status}`; `GET /deployments/{id}` answers the deployment; `POST
//! /deployments/{id}/rollback` answers `{rolled_back: true}`; `POST /notes` stores a note and
//! echoes it. It records every request (raw path, body) so that tests assert what was sent.

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
use toolwright::compile::compile_dirs;
use toolwright::runtime::{Outcome, Runtime};

fn init() {
    // jq filters run in worker processes of the toolwright binary, not of this test binary.
    toolwright::catalog::jq_worker::set_program(env!("CARGO_BIN_EXE_toolwright").into());
}

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    /// The path as sent, percent-encoding kept.
    path: String,
    body: Vec<u8>,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body of {} is not JSON ({e}): {:?}", self.path, self.body))
    }
}

#[derive(Default)]
struct ServerState {
    seen: Mutex<Vec<Seen>>,
    /// The id `POST /deployments` gives the new deployment.
    next_id: Mutex<String>,
}

struct TestServer {
    url: String,
    state: Arc<ServerState>,
}

impl TestServer {
    async fn start(next_id: &str) -> TestServer {
        let state = Arc::new(ServerState::default());
        *state.next_id.lock().expect("lock") = next_id.to_owned();
        let addr = common::serve("127.0.0.1", Router::new().fallback(respond).with_state(Arc::clone(&state))).await;
        TestServer { url: format!("http://{addr}"), state }
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
    state.seen.lock().expect("lock").push(Seen { method: method.clone(), path: path.clone(), body: body.clone() });
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["deployments"]) => {
            let id = state.next_id.lock().expect("lock").clone();
            json_response(StatusCode::CREATED, &json!({"id": id, "status": "created"}))
        }
        ("GET", ["deployments", id]) => {
            let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy().into_owned();
            json_response(StatusCode::OK, &json!({"id": id, "status": "running", "replicas": 3}))
        }
        ("POST", ["deployments", _, "rollback"]) => json_response(StatusCode::OK, &json!({"rolled_back": true})),
        ("POST", ["notes"]) => {
            json_response(StatusCode::OK, &json!({"stored": serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)}))
        }
        ("GET", ["panels", "latency.png"]) => {
            Response::builder().header("content-type", "image/png").body(axum::body::Body::from(PNG.to_vec())).expect("response")
        }
        ("GET", ["runbook"]) => Response::builder()
            .header("content-type", "text/markdown")
            .body(axum::body::Body::from("# Latency runbook\nCheck the slowest dependency first.\n"))
            .expect("response"),
        ("GET", ["log"]) => Response::builder()
            .header("content-type", "text/plain")
            .body(axum::body::Body::from((0..400).map(|i| format!("log line {i}\n")).collect::<String>()))
            .expect("response"),
        ("GET", ["broken"]) => json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"error": "deployer unavailable"})),
        ("GET", ["slow"]) => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            json_response(StatusCode::OK, &json!({"slow": true}))
        }
        _ => json_response(StatusCode::NOT_FOUND, &json!({"error": "no such route"})),
    }
}

/// What `GET /panels/latency.png` answers: the bytes of a PNG signature and header chunk (a
/// Grafana render's first bytes; the tool passes bytes through unread).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";

/// The codes and messages lint reports for `yaml`.
fn lint(yaml: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tools.yaml"), yaml).expect("write spec");
    let compiled = compile_dirs(&[dir.path().to_path_buf()], None);
    compiled.diagnostics.iter().map(|d| (d.code.as_str().to_owned(), d.message.clone())).collect()
}

fn connection(base_url: &str) -> String {
    format!("kind: connection\nname: deployer\nhttp:\n  base_url: {base_url}\n  allow_private_networks: true\n---\n")
}

/// A steps tool taking `service` (and `notify`, default true); `action` is the block under
/// `action:`, indented by two spaces.
fn tool(timeout: &str, action: &str) -> String {
    format!(
        "kind: tool
name: deploy
description: Deploy a service and report on it.
input:
  type: object
  properties:
    service: {{type: string}}
    notify: {{type: boolean, default: true}}
  required: [service]
timeout: {timeout}
action:
{action}"
    )
}

async fn call(runtime: &Runtime, args: Value, cancel: &CancellationToken) -> Outcome {
    let loaded = runtime.current();
    let tool = toolwright::runtime::lookup(&loaded.catalog, "deploy").expect("tool `deploy`").clone();
    toolwright::runtime::call(&loaded, &tool, args.as_object(), cancel, None).await
}

const THREE_STEPS: &str = "  steps:
    run:
      - id: create
        http:
          connection: deployer
          method: POST
          url: /deployments
          body: {service: '{{ service }}'}
        output: '{id: .id}'
      - id: status
        http:
          connection: deployer
          url: /deployments/{{ steps.create.id }}
        output: .status
      - id: note
        when: .args.notify
        http:
          connection: deployer
          method: POST
          url: /notes
          body:
            deployment: '{{ steps.create.id }}'
            text: 'deployment {{ steps.create.id }} is {{ steps.status }}'
            status: '{{ steps.status }}'
";

/// Three steps: the second's URL and the third's body read earlier outputs. An output holding
/// `../` and `\"` lands as one percent-encoded path segment and as JSON string content: it
/// cannot climb the path or break the body.
#[tokio::test]
async fn later_steps_read_earlier_outputs_escaped_by_where_they_land() {
    init();
    let server = TestServer::start("../admin\"x").await;
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", THREE_STEPS)))).expect("runtime");
    let out = call(&runtime, json!({"service": "checkout"}), &CancellationToken::new()).await;
    assert!(!out.is_error, "{}", out.text);
    let seen = server.seen();
    assert_eq!(
        seen.iter().map(|s| (s.method.as_str(), s.path.as_str())).collect::<Vec<_>>(),
        [("POST", "/deployments"), ("GET", "/deployments/..%2Fadmin%22x"), ("POST", "/notes"),]
    );
    assert_eq!(seen[0].json(), json!({"service": "checkout"}));
    assert_eq!(
        seen[2].json(),
        json!({
            "deployment": "../admin\"x",
            "text": "deployment ../admin\"x is running",
            "status": "running",
        })
    );
    let structured = out.structured.expect("structured result");
    assert_eq!(structured["steps"]["create"], json!({"id": "../admin\"x"}));
    assert_eq!(structured["steps"]["status"], json!("running"));
    assert_eq!(structured["result"]["stored"]["deployment"], json!("../admin\"x"));
}

/// An output is checked for the context it lands in when the step renders, as an argument is:
/// `..` cannot be a URL path segment, so the step fails and nothing more is sent.
#[tokio::test]
async fn an_output_refused_by_its_context_fails_the_step_before_sending() {
    init();
    let server = TestServer::start("..").await;
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", THREE_STEPS)))).expect("runtime");
    let out = call(&runtime, json!({"service": "checkout"}), &CancellationToken::new()).await;
    assert!(out.is_error);
    assert!(out.text.contains("step `status` (2 of 3) failed"), "{}", out.text);
    assert!(out.text.contains("cannot be a URL path segment"), "{}", out.text);
    assert_eq!(server.seen().len(), 1, "only the first step was sent");
}

/// `when` false skips the step: nothing is sent for it, its output is null, and the result is
/// the output of the last step that ran.
#[tokio::test]
async fn when_false_skips_a_step() {
    init();
    let server = TestServer::start("d-1").await;
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", THREE_STEPS)))).expect("runtime");
    let out = call(&runtime, json!({"service": "checkout", "notify": false}), &CancellationToken::new()).await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(server.count("POST", "/notes"), 0);
    assert_eq!(server.seen().len(), 2);
    let structured = out.structured.expect("structured result");
    assert_eq!(structured["steps"]["note"], Value::Null);
    assert_eq!(structured["result"], json!("running"));
}

const PANEL_STEPS: &str = "  steps:
    run:
      - id: status
        http: {connection: deployer, url: '/deployments/{{ service }}'}
        output: .status
      - id: panel
        http: {connection: deployer, url: /panels/latency.png}
      - id: log
        when: .args.notify
        http: {connection: deployer, url: /log}
      - id: runbook
        http: {connection: deployer, url: /runbook, response: {content: resource}}
    content: [panel, status, log, runbook]
";

/// `content` makes the result's blocks each listed step's blocks, in the listed order, as each
/// step alone would have answered (an image beside its text, an embedded resource beside its
/// text); structuredContent stays the steps answer, and a skipped step adds nothing.
#[tokio::test]
async fn content_returns_the_listed_steps_blocks_in_order() {
    use toolwright::actions::output::{Block, Content, MediaKind};
    init();
    let server = TestServer::start("d-1").await;
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", PANEL_STEPS)))).expect("runtime");
    let out = call(&runtime, json!({"service": "checkout", "notify": false}), &CancellationToken::new()).await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(server.count("GET", "/log"), 0, "the skipped step is not sent");
    let structured = out.structured.clone().expect("structured result");
    assert_eq!(structured["steps"]["status"], json!("running"));
    assert_eq!(structured["steps"]["log"], Value::Null);
    let Some(Content::Blocks(blocks)) = out.media else { panic!("no content blocks: {:?}", out.media) };
    assert_eq!(blocks.len(), 5, "{blocks:?}");
    assert_eq!(blocks[0], Block::Text(format!("an image (image/png, {} bytes)", PNG.len())));
    let Block::Media(image) = &blocks[1] else { panic!("{blocks:?}") };
    assert_eq!((&image.kind, image.mime_type.as_str(), &image.data[..]), (&MediaKind::Image, "image/png", PNG));
    // The status step answered JSON: its block is that answer's text, before `output`.
    assert_eq!(blocks[2], Block::Text(r#"{"id":"checkout","status":"running","replicas":3}"#.to_owned()));
    let Block::Text(about) = &blocks[3] else { panic!("{blocks:?}") };
    assert!(about.contains("attached as the resource"), "{about}");
    let Block::Media(runbook) = &blocks[4] else { panic!("{blocks:?}") };
    assert_eq!(runbook.kind, MediaKind::Resource(format!("{}/runbook", server.url)));
    assert_eq!(runbook.mime_type, "text/markdown");
    assert!(std::str::from_utf8(&runbook.data).expect("utf-8").starts_with("# Latency runbook"));
    // Without `content`, the same steps answer is one text block, as before.
    let plain = PANEL_STEPS.replace("    content: [panel, status, log, runbook]\n", "");
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", &plain)))).expect("runtime");
    let out = call(&runtime, json!({"service": "checkout", "notify": false}), &CancellationToken::new()).await;
    assert_eq!(out.media, None);
    assert_eq!(out.structured.as_ref().map(|s| s["steps"]["status"].clone()), Some(json!("running")));
}

/// `output.max_bytes` bounds the whole result: the text blocks of all listed steps share it
/// (each step's text alone fits it; together they would not), cut at a line with the note.
#[tokio::test]
async fn content_text_blocks_share_the_tools_max_bytes() {
    use toolwright::actions::output::{Block, Content};
    init();
    let server = TestServer::start("d-1").await;
    let action = "  steps:
    run:
      - id: first
        http: {connection: deployer, url: /log}
      - id: second
        http: {connection: deployer, url: /log}
      - id: panel
        http: {connection: deployer, url: /panels/latency.png}
    content: [first, second, panel]
";
    let spec = tool("30s", action).replace("timeout: 30s\n", "timeout: 30s\noutput: {max_bytes: 3000}\n");
    let runtime = Runtime::new(compile(&(connection(&server.url) + &spec))).expect("runtime");
    let out = call(&runtime, json!({"service": "checkout"}), &CancellationToken::new()).await;
    assert!(!out.is_error, "{}", out.text);
    let Some(Content::Blocks(blocks)) = out.media else { panic!("no content blocks") };
    let texts: Vec<&String> = blocks.iter().filter_map(|b| if let Block::Text(t) = b { Some(t) } else { None }).collect();
    let total: usize = texts.iter().map(|t| t.len()).sum();
    assert!(total <= 3000, "the text blocks hold {total} bytes");
    assert!(texts[0].contains("[truncated: kept"), "each step's own answer is cut to max_bytes: {}", texts[0]);
    // The first text took the budget: the second is left out, the image still comes through.
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(matches!(blocks.last(), Some(Block::Media(_))), "{blocks:?}");
}

/// A failing middle step stops the sequence: the later step is never sent, `on_fail` runs
/// exactly once with `steps` and `failed`, and the error names the step, why, and what
/// `on_fail` answered.
#[tokio::test]
async fn a_failed_step_stops_the_sequence_and_runs_on_fail_once() {
    init();
    let server = TestServer::start("d-7").await;
    let action = "  steps:
    run:
      - id: create
        http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}'}}
      - id: check
        http: {connection: deployer, url: /broken}
      - id: note
        http: {connection: deployer, method: POST, url: /notes, body: {text: never}}
    on_fail:
      http:
        connection: deployer
        method: POST
        url: /deployments/{{ steps.create.id }}/rollback
        body: {failed_step: '{{ failed.step }}', error: '{{ failed.error }}', service: '{{ service }}'}
";
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", action)))).expect("runtime");
    let out = call(&runtime, json!({"service": "checkout"}), &CancellationToken::new()).await;
    assert!(out.is_error, "{}", out.text);
    assert!(out.text.starts_with("step `check` (2 of 3) failed: "), "{}", out.text);
    assert!(out.text.contains("500"), "{}", out.text);
    assert!(out.text.contains("on_fail ran and answered: {\"rolled_back\":true}"), "{}", out.text);
    assert_eq!(server.count("POST", "/notes"), 0, "the step after the failed one is never sent");
    assert_eq!(server.count("POST", "/rollback"), 1, "on_fail runs exactly once");
    let rollback = server.seen().into_iter().find(|s| s.path.ends_with("/rollback")).expect("rollback");
    assert_eq!(rollback.path, "/deployments/d-7/rollback");
    let body = rollback.json();
    assert_eq!(body["failed_step"], json!("check"));
    assert_eq!(body["service"], json!("checkout"));
    assert!(body["error"].as_str().is_some_and(|e| e.contains("500")), "{body}");
}

/// The tool's one timeout bounds the whole sequence: two 1.5 s steps under a 2 s timeout end
/// at 2 s, the third step is never sent, and `on_fail` has no time left to run.
#[tokio::test]
async fn the_deadline_bounds_the_whole_sequence() {
    init();
    let server = TestServer::start("d-1").await;
    let action = "  steps:
    run:
      - id: one
        http: {connection: deployer, url: /slow}
      - id: two
        http: {connection: deployer, url: /slow}
      - id: three
        http: {connection: deployer, method: POST, url: /notes, body: {service: '{{ service }}'}}
    on_fail:
      http: {connection: deployer, method: POST, url: /deployments/x/rollback}
";
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("2s", action)))).expect("runtime");
    let started = Instant::now();
    let out = call(&runtime, json!({"service": "checkout"}), &CancellationToken::new()).await;
    let took = started.elapsed();
    assert!(out.is_error, "{}", out.text);
    assert!(out.text.contains("step `two` (2 of 3) failed: the call timed out after 2s"), "{}", out.text);
    assert!(out.text.contains("on_fail did not run"), "{}", out.text);
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_millis(2900), "took {took:?}");
    assert_eq!(server.count("POST", "/notes"), 0);
    assert_eq!(server.count("POST", "/rollback"), 0);
}

/// A cancel stops the sequence during a step: no later step and no `on_fail` is sent.
#[tokio::test]
async fn a_cancel_stops_the_sequence() {
    init();
    let server = TestServer::start("d-1").await;
    let action = "  steps:
    run:
      - id: one
        http: {connection: deployer, url: /slow}
      - id: two
        http: {connection: deployer, method: POST, url: /notes, body: {service: '{{ service }}'}}
    on_fail:
      http: {connection: deployer, method: POST, url: /deployments/x/rollback}
";
    let runtime = Runtime::new(compile(&(connection(&server.url) + &tool("30s", action)))).expect("runtime");
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        canceller.cancel();
    });
    let out = call(&runtime, json!({"service": "checkout"}), &cancel).await;
    assert!(out.is_error);
    assert!(out.text.contains("cancelled"), "{}", out.text);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.count("POST", "/notes"), 0);
    assert_eq!(server.count("POST", "/rollback"), 0);
}

/// `render` (and lint's examples) render every step that reads only arguments and show a
/// placeholder for the ones that need earlier outputs; nothing is sent.
#[tokio::test]
async fn render_shows_what_renders_without_earlier_outputs() {
    init();
    let server = TestServer::start("d-1").await;
    let spec = connection(&server.url) + &tool("30s", THREE_STEPS) + "examples:\n  - args: {service: checkout}\n";
    let catalog = compile(&spec);
    let rendered =
        toolwright::runtime::render_only(&catalog, "deploy", json!({"service": "checkout"}).as_object()).expect("tool").expect("renders");
    assert_eq!(rendered["action"], json!("steps"));
    assert_eq!(rendered["steps"][0]["request"]["body"], json!({"service": "checkout"}));
    assert_eq!(rendered["steps"][1]["request"], json!("<rendered when the step runs: it reads `steps.create`>"));
    assert_eq!(rendered["steps"][2]["when"], json!(".args.notify"));
    assert!(server.seen().is_empty(), "render sends nothing");
}

fn codes(yaml_action: &str) -> Vec<(String, String)> {
    lint(&(connection("https://deploy.example.com") + &tool("30s", yaml_action)))
}

#[test]
fn lint_proves_each_step_reference_is_an_earlier_step() {
    let unknown = codes(
        "  steps:
    run:
      - id: create
        http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}'}}
      - id: status
        http: {connection: deployer, url: '/deployments/{{ steps.craete.id }}'}
",
    );
    assert_eq!(
        unknown,
        [(
            "unknown-step".to_owned(),
            "step `status` reads `steps.craete`, but no step has the id `craete` (did you mean `create`?)".to_owned()
        )]
    );
    let later = codes(
        "  steps:
    run:
      - id: create
        http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}', after: '{{ steps.status }}'}}
      - id: status
        http: {connection: deployer, url: /deployments/1}
",
    );
    assert_eq!(
        later,
        [(
            "unknown-step".to_owned(),
            "step `create` reads `steps.status`, but step `status` runs later; a step reads earlier steps only".to_owned()
        )]
    );
    let whole = codes(
        "  steps:
    run:
      - id: create
        http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}'}}
      - id: status
        http: {connection: deployer, url: \"/deployments/{{ steps['create'] }}\"}
",
    );
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].0, "unknown-step");
    // Outside a steps action, `steps` is an undeclared variable like any other.
    let plain = lint(
        &(connection("https://deploy.example.com")
            + "kind: tool\nname: t\ndescription: A tool.\ninput: {type: object}\naction:\n  http: {connection: deployer, url: '/x/{{ steps.a }}'}\n"),
    );
    assert_eq!(plain[0].0, "undeclared-variable");
}

#[test]
fn lint_checks_that_content_lists_steps_of_run_once() {
    let listed = codes(
        "  steps:
    run:
      - id: create
        http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}'}}
      - id: status
        http: {connection: deployer, url: /deployments/1}
    content: [status, craete, status]
",
    );
    assert_eq!(
        listed,
        [
            ("unknown-step".to_owned(), "`content` lists `craete`, but no step has the id `craete` (did you mean `create`?)".to_owned()),
            ("duplicate-step-id".to_owned(), "`content` lists step `status` twice".to_owned()),
        ]
    );
}

#[test]
fn lint_refuses_duplicate_and_invalid_ids_nested_steps_and_reserved_names() {
    let duplicate = codes(
        "  steps:
    run:
      - id: create
        http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}'}}
      - id: create
        http: {connection: deployer, url: /deployments/1}
",
    );
    assert_eq!(duplicate, [("duplicate-step-id".to_owned(), "step id `create` is already used by step 1".to_owned())]);
    let invalid = codes(
        "  steps:
    run:
      - id: Create-1
        http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}'}}
",
    );
    assert_eq!(invalid[0].0, "invalid-step-id");
    let nested = codes(
        "  steps:
    run:
      - id: outer
        steps:
          run:
            - id: inner
              http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}'}}
",
    );
    assert!(
        nested.iter().any(|(c, m)| c == "nested-steps" && m == "step `outer` is itself a `steps` action; steps do not nest"),
        "{nested:?}"
    );
    let two = codes(
        "  steps:
    run:
      - id: both
        http: {connection: deployer, method: POST, url: /deployments, body: {service: '{{ service }}'}}
        metrics: {queries: [{id: a, expression: SUM(METRICS())}]}
",
    );
    assert_eq!(two[0].0, "action-count", "{two:?}");
    let reserved = lint(
        &(connection("https://deploy.example.com")
            + "kind: tool\nname: t\ndescription: A tool.\ninput: {type: object, properties: {steps: {type: string}}}\naction:\n  steps:\n    run:\n      - id: a\n        http: {connection: deployer, url: '/x/{{ steps }}'}\n"),
    );
    assert!(reserved.iter().any(|(c, _)| c == "reserved-input-name"), "{reserved:?}");
}

/// An example of a steps tool lints clean although later steps need earlier outputs.
#[test]
fn examples_lint_without_earlier_outputs() {
    let diags =
        lint(&(connection("https://deploy.example.com") + &tool("30s", THREE_STEPS) + "examples:\n  - args: {service: checkout}\n"));
    assert!(diags.is_empty(), "{diags:?}");
}
