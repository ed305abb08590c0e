//! Traps: a native waiting for its host (`Action::Trap`). The host reads what it asked
//! (`trap_args`, `trap_native`, `trap_state`), answers (`complete_trap`, `fail_trap`), or serves
//! a call into this process above the waiting native (`start_trap_callback`,
//! `end_trap_callback`).
//!
//! **Invariants:**
//! - While `trapped`, the top frame is the waiting native, and `run` returns `Outcome::Trap`
//!   without running anything.
//! - A callback runs above the trapped native and is popped when its runner traps, leaving the
//!   native's frame and arguments as they were.

use super::{Throw, Vm, EXTRA_STACK};
use crate::heap::frame::{Frame, FrameKind, ReturnTo};
use crate::heap::NativeId;
use crate::value::Value;

impl Vm {
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
        // Room first: refused memory, the trap still waits with its arguments as they were.
        self.ensure_stack(base + results.len() + EXTRA_STACK)?;
        self.th.stack[base..base + results.len()].copy_from_slice(results);
        self.th.top = base + results.len();
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
}
