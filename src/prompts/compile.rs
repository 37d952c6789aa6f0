//! Compiles `kind: prompt` documents: a unique name, the arguments (as a resource template's
//! `input`: a JSON Schema object of passable types, with completions), each message's one
//! source (a text template with text escaping, or a resource URI that names a resource of the
//! catalog), every variable read declared and every argument read.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::spec::{MessageSpec, PromptSpec, RoleSpec};
use super::{CompiledPrompt, Message, MessageBody, Role};
use crate::actions::Connections;
use crate::catalog::JsonObject;
use crate::catalog::template::Escape;
use crate::compile::Compiler;
use crate::compile::arguments::Declared;
use crate::compile::context::TemplateUse;
use crate::diag::Code;
use crate::resources::UriTemplate;
use crate::spec::yaml::{Pos, push_escaped};
use crate::spec::{Document, Spec};
use crate::util::is_template;

/// Compiles every prompt of `docs`, in document order (its messages may name the resources
/// that `docs` define).
pub(crate) fn compile_all(c: &mut Compiler<'_>, docs: &[&Document], conns: &Connections) -> Vec<Arc<CompiledPrompt>> {
    let known = Known::of(docs);
    let mut out = Vec::new();
    let mut names: HashMap<String, (usize, Pos)> = HashMap::new();
    for doc in docs {
        let Spec::Prompt(spec) = &doc.spec else { continue };
        if c.check_name(doc, &spec.name, "prompt") {
            let pos = doc.pointers.node("/name");
            match names.get(&spec.name) {
                Some(first) => c.duplicate(Code::DuplicatePromptName, "prompt", &spec.name, *first, (doc.file, pos)),
                None => {
                    names.insert(spec.name.clone(), (doc.file, pos));
                }
            }
        }
        if let Some(p) = prompt(c, doc, spec, conns, &known) {
            out.push(Arc::new(p));
        }
    }
    out
}

/// The schema of a prompt without `arguments`: no arguments.
fn no_arguments() -> JsonObject {
    let mut schema = JsonObject::new();
    schema.insert("type".to_owned(), Value::from("object"));
    schema
}

/// Compiles one prompt; `None` after an error (reported).
fn prompt(c: &mut Compiler<'_>, doc: &Document, spec: &PromptSpec, conns: &Connections, known: &Known) -> Option<CompiledPrompt> {
    let errors_before = c.diags.iter().filter(|d| d.is_error()).count();
    let schema = spec.arguments.clone().unwrap_or_else(no_arguments);
    let arguments = c.arguments(doc, "arguments", &schema, conns, &format!("prompt:{}", spec.name));
    let mut uses: Vec<TemplateUse> = Vec::new();
    let mut messages = Vec::with_capacity(spec.messages.len());
    for (i, m) in spec.messages.iter().enumerate() {
        if let Some(body) = message(c, doc, i, m, known, &mut uses) {
            let role = match m.role {
                RoleSpec::User => Role::User,
                RoleSpec::Assistant => Role::Assistant,
            };
            messages.push(Message { role, body });
        }
    }
    let declared = Declared { key: "arguments", schema: &schema, extra: &[], warn_optional: true };
    let (read, contexts) = c.check_reads(doc, &uses, &declared, "/messages");
    for (name, _) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        if !read.contains(name) {
            let mut ptr = "/arguments/properties/".to_owned();
            push_escaped(&mut ptr, name);
            c.push_key(doc, Code::UnusedInput, &ptr, format!("argument `{name}` is not read by any message")).help =
                Some("remove it, or use it in a message's `text` or `resource`".to_owned());
        }
    }
    let errors_after = c.diags.iter().filter(|d| d.is_error()).count();
    if errors_after > errors_before {
        return None;
    }
    let mut arguments = arguments?;
    arguments.contexts = contexts;
    let pos = doc.pointers.node("/name");
    Some(CompiledPrompt {
        name: spec.name.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        arguments,
        messages,
        source: format!("{}:{}", c.files[doc.file].name, pos.line),
    })
}

/// One message: exactly one of `text` (a template, text escaping) or `resource` (a URI of the
/// catalog; a template, each value percent-encoded as RFC 6570 expands a variable).
fn message(
    c: &mut Compiler<'_>,
    doc: &Document,
    i: usize,
    m: &MessageSpec,
    known: &Known,
    uses: &mut Vec<TemplateUse>,
) -> Option<MessageBody> {
    let base = format!("/messages/{i}");
    match (&m.text, &m.resource) {
        (Some(text), None) => c.template(doc, &format!("{base}/text"), text, Escape::Text, uses).map(MessageBody::Text),
        (None, Some(uri)) => {
            let pointer = format!("{base}/resource");
            let template = c.template(doc, &pointer, uri, Escape::Url, uses)?;
            if !is_template(uri) && !known.names(uri) {
                let d = c.push(
                    doc,
                    Code::UnknownResource,
                    &pointer,
                    format!("no resource has the URI `{uri}`, and no resource template matches it"),
                );
                d.help = Some(match crate::util::did_you_mean(uri, known.uris.iter().map(String::as_str)) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "define it in a `kind: resource` (or `resource_template`) document".to_owned(),
                });
                return None;
            }
            Some(MessageBody::Resource(template))
        }
        (None, None) => {
            c.push(doc, Code::ContentCount, &base, "a message needs `text` or `resource`");
            None
        }
        (Some(_), Some(_)) => {
            c.push_key(doc, Code::ContentCount, &format!("{base}/resource"), "a message holds `text` or `resource`, not both");
            None
        }
    }
}

/// The URIs of the catalog's resource documents and the templates of its resource template
/// documents (those with errors too: their errors are reported where they are).
struct Known {
    uris: Vec<String>,
    templates: Vec<UriTemplate>,
}

impl Known {
    fn of(docs: &[&Document]) -> Known {
        let mut known = Known { uris: Vec::new(), templates: Vec::new() };
        for doc in docs {
            match &doc.spec {
                Spec::Resource(r) => known.uris.push(r.uri.clone()),
                Spec::ResourceTemplate(t) => known.templates.extend(UriTemplate::parse(&t.uri_template).ok()),
                _ => {}
            }
        }
        known
    }

    /// Whether `uri` is a resource's, or one a resource template matches.
    fn names(&self, uri: &str) -> bool {
        self.uris.iter().any(|u| u == uri) || self.templates.iter().any(|t| t.matches(uri).is_some())
    }
}
