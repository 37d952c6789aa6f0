//! `kind: resource` and `kind: resource_template` as written in a spec.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::actions::ActionSpec;
use crate::catalog::JsonObject;

/// The `kind` of a resource document.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum ResourceKind {
    /// A resource.
    #[serde(rename = "resource")]
    Resource,
}

/// The `kind` of a resource template document.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum ResourceTemplateKind {
    /// A resource template.
    #[serde(rename = "resource_template")]
    ResourceTemplate,
}

/// An MCP resource at one URI: fixed text, a file read when the catalog is compiled, or an
/// action run on every `resources/read`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "resource")]
pub struct ResourceSpec {
    /// Always `resource`.
    pub kind: ResourceKind,
    /// The resource's URI (with a scheme, such as `runbook://checkout` or `file:///...`), unique in the catalog.
    pub uri: String,
    /// The resource's name: ^[A-Za-z0-9_.-]{1,128}$, unique among resources.
    pub name: String,
    /// A short human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// What the resource holds, as clients show it.
    #[serde(default)]
    pub description: Option<String>,
    /// The MIME type of its contents. Default: from the file's extension, `application/json`
    /// for an action's structured answer, else `text/plain`.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// The contents, as written here.
    #[serde(default)]
    pub text: Option<String>,
    /// A file under the spec file's directory, read when the catalog is compiled (and again on
    /// every reload); served as text when it is UTF-8, else as a base64 blob.
    #[serde(default)]
    pub file: Option<String>,
    /// An action run on every read: the resource is read through the backend.
    #[serde(default)]
    pub action: Option<ActionSpec>,
    /// Deadline of one read through `action`, such as `30s` (default `30s`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Cap on the bytes one read through `action` returns (default 16000), cut as a tool's output is.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_bytes: Option<u64>,
    /// Who may see and use it over authenticated HTTP: `{scopes: [...]}`, every one needed;
    /// to anyone else it does not exist.
    #[serde(default)]
    pub auth: Option<crate::spec::model::AuthSpec>,
}

/// MCP resources at every URI that matches a URI template: `resources/read` binds the
/// template's variables, validates them against `input` and runs the action.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "resource_template")]
pub struct ResourceTemplateSpec {
    /// Always `resource_template`.
    pub kind: ResourceTemplateKind,
    /// An RFC 6570 level 1 URI template, such as `deps://{service}`: each `{name}` is a
    /// variable that `input` declares.
    pub uri_template: String,
    /// The template's name: ^[A-Za-z0-9_.-]{1,128}$, unique among resource templates.
    pub name: String,
    /// A short human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// What the resources hold, as clients show it.
    #[serde(default)]
    pub description: Option<String>,
    /// The MIME type of the contents. Default: `application/json` for a structured answer,
    /// else `text/plain`.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// JSON Schema 2020-12 of the variables: `type: object`, one property per variable of the
    /// URI template (a string, integer, number or boolean), each of which may say where its
    /// completions come from with `complete`.
    #[schemars(schema_with = "crate::spec::schema::arguments_schema")]
    pub input: JsonObject,
    /// The action run on every read; its templates read the variables.
    pub action: ActionSpec,
    /// Deadline of one read, such as `30s` (default `30s`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Cap on the bytes one read returns (default 16000), cut as a tool's output is.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_bytes: Option<u64>,
    /// Who may see and use it over authenticated HTTP: `{scopes: [...]}`, every one needed;
    /// to anyone else it does not exist.
    #[serde(default)]
    pub auth: Option<crate::spec::model::AuthSpec>,
}
