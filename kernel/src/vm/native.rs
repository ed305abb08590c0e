//! The interface between the VM and native (Rust) functions: what a native receives, what it
//! may ask the VM to do next, and how it fails.
//!
//! Natives are plain `fn` pointers registered in a `NativeTable`; values name them by index
//! (`NativeId`), so a heap holding native functions still serializes. A native that needs to
//! call Lua does not call it: it returns `Action::Call` and is entered again, with the state
//! number it chose, once the callee returned — a continuation, as Lua's `lua_callk`.
//!
//! A budget may stop a process while a native waits for such a call, so a snapshot may hold
//! a native mid-call. **One table rules what may be saved:** each native that continues after
//! a call declares its continuation states once, next to its code (`Resumable`, registered
//! with `NativeTable::set_resumable`), and the snapshot check (`vm::check`) accepts a native
//! caught in state `s` only as its declaration says: where the call it waits for stands in its
//! frame and how many results it takes. What a state's stack slots hold is not checked: every
//! continuation treats them as hostile (a snapshot's bytes are), and fails with a Lua error
//! when they are not what it left there.

use crate::heap::NativeId;
use crate::value::NativeRef;

/// What a native is entered with.
#[derive(Clone, Copy, Debug)]
pub struct NativeCall {
    /// Stack index of the first argument. The arguments run up to `Vm::top()` on first entry.
    pub base: usize,
    /// 0 on first entry; the state given in `Action::Call` when a callee returned;
    /// `STATE_ERROR` when a protected native caught an error (the error value is on top).
    pub state: u32,
    /// The native closure being run (for its upvalues).
    pub native: NativeRef,
}

/// What a native asks the VM to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Return the top `n` values of the stack.
    Return(usize),
    /// Call the value at stack index `func` with the values above it, then enter this native
    /// again with `state` (which must not be 0); the results are at `func..top`.
    Call {
        func: usize,
        nresults: i32,
        state: u32,
    },
    /// The native arranged the next step itself (a coroutine switch); enter nothing.
    Pending,
    /// The meter refused a step after the native had done (and paid for, and recorded) part
    /// of its work: stop out of fuel, keeping what it charged, and enter it again with `state`
    /// once there is fuel (its stack as it left it, as after a call with no results). Unlike
    /// a call to a checkpoint, a stop is no boundary of the run: a budget that ran out there
    /// leaves the collector, and so the fuel, as an uninterrupted run has them.
    Stop { state: u32 },
    /// The native needs its host (the kernel: another process, a gateway): `Vm::run` returns
    /// `Outcome::Trap` with the native's arguments readable through `Vm::trap_args`. The host
    /// answers with `Vm::complete_trap` (the native is entered again with `state` and the
    /// results above its base) or `Vm::fail_trap` (the error is raised at the native).
    Trap { state: u32 },
}

/// Why a native (or the interpreter) stopped. Everything but `OutOfFuel` becomes a Lua error.
#[derive(Clone, Debug)]
pub enum Throw {
    /// A Lua error value, raised as is.
    Value(crate::value::Value),
    /// A message; the position of the calling Lua code is prepended (`luaL_error`).
    Message(String),
    /// A message raised as is, without position.
    Plain(String),
    /// `bad argument #arg to 'name' (msg)`, with position and the function's name.
    BadArg { arg: usize, msg: String },
    /// The memory bank refused an allocation.
    Memory(crate::bank::OutOfMemory),
    /// The slice's fuel is spent; the native runs again from the same state later.
    OutOfFuel,
    /// Lua stack overflow.
    StackOverflow,
    /// The stack overflowed again while the first overflow was handled (Lua's `LUA_ERRERR`):
    /// "error in error handling", raised past any message handler.
    ErrorInErrorHandling,
    /// Calling a value that is not callable, at stack index `func`.
    CallError { func: usize },
    /// Concatenating a value that cannot be, at stack index `slot`.
    ConcatError { slot: usize },
    /// A `<close>` variable whose value has no `__close`.
    NonClosable { slot: usize },
    /// The message handler of an `xpcall` returned this value.
    Handled(crate::value::Value),
}

impl Throw {
    pub fn msg(m: impl Into<String>) -> Throw {
        Throw::Message(m.into())
    }

    pub fn bad_arg(arg: usize, msg: impl Into<String>) -> Throw {
        Throw::BadArg {
            arg,
            msg: msg.into(),
        }
    }
}

/// A native function.
pub type NativeFn = fn(&mut super::Vm, NativeCall) -> Result<Action, Throw>;

/// Stack slot (relative to the native's function slot) where `xpcall` keeps its handler.
pub const XPCALL_HANDLER_SLOT: usize = 2;

/// Where the call a native waits for stands in its frame, relative to its base (the first
/// argument slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallSlot {
    /// The function slot is `base + k`.
    At(usize),
    /// At or above `base + k` (pushed above the arguments, however many there were).
    From(usize),
    /// Right above `Int(n)`, which sits right above the `n` values it counts from the base,
    /// and the state is at most `n - spare` (`print`, `string.format`: state `k + 1` while
    /// value `k` is being converted).
    Counted { spare: usize },
}

/// A continuation state (or a range of them) and the call the native makes before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The first and last state of the range.
    pub states: (u32, u32),
    pub call: CallSlot,
    /// The results the call is made for (`-1`: all of them).
    pub nresults: i32,
}

impl Resume {
    /// State `state`: a call at `call` for `nresults` results.
    pub const fn one(state: u32, call: CallSlot, nresults: i32) -> Resume {
        Resume {
            states: (state, state),
            call,
            nresults,
        }
    }
}

/// The states a native may be saved in mid-call (state 0, about to run, needs no
/// declaration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resumable {
    /// Whether its frame may catch errors (`flags::PROTECTED`): while an error unwinds to
    /// it, the frame above may be a `__close` or a message handler instead of its call.
    pub protects: bool,
    pub states: &'static [Resume],
}

/// Where a native caught mid-call stands, as the snapshot check sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Its call is still to return: its function slot and the results it was made for.
    Call { func: usize, nresults: i32 },
    /// Its frame is on top: the call returned, its results end at `top`.
    Returned { top: usize },
}

impl Resumable {
    /// Whether `state` is one of the declared states.
    pub fn has_state(&self, state: u32) -> bool {
        self.states
            .iter()
            .any(|r| (r.states.0..=r.states.1).contains(&state))
    }

    /// Whether a native whose frame's base is `base`, in `state`, may stand as `waiting`
    /// says on `stack`: one declared state places its call there and takes that many
    /// results.
    pub fn accepts(
        &self,
        stack: &[crate::value::Value],
        base: usize,
        state: u32,
        waiting: Waiting,
    ) -> bool {
        self.states
            .iter()
            .filter(|r| (r.states.0..=r.states.1).contains(&state))
            .any(|r| {
                let slot_ok = |func: usize| match r.call {
                    CallSlot::At(k) => Some(func) == base.checked_add(k),
                    CallSlot::From(k) => base.checked_add(k).is_some_and(|at| func >= at),
                    CallSlot::Counted { spare } => {
                        let Some(at) = func.checked_sub(1).filter(|&at| at >= base) else {
                            return false;
                        };
                        let n = at - base;
                        matches!(stack.get(at), Some(&crate::value::Value::Int(c)) if c == n as i64)
                            && (state as usize).saturating_add(spare) <= n
                    }
                };
                match waiting {
                    Waiting::Call { func, nresults } => nresults == r.nresults && slot_ok(func),
                    // A call for a fixed number of results leaves the top right above them;
                    // one for all of them, anywhere above its function slot.
                    Waiting::Returned { top } => match usize::try_from(r.nresults) {
                        Ok(n) => top.checked_sub(n).is_some_and(slot_ok),
                        Err(_) => match r.call {
                            CallSlot::At(k) | CallSlot::From(k) => {
                                base.checked_add(k).is_some_and(|at| top >= at)
                            }
                            CallSlot::Counted { .. } => false,
                        },
                    },
                }
            })
    }
}

/// A native that is one of the VM's coroutine switches. The one declaration gives the VM both
/// ends of the switch:
/// - its first step, which the VM takes itself when an instruction has just called it and
///   the switch needs nothing that may fail (`Vm::switch_now`): the same state and fuel as
///   the native's own step, without entering it;
/// - what it does when entered again in state 1 with the switch's values above its base:
///   where it would only hand them back, the VM returns them at the switch itself
///   (`Vm::finish_reentry`), a step fewer.
///
/// The declaration must be exactly what the native's code does in both places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// `coroutine.resume`: resumes the thread in its first argument with the other
    /// arguments; entered again, returns every value above its base (`ok, values…`).
    Resume,
    /// `coroutine.wrap`'s function: resumes the thread in its first upvalue with its
    /// arguments; entered again, returns the values after a true first one, and is entered
    /// otherwise (to raise the error).
    ResumeWrapped,
    /// `coroutine.yield`: yields its arguments; entered again, returns every value above its
    /// base (the next resume's arguments).
    Yield,
}

impl Switch {
    /// The first value it returns of those a switch put above its base when it is entered
    /// again, or `None` where it must be entered itself. `first_true`: whether the value at
    /// its base is true (Lua's truth).
    pub fn returns_from(self, base: usize, first_true: bool) -> Option<usize> {
        match self {
            Switch::Resume | Switch::Yield => Some(base),
            Switch::ResumeWrapped if first_true => Some(base + 1),
            Switch::ResumeWrapped => None,
        }
    }
}

/// One registered native.
#[derive(Clone)]
pub struct NativeEntry {
    pub name: &'static str,
    pub func: NativeFn,
    /// Frame flags the native's frames start with (see `frame::flags`).
    pub flags: u8,
    /// The states it may be saved in mid-call, if any.
    pub resumable: Option<&'static Resumable>,
    /// The coroutine switch it is, if any.
    pub switch: Option<Switch>,
    /// The kernel service or gateway method it traps for, if any (from its name).
    pub trap: Option<crate::service::Trap>,
}

/// The natives a process can name. Built once by the embedder; the same table must be given
/// when a serialized VM is restored (ids are positions in it).
#[derive(Clone, Default)]
pub struct NativeTable {
    entries: Vec<NativeEntry>,
    /// Looked up on every copy between processes (`process.proxy`): a fast hasher, since
    /// the names are the build's own.
    by_name: hashbrown::HashMap<&'static str, NativeId, foldhash::fast::FixedState>,
    xpcall: Option<NativeId>,
}

impl NativeTable {
    pub fn new() -> NativeTable {
        NativeTable::default()
    }

    /// Registers a native and returns its id.
    pub fn register(&mut self, name: &'static str, func: NativeFn, flags: u8) -> NativeId {
        self.entries.push(NativeEntry {
            name,
            func,
            flags,
            resumable: None,
            switch: None,
            trap: crate::service::Trap::of_native(name),
        });
        let id = NativeId((self.entries.len() - 1) as u16);
        self.by_name.insert(name, id);
        id
    }

    /// The id of the native registered under `name`.
    pub fn id_of(&self, name: &str) -> Option<NativeId> {
        self.by_name.get(name).copied()
    }

    /// Marks the native that behaves as `xpcall` (its handler is called at the error point).
    pub fn set_xpcall(&mut self, id: NativeId) {
        self.xpcall = Some(id);
    }

    pub fn is_xpcall(&self, id: NativeId) -> bool {
        self.xpcall == Some(id)
    }

    pub fn func(&self, id: NativeId) -> NativeFn {
        match self.entries.get(id.0 as usize) {
            Some(e) => e.func,
            None => missing_native,
        }
    }

    pub fn name(&self, id: NativeId) -> &'static str {
        self.entries
            .get(id.0 as usize)
            .map(|e| e.name)
            .unwrap_or("?")
    }

    /// The kernel service or gateway method native `id` traps for, if any.
    pub fn trap(&self, id: NativeId) -> Option<crate::service::Trap> {
        self.entries.get(id.0 as usize).and_then(|e| e.trap)
    }

    pub fn flags_of(&self, id: NativeId) -> u8 {
        self.entries
            .get(id.0 as usize)
            .map(|e| e.flags)
            .unwrap_or(0)
    }

    /// Declares the states native `id` may be saved in mid-call.
    pub fn set_resumable(&mut self, id: NativeId, r: &'static Resumable) {
        if let Some(e) = self.entries.get_mut(id.0 as usize) {
            e.resumable = Some(r);
        }
    }

    /// The states native `id` may be saved in mid-call (`None`: only about to run).
    pub fn resumable(&self, id: NativeId) -> Option<&'static Resumable> {
        self.entries.get(id.0 as usize).and_then(|e| e.resumable)
    }

    /// Declares that native `id` is coroutine switch `s`; the declaration must be exactly
    /// what its code does (`Switch`).
    pub fn set_switch(&mut self, id: NativeId, s: Switch) {
        if let Some(e) = self.entries.get_mut(id.0 as usize) {
            e.switch = Some(s);
        }
    }

    /// `flags_of` and `switch` of native `id` in one look (a call from an instruction).
    #[inline]
    pub fn frame_flags_and_switch(&self, id: NativeId) -> (u8, Option<Switch>) {
        self.entries
            .get(id.0 as usize)
            .map_or((0, None), |e| (e.flags, e.switch))
    }

    /// The coroutine switch native `id` is, if any.
    #[inline]
    pub fn switch(&self, id: NativeId) -> Option<Switch> {
        self.entries.get(id.0 as usize).and_then(|e| e.switch)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every native's name, in id order (a snapshot records them: ids are positions).
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Stands in for an id that the table does not have (a snapshot from another build).
fn missing_native(_: &mut super::Vm, _: NativeCall) -> Result<Action, Throw> {
    Err(Throw::msg("native function not available in this build"))
}
