//! OpenTelemetry traces over OTLP/HTTP (protobuf), off unless `serve --otlp-endpoint URL` or the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` asks for them.
//!
//! Spans are plain `tracing` spans with the target [`TARGET`]: one server span per `tools/call`
//! (the OpenTelemetry MCP conventions: `tools/call <tool>`, `mcp.method.name`, `gen_ai.tool.name`,
//! `mcp.session.id`, `error.type`) and one client child span per backend request (HTTP:
//! `http.request.method`, `server.address`; CloudWatch: `rpc.system=aws-api`, `rpc.service`,
//! `rpc.method`). `tracing-opentelemetry` is a layer of the logging registry that listens to that
//! target only, and the log layer never does. Without telemetry no layer listens, so each span
//! macro is a disabled callsite: an atomic load, and none of its fields is even evaluated.
//!
//! What a span never holds: argument values (only their names, as in the audit line), URL paths
//! rendered from templates (a path segment may be an argument; `url.path` is recorded only for
//! literal URLs), queries, header values, rendered Logs Insights queries and backend error
//! messages (they may quote the request).
//!
//! Export runs on the SDK's batch thread with a bounded queue (`OTEL_BSP_*` tune it): a call
//! only hands its finished spans over, so a slow or unreachable collector never delays a call.
//! When the queue is full spans are dropped (the SDK logs that once and the total at shutdown);
//! a failing export is logged once until one succeeds again. [`Telemetry`] flushes on drop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, Key, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use crate::catalog::JsonObject;
use crate::observability::CallOutcome;

/// The `tracing` target of the spans that become OpenTelemetry spans.
pub const TARGET: &str = "toolwright::otel";

/// The target of telemetry's own log lines (export failures).
const LOG_TARGET: &str = "toolwright::telemetry";

/// The longest a shutdown waits for the last spans to be exported.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The default bound on one export request (`OTEL_EXPORTER_OTLP_TIMEOUT` overrides it).
const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a collector's response that is read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The SDK's own log events that reach the log: that spans were dropped (once, and the total at
/// shutdown). Its export errors would repeat every batch; [`Transport`] reports those once.
const SDK_EVENTS_LOGGED: [&str; 2] = ["BatchSpanProcessor.SpanDroppingStarted", "BatchSpanProcessor.SpansDropped"];

static ON: AtomicBool = AtomicBool::new(false);

/// Whether traces are being exported (cheap: the call path asks before doing anything).
#[inline]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A layer of the logging registry, boxed so that the log formats and the optional
/// OpenTelemetry layer stack up as one list.
pub type BoxLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The running exporter. Dropping it flushes the spans not sent yet (within [`SHUTDOWN_GRACE`]).
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        ON.store(false, Ordering::Relaxed);
        if let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN_GRACE) {
            tracing::warn!(target: LOG_TARGET, error = %e, "the last spans may not have been exported");
        }
    }
}

/// The log layer's extra filter: never the OpenTelemetry spans, and of the SDK's own events
/// only the ones in [`SDK_EVENTS_LOGGED`].
pub fn log_filter() -> tracing_subscriber::filter::FilterFn {
    tracing_subscriber::filter::filter_fn(keep_in_log)
}

fn keep_in_log(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    if target.starts_with(TARGET) {
        return false;
    }
    if target.starts_with("opentelemetry") {
        return SDK_EVENTS_LOGGED.contains(&meta.name());
    }
    true
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The OTLP/HTTP traces URL for a collector base URL such as `http://127.0.0.1:4318`: `/v1/traces`
/// is added unless the URL already ends with it (as with `OTEL_EXPORTER_OTLP_ENDPOINT`).
pub fn traces_url(base: &str) -> Result<String, String> {
    let url = url::Url::parse(base).map_err(|e| format!("`{base}` is not a URL such as http://127.0.0.1:4318: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{base}` is not an http:// or https:// URL (only OTLP over HTTP is supported)"));
    }
    if url.path().trim_end_matches('/').ends_with("/v1/traces") {
        return Ok(url.to_string());
    }
    Ok(format!("{}/v1/traces", url.as_str().trim_end_matches('/')))
}

/// Starts exporting traces when `flag` (`--otlp-endpoint`) or the standard environment variables
/// ask for it: `Ok(None)` when neither does (or `OTEL_SDK_DISABLED=true`). Returns the layer to
/// add to the logging registry and the guard that flushes on drop.
pub fn init(flag: Option<&str>) -> Result<Option<(BoxLayer, Telemetry)>, String> {
    let endpoint = match flag.map(str::trim).filter(|s| !s.is_empty()) {
        Some(base) => Some(traces_url(base)?),
        None if env_value("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) => return Ok(None),
        // The exporter reads these itself, with the standard precedence.
        None if env_value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some() || env_value("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() => None,
        None => return Ok(None),
    };
    let timeout = ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"]
        .iter()
        .find_map(|name| env_value(name).and_then(|v| v.parse::<u64>().ok()))
        .map_or(DEFAULT_EXPORT_TIMEOUT, Duration::from_millis);
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(timeout)
        .with_http_client(Transport::new(timeout)?);
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(url);
    }
    let exporter = builder.build().map_err(|e| format!("cannot set up the OTLP exporter: {e}"))?;
    // The batch configuration comes from OTEL_BSP_* (queue 2048 spans, a batch every 5 s).
    let provider =
        SdkTracerProvider::builder().with_span_processor(BatchSpanProcessor::builder(exporter).build()).with_resource(resource()).build();
    let tracer = provider.tracer("toolwright");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(tracing_subscriber::filter::Targets::new().with_target(TARGET, tracing::Level::TRACE))
        .boxed();
    ON.store(true, Ordering::Relaxed);
    Ok(Some((layer, Telemetry { provider })))
}

/// `service.name` is `toolwright` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` name
/// the service; `service.version` is this build's unless `OTEL_RESOURCE_ATTRIBUTES` says otherwise.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let mut builder = Resource::builder();
    let named = detected.get(&Key::from_static_str("service.name")).is_some_and(|v| !v.as_str().starts_with("unknown_service"));
    if !named {
        builder = builder.with_service_name("toolwright");
    }
    if detected.get(&Key::from_static_str("service.version")).is_none() {
        builder = builder.with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    }
    builder.build()
}

/// The exporter's HTTP client: the project's reqwest, driven by a current-thread Tokio runtime of
/// its own on the SDK's batch thread (which is not a Tokio thread), so exports never run on the
/// server's workers. No connection is kept between exports (one every few seconds at most).
#[derive(Debug)]
struct Transport {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    failing: AtomicBool,
}

impl Transport {
    fn new(timeout: Duration) -> Result<Transport, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(0)
            .user_agent(concat!("toolwright/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the OTLP HTTP client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the OTLP exporter's runtime: {e}"))?;
        Ok(Transport { client, runtime, failing: AtomicBool::new(false) })
    }

    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, reqwest::Error> {
        let (parts, body) = request.into_parts();
        let mut response = self.client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
        let status = response.status();
        let body = crate::util::read_capped(&mut response, MAX_RESPONSE_BYTES).await;
        if let Some(e) = body.error {
            return Err(e);
        }
        let mut out = http::Response::new(Bytes::from(body.bytes));
        *out.status_mut() = status;
        Ok(out)
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Transport {
    async fn send_bytes(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let endpoint = request.uri().to_string();
        // The batch thread is a plain thread, so this blocks only the exporter.
        let result = self.runtime.block_on(self.send(request));
        let failure = match &result {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("the collector answered HTTP {}", r.status().as_u16())),
            Err(e) => Some(e.to_string()),
        };
        match failure {
            None if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!(target: LOG_TARGET, endpoint, "OTLP export works again");
            }
            Some(error) if !self.failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!(target: LOG_TARGET, endpoint, error, "OTLP export failed; spans are lost while it fails (said once until an export succeeds)");
            }
            _ => {}
        }
        Ok(result?)
    }
}

/// What the transport knows about an incoming `tools/call`, for its span.
pub struct Incoming<'a> {
    /// The HTTP request's headers; `None` on stdio.
    pub headers: Option<&'a http::HeaderMap>,
    /// `params._meta.traceparent` and `tracestate` of the MCP request.
    pub meta_traceparent: Option<&'a str>,
    /// See `meta_traceparent`.
    pub meta_tracestate: Option<&'a str>,
    /// The JSON-RPC request id.
    pub request_id: &'a dyn std::fmt::Display,
    /// The arguments; only their names reach the span.
    pub arguments: Option<&'a JsonObject>,
}

/// W3C trace context from `params._meta`.
struct MetaCarrier<'a> {
    traceparent: &'a str,
    tracestate: Option<&'a str>,
}

impl Extractor for MetaCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => Some(self.traceparent),
            "tracestate" => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

fn valid(cx: &Context) -> bool {
    cx.span().span_context().is_valid()
}

/// The server span of one `tools/call`. Its parent is the client's trace context from
/// `params._meta` (the MCP convention) or else from the HTTP `traceparent` header; when both are
/// there and differ, the header's becomes a link.
/// `incoming` is only called when traces are on.
pub fn tool_call_span<'a>(tool: &str, incoming: impl FnOnce() -> Incoming<'a>) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "tools/call",
        otel.name = %format_args!("tools/call {tool}"),
        otel.kind = "server",
        otel.status_code = Empty,
        mcp.method.name = "tools/call",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = tool,
        jsonrpc.request.id = Empty,
        mcp.session.id = Empty,
        mcp.protocol.version = Empty,
        network.transport = Empty,
        network.protocol.name = Empty,
        toolwright.arguments = Empty,
        toolwright.outcome = Empty,
        error.type = Empty,
        rpc.response.status_code = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let incoming = incoming();
    span.record("jsonrpc.request.id", tracing::field::display(incoming.request_id));
    span.record("network.transport", if incoming.headers.is_some() { "tcp" } else { "pipe" });
    if let Some(args) = incoming.arguments {
        let names: Vec<&str> = args.keys().map(String::as_str).collect();
        span.record("toolwright.arguments", names.join(",").as_str());
    }
    let propagator = TraceContextPropagator::new();
    let from_meta = incoming
        .meta_traceparent
        .map(|traceparent| {
            propagator.extract_with_context(&Context::new(), &MetaCarrier { traceparent, tracestate: incoming.meta_tracestate })
        })
        .filter(valid);
    let mut from_header = None;
    if let Some(headers) = incoming.headers {
        span.record("network.protocol.name", "http");
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(id) = header("mcp-session-id") {
            span.record("mcp.session.id", id);
        }
        if let Some(version) = header("mcp-protocol-version") {
            span.record("mcp.protocol.version", version);
        }
        from_header = Some(propagator.extract_with_context(&Context::new(), &opentelemetry_http::HeaderExtractor(headers))).filter(valid);
    }
    match (from_meta, from_header) {
        (Some(meta), header) => {
            if let Some(header) = header.map(|h| h.span().span_context().clone())
                && header != *meta.span().span_context()
            {
                span.add_link(header);
            }
            let _ = span.set_parent(meta);
        }
        (None, Some(header)) => {
            let _ = span.set_parent(header);
        }
        (None, None) => {}
    }
    span
}

/// Records how a `tools/call` ended: `None` for an unknown tool (JSON-RPC error -32602),
/// `Some(is_error)` for a tool result.
pub fn tool_call_done(span: &Span, is_error: Option<bool>) {
    if span.is_disabled() {
        return;
    }
    match is_error {
        None => {
            span.record("error.type", "-32602");
            span.record("rpc.response.status_code", "-32602");
        }
        Some(true) => {
            span.record("error.type", "tool_error");
        }
        Some(false) => return,
    }
    span.record("otel.status_code", "ERROR");
}

/// Records the runtime's outcome word on the current `tools/call` span.
pub fn record_outcome(outcome: CallOutcome) {
    if !enabled() {
        return;
    }
    Span::current().record("toolwright.outcome", outcome.as_str());
}

/// The client span of an HTTP backend request. `show_path`: the URL was written without
/// templates, so its path holds no caller value and may enter the span.
pub fn http_span(method: &str, url: &url::Url, show_path: bool) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "http",
        otel.name = method,
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = method,
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default().map(i64::from),
        url.scheme = url.scheme(),
        url.path = Empty,
        http.response.status_code = Empty,
        error.type = Empty,
    );
    // Only a literal URL is free of caller values.
    if show_path && !span.is_disabled() {
        span.record("url.path", url.path());
    }
    span
}

/// A CloudWatch request (a Logs Insights span covers the query from StartQuery to its results).
pub fn aws_span(service: &'static str, method: &'static str) -> Span {
    tracing::info_span!(
        target: TARGET,
        "aws",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "client",
        otel.status_code = Empty,
        rpc.system = "aws-api",
        rpc.service = service,
        rpc.method = method,
        error.type = Empty,
    )
}

/// The HTTP status a backend answered with, kept on its span for [`backend_done`].
#[derive(Clone, Copy)]
struct HttpStatus(u16);

/// Records the backend's HTTP status on the current (backend) span.
pub fn http_response_status(status: u16) {
    if !enabled() {
        return;
    }
    let span = Span::current();
    span.record("http.response.status_code", i64::from(status));
    span.with_subscriber(|(id, dispatch)| {
        if let Some(data) = dispatch.downcast_ref::<Registry>().and_then(|r| r.span(id)) {
            data.extensions_mut().replace(HttpStatus(status));
        }
    });
}

/// Records how a backend request ended: `Err` from the outer result is the tool's deadline.
pub fn backend_done<T, E>(span: &Span, result: &Result<Result<T, String>, E>) {
    if span.is_disabled() {
        return;
    }
    let error_type = match result {
        Ok(Ok(_)) => return,
        Err(_) => "timeout".to_owned(),
        Ok(Err(_)) => {
            let status = span
                .with_subscriber(|(id, dispatch)| {
                    dispatch.downcast_ref::<Registry>().and_then(|r| r.span(id)).and_then(|s| s.extensions().get::<HttpStatus>().copied())
                })
                .flatten();
            match status {
                Some(HttpStatus(code)) if code >= 400 => code.to_string(),
                _ => "_OTHER".to_owned(),
            }
        }
    };
    span.record("error.type", error_type.as_str());
    span.record("otel.status_code", "ERROR");
}

/// Puts the current span's W3C trace context (`traceparent`, `tracestate`) into an outgoing
/// backend request, unless the tool sets `traceparent` itself.
pub fn inject_trace_context(headers: &mut http::HeaderMap) {
    if !enabled() || headers.contains_key("traceparent") {
        return;
    }
    let cx = Span::current().context();
    if valid(&cx) {
        TraceContextPropagator::new().inject_context(&cx, &mut opentelemetry_http::HeaderInjector(headers));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn traces_url_adds_the_signal_path_once() {
        assert_eq!(traces_url("http://127.0.0.1:4318").unwrap(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(traces_url("http://127.0.0.1:4318/").unwrap(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(traces_url("https://otel.example.com/otlp").unwrap(), "https://otel.example.com/otlp/v1/traces");
        assert_eq!(traces_url("http://c:4318/v1/traces").unwrap(), "http://c:4318/v1/traces");
        assert!(traces_url("grpc://c:4317").is_err());
        assert!(traces_url("not a url").is_err());
    }

    #[test]
    fn spans_are_disabled_callsites_under_the_log_layer_alone() {
        let log = tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(tracing_subscriber::EnvFilter::new("trace").and(log_filter()))
            .boxed();
        let subscriber = tracing_subscriber::registry().with(vec![log]);
        tracing::subscriber::with_default(subscriber, || {
            assert!(tool_call_span("t", || panic!("evaluated although traces are off")).is_disabled());
            assert!(aws_span("CloudWatch", "GetMetricData").is_disabled());
            // Other spans still reach the log layer.
            assert!(!tracing::info_span!("other").is_disabled());
        });
    }

    /// A writer that collects what the log layer prints.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_log_keeps_only_the_sdk_drop_warnings() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let log = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_filter(tracing_subscriber::EnvFilter::new("info").and(log_filter()))
            .boxed();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(vec![log]), || {
            tracing::warn!(name: "BatchSpanProcessor.SpanDroppingStarted", target: "opentelemetry_sdk", "dropping-started");
            tracing::error!(name: "BatchSpanProcessor.ExportError", target: "opentelemetry_sdk", "export-error");
            tracing::warn!(target: "toolwright::telemetry", "own-line");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("dropping-started"), "{text}");
        assert!(text.contains("own-line"), "{text}");
        assert!(!text.contains("export-error"), "{text}");
    }
}
