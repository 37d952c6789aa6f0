//! The `http` action kind: one HTTP call through a connection (or to an absolute URL), its
//! JSON response optionally projected with jq.

pub(crate) mod compile;
pub mod execute;
pub mod probe;
pub mod request;
pub mod spec;
pub mod xml;

use std::sync::Arc;

use serde_json::Value;

use crate::catalog::Template;
use crate::catalog::jq::JqFilter;
pub use request::HttpRequest;

/// A JSON body as a value tree of templates.
#[derive(Clone, Debug)]
pub enum BodyTemplate {
    /// A literal value.
    Literal(Value),
    /// A string template.
    Str(Template),
    /// A leaf that is exactly `{{ x }}`: renders to JSON text and is parsed back.
    Typed(Template),
    /// An array.
    Array(Vec<BodyTemplate>),
    /// An object.
    Object(Vec<(String, BodyTemplate)>),
}

/// A query parameter value.
#[derive(Clone, Debug)]
pub enum QueryValue {
    /// A string template.
    Str(Template),
    /// A literal number or boolean.
    Literal(String),
    /// Exactly `{{ name }}`: the argument's value, once per element of a list; left out when
    /// the argument is absent or null.
    Argument(String),
}

/// A compiled HTTP action.
#[derive(Clone, Debug)]
pub struct HttpAction {
    /// Connection name.
    pub connection: Option<String>,
    /// Upper-case method.
    pub method: String,
    /// URL template.
    pub url: Template,
    /// Query parameters.
    pub query: Vec<(String, QueryValue)>,
    /// Header templates.
    pub headers: Vec<(String, Template)>,
    /// JSON body.
    pub body: Option<BodyTemplate>,
    /// Form body (`application/x-www-form-urlencoded`), fields in the order written.
    pub form: Option<Vec<(String, QueryValue)>>,
    /// Response projection.
    pub jq: Option<Arc<JqFilter>>,
    /// How the answer is read.
    pub format: ResponseFormat,
    /// Pagination, if any.
    pub paginate: Option<Arc<Paginate>>,
    /// The answer becomes an embedded resource (`response.content: resource`).
    pub as_resource: bool,
}

/// How an answer is read (`response.format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseFormat {
    /// JSON when labelled JSON, else text (the default).
    #[default]
    Json,
    /// XML turned into JSON (see [`xml`]).
    Xml,
    /// Text, whatever the label.
    Text,
}

/// The default of `response.paginate.max_pages`.
pub const DEFAULT_MAX_PAGES: u32 = 5;

/// The largest `response.paginate.max_pages`.
pub const MAX_PAGES_LIMIT: u32 = 100;

/// Where a page token goes on the next request (`response.paginate.set`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenTarget {
    /// A query parameter (replacing one of the same name).
    Query(String),
    /// A top-level field of the JSON body.
    Body(String),
    /// A form field (replacing one of the same name).
    Form(String),
    /// A header (replacing one of the same name).
    Header(String),
}

/// How the next page is found.
#[derive(Clone, Debug)]
pub enum NextPage {
    /// A jq filter over each page's JSON yields the next token (null, empty or "" ends).
    Token { next: Arc<JqFilter>, target: TokenTarget },
    /// The RFC 8288 `Link: <url>; rel="next"` header, same origin only.
    Link,
}

/// A compiled `response.paginate`.
#[derive(Clone, Debug)]
pub struct Paginate {
    /// How the next page is found.
    pub next: NextPage,
    /// Extracts each page's items; without it a page that is an array gives its elements
    /// and any other page is one item.
    pub items: Option<Arc<JqFilter>>,
    /// At most this many requests.
    pub max_pages: u32,
}

impl PartialEq for Paginate {
    fn eq(&self, other: &Self) -> bool {
        let next = match (&self.next, &other.next) {
            (NextPage::Token { next: a, target: x }, NextPage::Token { next: b, target: y }) => a.source() == b.source() && x == y,
            (NextPage::Link, NextPage::Link) => true,
            _ => false,
        };
        next && self.items.as_ref().map(|f| f.source()) == other.items.as_ref().map(|f| f.source()) && self.max_pages == other.max_pages
    }
}
