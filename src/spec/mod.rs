//! Loading spec files and turning each YAML document into a checked `Spec`.
//!
//! Architecture invariant: nothing here does network I/O or panics on any input;
//! every problem becomes a [`Diagnostic`](crate::diag::Diagnostic).

pub mod load;
pub mod model;
pub mod schema;
pub mod yaml;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::diag::{Code, Diagnostic, LineIndex, Span};
pub use load::{SourceFile, load};
use model::{ConnectionSpec, PromptSpec, ResourceSpec, ResourceTemplateSpec, ToolSpec};
use yaml::{Node, NodeValue, Parsed, PointerMap, Pos};

/// A document's meaning once its structure is known to be right.
#[derive(Clone, Debug)]
pub enum Spec {
    /// `kind: tool`.
    Tool(Box<ToolSpec>),
    /// `kind: connection`.
    Connection(Box<ConnectionSpec>),
    /// `kind: prompt`.
    Prompt(Box<PromptSpec>),
    /// `kind: resource`.
    Resource(Box<ResourceSpec>),
    /// `kind: resource_template`.
    ResourceTemplate(Box<ResourceTemplateSpec>),
}

/// The document kinds: the word after `kind:` and the name of its type (its definition in the
/// format schema), in the order messages list them. A kind is a row here, a variant of
/// [`Spec`] with its arm in [`Spec::from_json`], and its type in `format_schema`'s list.
pub const KINDS: &[(&str, &str)] = &[
    ("tool", "ToolSpec"),
    ("connection", "ConnectionSpec"),
    ("prompt", "PromptSpec"),
    ("resource", "ResourceSpec"),
    ("resource_template", "ResourceTemplateSpec"),
];

impl Spec {
    /// The typed document of the kind whose type is `def`, from JSON the format check accepted.
    fn from_json(def: &str, json: &Value) -> Result<Spec, serde_json::Error> {
        use serde::Deserialize as _;
        Ok(match def {
            "ToolSpec" => Spec::Tool(Box::new(ToolSpec::deserialize(json)?)),
            "ConnectionSpec" => Spec::Connection(Box::new(ConnectionSpec::deserialize(json)?)),
            "PromptSpec" => Spec::Prompt(Box::new(PromptSpec::deserialize(json)?)),
            "ResourceSpec" => Spec::Resource(Box::new(ResourceSpec::deserialize(json)?)),
            "ResourceTemplateSpec" => Spec::ResourceTemplate(Box::new(ResourceTemplateSpec::deserialize(json)?)),
            other => return Err(serde::de::Error::custom(format!("no document kind has the type `{other}`"))),
        })
    }
}

/// `` `tool`, `connection`, ... or `resource_template` ``: the kinds, for messages.
fn kinds_list() -> String {
    let names: Vec<String> = KINDS.iter().map(|(k, _)| format!("`{k}`")).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// One checked document with what is needed to point into its source.
#[derive(Clone, Debug)]
pub struct Document {
    /// Index of the file in the loaded sources.
    pub file: usize,
    /// The typed spec.
    pub spec: Spec,
    /// The document as JSON (after unknown fields were reported and dropped).
    pub json: serde_json::Value,
    /// Positions by JSON pointer.
    pub pointers: PointerMap,
}

/// Positions inside one file, with the helpers diagnostics need.
pub struct Locator<'a> {
    /// The file's display name.
    pub file: &'a str,
    /// Its line index.
    pub index: &'a LineIndex,
}

impl Locator<'_> {
    /// The span of a node position.
    pub fn span(&self, pos: Pos) -> Span {
        yaml::span_of(self.index, pos)
    }

    /// A diagnostic at a position.
    pub fn diag(&self, code: Code, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, self.file, self.span(pos), message)
    }
}

/// Parses a file's documents and checks each against the spec format.
/// Documents with structural errors are left out; their problems are in `diags`.
pub fn parse_file(file: usize, source: &SourceFile, index: &LineIndex, diags: &mut Vec<Diagnostic>) -> Vec<Document> {
    let loc = Locator { file: &source.name, index };
    let mut docs = Vec::new();
    for parsed in yaml::parse_documents(&source.text) {
        match parsed {
            Parsed::Error { pos, message, duplicate_key } => {
                let code = if duplicate_key { Code::DuplicateKey } else { Code::YamlSyntax };
                let pos = pos.unwrap_or(Pos { line: 1, column: 1, len: 0 });
                let help = yaml_help(&message);
                let mut d = loc.diag(code, pos, message);
                d.help = help;
                diags.push(d);
            }
            Parsed::Doc(root) => {
                if let Some(doc) = check_document(file, root, &loc, diags) {
                    docs.push(doc);
                }
            }
        }
    }
    docs
}

/// A likely fix for the YAML parser's more cryptic messages.
fn yaml_help(message: &str) -> Option<String> {
    let m = message.to_ascii_lowercase();
    let help = if m.contains("did not find expected key")
        || m.contains("mapping values are not allowed")
        || m.contains("did not find expected '-'")
    {
        "this is most often indentation: keys of one mapping start in the same column, a nested mapping is indented further, and `key: value` on a line of its own needs a mapping around it"
    } else if m.contains("found a tab") || m.contains("tab character") {
        "YAML does not allow tabs for indentation: indent with spaces"
    } else if m.contains("unclosed quote") || m.contains("found unexpected end of stream") {
        "a quoted string is not closed: add the closing quote (a value that contains `: ` or starts with `{` must be quoted as a whole)"
    } else if m.contains("found character that cannot start any token") {
        "a value starting with `@`, `` ` `` or `%` must be quoted"
    } else {
        return None;
    };
    Some(help.to_owned())
}

fn check_document(file: usize, root: Node, loc: &Locator<'_>, diags: &mut Vec<Diagnostic>) -> Option<Document> {
    if !matches!(root.value, NodeValue::Map(_)) {
        diags.push(
            loc.diag(
                Code::WrongType,
                root.pos,
                format!("expected a mapping (a document of kind {}), found {}", kinds_list(), root.value.type_name()),
            )
            .with_help("each YAML document starts with its `kind`, such as `kind: tool` or `kind: connection`"),
        );
        return None;
    }
    let kind = match root.get("kind") {
        None => {
            diags.push(
                loc.diag(Code::UnknownKind, root.pos, format!("missing `kind`; expected {}", kinds_list()))
                    .with_help("add `kind: tool` (or another kind) at the top of the document"),
            );
            return None;
        }
        Some(k) => match KINDS.iter().find(|(word, _)| k.as_str() == Some(word)) {
            Some((_, def)) => *def,
            None => {
                let shown = match &k.value {
                    NodeValue::Str(s) => format!("`{s}`"),
                    other => other.type_name().to_owned(),
                };
                let mut d = loc.diag(Code::UnknownKind, k.pos, format!("unknown kind {shown}; expected {}", kinds_list()));
                if let Some(near) = k.as_str().and_then(|s| crate::util::did_you_mean(s, KINDS.iter().map(|(w, _)| *w))) {
                    d = d.with_help(format!("did you mean `{near}`?"));
                }
                diags.push(d);
                return None;
            }
        },
    };
    let json = root.to_json();
    let pointers = PointerMap::new(root);
    let Some(structure) = schema::structure() else {
        diags.push(loc.diag(Code::InvalidValue, pointers.node(""), "internal error: the spec format schema does not compile"));
        return None;
    };
    let Some(validator) = structure.validator(kind) else {
        diags.push(loc.diag(Code::InvalidValue, pointers.node(""), format!("internal error: no schema for `{kind}`")));
        return None;
    };
    let mut json = json;
    let mut unknown: Vec<(String, String)> = Vec::new();
    let mut other_errors = false;
    for err in validator.iter_errors(&json) {
        let path = err.instance_path().as_str().to_owned();
        if let ValidationErrorKind::AdditionalProperties { unexpected } = err.kind() {
            unknown.extend(unexpected.iter().map(|u| (path.clone(), u.clone())));
        } else {
            other_errors = true;
        }
        structure_diag(structure, kind, &path, err.kind(), &err.to_string(), &json, &pointers, loc, diags);
    }
    if other_errors {
        return None;
    }
    if !unknown.is_empty() {
        // Unknown fields are reported above; leaving them out lets the rest of the document
        // be checked too, so one typo does not hide every other problem.
        for (path, name) in &unknown {
            if let Some(Value::Object(map)) = json.pointer_mut(path) {
                map.shift_remove(name);
            }
        }
        if !validator.is_valid(&json) {
            return None;
        }
    }
    match Spec::from_json(kind, &json) {
        Ok(spec) => Some(Document { file, spec, json, pointers }),
        Err(e) => {
            // The schema and the types are generated from one source; reaching this is a bug.
            diags.push(loc.diag(Code::InvalidValue, pointers.node(""), format!("internal error: {e}")));
            None
        }
    }
}

fn value_at<'a>(json: &'a Value, pointer: &str) -> Option<&'a Value> {
    json.pointer(pointer)
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_kind_name(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => t.to_string(),
        TypeKind::Multiple(ts) => {
            let names: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
            names.join(" or ")
        }
    }
}

fn quoted_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

#[allow(clippy::too_many_arguments)]
fn structure_diag(
    structure: &schema::Structure,
    root_def: &str,
    path: &str,
    kind: &ValidationErrorKind,
    display: &str,
    json: &Value,
    pointers: &PointerMap,
    loc: &Locator<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    let found = value_at(json, path);
    let found_name = found.map_or("nothing", json_type_name);
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let expected: Vec<&str> = structure
                .schema_at(root_def, path)
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            for name in unexpected {
                let mut ptr = path.to_owned();
                ptr.push('/');
                yaml::push_escaped(&mut ptr, name);
                let mut d = loc.diag(
                    Code::UnknownField,
                    pointers.key(&ptr),
                    format!("unknown field `{name}`; expected one of {}", quoted_list(expected.iter().copied())),
                );
                if let Some(near) = crate::util::did_you_mean(name, expected.iter().copied()) {
                    d = d.with_help(format!("did you mean `{near}`?"));
                }
                diags.push(d);
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            let where_ = if path.is_empty() { "the document".to_owned() } else { format!("`{}`", last_token(path)) };
            diags.push(loc.diag(Code::MissingField, pointers.key(path), format!("missing field `{name}` in {where_}")));
        }
        ValidationErrorKind::Type { kind } => {
            diags.push(loc.diag(
                Code::WrongType,
                pointers.node(path),
                format!("`{}` must be {}, found {found_name}", last_token(path), article(&type_kind_name(kind))),
            ));
        }
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            let expected = structure
                .schema_at(root_def, path)
                .and_then(|s| s.get("description"))
                .and_then(Value::as_str)
                .unwrap_or("a different value");
            diags.push(loc.diag(
                Code::WrongType,
                pointers.node(path),
                format!("`{}` has the wrong shape ({found_name}); expected {}", last_token(path), lower_first(expected)),
            ));
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options.as_array().map(|a| a.iter().map(ToString::to_string).collect()).unwrap_or_default();
            diags.push(loc.diag(
                Code::InvalidValue,
                pointers.node(path),
                format!("`{}` must be one of {}", last_token(path), opts.join(", ")),
            ));
        }
        ValidationErrorKind::Constant { expected_value } => {
            diags.push(loc.diag(Code::InvalidValue, pointers.node(path), format!("`{}` must be {expected_value}", last_token(path))));
        }
        _ => {
            diags.push(loc.diag(Code::InvalidValue, pointers.node(path), format!("`{}`: {display}", last_token(path))));
        }
    }
}

fn last_token(path: &str) -> String {
    path.rsplit('/').next().unwrap_or("").replace("~1", "/").replace("~0", "~")
}

fn article(t: &str) -> String {
    match t.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {t}"),
        _ => format!("a {t}"),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str().trim_end_matches('.'),
        None => String::new(),
    }
}
