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

pub mod check;
pub mod debug;
mod exec;
pub mod native;
pub mod verify;

use crate::cost::Work;
use crate::heap::frame::{flags, Frame, FrameKind, ReturnTo};
use crate::heap::{Heap, NativeId, Thread, ThreadStatus, Upval};
use crate::metamethod::{MetaMethod, ALL_META};
use crate::number::{str_to_number, Number};
use crate::value::{ClosureRef, StrRef, TableRef, ThreadRef, UpvalRef, Value};
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
/// Most nested calls from metamethods and natives (Lua's `LUAI_MAXCCALLS`).
const MAX_C_CALLS: u16 = 200;
/// Longest `__index`/`__newindex` chain (Lua's `MAXTAGLOOP`).
const MAX_TAG_LOOP: usize = 2000;
/// Continuation state delivered to a protected native when an error was caught.
pub const STATE_ERROR: u32 = u32::MAX;

/// How a slice of execution ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The main function returned these values.
    Finished(Vec<Value>),
    /// The fuel of the slice (or the meter) ran out; `run` continues where it stopped.
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
}

/// Values handed from one thread to another at a yield, return or failure.
enum Handoff {
    /// `n` values at `from` in the stack of the thread being left.
    Range(usize, usize),
    /// One value.
    Value(Value),
}

/// What `close_coroutine` did.
#[derive(Clone, Copy, Debug)]
pub enum CloseOutcome {
    /// Closed; the error the coroutine had died with, if any.
    Done(Option<Value>),
    /// The coroutine runs its `__close` handlers; the caller is re-entered with state 1.
    Running,
}

/// The fuel meter of a process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meter {
    pub used: u64,
    pub limit: u64,
}

/// One process's virtual machine: heap, threads, meter, globals.
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
    /// "not enough memory", interned up front: raising it must not need memory.
    memory_message: StrRef,
    /// The one value of each native without upvalues (see `native_value`).
    light_natives: Vec<Option<crate::value::NativeRef>>,
    pub meter: Meter,
    /// Fuel left in the current slice (mirrors the meter while running).
    fuel: i64,
    /// How far below zero natives may take `fuel`: the meter's fuel beyond the slice.
    #[serde(skip)]
    fuel_floor: i64,
    /// The price of the charge the meter refused in this slice, if one was: the process
    /// cannot go on until it has at least this much (it keeps what it had left).
    #[serde(skip)]
    refused: Option<u64>,
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
    #[serde(skip)]
    natives: Rc<NativeTable>,
    /// A native is waiting for its host (`Action::Trap`).
    trapped: bool,
    /// An error the host raised at a trapped native (`fail_trap`), thrown when `run` resumes.
    trap_error: Option<Value>,
    /// Where `print` and the console key write; none means output is dropped.
    #[serde(skip)]
    console: Option<ConsoleSink>,
}

impl Vm {
    /// A fresh VM with empty globals. `natives` must be the same table on every restore.
    ///
    /// # Errors
    /// `Throw::Memory` if the memory limit cannot even hold the initial state.
    pub fn new(
        natives: Rc<NativeTable>,
        fuel_limit: u64,
        memory_limit: usize,
        hash_seed: u64,
    ) -> Result<Vm, Throw> {
        let mut heap = Heap::new(memory_limit, hash_seed);
        let main_thread = heap.new_thread()?;
        let globals = heap.new_table(0, 32)?;
        let registry = heap.new_table(0, 8)?;
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
        Ok(Vm {
            heap,
            th,
            current: main_thread,
            main_thread,
            resume_chain: Vec::new(),
            globals,
            registry,
            string_meta: None,
            meta_names,
            light_natives: Vec::new(),
            memory_message,
            stack_limit: MAX_STACK,
            meter: Meter {
                used: 0,
                limit: fuel_limit,
            },
            fuel: 0,
            fuel_floor: 0,
            refused: None,
            in_slice: false,
            pending_traceback: None,
            message_handler: false,
            message_object_type: None,
            finished: None,
            unwinding_memory: false,
            held: Vec::new(),
            unfinished_concat: None,
            natives,
            console: None,
            trapped: false,
            trap_error: None,
        })
    }

    /// Makes errors that reach the top of the main thread show as `lua.c` shows them: the
    /// value passed to pending `__close`s and reported in `Outcome::Error` is the final
    /// message, traceback included (the outcome's own traceback is then empty).
    pub fn set_message_handler(&mut self, on: bool) {
        self.message_handler = on;
    }

    /// Reattaches the native table after deserialization.
    pub fn attach_natives(&mut self, natives: Rc<NativeTable>) {
        self.natives = natives;
        self.heap.rebuild_intern();
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
    }

    /// Attaches the sink that the console writes to.
    pub fn set_console(&mut self, console: Option<ConsoleSink>) {
        self.console = console;
    }

    /// Whether a console is attached.
    pub fn has_console(&self) -> bool {
        self.console.is_some()
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

    /// Makes the stack at least `size` slots long, charging the bank for growth.
    ///
    /// # Errors
    /// `stack overflow` past `MAX_STACK`; out of memory.
    pub fn ensure_stack(&mut self, size: usize) -> Result<(), Throw> {
        let len = self.th.stack.len();
        if size <= len {
            return Ok(());
        }
        let most = self.stack_limit + EXTRA_STACK * 4;
        if size > most {
            return Err(Throw::StackOverflow);
        }
        // Grow geometrically so that pushes stay amortized O(1).
        let new_len = std::cmp::min(size.max(len + len / 2).max(64), most);
        self.heap
            .charge((new_len - len) * crate::heap::VALUE_BYTES)?;
        // Exactly what was charged: `resize` alone may double the capacity.
        self.th.stack.reserve_exact(new_len - len);
        self.th.stack.resize(new_len, Value::Nil);
        Ok(())
    }

    fn push_frame(&mut self, mut f: Frame) -> Result<(), Throw> {
        // A frame inherits its caller's count of calls from C; `call_from_c` adds one.
        f.c_depth = self.th.frames.last().map(|c| c.c_depth).unwrap_or(0);
        let cap = self.th.frames.capacity();
        if self.th.frames.len() == cap {
            let new_cap = (cap * 2).max(8);
            self.heap
                .charge((new_cap - cap) * std::mem::size_of::<Frame>())?;
            self.th.frames.reserve_exact(new_cap - cap);
        }
        self.th.frames.push(f);
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
    pub fn get_global(&mut self, name: &str) -> Value {
        match self.heap.intern(name.as_bytes()) {
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
    #[inline]
    pub fn meta_field(&self, mt: TableRef, m: MetaMethod) -> Value {
        self.heap.table(mt).get_str(self.meta_names[m as usize])
    }

    /// Sets a table's metatable, registering it for finalization if it has `__gc`.
    pub fn set_metatable(&mut self, t: TableRef, mt: Option<TableRef>) {
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

    // ----- fuel ------------------------------------------------------------------------------

    /// Charges fuel for a native's work.
    ///
    /// # Errors
    /// `Throw::OutOfFuel` when the slice cannot pay; the native must not have changed anything
    /// yet (it is run again from the same state after a refuel).
    #[inline]
    pub fn charge(&mut self, units: u64) -> Result<(), Throw> {
        charge_fuel(&mut self.fuel, self.fuel_floor, &mut self.refused, units)
    }

    /// Charges the price of `pieces` pieces of `work` (the cost table, `crate::cost`), as
    /// [`Vm::charge`]: before the work is done, refused when the meter cannot pay.
    ///
    /// # Errors
    /// `Throw::OutOfFuel`.
    #[inline]
    pub fn charge_work(&mut self, work: crate::cost::Work, pieces: usize) -> Result<(), Throw> {
        self.charge(work.units_of(pieces))
    }

    /// Charges fuel for work already done that could not be priced before it (a host's
    /// answer): at most what the meter has left, so even this never takes the meter past its
    /// limit; work that cost more drains it, and the process stops at the next boundary.
    /// Prefer [`Vm::charge_work`] before the work.
    #[inline]
    pub(crate) fn charge_debt(&mut self, units: u64) {
        let u = units.min(i64::MAX as u64) as i64;
        self.fuel = self.fuel.saturating_sub(u).max(self.fuel_floor);
    }

    /// Lends the heap (read-only) together with the slice's fuel, so a native can charge fuel
    /// step by step while it reads strings in place (pattern matching over a long subject).
    pub fn heap_and_fuel(&mut self) -> (&Heap, Fuel<'_>) {
        (
            &self.heap,
            Fuel {
                fuel: &mut self.fuel,
                floor: self.fuel_floor,
                refused: &mut self.refused,
            },
        )
    }

    /// The price of the charge the last slice's meter refused, if it ended on one: the
    /// process needs at least this much before it can go on.
    pub fn refused(&self) -> Option<u64> {
        self.refused
    }

    /// What a charge can take now, in the running slice (down to the meter's end): the most
    /// work a native may start without being refused. Zero between slices.
    pub fn fuel_available(&self) -> u64 {
        (self.fuel as i128 - self.fuel_floor as i128).max(0) as u64
    }

    /// Fuel left in the meter.
    pub fn fuel_left(&self) -> u64 {
        self.meter.limit.saturating_sub(self.meter.used)
    }

    /// Raises the meter's limit by `units`.
    pub fn refuel(&mut self, units: u64) {
        self.meter.limit = self.meter.limit.saturating_add(units);
    }

    // ----- threads -----------------------------------------------------------------------------

    pub fn current_thread(&self) -> ThreadRef {
        self.current
    }

    pub fn main_thread(&self) -> ThreadRef {
        self.main_thread
    }

    pub fn is_main_thread(&self) -> bool {
        self.current == self.main_thread
    }

    /// Whether the running code may yield (`coroutine.isyieldable`).
    pub fn is_yieldable(&self) -> bool {
        !self.is_main_thread()
            && !self
                .th
                .frames
                .iter()
                .any(|f| f.flags & flags::NO_YIELD != 0)
    }

    /// The status of a thread as `coroutine.status` names it.
    pub fn thread_status(&self, t: ThreadRef) -> &'static str {
        if t == self.current {
            return "running";
        }
        match self.heap.thread(t).status {
            ThreadStatus::Suspended => "suspended",
            ThreadStatus::Running => "running",
            ThreadStatus::Normal => "normal",
            ThreadStatus::Dead => "dead",
        }
    }

    /// A new coroutine that will run `f`.
    ///
    /// # Errors
    /// Out of memory.
    pub fn new_coroutine(&mut self, f: Value) -> Result<ThreadRef, Throw> {
        let t = self.heap.new_thread()?;
        self.heap.charge(64 * crate::heap::VALUE_BYTES)?;
        let th = self.heap.thread_mut(t);
        th.stack = vec![Value::Nil; 64];
        th.stack[0] = f;
        th.top = 1;
        Ok(t)
    }

    fn switch_to(&mut self, t: ThreadRef, status_of_old: ThreadStatus) {
        // The running thread goes back into its slot (which holds a placeholder) and `t`'s
        // thread comes out, leaving the placeholder behind: two swaps, no temporaries.
        self.th.status = status_of_old;
        std::mem::swap(&mut self.th, self.heap.thread_mut(self.current));
        std::mem::swap(&mut self.th, self.heap.thread_mut(t));
        self.current = t;
        self.th.status = ThreadStatus::Running;
    }

    /// Resumes coroutine `co` with the top `nargs` values of the running stack. Called by the
    /// `coroutine.resume` native, whose frame is re-entered with state 1 and `ok, values…`
    /// above its base once the coroutine yields, returns or fails.
    ///
    /// # Errors
    /// The resume messages of Lua (`cannot resume dead coroutine`, …) as `Throw::Message`.
    pub fn resume_coroutine(&mut self, co: ThreadRef, nargs: usize) -> Result<(), Throw> {
        if co == self.current {
            return Err(Throw::msg("cannot resume non-suspended coroutine"));
        }
        let status = self.heap.thread(co).status;
        match status {
            ThreadStatus::Suspended => {}
            ThreadStatus::Dead => return Err(Throw::msg("cannot resume dead coroutine")),
            _ => return Err(Throw::msg("cannot resume non-suspended coroutine")),
        }
        if self.resume_chain.len() >= 200 {
            return Err(Throw::msg("C stack overflow"));
        }
        let from = self.th.top - nargs;
        self.th.top = from;
        if let Some(f) = self.th.frames.last_mut() {
            f.pc = 1;
        }
        let resumer = self.current;
        self.resume_chain.push(resumer);
        self.switch_to(co, ThreadStatus::Normal);
        let fresh = self.th.frames.is_empty();
        // The arguments, straight from the resumer's stack (now in its slot) to this one.
        let top = self.th.top;
        self.ensure_stack(top + nargs + EXTRA_STACK)?;
        let src = &self.heap.threads.get(resumer.0).stack;
        if from + nargs <= src.len() {
            self.th.stack[top..top + nargs].copy_from_slice(&src[from..from + nargs]);
        }
        self.th.top = top + nargs;
        if fresh {
            self.call_value(0, -1, ReturnTo::Normal)?;
        }
        Ok(())
    }

    /// Yields the top `n` values to the resumer. Called by the `coroutine.yield` native, which
    /// is re-entered with state 1 and the resume arguments above its base.
    ///
    /// # Errors
    /// `attempt to yield from outside a coroutine`, or across a native without continuation.
    pub fn yield_values(&mut self, n: usize) -> Result<(), Throw> {
        if self.is_main_thread() {
            return Err(Throw::Plain(
                "attempt to yield from outside a coroutine".into(),
            ));
        }
        if !self.is_yieldable() {
            return Err(Throw::Plain(
                "attempt to yield across a C-call boundary".into(),
            ));
        }
        let from = self.th.top - n;
        if let Some(f) = self.th.frames.last_mut() {
            f.pc = 1;
            self.th.top = f.base as usize;
        }
        // The values stay in this stack's slots until the resumer has copied them.
        self.return_to_resumer(true, Handoff::Range(from, n), ThreadStatus::Suspended)
    }

    fn return_to_resumer(
        &mut self,
        ok: bool,
        values: Handoff,
        status: ThreadStatus,
    ) -> Result<(), Throw> {
        let Some(resumer) = self.resume_chain.pop() else {
            return Err(Throw::msg("attempt to yield from outside a coroutine"));
        };
        let from_thread = self.current;
        self.switch_to(resumer, status);
        let base = self.th.frames.last().map(|f| f.base as usize).unwrap_or(0);
        // A native continuing in state 1 gets the values right at its base; other states keep
        // what they saved above the base (one slot).
        let keep = match self.th.frames.last() {
            Some(f) if f.pc > 1 => 1,
            _ => 0,
        };
        self.th.top = base + keep;
        self.push(Value::Bool(ok))?;
        match values {
            Handoff::Value(v) => self.push(v)?,
            Handoff::Range(from, n) => {
                // Straight from the other thread's stack (now back in its slot) to this one.
                let top = self.th.top;
                self.ensure_stack(top + n + EXTRA_STACK)?;
                let src = &self.heap.threads.get(from_thread.0).stack;
                if from + n <= src.len() {
                    self.th.stack[top..top + n].copy_from_slice(&src[from..from + n]);
                }
                self.th.top = top + n;
            }
        }
        Ok(())
    }

    /// Closes a suspended or dead coroutine (`coroutine.close`). Without pending to-be-closed
    /// variables this is immediate: `Done` with the error the coroutine died with, if any.
    /// Otherwise the coroutine is entered once more to run `runner` (a protected native that
    /// calls each pending `__close` with the error), and the calling native is entered again
    /// with state 1 and `true, ok, err?` above its base: `Running`.
    ///
    /// # Errors
    /// `cannot close a running coroutine` / `normal` coroutine.
    pub fn close_coroutine(
        &mut self,
        co: ThreadRef,
        runner: Value,
        state: u32,
    ) -> Result<CloseOutcome, Throw> {
        if co == self.current {
            return Err(Throw::msg("cannot close a running coroutine"));
        }
        let th = self.heap.thread(co);
        if th.status == ThreadStatus::Normal {
            return Err(Throw::msg("cannot close a normal coroutine"));
        }
        let err = if th.failed {
            th.stack.get(th.top.wrapping_sub(1)).copied()
        } else {
            None
        };
        if th.tbc.is_empty() {
            let th = self.heap.thread_mut(co);
            let ups = std::mem::take(&mut th.open_upvalues);
            let stack = std::mem::take(&mut th.stack);
            th.frames.clear();
            th.top = 0;
            th.status = ThreadStatus::Dead;
            for u in ups {
                if let Upval::Open { index, .. } = *self.heap.upval(u) {
                    let v = stack.get(index as usize).copied().unwrap_or(Value::Nil);
                    *self.heap.upval_mut(u) = Upval::Closed(v);
                }
            }
            return Ok(CloseOutcome::Done(err));
        }
        if let Some(f) = self.th.frames.last_mut() {
            f.pc = state;
        }
        let base = self.th.frames.last().map(|f| f.base as usize).unwrap_or(0);
        let _ = base;
        self.resume_chain.push(self.current);
        self.switch_to(co, ThreadStatus::Normal);
        self.th.frames.clear();
        self.th.failed = false;
        // The runner gets the error and whether there was one (an error value may be nil).
        let func = self.th.top;
        self.ensure_stack(func + 3 + EXTRA_STACK)?;
        self.th.stack[func] = runner;
        self.th.stack[func + 1] = err.unwrap_or(Value::Nil);
        self.th.stack[func + 2] = Value::Bool(err.is_some());
        self.th.top = func + 3;
        self.call_value(func, -1, ReturnTo::Normal)?;
        self.protect_current_frame();
        // As `lua_closethread`, the handlers run from C: they cannot yield.
        if let Some(f) = self.th.frames.last_mut() {
            f.flags |= flags::NO_YIELD;
        }
        Ok(CloseOutcome::Running)
    }

    /// Whether a coroutine has pending to-be-closed variables.
    pub fn has_pending_close(&self, co: ThreadRef) -> bool {
        co != self.current && !self.heap.thread(co).tbc.is_empty()
    }

    /// Pops the innermost pending to-be-closed variable of the running thread.
    pub fn pop_tbc(&mut self) -> Option<Value> {
        let slot = self.th.tbc.pop()?;
        Some(self.th.stack[slot as usize])
    }

    // ----- upvalues ----------------------------------------------------------------------------

    #[inline]
    pub(crate) fn upval_get(&self, u: UpvalRef) -> Value {
        match *self.heap.upval(u) {
            Upval::Closed(v) => v,
            Upval::Open { thread, index } => {
                if thread == self.current {
                    self.th.stack[index as usize]
                } else {
                    self.heap.thread(thread).stack[index as usize]
                }
            }
        }
    }

    #[inline]
    pub(crate) fn upval_set(&mut self, u: UpvalRef, v: Value) {
        match *self.heap.upval(u) {
            Upval::Closed(_) => *self.heap.upval_mut(u) = Upval::Closed(v),
            Upval::Open { thread, index } => {
                if thread == self.current {
                    self.th.stack[index as usize] = v;
                } else {
                    self.heap.thread_mut(thread).stack[index as usize] = v;
                }
            }
        }
    }

    /// The open upvalue for stack slot `level`, created if needed.
    fn find_upval(&mut self, level: usize) -> Result<UpvalRef, Throw> {
        let list = &self.th.open_upvalues;
        // Sorted ascending by index; new upvalues are usually near the top.
        let mut pos = list.len();
        while pos > 0 {
            let u = list[pos - 1];
            if let Upval::Open { index, .. } = *self.heap.upval(u) {
                if index as usize == level {
                    return Ok(u);
                }
                if (index as usize) < level {
                    break;
                }
            }
            pos -= 1;
        }
        let u = self.heap.new_upval(Upval::Open {
            thread: self.current,
            index: level as u32,
        })?;
        self.th.open_upvalues.insert(pos, u);
        Ok(u)
    }

    /// Closes every open upvalue at or above stack slot `level`.
    fn close_upvals(&mut self, level: usize) {
        while let Some(&u) = self.th.open_upvalues.last() {
            match *self.heap.upval(u) {
                Upval::Open { index, .. } if index as usize >= level => {
                    let v = self.th.stack[index as usize];
                    *self.heap.upval_mut(u) = Upval::Closed(v);
                    self.th.open_upvalues.pop();
                }
                _ => break,
            }
        }
    }

    // ----- calls -------------------------------------------------------------------------------

    /// Starts a call of the value at stack index `func` with the arguments above it up to the
    /// top. Lua functions get a frame; natives get a frame that `run` enters; other values go
    /// through `__call`.
    ///
    /// # Errors
    /// `attempt to call a … value`, stack overflow, out of memory.
    pub fn call_value(&mut self, func: usize, nresults: i32, ret: ReturnTo) -> Result<(), Throw> {
        let mut f = self.th.stack[func];
        let mut tries = 0;
        loop {
            match f {
                Value::LuaFn(cl) => return self.enter_lua(func, cl, nresults, ret),
                Value::Native(n) => {
                    let flags = self.natives.flags_of(self.heap.native(n).id);
                    self.push_frame(Frame {
                        kind: FrameKind::Native(n),
                        func: func as u32,
                        base: func as u32 + 1,
                        pc: 0,
                        nresults,
                        varargs: 0,
                        ret,
                        flags,
                        c_depth: 0,
                    })?;
                    return Ok(());
                }
                _ => {
                    let tm = self.metamethod(f, MetaMethod::Call);
                    if tm.is_nil() || tries >= MAX_TAG_LOOP {
                        return Err(Throw::CallError { func });
                    }
                    // Each link of a `__call` chain looks up a metamethod and moves the
                    // arguments up one slot. Callers of every kind come here (instructions,
                    // natives, the kernel), so this is charged as debt: never past the meter,
                    // and at most one call's chain is left unpaid when the meter runs dry.
                    self.charge_debt(1 + Work::Values.units_of(self.th.top - func));
                    // Insert the metamethod below the callable: it becomes the first argument.
                    self.ensure_stack(self.th.top + 1)?;
                    let top = self.th.top;
                    self.th.stack.copy_within(func..top, func + 1);
                    self.th.top = top + 1;
                    self.th.stack[func] = tm;
                    f = tm;
                    tries += 1;
                }
            }
        }
    }

    #[inline]
    fn enter_lua(
        &mut self,
        func: usize,
        cl: ClosureRef,
        nresults: i32,
        ret: ReturnTo,
    ) -> Result<(), Throw> {
        let p = self.heap.proto(self.heap.closure(cl).proto);
        let num_params = p.num_params as usize;
        let is_vararg = p.is_vararg;
        let max_stack = p.max_stack_size as usize;
        let mut nargs = self.th.top - func - 1;
        if self.th.frames.len() >= self.stack_limit / 4 {
            return Err(Throw::StackOverflow);
        }
        if nargs < num_params {
            self.ensure_stack(func + 1 + num_params)?;
            for i in nargs..num_params {
                self.th.stack[func + 1 + i] = Value::Nil;
            }
            nargs = num_params;
        }
        let (base, varargs) = if is_vararg {
            let base = func + 1 + nargs;
            self.ensure_stack(base + max_stack + EXTRA_STACK)?;
            for i in 0..num_params {
                self.th.stack[base + i] = self.th.stack[func + 1 + i];
                self.th.stack[func + 1 + i] = Value::Nil;
            }
            (base, (nargs - num_params) as u32)
        } else {
            let base = func + 1;
            self.ensure_stack(base + max_stack + EXTRA_STACK)?;
            (base, 0)
        };
        // Registers above the parameters start as nil (stale values would confuse the GC).
        for v in &mut self.th.stack[base + num_params..base + max_stack] {
            *v = Value::Nil;
        }
        self.th.top = base + max_stack;
        self.push_frame(Frame {
            kind: FrameKind::Lua(cl),
            func: func as u32,
            base: base as u32,
            pc: 0,
            nresults,
            varargs,
            ret,
            flags: 0,
            c_depth: 0,
        })
    }

    /// Pushes `f(args…)` above everything live and starts it, for metamethods and natives that
    /// call back.
    ///
    /// # Errors
    /// As `call_value`.
    pub fn call_with(
        &mut self,
        f: Value,
        args: &[Value],
        nresults: i32,
        ret: ReturnTo,
    ) -> Result<(), Throw> {
        let func = self.live_top();
        self.ensure_stack(func + args.len() + 1 + EXTRA_STACK)?;
        self.th.stack[func] = f;
        self.th.stack[func + 1..func + 1 + args.len()].copy_from_slice(args);
        self.th.top = func + 1 + args.len();
        self.call_from_c(func, nresults, ret)
    }

    /// A call made by a metamethod or a native rather than by a CALL instruction: it counts
    /// against Lua's limit of nested C calls (`LUAI_MAXCCALLS`).
    fn call_from_c(&mut self, func: usize, nresults: i32, ret: ReturnTo) -> Result<(), Throw> {
        let depth = self.th.frames.last().map(|f| f.c_depth).unwrap_or(0) + 1;
        if depth >= MAX_C_CALLS {
            return Err(Throw::msg("C stack overflow"));
        }
        let before = self.th.frames.len();
        self.call_value(func, nresults, ret)?;
        if self.th.frames.len() > before {
            if let Some(f) = self.th.frames.last_mut() {
                f.c_depth = depth;
            }
        }
        Ok(())
    }

    /// The first slot above every live value: above the running Lua frame's registers, or the
    /// current top for natives.
    fn live_top(&self) -> usize {
        match self.th.frames.last() {
            Some(f) => match f.kind {
                FrameKind::Lua(cl) => {
                    let p = self.heap.proto(self.heap.closure(cl).proto);
                    (f.base as usize + p.max_stack_size as usize).max(self.th.top)
                }
                FrameKind::Native(_) => self.th.top,
            },
            None => self.th.top,
        }
    }

    /// `post_call` for the common case of a Lua function returning to a caller that called it
    /// normally; everything else goes to `post_call`.
    #[inline]
    fn return_from_lua(&mut self, first: usize, n: usize) -> Result<(), Throw> {
        let len = self.th.frames.len();
        if len > 1 {
            let frame = self.th.frames[len - 1];
            let res = frame.func as usize;
            let wanted = if frame.nresults < 0 {
                n
            } else {
                frame.nresults as usize
            };
            if frame.ret == ReturnTo::Normal && res + wanted < self.th.stack.len() {
                self.th.frames.pop();
                let moved = wanted.min(n);
                self.th.stack.copy_within(first..first + moved, res);
                for v in &mut self.th.stack[res + moved..res + wanted] {
                    *v = Value::Nil;
                }
                self.th.top = res + wanted;
                if frame.nresults >= 0 {
                    let caller = self.th.frames[len - 2];
                    if let FrameKind::Lua(cl) = caller.kind {
                        let p = self.heap.proto(self.heap.closure(cl).proto);
                        self.th.top = caller.base as usize + p.max_stack_size as usize;
                    }
                }
                return Ok(());
            }
        }
        self.post_call(first, n)
    }

    /// Finishes the top frame with `n` results starting at stack index `first`.
    fn post_call(&mut self, first: usize, n: usize) -> Result<(), Throw> {
        let Some(frame) = self.th.frames.pop() else {
            return Ok(());
        };
        let res = frame.func as usize;
        match frame.ret {
            ReturnTo::Normal => {
                let wanted = if frame.nresults < 0 {
                    n
                } else {
                    frame.nresults as usize
                };
                self.ensure_stack(res + wanted + 1)?;
                // A block move, not a per-value select: the latter compiles to overlapping
                // partial stores that stall store forwarding on every return.
                let moved = wanted.min(n);
                self.th.stack.copy_within(first..first + moved, res);
                for v in &mut self.th.stack[res + moved..res + wanted] {
                    *v = Value::Nil;
                }
                self.th.top = res + wanted;
                if self.th.frames.is_empty() {
                    return self.thread_finished(res, wanted);
                }
                // A Lua caller with a fixed result count needs its frame top back.
                if frame.nresults >= 0 {
                    if let Some(caller) = self.th.frames.last() {
                        if let FrameKind::Lua(cl) = caller.kind {
                            let p = self.heap.proto(self.heap.closure(cl).proto);
                            self.th.top = caller.base as usize + p.max_stack_size as usize;
                        }
                    }
                }
            }
            ReturnTo::Register(a) => {
                let v = if n > 0 {
                    self.th.stack[first]
                } else {
                    Value::Nil
                };
                self.restore_caller_top();
                if let Some(caller) = self.th.frames.last() {
                    let base = caller.base as usize;
                    self.th.stack[base + a as usize] = v;
                }
            }
            ReturnTo::Condition { k } | ReturnTo::ConditionNot { k } => {
                let v = n > 0 && self.th.stack[first].truthy();
                let v = if let ReturnTo::ConditionNot { .. } = frame.ret {
                    !v
                } else {
                    v
                };
                self.restore_caller_top();
                if v != k {
                    if let Some(caller) = self.th.frames.last_mut() {
                        caller.pc += 1;
                    }
                }
            }
            ReturnTo::Discard => {
                self.th.top = res;
                self.restore_caller_top();
            }
            ReturnTo::Unwind => {
                // A `__close` run while an error propagates returned: propagate it further.
                self.th.top = res;
                self.restore_caller_top();
                // The error already went through any message handler: it is not run again.
                if let Some(e) = self.th.unwinding.take() {
                    return Err(Throw::Handled(e));
                }
            }
            ReturnTo::Reexecute { top } => {
                self.th.top = top as usize;
                if let Some(caller) = self.th.frames.last_mut() {
                    caller.pc -= 1;
                }
            }
            ReturnTo::Concat { a, n: remaining } => {
                let v = if n > 0 {
                    self.th.stack[first]
                } else {
                    Value::Nil
                };
                self.restore_caller_top();
                if let Some(caller) = self.th.frames.last() {
                    let base = caller.base as usize;
                    // The pair (top-2, top-1) of the concatenation window became one value.
                    let top_of_window = base + a as usize + remaining as usize;
                    self.th.stack[top_of_window - 1] = v;
                    if remaining > 1 {
                        self.concat_continue(a, remaining)?;
                    } else {
                        self.th.stack[base + a as usize] = v;
                    }
                }
            }
            ReturnTo::ErrorHandler | ReturnTo::MessageHandler => {
                let v = if n > 0 {
                    self.th.stack[first]
                } else {
                    Value::Nil
                };
                self.th.top = res;
                return Err(Throw::Handled(v));
            }
        }
        Ok(())
    }

    fn restore_caller_top(&mut self) {
        if let Some(caller) = self.th.frames.last() {
            if let FrameKind::Lua(cl) = caller.kind {
                let p = self.heap.proto(self.heap.closure(cl).proto);
                self.th.top = caller.base as usize + p.max_stack_size as usize;
            }
        }
    }

    /// The base function of the running thread returned.
    fn thread_finished(&mut self, first: usize, n: usize) -> Result<(), Throw> {
        if self.is_main_thread() {
            self.finished = Some(self.th.stack[first..first + n].to_vec());
            return Ok(());
        }
        self.close_upvals(0);
        self.th.top = 0;
        self.return_to_resumer(true, Handoff::Range(first, n), ThreadStatus::Dead)
    }

    // ----- running -----------------------------------------------------------------------------

    /// Loads a compiled chunk as a closure with `_ENV` = the globals table.
    ///
    /// # Errors
    /// Out of memory.
    pub fn load(
        &mut self,
        proto: &crate::proto::Proto,
        env: Option<Value>,
    ) -> Result<Value, Throw> {
        let p = self.heap.load_proto(proto)?;
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

    /// Prepares the main thread to call `f(args…)`; `run` then executes it.
    ///
    /// # Errors
    /// Stack or memory errors.
    pub fn start(&mut self, f: Value, args: &[Value]) -> Result<(), Throw> {
        self.finished = None;
        self.th.top = 0;
        self.push(f)?;
        for &a in args {
            self.push(a)?;
        }
        self.call_value(0, -1, ReturnTo::Normal)
    }

    /// Runs for at most `slice` units of fuel (and never past the meter's limit).
    pub fn run(&mut self, slice: u64) -> Outcome {
        self.refused = None;
        let budget = slice.min(self.fuel_left()).min(i64::MAX as u64);
        self.fuel = budget as i64;
        self.fuel_floor = -(self.fuel_left().min(i64::MAX as u64) as i64 - budget as i64);
        self.in_slice = true;
        let outcome = self.run_loop();
        self.in_slice = false;
        // Negative fuel is the debt of the last instruction: it was spent too.
        let spent = (budget as i128 - self.fuel as i128).max(0) as u64;
        self.meter.used = self.meter.used.saturating_add(spent);
        // Between slices there is nothing to spend: a charge made now is refused, never lost.
        self.fuel = 0;
        self.fuel_floor = 0;
        outcome
    }

    fn run_loop(&mut self) -> Outcome {
        if let Some(e) = self.trap_error.take() {
            self.unwinding_memory = false;
            if let Some(o) = self.unwind(e, false) {
                return o;
            }
        }
        if let Some((a, n)) = self.unfinished_concat.take() {
            if let Err(t) = self.concat_continue(a, n) {
                if let Some(o) = self.handle_throw(t) {
                    return o;
                }
            }
        }
        loop {
            if self.trapped {
                return Outcome::Trap;
            }
            if let Some(values) = self.finished.take() {
                return Outcome::Finished(values);
            }
            let Some(frame) = self.th.frames.last().copied() else {
                return Outcome::Finished(Vec::new());
            };
            let depth = self.th.frames.len();
            if self.heap.gc.should_collect() || !self.heap.gc.to_finalize.is_empty() {
                if let Err(t) = self.gc_step() {
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

    fn run_native(&mut self, n: crate::value::NativeRef, frame: Frame) -> Result<(), Throw> {
        let id = self.heap.native(n).id;
        let f = self.natives.func(id);
        let entry_top = self.th.top;
        let call = NativeCall {
            base: frame.base as usize,
            state: frame.pc,
            native: n,
        };
        match f(self, call) {
            Ok(Action::Return(k)) => {
                let top = self.th.top;
                self.post_call(top - k.min(top), k.min(top))
            }
            Ok(Action::Call {
                func,
                nresults,
                state,
            }) => {
                if let Some(fr) = self.th.frames.last_mut() {
                    fr.pc = state;
                }
                self.call_from_c(func, nresults, ReturnTo::Normal)
            }
            Ok(Action::Pending) => Ok(()),
            Ok(Action::Trap { state }) => {
                if let Some(fr) = self.th.frames.last_mut() {
                    fr.pc = state;
                }
                self.trapped = true;
                Ok(())
            }
            Err(Throw::OutOfFuel) => {
                self.th.top = entry_top;
                Err(Throw::OutOfFuel)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs pending finalizers and, when due, a collection. Only called between instructions.
    fn gc_step(&mut self) -> Result<(), Throw> {
        if self.heap.gc.should_collect() {
            // Paid before it runs, like any work: refused, the process waits at this
            // instruction boundary until it can pay, and the collection runs then.
            self.charge(self.collection_price())?;
            self.full_gc();
        }
        if let Some(obj) = self.heap.gc.to_finalize.pop() {
            let tm = self.metamethod(obj, MetaMethod::Gc);
            if tm.is_function() {
                self.call_with(tm, &[obj], 0, ReturnTo::Discard)?;
                if let Some(f) = self.th.frames.last_mut() {
                    f.flags |= flags::FINALIZER;
                }
            }
        }
        Ok(())
    }

    /// The fuel a full collection costs: it reads every byte the heap holds and walks every
    /// arena slot, live or free (priced as bytes and entries, at least one unit).
    pub fn collection_price(&self) -> u64 {
        1 + Work::Bytes.units_of(self.heap.bank.used())
            + Work::Entries.units_of(self.heap.slot_count())
    }

    /// Sets the values the host keeps in this heap (`held`); they must be live.
    pub fn hold(&mut self, values: Vec<Value>) {
        self.held = values;
    }

    /// Whether the error a protected native just caught (`STATE_ERROR`) was a refused
    /// allocation rather than one a program raised.
    pub fn caught_memory_error(&self) -> bool {
        self.unwinding_memory
    }

    /// A full collection now (`collectgarbage("collect")`).
    pub fn full_gc(&mut self) {
        // Dead slots above the live top must not keep garbage alive (Lua clears them too).
        let live = self.live_top().min(self.th.stack.len());
        for v in &mut self.th.stack[live..] {
            *v = Value::Nil;
        }
        // The running thread goes back into its slot so the collector sees it like any other.
        let running = std::mem::take(&mut self.th);
        *self.heap.thread_mut(self.current) = running;
        let mut roots: Vec<Value> = Vec::with_capacity(16 + self.meta_names.len());
        roots.push(Value::Table(self.globals));
        roots.push(Value::Table(self.registry));
        roots.push(Value::Thread(self.current));
        roots.push(Value::Thread(self.main_thread));
        if let Some(m) = self.string_meta {
            roots.push(Value::Table(m));
        }
        for &t in &self.resume_chain {
            roots.push(Value::Thread(t));
        }
        for &m in &self.meta_names {
            roots.push(Value::Str(m));
        }
        roots.extend(
            self.light_natives
                .iter()
                .flatten()
                .map(|&n| Value::Native(n)),
        );
        roots.push(Value::Str(self.memory_message));
        roots.extend_from_slice(&self.held);
        self.heap.collect(&roots);
        self.th = std::mem::take(self.heap.thread_mut(self.current));
    }

    /// The arguments of the native waiting in a trap (empty when there is none).
    pub fn trap_args(&self) -> &[Value] {
        match self.th.frames.last() {
            Some(f) if self.trapped => {
                &self.th.stack[(f.base as usize).min(self.th.top)..self.th.top]
            }
            _ => &[],
        }
    }

    /// The upvalues of the native closure waiting in a trap (empty when there is none).
    pub fn trap_upvalues(&self) -> &[Value] {
        match self.th.frames.last() {
            Some(Frame {
                kind: FrameKind::Native(n),
                ..
            }) if self.trapped => &self.heap.native(*n).upvalues,
            _ => &[],
        }
    }

    /// The native waiting in a trap.
    pub fn trap_native(&self) -> Option<NativeId> {
        match self.th.frames.last() {
            Some(Frame {
                kind: FrameKind::Native(n),
                ..
            }) if self.trapped => Some(self.heap.native(*n).id),
            _ => None,
        }
    }

    /// Answers a trap: the native's arguments are replaced by `results`, and the native runs
    /// again (with the state it gave) at the next `run`.
    ///
    /// # Errors
    /// Stack or memory errors; a call without a pending trap is refused.
    pub fn complete_trap(&mut self, results: &[Value]) -> Result<(), Throw> {
        if !self.trapped {
            return Err(Throw::msg("no native is waiting for its host"));
        }
        let base = self.th.frames.last().map(|f| f.base as usize).unwrap_or(0);
        self.th.top = base;
        for &v in results {
            self.push(v)?;
        }
        self.trapped = false;
        Ok(())
    }

    /// Answers a trap with an error, raised at the native when `run` resumes.
    pub fn fail_trap(&mut self, error: Value) {
        if self.trapped {
            self.trapped = false;
            self.trap_error = Some(error);
        }
    }

    /// Where a trapped native's host asked it to go on from (the state it gave `Action::Trap`).
    pub fn trap_state(&self) -> Option<u32> {
        match self.th.frames.last() {
            Some(f) if self.trapped => Some(f.pc),
            _ => None,
        }
    }

    /// While a native waits in a trap, starts `runner(f, args…)` above it: the host serves a
    /// call into this process without answering the trap (a callback from the process the trap
    /// waits for). The runner must trap when `f` is done; `end_trap_callback` then pops it and
    /// the first trap waits again, its arguments untouched.
    ///
    /// # Errors
    /// No pending trap; stack, memory or C-call depth errors (nothing is started then).
    pub fn start_trap_callback(
        &mut self,
        runner: Value,
        f: Value,
        args: &[Value],
    ) -> Result<(), Throw> {
        if !self.trapped {
            return Err(Throw::msg("no native is waiting for its host"));
        }
        let top = self.th.top;
        let frames = self.th.frames.len();
        let mut call = Vec::with_capacity(args.len() + 1);
        call.push(f);
        call.extend_from_slice(args);
        match self.call_with(runner, &call, 0, ReturnTo::Discard) {
            Ok(()) => {
                self.trapped = false;
                Ok(())
            }
            Err(e) => {
                self.th.frames.truncate(frames);
                self.th.top = top;
                Err(e)
            }
        }
    }

    /// Ends a callback begun by `start_trap_callback` once its runner trapped: pops the runner
    /// and leaves the native below it waiting in its trap again.
    ///
    /// # Errors
    /// The top frame is not a trapped native above another trapped native's frame.
    pub fn end_trap_callback(&mut self) -> Result<(), Throw> {
        let n = self.th.frames.len();
        let trapped_below =
            n >= 2 && matches!(self.th.frames[n - 2].kind, FrameKind::Native(_)) && self.trapped;
        if !trapped_below {
            return Err(Throw::msg("no callback is waiting to end"));
        }
        if let Some(runner) = self.th.frames.pop() {
            self.th.top = runner.func as usize;
        }
        Ok(())
    }

    /// Whether finalizers are waiting to run.
    pub fn has_pending_finalizers(&self) -> bool {
        !self.heap.gc.to_finalize.is_empty()
    }

    /// Turns a `Throw` into Lua error propagation. Returns an outcome when `run` must stop.
    fn handle_throw(&mut self, t: Throw) -> Option<Outcome> {
        let value = match t {
            Throw::OutOfFuel => return Some(Outcome::OutOfFuel),
            // As in Lua, a memory error skips message handlers (no memory to run them).
            Throw::Memory(_) => {
                self.unwinding_memory = true;
                let v = self.memory_error_value();
                return self.unwind(v, true);
            }
            // The same error going on (a `__close` returned) or a handler's result for it.
            Throw::Handled(v) => {
                // The message handler of an xpcall returned: finish unwinding to it.
                return self.unwind(v, true);
            }
            other => {
                self.unwinding_memory = false;
                match self.error_value(other) {
                    Ok(v) => v,
                    Err(v) => v,
                }
            }
        };
        self.unwind(value, false)
    }

    /// Converts a throw into the Lua error value, adding position information.
    fn error_value(&mut self, t: Throw) -> Result<Value, Value> {
        let msg = match t {
            Throw::Value(v) => return Ok(v),
            Throw::Memory(_) => return Ok(self.memory_error_value()),
            other => debug::describe_throw(self, other),
        };
        match self.heap.intern(msg.as_bytes()) {
            Ok(s) => Ok(Value::Str(s)),
            Err(_) => Err(self.memory_error_value()),
        }
    }

    /// The error value of an allocation that failed ("not enough memory", interned when the VM
    /// was made, so raising it needs no memory).
    pub(crate) fn memory_error_value(&mut self) -> Value {
        Value::Str(self.memory_message)
    }

    /// Propagates error `err` to the nearest protected frame of the running thread, closing
    /// to-be-closed variables on the way; across a coroutine boundary when there is none.
    fn unwind(&mut self, err: Value, handler_done: bool) -> Option<Outcome> {
        // A new error supersedes one whose `__close` handler failed.
        self.th.unwinding = None;
        let protected = self
            .th
            .frames
            .iter()
            .rposition(|f| f.flags & flags::PROTECTED != 0);
        match protected {
            Some(i) => {
                let pframe = self.th.frames[i];
                // xpcall: run the handler first, at the point of the error.
                if !handler_done {
                    let handler =
                        self.stack_get(pframe.base as usize - 1 + native::XPCALL_HANDLER_SLOT);
                    if self.is_xpcall(pframe) && handler.is_function() {
                        if self.th.frames.len() > i + 220
                            || matches!(
                                self.th.frames.last().map(|f| f.ret),
                                Some(ReturnTo::ErrorHandler)
                            )
                        {
                            // An error inside the handler: Lua reports it this way.
                            let v = self.intern(b"error in error handling").unwrap_or(err);
                            return self.unwind(v, true);
                        }
                        match self.call_with(handler, &[err], 1, ReturnTo::ErrorHandler) {
                            Ok(()) => return None,
                            Err(_) => {
                                let v = self.intern(b"error in error handling").unwrap_or(err);
                                return self.unwind(v, true);
                            }
                        }
                    }
                }
                // Pop frames above the protected one, closing their upvalues.
                let level = pframe.base as usize;
                self.th.frames.truncate(i + 1);
                self.close_upvals(level);
                // Pending to-be-closed variables above the level get their __close(err).
                if let Some(&slot) = self.th.tbc.last() {
                    if slot as usize >= level {
                        self.th.tbc.pop();
                        let v = self.th.stack[slot as usize];
                        let tm = self.metamethod(v, MetaMethod::Close);
                        self.th.unwinding = Some(err);
                        let top = self.th.top.max(slot as usize + 1);
                        self.th.top = top;
                        match self.call_with(tm, &[v, err], 0, ReturnTo::Unwind) {
                            Ok(()) => return None,
                            Err(e) => {
                                self.th.unwinding = None;
                                return self.handle_throw(e);
                            }
                        }
                    }
                }
                self.th.top = level;
                let _ = self.push(err);
                if let Some(f) = self.th.frames.last_mut() {
                    f.pc = STATE_ERROR;
                }
                None
            }
            None => {
                if self.is_main_thread() {
                    let mut err = err;
                    if self.message_handler {
                        match (self.message_object_type.take(), handler_done) {
                            // The error object's `__tostring` returned `err`.
                            (Some(type_name), true) if self.str_bytes(err).is_none() => {
                                let text = format!("(error object is a {type_name} value)");
                                err = self.with_traceback(text.into_bytes());
                            }
                            // A new error (possibly raised by that `__tostring`, as in `lua.c`
                            // where the handler handles it again).
                            (_, false) => return self.top_level_message(err),
                            _ => {}
                        }
                    }
                    let traceback = self
                        .pending_traceback
                        .take()
                        .unwrap_or_else(|| debug::traceback(self));
                    // Run pending __close handlers of the main chunk, as lua.c's pcall would.
                    // Each handler's return (`ReturnTo::Unwind`) re-enters here for the next
                    // one; the main chunk stays unprotected, so the last one ends the run.
                    // As there, the stack is unwound first: no frame is below the handler.
                    if let Some(slot) = self.th.tbc.pop() {
                        self.th.frames.clear();
                        self.th.top = self.th.top.max(slot as usize + 1);
                        self.pending_traceback = Some(traceback);
                        let v = self.th.stack[slot as usize];
                        let tm = self.metamethod(v, MetaMethod::Close);
                        self.th.unwinding = Some(err);
                        let _ = self.call_with(tm, &[v, err], 0, ReturnTo::Unwind);
                        return None;
                    }
                    self.th.frames.clear();
                    self.close_upvals(0);
                    // Under the message handler the value already holds what is to be shown.
                    let traceback = if self.message_handler {
                        String::new()
                    } else {
                        traceback
                    };
                    Some(Outcome::Error {
                        value: err,
                        traceback,
                        memory: self.unwinding_memory,
                    })
                } else {
                    // The coroutine dies; its resumer gets `false, err`.
                    self.th.failed = true;
                    self.th.frames.clear();
                    self.close_upvals(0);
                    let _ = self.push(err);
                    match self.return_to_resumer(false, Handoff::Value(err), ThreadStatus::Dead) {
                        Ok(()) => None,
                        Err(e) => self.handle_throw(e),
                    }
                }
            }
        }
    }

    /// `lua.c`'s `msghandler`, for an error that reached the top of the main thread: a string
    /// or number gets the traceback appended; another value shows as what its `__tostring`
    /// returns (run here, at the point of the error), or as `(error object is a T value)` with
    /// the traceback. The result goes on unwinding as handled, through pending `__close`s.
    fn top_level_message(&mut self, err: Value) -> Option<Outcome> {
        let text = match (self.str_bytes(err), err.as_number()) {
            (Some(b), _) => b.to_vec(),
            (None, Some(n)) => crate::number::number_to_string(n).into_bytes(),
            (None, None) => {
                if let Some(text) = self.kernel_fault_report(err) {
                    let v = self
                        .intern(&text)
                        .unwrap_or_else(|_| self.memory_error_value());
                    return self.unwind(v, true);
                }
                let tm = self.metamethod(err, MetaMethod::ToString);
                if !tm.is_nil() {
                    // Its result comes back through `unwind(.., true)`: see `unwind`.
                    self.message_object_type = Some(err.type_name());
                    return match self.call_with(tm, &[err], 1, ReturnTo::MessageHandler) {
                        Ok(()) => None,
                        Err(e) => {
                            self.message_object_type = None;
                            self.handle_throw(e)
                        }
                    };
                }
                format!("(error object is a {} value)", err.type_name()).into_bytes()
            }
        };
        let v = self.with_traceback(text);
        self.unwind(v, true)
    }

    /// The report of a kernel fault (a table with the kernel's fault metatable) that reached
    /// the top: `kind: message` as its `__tostring` gives, then one traceback from where the
    /// error was raised in the other process (its `traceback` field, when it has one) down
    /// through this process's frames. Other error objects are `lua.c`'s business.
    fn kernel_fault_report(&mut self, err: Value) -> Option<Vec<u8>> {
        let Value::Table(t) = err else { return None };
        let meta = self.heap.intern(crate::fault::FAULT_META).ok()?;
        let is_fault = match (
            self.metatable(err),
            self.raw_get(self.registry, Value::Str(meta)),
        ) {
            (Some(mt), Value::Table(fault_meta)) => mt == fault_meta,
            _ => false,
        };
        if !is_fault {
            return None;
        }
        let mut field = |name: &[u8]| -> Option<Vec<u8>> {
            let k = self.heap.intern(name).ok()?;
            self.str_bytes(self.raw_get(t, Value::Str(k)))
                .map(<[u8]>::to_vec)
        };
        let (kind, message) = (field(b"kind")?, field(b"message")?);
        let inner = field(b"traceback");
        let mut text = kind;
        text.extend_from_slice(b": ");
        text.extend_from_slice(&message);
        let own = debug::traceback(self);
        match inner {
            // The other process's frames first (under one header), then ours, without a
            // second header.
            Some(inner) => {
                text.push(b'\n');
                text.extend_from_slice(&inner);
                let ours = own.split_once('\n').map_or("", |(_, rest)| rest);
                text.extend_from_slice(b"\n");
                text.extend_from_slice(ours.as_bytes());
            }
            None => {
                text.push(b'\n');
                text.extend_from_slice(own.as_bytes());
            }
        }
        Some(text)
    }

    /// `text` and the traceback of the running thread, as one interned message.
    fn with_traceback(&mut self, mut text: Vec<u8>) -> Value {
        text.push(b'\n');
        text.extend_from_slice(debug::traceback(self).as_bytes());
        self.intern(&text)
            .unwrap_or_else(|_| self.memory_error_value())
    }

    fn is_xpcall(&self, f: Frame) -> bool {
        match f.kind {
            FrameKind::Native(n) => self.natives.is_xpcall(self.heap.native(n).id),
            _ => false,
        }
    }

    /// Marks the running native's frame as protected (pcall/xpcall).
    pub fn protect_current_frame(&mut self) {
        if let Some(f) = self.th.frames.last_mut() {
            f.flags |= flags::PROTECTED;
        }
    }

    /// The stack of to-be-closed slots (for the `TBC` instruction and `coroutine.close`).
    fn mark_tbc(&mut self, slot: usize) -> Result<(), Throw> {
        let v = self.th.stack[slot];
        if v.truthy() {
            if self.metamethod(v, MetaMethod::Close).is_nil() {
                return Err(Throw::NonClosable { slot });
            }
            self.th.tbc.push(slot as u32);
        }
        Ok(())
    }

    /// Closes upvalues and calls one pending `__close` at or above `level`. Returns true if a
    /// call was started (the instruction must run again afterwards).
    fn close_level(&mut self, level: usize, reexec_top: usize) -> Result<bool, Throw> {
        self.close_upvals(level);
        if let Some(&slot) = self.th.tbc.last() {
            if slot as usize >= level {
                self.th.tbc.pop();
                let v = self.th.stack[slot as usize];
                let tm = self.metamethod(v, MetaMethod::Close);
                self.call_with(
                    tm,
                    &[v, Value::Nil],
                    0,
                    ReturnTo::Reexecute {
                        top: reexec_top as u32,
                    },
                )?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Values above a native frame's base (its arguments, on first entry).
    pub fn args(&self, call: &NativeCall) -> &[Value] {
        &self.th.stack[call.base.min(self.th.top)..self.th.top]
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

    /// Continues a `CONCAT` after a `__concat` result landed in the window.
    /// Whether a restored `unfinished_concat` names a window `run` can finish: the running
    /// frame stopped right after a `CONCAT` of register `a` whose window holds at least `n`.
    pub(crate) fn unfinished_concat_is_valid(&self) -> bool {
        let Some((a, n)) = self.unfinished_concat else {
            return true;
        };
        let Some(FrameKind::Lua(cl)) = self.th.frames.last().map(|f| f.kind) else {
            return false;
        };
        let Some(p) = self
            .heap
            .closures
            .try_get(cl.0)
            .and_then(|c| self.heap.protos.try_get(c.proto.0))
        else {
            return false;
        };
        let pc = self.th.frames.last().map_or(0, |f| f.pc as usize);
        pc.checked_sub(1)
            .and_then(|i| p.code.get(i))
            .filter(|i| i.opcode() == Some(crate::bytecode::OpCode::Concat))
            .is_some_and(|i| {
                i.a() == a as u32
                    && n >= 2
                    && n as u32 <= i.b()
                    && !self.trapped
                    && self.finished.is_none()
            })
    }

    fn concat_continue(&mut self, a: u8, n: u8) -> Result<(), Throw> {
        let Some(caller) = self.th.frames.last() else {
            return Ok(());
        };
        let base = caller.base as usize;
        match self.concat(base + a as usize, n as usize, a)? {
            Some(v) => {
                self.th.stack[base + a as usize] = v;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Concatenates `n` values at `first..first+n` from the right, as Lua does. Returns the
    /// result, or `None` when a `__concat` call was started (it continues the work later).
    fn concat(&mut self, first: usize, mut n: usize, a: u8) -> Result<Option<Value>, Throw> {
        while n > 1 {
            let top = first + n;
            let x = self.th.stack[top - 2];
            let y = self.th.stack[top - 1];
            let xs = matches!(x, Value::Str(_) | Value::Int(_) | Value::Float(_));
            let ys = matches!(y, Value::Str(_) | Value::Int(_) | Value::Float(_));
            if xs && ys {
                // Collect as many string-convertible values as possible.
                let mut k = 2;
                while k < n
                    && matches!(
                        self.th.stack[top - k - 1],
                        Value::Str(_) | Value::Int(_) | Value::Float(_)
                    )
                {
                    k += 1;
                }
                let mut buf: Vec<u8> = Vec::new();
                let mut total: usize = 0;
                for i in (top - k)..top {
                    let v = self.th.stack[i];
                    total += match v {
                        Value::Str(s) => self.heap.str(s).len(),
                        _ => 24,
                    };
                }
                if let Err(refused) = self.charge_work(Work::Bytes, total) {
                    // Nothing of this step is done: it is taken up again after a refuel.
                    self.unfinished_concat = Some((a, n as u8));
                    return Err(refused);
                }
                self.heap.bank.charge(total).map_err(Throw::from)?;
                self.heap.bank.release(total);
                buf.reserve(total);
                for i in (top - k)..top {
                    let v = self.th.stack[i];
                    match v {
                        Value::Str(s) => buf.extend_from_slice(self.heap.str(s)),
                        _ => buf.extend_from_slice(
                            crate::number::number_to_string(
                                v.as_number().unwrap_or(Number::Int(0)),
                            )
                            .as_bytes(),
                        ),
                    }
                }
                let s = self.heap.intern_owned(buf)?;
                self.th.stack[top - k] = Value::Str(s);
                n -= k - 1;
            } else {
                let mut tm = self.metamethod(x, MetaMethod::Concat);
                if tm.is_nil() {
                    tm = self.metamethod(y, MetaMethod::Concat);
                }
                if tm.is_nil() {
                    let bad = if xs { top - 1 } else { top - 2 };
                    return Err(Throw::ConcatError { slot: bad });
                }
                self.call_with(
                    tm,
                    &[x, y],
                    1,
                    ReturnTo::Concat {
                        a,
                        n: (n - 1) as u8,
                    },
                )?;
                // The window shrinks by one once the call returns: the result lands at top-2.
                return Ok(None);
            }
        }
        Ok(Some(self.th.stack[first]))
    }
}

impl From<crate::bank::OutOfMemory> for Throw {
    fn from(m: crate::bank::OutOfMemory) -> Throw {
        Throw::Memory(m)
    }
}

/// The running slice's fuel, lent by [`Vm::heap_and_fuel`].
pub struct Fuel<'a> {
    fuel: &'a mut i64,
    floor: i64,
    refused: &'a mut Option<u64>,
}

impl Fuel<'_> {
    /// Charges `units`, as [`Vm::charge`].
    ///
    /// # Errors
    /// `Throw::OutOfFuel`.
    #[inline]
    pub fn charge(&mut self, units: u64) -> Result<(), Throw> {
        charge_fuel(self.fuel, self.floor, self.refused, units)
    }

    /// Charges the price of `pieces` pieces of `work`, as [`Vm::charge_work`].
    ///
    /// # Errors
    /// `Throw::OutOfFuel`.
    #[inline]
    pub fn charge_work(&mut self, work: crate::cost::Work, pieces: usize) -> Result<(), Throw> {
        self.charge(work.units_of(pieces))
    }
}

/// A charge may take the slice below zero, down to `floor` (the meter's end): a native's or an
/// instruction's work is not split across slices, but it never spends more than the meter
/// allows. One that the meter cannot pay is refused before the work: nothing is spent, the
/// price is kept in `refused`, and the slice ends; the process goes on only once its meter
/// holds the price (the work is then done from the same state).
#[inline]
fn charge_fuel(
    fuel: &mut i64,
    floor: i64,
    refused: &mut Option<u64>,
    units: u64,
) -> Result<(), Throw> {
    let u = units.min(i64::MAX as u64) as i64;
    match fuel.checked_sub(u) {
        Some(left) if left >= floor => {
            *fuel = left;
            Ok(())
        }
        _ => {
            *refused = Some(units);
            Err(Throw::OutOfFuel)
        }
    }
}
