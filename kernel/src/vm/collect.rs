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
use crate::cost::Work;
use crate::heap::frame::{flags, ReturnTo};
use crate::metamethod::MetaMethod;
use crate::value::Value;

impl Vm {
    /// Runs pending finalizers and, when due, a collection. Only called between instructions.
    pub(super) fn gc_step(&mut self) -> Result<(), Throw> {
        if self.heap.gc.should_collect() {
            // Paid before it runs, like any work: refused, the process waits at this
            // instruction boundary until it can pay, and the collection runs then.
            self.charge(self.collection_price())?;
            self.full_gc();
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

    /// Sets the values the host keeps in this heap (`held`); they must be live.
    pub fn hold(&mut self, values: Vec<Value>) {
        self.held = values;
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
        roots.extend(self.trap_error);
        roots.extend(self.rethrow.map(|(_, _, v)| v));
        self.heap.collect(&roots);
        self.th = std::mem::take(self.heap.thread_mut(self.current));
    }

    /// Whether finalizers are waiting to run.
    pub fn has_pending_finalizers(&self) -> bool {
        !self.heap.gc.to_finalize.is_empty()
    }
}
