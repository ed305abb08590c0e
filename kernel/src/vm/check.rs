//! Checking a VM that came from untrusted bytes (a snapshot) before it runs, and whether a live
//! VM is at a point a snapshot can be taken.
//!
//! The interpreter trusts what its own execution builds: frames whose registers fit their
//! stack, natives re-entered only in the states they left, coroutines linked by the resume
//! chain. `check_restored` proves those invariants of a deserialized VM (after the heap's own
//! check, `heap::check`), so that running it can fail only with Lua errors.
//!
//! Natives keep private state between entries (`NativeCall::state`), and a budget may stop a
//! process while one waits for a Lua call it made (a comparator, a `__tostring`, a reader)
//! or right after that call returned. Which states a native may be saved in is declared once,
//! next to the native (`native::Resumable`, in the library's tables): for each state, where
//! the call it waits for stands in its frame and how many results it takes. The check
//! (`Vm::native_frame_ok`) accepts a native caught in state `s` only where its declaration
//! puts the call (the frame right above it, or on top the results it left), so a damaged
//! frame is refused rather than read out of place; the kernel's own continuations (coroutine
//! switches, the callback runner, services waiting for their answer) are listed here. A
//! native without a declaration may appear only about to run (state 0, on top of its thread),
//! where it checks its arguments as on any call. What a declared state's stack slots hold is
//! not checked: a snapshot's bytes are hostile, so every continuation reads its slots as
//! untrusted (positions checked against the string, registers computed without overflow,
//! loops paid for) and fails with a Lua error ("table.sort: lost its state") when they are
//! not what it left. `snapshot_ready` applies the same rule to a live VM, so a snapshot that
//! would be refused on restore is refused when taken.

use super::native::Waiting;
use super::{Vm, EXTRA_STACK, MAX_C_CALLS_HANDLING, STATE_ERROR};
use crate::heap::check::{invalid, CheckError};
use crate::heap::frame::{flags, Frame, FrameKind, ReturnTo};
use crate::heap::{NativeId, Thread, ThreadStatus, Upval};
use crate::metamethod::ALL_META;
use crate::value::{ThreadRef, Value};

/// The kernel services: natives that trap with state 1 and return what the kernel put above
/// their base when entered again.
fn is_kernel_service(name: &str) -> bool {
    crate::service::Trap::of_native(name).is_some_and(crate::service::Trap::waits_in_trap)
}

/// Whether native `name` may be the VM's pending trap in `state`: a kernel service waiting
/// for its answer, or the callback runner handing its results back.
fn trap_ok(name: &str, state: u32) -> bool {
    (is_kernel_service(name) && state == 1) || (name == "process.callback" && state == 2)
}

/// Where a native frame stands in its thread, for `Vm::native_frame_ok`.
#[derive(Clone, Copy)]
struct Stand {
    /// The top frame of its thread.
    top: bool,
    /// The VM's pending trap.
    trapped: bool,
    /// A call it asked for that is still to be made (`Vm::unfinished_call`, on the running
    /// thread's top frame only).
    unfinished: Option<(u32, i32)>,
}

/// The natives whose continuations the kernel itself drives: coroutine switches (the VM
/// pushes what the other thread handed over at their base) and the callback runner. Whether
/// `name` may be found in `state` (not 0) outside a trap.
fn kernel_continuation_ok(name: &str, state: u32) -> bool {
    match name {
        "coroutine.resume"
        | "coroutine.yield"
        | "coroutine.close"
        | "coroutine.close.runner"
        | "process.callback" => state == 1,
        "coroutine.wrap.function" => state == 1 || state == 2,
        _ => false,
    }
}

/// Natives whose frames the kernel lets catch errors (`flags::PROTECTED`); the library's own
/// say so in their `Resumable`.
fn kernel_protects(name: &str) -> bool {
    matches!(name, "process.callback" | "coroutine.close.runner")
}

impl Vm {
    /// Checks a deserialized VM (its natives attached) and recomputes what it derives, so that
    /// running it can only fail with Lua errors. Threads, frames, coroutine links, upvalues,
    /// the VM's own fields and every prototype's code are checked.
    ///
    /// # Errors
    /// `CheckError` naming the first broken invariant.
    pub fn check_restored(&mut self) -> Result<(), CheckError> {
        // The running thread goes back into its slot so every thread is checked the same way.
        if self.heap.threads.try_get(self.current.0).is_none() {
            return invalid("the running thread has no slot");
        }
        // What the snapshot put in its slot is dropped, not kept as the placeholder: the
        // placeholder stays an empty thread, which nothing checks or charges.
        let running = std::mem::take(&mut self.th);
        *self.heap.thread_mut(self.current) = running;
        let result = self.check_all();
        self.th = std::mem::take(self.heap.thread_mut(self.current));
        result?;
        // Needs the running thread back in place (it reads its top frame).
        if !self.unfinished_concat_is_valid() {
            return invalid("a concatenation is left unfinished where no CONCAT stopped");
        }
        if self
            .rethrow
            .is_some_and(|(_, top, _)| top as usize > self.th.top)
        {
            return invalid("an error to raise again cuts the stack above its top");
        }
        if !self.unfinished_call_is_valid() {
            return invalid("a native's call is left unfinished where no native waits for it");
        }
        Ok(())
    }

    fn check_all(&mut self) -> Result<(), CheckError> {
        self.heap.check_restored(self.natives.len())?;
        let heap = &self.heap;
        for (v, what) in [
            (Value::Table(self.globals), "the globals"),
            (Value::Table(self.registry), "the registry"),
            (Value::Thread(self.main_thread), "the main thread"),
            (Value::Str(self.memory_message), "the memory message"),
        ] {
            heap.check_value(v, what)?;
        }
        if heap.str(self.memory_message) != b"not enough memory" {
            return invalid("the memory message was altered");
        }
        if let Some(m) = self.string_meta {
            heap.check_value(Value::Table(m), "the string metatable")?;
        }
        if self.meta_names.len() != ALL_META.len() {
            return invalid("wrong number of metamethod names");
        }
        for (&s, m) in self.meta_names.iter().zip(ALL_META) {
            heap.check_value(Value::Str(s), "the metamethod names")?;
            if heap.str(s) != m.name().as_bytes() {
                return invalid("a metamethod name was altered");
            }
        }
        let mode = self.meta_names[crate::metamethod::MetaMethod::Mode as usize];
        let gc = self.meta_names[crate::metamethod::MetaMethod::Gc as usize];
        if heap.gc.mode_key != Some(mode) || heap.gc.gc_key != Some(gc) {
            return invalid("the collector's metamethod names were altered");
        }
        if self.light_natives.len() > self.natives.len() {
            return invalid("too many light natives");
        }
        for (i, n) in self.light_natives.iter().enumerate() {
            if let Some(n) = *n {
                match heap.natives.try_get(n.0) {
                    Some(c) if c.id.0 as usize == i && c.upvalues.is_empty() => {}
                    _ => return invalid(format!("light native {i} is not that native")),
                }
            }
        }
        let loose = [self.trap_error, self.rethrow.map(|(_, _, v)| v)]
            .into_iter()
            .flatten()
            .chain(self.finished.iter().flatten().copied());
        for v in loose {
            heap.check_value(v, "the VM's pending values")?;
        }
        self.stack_limit = self.stack_limit.clamp(1000, super::MAX_STACK * 16);
        self.fast_frames_limit = self.frames_limit();
        self.fuel = 0;
        self.check_threads()?;
        for (i, _) in heap.protos.iter() {
            super::verify::verify_proto(heap, crate::value::ProtoRef(i))
                .map_err(|e| CheckError(e.to_string()))?;
        }
        Ok(())
    }

    /// The coroutine links: the running thread is `current`; the resume chain runs from the
    /// main thread through threads in `normal` state, each waiting in a resume; every other
    /// thread is suspended (fresh, or in a yield) or dead.
    fn check_threads(&self) -> Result<(), CheckError> {
        let heap = &self.heap;
        let chain = &self.resume_chain;
        if chain.iter().any(|t| heap.threads.try_get(t.0).is_none()) {
            return invalid("the resume chain names a dangling thread");
        }
        let expected_first = if chain.is_empty() {
            self.current
        } else {
            chain[0]
        };
        if expected_first != self.main_thread {
            return invalid("the resume chain does not start at the main thread");
        }
        let mut seen = std::collections::HashSet::new();
        for &t in chain.iter().chain([&self.current]) {
            if !seen.insert(t.0) {
                return invalid("a thread appears twice in the resume chain");
            }
        }
        // Open upvalues per thread, counted in one pass (a pass per thread would make the
        // check quadratic in what the snapshot's bytes can hold).
        let mut open: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
        for (_, u) in heap.upvalues.iter() {
            if let Upval::Open { thread, .. } = u {
                *open.entry(thread.0).or_default() += 1;
            }
        }
        for (i, th) in heap.threads.iter() {
            let t = ThreadRef(i);
            let role = if t == self.current {
                Role::Running
            } else if seen.contains(&t.0) {
                Role::Resuming
            } else {
                Role::Idle
            };
            let open_here = open.get(&i).copied().unwrap_or(0);
            self.check_thread(t, th, role, open_here)
                .map_err(|CheckError(m)| CheckError(format!("thread {i}: {m}")))?;
        }
        Ok(())
    }

    fn check_thread(
        &self,
        t: ThreadRef,
        th: &Thread,
        role: Role,
        open_here: usize,
    ) -> Result<(), CheckError> {
        let heap = &self.heap;
        if th.top > th.stack.len() {
            return invalid("top above the stack");
        }
        match (role, th.status) {
            (Role::Running, ThreadStatus::Running)
            | (Role::Resuming, ThreadStatus::Normal)
            | (Role::Idle, ThreadStatus::Suspended | ThreadStatus::Dead) => {}
            _ => return invalid("status does not match its place among the coroutines"),
        }
        let n = th.frames.len();
        if role == Role::Idle && th.status == ThreadStatus::Suspended && n == 0 && th.top == 0 {
            return invalid("a fresh coroutine without its function");
        }
        // Open upvalues: listed once each, in stack order, open in this thread.
        let mut last = None;
        for &u in &th.open_upvalues {
            match heap.upvalues.try_get(u.0) {
                Some(Upval::Open { thread, index }) if *thread == t => {
                    if *index as usize >= th.stack.len() || last.is_some_and(|l| l >= *index) {
                        return invalid("open upvalues out of order or outside the stack");
                    }
                    last = Some(*index);
                }
                _ => return invalid("an open upvalue list names a closed or foreign upvalue"),
            }
        }
        if open_here != th.open_upvalues.len() {
            return invalid("an open upvalue is missing from its thread's list");
        }
        let mut prev_tbc = None;
        for &slot in &th.tbc {
            if slot as usize >= th.stack.len() || prev_tbc.is_some_and(|p| p >= slot) {
                return invalid("to-be-closed slots out of order or outside the stack");
            }
            prev_tbc = Some(slot);
        }
        for i in 0..n {
            let f = th.frames[i];
            let caller = i.checked_sub(1).map(|j| th.frames[j]);
            let top = i + 1 == n;
            let above = th.frames.get(i + 1).copied();
            self.check_frame(th, f, caller, above, top, role)
                .map_err(|CheckError(m)| CheckError(format!("frame {i}: {m}")))?;
        }
        // Where each role stands: who waits in a resume, who in a yield.
        let top_native = th.frames.last().and_then(|f| match f.kind {
            FrameKind::Native(n) => heap
                .natives
                .try_get(n.0)
                .map(|c| (self.natives.name(c.id), f.pc)),
            FrameKind::Lua(_) => None,
        });
        match role {
            Role::Resuming => {
                let waiting = matches!(
                    top_native,
                    Some((
                        "coroutine.resume" | "coroutine.wrap.function" | "coroutine.close",
                        1
                    )) | Some(("coroutine.wrap.function", 2))
                );
                if !waiting {
                    return invalid("a thread in the resume chain is not resuming");
                }
            }
            Role::Idle
                if th.status == ThreadStatus::Suspended
                    && n > 0
                    && top_native != Some(("coroutine.yield", 1)) =>
            {
                return invalid("a suspended coroutine that is not in a yield");
            }
            _ => {}
        }
        if role == Role::Running && self.trapped {
            match top_native {
                Some((name, state)) if trap_ok(name, state) => {}
                _ => return invalid("the pending trap is not a native that traps"),
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn check_frame(
        &self,
        th: &Thread,
        f: Frame,
        caller: Option<Frame>,
        above: Option<Frame>,
        top: bool,
        role: Role,
    ) -> Result<(), CheckError> {
        let heap = &self.heap;
        let (func, base, len) = (f.func as usize, f.base as usize, th.stack.len());
        if func >= base || base > len {
            return invalid("function slot and base out of place");
        }
        if let Some(c) = caller {
            if func < c.base as usize {
                return invalid("a call below its caller's registers");
            }
        }
        if f.nresults < -1 || f.nresults > 255 || f.c_depth > MAX_C_CALLS_HANDLING {
            return invalid("impossible result count or call depth");
        }
        let caller_lua = caller.and_then(|c| match c.kind {
            FrameKind::Lua(cl) => heap
                .closures
                .try_get(cl.0)
                .and_then(|cl| heap.protos.try_get(cl.proto.0)),
            FrameKind::Native(_) => None,
        });
        let ret_ok = match f.ret {
            ReturnTo::Normal => true,
            ReturnTo::Discard | ReturnTo::ErrorHandler | ReturnTo::MessageHandler => {
                caller.is_some()
            }
            // A `__close` of the main chunk runs with no frame below once the error reached
            // the top.
            ReturnTo::Unwind => caller.is_some() || th.unwinding.is_some(),
            ReturnTo::Register(r) => caller_lua.is_some_and(|p| r < p.max_stack_size),
            // The caller stopped right after a comparison (whose result skips its JMP): the
            // verifier guarantees both of the comparison's successors are in the code.
            ReturnTo::Condition { .. } | ReturnTo::ConditionNot { .. } => {
                use crate::bytecode::OpCode as O;
                let after_compare = caller.zip(caller_lua).is_some_and(|(c, p)| {
                    (c.pc as usize)
                        .checked_sub(1)
                        .and_then(|i| p.code.get(i))
                        .and_then(|i| i.opcode())
                        // The comparisons: the tests that can call a metamethod.
                        .is_some_and(|op| op.is_test() && !matches!(op, O::Test | O::TestSet))
                });
                after_compare
            }
            ReturnTo::Concat { a, n } => {
                caller_lua.is_some_and(|p| a as usize + n as usize <= p.max_stack_size as usize)
            }
            ReturnTo::Reexecute { top } => caller_lua.is_some() && top as usize <= len,
        };
        if !ret_ok {
            return invalid("results go where the caller cannot take them");
        }
        match f.kind {
            FrameKind::Lua(cl) => {
                let Some(p) = heap
                    .closures
                    .try_get(cl.0)
                    .and_then(|c| heap.protos.try_get(c.proto.0))
                else {
                    return invalid("a dangling function");
                };
                let params = p.num_params as usize;
                let fixed = if p.is_vararg {
                    base == func + 1 + params + f.varargs as usize
                } else {
                    base == func + 1 && f.varargs == 0
                };
                if !fixed
                    || base + p.max_stack_size as usize + EXTRA_STACK > len
                    || f.pc as usize >= p.code.len()
                {
                    return invalid("registers, varargs or pc out of place");
                }
                // Only the main chunk's frame is protected (while its `<close>` variables run
                // after an uncaught error).
                if f.flags & flags::PROTECTED != 0 && caller.is_some() {
                    return invalid("a protected Lua frame");
                }
            }
            FrameKind::Native(n) => {
                let Some(c) = heap.natives.try_get(n.0) else {
                    return invalid("a dangling native");
                };
                let name = self.natives.name(c.id);
                let running_top = top && role == Role::Running;
                let stand = Stand {
                    top,
                    trapped: running_top && self.trapped,
                    unfinished: self.unfinished_call.filter(|_| running_top),
                };
                if f.pc == STATE_ERROR || !self.native_frame_ok(th, f, c.id, above, stand) {
                    return invalid(format!("'{name}' caught in state {}", f.pc));
                }
                let protects = kernel_protects(name)
                    || self.natives.resumable(c.id).is_some_and(|r| r.protects);
                if f.flags & flags::PROTECTED != 0 && !protects {
                    return invalid(format!("'{name}' cannot catch errors"));
                }
                if name == "xpcall" && base + 2 > len {
                    return invalid("xpcall without its handler");
                }
                if top && th.top < base {
                    return invalid("a native's arguments below its base");
                }
            }
        }
        Ok(())
    }

    /// Every thread: those in their slots, and the running one (outside its slot).
    fn all_threads(&self) -> impl Iterator<Item = &Thread> {
        self.heap
            .threads
            .iter()
            .filter(|(i, _)| *i != self.current.0)
            .map(|(_, t)| &**t)
            .chain([&self.th])
    }

    /// Whether a native, in the state its frame `f` holds, may be saved and restored. State 0
    /// (about to run, checking its arguments as on any call) only on top of its thread; a
    /// pending trap only in a native that traps; the kernel's own continuations
    /// (`kernel_continuation_ok`); a kernel service waiting in state 1 for its answer, on top
    /// or serving a callback (the `process.callback` runner right above it). Any other state
    /// only as the native's `Resumable` declares it: a budget may stop a process anywhere
    /// inside the call the native waits for (`above`, the frame of that call), or once the
    /// call returned and the native is to be entered again (on top, its results delivered),
    /// so each such state is accepted where its call and results stand as the native left
    /// them — and nowhere else.
    fn native_frame_ok(
        &self,
        th: &Thread,
        f: Frame,
        id: NativeId,
        above: Option<Frame>,
        stand: Stand,
    ) -> bool {
        let name = self.natives.name(id);
        let state = f.pc;
        // A finalizer started right above, at the boundary before the native ran or took its
        // call's results, returns nothing (`ReturnTo::Discard`) and leaves the stack below
        // its function as it found it: the native stands as it would on top, its top where
        // the finalizer's function is.
        let (above, stand, top) = match above {
            Some(a) if a.flags & flags::FINALIZER != 0 && a.ret == ReturnTo::Discard => {
                if (a.func as usize) < f.base as usize {
                    return false;
                }
                let alone = Stand {
                    top: true,
                    trapped: false,
                    unfinished: None,
                };
                (None, alone, a.func as usize)
            }
            _ => (above, stand, th.top),
        };
        if stand.trapped {
            return trap_ok(name, state);
        }
        if state == 0 {
            return stand.top;
        }
        if kernel_continuation_ok(name, state) {
            return true;
        }
        if is_kernel_service(name) && state == 1 {
            let serving = above.is_some_and(|a| match a.kind {
                FrameKind::Native(r) => self
                    .heap
                    .natives
                    .try_get(r.0)
                    .is_some_and(|c| self.natives.name(c.id) == "process.callback"),
                FrameKind::Lua(_) => false,
            });
            // On top, it returns what the kernel put above its base.
            if serving || (above.is_none() && stand.top) {
                return true;
            }
        }
        let Some(r) = self.natives.resumable(id) else {
            return false;
        };
        let waiting = match (above, stand.unfinished) {
            (Some(a), _) if a.ret == ReturnTo::Normal => Waiting::Call {
                func: a.func as usize,
                nresults: a.nresults,
            },
            // A `__close` or message handler run while an error unwinds to this frame: it is
            // entered next with the error (`STATE_ERROR`), its call's slots no longer read.
            (Some(_), _) => {
                return r.protects && f.flags & flags::PROTECTED != 0 && r.has_state(state)
            }
            (None, Some((func, nresults))) => Waiting::Call {
                func: func as usize,
                nresults,
            },
            (None, None) => Waiting::Returned { top },
        };
        r.accepts(&th.stack, f.base as usize, state, waiting)
    }

    /// Whether a snapshot of this (live, not running) VM could be restored: every native
    /// caught mid-call must be one whose states `check_restored` accepts.
    ///
    /// # Errors
    /// The name of the native that cannot be saved where it stands.
    pub fn snapshot_ready(&self) -> Result<(), String> {
        let threads = self.all_threads();
        for th in threads {
            let n = th.frames.len();
            for (i, f) in th.frames.iter().enumerate() {
                let FrameKind::Native(native) = f.kind else {
                    continue;
                };
                let id = self.heap.native(native).id;
                let name = self.natives.name(id);
                let top = i + 1 == n;
                let running_top = top && std::ptr::eq(th, &self.th);
                let stand = Stand {
                    top,
                    trapped: running_top && self.trapped,
                    unfinished: self.unfinished_call.filter(|_| running_top),
                };
                let above = th.frames.get(i + 1).copied();
                if !self.native_frame_ok(th, *f, id, above, stand) {
                    return Err(format!(
                        "it is inside '{name}', which cannot be saved mid-call; take the snapshot before or after that call"
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Vm {
    /// The running thread (kept outside its heap slot while it runs): for tests that look at
    /// its frames, or damage a deserialized VM as a hostile snapshot could before
    /// `check_restored` judges it. The embedder owns the VM; a script cannot reach this.
    #[doc(hidden)]
    pub fn running_thread_mut(&mut self) -> &mut Thread {
        &mut self.th
    }
}

/// What a process's state in a snapshot says about its VM (`snapshot` checks them against
/// each other).
impl Vm {
    /// Whether a native waits for its host (a kernel service the process is waiting in).
    pub(crate) fn is_trapped(&self) -> bool {
        self.trapped
    }

    /// Whether the VM is at rest between calls, as a finished process's is: nothing running,
    /// no error on its way, no trap, so `start` may begin a call on it.
    pub(crate) fn is_idle(&self) -> bool {
        self.th.frames.is_empty()
            && self.current == self.main_thread
            && self.resume_chain.is_empty()
            && !self.trapped
            && self.trap_error.is_none()
            && self.th.unwinding.is_none()
            && self.finished.is_none()
    }

    /// How many calls from other processes this VM is running (`process.callback` runner
    /// frames, on any thread): a process's `serving` list has one entry for each.
    pub(crate) fn callbacks_running(&self) -> usize {
        let threads = self.all_threads();
        let mut n = 0;
        for th in threads {
            for f in &th.frames {
                if let FrameKind::Native(r) = f.kind {
                    let runner = self
                        .heap
                        .natives
                        .try_get(r.0)
                        .is_some_and(|c| self.natives.name(c.id) == "process.callback");
                    n += usize::from(runner);
                }
            }
        }
        n
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Running,
    Resuming,
    Idle,
}
