//! Golden tests for `toolwright diff`, driven by the folders under `tests/diff/`.
//!
//! Each case folder holds `old/` and `new/` (two catalogs) and the exact expected output of
//! `toolwright diff old new`, run with the case folder as the working directory:
//! `expected.txt` (`--format text`), `expected.json`, `expected.md` (`--format markdown`),
//! `expected.github` (`--format github`) and `expected.exit` (0 nothing breaking, 1 breaking,
//! 2 a side does not compile). One case per kind of change, plus a case without changes, and
//! cases where a side does not compile.
//!
//! `TOOLWRIGHT_BLESS=1 cargo test --test diff_fixtures` rewrites the expected files from the
//! current output; `TOOLWRIGHT_DIFF_CASE=<text>` limits the tests (and blessing) to the cases
//! whose name contains that text. Review every changed golden like code.
//!
//! `git:REV` sides are tested at the end, in a temporary Git repository.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::copy_dir;
use serde_json::Value;
use toolwright::diff::Kind;

fn diff_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("diff")
}

fn blessing() -> bool {
    std::env::var_os("TOOLWRIGHT_BLESS").is_some_and(|v| v == "1")
}

/// Every case folder, sorted by name.
fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        std::fs::read_dir(diff_root()).expect("tests/diff").map(|e| e.expect("directory entry").path()).filter(|p| p.is_dir()).collect();
    out.sort();
    assert!(!out.is_empty(), "no cases under tests/diff");
    out
}

fn selected_cases() -> Vec<PathBuf> {
    let filter = std::env::var("TOOLWRIGHT_DIFF_CASE").unwrap_or_default();
    cases().into_iter().filter(|c| name(c).contains(&filter)).collect()
}

fn name(case: &Path) -> String {
    case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// What one run of the binary printed.
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn toolwright(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_toolwright"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run toolwright in {}: {e}", dir.display()));
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().expect("toolwright exited normally"),
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Where two texts first differ, with both in full.
fn mismatch(what: &str, expected: &str, actual: &str) -> String {
    let first = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    let mut s = String::new();
    let _ = writeln!(s, "{what} differs from line {}:", first + 1);
    let _ = writeln!(s, "  expected: {:?}", expected.lines().nth(first).unwrap_or("<end>"));
    let _ = writeln!(s, "  actual:   {:?}", actual.lines().nth(first).unwrap_or("<end>"));
    let _ = writeln!(s, "--- expected\n{expected}--- actual\n{actual}---");
    s
}

/// The JSON report is consistent with itself and with the exit code.
fn check_json(json: &str, code: i32) -> Vec<String> {
    let mut problems = Vec::new();
    let v: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => return vec![format!("--format json is not JSON: {e}")],
    };
    if let Some(errors) = v.get("errors") {
        if code != 2 {
            problems.push(format!("a report with errors exits 2, not {code}"));
        }
        if errors.as_array().is_none_or(Vec::is_empty) {
            problems.push("`errors` is empty".to_owned());
        }
        return problems;
    }
    let changes = v["changes"].as_array().cloned().unwrap_or_default();
    let count = |s: &str| changes.iter().filter(|c| c["severity"] == s).count() as u64;
    for (key, severity) in [("breaking", "breaking"), ("non_breaking", "non-breaking"), ("cannot_compare", "cannot-compare")] {
        if v[key].as_u64() != Some(count(severity)) {
            problems.push(format!("`{key}` is {} but {} changes say {severity}", v[key], count(severity)));
        }
    }
    let expected_code = if count("breaking") > 0 { 1 } else { 0 };
    if code != expected_code {
        problems.push(format!("exit {code} with {} breaking changes", count("breaking")));
    }
    for c in &changes {
        let code = c["code"].as_str().unwrap_or("");
        if !Kind::ALL.iter().any(|k| k.as_str() == code) {
            problems.push(format!("unknown code `{code}`"));
        }
        if c["side"] == "new" && c["file"].as_str().is_none_or(|f| !f.starts_with("new/")) {
            problems.push(format!("a change on the new side names a file outside it: {c}"));
        }
    }
    problems
}

#[test]
fn cases_match_their_goldens() {
    let bless = blessing();
    let mut failures = Vec::new();
    for case in selected_cases() {
        let mut problems = Vec::new();
        let runs: Vec<(&str, &str, Run)> =
            [("text", "expected.txt"), ("json", "expected.json"), ("markdown", "expected.md"), ("github", "expected.github")]
                .into_iter()
                .map(|(format, file)| (format, file, toolwright(&case, &["diff", "old", "new", "--format", format])))
                .collect();
        for (format, _, run) in &runs {
            if !run.stderr.is_empty() {
                problems.push(format!("--format {format} wrote to stderr:\n{}", run.stderr));
            }
            if run.code != runs[0].2.code {
                problems.push(format!("exit code differs: --format {format} {} and text {}", run.code, runs[0].2.code));
            }
        }
        problems.extend(check_json(&runs[1].2.stdout, runs[1].2.code));
        if bless {
            for (_, file, run) in &runs {
                std::fs::write(case.join(file), &run.stdout).expect("write golden");
            }
            std::fs::write(case.join("expected.exit"), format!("{}\n", runs[0].2.code)).expect("write expected.exit");
        } else {
            for (format, file, run) in &runs {
                match read(&case.join(file)) {
                    Some(expected) if expected == run.stdout => {}
                    Some(expected) => problems.push(mismatch(&format!("--format {format}"), &expected, &run.stdout)),
                    None => problems.push(format!("{file} is missing (run with TOOLWRIGHT_BLESS=1)")),
                }
            }
            match read(&case.join("expected.exit")).map(|s| s.trim().parse::<i32>()) {
                Some(Ok(code)) if code == runs[0].2.code => {}
                Some(Ok(code)) => problems.push(format!("exit code: expected {code}, got {}", runs[0].2.code)),
                _ => problems.push("expected.exit is missing or not a number".to_owned()),
            }
        }
        if !problems.is_empty() {
            failures.push(format!("== {}\n{}", name(&case), problems.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every kind of change appears in some case's golden, and the cases cover no change, a
/// breaking change, and a side that does not compile.
#[test]
fn cases_cover_every_kind_and_exit_code() {
    let mut kinds = BTreeSet::new();
    let mut exits = BTreeSet::new();
    for case in cases() {
        let json = read(&case.join("expected.json")).unwrap_or_else(|| panic!("{}: expected.json is missing", case.display()));
        let v: Value = serde_json::from_str(&json).expect("expected.json is JSON");
        for c in v["changes"].as_array().into_iter().flatten() {
            kinds.insert(c["code"].as_str().unwrap_or("").to_owned());
        }
        exits.insert(read(&case.join("expected.exit")).unwrap_or_default().trim().to_owned());
    }
    let missing: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).filter(|k| !kinds.contains(*k)).collect();
    assert!(missing.is_empty(), "no case under tests/diff shows these kinds of change: {missing:?}");
    assert_eq!(exits, ["0", "1", "2"].into_iter().map(str::to_owned).collect());
    let none = read(&diff_root().join("no-change/expected.txt")).unwrap_or_default();
    assert_eq!(none, "no changes\n");
}

/// The table of codes in docs/spec.md lists exactly the kinds of change, and its "breaking"
/// column agrees with every golden: `yes` always breaking, `no` never, `input`/`output`
/// breaking exactly in that schema.
#[test]
fn spec_table_of_codes_matches_the_goldens() {
    let spec = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/spec.md")).expect("docs/spec.md");
    let rows: Vec<Vec<String>> = spec
        .lines()
        .skip_while(|l| !l.contains("<!-- diff-kinds-table -->"))
        .skip(3)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().trim_matches('`').to_owned()).collect())
        .collect();
    let documented: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(documented, all, "docs/spec.md's table of diff codes, in declaration order");
    let mut problems = Vec::new();
    for case in cases() {
        let v: Value = serde_json::from_str(&read(&case.join("expected.json")).unwrap_or_default()).unwrap_or(Value::Null);
        for c in v["changes"].as_array().into_iter().flatten() {
            let code = c["code"].as_str().unwrap_or("");
            let Some(row) = rows.iter().find(|r| r[0] == code) else { continue };
            let pointer = c["pointer"].as_str().unwrap_or("");
            let breaking = c["severity"] == "breaking";
            let documented = match row[1].as_str() {
                "yes" => true,
                // A prompt's `arguments` are its input.
                "input" => pointer.starts_with("/input") || pointer.starts_with("/arguments"),
                "output" => pointer.starts_with("/output"),
                _ => false,
            };
            if breaking != documented {
                problems.push(format!("{}: `{code}` at {pointer} is {}, the table says {}", name(&case), c["severity"], row[1]));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A value of a spec cannot add markup to the Markdown report: every cell keeps its row, and
/// nothing outside a code span holds `<`.
#[test]
fn markdown_report_is_inert() {
    let case = diff_root().join("markdown-escaping");
    let run = toolwright(&case, &["diff", "old", "new", "--format", "markdown"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Each row with the number of cells of its table (two for breaking changes, three for others).
    let mut cells = 0;
    let mut rows = Vec::new();
    for line in run.stdout.lines() {
        if line.starts_with("| tool |") {
            cells = line.matches(" | ").count() + 1;
        } else if line.starts_with("| `") {
            rows.push((line, cells));
        }
    }
    assert!(rows.iter().any(|(_, c)| *c == 2) && rows.iter().any(|(_, c)| *c == 3), "{}", run.stdout);
    for (row, cells) in rows {
        // Unescaped pipes separate cells: a value must not add one.
        let bars = row.match_indices('|').filter(|(i, _)| *i == 0 || &row[i - 1..*i] != "\\").count();
        assert_eq!(bars, cells + 1, "a value split the row: {row}");
        // `<` appears only inside code spans.
        let mut in_code = false;
        let mut fence = 0;
        let chars: Vec<char> = row.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '`' {
                let run = chars[i..].iter().take_while(|c| **c == '`').count();
                if !in_code {
                    in_code = true;
                    fence = run;
                } else if run == fence {
                    in_code = false;
                }
                i += run;
                continue;
            }
            assert!(in_code || chars[i] != '<', "`<` outside a code span: {row}");
            i += 1;
        }
        assert!(!in_code, "a code span is left open: {row}");
    }
    assert!(run.stdout.contains("<img src=x onerror=alert(1)>"), "the value is shown, inside a code span");
}

/// The GitHub format annotates the new side's file and line of each changed tool; a
/// breaking change is an error.
#[test]
fn github_annotations_point_at_the_new_side() {
    let case = diff_root().join("required-property-added");
    let run = toolwright(&case, &["diff", "old", "new", "--format", "github"]);
    assert_eq!(run.code, 1);
    let first = run.stdout.lines().next().unwrap_or("");
    assert!(first.starts_with("::error file=new/status.yaml,line=3,title="), "{first}");
    assert!(first.contains("::`get_service_status`: input: new required property `region`"), "{first}");
}

// ---------------------------------------------------------------------------------------------
// git:REV
// ---------------------------------------------------------------------------------------------

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=toolwright tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A repository with two commits of `tools.d` (the `required-property-added` case's old and
/// new catalogs), then a work tree change that is not committed.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    let case = diff_root().join("required-property-added");
    copy_dir(&case.join("old"), &root.join("tools.d"));
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "old catalog"]);
    std::fs::remove_dir_all(root.join("tools.d")).expect("rm");
    copy_dir(&case.join("new"), &root.join("tools.d"));
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "new catalog"]);
    dir
}

#[test]
fn git_revision_against_a_directory() {
    let repo = repository();
    let root = repo.path();
    let run = toolwright(root, &["diff", "git:HEAD~1", "tools.d"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "Breaking changes (1)\n  get_service_status: input: new required property `region`\nOther changes (1)\n  \
         get_service_status: the request it sends changed (same kind and connection): `url`\n\n1 breaking, 1 other change\n"
    );
    // The same revisions by name and with an explicit path; HEAD against the work tree is empty.
    let run = toolwright(root, &["diff", "git:HEAD~1:tools.d", "git:main", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(v["old"], "git:HEAD~1:tools.d");
    assert_eq!(v["new"], "git:main:tools.d");
    assert_eq!(v["changes"][0]["file"], "tools.d/status.yaml", "files of a Git side are shown under its path");
    let run = toolwright(root, &["diff", "git:HEAD", "tools.d"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "no changes\n"), "{}", run.stderr);

    // The work tree is read only for the directory side: an uncommitted change shows, and
    // reading revisions leaves the work tree and the index as they were.
    let status = std::fs::read_to_string(root.join("tools.d/status.yaml")).expect("read");
    std::fs::write(root.join("tools.d/status.yaml"), status.replace("enum: [checkout, payments]", "enum: [checkout]")).expect("write");
    let run = toolwright(root, &["diff", "git:HEAD", "tools.d"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("enum values removed: `\"payments\"`"), "{}", run.stdout);
    let out = Command::new("git").current_dir(root).args(["status", "--porcelain"]).output().expect("git status");
    assert_eq!(String::from_utf8_lossy(&out.stdout), " M tools.d/status.yaml\n");

    // From a subdirectory, PATH is relative to it, as a directory argument is.
    let run = toolwright(&root.join("tools.d"), &["diff", "git:HEAD~1:.", "."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("new required property `region`"), "{}", run.stdout);
}

#[test]
fn git_errors_are_clear() {
    let repo = repository();
    let root = repo.path();
    let run = toolwright(root, &["diff", "git:no-such-rev", "tools.d"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown revision `no-such-rev`"), "{}", run.stderr);
    let run = toolwright(root, &["diff", "git:--upload-pack=x", "tools.d"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot start with `-`"), "{}", run.stderr);
    let run = toolwright(root, &["diff", "git:HEAD:../outside", "tools.d"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not inside the repository"), "{}", run.stderr);

    // A path that did not exist at the revision: an empty side, and a note saying so.
    let run = toolwright(root, &["diff", "git:HEAD:catalog.d", "tools.d"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("`catalog.d` does not exist at `HEAD`"), "{}", run.stderr);
    assert!(run.stdout.contains("get_service_status: tool added"), "{}", run.stdout);

    let outside = tempfile::tempdir().expect("tempdir");
    copy_dir(&root.join("tools.d"), &outside.path().join("tools.d"));
    let run = Command::new(env!("CARGO_BIN_EXE_toolwright"))
        .current_dir(outside.path())
        .args(["diff", "git:HEAD", "tools.d"])
        .env("GIT_CEILING_DIRECTORIES", outside.path().parent().expect("parent"))
        .env_remove("GIT_DIR")
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("is not in one"), "{stderr}");
}
