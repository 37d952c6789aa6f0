//! OpenAPI schemas (3.0's dialect, or 3.1's JSON Schema 2020-12) turned into self-contained JSON
//! Schema 2020-12 for a tool's `input`: every `$ref` expanded in place, cycles cut, `allOf`
//! merged where that changes nothing, 3.0's keywords translated, anything else that is not a
//! JSON Schema keyword dropped.
//!
//! Expanding references in place can grow a schema without bound (a cycle, or a chain of
//! schemas that each reference the next one twice), so the expansion counts what it builds and
//! gives up past a budget; the caller then expands fewer levels of references (see
//! [`Schemas::convert`]).

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The largest converted schema, in bytes of compact JSON: a tool's whole input schema is sent
/// to the model in `tools/list`, so past this size nested schemas are left open (see
/// [`Schemas::convert`]).
pub const MAX_SCHEMA_BYTES: usize = 32 * 1024;
/// What one expansion may build before it gives up, in the units of [`NODE_COST`] and
/// [`VALUE_COST`] plus description bytes (about bytes of YAML): a bound on the work, which
/// a schema that references another twice per level would otherwise make exponential.
const MAX_COST: usize = 4 * MAX_SCHEMA_BYTES;
/// What one schema costs in [`MAX_COST`].
const NODE_COST: usize = 24;
/// What one enum value, default, const or example costs in [`MAX_COST`].
const VALUE_COST: usize = 8;
/// Schemas nested deeper than this (counting each `$ref` expanded as a level) are left open
/// (`{}` and a description saying why).
const MAX_DEPTH: usize = 48;
/// A description longer than this is cut at a word boundary.
pub const MAX_DESCRIPTION: usize = 1_000;
/// The reference depths tried, in order, when a schema costs more than [`MAX_COST`].
const REF_DEPTHS: &[usize] = &[usize::MAX, 8, 5, 3, 2, 1, 0];

/// The JSON Schema 2020-12 keywords kept as they are (after their values are checked).
const ANNOTATIONS: &[&str] = &["title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"];

/// Why a conversion stopped.
#[derive(Debug)]
enum Stop {
    /// The schema cannot be expressed (an external `$ref`, a `$ref` to nowhere, ...).
    Inexpressible(String),
    /// The node budget ran out.
    OverBudget,
}

/// Converts the schemas of one document.
pub struct Schemas<'a> {
    doc: &'a Value,
    /// `$ref`s being expanded, outermost first: a `$ref` to one of them is a cycle.
    stack: Vec<String>,
    budget: usize,
    ref_depth: usize,
    /// Notes for the operation being converted, in the order they arose, without repeats.
    notes: Vec<String>,
    /// Whether each `pattern` seen compiles in the validator's regular expression engine.
    patterns: HashMap<String, bool>,
}

impl<'a> Schemas<'a> {
    /// A converter that resolves `$ref`s in `doc`.
    pub fn new(doc: &'a Value) -> Self {
        Schemas { doc, stack: Vec::new(), budget: MAX_COST, ref_depth: usize::MAX, notes: Vec::new(), patterns: HashMap::new() }
    }

    /// Takes the notes gathered since the last call.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// `schema` as self-contained JSON Schema 2020-12, or why it cannot be. When the full
    /// expansion is larger than [`MAX_SCHEMA_BYTES`] (or costs more than [`MAX_COST`] to
    /// build), schemas nested under more `$ref`s than 8, 5, 3, 2, 1 and finally 0 are left
    /// open (each with a description naming the schema), and a note says so.
    pub fn convert(&mut self, schema: &Value) -> Result<Value, String> {
        let notes_before = self.notes.len();
        for &depth in REF_DEPTHS {
            self.notes.truncate(notes_before);
            self.stack.clear();
            self.budget = MAX_COST;
            self.ref_depth = depth;
            match self.schema(schema, 0) {
                Ok(v) if serde_json::to_string(&v).map_or(0, |t| t.len()) > MAX_SCHEMA_BYTES => continue,
                Ok(v) => {
                    if depth != usize::MAX {
                        self.note(format!(
                            "the schema is too large to describe in full (more than {} KiB): schemas nested under more than {depth} $ref(s) accept any value",
                            MAX_SCHEMA_BYTES / 1024
                        ));
                    }
                    return Ok(v);
                }
                Err(Stop::OverBudget) => continue,
                Err(Stop::Inexpressible(why)) => return Err(why),
            }
        }
        Err(format!("its schema is too large to describe (more than {} KiB) even with no $ref expanded", MAX_SCHEMA_BYTES / 1024))
    }

    fn spend(&mut self, n: usize) -> Result<(), Stop> {
        if self.budget < n {
            self.budget = 0;
            return Err(Stop::OverBudget);
        }
        self.budget -= n;
        Ok(())
    }

    fn schema(&mut self, s: &Value, depth: usize) -> Result<Value, Stop> {
        self.spend(NODE_COST)?;
        if depth > MAX_DEPTH {
            self.note(format!("schemas nested deeper than {MAX_DEPTH} levels accept any value"));
            return Ok(serde_json::json!({"description": "Nested too deeply to describe here: any value."}));
        }
        match s {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::Object(o) => self.object(o, depth),
            _ => {
                self.note("a schema that is not an object was read as `{}` (any value)".to_owned());
                Ok(Value::Object(Map::new()))
            }
        }
    }

    /// A `$ref` expanded, or the open schema that stands for it (a cycle, or deeper than the
    /// reference depth in force).
    fn reference(&mut self, r: &str, depth: usize) -> Result<Value, Stop> {
        if !r.starts_with('#') {
            return Err(Stop::Inexpressible(format!("`$ref: {r}` points outside the document, which import does not follow")));
        }
        let Some(target) = resolve_pointer(self.doc, r) else {
            return Err(Stop::Inexpressible(format!("`$ref: {r}` points nowhere in the document")));
        };
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        let open = |why: &str| {
            let mut m = Map::new();
            if let Some(t) = target.get("type").filter(|t| t.is_string()) {
                m.insert("type".to_owned(), t.clone());
            }
            m.insert("description".to_owned(), Value::String(format!("A {name} ({why}).")));
            Value::Object(m)
        };
        if self.stack.iter().any(|s| s == r) {
            self.note(format!("$ref cycle through `{r}` cut: where it recurs, any {name} is accepted"));
            return Ok(open("recursive: not described again here"));
        }
        if self.stack.len() >= self.ref_depth {
            return Ok(open("not described here: the whole schema is too large"));
        }
        self.stack.push(r.to_owned());
        // Each expansion is a level deeper: a chain of `$ref`s is bounded like nesting is.
        let out = self.schema(target, depth + 1);
        self.stack.pop();
        out
    }

    fn object(&mut self, o: &Map<String, Value>, depth: usize) -> Result<Value, Stop> {
        let mut out = Map::new();
        let mut nullable = false;
        let mut exclusive_min = false;
        let mut exclusive_max = false;
        let mut members: Vec<Value> = Vec::new();
        for (k, v) in o {
            match k.as_str() {
                "$ref" => match v.as_str() {
                    Some(r) => members.insert(0, self.reference(r, depth)?),
                    None => return Err(Stop::Inexpressible("a `$ref` that is not a string".to_owned())),
                },
                "$dynamicRef" | "$recursiveRef" => {
                    return Err(Stop::Inexpressible(format!("`{k}` is not supported (only `$ref` within the document)")));
                }
                "type" => {
                    if let Some(t) = schema_type(v) {
                        out.insert(k.clone(), t);
                    } else {
                        self.note(format!("`type: {v}` is not a JSON Schema type and was dropped"));
                    }
                }
                "nullable" => nullable = v.as_bool() == Some(true),
                "properties" | "patternProperties" | "dependentSchemas" => {
                    if let Some(map) = v.as_object() {
                        let mut converted = Map::new();
                        for (name, sub) in map {
                            if k == "patternProperties" && !self.pattern_compiles(name) {
                                self.note(format!(
                                    "`patternProperties` key `{name}` is not a regular expression the validator accepts; dropped"
                                ));
                                continue;
                            }
                            converted.insert(name.clone(), self.schema(sub, depth + 1)?);
                        }
                        out.insert(k.clone(), Value::Object(converted));
                    }
                }
                "additionalProperties"
                | "propertyNames"
                | "contains"
                | "not"
                | "if"
                | "then"
                | "else"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "contentSchema" => {
                    out.insert(k.clone(), self.schema(v, depth + 1)?);
                }
                "items" => match v {
                    // A list under `items` is draft 4's tuple form: 2020-12 calls it `prefixItems`.
                    Value::Array(items) => {
                        out.insert("prefixItems".to_owned(), self.schemas(items, depth)?);
                    }
                    _ => {
                        out.insert(k.clone(), self.schema(v, depth + 1)?);
                    }
                },
                "allOf" => {
                    if let Value::Array(items) = v {
                        for item in items {
                            members.push(self.schema(item, depth + 1)?);
                        }
                    }
                }
                "anyOf" | "oneOf" | "prefixItems" => {
                    if let Value::Array(items) = v
                        && !items.is_empty()
                    {
                        out.insert(k.clone(), self.schemas(items, depth)?);
                    }
                }
                "enum" => {
                    if let Value::Array(values) = v {
                        self.spend(values.len().saturating_mul(VALUE_COST))?;
                        out.insert(k.clone(), v.clone());
                    }
                }
                "const" | "default" => {
                    self.spend(VALUE_COST)?;
                    out.insert(k.clone(), v.clone());
                }
                "example" if !o.contains_key("examples") => {
                    self.spend(VALUE_COST)?;
                    out.insert("examples".to_owned(), Value::Array(vec![v.clone()]));
                }
                // OpenAPI's media-type `examples` is a map; JSON Schema's is a list.
                "examples" if v.is_array() => {
                    self.spend(VALUE_COST)?;
                    out.insert(k.clone(), v.clone());
                }
                "exclusiveMinimum" | "exclusiveMaximum" => match v {
                    Value::Bool(b) => {
                        if k == "exclusiveMinimum" {
                            exclusive_min = *b;
                        } else {
                            exclusive_max = *b;
                        }
                    }
                    Value::Number(_) => {
                        out.insert(k.clone(), v.clone());
                    }
                    _ => {}
                },
                "maximum" | "minimum" if v.is_number() => {
                    out.insert(k.clone(), v.clone());
                }
                "multipleOf" if v.as_f64().is_some_and(|n| n > 0.0) => {
                    out.insert(k.clone(), v.clone());
                }
                "maxLength" | "minLength" | "maxItems" | "minItems" | "maxProperties" | "minProperties" | "maxContains" | "minContains"
                    if v.is_u64() =>
                {
                    out.insert(k.clone(), v.clone());
                }
                "uniqueItems" | "deprecated" | "readOnly" | "writeOnly" if v.is_boolean() => {
                    out.insert(k.clone(), v.clone());
                }
                "pattern" => {
                    if let Some(p) = v.as_str() {
                        if self.pattern_compiles(p) {
                            out.insert(k.clone(), v.clone());
                        } else {
                            self.note(format!("`pattern: {p}` is not a regular expression the validator accepts; dropped"));
                        }
                    }
                }
                "description" => {
                    if let Some(d) = v.as_str() {
                        let d = cut_text(d.trim(), MAX_DESCRIPTION);
                        self.spend(d.len())?;
                        if !d.is_empty() {
                            out.insert(k.clone(), Value::String(d));
                        }
                    }
                }
                "format" | "title" | "contentEncoding" | "contentMediaType" if v.is_string() => {
                    out.insert(k.clone(), v.clone());
                }
                "required" => {
                    if let Value::Array(names) = v {
                        let mut seen: Vec<Value> = Vec::new();
                        for n in names.iter().filter(|n| n.is_string()) {
                            if !seen.contains(n) {
                                seen.push(n.clone());
                            }
                        }
                        out.insert(k.clone(), Value::Array(seen));
                    }
                }
                "dependentRequired" => {
                    let well_formed =
                        v.as_object().is_some_and(|m| m.values().all(|l| l.as_array().is_some_and(|l| l.iter().all(Value::is_string))));
                    if well_formed {
                        out.insert(k.clone(), v.clone());
                    }
                }
                // OpenAPI's own keywords (`discriminator`, `xml`, `externalDocs`), extensions
                // (`x-...`) and the identifiers and definitions that expansion made useless
                // (`$id`, `$schema`, `$defs`, `$anchor`, `$comment`) are not JSON Schema input.
                _ => {}
            }
        }
        if exclusive_min && let Some(m) = out.remove("minimum") {
            out.insert("exclusiveMinimum".to_owned(), m);
        }
        if exclusive_max && let Some(m) = out.remove("maximum") {
            out.insert("exclusiveMaximum".to_owned(), m);
        }
        let mut out = if members.is_empty() { out } else { merge_all_of(out, members) };
        if nullable {
            make_nullable(&mut out);
        }
        drop_read_only(&mut out);
        Ok(Value::Object(out))
    }

    fn schemas(&mut self, items: &[Value], depth: usize) -> Result<Value, Stop> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.schema(item, depth + 1)?);
        }
        Ok(Value::Array(out))
    }

    /// Whether `pattern` compiles in the regular expression engine the argument validator uses.
    fn pattern_compiles(&mut self, pattern: &str) -> bool {
        if let Some(ok) = self.patterns.get(pattern) {
            return *ok;
        }
        let ok = jsonschema::draft202012::new(&serde_json::json!({ "pattern": pattern })).is_ok();
        self.patterns.insert(pattern.to_owned(), ok);
        ok
    }
}

/// A `type` value JSON Schema accepts: one of the seven names, or a list of distinct ones.
fn schema_type(v: &Value) -> Option<Value> {
    const TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array", "null"];
    match v {
        Value::String(s) if TYPES.contains(&s.as_str()) => Some(v.clone()),
        Value::Array(list) => {
            let mut out: Vec<Value> = Vec::new();
            for t in list {
                if !t.as_str().is_some_and(|s| TYPES.contains(&s)) {
                    return None;
                }
                if !out.contains(t) {
                    out.push(t.clone());
                }
            }
            (!out.is_empty()).then_some(Value::Array(out))
        }
        _ => None,
    }
}

/// `allOf` members merged into `outer` when no keyword conflicts: `properties` are united
/// (a name in two members must have the same schema), `required` lists are united, an
/// annotation keeps its first value (the outer schema's, then the members' in order), and any
/// other keyword must be absent or equal everywhere. Otherwise `allOf` stays, with the members
/// converted.
fn merge_all_of(outer: Map<String, Value>, members: Vec<Value>) -> Map<String, Value> {
    let mut merged = outer.clone();
    let mut ok = true;
    'members: for member in &members {
        let m = match member {
            Value::Bool(true) => continue,
            Value::Object(m) => m,
            _ => {
                ok = false;
                break;
            }
        };
        for (k, v) in m {
            match (k.as_str(), merged.get_mut(k)) {
                (_, None) => {
                    merged.insert(k.clone(), v.clone());
                }
                ("properties", Some(Value::Object(have))) => {
                    let Value::Object(add) = v else {
                        ok = false;
                        break 'members;
                    };
                    for (name, schema) in add {
                        match have.get(name) {
                            Some(existing) if existing != schema => {
                                ok = false;
                                break 'members;
                            }
                            Some(_) => {}
                            None => {
                                have.insert(name.clone(), schema.clone());
                            }
                        }
                    }
                }
                ("required", Some(Value::Array(have))) => {
                    for n in v.as_array().into_iter().flatten() {
                        if !have.contains(n) {
                            have.push(n.clone());
                        }
                    }
                }
                (k, Some(_)) if ANNOTATIONS.contains(&k) => {}
                (_, Some(existing)) => {
                    if existing != v {
                        ok = false;
                        break 'members;
                    }
                }
            }
        }
    }
    if ok {
        return merged;
    }
    let mut kept = outer;
    kept.insert("allOf".to_owned(), Value::Array(members));
    kept
}

/// OpenAPI 3.0's `nullable: true`: `null` added to `type` (and to `enum`, which would
/// otherwise refuse it).
fn make_nullable(schema: &mut Map<String, Value>) {
    let null = Value::String("null".to_owned());
    match schema.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = Value::String(std::mem::take(t));
            schema.insert("type".to_owned(), Value::Array(vec![t, null]));
        }
        Some(Value::Array(list)) if !list.contains(&null) => list.push(null),
        _ => {}
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// Properties marked `readOnly` are answered by the API, never sent to it: they leave a
/// request's schema, and `required` with them.
fn drop_read_only(schema: &mut Map<String, Value>) {
    let Some(Value::Object(props)) = schema.get_mut("properties") else { return };
    let read_only: Vec<String> =
        props.iter().filter(|(_, s)| s.get("readOnly").and_then(Value::as_bool) == Some(true)).map(|(k, _)| k.clone()).collect();
    if read_only.is_empty() {
        return;
    }
    for k in &read_only {
        props.remove(k);
    }
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|r| !r.as_str().is_some_and(|r| read_only.iter().any(|k| k == r)));
    }
}

/// The value a local `$ref` (`#/components/schemas/Pet`, JSON pointer syntax, percent-encoded
/// as a URI fragment) points to.
pub fn resolve_pointer<'v>(doc: &'v Value, r: &str) -> Option<&'v Value> {
    let fragment = r.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8().ok()?;
    if decoded.is_empty() {
        return Some(doc);
    }
    doc.pointer(&decoded)
}

/// `text` cut to at most `max` characters at a word boundary, with `…` when cut.
pub fn cut_text(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let end = text.char_indices().nth(max.saturating_sub(1)).map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    // A cut that falls inside a word goes back to the word's start (unless that loses half).
    let inside_word = text[end..].starts_with(|c: char| !c.is_whitespace());
    let head = match head.rfind(char::is_whitespace) {
        Some(i) if inside_word && i > end / 2 => &head[..i],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn convert(doc: &Value, schema: Value) -> (Result<Value, String>, Vec<String>) {
        let mut s = Schemas::new(doc);
        let out = s.convert(&schema);
        (out, s.take_notes())
    }

    #[test]
    fn openapi_3_0_keywords_become_2020_12() {
        let doc = json!({});
        let (out, _) = convert(
            &doc,
            json!({"type": "integer", "nullable": true, "minimum": 1, "exclusiveMinimum": true, "example": 5,
                   "x-internal": true, "discriminator": {"propertyName": "kind"}, "format": "int32"}),
        );
        assert_eq!(out.expect("converts"), json!({"type": ["integer", "null"], "exclusiveMinimum": 1, "examples": [5], "format": "int32"}));
        let (out, _) = convert(&doc, json!({"type": "string", "enum": ["a", "b"], "nullable": true}));
        assert_eq!(out.expect("converts"), json!({"type": ["string", "null"], "enum": ["a", "b", null]}));
    }

    #[test]
    fn refs_are_expanded_and_all_of_merged() {
        let doc = json!({"components": {"schemas": {
            "Base": {"type": "object", "properties": {"id": {"type": "string", "readOnly": true}, "name": {"type": "string"}}, "required": ["id", "name"]},
            "Pet": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"properties": {"tag": {"type": "string"}}}], "description": "A pet."}
        }}});
        let (out, notes) = convert(&doc, json!({"$ref": "#/components/schemas/Pet"}));
        assert_eq!(
            out.expect("converts"),
            json!({"description": "A pet.", "type": "object", "properties": {"name": {"type": "string"}, "tag": {"type": "string"}}, "required": ["name"]})
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn conflicting_all_of_members_stay_all_of() {
        let (out, _) = convert(&json!({}), json!({"allOf": [{"type": "string"}, {"type": "integer"}]}));
        assert_eq!(out.expect("converts"), json!({"allOf": [{"type": "string"}, {"type": "integer"}]}));
    }

    #[test]
    fn cycles_are_cut_with_a_note() {
        let doc = json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}},
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"}
        }}});
        let (out, notes) = convert(&doc, json!({"$ref": "#/components/schemas/Node"}));
        let out = out.expect("converts");
        assert_eq!(
            out["properties"]["children"]["items"],
            json!({"type": "object", "description": "A Node (recursive: not described again here)."})
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("cycle"), "{notes:?}");
        let (out, notes) = convert(&doc, json!({"$ref": "#/components/schemas/A"}));
        assert!(out.is_ok());
        assert!(notes[0].contains("#/components/schemas/A"), "{notes:?}");
    }

    #[test]
    fn exponential_expansion_is_bounded() {
        // Each level references the next twice: 2^40 nodes if expanded in full.
        let mut schemas = Map::new();
        for i in 0..40 {
            let next = json!({"$ref": format!("#/components/schemas/L{}", i + 1)});
            schemas.insert(format!("L{i}"), json!({"type": "object", "properties": {"a": next, "b": next}}));
        }
        schemas.insert("L40".to_owned(), json!({"type": "string"}));
        let doc = json!({"components": {"schemas": schemas}});
        let started = std::time::Instant::now();
        let (out, notes) = convert(&doc, json!({"$ref": "#/components/schemas/L0"}));
        assert!(out.is_ok());
        assert!(notes.iter().any(|n| n.contains("too large")), "{notes:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn long_ref_chains_are_cut_not_followed_to_the_end() {
        // 100,000 schemas, each a `$ref` to the next: followed by recursion, the stack would overflow.
        let mut schemas = Map::new();
        for i in 0..100_000 {
            schemas.insert(format!("S{i}"), json!({"$ref": format!("#/components/schemas/S{}", i + 1)}));
        }
        schemas.insert("S100000".to_owned(), json!({"type": "string"}));
        let doc = json!({"components": {"schemas": schemas}});
        let (out, notes) = convert(&doc, json!({"$ref": "#/components/schemas/S0"}));
        assert_eq!(out.expect("converts")["description"], "Nested too deeply to describe here: any value.");
        assert!(notes.iter().any(|n| n.contains("deeper than")), "{notes:?}");
    }

    #[test]
    fn bad_refs_are_inexpressible() {
        let (out, _) = convert(&json!({}), json!({"$ref": "other.yaml#/Pet"}));
        assert!(out.expect_err("external").contains("outside the document"));
        let (out, _) = convert(&json!({}), json!({"$ref": "#/components/schemas/Missing"}));
        assert!(out.expect_err("missing").contains("points nowhere"));
    }

    #[test]
    fn bad_patterns_and_types_are_dropped() {
        let (out, notes) = convert(&json!({}), json!({"type": "str", "pattern": "(unclosed", "required": true}));
        assert_eq!(out.expect("converts"), json!({}));
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn text_is_cut_at_a_word() {
        assert_eq!(cut_text("short", 10), "short");
        let cut = cut_text("one two three four five six", 14);
        assert_eq!(cut, "one two three…");
        let cut = cut_text("one two three four five six", 16);
        assert_eq!(cut, "one two three…");
        let cut = cut_text(&"é".repeat(100), 11);
        assert_eq!(cut.chars().count(), 11, "{cut}");
    }
}
