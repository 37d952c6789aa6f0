//! Prometheus metrics, kept with the `prometheus-client` crate and served in the Prometheus
//! text format (version 0.0.4, [`Metrics::CONTENT_TYPE`]), with the names, labels, help texts
//! and buckets of the hand-written exposition it replaced.
//!
//! # The call path
//!
//! A call records three things: its count by tool and outcome, its latency, and the backend's
//! latency. Once a tool has been called, none of that takes a lock shared by all tools or
//! allocates. Each tool name gets a `ToolSeries` on its first call: the name as an `Arc<str>`
//! and a slot for each of its series (a counter per outcome, two histograms). A slot is filled
//! on its first use with the `Family` child for that label set, a handle sharing its value with
//! the family (the label set holds a clone of the `Arc<str>`, not a new string), so a series
//! appears in `/metrics` once it has been used, as before. The tools' series live in an
//! [`ArcSwap`] map, read without a lock; only a name's first call copies the map to add it, and
//! an entry is never removed (neither is a series, so a reload does not reset a tool's counts).
//! A call then costs a map lookup by `&str`, an atomic add on its counter and an observation on
//! each histogram, which prometheus-client keeps behind a lock of the histogram's own: only
//! concurrent calls of the same tool meet there. Calls in flight are an atomic gauge.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::CallOutcome;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0];

impl EncodeLabelValue for CallOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// `{tool}`: the latency histograms' labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ToolLabel {
    tool: Arc<str>,
}

/// `{tool, outcome}`: the call counter's labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    tool: Arc<str>,
    outcome: CallOutcome,
}

/// `{outcome}`: the reload counter's labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReloadLabel {
    outcome: &'static str,
}

/// One tool's series, each filled on its first use (see the module's doc).
struct ToolSeries {
    tool: Arc<str>,
    calls: [OnceLock<Counter>; CallOutcome::ALL],
    call_latency: OnceLock<Histogram>,
    backend_latency: OnceLock<Histogram>,
}

/// A family served with its HELP and TYPE lines before its first series, as before
/// prometheus-client (whose registry leaves out an empty family).
#[derive(Debug)]
struct Listed<M>(M);

impl<M: EncodeMetric> EncodeMetric for Listed<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    call_latency: Family<ToolLabel, Histogram>,
    backend_latency: Family<ToolLabel, Histogram>,
    tools: ArcSwap<HashMap<Arc<str>, Arc<ToolSeries>>>,
    in_flight: Gauge,
    reloads_ok: Counter,
    reloads_failed: Counter,
    catalog_tools: Gauge,
    tasks_running: Gauge,
    tasks_ended: Family<TaskLabel, Counter>,
}

/// `{outcome}`: the ended-tasks counter's labels (`ok`, `error`, `failed`, `cancelled`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TaskLabel {
    outcome: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        let calls = Family::<CallLabels, Counter>::default();
        let call_latency = Family::<ToolLabel, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let backend_latency = Family::<ToolLabel, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let in_flight = Gauge::default();
        let reloads = Family::<ReloadLabel, Counter>::default();
        let reloads_ok = reloads.get_or_create_owned(&ReloadLabel { outcome: "ok" });
        let reloads_failed = reloads.get_or_create_owned(&ReloadLabel { outcome: "failed" });
        let catalog_tools = Gauge::default();
        // The registry appends a full stop to each help text; counters get `_total`.
        let mut registry = Registry::default();
        registry.register("toolwright_tool_calls", "Tool calls by tool and outcome", Listed(calls.clone()));
        registry.register(
            "toolwright_tool_call_duration_seconds",
            "Time from a tools/call request to its result",
            Listed(call_latency.clone()),
        );
        registry.register("toolwright_backend_duration_seconds", "Time the backend took to answer", Listed(backend_latency.clone()));
        registry.register("toolwright_calls_in_flight", "Tool calls running now", in_flight.clone());
        registry.register("toolwright_reloads", "Catalog reloads by outcome", reloads);
        registry.register("toolwright_catalog_tools", "Tools in the catalog in force", catalog_tools.clone());
        let tasks_running = Gauge::default();
        let tasks_ended = Family::<TaskLabel, Counter>::default();
        registry.register("toolwright_tasks_running", "Tasks running now", tasks_running.clone());
        registry.register("toolwright_tasks_ended", "Ended tasks by outcome", Listed(tasks_ended.clone()));
        Metrics {
            registry,
            calls,
            call_latency,
            backend_latency,
            tools: ArcSwap::default(),
            in_flight,
            reloads_ok,
            reloads_failed,
            catalog_tools,
            tasks_running,
            tasks_ended,
        }
    }
}

impl Metrics {
    /// The `Content-Type` of [`Metrics::render`]'s text.
    pub const CONTENT_TYPE: &'static str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

    /// Counts a finished call and its latency.
    pub fn call(&self, tool: &str, outcome: CallOutcome, took: Duration) {
        self.with_series(tool, |s| {
            s.calls[outcome as usize].get_or_init(|| self.calls.get_or_create_owned(&CallLabels { tool: s.tool.clone(), outcome })).inc();
            s.call_latency
                .get_or_init(|| self.call_latency.get_or_create_owned(&ToolLabel { tool: s.tool.clone() }))
                .observe(took.as_secs_f64());
        });
    }

    /// Records how long the backend took for one call.
    pub fn backend(&self, tool: &str, took: Duration) {
        self.with_series(tool, |s| {
            s.backend_latency
                .get_or_init(|| self.backend_latency.get_or_create_owned(&ToolLabel { tool: s.tool.clone() }))
                .observe(took.as_secs_f64());
        });
    }

    /// A call started (`+1`) or ended (`-1`).
    pub fn in_flight(&self, delta: i64) {
        self.in_flight.inc_by(delta);
    }

    /// Counts a reload.
    pub fn reload(&self, ok: bool) {
        if ok { &self.reloads_ok } else { &self.reloads_failed }.inc();
    }

    /// A task started.
    pub fn task_started(&self) {
        self.tasks_running.inc();
    }

    /// A task ended with `outcome` (`ok`, `error`, `failed` or `cancelled`).
    pub fn task_ended(&self, outcome: &'static str) {
        self.tasks_running.dec();
        self.tasks_ended.get_or_create(&TaskLabel { outcome }).inc();
    }

    /// Sets the number of tools in the catalog in force.
    pub fn catalog_size(&self, tools: usize) {
        self.catalog_tools.set(i64::try_from(tools).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail, nor can the registry's metrics.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// Runs `f` on `tool`'s series, adding them on the name's first call.
    fn with_series(&self, tool: &str, f: impl FnOnce(&ToolSeries)) {
        if let Some(series) = self.tools.load().get(tool) {
            return f(series);
        }
        let added = Arc::new(ToolSeries {
            tool: Arc::from(tool),
            calls: Default::default(),
            call_latency: OnceLock::new(),
            backend_latency: OnceLock::new(),
        });
        // Another thread may add the same name meanwhile: the first one in stays.
        self.tools.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.entry(added.tool.clone()).or_insert_with(|| added.clone());
            map
        });
        let map = self.tools.load();
        f(map.get(tool).unwrap_or(&added));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_exposition_lists_every_family() {
        let text = Metrics::default().render();
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        assert_eq!(
            types,
            [
                "# TYPE toolwright_tool_calls_total counter",
                "# TYPE toolwright_tool_call_duration_seconds histogram",
                "# TYPE toolwright_backend_duration_seconds histogram",
                "# TYPE toolwright_calls_in_flight gauge",
                "# TYPE toolwright_reloads_total counter",
                "# TYPE toolwright_catalog_tools gauge",
                "# TYPE toolwright_tasks_running gauge",
                "# TYPE toolwright_tasks_ended_total counter",
            ],
            "{text}"
        );
        // HELP and TYPE of each family; a value line for each of the 4 gauges and the 2 reload counters.
        assert_eq!(text.lines().count(), 8 * 2 + 5, "{text}");
    }

    #[test]
    fn exposition_keeps_names_labels_and_buckets() {
        let m = Metrics::default();
        m.catalog_size(3);
        m.in_flight(1);
        m.call("a\"b", CallOutcome::Ok, Duration::from_millis(3));
        m.call("a\"b", CallOutcome::Ok, Duration::from_millis(30));
        m.call("a\"b", CallOutcome::Overloaded, Duration::from_secs(90));
        m.backend("a\"b", Duration::from_millis(2));
        m.reload(false);
        let text = m.render();
        for line in [
            "# HELP toolwright_tool_calls_total Tool calls by tool and outcome.",
            "# TYPE toolwright_tool_calls_total counter",
            "toolwright_tool_calls_total{tool=\"a\\\"b\",outcome=\"ok\"} 2",
            "toolwright_tool_calls_total{tool=\"a\\\"b\",outcome=\"overloaded\"} 1",
            "# HELP toolwright_tool_call_duration_seconds Time from a tools/call request to its result.",
            "# TYPE toolwright_tool_call_duration_seconds histogram",
            "toolwright_tool_call_duration_seconds_bucket{tool=\"a\\\"b\",le=\"0.0005\"} 0",
            "toolwright_tool_call_duration_seconds_bucket{tool=\"a\\\"b\",le=\"0.005\"} 1",
            "toolwright_tool_call_duration_seconds_bucket{tool=\"a\\\"b\",le=\"1\"} 2",
            "toolwright_tool_call_duration_seconds_bucket{tool=\"a\\\"b\",le=\"60\"} 2",
            "toolwright_tool_call_duration_seconds_bucket{tool=\"a\\\"b\",le=\"+Inf\"} 3",
            "toolwright_tool_call_duration_seconds_count{tool=\"a\\\"b\"} 3",
            "# HELP toolwright_backend_duration_seconds Time the backend took to answer.",
            "toolwright_backend_duration_seconds_bucket{tool=\"a\\\"b\",le=\"0.0025\"} 1",
            "toolwright_backend_duration_seconds_count{tool=\"a\\\"b\"} 1",
            "# HELP toolwright_calls_in_flight Tool calls running now.\n# TYPE toolwright_calls_in_flight gauge\ntoolwright_calls_in_flight 1",
            "# HELP toolwright_reloads_total Catalog reloads by outcome.\n# TYPE toolwright_reloads_total counter",
            "toolwright_reloads_total{outcome=\"ok\"} 0",
            "toolwright_reloads_total{outcome=\"failed\"} 1",
            "# HELP toolwright_catalog_tools Tools in the catalog in force.\n# TYPE toolwright_catalog_tools gauge\ntoolwright_catalog_tools 3",
        ] {
            assert!(text.contains(&format!("{line}\n")), "missing {line:?} in:\n{text}");
        }
        // A series appears once used, as before: no zero counters for outcomes not seen.
        assert!(!text.contains("outcome=\"error\""), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        // One entry per tool name, however often it is called.
        assert_eq!(m.tools.load().len(), 1);
    }
}
