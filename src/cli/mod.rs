//! Subcommands. The only module that uses `anyhow`.

mod check_env;
mod diff;
mod import;
mod lint;
mod serve;
mod test;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::catalog::Catalog;
use crate::compile::{self, Compiled};
use crate::diag::Format;

/// toolwright: YAML tool specs in, MCP tools out.
#[derive(Debug, Parser)]
#[command(name = "toolwright", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the `serve` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Check spec files and report every problem with file:line:column.
    Lint {
        /// Files or directories to lint (default: ./tools.d).
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Exit 1 on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Also check that the connections work from here: credentials resolve, endpoints
        /// answer, log groups exist (sends requests; never part of plain lint).
        #[arg(long)]
        check_env: bool,
        /// Also report info-level hints: tools without examples (`no-examples`) or tests
        /// (`no-tests`). Hints never change the exit code.
        #[arg(long)]
        hints: bool,
    },
    /// Print the compiled catalog.
    List {
        /// Tool spec directories (default: ./tools.d).
        #[arg(long = "tools")]
        tools: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Print the backend request a call would send; nothing is sent, secrets are redacted.
    Render {
        /// Tool name.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        /// Tool spec directories (default: ./tools.d).
        #[arg(long = "tools")]
        tools: Vec<PathBuf>,
    },
    /// Run one tool from the shell and print its result.
    Call {
        /// Tool name.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        /// Tool spec directories (default: ./tools.d).
        #[arg(long = "tools")]
        tools: Vec<PathBuf>,
    },
    /// Serve the catalog as MCP tools: stdio unless --http.
    Serve(serve::ServeArgs),
    /// Run the tools' `tests:` through the real call path; --record/--replay keep the backend's answers.
    Test(test::TestArgs),
    /// Compare two catalogs (directories or git:REV[:PATH]): breaking changes first; exit 1 if any.
    Diff(diff::DiffArgs),
    /// Generate tool specs from an API description: one spec per OpenAPI operation.
    Import(import::ImportArgs),
    /// Print the JSON Schema of the spec format.
    Schema,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

/// Exit code for usage or internal errors.
pub const EXIT_USAGE: u8 = 2;

fn parse_args(args: &str) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let v: serde_json::Value = serde_json::from_str(args).map_err(|e| anyhow::anyhow!("--args is not JSON: {e}"))?;
    match v {
        serde_json::Value::Object(o) => Ok(o),
        _ => anyhow::bail!("--args must be a JSON object, such as '{{\"service\": \"checkout\"}}'"),
    }
}

fn tools_dirs(dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    if dirs.is_empty() { vec![PathBuf::from("tools.d")] } else { dirs }
}

/// Whether stderr/stdout is a terminal and colour is not turned off.
fn use_color(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none()
}

/// Compiles the catalog for a command that needs one, printing diagnostics to stderr;
/// `None` when it has errors.
fn load_catalog(dirs: Vec<PathBuf>) -> Option<Catalog> {
    let Compiled { catalog, diagnostics, sources, .. } = compile::compile_dirs(&tools_dirs(dirs), None);
    if catalog.is_none() || !diagnostics.is_empty() {
        let text = crate::diag::report(Format::Text, &diagnostics, &sources, use_color(std::io::stderr().is_terminal()));
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
    catalog
}

/// Runs the CLI.
pub fn main() -> ExitCode {
    // A jq worker process (started by the server, see catalog::jq_worker) does nothing else.
    if std::env::args_os().nth(1).is_some_and(|a| a == crate::catalog::jq_worker::WORKER_ARG) {
        return crate::catalog::jq_worker::worker_main();
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Lint { paths, format, deny_warnings, check_env, hints } => {
            lint::run(tools_dirs(paths), format, deny_warnings, check_env, hints)
        }
        Command::Schema => {
            let mut s = serde_json::to_string_pretty(&crate::spec::schema::format_schema())?;
            s.push('\n');
            std::io::stdout().write_all(s.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::List { tools, format } => {
            let Some(catalog) = load_catalog(tools) else { return Ok(ExitCode::from(1)) };
            let mut out = String::new();
            match format {
                ListFormat::Json => {
                    let items: Vec<_> = catalog
                        .tools()
                        .iter()
                        .map(|t| serde_json::json!({"name": t.name, "action": t.action.kind(), "title": t.title, "description": t.description, "source": t.source}))
                        .collect();
                    out = serde_json::to_string_pretty(&items)?;
                    out.push('\n');
                }
                ListFormat::Text => {
                    let width = catalog.tools().iter().map(|t| t.name.len()).max().unwrap_or(4);
                    for t in catalog.tools() {
                        let first = t.description.lines().next().unwrap_or("");
                        out.push_str(&format!("{:width$}  {:13}  {first}\n", t.name, t.action.kind()));
                    }
                }
            }
            std::io::stdout().write_all(out.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Render { tool, args, tools } => {
            let args = parse_args(&args)?;
            let Some(catalog) = load_catalog(tools) else { return Ok(ExitCode::from(1)) };
            let rendered = match crate::runtime::render_only(&catalog, &tool, Some(&args)) {
                Ok(r) => r,
                Err(unknown) => {
                    eprintln!("error: {unknown}");
                    return Ok(ExitCode::from(1));
                }
            };
            match rendered {
                Ok(v) => {
                    let mut s = serde_json::to_string_pretty(&v)?;
                    s.push('\n');
                    std::io::stdout().write_all(s.as_bytes())?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Call { tool, args, tools } => {
            let args = parse_args(&args)?;
            let Some(catalog) = load_catalog(tools) else { return Ok(ExitCode::from(1)) };
            let runtime = crate::runtime::Runtime::new(catalog).map_err(|e| anyhow::anyhow!(e))?;
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let outcome = rt.block_on(async {
                let loaded = runtime.current();
                let tool = crate::runtime::lookup(&loaded.catalog, &tool)?;
                Ok::<_, crate::runtime::UnknownTool>(
                    crate::runtime::call(&loaded, tool, Some(&args), &tokio_util::sync::CancellationToken::new(), None).await,
                )
            });
            // An unknown tool is the caller's mistake like refused arguments: exit 1.
            let outcome = match outcome {
                Ok(o) => o,
                Err(unknown) => {
                    eprintln!("error: {unknown}");
                    return Ok(ExitCode::from(1));
                }
            };
            if outcome.is_error {
                eprintln!("error: {}", outcome.text);
                return Ok(ExitCode::from(1));
            }
            let mut s = match &outcome.structured {
                Some(v) => serde_json::to_string_pretty(v)?,
                None => outcome.text.clone(),
            };
            if !s.ends_with('\n') {
                s.push('\n');
            }
            std::io::stdout().write_all(s.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve::run(args),
        Command::Test(args) => test::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Import(args) => import::run(args),
    }
}
