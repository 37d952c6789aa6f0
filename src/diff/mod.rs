//! `toolwright diff`: what changed between two compiled catalogs, and whether it breaks the
//! callers of the tools.
//!
//! - `mod.rs`: the model ([`Change`], [`Report`]) and [`diff`], tool by tool: added, removed,
//!   renamed (same action under a new name), and for each tool on both sides its action,
//!   schemas, annotations, scopes and settings;
//! - `schema.rs`: the JSON Schema comparison (which changes narrow or widen what is accepted);
//! - `action.rs`: what an action sends, as comparable text (kind, connection, templates);
//! - `surface.rs`: the prompts, resources and resource templates: added, removed, and what their
//!   callers depend on (arguments, URIs);
//! - `side.rs`: a side as given on the command line (a directory or `git:REV[:PATH]`), read and
//!   compiled with [`crate::compile::compile_dirs`], the compile of `lint`;
//! - `report.rs`: one report per output format (text, json, github, markdown).
//!
//! A change is breaking when a caller that worked with the old catalog may fail with the new
//! one: arguments it sent are refused, a tool it called is gone, an answer it read lacks what it
//! relied on, or the tool now does more than its annotations promised. Changes this module
//! does not analyse are listed as "cannot compare", never dropped.

mod action;
pub mod report;
pub mod schema;
pub mod side;
mod surface;

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Annotations, Catalog, CompiledTool};
use schema::Direction;

/// How a change affects the callers of a tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A caller that worked before may fail now.
    Breaking,
    /// Callers keep working.
    NonBreaking,
    /// A change toolwright does not analyse (`oneOf`, `$ref`, ...): listed, not judged.
    Unknown,
}

impl Severity {
    /// `breaking`, `non-breaking` or `cannot-compare`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Breaking => "breaking",
            Severity::NonBreaking => "non-breaking",
            Severity::Unknown => "cannot-compare",
        }
    }
}

/// What kind of change it is. [`Kind::as_str`] is the code the JSON report shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A tool only the new catalog has.
    ToolAdded,
    /// A tool only the old catalog has.
    ToolRemoved,
    /// A tool with a new name and the same action as a removed one.
    ToolRenamed,
    /// Another action kind (`http`, `metrics`, ...).
    BackendChanged,
    /// Another connection.
    ConnectionChanged,
    /// The same kind and connection, other request templates.
    RequestChanged,
    /// The tool's connection has other settings.
    ConnectionSettingsChanged,
    /// `output.schema` given where there was none.
    OutputSchemaAdded,
    /// `output.schema` dropped.
    OutputSchemaRemoved,
    /// A new optional property (input) or a new property (output).
    PropertyAdded,
    /// A new property that is required.
    RequiredPropertyAdded,
    /// A property that is gone.
    PropertyRemoved,
    /// A property that is now required.
    NowRequired,
    /// A property that is no longer required.
    NoLongerRequired,
    /// A type that accepts fewer values.
    TypeNarrowed,
    /// A type that accepts more values.
    TypeWidened,
    /// A type that accepts other values.
    TypeChanged,
    /// Enum values removed, or an enum added.
    EnumNarrowed,
    /// Enum values added, or the enum dropped.
    EnumWidened,
    /// A bound or other constraint that accepts fewer values.
    ConstraintTightened,
    /// A bound or other constraint that accepts more values.
    ConstraintLoosened,
    /// A constraint that accepts other values (`const`, `format`, `multipleOf`).
    ConstraintChanged,
    /// A `pattern` where there was none.
    PatternAdded,
    /// Another `pattern`.
    PatternChanged,
    /// A `pattern` dropped.
    PatternRemoved,
    /// `additionalProperties` closed or constrained.
    AdditionalPropertiesClosed,
    /// `additionalProperties` opened.
    AdditionalPropertiesOpened,
    /// A keyword that does not decide what is accepted (`description`, `default`, ...).
    SchemaAnnotationChanged,
    /// A schema construct toolwright does not analyse.
    CannotCompare,
    /// `read_only` no longer holds.
    ReadOnlyTurnedOff,
    /// The tool may now be destructive.
    DestructiveTurnedOn,
    /// Another annotation changed.
    AnnotationChanged,
    /// The tool needs more scopes.
    ScopesAdded,
    /// The tool needs fewer scopes.
    ScopesRemoved,
    /// The description changed.
    DescriptionChanged,
    /// The title changed.
    TitleChanged,
    /// `timeout`, `output.max_bytes` or `limits` changed.
    LimitsChanged,
    /// A prompt only the new catalog has.
    PromptAdded,
    /// A prompt only the old catalog has.
    PromptRemoved,
    /// A resource only the new catalog has.
    ResourceAdded,
    /// A resource only the old catalog has.
    ResourceRemoved,
    /// A resource template only the new catalog has.
    ResourceTemplateAdded,
    /// A resource template only the old catalog has.
    ResourceTemplateRemoved,
    /// A resource's URI or a template's `uri_template` changed.
    UriChanged,
    /// A prompt's messages, a resource's contents or a template's action changed.
    ContentChanged,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [Kind] = &[
        Kind::ToolAdded,
        Kind::ToolRemoved,
        Kind::ToolRenamed,
        Kind::BackendChanged,
        Kind::ConnectionChanged,
        Kind::RequestChanged,
        Kind::ConnectionSettingsChanged,
        Kind::OutputSchemaAdded,
        Kind::OutputSchemaRemoved,
        Kind::PropertyAdded,
        Kind::RequiredPropertyAdded,
        Kind::PropertyRemoved,
        Kind::NowRequired,
        Kind::NoLongerRequired,
        Kind::TypeNarrowed,
        Kind::TypeWidened,
        Kind::TypeChanged,
        Kind::EnumNarrowed,
        Kind::EnumWidened,
        Kind::ConstraintTightened,
        Kind::ConstraintLoosened,
        Kind::ConstraintChanged,
        Kind::PatternAdded,
        Kind::PatternChanged,
        Kind::PatternRemoved,
        Kind::AdditionalPropertiesClosed,
        Kind::AdditionalPropertiesOpened,
        Kind::SchemaAnnotationChanged,
        Kind::CannotCompare,
        Kind::ReadOnlyTurnedOff,
        Kind::DestructiveTurnedOn,
        Kind::AnnotationChanged,
        Kind::ScopesAdded,
        Kind::ScopesRemoved,
        Kind::DescriptionChanged,
        Kind::TitleChanged,
        Kind::LimitsChanged,
        Kind::PromptAdded,
        Kind::PromptRemoved,
        Kind::ResourceAdded,
        Kind::ResourceRemoved,
        Kind::ResourceTemplateAdded,
        Kind::ResourceTemplateRemoved,
        Kind::UriChanged,
        Kind::ContentChanged,
    ];

    /// The kind's code, such as `required-property-added`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ToolAdded => "tool-added",
            Kind::ToolRemoved => "tool-removed",
            Kind::ToolRenamed => "tool-renamed",
            Kind::BackendChanged => "backend-changed",
            Kind::ConnectionChanged => "connection-changed",
            Kind::RequestChanged => "request-changed",
            Kind::ConnectionSettingsChanged => "connection-settings-changed",
            Kind::OutputSchemaAdded => "output-schema-added",
            Kind::OutputSchemaRemoved => "output-schema-removed",
            Kind::PropertyAdded => "property-added",
            Kind::RequiredPropertyAdded => "required-property-added",
            Kind::PropertyRemoved => "property-removed",
            Kind::NowRequired => "now-required",
            Kind::NoLongerRequired => "no-longer-required",
            Kind::TypeNarrowed => "type-narrowed",
            Kind::TypeWidened => "type-widened",
            Kind::TypeChanged => "type-changed",
            Kind::EnumNarrowed => "enum-narrowed",
            Kind::EnumWidened => "enum-widened",
            Kind::ConstraintTightened => "constraint-tightened",
            Kind::ConstraintLoosened => "constraint-loosened",
            Kind::ConstraintChanged => "constraint-changed",
            Kind::PatternAdded => "pattern-added",
            Kind::PatternChanged => "pattern-changed",
            Kind::PatternRemoved => "pattern-removed",
            Kind::AdditionalPropertiesClosed => "additional-properties-closed",
            Kind::AdditionalPropertiesOpened => "additional-properties-opened",
            Kind::SchemaAnnotationChanged => "schema-annotation-changed",
            Kind::CannotCompare => "cannot-compare",
            Kind::ReadOnlyTurnedOff => "read-only-turned-off",
            Kind::DestructiveTurnedOn => "destructive-turned-on",
            Kind::AnnotationChanged => "annotation-changed",
            Kind::ScopesAdded => "scopes-added",
            Kind::ScopesRemoved => "scopes-removed",
            Kind::DescriptionChanged => "description-changed",
            Kind::TitleChanged => "title-changed",
            Kind::LimitsChanged => "limits-changed",
            Kind::PromptAdded => "prompt-added",
            Kind::PromptRemoved => "prompt-removed",
            Kind::ResourceAdded => "resource-added",
            Kind::ResourceRemoved => "resource-removed",
            Kind::ResourceTemplateAdded => "resource-template-added",
            Kind::ResourceTemplateRemoved => "resource-template-removed",
            Kind::UriChanged => "uri-changed",
            Kind::ContentChanged => "content-changed",
        }
    }
}

/// One piece of a change's message: toolwright's own words, or a value taken from a spec
/// (a name, a pattern, an enum value), which each report shows as code and escapes for its
/// format, so that a spec cannot inject markup into a pull request comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Our words.
    Text(String),
    /// A value from a spec.
    Code(String),
}

/// A change's message, in pieces (see [`Piece`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message(pub Vec<Piece>);

/// The most characters of one value a message shows.
const MAX_VALUE_CHARS: usize = 120;

impl Message {
    /// An empty message.
    pub fn new() -> Message {
        Message(Vec::new())
    }

    /// Appends our words.
    pub fn text(mut self, s: impl Into<String>) -> Message {
        let s = s.into();
        match self.0.last_mut() {
            Some(Piece::Text(t)) => t.push_str(&s),
            _ => self.0.push(Piece::Text(s)),
        }
        self
    }

    /// Appends a value from a spec, cut to [`MAX_VALUE_CHARS`] characters.
    pub fn code(mut self, s: impl Into<String>) -> Message {
        let s: String = s.into();
        let s = match s.char_indices().nth(MAX_VALUE_CHARS) {
            Some((at, _)) => format!("{}…", &s[..at]),
            None => s,
        };
        self.0.push(Piece::Code(s));
        self
    }

    /// Appends another message.
    pub fn then(mut self, other: Message) -> Message {
        for p in other.0 {
            self = match p {
                Piece::Text(t) => self.text(t),
                Piece::Code(c) => {
                    self.0.push(Piece::Code(c));
                    self
                }
            };
        }
        self
    }

    /// Appends values from a spec separated by commas (at most ten, then how many more).
    pub fn codes<I: IntoIterator<Item = String>>(mut self, values: I) -> Message {
        let values: Vec<String> = values.into_iter().collect();
        for (i, v) in values.iter().take(10).enumerate() {
            if i > 0 {
                self = self.text(", ");
            }
            self = self.code(v.clone());
        }
        if values.len() > 10 {
            self = self.text(format!(" and {} more", values.len() - 10));
        }
        self
    }

    /// The message as plain text: values in backticks, control characters escaped.
    pub fn plain(&self) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Code(c) => {
                    let mut body = String::new();
                    for ch in c.chars() {
                        if ch.is_control() {
                            body.extend(ch.escape_default());
                        } else {
                            body.push(ch);
                        }
                    }
                    // As Markdown writes code: a fence longer than any run of backticks inside.
                    let fence = "`".repeat(longest_run(&body, '`') + 1);
                    let pad = if body.starts_with('`') || body.ends_with('`') { " " } else { "" };
                    out.push_str(&format!("{fence}{pad}{body}{pad}{fence}"));
                }
            }
        }
        out
    }
}

/// The longest run of `c` in `s`.
pub(crate) fn longest_run(s: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// Which catalog a place belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SideName {
    /// The catalog before the change.
    Old,
    /// The catalog after it.
    New,
}

impl SideName {
    /// `old` or `new`.
    pub fn as_str(self) -> &'static str {
        match self {
            SideName::Old => "old",
            SideName::New => "new",
        }
    }
}

/// Where a tool is defined: its file and the line of its `name:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The catalog the file belongs to.
    pub side: SideName,
    /// The file, as its side names it.
    pub file: String,
    /// The line of the tool's `name:`.
    pub line: u32,
}

impl Source {
    fn of(side: SideName, tool: &CompiledTool) -> Option<Source> {
        Source::at(side, &tool.source)
    }

    /// The place a compiled tool, prompt or resource names as `file:line`.
    fn at(side: SideName, source: &str) -> Option<Source> {
        let (file, line) = source.rsplit_once(':')?;
        Some(Source { side, file: file.to_owned(), line: line.parse().ok()? })
    }
}

/// One change of one tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The tool's name: the new name, or the old one for a removed tool.
    pub tool: String,
    /// How it affects callers.
    pub severity: Severity,
    /// What kind of change it is.
    pub kind: Kind,
    /// Where in the tool's spec, as a JSON pointer (`/input/properties/service`); empty for
    /// the tool as a whole.
    pub pointer: String,
    /// What changed, for people.
    pub message: Message,
    /// Where the tool is defined: on the new side, or the old one for a removed tool.
    pub source: Option<Source>,
}

/// Every change between two catalogs: breaking changes first, then by tool name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The changes.
    pub changes: Vec<Change>,
}

impl Report {
    /// How many changes have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.changes.iter().filter(|c| c.severity == severity).count()
    }

    /// Whether any change is breaking.
    pub fn is_breaking(&self) -> bool {
        self.count(Severity::Breaking) > 0
    }
}

/// One catalog to compare, with the directory its files were read from (as `compile_dirs`
/// names it): paths under it (a connection's `tls.ca_file`) compare relative to it, so that
/// the same spec in two directories is the same.
#[derive(Clone, Copy, Debug)]
pub struct Catalogue<'a> {
    /// The compiled catalog.
    pub catalog: &'a Catalog,
    /// The directory the files were read from, as the compile named it, if one.
    pub root: Option<&'a str>,
}

/// What changed from `old` to `new`.
pub fn diff(old: Catalogue<'_>, new: Catalogue<'_>) -> Report {
    let old_prints = action::Prints::new(old.catalog, old.root);
    let new_prints = action::Prints::new(new.catalog, new.root);
    let mut changes = Vec::new();

    let removed: Vec<&CompiledTool> = old.catalog.tools().iter().filter(|t| new.catalog.tool(&t.name).is_none()).map(|t| &**t).collect();
    let added: Vec<&CompiledTool> = new.catalog.tools().iter().filter(|t| old.catalog.tool(&t.name).is_none()).map(|t| &**t).collect();

    // A rename: exactly one removed and one added tool with the same action.
    let print_of = |prints: &action::Prints, t: &CompiledTool| prints.action(&t.action);
    let mut by_print: BTreeMap<String, (Vec<&CompiledTool>, Vec<&CompiledTool>)> = BTreeMap::new();
    for t in &removed {
        by_print.entry(print_of(&old_prints, t).text).or_default().0.push(t);
    }
    for t in &added {
        by_print.entry(print_of(&new_prints, t).text).or_default().1.push(t);
    }
    let mut renamed_old = BTreeSet::new();
    let mut renamed_new = BTreeSet::new();
    for (before, after) in by_print.values() {
        if let ([before], [after]) = (before.as_slice(), after.as_slice()) {
            renamed_old.insert(before.name.clone());
            renamed_new.insert(after.name.clone());
            changes.push(Change {
                tool: after.name.clone(),
                severity: Severity::Breaking,
                kind: Kind::ToolRenamed,
                pointer: "/name".to_owned(),
                message: Message::new()
                    .text("looks renamed from ")
                    .code(&before.name)
                    .text(" (same action: kind, connection and request); callers of ")
                    .code(&before.name)
                    .text(" fail"),
                source: Source::of(SideName::New, after),
            });
            compare_tool(before, after, (&old_prints, &new_prints), &mut changes);
        }
    }
    for t in removed.iter().filter(|t| !renamed_old.contains(&t.name)) {
        changes.push(Change {
            tool: t.name.clone(),
            severity: Severity::Breaking,
            kind: Kind::ToolRemoved,
            pointer: String::new(),
            message: Message::new().text("tool removed"),
            source: Source::of(SideName::Old, t),
        });
    }
    for t in added.iter().filter(|t| !renamed_new.contains(&t.name)) {
        changes.push(Change {
            tool: t.name.clone(),
            severity: Severity::NonBreaking,
            kind: Kind::ToolAdded,
            pointer: String::new(),
            message: Message::new().text("tool added"),
            source: Source::of(SideName::New, t),
        });
    }
    for after in new.catalog.tools() {
        if let Some(before) = old.catalog.tool(&after.name) {
            compare_tool(before, after, (&old_prints, &new_prints), &mut changes);
        }
    }
    surface::diff(old.catalog, new.catalog, (&old_prints, &new_prints), &mut changes);
    // Breaking first, then other changes; within each, by tool, in the order found.
    changes.sort_by(|a, b| (a.severity == Severity::Breaking).cmp(&(b.severity == Severity::Breaking)).reverse().then(a.tool.cmp(&b.tool)));
    Report { changes }
}

/// Compares one tool as it was with the same tool (or its rename) as it is.
fn compare_tool(before: &CompiledTool, after: &CompiledTool, prints: (&action::Prints, &action::Prints), out: &mut Vec<Change>) {
    let source = Source::of(SideName::New, after);
    let mut push = |severity: Severity, kind: Kind, pointer: &str, message: Message| {
        out.push(Change { tool: after.name.clone(), severity, kind, pointer: pointer.to_owned(), message, source: source.clone() });
    };

    // The action: kind, connection, request, and the connection's settings.
    let (a, b) = (prints.0.action(&before.action), prints.1.action(&after.action));
    if a.kind != b.kind {
        push(
            Severity::Breaking,
            Kind::BackendChanged,
            "/action",
            Message::new().text("backend changed from ").code(a.kind).text(" to ").code(b.kind),
        );
    } else if a.connection != b.connection {
        let name = |m: Message, c: &Option<String>| match c {
            Some(c) => m.code(c),
            None => m.text("no connection"),
        };
        push(
            Severity::Breaking,
            Kind::ConnectionChanged,
            "/action",
            name(name(Message::new().text("connection changed from "), &a.connection).text(" to "), &b.connection),
        );
    } else {
        if a.text != b.text {
            push(
                Severity::NonBreaking,
                Kind::RequestChanged,
                "/action",
                Message::new().text("the request it sends changed (same kind and connection)").then(fields(&a.text, &b.text)),
            );
        }
        if let Some(conn) = &b.connection
            && let (Some(x), Some(y)) = (prints.0.connection(conn), prints.1.connection(conn))
            && x != y
        {
            push(
                Severity::NonBreaking,
                Kind::ConnectionSettingsChanged,
                "/action",
                Message::new().text("the settings of its connection ").code(conn).text(" changed").then(fields(&x, &y)),
            );
        }
    }

    // Schemas.
    for c in schema::compare(&input_value(before), &input_value(after), Direction::Input, "/input") {
        push(c.severity, c.kind, &c.pointer, c.message);
    }
    match (&before.output_schema, &after.output_schema) {
        (None, Some(_)) => push(
            Severity::NonBreaking,
            Kind::OutputSchemaAdded,
            "/output/schema",
            Message::new().text("output schema added (structured output declared)"),
        ),
        (Some(_), None) => push(
            Severity::Breaking,
            Kind::OutputSchemaRemoved,
            "/output/schema",
            Message::new().text("output schema removed: callers can no longer rely on the shape of the answer"),
        ),
        (Some(o), Some(n)) => {
            let (o, n) = (serde_json::Value::Object((**o).clone()), serde_json::Value::Object((**n).clone()));
            for c in schema::compare(&o, &n, Direction::Output, "/output/schema") {
                push(c.severity, c.kind, &c.pointer, c.message);
            }
        }
        (None, None) => {}
    }

    // Annotations, as MCP clients read them (readOnlyHint defaults to false, destructiveHint to true).
    annotations(&before.annotations, &after.annotations, &mut push);

    // Scopes: a caller needs every one of them.
    scopes_changed(&before.scopes, &after.scopes, "the tool", &mut push);

    // Words and limits.
    if before.description != after.description {
        push(Severity::NonBreaking, Kind::DescriptionChanged, "/description", Message::new().text("description changed"));
    }
    if before.title != after.title {
        let message = match (&before.title, &after.title) {
            (None, Some(t)) => Message::new().text("title added: ").code(t),
            (Some(t), None) => Message::new().text("title removed (was ").code(t).text(")"),
            (Some(o), Some(n)) => Message::new().text("title changed from ").code(o).text(" to ").code(n),
            (None, None) => Message::new(),
        };
        push(Severity::NonBreaking, Kind::TitleChanged, "/title", message);
    }
    let limits: [(&str, &str, String, String); 4] = [
        (
            "timeout",
            "/timeout",
            humantime::format_duration(before.timeout).to_string(),
            humantime::format_duration(after.timeout).to_string(),
        ),
        ("output.max_bytes", "/output/max_bytes", before.max_bytes.to_string(), after.max_bytes.to_string()),
        ("limits.concurrency", "/limits/concurrency", limit(before.concurrency), limit(after.concurrency)),
        ("limits.per_minute", "/limits/per_minute", limit(before.per_minute), limit(after.per_minute)),
    ];
    for (what, pointer, o, n) in limits {
        if o != n {
            push(
                Severity::NonBreaking,
                Kind::LimitsChanged,
                pointer,
                Message::new().code(what).text(" changed from ").code(o).text(" to ").code(n),
            );
        }
    }
}

/// ": `url`, `query`": the fields of the compiled action or connection that differ.
fn fields(old: &str, new: &str) -> Message {
    let fields = action::changed_fields(old, new);
    if fields.is_empty() { Message::new() } else { Message::new().text(": ").codes(fields) }
}

fn limit(n: Option<u32>) -> String {
    n.map_or_else(|| "no limit".to_owned(), |n| n.to_string())
}

/// Annotation changes: `read_only` turned off and `destructive` turned on are breaking (a
/// client that let the model call the tool freely may not any more); any other change is listed.
fn annotations(before: &Annotations, after: &Annotations, push: &mut impl FnMut(Severity, Kind, &str, Message)) {
    let read_only = |a: &Annotations| a.read_only == Some(true);
    let destructive = |a: &Annotations| !read_only(a) && a.destructive != Some(false);
    let shown = |v: Option<bool>| v.map_or_else(|| "unset".to_owned(), |b| b.to_string());
    let mut judged = BTreeSet::new();
    let state = |a: &Annotations| format!("read_only: {}, destructive: {}", shown(a.read_only), shown(a.destructive));
    if read_only(before) && !read_only(after) {
        judged.insert("read_only");
        push(
            Severity::Breaking,
            Kind::ReadOnlyTurnedOff,
            "/annotations/read_only",
            Message::new()
                .text("no longer read-only: ")
                .code("read_only: true")
                .text(" → ")
                .code(format!("read_only: {}", shown(after.read_only))),
        );
    }
    if !destructive(before) && destructive(after) {
        judged.insert("destructive");
        push(
            Severity::Breaking,
            Kind::DestructiveTurnedOn,
            "/annotations/destructive",
            Message::new()
                .text("may now be destructive: ")
                .code(state(before))
                .text(" → ")
                .code(state(after))
                .text(" (unset means true for a tool that is not read-only)"),
        );
    }
    let fields = [
        ("read_only", before.read_only, after.read_only),
        ("destructive", before.destructive, after.destructive),
        ("idempotent", before.idempotent, after.idempotent),
        ("open_world", before.open_world, after.open_world),
    ];
    for (name, o, n) in fields {
        if o != n && !judged.contains(name) {
            push(
                Severity::NonBreaking,
                Kind::AnnotationChanged,
                &format!("/annotations/{name}"),
                Message::new().text("annotation ").code(name).text(" changed from ").code(shown(o)).text(" to ").code(shown(n)),
            );
        }
    }
}

/// A tool's input schema as a JSON value.
fn input_value(tool: &CompiledTool) -> serde_json::Value {
    serde_json::Value::Object((*tool.input_schema).clone())
}

/// Scopes added (breaking: callers without one no longer see `what`) or removed (non-breaking).
pub(super) fn scopes_changed(old: &[String], new: &[String], what: &str, push: &mut impl FnMut(Severity, Kind, &str, Message)) {
    let (old, new): (BTreeSet<&String>, BTreeSet<&String>) = (old.iter().collect(), new.iter().collect());
    let more: Vec<String> = new.difference(&old).map(|s| (*s).clone()).collect();
    let fewer: Vec<String> = old.difference(&new).map(|s| (*s).clone()).collect();
    if !more.is_empty() {
        push(
            Severity::Breaking,
            Kind::ScopesAdded,
            "/auth/scopes",
            Message::new().text("now needs scope ").codes(more).text(format!(": callers without it no longer see {what}")),
        );
    }
    if !fewer.is_empty() {
        push(
            Severity::NonBreaking,
            Kind::ScopesRemoved,
            "/auth/scopes",
            Message::new().text("no longer needs scope ").codes(fewer).text(format!(": more callers see {what}")),
        );
    }
}

#[cfg(test)]
mod tests;
