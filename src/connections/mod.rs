//! Connection kinds (`kind: connection` documents): one folder per kind (`aws`, `http`), each
//! holding its spec types, its compile step, its compiled settings and its client. [`Clients`]
//! holds the clients of one catalog's connections, each built on first use.
//!
//! Architecture invariant: the clients see compiled settings only, never a spec. A request
//! names the compiled connection it was rendered against, and [`Clients`] refuses a
//! connection of another catalog (whose network policy may differ).

pub mod aws;
pub mod http;
pub mod tape;

use std::collections::HashMap;
use std::sync::Arc;

use aws::client::AwsClients;
use http::client::HttpClient;
use tape::Tape;

use crate::catalog::SecretMode;

/// A compiled connection: its name and its settings.
#[derive(Debug)]
pub struct Connection {
    /// The name tools use in `connection:`.
    pub name: String,
    /// What kind of connection it is, with its settings.
    pub settings: Settings,
}

/// The settings of a compiled connection, by kind.
#[derive(Clone, Debug)]
pub enum Settings {
    /// AWS settings.
    Aws(aws::AwsConnection),
    /// HTTP settings.
    Http(http::HttpConnection),
}

impl Connection {
    /// `aws` or `http`: the kind's key in a connection document.
    pub fn kind(&self) -> &'static str {
        match self.settings {
            Settings::Aws(_) => "aws",
            Settings::Http(_) => "http",
        }
    }
}

/// Whether two requests name the same compiled connection (the same object, not only the same name).
pub fn same(a: &Option<Arc<Connection>>, b: &Option<Arc<Connection>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

/// Clients built once per catalog, each on first use: one pooled HTTP client per http
/// connection and calling thread (plus one for tools without a connection), and one AWS SDK
/// configuration with its clients per aws connection (plus one for actions without a
/// connection). Reused across calls; cheap to share (`Arc` inside).
///
/// Build new clients whenever the catalog is rebuilt: a request rendered against another
/// catalog's connection is refused.
#[derive(Clone, Debug)]
pub struct Clients {
    inner: Arc<ClientsInner>,
}

#[derive(Debug)]
struct ClientsInner {
    http: HashMap<String, LazyHttp>,
    http_without_connection: LazyHttp,
    aws: HashMap<String, AwsClients>,
    aws_without_connection: AwsClients,
    /// Records or replays every backend exchange (`toolwright test`); `None` everywhere else.
    tape: Option<Arc<Tape>>,
}

/// An HTTP client built on first use: building one loads the system's root certificates
/// (a few milliseconds each), which a catalog with many connections would otherwise pay at
/// every start and every reload, for connections that may never be called.
///
/// One client (and so one connection pool) per thread that calls: the HTTP server runs one
/// event loop per thread, and a pooled connection lives on the loop that opened it, so a
/// shared pool would have every call wake another thread.
#[derive(Debug)]
struct LazyHttp {
    /// The connection, or none for tools without one. Also how a request rendered against
    /// another catalog's connection (whose policy may differ) is noticed.
    connection: Option<Arc<Connection>>,
    /// The client of each thread, kept once built; a failed build (a missing CA file or
    /// kubeconfig) is not kept, so the next call tries again and a fixed file is picked up.
    client: thread_local::ThreadLocal<HttpClient>,
    /// The connection's tokens (bearer file, OAuth, EKS) and Kubernetes server, shared by the
    /// clients of every thread.
    tokens: Arc<http::auth::TokenCache>,
}

impl LazyHttp {
    fn new(connection: Option<Arc<Connection>>) -> Self {
        LazyHttp { connection, client: thread_local::ThreadLocal::new(), tokens: Arc::default() }
    }

    fn get(&self) -> Result<&HttpClient, String> {
        self.client.get_or_try(|| match &self.connection {
            None => HttpClient::without_connection(),
            Some(connection) => match &connection.settings {
                Settings::Http(settings) => HttpClient::for_connection(&connection.name, settings, Arc::clone(&self.tokens)),
                Settings::Aws(_) => Err(format!("internal: connection `{}` is not an http connection", connection.name)),
            },
        })
    }
}

impl Clients {
    /// Prepares the clients of every connection; each is built on first use.
    pub fn new<'a>(connections: impl IntoIterator<Item = &'a Arc<Connection>>) -> Clients {
        Self::build(connections, None)
    }

    /// [`Clients::new`] whose every backend exchange goes through `tape` (recorded, or
    /// answered from a recording without any network), for `toolwright test`.
    pub fn with_tape<'a>(connections: impl IntoIterator<Item = &'a Arc<Connection>>, tape: Arc<Tape>) -> Clients {
        Self::build(connections, Some(tape))
    }

    fn build<'a>(connections: impl IntoIterator<Item = &'a Arc<Connection>>, tape: Option<Arc<Tape>>) -> Clients {
        let mut http = HashMap::new();
        let mut aws = HashMap::new();
        for connection in connections {
            match &connection.settings {
                Settings::Http(_) => {
                    http.insert(connection.name.clone(), LazyHttp::new(Some(Arc::clone(connection))));
                }
                Settings::Aws(settings) => {
                    aws.insert(connection.name.clone(), AwsClients::for_connection(connection, settings, tape.clone()));
                }
            }
        }
        Clients {
            inner: Arc::new(ClientsInner {
                http,
                http_without_connection: LazyHttp::new(None),
                aws,
                aws_without_connection: AwsClients::without_connection(tape.clone()),
                tape,
            }),
        }
    }

    /// The tape that records or replays the exchanges, under `toolwright test`.
    pub fn tape(&self) -> Option<&Arc<Tape>> {
        self.inner.tape.as_ref()
    }

    /// The time a call renders at: now, or a replayed recording's time (so that every
    /// clock-derived value renders as it was recorded).
    pub fn now(&self) -> std::time::SystemTime {
        self.inner.tape.as_ref().map_or_else(std::time::SystemTime::now, |t| t.now())
    }

    /// How a call reads `secret()`: resolved, except in a replay, which needs no credentials
    /// (the values are redacted in recordings, and rendered `***` as `render` shows them).
    pub fn secret_mode(&self) -> SecretMode {
        if self.inner.tape.as_ref().is_some_and(|t| t.replaying()) { SecretMode::Redact } else { SecretMode::Resolve }
    }

    /// The HTTP client of a request's connection, checked to be the one these clients were built for.
    pub fn http(&self, connection: Option<&Arc<Connection>>) -> Result<&HttpClient, String> {
        match connection {
            None => self.inner.http_without_connection.get(),
            Some(c) => built_for(&self.inner.http, c, "HTTP client", "was", |l| l.connection.as_ref())?.get(),
        }
    }

    /// The AWS clients of a request's connection, checked to be the ones these clients were built for.
    pub fn aws(&self, connection: Option<&Arc<Connection>>) -> Result<&AwsClients, String> {
        match connection {
            None => Ok(&self.inner.aws_without_connection),
            Some(c) => built_for(&self.inner.aws, c, "AWS clients", "were", |a| a.connection.as_ref()),
        }
    }
}

/// The clients kept for `connection`, if they were built for that very connection (not a
/// same-named one of another catalog, whose settings may differ).
fn built_for<'a, T>(
    kept: &'a HashMap<String, T>,
    connection: &Arc<Connection>,
    what: &str,
    verb: &str,
    built: impl Fn(&T) -> Option<&Arc<Connection>>,
) -> Result<&'a T, String> {
    let name = &connection.name;
    let clients = kept
        .get(name)
        .ok_or_else(|| format!("internal: no {what} for connection `{name}`; the backends were built for another catalog"))?;
    match built(clients) {
        Some(b) if Arc::ptr_eq(connection, b) => Ok(clients),
        _ => Err(format!(
            "internal: the {what} for connection `{name}` {verb} built for another catalog; rebuild the backends when the catalog changes"
        )),
    }
}
