//! A tool's compiled approval gate (`confirm:`): the question, and for a gate with `fields` the
//! form the user fills in, whose accepted answer the gated action's templates read as
//! `confirm.<field>`.

use std::sync::Arc;

use serde_json::Value;

use super::{Escape, JsonObject, LazyValidator, Template};

/// The variable under which the gated action's templates read the answers (`confirm.ticket`).
pub const CONFIRM_VAR: &str = "confirm";

/// A tool's `confirm:` as compiled.
#[derive(Debug)]
pub struct Confirm {
    /// The question (`confirm.message`), a template over the arguments.
    pub message: Template,
    /// The form, when the gate asks for values (`confirm.fields`).
    pub fields: Option<Arc<ConfirmFields>>,
}

/// The form of a gate that asks for values: what the client is sent, and what the answer is
/// held to before anything runs.
#[derive(Debug)]
pub struct ConfirmFields {
    /// The elicitation's `requestedSchema`: `{type: object, properties, required}`, the fields
    /// as written (each already checked to be what MCP elicitation allows).
    pub schema: Arc<JsonObject>,
    /// The answer's validator: `schema` with no properties beyond the fields.
    pub validator: LazyValidator,
    /// For each field a template reads, the contexts its value lands in.
    pub contexts: Vec<(String, Vec<Escape>)>,
}

impl ConfirmFields {
    /// The accepted answer, checked: held to the form (defaults added for fields left out),
    /// and each value checked for every context it lands in. The error says which field is
    /// wrong and why, for the model and the user.
    pub fn check(&self, answer: Option<&JsonObject>) -> Result<JsonObject, String> {
        let validator = self.validator.get().map_err(|e| format!("internal: the form {e}"))?;
        let mut values = answer.cloned().unwrap_or_default();
        if let Some(props) = self.schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                if let (false, Some(d)) = (values.contains_key(name), prop.get("default")) {
                    values.insert(name.clone(), d.clone());
                }
            }
        }
        let instance = Value::Object(values);
        let problems: Vec<String> = validator
            .iter_errors(&instance)
            .take(10)
            .map(|err| match err.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    format!("the required field `{}` is missing", property.as_str().unwrap_or("?"))
                }
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    format!("the form has no field {}", unexpected.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "))
                }
                _ => {
                    let path = err.instance_path().as_str().trim_start_matches('/').to_owned();
                    format!("field `{path}`: {err}")
                }
            })
            .collect();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let Value::Object(mut values) = instance else { unreachable!("constructed as an object above") };
        // A field left out (optional, without a default) reads as none, never as an error.
        for name in self.schema.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.keys()) {
            values.entry(name.clone()).or_insert(Value::Null);
        }
        for (name, ctxs) in &self.contexts {
            if let Some(value) = values.get(name) {
                for ctx in ctxs {
                    ctx.check(value).map_err(|m| format!("field `{name}` is refused for {}: {m}", ctx.describe()))?;
                }
            }
        }
        Ok(values)
    }

    /// Stand-in answers for a render without a user (`toolwright render`, lint's examples):
    /// each field's default, else its first option, minimum, `false`, an empty list, or the
    /// text `confirm-<field>`.
    pub fn placeholder(&self) -> JsonObject {
        let mut values = JsonObject::new();
        for (name, prop) in self.schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let value = prop.get("default").cloned().unwrap_or_else(|| match prop.get("type").and_then(Value::as_str) {
                Some("boolean") => Value::Bool(false),
                Some("array") => Value::Array(Vec::new()),
                Some("number" | "integer") => prop.get("minimum").cloned().unwrap_or(Value::from(0)),
                _ => prop
                    .get("enum")
                    .and_then(|e| e.get(0))
                    .or_else(|| prop.get("oneOf").and_then(|o| o.get(0)).and_then(|o| o.get("const")))
                    .cloned()
                    .unwrap_or_else(|| Value::String(format!("confirm-{name}"))),
            });
            values.insert(name.clone(), value);
        }
        values
    }
}
