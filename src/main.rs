//! The `toolwright` binary: parse arguments, run, map the outcome to an exit code.

// mimalloc: lint and the call path allocate many small objects; about a third less CPU per
// call than the system allocator (bench/), for a few MiB of resident memory.
// Built with `no_thp`: with transparent huge pages each first touch of a 2 MiB region may
// stall on kernel compaction; lint of 10,000 specs varied 1.3-3.2 s with them, 1.35-1.4 s without.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    toolwright::util::set_release_memory(release_memory);
    toolwright::cli::main()
}

/// Hands the memory this thread's heap freed back to the OS. mimalloc otherwise purges
/// freed pages only while it keeps allocating, which an idle server does not: the peak of a
/// compile would stay resident.
fn release_memory() {
    // SAFETY: mi_collect only walks and purges mimalloc's own heaps; it has no preconditions.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
