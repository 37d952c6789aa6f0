//! The HTTP action's `form` bodies, `response.format` and `response.paginate` against real
//! HTTP servers on 127.0.0.x started by each test, compiled, rendered and executed exactly as
//! `tools/call` does. Each fake says which documented behaviour it mirrors.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{call, json_response, setup};
use serde_json::{Value, json};
use toolwright::actions::{ToolOutput, render};
use toolwright::catalog::SecretMode;
use toolwright::catalog::jq::JqFilter;
use toolwright::compile::compile_dirs;

fn init() {
    // jq filters run in worker processes of the toolwright binary, not of this test binary.
    toolwright::catalog::jq_worker::set_program(env!("CARGO_BIN_EXE_toolwright").into());
}

/// Whether the catalog was built with the real jq engine rather than a pass-through stub.
fn real_jq() -> bool {
    JqFilter::compile(".a").ok().and_then(|f| f.run(&json!({"a": 1})).ok()) == Some(vec![json!(1)])
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    query: HashMap<String, String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body).into_owned().collect()
    }
}

#[derive(Default)]
struct ServerState {
    seen: Mutex<Vec<Seen>>,
    /// Where `/away` points its next link.
    other_origin: Mutex<String>,
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
    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("lock").clone()
    }
}

fn xml_response(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")], body).into_response()
}

/// An EC2 DescribeInstances answer as the EC2 Query API documents it: `reservationSet`,
/// `instancesSet` and `groupSet` are lists of `item` elements, under a default namespace.
const DESCRIBE_INSTANCES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
    <reservationSet>
        <item>
            <reservationId>r-1234567890abcdef0</reservationId>
            <ownerId>123456789012</ownerId>
            <groupSet/>
            <instancesSet>
                <item>
                    <instanceId>i-1234567890abcdef0</instanceId>
                    <instanceState><code>16</code><name>running</name></instanceState>
                    <instanceType>t2.micro</instanceType>
                    <tagSet><item><key>Name</key><value>web &amp; api</value></item></tagSet>
                </item>
                <item>
                    <instanceId>i-0598c7d356eba48d7</instanceId>
                    <instanceState><code>80</code><name>stopped</name></instanceState>
                    <instanceType>m5.large</instanceType>
                    <stateReason><code>Client.UserInitiatedShutdown</code><message>User initiated shutdown</message></stateReason>
                </item>
            </instancesSet>
        </item>
    </reservationSet>
</DescribeInstancesResponse>"#;

/// One page of an RDS DescribeDBInstances answer as the AWS Query protocol documents it:
/// `DBInstances` is a list of `DBInstance` elements, the next page's `Marker` beside it.
fn rds_page(ids: &[&str], marker: Option<&str>) -> String {
    let instances: String = ids
        .iter()
        .map(|id| {
            format!(
                "<DBInstance><DBInstanceIdentifier>{id}</DBInstanceIdentifier><DBInstanceStatus>available</DBInstanceStatus></DBInstance>"
            )
        })
        .collect();
    let marker = marker.map(|m| format!("<Marker>{m}</Marker>")).unwrap_or_default();
    format!(
        r#"<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBInstancesResult><DBInstances>{instances}</DBInstances>{marker}</DescribeDBInstancesResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeDBInstancesResponse>"#
    )
}

/// The test server: records every request, then answers by path.
async fn respond(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default().to_vec();
    let query: HashMap<String, String> = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    let headers = parts.headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let seen = Seen { path: parts.uri.path().to_owned(), query: query.clone(), headers, body };
    state.seen.lock().expect("lock").push(seen.clone());
    let base = format!("http://{}", parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(""));
    match parts.uri.path() {
        "/form" => json_response(StatusCode::OK, &json!({"ok": true})),
        "/ec2" => xml_response(DESCRIBE_INSTANCES.to_owned()),
        "/rds" => {
            // AWS Query pagination: the Marker of the previous page comes back as a form field.
            let page = match seen.form().get("Marker").map(String::as_str) {
                None => rds_page(&["db-a", "db-b"], Some("m2")),
                Some("m2") => rds_page(&["db-c"], Some("m3")),
                Some("m3") => rds_page(&["db-d"], None),
                Some(other) => return (StatusCode::BAD_REQUEST, format!("unknown marker {other}")).into_response(),
            };
            xml_response(page)
        }
        "/bomb" => xml_response(
            r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"#
                .to_owned(),
        ),
        "/bare-entity" => xml_response("<lolz>&lol9;</lolz>".to_owned()),
        "/deep" => xml_response("<a>".repeat(10_000) + &"</a>".repeat(10_000)),
        "/json" => json_response(StatusCode::OK, &json!({"a": [1, 2]})),
        "/tokens" => {
            // nextToken in the JSON body, sent back as a query parameter (as Datadog's and
            // Grafana's cursor APIs and AWS JSON APIs' nextToken do).
            let (items, next) = match query.get("nextToken").map(String::as_str) {
                None => (json!([{"id": 1}, {"id": 2}, {"id": 3}]), json!("t2")),
                Some("t2") => (json!([{"id": 4}, {"id": 5}, {"id": 6}]), json!("t3")),
                Some("t3") => (json!([{"id": 7}, {"id": 8}, {"id": 9}]), Value::Null),
                Some(other) => return (StatusCode::BAD_REQUEST, format!("unknown token {other}")).into_response(),
            };
            json_response(StatusCode::OK, &json!({"items": items, "nextToken": next}))
        }
        "/forever" => {
            // An API that always has a next page.
            let n: u64 = query.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
            json_response(StatusCode::OK, &json!({"data": [n], "next": (n + 1).to_string()}))
        }
        "/same" => json_response(StatusCode::OK, &json!({"data": [1], "next": "again"})),
        "/gh" => {
            // GitHub's REST pagination: a bare JSON array per page and RFC 8288 Link headers
            // with absolute URLs, `next` and `last` (then `prev` and `first`).
            let page: u64 = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let items: Vec<Value> = (0..2).map(|i| json!({"number": page * 10 + i})).collect();
            let mut links = Vec::new();
            if page < 3 {
                links.push(format!("<{base}/gh?per_page=2&page={}>; rel=\"next\"", page + 1));
                links.push(format!("<{base}/gh?per_page=2&page=3>; rel=\"last\""));
            }
            if page > 1 {
                links.push(format!("<{base}/gh?per_page=2&page=1>; rel=\"first\""));
            }
            let mut response = json_response(StatusCode::OK, &Value::Array(items));
            if !links.is_empty() {
                response.headers_mut().insert(header::LINK, links.join(", ").parse().expect("link header"));
            }
            response
        }
        "/away" => {
            let to = state.other_origin.lock().expect("lock").clone();
            let mut response = json_response(StatusCode::OK, &json!([1]));
            response.headers_mut().insert(header::LINK, format!("<{to}/gh?page=2>; rel=\"next\"").parse().expect("link header"));
            response
        }
        _ => json_response(StatusCode::OK, &json!({"ok": true})),
    }
}

fn connection(name: &str, base_url: &str, extra: &str) -> String {
    format!("kind: connection\nname: {name}\nhttp:\n  base_url: {base_url}\n  allow_private_networks: true\n{extra}---\n")
}

/// A tool without arguments on connection `api`; `action` is the rest of the `http` block,
/// indented by four spaces.
fn tool(name: &str, action: &str, extra: &str) -> String {
    format!(
        "kind: tool\nname: {name}\ndescription: Test tool {name}.\ninput: {{type: object}}\n{extra}action:\n  http:\n    connection: api\n{action}---\n"
    )
}

/// An AWS Query request (EC2/RDS/IAM): `Action`, `Version` and dotted member names as an
/// `application/x-www-form-urlencoded` body, in the order written, each value encoded.
#[tokio::test]
async fn form_bodies_are_url_encoded_in_order() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "")
        + "kind: tool\nname: describe\ndescription: Describe instances.\ninput:\n  type: object\n  properties:\n    state: {type: string}\n  required: [state]\naction:\n  http:\n    connection: api\n    method: POST\n    url: /form\n    form:\n      Action: DescribeInstances\n      Version: \"2016-11-15\"\n      Filters.member.1.Name: instance-state-name\n      Filters.member.1.Value.1: \"{{ state }}\"\n      MaxResults: 5\n      DryRun: false\n---\n";
    let (catalog, backends) = setup(&yaml);
    let out = call(&backends, &catalog, "describe", json!({"state": "a&b=c d+e é/ü"})).await.expect("form call");
    assert_eq!(out.structured, Some(json!({"ok": true})));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("content-type"), Some("application/x-www-form-urlencoded"));
    let body = String::from_utf8(seen[0].body.clone()).expect("utf-8 body");
    assert_eq!(
        body,
        "Action=DescribeInstances&Version=2016-11-15&Filters.member.1.Name=instance-state-name&Filters.member.1.Value.1=a%26b%3Dc+d%2Be+%C3%A9%2F%C3%BC&MaxResults=5&DryRun=false"
    );
    // The server decodes exactly the value the caller gave: no field was split or joined.
    assert_eq!(seen[0].form().get("Filters.member.1.Value.1").map(String::as_str), Some("a&b=c d+e é/ü"));
    assert_eq!(seen[0].form().len(), 6);
}

/// Lint refuses `form` with `body` at the `form` key, and pagination shapes that cannot work.
#[test]
fn lint_refuses_form_with_body_and_bad_pagination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = "kind: connection\nname: api\nhttp:\n  base_url: https://api.example.com\n---\n".to_owned()
        + &tool("both", "    method: POST\n    url: /x\n    body: {a: 1}\n    form: {Action: X}\n", "")
        + &tool("no_set", "    url: /x\n    response:\n      paginate: {next: .nextToken}\n", "")
        + &tool("two_sets", "    url: /x\n    response:\n      paginate: {next: .n, set: {query: a, header: B}}\n", "")
        + &tool("link_and_next", "    url: /x\n    response:\n      paginate: {link: true, next: .n}\n", "")
        + &tool("too_many", "    url: /x\n    response:\n      paginate: {link: true, max_pages: 101}\n", "")
        + &tool("text_jq", "    url: /x\n    response:\n      format: text\n      jq: .a\n", "")
        + &tool("bad_next", "    url: /x\n    response:\n      paginate: {next: '.[', set: {query: t}}\n", "");
    std::fs::write(dir.path().join("tools.yaml"), &yaml).expect("write spec");
    let compiled = compile_dirs(&[dir.path().to_path_buf()], None);
    assert!(compiled.catalog.is_none());
    let found: Vec<(String, u32, String)> =
        compiled.diagnostics.iter().map(|d| (d.code.as_str().to_owned(), d.span.line, d.message.clone())).collect();
    let line_of = |needle: &str| yaml.lines().position(|l| l.contains(needle)).map(|i| i as u32 + 1).expect(needle);
    let has = |code: &str, line: u32| found.iter().any(|(c, l, _)| c == code && *l == line);
    assert!(has("form-and-body", line_of("form: {Action: X}")), "{found:#?}");
    assert!(has("invalid-pagination", line_of("paginate: {next: .nextToken}")), "{found:#?}");
    assert!(has("invalid-pagination", line_of("set: {query: a, header: B}")), "{found:#?}");
    assert!(has("invalid-pagination", line_of("paginate: {link: true, next: .n}")), "{found:#?}");
    assert!(has("invalid-value", line_of("max_pages: 101")), "{found:#?}");
    assert!(has("invalid-value", line_of("format: text")), "{found:#?}");
    if real_jq() {
        assert!(has("invalid-jq", line_of("next: '.['")), "{found:#?}");
    }
}

/// EC2's documented DescribeInstances XML (Query protocol, `item` lists) becomes JSON with
/// lists as arrays, then is projected by jq.
#[tokio::test]
async fn xml_answers_become_json_before_jq() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "")
        + &tool("raw", "    url: /ec2\n    response:\n      format: xml\n", "")
        + &tool(
            "instances",
            "    url: /ec2\n    response:\n      format: xml\n      jq: '[.DescribeInstancesResponse.reservationSet[].instancesSet[] | {id: .instanceId, state: .instanceState.name, reason: .stateReason.message}]'\n",
            "",
        )
        + &tool("as_text", "    url: /json\n    response:\n      format: text\n", "");
    let (catalog, backends) = setup(&yaml);
    let out = call(&backends, &catalog, "raw", json!({})).await.expect("xml call");
    let doc = out.structured.expect("structured");
    let reservation = &doc["DescribeInstancesResponse"]["reservationSet"][0];
    assert_eq!(doc["DescribeInstancesResponse"]["requestId"], json!("8f7724cf-496f-496e-8fe3-example"));
    assert_eq!(reservation["ownerId"], json!("123456789012"));
    assert_eq!(reservation["groupSet"], Value::Null);
    assert_eq!(reservation["instancesSet"].as_array().map(Vec::len), Some(2));
    // A one-element `item` list is still a list; entities are decoded.
    assert_eq!(reservation["instancesSet"][0]["tagSet"], json!([{"key": "Name", "value": "web & api"}]));
    assert!(doc["DescribeInstancesResponse"].get("@xmlns").is_none());
    if real_jq() {
        let out = call(&backends, &catalog, "instances", json!({})).await.expect("projected xml call");
        assert_eq!(
            out.structured,
            Some(json!({"result": [
                {"id": "i-1234567890abcdef0", "state": "running", "reason": null},
                {"id": "i-0598c7d356eba48d7", "state": "stopped", "reason": "User initiated shutdown"}
            ]}))
        );
    }
    // `format: text` returns a JSON answer as its text.
    let out = call(&backends, &catalog, "as_text", json!({})).await.expect("text call");
    assert_eq!(out, ToolOutput { structured: None, text: r#"{"a":[1,2]}"#.to_owned(), truncated: false, is_error: false, media: None });
}

/// A billion-laughs document (a DTD of nested entities), a bare undeclared entity and 10,000
/// nested elements are clear tool errors, at once, not an expansion or a stack overflow.
#[tokio::test]
async fn xml_bombs_and_deep_nesting_are_refused_quickly() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "")
        + &tool("bomb", "    url: /bomb\n    response:\n      format: xml\n", "")
        + &tool("entity", "    url: /bare-entity\n    response:\n      format: xml\n", "")
        + &tool("deep", "    url: /deep\n    response:\n      format: xml\n      jq: .\n", "");
    let (catalog, backends) = setup(&yaml);
    for (tool, want) in [("bomb", "DOCTYPE"), ("entity", "&lol9;"), ("deep", "deeper than 64")] {
        let started = Instant::now();
        let err = call(&backends, &catalog, tool, json!({})).await.expect_err(tool);
        assert!(err.contains(want), "{tool}: {err}");
        assert!(started.elapsed() < Duration::from_secs(2), "{tool} took {:?}", started.elapsed());
    }
}

/// nextToken pagination: the token comes from each page's JSON and goes back as a query
/// parameter; three pages are concatenated by `items`, then projected by `response.jq`.
#[tokio::test]
async fn token_pagination_follows_three_pages() {
    init();
    if !real_jq() {
        eprintln!("note: the catalog uses the jq stub; pagination needs real jq filters");
        return;
    }
    let server = TestServer::start("127.0.0.1").await;
    let paginate = "      paginate:\n        next: .nextToken\n        set: {query: nextToken}\n        items: .items\n";
    let yaml = connection("api", &server.url(), "")
        + &tool("all", &format!("    url: /tokens\n    query: {{limit: 3}}\n    response:\n{paginate}"), "")
        + &tool("ids", &format!("    url: /tokens\n    response:\n      jq: 'map(.id)'\n{paginate}"), "")
        + &tool("cut", &format!("    url: /tokens\n    response:\n{paginate}"), "output: {max_bytes: 90}\n");
    let (catalog, backends) = setup(&yaml);
    let out = call(&backends, &catalog, "all", json!({})).await.expect("paginated call");
    let items: Vec<Value> = (1..=9).map(|i| json!({"id": i})).collect();
    assert_eq!(out.structured, Some(json!({"items": items, "pages": 3})));
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].query.get("nextToken"), None);
    assert_eq!(seen[1].query.get("nextToken").map(String::as_str), Some("t2"));
    assert_eq!(seen[2].query.get("nextToken").map(String::as_str), Some("t3"));
    // The tool's own query parameters stay on every page.
    assert!(seen.iter().all(|s| s.query.get("limit").map(String::as_str) == Some("3")));

    let out = call(&backends, &catalog, "ids", json!({})).await.expect("projected pages");
    assert_eq!(out.structured, Some(json!({"items": [1, 2, 3, 4, 5, 6, 7, 8, 9], "pages": 3})));

    // The output cap applies to the whole, with the truncation notice.
    let out = call(&backends, &catalog, "cut", json!({})).await.expect("cut pages");
    assert!(out.truncated);
    assert!(out.text.len() <= 90, "{}", out.text);
    let s = out.structured.expect("structured");
    assert_eq!((s["truncated"].clone(), s["total"].clone()), (json!(true), json!(9)));
}

/// AWS Query pagination (RDS DescribeDBInstances): the `Marker` of each XML page goes back as
/// a form field; `member`-less lists of `DBInstance` are repeated siblings.
#[tokio::test]
async fn aws_query_pages_set_the_marker_as_a_form_field() {
    init();
    if !real_jq() {
        return;
    }
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "")
        + &tool(
            "dbs",
            "    method: POST\n    url: /rds\n    form: {Action: DescribeDBInstances, Version: '2014-10-31'}\n    response:\n      format: xml\n      jq: 'map(.DBInstanceIdentifier)'\n      paginate:\n        next: .DescribeDBInstancesResponse.DescribeDBInstancesResult.Marker\n        set: {form: Marker}\n        items: '.DescribeDBInstancesResponse.DescribeDBInstancesResult.DBInstances.DBInstance | if type == \"array\" then . else [.] end'\n",
            "",
        );
    let (catalog, backends) = setup(&yaml);
    let out = call(&backends, &catalog, "dbs", json!({})).await.expect("rds pages");
    assert_eq!(out.structured, Some(json!({"items": ["db-a", "db-b", "db-c", "db-d"], "pages": 3})));
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].form().get("Marker").map(String::as_str), Some("m3"));
    assert!(seen.iter().all(|s| s.form().get("Action").map(String::as_str) == Some("DescribeDBInstances")));
}

/// GitHub-style Link pagination: bare arrays concatenated, `rel="next"` followed until absent.
#[tokio::test]
async fn link_pagination_follows_rel_next() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "  headers:\n    X-Tenant: acme\n")
        + &tool("issues", "    url: /gh\n    query: {per_page: 2}\n    response:\n      paginate: {link: true}\n", "");
    let (catalog, backends) = setup(&yaml);
    let out = call(&backends, &catalog, "issues", json!({})).await.expect("link pages");
    let numbers: Vec<Value> = [10, 11, 20, 21, 30, 31].iter().map(|n| json!({"number": n})).collect();
    assert_eq!(out.structured, Some(json!({"items": numbers, "pages": 3})));
    let seen = server.seen();
    let pages: Vec<Option<&str>> = seen.iter().map(|s| s.query.get("page").map(String::as_str)).collect();
    assert_eq!(pages, [None, Some("2"), Some("3")]);
    // The connection's headers go with every page of the same origin.
    assert!(seen.iter().all(|s| s.header("x-tenant") == Some("acme")));
}

/// A paginating API that never stops ends at `max_pages` with a note; one that gives the
/// same token twice is a loop error.
#[tokio::test]
async fn endless_and_looping_pagination_stop() {
    init();
    if !real_jq() {
        return;
    }
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "")
        + &tool(
            "forever",
            "    url: /forever\n    response:\n      paginate: {next: .next, set: {query: cursor}, items: .data, max_pages: 4}\n",
            "",
        )
        + &tool("same", "    url: /same\n    response:\n      paginate: {next: .next, set: {header: X-Page-Token}, items: .data}\n", "");
    let (catalog, backends) = setup(&yaml);
    let out = call(&backends, &catalog, "forever", json!({})).await.expect("max_pages is not an error");
    let s = out.structured.expect("structured");
    assert_eq!(s["items"], json!([0, 1, 2, 3]));
    assert_eq!(s["pages"], json!(4));
    assert!(s["note"].as_str().is_some_and(|n| n.contains("max_pages")), "{s}");
    assert_eq!(server.seen().len(), 4);

    let err = call(&backends, &catalog, "same", json!({})).await.expect_err("a loop");
    assert!(err.contains("same next token"), "{err}");
    let same: Vec<Seen> = server.seen().into_iter().filter(|s| s.path == "/same").collect();
    assert_eq!(same.len(), 2);
    assert_eq!(same[1].header("x-page-token"), Some("again"));
}

/// A Link header that sends the next page to another origin is refused before anything is
/// sent there, so the connection's credentials never leave their origin.
#[tokio::test]
async fn a_next_link_to_another_origin_is_refused() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let other = TestServer::start("127.0.0.2").await;
    *server.state.other_origin.lock().expect("lock") = other.url();
    let extra = "  headers:\n    X-Tenant: acme\n";
    let yaml = connection("api", &server.url(), extra) + &tool("away", "    url: /away\n    response:\n      paginate: {link: true}\n", "");
    let (catalog, backends) = setup(&yaml);
    let err = call(&backends, &catalog, "away", json!({})).await.expect_err("another origin");
    assert!(err.contains("another origin"), "{err}");
    assert_eq!(server.seen().len(), 1);
    assert!(other.seen().is_empty(), "the other origin was called");
}

/// A query parameter or form field that is exactly `{{ x }}`: a list repeats it (PagerDuty's
/// `statuses[]=a&statuses[]=b`), an absent or null argument leaves it out, and a list inside a
/// list is refused before anything is sent. Any other template is one value as before. (Query
/// parameters are sent in the order of their names.)
#[tokio::test]
async fn exact_arguments_repeat_for_lists_and_are_left_out_when_absent() {
    init();
    let server = TestServer::start("127.0.0.1").await;
    let yaml = connection("api", &server.url(), "")
        + "kind: tool\nname: incidents\ndescription: Incidents.\ninput:\n  type: object\n  properties:\n    statuses: {type: array, items: {type: string}, default: [triggered, acknowledged]}\n    service_ids: {type: array, items: {}}\n    team: {type: [string, 'null']}\n    since: {type: string}\naction:\n  http:\n    connection: api\n    url: /incidents\n    query:\n      \"statuses[]\": \"{{ statuses }}\"\n      \"service_ids[]\": \"{{ service_ids }}\"\n      team: \"{{ team }}\"\n      label: \"team={{ team | default('none') }}\"\n      limit: 25\n---\n"
        + "kind: tool\nname: form\ndescription: Form.\ninput:\n  type: object\n  properties:\n    ids: {type: array, items: {type: string}}\n    note: {type: string}\naction:\n  http:\n    connection: api\n    method: POST\n    url: /form\n    form:\n      Action: Describe\n      Id: \"{{ ids }}\"\n      Note: \"{{ note }}\"\n---\n";
    let (catalog, backends) = setup(&yaml);
    let url = |args: Value| {
        let tool = catalog.tool("incidents").expect("tool");
        let args = tool.prepare_args(args.as_object()).map_err(|e| e.message)?;
        let request = render(&catalog, tool, &args, SystemTime::now(), SecretMode::Redact).map_err(|e| e.message)?;
        Ok::<String, String>(request.to_json()["url"].as_str().expect("a url").to_owned())
    };
    let base = server.url();
    assert_eq!(
        url(json!({})).expect("defaults"),
        format!("{base}/incidents?label=team%3Dnone&limit=25&statuses%5B%5D=triggered&statuses%5B%5D=acknowledged")
    );
    assert_eq!(
        url(json!({"statuses": ["resolved"], "service_ids": ["P1", 7, true], "team": "a&b"})).expect("given"),
        format!(
            "{base}/incidents?label=team%3Da%26b&limit=25&service_ids%5B%5D=P1&service_ids%5B%5D=7&service_ids%5B%5D=true&statuses%5B%5D=resolved&team=a%26b"
        )
    );
    // (`default` applies to an absent value, not to null, as in Jinja.)
    assert_eq!(url(json!({"team": null, "statuses": []})).expect("null"), format!("{base}/incidents?label=team%3D&limit=25"));
    let refused = url(json!({"service_ids": [["P1"]]})).expect_err("a list in a list");
    assert!(refused.contains("a list inside a list cannot go into a query parameter"), "{refused}");
    assert!(url(json!({"service_ids": [{"a": 1}]})).is_err(), "an object in a list is refused");

    let out = call(&backends, &catalog, "form", json!({"ids": ["i-1", "i 2"]})).await.expect("form call");
    assert_eq!(out.structured, Some(json!({"ok": true})));
    let body = String::from_utf8(server.seen()[0].body.clone()).expect("utf-8 body");
    assert_eq!(body, "Action=Describe&Id=i-1&Id=i+2");
}
