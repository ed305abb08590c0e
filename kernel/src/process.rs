//! The process tree: a kernel owns every process (each a `Vm` with its own heap), runs them in
//! fuel slices, and charges what each slice spent to the process's meter and every ancestor's
//! (the credit model of `meter`). A slice is bounded by the process's allowance — the least
//! any meter on its chain has left — so the per-instruction cost is the same at any depth: the
//! chain is walked once per slice, never per instruction.
//!
//! **Invariants:**
//! - No Lua value is reachable from two processes: each `Vm` has its own heap, and values
//!   cross only by copy (`transfer`).
//! - A process never spends more fuel than any of its ancestors allows (its VM's meter is set
//!   to exactly its allowance before each slice).
//! - Process ids are generational: a stale id never names a process created later.

use crate::meter::{Exhausted, MeterId, MeterTree};
use crate::value::Value;
use crate::vm::{Outcome, Vm};
use serde::{Deserialize, Serialize};

/// Fuel units a process runs before the scheduler moves on.
pub const SLICE: u64 = 1 << 20;

/// Scheduler steps between full scans of the process table (the run queue's safety net).
const FULL_SCAN_EVERY: u32 = 256;

/// Files, sockets, listeners and directories a process may hold open at once unless its
/// parent (`opts.handles`) or the command line (`--handles N`) says otherwise.
pub const DEFAULT_HANDLES: u64 = 64;

/// Host bytes of a process's kernel record beyond its heap: its slot, `Vm` and `Process`
/// structs, its three meters, and the bookkeeping of the key table and free lists.
pub const PROCESS_RECORD_BYTES: usize = std::mem::size_of::<Slot>() + 3 * 32 + 256;

/// Sizes of the kernel's structures (`Kernel::record_counts`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub process_slots: usize,
    pub meter_slots: usize,
    pub keys: usize,
    pub key_index_entries: usize,
    pub clist_slots: usize,
}

/// A process, named by its slot and the slot's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ProcessId {
    /// The id as one number (what a `Process` key designates).
    pub fn to_u64(self) -> u64 {
        (self.generation as u64) << 32 | self.index as u64
    }

    pub fn from_u64(n: u64) -> ProcessId {
        ProcessId {
            index: n as u32,
            generation: (n >> 32) as u32,
        }
    }
}

/// Builds the VM of a new process (the standard library, the memory budget), given by the
/// embedder: the kernel does not know the library.
pub type VmFactory = std::rc::Rc<dyn Fn(&str, usize) -> Result<Vm, crate::vm::Throw>>;

/// The life cycle of DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Ready,
    Running,
    /// Waiting for I/O or a callee (a trap its host has not answered yet).
    Waiting,
    /// Out of fuel (its own or an ancestor's): `refuel` and `resume` continue it.
    Suspended,
    Done,
    Failed,
    Killed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Running => "running",
            State::Waiting => "waiting",
            State::Suspended => "suspended",
            State::Done => "done",
            State::Failed => "failed",
            State::Killed => "killed",
        }
    }
}

/// A budget a meter tree keeps: what a process may spend, or hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Budget {
    Fuel,
    Memory,
}

impl Budget {
    /// The fault kind a waiter hears when this budget runs out.
    pub fn fault_kind(self) -> crate::fault::FaultKind {
        match self {
            Budget::Fuel => crate::fault::FaultKind::Fuel,
            Budget::Memory => crate::fault::FaultKind::Memory,
        }
    }

    /// What running out of it is called in a message.
    pub fn ran_out(self) -> &'static str {
        match self {
            Budget::Fuel => "ran out of fuel",
            Budget::Memory => "ran out of memory",
        }
    }
}

/// Why a process stopped short of finishing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// A budget on its chain ran out — its own, or the one of the named ancestor — before the
    /// step that needed it: the process is suspended, and carries on with that step once the
    /// exhausted process is given more and resumed.
    Exhausted {
        budget: Budget,
        exhausted: ProcessId,
    },
    /// An uncaught error, with its message and traceback.
    Error { message: String, traceback: String },
    /// An allocation its bank refused, uncaught (Lua's `LUA_ERRMEM`): a `memory` fault.
    Memory { message: String, traceback: String },
    /// A kernel invariant broke while serving it (`what` says which): never a Lua error its
    /// script could catch. Waiters hear an `error` fault naming it as a bug in Tessera.
    Broken { what: String },
}

impl Fault {
    /// The kind of fault a waiter hears.
    pub fn kind(&self) -> crate::fault::FaultKind {
        use crate::fault::FaultKind;
        match self {
            Fault::Exhausted { budget, .. } => budget.fault_kind(),
            Fault::Error { .. } | Fault::Broken { .. } => FaultKind::Error,
            Fault::Memory { .. } => FaultKind::Memory,
        }
    }

    /// The message a waiter or the command line shows for a broken invariant.
    pub fn broken_message(what: &str) -> String {
        format!("a kernel invariant broke ({what}); this is a bug in Tessera, please report it")
    }
}

/// The embedder's hint for a refused key it granted: what would grant more (`--dir …`), if
/// it can say.
pub type GrantHint =
    Box<dyn Fn(&crate::clist::KeyKind, Option<crate::clist::DirRights>) -> Option<String>>;

/// The embedder's wall clock, for the time of audit records: nanoseconds since the Unix
/// epoch.
pub type AuditClock = Box<dyn Fn() -> u64>;

/// One process.
#[derive(Serialize, Deserialize)]
pub struct Process {
    pub vm: Vm,
    pub name: String,
    pub parent: Option<ProcessId>,
    pub state: State,
    pub fault: Option<Fault>,
    /// What its main function returned, once done; the error value, once failed. Kept (and
    /// rooted in its heap) whatever calls run later: `wait()` always answers with these.
    pub results: Vec<Value>,
    /// The call from another process it runs or has just answered, once its chunk returned
    /// (`proc:call`, an import proxy). A call never touches `results` or `fault`.
    #[serde(default)]
    pub(crate) call: Option<Call>,
    pub(crate) fuel: MeterId,
    /// Its memory meter (the credit model applied to bytes), and the bank use last charged to
    /// it.
    pub(crate) memory: MeterId,
    pub(crate) memory_seen: usize,
    /// Its handle meter: host objects holding a descriptor (files, sockets, listeners, dirs
    /// from `sub`) that it opened and that are still open, nested like memory.
    pub(crate) handles: MeterId,
    /// The keys this process holds.
    pub clist: crate::clist::Clist,
    /// The child this process waits for (`proc:wait()`, `proc:call()`), if any.
    pub(crate) waiting_on: Option<ProcessId>,
    /// The process running a call this process made (`proc:call()`), until it answers.
    #[serde(default)]
    pub(crate) calling: Option<ProcessId>,
    /// Calls this process is serving while it waits in a kernel service (callbacks from the
    /// processes it waits for), innermost last.
    #[serde(default)]
    pub(crate) serving: Vec<Callback>,
    /// The gateway request this process waits for, if any.
    #[serde(default)]
    pub(crate) io: Option<crate::gateway::PendingIo>,
    /// Fuel the request it is being served (its pending trap) has charged to its chain so
    /// far. A request refused for want of fuel or memory gives it back and is made again from
    /// the start once resumed (`suspend_unpaid`), so a cut never charges a request twice.
    #[serde(skip)]
    pub(crate) drawn: u64,
    /// Whether the kernel's run queue holds it (derived; after a restore, at worst a
    /// process is queued twice).
    #[serde(skip)]
    pub(crate) queued: bool,
    /// When it was last queued to run (the kernel's count of processes queued). A budget
    /// stops a subtree whole; resumed, its processes are queued again in this order, the one
    /// cut short in its slice first (0), so a cut never changes which process runs next.
    #[serde(default)]
    pub(crate) queued_at: u64,
    /// Its virtual clock, seeds and generator if it is deterministic (`--deterministic`,
    /// `opts.deterministic`); then so are its descendants.
    #[serde(default)]
    pub(crate) det: Option<crate::determinism::Determinism>,
}

/// A call a waiting process serves above its trap: who asked, and the waits it put aside.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Callback {
    pub(crate) caller: ProcessId,
    pub(crate) calling: Option<ProcessId>,
    pub(crate) waiting_on: Option<ProcessId>,
}

/// A call into a process whose chunk has returned: whom it answers, and its answer once it
/// ended, kept (rooted in the callee's heap) until that caller takes it. While an answer waits,
/// the callee is `done` but busy: other callers wait for it to be taken.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Call {
    /// The caller; none once it stopped waiting (a fault reached it): the answer is dropped.
    pub(crate) caller: Option<ProcessId>,
    pub(crate) reply: Option<Reply>,
}

/// How a call ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    Values(Vec<Value>),
    /// An error the callee did not catch: it goes back to the caller as a fault of `kind`
    /// (`error`, or `memory` for a refused allocation) and leaves the callee `done`.
    Error {
        kind: crate::fault::FaultKind,
        message: String,
        value: Value,
        /// Where it was raised in the callee (for the fault's `traceback`).
        traceback: String,
    },
}

impl Reply {
    /// The values of the callee's heap the reply holds.
    pub(crate) fn values(&self) -> &[Value] {
        match self {
            Reply::Values(v) => v,
            Reply::Error { value, .. } => std::slice::from_ref(value),
        }
    }
}

impl Process {
    /// Its meter of `budget`.
    pub(crate) fn meter(&self, budget: Budget) -> MeterId {
        match budget {
            Budget::Fuel => self.fuel,
            Budget::Memory => self.memory,
        }
    }

    /// Roots what the kernel keeps in this process's heap between runs (its results, a call's
    /// answer) so that its collector never frees them. Called whenever either changes.
    pub(crate) fn hold_values(&mut self) {
        let reply = self
            .call
            .as_ref()
            .and_then(|c| c.reply.as_ref())
            .map_or(&[][..], Reply::values);
        self.vm.hold(&self.results, reply);
    }

    /// A call whose caller stopped waiting has no one to answer: once it ends, it is over.
    fn drop_orphan_reply(&mut self) {
        if self
            .call
            .as_ref()
            .is_some_and(|c| c.caller.is_none() && c.reply.is_some())
        {
            self.call = None;
        }
    }
}

/// A set of slot indices, one bit each: looked up at every stop, so no tree or hash.
#[derive(Default)]
pub(crate) struct SlotSet {
    words: Vec<u64>,
}

impl SlotSet {
    pub(crate) fn clear(&mut self) {
        self.words.clear();
    }

    pub(crate) fn insert(&mut self, i: u32) {
        let word = (i / 64) as usize;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (i % 64);
    }

    pub(crate) fn remove(&mut self, i: u32) {
        if let Some(w) = self.words.get_mut((i / 64) as usize) {
            *w &= !(1 << (i % 64));
        }
    }

    /// The least index in the set at or above `from` and below `end`.
    pub(crate) fn next(&self, from: u32, end: u32) -> Option<u32> {
        let mut word = (from / 64) as usize;
        let mut bits = self.words.get(word)? & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                let i = word as u32 * 64 + bits.trailing_zeros();
                return (i < end).then_some(i);
            }
            word += 1;
            bits = *self.words.get(word)?;
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Slot {
    pub(crate) generation: u32,
    /// Boxed: serving a request takes a process out of its slot and puts it back
    /// (`with_taken`), which would otherwise copy the whole record (its VM included) twice.
    pub(crate) process: Option<Box<Process>>,
}

/// All processes of a tree, and their meters.
#[derive(Serialize, Deserialize, Default)]
pub struct Kernel {
    pub(crate) slots: Vec<Slot>,
    /// Free slots, reused last-freed first; serialized so a restored kernel allocates the same ids.
    free: Vec<u32>,
    pub(crate) fuel: MeterTree,
    /// Memory meters: a process's bank may hold no more than the least any meter on its chain
    /// has left.
    pub(crate) memory: MeterTree,
    /// Handle meters, and which meter each open host object (by the key it lives behind) is
    /// charged to (see `services::gateway`).
    #[serde(default)]
    pub(crate) handles: MeterTree,
    #[serde(default)]
    pub(crate) open_handles: std::collections::BTreeMap<crate::clist::KeyId, MeterId>,
    /// Round-robin position of the scheduler's full scans.
    cursor: usize,
    /// Processes made ready, in order: the scheduler takes the next from here instead of
    /// scanning the process table, so a slice costs the same however many processes wait.
    /// Entries may be stale (checked when taken); a full scan every `FULL_SCAN_EVERY` steps,
    /// or when the queue runs dry, finds any ready process not queued.
    #[serde(default)]
    run_queue: std::collections::VecDeque<ProcessId>,
    /// Steps since the last full scan.
    #[serde(default)]
    since_scan: u32,
    /// How many times a process was queued (`Process::queued_at`).
    #[serde(default)]
    enqueued: u64,
    /// A process stopped (done, failed, suspended, removed) since waiters were last woken.
    #[serde(default)]
    pub(crate) stopped_since_wake: bool,
    /// Every key object of the tree.
    pub keys: crate::clist::KeyTable,
    /// Every grant of authority (serialized in its own hash-chained format).
    #[serde(with = "audit_bytes")]
    pub audit: crate::audit::AuditLog,
    /// Logical time: slices run so far (the kernel reads no clock).
    pub(crate) time: u64,
    #[serde(skip)]
    pub(crate) factory: Option<VmFactory>,
    /// The embedder's gateways (none: gateway keys are refused).
    #[serde(skip)]
    pub(crate) host: Option<Box<dyn crate::gateway::Host>>,
    /// The host said it was `quiet` at its last poll and nothing was started since: the
    /// poll before each slice is skipped.
    #[serde(skip)]
    pub(crate) host_quiet: bool,
    /// How the embedder would grant more to a key it granted (a flag to use), added to a
    /// `denied` fault's message.
    #[serde(skip)]
    pub(crate) grant_hint: Option<GrantHint>,
    /// The embedder's wall clock for audit records (the kernel reads none itself).
    #[serde(skip)]
    pub(crate) audit_clock: Option<AuditClock>,
    /// The next gateway request's ticket.
    #[serde(default)]
    pub(crate) next_ticket: u64,
    /// A deterministic process waiting for the host: nothing else runs until it is answered,
    /// so answers arrive at fixed points of the run, whatever the host's timing.
    #[serde(skip)]
    pub(crate) held_for_io: Option<ProcessId>,
    /// A trap's arguments, copied out of its VM while a service answers it: kept to be
    /// reused, so a service allocates nothing for them (a nested service takes a fresh one).
    #[serde(skip)]
    pub(crate) trap_args: Vec<Value>,
    /// The buffer of a copy between processes whose values have been used (put in the
    /// receiver's trap or stack), handed to the next copy (`copy_values_into`).
    #[serde(skip)]
    pub(crate) spare_values: Vec<Value>,
    /// The slots whose process may have a child it waits for (a superset: noted when a wait
    /// is set, dropped when found with none, made anew by every full `wake_waiters`), so that
    /// a stop wakes its waiters without looking at every process.
    #[serde(skip)]
    pub(crate) may_wait: SlotSet,
    /// Whether `may_wait` has been made by a full `wake_waiters` since this kernel was made
    /// or restored (a restored process may wait without having been noted).
    #[serde(skip)]
    pub(crate) may_wait_known: bool,
}

impl Kernel {
    pub fn new() -> Kernel {
        Kernel {
            // Records beyond the window live only in the sink the embedder attaches.
            audit: crate::audit::AuditLog::streaming(None, crate::audit::DEFAULT_WINDOW),
            ..Kernel::default()
        }
    }

    /// Adds a process whose VM is ready to run (`Vm::start` was called). `fuel` is its limit:
    /// an intent that may exceed what its parent has left.
    ///
    /// The VM's memory limit becomes the process's memory intent; what its heap already holds is
    /// charged to its chain (as far as the chain allows: `memory_allowance` tells a caller
    /// beforehand).
    pub fn add(&mut self, parent: Option<ProcessId>, name: &str, vm: Vm, fuel: u64) -> ProcessId {
        let (meter, memory, handles) = match parent
            .and_then(|p| self.get(p))
            .map(|p| (p.fuel, p.memory, p.handles))
        {
            Some((f, m, h)) => (
                self.fuel.child(f, fuel),
                self.memory.child(m, vm.heap.bank.limit() as u64),
                self.handles.child(h, DEFAULT_HANDLES),
            ),
            None => (
                self.fuel.root(fuel),
                self.memory.root(vm.heap.bank.limit() as u64),
                self.handles.root(DEFAULT_HANDLES),
            ),
        };
        let used = vm.heap.bank.used();
        let _ = self.memory.charge(memory, used as u64);
        let process = Process {
            vm,
            name: name.to_string(),
            parent,
            state: State::Ready,
            fault: None,
            results: Vec::new(),
            call: None,
            fuel: meter,
            memory,
            memory_seen: used,
            handles,
            clist: crate::clist::Clist::new(),
            waiting_on: None,
            calling: None,
            serving: Vec::new(),
            io: None,
            drawn: 0,
            queued: false,
            queued_at: 0,
            det: None,
        };
        let id = match self.free.pop() {
            Some(i) => {
                let slot = &mut self.slots[i as usize];
                slot.process = Some(Box::new(process));
                ProcessId {
                    index: i,
                    generation: slot.generation,
                }
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    process: Some(Box::new(process)),
                });
                ProcessId {
                    index: (self.slots.len() - 1) as u32,
                    generation: 0,
                }
            }
        };
        self.enqueue(id);
        id
    }

    pub fn get(&self, id: ProcessId) -> Option<&Process> {
        self.slots
            .get(id.index as usize)
            .filter(|s| s.generation == id.generation)?
            .process
            .as_deref()
    }

    pub fn get_mut(&mut self, id: ProcessId) -> Option<&mut Process> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|s| s.generation == id.generation)?
            .process
            .as_deref_mut()
    }

    /// Removes a process (after it was collected by its parent); its id never names another.
    pub fn remove(&mut self, id: ProcessId) -> Option<Process> {
        // The audit log hears that it holds nothing any more (`--who-can` answers with the
        // living), while it still has its name.
        let held: Vec<(crate::clist::KeyId, crate::clist::KeyKind)> = self
            .get(id)
            .map(|p| {
                p.clist
                    .iter()
                    .filter_map(|(_, key)| Some((key, self.keys.get(key)?.kind.clone())))
                    .collect()
            })
            .unwrap_or_default();
        self.record_drops(id, &held);
        let slot = self
            .slots
            .get_mut(id.index as usize)
            .filter(|s| s.generation == id.generation)?;
        let p = *slot.process.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(id.index);
        // Whoever waited for it wakes.
        self.stopped_since_wake = true;
        self.fuel.remove(p.fuel);
        // Its heap is gone: the bytes go back to every ancestor.
        self.memory.release(p.memory, p.memory_seen as u64);
        self.memory.remove(p.memory);
        // Its slots are gone too: a key nobody else holds ends, and the host closes what it
        // reached (a socket a killed process had open, say).
        for (_, key) in p.clist.iter() {
            for gone in self.keys.release_all(key).unwrap_or_default() {
                if let Some(host) = self.host.as_mut() {
                    host.release(gone);
                }
                self.release_handle(gone);
            }
        }
        self.end_handle_meter(&p);
        Some(p)
    }

    /// The host memory a process takes: its heap (as its bank counts it) and its kernel
    /// record. What a key to it keeps alive.
    pub(crate) fn footprint(&self, id: ProcessId) -> usize {
        self.get(id).map_or(0, |p| {
            PROCESS_RECORD_BYTES.saturating_add(p.vm.heap.bank.used())
        })
    }

    pub(crate) fn id_at(&self, index: usize) -> Option<ProcessId> {
        let s = self.slots.get(index)?;
        s.process.as_ref().map(|_| ProcessId {
            index: index as u32,
            generation: s.generation,
        })
    }

    /// The ids of every process (any state), in slot order.
    pub fn process_ids(&self) -> Vec<ProcessId> {
        (0..self.slots.len())
            .filter_map(|i| self.id_at(i))
            .collect()
    }

    /// Every process (any state).
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.slots.iter().filter_map(|s| s.process.as_deref())
    }

    /// How many entries the kernel's own structures hold (process slots, meter slots, key
    /// objects and their indexes, c-list slots): a measure of the kernel's host memory that
    /// tests can bound.
    pub fn record_counts(&self) -> RecordCounts {
        RecordCounts {
            process_slots: self.slots.len(),
            meter_slots: self.fuel.slot_count()
                + self.memory.slot_count()
                + self.handles.slot_count(),
            keys: self.keys.len(),
            key_index_entries: self.keys.index_entries(),
            clist_slots: self.processes().map(|p| p.clist.slot_count()).sum(),
        }
    }

    /// How many processes exist (any state).
    pub fn process_count(&self) -> usize {
        self.slots.iter().filter(|s| s.process.is_some()).count()
    }

    /// `(used, limit)` of a process's fuel meter.
    pub fn fuel_usage(&self, id: ProcessId) -> Option<(u64, u64)> {
        self.get(id).and_then(|p| self.fuel.usage(p.fuel))
    }

    /// `(used, limit)` of a process's memory meter, in bytes (its heap and its children's).
    pub fn memory_usage(&self, id: ProcessId) -> Option<(u64, u64)> {
        self.get(id).and_then(|p| self.memory.usage(p.memory))
    }

    /// What a process may spend now: the least any meter on its chain has left.
    pub fn allowance(&self, id: ProcessId) -> u64 {
        self.get(id)
            .map(|p| self.fuel.allowance(p.fuel))
            .unwrap_or(0)
    }

    /// Charges `units` of fuel to `id`'s chain for work the kernel is about to do on its
    /// behalf between slices (a service: a copy, a spawn, a snapshot). The one way to charge
    /// outside a slice: the VM's own charges are refused there.
    ///
    /// # Errors
    /// `Exhausted` naming the meter that cannot pay; nothing is charged and the work must not
    /// be done.
    pub fn charge_fuel(&mut self, id: ProcessId, units: u64) -> Result<(), Exhausted> {
        let Some(meter) = self.get(id).map(|p| p.fuel) else {
            return Ok(());
        };
        self.fuel.charge(meter, units)?;
        if let Some(p) = self.get_mut(id) {
            p.drawn = p.drawn.saturating_add(units);
        }
        Ok(())
    }

    /// Raises a process's fuel limit (`proc:refuel(n)`).
    pub fn refuel(&mut self, id: ProcessId, units: u64) {
        if let Some(m) = self.get(id).map(|p| p.fuel) {
            self.fuel.refuel(m, units);
        }
    }

    /// Raises `id`'s memory limit by `bytes` (`proc:refuel(n, memory)`): its bank may then hold
    /// that much more, within what its ancestors' meters allow.
    pub fn raise_memory(&mut self, id: ProcessId, bytes: u64) {
        let Some(p) = self.get_mut(id) else { return };
        let limit = p.vm.heap.bank.limit();
        p.vm.heap
            .bank
            .set_limit(limit.saturating_add(bytes.min(usize::MAX as u64) as usize));
        let meter = p.memory;
        self.memory.refuel(meter, bytes);
    }

    /// Ends `id`, failed, because a kernel invariant broke while it was being served: its
    /// script never sees an error it could catch, and whoever waits for it hears why.
    pub(crate) fn break_process(&mut self, id: ProcessId, what: String) {
        let Some(p) = self.get_mut(id) else { return };
        p.state = State::Failed;
        p.fault = Some(Fault::Broken {
            what: message_text(what.as_bytes()),
        });
        p.results.clear();
        p.drop_orphan_reply();
        p.hold_values();
        self.stopped_since_wake = true;
    }

    /// Ctrl-C in the shell or during a run: every process below `id` that is running or
    /// waiting (not one that is done, failed or suspended: an imported library between calls
    /// lives on) is killed with its subtree, and `id` raises "interrupted!" where it stands
    /// (`Vm::interrupt`), its waits for those processes or the host dropped. False if `id` is
    /// not running or waiting.
    pub fn interrupt(&mut self, id: ProcessId) -> bool {
        let busy: Vec<ProcessId> = self
            .subtree(id)
            .into_iter()
            .filter(|&p| {
                p != id
                    && self.get(p).is_some_and(|p| {
                        matches!(p.state, State::Ready | State::Running | State::Waiting)
                    })
            })
            .collect();
        for p in busy {
            // One killed above it took it already.
            if self.get(p).is_some() {
                self.kill(p);
            }
        }
        let Some(p) = self.get_mut(id) else {
            return false;
        };
        match p.state {
            State::Ready | State::Running => p.vm.interrupt(),
            State::Waiting => {
                // Its host request (if any) is answered to nobody: a stale ticket is ignored.
                p.waiting_on = None;
                p.calling = None;
                p.io = None;
                p.drawn = 0;
                p.vm.interrupt();
                self.make_ready(id);
            }
            _ => return false,
        }
        if self.held_for_io == Some(id) {
            self.held_for_io = None;
        }
        true
    }

    /// Kills a process and every process below it (the shell's `:kill`): keys to them answer
    /// with a `killed` fault from now on. The root of a tree (no parent) is not killed: its
    /// embedder holds it. False if there is no such process or it is a root.
    pub fn kill_process(&mut self, id: ProcessId) -> bool {
        if self.get(id).is_none_or(|p| p.parent.is_none()) {
            return false;
        }
        self.kill(id);
        true
    }

    /// Revokes `key` and every key derived from it for all their holders, as the function
    /// `revocable` returns does, on behalf of process `by` (the shell's `:revoke`): the host
    /// closes what only revoked keys reached, and the audit log records it.
    ///
    /// # Errors
    /// No such key.
    pub fn revoke_key(
        &mut self,
        by: ProcessId,
        key: crate::clist::KeyId,
    ) -> Result<(), crate::clist::KeyError> {
        let kind = self
            .keys
            .resolve(key)
            .cloned()
            .unwrap_or(crate::clist::KeyKind::Forwarder { target: key });
        if self.keys.is_revoked(key) {
            return Ok(());
        }
        for k in self.keys.revoke(key)? {
            if let Some(host) = self.host.as_mut() {
                host.release(k);
            }
            self.release_handle(k);
        }
        let time = self.time;
        let _ = self.audit.append(crate::audit::Event::new(
            crate::audit::Op::Revoke,
            time,
            Some(by.to_u64()),
            by.to_u64(),
            key,
            None,
            &kind,
        ));
        Ok(())
    }

    /// Makes a suspended process ready again (`proc:resume()`), and with it every process
    /// that was stopped because its meter ran dry (they carry on where they stood).
    pub fn resume(&mut self, id: ProcessId) -> bool {
        if self.get(id).map(|p| p.state) != Some(State::Suspended) {
            return false;
        }
        let mut stopped = vec![id];
        for index in 0..self.slots.len() {
            let Some(other) = self.id_at(index) else {
                continue;
            };
            let stopped_by_it = other != id
                && self.get(other).is_some_and(|p| {
                    p.state == State::Suspended
                        && matches!(p.fault, Some(Fault::Exhausted { exhausted, .. }) if exhausted == id)
                });
            if stopped_by_it {
                stopped.push(other);
            }
        }
        // They run again in the order they would have run had nothing stopped them.
        stopped.sort_by_key(|&p| self.get(p).map_or(u64::MAX, |p| p.queued_at));
        let again: std::collections::HashSet<ProcessId> = stopped.iter().copied().collect();
        self.run_queue.retain(|q| !again.contains(q));
        for &p in &stopped {
            self.unqueue(p);
        }
        for p in stopped {
            self.carry_on(p);
        }
        true
    }

    /// A suspended process goes on where it stood: ready to run, or back in the wait its
    /// budget stopped it in (answered by the waiters' next wake if its target has stopped).
    fn carry_on(&mut self, id: ProcessId) {
        let Some(p) = self.get_mut(id) else { return };
        p.fault = None;
        if p.waiting_on.is_some() {
            p.state = State::Waiting;
            self.stopped_since_wake = true;
        } else {
            p.state = State::Ready;
            self.enqueue(id);
        }
    }

    /// Makes `id` the deterministic root of its tree, with `seed` (`--seed N`): its hash seed
    /// and generators are derived from the seed, its clock is virtual, and every process it
    /// creates is deterministic too. For a process that has not run yet (its heap is made
    /// again for the new hash seed). False if there is no such process or it already is.
    pub fn make_deterministic(&mut self, id: ProcessId, seed: u64) -> bool {
        let used = self.fuel_usage(id).map_or(0, |(used, _)| used);
        let Some(p) = self.get_mut(id) else {
            return false;
        };
        if p.det.is_some() {
            return false;
        }
        let det = crate::determinism::Determinism::root(seed, used);
        p.vm.heap.set_hash_seed(det.hash_seed());
        p.det = Some(det);
        true
    }

    /// Whether `id` is deterministic.
    pub fn is_deterministic(&self, id: ProcessId) -> bool {
        self.get(id).is_some_and(|p| p.det.is_some())
    }

    /// The virtual time of deterministic process `id`, in nanoseconds since the Unix epoch.
    pub fn virtual_now(&mut self, id: ProcessId) -> Option<u64> {
        let used = self.fuel_usage(id).map_or(0, |(used, _)| used);
        self.get_mut(id)?.det.as_mut().map(|d| d.now_ns(used))
    }

    /// Adds a sleep of `ns` to the clock of deterministic process `id` and of each
    /// deterministic ancestor (a parent's clock counts what its children do).
    pub(crate) fn virtual_sleep(&mut self, id: ProcessId, ns: u64) {
        let mut cur = Some(id);
        for _ in 0..=self.slots.len() {
            let Some(p) = cur.and_then(|c| self.get_mut(c)) else {
                return;
            };
            let Some(d) = p.det.as_mut() else { return };
            d.slept(ns);
            cur = p.parent;
        }
    }

    /// The state of the next child of `parent`: its parent's next child if `parent` is
    /// deterministic, a new tree's root (seed 0) if only the child is to be; `None` for a
    /// child that is not deterministic.
    /// `fuel_used` is what the child's meter starts at (0 for a new process).
    pub(crate) fn child_determinism(
        &mut self,
        parent: ProcessId,
        wanted: bool,
        fuel_used: u64,
    ) -> Option<crate::determinism::Determinism> {
        match self.virtual_now(parent) {
            Some(now) => {
                let p = self.get(parent)?;
                p.det.as_ref().map(|d| d.child(now, fuel_used))
            }
            None if wanted => Some(crate::determinism::Determinism::root(0, fuel_used)),
            None => None,
        }
    }

    /// Sets how new processes get their VM (needed again after a restore).
    pub fn set_factory(&mut self, factory: VmFactory) {
        self.factory = Some(factory);
    }

    /// Sets how a `denied` fault about a key the embedder granted says what would grant more
    /// (the key, and the missing right if one is known).
    pub fn set_grant_hint(&mut self, hint: GrantHint) {
        self.grant_hint = Some(hint);
    }

    /// Sets the wall clock audit records are stamped with. A deterministic process's records
    /// take its virtual clock instead, so a deterministic run's log repeats exactly; without a
    /// clock, other records carry time 0.
    pub fn set_audit_clock(&mut self, clock: AuditClock) {
        self.audit_clock = Some(clock);
    }

    /// Appends an audit event about `key` (of `kind`), given by `from` (`None`: the host or
    /// the kernel) to `to`, stamped with the acting process's time and both processes'
    /// names.
    pub(crate) fn record_grant(
        &mut self,
        op: crate::audit::Op,
        from: Option<ProcessId>,
        to: ProcessId,
        key: crate::clist::KeyId,
        parent: Option<crate::clist::KeyId>,
        kind: &crate::clist::KeyKind,
    ) {
        let to_name = self.get(to).map(|p| p.name.clone()).unwrap_or_default();
        let event = crate::audit::Event::new(
            op,
            0,
            from.map(ProcessId::to_u64),
            to.to_u64(),
            key,
            parent,
            kind,
        );
        self.record_event(event, from.unwrap_or(to), &to_name);
    }

    /// Appends `event`, stamped with the time of `actor` (its virtual clock if it is
    /// deterministic, else the embedder's wall clock) and named: `from` as the kernel knows
    /// it, `to` as `to_name` (the receiver may be out of its slot, a copy in progress).
    pub(crate) fn record_event(
        &mut self,
        event: crate::audit::Event,
        actor: ProcessId,
        to_name: &str,
    ) {
        let time = match self.virtual_now(actor) {
            Some(t) => t,
            None => self.audit_clock.as_ref().map_or(0, |c| c()),
        };
        let from_name = event
            .from
            .map(ProcessId::from_u64)
            .and_then(|f| self.get(f))
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let event = crate::audit::Event { time, ..event }.named(&from_name, to_name);
        // Encoding these types cannot fail; a failing sink is remembered by the log.
        let _ = self.audit.append(event);
    }

    /// Gives the kernel the embedder's gateways (`crate::gateway::Host`).
    pub fn set_host(&mut self, host: Box<dyn crate::gateway::Host>) {
        self.host = Some(host);
        self.host_quiet = false;
    }

    /// Runs one slice of the next ready process. When none is ready but some wait for the
    /// host, waits for the host's next answer. Returns false when nothing can happen any more.
    pub fn step(&mut self) -> bool {
        if let Some(id) = self.held_for_io {
            let waiting = self.get(id).is_some_and(|p| p.io.is_some())
                && self.host.as_ref().is_some_and(|h| h.pending() > 0);
            if waiting {
                self.poll_host(Some(std::time::Duration::from_millis(100)));
                return true;
            }
            self.held_for_io = None;
        }
        if self.step_ready() {
            return true;
        }
        if self.waits_for_host() {
            self.poll_host(Some(std::time::Duration::from_millis(100)));
            return true;
        }
        // Nothing can run: waits that could never end get a deadlock fault (never the host).
        self.break_deadlock()
    }

    /// Runs slices (`step`) for as long as `go_on` says so after each: an embedder that looks
    /// at the same things after every slice (its root still running, no output to hand on)
    /// checks them here instead of going round its own loop each time. Returns what the last
    /// `step` returned.
    pub fn step_while(&mut self, mut go_on: impl FnMut(&Kernel) -> bool) -> bool {
        loop {
            if !self.step() {
                return false;
            }
            if !go_on(self) {
                return true;
            }
        }
    }

    /// Runs one slice of the next ready process, delivering the host's ready answers first.
    fn step_ready(&mut self) -> bool {
        if self.host.is_some() && !self.host_quiet {
            self.poll_host(None);
        }
        self.since_scan += 1;
        let full_scan = self.since_scan >= FULL_SCAN_EVERY;
        if full_scan {
            self.stopped_since_wake = false;
            self.wake_waiters();
        } else if self.stopped_since_wake {
            self.stopped_since_wake = false;
            self.wake_noted();
        }
        if full_scan {
            self.since_scan = 0;
            self.enqueue_unqueued();
        }
        while let Some(id) = self.run_queue.pop_front() {
            self.unqueue(id);
            if self.get(id).map(|p| p.state) == Some(State::Ready) {
                self.run_slice(id);
                return true;
            }
        }
        // The queue ran dry: a ready process nobody queued (a restored one) is found here.
        self.wake_waiters();
        self.since_scan = 0;
        self.enqueue_unqueued();
        match self.run_queue.pop_front() {
            Some(id) => {
                self.unqueue(id);
                self.run_slice(id);
                true
            }
            None => false,
        }
    }

    /// Queues `id` to run (it was made ready).
    pub(crate) fn enqueue(&mut self, id: ProcessId) {
        let at = self.enqueued + 1;
        let Some(p) = self.get_mut(id).filter(|p| !p.queued) else {
            return;
        };
        p.queued = true;
        p.queued_at = at;
        self.enqueued = at;
        self.run_queue.push_back(id);
    }

    /// `id` left the run queue.
    fn unqueue(&mut self, id: ProcessId) {
        if let Some(p) = self.get_mut(id) {
            p.queued = false;
        }
    }

    /// `id` stops before a step it cannot pay, in its slice or in a kernel service it asked
    /// for: an uninterrupted run would have gone on with that step at once, so once resumed it
    /// runs before the others its budget stopped.
    pub(crate) fn mark_cut(&mut self, id: ProcessId) {
        if let Some(p) = self.get_mut(id) {
            p.queued_at = 0;
        }
    }

    /// Marks `id` ready and queues it.
    pub(crate) fn make_ready(&mut self, id: ProcessId) {
        if let Some(p) = self.get_mut(id) {
            p.state = State::Ready;
        }
        self.enqueue(id);
    }

    /// A full scan, in round-robin order from the cursor: queues every ready process that is
    /// not queued yet.
    fn enqueue_unqueued(&mut self) {
        let n = self.slots.len();
        for k in 0..n {
            let index = (self.cursor + k) % n.max(1);
            let Some(id) = self.id_at(index) else {
                continue;
            };
            if self.get(id).map(|p| p.state) == Some(State::Ready) {
                self.enqueue(id);
            }
        }
        self.cursor = (self.cursor + 1) % n.max(1);
    }

    /// Releases the c-list slots whose key userdata the process's collector freed: a key lives
    /// while some slot holds it, and a slot lives while its userdata does.
    fn drop_freed_keys(&mut self, id: ProcessId) {
        let Kernel {
            slots, keys, host, ..
        } = self;
        let Some(p) = slots
            .get_mut(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.process.as_mut())
        else {
            return;
        };
        if p.vm.heap.gc.freed_notices.is_empty() {
            // Checked after every slice: most free no key.
            return;
        }
        let mut ended = Vec::new();
        let mut dropped = Vec::new();
        for payload in std::mem::take(&mut p.vm.heap.gc.freed_notices) {
            if let Some(handle) = crate::clist::SlotHandle::from_payload(&payload) {
                if let Some(key) = p.clist.drop(handle) {
                    if let Some(k) = keys.get(key) {
                        dropped.push((key, k.kind.clone()));
                    }
                    for gone in keys.release_all(key).unwrap_or_default() {
                        if let Some(host) = host.as_mut() {
                            host.release(gone);
                        }
                        ended.push(gone);
                    }
                }
            }
        }
        for key in ended {
            self.release_handle(key);
        }
        self.record_drops(id, &dropped);
    }

    /// Records in the audit log that `id` gave up one slot holding each of `keys` (its
    /// collector freed the key's value, or the process is gone).
    fn record_drops(
        &mut self,
        id: ProcessId,
        keys: &[(crate::clist::KeyId, crate::clist::KeyKind)],
    ) {
        for (key, kind) in keys {
            self.record_grant(crate::audit::Op::Drop, None, id, *key, None, kind);
        }
    }

    /// What `id`'s heap may still grow by: the least any memory meter on its chain has left.
    pub fn memory_allowance(&self, id: ProcessId) -> u64 {
        self.get(id)
            .map(|p| self.memory.allowance(p.memory))
            .unwrap_or(0)
    }

    /// Caps a process's bank at what its chain allows, before it runs or the kernel writes
    /// into its heap.
    pub(crate) fn bound_memory(&mut self, id: ProcessId) {
        let Kernel { slots, memory, .. } = self;
        if let Some(p) = slots
            .get_mut(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.process.as_mut())
        {
            bound(memory, p);
        }
    }

    /// Charges (or gives back) to the chain what the process's bank gained (or freed) since the
    /// last settlement.
    pub(crate) fn settle_memory(&mut self, id: ProcessId) {
        let Kernel { slots, memory, .. } = self;
        if let Some(p) = slots
            .get_mut(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.process.as_mut())
        {
            settle(memory, p);
        }
    }

    /// Runs until no process is ready.
    pub fn run_until_idle(&mut self) {
        while self.step() {}
    }

    fn run_slice(&mut self, id: ProcessId) {
        let Some(meter) = self.get(id).map(|p| p.fuel) else {
            return;
        };
        let allowance = self.fuel.allowance(meter);
        // A step refused for want of fuel is taken up again only once its whole price can be
        // paid: a resume with less stops it again before it does any work.
        let needed = self
            .get(id)
            .and_then(|p| p.vm.refused())
            .unwrap_or(1)
            .max(1);
        if allowance < needed {
            self.mark_cut(id);
            self.suspend_for(Budget::Fuel, id, needed);
            return;
        }
        self.settle_memory(id);
        self.bound_memory(id);
        let Some(p) = self.get_mut(id) else { return };
        p.state = State::Running;
        // The VM may spend exactly the allowance: natives can overrun the slice, never this.
        let outcome = p.vm.run(SLICE.min(allowance), allowance);
        let spent = p.vm.last_slice_spent();
        // The VM refuses any charge past the allowance, so every meter on the chain can pay
        // this. Were that ever broken, the chain is drained rather than left unpaid: the
        // process stops, and no meter goes past its limit.
        if self.fuel.charge(meter, spent).is_err() {
            debug_assert!(false, "a slice spent more than its allowance");
            let left = self.fuel.allowance(meter);
            self.fuel.charge(meter, left).unwrap_or_default();
        }
        self.settle_memory(id);
        self.drop_freed_keys(id);
        let Some(p) = self.get_mut(id) else { return };
        match outcome {
            Outcome::Finished(values) => {
                p.state = State::Done;
                match p.call.as_mut() {
                    Some(call) => call.reply = Some(Reply::Values(values)),
                    None => p.results = values,
                }
                p.drop_orphan_reply();
                p.hold_values();
                self.stopped_since_wake = true;
            }
            Outcome::OutOfFuel => {
                p.state = State::Ready;
                // A refused charge needs more than the whole allowance: the process waits for
                // a refuel with what it has left intact.
                let needed = p.vm.refused().unwrap_or(1);
                if self.fuel.allowance(meter) < needed {
                    self.mark_cut(id);
                    self.suspend_for(Budget::Fuel, id, needed);
                } else {
                    // Its slice ended: it goes to the back of the queue.
                    self.enqueue(id);
                }
            }
            Outcome::Error {
                value,
                traceback,
                memory,
            } => {
                let message = error_message(&mut p.vm, value);
                // Kept in host memory outside every bank: cut to a bounded length, as the
                // message is (a function's name in it may be as long as its source).
                let traceback = message_text(traceback.as_bytes());
                let kind = if memory {
                    crate::fault::FaultKind::Memory
                } else {
                    crate::fault::FaultKind::Error
                };
                match p.call.as_mut() {
                    // An error in a call is the caller's fault to handle: the callee stays
                    // done, ready for the next call.
                    Some(call) => {
                        p.state = State::Done;
                        call.reply = Some(Reply::Error {
                            kind,
                            message,
                            value,
                            traceback,
                        });
                    }
                    None => {
                        p.state = State::Failed;
                        p.fault = Some(if memory {
                            Fault::Memory { message, traceback }
                        } else {
                            Fault::Error { message, traceback }
                        });
                        // Kept for whoever waits: the fault carries a copy.
                        p.results = vec![value];
                    }
                }
                p.drop_orphan_reply();
                p.hold_values();
                self.stopped_since_wake = true;
            }
            Outcome::Trap => p.state = State::Waiting,
            // The step is taken up again once the exhausted process has more memory and is
            // resumed (DESIGN, "Budgets"): memory suspends like fuel.
            Outcome::OutOfMemory { needed } => {
                self.mark_cut(id);
                self.suspend_for(Budget::Memory, id, needed)
            }
        }
        self.time += 1;
        if self.get(id).map(|p| p.state) == Some(State::Waiting) {
            self.service(id);
        }
        // Keys its collector dropped may leave ended processes unreachable, and so may its
        // own end: they are reaped.
        self.reap_unheld();
        self.reap_if_ended(id);
    }

    /// Suspends `id`, which needs `needed` units of `budget` its chain cannot give.
    pub(crate) fn suspend_for(&mut self, budget: Budget, id: ProcessId, needed: u64) {
        let Some(meter) = self.get(id).map(|p| p.meter(budget)) else {
            return;
        };
        let tree = match budget {
            Budget::Fuel => &self.fuel,
            Budget::Memory => &self.memory,
        };
        // The nearest meter that cannot pay names the process whose parent hears of it.
        let exhausted_meter = tree.short_of(meter, needed);
        // The meter chain is the process chain: walk up from `id` (O(depth), not the table).
        let exhausted = exhausted_meter
            .and_then(|m| {
                let mut cur = id;
                for _ in 0..=self.slots.len() {
                    let p = self.get(cur)?;
                    if p.meter(budget) == m {
                        return Some(cur);
                    }
                    cur = p.parent?;
                }
                None
            })
            .unwrap_or(id);
        let fault = Fault::Exhausted { budget, exhausted };
        if let Some(p) = self.get_mut(id) {
            p.state = State::Suspended;
            p.fault = Some(fault.clone());
        }
        // The credit model (DESIGN, "Budgets"): the exhausted ancestor is suspended where it
        // stands (a wait it was in is kept, and goes on once it is resumed: it is not made
        // again, so a cut costs no fuel), so its parent hears of it; the processes between it
        // and `id` keep waiting and never see a fault.
        // What the chain has left stays unspent: an uninterrupted run would have spent it on
        // what comes next, so a cut spends exactly as much (DESIGN: totals do not depend on
        // where a run is cut). Instead, every process under the exhausted one stops where it
        // stands (DESIGN: "and so is every descendant that was running under it"), so none
        // goes on with the rest while the others wait: resumed, they carry on in the order
        // they would have run in.
        for other in self.subtree(exhausted) {
            if other == id || other == exhausted {
                continue;
            }
            let Some(p) = self.get_mut(other) else {
                continue;
            };
            match p.state {
                State::Waiting if p.io.is_some() => p.fault = Some(fault.clone()),
                State::Ready => {
                    p.state = State::Suspended;
                    p.fault = Some(fault.clone());
                }
                State::Waiting if p.waiting_on.is_some() => {
                    p.state = State::Suspended;
                    p.fault = Some(fault.clone());
                }
                _ => {}
            }
        }
        if exhausted != id {
            if let Some(x) = self.get_mut(exhausted) {
                match x.state {
                    // One waiting for the host keeps waiting, marked: it stops as soon as its
                    // answer is delivered (`stop_if_marked`).
                    State::Waiting if x.io.is_some() => x.fault = Some(fault),
                    State::Ready | State::Waiting => {
                        if x.state == State::Ready {
                            x.waiting_on = None;
                        }
                        x.state = State::Suspended;
                        x.fault = Some(fault);
                    }
                    _ => {}
                }
            }
        }
        self.stopped_since_wake = true;
    }

    /// A process that waited for the host when a budget of its ran out below it (marked with
    /// that fault by `suspend_for`) stops now that its answer was delivered: suspended where it
    /// stands, so its parent hears of it.
    pub(crate) fn stop_if_marked(&mut self, id: ProcessId) {
        let Some(p) = self.get_mut(id) else { return };
        if matches!(p.state, State::Ready | State::Waiting)
            && p.io.is_none()
            && matches!(p.fault, Some(Fault::Exhausted { .. }))
        {
            if p.state == State::Ready {
                p.waiting_on = None;
            }
            p.state = State::Suspended;
            self.stopped_since_wake = true;
        }
    }

    /// Whether `waiter` is to go on waiting for `child` although it is suspended: an ancestor
    /// of the waiter (or the waiter itself) ran dry while `child` ran, so once that ancestor is
    /// resumed `child` carries on, and nothing below the ancestor notices.
    pub(crate) fn suspended_for_an_ancestor_of(&self, waiter: ProcessId, child: ProcessId) -> bool {
        let Some(Fault::Exhausted { exhausted, .. }) = self
            .get(child)
            .filter(|c| c.state == State::Suspended)
            .and_then(|c| c.fault.clone())
        else {
            return false;
        };
        if exhausted == child {
            return false;
        }
        // The waiter's chain is walked up to the exhausted process (O(depth)).
        let mut cur = Some(waiter);
        for _ in 0..=self.slots.len() {
            match cur {
                Some(c) if c == exhausted => return true,
                Some(c) => cur = self.get(c).and_then(|p| p.parent),
                None => return false,
            }
        }
        false
    }
}

/// How much of an error value's text a fault's message keeps: the message is a readable line
/// held in host memory outside every bank; the whole value stays in the failed process's heap
/// (its bank pays) and crosses to the waiter as the fault's `value`.
pub const FAULT_MESSAGE_BYTES: usize = 4096;

/// At most `FAULT_MESSAGE_BYTES` of `bytes` as text (a message, a traceback), marked with `…`
/// when cut.
fn message_text(bytes: &[u8]) -> String {
    if bytes.len() <= FAULT_MESSAGE_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..FAULT_MESSAGE_BYTES]).into_owned();
    text.push('…');
    text
}

/// The text of an error value, as a fault's message shows it.
pub(crate) fn error_message(vm: &mut Vm, value: Value) -> String {
    match (vm.str_bytes(value), value.as_number()) {
        (Some(b), _) => message_text(b),
        (None, Some(n)) => crate::number::number_to_string(n),
        _ => fault_text(vm, value)
            .unwrap_or_else(|| format!("(error object is a {} value)", value.type_name())),
    }
}

/// The text of a fault table raised again: `kind: message` (what its `__tostring` gives),
/// read without running Lua — or only the message for kind `error`, so that an error that
/// passes through several processes does not read `error: error: …`.
fn fault_text(vm: &mut Vm, v: Value) -> Option<String> {
    let Value::Table(t) = v else { return None };
    // Only a fault the kernel made (its metatable is the shared one).
    let meta = vm.intern(crate::fault::FAULT_META).ok()?;
    let is_fault = match (vm.metatable(v), vm.raw_get(vm.registry, meta)) {
        (Some(mt), Value::Table(fault_meta)) => mt == fault_meta,
        _ => false,
    };
    if !is_fault {
        return None;
    }
    let mut field = |name: &[u8]| -> Option<String> {
        let k = vm.intern(name).ok()?;
        vm.str_bytes(vm.raw_get(t, k)).map(message_text)
    };
    let kind = field(b"kind")?;
    let message = field(b"message")?;
    if kind == crate::fault::FaultKind::Error.name() {
        return Some(message);
    }
    Some(format!("{kind}: {message}"))
}

/// Caps `p`'s bank at what its memory chain allows.
pub(crate) fn bound(tree: &MeterTree, p: &mut Process) {
    let allowance = tree.allowance(p.memory);
    let used = p.vm.heap.bank.used();
    p.vm.heap
        .bank
        .set_limit(used.saturating_add(allowance.min(usize::MAX as u64) as usize));
}

/// Charges (or gives back) to `p`'s chain what its bank gained (or freed) since the last time.
pub(crate) fn settle(tree: &mut MeterTree, p: &mut Process) {
    let used = p.vm.heap.bank.used();
    if used == p.memory_seen {
        // Settled around every slice and copy: most find nothing to settle.
        return;
    }
    if used > p.memory_seen {
        // Bounded by `bound`, so the chain can pay; a few bytes the kernel wrote outside a slice
        // may not fit, and are then charged to the process alone.
        let _ = tree.charge(p.memory, (used - p.memory_seen) as u64);
    } else {
        tree.release(p.memory, (p.memory_seen - used) as u64);
    }
    p.memory_seen = used;
}

/// The audit log inside a kernel snapshot: the window in memory as its own `TAUDIT` bytes,
/// with its place in the whole log; verified when read back. The sink stays behind.
mod audit_bytes {
    use crate::audit::{AuditLog, Hash};
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Window {
        first: u64,
        #[serde(with = "serde_bytes")]
        base: Vec<u8>,
        #[serde(with = "serde_bytes")]
        records: Vec<u8>,
    }

    pub fn serialize<S: Serializer>(log: &AuditLog, s: S) -> Result<S::Ok, S::Error> {
        let records = log.encode().map_err(S::Error::custom)?;
        let (first, base) = log.window_start();
        Window {
            first,
            base: base.to_vec(),
            records,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AuditLog, D::Error> {
        let w = Window::deserialize(d)?;
        let base: Hash = w
            .base
            .as_slice()
            .try_into()
            .map_err(|_| D::Error::custom("audit window: a hash is 32 bytes"))?;
        let mut log = AuditLog::decode(&w.records).map_err(D::Error::custom)?;
        log.set_window_start(w.first, base, crate::audit::DEFAULT_WINDOW);
        log.verify().map_err(D::Error::custom)?;
        Ok(log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::NativeTable;
    use std::rc::Rc;

    fn vm(src: &str) -> Vm {
        let mut vm = Vm::new(Rc::new(NativeTable::new()), 16 << 20, 3).expect("vm");
        let p = crate::compiler::compile(src.as_bytes(), b"=proc").expect("compiles");
        let f = vm.load(&p, None).expect("loads");
        vm.start(f, &[]).expect("starts");
        vm
    }

    const LOOP: &str = "local x = 0 for i = 1, 100000 do x = x + i end return x";

    quickcheck::quickcheck! {
        /// `SlotSet::next` finds what an ordered set finds, after any inserts and removes.
        fn slot_set_is_an_ordered_set(ops: Vec<(bool, u16)>, from: u16, end: u16) -> bool {
            let mut set = SlotSet::default();
            let mut model = std::collections::BTreeSet::new();
            for (insert, i) in ops {
                let i = u32::from(i % 300);
                if insert {
                    set.insert(i);
                    model.insert(i);
                } else {
                    set.remove(i);
                    model.remove(&i);
                }
            }
            let (from, end) = (u32::from(from % 320), u32::from(end % 320));
            let expected = model.range(from..).next().copied().filter(|&i| i < end);
            set.next(from, end) == expected
        }
    }

    #[test]
    fn a_process_runs_to_completion_and_is_charged() {
        let mut k = Kernel::new();
        let root = k.add(None, "root", vm(LOOP), 10_000_000);
        k.run_until_idle();
        let p = k.get(root).unwrap();
        assert_eq!(p.state, State::Done);
        assert!(matches!(p.results[..], [Value::Int(5000050000)]));
        let (used, _) = k.fuel_usage(root).unwrap();
        // Exactly what the same program spends run whole on its own.
        let mut alone = vm(LOOP);
        assert!(matches!(
            alone.run(u64::MAX, u64::MAX),
            Outcome::Finished(_)
        ));
        assert_eq!(used, alone.last_slice_spent());
    }

    #[test]
    fn every_ancestor_pays_and_the_nearest_exhausted_one_is_named() {
        let mut k = Kernel::new();
        // The root has less fuel than the grandchild intends to use.
        let root = k.add(None, "root", vm("return 1"), 100_000);
        let child = k.add(Some(root), "child", vm("return 2"), 10_000_000);
        let grandchild = k.add(Some(child), "grandchild", vm(LOOP), 10_000_000);
        k.run_until_idle();
        let g = k.get(grandchild).unwrap();
        assert_eq!(g.state, State::Suspended);
        assert_eq!(
            g.fault,
            Some(Fault::Exhausted {
                budget: Budget::Fuel,
                exhausted: root
            })
        );
        let (root_used, root_limit) = k.fuel_usage(root).unwrap();
        assert_eq!(root_used, root_limit, "the root's whole budget was spent");
        let (g_used, _) = k.fuel_usage(grandchild).unwrap();
        let (c_used, _) = k.fuel_usage(child).unwrap();
        assert!(g_used <= root_used && c_used <= root_used);
        // Refuel the root and resume: the loop finishes exactly where it stopped.
        k.refuel(root, 10_000_000);
        assert!(k.resume(grandchild));
        k.run_until_idle();
        let g = k.get(grandchild).unwrap();
        assert_eq!(g.state, State::Done);
        assert!(matches!(g.results[..], [Value::Int(5000050000)]));
    }

    #[test]
    fn stale_ids_do_not_name_new_processes() {
        let mut k = Kernel::new();
        let a = k.add(None, "a", vm("return 1"), 1000);
        k.remove(a);
        let b = k.add(None, "b", vm("return 2"), 1000);
        assert!(k.get(a).is_none());
        assert_eq!(k.get(b).map(|p| p.name.as_str()), Some("b"));
    }

    #[test]
    fn the_kernel_serializes_and_resumes() {
        let mut k = Kernel::new();
        let root = k.add(None, "root", vm(LOOP), 50_000);
        k.run_until_idle();
        assert_eq!(k.get(root).unwrap().state, State::Suspended);
        let bytes = rmp_serde::to_vec(&k).expect("serializes");
        let mut k2: Kernel = rmp_serde::from_slice(&bytes).expect("deserializes");
        k2.get_mut(root)
            .unwrap()
            .vm
            .attach_natives(Rc::new(NativeTable::new()));
        k2.refuel(root, 10_000_000);
        k2.resume(root);
        k2.run_until_idle();
        assert!(matches!(
            k2.get(root).unwrap().results[..],
            [Value::Int(5000050000)]
        ));
    }
}
