//! `kind: prompt`: MCP prompts, one folder per document kind as actions and connections have.
//!
//! - `spec.rs`: the kind as written (serde + schemars types);
//! - `compile.rs`: spec in, compiled prompt out (arguments, message templates, the resources
//!   messages name), every problem a diagnostic;
//! - `mod.rs`: the compiled prompt the catalog keeps;
//! - `get.rs`: `prompts/get`: arguments prepared, messages rendered with text escaping,
//!   resources read.

pub mod compile;
pub mod get;
pub mod spec;

use std::sync::Arc;

use crate::catalog::Template;
use crate::catalog::arguments::Arguments;

/// One prompt, ready to render.
#[derive(Debug)]
pub struct CompiledPrompt {
    /// MCP prompt name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The arguments.
    pub arguments: Arguments,
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// Scopes a caller needs, all of them, to see it (`auth.scopes`; under HTTP authentication).
    pub scopes: Vec<String>,
    /// Where it is defined (`file:line`).
    pub source: String,
}

/// Who speaks a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The user.
    User,
    /// The assistant.
    Assistant,
}

/// One message of a prompt.
#[derive(Debug)]
pub struct Message {
    /// Who speaks it.
    pub role: Role,
    /// What it holds.
    pub body: MessageBody,
}

/// What a message holds.
#[derive(Debug)]
pub enum MessageBody {
    /// Text, rendered with text escaping.
    Text(Template),
    /// A resource's URI (each value percent-encoded), read and embedded.
    Resource(Template),
    /// An image file, read when the catalog was compiled.
    Image(Binary),
    /// An audio file, read when the catalog was compiled.
    Audio(Binary),
}

/// The bytes of a message's image or audio file, with their media type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binary {
    /// Such as `image/png`.
    pub mime_type: String,
    /// The file's bytes.
    pub data: Arc<[u8]>,
}
