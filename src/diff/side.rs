//! One side of `toolwright diff` as given on the command line, read and compiled.
//!
//! A side is a directory (or file) of specs, or `git:REV[:PATH]`: the specs under PATH at
//! revision REV of the Git repository the current directory is in. PATH is relative to the
//! current directory, as a directory argument is; without it, it is the other side's path
//! (its directory, or its PATH), else `tools.d`. The tree is read with `git ls-tree` and
//! `git cat-file` into a temporary directory, so the work tree and the index are never
//! touched, then compiled with [`compile_dirs`] like any directory, and the file names of
//! its diagnostics and tools are shown as PATH's.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::compile::{Compiled, compile_dirs};

/// A side as written on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SideArg {
    /// A directory or file of specs.
    Path(PathBuf),
    /// `git:REV[:PATH]`.
    Git {
        /// The revision (anything `git rev-parse` accepts).
        rev: String,
        /// The path, relative to the current directory, if given.
        path: Option<PathBuf>,
    },
}

impl SideArg {
    /// Parses `git:REV[:PATH]` or a path. The first `:` after `git:` ends REV (a revision
    /// with a `:` in it, such as `HEAD:dir`, is not accepted: give the path after it).
    pub fn parse(arg: &str) -> Result<SideArg, String> {
        let Some(rest) = arg.strip_prefix("git:") else { return Ok(SideArg::Path(PathBuf::from(arg))) };
        let (rev, path) = match rest.split_once(':') {
            Some((rev, path)) => (rev, Some(path)),
            None => (rest, None),
        };
        if rev.is_empty() {
            return Err(format!("`{arg}` names no revision: write `git:REV` or `git:REV:PATH`, such as `git:main:tools.d`"));
        }
        if rev.starts_with('-') {
            return Err(format!("`{arg}`: a revision cannot start with `-`"));
        }
        let path = path.filter(|p| !p.is_empty()).map(PathBuf::from);
        Ok(SideArg::Git { rev: rev.to_owned(), path })
    }
}

/// A side read and compiled.
pub struct Side {
    /// How the side is named in reports: the path, or `git:REV:PATH`.
    pub label: String,
    /// The compile of its files, with file names as the side shows them.
    pub compiled: Compiled,
    /// The directory its files were read from, as [`compile_dirs`] named it (for a Git
    /// side, the temporary directory).
    pub root: String,
    /// For a Git side: the temporary directory's name as compiled, and PATH, shown instead.
    rename: Option<(String, String)>,
    /// Things worth saying about how it was read (files left out of a Git tree).
    pub notes: Vec<String>,
    /// The files of a Git side, removed when the side is dropped.
    _tree: Option<tempfile::TempDir>,
}

/// The path a bare `git:REV` reads when neither side gives one.
pub const DEFAULT_PATH: &str = "tools.d";

/// Reads and compiles `arg`; `other` is the other side, whose path a bare `git:REV` takes.
pub fn load(arg: &SideArg, other: &SideArg) -> Result<Side, String> {
    match arg {
        SideArg::Path(path) => {
            let compiled = compile_dirs(std::slice::from_ref(path), None);
            let shown = show(path);
            Ok(Side { label: shown.clone(), compiled, root: shown, rename: None, notes: Vec::new(), _tree: None })
        }
        SideArg::Git { rev, path } => {
            let path = match (path, other) {
                (Some(p), _) => p.clone(),
                (None, SideArg::Path(p)) => p.clone(),
                (None, SideArg::Git { path: Some(p), .. }) => p.clone(),
                (None, SideArg::Git { path: None, .. }) => PathBuf::from(DEFAULT_PATH),
            };
            load_git(rev, &path)
        }
    }
}

/// A path as `compile_dirs` shows it (forward slashes, no leading `./`).
fn show(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => s,
    }
}

/// Runs git with `args` in `dir`; its stdout, or a message with its stderr.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_LITERAL_PATHSPECS", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `git`: {e}"))?;
    if out.status.success() { Ok(out.stdout) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()) }
}

fn line(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim_end_matches(['\n', '\r']).to_owned()
}

/// Reads PATH at REV into a temporary directory and compiles it.
fn load_git(rev: &str, path: &Path) -> Result<Side, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let top = git(&cwd, &["rev-parse", "--show-toplevel"]).map(line).map_err(|e| {
        format!("`git:{rev}` reads the Git repository of the current directory, and `{}` is not in one ({e})", cwd.display())
    })?;
    let top = PathBuf::from(top);
    let commit = git(&top, &["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{rev}^{{commit}}")])
        .map(line)
        .map_err(|_| format!("unknown revision `{rev}`: no commit of that name in the repository at `{}`", top.display()))?;
    let prefix = PathBuf::from(git(&cwd, &["rev-parse", "--show-prefix"]).map(line).unwrap_or_default());
    let relative = if path.is_absolute() {
        // An absolute path inside the repository is taken from the repository's top.
        let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        real(path).strip_prefix(real(&top)).map(|p| (PathBuf::new(), p.to_path_buf())).ok()
    } else {
        Some((prefix, path.to_path_buf()))
    };
    let in_repo = relative.and_then(|(prefix, path)| repo_path(&prefix, &path)).ok_or_else(|| {
        format!("`{}` is not inside the repository at `{}`; give a path in it: `git:{rev}:PATH`", path.display(), top.display())
    })?;
    let label = format!("git:{rev}:{}", show(path));

    let tree =
        tempfile::Builder::new().prefix("toolwright-diff-").tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let mut notes = Vec::new();
    let spec = if in_repo.is_empty() { commit.clone() } else { format!("{commit}:{in_repo}") };
    // What PATH is at REV: a tree (a directory), a blob (a file) or nothing.
    let kind = git(&top, &["cat-file", "-t", &spec]).map(line).ok();
    let root = tree.path().join(if in_repo.is_empty() { "." } else { &in_repo });
    match kind.as_deref() {
        Some("tree") => {
            std::fs::create_dir_all(&root).map_err(|e| format!("cannot create `{}`: {e}", root.display()))?;
            extract(&top, &commit, &in_repo, tree.path(), &mut notes)?;
        }
        Some("blob") => extract(&top, &commit, &in_repo, tree.path(), &mut notes)?,
        _ => {
            // Absent at REV (a catalog this change creates): an empty side, said so.
            std::fs::create_dir_all(&root).map_err(|e| format!("cannot create `{}`: {e}", root.display()))?;
            notes.push(format!("`{}` does not exist at `{rev}`: that side holds no tools", show(path)));
        }
    }
    let compiled = compile_dirs(std::slice::from_ref(&root), None);
    let mut side = Side { label, compiled, root: show(&root), rename: Some((show(&root), show(path))), notes, _tree: Some(tree) };
    side.rename_files();
    Ok(side)
}

/// `path` (relative to the current directory, whose path in the repository is `prefix`) as a
/// path from the repository's top, with `.` and `..` resolved; `None` when it leaves the
/// repository or is absolute.
fn repo_path(prefix: &Path, path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in prefix.join(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// Writes every file under `path` at `commit` below `into`. Symbolic links and submodules are
/// left out (a link could point outside the tree); each is noted.
fn extract(top: &Path, commit: &str, path: &str, into: &Path, notes: &mut Vec<String>) -> Result<(), String> {
    let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", commit];
    if !path.is_empty() {
        args.extend(["--", path]);
    }
    let listing = git(top, &args)?;
    let mut blobs: Vec<(String, String)> = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, name)) = entry.split_once('\t') else { continue };
        let mut meta = meta.split(' ');
        let (mode, kind, oid) = (meta.next().unwrap_or(""), meta.next().unwrap_or(""), meta.next().unwrap_or(""));
        if kind == "blob" && (mode == "100644" || mode == "100755") {
            blobs.push((oid.to_owned(), name.to_owned()));
        } else {
            let what = if mode == "120000" { "symbolic link" } else { "submodule" };
            notes.push(format!("{what} `{name}` at `{commit}` left out"));
        }
    }
    let contents = read_blobs(top, blobs.iter().map(|(oid, _)| oid.as_str()))?;
    for ((_, name), bytes) in blobs.iter().zip(contents) {
        let target = into.join(name);
        if !target.starts_with(into) || name.split('/').any(|p| p == ".." || p.is_empty()) {
            return Err(format!("`{name}` at `{commit}` is not a plain path"));
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        }
        std::fs::write(&target, bytes).map_err(|e| format!("cannot write `{}`: {e}", target.display()))?;
    }
    Ok(())
}

/// The contents of blobs, in order, from one `git cat-file --batch`.
fn read_blobs<'a>(top: &Path, oids: impl Iterator<Item = &'a str>) -> Result<Vec<Vec<u8>>, String> {
    let request: String = oids.map(|o| format!("{o}\n")).collect();
    if request.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .current_dir(top)
        .args(["cat-file", "--batch"])
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `git`: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("git cat-file: no stdin")?;
    // Written on another thread: git answers while it reads, and a full pipe would block both.
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut out = BufReader::new(child.stdout.take().ok_or("git cat-file: no stdout")?);
    let mut blobs = Vec::new();
    let mut header = String::new();
    let result = loop {
        header.clear();
        match out.read_line(&mut header) {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(format!("git cat-file: {e}")),
        }
        let mut fields = header.trim_end().split(' ');
        let (oid, kind, size) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        let Ok(size) = size.parse::<usize>() else { break Err(format!("git cat-file: {oid} {kind}")) };
        let mut bytes = vec![0; size + 1];
        if let Err(e) = out.read_exact(&mut bytes) {
            break Err(format!("git cat-file: {e}"));
        }
        bytes.pop();
        blobs.push(bytes);
    };
    let written = writer.join().map_err(|_| "git cat-file: the writer panicked".to_owned())?;
    let status = child.wait().map_err(|e| format!("git cat-file: {e}"))?;
    result?;
    written.map_err(|e| format!("git cat-file: {e}"))?;
    if !status.success() {
        return Err(format!("git cat-file exited with {status}"));
    }
    Ok(blobs)
}

impl Side {
    /// A file name of this side's compile as reports show it: under PATH for a Git side.
    pub fn display(&self, file: &str) -> String {
        match &self.rename {
            Some((from, to)) => match file.strip_prefix(from.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{to}{rest}"),
                _ => file.to_owned(),
            },
            None => file.to_owned(),
        }
    }

    /// Shows the file names of the compile's diagnostics and sources as [`Side::display`] does.
    fn rename_files(&mut self) {
        let mut diagnostics = std::mem::take(&mut self.compiled.diagnostics);
        for d in &mut diagnostics {
            d.file = self.display(&d.file);
        }
        self.compiled.diagnostics = diagnostics;
        let sources: HashMap<_, _> = std::mem::take(&mut self.compiled.sources).into_iter().map(|(k, v)| (self.display(&k), v)).collect();
        self.compiled.sources = sources;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_of_a_side() {
        assert_eq!(SideArg::parse("tools.d"), Ok(SideArg::Path("tools.d".into())));
        assert_eq!(SideArg::parse("git:main"), Ok(SideArg::Git { rev: "main".into(), path: None }));
        assert_eq!(SideArg::parse("git:HEAD~1:catalog/aws"), Ok(SideArg::Git { rev: "HEAD~1".into(), path: Some("catalog/aws".into()) }));
        assert_eq!(SideArg::parse("git:main:"), Ok(SideArg::Git { rev: "main".into(), path: None }));
        assert!(SideArg::parse("git:").is_err());
        assert!(SideArg::parse("git:--output=x").is_err());
    }

    #[test]
    fn repo_paths_resolve_dots_and_stay_inside() {
        assert_eq!(repo_path(Path::new(""), Path::new("tools.d")), Some("tools.d".into()));
        assert_eq!(repo_path(Path::new("sub/"), Path::new("../tools.d")), Some("tools.d".into()));
        assert_eq!(repo_path(Path::new("sub/"), Path::new("./x/./y")), Some("sub/x/y".into()));
        assert_eq!(repo_path(Path::new(""), Path::new(".")), Some(String::new()));
        assert_eq!(repo_path(Path::new(""), Path::new("../outside")), None);
        assert_eq!(repo_path(Path::new(""), Path::new("/abs")), None);
    }
}
