//! Concatenation (`CONCAT`): a window of registers joined from the right, as Lua does, a run
//! of strings and numbers at a time; another value goes through `__concat`, whose result lands
//! back in the window (`ReturnTo::Concat`) for the next step.
//!
//! **Invariants:**
//! - Each run is paid (fuel, then memory) before it is joined. A refused step is recorded in
//!   `unfinished_concat`, and `run` finishes it before anything else, so a refusal never
//!   leaves the work half done or done twice.

use super::{Throw, Vm};
use crate::cost::Work;
use crate::heap::frame::{FrameKind, ReturnTo};
use crate::metamethod::MetaMethod;
use crate::number::Number;
use crate::value::Value;

/// The largest buffer `CONCAT` keeps for the next one (`Vm::concat_buffer`): larger ones are
/// freed, so what a process once joined holds no host memory outside its bank.
pub(crate) const KEPT_BUFFER_BYTES: usize = 1 << 12;

impl Vm {
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

    /// Continues a `CONCAT` after a `__concat` result landed in the window.
    ///
    /// Returns whether the concatenation is done (rather than waiting for a `__concat` call
    /// it started): then, as after `CONCAT`, the collector may step.
    pub(super) fn concat_continue(&mut self, a: u8, n: u8) -> Result<bool, Throw> {
        let Some(caller) = self.th.frames.last() else {
            return Ok(false);
        };
        let base = caller.base as usize;
        match self.concat(base + a as usize, n as usize, a)? {
            Some(v) => {
                self.th.stack[base + a as usize] = v;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Concatenates `n` values at `first..first+n` from the right, as Lua does. Returns the
    /// result, or `None` when a `__concat` call was started (it continues the work later).
    pub(super) fn concat(
        &mut self,
        first: usize,
        mut n: usize,
        a: u8,
    ) -> Result<Option<Value>, Throw> {
        while n > 1 {
            let top = first + n;
            let x = self.th.stack[top - 2];
            let y = self.th.stack[top - 1];
            let xs = matches!(x, Value::Str(_) | Value::Int(_) | Value::Float(_));
            let ys = matches!(y, Value::Str(_) | Value::Int(_) | Value::Float(_));
            // As `luaV_concat`: beside the empty string, a string is the result itself, not
            // a copy (a long string stays the same object). A number is joined below.
            let empty = |v: Value| matches!(v, Value::Str(s) if self.heap.str(s).is_empty());
            if matches!(x, Value::Str(_)) && empty(y) {
                n -= 1;
                continue;
            }
            if matches!(y, Value::Str(_)) && empty(x) {
                self.th.stack[top - 2] = y;
                n -= 1;
                continue;
            }
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
                if let Err(refused) = self.heap.bank.charge(total) {
                    // As for fuel: nothing of this step is done, and it is taken up again.
                    self.unfinished_concat = Some((a, n as u8));
                    self.step_refused_memory(refused);
                    return Err(Throw::Memory(refused));
                }
                self.heap.bank.release(total);
                let mut buf = std::mem::take(&mut self.concat_buffer);
                buf.clear();
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
                let interned = self.heap.intern(&buf);
                if buf.capacity() <= KEPT_BUFFER_BYTES {
                    self.concat_buffer = buf;
                }
                let s = match interned {
                    Ok(s) => s,
                    Err(refused) => {
                        self.unfinished_concat = Some((a, n as u8));
                        self.step_refused_memory(refused);
                        return Err(Throw::Memory(refused));
                    }
                };
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
