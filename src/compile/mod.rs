//! The one compile: spec files in, a [`Catalog`] and every diagnostic out, in one pass that
//! never stops at the first problem. `lint`, `serve`'s start and every reload call
//! [`compile_dirs`]; [`compile`] is the same on files already loaded.
//!
//! - `mod.rs`: the pipeline (parse on several threads, connections, tools on several
//!   threads, the catalog's template environment, examples rendered once the catalog exists);
//! - `context.rs`: the compiler's state and the helpers every step uses (diagnostics,
//!   templates, durations, connection references);
//! - `connections.rs`, `tools.rs`, `schemas.rs`, `examples.rs`, `window.rs`, `secrets.rs`,
//!   `arguments.rs` (what templates read; the arguments of prompts and resource templates):
//!   one concern each; each action and connection kind compiles in its own folder
//!   (`actions/<kind>/compile.rs`, `connections/<kind>/compile.rs`), and so do the document
//!   kinds that have one (`prompts/compile.rs`, `resources/compile.rs`).
//!
//! Architecture invariant: no network I/O and no panic on any input.

pub(crate) mod arguments;
mod confirm;
mod connections;
pub(crate) mod context;
pub(crate) mod examples;
mod hints;
mod schemas;
mod secrets;
mod tool_tests;
pub mod tools;
mod window;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::actions::Connections;
use crate::catalog::{Catalog, CompiledTool, Surface, template};
use crate::diag::{self, Code, Diagnostic, LineIndex};
use crate::spec::model::ToolSpec;
use crate::spec::yaml::Pos;
use crate::spec::{self, Document, SourceFile, Spec};
pub(crate) use context::Compiler;
use examples::{ExampleArgs, render_examples};
pub use hints::hints;

/// What a compile returns: the catalog when there are no errors, and every diagnostic.
pub struct Compiled {
    /// The catalog, if no diagnostic is an error.
    pub catalog: Option<Catalog>,
    /// Every diagnostic, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Line indexes of the files, for rendering diagnostics.
    pub sources: HashMap<String, LineIndex>,
    /// The parsed documents. Nothing reads them after the compile; they are handed out so
    /// that the caller chooses when to free them (`serve` frees them once it is answering,
    /// `lint` never: the process ends first).
    pub documents: Documents,
    /// The files are those of the catalog in force (see [`compile_dirs`]): nothing was compiled.
    pub unchanged: bool,
    /// The tools' `tests`, in document order (for `toolwright test`; nothing else reads them).
    pub tests: Vec<crate::testing::ToolTest>,
}

/// The parsed documents, by file (see [`Compiled::documents`]), with the files' names: what
/// checks after the compile (`lint --check-env`) need to say where a connection or tool is.
#[derive(Default)]
pub struct Documents {
    per_file: Vec<Vec<Document>>,
    names: Vec<String>,
}

impl Documents {
    /// The file and position of the value at `pointer` (such as `/name`) in the document of
    /// `kind` (`tool` or `connection`) named `name`.
    pub fn locate(&self, kind: &str, name: &str, pointer: &str) -> Option<(&str, Pos)> {
        self.per_file.iter().flatten().find_map(|doc| {
            let json = &doc.json;
            (json.get("kind").and_then(serde_json::Value::as_str) == Some(kind)
                && json.get("name").and_then(serde_json::Value::as_str) == Some(name))
            .then(|| (self.names.get(doc.file).map_or("", String::as_str), doc.pointers.node(pointer)))
        })
    }
}

/// Loads and compiles every spec under `roots` (lint, serve's start and reload).
///
/// `in_force` is the hash of the catalog being served, on a reload: when the files hash the
/// same and loaded cleanly, nothing is compiled and the result says `unchanged`. On a
/// reload an empty set of files yields no catalog, since an emptied directory is far more
/// often a broken mount than a wish to serve no tools (the `no-specs` warning says why).
/// Without files, the result holds a `no-specs` warning; with any error, no catalog.
pub fn compile_dirs(roots: &[PathBuf], in_force: Option<&str>) -> Compiled {
    let (files, load_diags) = spec::load(roots);
    if let Some(hash) = in_force
        && load_diags.is_empty()
        && content_hash(&files) == hash
    {
        return Compiled {
            catalog: None,
            diagnostics: Vec::new(),
            sources: HashMap::new(),
            documents: Documents::default(),
            unchanged: true,
            tests: Vec::new(),
        };
    }
    let mut compiled = compile(&files);
    compiled.diagnostics.extend(load_diags);
    hint_single_files(roots, &files, &mut compiled.diagnostics);
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
    if compiled.diagnostics.iter().any(Diagnostic::is_error) || (in_force.is_some() && files.is_empty()) {
        compiled.catalog = None;
    }
    // A catalog whose resources read files hashes them too, so the spec files alone never match
    // the hash in force above: a compile that gives the same catalog changed nothing either.
    if let (Some(hash), Some(catalog)) = (in_force, &compiled.catalog)
        && catalog.hash() == hash
    {
        compiled.catalog = None;
        compiled.unchanged = true;
    }
    compiled
}

/// A file given alone (`lint tools.d/one.yaml`) does not see the connections of the files
/// beside it: an unknown connection then says where it may be, and how to lint them together.
fn hint_single_files(roots: &[PathBuf], files: &[SourceFile], diags: &mut [Diagnostic]) {
    for root in roots.iter().filter(|r| r.is_file()) {
        let Some(name) = files.iter().map(|f| f.name.as_str()).find(|n| std::path::Path::new(n) == root.as_path()) else { continue };
        let dir = root.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        for d in diags.iter_mut().filter(|d| d.code == Code::UnknownConnection && d.file == name) {
            d.help = Some(format!(
                "{}; only `{name}` was read: the connection may be defined in another file, so lint the directory (`toolwright lint {}`)",
                d.help.as_deref().unwrap_or("define it in a `kind: connection` document"),
                dir.display()
            ));
        }
    }
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

/// The catalog's hash: [`content_hash`] of the spec files, and when resources read files
/// (`file:`), over that hash and each of those files too, so that a reload sees an edited one.
fn catalog_hash(files: &[SourceFile], read: &[(String, Arc<[u8]>)]) -> String {
    let specs = content_hash(files);
    if read.is_empty() {
        return specs;
    }
    let mut h = Sha256::new();
    h.update(specs.as_bytes());
    for (name, bytes) in read {
        h.update([0]);
        h.update(name.as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// At most this many threads parse files and compile tools.
const PARSE_THREADS: usize = 4;
/// Below this much YAML, threads cost more than they save.
const PARALLEL_PARSE_BYTES: usize = 64 * 1024;

/// Parses every file, on several threads when there is enough YAML (parsing and the format
/// check are about half of a compile); documents and diagnostics come back in file order.
/// The documents of one file and the diagnostics of parsing it.
type ParsedFile = (Vec<Document>, Vec<Diagnostic>);

fn parse_files(files: &[SourceFile], indexes: &[LineIndex], serial: bool) -> Vec<ParsedFile> {
    let parse_one = |i: usize| {
        let mut diags = Vec::new();
        let docs = spec::parse_file(i, &files[i], &indexes[i], &mut diags);
        (docs, diags)
    };
    let bytes: usize = files.iter().map(|f| f.text.len()).sum();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(PARSE_THREADS).min(files.len());
    if serial || threads < 2 || bytes < PARALLEL_PARSE_BYTES {
        return (0..files.len()).map(parse_one).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let parse_some = || {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= files.len() {
                break out;
            }
            out.push((i, parse_one(i)));
        }
    };
    let mut parsed: Vec<(usize, ParsedFile)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(parse_some)).collect();
        let mut all = parse_some();
        for h in helpers {
            // A panic in a helper is a bug like any other: pass it on.
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    parsed.sort_by_key(|(i, _)| *i);
    parsed.into_iter().map(|(_, p)| p).collect()
}

/// Compiles loaded files into a catalog.
pub fn compile(files: &[SourceFile]) -> Compiled {
    compile_with(files, false)
}

/// [`compile`], on this thread only when `serial` (tests compare both ways).
fn compile_with(files: &[SourceFile], serial: bool) -> Compiled {
    let indexes: Vec<LineIndex> = files.iter().map(|f| LineIndex::new(&f.text)).collect();
    let mut diags = Vec::new();
    let mut per_file = Vec::with_capacity(files.len());
    for (docs, file_diags) in parse_files(files, &indexes, serial) {
        diags.extend(file_diags);
        per_file.push(docs);
    }
    let docs: Vec<&Document> = per_file.iter().flat_map(|d| d.iter()).collect();
    let mut c = Compiler::new(files, &indexes, 0);
    c.diags = diags;

    // Connections first: tools refer to them.
    let mut connections: Connections = HashMap::new();
    let mut conn_places: HashMap<String, (usize, Pos)> = HashMap::new();
    for doc in &docs {
        if let Spec::Connection(spec) = &doc.spec {
            let pos = doc.pointers.node("/name");
            if c.check_name(doc, &spec.name, "connection") {
                if let Some((f, p)) = conn_places.get(&spec.name) {
                    c.duplicate(Code::DuplicateConnectionName, "connection", &spec.name, (*f, *p), (doc.file, pos));
                    continue;
                }
                conn_places.insert(spec.name.clone(), (doc.file, pos));
            }
            if let Some(conn) = c.connection(doc, spec) {
                connections.insert(spec.name.clone(), Arc::new(conn));
            }
        }
    }

    c.check_connection_references(&docs, &mut connections);

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
    let mut tests = Vec::new();
    for done in compile_tools(files, &indexes, &jobs, &connections, serial) {
        c.diags.extend(done.diags);
        c.templates.extend(done.templates);
        tests.extend(done.tests);
        if let Some(tool) = done.tool {
            tools.push((tool, done.di, done.examples));
        }
    }

    // Resources before prompts: a prompt's message may name a resource.
    let mut resources = crate::resources::compile::compile_all(&mut c, &docs, &connections);
    let prompts = crate::prompts::compile::compile_all(&mut c, &docs, &connections, &mut resources.files);

    // The catalog's environment: every template again, each compiled and checked once above.
    let mut env = template::environment();
    for (name, source) in std::mem::take(&mut c.templates) {
        // It compiled in an environment with the same settings, so this cannot fail.
        let _ = env.add_template_owned(name, source);
    }
    let mut diags = std::mem::take(&mut c.diags);
    // A catalog exists to check examples against even when errors exist elsewhere.
    let mut tools_sorted: Vec<(Arc<CompiledTool>, usize, Vec<ExampleArgs>)> =
        tools.into_iter().map(|(t, di, examples)| (Arc::new(t), di, examples)).collect();
    tools_sorted.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let surface = Surface { prompts, resources: resources.resources, resource_templates: resources.templates };
    let hash = catalog_hash(files, &resources.files);
    let catalog = Catalog::new(tools_sorted.iter().map(|(t, _, _)| t.clone()).collect(), connections, env, hash).with_surface(surface);
    for (tool, di, examples) in &tools_sorted {
        let doc = &docs[*di];
        render_examples(&catalog, tool, doc, examples, &files[doc.file].name, &indexes[doc.file], &mut diags);
    }
    diag::sort(&mut diags);
    let ok = !diags.iter().any(Diagnostic::is_error);
    let sources = files.iter().zip(indexes).map(|(f, i)| (f.name.clone(), i)).collect();
    drop(docs);
    let documents = Documents { per_file, names: files.iter().map(|f| f.name.clone()).collect() };
    Compiled { catalog: ok.then_some(catalog), diagnostics: diags, sources, documents, unchanged: false, tests }
}

/// One tool compiled: the tool when it has no errors, its diagnostics and its templates.
struct ToolDone {
    di: usize,
    tool: Option<CompiledTool>,
    diags: Vec<Diagnostic>,
    templates: Vec<(String, String)>,
    /// Its examples' prepared arguments (see `Compiler::example_args`).
    examples: Vec<ExampleArgs>,
    /// Its tests.
    tests: Vec<crate::testing::ToolTest>,
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
    conns: &Connections,
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
                let tool = c.tool(doc, spec, conns);
                out.push(ToolDone {
                    di,
                    tool,
                    diags: std::mem::take(&mut c.diags),
                    templates: std::mem::take(&mut c.templates),
                    examples: std::mem::take(&mut c.examples),
                    tests: std::mem::take(&mut c.tests),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::LazyValidator;
    use crate::diag::Code;

    fn file(name: &str, text: &str) -> SourceFile {
        SourceFile { name: name.to_owned(), relative: name.to_owned(), text: text.to_owned() }
    }

    fn tool(name: &str) -> String {
        format!("kind: tool\nname: {name}\ndescription: d\ninput: {{type: object}}\naction:\n  http: {{url: \"https://example.com/x\"}}\n")
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

    /// A resource's file is part of the catalog's hash: an edited file is a new catalog, an
    /// unchanged one (spec files and file alike) is `unchanged` for a reload.
    #[test]
    fn resource_files_are_part_of_the_hash() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("tools.d");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::write(root.join("runbook.md"), "first\n").expect("write");
        std::fs::write(root.join("r.yaml"), "kind: resource\nuri: runbook://one\nname: one\nfile: runbook.md\n").expect("write");
        let roots = [root.clone()];
        let first = compile_dirs(&roots, None).catalog.expect("catalog");
        let files_only = content_hash(&spec::load(&roots).0);
        assert_ne!(first.hash(), files_only, "the file is hashed too");
        let again = compile_dirs(&roots, Some(first.hash()));
        assert!(again.unchanged && again.catalog.is_none(), "same files: nothing to do");
        std::fs::write(root.join("runbook.md"), "second\n").expect("write");
        let edited = compile_dirs(&roots, Some(first.hash()));
        let edited = edited.catalog.expect("a new catalog");
        assert_ne!(edited.hash(), first.hash());
        match &edited.resource("runbook://one").expect("resource").body {
            crate::resources::Body::Text(t) => assert_eq!(&**t, "second\n"),
            other => panic!("text expected, got {other:?}"),
        }
    }

    /// A Kubernetes ConfigMap mount: every file a symlink into `..data`, itself a symlink to a
    /// timestamped directory. A resource file read through them stays under the spec's directory.
    #[cfg(unix)]
    #[test]
    fn resource_files_of_a_configmap_mount_are_inside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("tools.d");
        let stamped = root.join("..2026_01_01_00_00_00.1");
        std::fs::create_dir_all(&stamped).expect("mkdir");
        std::fs::write(stamped.join("runbook.md"), "from the ConfigMap\n").expect("write");
        std::fs::write(stamped.join("r.yaml"), "kind: resource\nuri: runbook://one\nname: one\nfile: runbook.md\n").expect("write");
        std::os::unix::fs::symlink("..2026_01_01_00_00_00.1", root.join("..data")).expect("symlink");
        for name in ["runbook.md", "r.yaml"] {
            std::os::unix::fs::symlink(format!("..data/{name}"), root.join(name)).expect("symlink");
        }
        let compiled = compile_dirs(&[root], None);
        assert!(compiled.diagnostics.is_empty(), "{:?}", compiled.diagnostics);
        let catalog = compiled.catalog.expect("catalog");
        assert!(
            matches!(&catalog.resource("runbook://one").expect("resource").body, crate::resources::Body::Text(t) if &**t == "from the ConfigMap\n")
        );
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
        let parallel = compile_with(&files, false);
        let serial = compile_with(&files, true);
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
        let a = compile_with(&fixed, false);
        let b = compile_with(&fixed, true);
        assert_eq!(a.diagnostics, b.diagnostics);
        let (a, b) = (a.catalog, b.catalog);
        assert!(a.as_ref().is_some_and(|c| c.tools().len() > 300), "a catalog of the good files");
        let names = |c: &Option<Catalog>| c.as_ref().map(|c| c.tools().iter().map(|t| t.name.clone()).collect::<Vec<_>>());
        assert_eq!(names(&a), names(&b));
        assert_eq!(a.map(|c| c.hash().to_owned()), b.map(|c| c.hash().to_owned()));
    }
}
