//! `kind: resource` and `kind: resource_template`: MCP resources, one folder for both kinds.
//!
//! - `spec.rs`: both kinds as written (serde + schemars types);
//! - `compile.rs`: spec in, compiled resources out (a `file` read, URIs and templates checked,
//!   an action compiled as a tool no client sees), every problem a diagnostic;
//! - `mod.rs`: the compiled resources the catalog keeps;
//! - `uri_template.rs`: RFC 6570 level 1 templates, matched against the URIs clients read;
//! - `read.rs`: `resources/read`: a resource's contents, or its action run through
//!   `runtime::call` with the variables a template bound.

pub mod compile;
pub mod read;
pub mod spec;
pub mod uri_template;

use std::sync::Arc;

use crate::catalog::CompiledTool;
use crate::catalog::arguments::Arguments;
pub use uri_template::UriTemplate;

/// One resource, ready to read.
#[derive(Debug)]
pub struct CompiledResource {
    /// Its URI.
    pub uri: String,
    /// Its name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// MIME type: as written, else from the file's extension; `None` for an action that
    /// decides with each answer.
    pub mime_type: Option<String>,
    /// What a read returns.
    pub body: Body,
    /// Scopes a caller needs, all of them, to see it (`auth.scopes`; under HTTP authentication).
    pub scopes: Vec<String>,
    /// Where it is defined (`file:line`).
    pub source: String,
}

/// What reading a resource returns.
#[derive(Debug)]
pub enum Body {
    /// Text: `text`, or a `file` that is UTF-8.
    Text(Arc<str>),
    /// Bytes: a `file` that is not UTF-8 (served base64).
    Blob(Arc<[u8]>),
    /// An action run on every read (a tool no client sees, without arguments).
    Action(Arc<CompiledTool>),
}

impl CompiledResource {
    /// The size in bytes of fixed contents (none for an action).
    pub fn size(&self) -> Option<usize> {
        match &self.body {
            Body::Text(t) => Some(t.len()),
            Body::Blob(b) => Some(b.len()),
            Body::Action(_) => None,
        }
    }
}

/// One resource template, ready to match and read.
#[derive(Debug)]
pub struct CompiledResourceTemplate {
    /// The parsed URI template.
    pub template: UriTemplate,
    /// Its name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// MIME type, if written.
    pub mime_type: Option<String>,
    /// `input`: how the variables are read and where their completions come from.
    pub arguments: Arguments,
    /// The action, as a tool no client sees whose input is `input`.
    pub tool: Arc<CompiledTool>,
    /// Scopes a caller needs, all of them, to see it (`auth.scopes`; under HTTP authentication).
    pub scopes: Vec<String>,
    /// Where it is defined (`file:line`).
    pub source: String,
}
