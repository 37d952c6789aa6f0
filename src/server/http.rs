//! Streamable HTTP: rmcp's tower service at `/mcp` under axum (behind the `tools/call` fast
//! path of `fast.rs`), plus health and status.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;

use super::auth;
use super::events::MemoryEventStore;
use super::fast::{self, FastPath};
use super::guard::{self, Guard};
use super::handler::Handler;
use super::state::ServerState;
use super::tidy::tidying;

/// How the HTTP transport is set up.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Address to bind.
    pub addr: SocketAddr,
    /// JSON responses without sessions.
    pub stateless: bool,
    /// `Host` values accepted (DNS-rebinding protection); loopback names by default.
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted; empty accepts requests without an Origin and browser
    /// requests from loopback origins only.
    pub allowed_origins: Vec<String>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Event loops serving connections (one thread each).
    pub threads: usize,
    /// Connections open at once; the acceptor waits for one to close beyond it.
    pub max_connections: usize,
    /// How long a connection may take to send a complete request head, counted from when
    /// the server is ready to read one: a client that sends half a request line, or keeps an
    /// idle keep-alive connection open, is closed after it. Calls in flight are not bounded
    /// by it (their tool's timeout is).
    pub header_timeout: Duration,
}

/// The default of `--max-connections`: three quarters of the file descriptors the process may
/// open (the rest are for backends, files and the log), at most 4,096.
pub fn default_max_connections() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given and has no other preconditions.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 { limit.rlim_cur } else { 1024 };
    usize::try_from(soft / 4 * 3).unwrap_or(4096).clamp(16, 4096)
}

/// The default of `--http-header-timeout` (hyper's own default, and what nginx allows for a
/// request head within a factor of two).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// The shortest interval between two log lines about failed accepts.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(5);

/// Default `Host` allow list: loopback names.
pub fn default_hosts() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into(), "::1".into(), "[::1]".into()]
}

/// Default `Origin` allow list: loopback origins on any port.
pub fn default_origins() -> Vec<String> {
    vec![
        "http://localhost:*".into(),
        "http://127.0.0.1:*".into(),
        "http://[::1]:*".into(),
        "https://localhost:*".into(),
        "https://127.0.0.1:*".into(),
    ]
}

/// Builds the axum app.
/// `stop` ends rmcp's open streams (session GET streams, `subscriptions/listen`) when the
/// server stops; without it they would hold a graceful shutdown open for ever.
pub fn router(shared: Arc<ServerState>, opts: &HttpOptions, stop: tokio_util::sync::CancellationToken) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(stop)
        .with_legacy_session_mode(!opts.stateless)
        // rmcp answers with plain JSON only where no session is involved (stateless and
        // 2026-07-28 requests) and falls back to a stream when a call sends progress first;
        // one write instead of an SSE stream, and nothing kept in the event store.
        .with_json_response(true)
        .with_allowed_hosts(opts.allowed_hosts.clone())
        .with_allowed_origins(opts.allowed_origins.clone())
        .enforce_origin_validation()
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        .with_max_request_body_bytes(opts.max_body_bytes);
    let sessions = LocalSessionManager::default().with_event_store(Arc::new(MemoryEventStore::default()));
    let factory_shared = shared.clone();
    let mcp = StreamableHttpService::new(move || Ok(Handler::new(factory_shared.clone())), Arc::new(sessions), config);
    let (auth, runtime) = (shared.auth().cloned(), shared.runtime().clone());
    let mut app = Router::new().nest_service("/mcp", mcp);
    if let Some(fast) = FastPath::new(shared.clone(), opts.stateless, &opts.allowed_hosts, opts.max_body_bytes) {
        app = app.layer(axum::middleware::from_fn_with_state(fast, fast::layer));
    }
    let app =
        app.layer(axum::middleware::from_fn(refusals))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(|| async { "ready\n" }))
            .merge(
                // What reveals anything gets the same Host/Origin checks as /mcp; probes stay open.
                Router::new().route("/status", get(status)).route("/metrics", get(metrics)).route_layer(
                    axum::middleware::from_fn_with_state(Arc::new(Guard::new(&opts.allowed_hosts, &opts.allowed_origins)), guard::layer),
                ),
            )
            .with_state(shared);
    // Last, so it covers every route above (deny by default; see auth/mod.rs): add routes before it.
    auth::protect(app, auth, &runtime)
}

/// Mends three things about rmcp's answers. A request refused before its body was read
/// leaves unread bytes on a kept-alive connection, which hyper then closes without saying
/// so; `Connection: close` tells the client to open a new one. A body that is not JSON
/// under a JSON content type is a JSON-RPC parse error (400, -32700), not a media-type error.
/// And a session ended with `DELETE` is answered 200, as the official SDKs' servers answer
/// and their clients expect (rmcp says 202, which the Python SDK logs as a failure).
async fn refusals(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let delete = request.method() == http::Method::DELETE;
    let json_body = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    let mut response = next.run(request).await;
    if delete && response.status() == http::StatusCode::ACCEPTED {
        *response.status_mut() = http::StatusCode::OK;
    }
    let status = response.status();
    if status == http::StatusCode::UNSUPPORTED_MEDIA_TYPE && json_body {
        let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error: the request body is not valid JSON-RPC"}});
        response = (http::StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    if response.status().is_client_error() {
        response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    response
}

async fn metrics(State(shared): State<Arc<ServerState>>) -> impl IntoResponse {
    ([(http::header::CONTENT_TYPE, crate::observability::prometheus::Metrics::CONTENT_TYPE)], shared.runtime().metrics().render())
}

async fn status(State(shared): State<Arc<ServerState>>) -> impl IntoResponse {
    let loaded = shared.runtime().current();
    let info = shared.runtime().reload_info();
    let stamp = |t: std::time::SystemTime| humantime::format_rfc3339_millis(t).to_string();
    Json(json!({
        "catalog_hash": loaded.catalog.hash(),
        "generation": loaded.generation,
        "tools": loaded.catalog.tools().len(),
        "last_reload": info.last_success.map(stamp),
        "reloads_ok": info.reloads_ok,
        "reloads_failed": info.reloads_failed,
        "last_failed_reload": info.last_failure.map(|(t, diags)| json!({"time": stamp(t), "diagnostics": diags})),
        "tasks": tasks_status(&shared),
    }))
}

/// The tasks part of `/status`: counts, and each running task (tool, since, message). Task ids
/// are left out: without authentication an id is what lets a caller read or cancel a task.
fn tasks_status(shared: &ServerState) -> serde_json::Value {
    let counts = shared.tasks().counts();
    let stamp = |t: std::time::SystemTime| humantime::format_rfc3339_millis(t).to_string();
    let running: Vec<serde_json::Value> = shared
        .tasks()
        .running()
        .iter()
        .map(|t| json!({"tool": t.tool, "created_at": stamp(t.created), "status_message": t.message}))
        .collect();
    json!({"running": counts.running, "kept": counts.kept, "max": counts.max, "list": running})
}

/// How long a stopping server waits for its connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Binds and serves until the process is stopped. Connections are served by
/// `opts.threads` event loops, one single-threaded runtime each, like nginx's workers: the
/// acceptor (on the caller's runtime) hands each new connection to the next loop in turn,
/// and everything a request does then happens on that loop's thread. On a machine this
/// size a call costs about 30% less CPU than on one work-stealing runtime, whose threads
/// wake each other for every request. Sets `TCP_NODELAY` on every accepted socket: with
/// Nagle on, the last small write of a streamed reply stalls 40 ms.
pub async fn serve(shared: Arc<ServerState>, opts: HttpOptions) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(opts.addr).await.map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", opts.addr))?;
    let local = listener.local_addr()?;
    let threads = opts.threads.max(1);
    tracing::info!(addr = %local, stateless = opts.stateless, threads, "serving MCP over Streamable HTTP at /mcp");
    eprintln!("toolwright: serving MCP at http://{local}/mcp");
    let stop = tokio_util::sync::CancellationToken::new();
    let tasks_of = shared.clone();
    let app = router(shared, &opts, stop.clone());
    let mut loops = Vec::with_capacity(threads);
    let mut handoff = Vec::with_capacity(threads);
    for i in 0..threads {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Connection>();
        handoff.push(tx);
        let (app, stop, header_timeout) = (app.clone(), stop.clone(), opts.header_timeout);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<std::io::Result<()>>();
        std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(tidying(serve_connections(rx, app, stop, header_timeout))));
            let _ = done_tx.send(result);
        })?;
        loops.push(done_rx);
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(opts.max_connections.max(1)));
    let mut next = 0usize;
    let accept = async {
        let mut accept_errors = RateLimitedLog::default();
        let mut full = RateLimitedLog::default();
        loop {
            // At the cap, the acceptor waits for a connection to close; new clients wait in the
            // listen backlog meanwhile (idle ones are closed by the header timeout).
            let slot = match slots.clone().try_acquire_owned() {
                Ok(slot) => slot,
                Err(_) => {
                    full.note(|n| {
                        tracing::warn!(max_connections = opts.max_connections, times = n, "connection limit reached; new connections wait")
                    });
                    match slots.clone().acquire_owned().await {
                        Ok(slot) => slot,
                        Err(_) => return,
                    }
                }
            };
            let (tcp, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: say so (at most every few seconds,
                    // with how often), wait, go on.
                    accept_errors.note(|n| tracing::error!(error = %e, times = n, "accept failed"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let Ok(tcp) = tcp.into_std() else { continue };
            // A loop that ended (it failed) is skipped; when none is left, stop accepting.
            let mut tries = 0;
            let mut conn = Some(Connection { tcp, peer, _slot: slot });
            while let Some(c) = conn.take() {
                if tries == handoff.len() {
                    return;
                }
                next = (next + 1) % handoff.len();
                tries += 1;
                if let Err(back) = handoff[next].send(c) {
                    conn = Some(back.0);
                }
            }
        }
    };
    let all_loops_failed = tokio::select! {
        () = shutdown_signal() => false,
        () = accept => true,
    };
    // Running tasks end now, before the grace period, so that a client polling meanwhile sees why.
    tasks_of.tasks().fail_all("server stopped");
    drop(listener);
    stop.cancel();
    // Calls in flight get a few seconds to finish; a client that holds its connection
    // open longer does not keep the process alive.
    let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
        for done in loops {
            if let Ok(Err(e)) = done.await {
                tracing::error!(error = %e, "an HTTP event loop failed");
            }
        }
    });
    if finished.await.is_err() {
        tracing::warn!("connections still open {SHUTDOWN_GRACE:?} after the stop signal; stopping anyway");
    }
    if all_loops_failed {
        anyhow::bail!("every HTTP event loop has stopped; not serving");
    }
    Ok(())
}

/// A connection handed to an event loop, with its slot under `--max-connections` (freed
/// when the connection closes).
struct Connection {
    tcp: std::net::TcpStream,
    #[allow(dead_code)]
    peer: SocketAddr,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// Log lines about a recurring event, at most one per [`ACCEPT_LOG_EVERY`], each saying how
/// often it happened since the last (a full file-descriptor table used to log ten lines a second).
#[derive(Default)]
struct RateLimitedLog {
    last: Option<std::time::Instant>,
    count: u64,
}

impl RateLimitedLog {
    fn note(&mut self, log: impl FnOnce(u64)) {
        self.count += 1;
        if self.last.is_none_or(|t| t.elapsed() >= ACCEPT_LOG_EVERY) {
            log(self.count);
            self.count = 0;
            self.last = Some(std::time::Instant::now());
        }
    }
}

/// One event loop: serves the connections the acceptor hands it, each with hyper's HTTP/1
/// server and the header-read timeout, until `stop`; then asks each to finish gracefully and
/// waits for them.
async fn serve_connections(
    mut handed: tokio::sync::mpsc::UnboundedReceiver<Connection>,
    app: Router,
    stop: tokio_util::sync::CancellationToken,
    header_timeout: Duration,
) {
    use tower::ServiceExt as _;
    let mut open = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            handed = handed.recv() => {
                let Some(Connection { tcp, _slot, .. }) = handed else { break };
                let tcp = match tokio::net::TcpStream::from_std(tcp) {
                    Ok(tcp) => tcp,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not take over a connection");
                        continue;
                    }
                };
                let service = hyper_util::service::TowerToHyperService::new(
                    app.clone().map_request(|r: http::Request<hyper::body::Incoming>| r.map(axum::body::Body::new)),
                );
                let stop = stop.clone();
                open.spawn(async move {
                    let _slot = _slot;
                    let mut builder = hyper::server::conn::http1::Builder::new();
                    builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
                    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tcp), service).with_upgrades();
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => return,
                        () = stop.cancelled() => conn.as_mut().graceful_shutdown(),
                    }
                    let _ = conn.await;
                });
            }
            () = stop.cancelled() => break,
            Some(_) = open.join_next(), if !open.is_empty() => {}
        }
    }
    while open.join_next().await.is_some() {}
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
