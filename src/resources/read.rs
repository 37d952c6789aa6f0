//! `resources/read`: the contents at a URI. A resource's fixed contents are returned as
//! compiled; a resource with an action, or a resource template that matches the URI, runs its
//! action through [`runtime::call`] (limits, argument checks, rendering, the backend under
//! the deadline, output shaping), so a resource is read through the backend exactly as a
//! tool would call it.

use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::Body;
use crate::catalog::Visible;
use crate::observability::CallOutcome;
use crate::runtime::{self, Loaded, Outcome};

/// What a read returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Contents {
    /// Text.
    Text {
        /// The URI read.
        uri: String,
        /// Its MIME type.
        mime_type: String,
        /// The text.
        text: String,
    },
    /// Bytes (served base64).
    Blob {
        /// The URI read.
        uri: String,
        /// Its MIME type.
        mime_type: String,
        /// The bytes.
        data: Arc<[u8]>,
    },
}

/// Why a read gave no contents.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No resource has the URI and no template matches it.
    #[error("no resource at `{0}`")]
    NotFound(String),
    /// A template matched, but the variables do not fit its `input`.
    #[error("{message}")]
    Invalid {
        /// The URI read.
        uri: String,
        /// What was wrong, naming the variable.
        message: String,
    },
    /// The action failed (backend, deadline, limits); the message is written for a model.
    #[error("{message}")]
    Failed {
        /// The URI read.
        uri: String,
        /// What failed.
        message: String,
    },
}

/// MIME type of an action's answer when the spec gives none.
const JSON: &str = "application/json";
/// MIME type of text when nothing else is known.
const TEXT: &str = "text/plain";

/// Reads `uri` from the catalog of `loaded`: a resource at exactly that URI first, else the
/// most specific resource template that matches it; of those the caller may see (`visible`):
/// one it may not see is read as if it did not exist.
pub async fn read(loaded: &Loaded, uri: &str, visible: Visible<'_>, cancel: &CancellationToken) -> Result<Contents, ReadError> {
    let catalog = &loaded.catalog;
    if let Some(resource) = catalog.resource(uri).filter(|r| visible(&r.scopes)) {
        let mime = resource.mime_type.clone();
        return match &resource.body {
            Body::Text(text) => {
                Ok(Contents::Text { uri: uri.to_owned(), mime_type: mime.unwrap_or_else(|| TEXT.to_owned()), text: text.to_string() })
            }
            Body::Blob(data) => Ok(Contents::Blob {
                uri: uri.to_owned(),
                mime_type: mime.unwrap_or_else(|| "application/octet-stream".to_owned()),
                data: data.clone(),
            }),
            Body::Action(tool) => {
                let outcome = runtime::call(loaded, tool, None, cancel, None).await;
                contents(uri, mime, outcome)
            }
        };
    }
    let Some((template, vars)) = catalog.match_template(uri, visible) else {
        return Err(ReadError::NotFound(uri.to_owned()));
    };
    let args = template.arguments.coerce(vars.into_iter().map(|(name, value)| (name, Value::String(value))));
    let outcome = runtime::call(loaded, &template.tool, Some(&args), cancel, None).await;
    contents(uri, template.mime_type.clone(), outcome)
}

/// The contents of one action's outcome: its text, typed `mime` when the spec says, else JSON
/// for a structured answer and plain text otherwise.
fn contents(uri: &str, mime: Option<String>, outcome: Outcome) -> Result<Contents, ReadError> {
    if outcome.is_error {
        let message = outcome.text;
        return Err(match outcome.kind {
            CallOutcome::Rejected => ReadError::Invalid { uri: uri.to_owned(), message },
            _ => ReadError::Failed { uri: uri.to_owned(), message },
        });
    }
    let mime_type = mime.unwrap_or_else(|| if outcome.structured.is_some() { JSON } else { TEXT }.to_owned());
    Ok(Contents::Text { uri: uri.to_owned(), mime_type, text: outcome.text })
}
