//! The secret lint: literal credentials in a spec (AWS access key ids, bearer tokens in
//! headers, literal values under keys named like secrets) are errors, so that they never
//! reach Git.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::Compiler;
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::yaml::push_escaped;
use crate::util::is_template;

static AWS_KEY_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b").expect("static regex"));
static BEARER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]*[0-9][A-Za-z0-9._~+/=-]*").expect("static regex"));
static SECRET_KEY_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(password|passwd|pwd|secret|client[_-]?secret|api[_-]?key|x-api-key|token|access[_-]?token|auth[_-]?token|private[_-]?key|authorization)$").expect("static regex")
});

impl Compiler<'_> {
    /// Reports literal credentials anywhere under `value` (at `pointer`).
    pub(crate) fn inline_secrets(&mut self, doc: &Document, pointer: &str, value: &Value) {
        match value {
            Value::String(s) => {
                if AWS_KEY_RE.is_match(s) {
                    self.push(doc, Code::InlineSecret, pointer, "this looks like an AWS access key id").help =
                        Some("never put credentials in a spec; use the AWS credential chain or `secret('NAME')`".to_owned());
                } else if pointer.contains("/headers/")
                    && !is_template(s)
                    && BEARER_RE.find_iter(s).any(|m| m.as_str().split_whitespace().nth(1).is_some_and(|w| w.len() >= 16))
                {
                    self.push(doc, Code::InlineSecret, pointer, "this looks like a literal credential").help =
                        Some("use `{{ secret('NAME') }}` in a header instead".to_owned());
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.inline_secrets(doc, &format!("{pointer}/{i}"), v);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let mut p = pointer.to_owned();
                    p.push('/');
                    push_escaped(&mut p, k);
                    let literal = match v {
                        Value::String(s) => !s.trim().is_empty() && !is_template(s),
                        Value::Number(_) => true,
                        _ => false,
                    };
                    if SECRET_KEY_RE.is_match(k) && literal && !p.starts_with("/input") {
                        self.push(doc, Code::InlineSecret, &p, format!("`{k}` holds a literal value")).help =
                            Some("use `{{ secret('NAME') }}` so the value comes from the environment".to_owned());
                    } else {
                        self.inline_secrets(doc, &p, v);
                    }
                }
            }
            _ => {}
        }
    }
}
