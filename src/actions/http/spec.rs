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
    /// An `application/x-www-form-urlencoded` body (such as the AWS Query protocol's `Action`,
    /// `Version` and dotted member names): keys are literal, values are templates encoded as one
    /// field value each, sent in the order written. Excludes `body`.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, Scalar>>")]
    pub form: Option<serde_json::Map<String, serde_json::Value>>,
    /// Handling of the response.
    #[serde(default)]
    pub response: Option<ResponseSpec>,
}

/// Handling of an HTTP response.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// A jq filter that projects a JSON response (with `paginate`, the array of every page's items).
    #[serde(default)]
    pub jq: Option<String>,
    /// How the answer is read: `json` (default: JSON when labelled JSON, else text), `xml`
    /// (turned into JSON before `jq` and the output cap), or `text` (text even when JSON).
    #[serde(default)]
    pub format: Option<FormatSpec>,
    /// Follow a paginated answer: a token from each page (`next` + `set`) or the `Link: rel="next"`
    /// header (`link: true`); every page's items are concatenated into one array.
    #[serde(default)]
    pub paginate: Option<PaginateSpec>,
    /// What the answer becomes: `auto` (default: JSON or text; an `image/*` or `audio/*` answer
    /// an MCP image or audio block), or `resource` (the answer as an embedded resource, named
    /// by the request's URL without its query).
    #[serde(default)]
    pub content: Option<ContentSpec>,
}

/// What an HTTP answer becomes in the tool result.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ContentSpec {
    /// JSON or text; an image or audio answer becomes an image or audio block.
    Auto,
    /// The answer as an embedded resource (text or blob, with its media type).
    Resource,
}

/// How an HTTP answer is read.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FormatSpec {
    /// JSON when the answer is labelled JSON, else text.
    Json,
    /// XML, turned into JSON: elements become keys, repeated elements and AWS `member`/`item` lists arrays, text strings.
    Xml,
    /// Text, even when the answer is JSON.
    Text,
}

/// Pagination of an HTTP answer.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaginateSpec {
    /// A jq filter over each page's JSON that yields the next page's token; null, empty or "" ends.
    #[serde(default)]
    pub next: Option<String>,
    /// Where the token goes on the next request: exactly one of `query`, `body`, `form`, `header`.
    #[serde(default)]
    pub set: Option<TokenSetSpec>,
    /// A jq filter over each page's JSON that yields its items (one array or several outputs);
    /// without it an array page gives its elements and any other page is one item.
    #[serde(default)]
    pub items: Option<String>,
    /// At most this many pages (requests), 1 to 100 (default 5); a note says when more were left.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub max_pages: Option<u32>,
    /// Follow RFC 8288 `Link: <url>; rel="next"` headers (same origin only) instead of `next`/`set`.
    #[serde(default)]
    pub link: Option<bool>,
}

/// Where a page token is set on the next request.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSetSpec {
    /// A query parameter name.
    #[serde(default)]
    pub query: Option<String>,
    /// A top-level field of the JSON body.
    #[serde(default)]
    pub body: Option<String>,
    /// A form field name.
    #[serde(default)]
    pub form: Option<String>,
    /// A header name.
    #[serde(default)]
    pub header: Option<String>,
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
