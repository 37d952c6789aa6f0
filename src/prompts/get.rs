//! `prompts/get`: a prompt's messages for the caller's arguments. The arguments are read as
//! their declared types, defaulted and validated (as a tool's are), each text template is
//! rendered with text escaping at the time of the request, and each resource a message names
//! is read as `resources/read` would read it.

use std::time::SystemTime;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{Binary, CompiledPrompt, MessageBody, Role};
use crate::catalog::render::Renderer;
use crate::catalog::template::with_secret_mode;
use crate::catalog::{SecretMode, Visible};
use crate::resources::read::{self, Contents, ReadError};
use crate::runtime::Loaded;

/// One rendered message.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// Who speaks it.
    pub role: Role,
    /// What it holds.
    pub content: Content,
}

/// What a rendered message holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// Text.
    Text(String),
    /// A resource's contents.
    Resource(Contents),
    /// An image.
    Image(Binary),
    /// Audio.
    Audio(Binary),
}

/// Why a prompt gave no messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GetError {
    /// The arguments do not fit the prompt's `arguments` (or a value is refused where it lands).
    #[error("{0}")]
    InvalidArguments(String),
    /// A resource a message names could not be read.
    #[error("{0}")]
    Resource(ReadError),
}

/// Renders `prompt`'s messages for `given` (MCP sends strings; each is read as its argument's
/// declared type). Resources are read from the catalog of `loaded`, under `cancel`, as the
/// caller reads them (`visible`: a resource it may not see is not found).
pub async fn get<K: AsRef<str>>(
    loaded: &Loaded,
    prompt: &CompiledPrompt,
    given: impl IntoIterator<Item = (K, Value)>,
    visible: Visible<'_>,
    cancel: &CancellationToken,
) -> Result<Vec<Rendered>, GetError> {
    let args = prompt.arguments.prepare(given).map_err(|e| GetError::InvalidArguments(e.message))?;
    // Every template renders first, at one instant, before any resource is read: a wrong
    // argument costs no backend call.
    let renderer = Renderer::new(&loaded.catalog, &args, SystemTime::now());
    let texts: Vec<Option<String>> = with_secret_mode(SecretMode::Placeholder, || {
        prompt
            .messages
            .iter()
            .map(|m| match &m.body {
                MessageBody::Text(t) | MessageBody::Resource(t) => renderer.text(t).map(Some),
                MessageBody::Image(_) | MessageBody::Audio(_) => Ok(None),
            })
            .collect::<Result<_, _>>()
    })
    .map_err(|e| GetError::InvalidArguments(e.message))?;
    let mut out = Vec::with_capacity(texts.len());
    for (message, text) in prompt.messages.iter().zip(texts) {
        let content = match (&message.body, text) {
            (MessageBody::Image(b), _) => Content::Image(b.clone()),
            (MessageBody::Audio(b), _) => Content::Audio(b.clone()),
            (MessageBody::Resource(_), Some(uri)) => {
                Content::Resource(read::read(loaded, &uri, visible, cancel).await.map_err(GetError::Resource)?)
            }
            (_, text) => Content::Text(text.unwrap_or_default()),
        };
        out.push(Rendered { role: message.role, content });
    }
    Ok(out)
}
