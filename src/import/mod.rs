//! `toolwright import openapi`: tool specs generated from an OpenAPI document, one per
//! operation, each checked by the same compile `lint` runs before it is handed out.
//!
//! - `source.rs`: reading the document (a file or an http(s) URL, both capped) and parsing it
//!   (JSON or YAML);
//! - `openapi.rs`: the document's operations, and each one turned into a `kind: tool` document
//!   with an `http` action (or the reason it cannot be);
//! - `schema.rs`: OpenAPI schemas turned into self-contained JSON Schema 2020-12;
//! - `names.rs`: tool and argument names;
//! - `output.rs`: the YAML text of each file, and writing them to the output directory without
//!   overwriting files that an import did not write.
//!
//! Nothing here runs at call time; the generated files are ordinary specs.

mod names;
pub mod openapi;
pub mod output;
mod schema;
pub mod source;

use crate::compile;
use crate::spec::SourceFile;

/// What the caller chose.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `kind: connection` every generated tool's `http` action names.
    pub connection: String,
    /// Import only operations with one of these tags (with `operations`: either).
    pub tags: Vec<String>,
    /// Import only these operations (operationId or generated tool name).
    pub operations: Vec<String>,
    /// The document's source as shown in the generated files' first line.
    pub source: String,
}

/// One generated spec file.
#[derive(Clone, Debug)]
pub struct GeneratedFile {
    /// The tool's name.
    pub tool: String,
    /// The file's name in the output directory (`<tool>.yaml`).
    pub file_name: String,
    /// The file's text.
    pub text: String,
    /// The operation, as `METHOD /path (operationId)`.
    pub operation: String,
}

/// An operation that was not imported, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// The operation, as `METHOD /path (operationId)`.
    pub operation: String,
    /// Why, in a sentence.
    pub reason: String,
}

/// Something an imported operation lost or that the user should know.
#[derive(Clone, Debug)]
pub struct Note {
    /// The operation, as `METHOD /path (operationId)`.
    pub operation: String,
    /// The note.
    pub text: String,
}

/// The outcome of an import.
#[derive(Clone, Debug, Default)]
pub struct Import {
    /// The files to write, one per imported operation, in document order.
    pub files: Vec<GeneratedFile>,
    /// The selected operations that were not imported.
    pub skipped: Vec<Skipped>,
    /// Notes about imported operations.
    pub notes: Vec<Note>,
    /// How many operations were selected (imported plus skipped).
    pub selected: usize,
    /// The document's first server URL (variables at their defaults): the base URL its
    /// paths are relative to.
    pub server: Option<String>,
    /// The document's security schemes, each in a few words.
    pub security: Vec<String>,
}

/// Why an import could not start: the source or the options. (`toolwright import` exits 2.)
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// The name of the connection file the generated tools are checked with (it is not written).
const CHECK_CONNECTION_FILE: &str = ".import-check-connection.yaml";

/// Checks each generated file with the compile `lint` runs, beside a connection of the chosen
/// name: a file with any diagnostic (error or warning) is not handed out, its operation is
/// skipped with the first diagnostic as the reason. The generation is meant never to produce
/// one; this keeps the promise that what import writes lints clean even where it falls short.
fn check(import: &mut Import, connection: &str) {
    let mut files: Vec<SourceFile> = import
        .files
        .iter()
        .map(|f| SourceFile { name: f.file_name.clone(), relative: f.file_name.clone(), text: f.text.clone() })
        .collect();
    files.push(SourceFile {
        name: CHECK_CONNECTION_FILE.to_owned(),
        relative: CHECK_CONNECTION_FILE.to_owned(),
        text: format!("kind: connection\nname: {connection}\nhttp:\n  base_url: https://api.example.com\n"),
    });
    let compiled = compile::compile(&files);
    let mut first: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    for d in &compiled.diagnostics {
        let why = format!("the generated spec does not lint clean ({}: {}); please report this", d.code.as_str(), d.message);
        first.entry(d.file.as_str()).or_insert(why);
    }
    if let Some(why) = first.get(CHECK_CONNECTION_FILE) {
        // Not expected: the connection is ours. Every tool names it, so none can be trusted.
        let why = why.clone();
        for f in import.files.drain(..) {
            import.skipped.push(Skipped { operation: f.operation, reason: why.clone() });
        }
        return;
    }
    let mut kept = Vec::with_capacity(import.files.len());
    for f in import.files.drain(..) {
        match first.remove(f.file_name.as_str()) {
            Some(why) => import.skipped.push(Skipped { operation: f.operation, reason: why }),
            None => kept.push(f),
        }
    }
    import.files = kept;
}
