//! Checks of a tool's `input` and `output.schema` (and of the arguments schemas of prompts and
//! resource templates): valid JSON Schema 2020-12, an object at the root, `required` names
//! declared properties, defaults valid for their property.

use serde_json::Value;

use super::Compiler;
use crate::catalog::{JsonObject, SchemaUse};
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::yaml::push_escaped;
use crate::util::did_you_mean;

impl Compiler<'_> {
    pub(crate) fn input_schema(&mut self, doc: &Document, input: &JsonObject) -> Option<jsonschema::Validator> {
        self.arguments_schema(doc, "input", input)
    }

    /// The checks of [`Compiler::input_schema`] on the arguments schema at the document's key
    /// `key` (a tool's or resource template's `input`, a prompt's `arguments`).
    pub(crate) fn arguments_schema(&mut self, doc: &Document, key: &str, input: &JsonObject) -> Option<jsonschema::Validator> {
        let schema = Value::Object(input.clone());
        let mut ok = true;
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            let p = format!("/{key}{}", e.instance_path().as_str());
            self.push(doc, Code::InvalidInputSchema, &p, format!("`{key}` is not a valid JSON Schema: {e}"));
            return None;
        }
        if input.get("type").and_then(Value::as_str) != Some("object") {
            let p = if input.contains_key("type") { format!("/{key}/type") } else { format!("/{key}") };
            let what = if key == "input" && matches!(doc.spec, crate::spec::Spec::Tool(_)) { "tool arguments" } else { "arguments" };
            self.push(doc, Code::InputNotObject, &p, format!("the root of `{key}` must be `type: object`")).help =
                Some(format!("{what} are an object: `type: object` with `properties`"));
            ok = false;
        }
        let props = input.get("properties").and_then(Value::as_object);
        if let Some(req) = input.get("required").and_then(Value::as_array) {
            for (i, r) in req.iter().enumerate() {
                if let Some(name) = r.as_str()
                    && !props.is_some_and(|p| p.contains_key(name))
                {
                    let near = props.and_then(|p| did_you_mean(name, p.keys().map(String::as_str))).map(str::to_owned);
                    let d = self.push(
                        doc,
                        Code::RequiredNotDeclared,
                        &format!("/{key}/required/{i}"),
                        format!("`required` names `{name}`, which `properties` does not declare"),
                    );
                    if let Some(n) = near {
                        d.help = Some(format!("did you mean `{n}`?"));
                    }
                    ok = false;
                }
            }
        }
        let validator = match SchemaUse::Input.build(&schema) {
            Ok(v) => v,
            Err(e) => {
                let p = format!("/{key}{}", e.instance_path().as_str());
                self.push(doc, Code::InvalidInputSchema, &p, format!("`{key}` does not compile: {e}"));
                return None;
            }
        };
        if let Some(props) = props {
            let defaults: JsonObject = props.iter().filter_map(|(k, v)| v.get("default").map(|d| (k.clone(), d.clone()))).collect();
            if !defaults.is_empty() {
                let instance = Value::Object(defaults.clone());
                for err in validator.iter_errors(&instance) {
                    let path = err.instance_path().as_str().to_owned();
                    let Some(arg) = path.split('/').nth(1) else { continue };
                    let arg = arg.replace("~1", "/").replace("~0", "~");
                    if !defaults.contains_key(&arg) {
                        continue;
                    }
                    let mut p = format!("/{key}/properties/");
                    push_escaped(&mut p, &arg);
                    p.push_str("/default");
                    self.push(doc, Code::InvalidDefault, &p, format!("the default of `{arg}` is not valid for it: {err}"));
                    ok = false;
                }
            }
        }
        ok.then_some(validator)
    }

    pub(crate) fn output_schema(&mut self, doc: &Document, schema: &JsonObject) -> Option<jsonschema::Validator> {
        let value = Value::Object(schema.clone());
        if let Err(e) = jsonschema::draft202012::meta::validate(&value) {
            let p = format!("/output/schema{}", e.instance_path().as_str());
            self.push(doc, Code::InvalidOutputSchema, &p, format!("`output.schema` is not a valid JSON Schema: {e}"));
            return None;
        }
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            self.push(
                doc,
                Code::InvalidOutputSchema,
                "/output/schema",
                "the root of `output.schema` must be `type: object` (MCP outputSchema)",
            );
            return None;
        }
        match SchemaUse::Output.build(&value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(doc, Code::InvalidOutputSchema, "/output/schema", format!("`output.schema` does not compile: {e}"));
                None
            }
        }
    }
}
