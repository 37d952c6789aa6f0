//! `toolwright test`: the `tests:` of each tool run through the real call path
//! (`runtime::call`), each call's answer held to the test's `expect`, and optionally every
//! backend exchange recorded to (or answered from) a directory of JSON files.
//!
//! - `spec.rs`: the `tests:` block as written (serde + schemars); the compile checks it
//!   (`compile/tool_tests.rs`) and hands out [`ToolTest`]s beside the catalog;
//! - `runner.rs`: runs the tests one after another and judges each call's [`crate::runtime::Outcome`];
//! - `recording.rs`: the recording files (one per test), redaction of secrets before writing,
//!   the checks that refuse a recording holding a secret, and the request diff of a replay;
//! - `report.rs`: text, json and github workflow commands.
//!
//! The hook in the call path is `connections::tape::Tape`, carried by the catalog's
//! `connections::Clients`: it records or answers the exchanges at the point where a request
//! is sent (HTTP actions and the AWS SDK's HTTP client).

pub mod recording;
pub mod report;
pub mod runner;
pub mod spec;

use std::sync::Arc;

use crate::catalog::JsonObject;
use crate::catalog::jq::JqFilter;
use crate::diag::Span;

/// One compiled test of a tool.
#[derive(Clone, Debug)]
pub struct ToolTest {
    /// The tool's name.
    pub tool: String,
    /// The test's name (unique in the tool; it names the recording file).
    pub name: String,
    /// The call's arguments, as written.
    pub args: JsonObject,
    /// What the call must give.
    pub expect: Expect,
    /// The spec file, as the user named it.
    pub file: String,
    /// Where the test's `name` is.
    pub span: Span,
}

/// The conditions of a test, compiled.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// Whether the call must be a tool error.
    pub is_error: bool,
    /// Each must appear in the answer's text.
    pub contains: Vec<String>,
    /// None may appear in the answer's text.
    pub not_contains: Vec<String>,
    /// A predicate over the structured result, run in the jq worker.
    pub jq: Option<Arc<JqFilter>>,
    /// Bounds on the row count.
    pub rows: Option<Rows>,
}

/// Inclusive bounds on a row count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rows {
    /// At least this many.
    pub min: Option<u64>,
    /// At most this many.
    pub max: Option<u64>,
}
