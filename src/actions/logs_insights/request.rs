//! A Logs Insights request rendered from a [`LogsAction`] and the call's arguments.

use std::sync::Arc;

use serde_json::{Value, json};

use super::LogsAction;
use crate::catalog::ArgError;
use crate::catalog::render::{Renderer, rfc3339};
use crate::connections::Connection;

/// A Logs Insights request, ready to send.
#[derive(Clone, Debug)]
pub struct LogsRequest {
    /// The connection it was rendered against; `None` for the default AWS chain.
    pub connection: Option<Arc<Connection>>,
    /// Log group names.
    pub log_groups: Vec<String>,
    /// The query text.
    pub query: String,
    /// Window start, seconds since the epoch.
    pub start: i64,
    /// Window end, seconds since the epoch.
    pub end: i64,
    /// Rows to return.
    pub limit: i64,
    /// Cap on what the model receives.
    pub max_bytes: usize,
}

impl PartialEq for LogsRequest {
    fn eq(&self, other: &Self) -> bool {
        crate::connections::same(&self.connection, &other.connection)
            && self.log_groups == other.log_groups
            && self.query == other.query
            && (self.start, self.end, self.limit, self.max_bytes) == (other.start, other.end, other.limit, other.max_bytes)
    }
}

impl LogsAction {
    /// Renders the request; log group names are checked against the AWS pattern.
    pub fn render(&self, renderer: &Renderer<'_>, max_bytes: usize) -> Result<LogsRequest, ArgError> {
        let log_groups = self.log_groups.iter().map(|t| renderer.text(t)).collect::<Result<Vec<_>, _>>()?;
        for g in &log_groups {
            check_log_group(g)?;
        }
        let query = renderer.text(&self.query)?;
        if query.trim().is_empty() {
            return Err(ArgError::new(None, "the query rendered empty"));
        }
        if query.chars().count() > 10_000 {
            return Err(ArgError::new(None, "the query is longer than 10,000 characters"));
        }
        let (start, end) = self.window.render(renderer)?;
        Ok(LogsRequest {
            connection: renderer.connection(self.connection.as_deref()),
            log_groups,
            query,
            start,
            end,
            limit: self.limit,
            max_bytes,
        })
    }
}

impl LogsRequest {
    /// The request as JSON, for `toolwright render`.
    pub fn to_json(&self) -> Value {
        json!({
            "action": "logs_insights",
            "connection": self.connection.as_ref().map(|c| c.name.as_str()),
            "log_groups": self.log_groups,
            "query": self.query,
            "start": rfc3339(self.start),
            "end": rfc3339(self.end),
            "limit": self.limit,
        })
    }
}

impl LogsRequest {
    /// Logs Insights stops its query (StopQuery) after the deadline and needs this much more.
    pub const GRACE: std::time::Duration = crate::connections::aws::client::STOP_GRACE;

    /// The client span (one span covers the query from StartQuery to its results).
    pub fn span(&self) -> tracing::Span {
        crate::telemetry::aws_span("CloudWatchLogs", "StartQuery")
    }

    /// Runs the query through its connection's client.
    pub async fn execute(
        self,
        clients: &crate::connections::Clients,
        ctx: &crate::actions::CallContext,
    ) -> Result<crate::actions::ToolOutput, String> {
        let clients = clients.aws(self.connection.as_ref())?;
        // Boxed: the SDK's futures (loading its configuration, the calls) are large, and
        // unboxed they would make every call's future, HTTP ones too, that large to move around.
        Box::pin(async move { super::run(clients.logs().await?, &self, self.max_bytes, ctx).await }).await
    }
}

fn check_log_group(name: &str) -> Result<(), ArgError> {
    let ok = !name.is_empty()
        && name.len() <= 512
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'));
    if ok {
        Ok(())
    } else {
        Err(ArgError::new(None, format!("log group name `{name}` does not match the AWS pattern [.-_/#A-Za-z0-9]{{1,512}}")))
    }
}
