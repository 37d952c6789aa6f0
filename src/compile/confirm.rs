//! A tool's approval gate that asks for values (`confirm.fields`): each field held to what MCP
//! elicitation's `requestedSchema` allows, `fields` refused where it is not read (a step's or an
//! `on_fail`'s `confirm`), and every `confirm.<field>` a template reads checked against the
//! fields.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::Compiler;
use super::context::TemplateUse;
use crate::actions::ConfirmSpec;
use crate::catalog::{CONFIRM_VAR, Escape, JsonObject};
use crate::diag::Code;
use crate::spec::Document;
use crate::spec::yaml::push_escaped;
use crate::util::did_you_mean;

/// The formats elicitation allows on a string field.
const FORMATS: &[&str] = &["email", "uri", "date", "date-time"];
/// The keys every field may have.
const COMMON: &[&str] = &["type", "title", "description", "default"];

impl Compiler<'_> {
    /// A tool's `confirm.fields` and `required` as the elicitation's `requestedSchema`
    /// (`{type: object, properties, required}`): `Some(None)` without fields, `None` after a
    /// diagnostic.
    pub(crate) fn confirm_form(&mut self, doc: &Document, spec: &ConfirmSpec) -> Option<Option<JsonObject>> {
        let Some(fields) = &spec.fields else {
            if spec.required.is_some() {
                self.push_key(
                    doc,
                    Code::InvalidConfirmField,
                    "/confirm/required",
                    "`required` names fields, and this `confirm` has no `fields`",
                );
                return None;
            }
            return Some(None);
        };
        let mut problems: Vec<(String, String)> = Vec::new();
        if fields.is_empty() {
            problems.push((
                "/confirm/fields".to_owned(),
                "`fields` is empty; give at least one field, or leave `fields` out for a yes/no question".to_owned(),
            ));
        }
        for (name, schema) in fields {
            let mut base = "/confirm/fields/".to_owned();
            push_escaped(&mut base, name);
            if !is_identifier(name) {
                problems.push((base.clone(), format!("field name `{name}` is not an identifier (letters, digits and `_`, not starting with a digit): templates read it as `confirm.{name}`")));
            }
            field_problems(&base, schema, &mut problems);
        }
        let mut seen = BTreeSet::new();
        for (i, r) in spec.required.iter().flatten().enumerate() {
            if !fields.contains_key(r) {
                let near = did_you_mean(r, fields.keys().map(String::as_str)).map_or(String::new(), |n| format!("; did you mean `{n}`?"));
                problems.push((format!("/confirm/required/{i}"), format!("`required` names `{r}`, which is not one of `fields`{near}")));
            } else if !seen.insert(r.as_str()) {
                problems.push((format!("/confirm/required/{i}"), format!("`required` names `{r}` twice")));
            }
        }
        if !problems.is_empty() {
            for (pointer, message) in problems {
                self.push(doc, Code::InvalidConfirmField, &pointer, message).help = Some(
                    "a field is what MCP elicitation allows: string (minLength, maxLength, format, enum, enumNames, oneOf), number or \
                     integer (minimum, maximum), boolean, or an array of enum/anyOf options; each with title, description, default"
                        .to_owned(),
                );
            }
            return None;
        }
        let mut schema = JsonObject::new();
        schema.insert("type".to_owned(), json!("object"));
        schema.insert("properties".to_owned(), Value::Object(fields.clone()));
        if let Some(required) = &spec.required {
            schema.insert("required".to_owned(), json!(required));
        }
        if let Err(e) = crate::catalog::SchemaUse::Input.build(&Value::Object(schema.clone())) {
            self.push(doc, Code::InvalidConfirmField, "/confirm/fields", format!("the fields do not compile as a JSON Schema: {e}"));
            return None;
        }
        Some(Some(schema))
    }

    /// `fields` on a `confirm` inside the action (a step's, an `on_fail`'s): only a tool's gate
    /// asks for values, since only the tool's action is rendered after its answer.
    pub(crate) fn nested_confirm_fields(&mut self, doc: &Document) {
        fn walk(v: &Value, pointer: &str, found: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    for (k, child) in o {
                        let mut p = pointer.to_owned();
                        p.push('/');
                        push_escaped(&mut p, k);
                        if k == "confirm" {
                            for key in ["fields", "required"] {
                                if child.get(key).is_some() {
                                    found.push(format!("{p}/{key}"));
                                }
                            }
                        }
                        walk(child, &p, found);
                    }
                }
                Value::Array(a) => {
                    for (i, child) in a.iter().enumerate() {
                        walk(child, &format!("{pointer}/{i}"), found);
                    }
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        if let Some(action) = doc.json.get("action") {
            walk(action, "/action", &mut found);
        }
        for pointer in found {
            let key = pointer.rsplit('/').next().unwrap_or("fields").to_owned();
            self.push_key(doc, Code::InvalidConfirmField, &pointer, format!("`{key}` is read only on the tool's own `confirm`"))
                .help = Some(
                "a step's or an `on_fail`'s gate asks yes or no; move the fields to `confirm` on the tool, whose answers every template of \
                 the action reads as `confirm.<field>`"
                    .to_owned(),
            );
        }
    }

    /// What the templates of `uses` read of `confirm`: with `fields` (as written), each
    /// `confirm.<field>` must be a field and must not be read by the question itself; without,
    /// nothing may read `confirm`. Returns, for each field read, the contexts it lands in.
    pub(crate) fn confirm_reads(
        &mut self,
        doc: &Document,
        uses: &mut [TemplateUse],
        form: Option<&JsonObject>,
    ) -> Vec<(String, Vec<Escape>)> {
        let names: Vec<String> = form.map(|f| f.keys().cloned().collect()).unwrap_or_default();
        let mut contexts: BTreeMap<String, BTreeSet<Escape>> = BTreeMap::new();
        let mut reported: BTreeSet<String> = BTreeSet::new();
        let mut problems: Vec<(String, String, String)> = Vec::new();
        for u in uses.iter_mut() {
            if !u.vars.remove(CONFIRM_VAR) {
                continue;
            }
            let paths: Vec<String> = u.paths.iter().filter(|p| p.split('.').next() == Some(CONFIRM_VAR)).cloned().collect();
            u.paths.retain(|p| p.split('.').next() != Some(CONFIRM_VAR));
            let in_question = u.pointer.starts_with("/confirm/");
            for path in paths {
                let field = path.split('.').nth(1);
                let problem = if form.is_none() {
                    Some(format!("template reads `{path}`, but the tool's `confirm` has no `fields`: nothing was asked"))
                } else if in_question {
                    Some(format!("the question reads `{path}`, the answer it asks for; it is put before anything is answered"))
                } else {
                    match field {
                        None => Some(format!("template reads `{CONFIRM_VAR}` as a whole; read one field as `{CONFIRM_VAR}.<field>`")),
                        Some(f) if !names.iter().any(|n| n == f) => {
                            let near = did_you_mean(f, names.iter().map(String::as_str))
                                .map_or(String::new(), |n| format!("; did you mean `{n}`?"));
                            Some(format!("template reads `{CONFIRM_VAR}.{f}`, which is not one of `confirm.fields`{near}"))
                        }
                        Some(f) => {
                            contexts.entry(f.to_owned()).or_default().insert(u.ctx);
                            None
                        }
                    }
                };
                if let Some(message) = problem
                    && reported.insert(format!("{}|{path}", u.pointer))
                {
                    problems.push((u.pointer.clone(), path.clone(), message));
                }
            }
        }
        for (pointer, path, message) in problems {
            let pos = self.find_var(doc, &pointer, &path);
            let help = if form.is_none() {
                "give the tool's `confirm` the `fields` the user fills in, or read an argument instead"
            } else {
                "a template of the gated action reads `confirm.<field>` for a field of `confirm.fields`"
            };
            let d = self.loc(doc.file).diag(Code::UnknownConfirmField, pos, message).with_help(help.to_owned());
            self.diags.push(d);
        }
        contexts.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect()
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What is wrong with one field's schema, as (JSON pointer, message).
fn field_problems(base: &str, schema: &Value, out: &mut Vec<(String, String)>) {
    let Some(obj) = schema.as_object() else {
        out.push((base.to_owned(), "a field is a schema object such as `{type: string}`".to_owned()));
        return;
    };
    let at = |k: &str| format!("{base}/{k}");
    let ty = obj.get("type").and_then(Value::as_str);
    let allowed: &[&str] = match ty {
        Some("string") => &["minLength", "maxLength", "format", "enum", "enumNames", "oneOf"],
        Some("number" | "integer") => &["minimum", "maximum"],
        Some("boolean") => &[],
        Some("array") => &["items", "minItems", "maxItems"],
        _ => {
            out.push((
                if obj.contains_key("type") { at("type") } else { base.to_owned() },
                "a field's `type` is one of `string`, `number`, `integer`, `boolean` or `array` (a multi-select)".to_owned(),
            ));
            return;
        }
    };
    let ty = ty.unwrap_or_default();
    for k in obj.keys() {
        if !COMMON.contains(&k.as_str()) && !allowed.contains(&k.as_str()) {
            let mut valid: Vec<&str> = COMMON.iter().chain(allowed).copied().collect();
            valid.sort_unstable();
            out.push((at(k), format!("a `{ty}` field takes no `{k}` in an elicitation form; it takes {}", valid.join(", "))));
        }
    }
    for k in ["title", "description"] {
        if obj.get(k).is_some_and(|v| !v.is_string()) {
            out.push((at(k), format!("`{k}` is a string")));
        }
    }
    let count = |k: &str, out: &mut Vec<(String, String)>| match obj.get(k) {
        Some(v) if !v.is_u64() => {
            out.push((at(k), format!("`{k}` is a whole number, 0 or more")));
            None
        }
        v => v.and_then(Value::as_u64),
    };
    let default = obj.get("default");
    match ty {
        "string" => {
            let (min, max) = (count("minLength", out), count("maxLength", out));
            if let (Some(a), Some(b)) = (min, max)
                && a > b
            {
                out.push((at("minLength"), format!("`minLength` ({a}) is more than `maxLength` ({b})")));
            }
            if let Some(f) = obj.get("format")
                && !f.as_str().is_some_and(|f| FORMATS.contains(&f))
            {
                out.push((at("format"), format!("`format` is one of {}", FORMATS.join(", "))));
            }
            let options = string_options(base, obj, out);
            if obj.contains_key("enumNames") {
                match (obj.get("enumNames").and_then(Value::as_array), obj.get("enum").and_then(Value::as_array)) {
                    (Some(names), Some(values)) if names.len() == values.len() && names.iter().all(Value::is_string) => {}
                    (_, None) => out.push((at("enumNames"), "`enumNames` titles the values of `enum`, and there is no `enum`".to_owned())),
                    _ => out.push((at("enumNames"), "`enumNames` is a list of strings, one per value of `enum`".to_owned())),
                }
            }
            match default {
                Some(Value::String(d)) => {
                    let known = options.as_ref().is_none_or(|o| o.contains(d));
                    if !known {
                        out.push((at("default"), format!("`default` `{d}` is not one of the options")));
                    }
                }
                Some(_) => out.push((at("default"), "a `string` field's `default` is a string".to_owned())),
                None => {}
            }
        }
        "number" | "integer" => {
            let ok = |v: &Value| if ty == "integer" { v.is_i64() || v.is_u64() } else { v.is_number() };
            for k in ["minimum", "maximum", "default"] {
                if obj.get(k).is_some_and(|v| !ok(v)) {
                    out.push((
                        at(k),
                        format!("`{k}` of an `{ty}` field is {}", if ty == "integer" { "a whole number" } else { "a number" }),
                    ));
                }
            }
            let num = |k: &str| obj.get(k).and_then(Value::as_f64);
            if let (Some(a), Some(b)) = (num("minimum"), num("maximum"))
                && a > b
            {
                out.push((at("minimum"), format!("`minimum` ({a}) is more than `maximum` ({b})")));
            }
            if let Some(d) = num("default")
                && (num("minimum").is_some_and(|m| d < m) || num("maximum").is_some_and(|m| d > m))
            {
                out.push((at("default"), "`default` is outside `minimum`..`maximum`".to_owned()));
            }
        }
        "boolean" => {
            if default.is_some_and(|d| !d.is_boolean()) {
                out.push((at("default"), "a `boolean` field's `default` is true or false".to_owned()));
            }
        }
        _ => {
            let (min, max) = (count("minItems", out), count("maxItems", out));
            if let (Some(a), Some(b)) = (min, max)
                && a > b
            {
                out.push((at("minItems"), format!("`minItems` ({a}) is more than `maxItems` ({b})")));
            }
            let options = match obj.get("items").and_then(Value::as_object) {
                None => {
                    out.push((
                        if obj.contains_key("items") { at("items") } else { base.to_owned() },
                        "a multi-select `array` field needs `items`: `{type: string, enum: [...]}` or `{anyOf: [{const, title}, ...]}`"
                            .to_owned(),
                    ));
                    None
                }
                Some(items) => {
                    let items_base = at("items");
                    let keys: BTreeSet<&str> = items.keys().map(String::as_str).collect();
                    let untitled: BTreeSet<&str> = ["type", "enum"].into_iter().collect();
                    if keys == untitled && items.get("type").and_then(Value::as_str) == Some("string") {
                        string_options(&items_base, items, out)
                    } else if keys == ["anyOf"].into_iter().collect() {
                        titled_options(&format!("{items_base}/anyOf"), items.get("anyOf"), out)
                    } else {
                        out.push((items_base, "`items` is `{type: string, enum: [...]}` or `{anyOf: [{const, title}, ...]}`".to_owned()));
                        None
                    }
                }
            };
            match default {
                Some(Value::Array(d)) => {
                    for v in d {
                        let known = v.as_str().is_some_and(|s| options.as_ref().is_none_or(|o| o.iter().any(|x| x == s)));
                        if !known {
                            out.push((at("default"), format!("`default` holds {v}, which is not one of the options")));
                        }
                    }
                }
                Some(_) => out.push((at("default"), "an `array` field's `default` is a list of its options".to_owned())),
                None => {}
            }
        }
    }
}

/// The options of a string field (`enum` or `oneOf`), checked; `None` when it has none.
fn string_options(base: &str, obj: &JsonObject, out: &mut Vec<(String, String)>) -> Option<Vec<String>> {
    match (obj.get("enum"), obj.get("oneOf")) {
        (Some(_), Some(_)) => {
            out.push((
                format!("{base}/oneOf"),
                "give the options once: `enum` (with `enumNames` titles) or `oneOf` of `{const, title}`".to_owned(),
            ));
            None
        }
        (Some(e), None) => match e.as_array() {
            Some(values) if !values.is_empty() && values.iter().all(Value::is_string) => {
                Some(values.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            }
            _ => {
                out.push((format!("{base}/enum"), "`enum` is a non-empty list of strings".to_owned()));
                None
            }
        },
        (None, Some(o)) => titled_options(&format!("{base}/oneOf"), Some(o), out),
        (None, None) => None,
    }
}

/// Options written as `[{const, title}, ...]`, checked.
fn titled_options(pointer: &str, v: Option<&Value>, out: &mut Vec<(String, String)>) -> Option<Vec<String>> {
    let list = v.and_then(Value::as_array).filter(|l| !l.is_empty());
    let good = list.is_some_and(|l| {
        l.iter().all(|o| {
            o.as_object().is_some_and(|o| {
                o.len() == 2 && o.get("const").is_some_and(Value::is_string) && o.get("title").is_some_and(Value::is_string)
            })
        })
    });
    if !good {
        out.push((pointer.to_owned(), "options are a non-empty list of `{const: VALUE, title: TEXT}` (both strings)".to_owned()));
        return None;
    }
    list.map(|l| l.iter().filter_map(|o| o.get("const").and_then(Value::as_str)).map(str::to_owned).collect())
}
