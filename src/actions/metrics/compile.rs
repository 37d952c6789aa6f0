//! Compiles a `metrics` action: query ids, metric or expression, dimensions, the period
//! and the window.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::spec::MetricsSpec;
use super::{MetricQueryTemplate, MetricsAction, valid_period};
use crate::actions::Connections;
use crate::catalog::Template;
use crate::catalog::template::Escape;
use crate::compile::Compiler;
use crate::compile::context::TemplateUse;
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::yaml::push_escaped;
use crate::util::{is_template, parse_duration};

static QUERY_ID_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z][A-Za-z0-9_]*$").expect("static regex"));

/// Compiles the action; `None` when it has errors (all reported).
pub(crate) fn compile(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    base: &str,
    spec: &MetricsSpec,
    conns: &Connections,
    uses: &mut Vec<TemplateUse>,
) -> Option<MetricsAction> {
    let mut ok = compiler.resolve_connection(doc, &format!("{base}/connection"), &spec.connection, "aws", conns);
    if spec.queries.is_empty() || spec.queries.len() > 500 {
        compiler.push(
            doc,
            Code::InvalidValue,
            &format!("{base}/queries"),
            format!("{} queries; GetMetricData takes 1 to 500", spec.queries.len()),
        );
        ok = false;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut queries = Vec::new();
    for (i, q) in spec.queries.iter().enumerate() {
        let qp = format!("{base}/queries/{i}");
        if !QUERY_ID_RE.is_match(&q.id) {
            compiler.push(
                doc,
                Code::InvalidQueryId,
                &format!("{qp}/id"),
                format!("query id `{}` does not match ^[a-z][A-Za-z0-9_]*$", q.id),
            );
            ok = false;
        }
        if let Some(first) = seen.get(q.id.as_str()) {
            compiler.push(
                doc,
                Code::DuplicateQueryId,
                &format!("{qp}/id"),
                format!("query id `{}` is already used by query {}", q.id, first + 1),
            );
            ok = false;
        } else {
            seen.insert(&q.id, i);
        }
        match (&q.metric, &q.expression) {
            (Some(_), Some(_)) => {
                compiler.push(doc, Code::MetricOrExpression, &qp, "a query has both `metric` and `expression`; keep one");
                ok = false;
            }
            (None, None) => {
                compiler.push(doc, Code::MetricOrExpression, &qp, "a query needs `metric` (with `namespace` and `stat`) or `expression`");
                ok = false;
            }
            (Some(_), None) if q.namespace.is_none() || q.stat.is_none() => {
                compiler.push(doc, Code::MetricOrExpression, &qp, "a `metric` query needs `namespace` and `stat`");
                ok = false;
            }
            _ => {}
        }
        let opt = |compiler: &mut Compiler<'_>,
                   field: &str,
                   v: &Option<String>,
                   ctx: Escape,
                   uses: &mut Vec<TemplateUse>|
         -> Result<Option<Template>, ()> {
            match v {
                None => Ok(None),
                Some(s) => compiler.template(doc, &format!("{qp}/{field}"), s, ctx, uses).map(Some).ok_or(()),
            }
        };
        let namespace = opt(compiler, "namespace", &q.namespace, Escape::Plain, uses);
        let metric = opt(compiler, "metric", &q.metric, Escape::Plain, uses);
        let stat = opt(compiler, "stat", &q.stat, Escape::Plain, uses);
        let expression = opt(compiler, "expression", &q.expression, Escape::Expression, uses);
        let label = opt(compiler, "label", &q.label, Escape::Plain, uses);
        let mut dims = Vec::new();
        for (k, v) in q.dimensions.iter().flatten() {
            let mut p = format!("{qp}/dimensions/");
            push_escaped(&mut p, k);
            match compiler.template(doc, &p, v, Escape::Dimension, uses) {
                Some(t) => dims.push((k.clone(), t)),
                None => ok = false,
            }
        }
        match (namespace, metric, stat, expression, label) {
            (Ok(namespace), Ok(metric), Ok(stat), Ok(expression), Ok(label)) => queries.push(MetricQueryTemplate {
                id: q.id.clone(),
                namespace,
                metric,
                dimensions: dims,
                stat,
                expression,
                label,
                unit: q.unit.clone(),
                return_data: q.return_data.unwrap_or(true),
            }),
            _ => ok = false,
        }
    }
    let period = match &spec.period {
        None => None,
        Some(p) => {
            let pp = format!("{base}/period");
            if !is_template(p) {
                match parse_duration(p) {
                    Ok(d) if valid_period(d.as_secs()) && d.subsec_nanos() == 0 => {}
                    Ok(_) => {
                        compiler.push(
                            doc,
                            Code::InvalidPeriod,
                            &pp,
                            format!("period `{p}` must be 1, 5, 10, 20 or 30 seconds or a multiple of 60"),
                        );
                        ok = false;
                    }
                    Err(e) => {
                        compiler.push(doc, Code::InvalidDuration, &pp, e);
                        ok = false;
                    }
                }
            }
            compiler.template(doc, &pp, p, Escape::Plain, uses)
        }
    };
    let window = compiler.window(doc, base, &spec.since, &spec.until, &spec.start, &spec.end, uses);
    if !ok {
        return None;
    }
    Some(MetricsAction { connection: spec.connection.clone(), queries, period, window: window? })
}
