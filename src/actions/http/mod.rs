//! The `http` action kind: one HTTP call through a connection (or to an absolute URL), its
//! JSON response optionally projected with jq.

pub(crate) mod compile;
pub mod execute;
pub mod request;
pub mod spec;

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
    /// Response projection.
    pub jq: Option<Arc<JqFilter>>,
}
