//! The time window of CloudWatch actions: `since`/`until` or `start`/`end`, never both.

use crate::catalog::Template;
use crate::catalog::template::Escape;
use crate::catalog::window::Window;
use crate::diag::Code;
use crate::spec::Document;
use crate::util::is_template;

use super::Compiler;
use super::context::TemplateUse;

impl Compiler<'_> {
    /// Compiles the window fields found under `base`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn window(
        &mut self,
        doc: &Document,
        base: &str,
        since: &Option<String>,
        until: &Option<String>,
        start: &Option<String>,
        end: &Option<String>,
        uses: &mut Vec<TemplateUse>,
    ) -> Option<Window> {
        let relative = since.is_some() || until.is_some();
        let absolute = start.is_some() || end.is_some();
        if relative && absolute {
            let at = if start.is_some() { "start" } else { "end" };
            self.push_key(doc, Code::TimeRange, &format!("{base}/{at}"), "use `since`/`until` or `start`/`end`, not both");
            return None;
        }
        if until.is_some() && since.is_none() {
            self.push_key(doc, Code::TimeRange, &format!("{base}/until"), "`until` needs `since`");
            return None;
        }
        if end.is_some() && start.is_none() {
            self.push_key(doc, Code::TimeRange, &format!("{base}/end"), "`end` needs `start`");
            return None;
        }
        let dur = |compiler: &mut Self, field: &str, s: &str, uses: &mut Vec<TemplateUse>| -> Option<Template> {
            let p = format!("{base}/{field}");
            if !is_template(s) {
                compiler.duration(doc, &p, s)?;
            }
            compiler.template(doc, &p, s, Escape::Plain, uses)
        };
        if absolute {
            let stamp = |compiler: &mut Self, field: &str, s: &str, uses: &mut Vec<TemplateUse>| -> Option<Template> {
                let p = format!("{base}/{field}");
                if !is_template(s) && humantime::parse_rfc3339_weak(s.trim()).is_err() {
                    compiler.push(doc, Code::InvalidValue, &p, format!("`{s}` is not an RFC 3339 timestamp such as 2026-11-24T10:00:00Z"));
                    return None;
                }
                compiler.template(doc, &p, s, Escape::Plain, uses)
            };
            let s = stamp(self, "start", start.as_deref().unwrap_or(""), uses)?;
            let e = match end {
                Some(e) => Some(stamp(self, "end", e, uses)?),
                None => None,
            };
            return Some(Window::Range { start: s, end: e });
        }
        let s = match since {
            Some(s) => dur(self, "since", s, uses)?,
            None => Template::Literal("1h".to_owned()),
        };
        let u = match until {
            Some(u) => Some(dur(self, "until", u, uses)?),
            None => None,
        };
        Some(Window::Since { since: s, until: u })
    }
}
