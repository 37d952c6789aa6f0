//! The `steps` action as written in a spec. A step's action is written beside its `id`
//! (`{id, http: {...}, output, when}`); the step's type, [`crate::actions::StepSpec`], is
//! generated with the kinds' registration so that a step can hold any kind.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::actions::{ActionSpec, StepSpec};

/// A sequence of actions run in order; later templates read earlier outputs as `steps.<id>`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepsSpec {
    /// The steps, run in order (1 to 20). Each is `{id, <one action>, output, when}`; a failed
    /// step stops the sequence.
    pub run: Vec<StepSpec>,
    /// One action run once, after a step failed; its templates read `steps` and
    /// `failed` (`{step, error}`). Its answer is part of the error the call returns.
    #[serde(default)]
    pub on_fail: Option<Box<ActionSpec>>,
    /// The result's content blocks: the ids of steps whose content (text, image, audio or
    /// embedded resource, as the step alone would have answered) the result holds, in this
    /// order; a skipped step adds nothing. Default: the steps answer as text.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub content: Option<Vec<String>>,
}
