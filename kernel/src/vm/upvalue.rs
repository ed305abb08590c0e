//! Open upvalues and to-be-closed variables: what closing a level of the stack does. An open
//! upvalue names a slot of a thread's stack while the slot's frame lives and holds the value
//! itself once closed (`Upval::Closed`); each thread keeps its open upvalues sorted by slot. A
//! to-be-closed variable (`local x <close>`) is a slot in the thread's `tbc` list, innermost
//! last, whose `__close` runs when its block ends or an error unwinds past it.
//!
//! **Invariants:**
//! - At most one open upvalue per slot: closures capturing the same local share it
//!   (`find_upval`).
//! - Closing a level closes every open upvalue at or above it before any `__close` runs, and
//!   each `__close` runs as an ordinary frame, one at a time (the instruction runs again after
//!   it, `ReturnTo::Reexecute`).

use super::{Throw, Vm};
use crate::heap::frame::ReturnTo;
use crate::heap::Upval;
use crate::metamethod::MetaMethod;
use crate::value::{UpvalRef, Value};

impl Vm {
    /// Pops the innermost pending to-be-closed variable of the running thread.
    pub fn pop_tbc(&mut self) -> Option<Value> {
        let slot = self.th.tbc.pop()?;
        Some(self.th.stack[slot as usize])
    }

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
    pub(super) fn find_upval(&mut self, level: usize) -> Result<UpvalRef, Throw> {
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
    pub(super) fn close_upvals(&mut self, level: usize) {
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

    /// The stack of to-be-closed slots (for the `TBC` instruction and `coroutine.close`).
    pub(super) fn mark_tbc(&mut self, slot: usize) -> Result<(), Throw> {
        let v = self.th.stack[slot];
        if v.truthy() {
            if self.metamethod(v, MetaMethod::Close).is_nil() {
                return Err(Throw::NonClosable { slot });
            }
            self.th.tbc.push(slot as u32);
        }
        Ok(())
    }

    /// Takes the innermost pending to-be-closed variable at or above `level` off its list
    /// (as Lua does, before its `__close` is called): its slot, its value and its `__close`.
    pub(super) fn take_tbc(&mut self, level: usize) -> Option<(u32, Value, Value)> {
        let slot = *self.th.tbc.last().filter(|&&slot| slot as usize >= level)?;
        self.th.tbc.pop();
        let v = self.th.stack[slot as usize];
        Some((slot, v, self.metamethod(v, MetaMethod::Close)))
    }

    /// Closes upvalues and calls one pending `__close` at or above `level`. Returns true if a
    /// call was started (the instruction must run again afterwards).
    pub(super) fn close_level(&mut self, level: usize, reexec_top: usize) -> Result<bool, Throw> {
        self.close_upvals(level);
        let Some((slot, v, tm)) = self.take_tbc(level) else {
            return Ok(false);
        };
        let top = self.th.top;
        let called = self.call_with(
            tm,
            &[v, Value::Nil],
            0,
            ReturnTo::Reexecute {
                top: reexec_top as u32,
            },
        );
        if let Err(Throw::Memory(refused)) = called {
            // Refused before `__close` started: the variable is still to be closed, and the
            // instruction runs again from the same state.
            self.th.tbc.push(slot);
            self.th.top = top;
            return Err(Throw::Memory(refused));
        }
        called?;
        Ok(true)
    }
}
