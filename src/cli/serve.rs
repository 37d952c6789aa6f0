//! `toolwright serve`.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::compile;
use crate::diag::{self, Format};
use crate::runtime::Runtime;
use crate::server::{self, Shared, http::HttpOptions};

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
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Put argument values (not only their names) into the audit line of each call.
    #[arg(long)]
    audit_argument_values: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: usize,
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

fn init_logging(format: LogFormat) {
    // Logs go to stderr: on stdio, stdout carries the protocol.
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOOLWRIGHT_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Runs the server until stdin closes (stdio) or a signal arrives (HTTP).
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let dirs = super::tools_dirs(args.tools);
    let compiled = compile::compile_paths(&dirs);
    let text = diag::render(Format::Text, &compiled.diagnostics, &compiled.sources, super::use_color(std::io::stderr().is_terminal()));
    let Some(catalog) = compiled.catalog else {
        let _ = std::io::stderr().write_all(text.as_bytes());
        eprintln!("toolwright: the catalog has errors; not serving");
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    if !compiled.diagnostics.is_empty() {
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
    tracing::info!(tools = catalog.tools().len(), hash = %catalog.hash(), "catalog loaded");
    let runtime = Arc::new(Runtime::with_max_in_flight(catalog, Some(args.max_in_flight.max(1))).map_err(|e| anyhow::anyhow!(e))?);
    let shared = Shared::new(runtime);
    shared.audit_argument_values(args.audit_argument_values);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let reload = crate::reload::ReloadOptions {
        dirs: dirs.clone(),
        watch: !args.no_watch,
        poll_interval: args.poll_interval,
        debounce: std::time::Duration::from_millis(20),
    };
    rt.block_on(async move {
        tokio::spawn(crate::reload::run(shared.clone(), reload));
        match args.http {
            None => server::serve_stdio(shared).await,
            Some(addr) => {
                let addr: SocketAddr = addr.parse().map_err(|e| anyhow::anyhow!("--http `{addr}` is not an address such as 127.0.0.1:8000: {e}"))?;
                let opts = HttpOptions {
                    addr,
                    stateless: args.stateless,
                    allowed_hosts: if args.allowed_hosts.is_empty() { server::http::default_hosts() } else { args.allowed_hosts },
                    allowed_origins: if args.allowed_origins.is_empty() { server::http::default_origins() } else { args.allowed_origins },
                    max_body_bytes: args.max_body_bytes,
                };
                server::http::serve(shared, opts).await
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}
