//! Arguments in, prepared arguments out: validation against `input`, defaults, and the
//! check of each value against the escaping contexts it lands in. One code path for
//! `tools/call`, `call`, `render`, lint's examples, `prompts/get` and resource templates.

use serde_json::Value;

use super::{CompiledTool, JsonObject};

/// Why arguments were refused or could not be rendered; the message is written for a model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ArgError {
    /// The argument at fault, when one is.
    pub argument: Option<String>,
    /// What was wrong and what was expected.
    pub message: String,
}

impl ArgError {
    pub(crate) fn new(argument: Option<&str>, message: impl Into<String>) -> Self {
        ArgError { argument: argument.map(str::to_owned), message: message.into() }
    }
}

impl CompiledTool {
    /// Validates arguments with the compiled validator, applies defaults and checks every
    /// value for the contexts it lands in. The error names the argument and what was expected.
    pub fn prepare_args(&self, args: Option<&JsonObject>) -> Result<JsonObject, ArgError> {
        let validator = self.validator.get().map_err(|e| ArgError::new(None, format!("internal: the input {e}")))?;
        self.prepare_args_with(validator, args)
    }

    /// [`CompiledTool::prepare_args`] with a given input validator (the compile's own, for
    /// the examples, before the tool keeps none).
    pub(crate) fn prepare_args_with(&self, validator: &jsonschema::Validator, args: Option<&JsonObject>) -> Result<JsonObject, ArgError> {
        prepare(validator, &self.input_schema, &self.defaults, &self.arg_contexts, args)
    }
}

/// Validates arguments against `schema` (with its `validator`), after adding the `defaults` of
/// those absent, and checks every value for the escaping `contexts` it lands in: the one
/// argument check of tools, prompts and resource templates. The error names the argument and
/// what was expected.
pub(crate) fn prepare(
    validator: &jsonschema::Validator,
    schema: &JsonObject,
    defaults: &[(String, Value)],
    contexts: &[(String, Vec<super::Escape>)],
    args: Option<&JsonObject>,
) -> Result<JsonObject, ArgError> {
    let mut args = args.cloned().unwrap_or_default();
    for (name, value) in defaults {
        if !args.contains_key(name) {
            args.insert(name.clone(), value.clone());
        }
    }
    let instance = Value::Object(args);
    let mut problems = Vec::new();
    let mut first_arg = None;
    for err in validator.iter_errors(&instance).take(10) {
        let path = err.instance_path().as_str().to_owned();
        let arg = path.split('/').nth(1).map(|s| s.replace("~1", "/").replace("~0", "~"));
        let text = match err.kind() {
            jsonschema::error::ValidationErrorKind::Required { property } => {
                let p = property.as_str().unwrap_or("?").to_owned();
                first_arg.get_or_insert(p.clone());
                format!("missing required argument `{p}`")
            }
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known: Vec<String> = schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
                    .unwrap_or_default();
                first_arg.get_or_insert(unexpected.first().cloned().unwrap_or_default());
                format!(
                    "unknown argument(s) {}; expected {}",
                    unexpected.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
                    if known.is_empty() { "no arguments".to_owned() } else { format!("one of {}", known.join(", ")) }
                )
            }
            _ => {
                let display = err.to_string();
                match &arg {
                    Some(a) => {
                        first_arg.get_or_insert(a.clone());
                        format!("argument `{}`: {display}", &path[1..])
                    }
                    None => format!("arguments: {display}"),
                }
            }
        };
        problems.push(text);
    }
    if !problems.is_empty() {
        return Err(ArgError { argument: first_arg, message: format!("invalid arguments: {}", problems.join("; ")) });
    }
    let Value::Object(args) = instance else { unreachable!("constructed as an object above") };
    for (name, ctxs) in contexts {
        if let Some(value) = args.get(name) {
            for ctx in ctxs {
                ctx.check(value)
                    .map_err(|m| ArgError::new(Some(name), format!("argument `{name}` is refused for {}: {m}", ctx.describe())))?;
            }
        }
    }
    Ok(args)
}
