//! Arguments in, backend request out: validation, defaults, contextual escaping.
//! One code path for `tools/call`, `call`, `render` and lint's examples.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::catalog::{Action, BodyTpl, Catalog, CompiledTool, Connection, QueryValue, Tpl, WindowTpl};
use super::templates::{SecretMode, with_secret_mode};
use crate::spec::model::JsonObject;
use crate::util::parse_duration;

/// Why arguments were refused or could not be rendered; the message is written for a model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ArgError {
    /// The argument at fault, when one is.
    pub argument: Option<String>,
    /// What was wrong and what was expected.
    pub message: String,
}

impl ArgError {
    fn new(argument: Option<&str>, message: impl Into<String>) -> Self {
        ArgError { argument: argument.map(str::to_owned), message: message.into() }
    }
}

/// A Logs Insights request.
#[derive(Clone, Debug, PartialEq)]
pub struct LogsRequest {
    /// Connection name.
    pub connection: Option<String>,
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
}

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

/// A GetMetricData request.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsRequest {
    /// Connection name.
    pub connection: Option<String>,
    /// Queries.
    pub queries: Vec<MetricQuery>,
    /// Period in seconds (given or chosen from the window).
    pub period: i32,
    /// Window start, seconds since the epoch.
    pub start: i64,
    /// Window end, seconds since the epoch.
    pub end: i64,
}

/// An HTTP request.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    /// Connection name.
    pub connection: Option<String>,
    /// Method.
    pub method: String,
    /// Full URL with query.
    pub url: url::Url,
    /// Headers, connection defaults first, then the tool's (which replace same-named ones).
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
    /// The secret values the headers were rendered with, so that text coming back can be
    /// masked. Never printed.
    pub secrets: Vec<String>,
}

/// A rendered backend request.
#[derive(Clone, Debug, PartialEq)]
pub enum Rendered {
    /// Logs Insights.
    LogsInsights(LogsRequest),
    /// GetMetricData.
    Metrics(MetricsRequest),
    /// HTTP.
    Http(HttpRequest),
}

fn rfc3339(secs: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Rendered {
    /// The request as JSON, for `toolwright render`.
    pub fn to_json(&self) -> Value {
        match self {
            Rendered::LogsInsights(r) => json!({
                "action": "logs_insights",
                "connection": r.connection,
                "log_groups": r.log_groups,
                "query": r.query,
                "start": rfc3339(r.start),
                "end": rfc3339(r.end),
                "limit": r.limit,
            }),
            Rendered::Metrics(r) => json!({
                "action": "metrics",
                "connection": r.connection,
                "period": r.period,
                "start": rfc3339(r.start),
                "end": rfc3339(r.end),
                "queries": r.queries.iter().map(|q| {
                    let mut o = serde_json::Map::new();
                    o.insert("id".into(), json!(q.id));
                    for (k, v) in [("namespace", &q.namespace), ("metric", &q.metric), ("stat", &q.stat), ("expression", &q.expression), ("label", &q.label), ("unit", &q.unit)] {
                        if let Some(v) = v { o.insert(k.into(), json!(v)); }
                    }
                    if !q.dimensions.is_empty() {
                        o.insert("dimensions".into(), Value::Object(q.dimensions.iter().map(|(k, v)| (k.clone(), json!(v))).collect()));
                    }
                    o.insert("return_data".into(), json!(q.return_data));
                    Value::Object(o)
                }).collect::<Vec<_>>(),
            }),
            Rendered::Http(r) => json!({
                "action": "http",
                "connection": r.connection,
                "method": r.method,
                "url": r.url.as_str(),
                "headers": Value::Object(r.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
                "body": r.body,
            }),
        }
    }
}

impl CompiledTool {
    /// Validates arguments with the compiled validator, applies defaults and checks every
    /// value for the contexts it lands in. The error names the argument and what was expected.
    pub fn prepare_args(&self, args: Option<&JsonObject>) -> Result<JsonObject, ArgError> {
        let validator = self.validator.get().map_err(|e| ArgError::new(None, format!("internal: the input {e}")))?;
        self.prepare_args_with(validator, args)
    }

    /// [`CompiledTool::prepare_args`] with a given input validator (the compile's own, for
    /// the examples, before the tool keeps none).
    pub(crate) fn prepare_args_with(&self, validator: &jsonschema::Validator, args: Option<&JsonObject>) -> Result<JsonObject, ArgError> {
        let mut args = args.cloned().unwrap_or_default();
        for (name, value) in &self.defaults {
            if !args.contains_key(name) {
                args.insert(name.clone(), value.clone());
            }
        }
        let instance = Value::Object(args);
        let mut problems = Vec::new();
        let mut first_arg = None;
        for err in validator.iter_errors(&instance).take(10) {
            let path = err.instance_path().as_str().to_owned();
            let arg = path.split('/').nth(1).map(|s| s.replace("~1", "/").replace("~0", "~"));
            let text = match err.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let p = property.as_str().unwrap_or("?").to_owned();
                    first_arg.get_or_insert(p.clone());
                    format!("missing required argument `{p}`")
                }
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let known: Vec<String> = self
                        .input_schema
                        .get("properties")
                        .and_then(Value::as_object)
                        .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
                        .unwrap_or_default();
                    first_arg.get_or_insert(unexpected.first().cloned().unwrap_or_default());
                    format!(
                        "unknown argument(s) {}; expected {}",
                        unexpected.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
                        if known.is_empty() { "no arguments".to_owned() } else { format!("one of {}", known.join(", ")) }
                    )
                }
                _ => {
                    let display = err.to_string();
                    match &arg {
                        Some(a) => {
                            first_arg.get_or_insert(a.clone());
                            format!("argument `{}`: {display}", &path[1..])
                        }
                        None => format!("arguments: {display}"),
                    }
                }
            };
            problems.push(text);
        }
        if !problems.is_empty() {
            return Err(ArgError { argument: first_arg, message: format!("invalid arguments: {}", problems.join("; ")) });
        }
        let Value::Object(args) = instance else { unreachable!("constructed as an object above") };
        for (name, ctxs) in &self.arg_contexts {
            if let Some(value) = args.get(name) {
                for ctx in ctxs {
                    ctx.check(value)
                        .map_err(|m| ArgError::new(Some(name), format!("argument `{name}` is refused for {}: {m}", ctx.describe())))?;
                }
            }
        }
        Ok(args)
    }
}

struct Renderer<'a> {
    catalog: &'a Catalog,
    args: &'a JsonObject,
    /// The arguments as a minijinja value, built on first use (simple templates do not need it).
    ctx: std::cell::OnceCell<minijinja::Value>,
}

impl Renderer<'_> {
    fn text(&self, tpl: &Tpl) -> Result<String, ArgError> {
        match tpl {
            Tpl::Lit(s) => Ok(s.clone()),
            Tpl::Simple(t) => t.render(self.args).map_err(|e| ArgError::new(None, render_error_text(&e))),
            Tpl::Tmpl(name) => {
                let t = self.catalog.env().get_template(name).map_err(|e| ArgError::new(None, format!("internal: {e}")))?;
                let ctx = self.ctx.get_or_init(|| minijinja::Value::from(minijinja::value::Serde(self.args)));
                t.render(ctx).map_err(|e| ArgError::new(None, render_error_text(&e)))
            }
        }
    }

    fn window(&self, w: &WindowTpl, now: i64) -> Result<(i64, i64), ArgError> {
        let secs = |tpl: &Tpl, what: &str| -> Result<i64, ArgError> {
            let s = self.text(tpl)?;
            parse_duration(&s)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .map_err(|m| ArgError::new(None, format!("`{what}` {m}")))
        };
        let stamp = |tpl: &Tpl, what: &str| -> Result<i64, ArgError> {
            let s = self.text(tpl)?;
            let t = humantime::parse_rfc3339_weak(s.trim())
                .map_err(|_| ArgError::new(None, format!("`{what}` is `{s}`, not an RFC 3339 timestamp such as 2026-11-24T10:00:00Z")))?;
            Ok(t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
        };
        let (start, end) = match w {
            WindowTpl::Since { since, until } => {
                let s = secs(since, "since")?;
                let u = match until {
                    Some(u) => secs(u, "until")?,
                    None => 0,
                };
                (now.saturating_sub(s), now.saturating_sub(u))
            }
            WindowTpl::Range { start, end } => {
                let s = stamp(start, "start")?;
                let e = match end {
                    Some(e) => stamp(e, "end")?,
                    None => now,
                };
                (s, e)
            }
        };
        if start >= end {
            return Err(ArgError::new(None, "the time window is empty: its start is not before its end"));
        }
        Ok((start, end))
    }

    fn body(&self, b: &BodyTpl) -> Result<Value, ArgError> {
        Ok(match b {
            BodyTpl::Lit(v) => v.clone(),
            BodyTpl::Str(t) => Value::String(self.text(t)?),
            BodyTpl::Typed(t) => {
                let s = self.text(t)?;
                serde_json::from_str(&s).map_err(|e| ArgError::new(None, format!("internal: body value did not render as JSON: {e}")))?
            }
            BodyTpl::Array(items) => Value::Array(items.iter().map(|i| self.body(i)).collect::<Result<_, _>>()?),
            BodyTpl::Object(entries) => {
                Value::Object(entries.iter().map(|(k, v)| Ok((k.clone(), self.body(v)?))).collect::<Result<_, ArgError>>()?)
            }
        })
    }
}

/// Turns a minijinja render error into a message without template internals.
fn render_error_text(e: &minijinja::Error) -> String {
    let detail = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
    match e.kind() {
        minijinja::ErrorKind::UndefinedError => format!("a template reads an argument that was not given ({detail})"),
        _ => detail,
    }
}

/// A period for a window by CloudWatch's rules: at least 60 s and a multiple of 60;
/// 300 beyond 15 days; 3,600 beyond 63 days; at most 100,800 points.
pub fn choose_period(window_secs: i64) -> i32 {
    const DAY: i64 = 86_400;
    let mut period: i64 = if window_secs > 63 * DAY {
        3_600
    } else if window_secs > 15 * DAY {
        300
    } else {
        60
    };
    let needed = (window_secs + 100_799) / 100_800;
    if needed > period {
        period = (needed + 59) / 60 * 60;
    }
    i32::try_from(period).unwrap_or(i32::MAX)
}

/// Whether a period is one CloudWatch accepts.
pub fn valid_period(secs: u64) -> bool {
    matches!(secs, 1 | 5 | 10 | 20 | 30) || (secs >= 60 && secs.is_multiple_of(60))
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

/// Renders a tool's action with prepared arguments (see [`CompiledTool::prepare_args`]).
/// Nothing is sent. `now` is seconds since the epoch.
pub fn render(
    catalog: &Catalog,
    tool: &CompiledTool,
    args: &JsonObject,
    now: SystemTime,
    secrets: SecretMode,
) -> Result<Rendered, ArgError> {
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let r = Renderer { catalog, args, ctx: std::cell::OnceCell::new() };
    with_secret_mode(secrets, || match &tool.action {
        Action::LogsInsights(a) => {
            let log_groups = a.log_groups.iter().map(|t| r.text(t)).collect::<Result<Vec<_>, _>>()?;
            for g in &log_groups {
                check_log_group(g)?;
            }
            let query = r.text(&a.query)?;
            if query.trim().is_empty() {
                return Err(ArgError::new(None, "the query rendered empty"));
            }
            if query.chars().count() > 10_000 {
                return Err(ArgError::new(None, "the query is longer than 10,000 characters"));
            }
            let (start, end) = r.window(&a.window, now)?;
            Ok(Rendered::LogsInsights(super::render::LogsRequest {
                connection: a.connection.clone(),
                log_groups,
                query,
                start,
                end,
                limit: a.limit,
            }))
        }
        Action::Metrics(a) => {
            let (start, end) = r.window(&a.window, now)?;
            let period = match &a.period {
                Some(p) => {
                    let s = r.text(p)?;
                    let d = parse_duration(&s).map_err(|m| ArgError::new(None, format!("`period` {m}")))?;
                    if !valid_period(d.as_secs()) || d.subsec_nanos() != 0 {
                        return Err(ArgError::new(None, format!("period `{s}` must be 1, 5, 10, 20 or 30 seconds or a multiple of 60")));
                    }
                    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
                }
                None => choose_period(end - start),
            };
            let opt = |t: &Option<Tpl>| t.as_ref().map(|t| r.text(t)).transpose();
            let mut queries = Vec::with_capacity(a.queries.len());
            for q in &a.queries {
                queries.push(MetricQuery {
                    id: q.id.clone(),
                    namespace: opt(&q.namespace)?,
                    metric: opt(&q.metric)?,
                    dimensions: q.dimensions.iter().map(|(k, v)| Ok((k.clone(), r.text(v)?))).collect::<Result<_, ArgError>>()?,
                    stat: opt(&q.stat)?,
                    expression: opt(&q.expression)?,
                    label: opt(&q.label)?,
                    unit: q.unit.clone(),
                    return_data: q.return_data,
                });
            }
            Ok(Rendered::Metrics(MetricsRequest { connection: a.connection.clone(), queries, period, start, end }))
        }
        Action::Http(a) => {
            let conn = a.connection.as_deref().and_then(|c| catalog.connection(c)).and_then(|c| match c.as_ref() {
                Connection::Http(h) => Some(h),
                Connection::Aws(_) => None,
            });
            let path = r.text(&a.url)?;
            let mut url = if path.starts_with("http://") || path.starts_with("https://") {
                url::Url::parse(&path).map_err(|e| ArgError::new(None, format!("URL `{path}` does not parse: {e}")))?
            } else {
                let base = conn
                    .and_then(|c| c.base_url.as_ref())
                    .ok_or_else(|| ArgError::new(None, "a relative URL needs a connection with a base_url"))?;
                join_url(base, &path)?
            };
            if !a.query.is_empty() {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in &a.query {
                    let v = match v {
                        QueryValue::Str(t) => r.text(t)?,
                        QueryValue::Lit(s) => s.clone(),
                    };
                    pairs.append_pair(k, &v);
                }
            }
            let mut headers: Vec<(String, String)> = Vec::new();
            let conn_headers = conn.map(|c| c.headers.as_slice()).unwrap_or(&[]);
            for (k, t) in conn_headers.iter().chain(a.headers.iter()) {
                let v = r.text(t)?;
                if v.contains(['\r', '\n', '\0']) {
                    return Err(ArgError::new(None, format!("header `{k}` would hold CR, LF or NUL")));
                }
                headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
                headers.push((k.clone(), v));
            }
            let body = a.body.as_ref().map(|b| r.body(b)).transpose()?;
            let secrets = super::templates::take_resolved_secrets();
            Ok(Rendered::Http(HttpRequest { connection: a.connection.clone(), method: a.method.clone(), url, headers, body, secrets }))
        }
    })
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
