//! The `metrics` action kind: a CloudWatch GetMetricData fetch of metric stats and
//! expressions over one window.

pub(crate) mod compile;
pub mod execute;
pub mod request;
pub mod spec;

use crate::catalog::Template;
use crate::catalog::window::Window;
pub use execute::run;
pub use request::{MetricQuery, MetricsRequest};

/// One compiled metric query.
#[derive(Clone, Debug)]
pub struct MetricQueryTemplate {
    /// Query id.
    pub id: String,
    /// Namespace template.
    pub namespace: Option<Template>,
    /// Metric name template.
    pub metric: Option<Template>,
    /// Dimension name → value template.
    pub dimensions: Vec<(String, Template)>,
    /// Statistic template.
    pub stat: Option<Template>,
    /// Expression template.
    pub expression: Option<Template>,
    /// Label template.
    pub label: Option<Template>,
    /// Unit.
    pub unit: Option<String>,
    /// Whether the series is returned.
    pub return_data: bool,
}

/// A compiled metrics action.
#[derive(Clone, Debug)]
pub struct MetricsAction {
    /// Connection name.
    pub connection: Option<String>,
    /// The queries.
    pub queries: Vec<MetricQueryTemplate>,
    /// Period template (a duration); chosen from the window when absent.
    pub period: Option<Template>,
    /// The window.
    pub window: Window,
}

/// A period for a window by CloudWatch's rules: at least 60 s and a multiple of 60;
/// 300 beyond 15 days; 3,600 beyond 63 days; at most 100,800 points.
pub fn choose_period(window_secs: i64) -> i32 {
    const DAY: i64 = 86_400;
    let mut period: i64 = if window_secs > 63 * DAY {
        3_600
    } else if window_secs > 15 * DAY {
        300
    } else {
        60
    };
    let needed = (window_secs + 100_799) / 100_800;
    if needed > period {
        period = (needed + 59) / 60 * 60;
    }
    i32::try_from(period).unwrap_or(i32::MAX)
}

/// Whether a period is one CloudWatch accepts.
pub fn valid_period(secs: u64) -> bool {
    matches!(secs, 1 | 5 | 10 | 20 | 30) || (secs >= 60 && secs.is_multiple_of(60))
}
