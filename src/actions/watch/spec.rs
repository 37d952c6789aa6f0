//! The `watch` action as written in a spec.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::actions::ActionSpec;

/// Runs one check action every `every` for `for`, judging each result with jq: `fail_when`
/// true is a breach (then `on_fail` runs once), `succeed_when` true ends the watch early.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchSpec {
    /// How often a check starts, a duration of at least 1s (`30s`); checks never overlap.
    pub every: String,
    /// How long to watch (`20m`), at least `every`; the tool's `timeout` must be at least
    /// `for` plus `every`.
    #[serde(rename = "for")]
    pub watch_for: String,
    /// The check: exactly one action of kind `logs_insights`, `metrics` or `http`, rendered
    /// again at each tick with that tick's time.
    pub check: Box<ActionSpec>,
    /// A jq predicate over the check's result (the structured result; text as a string):
    /// true (anything but false or null) is a breach, which ends the watch.
    pub fail_when: String,
    /// A jq predicate over the check's result: true ends the watch early, succeeded. Without
    /// it the watch succeeds when `for` ends without a breach.
    #[serde(default)]
    pub succeed_when: Option<String>,
    /// One action (`logs_insights`, `metrics` or `http`) run at most once, right after a
    /// breach (the rollback); its templates read `failed` (`{check, at, value, reason}`).
    #[serde(default)]
    pub on_fail: Option<Box<ActionSpec>>,
    /// How many failed checks in a row (a backend error, a filter error) end the watch as
    /// `failed` (default 3).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_failed_checks: Option<u32>,
}
