//! Compiles `kind: prompt` documents: a unique name, the arguments (as a resource template's
//! `input`: a JSON Schema object of passable types, with completions), each message's one
//! source (a text template with text escaping, or a resource URI that names a resource of the
//! catalog), every variable read declared and every argument read.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::spec::{MessageSpec, PromptSpec, RoleSpec};
use super::{Binary, CompiledPrompt, Message, MessageBody, Role};
use crate::actions::Connections;
use crate::catalog::JsonObject;
use crate::catalog::template::Escape;
use crate::compile::Compiler;
use crate::compile::arguments::Declared;
use crate::compile::context::TemplateUse;
use crate::diag::Code;
use crate::resources::UriTemplate;
use crate::resources::compile::ReadFile;
use crate::spec::yaml::{Pos, push_escaped};
use crate::spec::{Document, Spec};
use crate::util::is_template;

/// Compiles every prompt of `docs`, in document order (its messages may name the resources
/// that `docs` define).
/// The image and audio files its messages read are added to `files` (the catalog's hash covers them).
pub(crate) fn compile_all(
    c: &mut Compiler<'_>,
    docs: &[&Document],
    conns: &Connections,
    files: &mut Vec<ReadFile>,
) -> Vec<Arc<CompiledPrompt>> {
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
        if let Some(p) = prompt(c, doc, spec, conns, &known, files) {
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
fn prompt(
    c: &mut Compiler<'_>,
    doc: &Document,
    spec: &PromptSpec,
    conns: &Connections,
    known: &Known,
    files: &mut Vec<ReadFile>,
) -> Option<CompiledPrompt> {
    let errors_before = c.diags.iter().filter(|d| d.is_error()).count();
    let schema = spec.arguments.clone().unwrap_or_else(no_arguments);
    let arguments = c.arguments(doc, "arguments", &schema, conns, &format!("prompt:{}", spec.name));
    let mut uses: Vec<TemplateUse> = Vec::new();
    let mut messages = Vec::with_capacity(spec.messages.len());
    for (i, m) in spec.messages.iter().enumerate() {
        if let Some(body) = message(c, doc, i, m, known, &mut uses, files) {
            if let (MessageBody::Resource(_), Some(uri)) = (&body, &m.resource) {
                embedded_scopes(c, doc, i, uri, spec, known);
            }
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
        scopes: spec.auth.as_ref().map(|a| a.scopes.clone()).unwrap_or_default(),
        source: format!("{}:{}", c.files[doc.file].name, pos.line),
    })
}

/// One message: exactly one of `text` (a template, text escaping), `resource` (a URI of the
/// catalog; a template, each value percent-encoded as RFC 6570 expands a variable), `image` or
/// `audio` (a file under the spec's directory, read now; its media type from `mime_type` or
/// its extension).
fn message(
    c: &mut Compiler<'_>,
    doc: &Document,
    i: usize,
    m: &MessageSpec,
    known: &Known,
    uses: &mut Vec<TemplateUse>,
    files: &mut Vec<ReadFile>,
) -> Option<MessageBody> {
    let base = format!("/messages/{i}");
    let given: Vec<&str> =
        [("text", m.text.is_some()), ("resource", m.resource.is_some()), ("image", m.image.is_some()), ("audio", m.audio.is_some())]
            .iter()
            .filter(|(_, set)| *set)
            .map(|(k, _)| *k)
            .collect();
    if given.len() > 1 {
        c.push_key(
            doc,
            Code::ContentCount,
            &format!("{base}/{}", given[1]),
            format!(
                "a message holds one of `text`, `resource`, `image` or `audio`; this one holds {}",
                given.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
            ),
        );
        return None;
    }
    if m.mime_type.is_some() && m.image.is_none() && m.audio.is_none() {
        c.push_key(doc, Code::InvalidValue, &format!("{base}/mime_type"), "`mime_type` goes with a message's `image` or `audio`").help =
            Some("remove it: a text message is text, and an embedded resource has its resource's type".to_owned());
        return None;
    }
    match (&m.text, &m.resource, &m.image, &m.audio) {
        (Some(text), ..) => c.template(doc, &format!("{base}/text"), text, Escape::Text, uses).map(MessageBody::Text),
        (_, Some(uri), ..) => {
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
        (_, _, Some(file), _) => media(c, doc, &base, "image", file, m.mime_type.as_deref(), files).map(MessageBody::Image),
        (_, _, _, Some(file)) => media(c, doc, &base, "audio", file, m.mime_type.as_deref(), files).map(MessageBody::Audio),
        (None, None, None, None) => {
            c.push(doc, Code::ContentCount, &base, "a message needs `text`, `resource`, `image` or `audio`");
            None
        }
    }
}

/// `embedded-scopes`: a literal URI a message embeds that the prompt's scopes cannot read.
fn embedded_scopes(c: &mut Compiler<'_>, doc: &Document, i: usize, uri: &str, spec: &PromptSpec, known: &Known) {
    if is_template(uri) {
        return;
    }
    let scopes: &[String] = spec.auth.as_ref().map_or(&[], |a| a.scopes.as_slice());
    let missing: Vec<String> = known.missing_scopes(uri, scopes).iter().map(|s| format!("`{s}`")).collect();
    if missing.is_empty() {
        return;
    }
    c.push(
        doc,
        Code::EmbeddedScopes,
        &format!("/messages/{i}/resource"),
        format!(
            "`{uri}` needs the scope{} {}, which the prompt does not: a caller who sees the prompt without {} gets a not-found error",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" },
        ),
    )
    .help = Some("give the prompt the same scopes (`auth: {scopes: [...]}`), or the resource fewer".to_owned());
}

/// A message's `image` or `audio` (`key`): the file read under the spec's directory, and its
/// media type, `mime_type` or the one its extension suggests, which must be of that kind
/// (`image/...` or `audio/...`).
fn media(
    c: &mut Compiler<'_>,
    doc: &Document,
    base: &str,
    key: &str,
    file: &str,
    mime_type: Option<&str>,
    files: &mut Vec<ReadFile>,
) -> Option<Binary> {
    let prefix = format!("{key}/");
    let examples =
        if key == "image" { "`image/png`, `image/jpeg`, `image/gif` or `image/webp`" } else { "`audio/wav`, `audio/mpeg` or `audio/ogg`" };
    let mime = match mime_type {
        Some(m) if m.to_ascii_lowercase().starts_with(&prefix) && m.len() > prefix.len() => Some(m.to_ascii_lowercase()),
        Some(m) => {
            c.push(doc, Code::InvalidValue, &format!("{base}/mime_type"), format!("`mime_type` `{m}` is not an {key} type")).help =
                Some(format!("an `{key}` message's type starts with `{prefix}`, such as {examples}"));
            return None;
        }
        None => match mime_guess::from_path(file).first() {
            Some(m) if m.type_() == key => Some(m.essence_str().to_owned()),
            guessed => {
                let what = guessed.map(|m| format!(" (its extension suggests `{}`)", m.essence_str())).unwrap_or_default();
                c.push(
                    doc,
                    Code::InvalidValue,
                    &format!("{base}/{key}"),
                    format!("the {key} type of `{file}` cannot be told from its name{what}"),
                )
                .help = Some(format!("give `mime_type`, such as {examples}, or name the file by its type"));
                None
            }
        },
    };
    let data = crate::resources::compile::read_spec_file(
        c,
        doc,
        &format!("{base}/{key}"),
        file,
        &format!("use a smaller {key} (or raise TOOLWRIGHT_MAX_SPEC_BYTES)"),
    )?;
    files.push((crate::resources::compile::file_name(c, doc, file), data.clone()));
    Some(Binary { mime_type: mime?, data })
}

/// The URIs of the catalog's resource documents and the templates of its resource template
/// documents (those with errors too: their errors are reported where they are).
struct Known {
    uris: Vec<String>,
    templates: Vec<UriTemplate>,
    /// The `auth.scopes` of each resource (by URI) and template (in `templates`' order).
    uri_scopes: Vec<Vec<String>>,
    template_scopes: Vec<Vec<String>>,
}

impl Known {
    fn of(docs: &[&Document]) -> Known {
        let mut known = Known { uris: Vec::new(), templates: Vec::new(), uri_scopes: Vec::new(), template_scopes: Vec::new() };
        let scopes = |auth: &Option<crate::spec::model::AuthSpec>| auth.as_ref().map(|a| a.scopes.clone()).unwrap_or_default();
        for doc in docs {
            match &doc.spec {
                Spec::Resource(r) => {
                    known.uris.push(r.uri.clone());
                    known.uri_scopes.push(scopes(&r.auth));
                }
                Spec::ResourceTemplate(t) => {
                    if let Ok(parsed) = UriTemplate::parse(&t.uri_template) {
                        known.templates.push(parsed);
                        known.template_scopes.push(scopes(&t.auth));
                    }
                }
                _ => {}
            }
        }
        known
    }

    /// The scopes beyond `granted` that a read of the literal `uri` needs: none when its
    /// resource, or a template that matches it, needs no other (a read falls through a resource
    /// the caller may not see to the templates it may), else those its resource (or the first
    /// matching template) lacks.
    fn missing_scopes(&self, uri: &str, granted: &[String]) -> Vec<String> {
        let resource = self.uris.iter().position(|u| u == uri).and_then(|i| self.uri_scopes.get(i));
        let templates = self.templates.iter().zip(&self.template_scopes).filter(|(t, _)| t.matches(uri).is_some()).map(|(_, s)| s);
        let mut first = None;
        for needed in resource.into_iter().chain(templates) {
            let missing: Vec<String> = needed.iter().filter(|s| !granted.contains(s)).cloned().collect();
            if missing.is_empty() {
                return Vec::new();
            }
            first.get_or_insert(missing);
        }
        first.unwrap_or_default()
    }

    /// Whether `uri` is a resource's, or one a resource template matches.
    fn names(&self, uri: &str) -> bool {
        self.uris.iter().any(|u| u == uri) || self.templates.iter().any(|t| t.matches(uri).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_embedded_uri_is_readable_through_any_source_the_prompts_scopes_reach() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
        let known = Known {
            uris: s(&["inc://current", "inc://open"]),
            uri_scopes: vec![s(&["inc:read"]), Vec::new()],
            templates: vec![UriTemplate::parse("inc://{id}").expect("template"), UriTemplate::parse("inc://{id}/log").expect("template")],
            template_scopes: vec![s(&["inc:read", "inc:admin"]), s(&["inc:read"])],
        };
        // The resource needs a scope; the template that also matches needs more: the resource's is reported.
        assert_eq!(known.missing_scopes("inc://current", &[]), s(&["inc:read"]));
        assert_eq!(known.missing_scopes("inc://current", &s(&["inc:read"])), Vec::<String>::new());
        // An open resource needs nothing, whatever the templates need.
        assert_eq!(known.missing_scopes("inc://open", &[]), Vec::<String>::new());
        // Only templates match: the first one's missing scopes.
        assert_eq!(known.missing_scopes("inc://7", &s(&["inc:read"])), s(&["inc:admin"]));
        assert_eq!(known.missing_scopes("inc://7/log", &s(&["inc:read"])), Vec::<String>::new());
    }
}
