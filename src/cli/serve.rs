//! `toolwright serve`.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::compile;
use crate::diag::{self, Format};
use crate::runtime::Runtime;
use crate::server::{self, ServerState, http::HttpOptions};
use crate::telemetry::{self, Telemetry};

/// Exit code when the first load has errors (EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Tool spec directories (default: ./tools.d).
    #[arg(long = "tools")]
    tools: Vec<PathBuf>,
    /// Serve Streamable HTTP at this address (for example 127.0.0.1:8000) instead of stdio.
    #[arg(long)]
    http: Option<String>,
    /// HTTP without sessions: JSON responses, no server-to-client notifications.
    #[arg(long)]
    stateless: bool,
    /// Do not watch the tool directories for changes.
    #[arg(long)]
    no_watch: bool,
    /// Also re-read the tool directories on this interval, such as 5s (for filesystems that send no events).
    #[arg(long, value_parser = parse_interval)]
    poll_interval: Option<std::time::Duration>,
    /// Host header values accepted (DNS-rebinding protection); loopback names by default.
    #[arg(long, value_delimiter = ',')]
    allowed_hosts: Vec<String>,
    /// Origin header values accepted, such as https://app.example.com:443; loopback origins by default.
    #[arg(long, value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Most tool calls running at once across all tools; more fail at once with a retry hint.
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
    /// Most tasks (calls of `task:` tools past their `after`) running at once; more are refused at once, clearly.
    #[arg(long, value_name = "N", default_value_t = crate::tasks::DEFAULT_MAX_TASKS as u64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_tasks: u64,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Put argument values (not only their names) into the audit line of each call.
    #[arg(long)]
    audit_argument_values: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Threads serving HTTP connections, one event loop each (default: one per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    http_threads: Option<u16>,
    /// HTTP bearer tokens: a file of `NAME TOKEN [SCOPE,SCOPE...]` lines (README, Authentication); re-read when it changes.
    #[arg(long, value_name = "FILE")]
    auth_tokens: Option<PathBuf>,
    /// OAuth 2.1 resource-server mode: accept JWTs issued by this authorization server (the exact `iss`).
    #[arg(long, value_name = "URL", requires_all = ["oauth_audience", "oauth_jwks"])]
    oauth_issuer: Option<String>,
    /// The audience a JWT's `aud` claim must contain.
    #[arg(long, value_name = "AUD", requires = "oauth_issuer")]
    oauth_audience: Option<String>,
    /// The authorization server's JWKS: a file, or an https:// URL that is fetched and cached.
    #[arg(long, value_name = "FILE_OR_URL", requires = "oauth_issuer")]
    oauth_jwks: Option<String>,
    /// How often a JWKS URL is fetched again (a token with an unknown key id also triggers a fetch, at most every 30s).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_interval)]
    oauth_jwks_refresh: std::time::Duration,
    /// This server's resource identifier, the /mcp URL clients use (default: http://<--http address>/mcp).
    #[arg(long, value_name = "URL")]
    oauth_resource: Option<String>,
    /// Most HTTP connections open at once; beyond it new connections wait until one closes
    /// (default: three quarters of the open-file limit, at most 4096).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: Option<u64>,
    /// How long an HTTP connection may take to send a complete request head, counted from
    /// when the server is ready for one (an idle keep-alive connection is closed after it too).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_interval)]
    http_header_timeout: std::time::Duration,
    /// Longest a `response.jq` projection may run; it is stopped (its worker process killed) past it.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_interval)]
    jq_timeout: std::time::Duration,
    /// Most memory a `response.jq` projection may use, in MiB; it is stopped past it.
    #[arg(long, value_name = "MIB", default_value_t = 256, value_parser = clap::value_parser!(u64).range(16..=65536))]
    jq_max_memory_mib: u64,
    /// Export OpenTelemetry traces over OTLP/HTTP (protobuf) to this collector, such as http://127.0.0.1:4318
    /// (`/v1/traces` is added). Without it OTEL_EXPORTER_OTLP_ENDPOINT is honoured; with neither, no traces.
    #[arg(long, value_name = "URL")]
    otlp_endpoint: Option<String>,
}

/// The authentication settings and the address they are for; `None` without any.
fn auth_config(args: &ServeArgs) -> anyhow::Result<Option<(server::auth::AuthConfig, SocketAddr)>> {
    if args.auth_tokens.is_none() && args.oauth_issuer.is_none() {
        if args.oauth_resource.is_some() {
            anyhow::bail!("--oauth-resource needs --auth-tokens or --oauth-issuer");
        }
        return Ok(None);
    }
    let Some(http) = &args.http else {
        anyhow::bail!("--auth-tokens and --oauth-* apply to --http only; stdio is the local user and is not authenticated");
    };
    let bind: SocketAddr = http.parse().map_err(|e| anyhow::anyhow!("--http `{http}` is not an address such as 127.0.0.1:8000: {e}"))?;
    let oauth = match (&args.oauth_issuer, &args.oauth_audience, &args.oauth_jwks) {
        (Some(issuer), Some(audience), Some(jwks)) => Some(server::auth::OAuthConfig {
            issuer: issuer.clone(),
            audience: audience.clone(),
            jwks: jwks.clone(),
            jwks_refresh: args.oauth_jwks_refresh,
        }),
        _ => None,
    };
    Ok(Some((server::auth::AuthConfig { tokens_file: args.auth_tokens.clone(), oauth, resource: args.oauth_resource.clone() }, bind)))
}

fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    crate::util::parse_duration(s)
}

/// Log formats.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The log filter without `TOOLWRIGHT_LOG`.
pub const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn,aws_config=error,aws_smithy_runtime=error";

/// Installs the log layer and, when asked for, the OpenTelemetry layer (see `telemetry`); the
/// returned guard flushes the last spans when dropped.
fn init_logging(format: LogFormat, otlp_endpoint: Option<&str>) -> anyhow::Result<Option<Telemetry>> {
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};
    // Logs go to stderr: on stdio, stdout carries the protocol.
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOOLWRIGHT_LOG")
        // The AWS SDK logs its credential chain's attempts at WARN on every call without
        // credentials, as a dump of its internals; the call's tool error already says what is
        // wrong and how to fix it, once.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER))
        .and(telemetry::log_filter());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let log: telemetry::BoxLayer = match format {
        LogFormat::Text => fmt.with_ansi(super::use_color(std::io::stderr().is_terminal())).with_filter(filter).boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).with_filter(filter).boxed(),
    };
    let (otel, guard) = match telemetry::init(otlp_endpoint) {
        Ok(Some((layer, guard))) => (Some(layer), Some(guard)),
        Ok(None) => (None, None),
        Err(e) if otlp_endpoint.is_some() => anyhow::bail!("--otlp-endpoint: {e}"),
        Err(e) => {
            eprintln!("toolwright: OTEL_EXPORTER_OTLP_ENDPOINT: {e}; traces are off");
            (None, None)
        }
    };
    let mut layers = vec![log];
    layers.extend(otel);
    let _ = tracing_subscriber::registry().with(layers).try_init();
    Ok(guard)
}

/// How long after the start the first compile's parsed documents are freed.
const TIDY_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// Frees the first compile's parsed documents and returns the memory to the OS [`TIDY_AFTER`]
/// from now, then never completes. Polled on the main thread beside the server: freeing
/// 1,000 specs' documents takes milliseconds better spent after the server answers than
/// before, an idle server never reaches the allocator's own purge, and mimalloc returns a
/// thread's pages only from that thread (the main thread allocated most of them).
async fn tidy_after_start(parsed: compile::Documents) {
    tokio::time::sleep(TIDY_AFTER).await;
    drop(parsed);
    crate::util::release_memory();
    std::future::pending::<()>().await;
}

/// Runs the server until stdin closes (stdio) or a signal arrives (HTTP).
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Dropped last, after the server has stopped: flushes the spans not exported yet.
    let _telemetry = init_logging(args.log_format, args.otlp_endpoint.as_deref())?;
    let auth = auth_config(&args)?;
    crate::catalog::jq_worker::configure(crate::catalog::jq_worker::JqLimits {
        timeout: args.jq_timeout,
        max_memory_bytes: args.jq_max_memory_mib * 1024 * 1024,
    });
    let dirs = super::tools_dirs(args.tools);
    // The parsed documents are freed once the server is answering (see `tidy_after_start`).
    let compiled = compile::compile_dirs(&dirs, None);
    let parsed = compiled.documents;
    let text = diag::report(Format::Text, &compiled.diagnostics, &compiled.sources, super::use_color(std::io::stderr().is_terminal()));
    let Some(catalog) = compiled.catalog else {
        let _ = std::io::stderr().write_all(text.as_bytes());
        eprintln!("toolwright: the catalog has errors; not serving");
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    if !compiled.diagnostics.is_empty() {
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
    tracing::info!(tools = catalog.tools().len(), hash = %catalog.hash(), "catalog loaded");
    drop((text, compiled.diagnostics, compiled.sources));
    let runtime = Arc::new(Runtime::with_max_in_flight(catalog, Some(args.max_in_flight.max(1))).map_err(|e| anyhow::anyhow!(e))?);
    let shared = ServerState::new(runtime);
    shared.audit_argument_values(args.audit_argument_values);
    shared.set_max_tasks(usize::try_from(args.max_tasks).unwrap_or(usize::MAX));
    let stopping = shared.clone();
    // stdio serves one client on one event loop, which returns the memory its requests freed
    // (see `server::serve_stdio`; blocking work such as shaping a response or a reload's compile
    // still runs on tokio's blocking threads). HTTP runs its own loops beside this runtime.
    let rt = match args.http {
        None => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        Some(_) => tokio::runtime::Builder::new_multi_thread().enable_all().build()?,
    };
    if let Some((config, bind)) = auth {
        match rt.block_on(server::auth::Auth::new(config, bind)) {
            Ok(a) => shared.set_auth(Arc::new(a)),
            Err(e) => {
                eprintln!("toolwright: {e}\ntoolwright: authentication is not usable; not serving");
                return Ok(ExitCode::from(EXIT_CONFIG));
            }
        }
    }
    // The tokens file and a JWKS file are watched with the tool directories; auth re-reads the one that changed.
    let files = shared.auth().map_or_else(Vec::new, |auth| {
        let file = |path: PathBuf| {
            let (auth, changed) = (auth.clone(), path.clone());
            crate::reload::WatchedFile::new(path, move || auth.reload_file(&changed))
        };
        auth.files().into_iter().map(file).collect()
    });
    let reload = crate::reload::ReloadOptions {
        dirs: dirs.clone(),
        watch: !args.no_watch,
        poll_interval: args.poll_interval,
        debounce: std::time::Duration::from_millis(20),
        files,
    };
    rt.block_on(async move {
        tokio::spawn(crate::reload::run(shared.clone(), reload));
        let serve = async move {
            match args.http {
                None => {
                    // A person who started the server at a terminal sees why nothing happens.
                    if std::io::stdin().is_terminal() {
                        eprintln!(
                            "toolwright: serving MCP over stdin/stdout: waiting for an MCP client to send JSON-RPC on stdin.\n\
                             toolwright: this is not an interactive prompt; configure it as a server in your MCP client\n\
                             toolwright: (see README, Connect a client), or press Ctrl-D to stop."
                        );
                    }
                    server::serve_stdio(shared).await
                }
                Some(addr) => {
                    let addr: SocketAddr =
                        addr.parse().map_err(|e| anyhow::anyhow!("--http `{addr}` is not an address such as 127.0.0.1:8000: {e}"))?;
                    let opts = HttpOptions {
                        addr,
                        stateless: args.stateless,
                        allowed_hosts: if args.allowed_hosts.is_empty() { server::http::default_hosts() } else { args.allowed_hosts },
                        allowed_origins: if args.allowed_origins.is_empty() {
                            server::http::default_origins()
                        } else {
                            args.allowed_origins
                        },
                        max_body_bytes: args.max_body_bytes,
                        threads: args
                            .http_threads
                            .map_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get), usize::from),
                        max_connections: args
                            .max_connections
                            .map_or_else(server::http::default_max_connections, |n| usize::try_from(n).unwrap_or(usize::MAX)),
                        header_timeout: args.http_header_timeout,
                    };
                    server::http::serve(shared, opts).await
                }
            }
        };
        let result = tokio::select! {
            result = serve => result,
            () = tidy_after_start(parsed) => Ok(()),
        };
        // No state store takes running tasks over: they end as failed, each with its audit line.
        stopping.tasks().fail_all("server stopped");
        result
    })?;
    Ok(ExitCode::SUCCESS)
}
