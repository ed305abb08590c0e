//! The interpreter: a stackless VM for one process. Lua→Lua calls, metamethods, natives that
//! call back into Lua, `pcall` and coroutines all live in data (`Frame`s on `Thread`s in the
//! heap), never on the Rust stack: `run` is a loop that executes the top frame until the fuel of
//! the slice is spent, the program finishes, or an error escapes.
//!
//! **Invariants:**
//! - No Rust recursion depends on the program: the only loops over frames are iterative.
//! - `run` stops only at instruction boundaries (or before a native starts), so a paused VM
//!   serializes and resumes to exactly the same results.
//! - Every allocation goes through the heap, which charges the bank first.
//!
//! This file holds the `Vm` itself: its state, construction, accessors and the run loop. Each
//! other idea has a file of its own, an `impl Vm` block over the same private state: `call.rs`
//! (calls and returns), `unwind.rs` (errors), `coroutine.rs` (thread switching), `upvalue.rs`
//! (upvalues and to-be-closed variables), `concat.rs`, `trap.rs` (natives waiting for their
//! host), `collect.rs` (when the collector runs and its roots), `fuel.rs` (charging the slice),
//! and `exec.rs` (the instruction loop).

mod call;
pub mod check;
mod collect;
mod concat;
mod coroutine;
pub mod debug;
mod exec;
mod fuel;
mod memory;
pub mod native;
mod trap;
mod unwind;
mod upvalue;
// The kernel's only `unsafe`: unchecked register, constant and code reads for `exec`.
pub mod verify;
#[allow(unsafe_code)]
mod window;

use crate::cost::Work;
use crate::heap::frame::{Frame, FrameKind, ReturnTo};
use crate::heap::{Heap, NativeId, Thread, ThreadStatus, Upval};
use crate::metamethod::{MetaMethod, ALL_META};
use crate::number::{str_to_number, Number};
use crate::value::{StrRef, TableRef, ThreadRef, Value};
pub use coroutine::CloseOutcome;
pub use fuel::Fuel;
use memory::StepPoint;
pub use native::{Action, NativeCall, NativeFn, NativeTable, Throw};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

/// Most stack slots a thread may use by default (Lua's `LUAI_MAXSTACK`); see
/// `Vm::set_stack_limit`.
pub const MAX_STACK: usize = 1_000_000;

/// Where the console writes.
pub type ConsoleSink = Box<dyn FnMut(&[u8])>;
/// Slots kept free above a frame for natives and metamethod calls.
const EXTRA_STACK: usize = 40;
/// The room a thread has past its stack limits once it overflowed (`Thread::overflowed`), as
/// Lua's `ERRORSTACKSIZE` gives 200 slots more: for a message handler and what it calls.
pub const OVERFLOW_ROOM_SLOTS: usize = 200;
/// The same room in frames (the frame limit is a quarter of the slot limit).
pub const OVERFLOW_ROOM_FRAMES: usize = OVERFLOW_ROOM_SLOTS / 4;
/// Most nested calls from metamethods and natives (Lua's `LUAI_MAXCCALLS`).
const MAX_C_CALLS: u16 = 200;
/// Past `MAX_C_CALLS`, the room left for handling the overflow (`LUAI_MAXCCALLS / 10 * 11`).
const MAX_C_CALLS_HANDLING: u16 = MAX_C_CALLS + MAX_C_CALLS / 10;
/// Longest `__index`/`__newindex` chain (Lua's `MAXTAGLOOP`).
const MAX_TAG_LOOP: usize = 2000;
/// Continuation state delivered to a protected native when an error was caught.
pub const STATE_ERROR: u32 = u32::MAX;

/// What `run_loop` does after `Vm::leftover_work`.
enum Leftover {
    Done(Outcome),
    /// Start the loop's turn again.
    Again,
    /// Go on with the turn.
    Go,
}

/// How a slice of execution ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The main function returned these values.
    Finished(Vec<Value>),
    /// The fuel of the slice (or the allowance) ran out; `run` continues where it stopped.
    OutOfFuel,
    /// An error escaped the main function. `traceback` is Lua's `stack traceback:` text,
    /// taken where the error was raised; `memory`: it is the error of an allocation the bank
    /// refused (Lua's `LUA_ERRMEM`), not one a program raised.
    Error {
        value: Value,
        traceback: String,
        memory: bool,
    },
    /// A native asked its host for something (`Action::Trap`); the VM waits for
    /// `complete_trap` or `fail_trap`, and `run` returns `Trap` again until it gets one.
    Trap,
    /// The bank refused `needed` bytes to a step (an instruction, or a native's step) even
    /// after a full collection. Nothing of the step was done: `run` takes it up again, from
    /// the same state, once the bank's limit is raised (DESIGN, "Budgets": memory suspends
    /// like fuel, and no `pcall` sees it).
    OutOfMemory { needed: u64 },
}

/// Why a compiled prototype could not be loaded (`Vm::load_proto`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Memory(#[from] crate::bank::OutOfMemory),
    #[error(transparent)]
    Bytecode(#[from] verify::VerifyError),
}

/// One process's virtual machine: heap, threads, globals, the running slice's fuel.
#[derive(Serialize, Deserialize)]
pub struct Vm {
    pub heap: Heap,
    /// The running thread, taken out of its heap slot while it runs.
    th: Thread,
    current: ThreadRef,
    main_thread: ThreadRef,
    /// Threads waiting in `coroutine.resume`, innermost last.
    resume_chain: Vec<ThreadRef>,
    pub globals: TableRef,
    pub registry: TableRef,
    pub string_meta: Option<TableRef>,
    meta_names: Vec<StrRef>,
    /// Most stack slots a thread may use: deeper recursion is a "stack overflow" error.
    stack_limit: usize,
    /// `frames_limit()`, kept for CALL's fast path (one compare with a field); derived from
    /// `stack_limit` wherever that is set, never saved. While it is 0 (a VM being restored)
    /// calls take the slow path, which computes the limit itself.
    #[serde(skip)]
    pub(super) fast_frames_limit: usize,
    /// "not enough memory", interned up front: raising it must not need memory.
    memory_message: StrRef,
    /// The one value of each native without upvalues (see `native_value`).
    light_natives: Vec<Option<crate::value::NativeRef>>,
    /// Fuel left in the running slice. What a process used and may use is its host's record
    /// (the kernel's meters): the VM knows only the slice it was given.
    fuel: i64,
    /// How far below zero natives may take `fuel`: the allowance beyond the slice.
    #[serde(skip)]
    fuel_floor: i64,
    /// The price of the charge the allowance could not pay in this slice, if there was one:
    /// the process cannot go on until it has at least this much (it keeps what it had left).
    #[serde(skip)]
    refused: Option<u64>,
    /// The slice's fuel when the running instruction began: a step refused and taken up
    /// again from its start gives back what it had charged (`refuse_step`). Set when the
    /// instruction saves its pc, which every one that may be refused part way does before
    /// it charges (not at every instruction: a store each).
    #[serde(skip)]
    step_start: i64,
    /// What the last slice spent (`last_slice_spent`).
    #[serde(skip)]
    spent: u64,
    /// The error of a native's step run from the instruction loop (`exec`), for `run_loop` to
    /// handle as it handles its own steps' errors, before anything else. Never left set when
    /// `run` returns.
    #[serde(skip)]
    native_throw: Option<Throw>,
    /// A slice is running (`run`): work is paid from its fuel. Outside one, the host is
    /// setting up or serving the process, and its services price their own work.
    #[serde(skip)]
    in_slice: bool,
    /// Traceback captured when an error was raised with no protected frame above it.
    pending_traceback: Option<String>,
    /// Errors that reach the top of the main thread go through `lua.c`'s message handler
    /// (`top_level_message`): set for the root of a `tessera` run, whose output is `lua`'s.
    #[serde(default)]
    message_handler: bool,
    /// While the handler runs an error object's `__tostring`: that object's type, for the
    /// message when `__tostring` does not return a string.
    #[serde(skip)]
    message_object_type: Option<&'static str>,
    /// Result of the main function once it returned.
    finished: Option<Vec<Value>>,
    /// A buffer for the next `finished`, handed back by the host once it has used the last
    /// one (`Vm::reuse_results`): a process serving calls allocates none for their results.
    #[serde(skip)]
    spare_results: Vec<Value>,
    /// The error unwinding (or last caught) began as a refused allocation (`LUA_ERRMEM`): a
    /// status, as Lua keeps one, never read from the message.
    #[serde(default)]
    unwinding_memory: bool,
    /// Values the host keeps in this heap between runs (a process's results, a call's
    /// answer): roots for the collector. The host sets them again after a restore.
    #[serde(skip)]
    held: Vec<Value>,
    /// A concatenation whose next step the meter refused: `(a, n)`, the window of the `CONCAT`
    /// just before the running frame's pc that is still to be joined. `run` finishes it before
    /// anything else, so a refusal never leaves the work half done or done twice.
    #[serde(default)]
    unfinished_concat: Option<(u8, u8)>,
    /// Set where an allocation was refused at a point the step can be taken up again from
    /// (the instruction rewound, a native's arguments put back, a concatenation left
    /// unfinished): `handle_throw` then suspends or collects instead of raising an error.
    #[serde(skip)]
    memory_stop: Option<crate::bank::OutOfMemory>,
    /// A call a native asked for (`Action::Call`: the function at this stack index, wanting
    /// this many results) that was refused memory after the native's step was done: `run`
    /// makes it before anything else, so the step never runs twice.
    #[serde(default)]
    unfinished_call: Option<(u32, i32)>,
    /// An error raised where its message found no room: the text, raised (before anything
    /// else) once there is memory for it. The frames stay as they were when it was raised.
    #[serde(default)]
    unraised_error: Option<String>,
    /// An error whose `xpcall` handler or pending `__close` could not be entered for want of
    /// memory: raised again before anything else (`true`: its handler already ran), with the
    /// stack cut back to the given top. A root of the collector.
    #[serde(default)]
    rethrow: Option<(bool, u32, Value)>,
    /// The collector's step at an instruction boundary (a collection, or a finalizer's call)
    /// was refused fuel or memory: `run` takes it up first when it goes on. Every other stop
    /// is taken up without a collector's step, since an uninterrupted run has no boundary
    /// there (see `run_loop`).
    #[serde(default)]
    collector_step_due: bool,
    /// Where the last finalizer started: its thread and frame index. While that frame is a
    /// finalizer's, no other finalizer starts (as in Lua, finalizers never nest: a finalizer
    /// that allocates would otherwise start the next one above itself, without end).
    #[serde(default)]
    finalizer_at: Option<(ThreadRef, u32)>,
    /// Protected instructions begun (counted where they save their pc): tells a step that
    /// fails again after an emergency collection from a program that went on and filled
    /// the heap anew.
    #[serde(skip)]
    progress: u64,
    /// The last emergency collection: the step it was for and `progress` then.
    #[serde(skip)]
    emergency: Option<(StepPoint, u64)>,
    #[serde(skip)]
    natives: Rc<NativeTable>,
    /// A native is waiting for its host (`Action::Trap`).
    trapped: bool,
    /// An error the host raised at a trapped native (`fail_trap`), thrown when `run` resumes.
    trap_error: Option<Value>,
    /// Where `print` and the console key write; none means output is dropped.
    #[serde(skip)]
    console: Option<ConsoleSink>,
    /// The name the last interpreter error about a nil value named (`debug::Blame`): for the
    /// host's report of an uncaught error, not state of the program (never saved).
    #[serde(skip)]
    blame: Option<debug::Blame>,
    /// The buffer `CONCAT` joins its operands in, kept between concatenations while it is
    /// small (`concat::KEPT_BUFFER_BYTES`): most results are short and many already exist, so
    /// most concatenations allocate nothing. Host memory outside the bank, bounded by that.
    #[serde(skip)]
    concat_buffer: Vec<u8>,
}

impl Vm {
    /// A fresh VM with empty globals. `natives` must be the same table on every restore.
    ///
    /// # Errors
    /// `Throw::Memory` if the memory limit cannot even hold the initial state.
    pub fn new(natives: Rc<NativeTable>, memory_limit: usize, hash_seed: u64) -> Result<Vm, Throw> {
        Vm::with_heap(natives, Heap::new(memory_limit, hash_seed))
    }

    /// A fresh VM to build a library image in (`Heap::new_image`): its strings and natives go
    /// to the heap's top regions, shared by every copy once `freeze_image` is called.
    ///
    /// # Errors
    /// Never in practice: its bank is unlimited.
    pub fn new_image(natives: Rc<NativeTable>, hash_seed: u64) -> Result<Vm, Throw> {
        Vm::with_heap(natives, Heap::new_image(hash_seed))
    }

    /// Ends building a library image (`Heap::freeze_image`): what `copy_fresh` copies of it
    /// from now on shares its strings, natives and library tables.
    pub fn freeze_image(&mut self) {
        self.heap.freeze_image();
    }

    fn with_heap(natives: Rc<NativeTable>, mut heap: Heap) -> Result<Vm, Throw> {
        let main_thread = heap.new_thread()?;
        // The globals and the registry are every process's own, even in an image: nearly
        // every program sets a global, and the kernel keeps its records in the registry.
        let building = std::mem::replace(&mut heap.building_image, false);
        let globals = heap.new_table(0, 32)?;
        let registry = heap.new_table(0, 8)?;
        heap.building_image = building;
        let mut meta_names = Vec::with_capacity(ALL_META.len());
        for m in ALL_META {
            meta_names.push(heap.intern(m.name().as_bytes())?);
        }
        let memory_message = heap.intern(b"not enough memory")?;
        heap.gc.mode_key = Some(meta_names[MetaMethod::Mode as usize]);
        heap.gc.gc_key = Some(meta_names[MetaMethod::Gc as usize]);
        heap.thread_mut(main_thread).status = ThreadStatus::Running;
        let mut th = std::mem::take(heap.thread_mut(main_thread));
        th.status = ThreadStatus::Running;
        let mut vm = Vm::from_parts(heap, th, main_thread, natives);
        vm.globals = globals;
        vm.registry = registry;
        vm.meta_names = meta_names;
        vm.memory_message = memory_message;
        Ok(vm)
    }

    /// A copy of this VM for a new process, with a bank of `memory_limit` bytes and
    /// `hash_seed` as its hash seed. For a VM that has never run: an image of the standard
    /// library, built once and copied for every process, since copying it is far cheaper than
    /// building it again and gives the same state (`stdlib::fresh_vm`). What a run leaves in
    /// a VM (a slice's fuel, a trap, a pending error) is not copied; its heap is, sharing the
    /// image's top regions (`Heap::copy_with_seed`).
    ///
    /// # Errors
    /// `Throw::Memory` if `memory_limit` cannot hold the heap.
    pub fn copy_fresh(&self, memory_limit: usize, hash_seed: u64) -> Result<Vm, Throw> {
        let heap = self.heap.copy_with_seed(memory_limit, hash_seed)?;
        let mut vm = Vm::from_parts(
            heap,
            self.th.clone(),
            self.main_thread,
            self.natives.clone(),
        );
        // Everything a library's set-up may change (`stdlib::open_libs`).
        vm.current = self.current;
        vm.resume_chain = self.resume_chain.clone();
        vm.globals = self.globals;
        vm.registry = self.registry;
        vm.string_meta = self.string_meta;
        vm.meta_names = self.meta_names.clone();
        vm.light_natives = self.light_natives.clone();
        vm.memory_message = self.memory_message;
        vm.stack_limit = self.stack_limit;
        vm.fast_frames_limit = self.fast_frames_limit;
        vm.message_handler = self.message_handler;
        Ok(vm)
    }

    /// A VM around `heap` whose running thread is `th` (the heap's `main_thread`), in the
    /// state of one that has never run. Its globals, registry, and interned names are
    /// placeholders the caller sets.
    fn from_parts(heap: Heap, th: Thread, main_thread: ThreadRef, natives: Rc<NativeTable>) -> Vm {
        Vm {
            heap,
            th,
            current: main_thread,
            main_thread,
            resume_chain: Vec::new(),
            globals: TableRef(0),
            registry: TableRef(0),
            string_meta: None,
            meta_names: Vec::new(),
            light_natives: Vec::new(),
            memory_message: StrRef(0, 0),
            stack_limit: MAX_STACK,
            fast_frames_limit: MAX_STACK / 4,
            fuel: 0,
            fuel_floor: 0,
            refused: None,
            step_start: 0,
            spent: 0,
            native_throw: None,
            in_slice: false,
            pending_traceback: None,
            message_handler: false,
            message_object_type: None,
            finished: None,
            spare_results: Vec::new(),
            unwinding_memory: false,
            held: Vec::new(),
            unfinished_concat: None,
            memory_stop: None,
            unfinished_call: None,
            unraised_error: None,
            rethrow: None,
            collector_step_due: false,
            finalizer_at: None,
            progress: 0,
            emergency: None,
            natives,
            console: None,
            blame: None,
            trapped: false,
            trap_error: None,
            concat_buffer: Vec::new(),
        }
    }

    /// Reattaches the native table after deserialization (and rebuilds the intern table, if
    /// the decoder did not).
    pub fn attach_natives(&mut self, natives: Rc<NativeTable>) {
        self.natives = natives;
        if self.heap.intern.len() != self.heap.strings.live_count() {
            self.heap.rebuild_intern();
        }
    }

    /// Renumbers the natives of a deserialized VM: `ids[old]` is this build's id of the native
    /// the snapshot numbered `old` (none if this build lacks it). Runs before the VM is checked,
    /// so it trusts nothing; `Err(old)` names a native it cannot renumber.
    pub(crate) fn renumber_natives(&mut self, ids: &[Option<NativeId>]) -> Result<(), usize> {
        self.heap.renumber_natives(ids)?;
        if self.light_natives.len() > ids.len() {
            return Err(self.light_natives.len() - 1);
        }
        let mut light = vec![None; self.natives.len()];
        for (old, &r) in self.light_natives.iter().enumerate() {
            let (Some(r), Some(Some(new))) = (r, ids.get(old)) else {
                continue;
            };
            if let Some(slot) = light.get_mut(new.0 as usize) {
                *slot = Some(r);
            }
        }
        self.light_natives = light;
        Ok(())
    }

    pub fn natives(&self) -> &NativeTable {
        &self.natives
    }

    /// The shared native table (for a VM restored beside this one).
    pub fn natives_rc(&self) -> Rc<NativeTable> {
        self.natives.clone()
    }

    /// Sets how deep the Lua stack may grow (in value slots, at least 1000): recursion past
    /// it ends in a catchable "stack overflow" error. The memory budget also bounds it.
    pub fn set_stack_limit(&mut self, slots: usize) {
        self.stack_limit = slots.clamp(1000, MAX_STACK * 16);
        self.fast_frames_limit = self.frames_limit();
    }

    /// Attaches the sink that the console writes to.
    pub fn set_console(&mut self, console: Option<ConsoleSink>) {
        self.console = console;
    }

    /// Whether a console is attached.
    pub fn has_console(&self) -> bool {
        self.console.is_some()
    }

    /// What the uncaught error `message` named, if it is the last interpreter error about a
    /// nil value (`(global 'io')`): see `debug::Blame`.
    pub fn blame_of(&self, message: &str) -> Option<&debug::Blame> {
        self.blame.as_ref().filter(|b| b.message == message)
    }

    /// Writes bytes to the console, if there is one.
    pub fn console_write(&mut self, bytes: &[u8]) {
        if let Some(c) = self.console.as_mut() {
            c(bytes);
        }
    }

    // ----- stack -------------------------------------------------------------------------

    /// Value at an absolute stack index of the running thread.
    #[inline]
    pub fn stack_get(&self, i: usize) -> Value {
        self.th.stack.get(i).copied().unwrap_or(Value::Nil)
    }

    /// The `N` slots from `from`, when all are below the top (live): read with one bounds
    /// check, where `stack_get` checks each.
    #[inline]
    pub fn stack_array<const N: usize>(&self, from: usize) -> Option<&[Value; N]> {
        let end = from.checked_add(N).filter(|&end| end <= self.th.top)?;
        self.th.stack.get(from..end)?.try_into().ok()
    }

    #[inline]
    pub fn stack_set(&mut self, i: usize, v: Value) {
        if let Some(s) = self.th.stack.get_mut(i) {
            *s = v;
        }
    }

    /// First free slot of the running thread's stack.
    #[inline]
    pub fn top(&self) -> usize {
        self.th.top
    }

    /// Moves the top (values above it become dead; new slots read as nil).
    ///
    /// # Errors
    /// Stack overflow or out of memory when growing.
    pub fn set_top(&mut self, top: usize) -> Result<(), Throw> {
        if top > self.th.top {
            self.ensure_stack(top)?;
            for v in &mut self.th.stack[self.th.top..top] {
                *v = Value::Nil;
            }
        }
        self.th.top = top;
        Ok(())
    }

    /// Pushes a value on the running thread's stack.
    ///
    /// # Errors
    /// Stack overflow or out of memory.
    #[inline]
    pub fn push(&mut self, v: Value) -> Result<(), Throw> {
        let t = self.th.top;
        if t >= self.th.stack.len() {
            self.ensure_stack(t + 1)?;
        }
        self.th.stack[t] = v;
        self.th.top = t + 1;
        Ok(())
    }

    /// The length a stack of `len` slots grows to, to hold `size`: geometric, so that pushes
    /// stay amortized O(1); past the stack limit, a stack overflow.
    pub(super) fn grown_stack_len(&self, len: usize, size: usize) -> Result<usize, Throw> {
        let most = self.stack_slots_limit();
        if size > most {
            return Err(Throw::StackOverflow);
        }
        Ok(std::cmp::min(size.max(len + len / 2).max(64), most))
    }

    /// The most slots a stack may have (without the room to handle an overflow).
    fn stack_slots_limit(&self) -> usize {
        self.stack_limit + EXTRA_STACK * 4
    }

    /// The most frames a thread may have (without the room to handle an overflow).
    #[inline]
    pub(super) fn frames_limit(&self) -> usize {
        self.stack_limit / 4
    }

    /// The running thread's stack would pass its limits (`within_room`: by no more than the
    /// room to handle an overflow), as in Lua's `luaD_growstack`: the first time, a stack
    /// overflow, and the thread gets that room (`Thread::overflowed`); in the room, nothing;
    /// past it, an error in error handling.
    #[cold]
    #[inline(never)]
    pub(super) fn past_stack_limit(&mut self, within_room: bool) -> Result<(), Throw> {
        if !self.th.overflowed {
            self.th.overflowed = true;
            return Err(Throw::StackOverflow);
        }
        if within_room {
            Ok(())
        } else {
            Err(Throw::ErrorInErrorHandling)
        }
    }

    /// An error was caught in the running thread: a thread back within its limits is done
    /// handling an overflow (Lua shrinks the stack back in `luaD_pcall`).
    pub(super) fn overflow_handled(&mut self) {
        if self.th.overflowed
            && self.th.frames.len() < self.frames_limit()
            && self.th.top <= self.stack_slots_limit()
        {
            self.th.overflowed = false;
        }
    }

    /// Makes the stack at least `size` slots long, charging the bank for growth.
    ///
    /// # Errors
    /// `stack overflow` past `MAX_STACK`; out of memory.
    #[inline]
    pub fn ensure_stack(&mut self, size: usize) -> Result<(), Throw> {
        if size <= self.th.stack.len() {
            return Ok(());
        }
        self.grow_stack(size)
    }

    /// `ensure_stack` when the stack must grow: out of line, so the check stays small where
    /// it is inlined.
    #[cold]
    #[inline(never)]
    fn grow_stack(&mut self, size: usize) -> Result<(), Throw> {
        let len = self.th.stack.len();
        let most = self.stack_slots_limit();
        let new_len = if size > most {
            self.past_stack_limit(size <= most + OVERFLOW_ROOM_SLOTS)?;
            most + OVERFLOW_ROOM_SLOTS
        } else {
            self.grown_stack_len(len, size)?
        };
        self.heap
            .charge((new_len - len) * crate::heap::VALUE_BYTES)?;
        // Exactly what was charged: `resize` alone may double the capacity.
        self.th.stack.reserve_exact(new_len - len);
        self.th.stack.resize(new_len, Value::Nil);
        Ok(())
    }

    // ----- strings and tables ------------------------------------------------------------

    /// Interns a string.
    ///
    /// # Errors
    /// Out of memory.
    #[inline]
    pub fn intern(&mut self, s: &[u8]) -> Result<Value, Throw> {
        Ok(Value::Str(self.heap.intern(s)?))
    }

    /// Bytes of a string value.
    pub fn str_bytes(&self, v: Value) -> Option<&[u8]> {
        match v {
            Value::Str(s) => Some(self.heap.str(s)),
            _ => None,
        }
    }

    /// A new empty table.
    ///
    /// # Errors
    /// Out of memory.
    pub fn new_table(&mut self, array: usize, hash: usize) -> Result<TableRef, Throw> {
        Ok(self.heap.new_table(array, hash)?)
    }

    /// `raw_set` of an integer key, with the common case inlined: a key that has its slot
    /// already (in the array part or the hash part) is overwritten in place, which needs no
    /// price and no memory (natives that keep their state in a table write it this way).
    ///
    /// # Errors
    /// As `raw_set`.
    #[inline]
    pub fn raw_set_int(&mut self, t: TableRef, i: i64, v: Value) -> Result<(), Throw> {
        if let Some(table) = self.heap.tables.slot_mut(t.0) {
            if table.set_existing_int(i, v) {
                return Ok(());
            }
        }
        self.raw_set(t, Value::Int(i), v)
    }

    /// Raw set, with Lua's messages for bad keys.
    ///
    /// # Errors
    /// `index is nil`, `index is NaN`, out of memory.
    pub fn raw_set(&mut self, t: TableRef, k: Value, v: Value) -> Result<(), Throw> {
        if !self.in_slice {
            return self.heap.table_set(t, k, v).map_err(exec::set_error);
        }
        match self.heap.table_set_priced(t, k, v) {
            // A rehash is paid before it happens, per slot it walks.
            Ok(Some(entries)) => {
                self.charge_work(Work::Rehash, entries)?;
                self.heap.table_set(t, k, v).map_err(exec::set_error)
            }
            Ok(None) => Ok(()),
            Err(e) => Err(exec::set_error(e)),
        }
    }

    /// `raw_set` from an instruction: a refused rehash leaves the frame at the instruction.
    /// `absent`: the instruction found `k` absent from `t` or present with a nil value, so
    /// it is not looked up again.
    pub(crate) fn raw_set_in_instruction(
        &mut self,
        t: TableRef,
        k: Value,
        v: Value,
        absent: bool,
    ) -> Result<(), Throw> {
        if !self.in_slice {
            return self.heap.table_set(t, k, v).map_err(exec::set_error);
        }
        let priced = if absent {
            self.heap.table_insert_priced(t, k, v)
        } else {
            self.heap.table_set_priced(t, k, v)
        };
        match priced {
            Ok(Some(entries)) => {
                self.pay_in_instruction(Work::Rehash.units_of(entries))?;
                self.heap.table_set(t, k, v).map_err(exec::set_error)
            }
            Ok(None) => Ok(()),
            Err(e) => Err(exec::set_error(e)),
        }
    }

    /// Raw get.
    #[inline]
    pub fn raw_get(&self, t: TableRef, k: Value) -> Value {
        self.heap.table(t).get(k)
    }

    /// Sets a global by name.
    ///
    /// # Errors
    /// Out of memory.
    pub fn set_global(&mut self, name: &str, v: Value) -> Result<(), Throw> {
        let k = self.intern(name.as_bytes())?;
        self.raw_set(self.globals, k, v)
    }

    /// Reads a global by name (raw).
    pub fn get_global(&mut self, name: impl AsRef<[u8]>) -> Value {
        match self.heap.intern(name.as_ref()) {
            Ok(k) => self.heap.table(self.globals).get_str(k),
            Err(_) => Value::Nil,
        }
    }

    /// A native function value.
    ///
    /// # Errors
    /// Out of memory.
    pub fn native_value(&mut self, id: NativeId, upvalues: Vec<Value>) -> Result<Value, Throw> {
        // A native without upvalues is one value per id, as Lua's light C functions compare
        // equal (`rawequal(next, (pairs({})))`); it also spares an allocation per call.
        if upvalues.is_empty() {
            let i = id.0 as usize;
            if let Some(Some(r)) = self.light_natives.get(i) {
                return Ok(Value::Native(*r));
            }
            let r = self.heap.new_native(id, upvalues)?;
            if self.light_natives.len() <= i {
                self.light_natives.resize(i + 1, None);
            }
            self.light_natives[i] = Some(r);
            return Ok(Value::Native(r));
        }
        Ok(Value::Native(self.heap.new_native(id, upvalues)?))
    }

    // ----- metatables ----------------------------------------------------------------------

    /// The metatable of any value.
    #[inline]
    pub fn metatable(&self, v: Value) -> Option<TableRef> {
        match v {
            Value::Table(t) => self.heap.table(t).metatable,
            Value::UserData(u) => self.heap.userdata.get(u.0).metatable,
            Value::Str(_) => self.string_meta,
            _ => None,
        }
    }

    /// The metamethod `m` of `v`, or nil.
    #[inline]
    pub fn metamethod(&self, v: Value, m: MetaMethod) -> Value {
        match self.metatable(v) {
            Some(mt) => self.heap.table(mt).get_str(self.meta_names[m as usize]),
            None => Value::Nil,
        }
    }

    /// The metamethod `m` of a metatable, or nil.
    #[inline(always)]
    pub fn meta_field(&self, mt: TableRef, m: MetaMethod) -> Value {
        self.heap.table(mt).get_str(self.meta_names[m as usize])
    }

    /// Sets a table's metatable, registering it for finalization if it has `__gc`.
    ///
    /// # Errors
    /// Out of memory: a table of the library image is copied first (`Heap::own_table`).
    pub fn set_metatable(&mut self, t: TableRef, mt: Option<TableRef>) -> Result<(), Throw> {
        self.heap.own_table(t)?;
        self.heap.table_mut(t).metatable = mt;
        if let Some(mt) = mt {
            if !self.meta_field(mt, MetaMethod::Gc).is_nil()
                && !self
                    .heap
                    .gc
                    .finalizable
                    .iter()
                    .any(|v| v.raw_eq(Value::Table(t)))
            {
                self.heap.gc.finalizable.push(Value::Table(t));
            }
        }
        Ok(())
    }

    /// The name of an interned metamethod key.
    pub fn meta_name(&self, m: MetaMethod) -> StrRef {
        self.meta_names[m as usize]
    }

    // ----- conversions ----------------------------------------------------------------------

    /// Number value of `v`, converting strings as arithmetic does.
    pub fn to_number(&self, v: Value) -> Option<Number> {
        match v {
            Value::Int(i) => Some(Number::Int(i)),
            Value::Float(f) => Some(Number::Float(f)),
            Value::Str(s) => str_to_number(self.heap.str(s)),
            _ => None,
        }
    }

    /// Integer value of `v` (floats with an integral value and numeric strings accepted).
    pub fn to_integer(&self, v: Value) -> Option<i64> {
        match self.to_number(v)? {
            Number::Int(i) => Some(i),
            Number::Float(f) => crate::number::float_to_int(f, crate::number::FloatToInt::Exact),
        }
    }

    /// String form of a number or string value (no metamethods), as `tostring`/concat do.
    ///
    /// # Errors
    /// Out of memory.
    pub fn to_str(&mut self, v: Value) -> Result<Option<StrRef>, Throw> {
        Ok(match v {
            Value::Str(s) => Some(s),
            Value::Int(_) | Value::Float(_) => {
                let n = v
                    .as_number()
                    .map(crate::number::number_to_string)
                    .unwrap_or_default();
                Some(self.heap.intern(n.as_bytes())?)
            }
            _ => None,
        })
    }

    // ----- running -----------------------------------------------------------------------------

    /// Loads a compiled prototype tree into the heap and verifies every prototype in it
    /// (`verify::verify_proto`): the only way compiled code gets into the heap, so that no
    /// prototype the verifier has not accepted reaches a frame (the interpreter reads registers,
    /// constants and code unchecked, `window`).
    ///
    /// # Errors
    /// `LoadError::Memory` if the heap cannot pay for it; `LoadError::Bytecode` for code the
    /// verifier refuses (a compiler bug: compiled code is meant to verify).
    pub fn load_proto(
        &mut self,
        proto: &crate::proto::Proto,
    ) -> Result<crate::value::ProtoRef, LoadError> {
        let root = self.heap.load_proto(proto)?;
        let mut pending = vec![root];
        while let Some(p) = pending.pop() {
            verify::verify_proto(&self.heap, p)?;
            pending.extend(self.heap.proto(p).protos.iter().copied());
        }
        Ok(root)
    }

    /// Loads a compiled chunk as a closure with `_ENV` = the globals table.
    ///
    /// # Errors
    /// Out of memory, or bytecode the verifier refuses (`load_proto`).
    pub fn load(
        &mut self,
        proto: &crate::proto::Proto,
        env: Option<Value>,
    ) -> Result<Value, Throw> {
        let p = self.load_proto(proto)?;
        let env = env.unwrap_or(Value::Table(self.globals));
        let nups = self.heap.proto(p).upvalues.len();
        let mut ups = Vec::with_capacity(nups);
        for i in 0..nups {
            ups.push(
                self.heap
                    .new_upval(Upval::Closed(if i == 0 { env } else { Value::Nil }))?,
            );
        }
        Ok(Value::LuaFn(
            self.heap.new_closure(p, ups.into_boxed_slice())?,
        ))
    }

    /// Loads a standard library function's helper written in Lua, as [`Vm::load`] does a
    /// chunk. Its frames present as the native that calls it (`FnProto::library_helper`): an
    /// error in it has no position, and a function it calls is called from C, as in lua5.4,
    /// where the C function does that work itself.
    ///
    /// # Errors
    /// As [`Vm::load`].
    pub fn load_library_helper(
        &mut self,
        proto: &crate::proto::Proto,
        env: Option<Value>,
    ) -> Result<Value, Throw> {
        let f = self.load(proto, env)?;
        if let Value::LuaFn(cl) = f {
            let root = self.heap.closure(cl).proto;
            self.heap.mark_library_helper(root);
        }
        Ok(f)
    }

    /// Prepares the main thread to call `f(args…)`; `run` then executes it.
    ///
    /// # Errors
    /// Stack or memory errors.
    /// Hands back the buffer of results an [`Outcome::Finished`] gave, once the host has
    /// used them, for the next run to finish into.
    pub fn reuse_results(&mut self, buffer: Vec<Value>) {
        self.spare_results = buffer;
    }

    pub fn start(&mut self, f: Value, args: &[Value]) -> Result<(), Throw> {
        self.finished = None;
        self.th.top = 0;
        self.push(f)?;
        for &a in args {
            self.push(a)?;
        }
        self.call_value(0, -1, ReturnTo::Normal)
    }

    /// Runs a slice: until `slice` units of fuel are spent, the program finishes, an error
    /// escapes or a native traps. Work that straddles the slice's end (an instruction's, a
    /// native's) may take it past `slice`, up to `allowance` (the most the process may spend
    /// now), never further. What the slice spent is [`Vm::last_slice_spent`], for the host to
    /// charge: the VM keeps no record of what a process used or may use.
    pub fn run(&mut self, slice: u64, allowance: u64) -> Outcome {
        self.refused = None;
        let allowance = allowance.min(i64::MAX as u64);
        let budget = slice.min(allowance);
        self.fuel = budget as i64;
        self.fuel_floor = -(allowance as i64 - budget as i64);
        self.in_slice = true;
        let outcome = self.run_loop();
        self.in_slice = false;
        // Negative fuel is the debt of the last instruction: it was spent too.
        self.spent = (budget as i128 - self.fuel as i128).max(0) as u64;
        // Between slices there is nothing to spend: a charge made now is refused, never lost.
        self.fuel = 0;
        self.fuel_floor = 0;
        outcome
    }

    fn run_loop(&mut self) -> Outcome {
        // The collector steps at the boundaries the program reaches (a native called or
        // returned, an error caught, an instruction that asks for it), never where a slice
        // happened to end: until this run's first step, the only step taken is one the last
        // run was refused (`collector_step_due`). Otherwise a cut would add a collection an
        // uninterrupted run does not make, and fuel and finalizer order would depend on
        // where budgets ran out.
        let mut resumed = true;
        if let Some(e) = self.trap_error.take() {
            self.unwinding_memory = false;
            if let Some(o) = self.unwind(e, false) {
                return o;
            }
        }
        loop {
            // Work a refusal or an error left for the loop: rare, so one test on the way.
            if self.has_leftover_work() {
                match self.leftover_work(&mut resumed) {
                    Leftover::Done(o) => return o,
                    Leftover::Again => continue,
                    Leftover::Go => {}
                }
            }
            if self.trapped {
                return Outcome::Trap;
            }
            if self.finished.is_some() {
                return Outcome::Finished(self.finished.take().unwrap_or_default());
            }
            let Some(frame) = self.th.frames.last().copied() else {
                return Outcome::Finished(Vec::new());
            };
            let depth = self.th.frames.len();
            if (!resumed || self.collector_step_due)
                && (self.heap.gc.should_collect() || !self.heap.gc.to_finalize.is_empty())
            {
                let stepped = self.gc_step();
                self.collector_step_due = stepped.is_err();
                if let Err(t) = stepped {
                    if let Some(o) = self.handle_throw(t) {
                        return o;
                    }
                }
                // A finalizer call may now be the top frame.
                if self.th.frames.last().map(|f| f.kind) != Some(frame.kind)
                    || self.th.frames.len() != depth
                {
                    continue;
                }
            }
            resumed = false;
            let step = match frame.kind {
                FrameKind::Lua(_) => self.execute(),
                FrameKind::Native(n) => self.run_native(n, frame),
            };
            if let Err(t) = step {
                if let Some(o) = self.handle_throw(t) {
                    return o;
                }
            }
        }
    }

    /// Whether `leftover_work` has anything to do.
    #[inline]
    fn has_leftover_work(&self) -> bool {
        self.native_throw.is_some()
            || self.unraised_error.is_some()
            || self.rethrow.is_some()
            || self.unfinished_call.is_some()
            || self.unfinished_concat.is_some()
    }

    /// `run_loop`'s leftovers, in their order: a native's error from the instruction loop,
    /// an error that found no room for its message,
    /// an error to raise again after a handler, a native's call refused memory, a
    /// concatenation refused part way.
    #[cold]
    #[inline(never)]
    fn leftover_work(&mut self, resumed: &mut bool) -> Leftover {
        // The step that failed was a native's, run from the instruction loop.
        if let Some(t) = self.native_throw.take() {
            if let Some(o) = self.handle_throw(t) {
                return Leftover::Done(o);
            }
            return Leftover::Again;
        }
        // An error that found no room for its message is raised before anything else.
        if let Some(text) = self.unraised_error.take() {
            let t = match self.heap.intern(text.as_bytes()) {
                Ok(s) => Throw::Value(Value::Str(s)),
                Err(refused) => {
                    self.unraised_error = Some(text);
                    self.memory_stop = Some(refused);
                    Throw::Memory(refused)
                }
            };
            if let Some(o) = self.handle_throw(t) {
                return Leftover::Done(o);
            }
            // Raised, as an uninterrupted run raises it from its step.
            *resumed = false;
            return Leftover::Again;
        }
        if let Some((handler_done, top, error)) = self.rethrow.take() {
            self.th.top = (top as usize).min(self.th.top);
            if let Some(o) = self.unwind(error, handler_done) {
                return Leftover::Done(o);
            }
            *resumed = false;
            return Leftover::Again;
        }
        // A native's call refused memory is made before anything else.
        if let Some((func, nresults)) = self.unfinished_call.take() {
            if let Err(t) = self.finish_native_call(func as usize, nresults) {
                if let Some(o) = self.handle_throw(t) {
                    return Leftover::Done(o);
                }
            }
            // The native's step is now done, as an uninterrupted run's would be.
            *resumed = false;
            return Leftover::Again;
        }
        // A concatenation refused fuel or memory part way is finished before anything else
        // (also when an emergency collection made room within this run).
        if let Some((a, n)) = self.unfinished_concat.take() {
            match self.concat_continue(a, n) {
                Err(t) => {
                    if let Some(o) = self.handle_throw(t) {
                        return Leftover::Done(o);
                    }
                    return Leftover::Again;
                }
                // `CONCAT` done lets the collector step when it is due, as in `execute`.
                Ok(true) if self.heap.gc.should_collect() => *resumed = false,
                Ok(_) => {}
            }
        }
        Leftover::Go
    }

    /// Number of frames of the running thread (for tests and tracebacks).
    pub fn frame_count(&self) -> usize {
        self.th.frames.len()
    }

    pub(crate) fn frames(&self) -> &[Frame] {
        &self.th.frames
    }

    /// The varargs of the frame at `frame_index`.
    pub(crate) fn frame_varargs(&self, f: &Frame) -> (usize, usize) {
        let np = match f.kind {
            FrameKind::Lua(cl) => self.heap.proto(self.heap.closure(cl).proto).num_params as usize,
            FrameKind::Native(_) => 0,
        };
        (f.func as usize + 1 + np, f.varargs as usize)
    }
}
