//! Compiles a `logs_insights` action: log groups, the query (placeholders never quoted),
//! the limit and the window.

use std::sync::LazyLock;

use regex::Regex;

use super::LogsAction;
use super::spec::LogsInsightsSpec;
use crate::actions::Connections;
use crate::catalog::template::Escape;
use crate::compile::Compiler;
use crate::compile::context::TemplateUse;
use crate::diag::Code;
use crate::spec::Document;
use crate::util::is_template;

/// Rows a query returns when the spec sets no `limit`.
pub const DEFAULT_LIMIT: i64 = 1_000;
static LOG_GROUP_LITERAL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[.\-_/#A-Za-z0-9]{1,512}$").expect("static regex"));
static QUOTED_PLACEHOLDER_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"["'/]\{\{[^}]*\}\}["'/]"#).expect("static regex"));

/// Compiles the action; `None` when it has errors (all reported).
pub(crate) fn compile(
    compiler: &mut Compiler<'_>,
    doc: &Document,
    base: &str,
    spec: &LogsInsightsSpec,
    conns: &Connections,
    uses: &mut Vec<TemplateUse>,
) -> Option<LogsAction> {
    let mut ok = compiler.resolve_connection(doc, &format!("{base}/connection"), &spec.connection, "aws", conns);
    if spec.log_groups.is_empty() || spec.log_groups.len() > 50 {
        compiler.push(
            doc,
            Code::LogGroupCount,
            &format!("{base}/log_groups"),
            format!("{} log groups; a Logs Insights query takes 1 to 50", spec.log_groups.len()),
        );
        ok = false;
    }
    let mut groups = Vec::new();
    for (i, g) in spec.log_groups.iter().enumerate() {
        let p = format!("{base}/log_groups/{i}");
        if !is_template(g) && !LOG_GROUP_LITERAL_RE.is_match(g) {
            compiler.push(
                doc,
                Code::InvalidLogGroup,
                &p,
                format!("`{g}` is not a valid log group name ([.-_/#A-Za-z0-9], 1 to 512 characters)"),
            );
            ok = false;
            continue;
        }
        match compiler.template(doc, &p, g, Escape::LogGroup, uses) {
            Some(t) => groups.push(t),
            None => ok = false,
        }
    }
    if spec.query.trim().is_empty() {
        compiler.push(doc, Code::EmptyQuery, &format!("{base}/query"), "the query is empty");
        ok = false;
    }
    if let Some(m) = QUOTED_PLACEHOLDER_RE.find(&spec.query) {
        let pos = compiler.offset_pos(doc, &format!("{base}/query"), &spec.query, m.start());
        let d = compiler
            .loc(doc.file)
            .diag(Code::QuotedPlaceholder, pos, format!("`{}` puts quotes around a value that is quoted already", m.as_str()))
            .with_help("write `{{ x }}` without quotes: a string value becomes a double-quoted literal by itself");
        compiler.diags.push(d);
        ok = false;
    }
    let query = compiler.template(doc, &format!("{base}/query"), &spec.query, Escape::LogsQuery, uses);
    let limit = spec.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=10_000).contains(&limit) {
        compiler.push(doc, Code::LimitRange, &format!("{base}/limit"), format!("limit {limit} is outside 1 to 10,000"));
        ok = false;
    }
    let window = compiler.window(doc, base, &spec.since, &spec.until, &spec.start, &spec.end, uses);
    if !ok {
        return None;
    }
    Some(LogsAction { connection: spec.connection.clone(), log_groups: groups, query: query?, window: window?, limit })
}
