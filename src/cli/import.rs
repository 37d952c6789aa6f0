//! `toolwright import openapi SOURCE --connection NAME --out DIR`: one tool spec per operation
//! of an OpenAPI document.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::import::{self, Options, output, source};

/// What `import` reads.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ImportFormat {
    /// An OpenAPI 3.0 or 3.1 document, JSON or YAML.
    Openapi,
}

/// Arguments of `toolwright import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// What the source is.
    #[arg(value_enum)]
    pub format: ImportFormat,
    /// The document: a file, or an http:// or https:// URL.
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// The `kind: connection` (an http connection you define, its base_url the API's) that
    /// every generated tool sends its requests through.
    #[arg(long, value_name = "NAME")]
    pub connection: String,
    /// Import only the operations with this tag (repeatable; with --operation, either).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Import only this operation, by operationId or generated tool name (repeatable).
    #[arg(long = "operation", value_name = "ID")]
    pub operations: Vec<String>,
    /// The directory the spec files are written to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Overwrite files in --out that an import did not write.
    #[arg(long)]
    pub force: bool,
}

/// Imports and writes the files, then prints what was skipped, the notes and a summary: exit 0
/// when every selected operation was imported, 1 when some were skipped, 2 when the document
/// or the options are unusable (nothing is written then).
pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let ImportFormat::Openapi = args.format;
    if !regex::Regex::new(r"^[A-Za-z0-9_.-]{1,128}$")?.is_match(&args.connection) {
        anyhow::bail!("--connection `{}` is not a connection name (letters, digits, `_`, `.`, `-`; at most 128)", args.connection);
    }
    let shown = source::label(&args.source);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let text = rt.block_on(source::read(&args.source, source::MAX_DOCUMENT_BYTES))?;
    let doc = source::parse(&text, &shown)?;
    drop(text);
    let options = Options { connection: args.connection.clone(), tags: args.tags, operations: args.operations, source: shown.clone() };
    let result = import::openapi::import(&doc, &options)?;
    let stale = output::write(&args.out, &result.files, &shown, args.force)?;

    let mut out = String::new();
    for s in &result.skipped {
        let _ = writeln!(out, "skipped {}: {}", s.operation, s.reason);
    }
    for n in &result.notes {
        let _ = writeln!(out, "note: {}: {}", n.operation, n.text);
    }
    if !stale.is_empty() {
        let _ = writeln!(
            out,
            "note: {} file(s) in {} from an earlier import of this document were not written this time and are left in place: {}",
            stale.len(),
            args.out.display(),
            stale.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "imported {} of {} operations into {} ({} skipped)",
        result.files.len(),
        result.selected,
        args.out.display(),
        result.skipped.len()
    );
    let server = result.server.as_deref().map(|s| format!(", with base_url {s} (the document's server)")).unwrap_or_default();
    let _ =
        writeln!(out, "the tools send their requests through connection `{}`: define it as an http connection{server}", args.connection);
    if !result.security.is_empty() {
        let _ =
            writeln!(out, "the document authenticates with {}: set that in the connection's headers or auth", result.security.join(", "));
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(if result.skipped.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
