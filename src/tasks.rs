//! Tasks: calls of `task:` tools that outlast their request. The registry holds each task's
//! status, its latest progress message and, once it ends, its result for the tool's `ttl`.
//! The server (`server/state.rs`) starts a call as a task, answers inline when it ends within
//! `after`, and otherwise hands the client the task's id: an MCP Tasks handle to clients that
//! declared the extension, or a handle to poll with the built-in tools `get_task_status` and
//! `cancel_task`. Both read the same registry; a poll never touches the backend.
//!
//! A task keeps the `Arc<Loaded>` it started with (in the future that runs it), so a reload
//! never touches a running task. Ids carry 128 random bits; a task started by an
//! authenticated caller answers only that caller (anyone else gets what an unknown id gets).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::actions::{Approval, Question};
use crate::catalog::TaskSettings;
use crate::runtime::Outcome;

/// The default of `serve --max-tasks`.
pub const DEFAULT_MAX_TASKS: usize = 1000;

/// How many ended tasks the registry keeps for every task it may run (`--max-tasks`): past
/// that, the oldest ended ones are dropped before their `ttl`.
const KEPT_PER_RUNNING: usize = 10;

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Running.
    Working,
    /// Waiting for the user to answer an approval question (`confirm:`).
    InputRequired,
    /// The call ended; its result (which may be a tool error) is kept.
    Completed,
    /// The call could not end (the server stopped).
    Failed,
    /// The client cancelled it.
    Cancelled,
}

impl Status {
    /// The word MCP Tasks and `get_task_status` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Working => "working",
            Status::InputRequired => "input_required",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Whether the task has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Status::Working | Status::InputRequired)
    }
}

/// What a task holds that changes.
#[derive(Clone, Debug)]
struct State {
    status: Status,
    message: Option<String>,
    progress: Option<(f64, Option<f64>)>,
    updated: SystemTime,
    result: Option<Arc<Outcome>>,
    error: Option<String>,
    /// When it ended (its `ttl` counts from here).
    ended: Option<Instant>,
    /// Whether the client was given the task's id (else the call was answered inline).
    handed_out: bool,
    /// Whether its end was counted (metrics, audit).
    counted: bool,
    /// The approval question waiting for an answer, if any.
    pending: Option<Pending>,
    /// How many questions were asked (each gets a new key).
    asked: u32,
}

/// An approval question a task waits on.
#[derive(Debug)]
struct Pending {
    key: String,
    question: Question,
    reply: Option<tokio::sync::oneshot::Sender<Approval>>,
}

impl Clone for Pending {
    /// A snapshot's copy: the question without the way to answer it.
    fn clone(&self) -> Self {
        Pending { key: self.key.clone(), question: self.question.clone(), reply: None }
    }
}

/// One task.
pub struct Task {
    /// The id (32 hex digits: 128 random bits).
    pub id: String,
    /// The tool it runs.
    pub tool: String,
    /// The authenticated caller that started it, when HTTP authentication is on.
    pub owner: Option<String>,
    /// When it started.
    pub created: SystemTime,
    /// The tool's `task:` settings.
    pub settings: TaskSettings,
    /// Fires when the task is cancelled (or the server stops): the call stops at once.
    pub cancel: CancellationToken,
    started: Instant,
    state: Mutex<State>,
    /// Whether the task ended (`2`), waits for input (`1`) or works (`0`).
    done: tokio::sync::watch::Sender<u8>,
}

/// What a task looks like at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The id.
    pub id: String,
    /// The tool.
    pub tool: String,
    /// The status.
    pub status: Status,
    /// The latest status message.
    pub message: Option<String>,
    /// Progress so far and the total, when the work reports them.
    pub progress: Option<(f64, Option<f64>)>,
    /// When it started.
    pub created: SystemTime,
    /// When it last changed.
    pub updated: SystemTime,
    /// How long it is kept, counted from its creation (grows while it runs).
    pub ttl: Duration,
    /// The poll interval clients are told.
    pub poll_interval: Duration,
    /// The call's result, once completed.
    pub result: Option<Arc<Outcome>>,
    /// Why it failed, once failed.
    pub error: Option<String>,
    /// The approval question it waits on (key, question), when input is required.
    pub question: Option<(String, Question)>,
}

impl Task {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave the state half-written (every update is
        // a few field stores), so a poisoned lock is still read.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records progress reported by the work (the status message clients see).
    pub fn progress(&self, progress: f64, total: Option<f64>, message: String) {
        let mut s = self.lock();
        if s.status == Status::Working {
            s.progress = Some((progress, total));
            s.message = Some(message);
            s.updated = SystemTime::now();
        }
    }

    /// The call ended: its outcome is the task's result. A task already cancelled or failed
    /// stays so (its late result is dropped). Returns whether this ended the task.
    pub fn finish(&self, outcome: Outcome) -> bool {
        let mut s = self.lock();
        if s.status.is_terminal() {
            return false;
        }
        s.status = Status::Completed;
        s.message = Some(if outcome.is_error { "the call ended with an error".to_owned() } else { "the call ended".to_owned() });
        s.result = Some(Arc::new(outcome));
        self.end(&mut s);
        true
    }

    /// Cancels a running task: its work stops at once and its status is `cancelled`.
    /// Returns whether it was running.
    pub fn cancel(&self, why: &str) -> bool {
        let mut s = self.lock();
        if s.status.is_terminal() {
            return false;
        }
        s.status = Status::Cancelled;
        s.message = Some(why.to_owned());
        self.end(&mut s);
        drop(s);
        self.cancel.cancel();
        true
    }

    /// Ends a running task as failed (the server is stopping). Returns whether it was running.
    pub fn fail(&self, why: &str) -> bool {
        let mut s = self.lock();
        if s.status.is_terminal() {
            return false;
        }
        s.status = Status::Failed;
        s.message = Some(why.to_owned());
        s.error = Some(why.to_owned());
        self.end(&mut s);
        drop(s);
        self.cancel.cancel();
        true
    }

    fn end(&self, s: &mut State) {
        s.updated = SystemTime::now();
        s.ended = Some(Instant::now());
        s.pending = None;
        self.done.send_replace(2);
    }

    /// Waits until the task has ended.
    pub async fn ended(&self) {
        let mut rx = self.done.subscribe();
        let _ = rx.wait_for(|d| *d == 2).await;
    }

    /// Waits until the task has ended or asks a question.
    pub async fn needs_attention(&self) {
        let mut rx = self.done.subscribe();
        let _ = rx.wait_for(|d| *d != 0).await;
    }

    /// Puts an approval question to whoever polls the task (MCP Tasks `input_required`) and
    /// waits for the answer that [`Task::answer`] delivers.
    pub async fn ask(&self, question: Question) -> Approval {
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let mut s = self.lock();
            if s.status.is_terminal() {
                return Approval::Refused("the task has ended".to_owned());
            }
            s.asked += 1;
            s.message = Some(format!("waiting for approval: {}", question.message));
            s.pending = Some(Pending { key: format!("confirm-{}", s.asked), question, reply: Some(tx) });
            s.status = Status::InputRequired;
            s.updated = SystemTime::now();
            self.done.send_replace(1);
        }
        let answer = rx.await.unwrap_or_else(|_| Approval::Refused("the question was withdrawn".to_owned()));
        let mut s = self.lock();
        if s.status == Status::InputRequired {
            s.status = Status::Working;
            s.message = Some(match &answer {
                Approval::Approved(_) => "approved; running".to_owned(),
                _ => "not approved".to_owned(),
            });
            s.updated = SystemTime::now();
            self.done.send_replace(0);
        }
        answer
    }

    /// The open question, if any: its key and the question.
    pub fn question(&self) -> Option<(String, Question)> {
        self.lock().pending.as_ref().map(|p| (p.key.clone(), p.question.clone()))
    }

    /// Delivers the answer to the open question `key`. Returns false when no such question is
    /// open (already answered, or never asked): the answer is ignored.
    pub fn answer(&self, key: &str, approval: Approval) -> bool {
        let mut s = self.lock();
        match s.pending.take() {
            Some(mut p) if p.key == key => {
                if let Some(reply) = p.reply.take() {
                    let _ = reply.send(approval);
                }
                true
            }
            other => {
                s.pending = other;
                false
            }
        }
    }

    /// The task now.
    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock().clone();
        let lived = s.ended.unwrap_or_else(Instant::now).duration_since(self.started);
        Snapshot {
            id: self.id.clone(),
            tool: self.tool.clone(),
            status: s.status,
            message: s.message,
            progress: s.progress,
            created: self.created,
            updated: s.updated,
            ttl: lived + self.settings.ttl,
            poll_interval: self.settings.poll_interval,
            result: s.result,
            error: s.error,
            question: s.pending.as_ref().map(|p| (p.key.clone(), p.question.clone())),
        }
    }

    /// Whether the task ended longer than its `ttl` ago.
    fn expired(&self, now: Instant) -> bool {
        self.lock().ended.is_some_and(|e| now.duration_since(e) > self.settings.ttl)
    }

    /// Whether `caller` may see the task: always, unless an authenticated caller started it.
    fn visible_to(&self, caller: Option<&str>) -> bool {
        match &self.owner {
            Some(owner) => caller == Some(owner.as_str()),
            None => true,
        }
    }
}

/// The tasks of one server.
pub struct Tasks {
    map: Mutex<HashMap<String, Arc<Task>>>,
    max: std::sync::atomic::AtomicUsize,
    last_sweep: Mutex<Instant>,
    metrics: Arc<crate::observability::prometheus::Metrics>,
}

/// Counts of the registry, for `/status`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Tasks running.
    pub running: usize,
    /// Ended tasks whose results are kept.
    pub kept: usize,
    /// `--max-tasks`.
    pub max: usize,
}

impl Tasks {
    /// An empty registry that runs at most `max` tasks at once.
    pub fn new(max: usize, metrics: Arc<crate::observability::prometheus::Metrics>) -> Self {
        Tasks { map: Mutex::new(HashMap::new()), max: max.into(), last_sweep: Mutex::new(Instant::now()), metrics }
    }

    /// Sets how many tasks may run at once.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, std::sync::atomic::Ordering::Relaxed);
    }

    fn max(&self) -> usize {
        self.max.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Task>>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new running task, or says why not (`--max-tasks` tasks are running).
    pub fn start(&self, tool: &str, owner: Option<String>, settings: TaskSettings) -> Result<Arc<Task>, String> {
        self.sweep();
        let mut map = self.lock();
        let running = map.values().filter(|t| !t.lock().status.is_terminal()).count();
        let max = self.max();
        if running >= max {
            return Err(format!(
                "toolwright is running {running} tasks, its limit (--max-tasks {}); wait for one to end or cancel one with `cancel_task`, then retry",
                max
            ));
        }
        let keep = max.saturating_mul(KEPT_PER_RUNNING);
        if map.len() >= keep {
            let excess = map.len() + 1 - keep;
            drop_oldest_ended(&mut map, excess);
        }
        let id = new_id()?;
        let task = Arc::new(Task {
            id: id.clone(),
            tool: tool.to_owned(),
            owner,
            created: SystemTime::now(),
            settings,
            cancel: CancellationToken::new(),
            started: Instant::now(),
            state: Mutex::new(State {
                status: Status::Working,
                message: Some("started".to_owned()),
                progress: None,
                updated: SystemTime::now(),
                result: None,
                error: None,
                ended: None,
                handed_out: false,
                counted: false,
                pending: None,
                asked: 0,
            }),
            done: tokio::sync::watch::Sender::new(0),
        });
        map.insert(id, task.clone());
        Ok(task)
    }

    /// The call outlasted `after`: the client gets the task's id. Returns false when the task
    /// ended meanwhile (the call is then answered inline and the task forgotten).
    pub fn hand_out(&self, task: &Task) -> bool {
        let mut s = task.lock();
        if s.status.is_terminal() {
            return false;
        }
        s.handed_out = true;
        drop(s);
        self.metrics.task_started();
        tracing::info!(target: "toolwright::audit", task = %task.id, tool = %task.tool, caller = task.owner.as_deref().unwrap_or("-"), "task started");
        true
    }

    /// Counts a handed-out task's end in the metrics and the audit log; the work that ran it
    /// calls this once, when it ends.
    pub fn ended(&self, task: &Task) {
        {
            let mut s = task.lock();
            if !s.handed_out || s.counted || !s.status.is_terminal() {
                return;
            }
            s.counted = true;
        }
        let snapshot = task.snapshot();
        let word = match (snapshot.status, snapshot.result.as_ref().map(|r| r.is_error)) {
            (Status::Completed, Some(true)) => "error",
            (Status::Completed, _) => "ok",
            (status, _) => status.as_str(),
        };
        self.metrics.task_ended(word);
        let took = snapshot.updated.duration_since(snapshot.created).unwrap_or_default();
        tracing::info!(target: "toolwright::audit", task = %task.id, tool = %task.tool, outcome = word, duration_ms = took.as_millis() as u64, "task ended");
    }

    /// Forgets a task answered inline (it ended within `after`).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The task with this id, if `caller` may see it and it has not expired.
    pub fn get(&self, id: &str, caller: Option<&str>) -> Option<Arc<Task>> {
        let task = self.lock().get(id).cloned()?;
        (task.visible_to(caller) && !task.expired(Instant::now())).then_some(task)
    }

    /// Ends every running task as failed with `why` (the server is stopping), counting each
    /// end. Returns them.
    pub fn fail_all(&self, why: &str) -> Vec<Arc<Task>> {
        let tasks: Vec<Arc<Task>> = self.lock().values().cloned().collect();
        let failed: Vec<Arc<Task>> = tasks.into_iter().filter(|t| t.fail(why)).collect();
        for t in &failed {
            self.ended(t);
        }
        failed
    }

    /// How many tasks run and are kept.
    pub fn counts(&self) -> Counts {
        let map = self.lock();
        let running = map.values().filter(|t| !t.lock().status.is_terminal()).count();
        Counts { running, kept: map.len() - running, max: self.max() }
    }

    /// The running tasks, oldest first (for `/status`).
    pub fn running(&self) -> Vec<Snapshot> {
        let mut all: Vec<Snapshot> = self.lock().values().map(|t| t.snapshot()).filter(|s| !s.status.is_terminal()).collect();
        all.sort_by_key(|s| s.created);
        all
    }

    /// Drops the tasks whose `ttl` has passed, at most once a second.
    fn sweep(&self) {
        let now = Instant::now();
        {
            let mut last = self.last_sweep.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if now.duration_since(*last) < Duration::from_secs(1) {
                return;
            }
            *last = now;
        }
        self.lock().retain(|_, t| !t.expired(now));
    }
}

/// Drops the `n` ended tasks that ended first.
fn drop_oldest_ended(map: &mut HashMap<String, Arc<Task>>, n: usize) {
    let mut ended: Vec<(Instant, String)> = map.iter().filter_map(|(id, t)| t.lock().ended.map(|e| (e, id.clone()))).collect();
    ended.sort();
    for (_, id) in ended.into_iter().take(n) {
        map.remove(&id);
    }
}

/// A new task id: 128 bits from the operating system's random source, as 32 hex digits.
/// Should the source fail, no task starts: a clock-and-counter id would be guessable.
fn new_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("internal: no random task id ({e}); the call did not start"))?;
    Ok(format!("{:032x}", u128::from_be_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::CallOutcome;

    fn settings(ttl: Duration) -> TaskSettings {
        TaskSettings { after: Duration::ZERO, ttl, poll_interval: Duration::from_secs(1), required: false }
    }

    fn registry(max: usize) -> Tasks {
        Tasks::new(max, Arc::new(crate::observability::prometheus::Metrics::default()))
    }

    fn ok() -> Outcome {
        Outcome { is_error: false, structured: None, text: "done".to_owned(), kind: CallOutcome::Ok, media: None }
    }

    #[test]
    fn ids_are_long_and_distinct() {
        let r = registry(10);
        let a = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        let b = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        assert_eq!(a.id.len(), 32);
        assert!(a.id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn max_tasks_counts_running_ones_only() {
        let r = registry(2);
        let a = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        let _b = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        let refused = r.start("t", None, settings(Duration::from_secs(60))).err().unwrap();
        assert!(refused.contains("--max-tasks 2"), "{refused}");
        assert!(a.finish(ok()));
        assert!(r.start("t", None, settings(Duration::from_secs(60))).is_ok());
        assert_eq!(r.counts().running, 2);
        assert_eq!(r.counts().kept, 1);
    }

    #[test]
    fn an_owned_task_answers_its_owner_only() {
        let r = registry(10);
        let t = r.start("t", Some("alice".to_owned()), settings(Duration::from_secs(60))).unwrap();
        assert!(r.get(&t.id, Some("alice")).is_some());
        assert!(r.get(&t.id, Some("bob")).is_none());
        assert!(r.get(&t.id, None).is_none());
        let open = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        assert!(r.get(&open.id, Some("bob")).is_some());
    }

    #[test]
    fn a_cancelled_task_keeps_its_status_when_its_call_ends_late() {
        let r = registry(10);
        let t = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        assert!(t.cancel("cancelled by the client"));
        assert!(t.cancel.is_cancelled());
        assert!(!t.finish(ok()));
        assert!(!t.cancel("again"));
        let s = t.snapshot();
        assert_eq!(s.status, Status::Cancelled);
        assert!(s.result.is_none());
    }

    #[test]
    fn progress_moves_the_message_until_the_end() {
        let r = registry(10);
        let t = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        t.progress(3.0, Some(40.0), "check 3/40".to_owned());
        assert_eq!(t.snapshot().message.as_deref(), Some("check 3/40"));
        assert!(t.finish(ok()));
        t.progress(4.0, Some(40.0), "late".to_owned());
        let s = t.snapshot();
        assert_eq!(s.status, Status::Completed);
        assert_eq!(s.message.as_deref(), Some("the call ended"));
    }

    #[tokio::test]
    async fn a_question_waits_for_its_answer_and_ignores_others() {
        let r = registry(10);
        let t = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        let asker = {
            let t = t.clone();
            tokio::spawn(async move { t.ask(Question { message: "Roll back checkout?".to_owned(), fields: None }).await })
        };
        tokio::time::timeout(Duration::from_secs(5), t.needs_attention()).await.unwrap();
        let s = t.snapshot();
        assert_eq!(s.status, Status::InputRequired);
        let (key, question) = s.question.clone().unwrap();
        assert_eq!(question.message, "Roll back checkout?");
        assert!(!t.answer("confirm-99", Approval::Approved(crate::catalog::JsonObject::new())), "an unknown key is ignored");
        assert!(t.answer(&key, Approval::Refused("declined".to_owned())));
        assert!(!t.answer(&key, Approval::Approved(crate::catalog::JsonObject::new())), "a key is answered once");
        assert_eq!(asker.await.unwrap(), Approval::Refused("declined".to_owned()));
        assert_eq!(t.snapshot().status, Status::Working);
        assert!(t.snapshot().question.is_none());
    }

    #[test]
    fn ended_tasks_expire_after_their_ttl() {
        let r = registry(10);
        let t = r.start("t", None, settings(Duration::from_millis(1))).unwrap();
        assert!(t.finish(ok()));
        std::thread::sleep(Duration::from_millis(5));
        assert!(r.get(&t.id, None).is_none());
    }

    #[test]
    fn fail_all_ends_running_tasks_only() {
        let r = registry(10);
        let a = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        let b = r.start("t", None, settings(Duration::from_secs(60))).unwrap();
        assert!(b.finish(ok()));
        let failed = r.fail_all("server stopped");
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].id, a.id);
        assert_eq!(a.snapshot().error.as_deref(), Some("server stopped"));
        assert!(a.cancel.is_cancelled());
    }
}
