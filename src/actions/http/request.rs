//! An HTTP request rendered from an [`HttpAction`] and the call's arguments: the URL under
//! the connection's base URL, query parameters, headers (connection defaults first) and the
//! JSON body. It carries everything its execution needs: the connection, the jq filter, the
//! output cap, and whether the URL path is free of caller values (for traces).

use std::sync::Arc;

use serde_json::{Value, json};

use super::{BodyTemplate, HttpAction, NextPage, Paginate, QueryValue, ResponseFormat, TokenTarget};
use crate::catalog::jq::JqFilter;
use crate::catalog::render::Renderer;
use crate::catalog::{ArgError, Template};
use crate::connections;
use crate::connections::http::{HttpAuth, SendAuth};
use crate::connections::{Connection, Settings};

/// A request body.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// A JSON value.
    Json(Value),
    /// Form fields in order, sent as `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

/// An HTTP request, ready to send.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// The connection it was rendered against; `None` for an absolute URL without one.
    pub connection: Option<Arc<Connection>>,
    /// Method.
    pub method: String,
    /// Full URL with query.
    pub url: url::Url,
    /// Headers, connection defaults first, then the tool's (which replace same-named ones).
    pub headers: Vec<(String, String)>,
    /// The body: JSON, or form fields.
    pub body: Option<Body>,
    /// The secret values the headers were rendered with, so that text coming back can be
    /// masked. Never printed.
    pub secrets: Vec<String>,
    /// The projection of a JSON response.
    pub jq: Option<Arc<JqFilter>>,
    /// How the answer is read.
    pub format: ResponseFormat,
    /// Pagination, if any.
    pub paginate: Option<Arc<Paginate>>,
    /// The answer becomes an embedded resource (`response.content: resource`).
    pub as_resource: bool,
    /// Cap on what the model receives.
    pub max_bytes: usize,
    /// Whether the URL was written without templates, so that its path holds no caller
    /// value and may be shown in traces.
    pub literal_url: bool,
    /// Authentication done at send time (a token file or an OAuth token); `basic` is already
    /// a header.
    pub auth: Option<Box<SendAuth>>,
}

impl PartialEq for HttpRequest {
    fn eq(&self, other: &Self) -> bool {
        crate::connections::same(&self.connection, &other.connection)
            && (&self.method, &self.url, &self.headers, &self.body, &self.secrets)
                == (&other.method, &other.url, &other.headers, &other.body, &other.secrets)
            && self.jq.as_ref().map(|f| f.source()) == other.jq.as_ref().map(|f| f.source())
            && self.format == other.format
            && self.paginate == other.paginate
            && (self.max_bytes, self.literal_url) == (other.max_bytes, other.literal_url)
            && self.auth == other.auth
    }
}

impl HttpAction {
    /// Renders the request. Secrets in headers are read, redacted or shown as placeholders as
    /// the render's secret mode says; the values read travel with the request for masking.
    pub fn render(&self, renderer: &Renderer<'_>, max_bytes: usize) -> Result<HttpRequest, ArgError> {
        let connection = renderer.connection(self.connection.as_deref());
        let settings = connection.as_deref().and_then(|c| match &c.settings {
            Settings::Http(h) => Some(h),
            Settings::Aws(_) => None,
        });
        let path = renderer.text(&self.url)?;
        let mut url = if path.starts_with("http://") || path.starts_with("https://") {
            url::Url::parse(&path).map_err(|e| ArgError::new(None, format!("URL `{path}` does not parse: {e}")))?
        } else {
            let base = settings
                .and_then(|c| c.base_url.as_ref())
                .ok_or_else(|| ArgError::new(None, "a relative URL needs a connection with a base_url"))?;
            join_url(base, &path)?
        };
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &self.query {
                for v in query_values(renderer, v)? {
                    pairs.append_pair(k, &v);
                }
            }
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        let connection_headers = settings.map(|c| c.headers.as_slice()).unwrap_or(&[]);
        for (k, t) in connection_headers.iter().chain(self.headers.iter()) {
            let v = renderer.text(t)?;
            if v.contains(['\r', '\n', '\0']) {
                return Err(ArgError::new(None, format!("header `{k}` would hold CR, LF or NUL")));
            }
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
            headers.push((k.clone(), v));
        }
        let json_body = self.body.as_ref().map(|b| body(renderer, b)).transpose()?;
        let form = match &self.form {
            None => None,
            Some(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                for (k, v) in fields {
                    out.extend(query_values(renderer, v)?.into_iter().map(|v| (k.clone(), v)));
                }
                Some(out)
            }
        };
        let body = json_body.map(Body::Json).or(form.map(Body::Form));
        let mut auth = None;
        // Values to mask in what comes back besides the secrets read (a basic credential is
        // its password in base64).
        let mut derived_secrets = Vec::new();
        match settings.and_then(|c| c.auth.as_deref()) {
            None => {}
            Some(HttpAuth::Basic { username, password }) => {
                use base64::Engine as _;
                let pair = format!("{}:{}", renderer.text(username)?, renderer.text(password)?);
                headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                headers.push(("Authorization".to_owned(), format!("Basic {encoded}")));
                derived_secrets.push(encoded);
            }
            Some(HttpAuth::BearerFile(path)) => auth = Some(Box::new(SendAuth::BearerFile(path.clone()))),
            Some(HttpAuth::AwsSigv4 { service, region, connection }) => {
                auth = Some(Box::new(SendAuth::AwsSigv4 {
                    service: service.clone(),
                    region: region.clone(),
                    aws: renderer.connection(connection.as_deref()),
                }));
            }
            Some(HttpAuth::Kubernetes(source)) => auth = Some(Box::new(SendAuth::Kubernetes(source.clone()))),
            Some(HttpAuth::Eks { cluster, region, connection }) => {
                auth = Some(Box::new(SendAuth::Eks {
                    cluster: cluster.clone(),
                    region: region.clone(),
                    aws: renderer.connection(Some(connection.as_str())),
                }));
            }
            Some(HttpAuth::OAuth2 { token_url, client_id, client_secret, scopes }) => {
                auth = Some(Box::new(SendAuth::OAuth2 {
                    token_url: token_url.clone(),
                    client_id: renderer.text(client_id)?,
                    client_secret: renderer.text(client_secret)?,
                    scopes: scopes.clone(),
                }));
            }
        }
        let mut secrets = crate::catalog::template::take_resolved_secrets();
        if !secrets.is_empty() {
            // Only when a secret was read: a literal credential is not a secret toolwright knows of.
            secrets.extend(derived_secrets);
        }
        Ok(HttpRequest {
            connection,
            method: self.method.clone(),
            url,
            headers,
            body,
            secrets,
            jq: self.jq.clone(),
            format: self.format,
            paginate: self.paginate.clone(),
            as_resource: self.as_resource,
            max_bytes,
            literal_url: matches!(self.url, Template::Literal(_)),
            auth,
        })
    }
}

impl HttpRequest {
    /// The call's deadline bounds the whole request; nothing runs past it.
    pub const GRACE: std::time::Duration = std::time::Duration::ZERO;

    /// Sends the request through its connection's client and shapes the response.
    pub async fn execute(
        self,
        clients: &crate::connections::Clients,
        ctx: &crate::actions::CallContext,
    ) -> Result<crate::actions::ToolOutput, String> {
        use crate::actions::LogLevel;
        // Without a client listening to log messages, the request goes out as it is (no timing,
        // no extra boxed future on the hot path).
        if ctx.log.is_none() {
            return self.send_to_backend(clients).await;
        }
        // The log names the method and the URL without its query (where values may be); the
        // path holds caller values only as percent-encoded segments, never secrets.
        let shown = ctx.log.is_some().then(|| {
            let mut u = self.url.clone();
            u.set_query(None);
            u.set_fragment(None);
            format!("{} {}", self.method, u)
        });
        if let Some(shown) = &shown {
            ctx.log(LogLevel::Debug, || format!("sending {shown}"));
        }
        let started = std::time::Instant::now();
        let answer = Box::pin(self.send_to_backend(clients)).await;
        if let Some(shown) = &shown {
            let took = started.elapsed().as_millis();
            match &answer {
                Ok(_) => ctx.log(LogLevel::Debug, || format!("{shown} answered in {took} ms")),
                Err(e) => ctx.log(LogLevel::Warning, || {
                    let cut: String = e.chars().take(200).collect();
                    format!("{shown} failed after {took} ms: {cut}")
                }),
            }
        }
        answer
    }

    async fn send_to_backend(self, clients: &crate::connections::Clients) -> Result<crate::actions::ToolOutput, String> {
        let client = clients.http(self.connection.as_ref())?;
        let mut request = self;
        // A Kubernetes connection's requests were rendered under a placeholder origin: the
        // server is the one the client read (from the pod's environment or the kubeconfig).
        if let Some(target) = client.kube() {
            request.url = target.rebase(&request.url);
        }
        // Signature V4: credentials (and the region, unless the spec gives one) from the `aws`
        // connection's clients, which keep them between calls. EKS: a token presigned with them.
        let mut prepared = super::execute::Prepared { tape: clients.tape().cloned(), ..Default::default() };
        // A replay sends nothing, so it needs no credentials (nor asks for any).
        let replaying = clients.tape().is_some_and(|t| t.replaying());
        match request.auth.as_deref().filter(|_| !replaying) {
            Some(SendAuth::AwsSigv4 { service, region, aws }) => {
                let (credentials, chain_region) = Box::pin(clients.aws(aws.as_ref())?.signing_credentials()).await?;
                let region = region.clone().or(chain_region).ok_or_else(|| {
                    "no AWS region to sign for: set `region` in `auth.aws_sigv4` or in its `aws` connection, or AWS_REGION".to_owned()
                })?;
                prepared.signer = Some(connections::http::auth::Signer { credentials, region, service: service.clone() });
            }
            Some(SendAuth::Eks { cluster, region, aws }) => {
                let aws = clients.aws(aws.as_ref())?;
                let token = Box::pin(connections::http::auth::eks_token(&client.tokens, aws, cluster, region.as_deref())).await?;
                prepared.bearer = Some(token);
            }
            _ => {}
        }
        super::execute::execute(client, request, prepared).await
    }

    /// The client span: method, host, port and scheme; the path only for a literal URL.
    pub fn span(&self) -> tracing::Span {
        crate::telemetry::http_span(&self.method, &self.url, self.literal_url)
    }

    /// The request as JSON, for `toolwright render`.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "action": "http",
            "connection": self.connection.as_ref().map(|c| c.name.as_str()),
            "method": self.method,
            "url": self.url.as_str(),
            "headers": Value::Object(self.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            "body": match &self.body {
                Some(Body::Json(v)) => v.clone(),
                _ => Value::Null,
            },
        });
        if let (Some(Body::Form(fields)), Some(map)) = (&self.body, out.as_object_mut()) {
            map.insert("form".to_owned(), Value::Object(fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect()));
        }
        // What is added at send time, without its secret.
        let auth = match self.auth.as_deref() {
            None => None,
            Some(SendAuth::BearerFile(path)) => Some(json!({"bearer_file": path.display().to_string()})),
            Some(SendAuth::OAuth2 { token_url, .. }) => Some(json!({"oauth2_client_credentials": {"token_url": token_url.as_str()}})),
            Some(SendAuth::AwsSigv4 { service, region, aws }) => Some(json!({"aws_sigv4": {
                "service": service,
                "region": region,
                "connection": aws.as_ref().map(|c| c.name.as_str()),
            }})),
            // The URL's origin is a placeholder: the server comes from here when the call is made.
            Some(SendAuth::Kubernetes(connections::http::KubeSource::InCluster)) => Some(json!({"kubernetes": "in_cluster"})),
            Some(SendAuth::Kubernetes(connections::http::KubeSource::Kubeconfig { path, context })) => Some(json!({"kubernetes": {
                "kubeconfig": path.display().to_string(),
                "context": context,
            }})),
            Some(SendAuth::Eks { cluster, region, aws }) => Some(json!({"eks": {
                "cluster": cluster,
                "region": region,
                "connection": aws.as_ref().map(|c| c.name.as_str()),
            }})),
        };
        if let (Some(auth), Some(object)) = (auth, out.as_object_mut()) {
            object.insert("auth".to_owned(), auth);
        }
        // How the answer will be read, when that is more than "JSON, one request".
        if (self.format != ResponseFormat::Json || self.paginate.is_some())
            && let Some(object) = out.as_object_mut()
        {
            let format = match self.format {
                ResponseFormat::Json => "json",
                ResponseFormat::Xml => "xml",
                ResponseFormat::Text => "text",
            };
            let mut response = json!({"format": format});
            if let (Some(p), Some(map)) = (&self.paginate, response.as_object_mut()) {
                let mut paginate = match &p.next {
                    NextPage::Link => json!({"link": true}),
                    NextPage::Token { next, target } => {
                        let (place, name) = match target {
                            TokenTarget::Query(n) => ("query", n),
                            TokenTarget::Body(n) => ("body", n),
                            TokenTarget::Form(n) => ("form", n),
                            TokenTarget::Header(n) => ("header", n),
                        };
                        json!({"next": next.source(), "set": {place: name}})
                    }
                };
                if let Some(fields) = paginate.as_object_mut() {
                    fields.insert("items".to_owned(), json!(p.items.as_ref().map(|f| f.source())));
                    fields.insert("max_pages".to_owned(), json!(p.max_pages));
                }
                map.insert("paginate".to_owned(), paginate);
            }
            object.insert("response".to_owned(), response);
        }
        out
    }
}

/// Encodes form fields as `application/x-www-form-urlencoded` (spaces as `+`, everything but
/// letters, digits and `*-._` percent-encoded as UTF-8).
pub fn encode_form(fields: &[(String, String)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

/// The values a query parameter or form field is sent with: one, none (an absent or null
/// argument) or one per element of a list argument.
fn query_values(renderer: &Renderer<'_>, value: &QueryValue) -> Result<Vec<String>, ArgError> {
    Ok(match value {
        QueryValue::Str(t) => vec![renderer.text(t)?],
        QueryValue::Literal(s) => vec![s.clone()],
        QueryValue::Argument(name) => match renderer.args.get(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(crate::catalog::template::plain_text).collect(),
            Some(v) => vec![crate::catalog::template::plain_text(v)],
        },
    })
}

fn body(renderer: &Renderer<'_>, template: &BodyTemplate) -> Result<Value, ArgError> {
    Ok(match template {
        BodyTemplate::Literal(v) => v.clone(),
        BodyTemplate::Str(t) => Value::String(renderer.text(t)?),
        BodyTemplate::Typed(t) => {
            let s = renderer.text(t)?;
            serde_json::from_str(&s).map_err(|e| ArgError::new(None, format!("internal: body value did not render as JSON: {e}")))?
        }
        BodyTemplate::Array(items) => Value::Array(items.iter().map(|i| body(renderer, i)).collect::<Result<_, _>>()?),
        BodyTemplate::Object(entries) => {
            Value::Object(entries.iter().map(|(k, v)| Ok((k.clone(), body(renderer, v)?))).collect::<Result<_, ArgError>>()?)
        }
    })
}

/// `path` (the rendered URL template) under a connection's `base_url`. When neither holds
/// a query, a fragment or a backslash, only the path is parsed (the base's scheme and host
/// were parsed once, at compile time); the result is what parsing the joined text gives.
fn join_url(base: &url::Url, path: &str) -> Result<url::Url, ArgError> {
    let joined_path = format!("{}/{}", base.path().trim_end_matches('/'), path.trim_start_matches('/'));
    if base.query().is_none() && base.fragment().is_none() && !joined_path.contains(['?', '#', '\\']) && !base.cannot_be_a_base() {
        let mut url = base.clone();
        url.set_path(&joined_path);
        return Ok(url);
    }
    let joined = format!("{}/{}", base.as_str().trim_end_matches('/'), path.trim_start_matches('/'));
    url::Url::parse(&joined).map_err(|e| ArgError::new(None, format!("URL `{joined}` does not parse: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Joining by setting the path gives exactly what parsing the joined text gives.
    #[test]
    fn join_url_matches_parsing_the_joined_text() {
        let bases = [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "https://api.example.com/v1",
            "https://api.example.com/v1/",
            "http://h/a%20b/",
        ];
        let paths = [
            "",
            "/",
            "/items/42",
            "items/42",
            "//double",
            "/a/../b",
            "/a/./b/..",
            "/%2F/x",
            "/caf\u{e9} space/\u{1F600}",
            "/x%zz",
            "/semi;colon/pipe|/brace{}",
            "/tail/",
            "/q?x=1",
            "/frag#f",
            "/back\\slash",
        ];
        for b in bases {
            let base = url::Url::parse(b).expect("base");
            for p in paths {
                let joined = format!("{}/{}", base.as_str().trim_end_matches('/'), p.trim_start_matches('/'));
                let parsed = url::Url::parse(&joined).map_err(|e| e.to_string());
                let ours = join_url(&base, p).map_err(|e| e.message);
                assert_eq!(ours.map(|u| u.to_string()).ok(), parsed.map(|u| u.to_string()).ok(), "{b} + {p}");
            }
        }
    }
}
