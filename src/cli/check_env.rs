//! `toolwright lint --check-env`: after the lint, whether the catalog's connections work where
//! lint runs. Opt-in and kept apart from the lint itself (which reads only files), like
//! Vector's `validate` keeps its environment phase apart.
//!
//! - every http connection: one `GET` of its base URL sent as a tool's request would be (its
//!   secrets, token file, OAuth token or signature, TLS, network policy); any answer but 401
//!   and 403 means it works;
//! - every aws connection: its credentials resolve through its chain (profile, role);
//! - every Logs Insights action of a tool, a resource or a resource template: the log groups it
//!   names literally exist (DescribeLogGroups through the action's connection).
//!
//! Findings are diagnostics at the connection's (or the tool's) line, in lint's formats.
//! Nothing secret is printed: messages are the call path's, which masks secrets.

use std::sync::Arc;
use std::time::Duration;

use crate::actions::Action;
use crate::actions::http::probe::{Probe, probe};
use crate::catalog::{Catalog, Template};
use crate::compile::Documents;
use crate::connections::{Clients, Connection, Settings};
use crate::diag::{Code, Diagnostic, LineIndex, Span};
use crate::spec::yaml::Pos;

/// How long one connection's check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The findings of every check, as diagnostics.
pub fn check(catalog: &Catalog, documents: &Documents, sources: &std::collections::HashMap<String, LineIndex>) -> Vec<Diagnostic> {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            return vec![Diagnostic::new(
                Code::EnvUnreachable,
                "",
                Span { line: 1, column: 1, end_line: 1, end_column: 1 },
                format!("cannot start the checks: {e}"),
            )];
        }
    };
    let clients = Clients::new(catalog.connections().values());
    let at = |kind: &str, name: &str, pointer: &str, code: Code, message: String| {
        let (file, pos) = documents.locate(kind, name, pointer).unwrap_or(("", Pos { line: 1, column: 1, len: 0 }));
        let span = sources
            .get(file)
            .map_or(Span { line: 1, column: 1, end_line: 1, end_column: 1 }, |index| crate::spec::Locator { file, index }.span(pos));
        Diagnostic::new(code, file, span, message)
    };
    let mut connections: Vec<&Arc<Connection>> = catalog.connections().values().collect();
    connections.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::new();
    runtime.block_on(async {
        // The connections are checked together, each bounded: a slow endpoint costs its own timeout only.
        let checks = connections.iter().map(|c| check_connection(catalog, &clients, c));
        for (connection, findings) in connections.iter().zip(futures::future::join_all(checks).await) {
            for (code, message) in findings {
                out.push(at("connection", &connection.name, "/name", code, message));
            }
        }
        // Every action that runs at call time: the tools', and those resources and resource
        // templates read through (each is compiled as a tool no client sees).
        let mut owners: Vec<(&str, &str, &crate::catalog::CompiledTool)> =
            catalog.tools().iter().map(|t| ("tool", t.name.as_str(), &**t)).collect();
        owners.extend(catalog.resources().iter().filter_map(|r| match &r.body {
            crate::resources::Body::Action(tool) => Some(("resource", r.name.as_str(), &**tool)),
            _ => None,
        }));
        owners.extend(catalog.resource_templates().iter().map(|t| ("resource_template", t.name.as_str(), &*t.tool)));
        for (kind, name, tool) in owners {
            // Its Logs Insights actions, its own or nested ones (steps, a watch's check and `on_fail`).
            let queries = tool.action.with_nested().into_iter().filter_map(|(pointer, action)| match action {
                Action::LogsInsights(query) => Some((format!("/action{pointer}"), query)),
                _ => None,
            });
            for (base, action) in queries {
                out.extend(check_log_groups(catalog, &clients, (kind, name), &base, action, &at).await);
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    out
}

/// The log groups one Logs Insights action names literally that do not exist, as diagnostics.
async fn check_log_groups(
    catalog: &Catalog,
    clients: &Clients,
    (kind, name): (&str, &str),
    base: &str,
    action: &crate::actions::logs_insights::LogsAction,
    at: &impl Fn(&str, &str, &str, Code, String) -> Diagnostic,
) -> Vec<Diagnostic> {
    let literal: Vec<(usize, String)> = action
        .log_groups
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t {
            Template::Literal(name) => Some((i, name.clone())),
            _ => None,
        })
        .collect();
    if literal.is_empty() {
        return Vec::new();
    }
    let owner = format!("{} `{name}`", kind.replace('_', " "));
    let connection = action.connection.as_deref().and_then(|n| catalog.connection(n));
    let names: Vec<String> = literal.iter().map(|(_, n)| n.clone()).collect();
    let asked = crate::actions::logs_insights::probe::missing_log_groups(clients, connection, &names);
    let groups = format!("{base}/log_groups");
    match tokio::time::timeout(CHECK_TIMEOUT, asked).await {
        Ok(Ok(missing)) => literal
            .iter()
            .filter(|(_, n)| missing.contains(n))
            .map(|(i, group)| {
                let message = format!("log group `{group}` does not exist ({owner})");
                at(kind, name, &format!("{groups}/{i}"), Code::EnvLogGroupMissing, message)
            })
            .collect(),
        Ok(Err(why)) => vec![at(kind, name, &groups, Code::EnvUnreachable, format!("{owner}: cannot check its log groups: {why}"))],
        Err(_) => vec![at(
            kind,
            name,
            &groups,
            Code::EnvUnreachable,
            format!("{owner}: checking its log groups took longer than {}s", CHECK_TIMEOUT.as_secs()),
        )],
    }
}

/// One connection's findings: (code, message) pairs, none when it works.
async fn check_connection(catalog: &Catalog, clients: &Clients, connection: &Arc<Connection>) -> Vec<(Code, String)> {
    let name = &connection.name;
    match &connection.settings {
        Settings::Http(_) => match probe(catalog, clients, connection, CHECK_TIMEOUT).await {
            Probe::Answered(_) => Vec::new(),
            Probe::Refused(status, why) => {
                vec![(Code::EnvRefused, format!("connection `{name}`: the endpoint refused the credentials (HTTP {status}): {why}"))]
            }
            Probe::Credentials(why) => vec![(Code::EnvCredentials, format!("connection `{name}`: {why}"))],
            Probe::Unreachable(why) => vec![(Code::EnvUnreachable, format!("connection `{name}`: the endpoint does not answer: {why}"))],
        },
        Settings::Aws(_) => {
            let resolved = async { clients.aws(Some(connection))?.signing_credentials().await.map(|_| ()) };
            match tokio::time::timeout(CHECK_TIMEOUT, resolved).await {
                Ok(Ok(())) => Vec::new(),
                Ok(Err(why)) => vec![(Code::EnvCredentials, format!("connection `{name}`: {why}"))],
                Err(_) => vec![(
                    Code::EnvCredentials,
                    format!("connection `{name}`: resolving its AWS credentials took longer than {}s", CHECK_TIMEOUT.as_secs()),
                )],
            }
        }
    }
}
