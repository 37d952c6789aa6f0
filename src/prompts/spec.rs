//! `kind: prompt` as written in a spec: a named list of messages whose text templates read
//! the prompt's arguments (a JSON Schema object, as a tool's `input` is).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::JsonObject;

/// The `kind` of a prompt document.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum PromptKind {
    /// A prompt.
    #[serde(rename = "prompt")]
    Prompt,
}

/// An MCP prompt: messages rendered from the caller's arguments (`prompts/get`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "prompt")]
pub struct PromptSpec {
    /// Always `prompt`.
    pub kind: PromptKind,
    /// The MCP prompt name: ^[A-Za-z0-9_.-]{1,128}$, unique among prompts.
    pub name: String,
    /// A short human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// What the prompt is for, as clients show it.
    #[serde(default)]
    pub description: Option<String>,
    /// The arguments: a JSON Schema 2020-12 object whose properties are the arguments (each a
    /// string, integer, number or boolean) and whose `required` names the required ones. A
    /// property may say where its completions come from with `complete`. Default: none.
    #[serde(default)]
    #[schemars(schema_with = "crate::spec::schema::arguments_schema")]
    pub arguments: Option<JsonObject>,
    /// The messages, in order: each `{role, text}` (a template reading the arguments),
    /// `{role, resource}` (a resource of the catalog, embedded), or `{role, image}` /
    /// `{role, audio}` (a file of the catalog, read when it is compiled).
    #[schemars(length(min = 1))]
    pub messages: Vec<MessageSpec>,
    /// Who may see and use it over authenticated HTTP: `{scopes: [...]}`, every one needed;
    /// to anyone else it does not exist.
    #[serde(default)]
    pub auth: Option<crate::spec::model::AuthSpec>,
}

/// Who speaks a message.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoleSpec {
    /// The user.
    User,
    /// The assistant.
    Assistant,
}

/// One message of a prompt: exactly one of `text`, `resource`, `image` or `audio`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// `user` or `assistant`.
    pub role: RoleSpec,
    /// The message's text: a template that reads the prompt's arguments.
    #[serde(default)]
    pub text: Option<String>,
    /// The URI of a resource of the catalog (a `resource`, or one a `resource_template`
    /// matches), embedded in the message; it may be a template that reads the arguments, each
    /// value percent-encoded.
    #[serde(default)]
    pub resource: Option<String>,
    /// An image file, relative to the spec file's directory (and under it), read when the
    /// catalog is compiled and served as an image content block.
    #[serde(default)]
    pub image: Option<String>,
    /// An audio file, relative to the spec file's directory (and under it), read when the
    /// catalog is compiled and served as an audio content block.
    #[serde(default)]
    pub audio: Option<String>,
    /// With `image` or `audio`: the file's media type, such as `image/png`. Default: the type
    /// its extension suggests (`.png`, `.jpg`, `.gif`, `.webp`; `.wav`, `.mp3`, `.ogg`, `.flac`).
    #[serde(default)]
    pub mime_type: Option<String>,
}
