//! Compiles an `http` action: method, URL (templates only in the path), query, headers,
//! the body as a value tree, and the jq projection.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde_json::Value;

use super::spec::{ContentSpec, FormatSpec, HttpSpec, PaginateSpec};
use super::{BodyTemplate, DEFAULT_MAX_PAGES, HttpAction, MAX_PAGES_LIMIT, NextPage, Paginate, QueryValue, ResponseFormat, TokenTarget};
use crate::actions::Connections;
use crate::catalog::Template;
use crate::catalog::template::Escape;
use crate::compile::Compiler;
use crate::compile::context::TemplateUse;
use crate::connections::Settings;
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::yaml::push_escaped;
use crate::util::is_template;

/// A body leaf that keeps its JSON type: exactly `{{ x }}` (a variable path) or a clock function
/// that gives a number (`{{ epoch('1h') }}`, `{{ epoch_ms() }}`).
static TYPED_LEAF_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]{}]*\])*|epoch(_ms)?\([^{}()]*\))\s*-?\}\}$")
        .expect("static regex")
});
/// A query parameter or form field that is exactly one argument, `{{ name }}`.
static ARGUMENT_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}$").expect("static regex"));
static TEMPLATE_EXPR_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{.*?\}\}|\{%.*?%\}").expect("static regex"));

/// Compiles the action; `None` when it has errors (all reported).
pub(crate) fn compile(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    base: &str,
    spec: &HttpSpec,
    conns: &Connections,
    uses: &mut Vec<TemplateUse>,
) -> Option<HttpAction> {
    let mut ok = compiler.resolve_connection(doc, &format!("{base}/connection"), &spec.connection, "http", conns);
    let method = spec.method.clone().unwrap_or_else(|| "GET".to_owned()).to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") {
        compiler.push(
            doc,
            Code::InvalidHttpMethod,
            &format!("{base}/method"),
            format!("`{}` is not an HTTP method; use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", spec.method.as_deref().unwrap_or("")),
        );
        ok = false;
    }
    // The URL must parse once every template expression is replaced by a sample segment.
    let sample = TEMPLATE_EXPR_RE.replace_all(&spec.url, "x").into_owned();
    let absolute = sample.starts_with("http://") || sample.starts_with("https://");
    let url_pointer = format!("{base}/url");
    if absolute {
        if let Err(e) = url::Url::parse(&sample) {
            compiler.push(doc, Code::InvalidUrl, &url_pointer, format!("URL `{}` does not parse: {e}", spec.url));
            ok = false;
        }
    } else if sample.contains("://") {
        compiler.push(doc, Code::InvalidUrl, &url_pointer, format!("URL `{}` must be http or https", spec.url));
        ok = false;
    } else {
        let base_ok = spec
            .connection
            .as_ref()
            .and_then(|name| conns.get(name))
            .is_some_and(|conn| matches!(&conn.settings, Settings::Http(hc) if hc.base_url.is_some()));
        let connection_ok = spec.connection.as_ref().is_none_or(|name| conns.contains_key(name));
        if !base_ok
            && connection_ok
            && !spec.connection.as_ref().is_some_and(|name| conns.get(name).is_some_and(|conn| matches!(&conn.settings, Settings::Aws(_))))
        {
            compiler
                .push(doc, Code::InvalidUrl, &url_pointer, format!("relative URL `{}` needs a `connection` with a base_url", spec.url))
                .help = Some("set `connection:` to an http connection, or write an absolute https:// URL".to_owned());
            ok = false;
        } else if url::Url::parse("http://example.invalid/").and_then(|b| b.join(sample.trim_start_matches('/'))).is_err() {
            compiler.push(doc, Code::InvalidUrl, &url_pointer, format!("URL `{}` does not parse", spec.url));
            ok = false;
        }
    }
    // The caller may fill in path segments, never the scheme or the host.
    if absolute {
        let after_scheme = spec.url.find("://").map_or(0, |i| i + 3);
        let authority_end = spec.url[after_scheme..].find('/').map_or(spec.url.len(), |i| after_scheme + i);
        if is_template(&spec.url[..authority_end]) {
            compiler
                .push(
                    doc,
                    Code::InvalidUrl,
                    &url_pointer,
                    format!("URL `{}` has a template in its scheme or host; only the path may hold templates", spec.url),
                )
                .help = Some("put the host in a connection's base_url, or write it literally".to_owned());
            ok = false;
        }
    }
    let url = compiler.template(doc, &url_pointer, &spec.url, Escape::Url, uses);
    let mut query = Vec::new();
    for (k, v) in spec.query.iter().flatten() {
        let mut p = format!("{base}/query/");
        push_escaped(&mut p, k);
        match query_value(compiler, doc, &p, &v.0, uses) {
            Some(value) => query.push((k.clone(), value)),
            None => ok = false,
        }
    }
    let headers = crate::connections::http::compile::headers(
        compiler,
        doc,
        &format!("{base}/headers"),
        spec.headers.as_ref().unwrap_or(&BTreeMap::new()),
        uses,
    );
    let body = spec.body.as_ref().and_then(|b| body(compiler, doc, &format!("{base}/body"), b, uses));
    if spec.body.is_some() && body.is_none() {
        ok = false;
    }
    let mut form = None;
    if let Some(fields) = &spec.form {
        let mut out = Vec::with_capacity(fields.len());
        for (k, v) in fields {
            let mut p = format!("{base}/form/");
            push_escaped(&mut p, k);
            match query_value(compiler, doc, &p, v, uses) {
                Some(value) => out.push((k.clone(), value)),
                None => ok = false,
            }
        }
        form = Some(out);
        if spec.body.is_some() {
            compiler
                .push_key(doc, Code::FormAndBody, &format!("{base}/form"), "`form` and `body` exclude each other: a request has one body")
                .help = Some("keep `form` for an application/x-www-form-urlencoded body, or `body` for a JSON body".to_owned());
            ok = false;
        }
    }
    let response = spec.response.clone().unwrap_or_default();
    let format = match response.format {
        None | Some(FormatSpec::Json) => ResponseFormat::Json,
        Some(FormatSpec::Xml) => ResponseFormat::Xml,
        Some(FormatSpec::Text) => ResponseFormat::Text,
    };
    let jq = response.jq.as_ref().and_then(|src| compiler.jq_filter(doc, &format!("{base}/response/jq"), src, &mut ok));
    if format == ResponseFormat::Text && response.jq.is_some() {
        compiler
            .push(
                doc,
                Code::InvalidValue,
                &format!("{base}/response/format"),
                "`format: text` returns the answer as text, so `jq` cannot run on it",
            )
            .help = Some("use `format: json` (or `xml`) with `jq`, or drop `jq`".to_owned());
        ok = false;
    }
    let paginate = match &response.paginate {
        None => None,
        Some(p) => paginate(compiler, doc, &format!("{base}/response/paginate"), p, spec, format, &mut ok).map(Arc::new),
    };
    let as_resource = response.content == Some(ContentSpec::Resource);
    if as_resource && (response.jq.is_some() || response.paginate.is_some() || response.format.is_some()) {
        compiler
            .push(
                doc,
                Code::InvalidValue,
                &format!("{base}/response/content"),
                "`content: resource` returns the answer as it came, so `jq`, `format` and `paginate` cannot shape it",
            )
            .help = Some("drop `jq`, `format` and `paginate`, or drop `content: resource`".to_owned());
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(HttpAction {
        connection: spec.connection.clone(),
        method,
        url: url?,
        query,
        headers,
        body,
        form,
        jq,
        format,
        paginate,
        as_resource,
    })
}

/// A query parameter or form field value: exactly `{{ name }}` is the argument itself (a list
/// repeats the parameter, absent or null leaves it out), any other string a template.
fn query_value(compiler: &mut Compiler<'_>, doc: &Document, pointer: &str, v: &Value, uses: &mut Vec<TemplateUse>) -> Option<QueryValue> {
    match v {
        Value::String(s) => {
            if let Some(name) = ARGUMENT_RE.captures(s.trim()).and_then(|c| c.get(1)).map(|m| m.as_str())
                && !crate::catalog::template::GLOBALS.contains(&name)
            {
                let vars: std::collections::BTreeSet<String> = std::iter::once(name.to_owned()).collect();
                uses.push(TemplateUse { paths: vars.clone(), vars, ctx: Escape::QueryValues, pointer: pointer.to_owned(), guarded: true });
                return Some(QueryValue::Argument(name.to_owned()));
            }
            compiler.template(doc, pointer, s, Escape::QueryParam, uses).map(QueryValue::Str)
        }
        other => Some(QueryValue::Literal(other.to_string())),
    }
}

fn body(compiler: &mut Compiler<'_>, doc: &Document, pointer: &str, v: &Value, uses: &mut Vec<TemplateUse>) -> Option<BodyTemplate> {
    Some(match v {
        Value::String(s) if TYPED_LEAF_RE.is_match(s.trim()) => {
            BodyTemplate::Typed(compiler.template(doc, pointer, s.trim(), Escape::BodyValue, uses)?)
        }
        Value::String(s) => match compiler.template(doc, pointer, s, Escape::BodyString, uses)? {
            Template::Literal(l) => BodyTemplate::Literal(Value::String(l)),
            t => BodyTemplate::Str(t),
        },
        Value::Array(items) => {
            let mut out = Vec::new();
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                match body(compiler, doc, &format!("{pointer}/{i}"), item, uses) {
                    Some(b) => out.push(b),
                    None => ok = false,
                }
            }
            if !ok {
                return None;
            }
            BodyTemplate::Array(out)
        }
        Value::Object(map) => {
            let mut out = Vec::new();
            let mut ok = true;
            for (k, item) in map {
                let mut p = pointer.to_owned();
                p.push('/');
                push_escaped(&mut p, k);
                match body(compiler, doc, &p, item, uses) {
                    Some(b) => out.push((k.clone(), b)),
                    None => ok = false,
                }
            }
            if !ok {
                return None;
            }
            BodyTemplate::Object(out)
        }
        other => BodyTemplate::Literal(other.clone()),
    })
}

/// Compiles `response.paginate`: `next` with exactly one `set` target, or `link: true`.
fn paginate(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    base: &str,
    spec: &PaginateSpec,
    http: &HttpSpec,
    format: ResponseFormat,
    ok: &mut bool,
) -> Option<Paginate> {
    let fail = |compiler: &mut Compiler<'_>, pointer: String, message: String, help: &str| {
        compiler.push(doc, Code::InvalidPagination, &pointer, message).help = Some(help.to_owned());
        false
    };
    let mut good = true;
    if format == ResponseFormat::Text {
        good = fail(
            compiler,
            base.to_owned(),
            "`paginate` reads each page as JSON, but `format: text` returns the answer as text".to_owned(),
            "use `format: json` or `format: xml` with `paginate`",
        );
    }
    let link = spec.link.unwrap_or(false);
    let next = if link {
        if spec.next.is_some() || spec.set.is_some() {
            let key = if spec.next.is_some() { "next" } else { "set" };
            good = fail(
                compiler,
                format!("{base}/{key}"),
                "`link: true` follows the Link header; it takes no `next` or `set`".to_owned(),
                "keep `link: true`, or `next` with `set`, not both",
            );
        }
        Some(NextPage::Link)
    } else {
        let target = match &spec.set {
            None => None,
            Some(set) => {
                let given: Vec<(&str, &String)> =
                    [("query", &set.query), ("body", &set.body), ("form", &set.form), ("header", &set.header)]
                        .into_iter()
                        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
                        .collect();
                match given.as_slice() {
                    [(kind, name)] => {
                        let name = (*name).clone();
                        let pointer = format!("{base}/set/{kind}");
                        match *kind {
                            "query" => Some(TokenTarget::Query(name)),
                            "header" => {
                                if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                                    good = fail(
                                        compiler,
                                        pointer,
                                        format!("`{name}` is not a valid HTTP header name"),
                                        "use a header name such as X-Next-Token",
                                    );
                                }
                                Some(TokenTarget::Header(name))
                            }
                            "form" => {
                                if http.form.is_none() {
                                    good = fail(
                                        compiler,
                                        pointer,
                                        "`set: {form: ...}` needs the action to send a `form` body".to_owned(),
                                        "add `form:` to the action, or set the token as a query parameter",
                                    );
                                }
                                Some(TokenTarget::Form(name))
                            }
                            _ => {
                                if http.form.is_some() || http.body.as_ref().is_some_and(|b| !b.is_object()) {
                                    good = fail(
                                        compiler,
                                        pointer,
                                        "`set: {body: ...}` sets a field of a JSON object body; this action's body is not one".to_owned(),
                                        "write `body:` as a mapping, or set the token elsewhere",
                                    );
                                }
                                Some(TokenTarget::Body(name))
                            }
                        }
                    }
                    _ => {
                        good = fail(
                            compiler,
                            format!("{base}/set"),
                            format!("`set` needs exactly one of query, body, form or header (found {})", given.len()),
                            "for example `set: {query: nextToken}`",
                        );
                        None
                    }
                }
            }
        };
        match (&spec.next, target) {
            (Some(src), Some(target)) => {
                compiler.jq_filter(doc, &format!("{base}/next"), src, &mut good).map(|next| NextPage::Token { next, target })
            }
            (Some(_), None) if spec.set.is_some() => None,
            (Some(_), None) => {
                good = fail(
                    compiler,
                    base.to_owned(),
                    "`next` needs `set`: where the token goes on the next request".to_owned(),
                    "for example `set: {query: nextToken}`",
                );
                None
            }
            (None, _) => {
                good = fail(
                    compiler,
                    base.to_owned(),
                    "`paginate` needs `next` (a jq filter for the next token) with `set`, or `link: true`".to_owned(),
                    "for example `next: .nextToken` and `set: {query: nextToken}`",
                );
                None
            }
        }
    };
    let items = spec.items.as_ref().and_then(|src| compiler.jq_filter(doc, &format!("{base}/items"), src, &mut good));
    if spec.items.is_some() && items.is_none() {
        good = false;
    }
    let max_pages = spec.max_pages.unwrap_or(DEFAULT_MAX_PAGES);
    if !(1..=MAX_PAGES_LIMIT).contains(&max_pages) {
        // The schema's range refuses it first; this keeps the bound if the schema changes.
        good = fail(
            compiler,
            format!("{base}/max_pages"),
            format!("`max_pages` must be 1 to {MAX_PAGES_LIMIT} (found {max_pages})"),
            "a call that needs more pages should narrow its query",
        );
    }
    if !good {
        *ok = false;
        return None;
    }
    Some(Paginate { next: next?, items, max_pages })
}
