//! Property tests of the architecture invariant "`spec` and `compile` never panic on any
//! input": arbitrary bytes, arbitrary YAML shapes built from the real field names, and
//! mutations of the example catalog (`tests/fixtures/tools.d`) all go through `compile_dirs`
//! and every renderer.
//!
//! The runs are deterministic (a fixed seed) and write no regression files; a failure prints
//! the minimal input, which belongs in a unit test or a lint fixture once understood.

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::Config;
use toolwright::compile::compile_dirs;
use toolwright::diag::{self, Format};

/// Cases per property: enough to explore, few enough that the file runs in seconds in debug.
/// `PROPTEST_CASES` raises it for a longer hunt.
const CASES: u32 = 300;

/// The proptest configuration: CASES cases per property, a fixed seed (see `common::proptest_config`).
fn config(seed: u64) -> Config {
    common::proptest_config(seed, CASES)
}

/// Writes `files` (relative path → bytes) under a fresh `tools.d`, lints it the way
/// `toolwright lint` does (compile, then render every format) and checks the invariants
/// that hold for any input.
fn lint_files(files: &[(String, Vec<u8>)]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(format!("tempdir: {e}")))?;
    let root = dir.path().join("tools.d");
    for (rel, bytes) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(&root)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(&path, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    check(&root)
}

fn check(root: &Path) -> Result<(), TestCaseError> {
    let compiled = compile_dirs(&[root.to_path_buf()], None);
    for format in [Format::Text, Format::Json, Format::Github, Format::Sarif] {
        let out = diag::report(format, &compiled.diagnostics, &compiled.sources, false);
        // GitHub annotations are one line per diagnostic; the other formats always print something.
        prop_assert!(!out.is_empty() || (format == Format::Github && compiled.diagnostics.is_empty()));
    }
    let has_errors = compiled.diagnostics.iter().any(diag::Diagnostic::is_error);
    prop_assert_eq!(compiled.catalog.is_some(), !has_errors, "a catalog exists exactly when there is no error");
    for d in &compiled.diagnostics {
        prop_assert!(d.span.line >= 1 && d.span.column >= 1, "position is 1-based: {:?}", d);
        prop_assert!((d.span.end_line, d.span.end_column) >= (d.span.line, d.span.column), "span is not inverted: {:?}", d);
        prop_assert!(!d.message.is_empty(), "message is not empty: {:?}", d);
        if let Some(index) = compiled.sources.get(&d.file) {
            prop_assert!(
                index.line(d.span.line).is_some() && index.line(d.span.end_line).is_some(),
                "the span is inside its file: {:?}",
                d
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (a) arbitrary bytes

/// Pieces of YAML and of the spec format, so random byte strings reach past the parser too.
const TOKENS: &[&str] = &[
    "kind: tool\n",
    "kind: connection\n",
    "name: t\n",
    "description: d\n",
    "input:\n",
    "  type: object\n",
    "  properties:\n",
    "    x: {type: string}\n",
    "action:\n",
    "  logs_insights:\n",
    "    log_groups: [/a]\n",
    "    query: \"{{ x }}\"\n",
    "  http:\n",
    "    url: /p/{{ x }}\n",
    "---\n",
    "...\n",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "|\n",
    ">-\n",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "? ",
    "#",
    "\t",
    "  ",
    "\n",
    "\r\n",
    "\u{feff}",
    "{{",
    "}}",
    "{%",
    "%}",
    "\\",
    "%YAML 1.2\n",
    "<<: *a\n",
];

fn yamlish_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            6 => prop::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
            2 => "[a-z_]{1,12}".prop_map(String::into_bytes),
            1 => any::<String>().prop_map(String::into_bytes),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

/// Raw bytes (mostly not UTF-8), UTF-8 text, or YAML-like text with a few raw bytes spliced in.
fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => any::<String>().prop_map(String::into_bytes),
        3 => yamlish_bytes(),
        1 => (yamlish_bytes(), any::<usize>(), prop::collection::vec(any::<u8>(), 1..4)).prop_map(|(mut text, at, raw)| {
            let at = if text.is_empty() { 0 } else { at % text.len() };
            text.splice(at..at, raw);
            text
        }),
    ]
}

#[test]
fn arbitrary_bytes_never_panic() {
    proptest!(config(0x7001), |(first in any_bytes(), second in prop::option::of(any_bytes()))| {
        let mut files = vec![("spec.yaml".to_owned(), first)];
        if let Some(b) = second {
            files.push(("nested/other.yml".to_owned(), b));
        }
        lint_files(&files)?;
    });
}

// ---------------------------------------------------------------------------------------------
// (b) arbitrary YAML shapes

/// A YAML value to serialise by hand.
#[derive(Clone, Debug)]
enum Yaml {
    /// Text that is written as is (a plain scalar) or JSON-quoted.
    Scalar(String, bool),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
    /// A subtree written in flow style.
    Flow(Box<Yaml>),
}

/// Every key the spec format defines, plus JSON Schema keys that `input` uses.
const FIELD_NAMES: &[&str] = &[
    "kind",
    "name",
    "title",
    "description",
    "annotations",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
    "input",
    "output",
    "max_bytes",
    "schema",
    "timeout",
    "action",
    "examples",
    "args",
    "logs_insights",
    "metrics",
    "http",
    "connection",
    "log_groups",
    "query",
    "since",
    "until",
    "start",
    "end",
    "limit",
    "queries",
    "id",
    "namespace",
    "metric",
    "dimensions",
    "stat",
    "expression",
    "label",
    "unit",
    "return_data",
    "period",
    "method",
    "url",
    "headers",
    "body",
    "response",
    "jq",
    "aws",
    "region",
    "profile",
    "role_arn",
    "endpoint_url",
    "base_url",
    "allow_private_networks",
    "max_response_bytes",
    "type",
    "properties",
    "required",
    "default",
    "enum",
    "minimum",
    "maximum",
    "pattern",
    "items",
    "additionalProperties",
    "format",
    "$ref",
    "$defs",
    "oneOf",
    "const",
    "arguments",
    "messages",
    "role",
    "text",
    "resource",
    "uri",
    "uri_template",
    "file",
    "mime_type",
    "complete",
];

/// Plain scalars that mean something to the spec format or to YAML.
const PLAIN_SCALARS: &[&str] = &[
    "tool",
    "connection",
    "object",
    "string",
    "integer",
    "array",
    "boolean",
    "null",
    "~",
    "true",
    "false",
    "0",
    "-1",
    "20000",
    "1e400",
    "0x1F",
    "1.5",
    ".nan",
    "30s",
    "45s",
    "15m",
    "2h",
    "7d",
    "1w",
    "99999999999999999999d",
    "GET",
    "POST",
    "FETCH",
    "/ecs/checkout",
    "https://api.example.com",
    "/incidents",
    "http://127.0.0.1:8080/api",
    "aws-default",
    "us-east-1",
    "10.0.0.0/8",
    "p99",
    "m1",
    "AWS/ApplicationELB",
    ".[",
    ".incidents | map(.id)",
    "env",
];

/// Quoted scalars: templates, secrets, credentials and tricky text.
const QUOTED_SCALARS: &[&str] = &[
    "{{ service }}",
    "{{ servce }}",
    "{{ x | raw }}",
    "{{ minutes }}m",
    "{{ x",
    "{% for i in range(3) %}{{ i }}{% endfor %}",
    "{{ secret('TOKEN') }}",
    "Bearer {{ secret('T') }}",
    "Bearer abcdefghijklmnopqrstuvwxyz",
    "AKIAIOSFODNN7EXAMPLE",
    "{{ a.b[0] }}",
    "{{ loop }}",
    "{{ range(100000000) | list }}",
    "{# c #}",
    "fields @message | filter x = {{ q }}",
    "",
    " ",
    "\u{0}",
    "é",
    "a\nb",
    "{{ 1/0 }}",
    "{{ undefined_fn() }}",
    "{{ x }}{{ y }}",
    "/p/{{ a }}/{{ b }}",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => prop::sample::select(FIELD_NAMES).prop_map(str::to_owned), 1 => "[a-z_]{1,10}", 1 => any::<String>()]
}

fn scalar() -> impl Strategy<Value = Yaml> {
    prop_oneof![
        3 => prop::sample::select(PLAIN_SCALARS).prop_map(|s| Yaml::Scalar(s.to_owned(), false)),
        3 => prop::sample::select(QUOTED_SCALARS).prop_map(|s| Yaml::Scalar(s.to_owned(), true)),
        1 => any::<i64>().prop_map(|n| Yaml::Scalar(n.to_string(), false)),
        1 => any::<String>().prop_map(|s| Yaml::Scalar(s, true)),
    ]
}

fn yaml_value() -> impl Strategy<Value = Yaml> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Yaml::Seq),
            prop::collection::vec((key(), inner.clone()), 0..6).prop_map(Yaml::Map),
            inner.prop_map(|v| Yaml::Flow(Box::new(v))),
        ]
    })
}

/// A document: usually a mapping that starts with a real `kind` and name, so the checks
/// after the structural ones run too.
fn document() -> impl Strategy<Value = Yaml> {
    let kind = prop::sample::select(&["tool", "connection", "tool", "other", "prompt", "resource", "resource_template"][..]);
    (kind, prop::collection::vec((key(), yaml_value()), 0..8), any::<bool>()).prop_map(|(kind, mut entries, named)| {
        if named {
            entries.insert(0, ("name".to_owned(), Yaml::Scalar("t".to_owned(), false)));
        }
        entries.insert(0, ("kind".to_owned(), Yaml::Scalar(kind.to_owned(), false)));
        Yaml::Map(entries)
    })
}

fn json_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn flow(v: &Yaml) -> String {
    match v {
        // In flow style `[`, `]`, `{`, `}` and `,` end a plain scalar, so only safe ones stay plain.
        Yaml::Scalar(s, false) if s.chars().all(|c| c.is_ascii_alphanumeric() || "_./~-+".contains(c)) => s.clone(),
        Yaml::Scalar(s, _) => json_quote(s),
        Yaml::Seq(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Yaml::Map(entries) => {
            format!("{{{}}}", entries.iter().map(|(k, v)| format!("{}: {}", json_quote(k), flow(v))).collect::<Vec<_>>().join(", "))
        }
        Yaml::Flow(inner) => flow(inner),
    }
}

/// Writes what follows `key:` or `-`: a scalar on the same line, or a block below it.
fn block(v: &Yaml, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Yaml::Seq(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&pad);
                out.push('-');
                block(item, indent + 2, out);
            }
        }
        Yaml::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            for (k, item) in entries {
                out.push_str(&pad);
                out.push_str(&json_quote(k));
                out.push(':');
                block(item, indent + 2, out);
            }
        }
        other => {
            out.push(' ');
            out.push_str(&flow(other));
            out.push('\n');
        }
    }
}

fn to_yaml(docs: &[Yaml]) -> String {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---");
        block(doc, 0, &mut out);
    }
    out
}

fn map(entries: Vec<(&str, Option<Yaml>)>) -> Yaml {
    Yaml::Map(entries.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))).collect())
}

/// A mapping from generated pairs, keeping the first of repeated keys (a repeated key is a
/// `duplicate-key` error that would stop the document before the checks of interest).
fn pairs<K: AsRef<str>>(entries: Vec<(K, Yaml)>) -> Yaml {
    let mut out: Vec<(String, Yaml)> = Vec::new();
    for (k, v) in entries {
        if !out.iter().any(|(seen, _)| seen == k.as_ref()) {
            out.push((k.as_ref().to_owned(), v));
        }
    }
    Yaml::Map(out)
}

fn plain(s: &str) -> Yaml {
    Yaml::Scalar(s.to_owned(), false)
}

/// Names that input properties, templates and example arguments share, so that some
/// templates read declared properties and some do not.
const ARG_NAMES: &[&str] = &["service", "minutes", "text", "n", "x", "q", "a", "servce", "load_balancer"];

/// A value for a template field: mostly templates over `ARG_NAMES`, sometimes anything.
fn template_value() -> impl Strategy<Value = Yaml> {
    prop_oneof![
        3 => (prop::sample::select(ARG_NAMES), prop::sample::select(&["", "/ecs/", "fields @message | filter a = ", "https://api.example.com/v1/", "/p/"][..]), prop::sample::select(&["", "m", "h", " | raw", "/tail", " }}"][..]))
            .prop_map(|(arg, before, after)| Yaml::Scalar(format!("{before}{{{{ {arg} }}}}{after}"), true)),
        2 => scalar(),
    ]
}

fn property_schema() -> impl Strategy<Value = Yaml> {
    let ty = prop::sample::select(&["string", "integer", "number", "boolean", "array", "object", "text"][..]);
    (
        ty,
        prop::option::of(scalar()),
        prop::option::of(scalar()),
        prop::option::of(prop::collection::vec(scalar(), 0..4)),
        prop::option::of(scalar()),
    )
        .prop_map(|(ty, default, minimum, choices, pattern)| {
            map(vec![
                ("type", Some(plain(ty))),
                ("default", default),
                ("minimum", minimum),
                ("enum", choices.map(Yaml::Seq)),
                ("pattern", pattern),
            ])
        })
}

fn input_schema() -> impl Strategy<Value = Yaml> {
    (
        prop::collection::vec((prop::sample::select(ARG_NAMES), property_schema()), 0..5),
        prop::option::of(prop::collection::vec(prop::sample::select(ARG_NAMES), 0..3)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(props, required, typed, closed)| {
            map(vec![
                ("type", typed.then(|| plain("object"))),
                ("properties", Some(pairs(props))),
                ("required", required.map(|r| Yaml::Seq(r.into_iter().map(plain).collect()))),
                ("additionalProperties", closed.then(|| plain("false"))),
            ])
        })
}

fn connection_name() -> impl Strategy<Value = Option<Yaml>> {
    prop::option::of(prop::sample::select(&["aws-default", "api", "nope"][..]).prop_map(plain))
}

fn window() -> impl Strategy<Value = Vec<(&'static str, Option<Yaml>)>> {
    (
        prop::option::of(template_value()),
        prop::option::of(template_value()),
        prop::option::of(template_value()),
        prop::option::of(template_value()),
    )
        .prop_map(|(since, until, start, end)| vec![("since", since), ("until", until), ("start", start), ("end", end)])
}

fn logs_action() -> impl Strategy<Value = Yaml> {
    (connection_name(), prop::collection::vec(template_value(), 0..3), template_value(), window(), prop::option::of(scalar())).prop_map(
        |(conn, groups, query, window, limit)| {
            let mut e = vec![("connection", conn), ("log_groups", Some(Yaml::Seq(groups))), ("query", Some(query)), ("limit", limit)];
            e.extend(window);
            map(vec![("logs_insights", Some(map(e)))])
        },
    )
}

fn metric_query() -> impl Strategy<Value = Yaml> {
    (
        prop::sample::select(&["m1", "m2", "P99", "e1"][..]),
        prop::option::of(template_value()),
        prop::option::of(template_value()),
        prop::option::of(template_value()),
        prop::option::of(template_value()),
        prop::option::of(template_value()),
    )
        .prop_map(|(id, namespace, metric, dim, stat, expression)| {
            map(vec![
                ("id", Some(plain(id))),
                ("namespace", namespace),
                ("metric", metric),
                ("dimensions", dim.map(|d| Yaml::Map(vec![("LoadBalancer".to_owned(), d)]))),
                ("stat", stat),
                ("expression", expression),
            ])
        })
}

fn metrics_action() -> impl Strategy<Value = Yaml> {
    (connection_name(), prop::collection::vec(metric_query(), 0..3), prop::option::of(template_value()), window()).prop_map(
        |(conn, queries, period, window)| {
            let mut e = vec![("connection", conn), ("queries", Some(Yaml::Seq(queries))), ("period", period)];
            e.extend(window);
            map(vec![("metrics", Some(map(e)))])
        },
    )
}

fn http_action() -> impl Strategy<Value = Yaml> {
    (
        connection_name(),
        prop::option::of(prop::sample::select(&["GET", "post", "FETCH"][..]).prop_map(plain)),
        template_value(),
        prop::option::of(prop::collection::vec((prop::sample::select(&["q", "limit", "api_key"][..]), template_value()), 0..3)),
        prop::option::of(prop::collection::vec((prop::sample::select(&["Accept", "Authorization", "X Bad"][..]), template_value()), 0..3)),
        prop::option::of(yaml_value()),
        prop::option::of(prop::sample::select(&[".", ".[", ".items | map(.id)", "env.HOME", "input", "{a: .b}"][..])),
    )
        .prop_map(|(conn, method, url, query, headers, body, jq)| {
            map(vec![(
                "http",
                Some(map(vec![
                    ("connection", conn),
                    ("method", method),
                    ("url", Some(url)),
                    ("query", query.map(pairs)),
                    ("headers", headers.map(pairs)),
                    ("body", body),
                    ("response", jq.map(|j| map(vec![("jq", Some(Yaml::Scalar(j.to_owned(), true)))]))),
                ])),
            )])
        })
}

/// A tool whose every required field is present with roughly the right shape, so that
/// compilation, template analysis and example rendering run, not only the structural check.
fn tool_document() -> impl Strategy<Value = Yaml> {
    let action = prop_oneof![logs_action(), metrics_action(), http_action()];
    let example = prop::collection::vec((prop::sample::select(ARG_NAMES), scalar()), 0..4)
        .prop_map(|args| map(vec![("args", Some(Yaml::Flow(Box::new(pairs(args)))))]));
    (
        prop::sample::select(&["t1", "t2", "bad name"][..]),
        input_schema(),
        action,
        prop::option::of(prop::collection::vec(example, 0..3)),
        prop::option::of(scalar()),
    )
        .prop_map(|(name, input, action, examples, timeout)| {
            map(vec![
                ("kind", Some(plain("tool"))),
                ("name", Some(plain(name))),
                ("description", Some(plain("d"))),
                ("input", Some(input)),
                ("timeout", timeout),
                ("action", Some(action)),
                ("examples", examples.map(Yaml::Seq)),
            ])
        })
}

fn connection_document() -> impl Strategy<Value = Yaml> {
    let aws = prop::option::of(prop::option::of(scalar()).prop_map(|region| map(vec![("region", region)])));
    let http = prop::option::of(
        (
            template_value(),
            prop::option::of(prop::collection::vec((prop::sample::select(&["Accept", "Authorization"][..]), template_value()), 0..3)),
            prop::option::of(scalar()),
            prop::option::of(yaml_value()),
        )
            .prop_map(|(base, headers, timeout, private)| {
                map(vec![
                    ("base_url", Some(base)),
                    ("headers", headers.map(pairs)),
                    ("timeout", timeout),
                    ("allow_private_networks", private),
                ])
            }),
    );
    (prop::sample::select(&["aws-default", "api"][..]), aws, http).prop_map(|(name, aws, http)| {
        map(vec![("kind", Some(plain("connection"))), ("name", Some(plain(name))), ("aws", aws), ("http", http)])
    })
}

/// A property schema of prompt arguments or template variables, sometimes with `complete`.
fn argument_schema() -> BoxedStrategy<Yaml> {
    let complete = prop_oneof![
        3 => (http_action(), prop::option::of(prop::sample::select(&["[.items[].name]", ".[", "."][..]).prop_map(|s| Yaml::Scalar(s.to_owned(), true))))
            .prop_map(|(action, jq)| match action {
                Yaml::Map(mut entries) => {
                    entries.extend(jq.map(|jq| ("jq".to_owned(), jq)));
                    Yaml::Map(entries)
                }
                other => other,
            }),
        1 => yaml_value(),
    ];
    (property_schema(), prop::option::of(complete.boxed()))
        .prop_map(|(schema, complete)| match schema {
            Yaml::Map(mut entries) => {
                entries.extend(complete.map(|c| ("complete".to_owned(), c)));
                Yaml::Map(entries)
            }
            other => other,
        })
        .boxed()
}

fn arguments_schema() -> impl Strategy<Value = Yaml> {
    (
        prop::collection::vec((prop::sample::select(ARG_NAMES), argument_schema()), 0..4),
        prop::option::of(prop::collection::vec(prop::sample::select(ARG_NAMES), 0..3)),
    )
        .prop_map(|(props, required)| {
            map(vec![
                ("type", Some(plain("object"))),
                ("properties", Some(pairs(props))),
                ("required", required.map(|r| Yaml::Seq(r.into_iter().map(plain).collect()))),
            ])
        })
}

/// A URI, a URI template, or a text that is neither.
fn uri() -> impl Strategy<Value = Yaml> {
    prop::sample::select(
        &[
            "runbook://a",
            "deps://{service}",
            "deps://{service}/{n}",
            "x://{+p}",
            "not a uri",
            "a://{x}{y}",
            "{",
            "runbook://a/{{ service }}",
        ][..],
    )
    .prop_map(|s| Yaml::Scalar(s.to_owned(), true))
}

/// A prompt, resource or resource template with roughly the right shape. (Boxed, as its parts
/// are: unboxed, the value tree of this strategy is built in stack frames too large for a test
/// thread in a debug build.)
fn surface_document() -> BoxedStrategy<Yaml> {
    let message = (prop::sample::select(&["user", "assistant", "system"][..]), prop::option::of(template_value()), prop::option::of(uri()))
        .prop_map(|(role, text, resource)| map(vec![("role", Some(plain(role))), ("text", text), ("resource", resource)]));
    let prompt = (prop::option::of(arguments_schema()), prop::collection::vec(message, 0..4)).prop_map(|(arguments, messages)| {
        map(vec![
            ("kind", Some(plain("prompt"))),
            ("name", Some(plain("p"))),
            ("arguments", arguments),
            ("messages", Some(Yaml::Seq(messages))),
        ])
    });
    let resource = (
        uri(),
        prop::option::of(scalar()),
        prop::option::of(prop::sample::select(&["notes.md", "../x", "/etc/hostname", "missing.txt", "."][..]).prop_map(plain)),
        prop::option::of(http_action()),
    )
        .prop_map(|(uri, text, file, action)| {
            map(vec![
                ("kind", Some(plain("resource"))),
                ("name", Some(plain("r"))),
                ("uri", Some(uri)),
                ("text", text),
                ("file", file),
                ("action", action),
            ])
        });
    let template = (uri(), arguments_schema(), http_action()).prop_map(|(uri, input, action)| {
        map(vec![
            ("kind", Some(plain("resource_template"))),
            ("name", Some(plain("t"))),
            ("uri_template", Some(uri)),
            ("input", Some(input)),
            ("action", Some(action)),
        ])
    });
    prop_oneof![prompt.boxed(), resource.boxed(), template.boxed()].boxed()
}

#[test]
fn arbitrary_yaml_shapes_never_panic() {
    // Boxed: the value tree of the union, unboxed, needs more stack than a test thread has in a debug build.
    let any_document =
        prop_oneof![2 => document().boxed(), 3 => tool_document().boxed(), 1 => connection_document().boxed(), 2 => surface_document()]
            .boxed();
    proptest!(config(0x7002), |(docs in prop::collection::vec(any_document, 1..4))| {
        lint_files(&[("spec.yaml".to_owned(), to_yaml(&docs).into_bytes())])?;
    });
}

#[test]
fn the_yaml_writer_writes_yaml() {
    // The generator above is only useful if its output parses; check it on a fixed tree.
    let doc = Yaml::Map(vec![
        ("kind".to_owned(), Yaml::Scalar("tool".to_owned(), false)),
        ("input".to_owned(), Yaml::Map(vec![("type".to_owned(), Yaml::Scalar("object".to_owned(), false))])),
        (
            "examples".to_owned(),
            Yaml::Seq(vec![Yaml::Map(vec![(
                "args".to_owned(),
                Yaml::Flow(Box::new(Yaml::Map(vec![("a".to_owned(), Yaml::Scalar("x\"y".to_owned(), true))]))),
            )])]),
        ),
    ]);
    let text = to_yaml(&[doc]);
    let parsed = toolwright::spec::yaml::parse_documents(&text);
    assert_eq!(parsed.len(), 1, "{text}");
    assert!(matches!(parsed[0], toolwright::spec::yaml::Parsed::Doc(_)), "{text}");
}

// ---------------------------------------------------------------------------------------------
// (c) mutations of the example catalog (tests/fixtures/tools.d)

/// The tests' example catalog (a copy of the bundled `tools.d`, which is the user's to edit), as
/// (relative path, text).
fn bundled() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tools.d");
    let (files, diags) = toolwright::spec::load(&[root]);
    assert!(diags.is_empty(), "tests/fixtures/tools.d loads: {diags:?}");
    assert!(!files.is_empty(), "tests/fixtures/tools.d holds files");
    files.into_iter().map(|f| (f.relative, f.text)).collect()
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    /// Adds (positive) or removes (negative) leading spaces.
    Indent(usize, i8),
    SwapLines(usize, usize),
    /// Replaces one character of a line with another.
    Replace(usize, usize, char),
    /// Cuts the file at a fraction (in thousandths) of its length.
    Truncate(u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<usize>().prop_map(Mutation::DeleteLine),
        3 => any::<usize>().prop_map(Mutation::DuplicateLine),
        3 => (any::<usize>(), prop_oneof![-4i8..=-1, 1i8..=4]).prop_map(|(l, d)| Mutation::Indent(l, d)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => (any::<usize>(), any::<usize>(), prop::sample::select(&[':', '-', '{', '}', '[', ']', '"', '\'', '|', ' ', '#', '\t', 'x', '0'][..]))
            .prop_map(|(l, c, ch)| Mutation::Replace(l, c, ch)),
        1 => (0u16..1000).prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        return text.to_owned();
    }
    let n = lines.len();
    match *m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::Indent(i, d) => {
            let l = &mut lines[i % n];
            if d > 0 {
                l.insert_str(0, &" ".repeat(usize::from(d.unsigned_abs())));
            } else {
                let strip = l.chars().take(usize::from(d.unsigned_abs())).take_while(|c| *c == ' ').count();
                l.drain(..strip);
            }
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::Replace(i, c, ch) => {
            let l = &mut lines[i % n];
            let count = l.chars().count();
            if count > 0 {
                let at = c % count;
                *l = l.chars().enumerate().map(|(j, x)| if j == at { ch } else { x }).collect();
            }
        }
        Mutation::Truncate(per_mille) => {
            let joined = lines.join("\n");
            let mut cut = joined.len() * usize::from(per_mille) / 1000;
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            return joined[..cut].to_owned();
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[test]
fn mutated_bundled_specs_never_panic() {
    let files = bundled();
    let count = files.len();
    proptest!(config(0x7003), |(target in 0..count, mutations in prop::collection::vec(mutation(), 1..5))| {
        let mut written = Vec::new();
        for (i, (rel, text)) in files.iter().enumerate() {
            let text = if i == target { mutations.iter().fold(text.clone(), |t, m| apply(&t, m)) } else { text.clone() };
            written.push((rel.clone(), text.into_bytes()));
        }
        lint_files(&written)?;
    });
}

#[test]
fn the_unmutated_bundled_specs_lint_clean() {
    // The baseline of the mutation test: without a mutation there is nothing to report.
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in bundled() {
        let path = dir.path().join("tools.d").join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let compiled = compile_dirs(&[dir.path().join("tools.d")], None);
    assert!(compiled.diagnostics.is_empty(), "{:?}", compiled.diagnostics);
    assert!(compiled.catalog.is_some());
}
