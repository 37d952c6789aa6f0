//! Golden tests for `toolwright lint`, driven by the folders under `tests/lint/`.
//!
//! - `tests/lint/err/<case>/tools.d/...` holds specs with one or two realistic mistakes, and beside
//!   `tools.d` the exact expected output: `expected.json` (`--format json`), `expected.txt`
//!   (`--format text`, no colour) and `expected.exit` (the exit code).
//! - `tests/lint/ok/<case>/tools.d/...` must lint with no diagnostic at all and exit 0;
//!   `expected.tools` lists the tools the catalog holds (one name a line), so a case that
//!   silently loads nothing cannot pass.
//!
//! A case may hold an `args` file: more arguments for every lint run of the case (`--hints`, for
//! the info-level hints, which plain lint never reports).
//!
//! Adding a case is adding a folder. The binary runs with the case folder as its working
//! directory and `tools.d` as its path, so file names in the goldens are `tools.d/...`.
//!
//! `TOOLWRIGHT_BLESS=1 cargo test --test lint_fixtures` rewrites the expected files from the
//! current output; `TOOLWRIGHT_LINT_CASE=<text>` limits the golden tests (and blessing) to the
//! cases whose folder name contains that text. Review every changed golden like code: a golden that records a wrong
//! position or a wrong code is a bug, not a new truth.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use toolwright::diag::Code;

/// The folder that holds `err/` and `ok/`.
fn lint_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("lint")
}

fn blessing() -> bool {
    std::env::var_os("TOOLWRIGHT_BLESS").is_some_and(|v| v == "1")
}

/// The cases of `err` or `ok` that the golden tests run: all, or those selected by
/// `TOOLWRIGHT_LINT_CASE`.
fn selected_cases(group: &str) -> Vec<PathBuf> {
    let filter = std::env::var("TOOLWRIGHT_LINT_CASE").unwrap_or_default();
    cases(group).into_iter().filter(|c| case_name(c).contains(&filter)).collect()
}

/// Every case folder of `err` or `ok`, sorted by name.
fn cases(group: &str) -> Vec<PathBuf> {
    let dir = lint_root().join(group);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no cases under {}", dir.display());
    out
}

fn case_name(case: &Path) -> String {
    case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// What one run of the binary printed.
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

/// Runs `toolwright <args>` with `case` as the working directory and a clean environment for
/// the things that change lint output (colour, secrets directory), plus the `NAME=value` lines
/// of the case's `env` file, if it has one.
fn toolwright(case: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_toolwright"));
    for line in read(&case.join("env")).unwrap_or_default().lines() {
        if let Some((name, value)) = line.split_once('=') {
            command.env(name.trim(), value.trim());
        }
    }
    let out = command
        .current_dir(case)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("TOOLWRIGHT_SECRETS_DIR")
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run toolwright in {}: {e}", case.display()));
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().expect("toolwright exited normally (not by a signal)"),
    }
}

fn lint(case: &Path, format: &str, extra: &[&str]) -> Run {
    let mut args = vec!["lint", "tools.d", "--format", format];
    args.extend_from_slice(extra);
    // A case's `args` file holds more lint arguments, such as `--hints`.
    let more = read(&case.join("args")).unwrap_or_default();
    args.extend(more.split_whitespace());
    toolwright(case, &args)
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A readable account of where two texts first differ, with both texts in full.
fn mismatch(what: &str, expected: &str, actual: &str) -> String {
    let mut s = String::new();
    let first = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    let _ = writeln!(s, "{what} differs from line {}:", first + 1);
    let _ = writeln!(s, "  expected: {:?}", expected.lines().nth(first).unwrap_or("<end>"));
    let _ = writeln!(s, "  actual:   {:?}", actual.lines().nth(first).unwrap_or("<end>"));
    let _ = writeln!(s, "--- expected\n{expected}--- actual\n{actual}---");
    s
}

/// Checks that the JSON output has the documented shape and that every span lies inside
/// the file it names. Returns the problems found.
fn check_json_shape(case: &Path, json: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let value: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => return vec![format!("--format json output is not JSON: {e}")],
    };
    let Some(items) = value.as_array() else {
        return vec!["--format json output is not an array".to_owned()];
    };
    let allowed: BTreeSet<&str> = ["code", "severity", "message", "file", "line", "column", "end_line", "end_column", "help"].into();
    for (i, d) in items.iter().enumerate() {
        let Some(obj) = d.as_object() else {
            problems.push(format!("diagnostic {i} is not an object"));
            continue;
        };
        for key in obj.keys() {
            if !allowed.contains(key.as_str()) {
                problems.push(format!("diagnostic {i} has an undocumented key `{key}`"));
            }
        }
        for key in ["code", "severity", "message", "file"] {
            if !obj.get(key).is_some_and(Value::is_string) {
                problems.push(format!("diagnostic {i}: `{key}` is missing or not a string"));
            }
        }
        let num = |k: &str| obj.get(k).and_then(Value::as_u64);
        let (Some(line), Some(col), Some(end_line), Some(end_col)) = (num("line"), num("column"), num("end_line"), num("end_column"))
        else {
            problems.push(format!("diagnostic {i}: a position is missing or not a number"));
            continue;
        };
        let code = obj.get("code").and_then(Value::as_str).unwrap_or("");
        match Code::ALL.iter().find(|c| c.as_str() == code) {
            None => problems.push(format!("diagnostic {i}: unknown code `{code}`")),
            Some(c) => {
                let severity = obj.get("severity").and_then(Value::as_str).unwrap_or("");
                if c.severity().as_str() != severity {
                    problems.push(format!("diagnostic {i}: `{code}` reported as {severity}, its code says {}", c.severity().as_str()));
                }
            }
        }
        if line == 0
            || col == 0
            || (end_line, end_col) < (line, col)
            || (end_line == line && end_col <= col && code != "io-error" && code != "no-specs")
        {
            problems.push(format!("diagnostic {i} ({code}): empty or inverted span {line}:{col}..{end_line}:{end_col}"));
        }
        // The span must point inside the file it names (when that is a file).
        let file = case.join(obj.get("file").and_then(Value::as_str).unwrap_or(""));
        if let Ok(bytes) = std::fs::read(&file) {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.split('\n').collect();
            let width =
                |l: u64| lines.get(usize::try_from(l).unwrap_or(usize::MAX) - 1).map(|t| t.trim_end_matches('\r').chars().count() as u64);
            match (width(line), width(end_line)) {
                (Some(w), Some(ew)) => {
                    if col > w + 1 || end_col > ew + 1 {
                        problems.push(format!(
                            "diagnostic {i} ({code}): span {line}:{col}..{end_line}:{end_col} runs past the end of its line"
                        ));
                    }
                }
                _ => problems.push(format!("diagnostic {i} ({code}): line {line} or {end_line} is not in {}", file.display())),
            }
        }
    }
    problems
}

#[test]
fn err_cases_match_their_goldens() {
    let bless = blessing();
    let mut failures = Vec::new();
    for case in selected_cases("err") {
        let name = case_name(&case);
        let json = lint(&case, "json", &[]);
        let text = lint(&case, "text", &[]);
        let mut problems = Vec::new();
        if !json.stderr.is_empty() || !text.stderr.is_empty() {
            problems.push(format!("lint wrote to stderr:\n{}{}", json.stderr, text.stderr));
        }
        if json.code != text.code {
            problems.push(format!("exit code differs between formats: json {} text {}", json.code, text.code));
        }
        if json.stdout.trim() == "[]" {
            problems.push("an err case must produce at least one diagnostic".to_owned());
        }
        problems.extend(check_json_shape(&case, &json.stdout));
        if bless {
            std::fs::write(case.join("expected.json"), &json.stdout).expect("write expected.json");
            std::fs::write(case.join("expected.txt"), &text.stdout).expect("write expected.txt");
            std::fs::write(case.join("expected.exit"), format!("{}\n", json.code)).expect("write expected.exit");
        } else {
            match read(&case.join("expected.json")) {
                Some(expected) if expected == json.stdout => {}
                Some(expected) => problems.push(mismatch("--format json", &expected, &json.stdout)),
                None => problems.push("expected.json is missing (run with TOOLWRIGHT_BLESS=1)".to_owned()),
            }
            match read(&case.join("expected.txt")) {
                Some(expected) if expected == text.stdout => {}
                Some(expected) => problems.push(mismatch("--format text", &expected, &text.stdout)),
                None => problems.push("expected.txt is missing (run with TOOLWRIGHT_BLESS=1)".to_owned()),
            }
            match read(&case.join("expected.exit")).map(|s| s.trim().parse::<i32>()) {
                Some(Ok(code)) if code == json.code => {}
                Some(Ok(code)) => problems.push(format!("exit code: expected {code}, got {}", json.code)),
                _ => problems.push("expected.exit is missing or not a number".to_owned()),
            }
        }
        if !problems.is_empty() {
            failures.push(format!("== err/{name}\n{}", problems.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{} err case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// The tool names of `toolwright list --format json`, one a line.
fn listed_tools(case: &Path) -> Result<String, String> {
    let run = toolwright(case, &["list", "--tools", "tools.d", "--format", "json"]);
    if run.code != 0 {
        return Err(format!("list exited {}: {}", run.code, run.stderr));
    }
    let items: Vec<Value> = serde_json::from_str(&run.stdout).map_err(|e| format!("list output is not JSON: {e}"))?;
    Ok(items.iter().map(|t| format!("{}\n", t.get("name").and_then(Value::as_str).unwrap_or("?"))).collect())
}

#[test]
fn ok_cases_lint_clean() {
    let bless = blessing();
    let mut failures = Vec::new();
    for case in selected_cases("ok") {
        let name = case_name(&case);
        let mut problems = Vec::new();
        let json = lint(&case, "json", &["--deny-warnings"]);
        if json.stdout != "[]\n" || json.code != 0 || !json.stderr.is_empty() {
            problems.push(format!("expected no diagnostics and exit 0, got exit {}:\n{}{}", json.code, json.stdout, json.stderr));
        }
        let text = lint(&case, "text", &[]);
        if text.stdout != "0 errors, 0 warnings\n" || text.code != 0 {
            problems.push(format!("text output: {:?} (exit {})", text.stdout, text.code));
        }
        match listed_tools(&case) {
            Err(e) => problems.push(e),
            Ok(tools) if tools.is_empty() => problems.push("the catalog holds no tool".to_owned()),
            Ok(tools) if bless => std::fs::write(case.join("expected.tools"), tools).expect("write expected.tools"),
            Ok(tools) => match read(&case.join("expected.tools")) {
                Some(expected) if expected == tools => {}
                Some(expected) => problems.push(mismatch("tools in the catalog", &expected, &tools)),
                None => problems.push("expected.tools is missing (run with TOOLWRIGHT_BLESS=1)".to_owned()),
            },
        }
        if !problems.is_empty() {
            failures.push(format!("== ok/{name}\n{}", problems.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{} ok case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// The codes of one `expected.json`.
fn golden_codes(case: &Path) -> Vec<String> {
    let text = read(&case.join("expected.json")).unwrap_or_else(|| panic!("{}: expected.json is missing", case.display()));
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: expected.json is not JSON: {e}", case.display()));
    value
        .as_array()
        .map(|items| items.iter().filter_map(|d| d.get("code").and_then(Value::as_str).map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[test]
fn err_cases_cover_every_code() {
    let mut seen = BTreeSet::new();
    for case in cases("err") {
        seen.extend(golden_codes(&case));
    }
    // The `env-*` codes come from `lint --check-env`, which needs a live environment: their
    // tests are tests/cloudwatch.rs (MiniStack) and tests/py/test_check_env.py (HTTP servers).
    let missing: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).filter(|c| !c.starts_with("env-") && !seen.contains(*c)).collect();
    assert!(missing.is_empty(), "no err case under tests/lint/err covers these codes: {missing:?}");
    let unknown: Vec<&String> = seen.iter().filter(|s| !Code::ALL.iter().any(|c| c.as_str() == s.as_str())).collect();
    assert!(unknown.is_empty(), "goldens name codes that do not exist: {unknown:?}");
}

/// The case used to check the CI formats: one error with a help line.
const FORMAT_CASE: &str = "unknown-field-typo";

fn expected_diagnostics(case: &Path) -> Vec<Value> {
    let text = read(&case.join("expected.json")).expect("expected.json");
    serde_json::from_str::<Vec<Value>>(&text).expect("expected.json is a JSON array")
}

#[test]
fn github_format_annotates_each_diagnostic() {
    let case = lint_root().join("err").join(FORMAT_CASE);
    let diags = expected_diagnostics(&case);
    let run = lint(&case, "github", &[]);
    assert_eq!(run.code, 1, "github format exit code; stderr: {}", run.stderr);
    let escape_data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let escape_prop = |s: &str| escape_data(s).replace(':', "%3A").replace(',', "%2C");
    let mut expected = String::new();
    for d in &diags {
        let s = |k: &str| d[k].as_str().expect("string field").to_owned();
        let n = |k: &str| d[k].as_u64().expect("number field");
        let mut msg = s("message");
        if let Some(help) = d.get("help").and_then(Value::as_str) {
            msg.push_str("\nhelp: ");
            msg.push_str(help);
        }
        let _ = writeln!(
            expected,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            s("severity"),
            escape_prop(&s("file")),
            n("line"),
            n("column"),
            n("end_line"),
            n("end_column"),
            escape_prop(&format!("toolwright {}", s("code"))),
            escape_data(&msg)
        );
    }
    assert!(diags.iter().any(|d| d.get("help").is_some()), "{FORMAT_CASE} should have a diagnostic with help");
    assert_eq!(run.stdout, expected);
}

#[test]
fn sarif_format_is_sarif_2_1_0() {
    let case = lint_root().join("err").join(FORMAT_CASE);
    let diags = expected_diagnostics(&case);
    let run = lint(&case, "sarif", &[]);
    assert_eq!(run.code, 1, "sarif format exit code; stderr: {}", run.stderr);
    let sarif: Value = serde_json::from_str(&run.stdout).expect("SARIF output is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().is_some_and(|s| s.contains("sarif")), "SARIF $schema: {}", sarif["$schema"]);
    let runs = sarif["runs"].as_array().expect("runs is an array");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "toolwright");
    let rules = driver["rules"].as_array().expect("rules is an array");
    let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().expect("rule id")).collect();
    let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(rule_ids, all, "SARIF rules are the codes in declaration order");
    let results = runs[0]["results"].as_array().expect("results is an array");
    assert_eq!(results.len(), diags.len());
    for (r, d) in results.iter().zip(&diags) {
        assert_eq!(r["ruleId"], d["code"]);
        let index = usize::try_from(r["ruleIndex"].as_u64().expect("ruleIndex")).expect("index fits");
        assert_eq!(rules[index]["id"], d["code"], "ruleIndex points at the rule");
        assert_eq!(r["level"], d["severity"]);
        assert!(r["message"]["text"].as_str().is_some_and(|t| t.starts_with(d["message"].as_str().expect("message"))));
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], d["file"]);
        let region = &loc["region"];
        assert_eq!(region["startLine"], d["line"]);
        assert_eq!(region["startColumn"], d["column"]);
        assert_eq!(region["endLine"], d["end_line"]);
        assert_eq!(region["endColumn"], d["end_column"]);
    }
}

#[test]
fn deny_warnings_fails_a_warning_only_case() {
    for name in ["unused-input", "raw-interpolation", "no-specs"] {
        let case = lint_root().join("err").join(name);
        let diags = expected_diagnostics(&case);
        assert!(!diags.is_empty() && diags.iter().all(|d| d["severity"] == "warning"), "{name} should hold warnings only");
        let plain = lint(&case, "json", &[]);
        assert_eq!(plain.code, 0, "{name}: warnings alone exit 0");
        let denied = lint(&case, "json", &["--deny-warnings"]);
        assert_eq!(denied.code, 1, "{name}: --deny-warnings turns warnings into exit 1");
        assert_eq!(plain.stdout, denied.stdout, "{name}: --deny-warnings does not change the report");
    }
}

#[test]
fn default_path_is_tools_d() {
    let case = lint_root().join("err").join(FORMAT_CASE);
    let explicit = lint(&case, "json", &[]);
    let implicit = toolwright(&case, &["lint", "--format", "json"]);
    assert_eq!(implicit.code, explicit.code);
    assert_eq!(implicit.stdout, explicit.stdout);
}
