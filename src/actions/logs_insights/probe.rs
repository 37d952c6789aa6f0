//! The environment check of Logs Insights tools (`toolwright lint --check-env`): whether the
//! log groups a tool names literally exist, asked through the tool's connection.

use std::sync::Arc;

use crate::connections::{Clients, Connection};

/// The groups of `groups` that do not exist; `Err` when CloudWatch Logs cannot be asked
/// (credentials, region, endpoint, permissions), with the SDK's reason.
pub async fn missing_log_groups(clients: &Clients, connection: Option<&Arc<Connection>>, groups: &[String]) -> Result<Vec<String>, String> {
    let client = clients.aws(connection)?.logs().await?;
    let mut missing = Vec::new();
    for group in groups {
        // A prefix search returns the group itself first when it exists (names sort), and at
        // most 50 names: enough to tell, without listing the account's groups.
        let answer = client.describe_log_groups().log_group_name_prefix(group).limit(50).send().await.map_err(|e| {
            let detail = crate::connections::aws::client::redact(&error_chain(&e));
            format!("DescribeLogGroups for `{group}` failed: {detail}")
        })?;
        if !answer.log_groups().iter().any(|g| g.log_group_name() == Some(group.as_str())) {
            missing.push(group.clone());
        }
    }
    Ok(missing)
}

/// An SDK error with its service message (the top-level Display says only "service error").
fn error_chain<E: std::error::Error + 'static>(err: &E) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
