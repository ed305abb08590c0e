//! Errors: a `Throw` becomes a Lua error value (with the position of the error), which unwinds
//! to the nearest protected frame of the running thread — running an `xpcall` handler at the
//! point of the error, closing upvalues and calling pending `__close`s on the way — or, with no
//! protected frame, kills a coroutine (its resumer gets `false, err`) or ends the run. For the
//! root of a `tessera` run, an error reaching the top of the main thread first goes through
//! `lua.c`'s message handler (`set_message_handler`, `top_level_message`), so the value shown
//! and passed to pending `__close`s is `lua`'s final message, traceback included.
//!
//! **Invariants:**
//! - A memory error skips message handlers and needs no memory to raise: its message is
//!   interned when the VM is made (`memory_error_value`); `unwinding_memory` says which kind
//!   of error is unwinding, never the message.
//! - Each handler and `__close` runs as an ordinary frame; its return (`ReturnTo::Unwind`,
//!   `ErrorHandler`, `MessageHandler`) comes back here to go on unwinding, so many of them take
//!   no Rust stack.
//! - A protected native caught an error when it is re-entered with `STATE_ERROR` and the error
//!   value on top.

use super::coroutine::Handoff;
use super::{debug, native, Outcome, Throw, Vm, STATE_ERROR};
use crate::heap::frame::{flags, Frame, FrameKind, ReturnTo};
use crate::heap::ThreadStatus;
use crate::metamethod::MetaMethod;
use crate::value::Value;

impl Vm {
    /// Makes errors that reach the top of the main thread show as `lua.c` shows them: the
    /// value passed to pending `__close`s and reported in `Outcome::Error` is the final
    /// message, traceback included (the outcome's own traceback is then empty).
    pub fn set_message_handler(&mut self, on: bool) {
        self.message_handler = on;
    }

    /// Ctrl-C (`lua.c`'s `laction`): the error "interrupted!", with the position of the
    /// caller of the running function as Lua's hook gives it, is raised where the program
    /// stands when it next runs (at a waiting native, as that native's error). Checked where
    /// the VM already looks for an error it could not raise yet, never per instruction.
    pub fn interrupt(&mut self) {
        let text = format!("{}interrupted!", debug::where_(self, 1));
        if self.trapped {
            match self.heap.intern(text.as_bytes()) {
                Ok(s) => self.fail_trap(Value::Str(s)),
                // No room for the message: the native goes on waiting until there is.
                Err(_) => {
                    self.trapped = false;
                    self.unraised_error = Some(text);
                }
            }
        } else {
            self.unraised_error = Some(text);
        }
    }

    /// Whether the error a protected native just caught (`STATE_ERROR`) was a refused
    /// allocation rather than one a program raised.
    pub fn caught_memory_error(&self) -> bool {
        self.unwinding_memory
    }

    /// Turns a `Throw` into Lua error propagation. Returns an outcome when `run` must stop.
    pub(super) fn handle_throw(&mut self, t: Throw) -> Option<Outcome> {
        let value = match t {
            Throw::OutOfFuel => return Some(Outcome::OutOfFuel),
            // Refused where the step can be taken up again: not an error at all.
            Throw::Memory(_) if self.memory_stop.is_some() => {
                let refused = self.memory_stop.take()?;
                return self.out_of_memory(refused);
            }
            // As in Lua, a memory error skips message handlers (no memory to run them).
            Throw::Memory(_) => {
                self.unwinding_memory = true;
                let v = self.memory_error_value();
                return self.unwind(v, true);
            }
            // As Lua's `LUA_ERRERR`: its message, past any message handler.
            Throw::ErrorInErrorHandling => {
                self.unwinding_memory = false;
                let v = match self.heap.intern(b"error in error handling") {
                    Ok(s) => Value::Str(s),
                    Err(_) => self.memory_error_value(),
                };
                return self.unwind(v, true);
            }
            // The same error going on (a `__close` returned) or a handler's result for it.
            Throw::Handled(v) => {
                // The message handler of an xpcall returned: finish unwinding to it.
                return self.unwind(v, true);
            }
            other => {
                self.unwinding_memory = false;
                match self.error_value(other) {
                    Ok(v) => v,
                    // No room for the message: the error waits, unraised, for memory.
                    Err((refused, text)) => {
                        self.unraised_error = Some(text);
                        return self.out_of_memory(refused);
                    }
                }
            }
        };
        self.unwind(value, false)
    }

    /// Converts a throw into the Lua error value, adding position information; the refusal if
    /// the message finds no room.
    fn error_value(&mut self, t: Throw) -> Result<Value, (crate::bank::OutOfMemory, String)> {
        let msg = match t {
            Throw::Value(v) => return Ok(v),
            Throw::Memory(_) => return Ok(self.memory_error_value()),
            other => debug::describe_throw(self, other),
        };
        match self.heap.intern(msg.as_bytes()) {
            Ok(s) => Ok(Value::Str(s)),
            Err(refused) => Err((refused, msg)),
        }
    }

    /// The error value of an allocation that failed ("not enough memory", interned when the VM
    /// was made, so raising it needs no memory).
    pub(crate) fn memory_error_value(&mut self) -> Value {
        Value::Str(self.memory_message)
    }

    /// Propagates error `err` to the nearest protected frame of the running thread, closing
    /// to-be-closed variables on the way; across a coroutine boundary when there is none.
    pub(super) fn unwind(&mut self, err: Value, handler_done: bool) -> Option<Outcome> {
        // A new error supersedes one whose `__close` handler failed.
        self.th.unwinding = None;
        let protected = self
            .th
            .frames
            .iter()
            .rposition(|f| f.flags & (flags::PROTECTED | flags::FINALIZER) != 0);
        match protected {
            Some(i) => {
                let pframe = self.th.frames[i];
                // As Lua's `GCTM`, a finalizer runs protected: its error goes no further.
                let finalizer = pframe.flags & flags::PROTECTED == 0;
                // xpcall: run the handler first, at the point of the error.
                if !handler_done {
                    let handler =
                        self.stack_get(pframe.base as usize - 1 + native::XPCALL_HANDLER_SLOT);
                    if self.is_xpcall(pframe) && handler.is_function() {
                        // As `luaG_errormsg`, an error raised while the handler runs calls
                        // it again; each call nests one C call deeper, so the room past the
                        // C-stack limit (`call_from_c`) ends that as Lua does, with "error
                        // in error handling".
                        let top = self.th.top as u32;
                        match self.call_with(handler, &[err], 1, ReturnTo::ErrorHandler) {
                            Ok(()) => return None,
                            // Refused memory before the handler started: the error (on top,
                            // above the handler) is raised again once there is memory.
                            Err(Throw::Memory(refused)) => {
                                self.rethrow = Some((false, top, err));
                                return self.out_of_memory(refused);
                            }
                            Err(_) => {
                                let v = self.intern(b"error in error handling").unwrap_or(err);
                                return self.unwind(v, true);
                            }
                        }
                    }
                }
                // Pop frames above the protected one, closing their upvalues.
                let level = pframe.base as usize;
                self.th.frames.truncate(i + 1);
                self.close_upvals(level);
                // Pending to-be-closed variables above the level get their __close(err).
                if let Some((slot, v, tm)) = self.take_tbc(level) {
                    self.th.unwinding = Some(err);
                    let before = self.th.top;
                    let top = self.th.top.max(slot as usize + 1);
                    self.th.top = top;
                    match self.call_with(tm, &[v, err], 0, ReturnTo::Unwind) {
                        Ok(()) => return None,
                        // Refused memory before `__close` started: the variable is still to
                        // be closed, and the error (on top) goes on once there is memory.
                        Err(Throw::Memory(refused)) => {
                            self.th.unwinding = None;
                            self.th.tbc.push(slot);
                            self.rethrow = Some((true, before as u32, err));
                            return self.out_of_memory(refused);
                        }
                        Err(e) => {
                            self.th.unwinding = None;
                            return self.handle_throw(e);
                        }
                    }
                }
                if finalizer {
                    // Lua makes the error a warning (and warnings are off, as by default):
                    // the program goes on where the finalizer interrupted it, as after its
                    // return.
                    self.th.frames.truncate(i);
                    self.th.top = pframe.func as usize;
                    self.restore_caller_top();
                    self.overflow_handled();
                    return None;
                }
                self.th.top = level;
                self.overflow_handled();
                let _ = self.push(err);
                if let Some(f) = self.th.frames.last_mut() {
                    f.pc = STATE_ERROR;
                }
                None
            }
            None => {
                if self.is_main_thread() {
                    let mut err = err;
                    if self.message_handler {
                        match (self.message_object_type.take(), handler_done) {
                            // The error object's `__tostring` returned `err`.
                            (Some(type_name), true) if self.str_bytes(err).is_none() => {
                                let text = format!("(error object is a {type_name} value)");
                                err = self.with_traceback(text.into_bytes());
                            }
                            // A new error (possibly raised by that `__tostring`, as in `lua.c`
                            // where the handler handles it again).
                            (_, false) => return self.top_level_message(err),
                            _ => {}
                        }
                    }
                    let traceback = self
                        .pending_traceback
                        .take()
                        .unwrap_or_else(|| debug::traceback(self));
                    // Run pending __close handlers of the main chunk, as lua.c's pcall would.
                    // Each handler's return (`ReturnTo::Unwind`) re-enters here for the next
                    // one; the main chunk stays unprotected, so the last one ends the run.
                    // As there, the stack is unwound first: no frame is below the handler.
                    if let Some(slot) = self.th.tbc.pop() {
                        self.th.frames.clear();
                        self.th.top = self.th.top.max(slot as usize + 1);
                        self.pending_traceback = Some(traceback);
                        let v = self.th.stack[slot as usize];
                        let tm = self.metamethod(v, MetaMethod::Close);
                        self.th.unwinding = Some(err);
                        let _ = self.call_with(tm, &[v, err], 0, ReturnTo::Unwind);
                        return None;
                    }
                    self.th.frames.clear();
                    self.close_upvals(0);
                    // Under the message handler the value already holds what is to be shown.
                    let traceback = if self.message_handler {
                        String::new()
                    } else {
                        traceback
                    };
                    Some(Outcome::Error {
                        value: err,
                        traceback,
                        memory: self.unwinding_memory,
                    })
                } else {
                    // Room on the resumer's stack for `false, err` first: refused memory, the
                    // coroutine is as it was, and the error goes on once there is memory.
                    if let Err(Throw::Memory(refused)) = self.reserve_for_resumer(1) {
                        self.rethrow = Some((true, self.th.top as u32, err));
                        return self.out_of_memory(refused);
                    }
                    // The coroutine dies; its resumer gets `false, err`.
                    self.th.failed = true;
                    self.th.frames.clear();
                    self.close_upvals(0);
                    let _ = self.push(err);
                    match self.return_to_resumer(false, Handoff::Value(err), ThreadStatus::Dead) {
                        Ok(()) => None,
                        Err(e) => self.handle_throw(e),
                    }
                }
            }
        }
    }

    /// `lua.c`'s `msghandler`, for an error that reached the top of the main thread: a string
    /// or number gets the traceback appended; another value shows as what its `__tostring`
    /// returns (run here, at the point of the error), or as `(error object is a T value)` with
    /// the traceback. The result goes on unwinding as handled, through pending `__close`s.
    fn top_level_message(&mut self, err: Value) -> Option<Outcome> {
        let text = match (self.str_bytes(err), err.as_number()) {
            (Some(b), _) => b.to_vec(),
            (None, Some(n)) => crate::number::number_to_string(n).into_bytes(),
            (None, None) => {
                if let Some(text) = self.kernel_fault_report(err) {
                    let v = self
                        .intern(&text)
                        .unwrap_or_else(|_| self.memory_error_value());
                    return self.unwind(v, true);
                }
                let tm = self.metamethod(err, MetaMethod::ToString);
                if !tm.is_nil() {
                    // Its result comes back through `unwind(.., true)`: see `unwind`.
                    self.message_object_type = Some(err.type_name());
                    return match self.call_with(tm, &[err], 1, ReturnTo::MessageHandler) {
                        Ok(()) => None,
                        Err(e) => {
                            self.message_object_type = None;
                            self.handle_throw(e)
                        }
                    };
                }
                format!("(error object is a {} value)", err.type_name()).into_bytes()
            }
        };
        // The error the last blame was for keeps it through the handler (`Vm::blame_of`).
        let blamed = self
            .blame
            .as_ref()
            .is_some_and(|b| b.message.as_bytes() == text.as_slice());
        let v = self.with_traceback(text);
        if blamed {
            let handled = self
                .str_bytes(v)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            if let (Some(b), Some(handled)) = (self.blame.as_mut(), handled) {
                b.message = handled;
            }
        }
        self.unwind(v, true)
    }

    /// The report of a kernel fault (a table with the kernel's fault metatable) that reached
    /// the top: `kind: message` as its `__tostring` gives, then one traceback from where the
    /// error was raised in the other process (its `traceback` field, when it has one) down
    /// through this process's frames. Other error objects are `lua.c`'s business.
    fn kernel_fault_report(&mut self, err: Value) -> Option<Vec<u8>> {
        let Value::Table(t) = err else { return None };
        let meta = self.heap.intern(crate::fault::FAULT_META).ok()?;
        let is_fault = match (
            self.metatable(err),
            self.raw_get(self.registry, Value::Str(meta)),
        ) {
            (Some(mt), Value::Table(fault_meta)) => mt == fault_meta,
            _ => false,
        };
        if !is_fault {
            return None;
        }
        let mut field = |name: &[u8]| -> Option<Vec<u8>> {
            let k = self.heap.intern(name).ok()?;
            self.str_bytes(self.raw_get(t, Value::Str(k)))
                .map(<[u8]>::to_vec)
        };
        let (kind, message) = (field(b"kind")?, field(b"message")?);
        let inner = field(b"traceback");
        let mut text = kind;
        text.extend_from_slice(b": ");
        text.extend_from_slice(&message);
        let own = debug::traceback(self);
        match inner {
            // The other process's frames first (under one header), then ours, without a
            // second header.
            Some(inner) => {
                text.push(b'\n');
                text.extend_from_slice(&inner);
                let ours = own.split_once('\n').map_or("", |(_, rest)| rest);
                text.extend_from_slice(b"\n");
                text.extend_from_slice(ours.as_bytes());
            }
            None => {
                text.push(b'\n');
                text.extend_from_slice(own.as_bytes());
            }
        }
        Some(text)
    }

    /// `text` and the traceback of the running thread, as one interned message.
    fn with_traceback(&mut self, mut text: Vec<u8>) -> Value {
        text.push(b'\n');
        text.extend_from_slice(debug::traceback(self).as_bytes());
        self.intern(&text)
            .unwrap_or_else(|_| self.memory_error_value())
    }

    fn is_xpcall(&self, f: Frame) -> bool {
        match f.kind {
            FrameKind::Native(n) => self.natives.is_xpcall(self.heap.native(n).id),
            _ => false,
        }
    }

    /// Marks the running native's frame as protected (pcall/xpcall).
    pub fn protect_current_frame(&mut self) {
        if let Some(f) = self.th.frames.last_mut() {
            f.flags |= flags::PROTECTED;
        }
    }
}

impl From<crate::bank::OutOfMemory> for Throw {
    fn from(m: crate::bank::OutOfMemory) -> Throw {
        Throw::Memory(m)
    }
}

impl From<super::LoadError> for Throw {
    fn from(e: super::LoadError) -> Throw {
        match e {
            super::LoadError::Memory(m) => Throw::Memory(m),
            super::LoadError::Bytecode(e) => Throw::msg(e.to_string()),
        }
    }
}
