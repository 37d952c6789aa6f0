//! The periodic memory release every event loop runs beside its work.

/// How often an event loop hands the memory it freed back to the OS.
const TIDY_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs `work` on this event loop and, beside it, hands the memory the loop freed back to the
/// OS every [`TIDY_EVERY`]. The allocator returns a thread's free pages only when that thread
/// asks, and an idle loop never asks: the garbage of its last requests (a `tools/list` of a
/// large catalog is megabytes) would otherwise stay resident for as long as the loop is idle.
pub(crate) async fn tidying<F: std::future::Future>(work: F) -> F::Output {
    let tidy = async {
        let mut tick = tokio::time::interval(TIDY_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            crate::util::release_memory();
        }
    };
    tokio::select! {
        out = work => out,
        never = tidy => never,
    }
}
