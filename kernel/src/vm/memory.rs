//! Refused allocations (DESIGN, "Budgets"): memory exhaustion suspends a process like fuel
//! exhaustion does, before the step that could not get its memory, and no `pcall` sees it.
//!
//! A step is one instruction, or one run of a native (its first entry, or a continuation
//! after a call it made). When the bank refuses an allocation where the step can be taken up
//! again from the state it started in, the refusal is marked (`memory_stop`): the
//! instruction's frame is set back to the instruction (`rewind_for_memory`), a native's
//! arguments are put back (`run_native`), a concatenation is left unfinished (`concat`).
//! `tests/memory_squeeze.rs` and `lang_diff`'s squeezed pass check all of it: programs whose
//! memory is raised a kilobyte at a time print what they print with memory to spare.
//! `out_of_memory` then runs one emergency collection, as Lua does before it gives up on an
//! allocation, and takes the step up again; if the same step is refused again with nothing
//! done in between, or the collection cannot make room, `run` ends with
//! `Outcome::OutOfMemory` and the host suspends the process until its limit is raised.
//!
//! **Invariants:**
//! - A step is taken up again only from a state it has not changed: allocations of an
//!   instruction come before its writes, an instruction that pushes a frame reserves the
//!   frame first (`enter_lua`), a `__call` chain undoes its shifts, a coroutine that cannot
//!   be entered hands control back to its resumer as it stood, and natives allocate before
//!   their effects (the contract they already keep for fuel: a refused step runs again from
//!   the same state). A call a native asked for after its step was done is kept and made
//!   again (`unfinished_call`), as a concatenation is (`unfinished_concat`).
//! - An error whose message finds no room waits, unraised, with the frames as they were
//!   (`unraised_error`), and is raised once there is memory for it; an error whose `xpcall`
//!   handler or pending `__close` cannot be entered goes on unwinding once there is memory
//!   (`rethrow`, with the variable put back on its list).
//! - A coroutine's end (a return, or an error it dies of) makes room on its resumer's stack
//!   before anything of the hand-over is done (`reserve_for_resumer`).
//! - A refusal at a point none of these covers (`coroutine.close` entering the coroutine to
//!   run its closes, say) is raised as Lua's memory error, as before: no `memory_stop`, no
//!   retry.
//! - The emergency collection is paid for like any other (`collection_price`), before it runs.

use super::{Outcome, Vm};
use crate::bank::OutOfMemory;
use crate::bytecode::OpCode;
use crate::heap::frame::FrameKind;
use crate::value::ThreadRef;

/// Where a step stands: the thread, its frame depth and the frame's pc (or a native's
/// state). Two refusals at one point with at most a couple of protected instructions begun in
/// between (the retried instruction itself) are the same step refused twice; a program that
/// went on and filled its heap anew has begun many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StepPoint {
    thread: ThreadRef,
    depth: usize,
    pc: u32,
}

impl Vm {
    /// An allocation of the running Lua instruction was refused: its frame is set back to
    /// the instruction (it saved its pc, just past itself and its `EXTRAARG`, before the
    /// allocation), so the instruction runs again from the start.
    pub(super) fn rewind_for_memory(&mut self, refused: OutOfMemory) {
        if self.memory_stop.is_some() {
            // Already marked where it happened (an unfinished concatenation).
            return;
        }
        let Some(frame) = self.th.frames.last() else {
            return;
        };
        let FrameKind::Lua(cl) = frame.kind else {
            return;
        };
        let pc = frame.pc as usize;
        if pc == 0 {
            return;
        }
        let proto = self.heap.proto(self.heap.closure(cl).proto);
        let at = |i: usize| proto.code.get(i).and_then(|w| w.opcode());
        // The word just before the saved pc is the instruction, or its EXTRAARG.
        let start = match at(pc - 1) {
            Some(OpCode::ExtraArg) if pc >= 2 => pc - 2,
            Some(_) => pc - 1,
            None => return,
        };
        if let Some(frame) = self.th.frames.last_mut() {
            frame.pc = start as u32;
        }
        self.memory_stop = Some(refused);
    }

    /// Marks a refusal where the step is whole to be taken up again (a native's arguments put
    /// back, a concatenation or a native's call left unfinished, a finalizer still due).
    pub(super) fn step_refused_memory(&mut self, refused: OutOfMemory) {
        self.memory_stop = Some(refused);
    }

    /// A step was refused memory and can be taken up again: runs an emergency collection
    /// and lets `run` try again (`None`), or ends the run out of memory.
    pub(super) fn out_of_memory(&mut self, refused: OutOfMemory) -> Option<Outcome> {
        let point = StepPoint {
            thread: self.current,
            depth: self.th.frames.len(),
            pc: self.th.frames.last().map(|f| f.pc).unwrap_or(0),
        };
        let needed = refused.requested as u64;
        let again = matches!(
            self.emergency,
            Some((p, progress)) if p == point && self.progress <= progress.wrapping_add(2)
        );
        if again {
            self.emergency = None;
            return Some(Outcome::OutOfMemory { needed });
        }
        // Paid before it runs; refused, the process waits for fuel and the step is taken up
        // again afterwards.
        if self.charge(self.collection_price()).is_err() {
            return Some(Outcome::OutOfFuel);
        }
        self.full_gc();
        let bank = &self.heap.bank;
        if bank.used().saturating_add(refused.requested) > bank.limit() {
            self.emergency = None;
            return Some(Outcome::OutOfMemory { needed });
        }
        self.emergency = Some((point, self.progress));
        None
    }
}
