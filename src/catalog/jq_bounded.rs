//! Which jq filters may run inside the server instead of in a worker process.
//!
//! Every jq run goes to a worker process (see `jq_worker`) because jaq has no fuel: a filter that
//! recurses overflows the stack and aborts the process, one that loops never gives its thread back,
//! one that builds a huge value aborts on a failed allocation. A pipe round trip to a worker costs
//! two context switches and a copy of the input each way, which for a one-line predicate judged a
//! thousand times a second (a watch's `fail_when`) is most of the work.
//!
//! A filter is *bounded* when its own text rules all of that out, and then a small input runs it
//! in the server. The analysis reads the parsed filter (never the standard library's definitions,
//! which are fixed and listed here by name) and accepts a filter only when:
//!
//! - it defines nothing (`def`: the only way to recurse in jq) and has no `reduce`, `foreach`,
//!   `..` or call of anything outside [`ALLOWED`], which leaves out every generator that is not
//!   bounded by its input (`range`, `repeat`, `while`, `until`, `recurse`, `limit(n; repeat)`, ...),
//!   every recursive walk (`paths`, `walk`, `flatten`, `tostream`) and `fromjson` (a parser of
//!   untrusted nesting);
//! - its work is at most quadratic in the size of its input: each iteration (`.[]`, `map`, `any`,
//!   a call with a generator argument) raises the degree of what follows it, and a product of two
//!   iterations (`.[] as $x | .[] | ...`, `.[] + .[]`) is degree 2; three is refused; and what it
//!   yields or collects (`[...]`) is at most linear (a product of two iterations, even one that
//!   a `select` thins out, is left to a worker);
//! - a `*` has a number literal of at most [`MAX_REPEAT`] on one side (a string times a number
//!   repeats the string, so `.name * .count` could ask for any amount of memory).
//!
//! The input bound ([`MAX_INLINE_INPUT`] bytes of JSON) keeps the quadratic worst case small; a
//! larger input, or a filter that is not bounded, runs in a worker as before.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use jaq_core::ops::Math;
use jaq_core::path::Part;

/// The largest input (bytes of JSON) a bounded filter runs on inside the server.
///
/// Quadratic work on 8 KiB is at most tens of millions of steps of jaq's evaluator (and as many
/// bytes, when each step copies a value bound to a variable); the inputs of predicates (a
/// metric, a status answer) are far below it.
pub const MAX_INLINE_INPUT: usize = 8 * 1024;

/// The largest number literal a `*` may have on one side (`. * 100` for a percentage).
const MAX_REPEAT: f64 = 1000.0;

/// The highest polynomial degree of work (in the size of the input) a bounded filter may do.
const MAX_DEGREE: u32 = 2;

/// The deepest term a bounded filter may have: jaq evaluates by recursion along the term, and
/// a bounded filter runs on a server thread's stack.
const MAX_TERM_DEPTH: usize = 64;

/// How a standard filter spends work, besides running its arguments.
#[derive(Clone, Copy)]
enum Cost {
    /// Reads its input once (or not at all); its arguments are values, run once each
    /// (`length`, `test(re)`, `has(k)`).
    Linear,
    /// Runs its (one) filter argument on each element of its input (`map(f)`, `sort_by(f)`).
    PerElement,
    /// Runs its (last) argument once for each output of its first (`any(g; cond)`), or consumes
    /// its one argument (`first(f)`, `isempty(g)`, `add(f)`, `select(f)`).
    Consumes,
    /// Like `Linear`, but yields one output per match or element (`splits`, `scan`, `match`).
    Generates,
    /// Passes its input on once per output of its argument(s), in turn (`select(f)`, `limit(n; f)`).
    Passes,
}

/// The standard filters a bounded filter may call, with their arity and cost. Anything else
/// (including every name a spec could define) makes the filter run in a worker.
const ALLOWED: &[(&str, usize, Cost)] = {
    use Cost::*;
    &[
        ("empty", 0, Linear),
        ("error", 0, Linear),
        ("error", 1, Linear),
        ("true", 0, Linear),
        ("false", 0, Linear),
        ("null", 0, Linear),
        ("not", 0, Linear),
        ("length", 0, Linear),
        ("utf8bytelength", 0, Linear),
        ("type", 0, Linear),
        ("tostring", 0, Linear),
        ("tonumber", 0, Linear),
        ("tojson", 0, Linear),
        ("ascii_downcase", 0, Linear),
        ("ascii_upcase", 0, Linear),
        ("ltrimstr", 1, Linear),
        ("rtrimstr", 1, Linear),
        ("startswith", 1, Linear),
        ("endswith", 1, Linear),
        ("trim", 0, Linear),
        ("ltrim", 0, Linear),
        ("rtrim", 0, Linear),
        ("explode", 0, Linear),
        ("implode", 0, Linear),
        ("keys", 0, Linear),
        ("keys_unsorted", 0, Linear),
        ("has", 1, Linear),
        ("in", 1, Linear),
        ("contains", 1, Linear),
        ("inside", 1, Linear),
        ("index", 1, Linear),
        ("rindex", 1, Linear),
        ("indices", 1, Linear),
        ("to_entries", 0, Linear),
        ("from_entries", 0, Linear),
        ("reverse", 0, Linear),
        ("sort", 0, Linear),
        ("unique", 0, Linear),
        ("min", 0, Linear),
        ("max", 0, Linear),
        ("add", 0, Linear),
        ("any", 0, Linear),
        ("all", 0, Linear),
        ("first", 0, Linear),
        ("last", 0, Linear),
        ("nth", 1, Linear),
        ("join", 1, Linear),
        ("split", 1, Linear),
        ("split", 2, Linear),
        ("test", 1, Linear),
        ("test", 2, Linear),
        ("sub", 2, Linear),
        ("sub", 3, Linear),
        ("gsub", 2, Linear),
        ("gsub", 3, Linear),
        ("ascii", 0, Linear),
        ("floor", 0, Linear),
        ("ceil", 0, Linear),
        ("round", 0, Linear),
        ("trunc", 0, Linear),
        ("sqrt", 0, Linear),
        ("fabs", 0, Linear),
        ("abs", 0, Linear),
        ("log", 0, Linear),
        ("log10", 0, Linear),
        ("log2", 0, Linear),
        ("exp", 0, Linear),
        ("exp10", 0, Linear),
        ("pow", 2, Linear),
        ("isnan", 0, Linear),
        ("isinfinite", 0, Linear),
        ("isfinite", 0, Linear),
        ("isnormal", 0, Linear),
        ("infinite", 0, Linear),
        ("nan", 0, Linear),
        ("isboolean", 0, Linear),
        ("isnumber", 0, Linear),
        ("isstring", 0, Linear),
        ("isarray", 0, Linear),
        ("isobject", 0, Linear),
        ("values", 0, Linear),
        ("nulls", 0, Linear),
        ("booleans", 0, Linear),
        ("numbers", 0, Linear),
        ("finites", 0, Linear),
        ("normals", 0, Linear),
        ("strings", 0, Linear),
        ("arrays", 0, Linear),
        ("objects", 0, Linear),
        ("iterables", 0, Linear),
        ("scalars", 0, Linear),
        ("now", 0, Linear),
        ("mktime", 0, Linear),
        ("gmtime", 0, Linear),
        ("todate", 0, Linear),
        ("fromdate", 0, Linear),
        ("todateiso8601", 0, Linear),
        ("fromdateiso8601", 0, Linear),
        ("strftime", 1, Linear),
        ("strptime", 1, Linear),
        ("getpath", 1, Linear),
        ("splits", 1, Generates),
        ("splits", 2, Generates),
        ("scan", 1, Generates),
        ("match", 1, Generates),
        ("capture", 1, Generates),
        ("map", 1, PerElement),
        ("map_values", 1, PerElement),
        ("any", 1, PerElement),
        ("all", 1, PerElement),
        ("min_by", 1, PerElement),
        ("max_by", 1, PerElement),
        ("sort_by", 1, PerElement),
        ("group_by", 1, PerElement),
        ("unique_by", 1, PerElement),
        ("with_entries", 1, PerElement),
        ("select", 1, Passes),
        ("first", 1, Consumes),
        ("last", 1, Consumes),
        ("isempty", 1, Consumes),
        ("add", 1, Consumes),
        ("any", 2, Consumes),
        ("all", 2, Consumes),
        ("limit", 2, Passes),
        ("nth", 2, Consumes),
    ]
};

/// The `@format`s a bounded filter may use (each reads its input once).
const FORMATS: &[&str] = &["@text", "@json", "@html", "@uri", "@csv", "@tsv", "@sh", "@base64", "@base64d"];

/// What a term costs: `out`, the degree of the number of outputs it yields for one input, and
/// `work`, the degree of the work it does for one input (both in the size of the input).
#[derive(Clone, Copy, Default)]
struct Degree {
    out: u32,
    work: u32,
    /// The highest `out` of any part whose outputs were collected into one value (`[t]`): the
    /// size of what the filter builds, which must stay linear.
    built: u32,
}

impl Degree {
    /// A term that yields one output and reads its input at most once.
    const ONE: Degree = Degree { out: 0, work: 1, built: 0 };
    /// A term that yields one output per element of its input (`.[]`).
    const EACH: Degree = Degree { out: 1, work: 1, built: 0 };

    /// `l | r`: `r` runs once for each output of `l`.
    fn then(self, r: Degree) -> Degree {
        Degree { out: self.out + r.out, work: self.work.max(self.out + r.work), built: self.built.max(r.built) }
    }

    /// `l op r` (and any combination of independent generators): every pair of outputs.
    fn product(self, r: Degree) -> Degree {
        Degree { out: self.out + r.out, work: (self.work + r.out).max(r.work + self.out), built: self.built.max(r.built) }
    }

    /// `l, r` (or alternatives): one after the other.
    fn either(self, r: Degree) -> Degree {
        Degree { out: self.out.max(r.out), work: self.work.max(r.work), built: self.built.max(r.built) }
    }

    /// `[t]`: the outputs are collected into one value.
    fn collected(self) -> Degree {
        Degree { out: 0, work: self.work.max(self.out), built: self.built.max(self.out) }
    }
}

/// Whether `source` is a bounded filter (see the module documentation).
pub fn is_bounded(source: &str) -> bool {
    let Some(term) = jaq_core::load::parse(source, |p| p.term()) else { return false };
    term_depth(&term, 0).is_some() && degree(&term).is_some_and(|d| d.work.max(d.out) <= MAX_DEGREE && d.out.max(d.built) <= 1)
}

/// `Some` when no term lies deeper than [`MAX_TERM_DEPTH`] (walked only that deep).
fn term_depth(term: &Term<&str>, depth: usize) -> Option<()> {
    if depth > MAX_TERM_DEPTH {
        return None;
    }
    let below = |t: &Term<&str>| term_depth(t, depth + 1);
    match term {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) | Term::Arr(None) => Some(()),
        Term::Str(_, parts) => parts.iter().try_for_each(|p| match p {
            StrPart::Term(t) => below(t),
            _ => Some(()),
        }),
        Term::Arr(Some(t)) | Term::Neg(t) | Term::Label(_, t) => below(t),
        Term::Obj(pairs) => pairs.iter().try_for_each(|(k, v)| {
            below(k)?;
            v.as_ref().map_or(Some(()), below)
        }),
        Term::BinOp(l, _, r) => below(l).and_then(|()| below(r)),
        Term::TryCatch(t, c) => below(t).and_then(|()| c.as_deref().map_or(Some(()), below)),
        Term::IfThenElse(branches, otherwise) => {
            branches.iter().try_for_each(|(c, t)| below(c).and_then(|()| below(t)))?;
            otherwise.as_deref().map_or(Some(()), below)
        }
        Term::Call(_, args) => args.iter().try_for_each(below),
        Term::Path(head, path) => {
            below(head)?;
            path.0.iter().try_for_each(|(part, _)| match part {
                Part::Index(i) => below(i),
                Part::Range(from, to) => [from, to].into_iter().flatten().try_for_each(below),
            })
        }
        // Refused by `degree` anyway.
        Term::Def(..) | Term::Fold(..) => None,
    }
}

/// The cost of a term, or `None` when it is not bounded.
fn degree(term: &Term<&str>) -> Option<Degree> {
    Some(match term {
        Term::Id | Term::Num(_) | Term::Var(_) | Term::Break(_) => Degree::default(),
        Term::Recurse | Term::Def(..) | Term::Fold(..) => return None,
        Term::Str(format, parts) => {
            if format.is_some_and(|f| !FORMATS.contains(&f)) {
                return None;
            }
            let mut d = if format.is_some() { Degree::ONE } else { Degree::default() };
            for part in parts {
                if let StrPart::Term(t) = part {
                    d = d.product(degree(t)?.max_one());
                }
            }
            d
        }
        Term::Arr(None) => Degree::default(),
        Term::Arr(Some(t)) => degree(t)?.collected(),
        Term::Obj(pairs) => {
            let mut d = Degree::default();
            for (key, value) in pairs {
                d = d.product(degree(key)?);
                if let Some(value) = value {
                    d = d.product(degree(value)?);
                }
            }
            d
        }
        Term::Neg(t) | Term::Label(_, t) => degree(t)?,
        Term::TryCatch(t, catch) => match catch {
            Some(c) => degree(t)?.either(degree(c)?),
            None => degree(t)?,
        },
        Term::IfThenElse(branches, otherwise) => {
            let mut d = match otherwise {
                Some(t) => degree(t)?,
                None => Degree::default(),
            };
            for (cond, then) in branches {
                d = d.either(degree(cond)?.then(degree(then)?));
            }
            d
        }
        Term::Path(head, path) => {
            let mut d = degree(head)?;
            for (part, _optional) in &path.0 {
                d = match part {
                    Part::Index(i) => d.then(degree(i)?),
                    Part::Range(None, None) => d.then(Degree::EACH),
                    Part::Range(from, to) => {
                        let mut slice = Degree::ONE;
                        for bound in [from, to].into_iter().flatten() {
                            slice = slice.product(degree(bound)?);
                        }
                        d.then(slice)
                    }
                };
            }
            d
        }
        Term::BinOp(l, op, r) => {
            let (dl, dr) = (degree(l)?, degree(r)?);
            match op {
                BinaryOp::Pipe(pattern) => {
                    if let Some(pattern) = pattern {
                        pattern_ok(pattern)?;
                    }
                    dl.then(dr)
                }
                BinaryOp::Comma | BinaryOp::Alt => dl.either(dr),
                BinaryOp::And | BinaryOp::Or => dl.then(dr),
                BinaryOp::Math(Math::Mul) | BinaryOp::UpdateMath(Math::Mul) => {
                    if !(small_number(l) || small_number(r)) {
                        return None;
                    }
                    dl.product(dr)
                }
                // Comparing or adding two values is counted as one step: they are parts of the
                // input, so the sum over all steps stays within the degree already counted.
                BinaryOp::Math(_) | BinaryOp::Cmp(_) => dl.product(dr),
                BinaryOp::Assign | BinaryOp::Update | BinaryOp::UpdateMath(_) | BinaryOp::UpdateAlt => dl.product(dr),
            }
        }
        Term::Call(name, args) if name.starts_with('@') => {
            // `@base64` alone is a call of the format's definition.
            if !(args.is_empty() && FORMATS.contains(name)) {
                return None;
            }
            Degree::ONE
        }
        Term::Call(name, args) => {
            let (_, _, cost) = ALLOWED.iter().find(|(n, arity, _)| n == name && *arity == args.len())?;
            let args = args.iter().map(degree).collect::<Option<Vec<_>>>()?;
            match cost {
                Cost::Linear => args.into_iter().fold(Degree::ONE, Degree::product),
                Cost::Generates => args.into_iter().fold(Degree::EACH, Degree::product),
                Cost::PerElement => {
                    let f = args.into_iter().next().unwrap_or_default();
                    Degree::EACH.then(f).collected()
                }
                Cost::Consumes | Cost::Passes => {
                    let mut args = args.into_iter();
                    let first = args.next().unwrap_or_default();
                    let d = args.fold(first, Degree::then);
                    if matches!(cost, Cost::Consumes) { d.collected() } else { d }
                }
            }
        }
    })
}

impl Degree {
    /// At least the work of reading the input once.
    fn max_one(self) -> Degree {
        Degree { work: self.work.max(1), ..self }
    }
}

/// Patterns bind variables (`. as [$a, {b: $c}]`); the keys they compute are terms.
fn pattern_ok(pattern: &Pattern<&str>) -> Option<()> {
    match pattern {
        Pattern::Var(_) => Some(()),
        Pattern::Arr(items) => items.iter().try_for_each(pattern_ok),
        Pattern::Obj(entries) => entries.iter().try_for_each(|(key, p)| {
            let d = degree(key)?;
            (d.out == 0 && d.work <= 1).then_some(())?;
            pattern_ok(p)
        }),
    }
}

/// Whether a term is a number literal of at most [`MAX_REPEAT`] (a `*` beside it cannot repeat
/// a string more often than that).
fn small_number(term: &Term<&str>) -> bool {
    match term {
        Term::Num(n) => n.parse::<f64>().is_ok_and(|v| v.abs() <= MAX_REPEAT),
        Term::Neg(t) => small_number(t),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_bounded;

    #[test]
    fn predicates_an_operator_writes_are_bounded() {
        for f in [
            ".error_rate > 0.05",
            ".",
            ".a.b[0].c // 0 | . >= 3",
            "[.items[] | select(.status == \"error\")] | length > 5",
            ".datapoints | map(.value) | max > 0.05",
            "any(.items[]; .state == \"FAILED\")",
            "(.errors / (.total + 1)) * 100 > 5",
            ".status | test(\"^(ok|healthy)$\")",
            "if .state == \"done\" then true elif .state == \"failed\" then error(\"failed\") else false end",
            ".message | contains(\"timeout\") | not",
            "{n: (.items | length), bad: [.items[] | select(.ok | not) | .name]}",
            ".items[] as $i | $i.name",
            ". as {status: $s} | $s == \"ok\"",
            "\"\\(.a)-\\(.b)\" | ascii_downcase",
            "@base64",
            "[.[] | .x] | add / length",
            ".a - .b - .c > 0",
            "try (.a | tonumber) catch 0",
            "first(.items[] | select(.ok)) // null",
            "-1 * .delta",
        ] {
            assert!(is_bounded(f), "{f} should be bounded");
        }
    }

    #[test]
    fn recursion_loops_and_blowups_are_not() {
        for f in [
            "def f: [f]; f",
            "def f: .; f",
            "..",
            "[..] | length",
            "recurse(.a)",
            "[range(1e9)] | length",
            "[repeat(.)] | length",
            "last(range(0; 1e18))",
            "reduce .[] as $x (\"\"; . + . + $x)",
            "foreach .[] as $x (0; . + 1)",
            "paths",
            "walk(.)",
            "flatten",
            ".s * .n",
            "\"x\" * 1e9",
            ".s * 100000",
            "fromjson",
            "[.[] as $a | .[] as $b | .[] | [$a, $b]] | length",
            "[(.[] | .a) + (.[] | .b) + (.[] | .c)]",
            "[(.[] | .a) + (.[] | .b)]",
            "[.a[] as $x | .b[] | select(. == $x)] | length",
            ".[] as $x | .[]",
            "input",
            "env",
            "until(false; .)",
            "while(true; .)",
            "combinations",
            "tostream",
            "@weird",
            "include \"x\"; .",
            ")",
        ] {
            assert!(!is_bounded(f), "{f} should not be bounded");
        }
    }
}

#[cfg(test)]
mod deep {
    use crate::catalog::jq::JqFilter;

    /// Long chains and deep nesting neither overflow a 2 MiB stack when compiled nor count as
    /// bounded (they would recurse as deep when run in the server); past the bound they are a
    /// compile error that says why.
    #[test]
    fn deep_filters_compile_on_their_own_stack_and_run_in_a_worker() {
        type Shape = (&'static str, fn(usize) -> String);
        let shapes: [Shape; 5] = [
            ("pipes", |n| vec!["."; n].join("|")),
            ("commas", |n| format!("[{}]", vec!["1"; n].join(","))),
            ("negations", |n| format!("{}1", "-".repeat(n))),
            ("brackets", |n| format!("{}.{}", "[".repeat(n), "]".repeat(n))),
            ("conditionals", |n| format!("{}.{}", "if . then ".repeat(n), " end".repeat(n))),
        ];
        for (name, make) in shapes {
            for n in [10usize, 300, 900, 5000] {
                let f = make(n);
                let result = std::thread::Builder::new()
                    .stack_size(2 << 20)
                    .spawn(move || JqFilter::compile(&f).map(|c| c.is_bounded()).map_err(|e| e.message))
                    .expect("thread")
                    .join()
                    .expect("no panic");
                match (n, result) {
                    (10, Ok(true)) => {}
                    (300 | 900, Ok(false)) => {}
                    (5000, Err(m)) if m.contains("more than the 2000") => {}
                    (n, other) => panic!("{name} x{n}: {other:?}"),
                }
            }
        }
    }
}
