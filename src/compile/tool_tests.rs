//! A tool's `tests`: names (valid, unique in the tool: each names its recording file), the jq
//! predicates compiled, row bounds that can hold, no empty text to look for. The arguments are
//! not held to `input`: a test may pass bad arguments to see them refused.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::Compiler;
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::model::ToolSpec;
use crate::spec::yaml::Pos;
use crate::testing::{Expect, Rows, ToolTest};

/// A test name: a file name on every system, never hidden, never `.` or `..`.
static TEST_NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$").expect("static regex"));

impl Compiler<'_> {
    /// Checks and compiles the tool's `tests`; each problem is a diagnostic.
    pub(crate) fn tool_tests(&mut self, doc: &Document, spec: &ToolSpec) -> Vec<ToolTest> {
        let mut out = Vec::new();
        let mut seen: HashMap<&str, Pos> = HashMap::new();
        for (i, test) in spec.tests.iter().flatten().enumerate() {
            let base = format!("/tests/{i}");
            let mut ok = true;
            let name_pos = doc.pointers.node(&format!("{base}/name"));
            if !TEST_NAME_RE.is_match(&test.name) {
                ok = false;
                self.push(
                    doc,
                    Code::InvalidName,
                    &format!("{base}/name"),
                    format!("test name `{}` does not match ^[A-Za-z0-9_-][A-Za-z0-9_.-]{{0,127}}$", test.name),
                )
                .help = Some(
                    "use letters, digits, `_`, `.` and `-` (not first), at most 128 characters: it names the test's recording file"
                        .to_owned(),
                );
            } else if let Some(first) = seen.get(test.name.as_str()) {
                ok = false;
                self.duplicate(Code::DuplicateTestName, "test", &test.name, (doc.file, *first), (doc.file, name_pos));
            } else {
                seen.insert(&test.name, name_pos);
            }
            let expect = &test.expect;
            let mut texts = |c: &mut Self, key: &str, list: Option<Vec<String>>| -> Vec<String> {
                let list = list.unwrap_or_default();
                if list.iter().any(String::is_empty) {
                    ok = false;
                    c.push(
                        doc,
                        Code::InvalidValue,
                        &format!("{base}/expect/{key}"),
                        format!("`{key}` holds an empty string, which every text contains"),
                    );
                }
                list
            };
            let contains = texts(self, "contains", expect.contains.as_ref().map(|t| t.to_vec()));
            let not_contains = texts(self, "not_contains", expect.not_contains.as_ref().map(|t| t.to_vec()));
            let jq = match &expect.jq {
                Some(src) => self.jq_filter(doc, &format!("{base}/expect/jq"), src, &mut ok),
                None => None,
            };
            let rows = expect.rows.as_ref().map(|r| Rows { min: r.min, max: r.max });
            if let Some(Rows { min: Some(min), max: Some(max) }) = rows
                && min > max
            {
                ok = false;
                self.push(
                    doc,
                    Code::InvalidValue,
                    &format!("{base}/expect/rows"),
                    format!("`rows.min` ({min}) is more than `rows.max` ({max}): no result can pass"),
                );
            }
            if ok {
                out.push(ToolTest {
                    tool: spec.name.clone(),
                    name: test.name.clone(),
                    args: test.args.clone(),
                    expect: Expect { is_error: expect.is_error.unwrap_or(false), contains, not_contains, jq, rows },
                    file: self.files[doc.file].name.clone(),
                    span: self.loc(doc.file).span(name_pos),
                });
            }
        }
        out
    }
}
