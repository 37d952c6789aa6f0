//! The `metrics` action as written in a spec.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// A CloudWatch GetMetricData fetch.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// A `kind: connection` with an `aws` block; the default AWS chain when absent.
    #[serde(default)]
    pub connection: Option<String>,
    /// The metric queries and expressions.
    pub queries: Vec<MetricQuerySpec>,
    /// 1, 5, 10, 20 or 30 seconds or a multiple of 60; chosen from the window when absent.
    #[serde(default)]
    pub period: Option<String>,
    /// How far back the window starts.
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
}

/// One GetMetricData query: a metric stat or an expression.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricQuerySpec {
    /// Query id: ^[a-z][A-Za-z0-9_]*$, unique within the action.
    pub id: String,
    /// Metric namespace, such as `AWS/ApplicationELB`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Metric name.
    #[serde(default)]
    pub metric: Option<String>,
    /// Dimension name → value (values are templates).
    #[serde(default)]
    pub dimensions: Option<BTreeMap<String, String>>,
    /// Statistic: Average, Sum, Minimum, Maximum, SampleCount, p99, tm90, ...
    #[serde(default)]
    pub stat: Option<String>,
    /// A metric math expression over other query ids.
    #[serde(default)]
    pub expression: Option<String>,
    /// Label of the returned series.
    #[serde(default)]
    pub label: Option<String>,
    /// Unit filter, such as `Seconds`.
    #[serde(default)]
    pub unit: Option<String>,
    /// Whether the series is returned (default true).
    #[serde(default)]
    pub return_data: Option<bool>,
}
