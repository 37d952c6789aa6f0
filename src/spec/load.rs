//! Finding and reading spec files.

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Span};

/// One spec file's text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as shown in diagnostics: the directory the user gave joined with the
    /// path below it, forward slashes.
    pub name: String,
    /// The path relative to its `--tools` directory, for the content hash.
    pub relative: String,
    /// The file's text.
    pub text: String,
}

/// Whether a file name is a spec file (`*.yaml` / `*.yml`, not hidden).
fn is_spec_name(name: &str) -> bool {
    !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml"))
}

fn show(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => s,
    }
}

/// Reads every spec file under `roots`, in a deterministic order: roots in the order
/// given, files below each root sorted by path. Directories and files whose names start
/// with `.` are skipped (Kubernetes' `..data`), symlinks are followed. Problems reading a
/// file become diagnostics; they never stop the walk.
pub fn load(roots: &[PathBuf]) -> (Vec<SourceFile>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for root in roots {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                diags.push(io_diag(&show(root), &format!("cannot read `{}`: {e}", show(root))));
                continue;
            }
        };
        if meta.is_file() {
            // A file named on the command line is read whatever its extension.
            let name = show(root);
            let relative = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            read_one(root, name, relative, &mut files, &mut diags);
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().map(show).unwrap_or_else(|| show(root));
                    let msg = if e.loop_ancestor().is_some() {
                        format!("symlink loop at `{path}`")
                    } else {
                        format!("cannot read `{path}`: {}", e.io_error().map_or_else(|| e.to_string(), ToString::to_string))
                    };
                    diags.push(io_diag(&path, &msg));
                    continue;
                }
            };
            if !entry.file_type().is_file() || !is_spec_name(&entry.file_name().to_string_lossy()) {
                continue;
            }
            let relative = entry.path().strip_prefix(root).map(show).unwrap_or_else(|_| show(entry.path()));
            read_one(entry.path(), show(entry.path()), relative, &mut files, &mut diags);
        }
    }
    (files, diags)
}

/// The largest spec file read by default, in bytes: one file cannot take hundreds of MB to
/// parse (a catalog of a thousand tools is about 1 MiB). Split a larger file into several, or
/// set `TOOLWRIGHT_MAX_SPEC_BYTES`.
pub const MAX_SPEC_BYTES: u64 = 4 * 1024 * 1024;

/// The cap in force: `TOOLWRIGHT_MAX_SPEC_BYTES` when it is a positive number, else [`MAX_SPEC_BYTES`].
pub(crate) fn max_spec_bytes() -> u64 {
    std::env::var("TOOLWRIGHT_MAX_SPEC_BYTES").ok().and_then(|v| v.trim().parse().ok()).filter(|n| *n > 0).unwrap_or(MAX_SPEC_BYTES)
}

fn read_one(path: &Path, name: String, relative: String, files: &mut Vec<SourceFile>, diags: &mut Vec<Diagnostic>) {
    // Read at most one byte past the cap, so a huge file (or an endless one, such as a device)
    // is never read whole.
    let max = max_spec_bytes();
    let read = std::fs::File::open(path).and_then(|f| {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(f, max + 1), &mut bytes)?;
        Ok(bytes)
    });
    if let Ok(bytes) = &read
        && bytes.len() as u64 > max
    {
        let size = if max.is_multiple_of(1024 * 1024) { format!("{} MiB", max >> 20) } else { format!("{max} bytes") };
        diags.push(
            Diagnostic::new(
                Code::FileTooLarge,
                name,
                Span { line: 1, column: 1, end_line: 1, end_column: 2 },
                format!("the file is larger than {size}, the most toolwright reads from one spec file"),
            )
            .with_help("split it into several files in the same directory (or raise TOOLWRIGHT_MAX_SPEC_BYTES)"),
        );
        return;
    }
    match read {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(mut text) => {
                if text.starts_with('\u{feff}') {
                    text.drain(..'\u{feff}'.len_utf8());
                }
                files.push(SourceFile { name, relative, text });
            }
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let valid = String::from_utf8_lossy(valid);
                let line = u32::try_from(valid.matches('\n').count() + 1).unwrap_or(u32::MAX);
                let column = u32::try_from(valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1).unwrap_or(1);
                diags.push(
                    Diagnostic::new(
                        Code::InvalidUtf8,
                        name,
                        Span { line, column, end_line: line, end_column: column + 1 },
                        format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
                    )
                    .with_help("save the file as UTF-8"),
                );
            }
        },
        Err(e) => diags.push(io_diag(&name, &format!("cannot read `{name}`: {e}"))),
    }
}

fn io_diag(file: &str, message: &str) -> Diagnostic {
    Diagnostic::new(Code::Io, file, Span { line: 1, column: 1, end_line: 1, end_column: 1 }, message)
}
