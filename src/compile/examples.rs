//! A tool's `examples`: each one's arguments are checked against `input` and prepared as a
//! call would prepare them; once the catalog exists, each is rendered (nothing is sent).

use serde_json::Value;

use super::Compiler;
use crate::catalog::{ArgError, Catalog, CompiledTool, JsonObject, SecretMode};
use crate::diag::{Code, Diagnostic, LineIndex};
use crate::spec::model::ToolSpec;
use crate::spec::yaml::push_escaped;
use crate::spec::{Document, Locator};

/// One example's arguments, prepared by the tool's compile: `None` when they do not match
/// `input` (already reported), else what preparing them as a call gives.
pub(crate) type ExampleArgs = Option<Result<JsonObject, ArgError>>;

/// Renders each example whose arguments were prepared (see `Compiler::example_args`):
/// rendering needs the whole catalog's templates and connections.
pub(crate) fn render_examples(
    catalog: &Catalog,
    tool: &CompiledTool,
    doc: &Document,
    examples: &[ExampleArgs],
    file: &str,
    index: &LineIndex,
    diags: &mut Vec<Diagnostic>,
) {
    let loc = Locator { file, index };
    for (i, prepared) in examples.iter().enumerate() {
        let Some(prepared) = prepared else { continue };
        let base = format!("/examples/{i}/args");
        let result = prepared
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|args| crate::actions::render(catalog, tool, args, std::time::SystemTime::now(), SecretMode::Placeholder));
        if let Err(e) = result {
            let pos = match &e.argument {
                Some(a) => {
                    let mut p = base.clone();
                    p.push('/');
                    push_escaped(&mut p, a);
                    doc.pointers.node(&p)
                }
                None => doc.pointers.node(&format!("/examples/{i}")),
            };
            diags.push(loc.diag(Code::ExampleRenderFailed, pos, format!("example {} does not render: {}", i + 1, e.message)));
        }
    }
}

impl Compiler<'_> {
    /// Checks each example's arguments against the tool's `input` (the validator the compile
    /// built), and prepares the arguments of those that match as a call would (defaults,
    /// the same check again, the contexts each lands in); the catalog renders them once it
    /// exists. `None` for an example whose arguments do not match.
    pub(crate) fn example_args(
        &mut self,
        doc: &Document,
        spec: &ToolSpec,
        tool: &CompiledTool,
        validator: &jsonschema::Validator,
    ) -> Vec<ExampleArgs> {
        let mut out = Vec::new();
        for (i, example) in spec.examples.iter().flatten().enumerate() {
            let base = format!("/examples/{i}/args");
            let instance = Value::Object(example.args.clone());
            let mut ok = true;
            for err in validator.iter_errors(&instance) {
                ok = false;
                let path = format!("{base}{}", err.instance_path().as_str());
                if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } = err.kind() {
                    for name in unexpected {
                        let mut p = path.clone();
                        p.push('/');
                        push_escaped(&mut p, name);
                        self.push_key(
                            doc,
                            Code::ExampleInvalidArgs,
                            &p,
                            format!("example {} passes `{name}`, which `input` does not declare", i + 1),
                        );
                    }
                    continue;
                }
                self.push(doc, Code::ExampleInvalidArgs, &path, format!("example {} does not match `input`: {err}", i + 1));
            }
            out.push(ok.then(|| tool.prepare_args_with(validator, Some(&example.args))));
        }
        out
    }
}
