//! Templates: one minijinja environment per catalog, with escaping chosen by where a
//! template's output lands (the contextual escaping table of docs/spec.md).
//!
//! A template's context is encoded in the first character of its name, so the
//! formatter decides the escaping from the name: `{% autoescape false %}` cannot turn
//! it off, and the `safe` family of filters is removed. The one opt-out is `| raw`.

use std::cell::Cell;
use std::sync::Arc;

use minijinja::value::{Object, Value};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// A template of the catalog: a literal, a simple template rendered without minijinja, or
/// the name of a template compiled into the catalog's environment.
#[derive(Clone, Debug)]
pub enum Template {
    /// Text without template syntax.
    Literal(String),
    /// Literal text and `{{ name }}` placeholders, rendered without minijinja.
    Simple(Simple),
    /// The name of a template in the catalog's environment.
    Named(String),
}

/// Where a template's output lands, which decides how values are escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Escape {
    /// A Logs Insights query: strings become double-quoted literals, numbers stay numbers.
    LogsQuery,
    /// A log group name: values must be name characters (no `/`).
    LogGroup,
    /// A metric dimension value.
    Dimension,
    /// A metric math expression: numbers and plain identifiers only.
    Expression,
    /// A URL: each value becomes one percent-encoded path segment.
    Url,
    /// A query parameter value (encoded when the URL is built).
    QueryParam,
    /// A query parameter or form field that is exactly `{{ x }}`: a list gives the parameter
    /// once per element, and an absent or null value leaves it out.
    QueryValues,
    /// A header value: CR and LF are refused.
    Header,
    /// A JSON body string.
    BodyString,
    /// A JSON body leaf that is exactly `{{ x }}`: the value keeps its JSON type.
    BodyValue,
    /// Operator text such as a duration, a timestamp or a metric name.
    Plain,
    /// The text of a prompt's message, read by a model: values as text (strings as they are,
    /// anything else as JSON), control characters other than tab and line breaks refused.
    Text,
}

impl Escape {
    fn tag(self) -> char {
        match self {
            Escape::LogsQuery => 'q',
            Escape::LogGroup => 'g',
            Escape::Dimension => 'd',
            Escape::Expression => 'e',
            Escape::Url => 'u',
            Escape::QueryParam => 'p',
            Escape::QueryValues => 'l',
            Escape::Header => 'h',
            Escape::BodyString => 'b',
            Escape::BodyValue => 'j',
            Escape::Plain => 't',
            Escape::Text => 'm',
        }
    }

    fn from_tag(c: char) -> Option<Escape> {
        Some(match c {
            'q' => Escape::LogsQuery,
            'g' => Escape::LogGroup,
            'd' => Escape::Dimension,
            'e' => Escape::Expression,
            'u' => Escape::Url,
            'p' => Escape::QueryParam,
            'l' => Escape::QueryValues,
            'h' => Escape::Header,
            'b' => Escape::BodyString,
            'j' => Escape::BodyValue,
            't' => Escape::Plain,
            'm' => Escape::Text,
            _ => return None,
        })
    }

    /// Where this context is, in words, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Escape::LogsQuery => "the Logs Insights query",
            Escape::LogGroup => "a log group name",
            Escape::Dimension => "a metric dimension",
            Escape::Expression => "a metric expression",
            Escape::Url => "the URL",
            Escape::QueryParam | Escape::QueryValues => "a query parameter",
            Escape::Header => "a header",
            Escape::BodyString | Escape::BodyValue => "the request body",
            Escape::Plain => "the request",
            Escape::Text => "a prompt message",
        }
    }

    /// Whether `secret()` may be used here.
    pub fn allows_secrets(self) -> bool {
        self == Escape::Header
    }

    /// Checks one caller value for this context. `Err` says what is wrong with it.
    pub fn check(self, value: &serde_json::Value) -> Result<(), String> {
        use serde_json::Value as J;
        match value {
            J::String(s) => self.check_str(s),
            J::Array(items) if self == Escape::LogsQuery => items.iter().try_for_each(|v| match v {
                J::Array(_) | J::Object(_) => Err("a list inside a list cannot go into a Logs Insights query".to_owned()),
                v => self.check(v),
            }),
            J::Array(items) if self == Escape::QueryValues => items.iter().try_for_each(|v| match v {
                J::Array(_) | J::Object(_) => Err("a list inside a list cannot go into a query parameter".to_owned()),
                _ => Ok(()),
            }),
            J::Array(_) | J::Object(_) if !matches!(self, Escape::BodyValue | Escape::BodyString | Escape::Plain | Escape::Text) => {
                Err(format!("a {} cannot go into {}", if value.is_array() { "list" } else { "object" }, self.describe()))
            }
            _ => Ok(()),
        }
    }

    fn check_str(self, s: &str) -> Result<(), String> {
        let control = s.chars().find(|c| c.is_control() && *c != '\t');
        match self {
            Escape::LogsQuery => {
                // U+2028/U+2029 are line breaks to some parsers though not control characters.
                if let Some(c) =
                    s.chars().find(|c| matches!(c, '"' | '\'' | '\\' | '`' | '|' | '#' | '\u{2028}' | '\u{2029}') || c.is_control())
                {
                    return Err(format!("{} is not allowed in a Logs Insights query value", describe_char(c)));
                }
                Ok(())
            }
            Escape::LogGroup => {
                if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '#')) {
                    return Err("a log group name part may hold only letters, digits, `.`, `-`, `_` and `#`".to_owned());
                }
                Ok(())
            }
            Escape::Dimension => {
                if s.is_empty() || s.chars().count() > 1024 || control.is_some() {
                    return Err("a dimension value must be 1 to 1024 characters without control characters".to_owned());
                }
                Ok(())
            }
            Escape::Expression => {
                if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
                    return Err("a metric expression value may hold only letters, digits, `.`, `-` and `_`".to_owned());
                }
                Ok(())
            }
            Escape::Url => {
                if s == "." || s == ".." {
                    return Err(format!("`{s}` cannot be a URL path segment"));
                }
                if s.is_empty() {
                    return Err("an empty value cannot be a URL path segment".to_owned());
                }
                Ok(())
            }
            Escape::Header => match control {
                Some(c) => Err(format!("{} is not allowed in a header value", describe_char(c))),
                None => Ok(()),
            },
            Escape::Plain => match control {
                Some(c) => Err(format!("{} is not allowed here", describe_char(c))),
                None => Ok(()),
            },
            Escape::Text => match s.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
                Some(c) => Err(format!("{} is not allowed in a prompt message", describe_char(c))),
                None => Ok(()),
            },
            Escape::QueryParam | Escape::QueryValues | Escape::BodyString | Escape::BodyValue => Ok(()),
        }
    }
}

fn describe_char(c: char) -> String {
    match c {
        '\n' => "a newline".to_owned(),
        '\r' => "a carriage return".to_owned(),
        '\t' => "a tab".to_owned(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("the character `{c}`"),
    }
}

/// A template's name in the environment: the context tag, then a unique id.
pub fn template_name(ctx: Escape, id: &str) -> String {
    let mut s = String::with_capacity(id.len() + 2);
    s.push(ctx.tag());
    s.push('|');
    s.push_str(id);
    s
}

/// The context of a template, from its name.
pub fn escape_of(name: &str) -> Option<Escape> {
    name.chars().next().and_then(Escape::from_tag)
}

/// Bytes a path segment keeps unencoded: RFC 3986 unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Marks a value that `| raw` let through unescaped.
#[derive(Debug)]
struct RawText(String);

impl Object for RawText {
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How `secret('NAME')` behaves during one render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretMode {
    /// Read the secret (to send a request).
    Resolve,
    /// Print `***` instead (for `render`).
    Redact,
    /// Print `<secret:NAME>` (lint renders examples without secrets).
    Placeholder,
}

thread_local! {
    static SECRET_MODE: Cell<SecretMode> = const { Cell::new(SecretMode::Placeholder) };
    /// Secret values resolved by the render in progress on this thread.
    static RESOLVED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The secret values resolved since the last call, on this thread (the render in progress).
pub fn take_resolved_secrets() -> Vec<String> {
    RESOLVED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

/// Runs `f` with `secret()` in the given mode on this thread. Rendering is synchronous,
/// so a thread-local scoped around it is enough; the default is `Placeholder`, so
/// forgetting to choose never sends nor prints a secret.
pub fn with_secret_mode<T>(mode: SecretMode, f: impl FnOnce() -> T) -> T {
    let _ = take_resolved_secrets();
    let prev = SECRET_MODE.with(|m| m.replace(mode));
    let out = f();
    SECRET_MODE.with(|m| m.set(prev));
    out
}

/// The secret mode of the render in progress on this thread (a request that renders part of
/// itself later keeps it).
pub fn secret_mode() -> SecretMode {
    SECRET_MODE.with(Cell::get)
}

/// Reads a secret: a file named NAME under `$TOOLWRIGHT_SECRETS_DIR` if that is set and
/// the file exists, else the environment variable NAME.
pub fn read_secret(name: &str) -> Result<String, String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("`{name}` is not a valid secret name (letters, digits and `_`)"));
    }
    if let Some(dir) = std::env::var_os("TOOLWRIGHT_SECRETS_DIR") {
        let path = std::path::Path::new(&dir).join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(text.trim_end_matches(['\n', '\r']).to_owned());
        }
    }
    std::env::var(name).map_err(|_| format!("secret `{name}` is not set (environment variable or file in TOOLWRIGHT_SECRETS_DIR)"))
}

fn secret_fn(state: &minijinja::State, name: String) -> Result<Value, Error> {
    if !escape_of(state.name()).is_some_and(Escape::allows_secrets) {
        return Err(Error::new(ErrorKind::InvalidOperation, "secret() is allowed only in headers and connections"));
    }
    match SECRET_MODE.with(Cell::get) {
        SecretMode::Redact => Ok(Value::from("***")),
        SecretMode::Placeholder => Ok(Value::from(format!("<secret:{name}>"))),
        SecretMode::Resolve => {
            let value = read_secret(&name).map_err(|m| Error::new(ErrorKind::InvalidOperation, m))?;
            RESOLVED.with(|r| r.borrow_mut().push(value.clone()));
            Ok(Value::from(value))
        }
    }
}

/// Names that templates may use that are not caller arguments.
pub const GLOBALS: &[&str] =
    &["secret", "epoch", "epoch_ms", "timestamp", "range", "dict", "namespace", "debug", "lipsum", "cycler", "joiner", "loop"];

thread_local! {
    /// The time of the render in progress on this thread, in seconds since the epoch.
    static CALL_TIME: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Runs `f` with the clock functions (`epoch`, `epoch_ms`, `timestamp`) reading `now`, the
/// call's time, so every template of one call sees the same instant. Rendering is synchronous.
pub fn with_call_time<T>(now: i64, f: impl FnOnce() -> T) -> T {
    let prev = CALL_TIME.with(|t| t.replace(Some(now)));
    let out = f();
    CALL_TIME.with(|t| t.set(prev));
    out
}

/// The call time minus `ago` (a duration such as `15m`; none is now), in milliseconds since the epoch.
fn instant_ms(function: &str, ago: Option<&Value>) -> Result<i64, Error> {
    let now = CALL_TIME.with(Cell::get).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
    });
    let ago_ms = match ago {
        None => 0,
        Some(v) => {
            let Some(text) = v.as_str() else {
                return Err(invalid(format!("{function}() takes a duration such as '15m' or minutes ~ 'm', not `{v}`")));
            };
            let d = crate::util::parse_duration(text).map_err(|m| invalid(format!("{function}(): {m}")))?;
            i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
        }
    };
    Ok(now.saturating_mul(1000).saturating_sub(ago_ms))
}

/// `epoch(ago)`: seconds since the Unix epoch at the call time minus `ago`.
fn epoch_fn(ago: Option<Value>) -> Result<Value, Error> {
    instant_ms("epoch", ago.as_ref()).map(|ms| Value::from(ms.div_euclid(1000)))
}

/// `epoch_ms(ago)`: milliseconds since the Unix epoch at the call time minus `ago`.
fn epoch_ms_fn(ago: Option<Value>) -> Result<Value, Error> {
    instant_ms("epoch_ms", ago.as_ref()).map(Value::from)
}

/// `timestamp(ago)`: the RFC 3339 UTC time (whole seconds) of the call time minus `ago`.
fn timestamp_fn(ago: Option<Value>) -> Result<Value, Error> {
    instant_ms("timestamp", ago.as_ref()).map(|ms| Value::from(crate::catalog::render::rfc3339(ms.div_euclid(1000))))
}

/// `x | quoted`: x as a double-quoted string literal with `\` and `"` escaped by a backslash: the
/// literal grammar of PromQL label matchers and JQL, so a value cannot leave its literal.
/// Control characters are refused rather than escaped (the grammars differ on them).
fn quoted_filter(value: Value) -> Result<Value, Error> {
    let text = match value.as_str() {
        Some(s) => s.to_owned(),
        None if value.is_number() || matches!(value.kind(), minijinja::value::ValueKind::Bool) => value.to_string(),
        None => return Err(invalid(format!("`| quoted` takes a string or a number, not a {}", value.kind()))),
    };
    if let Some(c) = text.chars().find(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')) {
        return Err(invalid(format!("{} is not allowed in a quoted value", describe_char(c))));
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(Value::from(out))
}

/// A fresh environment with toolwright's escaping. Fuel bounds the work of any one render.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(100_000));
    env.set_recursion_limit(64);
    for f in ["safe", "escape", "e", "tojson", "urlencode", "pprint", "debug"] {
        env.remove_filter(f);
    }
    env.remove_global("debug");
    env.add_filter("raw", |v: Value| Value::from_object(RawText(v.to_string())));
    env.add_function("secret", secret_fn);
    env.add_function("epoch", epoch_fn);
    env.add_function("epoch_ms", epoch_ms_fn);
    env.add_function("timestamp", timestamp_fn);
    env.add_filter("quoted", quoted_filter);
    env.set_formatter(format_value);
    env
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

fn format_value(out: &mut minijinja::Output, state: &mut minijinja::State, value: &Value) -> Result<(), Error> {
    let write = |out: &mut minijinja::Output, s: &str| out.write_str(s).map_err(|_| invalid("write failed".to_owned()));
    if let Some(raw) = value.downcast_object_ref::<RawText>() {
        return write(out, &raw.0);
    }
    let ctx = escape_of(state.name()).unwrap_or(Escape::Plain);
    let json: serde_json::Value = serde_json::to_value(value).map_err(|e| invalid(format!("value cannot be rendered: {e}")))?;
    if value.is_undefined() {
        return Err(Error::new(ErrorKind::UndefinedError, "undefined value"));
    }
    let mut text = String::new();
    format_json(ctx, &json, &mut text).map_err(invalid)?;
    write(out, &text)
}

/// Appends one caller value as `ctx` escapes it, after checking it for `ctx`.
/// The one place both template paths (minijinja and [`Simple`]) format values.
fn format_json(ctx: Escape, json: &serde_json::Value, out: &mut String) -> Result<(), String> {
    ctx.check(json)?;
    match ctx {
        Escape::BodyValue => out.push_str(&json.to_string()),
        Escape::LogsQuery => out.push_str(&logs_literal(json)),
        Escape::Url => out.extend(utf8_percent_encode(&plain_text(json), SEGMENT)),
        _ => out.push_str(&plain_text(json)),
    }
    Ok(())
}

/// Names that are not plain variables in minijinja's expression syntax: literals,
/// operators and names the template engine defines.
const NOT_PLAIN: &[&str] = &["true", "True", "false", "False", "none", "None", "self", "and", "or", "not", "in", "is", "if", "else"];

/// A template that is only literal text and `{{ name }}` placeholders: most templates
/// in a catalog (`/orders/{{ id }}`, `{{ limit }}`). It renders exactly as minijinja would
/// (same trailing-newline rule, same escaping, same errors) without a compiled template,
/// which costs about 12 KB and a parse per template, and without turning the arguments
/// into minijinja values on every call. Anything else goes to minijinja.
#[derive(Clone, Debug)]
pub struct Simple {
    ctx: Escape,
    parts: Box<[Part]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(Box<str>),
    Var(Box<str>),
}

impl Simple {
    /// Parses `source` when it is literal text and `{{ name }}` placeholders only.
    pub fn parse(source: &str, ctx: Escape) -> Option<Simple> {
        // minijinja drops one trailing "\n" and then one trailing "\r" (keep_trailing_newline is off).
        let source = source.strip_suffix('\n').unwrap_or(source);
        let source = source.strip_suffix('\r').unwrap_or(source);
        let mut parts = Vec::new();
        let mut rest = source;
        loop {
            let open = rest.find("{{");
            let text = &rest[..open.unwrap_or(rest.len())];
            // `{%` and `{#` open statements and comments: not a simple template.
            if text.contains("{%") || text.contains("{#") {
                return None;
            }
            if !text.is_empty() {
                parts.push(Part::Lit(text.into()));
            }
            let Some(open) = open else { break };
            let inner = &rest[open + 2..];
            let close = inner.find("}}")?;
            let tag = &inner[..close];
            let name = tag.trim_matches([' ', '\t']);
            let mut bytes = name.bytes();
            let plain_name = bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !NOT_PLAIN.contains(&name)
                && !GLOBALS.contains(&name);
            // `{{-`, `{{+` and `{{~` are whitespace control.
            if !plain_name || tag.starts_with(['-', '+', '~']) {
                return None;
            }
            parts.push(Part::Var(name.into()));
            rest = &inner[close + 2..];
        }
        Some(Simple { ctx, parts: parts.into_boxed_slice() })
    }

    /// The variables the template reads.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(&**v),
            Part::Lit(_) => None,
        })
    }

    /// Renders with the caller's (prepared) arguments. `Err` is minijinja's error for the same case.
    pub fn render(&self, args: &crate::catalog::JsonObject) -> Result<String, Error> {
        let mut out = String::new();
        for part in &*self.parts {
            match part {
                Part::Lit(l) => out.push_str(l),
                Part::Var(v) => match args.get(&**v) {
                    Some(json) if holds_object(json) => format_json(self.ctx, &sorted_keys(json), &mut out).map_err(invalid)?,
                    Some(json) => format_json(self.ctx, json, &mut out).map_err(invalid)?,
                    None => return Err(Error::new(ErrorKind::UndefinedError, format!("`{v}` is undefined"))),
                },
            }
        }
        Ok(out)
    }
}

/// A value as text: strings unquoted, everything else as JSON.
pub fn plain_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A value as a Logs Insights literal (already checked by `Escape::check`).
fn logs_literal(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("\"{s}\""),
        serde_json::Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(logs_literal).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

fn holds_object(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(_) => true,
        serde_json::Value::Array(items) => items.iter().any(holds_object),
        _ => false,
    }
}

/// `v` with object keys in minijinja's order (sorted), as a value passed through minijinja has them.
fn sorted_keys(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted_keys(v))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::JsonObject;
    use proptest::prelude::*;
    use serde_json::json;

    const CTXS: [Escape; 12] = [
        Escape::LogsQuery,
        Escape::LogGroup,
        Escape::Dimension,
        Escape::Expression,
        Escape::Url,
        Escape::QueryParam,
        Escape::Header,
        Escape::BodyString,
        Escape::BodyValue,
        Escape::Plain,
        Escape::QueryValues,
        Escape::Text,
    ];

    /// What minijinja makes of `source` in `ctx`: the text, or the error's kind and detail.
    fn minijinja(source: &str, ctx: Escape, args: &JsonObject) -> Result<String, String> {
        let mut env = environment();
        let name = template_name(ctx, "t");
        env.add_template_owned(name.clone(), source.to_owned()).map_err(|e| format!("syntax: {e}"))?;
        let t = env.get_template(&name).map_err(|e| e.to_string())?;
        t.render(Value::from(minijinja::value::Serde(args))).map_err(|e| format!("{:?}: {:?}", e.kind(), e.detail()))
    }

    fn simple(s: &Simple, args: &JsonObject) -> Result<String, String> {
        s.render(args).map_err(|e| format!("{:?}: {:?}", e.kind(), e.detail()))
    }

    fn args() -> JsonObject {
        let v = json!({
            "id": "OPS-1234", "path": "a/b c", "dot": ".", "empty": "", "quote": "x\"y", "nl": "a\nb", "tab": "a\tb",
            "uni": "é€😀", "pct": "50%", "n": 25, "neg": -3, "big": 18446744073709551615u64, "f": 1.5, "f0": 2.0,
            "t": true, "null": null, "list": ["a", 1, true], "nested": [["x"]], "obj": {"b": 1, "a": [2]}, "_u": "u"
        });
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn simple_templates_render_exactly_as_minijinja() {
        let sources = [
            "{{ id }}",
            "/orders/{{ id }}",
            "/a/{{id}}/b/{{ n }}?x={{ f }}",
            "{{ path }}{{ dot }}",
            "{{\tempty\t}}x",
            "pre {{ quote }} post\n",
            "line one\nline {{ uni }}\r\n",
            "{{ nl }}\r",
            "{{ tab }}} }} {",
            "a { b } {{ pct }}",
            "{{ neg }} {{ big }} {{ f0 }} {{ t }} {{ null }}",
            "{{ list }}",
            "{{ nested }}",
            "{{ obj }}",
            "{{ missing }}",
            "{{ _u }}",
            "no placeholders but a brace {",
        ];
        let args = args();
        for source in sources {
            for ctx in CTXS {
                let s = Simple::parse(source, ctx).unwrap_or_else(|| panic!("`{source}` should be simple"));
                assert_eq!(simple(&s, &args), minijinja(source, ctx, &args), "`{source}` in {ctx:?}");
            }
        }
    }

    #[test]
    fn anything_else_is_left_to_minijinja() {
        for source in [
            "{{ id | upper }}",
            "{{ id.x }}",
            "{{ id ~ n }}",
            "{{- id }}",
            "{{+ id }}",
            "{{ id -}}",
            "{{ true }}",
            "{{ None }}",
            "{{ range }}",
            "{{ secret('X') }}",
            "{{ loop }}",
            "{{ 1 }}",
            "{{ }}",
            "{{ id",
            "{% if id %}x{% endif %}",
            "a {# note #} {{ id }}",
            "{{ a\nb }}",
            "{{ é }}",
        ] {
            assert!(Simple::parse(source, Escape::Plain).is_none(), "`{source}` is not simple");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// Any text the simple parser accepts renders as minijinja renders it, in every context.
        #[test]
        fn accepted_text_matches_minijinja(source in "(\\{\\{[ -]?[a-z_]{1,3}[ -]?\\}\\}|[{}%# \\-~+a-z_\t\r\n.\"/]){0,12}") {
            let args = {
                let mut a = args();
                for k in ["a", "b", "ab", "z", "_", "a_b"] {
                    a.insert(k.to_owned(), json!(format!("<{k}>")));
                }
                a
            };
            for ctx in CTXS {
                if let Some(s) = Simple::parse(&source, ctx) {
                    prop_assert_eq!(simple(&s, &args), minijinja(&source, ctx, &args), "`{}` in {:?}", source, ctx);
                }
            }
        }
    }

    #[test]
    fn clock_functions_read_the_call_time() {
        let args: JsonObject = json!({"minutes": 15}).as_object().cloned().unwrap();
        let at = |src: &str, ctx: Escape| with_call_time(1_800_000_000, || minijinja(src, ctx, &args));
        assert_eq!(at("{{ epoch() }}", Escape::BodyValue).unwrap(), "1800000000");
        assert_eq!(at("{{ epoch('1h') }}", Escape::QueryParam).unwrap(), "1799996400");
        assert_eq!(at("{{ epoch(minutes ~ 'm') }}", Escape::BodyValue).unwrap(), "1799999100");
        assert_eq!(at("{{ epoch_ms('1s') }}", Escape::QueryParam).unwrap(), "1799999999000");
        assert_eq!(at("{{ timestamp() }}", Escape::QueryParam).unwrap(), "2027-01-15T08:00:00Z");
        assert_eq!(at("{{ timestamp('90m') }}", Escape::BodyString).unwrap(), "2027-01-15T06:30:00Z");
        let bad = at("{{ epoch('soon') }}", Escape::QueryParam).unwrap_err();
        assert!(bad.contains("epoch(): `soon` is not a duration"), "{bad}");
        let bad = at("{{ epoch(5) }}", Escape::QueryParam).unwrap_err();
        assert!(bad.contains("epoch() takes a duration"), "{bad}");
        // Outside a call (lint renders examples) they read the clock.
        let now = minijinja("{{ epoch() }}", Escape::Plain, &args).unwrap().parse::<i64>().unwrap();
        assert!(now > 1_700_000_000, "{now}");
    }

    #[test]
    fn quoted_keeps_a_value_inside_its_literal() {
        let args: JsonObject = json!({"text": "a\\\"b", "n": 5, "list": [1], "nl": "a\nb"}).as_object().cloned().unwrap();
        assert_eq!(minijinja("{{ text | quoted }}", Escape::BodyString, &args).unwrap(), r#""a\\\"b""#);
        assert_eq!(minijinja("job={{ n | quoted }}", Escape::QueryParam, &args).unwrap(), r#"job="5""#);
        assert!(minijinja("{{ list | quoted }}", Escape::QueryParam, &args).unwrap_err().contains("takes a string"));
        assert!(minijinja("{{ nl | quoted }}", Escape::QueryParam, &args).unwrap_err().contains("a newline is not allowed"));
    }

    proptest! {
        /// Reading a quoted literal back (backslash escapes) gives the value, and the literal
        /// has no unescaped quote before its end.
        #[test]
        fn quoted_round_trips(text in "[^\\p{Cc}\u{2028}\u{2029}]{0,40}") {
            let args: JsonObject = json!({"t": text.clone()}).as_object().cloned().unwrap();
            let lit = minijinja("{{ t | quoted }}", Escape::QueryParam, &args).unwrap();
            let inner = lit.strip_prefix('"').and_then(|l| l.strip_suffix('"')).unwrap();
            let mut back = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => back.push(chars.next().unwrap()),
                    '"' => panic!("unescaped quote in {lit}"),
                    c => back.push(c),
                }
            }
            prop_assert_eq!(back, text);
        }
    }
}
