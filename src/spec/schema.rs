//! The JSON Schema of the spec format, generated from the types in `model.rs`, and
//! the structural check of a document against it.

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::KINDS;
use super::model::{CompleteSpec, ConnectionSpec, PromptSpec, ResourceSpec, ResourceTemplateSpec, ToolSpec};

/// The published schema (`toolwright schema`, `schemas/toolwright.schema.json`).
pub fn format_schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    // One per document kind, in the order of `KINDS`.
    let kinds = [
        generator.subschema_for::<ToolSpec>(),
        generator.subschema_for::<ConnectionSpec>(),
        generator.subschema_for::<PromptSpec>(),
        generator.subschema_for::<ResourceSpec>(),
        generator.subschema_for::<ResourceTemplateSpec>(),
    ];
    let defs: serde_json::Map<String, Value> = generator.take_definitions(true);
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://toolwright.dev/schemas/toolwright.schema.json",
        "title": "toolwright spec",
        "description": "One YAML document of tools.d/: a `kind: tool`, `connection`, `prompt`, `resource` or `resource_template`.",
        "oneOf": kinds.into_iter().map(schemars::Schema::to_value).collect::<Vec<_>>(),
        "$defs": defs,
    });
    drop_null(&mut schema);
    schema
}

/// The schema of a prompt's `arguments` and a resource template's `input`: a JSON Schema
/// object (any keywords, as a tool's `input`), whose properties may hold `complete`, checked
/// here like any other block of the format.
pub fn arguments_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let complete = generator.subschema_for::<CompleteSpec>();
    schemars::json_schema!({
        "type": "object",
        "description": "A JSON Schema 2020-12 object; each property may say where its completions come from with `complete`.",
        "properties": {
            "properties": {
                "type": "object",
                "additionalProperties": {
                    "properties": { "complete": complete }
                }
            }
        }
    })
}

/// schemars lets `Option` fields be `null`; in a spec an absent key is the way to say
/// "not set", so the published schema (and the structural check) leave `null` out.
fn drop_null(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".to_owned(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get_mut("anyOf") {
                any.retain(|s| s.get("type").and_then(Value::as_str) != Some("null"));
                if any.len() == 1 {
                    let only = any.remove(0);
                    map.remove("anyOf");
                    if let Value::Object(inner) = only {
                        for (k, val) in inner {
                            map.entry(k).or_insert(val);
                        }
                    }
                }
            }
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            for val in map.values_mut() {
                drop_null(val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// Validators of the document kinds: the format schema with its root pointed at each kind's definition.
pub(crate) struct Structure {
    /// By the kind's type name (the second column of `KINDS`).
    kinds: Vec<(&'static str, jsonschema::Validator)>,
    pub schema: Value,
}

/// Builds the structural validators once per process.
pub(crate) fn structure() -> Option<&'static Structure> {
    static CELL: OnceLock<Option<Structure>> = OnceLock::new();
    CELL.get_or_init(|| {
        let schema = format_schema();
        let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
        let mut kinds = Vec::with_capacity(KINDS.len());
        for (_, def) in KINDS {
            let validator = jsonschema::draft202012::new(&json!({"$ref": format!("#/$defs/{def}"), "$defs": defs})).ok()?;
            kinds.push((*def, validator));
        }
        Some(Structure { kinds, schema })
    })
    .as_ref()
}

impl Structure {
    /// The validator of the documents whose type is `def`.
    pub fn validator(&self, def: &str) -> Option<&jsonschema::Validator> {
        self.kinds.iter().find(|(d, _)| *d == def).map(|(_, v)| v)
    }

    /// The subschema that describes the value at `instance_path` of a document of
    /// the given root definition, following `$ref`, `properties`, `items` and maps.
    pub fn schema_at(&self, root_def: &str, instance_path: &str) -> Option<&Value> {
        let mut cur = self.resolve(self.schema.get("$defs")?.get(root_def)?)?;
        for token in instance_path.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            let next = cur
                .get("properties")
                .and_then(|p| p.get(&token))
                .or_else(|| cur.get("items"))
                .or_else(|| cur.get("additionalProperties").filter(|v| v.is_object()))?;
            cur = self.resolve(next)?;
        }
        Some(cur)
    }

    fn resolve<'a>(&'a self, mut v: &'a Value) -> Option<&'a Value> {
        // Bounded: the format's definitions do not nest references deeply.
        for _ in 0..8 {
            if let Some(r) = v.get("$ref").and_then(Value::as_str) {
                let name = r.strip_prefix("#/$defs/")?;
                v = self.schema.get("$defs")?.get(name)?;
            } else {
                return Some(v);
            }
        }
        None
    }
}
