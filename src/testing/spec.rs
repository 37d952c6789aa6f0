//! The `tests:` block of a tool as written (serde + schemars): each test's arguments and what
//! the call must give. The compile turns it into [`super::ToolTest`]s (`compile/tool_tests.rs`).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::JsonObject;

/// One test of a tool: a call with these arguments and what it must give.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolTestSpec {
    /// The test's name, ^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$, unique among the tool's tests;
    /// its recording is `<DIR>/<tool>/<name>.json`.
    pub name: String,
    /// The call's arguments (lint does not hold them to `input`: a test may pass bad arguments
    /// to see them refused).
    #[serde(default)]
    pub args: JsonObject,
    /// What the call must give. Without it (or without `is_error`), a result that is not an error.
    #[serde(default)]
    pub expect: ExpectSpec,
}

/// What a test's call must give; every condition given must hold.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// Whether the call must end as a tool error (MCP `isError: true`); default `false`.
    #[serde(default)]
    pub is_error: Option<bool>,
    /// Text the answer's text content must hold: one string or a list (each must appear).
    #[serde(default)]
    pub contains: Option<Texts>,
    /// Text the answer's text content must not hold: one string or a list (none may appear).
    #[serde(default)]
    pub not_contains: Option<Texts>,
    /// A jq predicate over the structured result (the text as a string when there is none):
    /// the test passes when it gives anything but `false` or `null`.
    #[serde(default)]
    pub jq: Option<String>,
    /// How many rows the result holds: the elements of its array (the answer itself when it is
    /// an array, else the largest array at the top of the structured result, the one output
    /// shaping would cut).
    #[serde(default)]
    pub rows: Option<RowsSpec>,
}

/// One string, or a list of strings.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Texts {
    /// One string.
    One(String),
    /// Several strings.
    Many(Vec<String>),
}

impl Texts {
    /// The strings, in the order written.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Texts::One(s) => vec![s.clone()],
            Texts::Many(v) => v.clone(),
        }
    }
}

/// Bounds on a result's row count (both inclusive).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowsSpec {
    /// At least this many rows.
    #[serde(default)]
    pub min: Option<u64>,
    /// At most this many rows.
    #[serde(default)]
    pub max: Option<u64>,
}
