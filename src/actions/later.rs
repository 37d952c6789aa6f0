//! Renders that happen after the call's own render: a sequence's later steps (they read
//! earlier outputs) and a watch's later checks (at each tick's time). `Later` carries what such
//! a render needs, the catalog's templates and connections without its tools, the prepared
//! arguments, the call's time and secret mode and the output cap, so that executing a request
//! that holds requests still reads no catalog.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::actions::{Action, Request};
use crate::catalog::render::Renderer;
use crate::catalog::{ArgError, Catalog, JsonObject, SecretMode, Template};

/// What a later render needs.
#[derive(Clone, Debug)]
pub struct Later {
    /// The catalog's templates and connections (no tools).
    pub templates: Arc<Catalog>,
    /// The prepared arguments (with a sequence's `steps` when the request is a step).
    pub args: Arc<JsonObject>,
    /// The call's time, seconds since the epoch.
    pub now: i64,
    /// How `secret()` behaves when a later template renders.
    pub secrets: SecretMode,
    /// Cap on what the model receives (and on each nested result).
    pub max_bytes: usize,
}

impl PartialEq for Later {
    /// Two are equal when they render alike: same arguments, time, secret mode and cap (the
    /// templates are the catalog's, compared through what the requests render).
    fn eq(&self, other: &Self) -> bool {
        self.args == other.args && (self.now, self.secrets, self.max_bytes) == (other.now, other.secrets, other.max_bytes)
    }
}

impl Later {
    /// What the render running now leaves for later renders.
    pub fn of(renderer: &Renderer<'_>, max_bytes: usize) -> Self {
        Later {
            templates: Arc::new(renderer.catalog.templates_only()),
            args: Arc::new(renderer.args.clone()),
            now: renderer.now,
            secrets: crate::catalog::template::secret_mode(),
            max_bytes,
        }
    }

    /// The call's time.
    pub fn call_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(self.now).unwrap_or(0))
    }

    /// Renders `action` at `at` with the arguments plus `extra` (`steps`, `failed`), in the
    /// call's secret mode.
    pub fn action(&self, action: &Action, at: SystemTime, extra: Vec<(&str, Value)>) -> Result<Request, ArgError> {
        let args = self.args_with(extra);
        let renderer = Renderer::new(&self.templates, &args, at);
        crate::catalog::template::with_secret_mode(self.secrets, || action.render_with(&renderer, self.max_bytes))
    }

    /// Renders a text template (an approval question) at `at` with the arguments plus `extra`.
    pub fn text(&self, template: &Template, at: SystemTime, extra: Vec<(&str, Value)>) -> Result<String, ArgError> {
        let args = self.args_with(extra);
        Renderer::new(&self.templates, &args, at).text(template)
    }

    fn args_with(&self, extra: Vec<(&str, Value)>) -> std::borrow::Cow<'_, JsonObject> {
        if extra.is_empty() {
            return std::borrow::Cow::Borrowed(&self.args);
        }
        let mut args = (*self.args).clone();
        for (k, v) in extra {
            args.insert(k.to_owned(), v);
        }
        std::borrow::Cow::Owned(args)
    }
}
