//! Compiles `kind: resource` and `kind: resource_template` documents: names and URIs unique,
//! URIs that parse, a resource's one source of contents (`text`, a `file` under the spec's
//! directory read now, or an `action` compiled as a tool no client sees), a template's RFC
//! 6570 level 1 URI whose every variable `input` declares, and its action.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::spec::{ResourceSpec, ResourceTemplateSpec};
use super::{Body, CompiledResource, CompiledResourceTemplate, UriTemplate};
use crate::actions::{ActionSpec, Connections, KINDS};
use crate::catalog::template;
use crate::catalog::{CompiledTool, JsonObject};
use crate::compile::Compiler;
use crate::compile::arguments::Declared;
use crate::compile::context::TemplateUse;
use crate::compile::tools::{DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, one_of};
use crate::diag::Code;
use crate::spec::yaml::{Pos, push_escaped};
use crate::spec::{Document, Spec};

/// The resources and resource templates of a catalog, and the files they read (whose contents
/// are part of the catalog's hash, so that a reload sees an edited file).
#[derive(Default)]
pub(crate) struct Compiled {
    pub(crate) resources: Vec<Arc<CompiledResource>>,
    pub(crate) templates: Vec<Arc<CompiledResourceTemplate>>,
    /// Each `file` read.
    pub(crate) files: Vec<ReadFile>,
}

/// A resource's `file` as read: its path as diagnostics show it, and its contents.
pub(crate) type ReadFile = (String, Arc<[u8]>);

/// Compiles every resource and resource template of `docs`, in document order.
pub(crate) fn compile_all(c: &mut Compiler<'_>, docs: &[&Document], conns: &Connections) -> Compiled {
    let mut out = Compiled::default();
    let mut names: HashMap<String, (usize, Pos)> = HashMap::new();
    let mut template_names: HashMap<String, (usize, Pos)> = HashMap::new();
    // URIs and template shapes (`deps://{}`), which cannot collide: a resource URI holds no braces.
    let mut uris: HashMap<String, (usize, Pos, String)> = HashMap::new();
    for doc in docs {
        match &doc.spec {
            Spec::Resource(spec) => {
                unique_name(c, doc, &spec.name, "resource", &mut names);
                if check_uri(c, doc, &spec.uri) {
                    unique_uri(c, doc, "/uri", spec.uri.clone(), &spec.uri, &mut uris);
                }
                if let Some((resource, file)) = resource(c, doc, spec, conns) {
                    out.resources.push(Arc::new(resource));
                    out.files.extend(file);
                }
            }
            Spec::ResourceTemplate(spec) => {
                unique_name(c, doc, &spec.name, "resource template", &mut template_names);
                let parsed = parse_template(c, doc, &spec.uri_template);
                if let Some(t) = &parsed {
                    unique_uri(c, doc, "/uri_template", t.shape().to_owned(), &spec.uri_template, &mut uris);
                }
                if let Some(t) = resource_template(c, doc, spec, parsed, conns) {
                    out.templates.push(Arc::new(t));
                }
            }
            _ => {}
        }
    }
    out
}

/// Checks a resource or template name and that no other of its kind has it.
fn unique_name(c: &mut Compiler<'_>, doc: &Document, name: &str, what: &str, seen: &mut HashMap<String, (usize, Pos)>) {
    if !c.check_name(doc, name, what) {
        return;
    }
    let pos = doc.pointers.node("/name");
    match seen.get(name) {
        Some(first) => c.duplicate(Code::DuplicateResourceName, what, name, *first, (doc.file, pos)),
        None => {
            seen.insert(name.to_owned(), (doc.file, pos));
        }
    }
}

/// Reports a URI (or a template's shape) that another resource (or template) has already;
/// `shown` is the URI or template as written.
fn unique_uri(
    c: &mut Compiler<'_>,
    doc: &Document,
    pointer: &str,
    key: String,
    shown: &str,
    seen: &mut HashMap<String, (usize, Pos, String)>,
) {
    let pos = doc.pointers.node(pointer);
    if let Some((file, first, first_shown)) = seen.get(&key) {
        let here = c.place(doc.file, pos);
        let there = c.place(*file, *first);
        let (second, first_msg) = if shown == first_shown {
            (format!("duplicate URI `{shown}`; first defined at {there}"), format!("URI `{shown}` is defined again at {here}"))
        } else {
            (
                format!("URI template `{shown}` matches the same URIs as `{first_shown}` at {there}"),
                format!("URI template `{first_shown}` matches the same URIs as `{shown}` at {here}"),
            )
        };
        let d2 = c.loc(doc.file).diag(Code::DuplicateUri, pos, second);
        let d1 = c.loc(*file).diag(Code::DuplicateUri, *first, first_msg);
        c.diags.push(d2);
        c.diags.push(d1);
    } else {
        seen.insert(key, (doc.file, pos, shown.to_owned()));
    }
}

/// A resource's URI: no template braces, and a URI with a scheme.
fn check_uri(c: &mut Compiler<'_>, doc: &Document, uri: &str) -> bool {
    if uri.contains(['{', '}']) {
        c.push(doc, Code::InvalidUrl, "/uri", format!("resource `uri` `{uri}` holds `{{` or `}}`")).help =
            Some("a URI with variables is a `kind: resource_template` with `uri_template` and `input`".to_owned());
        return false;
    }
    if let Err(e) = url::Url::parse(uri) {
        c.push(doc, Code::InvalidUrl, "/uri", format!("resource `uri` `{uri}` is not a URI: {e}")).help =
            Some("a URI starts with a scheme, such as `runbook://checkout` or `file:///etc/motd`".to_owned());
        return false;
    }
    true
}

/// A template's `uri_template`: level 1, and a URI once its variables are filled.
fn parse_template(c: &mut Compiler<'_>, doc: &Document, source: &str) -> Option<UriTemplate> {
    match UriTemplate::parse(source) {
        Ok(t) => {
            if let Err(e) = url::Url::parse(&t.example()) {
                c.push(doc, Code::InvalidUriTemplate, "/uri_template", format!("`{source}` does not make a URI: {e}")).help =
                    Some("a URI starts with a scheme, such as `deps://{service}`".to_owned());
                return None;
            }
            Some(t)
        }
        Err(e) => {
            let pos = c.offset_pos(doc, "/uri_template", source, e.offset);
            let d = c.loc(doc.file).diag(
                Code::InvalidUriTemplate,
                pos,
                format!("`uri_template` is not an RFC 6570 level 1 template: {}", e.message),
            );
            c.diags.push(d);
            None
        }
    }
}

/// Compiles one resource; `None` after an error (reported). With it, the file it read.
fn resource(
    c: &mut Compiler<'_>,
    doc: &Document,
    spec: &ResourceSpec,
    conns: &Connections,
) -> Option<(CompiledResource, Option<ReadFile>)> {
    let errors_before = c.diags.iter().filter(|d| d.is_error()).count();
    let given: Vec<&str> = [("text", spec.text.is_some()), ("file", spec.file.is_some()), ("action", spec.action.is_some())]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| *k)
        .collect();
    let mut read = None;
    let mut mime_type = spec.mime_type.clone();
    let body = match (given.as_slice(), &spec.text, &spec.file, &spec.action) {
        ([_], Some(text), _, _) => Some(Body::Text(Arc::from(text.as_str()))),
        ([_], _, Some(file), _) => resource_file(c, doc, file).map(|(body, guessed, bytes)| {
            mime_type = mime_type.take().or(guessed);
            read = Some((file_name(c, doc, file), bytes));
            body
        }),
        ([_], _, _, Some(action)) => resource_action(c, doc, spec, action, conns).map(|tool| Body::Action(Arc::new(tool))),
        ([], ..) => {
            c.push(doc, Code::ContentCount, "", "a resource needs its contents: one of `text`, `file` or `action`");
            None
        }
        _ => {
            let second = given[1];
            c.push_key(
                doc,
                Code::ContentCount,
                &format!("/{second}"),
                format!(
                    "a resource holds one of `text`, `file` or `action`; this one holds {}",
                    given.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
                ),
            );
            None
        }
    };
    if spec.action.is_none() {
        for key in ["timeout", "max_bytes"] {
            if doc.json.get(key).is_some() {
                c.push_key(
                    doc,
                    Code::InvalidValue,
                    &format!("/{key}"),
                    format!("`{key}` applies to a resource read through an `action`; this one has none"),
                );
            }
        }
    }
    let errors_after = c.diags.iter().filter(|d| d.is_error()).count();
    if errors_after > errors_before {
        return None;
    }
    let pos = doc.pointers.node("/name");
    let resource = CompiledResource {
        uri: spec.uri.clone(),
        name: spec.name.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        mime_type,
        body: body?,
        scopes: spec.auth.as_ref().map(|a| a.scopes.clone()).unwrap_or_default(),
        source: format!("{}:{}", c.files[doc.file].name, pos.line),
    };
    Some((resource, read))
}

/// The file's name as the diagnostics show it (the spec file's directory joined with it).
pub(crate) fn file_name(c: &Compiler<'_>, doc: &Document, file: &str) -> String {
    let dir = Path::new(&c.files[doc.file].name).parent().unwrap_or(Path::new(""));
    dir.join(file).to_string_lossy().replace('\\', "/")
}

/// Reads a resource's `file`: a relative path that stays, symlinks followed, under the
/// spec file's directory. Text when UTF-8, else bytes; the MIME type its extension suggests.
fn resource_file(c: &mut Compiler<'_>, doc: &Document, file: &str) -> Option<(Body, Option<String>, Arc<[u8]>)> {
    let bytes = read_spec_file(c, doc, "/file", file, "serve it through an `action` instead (or raise TOOLWRIGHT_MAX_SPEC_BYTES)")?;
    let guessed = mime_guess::from_path(file).first().map(|m| m.essence_str().to_owned());
    let body = match std::str::from_utf8(&bytes) {
        Ok(text) => Body::Text(Arc::from(text)),
        Err(_) => Body::Blob(bytes.clone()),
    };
    Some((body, guessed, bytes))
}

/// Reads a file a spec names at `pointer` (a resource's `file`, a prompt message's `image` or
/// `audio`) when the catalog is compiled: a relative path that stays, symlinks followed, under
/// the spec file's directory, at most `TOOLWRIGHT_MAX_SPEC_BYTES` (4 MiB) long; every problem a
/// diagnostic at `pointer` (`too_large` is the help of `file-too-large`).
pub(crate) fn read_spec_file(c: &mut Compiler<'_>, doc: &Document, pointer: &str, file: &str, too_large: &str) -> Option<Arc<[u8]>> {
    let key = pointer.rsplit('/').next().unwrap_or("file");
    let spec_dir = Path::new(&c.files[doc.file].name).parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let path = Path::new(file);
    if path.is_absolute() || path.components().any(|p| matches!(p, Component::Prefix(_))) {
        c.push(
            doc,
            Code::ResourceOutsideDir,
            pointer,
            format!("`{key}` `{file}` is an absolute path; it must be relative to the spec file's directory"),
        )
        .help = Some("put the file beside the spec (or below it) and name it relative to the spec file".to_owned());
        return None;
    }
    if !stays_inside(path) {
        c.push(doc, Code::ResourceOutsideDir, pointer, format!("`{key}` `{file}` leaves the spec file's directory")).help = Some(format!(
            "{} must be in the spec file's directory or below it",
            if key == "file" { "a resource file" } else { "the file" }
        ));
        return None;
    }
    let joined = spec_dir.join(path);
    let resolved = match (std::fs::canonicalize(spec_dir), std::fs::canonicalize(&joined)) {
        (Ok(dir), Ok(target)) => (dir, target),
        (_, Err(e)) | (Err(e), _) => {
            c.push(doc, Code::Io, pointer, format!("cannot read `{key}` `{file}`: {e}"));
            return None;
        }
    };
    let (dir, target): (PathBuf, PathBuf) = resolved;
    if !target.starts_with(&dir) {
        c.push(
            doc,
            Code::ResourceOutsideDir,
            pointer,
            format!("`{key}` `{file}` is a symlink (or is under one) that leads outside the spec file's directory"),
        )
        .help = Some("copy the file into the spec file's directory instead of linking to it".to_owned());
        return None;
    }
    let max = crate::spec::load::max_spec_bytes();
    let bytes = match std::fs::File::open(&target).and_then(|f| {
        if f.metadata()?.is_dir() {
            return Err(std::io::Error::other("it is a directory"));
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(f, max + 1), &mut bytes)?;
        Ok(bytes)
    }) {
        Ok(b) => b,
        Err(e) => {
            c.push(doc, Code::Io, pointer, format!("cannot read `{key}` `{file}`: {e}"));
            return None;
        }
    };
    if bytes.len() as u64 > max {
        c.push(
            doc,
            Code::FileTooLarge,
            pointer,
            format!("`{key}` `{file}` is larger than {max} bytes, the most toolwright reads from one file"),
        )
        .help = Some(too_large.to_owned());
        return None;
    }
    Some(Arc::from(bytes))
}

/// Whether a relative path's `..` components never climb above its start (before symlinks).
fn stays_inside(path: &Path) -> bool {
    let mut depth: i64 = 0;
    for part in path.components() {
        match part {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// A resource's `action`, as a tool without arguments (`resource:NAME`).
fn resource_action(
    c: &mut Compiler<'_>,
    doc: &Document,
    spec: &ResourceSpec,
    action: &ActionSpec,
    conns: &Connections,
) -> Option<CompiledTool> {
    let mut uses: Vec<TemplateUse> = Vec::new();
    let compiled = compile_action(c, doc, action, conns, &mut uses);
    // A resource has one URI and no arguments: a template can read only the globals.
    let mut reported = std::collections::BTreeSet::new();
    for v in uses.iter().flat_map(|u| &u.vars).filter(|v| !template::GLOBALS.contains(&v.as_str())) {
        if reported.insert(v.clone()) {
            let pos = c.find_var(doc, "/action", v);
            let d = c
                .loc(doc.file)
                .diag(Code::UndeclaredVariable, pos, format!("template reads `{v}`, but a resource has no arguments"))
                .with_help("a resource whose action reads variables is a `kind: resource_template`, with `uri_template` and `input`");
            c.diags.push(d);
        }
    }
    let (timeout, max_bytes) = limits(c, doc, spec.timeout.as_deref(), spec.max_bytes);
    let mut input = JsonObject::new();
    input.insert("type".to_owned(), Value::from("object"));
    input.insert("additionalProperties".to_owned(), Value::Bool(false));
    let name = format!("resource:{}", spec.name);
    if !reported.is_empty() {
        return None;
    }
    Some(c.hidden_tool(doc, name, input, compiled?, Vec::new(), Vec::new(), timeout?, max_bytes))
}

/// `timeout` (default 30s) and `max_bytes` (default 16000) of a read through an action.
fn limits(c: &mut Compiler<'_>, doc: &Document, timeout: Option<&str>, max_bytes: Option<u64>) -> (Option<std::time::Duration>, usize) {
    let timeout = match timeout {
        Some(t) => c.duration(doc, "/timeout", t),
        None => Some(DEFAULT_TIMEOUT),
    };
    (timeout, max_bytes.map_or(DEFAULT_MAX_BYTES, |b| usize::try_from(b).unwrap_or(usize::MAX)))
}

/// Compiles the one action of an `action:` block at `/action`.
fn compile_action(
    c: &mut Compiler<'_>,
    doc: &Document,
    action: &ActionSpec,
    conns: &Connections,
    uses: &mut Vec<TemplateUse>,
) -> Option<crate::actions::Action> {
    c.inline_secrets(doc, "/action", doc.json.get("action").unwrap_or(&Value::Null));
    match action.count() {
        1 => action.compile(c, doc, "/action", conns, uses),
        n => {
            let msg = if n == 0 {
                format!("`action` is empty; give one of {}", one_of(KINDS))
            } else {
                "`action` holds more than one action; keep exactly one".to_owned()
            };
            c.push(doc, Code::ActionCount, "/action", msg);
            None
        }
    }
}

/// Compiles one resource template; `None` after an error (reported).
fn resource_template(
    c: &mut Compiler<'_>,
    doc: &Document,
    spec: &ResourceTemplateSpec,
    parsed: Option<UriTemplate>,
    conns: &Connections,
) -> Option<CompiledResourceTemplate> {
    let errors_before = c.diags.iter().filter(|d| d.is_error()).count();
    let owner = format!("resource_template:{}", spec.name);
    let arguments = c.arguments(doc, "input", &spec.input, conns, &owner);
    let props: Vec<String> =
        spec.input.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default();
    let mut unknown_variables = false;
    if let Some(t) = &parsed {
        for var in t.variables() {
            if !props.contains(var) {
                unknown_variables = true;
                let off = spec.uri_template.find(&format!("{{{var}}}")).map_or(0, |o| o + 1);
                let pos = c.offset_pos(doc, "/uri_template", &spec.uri_template, off);
                let near = crate::util::did_you_mean(var, props.iter().map(String::as_str)).map(str::to_owned);
                let d = c
                    .loc(doc.file)
                    .diag(Code::UnknownUriVariable, pos, format!("`uri_template` has the variable `{var}`, which `input` does not declare"))
                    .with_help(match near {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => format!("add `{var}` to `input.properties`"),
                    });
                c.diags.push(d);
            }
        }
    }
    let mut uses: Vec<TemplateUse> = Vec::new();
    let action = compile_action(c, doc, &spec.action, conns, &mut uses);
    let declared = Declared { key: "input", schema: &spec.input, extra: &[], warn_optional: false };
    let (read, contexts) = c.check_reads(doc, &uses, &declared, "/action");
    // What the URI cannot set is said once the template is right (a misspelt variable is
    // reported above, with the property it probably means).
    if let (Some(t), true, false) = (&parsed, action.is_some(), unknown_variables) {
        for p in &props {
            let mut ptr = "/input/properties/".to_owned();
            push_escaped(&mut ptr, p);
            let has_default = spec.input.get("properties").and_then(|ps| ps.get(p)).and_then(|s| s.get("default")).is_some();
            if !t.variables().contains(p) && !has_default {
                c.push_key(
                    doc,
                    Code::UnusedInput,
                    &ptr,
                    format!("input property `{p}` is not a variable of `uri_template` and has no default: nothing sets it"),
                )
                .help = Some(format!("add `{{{p}}}` to `uri_template`, give it a `default`, or remove it"));
            } else if !read.contains(p) {
                c.push_key(doc, Code::UnusedInput, &ptr, format!("input property `{p}` is not read by any template")).help =
                    Some("remove it, or use it in the action".to_owned());
            }
        }
    }
    let (timeout, max_bytes) = limits(c, doc, spec.timeout.as_deref(), spec.max_bytes);
    let errors_after = c.diags.iter().filter(|d| d.is_error()).count();
    if errors_after > errors_before {
        return None;
    }
    let mut arguments = arguments?;
    arguments.contexts = contexts.clone();
    let tool = c.hidden_tool(doc, owner, spec.input.clone(), action?, contexts, arguments.defaults.clone(), timeout?, max_bytes);
    let pos = doc.pointers.node("/name");
    Some(CompiledResourceTemplate {
        template: parsed?,
        name: spec.name.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        mime_type: spec.mime_type.clone(),
        arguments,
        tool: Arc::new(tool),
        scopes: spec.auth.as_ref().map(|a| a.scopes.clone()).unwrap_or_default(),
        source: format!("{}:{}", c.files[doc.file].name, pos.line),
    })
}
