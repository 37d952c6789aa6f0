//! The time window of an action (CloudWatch queries and fetches): relative (`since`,
//! `until`) or absolute (`start`, `end`), each a template.

use std::time::UNIX_EPOCH;

use super::args::ArgError;
use super::render::Renderer;
use super::template::Template;
use crate::util::parse_duration;

/// A compiled time window.
#[derive(Clone, Debug)]
pub enum Window {
    /// Relative to now: from `since` ago until `until` ago (or now).
    Since {
        /// Duration template.
        since: Template,
        /// Duration template.
        until: Option<Template>,
    },
    /// Absolute RFC 3339 timestamps.
    Range {
        /// Timestamp template.
        start: Template,
        /// Timestamp template (default now).
        end: Option<Template>,
    },
}

impl Window {
    /// The window's start and end in seconds since the epoch; an empty window is refused.
    pub fn render(&self, renderer: &Renderer<'_>) -> Result<(i64, i64), ArgError> {
        let secs = |template: &Template, what: &str| -> Result<i64, ArgError> {
            let s = renderer.text(template)?;
            parse_duration(&s)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .map_err(|m| ArgError::new(None, format!("`{what}` {m}")))
        };
        let stamp = |template: &Template, what: &str| -> Result<i64, ArgError> {
            let s = renderer.text(template)?;
            let t = humantime::parse_rfc3339_weak(s.trim())
                .map_err(|_| ArgError::new(None, format!("`{what}` is `{s}`, not an RFC 3339 timestamp such as 2026-11-24T10:00:00Z")))?;
            Ok(t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
        };
        let now = renderer.now;
        let (start, end) = match self {
            Window::Since { since, until } => {
                let s = secs(since, "since")?;
                let u = match until {
                    Some(u) => secs(u, "until")?,
                    None => 0,
                };
                (now.saturating_sub(s), now.saturating_sub(u))
            }
            Window::Range { start, end } => {
                let s = stamp(start, "start")?;
                let e = match end {
                    Some(e) => stamp(e, "end")?,
                    None => now,
                };
                (s, e)
            }
        };
        if start >= end {
            return Err(ArgError::new(None, "the time window is empty: its start is not before its end"));
        }
        Ok((start, end))
    }
}
