//! The `steps` action kind: actions of any other kind run in order, each step's templates
//! reading the outputs of earlier steps as `steps.<id>` (data, escaped by where it lands,
//! exactly as a caller's argument), with an optional `on_fail` action run once after a
//! failed step.

pub(crate) mod compile;
pub mod execute;
pub mod request;
pub mod spec;

use std::sync::Arc;

use crate::actions::Action;
use crate::catalog::jq::JqFilter;
pub use request::StepsRequest;

/// The variable a steps tool's templates read earlier outputs from (reserved: no input
/// property may take the name).
pub const STEPS_VAR: &str = "steps";
/// The variable `on_fail`'s templates read the failure from: `{step, error}`.
pub const FAILED_VAR: &str = "failed";
/// The most steps a sequence holds.
pub const MAX_STEPS: usize = 20;

/// One compiled step (and, with the id `on_fail`, the sequence's `on_fail` action).
#[derive(Clone, Debug)]
pub struct Step {
    /// The step's id (`^[a-z][a-z0-9_]*$`, unique in the sequence).
    pub id: String,
    /// The step's action (never `steps`).
    pub action: Action,
    /// A jq filter over the step's result; its answer is the step's output (default: the result).
    pub output: Option<Arc<JqFilter>>,
    /// A jq predicate over `{args, steps}`; false or null skips the step (its output is null).
    pub when: Option<Arc<JqFilter>>,
    /// The approval question put to the user before the step runs (`confirm.message`).
    pub confirm: Option<crate::catalog::Template>,
    /// The earlier steps whose outputs its templates read.
    pub needs: Vec<String>,
    /// Whether its templates read `steps` or `failed`, so that it renders only when it runs.
    pub deferred: bool,
}

/// A compiled `steps` action.
#[derive(Clone, Debug)]
pub struct StepsAction {
    /// The steps in order.
    pub steps: Arc<[Step]>,
    /// Run once after a failed step.
    pub on_fail: Option<Arc<Step>>,
    /// `content`: the indices of the steps whose content blocks make the result's, in order.
    pub content: Option<Arc<[usize]>>,
}
