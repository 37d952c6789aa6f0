//! The `logs_insights` action as written in a spec.

use schemars::JsonSchema;
use serde::Deserialize;

/// A CloudWatch Logs Insights query. The operator writes the query; callers fill in typed values.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsInsightsSpec {
    /// A `kind: connection` with an `aws` block; the default AWS chain when absent.
    #[serde(default)]
    pub connection: Option<String>,
    /// Log group names (templates), 1 to 50.
    pub log_groups: Vec<String>,
    /// The Logs Insights query (a template; values become quoted literals).
    pub query: String,
    /// How far back the window starts, such as `1h` or `{{ minutes }}m`.
    #[serde(default)]
    pub since: Option<String>,
    /// How far back the window ends (default: now).
    #[serde(default)]
    pub until: Option<String>,
    /// Window start as an RFC 3339 timestamp (template).
    #[serde(default)]
    pub start: Option<String>,
    /// Window end as an RFC 3339 timestamp (template).
    #[serde(default)]
    pub end: Option<String>,
    /// Maximum rows, 1 to 10,000 (default 1,000).
    #[serde(default)]
    pub limit: Option<i64>,
}
