//! One `compile()` for lint, startup and every reload: specs in, an immutable
//! [`Catalog`] and every diagnostic out. It never stops at the first problem.
//!
//! Architecture invariant: no network I/O and no panic on any input.

pub mod catalog;
pub mod jq;
pub mod render;
pub mod templates;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use catalog::{Action, Catalog, CompiledTool, Connection, LazyValidator, SchemaUse};
use catalog::{
    BodyTpl, HttpAction, HttpConnection, LogsAction, MetricQueryTpl, MetricsAction, PrivateNetworks, QueryValue, Tpl, WindowTpl,
};
pub use render::{ArgError, Rendered, render};
use templates::{Ctx, SecretMode};

use crate::diag::{self, Code, Diagnostic, LineIndex};
use crate::spec::model::{ConnectionSpec, JsonObject, ToolSpec};
use crate::spec::yaml::{Pos, push_escaped};
use crate::spec::{self, Document, Locator, SourceFile, Spec};
use crate::util::{did_you_mean, is_template, parse_duration};

/// Default deadline of a call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on what the model receives.
pub const DEFAULT_MAX_BYTES: usize = 16_000;
/// Default cap on what is read from an HTTP backend.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;
/// Default Logs Insights row limit.
pub const DEFAULT_LIMIT: i64 = 1_000;

static NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.-]{1,128}$").expect("static regex"));
static QUERY_ID_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z][A-Za-z0-9_]*$").expect("static regex"));
static TYPED_LEAF_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\{\{-?\s*[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]{}]*\])*\s*-?\}\}$").expect("static regex")
});
static QUOTED_PLACEHOLDER_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"["'/]\{\{[^}]*\}\}["'/]"#).expect("static regex"));
static TEMPLATE_EXPR_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{.*?\}\}|\{%.*?%\}").expect("static regex"));
static RAW_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\|\s*raw\b").expect("static regex"));
static SECRET_CALL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bsecret\s*\(").expect("static regex"));
static AWS_KEY_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b").expect("static regex"));
// `Bearer`/`Basic` followed by a long credential-looking word; plain prose ("token expired")
// does not match because the word must be long and carry a digit.
static BEARER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]*[0-9][A-Za-z0-9._~+/=-]*").expect("static regex"));
static SECRET_KEY_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(password|passwd|pwd|secret|client[_-]?secret|api[_-]?key|x-api-key|token|access[_-]?token|auth[_-]?token|private[_-]?key|authorization)$").expect("static regex")
});
static HEADER_NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$").expect("static regex"));
static LOG_GROUP_LITERAL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[.\-_/#A-Za-z0-9]{1,512}$").expect("static regex"));

/// What `compile()` returns: the catalog when there are no errors, and every diagnostic.
pub struct Compiled {
    /// The catalog, if no diagnostic is an error.
    pub catalog: Option<Catalog>,
    /// Every diagnostic, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Line indexes of the files, for rendering diagnostics.
    pub sources: HashMap<String, LineIndex>,
}

/// Loads and compiles every spec under `roots`.
pub fn compile_paths(roots: &[std::path::PathBuf]) -> Compiled {
    compile_paths_cached(roots, &mut ParseCache::default())
}

/// [`compile_paths`] with a parse cache that later reloads reuse.
pub fn compile_paths_cached(roots: &[std::path::PathBuf], cache: &mut ParseCache) -> Compiled {
    let (files, load_diags) = spec::load(roots);
    compile_loaded(roots, &files, load_diags, cache)
}

/// Compiles files already loaded from `roots`, adding the loader's diagnostics and a
/// `no-specs` warning when the roots held nothing; the catalog is dropped on any error.
pub fn compile_loaded(roots: &[std::path::PathBuf], files: &[SourceFile], load_diags: Vec<Diagnostic>, cache: &mut ParseCache) -> Compiled {
    let mut compiled = compile_cached(files, cache);
    compiled.diagnostics.extend(load_diags);
    if files.is_empty() && compiled.diagnostics.is_empty() {
        for root in roots {
            let name = root.to_string_lossy().into_owned();
            compiled.diagnostics.push(Diagnostic::new(
                Code::NoSpecs,
                name,
                diag::Span { line: 1, column: 1, end_line: 1, end_column: 1 },
                "no `*.yaml` or `*.yml` spec files found",
            ));
        }
    }
    diag::sort(&mut compiled.diagnostics);
    if compiled.diagnostics.iter().any(Diagnostic::is_error) {
        compiled.catalog = None;
    }
    compiled
}

/// SHA-256 over each file's relative path and contents, in load order.
pub fn content_hash(files: &[SourceFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.relative.as_bytes());
        h.update([0]);
        h.update((f.text.len() as u64).to_le_bytes());
        h.update(f.text.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// At most this many threads parse files.
const PARSE_THREADS: usize = 4;
/// Below this much new YAML, threads cost more than they save.
const PARALLEL_PARSE_BYTES: usize = 64 * 1024;

/// Parsed documents of each file, kept between reloads: a file whose text did not change
/// is not parsed again (parsing is most of a reload's work).
#[derive(Default)]
pub struct ParseCache {
    files: HashMap<String, CachedFile>,
    /// Parse and compile on this thread only (tests compare both ways).
    serial: bool,
}

struct CachedFile {
    text: String,
    index: usize,
    docs: Arc<Vec<Document>>,
    diags: Vec<Diagnostic>,
}

impl ParseCache {
    fn parse(&mut self, index: usize, file: &SourceFile, lines: &LineIndex, diags: &mut Vec<Diagnostic>) -> Arc<Vec<Document>> {
        if let Some(c) = self.files.get(&file.name)
            && c.text == file.text
        {
            diags.extend(c.diags.iter().cloned());
            if c.index == index {
                return c.docs.clone();
            }
            // The file moved in the load order (another file came or went before it).
            let moved: Vec<Document> = c
                .docs
                .iter()
                .cloned()
                .map(|mut d| {
                    d.file = index;
                    d
                })
                .collect();
            return Arc::new(moved);
        }
        let mut own = Vec::new();
        let docs = Arc::new(spec::parse_file(index, file, lines, &mut own));
        diags.extend(own.iter().cloned());
        self.files.insert(file.name.clone(), CachedFile { text: file.text.clone(), index, docs: docs.clone(), diags: own });
        docs
    }

    /// Forgets files that are no longer loaded.
    /// Parses every file the cache does not hold yet, on several threads when there is enough
    /// work (YAML parsing and the format check are about half of a compile), so that the
    /// [`ParseCache::parse`] calls that follow are all hits.
    fn parse_missing(&mut self, files: &[SourceFile], indexes: &[LineIndex]) {
        let missing: Vec<usize> =
            (0..files.len()).filter(|&i| self.files.get(&files[i].name).is_none_or(|c| c.text != files[i].text || c.index != i)).collect();
        let bytes: usize = missing.iter().map(|&i| files[i].text.len()).sum();
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(PARSE_THREADS).min(missing.len());
        if self.serial || threads < 2 || bytes < PARALLEL_PARSE_BYTES {
            return; // parse() parses them one by one
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let parse_some = || {
            let mut out = Vec::new();
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = missing.get(k) else { break out };
                let mut own = Vec::new();
                let docs = spec::parse_file(i, &files[i], &indexes[i], &mut own);
                out.push((i, docs, own));
            }
        };
        let parsed: Vec<_> = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(parse_some)).collect();
            let mut all = parse_some();
            for h in helpers {
                // A panic in a helper is a bug like any other: pass it on.
                all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            }
            all
        });
        for (i, docs, own) in parsed {
            self.files
                .insert(files[i].name.clone(), CachedFile { text: files[i].text.clone(), index: i, docs: Arc::new(docs), diags: own });
        }
    }

    fn retain(&mut self, files: &[SourceFile]) {
        let names: std::collections::HashSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
        self.files.retain(|name, _| names.contains(name.as_str()));
    }
}

/// Compiles loaded files into a catalog.
pub fn compile(files: &[SourceFile]) -> Compiled {
    compile_cached(files, &mut ParseCache::default())
}

/// [`compile`], reusing the parsed documents of files whose text is unchanged since the
/// cache last saw them (reloads keep one cache).
pub fn compile_cached(files: &[SourceFile], cache: &mut ParseCache) -> Compiled {
    let mut diags = Vec::new();
    let indexes: Vec<LineIndex> = files.iter().map(|f| LineIndex::new(&f.text)).collect();
    cache.parse_missing(files, &indexes);
    let per_file: Vec<Arc<Vec<Document>>> = files.iter().enumerate().map(|(i, f)| cache.parse(i, f, &indexes[i], &mut diags)).collect();
    cache.retain(files);
    let docs: Vec<&Document> = per_file.iter().flat_map(|d| d.iter()).collect();
    let mut c = Compiler::new(files, &indexes, 0);
    c.diags = diags;

    // Connections first: tools refer to them.
    let mut connections: HashMap<String, Arc<Connection>> = HashMap::new();
    let mut conn_places: HashMap<String, (usize, Pos)> = HashMap::new();
    for (di, doc) in docs.iter().enumerate() {
        if let Spec::Connection(spec) = &doc.spec {
            let pos = doc.pointers.node("/name");
            if c.check_name(doc, &spec.name, "connection") {
                if let Some((f, p)) = conn_places.get(&spec.name) {
                    c.duplicate(Code::DuplicateConnectionName, "connection", &spec.name, (*f, *p), (doc.file, pos));
                    continue;
                }
                conn_places.insert(spec.name.clone(), (doc.file, pos));
            }
            if let Some(conn) = c.connection(di, doc, spec) {
                connections.insert(spec.name.clone(), Arc::new(conn));
            }
        }
    }

    let mut tool_places: HashMap<String, (usize, Pos)> = HashMap::new();
    let mut jobs: Vec<(usize, &Document, &ToolSpec)> = Vec::new();
    for (di, doc) in docs.iter().enumerate() {
        if let Spec::Tool(spec) = &doc.spec {
            let pos = doc.pointers.node("/name");
            if c.check_name(doc, &spec.name, "tool") {
                if let Some((f, p)) = tool_places.get(&spec.name) {
                    c.duplicate(Code::DuplicateToolName, "tool", &spec.name, (*f, *p), (doc.file, pos));
                } else {
                    tool_places.insert(spec.name.clone(), (doc.file, pos));
                }
            }
            jobs.push((di, *doc, spec));
        }
    }
    let mut tools: Vec<(CompiledTool, usize, Vec<ExampleArgs>)> = Vec::new();
    for done in compile_tools(files, &indexes, &jobs, &connections, cache.serial) {
        c.diags.extend(done.diags);
        c.templates.extend(done.templates);
        if let Some(tool) = done.tool {
            tools.push((tool, done.di, done.examples));
        }
    }

    // The catalog's environment: every template again, each compiled and checked once above.
    let mut env = templates::environment();
    for (name, source) in std::mem::take(&mut c.templates) {
        // It compiled in an environment with the same settings, so this cannot fail.
        let _ = env.add_template_owned(name, source);
    }
    let env = Arc::new(env);
    let mut diags = std::mem::take(&mut c.diags);
    // A catalog exists to check examples against even when errors exist elsewhere.
    let mut tools_sorted: Vec<(Arc<CompiledTool>, usize, Vec<ExampleArgs>)> =
        tools.into_iter().map(|(t, di, examples)| (Arc::new(t), di, examples)).collect();
    tools_sorted.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut by_name = HashMap::new();
    for (i, (t, _, _)) in tools_sorted.iter().enumerate() {
        by_name.entry(t.name.clone()).or_insert(i);
    }
    let catalog =
        Catalog { tools: tools_sorted.iter().map(|(t, _, _)| t.clone()).collect(), by_name, connections, env, hash: content_hash(files) };
    for (tool, di, examples) in &tools_sorted {
        let doc = &docs[*di];
        render_examples(&catalog, tool, doc, examples, &files[doc.file].name, &indexes[doc.file], &mut diags);
    }
    diag::sort(&mut diags);
    let ok = !diags.iter().any(Diagnostic::is_error);
    let sources = files.iter().zip(indexes).map(|(f, i)| (f.name.clone(), i)).collect();
    Compiled { catalog: ok.then_some(catalog), diagnostics: diags, sources }
}

/// One tool compiled: the tool when it has no errors, its diagnostics and its templates.
struct ToolDone {
    di: usize,
    tool: Option<CompiledTool>,
    diags: Vec<Diagnostic>,
    templates: Vec<(String, String)>,
    /// Its examples' prepared arguments (see `Compiler::example_args`).
    examples: Vec<ExampleArgs>,
}

/// With fewer tools than this, tools compile on this thread.
const PARALLEL_TOOLS: usize = 64;
/// Tools a thread takes at a time.
const TOOLS_PER_TAKE: usize = 16;

/// Compiles every tool; on up to [`PARSE_THREADS`] threads when there are many. Each tool
/// compiles on its own (it reads only its document and the connections), so the results are
/// the same either way; they come back in document order.
fn compile_tools(
    files: &[SourceFile],
    indexes: &[LineIndex],
    jobs: &[(usize, &Document, &ToolSpec)],
    conns: &HashMap<String, Arc<Connection>>,
    serial: bool,
) -> Vec<ToolDone> {
    let run = |id: usize, next: &std::sync::atomic::AtomicUsize| {
        let mut c = Compiler::new(files, indexes, id);
        let mut out = Vec::new();
        loop {
            let start = next.fetch_add(TOOLS_PER_TAKE, std::sync::atomic::Ordering::Relaxed);
            let Some(take) = jobs.get(start..(start + TOOLS_PER_TAKE).min(jobs.len())) else { break out };
            if take.is_empty() {
                break out;
            }
            for &(di, doc, spec) in take {
                let tool = c.tool(di, doc, spec, conns);
                out.push(ToolDone {
                    di,
                    tool,
                    diags: std::mem::take(&mut c.diags),
                    templates: std::mem::take(&mut c.templates),
                    examples: std::mem::take(&mut c.examples),
                });
            }
        }
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(PARSE_THREADS);
    let mut done = if serial || threads < 2 || jobs.len() < PARALLEL_TOOLS {
        run(1, &next)
    } else {
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (2..=threads)
                .map(|id| {
                    scope.spawn({
                        let next = &next;
                        let run = &run;
                        move || run(id, next)
                    })
                })
                .collect();
            let mut all = run(1, &next);
            for h in helpers {
                all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            }
            all
        })
    };
    done.sort_by_key(|d| d.di);
    done
}

/// One example's arguments, prepared by the tool's compile: `None` when they do not match
/// `input` (already reported), else what preparing them as a call gives.
type ExampleArgs = Option<Result<JsonObject, render::ArgError>>;

/// Renders each example whose arguments were prepared (see `Compiler::example_args`):
/// rendering needs the whole catalog's templates and connections.
fn render_examples(
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
            .and_then(|args| render(catalog, tool, args, std::time::SystemTime::now(), SecretMode::Placeholder));
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

/// Where templates of one tool were read from, to attribute variables.
struct TemplateUse {
    vars: BTreeSet<String>,
    ctx: Ctx,
    pointer: String,
}

struct Compiler<'a> {
    files: &'a [SourceFile],
    indexes: &'a [LineIndex],
    /// A scratch environment: each minijinja template is compiled here to check it and read
    /// its variables, then removed; the catalog's environment is built from `templates`.
    env: minijinja::Environment<'static>,
    diags: Vec<Diagnostic>,
    template_count: usize,
    /// This compiler's number, part of its template names (several compile tools at once).
    id: usize,
    /// Every minijinja template compiled, as (name, source), in compile order.
    templates: Vec<(String, String)>,
    /// Of the last tool compiled: its examples' prepared arguments (see `example_args`).
    examples: Vec<ExampleArgs>,
}

impl<'a> Compiler<'a> {
    fn new(files: &'a [SourceFile], indexes: &'a [LineIndex], id: usize) -> Self {
        Compiler {
            files,
            indexes,
            env: templates::environment(),
            diags: Vec::new(),
            template_count: 0,
            id,
            templates: Vec::new(),
            examples: Vec::new(),
        }
    }

    fn loc(&self, file: usize) -> Locator<'_> {
        Locator { file: &self.files[file].name, index: &self.indexes[file] }
    }

    fn push(&mut self, doc: &Document, code: Code, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        let d = self.loc(doc.file).diag(code, doc.pointers.node(pointer), message);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    fn push_key(&mut self, doc: &Document, code: Code, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        let d = self.loc(doc.file).diag(code, doc.pointers.key(pointer), message);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    fn place(&self, file: usize, pos: Pos) -> String {
        format!("{}:{}:{}", self.files[file].name, pos.line, pos.column)
    }

    fn check_name(&mut self, doc: &Document, name: &str, what: &str) -> bool {
        if NAME_RE.is_match(name) {
            return true;
        }
        self.push(doc, Code::InvalidName, "/name", format!("{what} name `{name}` does not match ^[A-Za-z0-9_.-]{{1,128}}$")).help =
            Some("use letters, digits, `_`, `.` and `-`, at most 128 characters".to_owned());
        false
    }

    fn duplicate(&mut self, code: Code, what: &str, name: &str, first: (usize, Pos), second: (usize, Pos)) {
        let here = self.place(second.0, second.1);
        let there = self.place(first.0, first.1);
        let d2 = self.loc(second.0).diag(code, second.1, format!("duplicate {what} name `{name}`; first defined at {there}"));
        let d1 = self.loc(first.0).diag(code, first.1, format!("{what} name `{name}` is defined again at {here}"));
        self.diags.push(d2);
        self.diags.push(d1);
    }

    fn duration(&mut self, doc: &Document, pointer: &str, s: &str) -> Option<Duration> {
        match parse_duration(s) {
            Ok(d) => Some(d),
            Err(m) => {
                self.push(doc, Code::InvalidDuration, pointer, m);
                None
            }
        }
    }

    /// Compiles a template (or keeps a literal) and records the variables it reads.
    fn template(&mut self, doc: &Document, pointer: &str, source: &str, ctx: Ctx, uses: &mut Vec<TemplateUse>) -> Option<Tpl> {
        if RAW_RE.is_match(source) {
            let off = RAW_RE.find(source).map_or(0, |m| m.start());
            let pos = self.offset_pos(doc, pointer, source, off);
            let d = self
                .loc(doc.file)
                .diag(Code::RawInterpolation, pos, format!("`| raw` turns off escaping for {}", ctx.describe()))
                .with_help(
                    "a caller value passed through `raw` is pasted as text; remove `| raw` unless the value cannot come from a caller",
                );
            self.diags.push(d);
        }
        if !ctx.allows_secrets()
            && let Some(m) = SECRET_CALL_RE.find(source)
        {
            let pos = self.offset_pos(doc, pointer, source, m.start());
            let d = self
                .loc(doc.file)
                .diag(Code::SecretOutsideHeader, pos, format!("`secret()` is not allowed in {}", ctx.describe()))
                .with_help("secrets belong in headers or in a connection's headers");
            self.diags.push(d);
        }
        if !is_template(source) {
            return Some(Tpl::Lit(source.to_owned()));
        }
        if let Some(simple) = templates::Simple::parse(source, ctx) {
            let vars = simple.variables().map(str::to_owned).collect();
            uses.push(TemplateUse { vars, ctx, pointer: pointer.to_owned() });
            return Some(Tpl::Simple(simple));
        }
        self.template_count += 1;
        let name = templates::template_name(ctx, &format!("{}.{}#{}", self.id, self.template_count, pointer));
        if let Err(e) = self.env.add_template_owned(name.clone(), source.to_owned()) {
            let off = e.range().map_or_else(|| line_offset(source, e.line().unwrap_or(1)), |r| r.start);
            let pos = self.offset_pos(doc, pointer, source, off);
            let msg = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
            let d = self.loc(doc.file).diag(Code::TemplateSyntax, pos, format!("template syntax error: {msg}"));
            self.diags.push(d);
            return None;
        }
        let vars = match self.env.get_template(&name) {
            Ok(t) => t.undeclared_variables(false),
            Err(_) => Default::default(),
        };
        self.env.remove_template(&name);
        let vars = vars.into_iter().filter(|v| !templates::GLOBALS.contains(&v.as_str())).collect();
        uses.push(TemplateUse { vars, ctx, pointer: pointer.to_owned() });
        self.templates.push((name.clone(), source.to_owned()));
        Some(Tpl::Tmpl(name))
    }

    /// Maps a byte offset inside a template string to a position in the YAML source.
    fn offset_pos(&self, doc: &Document, pointer: &str, value: &str, off: usize) -> Pos {
        let pos = doc.pointers.node(pointer);
        let off = off.min(value.len());
        let off = (0..=off).rev().find(|i| value.is_char_boundary(*i)).unwrap_or(0);
        let before = &value[..off];
        let newlines = before.matches('\n').count();
        let col_in_line = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
        let first_char =
            self.indexes[doc.file].line(pos.line).and_then(|l| l.chars().nth(usize::try_from(pos.column.saturating_sub(1)).unwrap_or(0)));
        let quoted = matches!(first_char, Some('"' | '\''));
        let line = pos.line + u32::try_from(newlines).unwrap_or(0);
        let column = if newlines == 0 {
            pos.column + u32::from(quoted) + u32::try_from(col_in_line).unwrap_or(0)
        } else {
            pos.column + u32::try_from(col_in_line).unwrap_or(0)
        };
        Pos { line, column, len: 1 }
    }

    fn inline_secrets(&mut self, doc: &Document, pointer: &str, value: &Value) {
        match value {
            Value::String(s) => {
                if AWS_KEY_RE.is_match(s) {
                    self.push(doc, Code::InlineSecret, pointer, "this looks like an AWS access key id").help =
                        Some("never put credentials in a spec; use the AWS credential chain or `secret('NAME')`".to_owned());
                } else if pointer.contains("/headers/")
                    && !is_template(s)
                    && BEARER_RE.find_iter(s).any(|m| m.as_str().split_whitespace().nth(1).is_some_and(|w| w.len() >= 16))
                {
                    self.push(doc, Code::InlineSecret, pointer, "this looks like a literal credential").help =
                        Some("use `{{ secret('NAME') }}` in a header instead".to_owned());
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.inline_secrets(doc, &format!("{pointer}/{i}"), v);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let mut p = pointer.to_owned();
                    p.push('/');
                    push_escaped(&mut p, k);
                    let literal = match v {
                        Value::String(s) => !s.trim().is_empty() && !is_template(s),
                        Value::Number(_) => true,
                        _ => false,
                    };
                    if SECRET_KEY_RE.is_match(k) && literal && !p.starts_with("/input") {
                        self.push(doc, Code::InlineSecret, &p, format!("`{k}` holds a literal value")).help =
                            Some("use `{{ secret('NAME') }}` so the value comes from the environment".to_owned());
                    } else {
                        self.inline_secrets(doc, &p, v);
                    }
                }
            }
            _ => {}
        }
    }

    fn headers(
        &mut self,
        doc: &Document,
        pointer: &str,
        headers: &BTreeMap<String, String>,
        uses: &mut Vec<TemplateUse>,
    ) -> Vec<(String, Tpl)> {
        let mut out = Vec::new();
        for (k, v) in headers {
            let mut p = pointer.to_owned();
            p.push('/');
            push_escaped(&mut p, k);
            if !HEADER_NAME_RE.is_match(k) {
                self.push_key(doc, Code::InvalidValue, &p, format!("`{k}` is not a valid HTTP header name"));
                continue;
            }
            if v.contains(['\r', '\n']) {
                self.push(doc, Code::InvalidValue, &p, format!("header `{k}` holds a line break"));
                continue;
            }
            if let Some(t) = self.template(doc, &p, v, Ctx::Header, uses) {
                out.push((k.clone(), t));
            }
        }
        out
    }

    fn connection(&mut self, _di: usize, doc: &Document, spec: &ConnectionSpec) -> Option<Connection> {
        self.inline_secrets(doc, "", &doc.json);
        match (&spec.aws, &spec.http) {
            (Some(aws), None) => {
                if let Some(u) = &aws.endpoint_url
                    && url::Url::parse(u).is_err()
                {
                    self.push(doc, Code::InvalidUrl, "/aws/endpoint_url", format!("`{u}` is not a URL"));
                    return None;
                }
                Some(Connection::Aws(aws.clone()))
            }
            (None, Some(http)) => {
                let mut ok = true;
                let base_url = match url::Url::parse(&http.base_url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
                    Ok(u) => {
                        self.push(
                            doc,
                            Code::InvalidUrl,
                            "/http/base_url",
                            format!("base_url scheme `{}` is not http or https", u.scheme()),
                        );
                        ok = false;
                        None
                    }
                    Err(e) => {
                        self.push(doc, Code::InvalidUrl, "/http/base_url", format!("base_url `{}` does not parse: {e}", http.base_url));
                        ok = false;
                        None
                    }
                };
                let mut uses = Vec::new();
                let headers = self.headers(doc, "/http/headers", http.headers.as_ref().unwrap_or(&BTreeMap::new()), &mut uses);
                for u in &uses {
                    for v in &u.vars {
                        self.push(
                            doc,
                            Code::UndeclaredVariable,
                            &u.pointer,
                            format!("connection headers cannot read `{v}`: a connection has no arguments"),
                        );
                        ok = false;
                    }
                }
                let timeout = match &http.timeout {
                    Some(t) => self.duration(doc, "/http/timeout", t),
                    None => None,
                };
                let private_networks = match &http.allow_private_networks {
                    None | Some(crate::spec::model::AllowPrivateNetworks::All(false)) => PrivateNetworks::Deny,
                    Some(crate::spec::model::AllowPrivateNetworks::All(true)) => PrivateNetworks::AllowAll,
                    Some(crate::spec::model::AllowPrivateNetworks::Cidrs(list)) => {
                        let mut nets = Vec::new();
                        for (i, s) in list.iter().enumerate() {
                            match s.parse::<ipnet::IpNet>().or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)) {
                                Ok(n) => nets.push(n),
                                Err(_) => {
                                    self.push(
                                        doc,
                                        Code::InvalidValue,
                                        &format!("/http/allow_private_networks/{i}"),
                                        format!("`{s}` is not a CIDR such as 10.0.0.0/8"),
                                    );
                                    ok = false;
                                }
                            }
                        }
                        PrivateNetworks::Allow(nets)
                    }
                };
                if http.timeout.is_some() && timeout.is_none() {
                    ok = false;
                }
                ok.then(|| {
                    Connection::Http(HttpConnection {
                        base_url,
                        headers,
                        timeout,
                        private_networks,
                        max_response_bytes: http.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
                    })
                })
            }
            _ => {
                let n = u8::from(spec.aws.is_some()) + u8::from(spec.http.is_some());
                let msg = if n == 0 {
                    "a connection needs an `aws` or an `http` block"
                } else {
                    "a connection holds both `aws` and `http`; keep one"
                };
                self.push(doc, Code::ConnectionBlock, "", msg);
                None
            }
        }
    }

    fn resolve_connection(
        &mut self,
        doc: &Document,
        pointer: &str,
        name: &Option<String>,
        want: &str,
        conns: &HashMap<String, Arc<Connection>>,
    ) -> bool {
        let Some(name) = name else { return true };
        match conns.get(name) {
            None => {
                let near = did_you_mean(name, conns.keys().map(String::as_str)).map(str::to_owned);
                let d = self.push(doc, Code::UnknownConnection, pointer, format!("no connection named `{name}`"));
                d.help = Some(match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "define it in a `kind: connection` document".to_owned(),
                });
                false
            }
            Some(c) => {
                let kind = match c.as_ref() {
                    Connection::Aws(_) => "aws",
                    Connection::Http(_) => "http",
                };
                if kind != want {
                    self.push(
                        doc,
                        Code::ConnectionKindMismatch,
                        pointer,
                        format!("connection `{name}` is an `{kind}` connection; this action needs an `{want}` connection"),
                    );
                    false
                } else {
                    true
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn window(
        &mut self,
        doc: &Document,
        base: &str,
        since: &Option<String>,
        until: &Option<String>,
        start: &Option<String>,
        end: &Option<String>,
        uses: &mut Vec<TemplateUse>,
    ) -> Option<WindowTpl> {
        let relative = since.is_some() || until.is_some();
        let absolute = start.is_some() || end.is_some();
        if relative && absolute {
            let at = if start.is_some() { "start" } else { "end" };
            self.push_key(doc, Code::TimeRange, &format!("{base}/{at}"), "use `since`/`until` or `start`/`end`, not both");
            return None;
        }
        if until.is_some() && since.is_none() {
            self.push_key(doc, Code::TimeRange, &format!("{base}/until"), "`until` needs `since`");
            return None;
        }
        if end.is_some() && start.is_none() {
            self.push_key(doc, Code::TimeRange, &format!("{base}/end"), "`end` needs `start`");
            return None;
        }
        let dur = |c: &mut Self, field: &str, s: &str, uses: &mut Vec<TemplateUse>| -> Option<Tpl> {
            let p = format!("{base}/{field}");
            if !is_template(s) {
                c.duration(doc, &p, s)?;
            }
            c.template(doc, &p, s, Ctx::Plain, uses)
        };
        if absolute {
            let stamp = |c: &mut Self, field: &str, s: &str, uses: &mut Vec<TemplateUse>| -> Option<Tpl> {
                let p = format!("{base}/{field}");
                if !is_template(s) && humantime::parse_rfc3339_weak(s.trim()).is_err() {
                    c.push(doc, Code::InvalidValue, &p, format!("`{s}` is not an RFC 3339 timestamp such as 2026-11-24T10:00:00Z"));
                    return None;
                }
                c.template(doc, &p, s, Ctx::Plain, uses)
            };
            let s = stamp(self, "start", start.as_deref().unwrap_or(""), uses)?;
            let e = match end {
                Some(e) => Some(stamp(self, "end", e, uses)?),
                None => None,
            };
            return Some(WindowTpl::Range { start: s, end: e });
        }
        let s = match since {
            Some(s) => dur(self, "since", s, uses)?,
            None => Tpl::Lit("1h".to_owned()),
        };
        let u = match until {
            Some(u) => Some(dur(self, "until", u, uses)?),
            None => None,
        };
        Some(WindowTpl::Since { since: s, until: u })
    }

    fn tool(&mut self, _di: usize, doc: &Document, spec: &ToolSpec, conns: &HashMap<String, Arc<Connection>>) -> Option<CompiledTool> {
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        if spec.description.trim().is_empty() {
            self.push(doc, Code::BlankDescription, "/description", "the description is blank").help =
                Some("say what the tool does, for the model that chooses it".to_owned());
        }
        if let Some(action) = doc.json.get("action") {
            self.inline_secrets(doc, "/action", action);
        }
        let input_schema = Arc::new(spec.input.clone());
        // Each validator is built here to check its schema (and the examples' arguments), then
        // dropped: the runtime builds a tool's validators on its first call (see LazyValidator).
        let built = self.input_schema(doc, &spec.input);
        let validator = built.as_ref().map(|_| LazyValidator::new(input_schema.clone(), SchemaUse::Input));
        let (output_schema, output_validator) = match spec.output.as_ref().and_then(|o| o.schema.as_ref()) {
            Some(s) => {
                let schema = Arc::new(s.clone());
                let v = self.output_schema(doc, s).map(|_| LazyValidator::new(schema.clone(), SchemaUse::Output));
                (Some(schema), v)
            }
            None => (None, None),
        };
        let timeout = match &spec.timeout {
            Some(t) => self.duration(doc, "/timeout", t),
            None => Some(DEFAULT_TIMEOUT),
        };
        let mut uses: Vec<TemplateUse> = Vec::new();
        let a = &spec.action;
        let count = usize::from(a.logs_insights.is_some()) + usize::from(a.metrics.is_some()) + usize::from(a.http.is_some());
        let action = if count != 1 {
            let msg = if count == 0 {
                "`action` is empty; give one of `logs_insights`, `metrics` or `http`"
            } else {
                "`action` holds more than one action; keep exactly one"
            };
            self.push(doc, Code::ActionCount, "/action", msg);
            None
        } else if let Some(li) = &a.logs_insights {
            self.logs_action(doc, li, conns, &mut uses)
        } else if let Some(m) = &a.metrics {
            self.metrics_action(doc, m, conns, &mut uses)
        } else if let Some(h) = &a.http {
            self.http_action(doc, h, conns, &mut uses)
        } else {
            None
        };

        // Variables: every one read must be declared; every declared one should be read.
        let props: Vec<String> =
            spec.input.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default();
        let mut read: BTreeSet<&str> = BTreeSet::new();
        let mut arg_contexts: BTreeMap<String, BTreeSet<Ctx>> = BTreeMap::new();
        for u in &uses {
            for v in &u.vars {
                read.insert(v);
                if props.contains(v) {
                    arg_contexts.entry(v.clone()).or_default().insert(u.ctx);
                }
            }
        }
        for v in &read {
            if !props.iter().any(|p| p == v) {
                let near = did_you_mean(v, props.iter().map(String::as_str)).map(str::to_owned);
                let pos = self.find_var(doc, v);
                let mut d =
                    self.loc(doc.file).diag(Code::UndeclaredVariable, pos, format!("template reads `{v}`, which `input` does not declare"));
                d.help = Some(match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("add `{v}` to `input.properties`"),
                });
                self.diags.push(d);
            }
        }
        if action.is_some() {
            for p in &props {
                if !read.contains(p.as_str()) {
                    let mut ptr = "/input/properties/".to_owned();
                    push_escaped(&mut ptr, p);
                    self.push_key(doc, Code::UnusedInput, &ptr, format!("input property `{p}` is not read by any template")).help =
                        Some("remove it, or use it in the action".to_owned());
                }
            }
        }

        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        if errors_after > errors_before {
            return None;
        }
        let defaults = spec
            .input
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.iter().filter_map(|(k, v)| v.get("default").map(|d| (k.clone(), d.clone()))).collect())
            .unwrap_or_default();
        let pos = doc.pointers.node("/name");
        let tool = CompiledTool {
            name: spec.name.clone(),
            title: spec.title.clone(),
            description: spec.description.clone(),
            annotations: spec.annotations.clone().unwrap_or_default(),
            input_schema,
            output_schema,
            validator: validator?,
            output_validator,
            defaults,
            arg_contexts: arg_contexts.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect(),
            max_bytes: spec
                .output
                .as_ref()
                .and_then(|o| o.max_bytes)
                .map_or(DEFAULT_MAX_BYTES, |b| usize::try_from(b).unwrap_or(usize::MAX)),
            timeout: timeout?,
            action: action?,
            source: format!("{}:{}", self.files[doc.file].name, pos.line),
            scopes: spec.auth.as_ref().map(|a| a.scopes.clone()).unwrap_or_default(),
            concurrency: spec.limits.as_ref().and_then(|l| l.concurrency),
            per_minute: spec.limits.as_ref().and_then(|l| l.per_minute),
        };
        if let Some(v) = &built {
            self.examples = self.example_args(doc, spec, &tool, v);
        }
        Some(tool)
    }

    /// The first place in the document's action that mentions a variable.
    fn find_var(&self, doc: &Document, var: &str) -> Pos {
        let re = Regex::new(&format!(r"\b{}\b", regex::escape(var))).ok();
        let action = doc.pointers.node("/action");
        let index = &self.indexes[doc.file];
        if let Some(re) = re {
            let mut line = action.line;
            while let Some(text) = index.line(line) {
                if let Some(m) = re.find_iter(text).find(|m| text[..m.start()].contains("{{") || text[..m.start()].contains("{%")) {
                    let col = text[..m.start()].chars().count();
                    return Pos { line, column: u32::try_from(col).unwrap_or(0) + 1, len: u32::try_from(var.chars().count()).unwrap_or(1) };
                }
                line += 1;
                if line > action.line + 10_000 {
                    break;
                }
            }
        }
        action
    }

    fn input_schema(&mut self, doc: &Document, input: &JsonObject) -> Option<jsonschema::Validator> {
        let schema = Value::Object(input.clone());
        let mut ok = true;
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            let p = format!("/input{}", e.instance_path().as_str());
            self.push(doc, Code::InvalidInputSchema, &p, format!("`input` is not a valid JSON Schema: {e}"));
            return None;
        }
        if input.get("type").and_then(Value::as_str) != Some("object") {
            let p = if input.contains_key("type") { "/input/type" } else { "/input" };
            self.push(doc, Code::InputNotObject, p, "the root of `input` must be `type: object`").help =
                Some("tool arguments are an object: `type: object` with `properties`".to_owned());
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
                        &format!("/input/required/{i}"),
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
                let p = format!("/input{}", e.instance_path().as_str());
                self.push(doc, Code::InvalidInputSchema, &p, format!("`input` does not compile: {e}"));
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
                    let mut p = "/input/properties/".to_owned();
                    push_escaped(&mut p, &arg);
                    p.push_str("/default");
                    self.push(doc, Code::InvalidDefault, &p, format!("the default of `{arg}` is not valid for it: {err}"));
                    ok = false;
                }
            }
        }
        ok.then_some(validator)
    }

    fn output_schema(&mut self, doc: &Document, schema: &JsonObject) -> Option<jsonschema::Validator> {
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

    /// Checks each example's arguments against the tool's `input` (the validator the compile
    /// built), and prepares the arguments of those that match as a call would (defaults,
    /// the same check again, the contexts each lands in); the catalog renders them once it
    /// exists. `None` for an example whose arguments do not match.
    fn example_args(
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

    fn logs_action(
        &mut self,
        doc: &Document,
        li: &crate::spec::model::LogsInsightsSpec,
        conns: &HashMap<String, Arc<Connection>>,
        uses: &mut Vec<TemplateUse>,
    ) -> Option<Action> {
        let base = "/action/logs_insights";
        let mut ok = self.resolve_connection(doc, &format!("{base}/connection"), &li.connection, "aws", conns);
        if li.log_groups.is_empty() || li.log_groups.len() > 50 {
            self.push(
                doc,
                Code::LogGroupCount,
                &format!("{base}/log_groups"),
                format!("{} log groups; a Logs Insights query takes 1 to 50", li.log_groups.len()),
            );
            ok = false;
        }
        let mut groups = Vec::new();
        for (i, g) in li.log_groups.iter().enumerate() {
            let p = format!("{base}/log_groups/{i}");
            if !is_template(g) && !LOG_GROUP_LITERAL_RE.is_match(g) {
                self.push(
                    doc,
                    Code::InvalidLogGroup,
                    &p,
                    format!("`{g}` is not a valid log group name ([.-_/#A-Za-z0-9], 1 to 512 characters)"),
                );
                ok = false;
                continue;
            }
            match self.template(doc, &p, g, Ctx::LogGroup, uses) {
                Some(t) => groups.push(t),
                None => ok = false,
            }
        }
        if li.query.trim().is_empty() {
            self.push(doc, Code::EmptyQuery, &format!("{base}/query"), "the query is empty");
            ok = false;
        }
        if let Some(m) = QUOTED_PLACEHOLDER_RE.find(&li.query) {
            let pos = self.offset_pos(doc, &format!("{base}/query"), &li.query, m.start());
            let d = self
                .loc(doc.file)
                .diag(Code::QuotedPlaceholder, pos, format!("`{}` puts quotes around a value that is quoted already", m.as_str()))
                .with_help("write `{{ x }}` without quotes: a string value becomes a double-quoted literal by itself");
            self.diags.push(d);
            ok = false;
        }
        let query = self.template(doc, &format!("{base}/query"), &li.query, Ctx::LogsQuery, uses);
        let limit = li.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=10_000).contains(&limit) {
            self.push(doc, Code::LimitRange, &format!("{base}/limit"), format!("limit {limit} is outside 1 to 10,000"));
            ok = false;
        }
        let window = self.window(doc, base, &li.since, &li.until, &li.start, &li.end, uses);
        if !ok {
            return None;
        }
        Some(Action::LogsInsights(LogsAction {
            connection: li.connection.clone(),
            log_groups: groups,
            query: query?,
            window: window?,
            limit,
        }))
    }

    fn metrics_action(
        &mut self,
        doc: &Document,
        m: &crate::spec::model::MetricsSpec,
        conns: &HashMap<String, Arc<Connection>>,
        uses: &mut Vec<TemplateUse>,
    ) -> Option<Action> {
        let base = "/action/metrics";
        let mut ok = self.resolve_connection(doc, &format!("{base}/connection"), &m.connection, "aws", conns);
        if m.queries.is_empty() || m.queries.len() > 500 {
            self.push(
                doc,
                Code::InvalidValue,
                &format!("{base}/queries"),
                format!("{} queries; GetMetricData takes 1 to 500", m.queries.len()),
            );
            ok = false;
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut queries = Vec::new();
        for (i, q) in m.queries.iter().enumerate() {
            let qp = format!("{base}/queries/{i}");
            if !QUERY_ID_RE.is_match(&q.id) {
                self.push(
                    doc,
                    Code::InvalidQueryId,
                    &format!("{qp}/id"),
                    format!("query id `{}` does not match ^[a-z][A-Za-z0-9_]*$", q.id),
                );
                ok = false;
            }
            if let Some(first) = seen.get(q.id.as_str()) {
                self.push(
                    doc,
                    Code::DuplicateQueryId,
                    &format!("{qp}/id"),
                    format!("query id `{}` is already used by query {}", q.id, first + 1),
                );
                ok = false;
            } else {
                seen.insert(&q.id, i);
            }
            match (&q.metric, &q.expression) {
                (Some(_), Some(_)) => {
                    self.push(doc, Code::MetricOrExpression, &qp, "a query has both `metric` and `expression`; keep one");
                    ok = false;
                }
                (None, None) => {
                    self.push(doc, Code::MetricOrExpression, &qp, "a query needs `metric` (with `namespace` and `stat`) or `expression`");
                    ok = false;
                }
                (Some(_), None) if q.namespace.is_none() || q.stat.is_none() => {
                    self.push(doc, Code::MetricOrExpression, &qp, "a `metric` query needs `namespace` and `stat`");
                    ok = false;
                }
                _ => {}
            }
            let opt = |c: &mut Self, field: &str, v: &Option<String>, ctx: Ctx, uses: &mut Vec<TemplateUse>| -> Result<Option<Tpl>, ()> {
                match v {
                    None => Ok(None),
                    Some(s) => c.template(doc, &format!("{qp}/{field}"), s, ctx, uses).map(Some).ok_or(()),
                }
            };
            let namespace = opt(self, "namespace", &q.namespace, Ctx::Plain, uses);
            let metric = opt(self, "metric", &q.metric, Ctx::Plain, uses);
            let stat = opt(self, "stat", &q.stat, Ctx::Plain, uses);
            let expression = opt(self, "expression", &q.expression, Ctx::Expression, uses);
            let label = opt(self, "label", &q.label, Ctx::Plain, uses);
            let mut dims = Vec::new();
            for (k, v) in q.dimensions.iter().flatten() {
                let mut p = format!("{qp}/dimensions/");
                push_escaped(&mut p, k);
                match self.template(doc, &p, v, Ctx::Dimension, uses) {
                    Some(t) => dims.push((k.clone(), t)),
                    None => ok = false,
                }
            }
            match (namespace, metric, stat, expression, label) {
                (Ok(namespace), Ok(metric), Ok(stat), Ok(expression), Ok(label)) => queries.push(MetricQueryTpl {
                    id: q.id.clone(),
                    namespace,
                    metric,
                    dimensions: dims,
                    stat,
                    expression,
                    label,
                    unit: q.unit.clone(),
                    return_data: q.return_data.unwrap_or(true),
                }),
                _ => ok = false,
            }
        }
        let period = match &m.period {
            None => None,
            Some(p) => {
                let pp = format!("{base}/period");
                if !is_template(p) {
                    match parse_duration(p) {
                        Ok(d) if render::valid_period(d.as_secs()) && d.subsec_nanos() == 0 => {}
                        Ok(_) => {
                            self.push(
                                doc,
                                Code::InvalidPeriod,
                                &pp,
                                format!("period `{p}` must be 1, 5, 10, 20 or 30 seconds or a multiple of 60"),
                            );
                            ok = false;
                        }
                        Err(e) => {
                            self.push(doc, Code::InvalidDuration, &pp, e);
                            ok = false;
                        }
                    }
                }
                self.template(doc, &pp, p, Ctx::Plain, uses)
            }
        };
        let window = self.window(doc, base, &m.since, &m.until, &m.start, &m.end, uses);
        if !ok {
            return None;
        }
        Some(Action::Metrics(MetricsAction { connection: m.connection.clone(), queries, period, window: window? }))
    }

    fn http_action(
        &mut self,
        doc: &Document,
        h: &crate::spec::model::HttpSpec,
        conns: &HashMap<String, Arc<Connection>>,
        uses: &mut Vec<TemplateUse>,
    ) -> Option<Action> {
        let base = "/action/http";
        let mut ok = self.resolve_connection(doc, &format!("{base}/connection"), &h.connection, "http", conns);
        let method = h.method.clone().unwrap_or_else(|| "GET".to_owned()).to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") {
            self.push(
                doc,
                Code::InvalidHttpMethod,
                &format!("{base}/method"),
                format!(
                    "`{}` is not an HTTP method; use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
                    h.method.as_deref().unwrap_or("")
                ),
            );
            ok = false;
        }
        // The URL must parse once every template expression is replaced by a sample segment.
        let sample = TEMPLATE_EXPR_RE.replace_all(&h.url, "x").into_owned();
        let absolute = sample.starts_with("http://") || sample.starts_with("https://");
        let url_pointer = format!("{base}/url");
        if absolute {
            if let Err(e) = url::Url::parse(&sample) {
                self.push(doc, Code::InvalidUrl, &url_pointer, format!("URL `{}` does not parse: {e}", h.url));
                ok = false;
            }
        } else if sample.contains("://") {
            self.push(doc, Code::InvalidUrl, &url_pointer, format!("URL `{}` must be http or https", h.url));
            ok = false;
        } else {
            let base_ok = h
                .connection
                .as_ref()
                .and_then(|c| conns.get(c))
                .is_some_and(|c| matches!(c.as_ref(), Connection::Http(hc) if hc.base_url.is_some()));
            let connection_ok = h.connection.as_ref().is_none_or(|c| conns.contains_key(c));
            if !base_ok
                && connection_ok
                && !h.connection.as_ref().is_some_and(|c| conns.get(c).is_some_and(|c| matches!(c.as_ref(), Connection::Aws(_))))
            {
                self.push(doc, Code::InvalidUrl, &url_pointer, format!("relative URL `{}` needs a `connection` with a base_url", h.url))
                    .help = Some("set `connection:` to an http connection, or write an absolute https:// URL".to_owned());
                ok = false;
            } else if url::Url::parse("http://example.invalid/").and_then(|b| b.join(sample.trim_start_matches('/'))).is_err() {
                self.push(doc, Code::InvalidUrl, &url_pointer, format!("URL `{}` does not parse", h.url));
                ok = false;
            }
        }
        // The caller may fill in path segments, never the scheme or the host.
        if absolute {
            let after_scheme = h.url.find("://").map_or(0, |i| i + 3);
            let authority_end = h.url[after_scheme..].find('/').map_or(h.url.len(), |i| after_scheme + i);
            if is_template(&h.url[..authority_end]) {
                self.push(
                    doc,
                    Code::InvalidUrl,
                    &url_pointer,
                    format!("URL `{}` has a template in its scheme or host; only the path may hold templates", h.url),
                )
                .help = Some("put the host in a connection's base_url, or write it literally".to_owned());
                ok = false;
            }
        }
        let url = self.template(doc, &url_pointer, &h.url, Ctx::Url, uses);
        let mut query = Vec::new();
        for (k, v) in h.query.iter().flatten() {
            let mut p = format!("{base}/query/");
            push_escaped(&mut p, k);
            match &v.0 {
                Value::String(s) => match self.template(doc, &p, s, Ctx::QueryParam, uses) {
                    Some(t) => query.push((k.clone(), QueryValue::Str(t))),
                    None => ok = false,
                },
                other => query.push((k.clone(), QueryValue::Lit(other.to_string()))),
            }
        }
        let headers = self.headers(doc, &format!("{base}/headers"), h.headers.as_ref().unwrap_or(&BTreeMap::new()), uses);
        let body = h.body.as_ref().and_then(|b| self.body(doc, &format!("{base}/body"), b, uses));
        if h.body.is_some() && body.is_none() {
            ok = false;
        }
        let jq = match h.response.as_ref().and_then(|r| r.jq.as_ref()) {
            None => None,
            Some(src) => match jq::JqFilter::compile(src) {
                Ok(f) => Some(Arc::new(f)),
                Err(e) => {
                    let p = format!("{base}/response/jq");
                    let pos = self.offset_pos(doc, &p, src, e.offset.unwrap_or(0));
                    let d = self.loc(doc.file).diag(Code::InvalidJq, pos, format!("jq filter does not compile: {}", e.message));
                    self.diags.push(d);
                    ok = false;
                    None
                }
            },
        };
        if !ok {
            return None;
        }
        Some(Action::Http(HttpAction { connection: h.connection.clone(), method, url: url?, query, headers, body, jq }))
    }

    fn body(&mut self, doc: &Document, pointer: &str, v: &Value, uses: &mut Vec<TemplateUse>) -> Option<BodyTpl> {
        Some(match v {
            Value::String(s) if TYPED_LEAF_RE.is_match(s.trim()) => {
                BodyTpl::Typed(self.template(doc, pointer, s.trim(), Ctx::BodyValue, uses)?)
            }
            Value::String(s) => match self.template(doc, pointer, s, Ctx::BodyString, uses)? {
                Tpl::Lit(l) => BodyTpl::Lit(Value::String(l)),
                t => BodyTpl::Str(t),
            },
            Value::Array(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.body(doc, &format!("{pointer}/{i}"), item, uses) {
                        Some(b) => out.push(b),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                BodyTpl::Array(out)
            }
            Value::Object(map) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (k, item) in map {
                    let mut p = pointer.to_owned();
                    p.push('/');
                    push_escaped(&mut p, k);
                    match self.body(doc, &p, item, uses) {
                        Some(b) => out.push((k.clone(), b)),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                BodyTpl::Object(out)
            }
            other => BodyTpl::Lit(other.clone()),
        })
    }
}

/// Byte offset of the start of a 1-based line in a template source.
fn line_offset(source: &str, line: usize) -> usize {
    source.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SourceFile {
        SourceFile { name: name.to_owned(), relative: name.to_owned(), text: text.to_owned() }
    }

    fn tool(name: &str) -> String {
        format!("kind: tool\nname: {name}\ndescription: d\ninput: {{type: object}}\naction:\n  http: {{url: \"https://example.com/x\"}}\n")
    }

    /// A cached compile must say exactly what a fresh one says, also after a file before
    /// another one disappears (the later file's documents then move in the load order).
    #[test]
    fn cached_compile_matches_a_fresh_one() {
        let mut cache = ParseCache::default();
        let bad = "kind: tool\nname: broken\ndescripton: x\n";
        let all = vec![file("a.yaml", &tool("a")), file("b.yaml", bad), file("c.yaml", &tool("c"))];
        let first = compile_cached(&all, &mut cache);
        assert_eq!(first.diagnostics, compile(&all).diagnostics);
        let fewer = vec![all[1].clone(), all[2].clone()];
        let cached = compile_cached(&fewer, &mut cache);
        let fresh = compile(&fewer);
        assert_eq!(cached.diagnostics, fresh.diagnostics);
        assert!(cached.diagnostics.iter().any(|d| d.file == "b.yaml" && d.span.line == 3));
        let good = vec![all[0].clone(), all[2].clone()];
        let cached = compile_cached(&good, &mut cache).catalog.expect("catalog");
        let fresh = compile(&good).catalog.expect("catalog");
        assert_eq!(cached.hash(), fresh.hash());
        let names: Vec<&str> = cached.tools().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
    }

    /// The compile keeps no validator (it builds each to check the schema, then drops it); a
    /// tool's are built on first use and judge as the spec says (input with `format`
    /// asserted, output without).
    #[test]
    fn validators_are_built_on_first_use() {
        let spec = "kind: tool\nname: t\ndescription: d\ninput:\n  type: object\n  properties:\n    id: {type: string, pattern: '^[a-z]+$'}\n    at: {type: string, format: date-time}\n  required: [id]\n  additionalProperties: false\naction:\n  http: {url: \"https://example.com/{{ id }}/{{ at }}\"}\noutput:\n  schema: {type: object, properties: {n: {type: integer}, d: {type: string, format: date}}}\n";
        let catalog = compile(&[file("t.yaml", spec)]).catalog.expect("catalog");
        let cases = [
            serde_json::json!({"id": "abc", "at": "2026-11-24T06:00:00Z"}),
            serde_json::json!({"id": "ABC", "at": "2026-11-24T06:00:00Z"}),
            serde_json::json!({"id": "abc", "at": "yesterday"}),
            serde_json::json!({"id": "abc", "at": "2026-11-24T06:00:00Z", "x": 1}),
            serde_json::json!({}),
        ];
        let outputs = [serde_json::json!({"n": 1, "d": "not a date"}), serde_json::json!({"n": "one"})];
        let judge = |c: &Catalog| {
            let t = c.tool("t").expect("tool");
            let input: Vec<String> =
                cases.iter().map(|a| t.prepare_args(a.as_object()).map(|_| String::new()).unwrap_or_else(|e| e.message)).collect();
            let out = t.output_validator.as_ref().expect("output validator").get().expect("compiles");
            let output: Vec<bool> = outputs.iter().map(|o| out.is_valid(o)).collect();
            (input, output)
        };
        let t = catalog.tool("t").expect("tool");
        assert!(!t.validator.is_built() && !t.output_validator.as_ref().is_some_and(LazyValidator::is_built));
        let (input, output) = judge(&catalog);
        assert_eq!(input[0], "");
        assert!(input[1].contains("pattern") || input[1].contains("does not match"), "{input:?}");
        assert!(input[2].contains("date-time"), "{input:?}");
        assert!(input[3..].iter().all(|m| !m.is_empty()), "{input:?}");
        assert_eq!(output, [true, false]);
        let t = catalog.tool("t").expect("tool");
        assert!(t.validator.is_built() && t.output_validator.as_ref().is_some_and(LazyValidator::is_built));
    }

    /// Files parsed and tools compiled on several threads give the same catalog and
    /// diagnostics, in the same order, as one thread does.
    #[test]
    fn parallel_parse_matches_serial() {
        let mut files = Vec::new();
        for f in 0..120 {
            let mut text = String::new();
            for t in 0..5 {
                let n = f * 5 + t;
                // Simple and minijinja templates everywhere; template errors in a few files.
                let url = match (n % 4, f % 10 == 9) {
                    (0, _) => "/{{ id }}",
                    (1, _) => "/{{ id | lower }}",
                    (2, true) => "/{{ idd }}",
                    (3, true) => "/{% if id %}",
                    _ => "/x",
                };
                text.push_str(&format!(
                    "kind: tool\nname: t{n}\ndescription: d\ninput: {{type: object, properties: {{id: {{type: string}}}}}}\n\
                     action:\n  http: {{url: \"https://example.com{url}\"}}\n"
                ));
                text.push_str(&format!("title: \"{}\"\n", "x".repeat(200)));
                match n % 37 {
                    1 => text.push_str("descripton: typo\n"),
                    2 => text.push_str("timeout: soon\n"),
                    _ => {}
                }
                text.push_str("---\n");
            }
            if f % 41 == 3 {
                text.push_str(&tool("t0")); // a duplicate name across files
            }
            if f % 53 == 7 {
                text.push_str("kind: tool\nname: [unclosed\n");
            }
            files.push(file(&format!("f{f:03}.yaml"), &text));
        }
        let bytes: usize = files.iter().map(|f| f.text.len()).sum();
        assert!(bytes > PARALLEL_PARSE_BYTES, "enough YAML to use threads: {bytes}");
        let parallel = compile_cached(&files, &mut ParseCache::default());
        let serial = compile_cached(&files, &mut ParseCache { serial: true, ..ParseCache::default() });
        assert!(parallel.diagnostics.len() > 10, "{:?}", parallel.diagnostics.len());
        for code in [Code::UndeclaredVariable, Code::TemplateSyntax, Code::DuplicateToolName, Code::UnknownField] {
            assert!(parallel.diagnostics.iter().any(|d| d.code == code), "{code:?} among the diagnostics");
        }
        assert_eq!(parallel.diagnostics, serial.diagnostics);
        let fixed: Vec<SourceFile> = files
            .iter()
            .filter(|f| !f.text.contains("[unclosed") && !f.text.contains("descripton") && !f.name.ends_with("9.yaml"))
            .cloned()
            .collect();
        let fixed: Vec<SourceFile> = fixed
            .into_iter()
            .filter(|f| !f.text.contains("soon") && !["f003.yaml", "f044.yaml", "f085.yaml"].contains(&f.name.as_str()))
            .collect();
        let a = compile_cached(&fixed, &mut ParseCache::default());
        let b = compile_cached(&fixed, &mut ParseCache { serial: true, ..ParseCache::default() });
        assert_eq!(a.diagnostics, b.diagnostics);
        let (a, b) = (a.catalog, b.catalog);
        assert!(a.as_ref().is_some_and(|c| c.tools().len() > 300), "a catalog of the good files");
        let names = |c: &Option<Catalog>| c.as_ref().map(|c| c.tools().iter().map(|t| t.name.clone()).collect::<Vec<_>>());
        assert_eq!(names(&a), names(&b));
        assert_eq!(a.map(|c| c.hash().to_owned()), b.map(|c| c.hash().to_owned()));
    }
}
