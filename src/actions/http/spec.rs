//! The `http` action as written in a spec.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// An HTTP call.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// A `kind: connection` with an `http` block (base URL, headers, timeout, network policy).
    #[serde(default)]
    pub connection: Option<String>,
    /// GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Relative to the connection's base_url, or absolute. Values become encoded path segments.
    pub url: String,
    /// Query parameters; values are templates, encoded as one parameter value each.
    #[serde(default)]
    pub query: Option<BTreeMap<String, Scalar>>,
    /// Request headers; values are templates and may use `secret('NAME')`.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// JSON body as a value tree; a leaf that is exactly `{{ x }}` keeps x's JSON type.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Handling of the response.
    #[serde(default)]
    pub response: Option<ResponseSpec>,
}

/// Handling of an HTTP response.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// A jq filter that projects a JSON response.
    #[serde(default)]
    pub jq: Option<String>,
}

/// A string, number or boolean.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Scalar(pub serde_json::Value);

impl JsonSchema for Scalar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A string (template), number or boolean.",
            "type": ["string", "number", "boolean"]
        })
    }
}
