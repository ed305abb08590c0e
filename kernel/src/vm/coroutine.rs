//! Coroutines. The running thread is taken out of its heap slot while it runs (`Vm::th`);
//! switching puts it back and takes the next one out. `resume_chain` lists the threads waiting
//! in `coroutine.resume`, innermost last. Resuming, yielding, a coroutine's return or failure
//! and `coroutine.close` move between them and hand values across (`Handoff`).
//!
//! **Invariants:**
//! - Exactly one thread is out of its slot, `current`, and it is `Running`; the threads in
//!   `resume_chain` are `Normal`, a yielded one is `Suspended`, an ended one `Dead`.
//! - Values cross from one thread's stack straight to the other's, never through a temporary
//!   whose size the program chooses.
//! - A resume is refused past 200 nested resumes (Lua's C stack limit).
//! - A plain switch (`resume_in_place`, `hand_back`: a coroutine waiting in a yield, room for
//!   the values on both stacks) needs nothing that may fail, so the VM may take it itself for
//!   an instruction that calls a switching native (`switch_now`); it is the same code the
//!   natives' own steps run for it.

use super::native::Switch;
use super::{Throw, Vm, EXTRA_STACK};
use crate::cost::RESUME_UNITS;
use crate::heap::frame::{flags, FrameKind, ReturnTo};
use crate::heap::{ThreadStatus, Upval};
use crate::value::{NativeRef, ThreadRef, Value};

/// What `resume` answers when a coroutine hands back more values than its resumer's stack may
/// take (`Vm::too_many_for`).
const TOO_MANY_RESULTS: &[u8] = b"too many results to resume";

/// Nested resumes allowed (Lua's limit of nested C calls, which each resume is there).
const MAX_NESTED_RESUMES: usize = 200;

/// Values handed from one thread to another at a yield, return or failure.
pub(super) enum Handoff {
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

impl Vm {
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
        // The top frame knows whether any frame of the thread is `NO_YIELD`: a yield costs
        // the same however deep the coroutine is.
        !self.is_main_thread()
            && self
                .th
                .frames
                .last()
                .is_none_or(|f| f.flags & (flags::NO_YIELD | flags::NO_YIELD_BELOW) == 0)
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
        // `t`'s thread trades places with the running one, which is then in `t`'s box; the
        // boxes of `t` and of the running thread's slot (an empty placeholder while it runs)
        // trade places. One move of a `Thread` each way, where taking `t`'s out and putting
        // the running one back moved each twice.
        self.th.status = status_of_old;
        std::mem::swap(&mut self.th, self.heap.thread_mut(t));
        self.heap.threads.swap(t.0, self.current.0);
        self.current = t;
        self.th.status = ThreadStatus::Running;
    }

    /// Resumes coroutine `co` with the top `nargs` values of the running stack, charging
    /// `RESUME_UNITS` first. Called by the `coroutine.resume` native (and a wrapped
    /// coroutine's), whose frame is re-entered with state 1 and `ok, values…` above its base
    /// once the coroutine yields, returns or fails.
    ///
    /// # Errors
    /// The resume messages of Lua (`cannot resume dead coroutine`, …) as `Throw::Message`.
    pub fn resume_coroutine(&mut self, co: ThreadRef, nargs: usize) -> Result<(), Throw> {
        self.charge(RESUME_UNITS)?;
        if co == self.current {
            return Err(Throw::msg("cannot resume non-suspended coroutine"));
        }
        let status = self.heap.thread(co).status;
        match status {
            ThreadStatus::Suspended => {}
            ThreadStatus::Dead => return Err(Throw::msg("cannot resume dead coroutine")),
            _ => return Err(Throw::msg("cannot resume non-suspended coroutine")),
        }
        if self.resume_chain.len() >= MAX_NESTED_RESUMES {
            return Err(Throw::msg("C stack overflow"));
        }
        if self.resumes_in_place(co, nargs) {
            self.resume_in_place(co, nargs);
            return Ok(());
        }
        let state = self.th.frames.last().map(|f| f.pc);
        let (resumer, from) = self.switch_into(co, nargs);
        let entered = self.enter_resumed(resumer, from, nargs);
        if let Err(Throw::Memory(refused)) = entered {
            // Refused memory before the coroutine ran (its stack and frames are as they were):
            // back to the resumer as it stood, so `coroutine.resume` runs again from the start.
            self.switch_to(resumer, ThreadStatus::Suspended);
            self.resume_chain.pop();
            self.th.top = from + nargs;
            if let (Some(f), Some(state)) = (self.th.frames.last_mut(), state) {
                f.pc = state;
            }
            return Err(Throw::Memory(refused));
        }
        entered
    }

    /// Whether resuming `co` with `nargs` values is a plain switch, which needs nothing that
    /// may fail: `co` is suspended in a yield (it has run), its stack has room for the
    /// values, and the resume is within the nesting limit.
    fn resumes_in_place(&self, co: ThreadRef, nargs: usize) -> bool {
        let th = self.heap.thread(co);
        co != self.current
            && th.status == ThreadStatus::Suspended
            && !th.frames.is_empty()
            && th.top + nargs + EXTRA_STACK <= th.stack.len()
            && self.resume_chain.len() < MAX_NESTED_RESUMES
    }

    /// A plain resume (`resumes_in_place`): into `co`, the values handed to the yield it
    /// waits in.
    fn resume_in_place(&mut self, co: ThreadRef, nargs: usize) {
        let (resumer, from) = self.switch_into(co, nargs);
        self.take_values(resumer, from, nargs);
        self.finish_reentry();
    }

    /// The switch of a resume: the resumer's native waits in state 1, without its top
    /// `nargs` values (still in their slots, to be copied), and `co` runs. The resumer and
    /// where the values start.
    fn switch_into(&mut self, co: ThreadRef, nargs: usize) -> (ThreadRef, usize) {
        let from = self.th.top - nargs;
        self.th.top = from;
        if let Some(f) = self.th.frames.last_mut() {
            f.pc = 1;
        }
        let resumer = self.current;
        self.resume_chain.push(resumer);
        self.switch_to(co, ThreadStatus::Normal);
        (resumer, from)
    }

    /// Pushes `n` values from the stack of thread `from_thread` (not the running one),
    /// starting at `from`, straight onto the running stack, which has room for them.
    fn take_values(&mut self, from_thread: ThreadRef, from: usize, n: usize) {
        let top = self.th.top;
        let src = &self.heap.threads.get(from_thread.0).stack;
        if from + n <= src.len() && top + n <= self.th.stack.len() {
            self.th.stack[top..top + n].copy_from_slice(&src[from..from + n]);
        }
        self.th.top = top + n;
    }

    /// The resumed coroutine's side of `resume_coroutine`: the arguments, straight from the
    /// resumer's stack (now in its slot), and for a fresh coroutine the call of its function.
    /// Refused memory, it has changed nothing of the coroutine.
    fn enter_resumed(
        &mut self,
        resumer: ThreadRef,
        from: usize,
        nargs: usize,
    ) -> Result<(), Throw> {
        let fresh = self.th.frames.is_empty();
        let top = self.th.top;
        self.ensure_stack(top + nargs + EXTRA_STACK)?;
        self.take_values(resumer, from, nargs);
        if fresh {
            if let Err(e) = self.call_value(0, -1, ReturnTo::Normal) {
                self.th.top = top;
                return Err(e);
            }
        } else {
            self.finish_reentry();
        }
        Ok(())
    }

    /// The native the switch has just come back to (the coroutine's `yield`, the resumer's
    /// `resume`), waiting in state 1 with the switch's values above its base: when its
    /// `Switch` says it would only hand them back, they are returned here, as `run` would
    /// have it do as its next step. Otherwise `run` enters it.
    fn finish_reentry(&mut self) {
        let Some(&f) = self.th.frames.last() else {
            return;
        };
        let FrameKind::Native(n) = f.kind else {
            return;
        };
        if f.pc != 1 {
            return;
        }
        let (base, top) = (f.base as usize, self.th.top);
        let Some(switch) = self.natives.switch(self.heap.native(n).id) else {
            return;
        };
        let first_true = base < top && self.th.stack[base].truthy();
        let Some(first) = switch.returns_from(base, first_true) else {
            return;
        };
        if first <= top {
            // Declined (a frame not called normally, results past the stack): `run` enters
            // the native, which returns them through `post_call`.
            self.return_normally(first, top - first);
        }
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
        // Room for the values on the resumer's stack first: refused memory, nothing has
        // changed and the yield is made again once there is memory.
        self.reserve_for_resumer(n)?;
        let from = self.wait_in_yield(n);
        self.return_to_resumer(true, Handoff::Range(from, n), ThreadStatus::Suspended)
    }

    /// The yielding native waits in state 1, without its `n` values (which stay in their
    /// slots until the resumer has copied them); where they start.
    fn wait_in_yield(&mut self, n: usize) -> usize {
        let from = self.th.top - n;
        if let Some(f) = self.th.frames.last_mut() {
            f.pc = 1;
            self.th.top = f.base as usize;
        }
        from
    }

    /// A plain yield of the top `n` values (yieldable, `resumer_has_room`).
    fn yield_in_place(&mut self, n: usize) {
        let from = self.wait_in_yield(n);
        self.hand_back(from, n, ThreadStatus::Suspended);
    }

    /// Where the values handed back to `resumer` go: its native's base, past the one slot a
    /// native waiting in a later state keeps.
    fn resumer_top(&self, resumer: ThreadRef) -> usize {
        self.heap
            .thread(resumer)
            .frames
            .last()
            .map_or(0, |f| f.base as usize + usize::from(f.pc > 1))
    }

    /// Whether the resumer's stack already has room for `true` and `n` values handed back
    /// (not too many of them): then handing them back needs nothing that may fail.
    fn resumer_has_room(&self, n: usize) -> bool {
        let Some(&resumer) = self.resume_chain.last() else {
            return false;
        };
        let top = self.resumer_top(resumer);
        !self.too_many_for(top, n)
            && top + 1 + n + EXTRA_STACK <= self.heap.thread(resumer).stack.len()
    }

    /// Makes room on the resumer's stack for `ok` and `n` values handed back to it (a yield,
    /// or the coroutine's end), before anything of the hand-over is done; for too many
    /// values, room for `false` and the message (made here, so the hand-over needs no
    /// memory).
    pub(super) fn reserve_for_resumer(&mut self, n: usize) -> Result<(), Throw> {
        let Some(&resumer) = self.resume_chain.last() else {
            return Ok(());
        };
        let top = self.resumer_top(resumer);
        let n = if self.too_many_for(top, n) {
            self.heap.intern(TOO_MANY_RESULTS)?;
            1
        } else {
            n
        };
        self.reserve_stack_of(resumer, top + 1 + n + EXTRA_STACK)
    }

    /// Whether `ok` and `n` values are more than a stack whose top is `top` may take, by
    /// lua5.4's rule (`auxresume`'s `lua_checkstack(L, n + 1)`, which keeps its
    /// `EXTRA_STACK`, 5 slots, free): then the resumer gets `false, "too many results to
    /// resume"` instead, and the values are dropped.
    fn too_many_for(&self, top: usize, n: usize) -> bool {
        const LUA_EXTRA_STACK: usize = 5;
        top + LUA_EXTRA_STACK + n + 1 > self.stack_limit
    }

    /// Grows the stack of thread `t` (not the running one) to `size` slots, charged to the
    /// bank as `ensure_stack` grows the running one's.
    fn reserve_stack_of(&mut self, t: ThreadRef, size: usize) -> Result<(), Throw> {
        let len = self.heap.thread(t).stack.len();
        if size <= len {
            return Ok(());
        }
        let new_len = self.grown_stack_len(len, size)?;
        self.heap
            .charge((new_len - len) * crate::heap::VALUE_BYTES)?;
        let stack = &mut self.heap.thread_mut(t).stack;
        stack.reserve_exact(new_len - len);
        stack.resize(new_len, Value::Nil);
        Ok(())
    }

    pub(super) fn return_to_resumer(
        &mut self,
        ok: bool,
        values: Handoff,
        status: ThreadStatus,
    ) -> Result<(), Throw> {
        if let (true, &Handoff::Range(from, n)) = (ok, &values) {
            if self.resumer_has_room(n) {
                self.hand_back(from, n, status);
                return Ok(());
            }
        }
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
        let (ok, values) = match values {
            // Made by `reserve_for_resumer`, and nothing was collected since: found, not made.
            Handoff::Range(_, n) if ok && self.too_many_for(base + keep, n) => (
                false,
                Handoff::Value(Value::Str(self.heap.intern(TOO_MANY_RESULTS)?)),
            ),
            other => (ok, other),
        };
        self.push(Value::Bool(ok))?;
        match values {
            Handoff::Value(v) => self.push(v)?,
            Handoff::Range(from, n) => {
                // Straight from the other thread's stack (now back in its slot) to this one.
                let top = self.th.top;
                self.ensure_stack(top + n + EXTRA_STACK)?;
                self.take_values(from_thread, from, n);
            }
        }
        self.finish_reentry();
        Ok(())
    }

    /// `return_to_resumer` for `true` and `n` values at `from` when `resumer_has_room(n)`:
    /// nothing of it may fail.
    fn hand_back(&mut self, from: usize, n: usize, status: ThreadStatus) {
        let Some(resumer) = self.resume_chain.pop() else {
            return;
        };
        let from_thread = self.current;
        let top = self.resumer_top(resumer);
        self.switch_to(resumer, status);
        // In range: `resumer_has_room` saw room above `top` for more than this.
        self.th.stack[top] = Value::Bool(true);
        self.th.top = top + 1;
        self.take_values(from_thread, from, n);
        self.finish_reentry();
    }

    /// The first step of native `native`, switch `switch`, which an instruction has just
    /// called (its frame on top, about to be entered, its arguments from `base`), taken here
    /// when it is a plain switch (`resumes_in_place`, `resumer_has_room`) and `run`'s loop
    /// would take that step next (`loop_may_take_native_step`). It is what the native's own
    /// step does then: the same fuel, state and values, without entering the native.
    /// Anything else is left to the native.
    pub(super) fn switch_now(&mut self, switch: Switch, native: NativeRef, base: usize) {
        let top = self.th.top;
        if base > top || !self.loop_may_take_native_step() {
            return;
        }
        let (co, nargs) = match switch {
            Switch::Yield => {
                let n = top - base;
                if self.is_yieldable() && self.resumer_has_room(n) {
                    self.yield_in_place(n);
                }
                return;
            }
            // `coroutine.resume(co, …)`.
            Switch::Resume => match self.th.stack.get(base) {
                Some(&Value::Thread(co)) if base < top => (co, top - base - 1),
                _ => return,
            },
            // A wrapped coroutine's function: the coroutine is its upvalue.
            Switch::ResumeWrapped => match self.heap.native(native).upvalues.first() {
                Some(&Value::Thread(co)) => (co, top - base),
                _ => return,
            },
        };
        if self.resumes_in_place(co, nargs) && self.try_charge(RESUME_UNITS) {
            self.resume_in_place(co, nargs);
        }
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

    /// Whether a coroutine died of an error with to-be-closed variables pending (what
    /// `coroutine.wrap` closes before it raises the error, as `lua_closethread`): not one
    /// that yielded, or whose values did not fit its resumer.
    pub fn has_pending_close(&self, co: ThreadRef) -> bool {
        let th = self.heap.thread(co);
        co != self.current && th.failed && !th.tbc.is_empty()
    }
}
