//! Unit tests of the comparison: schema keywords one by one, and catalogs compiled from text.

use serde_json::json;

use super::schema::{Direction, compare};
use super::*;
use crate::compile::compile;
use crate::spec::SourceFile;

/// The kinds and severities of comparing two input schemas.
fn input(old: serde_json::Value, new: serde_json::Value) -> Vec<(Kind, Severity)> {
    compare(&old, &new, Direction::Input, "/input").into_iter().map(|c| (c.kind, c.severity)).collect()
}

fn output(old: serde_json::Value, new: serde_json::Value) -> Vec<(Kind, Severity)> {
    compare(&old, &new, Direction::Output, "/output/schema").into_iter().map(|c| (c.kind, c.severity)).collect()
}

use Severity::{Breaking, NonBreaking, Unknown};

#[test]
fn identical_schemas_have_no_change() {
    let s = json!({"type": "object", "properties": {"a": {"type": "string", "oneOf": [{"minLength": 1}]}}});
    assert!(input(s.clone(), s).is_empty());
    // Key order and `true` versus `{}` do not change what is accepted.
    assert!(input(json!({"properties": {"a": true}, "type": "object"}), json!({"type": "object", "properties": {"a": {}}})).is_empty());
}

#[test]
fn properties_added_removed_and_required() {
    let old = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]});
    let optional = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "string"}}, "required": ["a"]});
    assert_eq!(input(old.clone(), optional.clone()), [(Kind::PropertyAdded, NonBreaking)]);
    assert_eq!(output(old.clone(), optional), [(Kind::PropertyAdded, NonBreaking)]);
    let required = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "string"}}, "required": ["a", "c"]});
    assert_eq!(input(old.clone(), required.clone()), [(Kind::RequiredPropertyAdded, Breaking)]);
    assert_eq!(output(old.clone(), required), [(Kind::RequiredPropertyAdded, NonBreaking)]);
    let removed = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
    assert_eq!(input(old.clone(), removed.clone()), [(Kind::PropertyRemoved, Breaking)]);
    assert_eq!(output(old.clone(), removed), [(Kind::PropertyRemoved, Breaking)]);
    let now_required = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a", "b"]});
    assert_eq!(input(old.clone(), now_required.clone()), [(Kind::NowRequired, Breaking)]);
    assert_eq!(input(now_required.clone(), old.clone()), [(Kind::NoLongerRequired, NonBreaking)]);
    assert_eq!(output(now_required, old), [(Kind::NoLongerRequired, Breaking)]);
    // The same required names in another order accept the same values.
    assert!(input(json!({"required": ["a", "b"]}), json!({"required": ["b", "a"]})).is_empty());
    assert!(input(json!({"type": "object"}), json!({"type": "object", "properties": {}, "required": []})).is_empty());
}

#[test]
fn types_narrow_widen_and_change() {
    assert_eq!(input(json!({"type": "number"}), json!({"type": "integer"})), [(Kind::TypeNarrowed, Breaking)]);
    assert_eq!(input(json!({"type": "integer"}), json!({"type": "number"})), [(Kind::TypeWidened, NonBreaking)]);
    assert_eq!(output(json!({"type": "integer"}), json!({"type": "number"})), [(Kind::TypeWidened, Breaking)]);
    assert_eq!(input(json!({"type": "string"}), json!({"type": "integer"})), [(Kind::TypeChanged, Breaking)]);
    assert_eq!(input(json!({"type": ["string", "null"]}), json!({"type": "string"})), [(Kind::TypeNarrowed, Breaking)]);
    assert_eq!(input(json!({}), json!({"type": "string"})), [(Kind::TypeNarrowed, Breaking)]);
    assert_eq!(input(json!({"type": "number"}), json!({"type": ["integer", "number"]})), [(Kind::SchemaAnnotationChanged, NonBreaking)]);
}

#[test]
fn enums_bounds_patterns_and_formats() {
    let e = |v: serde_json::Value| json!({"type": "string", "enum": v});
    assert_eq!(input(e(json!(["a", "b"])), e(json!(["a"]))), [(Kind::EnumNarrowed, Breaking)]);
    assert_eq!(input(e(json!(["a"])), e(json!(["a", "b"]))), [(Kind::EnumWidened, NonBreaking)]);
    assert_eq!(output(e(json!(["a"])), e(json!(["a", "b"]))), [(Kind::EnumWidened, Breaking)]);
    assert_eq!(input(e(json!(["a", "b"])), e(json!(["a", "c"]))), [(Kind::EnumNarrowed, Breaking), (Kind::EnumWidened, NonBreaking)]);
    assert_eq!(input(json!({"type": "string"}), e(json!(["a"]))), [(Kind::EnumNarrowed, Breaking)]);
    for (key, lower) in
        [("minimum", true), ("maximum", false), ("minLength", true), ("maxLength", false), ("minItems", true), ("maxItems", false)]
    {
        let (small, big) = (json!({key: 1}), json!({key: 10}));
        let tighter = if lower { (small.clone(), big.clone()) } else { (big.clone(), small.clone()) };
        assert_eq!(input(tighter.0.clone(), tighter.1.clone()), [(Kind::ConstraintTightened, Breaking)], "{key}");
        assert_eq!(input(tighter.1.clone(), tighter.0.clone()), [(Kind::ConstraintLoosened, NonBreaking)], "{key}");
        assert_eq!(output(tighter.1, tighter.0), [(Kind::ConstraintLoosened, Breaking)], "{key}");
        assert_eq!(input(json!({}), small.clone()), [(Kind::ConstraintTightened, Breaking)], "{key} added");
        assert_eq!(input(small, json!({})), [(Kind::ConstraintLoosened, NonBreaking)], "{key} removed");
    }
    assert_eq!(input(json!({}), json!({"pattern": "^a$"})), [(Kind::PatternAdded, Breaking)]);
    assert_eq!(input(json!({"pattern": "^a$"}), json!({"pattern": "^a+$"})), [(Kind::PatternChanged, Breaking)]);
    assert_eq!(output(json!({"pattern": "^a$"}), json!({"pattern": "^a+$"})), [(Kind::PatternChanged, Breaking)]);
    assert_eq!(input(json!({"pattern": "^a$"}), json!({})), [(Kind::PatternRemoved, NonBreaking)]);
    assert_eq!(input(json!({}), json!({"format": "date"})), [(Kind::ConstraintTightened, Breaking)]);
    assert_eq!(input(json!({"multipleOf": 2}), json!({"multipleOf": 4})), [(Kind::ConstraintTightened, Breaking)]);
    assert_eq!(input(json!({"multipleOf": 4}), json!({"multipleOf": 2})), [(Kind::ConstraintLoosened, NonBreaking)]);
    assert_eq!(input(json!({"multipleOf": 2}), json!({"multipleOf": 3})), [(Kind::ConstraintChanged, Breaking)]);
    assert_eq!(input(json!({"minimum": "1"}), json!({"minimum": 2})), [(Kind::CannotCompare, Unknown)]);
}

#[test]
fn additional_properties_and_nesting() {
    let open = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let closed = json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false});
    assert_eq!(input(open.clone(), closed.clone()), [(Kind::AdditionalPropertiesClosed, Breaking)]);
    assert_eq!(input(closed.clone(), open.clone()), [(Kind::AdditionalPropertiesOpened, NonBreaking)]);
    assert_eq!(output(closed, open), [(Kind::AdditionalPropertiesOpened, Breaking)]);
    let nested = |max: i64| json!({"type": "object", "properties": {"filter": {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string", "maxLength": max}}}}}});
    let changes = compare(&nested(10), &nested(5), Direction::Input, "/input");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].pointer, "/input/properties/filter/properties/tags/items/maxLength");
    assert_eq!(changes[0].message.plain(), "input `filter.tags[]`: `maxLength` lowered from `10` to `5`");
    assert_eq!(changes[0].severity, Breaking);
    let labels = |v: serde_json::Value| json!({"type": "object", "additionalProperties": v});
    assert_eq!(input(labels(json!({"type": "string"})), labels(json!({"type": "integer"}))), [(Kind::TypeChanged, Breaking)]);
}

#[test]
fn constructs_not_analysed_are_listed_never_dropped() {
    let a = json!({"properties": {"x": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}});
    let b = json!({"properties": {"x": {"oneOf": [{"type": "string"}]}}});
    let changes = compare(&a, &b, Direction::Input, "/input");
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].kind, changes[0].severity), (Kind::CannotCompare, Unknown));
    assert_eq!(changes[0].message.plain(), "input `x`: cannot compare `oneOf` (changed)");
    assert_eq!(input(json!({}), json!({"$ref": "#/$defs/x"})), [(Kind::CannotCompare, Unknown)]);
    assert_eq!(input(json!({"items": [{}]}), json!({"items": [{}, {}]})), [(Kind::CannotCompare, Unknown)]);
    assert_eq!(input(json!({"description": "a"}), json!({"description": "b"})), [(Kind::SchemaAnnotationChanged, NonBreaking)]);
}

fn file(name: &str, text: &str) -> SourceFile {
    SourceFile { name: name.to_owned(), relative: name.to_owned(), text: text.to_owned() }
}

const CONNECTION: &str = "kind: connection\nname: api\nhttp: {base_url: \"https://api.example.com\"}\n---\nkind: connection\nname: other\nhttp: {base_url: \"https://other.example.com\"}\n";

fn tool(name: &str, url: &str, extra: &str) -> String {
    format!(
        "kind: tool\nname: {name}\ndescription: Get one order.\ninput:\n  type: object\n  properties:\n    id: {{type: string}}\n  required: [id]\n\
         action:\n  http:\n    connection: api\n    url: \"{url}\"\n    headers: {{x-trace: \"{{{{ id | lower }}}}\"}}\n{extra}"
    )
}

fn catalog(files: &[(&str, String)]) -> Catalog {
    let files: Vec<SourceFile> = files.iter().map(|(n, t)| file(n, t)).collect();
    let compiled = compile(&files);
    compiled.catalog.unwrap_or_else(|| panic!("compiles: {:?}", compiled.diagnostics))
}

fn changes(old: &Catalog, new: &Catalog) -> Vec<(String, Kind, Severity)> {
    diff(Catalogue { catalog: old, root: None }, Catalogue { catalog: new, root: None })
        .changes
        .into_iter()
        .map(|c| (c.tool, c.kind, c.severity))
        .collect()
}

#[test]
fn the_same_specs_compiled_apart_are_the_same() {
    // Other files first: named templates get other compile ids; the prints must not see them.
    let a = catalog(&[("c.yaml", CONNECTION.to_owned()), ("t.yaml", tool("get_order", "/orders/{{ id }}", ""))]);
    let b = catalog(&[
        ("a.yaml", tool("zz_first", "/x/{% if id %}{{ id }}{% endif %}", "")),
        ("c.yaml", CONNECTION.to_owned()),
        ("t.yaml", tool("get_order", "/orders/{{ id }}", "")),
    ]);
    assert!(changes(&a, &a).is_empty());
    assert_eq!(changes(&a, &b), [("zz_first".to_owned(), Kind::ToolAdded, NonBreaking)]);
}

#[test]
fn renames_backends_connections_and_requests() {
    let c = ("c.yaml", CONNECTION.to_owned());
    let before = catalog(&[c.clone(), ("t.yaml", tool("get_order", "/orders/{{ id }}", ""))]);
    let renamed = catalog(&[c.clone(), ("t.yaml", tool("fetch_order", "/orders/{{ id }}", ""))]);
    assert_eq!(changes(&before, &renamed), [("fetch_order".to_owned(), Kind::ToolRenamed, Breaking)]);
    let other_url = catalog(&[c.clone(), ("t.yaml", tool("fetch_order", "/v2/orders/{{ id }}", ""))]);
    assert_eq!(
        changes(&before, &other_url),
        [("get_order".to_owned(), Kind::ToolRemoved, Breaking), ("fetch_order".to_owned(), Kind::ToolAdded, NonBreaking)]
    );
    let same_name = catalog(&[c.clone(), ("t.yaml", tool("get_order", "/v2/orders/{{ id }}", ""))]);
    assert_eq!(changes(&before, &same_name), [("get_order".to_owned(), Kind::RequestChanged, NonBreaking)]);
    let other_conn =
        catalog(&[c.clone(), ("t.yaml", tool("get_order", "/orders/{{ id }}", "").replace("connection: api", "connection: other"))]);
    assert_eq!(changes(&before, &other_conn), [("get_order".to_owned(), Kind::ConnectionChanged, Breaking)]);
    let moved = catalog(&[
        ("c.yaml", CONNECTION.replace("api.example.com", "api2.example.com")),
        ("t.yaml", tool("get_order", "/orders/{{ id }}", "")),
    ]);
    assert_eq!(changes(&before, &moved), [("get_order".to_owned(), Kind::ConnectionSettingsChanged, NonBreaking)]);
}

#[test]
fn annotations_scopes_and_limits() {
    let c = ("c.yaml", CONNECTION.to_owned());
    let with = |extra: &str| catalog(&[c.clone(), ("t.yaml", tool("get_order", "/orders/{{ id }}", extra))]);
    let read_only = with("annotations: {read_only: true}\n");
    let plain = with("");
    let kinds = |a: &Catalog, b: &Catalog| changes(a, b).into_iter().map(|(_, k, s)| (k, s)).collect::<Vec<_>>();
    // Unset read_only is false, and unset destructive is then true.
    assert_eq!(kinds(&read_only, &plain), [(Kind::ReadOnlyTurnedOff, Breaking), (Kind::DestructiveTurnedOn, Breaking)]);
    assert_eq!(kinds(&plain, &read_only), [(Kind::AnnotationChanged, NonBreaking)]);
    let safe = with("annotations: {destructive: false}\n");
    assert_eq!(kinds(&safe, &with("annotations: {destructive: true}\n")), [(Kind::DestructiveTurnedOn, Breaking)]);
    assert_eq!(kinds(&plain, &with("annotations: {destructive: true}\n")), [(Kind::AnnotationChanged, NonBreaking)]);
    let scoped = with("auth: {scopes: [orders:read]}\n");
    assert_eq!(kinds(&plain, &scoped), [(Kind::ScopesAdded, Breaking)]);
    assert_eq!(kinds(&scoped, &plain), [(Kind::ScopesRemoved, NonBreaking)]);
    assert_eq!(
        kinds(&plain, &with("timeout: 5s\nlimits: {per_minute: 10}\n")),
        [(Kind::LimitsChanged, NonBreaking), (Kind::LimitsChanged, NonBreaking)]
    );
    let out = |schema: &str| with(&format!("output:\n  schema: {schema}\n"));
    assert_eq!(kinds(&plain, &out("{type: object}")), [(Kind::OutputSchemaAdded, NonBreaking)]);
    assert_eq!(kinds(&out("{type: object}"), &plain), [(Kind::OutputSchemaRemoved, Breaking)]);
    assert_eq!(
        kinds(&out("{type: object, properties: {n: {type: integer}}}"), &out("{type: object, properties: {n: {type: number}}}")),
        [(Kind::TypeWidened, Breaking)]
    );
}

#[test]
fn breaking_changes_come_first() {
    let c = ("c.yaml", CONNECTION.to_owned());
    let a = catalog(&[c.clone(), ("t.yaml", tool("a_tool", "/a/{{ id }}", "")), ("u.yaml", tool("b_tool", "/b/{{ id }}", ""))]);
    let b = catalog(&[
        c,
        ("t.yaml", tool("a_tool", "/a/{{ id }}", "").replace("Get one order.", "Get an order.")),
        ("v.yaml", tool("c_tool", "/c/{{ id }}", "")),
    ]);
    let got = changes(&a, &b);
    assert_eq!(
        got,
        [
            ("b_tool".to_owned(), Kind::ToolRemoved, Breaking),
            ("a_tool".to_owned(), Kind::DescriptionChanged, NonBreaking),
            ("c_tool".to_owned(), Kind::ToolAdded, NonBreaking),
        ]
    );
}
