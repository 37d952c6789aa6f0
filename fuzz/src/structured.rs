//! The structured spec generator of `spec_structured`: each document starts from a
//! well-formed tool or connection (one per action kind), then the fuzz input applies
//! mutations (set, remove or replace a field anywhere in the tree) with keys drawn from the
//! real field names of the format and values drawn from real enum values, durations,
//! templates, JSON Schema fragments and YAML oddities (anchors, aliases, tags, merge keys).
//! The tree is then printed as block or flow YAML. Byte-level fuzzing rarely gets past the
//! structural check; this gets into compile, templates, schemas, jq and example rendering.

use arbitrary::Arbitrary;
use toolwright::spec::SourceFile;

/// A YAML node as the generator builds it.
#[derive(Clone, Debug)]
pub enum Y {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (printed plain when safe, else double-quoted).
    Str(String),
    /// A sequence.
    Seq(Vec<Y>),
    /// A mapping, in order.
    Map(Vec<(String, Y)>),
    /// YAML text printed as it is (flow-compatible).
    Raw(String),
}

fn s(v: &str) -> Y {
    Y::Str(v.to_owned())
}

fn m(entries: Vec<(&str, Y)>) -> Y {
    Y::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Every field name of the spec format (from schemas/toolwright.schema.json), plus JSON
/// Schema keywords that `input` and `output.schema` use.
#[rustfmt::skip]
pub const FIELDS: &[&str] = &[
    "action", "allow_private_networks", "annotations", "args", "auth", "aws", "base_url", "body", "concurrency",
    "connection", "description", "destructive", "dimensions", "end", "endpoint_url", "examples", "expression",
    "headers", "http", "id", "idempotent", "input", "jq", "kind", "label", "limit", "limits", "log_groups",
    "logs_insights", "max_bytes", "max_response_bytes", "method", "metric", "metrics", "name", "namespace",
    "open_world", "output", "per_minute", "period", "profile", "queries", "query", "read_only", "region", "response",
    "return_data", "role_arn", "schema", "scopes", "since", "start", "stat", "timeout", "title", "unit", "until", "url",
    // JSON Schema
    "type", "properties", "required", "additionalProperties", "enum", "const", "default", "minimum", "maximum",
    "minLength", "maxLength", "pattern", "items", "format", "$ref", "$defs", "oneOf", "anyOf", "allOf", "not",
    "if", "then", "else", "x-mcp-header", "$schema", "dependentSchemas", "prefixItems", "uniqueItems",
    "exclusiveMinimum", "multipleOf", "patternProperties", "propertyNames", "contentEncoding",
    // headers and misc
    "Authorization", "Accept", "Content-Type", "X-Api-Key", "<<", "service", "text", "minutes", "hours", "x",
];

/// Argument names the base documents declare (templates refer to them).
pub const ARGS: &[&str] = &["service", "text", "minutes", "limit", "hours", "flag", "items", "obj", "undeclared"];

/// Scalars that mean something somewhere in the format.
#[rustfmt::skip]
pub const WORDS: &[&str] = &[
    "tool", "connection", "object", "string", "integer", "number", "boolean", "array", "null",
    "GET", "POST", "PUT", "DELETE", "PATCH", "get", "TRACE", "CONNECT",
    "30s", "15m", "2h", "7d", "0s", "1h30m", "1ms", "500ms", "99999999999999d", "-5m", "1.5h", "60", "m", "",
    "us-east-1", "aws-default", "local", "missing-conn", "http://127.0.0.1:9/api", "https://example.com/api/",
    "ftp://example.com", "http://[::1]:9", "http://169.254.169.254/latest", "//evil.example/x", "/relative/{{ service }}",
    "/ecs/x", "/ecs/{{ service }}", "/aws/lambda/*", "AWS/ApplicationELB", "TargetResponseTime", "p99", "Average", "tm99",
    "p99 * 2", "m1", "M1", "1m", "SEARCH('{AWS/EC2} MetricName=\"CPU\"', 'Average', 300)",
    ".", ".items | map({id, title})", "env", "$ENV", "input", "halt", "def f: f; f", "[limit(1000000; repeat(1))]",
    "{{ service }}", "{{ text }}", "{{ minutes }}m", "{{ hours }}h", "{{ limit }}", "{{ flag }}", "{{ items }}",
    "{{ obj }}", "{{ obj.a }}", "{{ items[0] }}", "{{ undeclared }}", "{{ service | raw }}", "{{ service | safe }}",
    "{{ service | upper }}", "{{ secret('TOKEN') }}", "Bearer {{ secret('TOKEN') }}", "{{ secret('') }}",
    "{{ secret(service) }}", "{{ secret('A') ~ secret('B') }}", "{% autoescape false %}{{ text }}{% endautoescape %}",
    "{% for i in range(100000) %}{{ i }}{% endfor %}", "{% for i in range(3) %}{{ service }}{% endfor %}",
    "{{ range(10)|join(',') }}", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "{% include 'q|0' %}",
    "{% extends 'x' %}", "{{ 'a' * 100000 }}", "{{ lipsum(1000) }}", "{{ namespace() }}", "{{ debug() }}", "{{",
    "}}", "{{ }}", "{#", "{% if service %}a{% else %}b{% endif %}", "{{ service }}{{ text }}",
    "fields @timestamp, @message\n| filter @message like {{ text }}\n| limit {{ limit }}\n",
    "fields @message | filter @message like {{ text | raw }}", "2026-01-01T00:00:00Z", "{{ text }}T00:00:00Z",
    "2026-13-45T99:99:99Z", "^[a-z]+$", "^(a+)+$", "[", "(?<x>", "\\p{L}", "date-time", "email", "uri",
    "#/$defs/x", "#", "#/properties", "http://json-schema.org/draft-07/schema#", "Seconds", "Percent", "Bytes",
    "127.0.0.0/8", "10.0.0.0/8", "::1/128", "not-a-cidr", "arn:aws:iam::123456789012:role/x", "default",
    "read:logs", "TOKEN", LONG,
];

/// A long scalar (500 bytes), for length limits.
const LONG: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// YAML oddities, printed as they are in a value position (flow-compatible).
pub const RAW: &[&str] = &[
    "&a {type: string}",
    "*a",
    "*undefined_anchor",
    "!!str 5",
    "!!binary aGVsbG8=",
    "!!int \"x\"",
    "!custom {a: 1}",
    "{<<: {type: object}, properties: {}}",
    "[&b x, *b, *b]",
    "{a: &l0 [x, x, x, x, x, x, x, x, x], b: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0], c: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1], d: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2], e: [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]}",
    "{? [a, b] : c}",
    "{1: a, 2: b}",
    "{true: x, null: y}",
    "{a: 1, a: 2}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "~",
    ".inf",
    "-.inf",
    ".nan",
    "0x1F",
    "0o17",
    "1e400",
    "-0",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "yes",
    "no",
    "on",
    "'single ''quoted'''",
    "\"\\u0000\\r\\n\\t\\u2028\"",
    "\"\\uD800\"",
    "|-\n  block\n  scalar",
    ">\n  folded\n  text",
    "{a: [1, {b: [2, {c: [3]}]}]}",
    "{\"\": empty key}",
    "!!null ''",
    "!!float 1",
    "!!map {}",
    "!!seq []",
    "!!timestamp 2001-12-14t21:59:43.10-05:00",
    "&x !!str \"tagged anchor\"",
];

/// A key: a real field name, an argument name, or any text.
#[derive(Arbitrary, Debug, Clone)]
pub enum Key {
    /// A field of the format.
    Field(u8),
    /// An argument name.
    Arg(u8),
    /// Any text.
    Any(String),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Key::Field(i) => FIELDS[usize::from(*i) % FIELDS.len()].to_owned(),
            Key::Arg(i) => ARGS[usize::from(*i) % ARGS.len()].to_owned(),
            Key::Any(s) => s.clone(),
        }
    }
}

/// A generated value.
#[derive(Arbitrary, Debug, Clone)]
pub enum Gen {
    /// `null`
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer.
    Int(i64),
    /// A small integer (bounds, counts).
    Small(i8),
    /// A float.
    Float(f64),
    /// A meaningful word.
    Word(u8),
    /// Any text.
    Text(String),
    /// A template built from parts.
    Template(Vec<TPart>),
    /// A YAML oddity.
    Raw(u8),
    /// A sequence.
    Seq(Vec<Gen>),
    /// A mapping.
    Map(Vec<(Key, Gen)>),
    /// A JSON Schema property for an argument.
    Prop(PropGen),
}

/// A piece of a generated template.
#[derive(Arbitrary, Debug, Clone)]
pub enum TPart {
    /// Literal text.
    Lit(String),
    /// `{{ arg }}`
    Var(u8),
    /// `{{ arg | filter }}`
    Filtered(u8, u8),
    /// `{{ secret('NAME') }}`
    Secret(String),
    /// A meaningful word (may itself be a template).
    Word(u8),
}

#[rustfmt::skip]
const FILTERS: &[&str] = &["raw", "upper", "lower", "length", "first", "last", "join(',')", "default('x')", "int", "float", "string", "list", "trim", "safe", "escape", "tojson", "urlencode", "replace('a','b')", "items", "sort", "reverse", "abs", "round"];

/// A JSON Schema for one argument.
#[derive(Arbitrary, Debug, Clone)]
pub struct PropGen {
    ty: u8,
    constraints: Vec<(u8, Gen)>,
}

const TYPES: &[&str] = &["string", "integer", "number", "boolean", "array", "object", "null"];
const CONSTRAINTS: &[&str] = &[
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "enum",
    "default",
    "items",
    "format",
    "const",
    "description",
    "x-mcp-header",
    "properties",
    "required",
    "additionalProperties",
];

impl Gen {
    fn to_y(&self, depth: u32) -> Y {
        if depth > 12 {
            return Y::Null;
        }
        match self {
            Gen::Null => Y::Null,
            Gen::Bool(b) => Y::Bool(*b),
            Gen::Int(i) => Y::Int(*i),
            Gen::Small(i) => Y::Int(i64::from(*i)),
            Gen::Float(f) => Y::Float(*f),
            Gen::Word(i) => s(WORDS[usize::from(*i) % WORDS.len()]),
            Gen::Text(t) => Y::Str(t.clone()),
            Gen::Template(parts) => Y::Str(parts.iter().map(TPart::text).collect()),
            Gen::Raw(i) => Y::Raw(RAW[usize::from(*i) % RAW.len()].to_owned()),
            Gen::Seq(items) => Y::Seq(items.iter().take(16).map(|g| g.to_y(depth + 1)).collect()),
            Gen::Map(entries) => Y::Map(entries.iter().take(16).map(|(k, g)| (k.text(), g.to_y(depth + 1))).collect()),
            Gen::Prop(p) => p.to_y(depth + 1),
        }
    }
}

impl TPart {
    fn text(&self) -> String {
        match self {
            TPart::Lit(t) => t.clone(),
            TPart::Var(i) => format!("{{{{ {} }}}}", ARGS[usize::from(*i) % ARGS.len()]),
            TPart::Filtered(i, f) => {
                format!("{{{{ {} | {} }}}}", ARGS[usize::from(*i) % ARGS.len()], FILTERS[usize::from(*f) % FILTERS.len()])
            }
            TPart::Secret(name) => format!("{{{{ secret('{name}') }}}}"),
            TPart::Word(i) => WORDS[usize::from(*i) % WORDS.len()].to_owned(),
        }
    }
}

impl PropGen {
    fn to_y(&self, depth: u32) -> Y {
        let mut entries = vec![("type".to_owned(), s(TYPES[usize::from(self.ty) % TYPES.len()]))];
        for (c, g) in self.constraints.iter().take(6) {
            entries.push((CONSTRAINTS[usize::from(*c) % CONSTRAINTS.len()].to_owned(), g.to_y(depth + 1)));
        }
        Y::Map(entries)
    }
}

/// One change to a base document.
#[derive(Arbitrary, Debug, Clone)]
pub enum Mutation {
    /// Sets `key` in the `target`-th mapping of the tree (depth-first order).
    Set {
        /// Which mapping (modulo their number).
        target: u16,
        /// The key.
        key: Key,
        /// The value.
        value: Gen,
    },
    /// Removes the `index`-th entry of the `target`-th mapping.
    Remove {
        /// Which mapping.
        target: u16,
        /// Which entry.
        index: u8,
    },
    /// Replaces the value of the `index`-th entry of the `target`-th mapping.
    Replace {
        /// Which mapping.
        target: u16,
        /// Which entry.
        index: u8,
        /// The new value.
        value: Gen,
    },
}

/// One generated document.
#[derive(Arbitrary, Debug, Clone)]
pub struct DocGen {
    base: u8,
    mutations: Vec<Mutation>,
}

/// One generated file.
#[derive(Arbitrary, Debug, Clone)]
pub struct FileGen {
    docs: Vec<DocGen>,
    /// Block or flow style, comments, explicit `---`/`...` markers.
    style: u8,
}

/// What `spec_structured` receives: up to four files.
#[derive(Arbitrary, Debug, Clone)]
pub struct Specs {
    files: Vec<FileGen>,
}

fn input_schema() -> Y {
    m(vec![
        ("type", s("object")),
        (
            "properties",
            m(vec![
                ("service", m(vec![("type", s("string")), ("enum", Y::Seq(vec![s("checkout"), s("payments")]))])),
                ("text", m(vec![("type", s("string")), ("maxLength", Y::Int(200)), ("default", s("ERROR"))])),
                ("minutes", m(vec![("type", s("integer")), ("minimum", Y::Int(5)), ("maximum", Y::Int(1440)), ("default", Y::Int(60))])),
                ("limit", m(vec![("type", s("integer")), ("minimum", Y::Int(1)), ("maximum", Y::Int(1000)), ("default", Y::Int(100))])),
                ("hours", m(vec![("type", s("integer")), ("minimum", Y::Int(1)), ("default", Y::Int(3))])),
                ("flag", m(vec![("type", s("boolean")), ("default", Y::Bool(false))])),
                ("items", m(vec![("type", s("array")), ("items", m(vec![("type", s("string"))]))])),
                ("obj", m(vec![("type", s("object"))])),
            ]),
        ),
        ("required", Y::Seq(vec![s("service")])),
        ("additionalProperties", Y::Bool(false)),
    ])
}

fn tool(name: &str, action: Y) -> Y {
    m(vec![
        ("kind", s("tool")),
        ("name", s(name)),
        ("title", s("A generated tool")),
        ("description", s("A tool the fuzzer started from.")),
        ("annotations", m(vec![("read_only", Y::Bool(true)), ("open_world", Y::Bool(true))])),
        ("input", input_schema()),
        ("output", m(vec![("max_bytes", Y::Int(16000))])),
        ("timeout", s("30s")),
        ("action", action),
        ("examples", Y::Seq(vec![m(vec![("args", m(vec![("service", s("checkout")), ("text", s("timeout after 30s"))]))])])),
    ])
}

/// The base documents: one per action kind and per connection kind.
pub fn base(i: u8) -> Y {
    match i % 6 {
        0 => tool(
            "logs_tool",
            m(vec![(
                "logs_insights",
                m(vec![
                    ("connection", s("aws-default")),
                    ("log_groups", Y::Seq(vec![s("/ecs/{{ service }}")])),
                    ("query", s("fields @timestamp, @message\n| filter @message like {{ text }}\n| limit {{ limit }}\n")),
                    ("since", s("{{ minutes }}m")),
                    ("limit", Y::Int(1000)),
                ]),
            )]),
        ),
        1 => tool(
            "metrics_tool",
            m(vec![(
                "metrics",
                m(vec![
                    ("connection", s("aws-default")),
                    (
                        "queries",
                        Y::Seq(vec![
                            m(vec![
                                ("id", s("m1")),
                                ("namespace", s("AWS/ApplicationELB")),
                                ("metric", s("TargetResponseTime")),
                                ("dimensions", m(vec![("LoadBalancer", s("{{ service }}"))])),
                                ("stat", s("p99")),
                            ]),
                            m(vec![("id", s("doubled")), ("expression", s("m1 * 2"))]),
                        ]),
                    ),
                    ("period", s("60s")),
                    ("since", s("{{ hours }}h")),
                ]),
            )]),
        ),
        2 => tool(
            "http_tool",
            m(vec![(
                "http",
                m(vec![
                    ("connection", s("local")),
                    ("method", s("POST")),
                    ("url", s("/items/{{ service }}")),
                    ("query", m(vec![("q", s("{{ text }}")), ("limit", Y::Int(25))])),
                    ("headers", m(vec![("Accept", s("application/json")), ("X-Service", s("{{ service }}"))])),
                    (
                        "body",
                        m(vec![("title", s("{{ text }}")), ("n", s("{{ limit }}")), ("tags", Y::Seq(vec![s("a"), s("{{ service }}")]))]),
                    ),
                    ("response", m(vec![("jq", s(".items | map({id, title})"))])),
                ]),
            )]),
        ),
        3 => m(vec![
            ("kind", s("connection")),
            ("name", s("aws-default")),
            ("description", s("AWS.")),
            ("aws", m(vec![("region", s("us-east-1")), ("endpoint_url", s("http://127.0.0.1:9"))])),
        ]),
        4 => m(vec![
            ("kind", s("connection")),
            ("name", s("local")),
            (
                "http",
                m(vec![
                    ("base_url", s("http://127.0.0.1:9/api")),
                    ("headers", m(vec![("Authorization", s("Bearer {{ secret('TOKEN') }}"))])),
                    ("timeout", s("10s")),
                    ("allow_private_networks", Y::Seq(vec![s("127.0.0.0/8")])),
                ]),
            ),
        ]),
        _ => tool(
            "range_tool",
            m(vec![(
                "logs_insights",
                m(vec![
                    ("log_groups", Y::Seq(vec![s("/ecs/checkout"), s("/ecs/{{ service }}")])),
                    ("query", s("fields @message | filter service = {{ service }}")),
                    ("start", s("2026-01-01T00:00:00Z")),
                    ("end", s("2026-01-02T00:00:00Z")),
                ]),
            )]),
        ),
    }
}

/// Depth-first paths (child indexes) of every mapping in the tree.
fn maps(y: &Y, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    match y {
        Y::Map(entries) => {
            out.push(path.clone());
            for (i, (_, v)) in entries.iter().enumerate() {
                path.push(i);
                maps(v, path, out);
                path.pop();
            }
        }
        Y::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i);
                maps(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(y: &'a mut Y, path: &[usize]) -> &'a mut Y {
    let Some((first, rest)) = path.split_first() else { return y };
    match y {
        Y::Map(entries) => at(&mut entries[*first].1, rest),
        Y::Seq(items) => at(&mut items[*first], rest),
        _ => unreachable!("paths come from `maps` over this tree"),
    }
}

impl DocGen {
    fn build(&self) -> Y {
        let mut y = base(self.base);
        for mutation in self.mutations.iter().take(12) {
            let mut paths = Vec::new();
            maps(&y, &mut Vec::new(), &mut paths);
            if paths.is_empty() {
                break;
            }
            let pick = |t: u16| paths[usize::from(t) % paths.len()].clone();
            match mutation {
                Mutation::Set { target, key, value } => {
                    if let Y::Map(entries) = at(&mut y, &pick(*target)) {
                        let k = key.text();
                        let v = value.to_y(0);
                        match entries.iter_mut().find(|(name, _)| *name == k) {
                            Some(e) => e.1 = v,
                            None => entries.push((k, v)),
                        }
                    }
                }
                Mutation::Remove { target, index } => {
                    if let Y::Map(entries) = at(&mut y, &pick(*target))
                        && !entries.is_empty()
                    {
                        let i = usize::from(*index) % entries.len();
                        entries.remove(i);
                    }
                }
                Mutation::Replace { target, index, value } => {
                    if let Y::Map(entries) = at(&mut y, &pick(*target))
                        && !entries.is_empty()
                    {
                        let i = usize::from(*index) % entries.len();
                        entries[i].1 = value.to_y(0);
                    }
                }
            }
        }
        y
    }
}

// ------------------------------------------------------------------ printing

/// Whether a string can be printed as a plain scalar and read back as the same string.
fn plain_ok(t: &str) -> bool {
    !t.is_empty()
        && t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ' | '@' | '(' | ')' | '$' | '+'))
        && !t.starts_with([' ', '-', '.', '@'])
        && !t.ends_with(' ')
        && t.parse::<f64>().is_err()
        && !matches!(t.to_ascii_lowercase().as_str(), "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "~")
}

fn quoted(t: &str) -> String {
    serde_json::to_string(t).unwrap_or_else(|_| "\"\"".to_owned())
}

fn scalar(y: &Y) -> Option<String> {
    Some(match y {
        Y::Null => "null".to_owned(),
        Y::Bool(b) => b.to_string(),
        Y::Int(i) => i.to_string(),
        Y::Float(f) if f.is_finite() => format!("{f:?}"),
        Y::Float(f) if f.is_nan() => ".nan".to_owned(),
        Y::Float(f) => if *f > 0.0 { ".inf" } else { "-.inf" }.to_owned(),
        Y::Str(t) if plain_ok(t) => t.clone(),
        Y::Str(t) => quoted(t),
        Y::Raw(r) => r.clone(),
        Y::Seq(_) | Y::Map(_) => return None,
    })
}

fn key_text(k: &str) -> String {
    if plain_ok(k) || k == "<<" { k.to_owned() } else { quoted(k) }
}

/// Flow style: `{a: [1, 2]}`. Raw block scalars are not flow-compatible, so they are quoted.
fn flow(y: &Y, out: &mut String) {
    match y {
        Y::Seq(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(v, out);
            }
            out.push(']');
        }
        Y::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&key_text(k));
                out.push_str(": ");
                flow(v, out);
            }
            out.push('}');
        }
        Y::Raw(r) if r.starts_with(['|', '>']) => out.push_str(&quoted(r)),
        other => out.push_str(&scalar(other).unwrap_or_default()),
    }
}

/// Block style with two-space indentation; multi-line strings as `|` block scalars.
fn block(y: &Y, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match y {
        Y::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                out.push_str(&pad);
                out.push_str(&key_text(k));
                out.push(':');
                value_after_key(v, indent, out);
            }
        }
        Y::Seq(items) if !items.is_empty() => {
            for v in items {
                out.push_str(&pad);
                out.push('-');
                match v {
                    Y::Map(e) if !e.is_empty() => {
                        out.push('\n');
                        block(v, indent + 2, out);
                    }
                    Y::Seq(i) if !i.is_empty() => {
                        out.push('\n');
                        block(v, indent + 2, out);
                    }
                    _ => value_after_key(v, indent, out),
                }
            }
        }
        other => {
            out.push_str(&pad);
            flow(other, out);
            out.push('\n');
        }
    }
}

fn value_after_key(v: &Y, indent: usize, out: &mut String) {
    match v {
        Y::Map(e) if !e.is_empty() => {
            out.push('\n');
            block(v, indent + 2, out);
        }
        Y::Seq(i) if !i.is_empty() => {
            out.push('\n');
            block(v, indent + 2, out);
        }
        Y::Str(t)
            if t.contains('\n')
                && !t.contains(['\r', '\t'])
                && t.lines().all(|l| !l.starts_with(' '))
                && !t.chars().any(|c| c.is_control() && c != '\n') =>
        {
            out.push_str(if t.ends_with('\n') { " |\n" } else { " |-\n" });
            for line in t.lines() {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(line);
                out.push('\n');
            }
        }
        Y::Raw(r) if r.starts_with(['|', '>']) => {
            out.push(' ');
            // Re-indent the block scalar's body under this key.
            let mut lines = r.lines();
            out.push_str(lines.next().unwrap_or(""));
            out.push('\n');
            for line in lines {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(line.trim_start());
                out.push('\n');
            }
        }
        other => {
            out.push(' ');
            flow(other, out);
            out.push('\n');
        }
    }
}

impl FileGen {
    fn text(&self) -> String {
        let mut out = String::new();
        if self.style & 4 != 0 {
            out.push_str("# yaml-language-server: $schema=../schemas/toolwright.schema.json\n");
        }
        for (i, doc) in self.docs.iter().take(6).enumerate() {
            if i > 0 || self.style & 8 != 0 {
                out.push_str("---\n");
            }
            let y = doc.build();
            if self.style & 1 != 0 {
                flow(&y, &mut out);
                out.push('\n');
            } else {
                block(&y, 0, &mut out);
            }
            if self.style & 16 != 0 {
                out.push_str("...\n");
            }
        }
        if self.style & 2 != 0 {
            out.push_str("# trailing comment without newline");
        }
        out
    }
}

impl Specs {
    /// The generated files. With no file at all, one empty file.
    pub fn to_files(&self) -> Vec<SourceFile> {
        let files: Vec<SourceFile> = self
            .files
            .iter()
            .take(4)
            .enumerate()
            .map(|(i, f)| SourceFile { name: format!("tools.d/g{i}.yaml"), relative: format!("g{i}.yaml"), text: f.text() })
            .collect();
        if files.is_empty() {
            return vec![SourceFile { name: "tools.d/g0.yaml".into(), relative: "g0.yaml".into(), text: String::new() }];
        }
        files
    }
}

/// Panics unless the base documents, unmutated and in one file, compile without errors.
pub fn assert_bases_compile() {
    let file = SourceFile { name: "tools.d/bases.yaml".into(), relative: "bases.yaml".into(), text: all_bases_text() };
    let compiled = toolwright::compile::compile(&[file]);
    let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "the generator's base documents compile:\n{}\n{errors:#?}", all_bases_text());
}

/// The base documents as one file, unmutated.
pub fn all_bases_text() -> String {
    let mut out = String::new();
    for i in 0..6 {
        if i > 0 {
            out.push_str("---\n");
        }
        block(&base(i), 0, &mut out);
    }
    out
}
