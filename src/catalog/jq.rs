//! jq projections of JSON responses (`response.jq`), compiled once per catalog with jaq.
//!
//! Filters are compiled with jaq's core definitions, its standard library and its JSON
//! functions, minus everything that reads the environment, reads further input, writes to
//! stderr or ends the process. The compiled program is a plain look-up table of terms and
//! function pointers, so it can be shared between threads; the values a filter works on
//! (`jaq_json::Val`, which uses `Rc`) are created and dropped inside a single [`JqFilter::run`]
//! call and never cross a thread boundary.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use jaq_core::load::{self, Arena, File, Loader, lex, parse};
use jaq_core::{Compiler, Ctx, Exn, Vars, compile, data};
use jaq_json::{Num, Val};
use serde_json::{Map, Number, Value};

/// The data kind our filters run on: plain JSON values and no global data besides the program.
type Data = data::JustLut<Val>;

/// The compiled jaq program type.
type Program = jaq_core::Filter<Data>;

/// The most outputs one run may produce before it is stopped with an error.
const MAX_OUTPUTS: usize = 10_000;

/// The deepest nesting of arrays and objects that is converted between serde_json and jaq.
///
/// The conversion is recursive, so this bound keeps it from exhausting the stack.
/// serde_json's own parser stops at a depth of 128, so real responses stay far below it.
const MAX_DEPTH: usize = 512;

/// The longest runtime error message (in bytes) that is passed on to the caller.
///
/// jaq's type errors quote the offending value in full, which can be a whole response.
const MAX_ERROR_LEN: usize = 500;

/// Native (Rust-implemented) filters of jaq-std that are left out.
///
/// `env` reads the process environment, `halt` ends the process when its result is unwrapped
/// with jaq's helpers, `debug_empty` and `stderr_empty` write to the log and stderr, and
/// `localtime` and `strflocaltime` read the system time zone (the `TZ` variable).
const DENIED_NATIVES: &[&str] = &["env", "halt", "debug_empty", "stderr_empty", "localtime", "strflocaltime"];

/// Definitions (written in jq) of jaq-std that are left out because they use a denied native.
const DENIED_DEFS: &[&str] = &["stderr", "debug", "halt", "halt_error"];

/// Names that get a "not available" message instead of "undefined" when a filter uses them.
///
/// `input`, `inputs`, `$ENV`, `input_filename` and the rest are never defined in our
/// compiler in the first place; they are listed so that the error explains why.
const UNAVAILABLE_NAMES: &[&str] = &[
    "env",
    "$ENV",
    "input",
    "inputs",
    "input_filename",
    "input_line_number",
    "halt",
    "halt_error",
    "debug",
    "stderr",
    "debug_empty",
    "stderr_empty",
    "localtime",
    "strflocaltime",
    "get_search_list",
    "get_prog_origin",
    "get_jq_origin",
    "$__prog_args",
];

/// A compiled jq filter.
///
/// Cloning is cheap: the compiled program is behind an [`Arc`]. The type is `Send + Sync`
/// because jaq's compiled program (`jaq_core::Filter`) holds only terms, strings and function
/// pointers; no `Rc`-based value is stored in it.
#[derive(Clone)]
pub struct JqFilter {
    /// The filter source as written in the spec.
    source: Arc<str>,
    /// The compiled program.
    program: Arc<Program>,
    /// Whether the filter is bounded ([`super::jq_bounded`]): a small input runs it in the server.
    bounded: bool,
}

// The catalog that holds filters is shared across tokio tasks, so this must keep holding.
const _: () = {
    const fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    assert_send_sync_clone::<JqFilter>();
};

impl fmt::Debug for JqFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JqFilter").field("source", &&*self.source).finish_non_exhaustive()
    }
}

/// A compile error with a 0-based byte offset into the filter source when jaq gives one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JqCompileError {
    /// A human-readable description of the problem.
    pub message: String,
    /// The 0-based byte offset into the filter source where the problem was found, if known.
    pub offset: Option<usize>,
}

impl JqFilter {
    /// Compiles a filter.
    ///
    /// The standard library is included except anything that reads the environment (`env`,
    /// `$ENV`, `localtime`), reads input (`input`, `inputs`), or ends the process or has side
    /// effects (`halt`, `halt_error`, `debug`, `stderr`, `input_filename`). A filter that uses
    /// one of those fails to compile with a message such as
    /// "`env` is not available in toolwright filters". Module and data imports (`include`,
    /// `import`) are not supported either.
    pub fn compile(source: &str) -> Result<JqFilter, JqCompileError> {
        // jaq parses and compiles by native recursion, one level per operator or bracket, a few
        // KiB of stack each: a long chain (`.|.|.|...`) or deep nesting would overflow a thread's
        // stack and abort the process (lint, or a server's reload). Past a bound it is refused;
        // below it, a large filter compiles on a thread whose stack holds the bound.
        let levels = levels(source);
        if levels > MAX_LEVELS {
            return Err(JqCompileError {
                message: format!(
                    "the filter has {levels} operators, brackets and keywords, more than the {MAX_LEVELS} a filter may have; split the work (a `steps` action's `output`) or simplify it"
                ),
                offset: None,
            });
        }
        if levels <= ON_THIS_THREAD {
            return Self::compile_here(source);
        }
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("jq-compile".to_owned())
                .stack_size(COMPILE_STACK)
                .spawn_scoped(scope, || Self::compile_here(source))
                .map_err(|e| JqCompileError { message: format!("internal: cannot start the jq compiler's thread: {e}"), offset: None })?
                .join()
                .unwrap_or_else(|_| Err(JqCompileError { message: "internal error in the jq compiler".to_owned(), offset: None }))
        })
    }

    /// [`JqFilter::compile`] on this thread.
    fn compile_here(source: &str) -> Result<JqFilter, JqCompileError> {
        // jaq is not expected to panic, but a panic must not take the caller down with it.
        match catch_unwind(AssertUnwindSafe(|| compile_program(source))) {
            Ok(result) => result.map(|program| JqFilter {
                source: Arc::from(source),
                program: Arc::new(program),
                bounded: super::jq_bounded::is_bounded(source),
            }),
            Err(_) => Err(JqCompileError { message: "internal error in the jq compiler".to_owned(), offset: None }),
        }
    }

    /// Runs the filter on one JSON value.
    ///
    /// Returns all outputs; zero outputs give an empty `Vec`. A runtime error (e.g.
    /// `error("x")`, indexing a number) returns `Err(message)`. The work is bounded by the
    /// number of outputs: after 10 000 outputs the run stops with
    /// `Err("jq produced more than 10000 results")`. This never panics and never ends the
    /// process.
    pub fn run(&self, input: &Value) -> Result<Vec<Value>, String> {
        match catch_unwind(AssertUnwindSafe(|| self.run_unguarded(input))) {
            Ok(result) => result,
            Err(_) => Err("internal error while running the jq filter".to_owned()),
        }
    }

    /// Whether the filter is bounded (no recursion, no unbounded generator, at most quadratic
    /// work): see [`super::jq_bounded`].
    pub fn is_bounded(&self) -> bool {
        self.bounded
    }

    /// Returns the filter source as it was given to [`JqFilter::compile`].
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Runs the filter without the panic guard.
    fn run_unguarded(&self, input: &Value) -> Result<Vec<Value>, String> {
        let input = json_to_val(input, 0)?;
        let ctx = Ctx::<Data>::new(&self.program.lut, Vars::new([]));
        let mut outputs = Vec::new();
        for output in self.program.id.run((ctx, input)) {
            if outputs.len() >= MAX_OUTPUTS {
                return Err(format!("jq produced more than {MAX_OUTPUTS} results"));
            }
            // Exceptions are inspected here instead of with `jaq_core::unwrap_valr`,
            // because that helper exits the process on `halt`.
            let value = output.map_err(exception_message)?;
            outputs.push(val_to_json(&value, 0)?);
        }
        Ok(outputs)
    }
}

/// The most operators, brackets and keywords a filter may have (see [`levels`]).
const MAX_LEVELS: usize = 2000;
/// Filters with at most this many compile on the caller's thread (at least 2 MiB of stack,
/// enough in a debug build); larger ones on a thread of [`COMPILE_STACK`].
const ON_THIS_THREAD: usize = 100;
/// The stack of the thread a large filter compiles on: [`MAX_LEVELS`] levels of a debug build's
/// frames with room to spare (only what is touched is ever resident).
const COMPILE_STACK: usize = 256 * 1024 * 1024;

/// An upper bound of how deep jaq's parser and compiler recurse on `source`: every bracket,
/// operator character and keyword counted as one level (each nests at most one term; string
/// contents are counted too, which only errs upward).
fn levels(source: &str) -> usize {
    let symbols = source.bytes().filter(|b| b"([{|,+-*/%<>=!?;".contains(b)).count();
    let keywords = source
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            matches!(*w, "and" | "or" | "if" | "then" | "elif" | "else" | "as" | "reduce" | "foreach" | "try" | "catch" | "label" | "def")
        })
        .count();
    symbols + keywords
}

/// Parses and compiles `source` against the restricted standard library.
fn compile_program(source: &str) -> Result<Program, JqCompileError> {
    let defs = jaq_core::defs().chain(jaq_std::defs().filter(|def| !DENIED_DEFS.contains(&def.name))).chain(jaq_json::defs());
    let funs = jaq_core::funs::<Data>()
        .chain(jaq_std::funs::<Data>().filter(|(name, _, _)| !DENIED_NATIVES.contains(name)))
        .chain(jaq_json::funs::<Data>());

    // The loader's default module reader refuses every `include` and `import` of a module,
    // so no file is ever read.
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader.load(&arena, File { code: source, path: () }).map_err(|errors| load_error(source, errors))?;

    // Data imports (`import "x" as $x;`) are not read by the loader; they would need values
    // supplied at run time, so they are refused here.
    load::import(&modules, |_| Err("data imports are not available in toolwright filters".to_owned()))
        .map_err(|errors| load_error(source, errors))?;

    Compiler::default().with_funs(funs).compile(modules).map_err(|errors| undefined_error(source, errors))
}

/// Returns the byte offset of `part` in `source` if `part` is a slice of `source`.
///
/// jaq reports error positions as string slices of the source it was given.
fn offset_in(source: &str, part: &str) -> Option<usize> {
    let start = source.as_ptr() as usize;
    let end = start + source.len();
    let part_start = part.as_ptr() as usize;
    let inside = part_start >= start && part_start.checked_add(part.len())? <= end;
    inside.then(|| part_start - start)
}

/// Shortens `text` to at most `max` bytes (on a character boundary), marking the cut.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// Describes the token found where something else was expected.
fn describe_found(found: &str) -> String {
    let found = found.trim_start();
    if found.is_empty() { "the end of the filter".to_owned() } else { format!("`{}`", truncate(found, 20)) }
}

/// Describes what the lexer expected, without jaq's `as_str` (which panics on delimiters it
/// does not know).
fn describe_lex_expect(expect: &lex::Expect<&str>) -> &'static str {
    match expect {
        lex::Expect::Digit => "a digit",
        lex::Expect::Ident => "an identifier",
        lex::Expect::Delim("(") => "a closing parenthesis",
        lex::Expect::Delim("[") => "a closing bracket",
        lex::Expect::Delim("{") => "a closing brace",
        lex::Expect::Delim("\"") => "a closing quote",
        lex::Expect::Delim(_) => "a closing delimiter",
        lex::Expect::Escape => "a string escape sequence",
        lex::Expect::Unicode => "a 4-digit hexadecimal code point",
        lex::Expect::Token => "a token",
        // The enum is non-exhaustive; later jaq versions may add variants.
        _ => "something else",
    }
}

/// Appends a note about further errors to a message.
fn with_more(message: String, more: usize) -> String {
    match more {
        0 => message,
        1 => format!("{message} (and 1 more error)"),
        n => format!("{message} (and {n} more errors)"),
    }
}

/// Converts the loader's errors (I/O, lexing, parsing) into one compile error.
fn load_error<P>(source: &str, errors: load::Errors<&str, P>) -> JqCompileError {
    // Each file can have several errors; the first one of the first file is reported.
    let mut described: Vec<(String, Option<usize>)> = Vec::new();
    for (_file, error) in errors {
        match error {
            load::Error::Io(items) => {
                for (path, why) in items {
                    let message = if why == "module loading not supported" {
                        format!("cannot import `{path}`: modules are not available in toolwright filters")
                    } else {
                        format!("cannot import `{path}`: {why}")
                    };
                    described.push((message, offset_in(source, path)));
                }
            }
            load::Error::Lex(items) => {
                for (expect, found) in items {
                    let message = match expect {
                        // Here `found` is the rest of the filter; only its first character
                        // is the culprit.
                        lex::Expect::Token => match found.trim_start().chars().next() {
                            Some(c) => format!("syntax error: unexpected character `{c}`"),
                            None => "syntax error: unexpected end of the filter".to_owned(),
                        },
                        _ => format!("syntax error: expected {}, found {}", describe_lex_expect(&expect), describe_found(found)),
                    };
                    let offset = offset_in(source, found.trim_start()).or_else(|| offset_in(source, found));
                    described.push((message, offset));
                }
            }
            load::Error::Parse(items) => {
                for (expect, found) in items {
                    let message = format!("syntax error: expected {}, found {}", describe_parse_expect(&expect), describe_found(found));
                    described.push((message, offset_in(source, found)));
                }
            }
        }
    }
    first_error(described)
}

/// Describes what the parser expected.
fn describe_parse_expect(expect: &parse::Expect<&str>) -> String {
    match expect {
        parse::Expect::Just(token) => format!("`{token}`"),
        other => other.as_str().to_owned(),
    }
}

/// Converts the compiler's errors (undefined names) into one compile error.
fn undefined_error<P>(source: &str, errors: compile::Errors<&str, P>) -> JqCompileError {
    let described = errors
        .into_iter()
        .flat_map(|(_file, items)| items)
        .map(|(name, undefined)| {
            let message = if UNAVAILABLE_NAMES.contains(&name) {
                format!("`{name}` is not available in toolwright filters")
            } else {
                match undefined {
                    compile::Undefined::Filter(arity) => {
                        format!("undefined filter `{name}/{arity}`")
                    }
                    other => format!("undefined {} `{name}`", other.as_str()),
                }
            };
            (message, offset_in(source, name))
        })
        .collect();
    first_error(described)
}

/// Builds the reported error from the first of several described errors.
fn first_error(mut described: Vec<(String, Option<usize>)>) -> JqCompileError {
    if described.is_empty() {
        return JqCompileError { message: "the jq filter could not be compiled".to_owned(), offset: None };
    }
    let more = described.len() - 1;
    let (message, offset) = described.swap_remove(0);
    JqCompileError { message: with_more(message, more), offset }
}

/// Turns a jaq exception (an error, or a halt that cannot happen with our library) into text.
fn exception_message(exception: Exn<'_, Val>) -> String {
    match exception.get_err() {
        Ok(error) => {
            // `error("x")` carries the value "x"; other errors become a string describing them.
            let message = match error.into_val() {
                Val::TStr(bytes) | Val::BStr(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                other => other.to_string(),
            };
            truncate(&message, MAX_ERROR_LEN)
        }
        Err(other) => match other.get_halt() {
            Ok(code) => format!("the jq filter halted with exit code {code}"),
            Err(_) => "internal error while running the jq filter".to_owned(),
        },
    }
}

/// Converts a serde_json value into a jaq value.
///
/// Integers become jaq integers (big ones, possible with serde_json's `arbitrary_precision`,
/// become big integers); other numbers keep their decimal text, exactly as jaq's own JSON
/// reader does; object key order is kept.
fn json_to_val(value: &Value, depth: usize) -> Result<Val, String> {
    if depth > MAX_DEPTH {
        return Err(format!("the input is nested more than {MAX_DEPTH} levels deep"));
    }
    Ok(match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(number_to_num(n)),
        Value::String(s) => Val::from(s.clone()),
        Value::Array(items) => {
            let items = items.iter().map(|item| json_to_val(item, depth + 1)).collect::<Result<Vec<Val>, String>>()?;
            Val::Arr(jaq_json::Rc::new(items))
        }
        Value::Object(entries) => {
            let entries = entries
                .iter()
                .map(|(key, item)| Ok((Val::from(key.clone()), json_to_val(item, depth + 1)?)))
                .collect::<Result<jaq_json::Map, String>>()?;
            Val::obj(entries)
        }
    })
}

/// Converts a serde_json number into a jaq number without losing precision.
fn number_to_num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        return Num::from_integral(i);
    }
    if let Some(u) = n.as_u64() {
        return Num::from_integral(u);
    }
    let text = n.to_string();
    // An integer literal that fits neither i64 nor u64 only exists with `arbitrary_precision`.
    if !text.contains(['.', 'e', 'E'])
        && let Some(big) = Num::from_str_radix(&text, 10)
    {
        return big;
    }
    // serde_json prints floats in their shortest exact form, and jaq parses decimals lazily
    // from this text, so the value is kept bit for bit.
    Num::Dec(jaq_json::Rc::new(text))
}

/// Converts a jaq value into a serde_json value.
///
/// Strings that hold invalid UTF-8 (possible in jaq, e.g. via `implode`) are converted
/// lossily; objects with non-string keys (possible in jaq via `{(1): 2}`) are an error.
fn val_to_json(value: &Val, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("the jq result is nested more than {MAX_DEPTH} levels deep"));
    }
    Ok(match value {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => num_to_json(n),
        Val::TStr(bytes) | Val::BStr(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        Val::Arr(items) => Value::Array(items.iter().map(|item| val_to_json(item, depth + 1)).collect::<Result<Vec<Value>, String>>()?),
        Val::Obj(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (key, item) in entries.iter() {
                let key = match key {
                    Val::TStr(bytes) | Val::BStr(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                    other => {
                        let key = truncate(&other.to_string(), 40);
                        return Err(format!("the jq result has an object key that is not a string ({key})"));
                    }
                };
                map.insert(key, val_to_json(item, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

/// Converts a jaq number into a serde_json number (or null, as jq does for NaN).
fn num_to_json(n: &Num) -> Value {
    match n {
        Num::Int(i) => Value::Number(Number::from(*i)),
        Num::BigInt(big) => numeric_text_to_json(&big.to_string()),
        Num::Float(f) => float_to_json(*f),
        Num::Dec(text) => numeric_text_to_json(text),
    }
}

/// Converts the text of a number (a decimal, or an integer beyond `isize`) into JSON.
///
/// serde_json's own parsing of float text is not correctly rounded unless its
/// `float_roundtrip` feature is on, so the text is parsed with the standard library, which
/// is. serde_json's parse is kept only when it agrees with that value; that keeps the exact
/// text when serde_json has `arbitrary_precision`, and otherwise it is the same `f64`.
fn numeric_text_to_json(text: &str) -> Value {
    let Ok(float) = text.parse::<f64>() else {
        return Value::Null;
    };
    match text.parse::<Number>() {
        Ok(number) if number.as_f64() == Some(float) => Value::Number(number),
        _ => float_to_json(float),
    }
}

/// Converts a float the way jq prints it: NaN is null, infinities are the largest finite floats.
fn float_to_json(f: f64) -> Value {
    let f = if f == f64::INFINITY {
        f64::MAX
    } else if f == f64::NEG_INFINITY {
        f64::MIN
    } else {
        f
    };
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(filter: &str, input: Value) -> Result<Vec<Value>, String> {
        JqFilter::compile(filter).expect("the filter compiles").run(&input)
    }

    fn compile_err(filter: &str) -> JqCompileError {
        JqFilter::compile(filter).expect_err("the filter must not compile")
    }

    #[test]
    fn projects_incidents() {
        let input = json!({
            "incidents": [
                {"id": 1, "title": "Disk full", "status": "open"},
                {"id": 2, "title": "CPU hot", "status": "closed"}
            ]
        });
        let out = run(".incidents | map({id, title})", input).unwrap();
        assert_eq!(out, vec![json!([{"id": 1, "title": "Disk full"}, {"id": 2, "title": "CPU hot"}])]);
    }

    #[test]
    fn indexes_first_array_element() {
        assert_eq!(run(".[0]", json!([10, 20])).unwrap(), vec![json!(10)]);
    }

    #[test]
    fn missing_path_is_null() {
        assert_eq!(run(".a.b", json!({})).unwrap(), vec![Value::Null]);
    }

    #[test]
    fn error_is_err() {
        assert_eq!(run(r#"error("boom")"#, json!(null)), Err("boom".to_owned()));
    }

    #[test]
    fn indexing_a_number_is_err() {
        let err = run(".a", json!(1)).unwrap_err();
        assert!(err.contains("cannot index"), "{err}");
    }

    #[test]
    fn environment_and_process_filters_do_not_compile() {
        for (filter, name) in [
            ("env", "env"),
            ("$ENV", "$ENV"),
            ("$ENV.HOME", "$ENV"),
            ("env.HOME", "env"),
            ("halt_error", "halt_error"),
            (r#""x" | halt_error(1)"#, "halt_error"),
            ("halt", "halt"),
            ("input", "input"),
            ("inputs", "inputs"),
            ("debug", "debug"),
            ("debug(1)", "debug"),
            ("stderr", "stderr"),
            ("input_filename", "input_filename"),
            ("localtime", "localtime"),
        ] {
            let err = compile_err(filter);
            assert_eq!(err.message, format!("`{name}` is not available in toolwright filters"), "filter {filter}");
            assert_eq!(err.offset, filter.find(name), "filter {filter}");
        }
    }

    #[test]
    fn native_helpers_behind_denied_defs_are_gone() {
        for filter in ["stderr_empty", "debug_empty", "halt(0)"] {
            let err = compile_err(filter);
            assert!(err.message.contains("not available"), "{filter}: {}", err.message);
        }
    }

    #[test]
    fn user_definitions_may_reuse_denied_names() {
        assert_eq!(run("def env: 1; env", json!(null)).unwrap(), vec![json!(1)]);
    }

    #[test]
    fn imports_do_not_compile() {
        let err = compile_err(r#"include "foo"; ."#);
        assert!(err.message.contains("not available"), "{}", err.message);
        assert_eq!(err.offset, Some(9));
        let err = compile_err(r#"import "data" as $d; $d"#);
        assert!(err.message.contains("not available"), "{}", err.message);
        assert_eq!(err.offset, Some(8));
    }

    #[test]
    fn syntax_error_has_offset() {
        let err = compile_err(".[");
        assert!(err.message.starts_with("syntax error"), "{}", err.message);
        assert!(err.offset.is_some(), "{err:?}");
        let err = compile_err(".a | | .b");
        assert!(err.message.starts_with("syntax error"), "{}", err.message);
        assert_eq!(err.offset, Some(5));
        let err = compile_err(".a & .b");
        assert_eq!(err.offset, Some(3), "{err:?}");
    }

    #[test]
    fn undefined_filter_has_offset() {
        let err = compile_err(".a | frobnicate");
        assert_eq!(err.message, "undefined filter `frobnicate/0`");
        assert_eq!(err.offset, Some(5));
    }

    #[test]
    fn output_count_is_bounded() {
        assert_eq!(run("range(100000)", json!(null)), Err("jq produced more than 10000 results".to_owned()));
        assert_eq!(run("range(10000)", json!(null)).unwrap().len(), 10_000);
    }

    #[test]
    fn empty_gives_no_outputs() {
        assert_eq!(run("empty", json!({"a": 1})).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn numbers_round_trip_exactly() {
        let input = json!([0, -1, 1.5, -0.0, 1e300, 2.5e-8, 1.0, i64::MIN, i64::MAX, u64::MAX, 0.1, 123456789.12345679]);
        let out = run(".", input.clone()).unwrap();
        assert_eq!(out, vec![input.clone()]);
        assert_eq!(serde_json::to_string(&out[0]).unwrap(), serde_json::to_string(&input).unwrap());
        // Arithmetic on integers stays integral, also beyond i64 while it fits u64.
        assert_eq!(run(". + 1", json!(i64::MAX)).unwrap(), vec![json!(9223372036854775808u64)]);
        assert_eq!(run(".[0] + .[1]", json!([1, 2])).unwrap(), vec![json!(3)]);
        assert_eq!(run(".[0] + .[1]", json!([0.1, 0.2])).unwrap(), vec![json!(0.1 + 0.2)]);
        assert_eq!(run(". == 1.5", json!(1.5)).unwrap(), vec![json!(true)]);
        assert_eq!(run("nan", json!(null)).unwrap(), vec![Value::Null]);
        assert_eq!(run("infinite", json!(null)).unwrap(), vec![json!(f64::MAX)]);
        // Decimal literals in the filter and big integers convert exactly too.
        assert_eq!(run("0.1, 1.50, 1e400", json!(null)).unwrap(), vec![json!(0.1), json!(1.5), json!(f64::MAX)]);
        assert_eq!(run("18446744073709551615 + 1", json!(null)).unwrap(), vec![json!(18446744073709551616.0)]);
    }

    #[test]
    fn key_order_and_nesting_are_preserved() {
        let input = json!({"z": 1, "a": {"y": [1, {"c": null, "b": [true, "s"]}], "x": {}}, "m": []});
        let out = run(".", input.clone()).unwrap();
        assert_eq!(serde_json::to_string(&out[0]).unwrap(), serde_json::to_string(&input).unwrap());
        let out = run("{z: .z, a: .a.x, b: 2}", input).unwrap();
        assert_eq!(serde_json::to_string(&out[0]).unwrap(), r#"{"z":1,"a":{},"b":2}"#);
    }

    #[test]
    fn non_string_keys_are_an_error() {
        let err = run("{(1): 2}", json!(null)).unwrap_err();
        assert!(err.contains("not a string"), "{err}");
    }

    #[test]
    fn too_deep_results_are_an_error() {
        let err = run("reduce range(600) as $i (null; [.])", json!(null)).unwrap_err();
        assert!(err.contains("nested"), "{err}");
    }

    #[test]
    fn long_error_messages_are_truncated() {
        let err = run(".a", json!("x".repeat(2000))).unwrap_err();
        assert!(err.starts_with("cannot index"), "{err}");
        assert!(err.len() <= MAX_ERROR_LEN + 3, "{}", err.len());
    }

    #[test]
    fn standard_library_works() {
        let input = json!({"items": [{"n": "b", "v": 2}, {"n": "a", "v": 1}]});
        let out = run(r#"[.items | sort_by(.v)[] | .n] | join(",") | ascii_upcase | test("A,B")"#, input).unwrap();
        assert_eq!(out, vec![json!(true)]);
        let out = run(r#"to_entries | map(.key) | first"#, json!({"k": 1})).unwrap();
        assert_eq!(out, vec![json!("k")]);
        let out = run(r#"try error("x") catch ."#, json!(null)).unwrap();
        assert_eq!(out, vec![json!("x")]);
    }

    #[test]
    fn filter_is_shareable_and_debug_prints_source() {
        let filter = JqFilter::compile(".a").unwrap();
        assert_eq!(filter.source(), ".a");
        assert!(format!("{filter:?}").contains("\".a\""));
        let clone = filter.clone();
        let handle = std::thread::spawn(move || clone.run(&json!({"a": 5})));
        assert_eq!(handle.join().unwrap(), Ok(vec![json!(5)]));
    }
}
