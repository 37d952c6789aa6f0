//! Every command and output shown in README.md and docs/*.md is checked here, so the documentation
//! cannot drift from what the binary does.
//!
//! # The convention
//!
//! A Markdown block is tested according to the HTML comment on the line just before it (invisible
//! when the Markdown is rendered):
//!
//! - `<!-- doctest: file PATH -->`: the block's text is written to `PATH` in the sandbox (so the
//!   YAML the reader is told to create is the file the next commands read).
//! - `<!-- doctest: run -->` before a ```` ```console ```` block: each `$ ` line is a command (a
//!   trailing `\` continues it on the next line), and the lines up to the next `$ ` are what it
//!   prints, stdout and stderr together as a terminal shows them. The commands of one block run
//!   in one `bash`, in the sandbox, with `toolwright` on `PATH` (the binary under test). In the
//!   expected output `[..]` stands for any text within a line, and a line `...` for any number of
//!   lines. Every command must exit 0 except the last, which must exit with `exit=N` (default 0).
//!   Options: `edit="FILE: OLD -> NEW"` replaces `OLD` (exactly once) in `FILE` for this block
//!   only (a typo the text describes); `tty` runs the block under a pseudo-terminal (`script`),
//!   with stdin at end of file, as a person at a terminal who pressed Ctrl-D.
//! - `<!-- doctest: check -->` before a ```` ```sh ```` block: the commands are *not run*; they need
//!   a network peer, an AWS account, an MCP client, Claude Desktop, or minutes of building. The
//!   block must be valid `bash` (`bash -n`), every `toolwright` invocation in it must be accepted
//!   by the command-line parser (run with `--help` appended, which parses every argument before
//!   it), `cargo` profiles must exist in Cargo.toml, scripts must exist and be executable, and
//!   every other program must be one of [`NOT_RUN`]. The test prints what it checked this way.
//! - `<!-- doctest: claude-desktop -->` before a ```` ```json ```` block: it parses, and each
//!   server's `args` are a valid `toolwright` invocation (as for `check`).
//! - `<!-- doctest: commands-table -->` before a Markdown table: every `--flag` of a row that starts
//!   with `` `toolwright SUBCOMMAND `` is an option of that subcommand (`toolwright SUBCOMMAND --help`).
//! - `<!-- doctest: lint-codes-table -->` before a Markdown table: its `code` and `severity`
//!   columns are exactly the binary's lint codes (`toolwright::diag::Code::ALL`).
//! - `<!-- doctest: skip reason="..." -->`: not tested, and the reason says why.
//!
//! `pending="WHY"` on a `run`, `check` or `commands-table` marker, or `pending-codes="a,b"` on a
//! `lint-codes-table`, marks a check of behaviour that is documented but not implemented yet: it
//! runs, a failure is printed but does not fail the test, and a pass is printed as "now passes:
//! remove the pending marker". `TOOLWRIGHT_DOCTEST_STRICT=1` makes pending checks count.
//!
//! Every ```` ```console ````, ```` ```sh ````, ```` ```bash ````, ```` ```shell ````, ```` ```text ````
//! block and every block without an info string must carry a marker (a `skip` says why it is not
//! tested); YAML and JSON blocks may go unmarked (they are spec or config text, not output).
//!
//! Each Markdown file runs in a sandbox of its own: a temporary directory holding `tools.d/`
//! (a copy of the tests' example catalog, `tests/fixtures/tools.d`, which is what a fresh clone's
//! `tools.d/` holds) and `schemas/`; its blocks run in document order and share the sandbox. The
//! environment is cleared (no `AWS_*` or `TOOLWRIGHT_*` variables, instance metadata disabled,
//! `HOME` inside the sandbox, `TZ=UTC`, `NO_COLOR=1`), so nothing reaches a network.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use toolwright::diag::Code;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TOOLWRIGHT: &str = env!("CARGO_BIN_EXE_toolwright");

/// How long one `run` block may take.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Programs a `check` block may name that are accepted without running them (and without any
/// further check): clients, servers and tools outside this repository.
const NOT_RUN: &[&str] =
    &["aws", "curl", "npx", "kill", "export", "openssl", "rustup", "cd", "echo", "date", "source", "git", "python3", "sleep"];

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn readme() {
    assert_doc(Path::new("README.md"));
}

#[test]
fn docs() {
    let dir = Path::new(ROOT).join("docs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("docs/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "docs/ holds Markdown files");
    for f in files {
        assert_doc(f.strip_prefix(ROOT).expect("under the repository"));
    }
}

/// The harness itself: a shown output that differs from the real one fails, and so does a
/// wrong exit code, an invalid invocation in a `check` block and an unmarked console block.
#[test]
fn drift_is_caught() {
    let good = "<!-- doctest: run -->\n```console\n$ toolwright lint tools.d\n0 errors, 0 warnings\n```\n";
    assert_eq!(run_doc("good.md", good).failures, Vec::<String>::new());

    let wrong_output = "<!-- doctest: run -->\n```console\n$ toolwright lint tools.d\n1 errors, 0 warnings\n```\n";
    let failures = run_doc("wrong.md", wrong_output).failures;
    assert!(
        failures.len() == 1 && failures[0].contains("line 3: `$ toolwright lint tools.d`") && failures[0].contains("0 errors, 0 warnings"),
        "{failures:?}"
    );

    let wrong_exit = "<!-- doctest: run exit=1 -->\n```console\n$ toolwright lint tools.d\n0 errors, 0 warnings\n```\n";
    let failures = run_doc("exit.md", wrong_exit).failures;
    assert!(failures.len() == 1 && failures[0].contains("exited 0, the document says 1"), "{failures:?}");

    let typo = "<!-- doctest: run exit=1 edit=\"tools.d/connections.yaml: region: -> regoin:\" -->\n```console\n\
                $ toolwright lint tools.d\n...\nerror[unknown-field]: unknown field `regoin`[..]\n...\n```\n\
                <!-- doctest: run -->\n```console\n$ toolwright lint tools.d\n0 errors, 0 warnings\n```\n";
    assert_eq!(run_doc("typo.md", typo).failures, Vec::<String>::new(), "an edit applies to its block only");

    let bad_flag = "<!-- doctest: check -->\n```sh\ntoolwright serve --htpp 127.0.0.1:8000 &\ncurl -s http://127.0.0.1:8000/mcp\n```\n";
    let failures = run_doc("check.md", bad_flag).failures;
    assert!(failures.len() == 1 && failures[0].contains("--htpp"), "{failures:?}");

    let unknown_program = "<!-- doctest: check -->\n```sh\nwget http://example.com\n```\n";
    let failures = run_doc("program.md", unknown_program).failures;
    assert!(failures.len() == 1 && failures[0].contains("`wget`"), "{failures:?}");

    let unmarked = "```console\n$ toolwright lint tools.d\n0 errors, 0 warnings\n```\n";
    let failures = run_doc("unmarked.md", unmarked).failures;
    assert!(failures.len() == 1 && failures[0].contains("no doctest marker"), "{failures:?}");

    let pending = "<!-- doctest: run pending=\"not yet\" -->\n```console\n$ toolwright lint tools.d\nnot this\n```\n";
    let outcome = run_doc("pending.md", pending);
    if strict() {
        assert_eq!(outcome.failures.len(), 1);
    } else {
        assert!(outcome.failures.is_empty() && outcome.pending_failures.len() == 1, "{outcome:?}");
    }
}

#[test]
fn wildcards() {
    let m = |expected: &str, actual: &str| output_matches(&lines(expected), &lines(actual));
    assert!(m("a [..] c", "a b c"));
    assert!(m("a [..] c", "a  c"));
    assert!(!m("a [..] c", "a b d"));
    assert!(m("[..]x", "x"));
    assert!(m("a[..]", "abc"));
    assert!(m("...", ""));
    assert!(m("...\nz", "x\ny\nz"));
    assert!(m("a\n...\nz", "a\nz"));
    assert!(!m("a\n...\nz", "a\ny"));
    assert!(m("a\n...", "a\nb\nc"));
    assert!(!m("a", "a\nb"));
    assert!(m("[..] loaded tools=[..] hash=[..]", "2026 INFO loaded tools=5 hash=ab"));
}

// ---------------------------------------------------------------------------------------------
// Documents and markers
// ---------------------------------------------------------------------------------------------

fn strict() -> bool {
    std::env::var_os("TOOLWRIGHT_DOCTEST_STRICT").is_some_and(|v| v == "1")
}

/// Runs one Markdown file of the repository and fails with every difference it found.
fn assert_doc(rel: &Path) {
    let text = std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
    let outcome = run_doc(&rel.to_string_lossy(), &text);
    for note in &outcome.notes {
        eprintln!("{note}");
    }
    for p in &outcome.pending_failures {
        eprintln!("pending (documented ahead of the implementation; not counted):\n{p}\n");
    }
    assert!(outcome.blocks > 0, "{}: no tested block", rel.display());
    assert!(
        outcome.failures.is_empty(),
        "{}: {} example(s) differ from what toolwright does:\n\n{}",
        rel.display(),
        outcome.failures.len(),
        outcome.failures.join("\n\n")
    );
}

#[derive(Debug, Default)]
struct Outcome {
    /// Tested blocks and tables.
    blocks: usize,
    failures: Vec<String>,
    pending_failures: Vec<String>,
    notes: Vec<String>,
}

/// A `<!-- doctest: KIND ... -->` marker: its kind, positional words and `key=value` options.
#[derive(Debug, Default)]
struct Marker {
    kind: String,
    words: Vec<String>,
    options: BTreeMap<String, String>,
}

fn parse_marker(line: &str) -> Option<Result<Marker, String>> {
    let inner = line.trim().strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    let rest = inner.strip_prefix("doctest:")?;
    let mut marker = Marker::default();
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    let mut tokens = Vec::new();
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let mut token = String::new();
        while i < chars.len() && !chars[i].is_whitespace() {
            if chars[i] == '"' {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    token.push(chars[i]);
                    i += 1;
                }
                if i == chars.len() {
                    return Some(Err(format!("unclosed quote in `{line}`")));
                }
            } else {
                token.push(chars[i]);
            }
            i += 1;
        }
        tokens.push(token);
    }
    let mut tokens = tokens.into_iter();
    marker.kind = tokens.next().unwrap_or_default();
    for t in tokens {
        match t.split_once('=') {
            Some((k, v)) => {
                marker.options.insert(k.to_owned(), v.to_owned());
            }
            None => marker.words.push(t),
        }
    }
    Some(Ok(marker))
}

/// One fenced block: its info string, its text and the 1-based line of its opening fence.
struct Block {
    info: String,
    body: Vec<String>,
    line: usize,
}

/// Runs every marked block and table of a document in a fresh sandbox.
fn run_doc(name: &str, text: &str) -> Outcome {
    let sandbox = Sandbox::new();
    let mut out = Outcome::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut pending_marker: Option<(usize, Marker)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let marker = pending_marker.take();
        if let Some(parsed) = parse_marker(line) {
            match parsed {
                Ok(m) => pending_marker = Some((i + 1, m)),
                Err(e) => out.failures.push(format!("{name}:{}: {e}", i + 1)),
            }
            if let Some((at, _)) = marker {
                out.failures.push(format!("{name}:{at}: a doctest marker must be followed at once by its block or table"));
            }
            i += 1;
            continue;
        }
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            let indent = line.len() - line.trim_start().len();
            let info = fence.trim().to_owned();
            let start = i + 1;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push(lines[i].get(indent..).unwrap_or(lines[i].trim_start()).to_owned());
                i += 1;
            }
            i += 1;
            let block = Block { info, body, line: start };
            match marker {
                Some((_, m)) => {
                    out.blocks += usize::from(m.kind != "skip");
                    run_block(name, &block, &m, &sandbox, &mut out);
                }
                None => {
                    let needs_marker =
                        matches!(block.info.split_whitespace().next().unwrap_or(""), "" | "console" | "sh" | "bash" | "shell" | "text");
                    if needs_marker {
                        out.failures.push(format!(
                            "{name}:{}: a ```{} block with no doctest marker: add `<!-- doctest: run -->`, `check`, or `skip reason=\"...\"` \
                             on the line before it (see tests/doc_examples.rs)",
                            block.line, block.info
                        ));
                    }
                }
            }
            continue;
        }
        if line.trim_start().starts_with('|') {
            let start = i + 1;
            let mut rows = Vec::new();
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                rows.push(lines[i].to_owned());
                i += 1;
            }
            if let Some((_, m)) = marker {
                out.blocks += 1;
                run_table(name, start, &rows, &m, &mut out);
            }
            continue;
        }
        if let Some((at, _)) = marker {
            out.failures.push(format!("{name}:{at}: a doctest marker must be followed at once by its block or table"));
        }
        i += 1;
    }
    out
}

/// Files a failure, or a pending failure when the marker says the behaviour is not there yet.
fn report(out: &mut Outcome, marker: &Marker, at: String, failure: Option<String>) {
    let pending = marker.options.get("pending").filter(|_| !strict());
    match (failure, pending) {
        (Some(f), None) => out.failures.push(format!("{at}: {f}")),
        (Some(f), Some(why)) => out.pending_failures.push(format!("{at} (pending: {why}): {f}")),
        (None, Some(why)) => out.notes.push(format!("{at}: now passes: remove the pending marker ({why})")),
        (None, None) => {}
    }
}

fn run_block(name: &str, block: &Block, marker: &Marker, sandbox: &Sandbox, out: &mut Outcome) {
    let at = format!("{name}:{}", block.line);
    match marker.kind.as_str() {
        "skip" => {
            if marker.options.get("reason").is_none_or(|r| r.trim().is_empty()) {
                out.failures.push(format!("{at}: `skip` needs reason=\"...\""));
            }
        }
        "file" => {
            let Some(path) = marker.words.first() else {
                out.failures.push(format!("{at}: `file` needs a path"));
                return;
            };
            let target = sandbox.dir.path().join(path);
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&target, block.body.join("\n") + "\n").expect("write the file block");
        }
        "run" => {
            let failure = run_console(block, marker, sandbox);
            report(out, marker, at, failure);
        }
        "check" => {
            let (failure, checked) = check_shell(&block.body.join("\n"));
            out.notes.push(format!("{at}: checked without running: {}", checked.join("; ")));
            report(out, marker, at, failure);
        }
        "claude-desktop" => report(out, marker, at, check_claude_desktop(&block.body.join("\n"))),
        other => out.failures.push(format!("{at}: unknown doctest marker `{other}` before a block")),
    }
}

// ---------------------------------------------------------------------------------------------
// The sandbox
// ---------------------------------------------------------------------------------------------

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("a sandbox");
        let root = Path::new(ROOT);
        copy_dir(&root.join("tests/fixtures/tools.d"), &dir.path().join("tools.d"));
        copy_dir(&root.join("schemas"), &dir.path().join("schemas"));
        let bin = dir.path().join(".doctest/bin");
        std::fs::create_dir_all(&bin).expect("mkdir .doctest/bin");
        std::os::unix::fs::symlink(TOOLWRIGHT, bin.join("toolwright")).expect("symlink toolwright");
        std::fs::create_dir_all(dir.path().join(".doctest/home")).expect("mkdir home");
        Sandbox { dir }
    }

    fn command(&self, program: &str) -> Command {
        let d = self.dir.path();
        let mut cmd = Command::new(program);
        cmd.current_dir(d)
            .env_clear()
            .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", d.join(".doctest/bin").display()))
            .env("HOME", d.join(".doctest/home"))
            .env("LANG", "C.UTF-8")
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", d.join(".doctest/no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", d.join(".doctest/no-aws-config"))
            .stdin(Stdio::null())
            .process_group(0);
        cmd
    }
}

/// SIGKILL to the process group a block's shell leads (it was started with `process_group(0)`,
/// so its pid is the group id). Called directly, never through `kill(1)`: procps' `kill -KILL -PGID`
/// was seen signalling every process of the machine (`kill(-1, SIGKILL)`).
fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return };
    if pgid > 1 {
        // SAFETY: kill(2) takes plain integers; a negative pid names exactly one process group.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("an entry");
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `run`: console transcripts
// ---------------------------------------------------------------------------------------------

struct Step {
    /// The 1-based line of the `$ ` in the document.
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The steps of a console block whose first line is line `first` of the document.
fn parse_console(body: &[String], first: usize) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for (n, line) in body.iter().enumerate() {
        if continuing {
            let step = steps.last_mut().expect("a step");
            step.command.push('\n');
            step.command.push_str(line);
            continuing = line.ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step { line: first + n, command: cmd.to_owned(), expected: Vec::new() });
            continuing = cmd.ends_with('\\');
        } else {
            let Some(step) = steps.last_mut() else {
                return Err(format!("output before the first `$ ` command: `{line}`"));
            };
            step.expected.push(line.clone());
        }
    }
    if steps.is_empty() {
        return Err("no `$ ` command in the block".to_owned());
    }
    Ok(steps)
}

/// Runs a console block; `None` when every command printed what is shown and exited as expected.
fn run_console(block: &Block, marker: &Marker, sandbox: &Sandbox) -> Option<String> {
    let steps = match parse_console(&block.body, block.line + 1) {
        Ok(s) => s,
        Err(e) => return Some(e),
    };
    let want_exit: i32 = match marker.options.get("exit").map(|e| e.parse()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Some("exit=N needs a number".to_owned()),
    };
    let restore = match marker.options.get("edit") {
        None => None,
        Some(edit) => match apply_edit(sandbox, edit) {
            Ok(r) => Some(r),
            Err(e) => return Some(e),
        },
    };
    let result = run_steps(&steps, marker.words.iter().any(|w| w == "tty"), sandbox);
    if let Some((path, original)) = restore {
        std::fs::write(path, original).expect("undo the edit");
    }
    let results = match result {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    let mut problems = Vec::new();
    for (n, (step, (code, output))) in steps.iter().zip(&results).enumerate() {
        let expected_code = if n + 1 == steps.len() { want_exit } else { 0 };
        let actual = lines(output);
        let matches = output_matches(&step.expected, &actual);
        if !matches || *code != expected_code {
            let mut p = format!("line {}: `$ {}`", step.line, step.command);
            if *code != expected_code {
                p.push_str(&format!(" exited {code}, the document says {expected_code}"));
            }
            if !matches {
                p.push_str(&format!(
                    "\n--- the document shows:\n{}\n--- toolwright printed:\n{}\n---",
                    step.expected.join("\n"),
                    actual.join("\n")
                ));
            } else {
                p.push_str(&format!("; it printed:\n{}", actual.join("\n")));
            }
            problems.push(p);
        }
    }
    if results.len() < steps.len() {
        problems.push(format!("only {} of {} commands ran", results.len(), steps.len()));
    }
    (!problems.is_empty()).then(|| problems.join("\n"))
}

/// Applies `FILE: OLD -> NEW` in the sandbox; returns the file and its original text.
fn apply_edit(sandbox: &Sandbox, edit: &str) -> Result<(PathBuf, String), String> {
    let (file, change) = edit.split_once(": ").ok_or_else(|| format!("edit=\"{edit}\" is not `FILE: OLD -> NEW`"))?;
    let (old, new) = change.split_once(" -> ").ok_or_else(|| format!("edit=\"{edit}\" is not `FILE: OLD -> NEW`"))?;
    let path = sandbox.dir.path().join(file);
    let original = std::fs::read_to_string(&path).map_err(|e| format!("edit: cannot read {file}: {e}"))?;
    if original.matches(old).count() != 1 {
        return Err(format!("edit: `{old}` must occur exactly once in {file}"));
    }
    std::fs::write(&path, original.replacen(old, new, 1)).expect("write the edit");
    Ok((path, original))
}

/// Runs the commands in one bash; returns each command's exit code and combined output.
fn run_steps(steps: &[Step], tty: bool, sandbox: &Sandbox) -> Result<Vec<(i32, String)>, String> {
    let nonce = format!("@@doctest-{}-{:?}@@", std::process::id(), Instant::now());
    let mut script = String::from("exec 2>&1\n");
    for step in steps {
        script.push_str(&format!("{{\n{}\n}}\nprintf '\\n%s %d\\n' '{nonce}' $?\n", step.command));
    }
    let file = sandbox.dir.path().join(".doctest/block.sh");
    std::fs::write(&file, script).expect("write the block script");
    let mut cmd = if tty {
        let mut c = sandbox.command("script");
        c.arg("-qec").arg(format!("bash --noprofile --norc {}", file.display())).arg("/dev/null");
        c
    } else {
        let mut c = sandbox.command("bash");
        c.arg("--noprofile").arg("--norc").arg(&file);
        c
    };
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| format!("cannot start bash: {e}"))?;
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let began = Instant::now();
    let mut timed_out = false;
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if began.elapsed() > BLOCK_TIMEOUT {
            timed_out = true;
            kill_group(child.id());
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Whatever the block left running in the background (and holding stdout open) stops with it.
    kill_group(child.id());
    let raw = reader.join().expect("the reader");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let text = strip_terminal(&String::from_utf8_lossy(&raw));
    let mut results = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(code) = line.trim_end().strip_prefix(&nonce) {
            results.push((code.trim().parse().unwrap_or(-1), std::mem::take(&mut current)));
        } else {
            current.push_str(line);
        }
    }
    if timed_out {
        return Err(format!("the block did not finish within {}s (stopped); output so far:\n{text}", BLOCK_TIMEOUT.as_secs()));
    }
    if results.len() < steps.len() {
        let mut partial = results;
        partial.push((-1, format!("{current}{stderr}")));
        return Ok(partial);
    }
    Ok(results)
}

/// Removes what a terminal adds: carriage returns and ANSI colour sequences.
fn strip_terminal(text: &str) -> String {
    let ansi = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("regex");
    ansi.replace_all(&text.replace("\r\n", "\n").replace('\r', ""), "").into_owned()
}

/// Lines without trailing spaces, without leading and trailing blank lines.
fn lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(|l| l.trim_end().to_owned()).collect();
    while v.last().is_some_and(String::is_empty) {
        v.pop();
    }
    while v.first().is_some_and(String::is_empty) {
        v.remove(0);
    }
    v
}

fn output_matches(expected: &[String], actual: &[String]) -> bool {
    let expected = lines(&expected.join("\n"));
    matches_from(&expected, actual)
}

fn matches_from(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => (0..=actual.len()).any(|skip| matches_from(rest, &actual[skip..])),
        Some((first, rest)) => actual.split_first().is_some_and(|(a, arest)| line_matches(first, a) && matches_from(rest, arest)),
    }
}

/// One line against its expected form, where `[..]` matches any text.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("[..]").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() || !actual.ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// `check`: shell shown but not run
// ---------------------------------------------------------------------------------------------

/// Checks a shell block without running it; returns the failure (if any) and what was checked.
fn check_shell(text: &str) -> (Option<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    let syntax = Command::new("bash").arg("-n").arg("-c").arg(text).output().expect("bash -n");
    if !syntax.status.success() {
        problems.push(format!("not valid bash: {}", String::from_utf8_lossy(&syntax.stderr).trim()));
    }
    match simple_commands(text) {
        Err(e) => problems.push(e),
        Ok(commands) => {
            for argv in commands {
                match check_argv(&argv) {
                    Ok(what) => checked.push(what),
                    Err(e) => problems.push(e),
                }
            }
        }
    }
    ((!problems.is_empty()).then(|| problems.join("\n")), checked)
}

fn check_argv(argv: &[String]) -> Result<String, String> {
    let program = argv[0].as_str();
    let base = program.rsplit('/').next().unwrap_or(program);
    let shown = argv.join(" ");
    if base == "toolwright" {
        check_toolwright(&argv[1..]).map(|()| format!("`{shown}` parses"))
    } else if program == "cargo" {
        check_cargo(&argv[1..]).map(|()| format!("`{shown}` names existing profiles"))
    } else if program.contains('/') {
        let path = Path::new(ROOT).join(program.trim_start_matches("./"));
        let executable = std::fs::metadata(&path).is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0);
        if executable {
            Ok(format!("`{program}` exists and is executable"))
        } else {
            Err(format!("`{program}` is not an executable file of the repository"))
        }
    } else if NOT_RUN.contains(&program) {
        Ok(format!("`{program}` not run"))
    } else {
        Err(format!("`{program}` is neither toolwright, cargo, a script of the repository nor in NOT_RUN of tests/doc_examples.rs"))
    }
}

/// `toolwright ARGS --help` exits 0 only when the parser accepts every argument before `--help`.
fn check_toolwright(args: &[String]) -> Result<(), String> {
    let out = Command::new(TOOLWRIGHT).args(args).arg("--help").stdin(Stdio::null()).output().expect("run toolwright");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`toolwright {}` is refused by the parser: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn check_cargo(args: &[String]) -> Result<(), String> {
    let manifest = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).expect("Cargo.toml");
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        if a == "--profile" {
            let p = iter.next().ok_or("--profile needs a name")?;
            if !matches!(p.as_str(), "dev" | "release" | "test" | "bench") && !manifest.contains(&format!("[profile.{p}]")) {
                return Err(format!("cargo profile `{p}` is not defined in Cargo.toml"));
            }
        }
        if a == "--path" {
            let p = iter.next().ok_or("--path needs a path")?;
            if !Path::new(ROOT).join(p).join("Cargo.toml").is_file() {
                return Err(format!("`--path {p}` names no package"));
            }
        }
        if a == "--" && args.first().is_some_and(|s| s == "run") {
            let rest: Vec<String> = iter.cloned().collect();
            return check_toolwright(&rest);
        }
    }
    Ok(())
}

/// Splits shell text into simple commands (argv after quote removal), following `$(...)`,
/// skipping variable assignments and redirections. Enough for documentation, not a shell.
fn simple_commands(text: &str) -> Result<Vec<Vec<String>>, String> {
    let chars: Vec<char> = text.replace("\\\n", " ").chars().collect();
    let mut commands = Vec::new();
    let mut argv: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let flush = |argv: &mut Vec<String>, commands: &mut Vec<Vec<String>>| {
        // Leading `NAME=value` words are assignments, not the program.
        let start = argv.iter().position(|w| !is_assignment(w)).unwrap_or(argv.len());
        if start < argv.len() {
            commands.push(argv[start..].to_vec());
        }
        argv.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '\\' if i + 1 < chars.len() => {
                in_word = true;
                word.push(chars[i + 1]);
                i += 1;
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                let mut depth = 0;
                let start = i + 2;
                i += 1;
                while i < chars.len() {
                    match chars[i] {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let inner: String = chars[start..i.min(chars.len())].iter().collect();
                commands.extend(simple_commands(&inner)?);
                in_word = true;
                word.push_str("$(...)");
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ' ' | '\t' => {
                if in_word {
                    argv.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\n' | ';' | '&' | '|' => {
                if in_word {
                    argv.push(std::mem::take(&mut word));
                    in_word = false;
                }
                flush(&mut argv, &mut commands);
            }
            '<' | '>' => {
                if in_word {
                    argv.push(std::mem::take(&mut word));
                    in_word = false;
                }
                // The redirection's target is the next word: skip it.
                i += 1;
                while i < chars.len() && matches!(chars[i], '>' | '&' | ' ') {
                    i += 1;
                }
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                continue;
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
        i += 1;
    }
    if in_word {
        argv.push(word);
    }
    flush(&mut argv, &mut commands);
    Ok(commands)
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

// ---------------------------------------------------------------------------------------------
// `claude-desktop` and tables
// ---------------------------------------------------------------------------------------------

fn check_claude_desktop(text: &str) -> Option<String> {
    let config: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Some(format!("not JSON: {e}")),
    };
    let Some(servers) = config["mcpServers"].as_object().filter(|s| !s.is_empty()) else {
        return Some("no `mcpServers` object".to_owned());
    };
    let mut problems = Vec::new();
    for (name, server) in servers {
        let command = server["command"].as_str().unwrap_or_default();
        if !command.ends_with("toolwright") {
            problems.push(format!("server `{name}`: command `{command}` is not toolwright"));
            continue;
        }
        let args: Vec<String> = server["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_owned)).collect();
        if let Err(e) = check_toolwright(&args) {
            problems.push(format!("server `{name}`: {e}"));
        }
    }
    (!problems.is_empty()).then(|| problems.join("\n"))
}

fn cells(row: &str) -> Vec<String> {
    // `\|` inside a cell is a literal bar.
    let row = row.trim().trim_start_matches('|').trim_end_matches('|').replace("\\|", "\u{0}");
    row.split('|').map(|c| c.trim().replace('\u{0}', "|")).collect()
}

fn run_table(name: &str, line: usize, rows: &[String], marker: &Marker, out: &mut Outcome) {
    let at = format!("{name}:{line}");
    match marker.kind.as_str() {
        "commands-table" => {
            let mut problems = Vec::new();
            let flag = regex::Regex::new(r"--[a-z][a-z0-9-]*").expect("regex");
            for row in rows.iter().skip(2) {
                let first = &cells(row)[0];
                let Some(usage) = first.strip_prefix("`toolwright ") else { continue };
                let sub = usage.split([' ', '`']).next().unwrap_or_default();
                let help = Command::new(TOOLWRIGHT).arg(sub).arg("--help").output().expect("toolwright --help");
                if !help.status.success() {
                    problems.push(format!("`toolwright {sub}` is not a subcommand"));
                    continue;
                }
                let help = String::from_utf8_lossy(&help.stdout);
                for f in flag.find_iter(usage) {
                    if !help.contains(f.as_str()) {
                        problems.push(format!("`toolwright {sub}` has no option `{}`", f.as_str()));
                    }
                }
            }
            report(out, marker, at, (!problems.is_empty()).then(|| problems.join("\n")));
        }
        "lint-codes-table" => {
            let pending: BTreeSet<String> = marker
                .options
                .get("pending-codes")
                .map(|p| p.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect())
                .unwrap_or_default();
            let shown: BTreeMap<String, String> = rows
                .iter()
                .skip(2)
                .map(|r| cells(r))
                .map(|c| (c[0].trim_matches('`').to_owned(), c.get(1).cloned().unwrap_or_default()))
                .collect();
            let binary: BTreeMap<String, String> =
                Code::ALL.iter().map(|c| (c.as_str().to_owned(), format!("{:?}", c.severity()).to_lowercase())).collect();
            let mut problems = Vec::new();
            let mut waiting = Vec::new();
            for (code, severity) in &shown {
                match binary.get(code) {
                    None if pending.contains(code) && !strict() => waiting.push(code.clone()),
                    None => problems.push(format!("the table lists `{code}`, which toolwright does not have")),
                    Some(s) if s != severity => problems.push(format!("`{code}` is a {s}, the table says {severity}")),
                    Some(_) => {}
                }
            }
            for code in binary.keys() {
                if !shown.contains_key(code) {
                    problems.push(format!("the lint code `{code}` is missing from the table"));
                }
            }
            for code in &pending {
                if binary.contains_key(code) {
                    out.notes.push(format!("{at}: `{code}` now exists: remove it from pending-codes"));
                }
            }
            if !waiting.is_empty() {
                out.pending_failures.push(format!("{at}: not in the binary yet: {}", waiting.join(", ")));
            }
            if !problems.is_empty() {
                out.failures.push(format!("{at}: {}", problems.join("\n")));
            }
        }
        other => out.failures.push(format!("{at}: unknown doctest marker `{other}` before a table")),
    }
}
