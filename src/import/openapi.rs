//! An OpenAPI 3.0 or 3.1 document's operations, each turned into a `kind: tool` document whose
//! `http` action sends what the operation describes: path parameters as URL path segments,
//! query parameters as exactly `"{{ x }}"` (so that an absent optional one is left out),
//! headers, and a JSON body (the whole body, one argument) or a form body (one argument per
//! field). Whatever cannot be expressed that way is the reason an operation is skipped, or,
//! for an optional parameter, a note saying it was left out.

use serde_json::{Map, Value, json};

use super::names::{self, Unique};
use super::schema::{self, Schemas, cut_text};
use super::{GeneratedFile, Import, ImportError, Note, Options, Skipped, output};
use crate::catalog::SchemaUse;
use crate::util::did_you_mean;

/// The HTTP methods of a path item, in the order the specification lists them.
const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// Headers an OpenAPI parameter may not describe ("SHALL be ignored"): the connection and the
/// body decide them.
const IGNORED_HEADERS: &[&str] = &["accept", "content-type", "authorization"];
/// A tool description longer than this is cut at a word boundary.
const MAX_TOOL_DESCRIPTION: usize = 2_000;
/// A title longer than this is cut.
const MAX_TITLE: usize = 200;
/// `$ref` hops followed for one parameter, request body or path item before giving up.
const MAX_REF_HOPS: usize = 32;

/// One operation of the document.
#[derive(Debug)]
pub struct Operation<'a> {
    /// Upper case: `GET`, `POST`, ...
    pub method: String,
    /// The path as the document writes it, `/pets/{petId}`.
    pub path: &'a str,
    /// Its path item (parameters shared by the path's operations).
    item: &'a Map<String, Value>,
    /// The operation object.
    op: &'a Map<String, Value>,
    /// `operationId`, when given.
    pub id: Option<&'a str>,
    /// The tool name: unique in the document, the same whatever `--tag` or `--operation` selects.
    pub name: String,
}

impl Operation<'_> {
    /// `GET /pets/{petId} (getPet)`, for messages.
    pub fn label(&self) -> String {
        match self.id {
            Some(id) => format!("{} {} ({id})", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    fn tags(&self) -> impl Iterator<Item = &str> {
        self.op.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
    }
}

/// An entry of `paths` whose path item cannot be read: its operations are unknown.
#[derive(Debug)]
struct BrokenPath {
    path: String,
    reason: String,
}

/// Checks that `doc` is an OpenAPI 3.0 or 3.1 document.
fn check_version(doc: &Value) -> Result<(), ImportError> {
    let Some(root) = doc.as_object() else {
        return Err(ImportError("the document is not an OpenAPI document: its top level is not a mapping".to_owned()));
    };
    if let Some(v) = root.get("swagger") {
        return Err(ImportError(format!(
            "the document is Swagger {} (OpenAPI 2); import reads OpenAPI 3.0 and 3.1: convert it first (for example with swagger2openapi)",
            v.as_str().unwrap_or("2")
        )));
    }
    match root.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.0") || v.starts_with("3.1") => Ok(()),
        Some(Value::String(v)) => Err(ImportError(format!("`openapi: {v}` is not a version import reads (3.0.x or 3.1.x)"))),
        Some(other) => Err(ImportError(format!("`openapi: {other}` is not a version string such as \"3.1.0\""))),
        None => Err(ImportError("the document is not an OpenAPI document: it has no `openapi` version field".to_owned())),
    }
}

/// Follows `$ref` (local, `#/...`) from `value` to an object.
fn resolve<'v>(doc: &'v Value, value: &'v Value, what: &str) -> Result<&'v Map<String, Value>, String> {
    let mut current = value;
    let mut seen: Vec<&str> = Vec::new();
    for _ in 0..MAX_REF_HOPS {
        let Some(obj) = current.as_object() else {
            return Err(format!("its {what} is not a mapping"));
        };
        let Some(r) = obj.get("$ref") else { return Ok(obj) };
        let Some(r) = r.as_str() else {
            return Err(format!("its {what} has a `$ref` that is not a string"));
        };
        if !r.starts_with('#') {
            return Err(format!("its {what} is `$ref: {r}`, outside the document, which import does not follow"));
        }
        if seen.contains(&r) {
            return Err(format!("its {what} is a `$ref` cycle through `{r}`"));
        }
        seen.push(r);
        current =
            schema::resolve_pointer(doc, r).ok_or_else(|| format!("its {what} is `$ref: {r}`, which points nowhere in the document"))?;
    }
    Err(format!("its {what} is a chain of more than {MAX_REF_HOPS} `$ref`s"))
}

/// Every operation of the document, in document order, each with its unique tool name; and
/// the paths whose item cannot be read.
fn operations(doc: &Value) -> Result<(Vec<Operation<'_>>, Vec<BrokenPath>), ImportError> {
    let paths = match doc.get("paths") {
        None => return Ok((Vec::new(), Vec::new())),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(ImportError("`paths` is not a mapping".to_owned())),
    };
    let mut ops = Vec::new();
    let mut broken = Vec::new();
    let mut unique = Unique::new(names::MAX_TOOL_NAME, true);
    for (path, item) in paths {
        let item = match resolve(doc, item, "path item") {
            Ok(i) => i,
            Err(reason) => {
                broken.push(BrokenPath { path: path.clone(), reason });
                continue;
            }
        };
        for (key, op) in item {
            let Some(method) = METHODS.iter().find(|m| **m == key.as_str()) else { continue };
            let Some(op) = op.as_object() else { continue };
            let id = op.get("operationId").and_then(Value::as_str).filter(|s| !s.trim().is_empty());
            let base = match id {
                Some(id) => names::tool_name(id),
                None => names::tool_name(&format!("{method} {path}")),
            };
            ops.push(Operation { method: method.to_ascii_uppercase(), path, item, op, id, name: unique.take(&base) });
        }
    }
    Ok((ops, broken))
}

/// The operations `options` selects (all when it names no tag and no operation); an unknown
/// tag or operation is an error that says which.
fn select<'d>(ops: Vec<Operation<'d>>, options: &Options) -> Result<Vec<Operation<'d>>, ImportError> {
    if options.tags.is_empty() && options.operations.is_empty() {
        return Ok(ops);
    }
    for want in &options.operations {
        if !ops.iter().any(|o| o.id == Some(want.as_str()) || o.name == *want) {
            let ids = ops.iter().filter_map(|o| o.id);
            let hint = did_you_mean(want, ids).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
            return Err(ImportError(format!(
                "--operation `{want}`: the document has no operation with that operationId or tool name{hint}"
            )));
        }
    }
    for want in &options.tags {
        if !ops.iter().any(|o| o.tags().any(|t| t == want)) {
            let mut tags: Vec<&str> = ops.iter().flat_map(|o| o.tags()).collect();
            tags.sort_unstable();
            tags.dedup();
            let hint = did_you_mean(want, tags.iter().copied()).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
            return Err(ImportError(format!("--tag `{want}`: no operation has that tag{hint}")));
        }
    }
    Ok(ops
        .into_iter()
        .filter(|o| {
            options.operations.iter().any(|w| o.id == Some(w.as_str()) || o.name == *w)
                || o.tags().any(|t| options.tags.iter().any(|w| w == t))
        })
        .collect())
}

/// Imports the operations of `doc` that `options` selects. An operation that cannot be
/// expressed is skipped with its reason; the document itself being unusable is an error.
pub fn import(doc: &Value, options: &Options) -> Result<Import, ImportError> {
    check_version(doc)?;
    let (ops, broken) = operations(doc)?;
    if ops.is_empty() && broken.is_empty() {
        return Err(ImportError("the document has no operations (`paths` is empty or missing)".to_owned()));
    }
    let selecting = !options.tags.is_empty() || !options.operations.is_empty();
    let ops = select(ops, options)?;
    let mut import = Import { server: doc.get("servers").and_then(server_url), security: security(doc), ..Import::default() };
    if !selecting {
        for b in &broken {
            import.skipped.push(Skipped { operation: b.path.clone(), reason: b.reason.clone() });
        }
        import.selected += broken.len();
    }
    import.selected += ops.len();
    let mut schemas = Schemas::new(doc);
    let servers = doc.get("servers");
    for op in &ops {
        match tool(doc, op, &options.connection, servers, &mut schemas) {
            Ok((value, notes)) => {
                let file_name = format!("{}.yaml", op.name);
                let text = output::file_text(&options.source, &op.label(), &value);
                import.notes.extend(notes.into_iter().map(|text| Note { operation: op.label(), text }));
                import.files.push(GeneratedFile { tool: op.name.clone(), file_name, text, operation: op.label() });
            }
            Err(reason) => {
                schemas.take_notes();
                import.skipped.push(Skipped { operation: op.label(), reason });
            }
        }
    }
    super::check(&mut import, &options.connection);
    // Operations skipped by the check come after the others; list every skip in document order.
    let order: std::collections::HashMap<String, usize> = ops.iter().enumerate().map(|(i, o)| (o.label(), i)).collect();
    import.skipped.sort_by_key(|s| order.get(&s.operation).copied().unwrap_or(0));
    Ok(import)
}

/// The first URL of a `servers` list, with its variables at their defaults.
fn server_url(servers: &Value) -> Option<String> {
    let server = servers.as_array()?.first()?;
    let mut url = server.get("url")?.as_str()?.to_owned();
    if let Some(vars) = server.get("variables").and_then(Value::as_object) {
        for (name, var) in vars {
            if let Some(default) = var.get("default").and_then(Value::as_str) {
                url = url.replace(&format!("{{{name}}}"), default);
            }
        }
    }
    Some(url)
}

/// The document's security schemes, each in a few words (`apiKey DD-API-KEY in header`).
fn security(doc: &Value) -> Vec<String> {
    let Some(schemes) = doc.pointer("/components/securitySchemes").and_then(Value::as_object) else { return Vec::new() };
    schemes
        .iter()
        .map(|(name, s)| {
            let s = resolve(doc, s, "security scheme").ok();
            let field = |k: &str| s.and_then(|s| s.get(k)).and_then(Value::as_str).unwrap_or("?");
            match field("type") {
                "apiKey" => format!("`{name}`: API key `{}` in {}", field("name"), field("in")),
                "http" => format!("`{name}`: HTTP {}", field("scheme")),
                other => format!("`{name}`: {other}"),
            }
        })
        .collect()
}

/// How a parameter's value is shaped, from its schema's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A string, number, boolean (or a schema that does not say).
    Scalar,
    /// A list of scalars.
    List,
    /// An object, or a list of lists or objects.
    Nested,
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn shape(schema: &Value) -> Shape {
    let types = types_of(schema);
    if types.contains(&"object") {
        return Shape::Nested;
    }
    if types.contains(&"array") {
        let items = schema.get("items").map(types_of).unwrap_or_default();
        return if items.iter().any(|t| *t == "array" || *t == "object") { Shape::Nested } else { Shape::List };
    }
    Shape::Scalar
}

/// The arguments of the tool being built.
struct Args {
    names: Unique,
    properties: Map<String, Value>,
    required: Vec<Value>,
}

impl Args {
    /// Adds an argument named after `raw` (renamed when `avoid_globals` and it is a global of
    /// the template environment, see [`names::is_global`]); its name.
    fn add(&mut self, raw: &str, schema: Value, required: bool, avoid_globals: bool) -> String {
        let mut base = names::arg_name(raw);
        if avoid_globals && names::is_global(&base) {
            base.push('_');
        }
        let name = self.names.take(&base);
        if required {
            self.required.push(Value::String(name.clone()));
        }
        self.properties.insert(name.clone(), schema);
        name
    }
}

/// A parameter or body field's schema, with the parameter's own description, deprecation and
/// example added.
fn with_annotations(mut schema: Value, p: &Map<String, Value>) -> Value {
    let Value::Object(s) = &mut schema else { return schema };
    if let Some(d) = p.get("description").and_then(Value::as_str).map(str::trim).filter(|d| !d.is_empty()) {
        s.insert("description".to_owned(), Value::String(cut_text(d, schema::MAX_DESCRIPTION)));
    }
    if p.get("deprecated").and_then(Value::as_bool) == Some(true) {
        s.insert("deprecated".to_owned(), Value::Bool(true));
    }
    if let Some(e) = p.get("example")
        && !s.contains_key("examples")
    {
        s.insert("examples".to_owned(), Value::Array(vec![e.clone()]));
    }
    schema
}

/// An optional parameter's `default` moved into its description. The API applies its default
/// when the parameter is absent; sent explicitly it may mean something else (a page size that
/// turns pagination on), and a default the compile fills in is always sent. So the parameter
/// is left out unless the caller gives it, and the model still reads the default.
fn default_as_text(mut schema: Value) -> Value {
    let Value::Object(s) = &mut schema else { return schema };
    let Some(default) = s.remove("default") else { return schema };
    let shown = match &default {
        Value::String(t) => format!("`{t}`"),
        other => format!("`{other}`"),
    };
    let text = match s.get("description").and_then(Value::as_str) {
        Some(d) => format!("{} Default: {shown}.", d.trim_end()),
        None => format!("Default: {shown}."),
    };
    s.insert("description".to_owned(), Value::String(text));
    schema
}

/// The templates of one placement: `{{ name }}`.
fn placeholder(arg: &str) -> Value {
    Value::String(format!("{{{{ {arg} }}}}"))
}

/// One operation as a `kind: tool` document, with notes on what it lost; or why it cannot be
/// expressed.
fn tool(
    doc: &Value,
    op: &Operation<'_>,
    connection: &str,
    servers: Option<&Value>,
    schemas: &mut Schemas<'_>,
) -> Result<(Value, Vec<String>), String> {
    if op.method == "TRACE" {
        return Err("TRACE is not a method the http action sends".to_owned());
    }
    let mut notes: Vec<String> = Vec::new();

    // Parameters: the path item's, then the operation's, which replace one of the same name and place.
    let mut params: Vec<(String, String, &Map<String, Value>)> = Vec::new();
    for list in [op.item.get("parameters"), op.op.get("parameters")].into_iter().flatten() {
        let Some(list) = list.as_array() else { return Err("its `parameters` is not a list".to_owned()) };
        for p in list {
            let p = resolve(doc, p, "parameter")?;
            let (Some(name), Some(place)) = (p.get("name").and_then(Value::as_str), p.get("in").and_then(Value::as_str)) else {
                return Err("a parameter has no `name` or no `in`".to_owned());
            };
            params.retain(|(n, i, _)| !(n == name && i == place));
            params.push((name.to_owned(), place.to_owned(), p));
        }
    }

    let mut args = Args { names: Unique::new(usize::MAX, false), properties: Map::new(), required: Vec::new() };
    let mut query = Map::new();
    let mut headers = Map::new();

    // The path: literal text (percent-encoded where needed) and `{name}` segments.
    let mut url = String::new();
    let mut path_args: Vec<(&str, String)> = Vec::new();
    let mut rest = op.path;
    while let Some(open) = rest.find('{') {
        url.push_str(&literal_path(&rest[..open])?);
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("its path `{}` has a `{{` without `}}`", op.path));
        };
        let var = &rest[open + 1..open + close];
        let arg = match path_args.iter().find(|(v, _)| *v == var) {
            Some((_, arg)) => arg.clone(),
            None => {
                let Some((_, _, p)) = params.iter().find(|(n, i, _)| n == var && i == "path") else {
                    return Err(format!("its path names `{{{var}}}`, which no path parameter declares"));
                };
                let schema = param_schema(p, schemas)?;
                if shape(&schema) != Shape::Scalar {
                    return Err(format!("path parameter `{var}` is a list or an object; a path segment holds one value"));
                }
                let arg = args.add(var, schema, true, false);
                path_args.push((var, arg.clone()));
                arg
            }
        };
        url.push_str(&format!("{{{{ {arg} }}}}"));
        rest = &rest[open + close + 1..];
    }
    url.push_str(&literal_path(rest)?);

    for (name, place, p) in &params {
        let required = p.get("required").and_then(Value::as_bool) == Some(true);
        let outcome: Result<(), String> = match place.as_str() {
            "path" => {
                if !op.path.contains(&format!("{{{name}}}")) {
                    notes.push(format!("path parameter `{name}` does not appear in the path; left out"));
                }
                Ok(())
            }
            "query" => query_param(name, p, required, schemas, &mut args, &mut query),
            "header" => {
                if IGNORED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                    Ok(())
                } else {
                    header_param(name, p, required, schemas, &mut args, &mut headers, &mut notes)
                }
            }
            "cookie" => Err("it is a cookie, which the http action does not send".to_owned()),
            other => Err(format!("`in: {other}` is not a parameter location")),
        };
        if let Err(why) = outcome {
            if required {
                return Err(format!("required {place} parameter `{name}` cannot be sent: {why}"));
            }
            notes.push(format!("optional {place} parameter `{name}` left out: {why}"));
        }
    }

    // The request body.
    let mut body: Option<Value> = None;
    let mut form: Option<Map<String, Value>> = None;
    if let Some(rb) = op.op.get("requestBody") {
        let rb = resolve(doc, rb, "request body")?;
        let required = rb.get("required").and_then(Value::as_bool) == Some(true);
        match request_body(rb, required, schemas, &mut args, &mut headers, &mut notes) {
            Ok(RequestBody::Json(b)) => body = Some(b),
            Ok(RequestBody::Form(f)) => form = Some(f),
            Err(why) if required => return Err(why),
            Err(why) => notes.push(format!("the optional request body left out: {why}")),
        }
    }

    if let Some(own) = op.op.get("servers").or_else(|| op.item.get("servers")).and_then(server_url)
        && servers.and_then(server_url).is_none_or(|s| s != own)
    {
        notes.push(format!("the operation has a server of its own, {own}; the tool sends to the connection's base_url"));
    }

    let mut input = Map::new();
    input.insert("type".to_owned(), json!("object"));
    input.insert("properties".to_owned(), Value::Object(args.properties));
    if !args.required.is_empty() {
        input.insert("required".to_owned(), Value::Array(args.required));
    }
    input.insert("additionalProperties".to_owned(), Value::Bool(false));
    let input = check_input(Value::Object(input), &mut notes)?;

    let mut http = Map::new();
    http.insert("connection".to_owned(), json!(connection));
    http.insert("method".to_owned(), json!(op.method));
    http.insert("url".to_owned(), Value::String(url));
    if !query.is_empty() {
        http.insert("query".to_owned(), Value::Object(query));
    }
    if !headers.is_empty() {
        http.insert("headers".to_owned(), Value::Object(headers));
    }
    if let Some(b) = body {
        http.insert("body".to_owned(), b);
    }
    if let Some(f) = form {
        http.insert("form".to_owned(), Value::Object(f));
    }

    let mut tool = Map::new();
    tool.insert("kind".to_owned(), json!("tool"));
    tool.insert("name".to_owned(), json!(op.name));
    let summary = op.op.get("summary").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    if let Some(title) = summary.and_then(|s| s.lines().next()).map(str::trim).filter(|s| !s.is_empty()) {
        tool.insert("title".to_owned(), Value::String(cut_text(title, MAX_TITLE)));
    }
    tool.insert("description".to_owned(), Value::String(description(op, summary)));
    let annotations = match op.method.as_str() {
        "GET" | "HEAD" => json!({"read_only": true}),
        "DELETE" => json!({"read_only": false, "destructive": true}),
        _ => json!({"read_only": false}),
    };
    tool.insert("annotations".to_owned(), annotations);
    tool.insert("input".to_owned(), input);
    tool.insert("action".to_owned(), json!({"http": Value::Object(http)}));
    notes.extend(schemas.take_notes());
    Ok((Value::Object(tool), notes))
}

/// The tool's description: the summary and the description (the summary once when the
/// description starts with it), `Deprecated.` first for a deprecated operation, cut to
/// [`MAX_TOOL_DESCRIPTION`]; `METHOD /path` when the document says nothing.
fn description(op: &Operation<'_>, summary: Option<&str>) -> String {
    let long = op.op.get("description").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let mut text = match (summary, long) {
        (Some(s), Some(d)) if d.starts_with(s.trim_end_matches('.')) => d.to_owned(),
        (Some(s), Some(d)) => format!("{s}\n\n{d}"),
        (Some(s), None) => s.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => format!("{} {}", op.method, op.path),
    };
    if op.op.get("deprecated").and_then(Value::as_bool) == Some(true) {
        text.insert_str(0, "Deprecated. ");
    }
    cut_text(&text, MAX_TOOL_DESCRIPTION)
}

/// Literal path text as the `url` template writes it: characters a URL path may hold as they
/// are, others percent-encoded; a `?`, `#` or `}` means the path is not a path template.
fn literal_path(text: &str) -> Result<String, String> {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'!')
        .remove(b'$')
        .remove(b'&')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')')
        .remove(b'*')
        .remove(b'+')
        .remove(b',')
        .remove(b';')
        .remove(b'=')
        .remove(b':')
        .remove(b'@')
        .remove(b'%');
    if let Some(c) = text.chars().find(|c| matches!(c, '?' | '#' | '}')) {
        return Err(format!("its path holds `{c}` outside a parameter"));
    }
    Ok(percent_encoding::utf8_percent_encode(text, KEEP).to_string())
}

/// A parameter's schema as JSON Schema 2020-12 (a string when it has none), with its annotations.
fn param_schema(p: &Map<String, Value>, schemas: &mut Schemas<'_>) -> Result<Value, String> {
    let schema = match (p.get("schema"), p.get("content")) {
        (Some(s), _) => schemas.convert(s)?,
        (None, Some(content)) => {
            let media = content.as_object().and_then(|c| c.keys().next()).map_or("?", String::as_str);
            return Err(format!("its value is serialized as `{media}` (`content`), which the http action cannot write"));
        }
        (None, None) => json!({"type": "string"}),
    };
    Ok(with_annotations(schema, p))
}

fn query_param(
    name: &str,
    p: &Map<String, Value>,
    required: bool,
    schemas: &mut Schemas<'_>,
    args: &mut Args,
    query: &mut Map<String, Value>,
) -> Result<(), String> {
    let mut schema = param_schema(p, schemas)?;
    let style = p.get("style").and_then(Value::as_str).unwrap_or("form");
    let explode = p.get("explode").and_then(Value::as_bool).unwrap_or(style == "form");
    match shape(&schema) {
        Shape::Nested => return Err("it is an object, which a query parameter value cannot hold".to_owned()),
        Shape::List if !(style == "form" && explode) => {
            // One parameter whose value joins the items: the caller writes the joined text.
            let separator = match style {
                "spaceDelimited" => " ",
                "pipeDelimited" => "|",
                _ => ",",
            };
            let mut text = json!({"type": "string"});
            let mut words = format!("Several values separated by `{separator}`.");
            if let Some(values) = schema.pointer("/items/enum").and_then(Value::as_array) {
                let list: Vec<String> = values.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
                words.push_str(&format!(" Each one of: {}.", list.join(", ")));
            }
            let desc = match schema.get("description").and_then(Value::as_str) {
                Some(d) => format!("{d} {words}"),
                None => words,
            };
            text["description"] = Value::String(desc);
            schema = text;
        }
        _ => {}
    }
    let schema = if required { schema } else { default_as_text(schema) };
    let arg = args.add(name, schema, required, true);
    query.insert(name.to_owned(), placeholder(&arg));
    Ok(())
}

fn header_param(
    name: &str,
    p: &Map<String, Value>,
    required: bool,
    schemas: &mut Schemas<'_>,
    args: &mut Args,
    headers: &mut Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err("it is not a valid HTTP header name".to_owned());
    }
    let schema = param_schema(p, schemas)?;
    if shape(&schema) != Shape::Scalar {
        return Err("it is a list or an object; import sends scalar headers only".to_owned());
    }
    if !required {
        // A header named in the action is always sent: an optional one would be sent empty
        // (or with its default) when not given, which is not the same as not sending it.
        notes.push(format!("optional header parameter `{name}` left out: the http action sends every header it names"));
        return Ok(());
    }
    let arg = args.add(name, schema, required, false);
    headers.insert(name.to_owned(), placeholder(&arg));
    Ok(())
}

/// A request body the http action can send.
enum RequestBody {
    /// The `body` template: the whole body as one argument.
    Json(Value),
    /// The `form` fields: one argument each.
    Form(Map<String, Value>),
}

/// The media type's essence (`application/json` of `application/json; charset=utf-8`), lower case.
fn essence(media: &str) -> String {
    media.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// `application/json`, `text/json` or any `+json` type.
fn is_json(media: &str) -> bool {
    let m = essence(media);
    let subtype = m.split('/').nth(1).unwrap_or("");
    (m.starts_with("application/") || m.starts_with("text/")) && (subtype == "json" || subtype.ends_with("+json"))
}

fn request_body(
    rb: &Map<String, Value>,
    required: bool,
    schemas: &mut Schemas<'_>,
    args: &mut Args,
    headers: &mut Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<RequestBody, String> {
    let Some(content) = rb.get("content").and_then(Value::as_object).filter(|c| !c.is_empty()) else {
        return Err("the request body has no `content`".to_owned());
    };
    // JSON first; then a JSON merge patch (RFC 7396: an object, which a model writes more
    // reliably than a JSON Patch's list of operations); then any JSON type; then `*/*` (and
    // `application/*`), which accept JSON too: Kubernetes describes its bodies so.
    let json_media = content
        .keys()
        .find(|m| essence(m) == "application/json")
        .or_else(|| content.keys().find(|m| essence(m) == "application/merge-patch+json"))
        .or_else(|| content.keys().find(|m| is_json(m)))
        .or_else(|| content.keys().find(|m| matches!(essence(m).as_str(), "*/*" | "application/*")));
    if let Some(media) = json_media {
        let schema = match content[media].get("schema") {
            Some(s) => schemas.convert(s)?,
            None => json!({}),
        };
        let mut schema = schema;
        if let (Value::Object(s), Some(d)) = (&mut schema, rb.get("description").and_then(Value::as_str).map(str::trim))
            && !d.is_empty()
        {
            s.insert("description".to_owned(), Value::String(cut_text(d, schema::MAX_DESCRIPTION)));
        }
        let mut required = required;
        if !required {
            // An optional body is sent as `{}` when the caller gives none, if the schema allows it.
            let accepts_empty = SchemaUse::Input.build(&schema).is_ok_and(|v| v.is_valid(&json!({})));
            if accepts_empty {
                if let Value::Object(s) = &mut schema {
                    s.insert("default".to_owned(), json!({}));
                }
            } else {
                notes.push("the request body is optional, but its schema refuses `{}`: the tool requires `body`".to_owned());
                required = true;
            }
        }
        let arg = args.add("body", schema, required, false);
        if is_json(media) && essence(media) != "application/json" {
            headers.insert("Content-Type".to_owned(), Value::String(media.clone()));
        }
        return Ok(RequestBody::Json(placeholder(&arg)));
    }
    if let Some(media) = content.keys().find(|m| essence(m) == "application/x-www-form-urlencoded") {
        let schema = match content[media].get("schema") {
            Some(s) => schemas.convert(s)?,
            None => json!({}),
        };
        let Some(props) = schema.get("properties").and_then(Value::as_object).filter(|p| !p.is_empty()) else {
            return Err("its form body's schema names no fields".to_owned());
        };
        let field_required: Vec<&str> =
            schema.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let mut fields = Map::new();
        for (field, field_schema) in props {
            let req = field_required.contains(&field.as_str());
            if shape(field_schema) == Shape::Nested {
                if req {
                    return Err(format!("form field `{field}` is an object, which a form field cannot hold"));
                }
                notes.push(format!("optional form field `{field}` left out: it is an object, which a form field cannot hold"));
                continue;
            }
            let field_schema = if req { field_schema.clone() } else { default_as_text(field_schema.clone()) };
            let arg = args.add(field, field_schema, req, true);
            fields.insert(field.clone(), placeholder(&arg));
        }
        return Ok(RequestBody::Form(fields));
    }
    let media: Vec<&str> = content.keys().map(String::as_str).collect();
    Err(format!("the request body is {}, which the http action cannot send (it sends JSON or form bodies)", media.join(" or ")))
}

/// The input schema checked as the compile checks it: valid JSON Schema 2020-12 that compiles
/// (or the operation cannot be imported), and each property's default valid for it (a default
/// that is not is dropped, with a note).
fn check_input(mut input: Value, notes: &mut Vec<String>) -> Result<Value, String> {
    if let Err(e) = jsonschema::draft202012::meta::validate(&input) {
        return Err(format!("its input schema is not valid JSON Schema 2020-12 ({e} at {})", e.instance_path()));
    }
    let validator = SchemaUse::Input.build(&input).map_err(|e| format!("its input schema does not compile: {e}"))?;
    let defaults: Map<String, Value> = input
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().filter_map(|(k, v)| v.get("default").map(|d| (k.clone(), d.clone()))).collect())
        .unwrap_or_default();
    if defaults.is_empty() {
        return Ok(input);
    }
    let instance = Value::Object(defaults.clone());
    let mut bad: Vec<String> = Vec::new();
    for err in validator.iter_errors(&instance) {
        let path = err.instance_path().as_str().to_owned();
        if let Some(arg) = path.split('/').nth(1).map(|a| a.replace("~1", "/").replace("~0", "~"))
            && defaults.contains_key(&arg)
            && !bad.contains(&arg)
        {
            bad.push(arg);
        }
    }
    for arg in bad {
        if let Some(s) = input.pointer_mut(&format!("/properties/{arg}")).and_then(Value::as_object_mut) {
            s.remove("default");
        }
        notes.push(format!("the default of `{arg}` is not valid for its own schema; dropped"));
    }
    Ok(input)
}
