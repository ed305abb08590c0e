//! Collection from the VM's side: when the collector runs (between instructions, paid before
//! it starts), what it starts from (globals, registry, threads, interned names, light natives,
//! the values the host holds), and finalizers, run as ordinary calls.
//!
//! **Invariants:**
//! - A collection happens only between instructions, with the running thread back in its slot,
//!   so the collector sees every thread alike.
//! - `gc_step` charges a collection's price (`collection_price`) before it runs: refused, the
//!   process waits at the instruction boundary.

use super::{Throw, Vm};
use crate::bytecode::OpCode;
use crate::cost::Work;
use crate::heap::frame::{flags, FrameKind, ReturnTo};
use crate::metamethod::MetaMethod;
use crate::value::Value;

impl Vm {
    /// Runs pending finalizers and, when due, a collection. Only called between instructions.
    pub(super) fn gc_step(&mut self) -> Result<(), Throw> {
        if self.heap.gc.should_collect() {
            // Paid before it runs, like any work: refused, the process waits at this
            // instruction boundary until it can pay, and the collection runs then.
            self.charge(self.collection_price())?;
            self.collect_now(crate::heap::Trim::Paced);
        }
        if self.finalizer_running() {
            return Ok(());
        }
        if let Some(obj) = self.heap.gc.to_finalize.pop() {
            let tm = self.metamethod(obj, MetaMethod::Gc);
            if tm.is_function() {
                let top = self.th.top;
                if let Err(t) = self.call_with(tm, &[obj], 0, ReturnTo::Discard) {
                    if let Throw::Memory(refused) = t {
                        // Refused before the finalizer started: it stays due, and is called
                        // once there is memory for it.
                        self.heap.gc.to_finalize.push(obj);
                        self.th.top = top;
                        self.step_refused_memory(refused);
                    }
                    return Err(t);
                }
                if let Some(f) = self.th.frames.last_mut() {
                    f.flags |= flags::FINALIZER;
                }
                let index = self.th.frames.len().saturating_sub(1);
                self.finalizer_at = u32::try_from(index).ok().map(|i| (self.current, i));
            }
        }
        Ok(())
    }

    /// Whether the last finalizer started is still running: its frame is still where it was
    /// put (it is popped when the finalizer returns or fails, and only a finalizer's frame
    /// carries the flag).
    pub(super) fn finalizer_running(&self) -> bool {
        let Some((thread, index)) = self.finalizer_at else {
            return false;
        };
        let frames = if thread == self.current {
            &self.th.frames
        } else {
            match self.heap.threads.try_get(thread.0) {
                Some(th) => &th.frames,
                None => return false,
            }
        };
        frames
            .get(index as usize)
            .is_some_and(|f| f.flags & flags::FINALIZER != 0)
    }

    /// The fuel a full collection costs: it reads every byte the heap holds and walks every
    /// arena slot, live or free (priced as bytes and entries, at least one unit).
    pub fn collection_price(&self) -> u64 {
        1 + Work::Bytes.units_of(self.heap.bank.used())
            + Work::Entries.units_of(self.heap.slot_count())
    }

    /// Sets the values the host keeps in this heap (`held`: `values` and `more`); they must be
    /// live. The list's buffer is reused: a process holds its answers again at every call it
    /// serves.
    pub fn hold(&mut self, values: &[Value], more: &[Value]) {
        self.held.clear();
        self.held.extend_from_slice(values);
        self.held.extend_from_slice(more);
    }

    /// The first slot of the running thread a collection treats as dead: `live_top`, or, for
    /// a Lua frame right after an instruction that lets the collector step, the slot above its
    /// result, as Lua's `checkGC(L, ra + 1)` after `NEWTABLE`, `CONCAT` and `CLOSURE` (and a
    /// native's stack, which ends at the call's function slot, after a call); right before
    /// one, its result's register. The compiler hands registers out as a stack, so those
    /// above are free: a temporary left there must not keep garbage alive.
    fn collect_top(&self) -> usize {
        let live = self.live_top();
        let Some(f) = self.th.frames.last() else {
            return live;
        };
        let FrameKind::Lua(cl) = f.kind else {
            return live;
        };
        let code = &self.heap.proto(self.heap.closure(cl).proto).code;
        let at = |pc: Option<usize>| {
            pc.and_then(|i| code.get(i))
                .map(|i| (i.opcode(), i.a() as usize, i.b() as usize, i.c() as usize))
        };
        let pc = f.pc as usize;
        let back = |n: usize| at(pc.checked_sub(n));
        // Before the instruction (one refused memory and set back to run again, as at an
        // emergency collection), its result's register and those above are free too, and a
        // concatenation's operands are all that is live above it.
        let before = match at(Some(pc)) {
            Some((Some(OpCode::NewTable | OpCode::Closure), a, _, _)) => a,
            Some((Some(OpCode::Concat), a, b, _)) => a + b,
            _ => usize::MAX,
        };
        let above = match back(1) {
            Some((Some(OpCode::Concat | OpCode::Closure), a, _, _)) => a + 1,
            // NEWTABLE is followed by its EXTRAARG.
            Some((Some(OpCode::ExtraArg), _, _, _)) => match back(2) {
                Some((Some(OpCode::NewTable), a, _, _)) => a + 1,
                _ => usize::MAX,
            },
            // A call with a fixed number of results: they end the live registers.
            Some((Some(OpCode::Call), a, _, c)) if c > 0 => a + c - 1,
            _ => usize::MAX,
        };
        let dead = match self.unfinished_concat {
            // A concatenation refused memory part way: what is left of its window is live.
            Some((a, n)) => a as usize + n as usize,
            None => above.min(before),
        };
        match dead {
            usize::MAX => live,
            dead => (f.base as usize + dead).min(live),
        }
    }

    /// A full collection now (`collectgarbage("collect")`, a refused allocation), every
    /// arena trimmed to its last live object.
    pub fn full_gc(&mut self) {
        self.collect_now(crate::heap::Trim::Full);
    }

    /// A full collection now, the arenas trimmed as `trim` says.
    fn collect_now(&mut self, trim: crate::heap::Trim) {
        // Dead slots above the live top must not keep garbage alive (Lua clears them too).
        let live = self.collect_top().min(self.th.stack.len());
        for v in &mut self.th.stack[live..] {
            *v = Value::Nil;
        }
        // The running thread goes back into its slot so the collector sees it like any other.
        // It trades places with the placeholder in its slot, and back after the collection.
        std::mem::swap(&mut self.th, self.heap.thread_mut(self.current));
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
        roots.extend(self.trap_error);
        roots.extend(self.rethrow.map(|(_, _, v)| v));
        self.heap.collect_with(&roots, trim);
        std::mem::swap(&mut self.th, self.heap.thread_mut(self.current));
    }

    /// Whether finalizers are waiting to run.
    pub fn has_pending_finalizers(&self) -> bool {
        !self.heap.gc.to_finalize.is_empty()
    }
}
