//! jq runs that can be stopped: every `response.jq` projection at call time runs in a worker
//! process (this same binary, started with [`WORKER_ARG`]), never in the server, unless the
//! filter is bounded and its input small (see [`super::jq_bounded`]: no recursion, no unbounded
//! generator, at most quadratic work on at most [`MAX_INLINE_INPUT`] bytes), which runs here.
//!
//! jaq evaluates filters by native recursion, has no fuel and no allocation budget, so inside
//! the server a filter that recurses (`def f: [f]; f`) overflows a thread's stack and aborts the
//! process, one that builds a huge value aborts it on a failed allocation, and one that loops
//! keeps a thread spinning after its caller gave up (a thread cannot be stopped from outside).
//! A worker process can be stopped: the server kills it when the run passes its time limit or
//! its memory limit, and a crash (stack overflow, allocation failure) ends only the worker. The
//! call gets a tool error that says which limit was hit; the next run starts a fresh worker.
//!
//! Workers are kept between runs, so a run costs one round trip over pipes, not a process
//! start; each worker caches the filters it compiled. Each thread runs at most
//! [`WORKERS_PER_THREAD`] workers and keeps them all when idle: a run that finds every one busy
//! waits for one rather than starting a process (1,000 watches judging a check each second
//! would otherwise start and reap a process for most checks).
//! Limits: [`JqLimits`] (`serve --jq-timeout`, `--jq-max-memory-mib`).
//!
//! The protocol on the worker's stdin and stdout, little-endian lengths:
//! request `u32 len, filter source, u32 len, input JSON`; answer `u8 status, u32 len, payload`
//! with status 0 (payload: the outputs as a JSON array), 1 (a runtime error message) or
//! 2 (the input is not JSON; payload: the parser's message).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::jq::JqFilter;
use super::jq_bounded::MAX_INLINE_INPUT;

/// The first argument that makes the binary a jq worker (see [`worker_main`]).
pub const WORKER_ARG: &str = "__jq-worker";

/// The most bytes of outputs one run may send back (bigger results are an error).
const MAX_OUTPUT_BYTES: usize = 32 * 1024 * 1024;
/// How often the memory of a running worker is looked at.
const MEMORY_POLL: Duration = Duration::from_millis(20);
/// Filters a worker keeps compiled; past this its cache starts again.
const WORKER_CACHE: usize = 256;
/// Address space a worker may reserve (the hard stop behind the polled memory limit; the
/// allocator reserves address space well beyond what it uses, so this is generous).
const WORKER_ADDRESS_SPACE: u64 = 8 * 1024 * 1024 * 1024;

/// The limits of one jq run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JqLimits {
    /// Wall-clock time a run may take, from sending the input to the last output.
    pub timeout: Duration,
    /// Resident memory a worker may reach while it runs a filter.
    pub max_memory_bytes: u64,
}

impl Default for JqLimits {
    fn default() -> Self {
        JqLimits { timeout: Duration::from_secs(2), max_memory_bytes: 256 * 1024 * 1024 }
    }
}

/// Why a run gave no outputs; the messages are written for a model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JqRunError {
    /// The input is not JSON (the parser's message).
    #[error("{0}")]
    NotJson(String),
    /// The filter failed (a jq error, too many results, results too large).
    #[error("{0}")]
    Failed(String),
    /// A limit stopped the run, or the worker could not run it.
    #[error("{0}")]
    Stopped(String),
}

static LIMITS: OnceLock<JqLimits> = OnceLock::new();
static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
thread_local! {
    /// Idle workers of this thread. A worker's pipes are registered with the event loop of the
    /// thread that started it (the HTTP server runs one loop per thread), so each thread keeps
    /// its own; a worker is never handed to another loop.
    static IDLE: RefCell<Vec<Worker>> = const { RefCell::new(Vec::new()) };
    /// This thread's count of live workers and the signal that one became free.
    static POOL: std::sync::Arc<Pool> = std::sync::Arc::new(Pool::default());
}

/// The most workers a thread runs at once (busy or idle).
pub const WORKERS_PER_THREAD: usize = 4;

/// A thread's workers: how many are alive, and a signal when one is given back or ends.
#[derive(Default)]
struct Pool {
    live: std::sync::atomic::AtomicUsize,
    freed: tokio::sync::Notify,
}

/// Sets the limits of every run (once, at start; later calls are ignored).
pub fn configure(limits: JqLimits) {
    let _ = LIMITS.set(limits);
}

/// The limits in force.
pub fn limits() -> JqLimits {
    LIMITS.get().copied().unwrap_or_default()
}

/// Sets the program started as a worker (default: this executable). Tests that link the
/// library into their own binary point it at the `toolwright` binary.
pub fn set_program(path: PathBuf) {
    let _ = PROGRAM.set(path);
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// The pool of the thread that started it, whose count it leaves when dropped.
    pool: std::sync::Arc<Pool>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The child is killed by `kill_on_drop`; the slot is free for another run.
        self.pool.live.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.pool.freed.notify_one();
    }
}

impl Worker {
    fn start(pool: std::sync::Arc<Pool>) -> Result<Worker, String> {
        let program = match PROGRAM.get() {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(|e| format!("cannot find the toolwright executable to run jq: {e}"))?,
        };
        let mut child = Command::new(&program)
            .arg(WORKER_ARG)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .env_clear()
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the jq worker ({}): {e}", program.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the jq worker has no pipes".to_owned());
        };
        pool.live.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(Worker { child, stdin, stdout, pool })
    }

    async fn exchange(&mut self, filter: &str, input: &[u8]) -> std::io::Result<(u8, Vec<u8>)> {
        let mut request = Vec::with_capacity(8 + filter.len() + input.len());
        for part in [filter.as_bytes(), input] {
            let len = u32::try_from(part.len()).map_err(|_| std::io::Error::other("input larger than 4 GiB"))?;
            request.extend_from_slice(&len.to_le_bytes());
            request.extend_from_slice(part);
        }
        self.stdin.write_all(&request).await?;
        self.stdin.flush().await?;
        let status = self.stdout.read_u8().await?;
        let len = self.stdout.read_u32_le().await? as usize;
        if len > MAX_OUTPUT_BYTES + 1024 {
            return Err(std::io::Error::other("answer too large"));
        }
        let mut payload = vec![0; len];
        self.stdout.read_exact(&mut payload).await?;
        Ok((status, payload))
    }
}

fn take_idle() -> Option<Worker> {
    IDLE.with(|idle| idle.borrow_mut().pop())
}

fn give_back(worker: Worker) {
    let pool = worker.pool.clone();
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        if idle.len() < WORKERS_PER_THREAD {
            idle.push(worker);
        }
        // Otherwise the worker is dropped, which kills it (a worker started on another
        // thread of a work-stealing runtime can make a thread hold more than its share).
    });
    pool.freed.notify_one();
}

/// A worker of this thread: an idle one, a new one while the thread runs fewer than
/// [`WORKERS_PER_THREAD`], else the next one given back.
async fn acquire() -> Result<Worker, JqRunError> {
    let pool = POOL.with(std::sync::Arc::clone);
    loop {
        // Registered before looking, so a worker given back in between is not missed.
        let freed = pool.freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        if let Some(worker) = take_idle() {
            return Ok(worker);
        }
        if pool.live.load(std::sync::atomic::Ordering::Acquire) < WORKERS_PER_THREAD {
            return Worker::start(pool.clone()).map_err(JqRunError::Stopped);
        }
        freed.await;
    }
}

/// Runs `filter` on the JSON text `input` in a worker process, under the limits in force.
/// One output is returned as is, several as an array, none as null.
pub async fn run(filter: &JqFilter, input: &[u8]) -> Result<Value, JqRunError> {
    if filter.is_bounded() && input.len() <= MAX_INLINE_INPUT {
        let value = serde_json::from_slice::<Value>(input).map_err(|e| JqRunError::NotJson(e.to_string()))?;
        return run_here(filter, &value);
    }
    // A kept worker may have ended while idle (or its event loop may be gone, in tests that
    // start one runtime after another): a run that fails on one is run again on a fresh one.
    // The wait for a free worker counts against the run's time limit, as the run does.
    let worker = match tokio::time::timeout(limits().timeout, acquire()).await {
        Ok(w) => w?,
        Err(_) => {
            return Err(JqRunError::Stopped(format!(
                "no jq worker was free within {} (every one of this thread's {WORKERS_PER_THREAD} was busy)",
                humantime::format_duration(limits().timeout)
            )));
        }
    };
    match run_on(worker, filter, input).await {
        Err(Failure::Broken) => {}
        other => return other.map_err(Failure::into_error),
    }
    let worker = Worker::start(POOL.with(std::sync::Arc::clone)).map_err(JqRunError::Stopped)?;
    run_on(worker, filter, input).await.map_err(Failure::into_error)
}

/// Runs `filter` on a JSON value in a worker process (a step's `output` and `when`, a watch's
/// `fail_when` and `succeed_when`), as [`run`] does; the error is the message for the model.
pub async fn run_value(filter: &JqFilter, input: &Value) -> Result<Value, String> {
    if filter.is_bounded() && json_size_within(input, MAX_INLINE_INPUT) {
        return run_here(filter, input).map_err(|e| e.to_string());
    }
    let bytes = serde_json::to_vec(input).map_err(|e| format!("internal: {e}"))?;
    Box::pin(run(filter, &bytes)).await.map_err(|e| e.to_string())
}

/// Runs a bounded filter on a small input in this thread (see [`super::jq_bounded`]), with the
/// answers and messages a worker would give.
fn run_here(filter: &JqFilter, input: &Value) -> Result<Value, JqRunError> {
    let mut outputs = filter.run(input).map_err(|message| JqRunError::Failed(format!("the response projection (jq) failed: {message}")))?;
    Ok(match outputs.len() {
        0 => Value::Null,
        1 => outputs.pop().unwrap_or(Value::Null),
        _ => Value::Array(outputs),
    })
}

/// Whether `value` written as JSON takes at most `limit` bytes (counted roughly from above,
/// and only as far as the limit: a large value is not walked to its end).
fn json_size_within(value: &Value, limit: usize) -> bool {
    fn size(value: &Value, left: &mut usize) -> bool {
        let own = match value {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 24,
            // Escapes can double a string; the quotes and a separator are two more bytes.
            Value::String(s) => 2 * s.len() + 3,
            Value::Array(items) => 2 + items.len(),
            Value::Object(entries) => 2 + entries.keys().map(|k| 2 * k.len() + 4).sum::<usize>(),
        };
        let Some(rest) = left.checked_sub(own) else { return false };
        *left = rest;
        match value {
            Value::Array(items) => items.iter().all(|item| size(item, left)),
            Value::Object(entries) => entries.values().all(|item| size(item, left)),
            _ => true,
        }
    }
    let mut left = limit;
    size(value, &mut left)
}

/// Why [`run_on`] gave no value.
enum Failure {
    /// The worker's pipes failed: it crashed (or was unusable).
    Broken,
    /// Anything else.
    Error(JqRunError),
}

impl Failure {
    fn into_error(self) -> JqRunError {
        match self {
            Failure::Broken => JqRunError::Stopped(
                "the response projection (jq) crashed (it may recurse without end, or build too large a value); nothing else was affected"
                    .to_owned(),
            ),
            Failure::Error(e) => e,
        }
    }
}

async fn run_on(mut worker: Worker, filter: &JqFilter, input: &[u8]) -> Result<Value, Failure> {
    let limits = limits();
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let pid = worker.child.id();
    let answer = {
        let exchange = worker.exchange(filter.source(), input);
        tokio::pin!(exchange);
        let mut poll = tokio::time::interval(MEMORY_POLL);
        loop {
            tokio::select! {
                r = &mut exchange => break Some(r),
                () = tokio::time::sleep_until(deadline) => break None,
                _ = poll.tick() => {}
            }
            // Looked at between polls of the exchange, which keeps its progress.
            if pid.and_then(resident_bytes).is_some_and(|bytes| bytes > limits.max_memory_bytes) {
                break Some(Err(std::io::Error::other(MEMORY_MARK)));
            }
        }
    };
    match answer {
        None => {
            // Dropping the worker kills it: the CPU it was spending comes back at once.
            drop(worker);
            Err(Failure::Error(JqRunError::Stopped(format!(
                "the response projection (jq) did not finish within {}; the filter may loop or the response may be too large",
                humantime::format_duration(limits.timeout)
            ))))
        }
        Some(Err(e)) if e.to_string() == MEMORY_MARK => {
            drop(worker);
            Err(Failure::Error(JqRunError::Stopped(format!(
                "the response projection (jq) used more than {} MiB of memory and was stopped; the filter builds too large a value",
                limits.max_memory_bytes / (1024 * 1024)
            ))))
        }
        Some(Err(_)) => {
            drop(worker);
            Err(Failure::Broken)
        }
        Some(Ok((status, payload))) => {
            give_back(worker);
            let text = String::from_utf8_lossy(&payload).into_owned();
            match status {
                0 => {
                    let mut outputs: Vec<Value> = serde_json::from_str(&text)
                        .map_err(|e| Failure::Error(JqRunError::Failed(format!("internal: the jq worker's answer: {e}"))))?;
                    Ok(match outputs.len() {
                        0 => Value::Null,
                        1 => outputs.pop().unwrap_or(Value::Null),
                        _ => Value::Array(outputs),
                    })
                }
                2 => Err(Failure::Error(JqRunError::NotJson(text))),
                _ => Err(Failure::Error(JqRunError::Failed(text))),
            }
        }
    }
}

/// The error text that marks a run stopped for its memory (internal to [`run`]).
const MEMORY_MARK: &str = "toolwright: jq worker over its memory limit";

/// Resident memory of a process, from /proc (None where there is no /proc).
fn resident_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    Some(pages * page)
}

/// The worker's loop: reads requests from stdin and answers on stdout until stdin closes.
/// Never returns an error to its parent other than by closing the pipe (a crash does that too).
pub fn worker_main() -> std::process::ExitCode {
    limit_address_space();
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut cache: HashMap<String, Result<JqFilter, String>> = HashMap::new();
    loop {
        let Some(filter) = read_frame(&mut stdin) else { return std::process::ExitCode::SUCCESS };
        let Some(input) = read_frame(&mut stdin) else { return std::process::ExitCode::SUCCESS };
        let filter = String::from_utf8_lossy(&filter).into_owned();
        if cache.len() >= WORKER_CACHE {
            cache.clear();
        }
        let compiled = cache.entry(filter.clone()).or_insert_with(|| JqFilter::compile(&filter).map_err(|e| e.message)).clone();
        let (status, payload) = match compiled {
            Err(message) => (1u8, format!("the jq filter does not compile: {message}").into_bytes()),
            Ok(filter) => match serde_json::from_slice::<Value>(&input) {
                Err(e) => (2, e.to_string().into_bytes()),
                Ok(value) => match filter.run(&value) {
                    Err(message) => (1, format!("the response projection (jq) failed: {message}").into_bytes()),
                    Ok(outputs) => match serde_json::to_vec(&outputs) {
                        Ok(bytes) if bytes.len() <= MAX_OUTPUT_BYTES => (0, bytes),
                        Ok(_) => {
                            (1, format!("the response projection (jq) produced more than {} MiB", MAX_OUTPUT_BYTES >> 20).into_bytes())
                        }
                        Err(e) => (1, format!("the response projection (jq) produced a value that is not JSON: {e}").into_bytes()),
                    },
                },
            },
        };
        let Ok(len) = u32::try_from(payload.len()) else { return std::process::ExitCode::FAILURE };
        let written = stdout
            .write_all(&[status])
            .and_then(|()| stdout.write_all(&len.to_le_bytes()))
            .and_then(|()| stdout.write_all(&payload))
            .and_then(|()| stdout.flush());
        if written.is_err() {
            return std::process::ExitCode::SUCCESS;
        }
    }
}

fn read_frame(input: &mut impl Read) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len).ok()?;
    let len = u32::from_le_bytes(len) as usize;
    let mut buf = vec![0; len];
    input.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// A hard stop behind the polled memory limit: past this much address space an allocation
/// fails, which ends the worker (and only the worker).
fn limit_address_space() {
    let limit = libc::rlimit { rlim_cur: WORKER_ADDRESS_SPACE, rlim_max: WORKER_ADDRESS_SPACE };
    // SAFETY: setrlimit reads the struct it is given and has no other preconditions.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}
