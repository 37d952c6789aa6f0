//! `lint --hints`: info-level hints about what a tool could have (examples, tests), computed
//! from the parsed documents after the compile. The compile itself never reports them, so
//! nothing else that compiles (serve, reload, diff, import) sees them.

use std::collections::HashMap;

use super::Documents;
use crate::diag::{Code, Diagnostic, LineIndex};
use crate::spec::{Locator, Spec};

/// A `no-examples` hint for each tool without `examples`, a `no-tests` hint for each tool
/// without `tests` (an empty list counts as none), at the tool's `name`.
pub fn hints(documents: &Documents, sources: &HashMap<String, LineIndex>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for doc in documents.per_file.iter().flatten() {
        let Spec::Tool(spec) = &doc.spec else { continue };
        let Some(file) = documents.names.get(doc.file) else { continue };
        let Some(index) = sources.get(file) else { continue };
        let loc = Locator { file, index };
        let pos = doc.pointers.node("/name");
        if spec.examples.as_ref().is_none_or(Vec::is_empty) {
            out.push(
                loc.diag(Code::NoExamples, pos, format!("tool `{}` has no examples", spec.name))
                    .with_help("add `examples:` (arguments lint renders into a request; they show a model how to call the tool)"),
            );
        }
        if spec.tests.as_ref().is_none_or(Vec::is_empty) {
            out.push(
                loc.diag(Code::NoTests, pos, format!("tool `{}` has no tests", spec.name))
                    .with_help("add `tests:` (calls `toolwright test` runs, with `--record`/`--replay` for CI without credentials)"),
            );
        }
    }
    out
}
