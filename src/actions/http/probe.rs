//! The environment check of an http connection (`toolwright lint --check-env`): one `GET` of
//! its base URL, rendered and sent exactly as a tool's request through it would be (default
//! headers and their secrets, `auth` with its token file, OAuth token or signature, TLS
//! settings, network policy), so each way a call could fail where it runs fails here first.

use std::sync::Arc;

use super::{HttpAction, ResponseFormat};
use crate::actions::{CallContext, Request};
use crate::catalog::render::Renderer;
use crate::catalog::template::{SecretMode, with_secret_mode};
use crate::catalog::{Catalog, JsonObject, Template};
use crate::connections::{Clients, Connection};

/// What the probe found.
#[derive(Debug, PartialEq, Eq)]
pub enum Probe {
    /// The endpoint answered (any status but 401 and 403: a `GET` of a base URL may well be a 404).
    Answered(u16),
    /// The endpoint answered 401 or 403: the credentials or permissions are refused.
    Refused(u16, String),
    /// The request could not be made: a secret that is not set, an unreadable token file,
    /// credentials that do not resolve.
    Credentials(String),
    /// Nothing answered: DNS, connection, TLS, the network policy or the timeout.
    Unreachable(String),
}

/// Sends the probe of one http connection, bounded by `timeout`.
pub async fn probe(catalog: &Catalog, clients: &Clients, connection: &Arc<Connection>, timeout: std::time::Duration) -> Probe {
    let action = HttpAction {
        connection: Some(connection.name.clone()),
        method: "GET".to_owned(),
        url: Template::Literal("/".to_owned()),
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        form: None,
        jq: None,
        format: ResponseFormat::Text,
        paginate: None,
        as_resource: false,
    };
    let args = JsonObject::new();
    let renderer = Renderer::new(catalog, &args, std::time::SystemTime::now());
    let request = match with_secret_mode(SecretMode::Resolve, || action.render(&renderer, 1024)) {
        Ok(r) => r,
        Err(e) => return Probe::Credentials(e.message),
    };
    let ctx = CallContext::new(tokio_util::sync::CancellationToken::new(), timeout, None);
    match Request::Http(request).execute(clients, &ctx).await {
        Ok(_) => Probe::Answered(200),
        Err(message) => classify(message),
    }
}

/// Sorts a failed request's message (written for a model) into what the check reports.
fn classify(message: String) -> Probe {
    if let Some(status) = answered_status(&message) {
        return match status {
            401 | 403 => Probe::Refused(status, message),
            _ => Probe::Answered(status),
        };
    }
    let credentials = ["secret `", "token file", "credentials", "token endpoint", "OAuth"];
    if credentials.iter().any(|c| message.contains(c)) { Probe::Credentials(message) } else { Probe::Unreachable(message) }
}

/// The status in "the backend answered HTTP 404 Not Found; ..." (the execute step's wording).
fn answered_status(message: &str) -> Option<u16> {
    let rest = message.split_once("the backend answered HTTP ")?.1;
    rest.get(..3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sorted_by_what_failed() {
        assert_eq!(classify("the backend answered HTTP 404 Not Found; (empty body). x".into()), Probe::Answered(404));
        assert!(matches!(classify("the backend answered HTTP 401 Unauthorized; body: no".into()), Probe::Refused(401, _)));
        assert!(matches!(classify("secret `API_TOKEN` is not set (environment variable ...)".into()), Probe::Credentials(_)));
        assert!(matches!(classify("cannot read the bearer token file /x: No such file".into()), Probe::Credentials(_)));
        assert!(matches!(classify("cannot connect to 127.0.0.1:9: connection refused".into()), Probe::Unreachable(_)));
    }
}
