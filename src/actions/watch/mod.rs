//! The `watch` action kind: one check action (`logs_insights`, `metrics` or `http`) run every
//! `every` for `for`, each result judged by jq (`fail_when`, `succeed_when`), with an optional
//! `on_fail` action run at most once right after a breach: the guard of a canary deployment.

pub(crate) mod compile;
pub mod execute;
pub mod request;
pub mod spec;

use std::sync::Arc;
use std::time::Duration;

use crate::actions::Action;
use crate::catalog::jq::JqFilter;
pub use request::WatchRequest;

/// The variable `on_fail`'s templates read the breach from: `{check, at, value, reason}` (the
/// name a sequence's `on_fail` reads its failure from; no input property may take it).
pub use crate::actions::steps::FAILED_VAR;
/// The shortest `every`.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// A check may take at least this long, however short `every` is.
pub const MIN_CHECK_BOUND: Duration = Duration::from_secs(10);
/// Failed checks in a row that end the watch when `max_failed_checks` is not given.
pub const DEFAULT_MAX_FAILED_CHECKS: u32 = 3;

/// A compiled `watch` action.
#[derive(Clone, Debug)]
pub struct WatchAction {
    /// How often a check starts.
    pub every: Duration,
    /// How long the watch runs: no check starts at or after `for` from the start.
    pub watch_for: Duration,
    /// The check, rendered again at each tick (never `watch` or `steps`).
    pub check: Arc<Action>,
    /// True (not false or null) over a check's result: a breach.
    pub fail_when: Arc<JqFilter>,
    /// True over a check's result: the watch ends early, succeeded.
    pub succeed_when: Option<Arc<JqFilter>>,
    /// Run at most once, right after a breach (never `watch` or `steps`).
    pub on_fail: Option<Arc<Action>>,
    /// Whether `on_fail`'s templates read `failed`, so that `render` cannot show it before a breach.
    pub on_fail_reads_failed: bool,
    /// The approval question put before `on_fail` runs (`on_fail.confirm.message`).
    pub on_fail_confirm: Option<crate::catalog::Template>,
    /// Failed checks in a row that end the watch as `failed`.
    pub max_failed_checks: u32,
}

impl WatchAction {
    /// How many checks a watch runs when none overruns its tick: `for` / `every`, rounded up.
    pub fn planned_checks(&self) -> u64 {
        planned_checks(self.watch_for, self.every)
    }

    /// How long one check may take: `every`, but at least [`MIN_CHECK_BOUND`] (and always
    /// within the call's deadline).
    pub fn check_bound(&self) -> Duration {
        self.every.max(MIN_CHECK_BOUND)
    }
}

/// `watch_for` / `every`, rounded up (at least 1).
pub fn planned_checks(watch_for: Duration, every: Duration) -> u64 {
    let every = every.as_millis().max(1);
    u64::try_from(watch_for.as_millis().div_ceil(every)).unwrap_or(u64::MAX).max(1)
}

/// A duration as the spec writes it (`20m30s`, `1s`).
pub(crate) fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_checks_round_up() {
        let s = Duration::from_secs;
        assert_eq!(planned_checks(s(10), s(1)), 10);
        assert_eq!(planned_checks(s(20 * 60), s(30)), 40);
        assert_eq!(planned_checks(s(10), s(3)), 4);
        assert_eq!(planned_checks(s(1), s(1)), 1);
        assert_eq!(planned_checks(Duration::ZERO, s(1)), 1);
    }

    #[test]
    fn durations_show_as_the_spec_writes_them() {
        assert_eq!(show(Duration::from_secs(20 * 60 + 30)), "20m30s");
        assert_eq!(show(Duration::from_secs(1)), "1s");
        assert_eq!(crate::util::parse_duration(&show(Duration::from_secs(3_723))), Ok(Duration::from_secs(3_723)));
    }
}
