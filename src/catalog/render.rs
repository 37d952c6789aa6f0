//! The context one render runs in: the catalog's templates, the prepared arguments and the
//! time of the call. Each action kind renders its request through it (see `actions`), so
//! every template of every kind is filled in the same way.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::args::ArgError;
use super::template::Template;
use super::{Catalog, JsonObject};
use crate::connections::Connection;

/// Renders the templates of one call.
pub struct Renderer<'a> {
    /// The catalog whose environment holds the named templates.
    pub catalog: &'a Catalog,
    /// The prepared arguments.
    pub args: &'a JsonObject,
    /// The time of the call, in seconds since the epoch.
    pub now: i64,
    /// The arguments as a minijinja value, built on first use (simple templates do not need it).
    value: std::cell::OnceCell<minijinja::Value>,
}

impl<'a> Renderer<'a> {
    /// A renderer of `args` at time `now`.
    pub fn new(catalog: &'a Catalog, args: &'a JsonObject, now: SystemTime) -> Self {
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Renderer { catalog, args, now, value: std::cell::OnceCell::new() }
    }

    /// The text of a template.
    pub fn text(&self, template: &Template) -> Result<String, ArgError> {
        match template {
            Template::Literal(s) => Ok(s.clone()),
            Template::Simple(t) => t.render(self.args).map_err(|e| ArgError::new(None, render_error_text(&e))),
            Template::Named(name) => {
                let t = self.catalog.env().get_template(name).map_err(|e| ArgError::new(None, format!("internal: {e}")))?;
                let value = self.value.get_or_init(|| minijinja::Value::from(minijinja::value::Serde(self.args)));
                super::template::with_call_time(self.now, || t.render(value)).map_err(|e| ArgError::new(None, render_error_text(&e)))
            }
        }
    }

    /// The compiled connection of that name, which the rendered request carries to its client.
    pub fn connection(&self, name: Option<&str>) -> Option<Arc<Connection>> {
        name.and_then(|n| self.catalog.connection(n)).cloned()
    }

    /// The text of an optional template.
    pub fn optional(&self, template: &Option<Template>) -> Result<Option<String>, ArgError> {
        template.as_ref().map(|t| self.text(t)).transpose()
    }
}

/// Turns a minijinja render error into a message without template internals.
fn render_error_text(e: &minijinja::Error) -> String {
    let detail = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
    match e.kind() {
        minijinja::ErrorKind::UndefinedError => format!("a template reads an argument that was not given ({detail})"),
        _ => detail,
    }
}

/// Seconds since the epoch as an RFC 3339 timestamp.
pub fn rfc3339(secs: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}
