//! `toolwright import openapi`, run as the binary: real published documents (vendored under
//! `tests/openapi/`, see its README) imported and then linted with no edits, the share of their
//! operations imported printed; generated specs served against a real HTTP server on 127.0.0.1
//! and called, to prove the requests are the ones the documents describe; and hostile documents
//! (cycles in `$ref`, 10,000 operations, colliding names, invalid documents) generated here.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use toolwright::compile::compile_dirs;
use toolwright::connections::Clients;

const TOOLWRIGHT: &str = env!("CARGO_BIN_EXE_toolwright");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What one run of the binary gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let Output { status, stdout, stderr } = Command::new(TOOLWRIGHT).args(args).env("NO_COLOR", "1").output().expect("run toolwright");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `toolwright import openapi SOURCE --connection CONNECTION --out OUT EXTRA...`.
fn import(source: &str, connection: &str, out: &Path, extra: &[&str]) -> Run {
    let out = out.to_string_lossy().into_owned();
    let mut args = vec!["import", "openapi", source, "--connection", connection, "--out", &out];
    args.extend_from_slice(extra);
    run(&args)
}

/// A directory holding one http connection named `name` with `base_url`.
fn connection_dir(name: &str, base_url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("connection.yaml"),
        format!("kind: connection\nname: {name}\nhttp:\n  base_url: {base_url}\n  allow_private_networks: true\n"),
    )
    .expect("write connection");
    dir
}

/// Lints the generated specs beside a connection named `connection`, as a user would after
/// importing: errors and warnings both fail.
fn assert_lints_clean(out: &Path, connection: &str) {
    let conn = connection_dir(connection, "https://api.example.com");
    let lint = run(&["lint", &out.to_string_lossy(), &conn.path().to_string_lossy(), "--deny-warnings"]);
    assert_eq!(lint.code, 0, "the generated specs do not lint clean:\n{}{}", lint.stdout, lint.stderr);
    assert!(lint.stdout.ends_with("0 errors, 0 warnings\n"), "{}", lint.stdout);
}

/// The `imported N of M` line's figures.
fn imported(stdout: &str) -> (usize, usize) {
    let line = stdout.lines().find(|l| l.starts_with("imported ")).unwrap_or_else(|| panic!("no summary in:\n{stdout}"));
    let words: Vec<&str> = line.split(' ').collect();
    (words[1].parse().expect("imported count"), words[3].parse().expect("total count"))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read out dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// A generated file read back as JSON (its YAML parsed).
fn read_spec(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read spec");
    serde_saphyr::from_str::<Value>(&text).expect("the generated file is YAML")
}

// ---------------------------------------------------------------------------------------------
// Real documents.
// ---------------------------------------------------------------------------------------------

/// Imports a vendored document, checks the summary against the files written and that they
/// lint clean; the share imported is printed (`cargo test -- --nocapture` shows it).
fn import_vendored(file: &str, connection: &str, min_imported: usize, total: usize) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let source = format!("{ROOT}/tests/openapi/{file}");
    let started = Instant::now();
    let r = import(&source, connection, out.path(), &[]);
    let (n, m) = imported(&r.stdout);
    println!(
        "{file}: imported {n} of {m} operations ({:.1}%) in {:.1}s\n{}",
        100.0 * n as f64 / m as f64,
        started.elapsed().as_secs_f64(),
        r.stdout.lines().filter(|l| l.starts_with("skipped")).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(m, total, "{}", r.stdout);
    assert!(n >= min_imported, "only {n} of {m} imported:\n{}{}", r.stdout, r.stderr);
    assert_eq!(r.code, if n == m { 0 } else { 1 }, "{}{}", r.stdout, r.stderr);
    assert_eq!(yaml_files(out.path()).len(), n);
    assert!(!r.stdout.contains("does not lint clean"), "the generation made a spec its own check refused:\n{}", r.stdout);
    assert_lints_clean(out.path(), connection);
    out
}

#[test]
fn kubernetes_core_v1_imports_and_lints_clean() {
    let out = import_vendored("kubernetes-core-v1.json", "kubernetes-api", 245, 245);
    let pods = read_spec(&out.path().join("listCoreV1NamespacedPod.yaml"));
    assert_eq!(pods["annotations"], json!({"read_only": true}));
    assert_eq!(pods["action"]["http"]["url"], "/api/v1/namespaces/{{ namespace }}/pods");
    assert_eq!(pods["action"]["http"]["query"]["labelSelector"], "{{ labelSelector }}");
    assert_eq!(pods["input"]["required"], json!(["namespace"]));
    let delete = read_spec(&out.path().join("deleteCoreV1NamespacedPod.yaml"));
    assert_eq!(delete["annotations"], json!({"read_only": false, "destructive": true}));
    let create = read_spec(&out.path().join("createCoreV1NamespacedConfigMap.yaml"));
    assert_eq!(create["annotations"], json!({"read_only": false}));
    assert_eq!(create["input"]["properties"]["body"]["properties"]["data"]["type"], "object");
}

#[test]
fn datadog_v1_imports_and_lints_clean() {
    let out = import_vendored("datadog-v1.yaml", "datadog-api", 234, 235);
    let monitors = read_spec(&out.path().join("ListMonitors.yaml"));
    assert_eq!(monitors["action"]["http"]["url"], "/api/v1/monitor");
    assert!(monitors["title"].is_string() && monitors["description"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Generated specs against a real HTTP server.
// ---------------------------------------------------------------------------------------------

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    /// The path as sent (percent-encoding kept).
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Records every request and answers `{"ok": true}`, as a JSON API answers a successful call.
async fn record(State(log): State<Log>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1024 * 1024).await.map(|b| b.to_vec()).unwrap_or_default();
    log.lock().expect("lock").push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect(),
        headers: parts.headers.iter().map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect(),
        body,
    });
    common::json_response(StatusCode::OK, &json!({"ok": true}))
}

/// Imports `source` into a temporary directory, compiles it with a connection named
/// `connection` pointing at a recording server, and returns what calls need.
async fn imported_against_server(
    source: &str,
    connection: &str,
    extra: &[&str],
) -> (toolwright::catalog::Catalog, Clients, Log, tempfile::TempDir) {
    let out = tempfile::tempdir().expect("tempdir");
    let r = import(source, connection, out.path(), extra);
    assert!(r.code == 0 || r.code == 1, "{}{}", r.stdout, r.stderr);
    let log: Log = Arc::default();
    let addr = common::serve("127.0.0.1", Router::new().fallback(record).with_state(Arc::clone(&log))).await;
    let conn = connection_dir(connection, &format!("http://{addr}"));
    let compiled = compile_dirs(&[out.path().to_path_buf(), conn.path().to_path_buf()], None);
    let catalog = compiled.catalog.unwrap_or_else(|| panic!("does not compile: {:#?}", compiled.diagnostics));
    let clients = Clients::new(catalog.connections().values());
    (catalog, clients, log, out)
}

fn last(log: &Log) -> Seen {
    log.lock().expect("lock").last().cloned().expect("a request reached the server")
}

#[tokio::test]
async fn kubernetes_specs_send_the_requests_the_document_describes() {
    let source = format!("{ROOT}/tests/openapi/kubernetes-core-v1.json");
    let ops = [
        "listCoreV1NamespacedPod",
        "createCoreV1NamespacedConfigMap",
        "patchCoreV1NamespacedConfigMap",
        "deleteCoreV1NamespacedPod",
        "readCoreV1NamespacedPod",
    ];
    let mut extra = Vec::new();
    for op in ops {
        extra.extend(["--operation", op]);
    }
    let (catalog, clients, log, _out) = imported_against_server(&source, "kubernetes-api", &extra).await;
    assert_eq!(catalog.tools().len(), ops.len());

    // Query parameters: those given are sent, the optional ones not given are left out.
    common::call(
        &clients,
        &catalog,
        "listCoreV1NamespacedPod",
        json!({"namespace": "payments", "labelSelector": "app=checkout", "limit": 5}),
    )
    .await
    .expect("list pods");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", "/api/v1/namespaces/payments/pods"));
    let query: BTreeMap<_, _> = seen.query.iter().cloned().collect();
    assert_eq!(query, BTreeMap::from([("labelSelector".to_owned(), "app=checkout".to_owned()), ("limit".to_owned(), "5".to_owned())]));

    // A path value is one encoded segment: `/` cannot add a segment.
    common::call(&clients, &catalog, "readCoreV1NamespacedPod", json!({"namespace": "payments", "name": "web 1/x"}))
        .await
        .expect("read pod");
    assert_eq!(last(&log).path, "/api/v1/namespaces/payments/pods/web%201%2Fx");

    // The body is the `body` argument, as JSON.
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flags"}, "data": {"checkout": "on"}});
    common::call(
        &clients,
        &catalog,
        "createCoreV1NamespacedConfigMap",
        json!({"namespace": "payments", "body": config_map, "dryRun": "All"}),
    )
    .await
    .expect("create config map");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/api/v1/namespaces/payments/configmaps"));
    assert_eq!(seen.query, vec![("dryRun".to_owned(), "All".to_owned())]);
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.json(), config_map);

    // PATCH offers JSON Patch, merge patch, strategic merge patch and apply: the merge patch is chosen.
    common::call(
        &clients,
        &catalog,
        "patchCoreV1NamespacedConfigMap",
        json!({"namespace": "payments", "name": "flags", "body": {"data": {"checkout": "off"}}}),
    )
    .await
    .expect("patch config map");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("PATCH", "/api/v1/namespaces/payments/configmaps/flags"));
    assert_eq!(seen.header("content-type"), Some("application/merge-patch+json"));
    assert_eq!(seen.json(), json!({"data": {"checkout": "off"}}));

    // An optional body not given is `{}` (DeleteOptions accepts it).
    common::call(
        &clients,
        &catalog,
        "deleteCoreV1NamespacedPod",
        json!({"namespace": "payments", "name": "web-1", "gracePeriodSeconds": 0}),
    )
    .await
    .expect("delete pod");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("DELETE", "/api/v1/namespaces/payments/pods/web-1"));
    assert_eq!(seen.query, vec![("gracePeriodSeconds".to_owned(), "0".to_owned())]);
    assert_eq!(seen.json(), json!({}));

    // Arguments are checked against the document's schema before anything is sent.
    let before = log.lock().expect("lock").len();
    let refused = common::call(&clients, &catalog, "listCoreV1NamespacedPod", json!({"namespace": "payments", "limit": "many"})).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(log.lock().expect("lock").len(), before);
}

#[tokio::test]
async fn datadog_specs_send_the_requests_the_document_describes() {
    let source = format!("{ROOT}/tests/openapi/datadog-v1.yaml");
    let (catalog, clients, log, _out) = imported_against_server(
        &source,
        "datadog-api",
        &["--operation", "ListMonitors", "--operation", "UpdateMonitor", "--operation", "SubmitMetrics"],
    )
    .await;
    common::call(&clients, &catalog, "ListMonitors", json!({"tags": "env:prod,team:checkout", "page_size": 50}))
        .await
        .expect("list monitors");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", "/api/v1/monitor"));
    let query: BTreeMap<_, _> = seen.query.iter().cloned().collect();
    assert_eq!(
        query,
        BTreeMap::from([("page_size".to_owned(), "50".to_owned()), ("tags".to_owned(), "env:prod,team:checkout".to_owned())])
    );

    common::call(&clients, &catalog, "UpdateMonitor", json!({"monitor_id": 42, "body": {"name": "checkout 5xx"}}))
        .await
        .expect("update monitor");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("PUT", "/api/v1/monitor/42"));
    assert_eq!(seen.json(), json!({"name": "checkout 5xx"}));

    // Datadog describes this body as `text/json`: it is sent as JSON, labelled as the document says.
    let series = json!({"series": [{"metric": "checkout.errors", "points": [[1_800_000_000, 3.0]]}]});
    common::call(&clients, &catalog, "SubmitMetrics", json!({"body": series})).await.expect("submit metrics");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/api/v1/series"));
    assert_eq!(seen.header("content-type"), Some("text/json"));
    assert_eq!(seen.json(), series);
}

/// A small OpenAPI 3.1 document with what import translates and what it cannot express.
const PETSTORE: &str = r##"
openapi: 3.1.0
info: {title: Pet store, version: "1"}
servers:
  - url: https://{region}.pets.example.com/v1
    variables:
      region: {default: eu}
components:
  securitySchemes:
    key: {type: apiKey, name: X-Api-Key, in: header}
  parameters:
    Limit:
      name: limit
      in: query
      description: At most this many.
      schema: {type: integer, minimum: 1, maximum: 100, default: 20}
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string, minLength: 1}
        tag: {type: [string, "null"]}
        kind: {const: pet}
        parent: {$ref: "#/components/schemas/Pet", description: The pet's parent.}
paths:
  /pets:
    get:
      operationId: listPets
      summary: List pets
      tags: [pets]
      parameters:
        - $ref: "#/components/parameters/Limit"
        - {name: status, in: query, schema: {type: array, items: {type: string, enum: [available, sold]}}}
        - {name: fields, in: query, explode: false, schema: {type: array, items: {type: string}}}
        - {name: X-Trace, in: header, schema: {type: string}}
        - {name: X-Tenant, in: header, required: true, schema: {type: string}}
        - {name: session, in: cookie, schema: {type: string}}
    post:
      operationId: createPet
      summary: Create a pet
      tags: [pets]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer}}
    get:
      operationId: getPet
      summary: Get a pet
      tags: [pets]
    delete:
      operationId: deletePet
      tags: [admin]
  /pets/{petId}/photo:
    post:
      operationId: uploadPhoto
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object}
  /login:
    post:
      operationId: login
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [user]
              properties:
                user: {type: string}
                remember: {type: boolean}
  /session:
    get:
      operationId: getSession
      parameters:
        - {name: session, in: cookie, required: true, schema: {type: string}}
    trace:
      operationId: traceSession
"##;

fn write_doc(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write document");
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn openapi_3_1_translation_and_what_cannot_be_expressed() {
    let docs = tempfile::tempdir().expect("tempdir");
    let source = write_doc(docs.path(), "petstore.yaml", PETSTORE);
    let out = tempfile::tempdir().expect("tempdir");
    let r = import(&source, "pets", out.path(), &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    for expected in [
        "skipped POST /pets/{petId}/photo (uploadPhoto): the request body is multipart/form-data, which the http action cannot send",
        "skipped GET /session (getSession): required cookie parameter `session` cannot be sent: it is a cookie",
        "skipped TRACE /session (traceSession): TRACE is not a method the http action sends",
        "note: GET /pets (listPets): optional header parameter `X-Trace` left out",
        "note: GET /pets (listPets): optional cookie parameter `session` left out",
        "note: POST /pets (createPet): $ref cycle through `#/components/schemas/Pet` cut",
        "imported 5 of 8 operations into",
        "define it as an http connection, with base_url https://eu.pets.example.com/v1 (the document's server)",
        "the document authenticates with `key`: API key `X-Api-Key` in header",
    ] {
        assert!(r.stdout.contains(expected), "missing {expected:?} in:\n{}", r.stdout);
    }
    assert_lints_clean(out.path(), "pets");

    let list = read_spec(&out.path().join("listPets.yaml"));
    assert_eq!(list["title"], "List pets");
    // An optional parameter's default is the API's: the parameter is left out unless given.
    assert_eq!(
        list["input"]["properties"]["limit"],
        json!({"type": "integer", "minimum": 1, "maximum": 100, "description": "At most this many. Default: `20`."})
    );
    assert_eq!(list["input"]["required"], json!(["X_Tenant"]));
    assert_eq!(list["input"]["properties"]["fields"]["type"], "string");
    assert_eq!(list["action"]["http"]["headers"], json!({"X-Tenant": "{{ X_Tenant }}"}));
    let create = read_spec(&out.path().join("createPet.yaml"));
    let pet = &create["input"]["properties"]["body"];
    assert!(pet["properties"].get("id").is_none(), "readOnly `id` is not sent: {pet}");
    assert_eq!(pet["properties"]["tag"]["type"], json!(["string", "null"]));
    assert_eq!(pet["properties"]["parent"]["description"], "The pet's parent.");
    assert_eq!(create["input"]["required"], json!(["body"]));

    // The requests, against a real server.
    let log: Log = Arc::default();
    let addr = common::serve("127.0.0.1", Router::new().fallback(record).with_state(Arc::clone(&log))).await;
    let conn = connection_dir("pets", &format!("http://{addr}/v1"));
    let compiled = compile_dirs(&[out.path().to_path_buf(), conn.path().to_path_buf()], None);
    let catalog = compiled.catalog.unwrap_or_else(|| panic!("does not compile: {:#?}", compiled.diagnostics));
    let clients = Clients::new(catalog.connections().values());

    common::call(&clients, &catalog, "listPets", json!({"status": ["available", "sold"], "fields": "name,tag", "X_Tenant": "main"}))
        .await
        .expect("list");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", "/v1/pets"));
    let mut query = seen.query.clone();
    query.sort();
    let pairs = |p: &[(&str, &str)]| p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
    assert_eq!(query, pairs(&[("fields", "name,tag"), ("status", "available"), ("status", "sold")]));
    assert_eq!(seen.header("x-tenant"), Some("main"));
    assert_eq!(seen.header("x-trace"), None);

    common::call(&clients, &catalog, "login", json!({"user": "ana & bob"})).await.expect("login");
    let seen = last(&log);
    assert_eq!(seen.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(String::from_utf8_lossy(&seen.body), "user=ana+%26+bob");

    common::call(&clients, &catalog, "deletePet", json!({"petId": 7})).await.expect("delete");
    let seen = last(&log);
    assert_eq!((seen.method.as_str(), seen.path.as_str(), seen.body.is_empty()), ("DELETE", "/v1/pets/7", true));
}

// ---------------------------------------------------------------------------------------------
// Selection, sources and the output directory.
// ---------------------------------------------------------------------------------------------

#[test]
fn tags_and_operations_select_and_unknown_ones_are_refused() {
    let docs = tempfile::tempdir().expect("tempdir");
    let source = write_doc(docs.path(), "petstore.yaml", PETSTORE);
    let out = tempfile::tempdir().expect("tempdir");
    let r = import(&source, "pets", out.path(), &["--tag", "admin", "--operation", "getPet"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let names: Vec<String> = yaml_files(out.path()).iter().map(|p| p.file_name().expect("name").to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["deletePet.yaml", "getPet.yaml"]);
    assert!(r.stdout.contains("imported 2 of 2 operations"), "{}", r.stdout);

    let fresh = out.path().join("fresh");
    let r = import(&source, "pets", &fresh, &["--operation", "getPets"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--operation `getPets`") && r.stderr.contains("did you mean `getPet`?"), "{}", r.stderr);
    let r = import(&source, "pets", &fresh, &["--tag", "pet"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--tag `pet`: no operation has that tag; did you mean `pets`?"), "{}", r.stderr);
    let r = import(&source, "pets", &fresh, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let r = import(&source, "not a name", &fresh, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--connection `not a name` is not a connection name"), "{}", r.stderr);
}

#[test]
fn files_import_did_not_write_are_kept_unless_forced() {
    let docs = tempfile::tempdir().expect("tempdir");
    let source = write_doc(docs.path(), "petstore.yaml", PETSTORE);
    let out = tempfile::tempdir().expect("tempdir");
    let mine = out.path().join("getPet.yaml");
    std::fs::write(&mine, "# my own getPet\n").expect("write");
    let r = import(&source, "pets", out.path(), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("holds files that import did not write: getPet.yaml; nothing was written (pass --force"), "{}", r.stderr);
    assert_eq!(yaml_files(out.path()), vec![mine.clone()]);
    assert_eq!(std::fs::read_to_string(&mine).expect("read"), "# my own getPet\n");

    let r = import(&source, "pets", out.path(), &["--force"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(std::fs::read_to_string(&mine).expect("read").starts_with("# Generated by `toolwright import openapi` from "));
    // What an import wrote, the next one replaces without --force; files it no longer writes stay.
    let r = import(&source, "pets", out.path(), &["--operation", "listPets"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("file(s) in") && r.stdout.contains("are left in place: createPet.yaml, deletePet.yaml, getPet.yaml, login.yaml"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn documents_are_fetched_over_http_with_a_size_cap() {
    let text = PETSTORE.to_owned();
    let app = Router::new()
        .route("/openapi.yaml", axum::routing::get(move || async move { text.clone() }))
        .route("/big.json", axum::routing::get(|| async { format!("{{\"openapi\": \"3.1.0\", \"pad\": \"{}\"}}", "x".repeat(4096)) }));
    let addr = common::serve("127.0.0.1", app).await;
    let out = tempfile::tempdir().expect("tempdir");
    let url = format!("http://{addr}/openapi.yaml?token=s3cret");
    let r = tokio::task::spawn_blocking({
        let out = out.path().to_path_buf();
        move || import(&url, "pets", &out, &[])
    })
    .await
    .expect("join");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let first = std::fs::read_to_string(out.path().join("getPet.yaml")).expect("read");
    assert!(first.starts_with(&format!("# Generated by `toolwright import openapi` from http://{addr}/openapi.yaml.\n")), "{first}");
    assert!(!first.contains("s3cret"));

    let missing = format!("http://{addr}/missing.yaml");
    let r = tokio::task::spawn_blocking({
        let out = out.path().join("other");
        move || import(&missing, "pets", &out, &[])
    })
    .await
    .expect("join");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("the server answered 404"), "{}", r.stderr);
    let err = toolwright::import::source::read(&format!("http://{addr}/big.json"), 1024).await.expect_err("over the cap");
    assert!(err.0.contains("larger than"), "{err}");
    assert!(toolwright::import::source::read(&format!("http://{addr}/big.json"), 8192).await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// Hostile documents.
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_documents_are_clear_errors_and_write_nothing() {
    let docs = tempfile::tempdir().expect("tempdir");
    let out = docs.path().join("out");
    let cases: &[(&str, &str, &str)] = &[
        ("garbage.yaml", "this: [is not\n", "is neither JSON nor valid YAML"),
        ("broken.json", "{\"openapi\": ", "is not valid JSON"),
        ("list.json", "[1, 2]", "its top level is not a mapping"),
        ("swagger.yaml", "swagger: \"2.0\"\npaths: {}\n", "Swagger 2.0 (OpenAPI 2)"),
        ("future.yaml", "openapi: 4.0.0\npaths: {}\n", "`openapi: 4.0.0` is not a version import reads"),
        ("number.yaml", "openapi: 3.1\npaths: {}\n", "is not a version string"),
        ("none.yaml", "info: {title: x}\n", "has no `openapi` version field"),
        ("paths.yaml", "openapi: 3.0.3\npaths: 5\n", "`paths` is not a mapping"),
        ("empty.yaml", "openapi: 3.0.3\npaths: {}\n", "the document has no operations"),
    ];
    for (name, text, message) in cases {
        let source = write_doc(docs.path(), name, text);
        let r = import(&source, "api", &out, &[]);
        assert_eq!(r.code, 2, "{name}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.starts_with("error: ") && r.stderr.contains(message), "{name}: {}", r.stderr);
        assert!(!out.exists(), "{name}: an invalid document created --out");
    }
    let r = import(&docs.path().join("absent.yaml").to_string_lossy(), "api", &out, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read"), "{}", r.stderr);
}

#[test]
fn ref_cycles_terminate_with_notes_or_reasons() {
    let doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "cycles", "version": "1"},
        "components": {
            "schemas": {
                "Node": {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}},
                "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
                "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
                "Self": {"$ref": "#/components/schemas/Self"},
                "Wide": {"allOf": [{"$ref": "#/components/schemas/Wide"}, {"$ref": "#/components/schemas/Node"}]}
            },
            "parameters": {
                "P": {"$ref": "#/components/parameters/Q"},
                "Q": {"$ref": "#/components/parameters/P"}
            },
            "requestBodies": {"Loop": {"$ref": "#/components/requestBodies/Loop"}},
            "pathItems": {"Item": {"$ref": "#/components/pathItems/Item"}}
        },
        "paths": {
            "/tree": {"post": {"operationId": "postTree", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}},
            "/ab": {"post": {"operationId": "postAb", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}},
            "/self": {"post": {"operationId": "postSelf", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Self"}}}}}},
            "/wide": {"post": {"operationId": "postWide", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Wide"}}}}}},
            "/param": {"get": {"operationId": "getParam", "parameters": [{"$ref": "#/components/parameters/P"}]}},
            "/body": {"post": {"operationId": "postBody", "requestBody": {"$ref": "#/components/requestBodies/Loop"}}},
            "/item": {"$ref": "#/components/pathItems/Item"}
        }
    });
    // A chain of 5,000 schemas, each a `$ref` to the next (followed by recursion, deep enough to
    // overflow the stack), and an operation whose body is its start.
    let mut doc = doc;
    for i in 0..5_000 {
        doc["components"]["schemas"][format!("C{i}")] = json!({"$ref": format!("#/components/schemas/C{}", i + 1)});
    }
    doc["components"]["schemas"]["C5000"] = json!({"type": "object"});
    doc["paths"]["/chain"] = json!({"put": {"operationId": "putChain", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/C0"}}}}}});
    let docs = tempfile::tempdir().expect("tempdir");
    let source = write_doc(docs.path(), "cycles.json", &doc.to_string());
    let out = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let r = import(&source, "api", out.path(), &[]);
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    for expected in [
        "note: POST /tree (postTree): $ref cycle through `#/components/schemas/Node` cut",
        "note: POST /ab (postAb): $ref cycle through `#/components/schemas/A` cut",
        "note: POST /self (postSelf): $ref cycle through `#/components/schemas/Self` cut",
        "skipped GET /param (getParam): its parameter is a `$ref` cycle through `#/components/parameters/P`",
        "skipped /item: its path item is a `$ref` cycle through `#/components/pathItems/Item`",
        "note: PUT /chain (putChain): schemas nested deeper than 48 levels accept any value",
        "imported 5 of 8 operations",
    ] {
        assert!(r.stdout.contains(expected), "missing {expected:?} in:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("skipped POST /body (postBody): ") && r.stdout.contains("request body is a `$ref` cycle"), "{}", r.stdout);
    assert_lints_clean(out.path(), "api");
    let tree = read_spec(&out.path().join("postTree.yaml"));
    assert_eq!(
        tree["input"]["properties"]["body"]["properties"]["children"]["items"]["description"],
        "A Node (recursive: not described again here)."
    );
}

#[test]
fn colliding_names_are_made_unique() {
    let long = "x".repeat(200);
    let mut paths = serde_json::Map::new();
    let ids = ["get pet", "get_pet", "get/pet", "GET_PET", "dup", "dup", &long, &long, "in", ".hidden"];
    for (i, id) in ids.iter().enumerate() {
        paths.insert(format!("/p{i}"), json!({"get": {"operationId": id}}));
    }
    // No operationId: the method and path, which collide after sanitising.
    paths.insert("/a b".to_owned(), json!({"get": {}}));
    paths.insert("/a_b".to_owned(), json!({"get": {}}));
    // Arguments that collide: the same name in two places, and names that sanitise alike.
    paths.insert(
        "/things/{id}".to_owned(),
        json!({"get": {"operationId": "things", "parameters": [
            {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "id", "in": "query", "schema": {"type": "string"}},
            {"name": "filter[status]", "in": "query", "schema": {"type": "string"}},
            {"name": "filter_status", "in": "query", "schema": {"type": "string"}},
            {"name": "range", "in": "query", "schema": {"type": "integer"}},
            {"name": "if", "in": "query", "schema": {"type": "boolean"}}
        ]}}),
    );
    let doc = json!({"openapi": "3.1.0", "info": {"title": "names", "version": "1"}, "paths": paths});
    let docs = tempfile::tempdir().expect("tempdir");
    let source = write_doc(docs.path(), "names.json", &doc.to_string());
    let out = tempfile::tempdir().expect("tempdir");
    let r = import(&source, "api", out.path(), &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let names: Vec<String> = yaml_files(out.path()).iter().map(|p| read_spec(p)["name"].as_str().expect("name").to_owned()).collect();
    let x = "x".repeat(128);
    let x2 = format!("{}_2", "x".repeat(126));
    let mut expected: Vec<&str> =
        vec!["get_pet", "get_pet_2", "get_pet_3", "GET_PET_4", "dup", "dup_2", &x, &x2, "in", "hidden", "get_a_b", "get_a_b_2", "things"];
    expected.sort_unstable();
    let mut got: Vec<&str> = names.iter().map(String::as_str).collect();
    got.sort_unstable();
    assert_eq!(got, expected);
    assert_lints_clean(out.path(), "api");
    let things = read_spec(&out.path().join("things.yaml"));
    assert_eq!(things["action"]["http"]["url"], "/things/{{ id }}");
    assert_eq!(
        things["action"]["http"]["query"],
        json!({"id": "{{ id_2 }}", "filter[status]": "{{ filter_status }}", "filter_status": "{{ filter_status_2 }}", "range": "{{ range_ }}", "if": "{{ if_ }}"})
    );
}

#[test]
fn ten_thousand_operations_import_in_bounded_time() {
    let mut paths = serde_json::Map::new();
    for i in 0..10_000 {
        paths.insert(
            format!("/items{i}/{{id}}"),
            json!({"get": {"operationId": format!("getItem{i}"), "summary": format!("Get item {i}"), "parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "view", "in": "query", "schema": {"type": "string", "enum": ["short", "full"]}}
            ]}}),
        );
    }
    let doc = json!({"openapi": "3.1.0", "info": {"title": "many", "version": "1"}, "paths": paths});
    let docs = tempfile::tempdir().expect("tempdir");
    let source = write_doc(docs.path(), "many.json", &doc.to_string());
    let out = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let r = import(&source, "api", out.path(), &[]);
    let took = started.elapsed();
    println!("10,000 operations imported in {:.1}s", took.as_secs_f64());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("imported 10000 of 10000 operations"), "{}", r.stdout);
    // A debug build on two busy cores takes about 30 s; the bound catches a loop or a blow-up.
    assert!(took < Duration::from_secs(300), "took {took:?}");
    assert_eq!(yaml_files(out.path()).len(), 10_000);
    assert_lints_clean(out.path(), "api");
}
