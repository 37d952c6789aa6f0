//! The compiler's working state and the helpers every compile step uses: diagnostics at a
//! JSON pointer, names, durations, templates (compiled, checked and their variables
//! recorded) and connection references.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use regex::Regex;

use crate::catalog::Template;
use crate::catalog::jq::JqFilter;
use crate::catalog::template::{self, Escape, Simple};
use crate::connections::Connection;
use crate::diag::{Code, Diagnostic, LineIndex};
use crate::spec::yaml::Pos;
use crate::spec::{Document, Locator, SourceFile};
use crate::util::{did_you_mean, is_template, parse_duration};

static NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.-]{1,128}$").expect("static regex"));
static RAW_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\|\s*raw\b").expect("static regex"));
static SECRET_CALL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bsecret\s*\(").expect("static regex"));

/// Where templates of one tool were read from, to attribute variables.
pub(crate) struct TemplateUse {
    pub(crate) vars: BTreeSet<String>,
    /// The variables with the attributes read of them (`steps.create.id`); a variable read
    /// otherwise than by attributes is there alone.
    pub(crate) paths: BTreeSet<String>,
    pub(crate) ctx: Escape,
    pub(crate) pointer: String,
    /// The template may guard what it reads (`default`, `is defined`, a `{% %}` block), so
    /// an absent optional argument is not necessarily an error.
    pub(crate) guarded: bool,
}

/// The state of one compiling thread: its diagnostics, and the templates it compiled.
pub(crate) struct Compiler<'a> {
    pub(crate) files: &'a [SourceFile],
    pub(crate) indexes: &'a [LineIndex],
    /// A scratch environment: each minijinja template is compiled here to check it and read
    /// its variables, then removed; the catalog's environment is built from `templates`.
    env: minijinja::Environment<'static>,
    pub(crate) diags: Vec<Diagnostic>,
    template_count: usize,
    /// This compiler's number, part of its template names (several compile tools at once).
    id: usize,
    /// Every minijinja template compiled, as (name, source), in compile order.
    pub(crate) templates: Vec<(String, String)>,
    /// Of the last tool compiled: its examples' prepared arguments (see `example_args`).
    pub(crate) examples: Vec<super::examples::ExampleArgs>,
    /// Of the last tool compiled: its tests (see `tool_tests`).
    pub(crate) tests: Vec<crate::testing::ToolTest>,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(files: &'a [SourceFile], indexes: &'a [LineIndex], id: usize) -> Self {
        Compiler {
            files,
            indexes,
            env: template::environment(),
            diags: Vec::new(),
            template_count: 0,
            id,
            templates: Vec::new(),
            examples: Vec::new(),
            tests: Vec::new(),
        }
    }

    pub(crate) fn loc(&self, file: usize) -> Locator<'_> {
        Locator { file: &self.files[file].name, index: &self.indexes[file] }
    }

    pub(crate) fn push(&mut self, doc: &Document, code: Code, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        let d = self.loc(doc.file).diag(code, doc.pointers.node(pointer), message);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    pub(crate) fn push_key(&mut self, doc: &Document, code: Code, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        let d = self.loc(doc.file).diag(code, doc.pointers.key(pointer), message);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    pub(crate) fn place(&self, file: usize, pos: Pos) -> String {
        format!("{}:{}:{}", self.files[file].name, pos.line, pos.column)
    }

    pub(crate) fn check_name(&mut self, doc: &Document, name: &str, what: &str) -> bool {
        if NAME_RE.is_match(name) {
            return true;
        }
        self.push(doc, Code::InvalidName, "/name", format!("{what} name `{name}` does not match ^[A-Za-z0-9_.-]{{1,128}}$")).help =
            Some("use letters, digits, `_`, `.` and `-`, at most 128 characters".to_owned());
        false
    }

    pub(crate) fn duplicate(&mut self, code: Code, what: &str, name: &str, first: (usize, Pos), second: (usize, Pos)) {
        let here = self.place(second.0, second.1);
        let there = self.place(first.0, first.1);
        let d2 = self.loc(second.0).diag(code, second.1, format!("duplicate {what} name `{name}`; first defined at {there}"));
        let d1 = self.loc(first.0).diag(code, first.1, format!("{what} name `{name}` is defined again at {here}"));
        self.diags.push(d2);
        self.diags.push(d1);
    }

    pub(crate) fn duration(&mut self, doc: &Document, pointer: &str, s: &str) -> Option<Duration> {
        match parse_duration(s) {
            Ok(d) => Some(d),
            Err(m) => {
                self.push(doc, Code::InvalidDuration, pointer, m);
                None
            }
        }
    }

    /// Compiles a template (or keeps a literal) and records the variables it reads.
    pub(crate) fn template(
        &mut self,
        doc: &Document,
        pointer: &str,
        source: &str,
        ctx: Escape,
        uses: &mut Vec<TemplateUse>,
    ) -> Option<Template> {
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
            return Some(Template::Literal(source.to_owned()));
        }
        if let Some(simple) = Simple::parse(source, ctx) {
            let vars: BTreeSet<String> = simple.variables().map(str::to_owned).collect();
            uses.push(TemplateUse { paths: vars.clone(), vars, ctx, pointer: pointer.to_owned(), guarded: false });
            return Some(Template::Simple(simple));
        }
        self.template_count += 1;
        let name = template::template_name(ctx, &format!("{}.{}#{}", self.id, self.template_count, pointer));
        if let Err(e) = self.env.add_template_owned(name.clone(), source.to_owned()) {
            let off = e.range().map_or_else(|| line_offset(source, e.line().unwrap_or(1)), |r| r.start);
            let pos = self.offset_pos(doc, pointer, source, off);
            let msg = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
            let d = self.loc(doc.file).diag(Code::TemplateSyntax, pos, format!("template syntax error: {msg}"));
            self.diags.push(d);
            return None;
        }
        let (vars, paths) = match self.env.get_template(&name) {
            Ok(t) => (t.undeclared_variables(false), t.undeclared_variables(true)),
            Err(_) => Default::default(),
        };
        self.env.remove_template(&name);
        // Names of minijinja's globals (`secret`, `range`, `namespace`, ...) are kept: whether
        // one is an argument depends on `input`, which the caller knows (see `tools.rs`).
        let vars = vars.into_iter().collect();
        let guarded =
            source.contains("default") || source.contains(" is defined") || source.contains(" is undefined") || source.contains("{%");
        let paths = paths.into_iter().collect();
        uses.push(TemplateUse { vars, paths, ctx, pointer: pointer.to_owned(), guarded });
        self.templates.push((name.clone(), source.to_owned()));
        Some(Template::Named(name))
    }

    /// Maps a byte offset inside a template string to a position in the YAML source.
    pub(crate) fn offset_pos(&self, doc: &Document, pointer: &str, value: &str, off: usize) -> Pos {
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

    /// Compiles a jq filter at `pointer` (`response.jq`, a step's `output`, a watch's
    /// `fail_when`, ...); a compile error is reported at its offset in the filter and sets `ok`
    /// to false.
    pub(crate) fn jq_filter(&mut self, doc: &Document, pointer: &str, src: &str, ok: &mut bool) -> Option<Arc<JqFilter>> {
        match JqFilter::compile(src) {
            Ok(f) => Some(Arc::new(f)),
            Err(e) => {
                let pos = self.offset_pos(doc, pointer, src, e.offset.unwrap_or(0));
                let d = self.loc(doc.file).diag(Code::InvalidJq, pos, format!("jq filter does not compile: {}", e.message));
                self.diags.push(d);
                *ok = false;
                None
            }
        }
    }

    /// Reports an input property named `name`, which the templates of an `owner` action (`steps`,
    /// `watch`) reserve for `what`; true when `input` does not declare it. Said once per
    /// property, however many actions of a tool reserve the name.
    pub(crate) fn reserved_input(&mut self, doc: &Document, name: &str, owner: &str, what: &str) -> bool {
        let declared = doc.json.get("input").and_then(|i| i.get("properties")).and_then(|p| p.get(name)).is_some();
        if declared {
            let message = format!("input property `{name}` takes a name a {owner} tool's templates reserve for {what}");
            let d = self
                .loc(doc.file)
                .diag(Code::ReservedInputName, doc.pointers.key(&format!("/input/properties/{name}")), message)
                .with_help(format!("rename the property; templates read it as `{name}` otherwise"));
            if !self.diags.iter().any(|s| s.code == d.code && s.file == d.file && s.span == d.span) {
                self.diags.push(d);
            }
        }
        !declared
    }

    pub(crate) fn resolve_connection(
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
                let kind = c.kind();
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
}

impl Compiler<'_> {
    /// The first place from the node at `start` (`/action`, `/messages`, ...) onwards that
    /// mentions a variable inside a template, or that node.
    pub(crate) fn find_var(&self, doc: &Document, start: &str, var: &str) -> Pos {
        let re = Regex::new(&format!(r"\b{}\b", regex::escape(var))).ok();
        let from = doc.pointers.node(start);
        let index = &self.indexes[doc.file];
        if let Some(re) = re {
            let mut line = from.line;
            while let Some(text) = index.line(line) {
                if let Some(m) = re.find_iter(text).find(|m| text[..m.start()].contains("{{") || text[..m.start()].contains("{%")) {
                    let col = text[..m.start()].chars().count();
                    return Pos { line, column: u32::try_from(col).unwrap_or(0) + 1, len: u32::try_from(var.chars().count()).unwrap_or(1) };
                }
                line += 1;
                if line > from.line + 10_000 {
                    break;
                }
            }
        }
        from
    }
}

/// Byte offset of the start of a 1-based line in a template source.
fn line_offset(source: &str, line: usize) -> usize {
    source.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum()
}
