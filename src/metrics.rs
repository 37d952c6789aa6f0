//! Prometheus metrics, kept by hand: a few counters, gauges and histograms are all the
//! exposition needs, and the text format is simple enough that a dependency would add more
//! than it saves.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0];

#[derive(Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// How a call ended, as the `outcome` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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
    fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Rejected => "rejected",
            CallOutcome::Error => "error",
            CallOutcome::Overloaded => "overloaded",
        }
    }
}

/// The process's metrics.
#[derive(Default)]
pub struct Metrics {
    calls: Mutex<BTreeMap<(String, CallOutcome), u64>>,
    call_latency: Mutex<BTreeMap<String, Histogram>>,
    backend_latency: Mutex<BTreeMap<String, Histogram>>,
    in_flight: AtomicI64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    catalog_tools: AtomicU64,
}

impl Metrics {
    /// Counts a finished call and its latency.
    pub fn call(&self, tool: &str, outcome: CallOutcome, took: Duration) {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry((tool.to_owned(), outcome)).or_default() += 1;
        }
        if let Ok(mut h) = self.call_latency.lock() {
            h.entry(tool.to_owned()).or_default().observe(took.as_secs_f64());
        }
    }

    /// Records how long the backend took for one call.
    pub fn backend(&self, tool: &str, took: Duration) {
        if let Ok(mut h) = self.backend_latency.lock() {
            h.entry(tool.to_owned()).or_default().observe(took.as_secs_f64());
        }
    }

    /// A call started (`+1`) or ended (`-1`).
    pub fn in_flight(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    /// Counts a reload.
    pub fn reload(&self, ok: bool) {
        if ok { &self.reloads_ok } else { &self.reloads_failed }.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the number of tools in the catalog in force.
    pub fn catalog_size(&self, tools: usize) {
        self.catalog_tools.store(tools as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP toolwright_tool_calls_total Tool calls by tool and outcome.\n# TYPE toolwright_tool_calls_total counter\n");
        if let Ok(calls) = self.calls.lock() {
            for ((tool, outcome), n) in calls.iter() {
                let _ = writeln!(out, "toolwright_tool_calls_total{{tool=\"{}\",outcome=\"{}\"}} {n}", escape(tool), outcome.as_str());
            }
        }
        histograms(&mut out, "toolwright_tool_call_duration_seconds", "Time from a tools/call request to its result.", &self.call_latency);
        histograms(&mut out, "toolwright_backend_duration_seconds", "Time the backend took to answer.", &self.backend_latency);
        let _ = writeln!(
            out,
            "# HELP toolwright_calls_in_flight Tool calls running now.\n# TYPE toolwright_calls_in_flight gauge\ntoolwright_calls_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP toolwright_reloads_total Catalog reloads by outcome.\n# TYPE toolwright_reloads_total counter\ntoolwright_reloads_total{{outcome=\"ok\"}} {}\ntoolwright_reloads_total{{outcome=\"failed\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP toolwright_catalog_tools Tools in the catalog in force.\n# TYPE toolwright_catalog_tools gauge\ntoolwright_catalog_tools {}",
            self.catalog_tools.load(Ordering::Relaxed)
        );
        out
    }
}

fn histograms(out: &mut String, name: &str, help: &str, map: &Mutex<BTreeMap<String, Histogram>>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let Ok(map) = map.lock() else { return };
    for (tool, h) in map.iter() {
        let tool = escape(tool);
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{tool=\"{tool}\",le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{tool=\"{tool}\",le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum{{tool=\"{tool}\"}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{tool=\"{tool}\"}} {}", h.count);
    }
}

/// Escapes a label value (tool names are already restricted, but be safe).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
