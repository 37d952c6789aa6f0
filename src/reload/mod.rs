//! Hot reload: watch the tool directories, reload on SIGHUP or on a poll timer, and swap
//! the catalog only when its files changed and compile cleanly. The same watcher follows
//! other files that the server re-reads when they change (the HTTP tokens file and a JWKS
//! file, see [`WatchedFile`]).
//!
//! Architecture invariant: the only module that imports notify. A failed reload keeps the
//! last good catalog serving and logs every diagnostic exactly as `lint` renders it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

use crate::compile;
use crate::diag::{self, Format};
use crate::server::ServerState;

/// How changes are noticed.
#[derive(Clone, Debug)]
pub struct ReloadOptions {
    /// The `--tools` directories.
    pub dirs: Vec<PathBuf>,
    /// Watch the directories for filesystem events.
    pub watch: bool,
    /// Re-read the files on this interval too (for filesystems that send no events).
    pub poll_interval: Option<Duration>,
    /// How long events must be quiet before a reload (editors write in several steps).
    pub debounce: Duration,
    /// Other files to follow, whatever `watch` says: the tokens file and a JWKS file, whose
    /// change calls their `on_change` and reloads nothing else. (SIGHUP and the poll timer
    /// run [`reload_once`], which re-reads the authentication files too.)
    pub files: Vec<WatchedFile>,
}

/// A file outside the tool directories whose owner re-reads it when it changes. The watcher
/// watches the file's directory rather than the file: an editor's save and a Kubernetes
/// Secret or ConfigMap update replace the file (a rename, or the swap of the `..data`
/// symlink), and a watch on the file itself would follow the old one. A file whose directory
/// cannot be watched is looked at every [`FILE_CHECK_EVERY`] instead.
#[derive(Clone)]
pub struct WatchedFile {
    /// The file, as its owner reads it (it may be a symlink).
    pub path: PathBuf,
    /// Re-reads the file. It runs on the watcher's thread (or a blocking thread): it may read
    /// a small file, and must not wait for the async runtime.
    pub on_change: Arc<dyn Fn() + Send + Sync>,
}

impl WatchedFile {
    /// `path`, re-read by `on_change`.
    pub fn new(path: PathBuf, on_change: impl Fn() + Send + Sync + 'static) -> Self {
        WatchedFile { path, on_change: Arc::new(on_change) }
    }
}

impl std::fmt::Debug for WatchedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedFile").field("path", &self.path).finish_non_exhaustive()
    }
}

/// How often a [`WatchedFile`] whose directory cannot be watched is looked at.
const FILE_CHECK_EVERY: Duration = Duration::from_secs(1);

/// What one reload attempt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The files hash to the catalog in force: nothing to do, nobody notified.
    Unchanged,
    /// A new catalog is serving.
    Swapped {
        /// Its generation.
        generation: u64,
    },
    /// The files have errors; the last good catalog keeps serving.
    Failed,
}

/// Re-reads every file through the visible paths and swaps the catalog if it changed.
pub async fn reload_once(shared: &ServerState, dirs: &[PathBuf]) -> ReloadOutcome {
    // The tokens file and a JWKS file are re-read on every reload (SIGHUP included).
    if let Some(auth) = shared.auth() {
        auth.reload();
    }
    let dirs = dirs.to_vec();
    // Reading and compiling is blocking work; keep it off the runtime's worker threads.
    let current_hash = shared.runtime().current().catalog.hash().to_owned();
    let result = tokio::task::spawn_blocking(move || {
        // Every file is parsed again: keeping the parsed documents between reloads saved
        // about half of a reload's CPU but doubled the memory a catalog holds. An emptied
        // directory keeps the catalog in force (see `compile_dirs`).
        let mut compiled = compile::compile_dirs(&dirs, Some(&current_hash));
        if compiled.unchanged {
            return None;
        }
        drop(std::mem::take(&mut compiled.documents));
        crate::util::release_memory();
        Some(compiled)
    })
    .await;
    let compiled = match result {
        Ok(Some(c)) => c,
        Ok(None) => {
            // The files are those of the catalog in force again: a failure recorded since no
            // longer describes them.
            shared.runtime().clear_failure();
            return ReloadOutcome::Unchanged;
        }
        Err(e) => {
            tracing::error!(error = %e, "reload task failed");
            return ReloadOutcome::Failed;
        }
    };
    let text = diag::report(Format::Text, &compiled.diagnostics, &compiled.sources, false);
    match compiled.catalog {
        Some(catalog) => {
            if !compiled.diagnostics.is_empty() {
                eprint!("{text}");
            }
            let tools = catalog.tools().len();
            let hash = catalog.hash().to_owned();
            match shared.swap(catalog).await {
                Ok(generation) => {
                    tracing::info!(generation, tools, %hash, "catalog reloaded");
                    ReloadOutcome::Swapped { generation }
                }
                Err(e) => {
                    tracing::error!(error = %e, "reload failed: backend clients could not be built; keeping the catalog in force");
                    shared.runtime().record_failure(serde_json::json!([{"message": e}]));
                    ReloadOutcome::Failed
                }
            }
        }
        None => {
            eprint!("{text}");
            tracing::warn!("reload failed; keeping the catalog in force (diagnostics above)");
            let json: serde_json::Value =
                serde_json::from_str(&diag::report(Format::Json, &compiled.diagnostics, &compiled.sources, false)).unwrap_or_default();
            shared.runtime().record_failure(json);
            ReloadOutcome::Failed
        }
    }
}

/// Runs until the process ends: reloads on filesystem events, SIGHUP and the poll timer, and
/// calls a [`WatchedFile`]'s `on_change` when it changes.
pub async fn run(shared: Arc<ServerState>, opts: ReloadOptions) {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    // The watcher must live as long as the loop; dropping it stops the watch.
    let _watcher = watch(&opts, tx.clone());
    #[cfg(unix)]
    {
        let hup_tx = tx.clone();
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading");
                    let _ = hup_tx.try_send(());
                }
            });
        }
    }
    if let Some(every) = opts.poll_interval {
        let poll_tx = tx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if poll_tx.send(()).await.is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    while rx.recv().await.is_some() {
        reload_once(&shared, &opts.dirs).await;
    }
}

/// Starts the one file watcher (notify's debouncer): the tool directories, recursively, when
/// `opts.watch` (a change sends on `changes`, which reloads the catalog), and the directory of
/// each of `opts.files` (a change of the file calls its `on_change`, and nothing else).
fn watch(opts: &ReloadOptions, changes: mpsc::Sender<()>) -> Option<Debouncer<RecommendedWatcher, RecommendedCache>> {
    // notify reports absolute paths (made so from the working directory, symlinks kept).
    let tool_dirs: Vec<PathBuf> = if opts.watch { opts.dirs.iter().map(|d| absolute(d)).collect() } else { Vec::new() };
    let files: Vec<FileState> = opts
        .files
        .iter()
        .map(|f| {
            let path = absolute(&f.path);
            FileState { stamp: stamp(&path), path, on_change: f.on_change.clone() }
        })
        .collect();
    if tool_dirs.is_empty() && files.is_empty() {
        return None;
    }
    let mut file_dirs: Vec<PathBuf> = Vec::new();
    for dir in files.iter().flat_map(|f| dirs_of(&f.path)) {
        if !file_dirs.contains(&dir) {
            file_dirs.push(dir);
        }
    }
    let files = Arc::new(Mutex::new(files));
    let handler = {
        let (tool_dirs, file_dirs, files) = (tool_dirs.clone(), file_dirs.clone(), files.clone());
        move |res: DebounceEventResult| {
            let Ok(events) = res else { return };
            // Reading a file is an event too (inotify's access and close-no-write): without
            // this filter a reload's own reads would trigger the next reload, forever.
            let events: Vec<_> = events.iter().filter(|e| !matches!(e.event.kind, EventKind::Access(_))).collect();
            if events.is_empty() {
                return;
            }
            let paths: Vec<&Path> = events.iter().flat_map(|e| e.event.paths.iter().map(PathBuf::as_path)).collect();
            // A change under a tool directory reloads the catalog, and so does one the watcher
            // cannot place (a rescan); a change in a directory watched only for the files
            // does not.
            let for_files_only = |p: &Path| {
                !tool_dirs.iter().any(|d| p.starts_with(d)) && file_dirs.iter().any(|d| p == d || p.parent() == Some(d.as_path()))
            };
            if !tool_dirs.is_empty() && (events.iter().any(|e| e.event.paths.is_empty()) || !paths.iter().all(|p| for_files_only(p))) {
                // A full channel already holds a pending reload, which will see this change too.
                let _ = changes.try_send(());
            }
            check_files(&files, &paths);
        }
    };
    let mut debouncer = match new_debouncer(opts.debounce, None, handler) {
        Ok(debouncer) => debouncer,
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the file watcher; use --poll-interval");
            if !opts.files.is_empty() {
                poll_files(files);
            }
            return None;
        }
    };
    let mut watched: Vec<PathBuf> = Vec::new();
    if opts.watch {
        for (dir, absolute) in opts.dirs.iter().zip(&tool_dirs) {
            match debouncer.watch(dir, RecursiveMode::Recursive) {
                Ok(()) => watched.push(canonical(absolute)),
                Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot watch; use --poll-interval"),
            }
        }
    }
    let mut unwatched = false;
    for dir in &file_dirs {
        // A directory inside a watched tool directory is watched already, recursively (a
        // second watch of it would replace that one).
        if watched.iter().any(|w| canonical(dir).starts_with(w)) {
            continue;
        }
        if let Err(e) = debouncer.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch; the files read from it are checked every second instead");
            unwatched = true;
        }
    }
    if unwatched {
        poll_files(files);
    }
    Some(debouncer)
}

/// A [`WatchedFile`] as the watcher follows it.
struct FileState {
    /// Absolute, as notify reports paths.
    path: PathBuf,
    /// When the file was last looked at.
    stamp: Option<Stamp>,
    on_change: Arc<dyn Fn() + Send + Sync>,
}

/// What identifies a file's version cheaply: modification time, length, device and inode
/// (which an atomic rename or a Kubernetes `..data` swap changes), through symlinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    dev: u64,
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let (dev, ino) = (std::os::unix::fs::MetadataExt::dev(&meta), std::os::unix::fs::MetadataExt::ino(&meta));
    #[cfg(not(unix))]
    let (dev, ino) = (0, 0);
    Some(Stamp { modified: meta.modified().ok(), len: meta.len(), dev, ino })
}

/// Calls `on_change` for each file that an event named or whose stamp changed.
fn check_files(files: &Mutex<Vec<FileState>>, named: &[&Path]) {
    let Ok(mut files) = files.lock() else { return };
    for file in files.iter_mut() {
        let now = stamp(&file.path);
        if now != file.stamp || named.contains(&file.path.as_path()) {
            file.stamp = now;
            (file.on_change)();
        }
    }
}

/// Looks at the files every [`FILE_CHECK_EVERY`], for when a directory cannot be watched.
fn poll_files(files: Arc<Mutex<Vec<FileState>>>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FILE_CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let files = files.clone();
            let _ = tokio::task::spawn_blocking(move || check_files(&files, &[])).await;
        }
    });
}

/// The directories to watch for a file: its own and, when it is a symlink to a file
/// elsewhere, that file's (a link into a directory below its own, such as Kubernetes'
/// `..data/<name>`, changes through a rename in its own directory).
fn dirs_of(path: &Path) -> Vec<PathBuf> {
    let Some(own) = path.parent() else { return Vec::new() };
    let mut dirs = vec![own.to_owned()];
    if let Some(target) = std::fs::canonicalize(path).ok().as_deref().and_then(Path::parent)
        && !target.starts_with(canonical(own))
    {
        dirs.push(target.to_owned());
    }
    dirs
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counter() -> (Arc<AtomicUsize>, impl Fn() + Send + Sync + 'static) {
        let n = Arc::new(AtomicUsize::new(0));
        let m = n.clone();
        (n, move || {
            m.fetch_add(1, Ordering::SeqCst);
        })
    }

    async fn wait_for(what: &str, done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn watched_files_follow_renames_and_symlink_swaps_without_reloading_the_catalog() {
        let ok = |r: std::io::Result<()>| r.unwrap_or_else(|e| panic!("{e}"));
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (tools, secrets) = (root.path().join("tools.d"), root.path().join("secrets"));
        ok(std::fs::create_dir(&tools));
        ok(std::fs::create_dir_all(secrets.join("..v1")));
        // A plain file, which editors replace with a rename.
        let tokens = secrets.join("tokens");
        ok(std::fs::write(&tokens, "a"));
        // A file of a Kubernetes Secret: `jwks.json -> ..data/jwks.json`, `..data -> ..v1`.
        ok(std::fs::write(secrets.join("..v1/jwks.json"), "1"));
        ok(std::os::unix::fs::symlink("..v1", secrets.join("..data")));
        ok(std::os::unix::fs::symlink("..data/jwks.json", secrets.join("jwks.json")));
        let (tokens_read, on_tokens) = counter();
        let (jwks_read, on_jwks) = counter();
        let (tx, mut catalog) = mpsc::channel(1);
        let opts = ReloadOptions {
            dirs: vec![tools.clone()],
            watch: true,
            poll_interval: None,
            debounce: Duration::from_millis(20),
            files: vec![WatchedFile::new(tokens.clone(), on_tokens), WatchedFile::new(secrets.join("jwks.json"), on_jwks)],
        };
        let _watcher = watch(&opts, tx).unwrap_or_else(|| panic!("no watcher"));

        // Another file of the directory concerns nobody.
        ok(std::fs::write(secrets.join("other"), "x"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!((tokens_read.load(Ordering::SeqCst), jwks_read.load(Ordering::SeqCst)), (0, 0));

        ok(std::fs::write(secrets.join("tokens.new"), "b"));
        ok(std::fs::rename(secrets.join("tokens.new"), &tokens));
        wait_for("the renamed file", || tokens_read.load(Ordering::SeqCst) > 0).await;
        assert_eq!(jwks_read.load(Ordering::SeqCst), 0);

        // What the kubelet does: a new directory, a new symlink, one atomic rename.
        ok(std::fs::create_dir(secrets.join("..v2")));
        ok(std::fs::write(secrets.join("..v2/jwks.json"), "2"));
        ok(std::os::unix::fs::symlink("..v2", secrets.join("..data_tmp")));
        ok(std::fs::rename(secrets.join("..data_tmp"), secrets.join("..data")));
        wait_for("the swapped Secret", || jwks_read.load(Ordering::SeqCst) > 0).await;

        // None of this reloads the catalog; a change in a tool directory does.
        assert!(catalog.try_recv().is_err());
        ok(std::fs::write(tools.join("a.yaml"), "kind: tool\n"));
        let reload = tokio::time::timeout(Duration::from_secs(10), catalog.recv()).await;
        assert_eq!(reload.ok().flatten(), Some(()));
    }

    #[tokio::test]
    async fn a_file_whose_directory_cannot_be_watched_is_looked_at_every_second() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = root.path().join("tokens");
        std::fs::write(&path, "a").unwrap_or_else(|e| panic!("{e}"));
        let (read, on_change) = counter();
        poll_files(Arc::new(Mutex::new(vec![FileState { stamp: stamp(&path), path: path.clone(), on_change: Arc::new(on_change) }])));
        std::fs::write(root.path().join("tokens.new"), "bb").unwrap_or_else(|e| panic!("{e}"));
        std::fs::rename(root.path().join("tokens.new"), &path).unwrap_or_else(|e| panic!("{e}"));
        wait_for("the replaced file", || read.load(Ordering::SeqCst) > 0).await;
        // An unchanged file is not read again.
        tokio::time::sleep(FILE_CHECK_EVERY + Duration::from_millis(200)).await;
        assert_eq!(read.load(Ordering::SeqCst), 1);
    }
}
