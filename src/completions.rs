//! `completion/complete`: the values a prompt argument or a resource template variable may
//! take, for the text typed so far. They come from the property's `enum`, or from its
//! `complete` action, run through [`runtime::call`] with the other arguments the client
//! already gave and `value` (the text typed), its answer turned into a list of strings by its
//! `jq`. Either way the values that start with the typed text (ignoring case) are kept, in
//! their order, at most [`MAX_VALUES`], with the total.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::actions::output::RESULT_KEY;
use crate::catalog::arguments::{Arguments, Completion};
use crate::catalog::jq_worker;
use crate::observability::CallOutcome;
use crate::runtime::{self, Loaded};

/// The most values one answer holds (the MCP limit).
pub const MAX_VALUES: usize = 100;

/// The argument a complete action reads the typed text as.
pub const TYPED: &str = "value";

/// One completion answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completions {
    /// At most [`MAX_VALUES`] values.
    pub values: Vec<String>,
    /// How many values match in all.
    pub total: usize,
    /// Whether more match than `values` holds.
    pub has_more: bool,
}

/// Why there are no completions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompleteError {
    /// The argument is not declared.
    #[error("`{name}` is not an argument of {owner}; expected one of {expected}")]
    UnknownArgument {
        /// The argument asked for.
        name: String,
        /// The prompt or resource template, in words.
        owner: String,
        /// The declared arguments, in words.
        expected: String,
    },
    /// The complete action failed, or its answer is not a list of strings.
    #[error("{0}")]
    Failed(String),
}

/// The completions of argument `name` of `arguments` (owned by `owner`, such as
/// "prompt `triage`") for the text `typed`, with `context` the other arguments already given.
pub async fn complete(
    loaded: &Loaded,
    arguments: &Arguments,
    owner: &str,
    name: &str,
    typed: &str,
    context: impl IntoIterator<Item = (String, String)>,
    cancel: &CancellationToken,
) -> Result<Completions, CompleteError> {
    if !arguments.declares(name) {
        let names: Vec<String> = arguments.properties().map(|(n, _)| format!("`{n}`")).collect();
        return Err(CompleteError::UnknownArgument {
            name: name.to_owned(),
            owner: owner.to_owned(),
            expected: if names.is_empty() { "none".to_owned() } else { names.join(", ") },
        });
    }
    let values = match arguments.completion(name) {
        None => Vec::new(),
        Some(Completion::Values(values)) => values.clone(),
        Some(Completion::Action { tool, jq }) => {
            // The other arguments as given (only those declared), and the typed text.
            let mut given: Vec<(String, Value)> = context
                .into_iter()
                .filter(|(n, _)| n != TYPED && n != name && arguments.declares(n))
                .map(|(n, v)| (n, Value::String(v)))
                .collect();
            given.push((TYPED.to_owned(), Value::String(typed.to_owned())));
            let args = crate::catalog::arguments::coerce(&tool.input_schema, given);
            let outcome = runtime::call(loaded, tool, Some(&args), cancel, None).await;
            if outcome.is_error {
                // Arguments that do not fit yet (the user is still typing them) complete to
                // nothing; a backend that fails is an error the client should see.
                if outcome.kind == CallOutcome::Rejected {
                    return Ok(Completions { values: Vec::new(), total: 0, has_more: false });
                }
                return Err(CompleteError::Failed(format!("the completion of `{name}` failed: {}", outcome.text)));
            }
            let answer = answer_value(outcome.structured, outcome.text);
            let listed = match jq {
                Some(filter) => jq_worker::run_value(filter, &answer)
                    .await
                    .map_err(|e| CompleteError::Failed(format!("the completion's `jq` failed: {e}")))?,
                None => answer,
            };
            strings(listed).map_err(|found| {
                CompleteError::Failed(format!(
                    "the completion of `{name}` gave {found}, not a list of strings{}",
                    if jq.is_some() { "" } else { "; give `complete` a `jq` that picks one" }
                ))
            })?
        }
    };
    Ok(filter(values, typed))
}

/// The answer an action gave, as a `jq` reads it: a non-object answer that the output shaping
/// wrapped as `{"result": ...}` is unwrapped; text that is not JSON is a string.
fn answer_value(structured: Option<Value>, text: String) -> Value {
    match structured {
        Some(Value::Object(mut map)) if map.len() == 1 && map.contains_key(RESULT_KEY) => map.remove(RESULT_KEY).unwrap_or(Value::Null),
        Some(v) => v,
        None => Value::String(text),
    }
}

/// The values of a completion answer: a list of strings (numbers and booleans as text), one
/// string, or null (none). `Err` names what was found instead.
fn strings(value: Value) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(format!("a list holding {}", kind_of(&other))),
            })
            .collect(),
        other => Err(kind_of(&other).to_owned()),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The values that start with `typed` (ignoring case), without repeats, at most [`MAX_VALUES`].
fn filter(values: Vec<String>, typed: &str) -> Completions {
    let typed = typed.to_lowercase();
    let mut seen = std::collections::HashSet::new();
    let matching: Vec<String> = values.into_iter().filter(|v| v.to_lowercase().starts_with(&typed) && seen.insert(v.clone())).collect();
    let total = matching.len();
    let values: Vec<String> = matching.into_iter().take(MAX_VALUES).collect();
    Completions { has_more: total > values.len(), values, total }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_filtered_by_prefix_and_capped() {
        let values: Vec<String> = (0..250).map(|i| format!("svc-{i:03}")).chain(["Checkout".to_owned(), "cart".to_owned()]).collect();
        let all = filter(values.clone(), "");
        assert_eq!((all.values.len(), all.total, all.has_more), (100, 252, true));
        let c = filter(values.clone(), "c");
        assert_eq!(c.values, ["Checkout", "cart"]);
        assert_eq!((c.total, c.has_more), (2, false));
        let svc = filter(values.clone(), "SVC-1");
        assert_eq!((svc.values.len(), svc.total, svc.has_more), (100, 100, false));
        assert_eq!(filter(vec!["a".into(), "a".into()], "").values, ["a"]);
    }

    #[test]
    fn answers_become_strings() {
        assert_eq!(strings(json!(["a", 1, true])), Ok(vec!["a".into(), "1".into(), "true".into()]));
        assert_eq!(strings(json!("one")), Ok(vec!["one".into()]));
        assert_eq!(strings(json!(null)), Ok(vec![]));
        assert_eq!(strings(json!({"a": 1})), Err("an object".into()));
        assert_eq!(strings(json!([{"a": 1}])), Err("a list holding an object".into()));
        assert_eq!(answer_value(Some(json!({"result": ["x"]})), String::new()), json!(["x"]));
        assert_eq!(answer_value(Some(json!({"items": ["x"]})), String::new()), json!({"items": ["x"]}));
        assert_eq!(answer_value(None, "plain".into()), json!("plain"));
    }
}
