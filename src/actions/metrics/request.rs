//! A GetMetricData request rendered from a [`MetricsAction`] and the call's arguments.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{MetricsAction, choose_period, valid_period};
use crate::catalog::ArgError;
use crate::catalog::render::{Renderer, rfc3339};
use crate::connections::Connection;
use crate::util::parse_duration;

/// One rendered metric query.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuery {
    /// Query id.
    pub id: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// Metric name.
    pub metric: Option<String>,
    /// Dimensions.
    pub dimensions: Vec<(String, String)>,
    /// Statistic.
    pub stat: Option<String>,
    /// Expression.
    pub expression: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Unit.
    pub unit: Option<String>,
    /// Whether the series is returned.
    pub return_data: bool,
}

/// A GetMetricData request, ready to send.
#[derive(Clone, Debug)]
pub struct MetricsRequest {
    /// The connection it was rendered against; `None` for the default AWS chain.
    pub connection: Option<Arc<Connection>>,
    /// Queries.
    pub queries: Vec<MetricQuery>,
    /// Period in seconds (given or chosen from the window).
    pub period: i32,
    /// Window start, seconds since the epoch.
    pub start: i64,
    /// Window end, seconds since the epoch.
    pub end: i64,
    /// Cap on what the model receives.
    pub max_bytes: usize,
}

impl PartialEq for MetricsRequest {
    fn eq(&self, other: &Self) -> bool {
        crate::connections::same(&self.connection, &other.connection)
            && self.queries == other.queries
            && (self.period, self.start, self.end, self.max_bytes) == (other.period, other.start, other.end, other.max_bytes)
    }
}

impl MetricsAction {
    /// Renders the request; a period is checked against CloudWatch's rules or chosen from the window.
    pub fn render(&self, renderer: &Renderer<'_>, max_bytes: usize) -> Result<MetricsRequest, ArgError> {
        let (start, end) = self.window.render(renderer)?;
        let period = match &self.period {
            Some(p) => {
                let s = renderer.text(p)?;
                let d = parse_duration(&s).map_err(|m| ArgError::new(None, format!("`period` {m}")))?;
                if !valid_period(d.as_secs()) || d.subsec_nanos() != 0 {
                    return Err(ArgError::new(None, format!("period `{s}` must be 1, 5, 10, 20 or 30 seconds or a multiple of 60")));
                }
                i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
            }
            None => choose_period(end - start),
        };
        let mut queries = Vec::with_capacity(self.queries.len());
        for q in &self.queries {
            queries.push(MetricQuery {
                id: q.id.clone(),
                namespace: renderer.optional(&q.namespace)?,
                metric: renderer.optional(&q.metric)?,
                dimensions: q.dimensions.iter().map(|(k, v)| Ok((k.clone(), renderer.text(v)?))).collect::<Result<_, ArgError>>()?,
                stat: renderer.optional(&q.stat)?,
                expression: renderer.optional(&q.expression)?,
                label: renderer.optional(&q.label)?,
                unit: q.unit.clone(),
                return_data: q.return_data,
            });
        }
        Ok(MetricsRequest { connection: renderer.connection(self.connection.as_deref()), queries, period, start, end, max_bytes })
    }
}

impl MetricsRequest {
    /// The request as JSON, for `toolwright render`.
    pub fn to_json(&self) -> Value {
        let queries: Vec<Value> = self
            .queries
            .iter()
            .map(|q| {
                let mut o = serde_json::Map::new();
                o.insert("id".into(), json!(q.id));
                for (k, v) in [
                    ("namespace", &q.namespace),
                    ("metric", &q.metric),
                    ("stat", &q.stat),
                    ("expression", &q.expression),
                    ("label", &q.label),
                    ("unit", &q.unit),
                ] {
                    if let Some(v) = v {
                        o.insert(k.into(), json!(v));
                    }
                }
                if !q.dimensions.is_empty() {
                    o.insert("dimensions".into(), Value::Object(q.dimensions.iter().map(|(k, v)| (k.clone(), json!(v))).collect()));
                }
                o.insert("return_data".into(), json!(q.return_data));
                Value::Object(o)
            })
            .collect();
        json!({
            "action": "metrics",
            "connection": self.connection.as_ref().map(|c| c.name.as_str()),
            "period": self.period,
            "start": rfc3339(self.start),
            "end": rfc3339(self.end),
            "queries": queries,
        })
    }
}

impl MetricsRequest {
    /// GetMetricData watches the deadline itself; it gets the same room as Logs Insights to say so.
    pub const GRACE: std::time::Duration = crate::connections::aws::client::STOP_GRACE;

    /// The client span.
    pub fn span(&self) -> tracing::Span {
        crate::telemetry::aws_span("CloudWatch", "GetMetricData")
    }

    /// Fetches the series through its connection's client.
    pub async fn execute(
        self,
        clients: &crate::connections::Clients,
        ctx: &crate::actions::CallContext,
    ) -> Result<crate::actions::ToolOutput, String> {
        let clients = clients.aws(self.connection.as_ref())?;
        // Boxed for the same reason as Logs Insights: the SDK's futures are large.
        Box::pin(async move { super::run(clients.metrics().await?, &self, self.max_bytes, ctx).await }).await
    }
}
