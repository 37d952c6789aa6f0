//! The prompts, resources and resource templates of two catalogs: added, removed, and for each
//! one on both sides (by name) what its callers depend on. A change is named by the kind and
//! name (`prompt:triage`, `resource:runbook`, `resource_template:deps`) where a tool's is named
//! by the tool.
//!
//! - A prompt's `arguments` are compared as a tool's `input` is (at `/arguments`): fewer
//!   accepted arguments is breaking. Its messages changed is listed, not breaking.
//! - A resource's URI changed is breaking (a client reads it by URI); its contents (text, file
//!   or action) or MIME type changed are listed.
//! - A template's `uri_template` changed is breaking, its `input` is compared as a tool's, and
//!   its action changed is listed.

use super::action::Prints;
use super::schema::{self, Direction};
use super::{Change, Kind, Message, Severity, SideName, Source};
use crate::catalog::Catalog;
use crate::resources::Body;

/// The changes of every prompt, resource and resource template from `old` to `new`.
pub(super) fn diff(old: &Catalog, new: &Catalog, prints: (&Prints<'_>, &Prints<'_>), out: &mut Vec<Change>) {
    prompts(old, new, prints, out);
    resources(old, new, prints, out);
    templates(old, new, prints, out);
}

/// One change of `subject` (`prompt:NAME`, ...), defined at `source` (`file:line`) on `side`.
fn change(subject: &str, side: SideName, source: &str, severity: Severity, kind: Kind, pointer: &str, message: Message) -> Change {
    Change { tool: subject.to_owned(), severity, kind, pointer: pointer.to_owned(), message, source: Source::at(side, source) }
}

/// Added and removed things of one kind, by name: `(name, source)` of each side.
fn added_removed(what: &str, (added, removed): (Kind, Kind), old: &[(&str, &str)], new: &[(&str, &str)], out: &mut Vec<Change>) {
    for (name, source) in old.iter().filter(|(n, _)| !new.iter().any(|(m, _)| m == n)) {
        let subject = format!("{what}:{name}");
        out.push(change(
            &subject,
            SideName::Old,
            source,
            Severity::Breaking,
            removed,
            "",
            Message::new().text(format!("{} removed", words(what))),
        ));
    }
    for (name, source) in new.iter().filter(|(n, _)| !old.iter().any(|(m, _)| m == n)) {
        let subject = format!("{what}:{name}");
        out.push(change(
            &subject,
            SideName::New,
            source,
            Severity::NonBreaking,
            added,
            "",
            Message::new().text(format!("{} added", words(what))),
        ));
    }
}

/// `resource_template` as words.
fn words(what: &str) -> String {
    what.replace('_', " ")
}

fn prompts(old: &Catalog, new: &Catalog, prints: (&Prints<'_>, &Prints<'_>), out: &mut Vec<Change>) {
    let names = |c: &Catalog| -> Vec<(String, String)> { c.prompts().iter().map(|p| (p.name.clone(), p.source.clone())).collect() };
    let (o, n) = (names(old), names(new));
    added_removed("prompt", (Kind::PromptAdded, Kind::PromptRemoved), &pairs(&o), &pairs(&n), out);
    for after in new.prompts() {
        let Some(before) = old.prompt(&after.name) else { continue };
        let subject = format!("prompt:{}", after.name);
        let push = |out: &mut Vec<Change>, severity, kind, pointer: &str, message| {
            out.push(change(&subject, SideName::New, &after.source, severity, kind, pointer, message));
        };
        let (a, b) =
            (serde_json::Value::Object((*before.arguments.schema).clone()), serde_json::Value::Object((*after.arguments.schema).clone()));
        for c in schema::compare(&a, &b, Direction::Input, "/arguments") {
            push(out, c.severity, c.kind, &c.pointer, c.message);
        }
        if prints.0.debug(&before.messages) != prints.1.debug(&after.messages) {
            push(out, Severity::NonBreaking, Kind::ContentChanged, "/messages", Message::new().text("messages changed"));
        }
        super::scopes_changed(&before.scopes, &after.scopes, "the prompt", &mut |s, k, p, m| push(out, s, k, p, m));
        words_changed(
            before.description.as_deref(),
            after.description.as_deref(),
            before.title.as_deref(),
            after.title.as_deref(),
            &mut |s, k, p, m| push(out, s, k, p, m),
        );
    }
}

fn resources(old: &Catalog, new: &Catalog, prints: (&Prints<'_>, &Prints<'_>), out: &mut Vec<Change>) {
    let names = |c: &Catalog| -> Vec<(String, String)> { c.resources().iter().map(|r| (r.name.clone(), r.source.clone())).collect() };
    let (o, n) = (names(old), names(new));
    added_removed("resource", (Kind::ResourceAdded, Kind::ResourceRemoved), &pairs(&o), &pairs(&n), out);
    for after in new.resources() {
        let Some(before) = old.resources().iter().find(|r| r.name == after.name) else { continue };
        let subject = format!("resource:{}", after.name);
        let push = |out: &mut Vec<Change>, severity, kind, pointer: &str, message| {
            out.push(change(&subject, SideName::New, &after.source, severity, kind, pointer, message));
        };
        if before.uri != after.uri {
            push(
                out,
                Severity::Breaking,
                Kind::UriChanged,
                "/uri",
                Message::new()
                    .text("URI changed from ")
                    .code(&before.uri)
                    .text(" to ")
                    .code(&after.uri)
                    .text(": clients that read the old one fail"),
            );
        }
        let body = |prints: &Prints<'_>, b: &Body| match b {
            Body::Text(t) => format!("text {t:?}"),
            Body::Blob(bytes) => format!("bytes {bytes:?}"),
            Body::Action(tool) => format!("action {} {:?} {}", prints.action(&tool.action).text, tool.timeout, tool.max_bytes),
        };
        if body(prints.0, &before.body) != body(prints.1, &after.body) || before.mime_type != after.mime_type {
            push(out, Severity::NonBreaking, Kind::ContentChanged, "", Message::new().text("contents (or their MIME type) changed"));
        }
        super::scopes_changed(&before.scopes, &after.scopes, "the resource", &mut |s, k, p, m| push(out, s, k, p, m));
        words_changed(
            before.description.as_deref(),
            after.description.as_deref(),
            before.title.as_deref(),
            after.title.as_deref(),
            &mut |s, k, p, m| push(out, s, k, p, m),
        );
    }
}

fn templates(old: &Catalog, new: &Catalog, prints: (&Prints<'_>, &Prints<'_>), out: &mut Vec<Change>) {
    let names =
        |c: &Catalog| -> Vec<(String, String)> { c.resource_templates().iter().map(|t| (t.name.clone(), t.source.clone())).collect() };
    let (o, n) = (names(old), names(new));
    added_removed("resource_template", (Kind::ResourceTemplateAdded, Kind::ResourceTemplateRemoved), &pairs(&o), &pairs(&n), out);
    for after in new.resource_templates() {
        let Some(before) = old.resource_templates().iter().find(|t| t.name == after.name) else { continue };
        let subject = format!("resource_template:{}", after.name);
        let push = |out: &mut Vec<Change>, severity, kind, pointer: &str, message| {
            out.push(change(&subject, SideName::New, &after.source, severity, kind, pointer, message));
        };
        let (a, b) = (before.template.source(), after.template.source());
        if a != b {
            push(
                out,
                Severity::Breaking,
                Kind::UriChanged,
                "/uri_template",
                Message::new()
                    .text("URI template changed from ")
                    .code(a)
                    .text(" to ")
                    .code(b)
                    .text(": URIs clients built from the old one may fail"),
            );
        }
        let (x, y) =
            (serde_json::Value::Object((*before.arguments.schema).clone()), serde_json::Value::Object((*after.arguments.schema).clone()));
        for c in schema::compare(&x, &y, Direction::Input, "/input") {
            push(out, c.severity, c.kind, &c.pointer, c.message);
        }
        let action =
            |p: &Prints<'_>, t: &crate::catalog::CompiledTool| format!("{} {:?} {}", p.action(&t.action).text, t.timeout, t.max_bytes);
        if action(prints.0, &before.tool) != action(prints.1, &after.tool) || before.mime_type != after.mime_type {
            push(out, Severity::NonBreaking, Kind::ContentChanged, "/action", Message::new().text("its action (or MIME type) changed"));
        }
        super::scopes_changed(&before.scopes, &after.scopes, "the resource template", &mut |s, k, p, m| push(out, s, k, p, m));
        words_changed(
            before.description.as_deref(),
            after.description.as_deref(),
            before.title.as_deref(),
            after.title.as_deref(),
            &mut |s, k, p, m| push(out, s, k, p, m),
        );
    }
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// The description and title, listed when they changed.
fn words_changed(
    old_description: Option<&str>,
    new_description: Option<&str>,
    old_title: Option<&str>,
    new_title: Option<&str>,
    push: &mut impl FnMut(Severity, Kind, &str, Message),
) {
    if old_description != new_description {
        push(Severity::NonBreaking, Kind::DescriptionChanged, "/description", Message::new().text("description changed"));
    }
    if old_title != new_title {
        push(Severity::NonBreaking, Kind::TitleChanged, "/title", Message::new().text("title changed"));
    }
}
