//! Property tests of `toolwright diff` over random JSON Schemas and catalogs:
//!
//! - a schema or a catalog compared with itself has no change (a catalog also when it is
//!   compiled again from its files in another order, with other files around it);
//! - two schemas give no change only when they accept the same values for the same reasons:
//!   any other difference is reported, if only as "cannot compare";
//! - adding an optional property to a tool's input is never breaking (and is reported);
//! - removing a required property is always breaking;
//! - a narrowing of an input is breaking and its reverse is not, and for an output schema it
//!   is exactly the other way round.
//!
//! Deterministic (a fixed seed per property), as tests/spec_properties.rs.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};
use toolwright::catalog::Catalog;
use toolwright::compile::compile;
use toolwright::diff::schema::{Direction, compare};
use toolwright::diff::{Catalogue, Kind, Severity, diff};
use toolwright::spec::SourceFile;

const CASES: u32 = 200;

/// The proptest configuration: CASES cases per property, a fixed seed (see `common::proptest_config`).
fn config(seed: u64) -> Config {
    common::proptest_config(seed, CASES)
}

// ---------------------------------------------------------------------------------------------
// Random schemas

const NAMES: &[&str] = &["service", "region", "limit", "filter", "tags", "level", "since", "id"];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        (
            prop::option::of(prop::sample::subsequence(vec!["a", "b", "c", "d"], 1..4)),
            prop::option::of(0u32..5),
            prop::option::of(5u32..50),
            any::<bool>()
        )
            .prop_map(|(values, min, max, pattern)| {
                let mut s = json!({"type": "string"});
                if let Some(v) = values {
                    s["enum"] = json!(v);
                }
                if let Some(m) = min {
                    s["minLength"] = json!(m);
                }
                if let Some(m) = max {
                    s["maxLength"] = json!(m);
                }
                if pattern {
                    s["pattern"] = json!("^[a-z]+$");
                }
                s
            }),
        (
            prop::sample::select(vec!["integer", "number"]),
            prop::option::of(-10i64..10),
            prop::option::of(10i64..1000),
            prop::option::of(1u32..4)
        )
            .prop_map(|(t, min, max, multiple)| {
                let mut s = json!({"type": t});
                if let Some(m) = min {
                    s["minimum"] = json!(m);
                }
                if let Some(m) = max {
                    s["maximum"] = json!(m);
                }
                if let Some(m) = multiple {
                    s["multipleOf"] = json!(m);
                }
                s
            }),
        Just(json!({"type": "boolean"})),
        Just(json!({"type": ["string", "null"]})),
        Just(json!({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+h$"}]})),
        Just(json!({"type": "string", "description": "a value", "default": "x"})),
    ]
}

/// An object schema of up to four properties from [`NAMES`].
fn object(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    (prop::collection::vec((prop::sample::select(NAMES.to_vec()), inner, any::<bool>()), 0..5), prop::option::of(any::<bool>())).prop_map(
        |(props, additional)| {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for (name, schema, req) in props {
                if properties.contains_key(name) {
                    continue;
                }
                properties.insert(name.to_owned(), schema);
                if req {
                    required.push(name);
                }
            }
            let mut s = json!({"type": "object", "properties": properties});
            if !required.is_empty() {
                s["required"] = json!(required);
            }
            if let Some(a) = additional {
                s["additionalProperties"] = json!(a);
            }
            s
        },
    )
}

fn schema() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            object(inner.clone()),
            (inner, prop::option::of(0u32..3), prop::option::of(3u32..9)).prop_map(|(items, min, max)| {
                let mut s = json!({"type": "array", "items": items});
                if let Some(m) = min {
                    s["minItems"] = json!(m);
                }
                if let Some(m) = max {
                    s["maxItems"] = json!(m);
                }
                s
            }),
        ]
    })
}

/// A tool's input: an object schema (the root of `input` is always one).
fn input_schema() -> impl Strategy<Value = Value> {
    object(schema())
}

/// The schema with what does not change what it accepts taken out: `true` subschemas are `{}`,
/// `additionalProperties: true`, `items: true`, empty `properties` and `required` are absent,
/// and `required` is a sorted set.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Bool(true) => json!({}),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if matches!(k.as_str(), "additionalProperties" | "items") && *v == Value::Bool(true) {
                    continue;
                }
                if matches!(k.as_str(), "properties" | "required")
                    && (v.as_object().is_some_and(Map::is_empty) || v.as_array().is_some_and(Vec::is_empty))
                {
                    continue;
                }
                if k == "required"
                    && let Some(names) = v.as_array()
                {
                    let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                    names.sort();
                    names.dedup();
                    out.insert(k.clone(), json!(names));
                    continue;
                }
                let keep_as_is = !matches!(k.as_str(), "properties" | "additionalProperties" | "items");
                let v = if keep_as_is {
                    v.clone()
                } else if k == "properties" {
                    Value::Object(v.as_object().map(|p| p.iter().map(|(n, s)| (n.clone(), canonical(s))).collect()).unwrap_or_default())
                } else {
                    canonical(v)
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn breaking(changes: &[toolwright::diff::schema::SchemaChange]) -> bool {
    changes.iter().any(|c| c.severity == Severity::Breaking)
}

#[test]
fn a_schema_compared_with_itself_has_no_change() {
    proptest!(config(0xd1f1), |(s in schema())| {
        prop_assert!(compare(&s, &s, Direction::Input, "/input").is_empty());
        prop_assert!(compare(&s, &s, Direction::Output, "/output/schema").is_empty());
    });
}

/// Never a false "no change": two random schemas (often near each other) compare empty only
/// when they are the same up to what cannot change what they accept.
#[test]
fn no_change_only_for_the_same_schema() {
    let pair = input_schema().prop_flat_map(|a| {
        let b = prop_oneof![Just(a.clone()), input_schema(), mutate(a.clone())];
        (Just(a), b)
    });
    proptest!(config(0xd1f2), |((a, b) in pair)| {
        let changes = compare(&a, &b, Direction::Input, "/input");
        if changes.is_empty() {
            prop_assert_eq!(canonical(&a), canonical(&b), "no change reported between different schemas");
        } else {
            prop_assert_ne!(canonical(&a), canonical(&b), "a change reported between the same schemas: {:?}", changes);
        }
    });
}

/// One random edit anywhere among the root's properties: a keyword set, removed or changed.
fn mutate(a: Value) -> impl Strategy<Value = Value> {
    let keys = vec![
        "minimum",
        "maximum",
        "enum",
        "pattern",
        "type",
        "oneOf",
        "description",
        "minLength",
        "items",
        "required",
        "additionalProperties",
    ];
    (
        0usize..8,
        prop::sample::select(keys),
        prop_oneof![
            Just(Value::Null),
            Just(json!(3)),
            Just(json!("x")),
            Just(json!(["a"])),
            Just(json!(true)),
            Just(json!({"type": "string"}))
        ],
    )
        .prop_map(move |(which, key, value)| {
            let mut b = a.clone();
            let props = b["properties"].as_object_mut().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
            let target = if props.is_empty() || which >= props.len() { &mut b } else { &mut b["properties"][&props[which]] };
            if let Some(obj) = target.as_object_mut() {
                if value.is_null() {
                    obj.remove(key);
                } else {
                    obj.insert(key.to_owned(), value);
                }
            }
            b
        })
}

/// The JSON pointers of `v` and of its subschemas under `properties` and `items`.
fn subschemas(v: &Value, pointer: &str, out: &mut Vec<String>) {
    out.push(pointer.to_owned());
    if let Some(props) = v.get("properties").and_then(Value::as_object) {
        for (name, s) in props {
            subschemas(s, &format!("{pointer}/properties/{name}"), out);
        }
    }
    if let Some(items) = v.get("items").filter(|i| i.is_object()) {
        subschemas(items, &format!("{pointer}/items"), out);
    }
}

/// A narrowing of one subschema of `a` (anywhere under `properties` and `items`), chosen by
/// `choice`; `which` picks the subschema, preferring one whose keyword the choice changes, so
/// that changing an existing value is tried as often as adding one. `None` when it does not apply.
fn narrow(a: &Value, which: usize, choice: u8) -> Option<Value> {
    let mut b = a.clone();
    let mut all = Vec::new();
    subschemas(&b, "", &mut all);
    let key = match choice {
        0 => "additionalProperties",
        1 => "maximum",
        2 => "minimum",
        3 => "enum",
        4 => "pattern",
        5 => "type",
        6 => "maxLength",
        _ => "required",
    };
    let with: Vec<&String> = all.iter().filter(|p| b.pointer(p).is_some_and(|s| s.get(key).is_some())).collect();
    let pointer =
        if !with.is_empty() && which.is_multiple_of(2) { with[which / 2 % with.len()].clone() } else { all[which % all.len()].clone() };
    let target = b.pointer_mut(&pointer)?.as_object_mut()?;
    match choice {
        0 => {
            if target.get("type") != Some(&json!("object")) || target.get("additionalProperties") == Some(&json!(false)) {
                return None;
            }
            target.insert("additionalProperties".into(), json!(false));
        }
        1 => {
            let max = target.get("maximum").and_then(Value::as_i64).map_or(100, |m| m - 1);
            target.insert("maximum".into(), json!(max));
        }
        2 => {
            let min = target.get("minimum").and_then(Value::as_i64).map_or(0, |m| m + 1);
            target.insert("minimum".into(), json!(min));
        }
        3 => {
            let values = target.get_mut("enum")?.as_array_mut()?;
            if values.len() < 2 {
                return None;
            }
            values.pop();
        }
        4 => {
            if target.contains_key("pattern") {
                return None;
            }
            target.insert("pattern".into(), json!("^[a-z]{1,8}$"));
        }
        5 => {
            if target.get("type") != Some(&json!("number")) {
                return None;
            }
            target.insert("type".into(), json!("integer"));
        }
        6 => {
            let max = target.get("maxLength").and_then(Value::as_i64).map_or(3, |m| m - 1);
            target.insert("maxLength".into(), json!(max));
        }
        _ => {
            // Make one more property required.
            let names: Vec<String> = target.get("properties")?.as_object()?.keys().cloned().collect();
            let mut required: Vec<Value> = target.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
            let name = names.iter().find(|n| !required.contains(&json!(n)))?;
            required.push(json!(name));
            target.insert("required".into(), json!(required));
        }
    }
    Some(b)
}

/// Counts the cases a property applied to, so that a property cannot pass by skipping them all.
fn applied(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn assert_applied(counter: &AtomicUsize, what: &str) {
    let n = counter.load(Ordering::Relaxed);
    assert!(n >= CASES as usize / 4 || std::env::var_os("PROPTEST_CASES").is_some(), "{what}: only {n} cases applied");
}

#[test]
fn narrowing_breaks_inputs_and_its_reverse_breaks_outputs() {
    static APPLIED: AtomicUsize = AtomicUsize::new(0);
    proptest!(config(0xd1f3), |(a in input_schema(), which in 0usize..4, choice in 0u8..8)| {
        let Some(b) = narrow(&a, which, choice) else { return Ok(()) };
        applied(&APPLIED);
        let forward_in = compare(&a, &b, Direction::Input, "/input");
        prop_assert!(breaking(&forward_in), "narrowing {choice} of an input is breaking: {:?}", forward_in);
        prop_assert!(!breaking(&compare(&b, &a, Direction::Input, "/input")), "widening an input is not breaking");
        let backward_out = compare(&b, &a, Direction::Output, "/output/schema");
        prop_assert!(breaking(&backward_out), "widening an output is breaking: {:?}", backward_out);
        prop_assert!(!breaking(&compare(&a, &b, Direction::Output, "/output/schema")), "narrowing an output is not breaking");
    });
    assert_applied(&APPLIED, "narrowings");
}

#[test]
fn removing_a_required_property_is_breaking() {
    static APPLIED: AtomicUsize = AtomicUsize::new(0);
    proptest!(config(0xd1f4), |(a in input_schema(), which in 0usize..4)| {
        let required: Vec<String> = a.get("required").and_then(Value::as_array)
            .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default();
        let Some(name) = required.get(which % required.len().max(1)).cloned() else { return Ok(()) };
        applied(&APPLIED);
        let mut b = a.clone();
        b["properties"].as_object_mut().expect("properties").remove(&name);
        let rest: Vec<&String> = required.iter().filter(|r| **r != name).collect();
        b["required"] = json!(rest);
        let changes = compare(&a, &b, Direction::Input, "/input");
        prop_assert!(changes.iter().any(|c| c.kind == Kind::PropertyRemoved && c.severity == Severity::Breaking), "{:?}", changes);
        let changes = compare(&a, &b, Direction::Output, "/output/schema");
        prop_assert!(breaking(&changes), "removing an output property is breaking too: {:?}", changes);
    });
    assert_applied(&APPLIED, "required properties removed");
}

// ---------------------------------------------------------------------------------------------
// Random catalogs

fn file(name: &str, text: String) -> SourceFile {
    SourceFile { name: name.to_owned(), relative: name.to_owned(), text }
}

const CONNECTION: &str = "kind: connection\nname: api\nhttp: {base_url: \"https://api.example.com\"}\n";

/// A tool whose input (and output) schema is `input`, with named templates in its request.
fn tool(name: &str, input: &Value) -> String {
    format!(
        "kind: tool\nname: {name}\ndescription: d\ninput: {input}\noutput:\n  schema: {input}\naction:\n  http:\n    connection: api\n    url: \"/x/{{% if true %}}{name}{{% endif %}}\"\n    headers: {{x-a: \"{{{{ 'b' | upper }}}}\"}}\n"
    )
}

fn compiled(files: &[SourceFile]) -> Option<Catalog> {
    compile(files).catalog
}

fn changes(a: &Catalog, b: &Catalog) -> Vec<(String, Kind, Severity)> {
    diff(Catalogue { catalog: a, root: None }, Catalogue { catalog: b, root: None })
        .changes
        .into_iter()
        .map(|c| (c.tool, c.kind, c.severity))
        .collect()
}

#[test]
fn a_catalog_compared_with_itself_has_no_change() {
    proptest!(config(0xd1f5), |(schemas in prop::collection::vec(input_schema(), 1..4))| {
        let tools: Vec<SourceFile> = schemas.iter().enumerate().map(|(i, s)| file(&format!("t{i}.yaml"), tool(&format!("tool_{i}"), s))).collect();
        let mut files = vec![file("c.yaml", CONNECTION.to_owned())];
        files.extend(tools.iter().cloned());
        let a = compiled(&files).expect("a random catalog compiles");
        prop_assert!(changes(&a, &a).is_empty());
        // The same files, in reverse order, after another tool: other template ids, no change
        // but the added tool.
        let mut again = vec![file("a.yaml", tool("zz_extra", &json!({"type": "object"})))];
        again.extend(files.iter().rev().cloned());
        let b = compiled(&again).expect("compiles again");
        prop_assert_eq!(changes(&a, &b), vec![("zz_extra".to_owned(), Kind::ToolAdded, Severity::NonBreaking)]);
    });
}

#[test]
fn adding_an_optional_input_property_is_never_breaking() {
    proptest!(config(0xd1f6), |(input in input_schema(), extra in schema())| {
        let name = "added_property";
        let a = compiled(&[file("c.yaml", CONNECTION.to_owned()), file("t.yaml", tool("t", &input))]).expect("compiles");
        let mut wider = input.clone();
        wider["properties"][name] = extra;
        // The output keeps its schema: only the input changes.
        let text = tool("t", &input).replacen(&format!("input: {input}"), &format!("input: {wider}"), 1);
        let b = compiled(&[file("c.yaml", CONNECTION.to_owned()), file("t.yaml", text)]).expect("still compiles");
        let found = changes(&a, &b);
        prop_assert!(found.iter().all(|(_, _, s)| *s != Severity::Breaking), "{:?}", found);
        prop_assert!(found.iter().any(|(_, k, _)| *k == Kind::PropertyAdded), "{:?}", found);
    });
}
