//! The arguments of a prompt and the variables of a resource template: a JSON Schema object
//! whose properties MCP clients send as strings (`prompts/get`'s arguments, a URI's
//! variables, `completion/complete`'s context), read back as the type each property declares,
//! then prepared as a tool's arguments are (defaults, validation, the escaping checks); and
//! where each one's completions come from.

use std::sync::Arc;

use serde_json::Value;

use super::jq::JqFilter;
use super::{ArgError, CompiledTool, Escape, JsonObject, LazyValidator};

/// Where the completions of one argument come from.
#[derive(Debug)]
pub enum Completion {
    /// The values of the property's `enum`, as text.
    Values(Vec<String>),
    /// The property's `complete` action: a tool no client sees (its input: the other
    /// arguments and `value`, the text typed so far), and the `jq` that turns its answer
    /// into the values.
    Action {
        /// The action, with its timeout, output cap and argument checks.
        tool: Arc<CompiledTool>,
        /// The filter over the answer, if any.
        jq: Option<Arc<JqFilter>>,
    },
}

/// A prompt's `arguments` or a resource template's `input`, compiled.
#[derive(Debug)]
pub struct Arguments {
    /// The schema as written.
    pub schema: Arc<JsonObject>,
    /// Its validator (built on first use).
    pub validator: LazyValidator,
    /// Defaults of the top-level properties that have one.
    pub defaults: Vec<(String, Value)>,
    /// For each argument, the contexts its value lands in (checked before rendering).
    pub contexts: Vec<(String, Vec<Escape>)>,
    /// The arguments that have completions, and where they come from.
    pub completions: Vec<(String, Completion)>,
}

impl Arguments {
    /// The declared arguments, in the schema's order, with their property schemas.
    pub fn properties(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.schema.get("properties").and_then(Value::as_object).into_iter().flatten()
    }

    /// Whether `name` is in the schema's `required`.
    pub fn is_required(&self, name: &str) -> bool {
        self.schema.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|v| v.as_str() == Some(name)))
    }

    /// Whether `name` is a declared argument.
    pub fn declares(&self, name: &str) -> bool {
        self.schema.get("properties").and_then(|p| p.get(name)).is_some()
    }

    /// The completions of `name`, when it has any.
    pub fn completion(&self, name: &str) -> Option<&Completion> {
        self.completions.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// Arguments as MCP sends them, each string read as the type its property declares
    /// (see [`coerce`]); values that are not strings are kept.
    pub fn coerce<K: AsRef<str>>(&self, given: impl IntoIterator<Item = (K, Value)>) -> JsonObject {
        coerce(&self.schema, given)
    }

    /// [`Arguments::coerce`], then defaults, validation and the escaping checks.
    pub fn prepare<K: AsRef<str>>(&self, given: impl IntoIterator<Item = (K, Value)>) -> Result<JsonObject, ArgError> {
        let args = self.coerce(given);
        let validator = self.validator.get().map_err(|e| ArgError::new(None, format!("internal: the arguments {e}")))?;
        super::args::prepare(validator, &self.schema, &self.defaults, &self.contexts, Some(&args))
    }
}

/// Reads each string of `given` as the JSON type that `schema` declares for its property
/// (`integer`, `number` or `boolean`; a `type` list is read as its first such type that
/// parses), since MCP passes prompt arguments and URI variables as strings. A string that does
/// not parse stays a string, so that validation names what was expected.
pub fn coerce<K: AsRef<str>>(schema: &JsonObject, given: impl IntoIterator<Item = (K, Value)>) -> JsonObject {
    let props = schema.get("properties").and_then(Value::as_object);
    let mut out = JsonObject::new();
    for (name, value) in given {
        let name = name.as_ref();
        let value = match (&value, props.and_then(|p| p.get(name)).and_then(|s| s.get("type"))) {
            (Value::String(text), Some(t)) => read_as(text, t).unwrap_or(value),
            _ => value,
        };
        out.insert(name.to_owned(), value);
    }
    out
}

/// `text` as the first of the declared types (`ty`: a name or a list) it parses as; `None`
/// when a string is allowed or nothing parses.
fn read_as(text: &str, ty: &Value) -> Option<Value> {
    let types: Vec<&str> = match ty {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    if types.contains(&"string") {
        return None;
    }
    types.iter().find_map(|t| match *t {
        "integer" => text.trim().parse::<i64>().ok().map(Value::from),
        "number" => text.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number),
        "boolean" => match text.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "null" if text.is_empty() => Some(Value::Null),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_read_as_the_declared_type() {
        let schema = json!({"type": "object", "properties": {
            "n": {"type": "integer"}, "f": {"type": "number"}, "b": {"type": "boolean"},
            "s": {"type": "string"}, "either": {"type": ["string", "integer"]}, "any": {}
        }});
        let schema = schema.as_object().unwrap();
        let given = [
            ("n", json!("42")),
            ("f", json!("1.5")),
            ("b", json!("true")),
            ("s", json!("7")),
            ("either", json!("7")),
            ("any", json!("7")),
            ("undeclared", json!("7")),
        ];
        let out = coerce(schema, given);
        assert_eq!(Value::Object(out), json!({"n": 42, "f": 1.5, "b": true, "s": "7", "either": "7", "any": "7", "undeclared": "7"}));
        // What does not parse stays a string, for validation to refuse by name.
        let out = coerce(schema, [("n", json!("forty")), ("b", json!("yes")), ("f", json!(2))]);
        assert_eq!(Value::Object(out), json!({"n": "forty", "b": "yes", "f": 2}));
    }
}
