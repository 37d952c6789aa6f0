//! `toolwright test` end to end: the binary runs a catalog's `tests:` against a local HTTP
//! server on 127.0.0.1, records the exchanges, then replays them with the server stopped and no
//! credentials in the environment; a changed spec fails its replay with a diff; secrets are
//! redacted in recordings, a recording that would still hold one is not written, and a
//! recording holding a credential is refused; exit codes and the three formats.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

const TOOLWRIGHT: &str = env!("CARGO_BIN_EXE_toolwright");
const TOKEN: &str = "pets-token-3f9a8b7c6d5e4f";

// ---------------------------------------------------------------------------------------------
// The backend: a small pets API on a loopback port, stopped on demand.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Backend {
    hits: Arc<AtomicUsize>,
    created: Arc<Mutex<Vec<Value>>>,
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

async fn pets(State(b): State<Backend>, headers: HeaderMap, uri: Uri) -> Response {
    b.hits.fetch_add(1, Ordering::SeqCst);
    let q: HashMap<String, String> = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    if !authorized(&headers) {
        return json_response(StatusCode::UNAUTHORIZED, &json!({"error": "bad token"}));
    }
    let all = [("rex", "dog"), ("tom", "cat"), ("fido", "dog")];
    let kind = q.get("kind").cloned().unwrap_or_default();
    let items: Vec<Value> = all.iter().filter(|(_, k)| kind.is_empty() || *k == kind).map(|(n, k)| json!({"name": n, "kind": k})).collect();
    json_response(StatusCode::OK, &json!({"pets": items, "at": q.get("at")}))
}

async fn pet(State(b): State<Backend>, UrlPath(name): UrlPath<String>) -> Response {
    b.hits.fetch_add(1, Ordering::SeqCst);
    if name == "rex" {
        json_response(StatusCode::OK, &json!({"name": "rex", "kind": "dog"}))
    } else {
        json_response(StatusCode::NOT_FOUND, &json!({"error": format!("no pet named {name}")}))
    }
}

async fn create(State(b): State<Backend>, body: String) -> Response {
    b.hits.fetch_add(1, Ordering::SeqCst);
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    b.created.lock().expect("lock").push(value.clone());
    json_response(StatusCode::CREATED, &json!({"created": value}))
}

/// Echoes the credential it was sent, as it came (a debug endpoint).
async fn whoami(State(b): State<Backend>, headers: HeaderMap) -> Response {
    b.hits.fetch_add(1, Ordering::SeqCst);
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    json_response(StatusCode::OK, &json!({"you_sent": auth}))
}

/// Echoes the credential in base64, a form redaction does not look for.
async fn whoami_encoded(State(b): State<Backend>, headers: HeaderMap) -> Response {
    b.hits.fetch_add(1, Ordering::SeqCst);
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token = auth.trim_start_matches("Bearer ");
    json_response(StatusCode::OK, &json!({"you_sent": base64::engine::general_purpose::STANDARD.encode(token)}))
}

/// A server on its own thread and runtime; `stop` ends it and closes its port.
struct Server {
    port: u16,
    backend: Backend,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let backend = Backend::default();
        let app = Router::new()
            .route("/pets", get(pets))
            .route("/pets/{name}", get(pet))
            .route("/pets", post(create))
            .route("/whoami", get(whoami))
            .route("/whoami/encoded", get(whoami_encoded))
            .with_state(backend.clone());
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                port_tx.send(listener.local_addr().expect("address").port()).expect("send port");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let port = port_rx.recv_timeout(Duration::from_secs(10)).expect("the server started");
        Server { port, backend, stop: Some(stop_tx), thread: Some(thread) }
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // The port is closed: a request that reached the network would fail.
        assert!(std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err(), "the server still listens");
    }

    fn hits(&self) -> usize {
        self.backend.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The catalog and the binary.
// ---------------------------------------------------------------------------------------------

fn catalog(port: u16) -> String {
    format!(
        r#"kind: connection
name: pets
http:
  base_url: http://127.0.0.1:{port}
  allow_private_networks: ["127.0.0.1/32"]
  headers:
    Authorization: "Bearer {{{{ secret('PETS_TOKEN') }}}}"
---
kind: tool
name: list_pets
description: List the pets of one kind.
input:
  type: object
  properties:
    kind: {{type: string, default: dog}}
action:
  http:
    connection: pets
    url: /pets
    query:
      kind: "{{{{ kind }}}}"
      at: "{{{{ epoch() }}}}"
tests:
  - name: dogs
    expect:
      contains: [rex, fido]
      not_contains: tom
      rows: {{min: 2, max: 2}}
      jq: '.pets | all(.kind == "dog")'
  - name: cats
    args: {{kind: cat}}
    expect:
      rows: {{max: 1}}
      jq: '.pets[0].name == "tom"'
  - name: wrong-expectation
    args: {{kind: cat}}
    expect:
      contains: garfield
      rows: {{min: 5}}
---
kind: tool
name: get_pet
description: One pet by name.
input:
  type: object
  properties:
    name: {{type: string}}
  required: [name]
action:
  http:
    connection: pets
    url: "/pets/{{{{ name }}}}"
tests:
  - name: found
    args: {{name: rex}}
    expect: {{jq: '.kind == "dog"'}}
  - name: not-found
    args: {{name: garfield}}
    expect: {{is_error: true, contains: "HTTP 404"}}
  - name: bad-arguments
    expect: {{is_error: true, contains: name}}
---
kind: tool
name: add_pet
description: Add a pet.
input:
  type: object
  properties:
    name: {{type: string}}
    kind: {{type: string}}
  required: [name, kind]
action:
  http:
    connection: pets
    method: POST
    url: /pets
    body:
      name: "{{{{ name }}}}"
      kind: "{{{{ kind }}}}"
      tags: [new]
tests:
  - name: adds
    args: {{name: nemo, kind: fish}}
    expect: {{contains: nemo}}
---
kind: tool
name: whoami
description: What the API saw.
input: {{type: object}}
action:
  http: {{connection: pets, url: /whoami}}
tests:
  - name: echoes
    expect: {{contains: you_sent}}
"#
    )
}

/// A catalog whose backend echoes the credential in base64.
fn echo_catalog(port: u16) -> String {
    let base = catalog(port);
    let connection = base.split("---").next().expect("the connection").to_owned();
    format!(
        "{connection}---\nkind: tool\nname: whoami_encoded\ndescription: What the API saw, encoded.\ninput: {{type: object}}\naction:\n  http: {{connection: pets, url: /whoami/encoded}}\ntests:\n  - name: echoes\n"
    )
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    /// Each test's status by `tool/test`.
    fn statuses(&self) -> Vec<(String, String)> {
        let v = self.json();
        v["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .map(|t| {
                (
                    format!("{}/{}", t["tool"].as_str().unwrap_or("?"), t["test"].as_str().unwrap_or("?")),
                    t["status"].as_str().unwrap_or("?").to_owned(),
                )
            })
            .collect()
    }

    fn messages(&self, test: &str) -> String {
        let v = self.json();
        v["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .find(|t| format!("{}/{}", t["tool"].as_str().unwrap_or(""), t["test"].as_str().unwrap_or("")) == test)
            .map(|t| t["messages"].as_array().expect("messages").iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"))
            .unwrap_or_else(|| panic!("no test {test}: {}", self.stdout))
    }
}

/// Runs `toolwright test` in `dir` with `PETS_TOKEN` set to `token` (or unset).
fn toolwright(dir: &Path, args: &[&str], token: Option<&str>) -> Run {
    let mut command = Command::new(TOOLWRIGHT);
    command.current_dir(dir).arg("test").args(args).env("NO_COLOR", "1").env_remove("TOOLWRIGHT_SECRETS_DIR").env_remove("RUST_LOG");
    match token {
        Some(t) => command.env("PETS_TOKEN", t),
        None => command.env_remove("PETS_TOKEN"),
    };
    let out = command.output().expect("run toolwright");
    Run {
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write_catalog(dir: &Path, yaml: &str) {
    std::fs::create_dir_all(dir.join("tools.d")).expect("tools.d");
    std::fs::write(dir.join("tools.d").join("pets.yaml"), yaml).expect("write the catalog");
}

fn expected_statuses() -> Vec<(String, String)> {
    [
        ("add_pet/adds", "pass"),
        ("get_pet/bad-arguments", "pass"),
        ("get_pet/found", "pass"),
        ("get_pet/not-found", "pass"),
        ("list_pets/cats", "pass"),
        ("list_pets/dogs", "pass"),
        ("list_pets/wrong-expectation", "fail"),
        ("whoami/echoes", "pass"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect()
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

/// Live, record, then replay with the server stopped and no token: the same verdicts, and the
/// replay of a changed spec fails with a diff.
#[test]
fn record_then_replay_without_network_or_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start();
    write_catalog(dir.path(), &catalog(server.port));

    // Live: the real call path, with the secret resolved.
    let live = toolwright(dir.path(), &["--format", "json"], Some(TOKEN));
    assert_eq!(live.code, 1, "{}{}", live.stdout, live.stderr);
    assert_eq!(sorted(live.statuses()), expected_statuses(), "{}", live.stdout);
    let wrong = live.messages("list_pets/wrong-expectation");
    assert!(wrong.contains("the answer does not contain \"garfield\""), "{wrong}");
    assert!(wrong.contains("the result has 1 row(s), fewer than `rows.min` (5)"), "{wrong}");
    // Without the token, the API refuses: the tests say so.
    let refused = toolwright(dir.path(), &["--format", "json"], Some("not-the-token"));
    assert!(refused.messages("list_pets/dogs").contains("HTTP 401"), "{}", refused.stdout);

    // Record.
    let hits = server.hits();
    let recorded = toolwright(dir.path(), &["--record", "recordings", "--format", "json"], Some(TOKEN));
    assert_eq!(recorded.code, 1, "{}{}", recorded.stdout, recorded.stderr);
    assert_eq!(sorted(recorded.statuses()), expected_statuses());
    // One request per test, except the test whose arguments were refused before sending.
    assert_eq!(server.hits() - hits, 7);
    let file = dir.path().join("recordings/list_pets/dogs.json");
    let text = std::fs::read_to_string(&file).expect("the recording");
    let recording: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(recording["format"], "toolwright-recording/1");
    assert_eq!((recording["tool"].as_str(), recording["test"].as_str()), (Some("list_pets"), Some("dogs")));
    let exchange = &recording["exchanges"][0];
    assert_eq!(exchange["request"]["method"], "GET");
    let url = exchange["request"]["url"].as_str().expect("url");
    assert!(url.contains("/pets?at=") && url.ends_with("&kind=dog"), "{text}");
    assert_eq!(exchange["request"]["headers"]["authorization"], "***");
    assert_eq!(exchange["response"]["status"], 200);
    assert_eq!(exchange["response"]["body"]["json"]["pets"][1]["name"], "fido");
    assert!(!text.contains(TOKEN), "{text}");
    // The refused call sent nothing: its recording holds no exchange.
    let bad = std::fs::read_to_string(dir.path().join("recordings/get_pet/bad-arguments.json")).expect("recording");
    assert_eq!(serde_json::from_str::<Value>(&bad).expect("JSON")["exchanges"], json!([]));
    // The POST's JSON body is kept as JSON.
    let add: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("recordings/add_pet/adds.json")).expect("recording")).expect("JSON");
    assert_eq!(add["exchanges"][0]["request"]["body"]["json"], json!({"name": "nemo", "kind": "fish", "tags": ["new"]}));

    // Replay: the server is gone, the token too. `epoch()` in the URL renders at the recording's
    // time, so a second later it still matches.
    server.stop();
    std::thread::sleep(Duration::from_millis(1100));
    let replayed = toolwright(dir.path(), &["--replay", "recordings", "--format", "json"], None);
    assert_eq!(replayed.code, 1, "{}{}", replayed.stdout, replayed.stderr);
    assert_eq!(sorted(replayed.statuses()), expected_statuses(), "{}", replayed.stdout);
    // Word for word what the recording run said (the `at` the API echoed included).
    assert_eq!(replayed.messages("list_pets/wrong-expectation"), recorded.messages("list_pets/wrong-expectation"));
    // Text format: the same verdicts, a line each.
    let text_run = toolwright(dir.path(), &["--replay", "recordings"], None);
    assert_eq!(text_run.code, 1);
    assert!(text_run.stdout.contains("PASS  list_pets/dogs (tools.d/pets.yaml:"), "{}", text_run.stdout);
    assert!(text_run.stdout.contains("FAIL  list_pets/wrong-expectation (tools.d/pets.yaml:"), "{}", text_run.stdout);
    assert!(text_run.stdout.ends_with("7 passed, 1 failed, 0 errors\n"), "{}", text_run.stdout);

    // A changed spec: another default kind (the URL) and another body field (JSON diff).
    let changed = catalog(server.port)
        .replace("kind: {type: string, default: dog}", "kind: {type: string, default: cat}")
        .replace("tags: [new]", "tags: [old]");
    write_catalog(dir.path(), &changed);
    let diff = toolwright(dir.path(), &["--replay", "recordings", "--format", "json"], None);
    assert_eq!(diff.code, 1);
    let dogs = diff.messages("list_pets/dogs");
    assert!(dogs.starts_with("replay: request 1 differs from the recording:\n  url: recorded "), "{dogs}");
    assert!(dogs.contains("kind=dog") && dogs.contains("kind=cat"), "{dogs}");
    let add = diff.messages("add_pet/adds");
    assert!(add.contains("body /tags/0: recorded \"\\\"new\\\"\", now \"\\\"old\\\"\""), "{add}");
    // The tests whose requests did not change still pass.
    assert!(diff.statuses().contains(&("get_pet/found".to_owned(), "pass".to_owned())));

    // A spec that now sends a request more (or fewer) than recorded.
    let more = catalog(server.port).replace("  http: {connection: pets, url: /whoami}", "  steps:\n    run:\n      - id: one\n        http: {connection: pets, url: /whoami}\n      - id: two\n        http: {connection: pets, url: /whoami}");
    write_catalog(dir.path(), &more);
    let extra = toolwright(dir.path(), &["--replay", "recordings", "--format", "json"], None);
    let echoes = extra.messages("whoami/echoes");
    assert!(
        echoes.contains("request 2 (GET http://127.0.0.1:") && echoes.contains("is not in the recording, which holds 1 exchange(s)"),
        "{echoes}"
    );
}

/// Secrets: a credential echoed as sent is redacted; one echoed in base64 makes the recording
/// refused (not written, exit 2); a recording holding a credential is refused by `--replay`.
#[test]
fn secrets_are_redacted_and_a_recording_holding_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start();
    write_catalog(dir.path(), &catalog(server.port));
    let run = toolwright(dir.path(), &["--record", "rec", "--format", "json"], Some(TOKEN));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let text = std::fs::read_to_string(dir.path().join("rec/whoami/echoes.json")).expect("the recording");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains(r#""authorization": "***""#), "{text}");
    assert!(text.contains(r#""you_sent": "Bearer ***""#), "{text}");
    // Every recording: no token in any form.
    for entry in walk(&dir.path().join("rec")) {
        let body = std::fs::read_to_string(&entry).expect("read");
        assert!(!body.contains(TOKEN) && !body.contains(&base64::engine::general_purpose::STANDARD.encode(TOKEN)), "{}", entry.display());
    }

    // The base64 echo: redaction does not look for it, the check before writing does.
    write_catalog(dir.path(), &echo_catalog(server.port));
    let run = toolwright(dir.path(), &["--record", "rec2", "--format", "json"], Some(TOKEN));
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.statuses(), vec![("whoami_encoded/echoes".to_owned(), "error".to_owned())]);
    let message = run.messages("whoami_encoded/echoes");
    assert!(message.starts_with("not recorded: the recording would still hold a secret after redaction"), "{message}");
    assert!(message.contains("in base64, in exchange 1 (response)"), "{message}");
    assert!(!message.contains(TOKEN), "{message}");
    assert!(!dir.path().join("rec2/whoami_encoded/echoes.json").exists());
    // The text format says the same, and so does the github one.
    let text_run = toolwright(dir.path(), &["--record", "rec2"], Some(TOKEN));
    assert!(text_run.stdout.contains("ERROR whoami_encoded/echoes"), "{}", text_run.stdout);
    let github = toolwright(dir.path(), &["--record", "rec2", "--format", "github"], Some(TOKEN));
    assert!(github.stdout.starts_with("::error file=tools.d/pets.yaml,line=16,col=11,"), "{}", github.stdout);
    assert!(github.stdout.contains("title=toolwright test whoami_encoded/echoes could not run::not recorded"), "{}", github.stdout);

    // A recording edited to hold a credential is refused, and nothing is answered from it.
    write_catalog(dir.path(), &catalog(server.port));
    let path = dir.path().join("rec/whoami/echoes.json");
    let leaked = text.replace("Bearer ***", "Bearer abcdefghijklmnop0123456789");
    std::fs::write(&path, &leaked).expect("edit the recording");
    let run = toolwright(dir.path(), &["--replay", "rec", "--format", "json"], None);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let message = run.messages("whoami/echoes");
    assert!(message.contains("refused to replay") && message.contains("a bearer or basic credential (line "), "{message}");
    assert!(!message.contains("abcdefghijklmnop0123456789"), "{message}");
    // An AWS access key id in a body, and a credential header that is not redacted.
    std::fs::write(&path, text.replace("you_sent", "AKIAIOSFODNN7EXAMPLE")).expect("edit");
    assert!(
        toolwright(dir.path(), &["--replay", "rec", "--format", "json"], None).messages("whoami/echoes").contains("an AWS access key id")
    );
    std::fs::write(&path, text.replace(r#""authorization": "***""#, r#""authorization": "Bearer x""#)).expect("edit");
    let message = toolwright(dir.path(), &["--replay", "rec", "--format", "json"], None).messages("whoami/echoes");
    assert!(message.contains("exchange 1: the request header `authorization` is not redacted"), "{message}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Exit codes: 0 when every test passes, 1 when one fails, 2 when the specs do not compile or a
/// test cannot run (no recording); the formats of each.
#[test]
fn exit_codes_and_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start();
    // Only passing tests.
    let passing = catalog(server.port)
        .replace("  - name: wrong-expectation\n    args: {kind: cat}\n    expect:\n      contains: garfield\n      rows: {min: 5}\n", "");
    write_catalog(dir.path(), &passing);
    let run = toolwright(dir.path(), &[], Some(TOKEN));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.ends_with("7 passed, 0 failed, 0 errors\n"), "{}", run.stdout);
    let github = toolwright(dir.path(), &["--format", "github"], Some(TOKEN));
    assert_eq!((github.code, github.stdout.as_str()), (0, "7 passed, 0 failed, 0 errors\n"));

    // A failing test: 1, with an annotation at the test's name.
    write_catalog(dir.path(), &catalog(server.port));
    let github = toolwright(dir.path(), &["--format", "github"], Some(TOKEN));
    assert_eq!(github.code, 1);
    let lines: Vec<&str> = github.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", github.stdout);
    assert!(lines[0].starts_with("::error file=tools.d/pets.yaml,line=35,col=11,endLine=35,endColumn=28,title=toolwright test list_pets/wrong-expectation failed::the answer does not contain \"garfield\""), "{}", lines[0]);
    assert!(lines[0].contains("%0Athe result has 1 row(s)"), "{}", lines[0]);
    assert_eq!(lines[1], "7 passed, 1 failed, 0 errors");

    // No recording to replay: 2, and the test says where it looked.
    let run = toolwright(dir.path(), &["--replay", ".", "--format", "json"], None);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["errors"], 8);
    assert!(
        run.messages("get_pet/found")
            .starts_with("cannot replay: no recording at ./get_pet/found.json (record it with `toolwright test --record .`)"),
        "{}",
        run.stdout
    );
    let missing_dir = toolwright(dir.path(), &["--replay", "nowhere"], None);
    assert_eq!(missing_dir.code, 2);
    assert!(missing_dir.stderr.contains("--replay nowhere: no such directory of recordings"), "{}", missing_dir.stderr);
    let both = toolwright(dir.path(), &["--replay", ".", "--record", "x"], None);
    assert_eq!(both.code, 2, "{}", both.stderr);

    // Specs that do not compile: 2, the diagnostics as lint shows them (json: under `diagnostics`).
    let broken = catalog(server.port).replace("jq: '.kind == \"dog\"'", "jq: '.kind =='").replace("  - name: cats\n", "  - name: dogs\n");
    write_catalog(dir.path(), &broken);
    let run = toolwright(dir.path(), &["--format", "json"], Some(TOKEN));
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let v = run.json();
    let codes: Vec<&str> = v["diagnostics"].as_array().expect("diagnostics").iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["duplicate-test-name", "duplicate-test-name", "invalid-jq"], "{}", run.stdout);
    assert_eq!(v["tests"], json!([]));
    let text = toolwright(dir.path(), &[], Some(TOKEN));
    assert_eq!(text.code, 2);
    assert!(
        text.stderr.contains("error[duplicate-test-name]: duplicate test name `dogs`; first defined at tools.d/pets.yaml:"),
        "{}",
        text.stderr
    );
    assert!(text.stderr.ends_with("error: the specs do not compile, so no test ran\n"), "{}", text.stderr);
    let github = toolwright(dir.path(), &["--format", "github"], Some(TOKEN));
    assert_eq!(github.code, 2);
    assert!(github.stdout.starts_with("::error file=tools.d/pets.yaml,"), "{}", github.stdout);
}
