//! The worker pool: where blocking host operations run so that the kernel's thread never
//! blocks. The kernel hands a job to [`IoPool::submit`] with a ticket of its choosing, goes on
//! running other processes, and later collects `(ticket, T)` pairs from [`IoPool::try_recv`]
//! (or waits for one with [`IoPool::recv_timeout`] when every process is waiting). Timed
//! completions (a clock's `sleep`) go on the pool's timer, one thread with a deadline heap, and
//! come back over the same channel.
//!
//! The pool knows no gateway: `T` is whatever its jobs produce (the caller joins the gateways'
//! own completion types into one), and it needs of `T` only a way to say that a job panicked
//! ([`Outcome`]). Jobs are built by the gateways straight into `T` (`T: From<...>` of their
//! own completion), so a job is one box whatever produces it.
//!
//! **Invariant: every ticket accepted by `submit`, `submit_abortable`, `after` or `complete` is
//! answered by exactly one completion**, as long as the pool lives: a job that panics, or that
//! no worker can be started for (the host refuses a thread and none is alive), is answered
//! with `T::from(Panicked(..))`. [`IoPool::pending`] counts the completions still
//! owed, so the kernel knows whether waiting can ever end. Tickets are the caller's: the pool
//! never interprets them and does not require them to be unique.
//!
//! **Growth policy.** No thread starts before it has work: a program that does no I/O (most
//! runs) starts none. When a job is queued and no idle worker is there to take it, one more
//! worker is started, up to `max`; the first `core` stay as long as the pool, and a worker
//! above `core` that stays idle for `keep_alive` exits. The timer thread starts with the first
//! `after`. So N jobs parked in a blocking `recv` or `accept` take
//! N threads and never delay other jobs while fewer than `max` are running; past `max`, jobs
//! wait in FIFO order for a free worker. The cap bounds the host's threads; the gateways'
//! per-operation timeouts (a socket's) bound how long a parked job can hold one.
//!
//! **Cancellation.** A job cannot be interrupted in general. A job that may block indefinitely
//! is submitted with an *abort* hook ([`IoPool::submit_abortable`]) that makes it return
//! promptly: for a socket or listener the hook is its `close`, which shuts the socket down (a
//! pending `recv` wakes up) or wakes the polling `accept`. The same `close`, called by whoever
//! holds the socket, abandons a pending operation at any time; the job then completes with a
//! "closed" error.
//!
//! **Shutdown.** Dropping the pool discards queued jobs (they get no completion: nobody is left
//! to receive it), calls the abort hook of every running job, stops the timer (pending sleeps are
//! dropped) and joins every thread. A running job without an abort hook is waited for, so such
//! jobs must finish by themselves (bounded work or a timeout).

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

/// A blocking operation to run on a worker thread, producing a `T`.
pub type Job<T> = Box<dyn FnOnce() -> T + Send + 'static>;

/// Makes a running job return promptly (for a socket: close it). Called at most once, from the
/// thread that drops the pool.
pub type Abort = Box<dyn FnOnce() + Send + 'static>;

/// A job panicked: its ticket is answered with this (the panic's message) instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the I/O job failed unexpectedly: {0}")]
pub struct Panicked(pub String);

/// What the pool's jobs may produce: anything that can also carry a [`Panicked`] and cross
/// threads. Implemented for every such type.
pub trait Outcome: From<Panicked> + Send + 'static {}

impl<T: From<Panicked> + Send + 'static> Outcome for T {}

/// Why the pool refused an operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("the I/O pool is shut down")]
    ShutDown,
    #[error("cannot start an I/O thread: {0}")]
    Spawn(String),
    #[error("invalid I/O pool configuration: {0}")]
    Config(&'static str),
    #[error("a deadline {0:?} from now is past what the host clock can represent")]
    Deadline(Duration),
}

/// Sizes of the pool. See the module documentation for the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Workers that, once started, live as long as the pool (at least 1).
    pub core: usize,
    /// Most workers alive at once (at least `core`).
    pub max: usize,
    /// How long a worker above `core` waits for a job before it exits.
    pub keep_alive: Duration,
}

impl Default for PoolConfig {
    /// Two core workers (the machines Tessera targets have few cores, and idle workers cost only
    /// memory), at most 64 (a host thread per parked socket operation stays cheap well past
    /// that, but a runaway program should not exhaust the host's threads), 10 s keep-alive.
    fn default() -> PoolConfig {
        PoolConfig {
            core: 2,
            max: 64,
            keep_alive: Duration::from_secs(10),
        }
    }
}

/// The pool: worker threads, a timer thread and the completion channel, for jobs producing `T`.
pub struct IoPool<T> {
    shared: Arc<Shared<T>>,
    completions: Receiver<(u64, T)>,
    /// Completions accepted but not yet received by the caller.
    pending: AtomicUsize,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Started by the first `after`.
    timer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared<T> {
    config: PoolConfig,
    state: Mutex<State<T>>,
    work: Condvar,
    timer: Mutex<TimerState<T>>,
    timer_wake: Condvar,
    done: Sender<(u64, T)>,
}

struct State<T> {
    queue: VecDeque<Queued<T>>,
    /// Workers alive (counted from the moment one is decided on, before its thread starts).
    live: usize,
    /// Workers waiting for a job.
    idle: usize,
    /// Workers counted in `live` whose threads have not yet taken the lock: as good as idle.
    starting: usize,
    /// Abort hooks of running jobs, by the pool's own job id.
    running: HashMap<u64, Abort>,
    next_id: u64,
    shutdown: bool,
}

struct Queued<T> {
    id: u64,
    ticket: u64,
    job: Job<T>,
    abort: Option<Abort>,
}

struct TimerState<T> {
    heap: BinaryHeap<std::cmp::Reverse<TimerEntry<T>>>,
    next_seq: u64,
    shutdown: bool,
}

/// A timed completion, ordered by deadline and then by arrival.
struct TimerEntry<T> {
    at: Instant,
    seq: u64,
    ticket: u64,
    completion: T,
}

impl<T> PartialEq for TimerEntry<T> {
    fn eq(&self, other: &TimerEntry<T>) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for TimerEntry<T> {}
impl<T> PartialOrd for TimerEntry<T> {
    fn partial_cmp(&self, other: &TimerEntry<T>) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for TimerEntry<T> {
    fn cmp(&self, other: &TimerEntry<T>) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Locks a mutex, ignoring poisoning: every critical section in this crate leaves its data
/// consistent at each step (and jobs, the only foreign code, run outside the locks).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Outcome> IoPool<T> {
    /// A pool with the default sizes. No thread starts before there is work for it.
    ///
    /// # Errors
    /// None with the default sizes (`with_config`'s `PoolError::Config` otherwise).
    pub fn new() -> Result<IoPool<T>, PoolError> {
        IoPool::with_config(PoolConfig::default())
    }

    /// # Errors
    /// `PoolError::Config` for `core == 0` or `max < core`.
    pub fn with_config(config: PoolConfig) -> Result<IoPool<T>, PoolError> {
        if config.core == 0 {
            return Err(PoolError::Config("at least one core worker is needed"));
        }
        if config.max < config.core {
            return Err(PoolError::Config("max must be at least core"));
        }
        let (done, completions) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                live: 0,
                idle: 0,
                starting: 0,
                running: HashMap::new(),
                next_id: 0,
                shutdown: false,
            }),
            work: Condvar::new(),
            timer: Mutex::new(TimerState {
                heap: BinaryHeap::new(),
                next_seq: 0,
                shutdown: false,
            }),
            timer_wake: Condvar::new(),
            done,
        });
        Ok(IoPool {
            shared,
            completions,
            pending: AtomicUsize::new(0),
            workers: Mutex::new(Vec::new()),
            timer: Mutex::new(None),
        })
    }

    /// Runs `job` on a worker; its completion comes back with `ticket`.
    ///
    /// # Errors
    /// `PoolError::ShutDown` if the pool is shutting down (the job is dropped).
    pub fn submit(&self, ticket: u64, job: Job<T>) -> Result<(), PoolError> {
        self.enqueue(ticket, job, None)
    }

    /// Like `submit`, for a job that may block indefinitely: `abort` makes it return if the pool
    /// shuts down while it runs (for a socket job, pass the socket's `abort_handle`).
    ///
    /// # Errors
    /// `PoolError::ShutDown` if the pool is shutting down (the job is dropped).
    pub fn submit_abortable(
        &self,
        ticket: u64,
        job: Job<T>,
        abort: Abort,
    ) -> Result<(), PoolError> {
        self.enqueue(ticket, job, Some(abort))
    }

    /// Delivers `completion` with `ticket` once `delay` has passed, from the timer thread (no
    /// worker is held while waiting).
    ///
    /// # Errors
    /// `PoolError::Deadline` if `now + delay` overflows the host clock; `PoolError::ShutDown`;
    /// `PoolError::Spawn` if the host cannot start the timer thread.
    pub fn after(&self, ticket: u64, delay: Duration, completion: T) -> Result<(), PoolError> {
        let at = Instant::now()
            .checked_add(delay)
            .ok_or(PoolError::Deadline(delay))?;
        self.start_timer()?;
        let mut timer = lock(&self.shared.timer);
        if timer.shutdown {
            return Err(PoolError::ShutDown);
        }
        let seq = timer.next_seq;
        timer.next_seq += 1;
        timer.heap.push(std::cmp::Reverse(TimerEntry {
            at,
            seq,
            ticket,
            completion,
        }));
        self.pending.fetch_add(1, Ordering::SeqCst);
        drop(timer);
        self.shared.timer_wake.notify_one();
        Ok(())
    }

    /// Starts the timer thread unless it runs.
    fn start_timer(&self) -> Result<(), PoolError> {
        let mut handle = lock(&self.timer);
        if handle.is_none() {
            let timer_shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name("tessera-timer".into())
                .spawn(move || timer_loop(&timer_shared))
                .map_err(|e| PoolError::Spawn(e.to_string()))?;
            *handle = Some(spawned);
        }
        Ok(())
    }

    /// Delivers `completion` with `ticket` now, through the channel like any other completion
    /// (for operations that finish at once but whose caller expects a ticket).
    pub fn complete(&self, ticket: u64, completion: T) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        // The receiver lives in `self`, so the send cannot fail.
        let _ = self.shared.done.send((ticket, completion));
    }

    /// A completion if one is ready; never blocks.
    pub fn try_recv(&self) -> Option<(u64, T)> {
        let got = self.completions.try_recv().ok();
        self.took(got)
    }

    /// Waits up to `timeout` for a completion: for when every process is waiting.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<(u64, T)> {
        // A timeout and a disconnection (impossible: the pool holds a sender) both mean none.
        let got = self.completions.recv_timeout(timeout).ok();
        self.took(got)
    }

    fn took(&self, got: Option<(u64, T)>) -> Option<(u64, T)> {
        if got.is_some() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
        got
    }

    fn enqueue(&self, ticket: u64, job: Job<T>, abort: Option<Abort>) -> Result<(), PoolError> {
        let mut state = lock(&self.shared.state);
        if state.shutdown {
            return Err(PoolError::ShutDown);
        }
        let id = state.next_id;
        state.next_id += 1;
        state.queue.push_back(Queued {
            id,
            ticket,
            job,
            abort,
        });
        self.pending.fetch_add(1, Ordering::SeqCst);
        // Every queued job needs a worker: an idle or starting one (each takes one job before
        // it looks again) or a new one. Idle workers leave `idle` only when they take the lock
        // again, so jobs queued before they wake are counted against them correctly.
        let available = state.idle + state.starting;
        let grow = state.queue.len() > available && state.live < self.shared.config.max;
        if grow {
            state.live += 1;
            state.starting += 1;
        }
        drop(state);
        self.shared.work.notify_one();
        if grow {
            if let Err(e) = self.spawn_worker() {
                // The job waits for a running worker; with none alive, no one would ever take
                // it, so it is answered now (and so is every job queued with it).
                self.fail_unserved(&e);
            }
        }
        Ok(())
    }

    /// With no worker alive, answers every queued job with a failure: the host refused the
    /// thread that would have run them (`error`).
    fn fail_unserved(&self, error: &PoolError) {
        let unserved: Vec<Queued<T>> = {
            let mut state = lock(&self.shared.state);
            if state.live > 0 {
                return;
            }
            state.queue.drain(..).collect()
        };
        for q in unserved {
            let failed = T::from(Panicked(format!("no worker could run it: {error}")));
            // The receiver lives in `self`, so the send cannot fail.
            let _ = self.shared.done.send((q.ticket, failed));
        }
    }

    /// Starts a worker already counted in `live` and `starting`; un-counts it if the host
    /// refuses.
    fn spawn_worker(&self) -> Result<(), PoolError> {
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("tessera-io".into())
            .spawn(move || worker_loop(&shared));
        match spawned {
            Ok(handle) => {
                let mut workers = lock(&self.workers);
                // Workers that exited after idling are joined here, so handles do not pile up.
                let (finished, running): (Vec<_>, Vec<_>) =
                    workers.drain(..).partition(JoinHandle::is_finished);
                *workers = running;
                workers.push(handle);
                drop(workers);
                for h in finished {
                    let _ = h.join();
                }
                Ok(())
            }
            Err(e) => {
                let mut state = lock(&self.shared.state);
                state.live -= 1;
                state.starting -= 1;
                drop(state);
                Err(PoolError::Spawn(e.to_string()))
            }
        }
    }
}

impl<T> IoPool<T> {
    /// Completions accepted and not yet received: if 0, waiting would never end.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Worker threads alive now (for tests and diagnostics).
    pub fn workers(&self) -> usize {
        lock(&self.shared.state).live
    }

    fn shutdown(&mut self) {
        let aborts: Vec<Abort> = {
            let mut state = lock(&self.shared.state);
            state.shutdown = true;
            state.queue.clear();
            state.running.drain().map(|(_, abort)| abort).collect()
        };
        self.shared.work.notify_all();
        for abort in aborts {
            abort();
        }
        {
            let mut timer = lock(&self.shared.timer);
            timer.shutdown = true;
            timer.heap.clear();
        }
        self.shared.timer_wake.notify_all();
        let workers: Vec<_> = lock(&self.workers).drain(..).collect();
        for handle in workers {
            let _ = handle.join();
        }
        if let Some(timer) = lock(&self.timer).take() {
            let _ = timer.join();
        }
    }
}

impl<T> Drop for IoPool<T> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<T> fmt::Debug for IoPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoPool")
            .field("config", &self.shared.config)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

fn worker_loop<T: Outcome>(shared: &Shared<T>) {
    let mut state = lock(&shared.state);
    state.starting -= 1;
    loop {
        if state.shutdown {
            state.live -= 1;
            return;
        }
        if let Some(q) = state.queue.pop_front() {
            if let Some(abort) = q.abort {
                state.running.insert(q.id, abort);
            }
            drop(state);
            let completion = run(q.job);
            state = lock(&shared.state);
            state.running.remove(&q.id);
            // Unbounded channel: never blocks. The receiver is gone only during shutdown.
            let _ = shared.done.send((q.ticket, completion));
            continue;
        }
        state.idle += 1;
        let (guard, wait) = shared
            .work
            .wait_timeout(state, shared.config.keep_alive)
            .unwrap_or_else(PoisonError::into_inner);
        state = guard;
        state.idle -= 1;
        if wait.timed_out()
            && state.queue.is_empty()
            && !state.shutdown
            && state.live > shared.config.core
        {
            state.live -= 1;
            return;
        }
    }
}

/// Runs a job, turning a panic into a failed completion so that its ticket is still answered.
fn run<T: Outcome>(job: Job<T>) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
        Ok(completion) => completion,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            T::from(Panicked(message))
        }
    }
}

fn timer_loop<T>(shared: &Shared<T>) {
    let mut timer = lock(&shared.timer);
    loop {
        if timer.shutdown {
            return;
        }
        let now = Instant::now();
        let next = timer.heap.peek().map(|std::cmp::Reverse(e)| e.at);
        timer = match next {
            Some(at) if at <= now => {
                if let Some(std::cmp::Reverse(e)) = timer.heap.pop() {
                    let _ = shared.done.send((e.ticket, e.completion));
                }
                timer
            }
            Some(at) => {
                shared
                    .timer_wake
                    .wait_timeout(timer, at - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared
                .timer_wake
                .wait(timer)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

#[cfg(test)]
mod tests;
