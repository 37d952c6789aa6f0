//! The `logs_insights` action kind: a CloudWatch Logs Insights query whose text the operator
//! writes and whose values callers fill in as quoted literals.

pub(crate) mod compile;
pub mod execute;
pub mod probe;
pub mod request;
pub mod spec;

use crate::catalog::Template;
use crate::catalog::window::Window;
pub use execute::run;
pub use request::LogsRequest;

/// A compiled Logs Insights action.
#[derive(Clone, Debug)]
pub struct LogsAction {
    /// Connection name.
    pub connection: Option<String>,
    /// Log group templates.
    pub log_groups: Vec<Template>,
    /// The query template.
    pub query: Template,
    /// The window.
    pub window: Window,
    /// Rows to return.
    pub limit: i64,
}
