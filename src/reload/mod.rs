//! Hot reload: watch the tool directories, reload on SIGHUP or on a poll timer, and swap
//! the catalog only when its files changed and compile cleanly.
//!
//! Architecture invariant: the only module that imports notify. A failed reload keeps the
//! last good catalog serving and logs every diagnostic exactly as `lint` renders it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::mpsc;

use crate::compile;
use crate::diag::{self, Format};
use crate::server::Shared;

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
}

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
pub async fn reload_once(shared: &Shared, dirs: &[PathBuf]) -> ReloadOutcome {
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
        Ok(None) => return ReloadOutcome::Unchanged,
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

/// Runs until the process ends: reloads on filesystem events, SIGHUP and the poll timer.
pub async fn run(shared: Arc<Shared>, opts: ReloadOptions) {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    // The debouncer must live as long as the loop; dropping it stops the watch.
    let _debouncer = if opts.watch {
        let events_tx = tx.clone();
        match new_debouncer(opts.debounce, None, move |res: DebounceEventResult| {
            // Reading a file is an event too (inotify's access and close-no-write): without
            // this filter a reload's own reads would trigger the next reload, forever.
            if let Ok(events) = res
                && events.iter().any(|e| !matches!(e.event.kind, notify_debouncer_full::notify::EventKind::Access(_)))
            {
                // A full channel already holds a pending reload, which will see this change too.
                let _ = events_tx.try_send(());
            }
        }) {
            Ok(mut debouncer) => {
                for dir in &opts.dirs {
                    if let Err(e) = debouncer.watch(dir, RecursiveMode::Recursive) {
                        tracing::warn!(dir = %dir.display(), error = %e, "cannot watch; use --poll-interval");
                    }
                }
                Some(debouncer)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the file watcher; use --poll-interval");
                None
            }
        }
    } else {
        None
    };
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
