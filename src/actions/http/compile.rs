//! Compiles an `http` action: method, URL (templates only in the path), query, headers,
//! the body as a value tree, and the jq projection.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde_json::Value;

use super::spec::HttpSpec;
use super::{BodyTemplate, HttpAction, QueryValue};
use crate::actions::Connections;
use crate::catalog::Template;
use crate::catalog::jq;
use crate::catalog::template::Escape;
use crate::compile::Compiler;
use crate::compile::context::TemplateUse;
use crate::connections::Settings;
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::yaml::push_escaped;
use crate::util::is_template;

static TYPED_LEAF_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\{\{-?\s*[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]{}]*\])*\s*-?\}\}$").expect("static regex")
});
static TEMPLATE_EXPR_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{.*?\}\}|\{%.*?%\}").expect("static regex"));

/// Compiles the action; `None` when it has errors (all reported).
pub(crate) fn compile(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    spec: &HttpSpec,
    conns: &Connections,
    uses: &mut Vec<TemplateUse>,
) -> Option<HttpAction> {
    let base = "/action/http";
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
        match &v.0 {
            Value::String(s) => match compiler.template(doc, &p, s, Escape::QueryParam, uses) {
                Some(t) => query.push((k.clone(), QueryValue::Str(t))),
                None => ok = false,
            },
            other => query.push((k.clone(), QueryValue::Literal(other.to_string()))),
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
    let jq = match spec.response.as_ref().and_then(|r| r.jq.as_ref()) {
        None => None,
        Some(src) => match jq::JqFilter::compile(src) {
            Ok(f) => Some(Arc::new(f)),
            Err(e) => {
                let p = format!("{base}/response/jq");
                let pos = compiler.offset_pos(doc, &p, src, e.offset.unwrap_or(0));
                let d = compiler.loc(doc.file).diag(Code::InvalidJq, pos, format!("jq filter does not compile: {}", e.message));
                compiler.diags.push(d);
                ok = false;
                None
            }
        },
    };
    if !ok {
        return None;
    }
    Some(HttpAction { connection: spec.connection.clone(), method, url: url?, query, headers, body, jq })
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
