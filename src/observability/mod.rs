//! What the server tells its operators besides logs: Prometheus metrics (`prometheus`), and
//! the outcome vocabulary that metrics, audit lines and traces share. (OpenTelemetry traces
//! are in `telemetry`.) Not to be confused with the CloudWatch `metrics` action kind.

pub mod prometheus;

/// How a call that started ended. Metrics (the `outcome` label), the audit line and the
/// `toolwright.outcome` span attribute all use [`CallOutcome::as_str`]. Calls refused before
/// they start (an unknown tool, a tool the caller may not see) are not counted per tool; the
/// audit line says `unknown-tool` or `forbidden` for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallOutcome {
    /// The backend answered and the result went back.
    Ok,
    /// Arguments were refused before anything was sent.
    Rejected,
    /// The backend failed, timed out or was cancelled.
    Error,
    /// A limit refused the call.
    Overloaded,
}

impl CallOutcome {
    /// How many outcomes there are.
    pub(crate) const ALL: usize = 4;

    /// The word for the outcome, the same in `/metrics`, audit lines and traces.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Rejected => "rejected",
            CallOutcome::Error => "error",
            CallOutcome::Overloaded => "overloaded",
        }
    }
}
