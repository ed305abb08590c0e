//! Calls and returns. A call only pushes a frame: a Lua closure gets one holding its registers,
//! a native one that `run` enters (`run_native`, which acts on the `Action` the native returns),
//! and any other value goes through its `__call` chain. Calls made by natives and metamethods
//! rather than by instructions count against Lua's limit of nested C calls (`call_from_c`). A
//! return moves the results to where the frame's `ReturnTo` says: registers for a normal call,
//! a jump for a comparison, the next step of a concatenation, a handler's result for unwinding.
//!
//! **Invariants:**
//! - Nothing here runs the callee: the run loop does, so no Rust recursion follows the
//!   program's calls.
//! - Frames and stack slots are paid to the bank before they exist (`push_frame`,
//!   `ensure_stack`).
//! - After a return, a Lua caller that asked for a fixed number of results has its frame top
//!   back (`restore_caller_top`); one that asked for all of them sees them up to the top.

use super::coroutine::Handoff;
use super::{
    Action, NativeCall, Throw, Vm, EXTRA_STACK, MAX_C_CALLS, MAX_C_CALLS_HANDLING, MAX_TAG_LOOP,
};
use crate::cost::Work;
use crate::heap::frame::{Frame, FrameKind, ReturnTo};
use crate::heap::ThreadStatus;
use crate::metamethod::MetaMethod;
use crate::value::{ClosureRef, Value};

/// Stack slots a trapping native makes sure of for its answer.
const TRAP_ANSWER_ROOM: usize = 8 + EXTRA_STACK;

impl Vm {
    fn push_frame(&mut self, mut f: Frame) -> Result<(), Throw> {
        // A frame inherits its caller's count of calls from C (`call_from_c` adds one) and
        // whether it may be yielded across.
        if let Some(caller) = self.th.frames.last() {
            f.c_depth = caller.c_depth;
            f.flags |= crate::heap::frame::flags::below(caller.flags);
        } else {
            f.c_depth = 0;
        }
        self.reserve_frame()?;
        self.th.frames.push(f);
        Ok(())
    }

    /// Makes room for one more frame, charged to the bank; a call reserves it before it
    /// changes anything, so a refusal leaves the call to be made again.
    fn reserve_frame(&mut self) -> Result<(), Throw> {
        let cap = self.th.frames.capacity();
        if self.th.frames.len() == cap {
            let new_cap = (cap * 2).max(8);
            self.heap
                .charge((new_cap - cap) * std::mem::size_of::<Frame>())?;
            self.th.frames.reserve_exact(new_cap - cap);
        }
        Ok(())
    }

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
                Value::LuaFn(cl) => {
                    let entered = self.enter_lua(func, cl, nresults, ret);
                    self.unshift_refused_call(func, tries, &entered);
                    return entered;
                }
                Value::Native(n) => {
                    let flags = self.natives.flags_of(self.heap.native(n).id);
                    let pushed = self.push_native_frame(n, flags, func, nresults, ret);
                    self.unshift_refused_call(func, tries, &pushed);
                    return pushed;
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
                    if let Err(refused) = self.ensure_stack(self.th.top + 1) {
                        let refused = Err(refused);
                        self.unshift_refused_call(func, tries, &refused);
                        return refused;
                    }
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

    /// The frame of a call of native `n` (whose frames start with `flags`) at `func`, which
    /// `run` enters.
    #[inline]
    fn push_native_frame(
        &mut self,
        n: crate::value::NativeRef,
        flags: u8,
        func: usize,
        nresults: i32,
        ret: ReturnTo,
    ) -> Result<(), Throw> {
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
        })
    }

    /// A call made by an instruction (CALL's slow path, TFORCALL): `call_value`, but when the
    /// callee is a native that is a coroutine switch, its first step is taken here if it is
    /// a plain one (`switch_now`). Out of line, so that the instruction loop keeps one call
    /// here.
    #[inline(never)]
    pub(super) fn call_from_instruction(
        &mut self,
        func: usize,
        nresults: i32,
    ) -> Result<(), Throw> {
        let Value::Native(n) = self.th.stack[func] else {
            return self.call_value(func, nresults, ReturnTo::Normal);
        };
        let (flags, switch) = self.natives.frame_flags_and_switch(self.heap.native(n).id);
        self.push_native_frame(n, flags, func, nresults, ReturnTo::Normal)?;
        if let Some(switch) = switch {
            self.switch_now(switch, n, func + 1);
        }
        Ok(())
    }

    /// A call through `tries` links of a `__call` chain shifted the callable and its
    /// arguments up one slot per link: refused memory, the shifts are undone, so the call can
    /// be made again from where it started.
    fn unshift_refused_call(&mut self, func: usize, tries: usize, result: &Result<(), Throw>) {
        if tries > 0 && matches!(result, Err(Throw::Memory(_))) {
            let top = self.th.top;
            self.th.stack.copy_within(func + tries..top, func);
            self.th.top = top - tries;
        }
    }

    #[inline]
    pub(super) fn enter_lua(
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
        let frames = self.th.frames.len();
        if frames >= self.frames_limit() {
            self.past_stack_limit(frames < self.frames_limit() + super::OVERFLOW_ROOM_FRAMES)?;
        }
        self.reserve_frame()?;
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
        // The registers above the parameters are left as they are, as Lua's `luaD_precall`
        // leaves them: compiled code writes a register before it reads it, and a stale value
        // there is one the collector still sees (it marks whole stacks, and clears the
        // running thread's above its live top before it collects).
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
        // As `luaE_checkcstack`: past the limit there is a tenth more room for handling the
        // overflow (an `xpcall` handler, and the calls it makes).
        let limit = if ret == ReturnTo::ErrorHandler || depth > MAX_C_CALLS {
            MAX_C_CALLS_HANDLING
        } else {
            MAX_C_CALLS
        };
        if depth >= limit {
            // Raised as `luaE_checkcstack` raises it: with the position of a Lua frame making
            // the call (a metamethod's), none for a native's (`table.sort` calling its
            // comparator).
            let from_native = matches!(
                self.th.frames.last().map(|f| f.kind),
                Some(FrameKind::Native(_))
            );
            return Err(if from_native {
                Throw::Plain("C stack overflow".into())
            } else {
                Throw::msg("C stack overflow")
            });
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
    pub(super) fn live_top(&self) -> usize {
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

    /// `post_call` for the common case of a function (Lua's RETURN, a native's
    /// `Action::Return`) returning to a caller that called it normally; everything else goes
    /// to `post_call`.
    #[inline(always)]
    pub(super) fn return_results(&mut self, first: usize, n: usize) -> Result<(), Throw> {
        if self.return_normally(first, n) {
            return Ok(());
        }
        self.post_call(first, n)
    }

    /// `post_call`'s work where it cannot fail: the top frame (Lua or native) was called
    /// normally by a frame below it in this thread, and its results fit the stack. Returns
    /// false, having changed nothing, otherwise.
    #[inline(always)]
    pub(super) fn return_normally(&mut self, first: usize, n: usize) -> bool {
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
                if moved <= 2 {
                    // One or two values (most returns, a yield's): moved in place, not
                    // through a call to `memmove`.
                    for j in 0..moved {
                        self.th.stack[res + j] = self.th.stack[first + j];
                    }
                } else {
                    self.th.stack.copy_within(first..first + moved, res);
                }
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
                return true;
            }
        }
        false
    }

    /// Finishes the top frame with `n` results starting at stack index `first`.
    fn post_call(&mut self, first: usize, n: usize) -> Result<(), Throw> {
        let Some(&frame) = self.th.frames.last() else {
            return Ok(());
        };
        // Room for the results before the frame goes (on the resumer's stack, when a
        // coroutine's function returns): refused memory, the return is made again from the
        // same state.
        if frame.ret == ReturnTo::Normal && frame.nresults > 0 {
            self.ensure_stack(frame.func as usize + frame.nresults as usize + 1)?;
        }
        if self.th.frames.len() == 1 && !self.is_main_thread() {
            self.reserve_for_resumer(n)?;
        }
        self.th.frames.pop();
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

    pub(super) fn restore_caller_top(&mut self) {
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
            let mut results = std::mem::take(&mut self.spare_results);
            results.clear();
            results.extend_from_slice(&self.th.stack[first..first + n]);
            self.finished = Some(results);
            return Ok(());
        }
        self.close_upvals(0);
        self.th.top = 0;
        self.return_to_resumer(true, Handoff::Range(first, n), ThreadStatus::Dead)
    }

    pub(super) fn run_native(
        &mut self,
        n: crate::value::NativeRef,
        frame: Frame,
    ) -> Result<(), Throw> {
        let id = self.heap.native(n).id;
        let f = self.natives.func(id);
        let entry_top = self.th.top;
        let entry_fuel = self.fuel;
        let (thread, depth) = (self.current, self.th.frames.len());
        let call = NativeCall {
            base: frame.base as usize,
            state: frame.pc,
            native: n,
        };
        match f(self, call) {
            Ok(Action::Return(k)) => {
                let top = self.th.top;
                self.return_results(top - k.min(top), k.min(top))
            }
            Ok(Action::Call {
                func,
                nresults,
                state,
            }) => {
                if let Some(fr) = self.th.frames.last_mut() {
                    fr.pc = state;
                }
                self.finish_native_call(func, nresults)
            }
            Ok(Action::Pending) => Ok(()),
            Ok(Action::Stop { state }) => {
                if let Some(fr) = self.th.frames.last_mut() {
                    fr.pc = state;
                }
                // What it charged paid for the work it recorded: nothing is given back, and
                // `refused` holds the price of the step the meter refused.
                Err(Throw::OutOfFuel)
            }
            Ok(Action::Trap { state }) => {
                // Room for the host's answer (a service answers with a few values) before
                // the host is asked, so answering never needs memory the process lacks.
                let base = frame.base as usize;
                if let Err(Throw::Memory(refused)) = self.ensure_stack(base + TRAP_ANSWER_ROOM) {
                    self.th.top = entry_top;
                    self.step_refused_memory(refused);
                    return Err(Throw::Memory(refused));
                }
                if let Some(fr) = self.th.frames.last_mut() {
                    fr.pc = state;
                }
                self.trapped = true;
                Ok(())
            }
            Err(Throw::OutOfFuel) => {
                // Entered again from the same state: what it charged so far is given back.
                self.th.top = entry_top;
                self.refuse_step(entry_fuel);
                Err(Throw::OutOfFuel)
            }
            // Natives allocate before their effects: with its arguments back, the step runs
            // again from the same state once there is memory for it.
            // (Unless it already switched threads or frames, as `coroutine.resume` does: then
            // the refusal is raised where it happened.)
            Err(Throw::Memory(refused))
                if self.current == thread && self.th.frames.len() == depth =>
            {
                self.th.top = entry_top;
                self.step_refused_memory(refused);
                Err(Throw::Memory(refused))
            }
            Err(e) => Err(e),
        }
    }

    /// Makes the call a native's step asked for. Refused memory before the callee started
    /// (`enter_lua` changes nothing until it has its frame and stack), the call is kept in
    /// `unfinished_call` and made again once there is memory: the native's step is done and
    /// must not run twice.
    pub(super) fn finish_native_call(&mut self, func: usize, nresults: i32) -> Result<(), Throw> {
        let depth = self.th.frames.len();
        let r = self.call_from_c(func, nresults, ReturnTo::Normal);
        if let Err(Throw::Memory(refused)) = r {
            if self.th.frames.len() == depth {
                self.unfinished_call = Some((func as u32, nresults));
                self.step_refused_memory(refused);
            }
        }
        r
    }

    /// Whether a restored `unfinished_call` names a call `run` can make: a native frame on
    /// top, the function slot inside its live stack.
    pub(crate) fn unfinished_call_is_valid(&self) -> bool {
        let Some((func, _)) = self.unfinished_call else {
            return true;
        };
        let Some(frame) = self.th.frames.last() else {
            return false;
        };
        matches!(frame.kind, FrameKind::Native(_))
            && func >= frame.base
            && (func as usize) < self.th.top
            && self.th.top <= self.th.stack.len()
    }

    /// Values above a native frame's base (its arguments, on first entry).
    pub fn args(&self, call: &NativeCall) -> &[Value] {
        &self.th.stack[call.base.min(self.th.top)..self.th.top]
    }
}
