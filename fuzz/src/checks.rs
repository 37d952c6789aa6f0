//! What each fuzz target checks, for one input. The fuzz targets call these functions, and
//! `tests/fuzz_regressions.rs` includes this same file (`#[path]`) to replay the seed corpus
//! and minimal reproducers under `cargo test`, so a check cannot drift between the two.
//!
//! Only crates that the main package already depends on are used here (toolwright,
//! serde_json, tokio, tower, axum, http), so the file compiles in both places.
//!
//! Every check panics on a broken invariant: libFuzzer records a panic as a crash.

#![allow(dead_code)]

use std::sync::{Arc, LazyLock, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use toolwright::actions::{Action, Request, render};
use toolwright::catalog::{Catalog, SecretMode, Template};
use toolwright::compile::compile;
use toolwright::diag::{self, Format};
use toolwright::spec::SourceFile;

/// The example catalog of the tests (`tests/fixtures/tools.d`, a copy of the `tools.d/` the
/// repository ships, which is the user's to edit), embedded so a target needs no files at run time.
pub const BUNDLED: &[(&str, &str)] = &[
    ("cloudwatch_logs.yaml", include_str!("../../tests/fixtures/tools.d/cloudwatch_logs.yaml")),
    ("cloudwatch_metrics.yaml", include_str!("../../tests/fixtures/tools.d/cloudwatch_metrics.yaml")),
    ("connections.yaml", include_str!("../../tests/fixtures/tools.d/connections.yaml")),
    ("service_status.yaml", include_str!("../../tests/fixtures/tools.d/service_status.yaml")),
];

/// The Logs Insights tool of the bundled catalog, whose query gets the injection check.
pub const LOGS_TOOL: &str = "query_cloudwatch_logs";

/// Argument names of the bundled tools (and a few that no tool has), for the byte decoder.
pub const ARG_NAMES: &[&str] =
    &["service", "text", "minutes", "limit", "load_balancer", "metric", "stat", "hours", "include_checks", "x", ""];

/// "Now" for rendering: a fixed instant, so a run is reproducible.
pub const NOW_SECS: u64 = 1_800_000_000;

fn files_of(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(name, text)| SourceFile { name: format!("tools.d/{name}"), relative: (*name).to_owned(), text: (*text).to_owned() })
        .collect()
}

/// Compiles files that must compile cleanly (the bundled catalog or a variant of it).
pub fn compile_clean(files: &[(&str, &str)]) -> Catalog {
    let compiled = compile(&files_of(files));
    let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "the bundled catalog compiles: {errors:?}");
    compiled.catalog.expect("no errors, so a catalog")
}

/// The bundled catalog, compiled once per process.
pub static BUNDLED_CATALOG: LazyLock<Catalog> = LazyLock::new(|| compile_clean(BUNDLED));

// ------------------------------------------------------------------ (a) spec load + compile

/// Splits fuzz bytes into spec files: NUL separates files (NUL is never valid in YAML, so no
/// interesting single-file input is lost), at most four files. Invalid UTF-8 is replaced,
/// because the loader turns invalid UTF-8 into a diagnostic before `compile` sees the text.
pub fn spec_files(data: &[u8]) -> Vec<SourceFile> {
    let text = String::from_utf8_lossy(data);
    text.splitn(4, '\0')
        .enumerate()
        .map(|(i, t)| SourceFile { name: format!("tools.d/f{i}.yaml"), relative: format!("f{i}.yaml"), text: t.to_owned() })
        .collect()
}

/// Compiles the files and renders every diagnostic format; checks what holds for any input.
pub fn check_spec_files(files: &[SourceFile]) {
    let compiled = compile(files);
    let has_errors = compiled.diagnostics.iter().any(|d| d.is_error());
    assert_eq!(compiled.catalog.is_some(), !has_errors, "a catalog exists exactly when there is no error");
    for d in &compiled.diagnostics {
        assert!(d.span.line >= 1 && d.span.column >= 1, "position is 1-based: {d:?}");
        assert!((d.span.end_line, d.span.end_column) >= (d.span.line, d.span.column), "span is not inverted: {d:?}");
        assert!(!d.message.is_empty(), "message is not empty: {d:?}");
        if let Some(index) = compiled.sources.get(&d.file) {
            assert!(index.line(d.span.line).is_some() && index.line(d.span.end_line).is_some(), "the span is inside its file: {d:?}");
        }
    }
    for format in [Format::Text, Format::Json, Format::Github, Format::Sarif] {
        let out = diag::report(format, &compiled.diagnostics, &compiled.sources, false);
        assert!(!out.is_empty() || (format == Format::Github && compiled.diagnostics.is_empty()), "{format:?} printed nothing");
        if matches!(format, Format::Json | Format::Sarif) {
            let parsed: Result<Value, _> = serde_json::from_str(&out);
            assert!(parsed.is_ok(), "{format:?} output is JSON: {out}");
        }
    }
    // A catalog that compiled is callable: empty arguments are validated and rendered
    // (refusals are fine, panics are not).
    if let Some(catalog) = &compiled.catalog {
        for tool in catalog.tools() {
            if let Ok(args) = tool.prepare_args(None) {
                for mode in [SecretMode::Placeholder, SecretMode::Redact] {
                    let _ = render(catalog, tool, &args, UNIX_EPOCH + Duration::from_secs(NOW_SECS), mode);
                }
            }
        }
    }
}

/// Target (a): one fuzz input as spec files.
pub fn check_spec_bytes(data: &[u8]) {
    check_spec_files(&spec_files(data));
}

// ------------------------------------------------------------------ (b) arguments + render

/// Decodes fuzz bytes into an arguments object. Bytes that parse as a JSON object are used as
/// they are; other bytes are read as a little program of (name, value) pairs over the real
/// argument names, so the fuzzer reaches well-typed arguments without guessing JSON syntax.
pub fn args_of(data: &[u8]) -> (Map<String, Value>, u64) {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        return (map, NOW_SECS);
    }
    let mut r = Reader { data, pos: 0 };
    let now = match r.byte() {
        Some(b) if b < 16 => u64::from(b) * 3600, // near the epoch: windows that start before it
        _ => NOW_SECS,
    };
    let mut map = Map::new();
    while let Some(b) = r.byte() {
        let name = match ARG_NAMES.get(usize::from(b) % (ARG_NAMES.len() + 1)) {
            Some(n) => (*n).to_owned(),
            None => r.string(),
        };
        let value = r.value(0);
        map.insert(name, value);
    }
    (map, now)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn string(&mut self) -> String {
        let len = usize::from(self.byte().unwrap_or(0) % 64);
        let end = (self.pos + len).min(self.data.len());
        let s = String::from_utf8_lossy(&self.data[self.pos..end]).into_owned();
        self.pos = end;
        s
    }

    fn value(&mut self, depth: u32) -> Value {
        let kind = self.byte().unwrap_or(0);
        match kind % 10 {
            0 => Value::Null,
            1 => Value::Bool(kind & 0x80 != 0),
            2 => {
                let mut b = [0u8; 8];
                for x in &mut b {
                    *x = self.byte().unwrap_or(0);
                }
                Value::from(i64::from_le_bytes(b))
            }
            3 => Value::from(i64::from(self.byte().unwrap_or(0)) - 8), // small integers, near the bounds
            4 => {
                let mut b = [0u8; 8];
                for x in &mut b {
                    *x = self.byte().unwrap_or(0);
                }
                serde_json::Number::from_f64(f64::from_le_bytes(b)).map_or(Value::Null, Value::Number)
            }
            5 if depth < 3 => {
                let n = self.byte().unwrap_or(0) % 4;
                Value::Array((0..n).map(|_| self.value(depth + 1)).collect())
            }
            6 if depth < 3 => {
                let n = self.byte().unwrap_or(0) % 4;
                Value::Object((0..n).map(|_| (self.string(), self.value(depth + 1))).collect())
            }
            7 => {
                // A known-good value for some argument, so the others get exercised.
                const GOOD: &[&str] = &["checkout", "payments", "inventory", "TargetResponseTime", "p99", "Average", "app/x/1", "ERROR"];
                Value::from(GOOD[usize::from(self.byte().unwrap_or(0)) % GOOD.len()])
            }
            _ => Value::String(self.string()),
        }
    }
}

/// Target (b): validates and renders the arguments for every tool of the bundled catalog.
pub fn check_args_bytes(data: &[u8]) {
    let (args, now) = args_of(data);
    check_args(&BUNDLED_CATALOG, &args, now);
}

/// Validates and renders `args` for every tool; checks the invariants of rendered requests.
pub fn check_args(catalog: &Catalog, args: &Map<String, Value>, now_secs: u64) {
    let now = UNIX_EPOCH + Duration::from_secs(now_secs);
    for tool in catalog.tools() {
        let prepared = match tool.prepare_args(Some(args)) {
            Ok(p) => p,
            Err(e) => {
                assert!(!e.message.is_empty(), "a refusal says why");
                continue;
            }
        };
        for mode in [SecretMode::Placeholder, SecretMode::Redact] {
            let rendered = match render(catalog, tool, &prepared, now, mode) {
                Ok(r) => r,
                Err(e) => {
                    assert!(!e.message.is_empty(), "a refusal says why");
                    continue;
                }
            };
            let _ = rendered.to_json();
            check_rendered(catalog, &tool.name, &tool.action, &rendered);
        }
    }
}

fn check_rendered(catalog: &Catalog, tool: &str, action: &Action, rendered: &Request) {
    match (action, rendered) {
        (Action::LogsInsights(a), Request::LogsInsights(r)) => {
            assert!(r.start < r.end, "{tool}: the window is not empty: {r:?}");
            for g in &r.log_groups {
                assert!(!g.is_empty() && g.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c)), "{tool}: log group {g:?}");
            }
            if let Template::Named(name) = &a.query {
                let source = catalog.env().get_template(name).expect("the query template is in the environment").source().to_owned();
                if let Err(why) = query_matches_template(&source, &r.query) {
                    panic!("{tool}: caller values changed the query's commands ({why})\ntemplate:\n{source}\nrendered:\n{}", r.query);
                }
            }
        }
        (Action::Http(_), Request::Http(r)) => {
            for (k, v) in &r.headers {
                assert!(!v.contains(['\r', '\n', '\0']), "{tool}: header {k} holds CR, LF or NUL: {v:?}");
                assert!(!k.is_empty(), "{tool}: empty header name");
            }
            // The bundled status tool puts one caller value into one path segment: the path
            // keeps its shape whatever the value, so `../` or `/` cannot climb or add segments.
            if tool == "get_service_status" {
                let segs: Vec<&str> = r.url.path().split('/').collect();
                assert_eq!(segs.len(), 5, "{tool}: the path keeps its four segments: {}", r.url);
                assert_eq!((segs[1], segs[2], segs[4]), ("api", "services", "status"), "{tool}: fixed segments unchanged: {}", r.url);
                assert!(segs[3] != "." && segs[3] != ".." && !segs[3].is_empty(), "{tool}: the value is one real segment: {}", r.url);
                assert_eq!(r.url.host_str(), Some("127.0.0.1"), "{tool}: the host is the operator's: {}", r.url);
                assert_eq!(r.url.query_pairs().count(), 1, "{tool}: one query parameter: {}", r.url);
            }
        }
        (Action::Metrics(_), Request::Metrics(r)) => {
            assert!(r.start < r.end, "{tool}: the window is not empty: {r:?}");
            assert!(r.period > 0, "{tool}: the period is positive: {r:?}");
        }
        // A kind without checks of its own here only has to render as itself.
        (a, r) => assert_eq!(a.kind(), r.kind(), "{tool}: action {} rendered as another kind: {r:?}", a.kind()),
    }
}

/// Checks that `rendered` is `template` with each `{{ ... }}` replaced by one Logs Insights
/// value token: a double-quoted literal holding none of `"` `'` `\` `` ` `` `|` `#` or a control
/// character, a JSON number, `true`/`false`/`null`, or a `[...]` list of those. Everything
/// outside the tokens must be the template's fixed text, so a caller value cannot add a
/// command, a pipe or a comment. Only `{{ }}` expressions are understood (the bundled query
/// has no `{% %}` blocks; a template with one is reported as unsupported, not as a bug).
pub fn query_matches_template(template: &str, rendered: &str) -> Result<(), String> {
    if template.contains("{%") || template.contains("{#") {
        return Ok(());
    }
    // minijinja drops one trailing newline of the template source.
    let template = template.strip_suffix('\n').unwrap_or(template);
    let mut fixed: Vec<&str> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        fixed.push(&rest[..open]);
        let close = rest[open..].find("}}").ok_or("unclosed `{{` in the template")?;
        rest = &rest[open + close + 2..];
    }
    fixed.push(rest);

    let mut at = rendered;
    for (i, piece) in fixed.iter().enumerate() {
        at = at.strip_prefix(piece).ok_or_else(|| format!("fixed text #{i} {piece:?} not found at {:?}", head(at)))?;
        if i + 1 < fixed.len() {
            at = value_token(at).ok_or_else(|| format!("no value token after fixed text #{i}, at {:?}", head(at)))?;
        }
    }
    if at.is_empty() { Ok(()) } else { Err(format!("text after the template's end: {:?}", head(at))) }
}

fn head(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Consumes one value token; returns what follows it.
fn value_token(s: &str) -> Option<&str> {
    if let Some(body) = s.strip_prefix('"') {
        let end = body.find('"')?;
        let inner = &body[..end];
        if inner.chars().any(|c| matches!(c, '\'' | '\\' | '`' | '|' | '#' | '\u{2028}' | '\u{2029}') || c.is_control()) {
            return None;
        }
        return Some(&body[end + 1..]);
    }
    if let Some(mut rest) = s.strip_prefix('[') {
        if let Some(after) = rest.strip_prefix(']') {
            return Some(after);
        }
        loop {
            rest = value_token(rest)?;
            if let Some(after) = rest.strip_prefix(']') {
                return Some(after);
            }
            rest = rest.strip_prefix(", ")?;
        }
    }
    for word in ["true", "false", "null"] {
        if let Some(after) = s.strip_prefix(word) {
            return Some(after);
        }
    }
    let len = s.find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))).unwrap_or(s.len());
    let token = &s[..len];
    match serde_json::from_str::<Value>(token) {
        Ok(Value::Number(_)) => Some(&s[len..]),
        _ => None,
    }
}

// ------------------------------------------------------------------ (c) JSON-RPC over HTTP

/// Points every backend of the JSON-RPC target at closed local ports and makes the AWS SDK
/// give up at once, so a `tools/call` the fuzzer finds fails fast instead of reaching a real
/// service. Runs once per process, before any thread reads the environment.
pub fn init_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "AKIDFUZZFUZZFUZZFUZZ"),
            ("AWS_SECRET_ACCESS_KEY", "fuzz-secret"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_CONFIG_FILE", "/nonexistent/toolwright-fuzz/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/toolwright-fuzz/credentials"),
        ] {
            // SAFETY: called once, first thing, before the runtime or any other thread that
            // reads the environment exists (tests call it first too, behind this `Once`).
            unsafe { std::env::set_var(k, v) };
        }
    });
}

/// The bundled catalog with the status API moved to a closed port (127.0.0.1:9, discard).
fn jsonrpc_catalog() -> Catalog {
    let connections = BUNDLED
        .iter()
        .find(|(n, _)| *n == "connections.yaml")
        .map(|(_, t)| t.replace("http://127.0.0.1:8080/api", "http://127.0.0.1:9/api"))
        .expect("connections.yaml is bundled");
    let files: Vec<(&str, &str)> =
        BUNDLED.iter().map(|(n, t)| if *n == "connections.yaml" { (*n, connections.as_str()) } else { (*n, *t) }).collect();
    compile_clean(&files)
}

/// A current-thread runtime and the stateless Streamable HTTP router, built once.
pub struct Server {
    /// The runtime every request runs on.
    pub rt: tokio::runtime::Runtime,
    /// The axum app, as `toolwright serve --http --stateless` builds it.
    pub app: axum::Router,
}

/// The server of target (c), built once per process.
pub static SERVER: LazyLock<Server> = LazyLock::new(|| {
    init_env();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let app = rt.block_on(async {
        let runtime = toolwright::runtime::Runtime::new(jsonrpc_catalog()).expect("backends for the bundled catalog");
        let shared = toolwright::server::ServerState::new(Arc::new(runtime));
        let opts = toolwright::server::http::HttpOptions {
            addr: "127.0.0.1:0".parse().expect("an address"),
            stateless: true,
            allowed_hosts: toolwright::server::http::default_hosts(),
            allowed_origins: Vec::new(),
            max_body_bytes: 1 << 20,
            threads: 1,
            max_connections: 16,
            header_timeout: std::time::Duration::from_secs(30),
        };
        toolwright::server::http::router(shared, &opts, tokio_util::sync::CancellationToken::new())
    });
    Server { rt, app }
});

/// Longest a request may take before the target reports it as a hang. Backends are closed
/// ports, so every call fails in milliseconds; the bundled tools' own deadlines are longer.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(20);

/// Headers the fuzzer chooses from with the first input byte.
fn request_for(flags: u8, body: &[u8]) -> http::Request<axum::body::Body> {
    let mut b = http::Request::builder().method(http::Method::POST).uri("/mcp").header(http::header::HOST, "127.0.0.1");
    b = b.header(http::header::CONTENT_TYPE, if flags & 1 == 0 { "application/json" } else { "application/json; charset=utf-8" });
    b = b.header(http::header::ACCEPT, if flags & 2 == 0 { "application/json, text/event-stream" } else { "application/json" });
    match (flags >> 2) & 3 {
        0 => {}
        1 => b = b.header("mcp-protocol-version", "2025-06-18"),
        2 => b = b.header("mcp-protocol-version", "2025-11-25"),
        _ => b = b.header("mcp-protocol-version", "2026-07-28"),
    }
    if flags & 16 != 0 {
        b = b.header(http::header::ORIGIN, "http://127.0.0.1:1234");
    }
    if flags & 32 != 0 {
        b = b.header("mcp-session-id", "fuzz-session");
    }
    if flags & 64 != 0 {
        b = b.header("last-event-id", "0");
    }
    b.body(axum::body::Body::from(body.to_vec())).expect("a request")
}

/// Whether a message asks for something that legitimately never ends as a single JSON reply
/// (`subscriptions/listen` waits for list changes until the client goes away).
fn long_lived(body: &[u8]) -> bool {
    let is_listen = |v: &Value| v.get("method").and_then(Value::as_str) == Some("subscriptions/listen");
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items.iter().any(is_listen),
        Ok(v) => is_listen(&v),
        Err(_) => false,
    }
}

/// POSTs `body` to `/mcp` with the headers `flags` picks; `None` when no response came within
/// [`RESPONSE_TIMEOUT`]. Returns the status, the content type and the body.
pub fn post(flags: u8, body: &[u8]) -> Option<(http::StatusCode, String, Vec<u8>)> {
    let server = &*SERVER;
    let request = request_for(flags, body);
    let app = server.app.clone();
    let result = server.rt.block_on(async move {
        use tower::ServiceExt;
        tokio::time::timeout(RESPONSE_TIMEOUT, async move {
            let response = app.oneshot(request).await.expect("the router is infallible");
            let status = response.status();
            let ctype = response.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await;
            (status, ctype, bytes)
        })
        .await
    });
    let (status, ctype, bytes) = result.ok()?;
    let bytes = bytes.unwrap_or_else(|e| panic!("the response body could not be read: {e}"));
    Some((status, ctype, bytes.to_vec()))
}

/// Target (c): the first byte picks headers, the rest is the POST body. Checks that a response
/// comes, that it is not a server error, and that a JSON body is well-formed.
pub fn check_jsonrpc_bytes(data: &[u8]) {
    let (flags, body) = match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    };
    if long_lived(body) {
        return;
    }
    let Some((status, ctype, bytes)) = post(flags, body) else {
        panic!("no response within {RESPONSE_TIMEOUT:?} for body {:?}", String::from_utf8_lossy(body));
    };
    assert!(!status.is_server_error(), "status {status} for body {:?}: {}", String::from_utf8_lossy(body), String::from_utf8_lossy(&bytes));
    if ctype.starts_with("application/json") && !bytes.is_empty() {
        let parsed: Result<Value, _> = serde_json::from_slice(&bytes);
        assert!(parsed.is_ok(), "a JSON response is JSON: {}", String::from_utf8_lossy(&bytes));
    }
}

/// `SystemTime` for callers that want the fixed "now".
pub fn fixed_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// The toolwright binary that runs jq workers: the one cargo built beside the tests, or
/// `TOOLWRIGHT_BIN` (the fuzz crate has no binary of its own to run as a worker).
fn jq_worker_program() -> Option<std::path::PathBuf> {
    option_env!("CARGO_BIN_EXE_toolwright").map(std::path::PathBuf::from).or_else(|| std::env::var_os("TOOLWRIGHT_BIN").map(Into::into))
}

/// The runtime the jq runs of [`check_jq_bytes`] are driven on (their workers' pipes belong to it).
static JQ_RUNTIME: LazyLock<Option<tokio::runtime::Runtime>> = LazyLock::new(|| {
    let program = jq_worker_program()?;
    toolwright::catalog::jq_worker::set_program(program);
    toolwright::catalog::jq_worker::configure(toolwright::catalog::jq_worker::JqLimits {
        timeout: Duration::from_millis(500),
        max_memory_bytes: 128 * 1024 * 1024,
    });
    tokio::runtime::Builder::new_current_thread().enable_all().build().ok()
});

/// (e) A `response.jq` filter from a spec and a backend answer, both from the input (split at
/// the first NUL; without one, a fixed answer): the filter compiles or is refused with a
/// message, and one that compiles runs in a jq worker under small limits and ends with a
/// value or a message however it recurses, grows or loops; the checking process never aborts.
pub fn check_jq_bytes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (source, input) = text.split_once('\0').unwrap_or((&text, r#"{"a": [1, 2, {"b": null}], "s": "x"}"#));
    let filter = match toolwright::catalog::jq::JqFilter::compile(source) {
        Ok(f) => f,
        Err(e) => {
            assert!(!e.message.is_empty(), "a refused filter says why");
            return;
        }
    };
    let Some(runtime) = JQ_RUNTIME.as_ref() else { return };
    let result = runtime.block_on(toolwright::catalog::jq_worker::run(&filter, input.as_bytes()));
    if let Err(e) = result {
        assert!(!e.to_string().is_empty(), "a failed run says why");
    }
}

/// (f) A backend answer read as `response.format: xml`: the conversion ends with JSON or a
/// message, never a panic; the JSON nests no deeper than the XML limit allows (two JSON levels
/// per element at most: an object key and a list) and is at most a small constant times the
/// size of the answer (no entity expansion: a billion-laughs document is refused, not grown).
pub fn check_xml_bytes(data: &[u8]) {
    use toolwright::actions::http::xml;
    match xml::to_json(data) {
        Ok(value) => {
            let depth = json_depth(&value);
            assert!(depth <= 2 * xml::MAX_DEPTH + 2, "JSON {depth} levels deep from {} bytes of XML", data.len());
            let size = value.to_string().len();
            // Each byte of XML becomes at most a few bytes of JSON: escapes (`\u0001` for one
            // byte), and an empty element `<a/>` (4 bytes) becomes `"a":null,` or `{"a":null}`.
            assert!(size <= 16 * data.len() + 64, "{} bytes of XML became {size} bytes of JSON", data.len());
        }
        Err(message) => assert!(!message.is_empty(), "a refused answer says why"),
    }
}

/// How deep a JSON value nests (a scalar is 0).
fn json_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    deepest
}
