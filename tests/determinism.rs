//! The same specs give the same catalog hash and byte-identical lint output, whatever order
//! the files and directories were created in and whatever the process's hash seeds are.
//!
//! Two copies of the example catalog (`tests/fixtures/tools.d`) are laid out in nested directories, one created file
//! by file in sorted order (parents first), the other in reverse order (deepest directories
//! first), so the order `readdir` returns them in differs between the copies.

use std::path::{Path, PathBuf};
use std::process::Command;

use toolwright::compile::compile_dirs;

/// The tests' example catalog (a copy of the bundled `tools.d`, which is the user's to edit), as
/// (relative path, text), sorted by path.
fn bundled() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tools.d");
    let (files, diags) = toolwright::spec::load(&[root]);
    assert!(diags.is_empty(), "tests/fixtures/tools.d loads: {diags:?}");
    assert!(files.len() >= 2, "tests/fixtures/tools.d holds several files");
    files.into_iter().map(|f| (f.relative, f.text)).collect()
}

/// Specs with errors in several files, so the order of diagnostics across files and within a
/// file is part of what is compared: a tool name defined twice, an unknown field, an undeclared
/// variable, an unused input and a bad connection reference.
fn broken() -> Vec<(String, String)> {
    let tool = |name: &str, extra: &str| {
        format!(
            "kind: tool\nname: {name}\ndescription: Errors of one service.\ninput:\n  type: object\n  properties:\n    service: {{type: string}}\n    unused: {{type: integer}}\naction:\n  logs_insights:\n    connection: aws-defualt\n    log_groups: [\"/ecs/{{{{ servce }}}}\"]\n    query: fields @message\n{extra}"
        )
    };
    vec![
        ("zz/late/errors.yaml".to_owned(), tool("query_cloudwatch_logs", "    limit: 20000\n")),
        ("aa/early.yaml".to_owned(), tool("dup_tool", "    log_group: x\n")),
        ("mm/dup.yml".to_owned(), format!("{}---\n{}", tool("dup_tool", ""), tool("other_tool", "    period: 45s\n"))),
    ]
}

/// Where each file goes: spread over nested directories so that the walk has work to do.
fn nested(files: &[(String, String)]) -> Vec<(PathBuf, String)> {
    files
        .iter()
        .enumerate()
        .map(|(i, (rel, text))| {
            let sub = match i % 3 {
                0 => PathBuf::new(),
                1 => PathBuf::from("aws"),
                _ => PathBuf::from("b").join("deeper"),
            };
            (sub.join(rel), text.clone())
        })
        .collect()
}

/// Writes the files under `<dir>/tools.d`, in the given order; `deepest_first` creates every
/// directory before any file, deepest directories first.
fn write_tree(dir: &Path, files: &[(PathBuf, String)], deepest_first: bool) -> PathBuf {
    let root = dir.join("tools.d");
    std::fs::create_dir_all(&root).expect("mkdir tools.d");
    if deepest_first {
        let mut dirs: Vec<PathBuf> = files.iter().filter_map(|(p, _)| p.parent().map(Path::to_path_buf)).collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
    }
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write spec");
    }
    root
}

/// Two trees with the same content, created in opposite orders.
fn twin_trees(files: &[(PathBuf, String)]) -> (tempfile::TempDir, tempfile::TempDir) {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    write_tree(a.path(), files, false);
    let reversed: Vec<_> = files.iter().rev().cloned().collect();
    write_tree(b.path(), &reversed, true);
    (a, b)
}

fn lint_json(cwd: &Path) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_toolwright"))
        .current_dir(cwd)
        .args(["lint", "tools.d", "--format", "json"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run toolwright lint");
    (String::from_utf8(out.stdout).expect("UTF-8 stdout"), out.status.code().expect("exit code"))
}

#[test]
fn bundled_catalog_hash_does_not_depend_on_creation_order() {
    let files = nested(&bundled());
    let (a, b) = twin_trees(&files);
    let ca = compile_dirs(&[a.path().join("tools.d")], None);
    let cb = compile_dirs(&[b.path().join("tools.d")], None);
    assert!(ca.diagnostics.is_empty(), "{:?}", ca.diagnostics);
    assert!(cb.diagnostics.is_empty(), "{:?}", cb.diagnostics);
    let (ca, cb) = (ca.catalog.expect("catalog a"), cb.catalog.expect("catalog b"));
    assert_eq!(ca.hash(), cb.hash());
    assert_eq!(ca.hash().len(), 64, "a SHA-256 in hex");
    // `source` names the file by the path it was loaded from; compare it below the root.
    let names = |c: &toolwright::catalog::Catalog, root: &Path| {
        let prefix = format!("{}/", root.join("tools.d").display());
        c.tools().iter().map(|t| (t.name.clone(), t.source.strip_prefix(&prefix).unwrap_or(&t.source).to_owned())).collect::<Vec<_>>()
    };
    assert_eq!(names(&ca, a.path()), names(&cb, b.path()));
    // Compiling the same tree again gives the same hash too.
    let again = compile_dirs(&[a.path().join("tools.d")], None).catalog.expect("catalog again");
    assert_eq!(again.hash(), ca.hash());
}

#[test]
fn catalog_hash_changes_with_content_and_with_paths() {
    let files = nested(&bundled());
    let dir = tempfile::tempdir().expect("tempdir");
    let root = write_tree(dir.path(), &files, false);
    let base = compile_dirs(std::slice::from_ref(&root), None).catalog.expect("catalog").hash().to_owned();

    // One more comment line: another hash.
    let (first, text) = &files[0];
    std::fs::write(root.join(first), format!("{text}# edited\n")).expect("write");
    let edited = compile_dirs(std::slice::from_ref(&root), None).catalog.expect("catalog").hash().to_owned();
    assert_ne!(base, edited);

    // Same contents under another file name: another hash.
    std::fs::write(root.join(first), text).expect("write");
    let renamed = first.with_file_name(format!("renamed-{}", first.file_name().expect("name").to_string_lossy()));
    std::fs::rename(root.join(first), root.join(&renamed)).expect("rename");
    let moved = compile_dirs(&[root], None).catalog.expect("catalog").hash().to_owned();
    assert_ne!(base, moved);
}

#[test]
fn lint_output_does_not_depend_on_creation_order() {
    let mut all = bundled();
    all.extend(broken());
    let files = nested(&all);
    let (a, b) = twin_trees(&files);
    let (out_a, code_a) = lint_json(a.path());
    let (out_b, code_b) = lint_json(b.path());
    assert_eq!(code_a, 1, "the broken files are errors:\n{out_a}");
    assert_eq!(code_a, code_b);
    assert_eq!(out_a, out_b, "lint --format json differs between the two trees");
    let diags: Vec<serde_json::Value> = serde_json::from_str(&out_a).expect("JSON array");
    let files_reported: std::collections::BTreeSet<&str> = diags.iter().filter_map(|d| d["file"].as_str()).collect();
    assert!(files_reported.len() >= 3, "diagnostics come from several files: {files_reported:?}");
    // Each run is a new process with new hash seeds; the report must not move.
    for _ in 0..3 {
        assert_eq!(lint_json(a.path()).0, out_a);
        assert_eq!(lint_json(b.path()).0, out_a);
    }
}

#[test]
fn bundled_lint_output_is_identical_in_both_trees() {
    let files = nested(&bundled());
    let (a, b) = twin_trees(&files);
    let (out_a, code_a) = lint_json(a.path());
    let (out_b, code_b) = lint_json(b.path());
    assert_eq!((out_a.as_str(), code_a), ("[]\n", 0));
    assert_eq!((out_b.as_str(), code_b), ("[]\n", 0));
}
