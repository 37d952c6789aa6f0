//! The HTTP backend against a real HTTP server on 127.0.0.x started by each test:
//! specs are written to a temporary directory, compiled, rendered and executed exactly as
//! `tools/call` does. Only 127.0.0.x is ever listened on or connected to.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{json_response, setup};
use serde_json::{Value, json};
use toolwright::actions::http::HttpRequest;
use toolwright::actions::{self, CallContext, ToolOutput, render};
use toolwright::catalog::jq::JqFilter;
use toolwright::catalog::{Catalog, CompiledTool, SecretMode};
use toolwright::connections::Clients;

/// A secret only this test process knows, in an environment variable with a unique name.
static SECRET: LazyLock<(String, String)> = LazyLock::new(|| {
    let name = format!("TW_HTTP_BACKEND_TEST_TOKEN_{}", std::process::id());
    let value =
        format!("s3cr3t-{}-{}", std::process::id(), SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    // SAFETY: every test calls `init()` before it starts a runtime, a server or a lookup, and
    // LazyLock makes the others wait until this write is done, so nothing reads the
    // environment concurrently with it.
    unsafe { std::env::set_var(&name, &value) };
    (name, value)
});

fn init() -> (&'static str, &'static str) {
    // jq projections run in worker processes of the toolwright binary, not of this test binary.
    toolwright::catalog::jq_worker::set_program(env!("CARGO_BIN_EXE_toolwright").into());
    let (name, value) = &*SECRET;
    (name, value)
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    /// The raw request target: path and query exactly as sent.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct ServerState {
    seen: Mutex<Vec<Seen>>,
    redirect_to: Mutex<String>,
}

struct TestServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
}

impl TestServer {
    async fn start(ip: &str) -> TestServer {
        let state = Arc::new(ServerState::default());
        let addr = common::serve(ip, Router::new().fallback(respond).with_state(Arc::clone(&state))).await;
        TestServer { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("lock").clone()
    }

    fn redirect_to(&self, url: &str) {
        *self.state.redirect_to.lock().expect("lock") = url.to_owned();
    }
}

/// The test server: records every request, then answers by path.
async fn respond(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default().to_vec();
    let target = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let headers: Vec<(String, String)> =
        parts.headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let seen = Seen { method: parts.method.to_string(), target, headers, body };
    state.seen.lock().expect("lock").push(seen.clone());
    let path = parts.uri.path();
    match path {
        "/incidents" => json_response(
            StatusCode::OK,
            &json!({"incidents": [
                {"id": 1, "title": "Disk full", "status": "open", "noise": "x"},
                {"id": 2, "title": "CPU hot", "status": "closed", "noise": "y"}
            ], "more": false}),
        ),
        "/empty" => StatusCode::NO_CONTENT.into_response(),
        "/fail" => {
            // An error page that echoes the credential back, as some backends do.
            let auth = seen.header("authorization").unwrap_or("").to_owned();
            let page = format!("database exploded while handling the request; token was {auth}; {}", "details ".repeat(100));
            (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], page).into_response()
        }
        "/text" => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "hello\nworld\n").into_response(),
        "/many" => {
            let items: Vec<Value> = (0..200).map(|i| json!({"id": i, "name": format!("item number {i}")})).collect();
            json_response(StatusCode::OK, &Value::Array(items))
        }
        "/huge" => {
            // 2 MiB in chunks, without a Content-Length: only a streaming limit can stop it.
            let chunks = futures::stream::iter((0..32).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 64 * 1024]))));
            Response::builder().header(header::CONTENT_TYPE, "text/plain").body(Body::from_stream(chunks)).unwrap_or_default()
        }
        "/huge-with-length" => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], vec![b'y'; 200_000]).into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            json_response(StatusCode::OK, &json!({"late": true}))
        }
        "/redirect" => {
            let to = state.redirect_to.lock().expect("lock").clone();
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }
        "/loop" => (StatusCode::FOUND, [(header::LOCATION, "/loop")]).into_response(),
        _ => json_response(StatusCode::OK, &json!({"ok": true})),
    }
}

/// Validates arguments, renders with secrets resolved and executes, as `tools/call` does.
async fn call(backends: &Clients, catalog: &Catalog, tool: &str, args: Value) -> Result<ToolOutput, String> {
    let tool = catalog.tool(tool).unwrap_or_else(|| panic!("no tool `{tool}`"));
    let args = tool.prepare_args(args.as_object()).map_err(|e| e.message)?;
    let rendered = render(catalog, tool, &args, SystemTime::now(), SecretMode::Resolve).map_err(|e| e.message)?;
    exec(backends, catalog, tool, rendered).await
}

/// Executes a rendered request as the server does: not cancelled, no progress, with the
/// tool's deadline. The only place that calls `execute`.
async fn exec(backends: &Clients, catalog: &Catalog, tool: &CompiledTool, rendered: actions::Request) -> Result<ToolOutput, String> {
    let _ = catalog;
    let ctx = CallContext::new(tokio_util::sync::CancellationToken::new(), tool.timeout, None);
    rendered.execute(backends, &ctx).await
}

/// An http connection document.
fn connection(name: &str, base_url: &str, allow: &str, extra: &str) -> String {
    format!("kind: connection\nname: {name}\nhttp:\n  base_url: {base_url}\n  allow_private_networks: {allow}\n{extra}---\n")
}

/// A tool without arguments that GETs `url`.
fn get_tool(name: &str, connection: Option<&str>, url: &str, extra: &str) -> String {
    let conn = connection.map(|c| format!("    connection: {c}\n")).unwrap_or_default();
    format!(
        "kind: tool\nname: {name}\ndescription: Test tool {name}.\ninput: {{type: object}}\n{extra}action:\n  http:\n{conn}    method: GET\n    url: \"{url}\"\n---\n"
    )
}

/// Whether the catalog was built with the real jq engine rather than a pass-through stub.
fn real_jq() -> bool {
    JqFilter::compile(".a").ok().and_then(|f| f.run(&json!({"a": 1})).ok()) == Some(vec![json!(1)])
}

#[tokio::test]
async fn json_response_is_projected_with_jq() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "true", "")
        + &get_tool("project", Some("api"), "/incidents", "")
            .replace("    url: \"/incidents\"\n", "    url: \"/incidents\"\n    response:\n      jq: '.incidents | map({id, title})'\n")
        + &get_tool("ids", Some("api"), "/incidents", "")
            .replace("    url: \"/incidents\"\n", "    url: \"/incidents\"\n    response:\n      jq: '.incidents[] | .id'\n")
        + &get_tool("nothing", Some("api"), "/incidents", "")
            .replace("    url: \"/incidents\"\n", "    url: \"/incidents\"\n    response:\n      jq: 'empty'\n")
        + &get_tool("broken", Some("api"), "/incidents", "")
            .replace("    url: \"/incidents\"\n", "    url: \"/incidents\"\n    response:\n      jq: '.more.x'\n")
        + &get_tool("plain", Some("api"), "/incidents", "");
    let (catalog, backends) = setup(&yaml);

    // Without jq the object passes through, and the text is its compact rendering.
    let out = call(&backends, &catalog, "plain", json!({})).await.expect("plain call");
    let body = json!({"incidents": [
        {"id": 1, "title": "Disk full", "status": "open", "noise": "x"},
        {"id": 2, "title": "CPU hot", "status": "closed", "noise": "y"}
    ], "more": false});
    assert_eq!(out.structured, Some(body.clone()));
    assert_eq!(out.text, serde_json::to_string(&body).expect("json"));
    assert!(!out.truncated);

    let out = call(&backends, &catalog, "project", json!({})).await.expect("projected call");
    if !real_jq() {
        eprintln!("note: the catalog uses the jq stub; projection results are not checked");
        assert_eq!(out.structured, Some(body));
        return;
    }
    // One output that is not an object is wrapped under "result".
    let want = json!({"result": [{"id": 1, "title": "Disk full"}, {"id": 2, "title": "CPU hot"}]});
    assert_eq!(out.structured, Some(want.clone()));
    assert_eq!(out.text, serde_json::to_string(&want).expect("json"));
    // Several outputs become an array; none becomes null.
    let out = call(&backends, &catalog, "ids", json!({})).await.expect("ids call");
    assert_eq!(out.structured, Some(json!({"result": [1, 2]})));
    let out = call(&backends, &catalog, "nothing", json!({})).await.expect("empty call");
    assert_eq!(out.structured, Some(json!({"result": null})));
    // A jq runtime error is a tool error.
    let err = call(&backends, &catalog, "broken", json!({})).await.expect_err("jq error");
    assert!(err.contains("jq"), "{err}");
}

#[tokio::test]
async fn no_content_gives_an_empty_result() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let (catalog, backends) = setup(&(connection("api", &server.url(), "true", "") + &get_tool("empty", Some("api"), "/empty", "")));
    let out = call(&backends, &catalog, "empty", json!({})).await.expect("204 is success");
    assert_eq!(out, ToolOutput { structured: None, text: String::new(), truncated: false, is_error: false, media: None });
}

#[tokio::test]
async fn error_status_is_a_tool_error_with_an_excerpt_and_no_secret() {
    let (secret_name, secret) = init();
    let server = TestServer::start("127.0.0.1").await;
    let extra = format!("  headers:\n    Authorization: \"Bearer {{{{ secret('{secret_name}') }}}}\"\n");
    let (catalog, backends) = setup(&(connection("api", &server.url(), "true", &extra) + &get_tool("fail", Some("api"), "/fail", "")));
    let err = call(&backends, &catalog, "fail", json!({})).await.expect_err("500 is an error");
    assert!(err.contains("500"), "{err}");
    assert!(err.contains("database exploded"), "{err}");
    assert!(!err.contains(secret), "the secret leaked: {err}");
    // The excerpt is at most 300 characters of the body.
    let excerpt = err.split("body: ").nth(1).and_then(|s| s.split('…').next()).expect("an excerpt");
    assert!(excerpt.chars().count() <= 300, "{}", excerpt.chars().count());
    // The secret was sent.
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some(format!("Bearer {secret}").as_str()));
}

#[tokio::test]
async fn secret_header_is_sent_and_never_in_any_error() {
    let (secret_name, secret) = init();
    let server = TestServer::start("127.0.0.1").await;
    let extra = format!(
        "  headers:\n    Authorization: \"Bearer {{{{ secret('{secret_name}') }}}}\"\n    X-Api-Key: \"{{{{ secret('{secret_name}') }}}}\"\n"
    );
    let yaml = connection("api", &server.url(), "true", &extra)
        + &connection("locked", &server.url(), "false", &extra)
        + &get_tool("ok", Some("api"), "/incidents", "")
        + &get_tool("fail", Some("api"), "/fail", "")
        + &get_tool("refused", Some("locked"), "/incidents", "")
        + &get_tool("slow", Some("api"), "/slow", "timeout: 1s\n");
    let (catalog, backends) = setup(&yaml);
    call(&backends, &catalog, "ok", json!({})).await.expect("ok");
    let seen = server.seen();
    assert_eq!(seen[0].header("x-api-key"), Some(secret));
    assert_eq!(seen[0].header("authorization"), Some(format!("Bearer {secret}").as_str()));
    for tool in ["fail", "refused", "slow"] {
        let err = call(&backends, &catalog, tool, json!({})).await.expect_err(tool);
        assert!(!err.contains(secret), "{tool}: the secret leaked: {err}");
        assert!(!err.contains(secret_name), "{tool}: the secret's name leaked: {err}");
    }
}

#[tokio::test]
async fn text_responses_are_text() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let (catalog, backends) = setup(&(connection("api", &server.url(), "true", "") + &get_tool("text", Some("api"), "/text", "")));
    let out = call(&backends, &catalog, "text", json!({})).await.expect("text call");
    assert_eq!(out, ToolOutput { structured: None, text: "hello\nworld\n".to_owned(), truncated: false, is_error: false, media: None });
}

#[tokio::test]
async fn large_output_is_cut_at_an_element_boundary() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let (catalog, backends) =
        setup(&(connection("api", &server.url(), "true", "") + &get_tool("many", Some("api"), "/many", "output: {max_bytes: 2000}\n")));
    let out = call(&backends, &catalog, "many", json!({})).await.expect("many call");
    assert!(out.truncated);
    assert!(out.text.len() <= 2000, "{}", out.text.len());
    let s = out.structured.expect("structured");
    assert_eq!(s["truncated"], json!(true));
    assert_eq!(s["total"], json!(200));
    let kept = s["kept"].as_u64().expect("kept") as usize;
    assert!(kept > 10 && kept < 200, "{kept}");
    let items = s["result"].as_array().expect("the cut array");
    assert_eq!(items.len(), kept);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item, &json!({"id": i, "name": format!("item number {i}")}));
    }
    assert_eq!(out.text, serde_json::to_string(&s).expect("json"));
}

#[tokio::test]
async fn responses_over_max_response_bytes_are_refused() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "true", "  max_response_bytes: 100000\n")
        + &get_tool("streamed", Some("api"), "/huge", "")
        + &get_tool("with_length", Some("api"), "/huge-with-length", "");
    let (catalog, backends) = setup(&yaml);
    for tool in ["streamed", "with_length"] {
        let err = call(&backends, &catalog, tool, json!({})).await.expect_err(tool);
        assert!(err.contains("the response was larger than 100000 bytes"), "{tool}: {err}");
    }
}

#[tokio::test]
async fn tool_and_connection_timeouts() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "true", "")
        + &connection("quick", &server.url(), "true", "  timeout: 300ms\n")
        + &get_tool("slow", Some("api"), "/slow", "timeout: 1s\n")
        + &get_tool("slow_conn", Some("quick"), "/slow", "timeout: 4s\n");
    let (catalog, backends) = setup(&yaml);
    let started = Instant::now();
    let err = call(&backends, &catalog, "slow", json!({})).await.expect_err("tool timeout");
    assert_eq!(err, "the call timed out after 1s");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    let started = Instant::now();
    let err = call(&backends, &catalog, "slow_conn", json!({})).await.expect_err("connection timeout");
    assert!(err.contains("timed out after 300ms (the timeout of connection `quick`)"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn private_destinations_are_refused_by_default() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let port = server.port();
    let yaml = connection("locked", &server.url(), "false", "")
        + &get_tool("loopback", Some("locked"), "/incidents", "")
        + &get_tool("metadata", Some("locked"), "http://169.254.169.254/latest/meta-data/", "")
        + &get_tool("ipv6_loopback", Some("locked"), &format!("http://[::1]:{port}/incidents"), "")
        + &get_tool("mapped", Some("locked"), &format!("http://[::ffff:127.0.0.1]:{port}/incidents"), "")
        + &get_tool("decimal", Some("locked"), &format!("http://2130706433:{port}/incidents"), "")
        + &get_tool("unspecified", Some("locked"), &format!("http://0.0.0.0:{port}/incidents"), "")
        + &get_tool("by_name", Some("locked"), &format!("http://localhost:{port}/incidents"), "")
        + &get_tool("no_connection", None, &format!("http://127.0.0.1:{port}/incidents"), "");
    let (catalog, backends) = setup(&yaml);

    let err = call(&backends, &catalog, "loopback", json!({})).await.expect_err("loopback");
    assert_eq!(
        err,
        "refused: 127.0.0.1 is a loopback address and connection `locked` does not allow private networks (set allow_private_networks)"
    );
    for (tool, want) in [
        ("metadata", "169.254.169.254 is a link-local address"),
        ("ipv6_loopback", "::1 is a loopback address"),
        ("mapped", "::ffff:127.0.0.1 is a loopback address"),
        ("decimal", "127.0.0.1 is a loopback address"),
        ("unspecified", "0.0.0.0 is an unspecified address"),
        ("by_name", "refused: the host `localhost` resolves only to refused addresses"),
        ("no_connection", "127.0.0.1 is a loopback address, and a tool without a connection may reach only public addresses"),
    ] {
        let err = call(&backends, &catalog, tool, json!({})).await.expect_err(tool);
        assert!(err.starts_with("refused: "), "{tool}: {err}");
        assert!(err.contains(want), "{tool}: {err}");
    }
    assert!(server.seen().is_empty(), "a refused request reached the server: {:?}", server.seen());
}

#[tokio::test]
async fn redirects_to_refused_addresses_are_refused() {
    init();
    let first = TestServer::start("127.0.0.1").await;
    // 127.0.0.0/8 is all loopback on Linux: 127.0.0.2 is reachable but outside 127.0.0.1/32.
    let second = TestServer::start("127.0.0.2").await;
    first.redirect_to(&format!("{}/incidents", second.url()));
    let yaml = connection("narrow", &first.url(), "[\"127.0.0.1/32\"]", "")
        + &connection("open", &first.url(), "true", "")
        + &get_tool("direct", Some("narrow"), "/incidents", "")
        + &get_tool("redirected", Some("narrow"), "/redirect", "")
        + &get_tool("redirected_open", Some("open"), "/redirect", "")
        + &get_tool("looping", Some("open"), "/loop", "");
    let (catalog, backends) = setup(&yaml);

    // The allow list lets 127.0.0.1 through.
    call(&backends, &catalog, "direct", json!({})).await.expect("127.0.0.1 is allowed");
    let err = call(&backends, &catalog, "redirected", json!({})).await.expect_err("redirect to 127.0.0.2");
    assert!(
        err.starts_with("refused redirect: 127.0.0.2 is a loopback address outside the networks connection `narrow` allows (127.0.0.1/32)"),
        "{err}"
    );
    assert!(second.seen().is_empty(), "the refused redirect reached the second server");

    // Where private networks are allowed the network policy lets 127.0.0.2 through, but a
    // redirect to another origin is still refused: custom headers may carry secrets.
    let err = call(&backends, &catalog, "redirected_open", json!({})).await.expect_err("cross-origin redirect");
    assert!(err.contains("redirected to another origin"), "{err}");
    assert!(second.seen().is_empty(), "the cross-origin redirect reached the second server");

    let err = call(&backends, &catalog, "looping", json!({})).await.expect_err("a redirect loop");
    assert!(err.contains("redirected more than 5 times"), "{err}");
    assert_eq!(first.seen().iter().filter(|s| s.target == "/loop").count(), 6);
}

#[tokio::test]
async fn caller_values_cannot_change_the_request_shape() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "true", "")
        + "kind: tool\nname: item\ndescription: Get one item.\n"
        + "input: {type: object, properties: {id: {type: string}, q: {type: string}, title: {type: string}, num: {type: integer}}, required: [id, q, title, num]}\n"
        + "action:\n  http:\n    connection: api\n    method: POST\n    url: /items/{{ id }}\n"
        + "    query: {q: \"{{ q }}\", limit: 5}\n"
        + "    body: {title: \"{{ title }}\", count: \"{{ num }}\", note: \"t={{ title }}\"}\n---\n";
    let (catalog, backends) = setup(&yaml);
    let title = r#"he said "hi" }, {"admin": true} \ {"#;
    for (id, encoded) in [("../admin", "/items/..%2Fadmin"), ("a/b?x=1", "/items/a%2Fb%3Fx%3D1"), ("%2e%2e", "/items/%252e%252e")] {
        call(&backends, &catalog, "item", json!({"id": id, "q": "x&admin=1", "title": title, "num": 3})).await.expect("item call");
        let seen = server.seen().pop().expect("a request");
        assert_eq!(seen.method, "POST");
        let (path, query) = seen.target.split_once('?').expect("a query");
        assert_eq!(path, encoded, "id {id}");
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        pairs.sort();
        assert_eq!(pairs, vec![("limit".to_owned(), "5".to_owned()), ("q".to_owned(), "x&admin=1".to_owned())], "raw query {query}");
        assert_eq!(seen.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&seen.body).expect("a JSON body");
        assert_eq!(body, json!({"title": title, "count": 3, "note": format!("t={title}")}));
    }
}

#[tokio::test]
async fn header_values_with_line_breaks_are_refused_before_sending() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "true", "")
        + "kind: tool\nname: noted\ndescription: Sends a note header.\n"
        + "input: {type: object, properties: {note: {type: string}}, required: [note]}\n"
        + "action:\n  http:\n    connection: api\n    url: /incidents\n    headers: {X-Note: \"{{ note }}\"}\n---\n";
    let (catalog, backends) = setup(&yaml);
    for note in ["a\r\nX-Injected: 1", "a\nb", "a\rb"] {
        let err = call(&backends, &catalog, "noted", json!({"note": note})).await.expect_err("CR/LF refused");
        assert!(
            err.contains("argument `note` is refused for a header") && (err.contains("newline") || err.contains("carriage return")),
            "{err}"
        );
    }
    // The backend refuses such a value too, even when a request is built by hand.
    let tool = catalog.tool("noted").expect("tool");
    let url = url::Url::parse(&format!("{}/incidents", server.url())).expect("url");
    let request = HttpRequest {
        connection: catalog.connection("api").cloned(),
        method: "GET".into(),
        url,
        headers: vec![("X-Note".into(), "a\r\nX-Injected: 1".into())],
        body: None,
        secrets: Vec::new(),
        jq: None,
        format: Default::default(),
        paginate: None,
        as_resource: false,
        max_bytes: tool.max_bytes,
        literal_url: false,
        auth: None,
    };
    let err = exec(&backends, &catalog, tool, actions::Request::Http(request)).await.expect_err("refused");
    assert!(err.contains("header `X-Note`") && err.contains("nothing was sent"), "{err}");
    assert!(!err.contains("X-Injected"), "the value was echoed: {err}");
    assert!(server.seen().is_empty(), "a request was sent: {:?}", server.seen());
    // A normal value goes through.
    call(&backends, &catalog, "noted", json!({"note": "fine"})).await.expect("a plain note");
    assert_eq!(server.seen()[0].header("x-note"), Some("fine"));
}

#[tokio::test]
async fn backends_refuse_another_catalogs_connections() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "true", "") + &get_tool("ok", Some("api"), "/incidents", "");
    let (catalog, backends) = setup(&yaml);
    let (other, _) = setup(&yaml);
    // A reload builds a new catalog; its connection may have another policy.
    let err = call(&backends, &other, "ok", json!({})).await.expect_err("stale backends");
    assert!(err.contains("another catalog"), "{err}");
    call(&backends, &catalog, "ok", json!({})).await.expect("the right catalog");
    // Clones share the pooled clients.
    let clone = backends.clone();
    call(&clone, &catalog, "ok", json!({})).await.expect("a clone");
}

/// The jq worker processes of this test process and the CPU time (ticks) each has used.
fn jq_workers() -> Vec<(u32, u64)> {
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains("__jq-worker") {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name: state ppid ... utime(14) stime(15), 1-based.
        let rest: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        if rest.get(1) != Some(&me.as_str()) {
            continue;
        }
        let ticks =
            rest.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0) + rest.get(12).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0);
        out.push((pid, ticks));
    }
    out
}

/// A filter that loops is stopped at the jq time limit, and its worker process is killed, so
/// no CPU keeps spinning for it (it used to run on a blocking thread forever).
#[test]
fn a_looping_jq_filter_is_stopped() {
    init();
    if !real_jq() {
        eprintln!("note: the catalog uses the jq stub; the jq time bound is not checked");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let server = TestServer::start("127.0.0.1").await;
        let yaml = connection("api", &server.url(), "true", "")
            + &get_tool("spin", Some("api"), "/incidents", "timeout: 20s\n").replace(
                "    url: \"/incidents\"\n",
                "    url: \"/incidents\"\n    response:\n      jq: 'last(range(1000000000000000))'\n",
            );
        let (catalog, backends) = setup(&yaml);
        let started = Instant::now();
        let err = call(&backends, &catalog, "spin", json!({})).await.expect_err("stopped");
        assert!(err.contains("did not finish within 2s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
        // The CPU comes back: no worker of this process spins after the error.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = jq_workers();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = jq_workers();
        for (pid, ticks) in &after {
            let was = before.iter().find(|(p, _)| p == pid).map_or(0, |(_, t)| *t);
            assert!(ticks - was.min(*ticks) < 10, "jq worker {pid} kept using CPU: {was} -> {ticks} ticks");
        }
    });
    runtime.shutdown_background();
}

/// A filter that recurses without end used to overflow a thread's stack and abort the whole
/// process; now only its worker dies, the call says so, and the next call works.
#[tokio::test]
async fn a_recursing_jq_filter_ends_only_its_worker() {
    init();
    if !real_jq() {
        return;
    }
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "true", "")
        + &get_tool("deep", Some("api"), "/incidents", "")
            .replace("    url: \"/incidents\"\n", "    url: \"/incidents\"\n    response:\n      jq: 'def f: [f]; f'\n")
        + &get_tool("fine", Some("api"), "/incidents", "")
            .replace("    url: \"/incidents\"\n", "    url: \"/incidents\"\n    response:\n      jq: '.incidents | length'\n");
    let (catalog, backends) = setup(&yaml);
    let err = call(&backends, &catalog, "deep", json!({})).await.expect_err("stopped");
    assert!(err.contains("crashed") || err.contains("memory"), "{err}");
    let out = call(&backends, &catalog, "fine", json!({})).await.expect("the next call works");
    assert!(out.text.contains('2') || out.text.contains('1') || out.text.contains('0'), "{out:?}");
}

/// A filter that builds a huge value used to grow the process past a gigabyte and abort it;
/// now its worker is stopped at the memory limit.
#[tokio::test]
async fn a_growing_jq_filter_is_stopped_by_its_memory_limit() {
    init();
    if !real_jq() {
        return;
    }
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "true", "")
        + &get_tool("grow", Some("api"), "/incidents", "").replace(
            "    url: \"/incidents\"\n",
            "    url: \"/incidents\"\n    response:\n      jq: 'reduce range(40) as $i (\"ab\"; . + .) | length'\n",
        );
    let (catalog, backends) = setup(&yaml);
    let started = Instant::now();
    let err = call(&backends, &catalog, "grow", json!({})).await.expect_err("stopped");
    assert!(err.contains("memory") || err.contains("crashed"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    init();
    // Bind and drop a listener: its port is then closed, so nothing can answer.
    let port = {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        listener.local_addr().expect("address").port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let (catalog, backends) = setup(&(connection("api", &base, "true", "") + &get_tool("down", Some("api"), "/incidents", "")));
    let err = call(&backends, &catalog, "down", json!({})).await.expect_err("closed port");
    assert!(err.starts_with(&format!("could not connect to 127.0.0.1:{port}: ")), "{err}");
    assert!(err.contains("the backend may be down"), "{err}");
}
