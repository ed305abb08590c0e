//! Calls and waits between processes: `proc:call`, calls through import proxies and
//! far-function keys, `proc:wait`, and how a caller or waiter gets its answer (the results
//! copied into its heap, or the callee's fault). A call into a busy callee waits; a callee that
//! waits (through others) for its caller takes the call as a callback, above its waiting trap.
//!
//! **Invariant:** no process waits in a cycle that could never end. Before a process waits, the
//! chain of waits from its target is walked (bounded by the number of processes, each step
//! paid); a cycle is broken by serving a pending call as a callback, or refused with a
//! `deadlock` fault. When nothing can run, `break_deadlock` does the same for waits left over.

use super::copy::EXPORTS;
use super::key_values::key_handle;
use super::{broken, native, refuse, Answer, Refusal, RefusalDetail, Refused};
use crate::audit::Op;
use crate::clist::KeyKind;
use crate::fault::FaultKind;
use crate::process::{Fault, Kernel, ProcessId, State};
use crate::service::{Service, Trap};
use crate::value::Value;

/// Which function of the called process runs.
enum Callee {
    /// A global function, by name (`proc:call`): a string in the caller's heap, which holds
    /// it among its trap's arguments while the call is made.
    Global(crate::value::StrRef),
    /// An exported function of an imported module, by proxy index.
    Export(i64),
}

/// The fault a request that could never be answered raises in the requester.
fn deadlock(message: impl Into<String>) -> Refusal {
    refuse(FaultKind::Deadlock, message)
}

impl Kernel {
    /// The process `id` waits for, if it waits for one (in `wait`, a call or an import).
    fn waits_for(&self, id: ProcessId) -> Option<ProcessId> {
        let p = self.get(id)?;
        if p.state != State::Waiting {
            return None;
        }
        p.waiting_on.or(p.calling)
    }

    /// Whether `id` would close a cycle of waits by waiting for `target`: the processes on
    /// the way from `target` back to `id` if so. The walk is bounded by the number of
    /// processes, and each step is charged to `payer` (`Work::Records`) before it is taken.
    fn wait_cycle(
        &mut self,
        id: ProcessId,
        target: ProcessId,
        payer: Option<ProcessId>,
    ) -> Result<Option<Vec<ProcessId>>, Refusal> {
        let mut cur = target;
        for _ in 0..=self.slots.len() {
            if let Some(payer) = payer {
                self.charge_process(payer, crate::cost::Work::Records, 1)?;
            }
            if cur == id {
                return Ok(Some(self.waits_between(target, id)));
            }
            match self.waits_for(cur) {
                Some(next) => cur = next,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The processes on the chain of waits from `from` up to `to`, which it reaches (a cycle
    /// `wait_cycle` found and paid for: walked again only to name them, so that the common
    /// case, no cycle, collects nothing).
    fn waits_between(&self, from: ProcessId, to: ProcessId) -> Vec<ProcessId> {
        let mut path = Vec::new();
        let mut cur = Some(from);
        while let Some(p) = cur.filter(|&p| p != to && path.len() <= self.slots.len()) {
            path.push(p);
            cur = self.waits_for(p);
        }
        path
    }

    /// Whether `id` waits to make a call that has not started (its callee was busy): such a
    /// call can still be served, as a callback, if its callee comes to wait for it.
    fn pending_call(&self, id: ProcessId) -> bool {
        self.get(id).is_some_and(|p| {
            p.state == State::Waiting
                && p.calling.is_none()
                && p.vm.trap_native().is_some_and(|n| {
                    matches!(
                        p.vm.natives().trap(n),
                        Some(Trap::Service(Service::Call | Service::Proxy))
                    )
                })
        })
    }

    /// `id` waits for `target` — unless that closes a cycle of waits (DESIGN, "Process
    /// lifecycle"). A cycle in which some process waits to make a call is broken by serving
    /// that call at once, above its callee's waiting trap; any other cycle could never end,
    /// and `id`, whose request would close it, gets a `deadlock` fault instead of waiting.
    pub(super) fn park(&mut self, id: ProcessId, target: ProcessId) {
        let cycle = match self.wait_cycle(id, target, Some(id)) {
            Ok(c) => c,
            Err(r) if r.is_retried() => return self.suspend_to_retry(id, &r),
            Err(r) => return self.fail(id, r),
        };
        let Some(cycle) = cycle else {
            self.wait_for(id, Some(target));
            return;
        };
        if let Some(q) = cycle.iter().copied().find(|&q| self.pending_call(q)) {
            self.wait_for(id, Some(target));
            // Made again, the call finds its callee waiting for it and runs as a callback.
            if let Some(p) = self.get_mut(q) {
                p.waiting_on = None;
            }
            self.service(q);
            return;
        }
        let message = self.deadlock_message(id, target);
        if let Some(p) = self.get_mut(id) {
            p.waiting_on = None;
            p.calling = None;
        }
        self.fail(id, deadlock(message));
    }

    fn deadlock_message(&self, id: ProcessId, target: ProcessId) -> String {
        if id == target {
            return "a process cannot wait for itself".into();
        }
        let name = self.get(target).map(|p| p.name.as_str()).unwrap_or("?");
        format!("waiting for '{name}' would never end: it waits (through other processes) for the waiter")
    }

    /// When nothing can run and nothing waits for the host, waits that can never end are
    /// broken: a cycle with a pending call has that call served; otherwise a process in the
    /// cycle (the first in slot order) gets a `deadlock` fault, as does a process that waits
    /// for nothing at all (a restored one, say). Returns whether anything changed.
    pub(crate) fn break_deadlock(&mut self) -> bool {
        // A wait whose process stopped after the waiters were woken is answered first.
        let stale = (0..self.slots.len()).any(|i| {
            self.id_at(i).is_some_and(|id| {
                self.get(id)
                    .filter(|p| p.state == State::Waiting)
                    .and_then(|p| p.waiting_on)
                    .is_some_and(|c| self.has_answer_for(id, c))
            })
        });
        if stale {
            self.wake_waiters();
            return true;
        }
        for index in 0..self.slots.len() {
            let Some(id) = self.id_at(index) else {
                continue;
            };
            let Some(p) = self.get(id) else { continue };
            if p.state != State::Waiting || p.io.is_some() {
                continue;
            }
            let Some(target) = self.waits_for(id) else {
                if p.vm.trap_native().is_some() {
                    self.fail(
                        id,
                        deadlock("the process waits for something that can never answer"),
                    );
                    return true;
                }
                continue;
            };
            if self.get(target).map(|t| t.state) == Some(State::Done) {
                // Done, holding an answer its caller cannot take: nothing runs, so that caller
                // (suspended) can never be resumed to take it.
                let name = self.get(target).map(|t| t.name.clone()).unwrap_or_default();
                if let Some(p) = self.get_mut(id) {
                    p.waiting_on = None;
                }
                self.fail(
                    id,
                    deadlock(format!(
                        "call into '{name}' would never end: its last answer waits for a \
                         suspended caller to take it"
                    )),
                );
                return true;
            }
            let Ok(Some(cycle)) = self.wait_cycle(id, target, None) else {
                continue;
            };
            if let Some(q) = std::iter::once(id)
                .chain(cycle.iter().copied())
                .find(|&q| self.pending_call(q))
            {
                if let Some(p) = self.get_mut(q) {
                    p.waiting_on = None;
                }
                self.service(q);
                return true;
            }
            let message = self.deadlock_message(id, target);
            if let Some(p) = self.get_mut(id) {
                p.waiting_on = None;
                p.calling = None;
            }
            self.fail(id, deadlock(message));
            return true;
        }
        false
    }

    /// Sets the child `id` waits for, and notes its slot among those `wake_noted` looks at.
    fn wait_for(&mut self, id: ProcessId, child: Option<ProcessId>) {
        if let Some(p) = self.get_mut(id) {
            p.waiting_on = child;
            if child.is_some() {
                self.may_wait.insert(id.index);
            }
        }
    }

    /// Whether the process in slot `i` has a child it waits for (`Some`), and whether it
    /// waits now (`Some(true)`; one its budget stopped keeps its wait for when it is resumed).
    fn waits_at(&self, i: usize) -> Option<bool> {
        self.slots
            .get(i)
            .and_then(|s| s.process.as_ref())
            .filter(|p| p.waiting_on.is_some())
            .map(|p| p.state == State::Waiting)
    }

    /// Processes waiting for a child that has stopped get their answer: every slot is looked
    /// at, in slot order, and the note of slots that may wait (`Kernel::may_wait`) is made
    /// anew from what is found.
    pub(crate) fn wake_waiters(&mut self) {
        self.may_wait.clear();
        self.may_wait_known = true;
        for i in 0..self.slots.len() {
            let Some(now) = self.waits_at(i) else {
                continue;
            };
            self.may_wait.insert(i as u32);
            if now {
                self.wake_at(i);
            }
        }
    }

    /// `wake_waiters` over the slots noted as possibly waiting only, in the same order and
    /// with the same outcome: a slot not noted holds no waiter (every wait is set through
    /// `wait_for`, or found by a full `wake_waiters`, which the scheduler runs regularly and
    /// which runs first in a kernel made or restored since).
    /// A kernel with many idle processes wakes the caller of a call without looking at them.
    pub(crate) fn wake_noted(&mut self) {
        if !self.may_wait_known {
            return self.wake_waiters();
        }
        let end = self.slots.len() as u32;
        let mut next = 0;
        while let Some(i) = self.may_wait.next(next, end) {
            next = i + 1;
            match self.waits_at(i as usize) {
                Some(true) => self.wake_at(i as usize),
                Some(false) => {}
                None => self.may_wait.remove(i),
            }
        }
    }

    /// Wakes the process in slot `i` if the child it waits for has its answer.
    fn wake_at(&mut self, i: usize) {
        let Some(id) = self.id_at(i) else { return };
        // A waiter its budget stopped keeps its wait, answered once it is resumed.
        let Some(child) = self
            .get(id)
            .filter(|p| p.state == State::Waiting)
            .and_then(|p| p.waiting_on)
        else {
            return;
        };
        if self.has_answer_for(id, child) {
            if let Some(p) = self.get_mut(id) {
                p.waiting_on = None;
            }
            self.service(id);
        }
    }

    /// A call into a busy callee: wait until it is idle, unless the callee is (through other
    /// calls) waiting for the caller. Then the call is a callback: served at once above the
    /// callee's waiting trap if it waits in a kernel service, refused otherwise (it could never
    /// be answered).
    fn call_busy(
        &mut self,
        id: ProcessId,
        callee: ProcessId,
        function: Callee,
        args: &[Value],
    ) -> Result<Answer, Refusal> {
        if self.wait_cycle(id, callee, Some(id))?.is_none() {
            return Ok(Answer::Wait(callee));
        }
        let parked = self.get(callee).is_some_and(|c| {
            c.state == State::Waiting
                && c.vm.trap_native().is_some_and(|n| {
                    c.vm.natives().trap(n) != Some(Trap::Service(Service::Callback))
                })
        });
        if parked {
            return self.start_callback(id, callee, function, args);
        }
        let name = self.get(callee).map(|c| c.name.clone()).unwrap_or_default();
        Err(deadlock(format!(
            "call into '{name}' would never end: it is waiting for the caller and cannot take the call"
        )))
    }

    /// Starts `function(args…)` in `callee`, which waits in a kernel service for (a process
    /// that waits for) the caller: the call runs above that trap, and the waits the callee had
    /// are put aside until it returns (`finish_callback`).
    fn start_callback(
        &mut self,
        id: ProcessId,
        callee: ProcessId,
        function: Callee,
        args: &[Value],
    ) -> Result<Answer, Refusal> {
        self.with_taken(callee, "the process is gone", |k, c| {
            let (f, copied) = k.call_arguments(id, c, callee, &function, args)?;
            let runner =
                native(&mut c.vm, "process.callback").map_err(|_| broken("no callback native"))?;
            crate::process::bound(&k.memory, c);
            let r = c.vm.start_trap_callback(runner, f, &copied);
            crate::process::settle(&mut k.memory, c);
            r.map_err(|e| match e {
                crate::vm::Throw::Memory(_) => {
                    refuse(FaultKind::Memory, "not enough memory in the called process")
                }
                crate::vm::Throw::Message(m) | crate::vm::Throw::Plain(m) => {
                    refuse(FaultKind::Error, m)
                }
                crate::vm::Throw::StackOverflow => refuse(FaultKind::Error, "stack overflow"),
                _ => broken("the call could not be started"),
            })?;
            c.serving.push(crate::process::Callback {
                caller: id,
                calling: c.calling.take(),
                waiting_on: c.waiting_on.take(),
            });
            c.state = State::Ready;
            Ok(())
        })?;
        self.enqueue(callee);
        if let Some(p) = self.get_mut(id) {
            p.calling = Some(callee);
        }
        Ok(Answer::Wait(callee))
    }

    /// A callback's runner trapped with `true, results…` or `false, error`: hands them to the
    /// caller (if it still waits for them) and puts the process back into the wait it had.
    pub(super) fn finish_callback(&mut self, id: ProcessId, outcome: &[Value]) {
        let Some(c) = self.get_mut(id) else { return };
        let ended = c.vm.end_trap_callback();
        let Some(entry) = c.serving.pop().filter(|_| ended.is_ok()) else {
            // Not a callback the kernel started: nothing to hand back.
            self.break_process(id, "a callback ended that the kernel did not start".into());
            return;
        };
        c.state = State::Waiting;
        c.calling = entry.calling;
        let caller = entry.caller;
        self.wait_for(id, entry.waiting_on);
        let waits = self.get(caller).is_some_and(|p| {
            p.calling == Some(id) && p.state == State::Waiting && p.vm.trap_native().is_some()
        });
        if !waits {
            // The caller gave up (a fault reached it, or it was killed): the answer is dropped.
            return;
        }
        if let Some(p) = self.get_mut(caller) {
            p.calling = None;
            p.waiting_on = None;
        }
        let key = self.call_key(caller);
        let answer = match outcome.split_first() {
            Some((Value::Bool(true), results)) => {
                self.copy_to(id, results, caller).map(Answer::Values)
            }
            Some((_, rest)) => {
                let error = rest.first().copied().unwrap_or(Value::Nil);
                // The runner says whether what it caught was a refused allocation.
                let kind = match rest.get(1) {
                    Some(Value::Bool(true)) => FaultKind::Memory,
                    _ => FaultKind::Error,
                };
                let message = match self.get_mut(id) {
                    Some(c) => crate::process::error_message(&mut c.vm, error),
                    None => String::new(),
                };
                let value = self
                    .copy_to(id, &[error], caller)
                    .ok()
                    .and_then(|v| v.first().copied());
                Err(Refusal::from(RefusalDetail {
                    kind: kind.into(),
                    message,
                    process: Some(key),
                    value,
                    traceback: None,
                }))
            }
            None => Err(broken("a callback ended without an answer")),
        };
        match answer {
            Ok(Answer::Values(values)) => {
                self.answer_trap(caller, &values);
            }
            Ok(Answer::Wait(_) | Answer::Io) => {}
            // The callback is over and cannot run again: its answer is abandoned (the copy
            // left nothing behind) and the caller hears why.
            Err(r) if matches!(r.kind, Refused::Unpaid { .. }) => self.fail(
                caller,
                refuse(
                    FaultKind::Fuel,
                    "out of fuel while receiving the results of a call",
                ),
            ),
            Err(r) if r.is_retried() => self.fail(
                caller,
                refuse(
                    FaultKind::Memory,
                    "not enough memory to receive the results of a call",
                ),
            ),
            Err(r) => self.fail(caller, r),
        }
    }

    /// The key value a process's pending call names (a proxy's key, or `proc:call`'s `proc`).
    fn call_key(&self, id: ProcessId) -> Value {
        let Some(p) = self.get(id) else {
            return Value::Nil;
        };
        match p.vm.trap_upvalues() {
            [key, Value::Int(_)] => *key,
            _ => p.vm.trap_args().first().copied().unwrap_or(Value::Nil),
        }
    }

    /// The process and function a far-function key held by `holder` designates, if `v` is one.
    fn far_function(
        &mut self,
        holder: ProcessId,
        v: Value,
    ) -> Result<Option<(ProcessId, i64)>, Refusal> {
        let p = self.get(holder).ok_or_else(|| broken("no such process"))?;
        let Some(key) = key_handle(&p.vm, v).and_then(|h| p.clist.get(h)) else {
            return Ok(None);
        };
        self.charge_key_walk(holder, key)?;
        let Some(KeyKind::FarFunction { process, function }) = self.keys.resolve(key).cloned()
        else {
            return Ok(None);
        };
        if self.keys.is_revoked(key) {
            return Err(refuse(FaultKind::Revoked, "the function's key was revoked"));
        }
        let target = ProcessId::from_u64(process);
        match self.get(target) {
            Some(c) if c.state != State::Killed => Ok(Some((target, function as i64))),
            _ => Err(refuse(
                FaultKind::Killed,
                "the function's process was killed",
            )),
        }
    }

    /// `proc:call(fname, ...)`: runs a global function of an idle process with copies of the
    /// arguments; the caller waits, and gets copies of the results (or its fault).
    pub(super) fn call(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let key = args.first().copied().unwrap_or(Value::Nil);
        if let Some(callee) = self.get_mut(id).and_then(|p| p.calling.take()) {
            // The callee stopped: its results (or fault) are the call's.
            return self.answer_again(id, callee, key);
        }
        let callee = self.resolve(id, key)?;
        if callee == id {
            return Err(refuse(FaultKind::Error, "a process cannot call itself"));
        }
        let function = match args.get(1) {
            Some(&Value::Str(name)) => Callee::Global(name),
            _ => {
                return Err(refuse(
                    FaultKind::Error,
                    "bad argument #1 to 'call' (function name expected)",
                ))
            }
        };
        let call_args = &args[2.min(args.len())..];
        self.call_into(id, callee, function, call_args, key)
    }

    /// A call by `id` into `callee` (named by `key`), made or remade: started at once if the
    /// callee is idle, a wait while it is busy, or the callee's fault if it stopped.
    fn call_into(
        &mut self,
        id: ProcessId,
        callee: ProcessId,
        function: Callee,
        args: &[Value],
        key: Value,
    ) -> Result<Answer, Refusal> {
        match self.get(callee).map(|c| c.state).unwrap_or(State::Killed) {
            // Busy: wait until it is idle, then try again.
            State::Ready | State::Running | State::Waiting => {
                self.call_busy(id, callee, function, args)
            }
            State::Done if self.has_answer_for(id, callee) => {
                self.start_call(id, callee, function, args)
            }
            // Done, holding another caller's answer: idle once that is taken.
            State::Done => Ok(Answer::Wait(callee)),
            _ => self.answer_from(id, callee, key),
        }
    }

    /// What a call from `id` into `c` (process `callee`, taken out of its slot) runs: the
    /// function it names, and the arguments copied into the callee's heap (its bank pays for
    /// the memory, the caller for the copy; keys cross as keys).
    fn call_arguments(
        &mut self,
        id: ProcessId,
        c: &mut crate::process::Process,
        callee: ProcessId,
        function: &Callee,
        args: &[Value],
    ) -> Result<(Value, Vec<Value>), Refusal> {
        let copied = self.copy_between(id, args, c, callee, id, Op::CallArgument)?;
        let caller = self.get(id).ok_or_else(|| broken("no such process"))?;
        let f = callee_function(c, function, &caller.vm)?;
        Ok((f, copied))
    }

    /// Starts a function of the idle process `callee` with copies of `args` (its bank pays);
    /// the caller waits for the answer.
    fn start_call(
        &mut self,
        id: ProcessId,
        callee: ProcessId,
        function: Callee,
        args: &[Value],
    ) -> Result<Answer, Refusal> {
        self.with_taken(callee, "the process is gone", |k, c| {
            let (f, copied) = k.call_arguments(id, c, callee, &function, args)?;
            let started = c.vm.start(f, &copied);
            k.spare_values = copied;
            started.map_err(|_| {
                refuse(FaultKind::Memory, "not enough memory in the called process")
            })?;
            c.state = State::Ready;
            // Its results stay: `wait()` answers with the chunk's own, whatever calls come.
            c.call = Some(crate::process::Call {
                caller: Some(id),
                reply: None,
            });
            // A stale answer (its caller gone) is dropped with the call it ended.
            c.hold_values();
            Ok(())
        })?;
        self.enqueue(callee);
        if let Some(p) = self.get_mut(id) {
            p.calling = Some(callee);
        }
        Ok(Answer::Wait(callee))
    }

    /// A call through an import proxy: the proxy's upvalues name the module's process key and
    /// the exported function.
    pub(super) fn proxy_call(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let (key, index) = match self
            .get(id)
            .map(|p| p.vm.trap_upvalues().to_vec())
            .as_deref()
        {
            Some([key, Value::Int(i)]) => (*key, *i),
            _ => return Err(broken("broken proxy")),
        };
        if let Some(callee) = self.get_mut(id).and_then(|p| p.calling.take()) {
            return self.answer_again(id, callee, key);
        }
        let (callee, index) = match self.far_function(id, key)? {
            Some(target) => target,
            None => (self.resolve(id, key)?, index),
        };
        self.call_into(id, callee, Callee::Export(index), args, key)
    }

    /// The answer to the call `id` made into `callee` (it was woken: the callee stopped).
    /// When `id` cannot pay to receive it, it keeps waiting for it (suspended) and the
    /// answer stays with the callee.
    fn answer_again(
        &mut self,
        id: ProcessId,
        callee: ProcessId,
        key: Value,
    ) -> Result<Answer, Refusal> {
        let r = self.call_answer(id, callee, key);
        // Still our call (refused for want of fuel or room, or the callee stopped for a
        // budget of ours and goes on when we are resumed): woken again, the caller asks for
        // its answer, never starts the call anew.
        let ours = self
            .get(callee)
            .and_then(|c| c.call.as_ref())
            .is_some_and(|call| call.caller == Some(id));
        let again = match &r {
            Err(e) => e.is_retried(),
            Ok(Answer::Wait(w)) => *w == callee && ours,
            Ok(_) => false,
        };
        if again {
            if let Some(p) = self.get_mut(id) {
                p.calling = Some(callee);
            }
        }
        r
    }

    /// What `callee` has for the call `id` made: the call's answer once it ended (copied
    /// into `id`'s heap), a wait while it runs, or the callee's fault if it stopped short.
    fn call_answer(
        &mut self,
        id: ProcessId,
        callee: ProcessId,
        key: Value,
    ) -> Result<Answer, Refusal> {
        let (ours, answered) = match self.get(callee).and_then(|c| c.call.as_ref()) {
            Some(call) => (call.caller == Some(id), call.reply.is_some()),
            None => (false, false),
        };
        let state = self.get(callee).map(|c| c.state).unwrap_or(State::Killed);
        match (ours, answered, state) {
            (true, true, _) => self.take_reply(id, callee, key),
            (_, _, State::Ready | State::Running | State::Waiting) => Ok(Answer::Wait(callee)),
            (_, _, State::Suspended) if self.suspended_for_an_ancestor_of(id, callee) => {
                Ok(Answer::Wait(callee))
            }
            (true, false, _) => {
                // It stopped mid-call (suspended, killed): the caller hears why, and the call,
                // if it is ever resumed, answers no one.
                if let Some(call) = self.get_mut(callee).and_then(|c| c.call.as_mut()) {
                    call.caller = None;
                }
                self.wait_on(id, callee, key)
            }
            (false, _, State::Done) => Err(broken("the answer to the call was lost")),
            (false, _, _) => self.wait_on(id, callee, key),
        }
    }

    /// Hands the answer of a call to its caller: values copied into its heap (it pays), or
    /// the callee's error as an `error` fault. The callee is idle again, and the callers
    /// waiting for it are woken. Refused for want of fuel, the answer stays.
    fn take_reply(
        &mut self,
        id: ProcessId,
        callee: ProcessId,
        key: Value,
    ) -> Result<Answer, Refusal> {
        // Taken out of the call while it is copied (the callee's `held` values keep it
        // alive), and put back if the copy is refused.
        let reply = self
            .get_mut(callee)
            .and_then(|c| c.call.as_mut())
            .and_then(|call| call.reply.take())
            .ok_or_else(|| broken("the answer to the call was lost"))?;
        let answer = match reply {
            crate::process::Reply::Values(values) => {
                let copied = self.copy_to(callee, &values, id).map(Answer::Values);
                if matches!(&copied, Err(e) if e.is_retried()) {
                    if let Some(call) = self.get_mut(callee).and_then(|c| c.call.as_mut()) {
                        call.reply = Some(crate::process::Reply::Values(values));
                    }
                    return copied;
                }
                if let Some(c) = self.get_mut(callee) {
                    c.vm.reuse_results(values);
                }
                copied
            }
            // A fault, never retried (`fault_from` copies the error value if it can).
            crate::process::Reply::Error {
                kind,
                message,
                value,
                traceback,
            } => Err(self.fault_from(id, callee, key, kind, message, Some(value), traceback)),
        };
        if let Some(c) = self.get_mut(callee) {
            c.call = None;
            c.hold_values();
        }
        self.stopped_since_wake = true;
        answer
    }

    /// The fault `id` hears about an error in process `from` (named by `key`): its traceback
    /// marked with `from`'s name, and, for kind `error`, the error value itself when it can
    /// cross (a function or a coroutine in it cannot: then the fault has only the message).
    #[allow(clippy::too_many_arguments)]
    fn fault_from(
        &mut self,
        id: ProcessId,
        from: ProcessId,
        key: Value,
        kind: FaultKind,
        message: String,
        error: Option<Value>,
        traceback: String,
    ) -> Refusal {
        let traceback = self.traceback_in(from, traceback);
        let value = match error {
            Some(v) if kind == FaultKind::Error => self
                .copy_to(from, &[v], id)
                .ok()
                .and_then(|v| v.first().copied()),
            _ => None,
        };
        Refusal::from(RefusalDetail {
            kind: kind.into(),
            message,
            process: Some(key),
            value,
            traceback,
        })
    }

    /// `traceback`, taken in process `id`, marked with that process's name, for a fault's
    /// `traceback` field (none when there is none to show).
    fn traceback_in(&self, id: ProcessId, traceback: String) -> Option<String> {
        if traceback.is_empty() {
            return None;
        }
        let name = self.get(id).map(|p| p.name.as_str()).unwrap_or("?");
        Some(format!("{traceback}\n\t(in process '{name}')"))
    }

    /// What a stopped process has for a waiter: its results, or its fault.
    fn answer_from(
        &mut self,
        id: ProcessId,
        child: ProcessId,
        key: Value,
    ) -> Result<Answer, Refusal> {
        match self.get(child).map(|c| c.state) {
            Some(State::Ready | State::Running | State::Waiting) => Ok(Answer::Wait(child)),
            _ => self.wait_on(id, child, key),
        }
    }

    pub(super) fn wait(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let key = args.first().copied().unwrap_or(Value::Nil);
        let child = self.resolve(id, key)?;
        let chunk_returned = self
            .get(child)
            .is_some_and(|c| c.call.is_some() && c.state != State::Killed);
        if chunk_returned {
            // A call runs in it (or waits to be taken): its chunk returned long ago.
            let results = self
                .get(child)
                .map(|c| c.results.clone())
                .unwrap_or_default();
            if child == id {
                // A call in the process itself: the values are in its own heap already.
                return Ok(Answer::Values(results));
            }
            return self.copy_to(child, &results, id).map(Answer::Values);
        }
        self.wait_on(id, child, key)
    }

    /// Whether `child` has an answer for `waiter` now: it stopped, and holds no call's answer
    /// that another caller still waits to take.
    pub(crate) fn has_answer_for(&self, waiter: ProcessId, child: ProcessId) -> bool {
        let Some(c) = self.get(child) else {
            return true;
        };
        match c.state {
            State::Suspended => !self.suspended_for_an_ancestor_of(waiter, child),
            State::Failed | State::Killed => true,
            State::Done => match c.call.as_ref().and_then(|call| call.caller) {
                Some(owner) => owner == waiter || !self.takes_answer(owner, child),
                None => true,
            },
            State::Ready | State::Running | State::Waiting => false,
        }
    }

    /// Whether `caller` still waits for the answer of its call into `callee`.
    fn takes_answer(&self, caller: ProcessId, callee: ProcessId) -> bool {
        self.get(caller)
            .is_some_and(|p| p.state != State::Killed && p.calling == Some(callee))
    }

    /// The answer `child` has for `id` (results, a fault naming `key`, or wait).
    fn wait_on(&mut self, id: ProcessId, child: ProcessId, key: Value) -> Result<Answer, Refusal> {
        let state = self.get(child).map(|c| c.state).unwrap_or(State::Killed);
        match state {
            State::Done => {
                // Copy the results into the waiter's heap (the waiter's bank pays); keys cross
                // as keys.
                let results = self
                    .get(child)
                    .map(|c| c.results.clone())
                    .unwrap_or_default();
                self.copy_to(child, &results, id).map(Answer::Values)
            }
            State::Failed => {
                // A memory error nobody caught is the child's memory budget running out.
                let (kind, message, traceback) = match self.get(child).and_then(|c| c.fault.clone())
                {
                    Some(Fault::Error { message, traceback }) => {
                        (FaultKind::Error, message, traceback)
                    }
                    Some(Fault::Memory { message, traceback }) => {
                        (FaultKind::Memory, message, traceback)
                    }
                    Some(Fault::Broken { what }) => (
                        FaultKind::Error,
                        Fault::broken_message(&what),
                        String::new(),
                    ),
                    _ => (FaultKind::Error, "the process failed".into(), String::new()),
                };
                let error = self.get(child).and_then(|c| c.results.first().copied());
                Err(self.fault_from(id, child, key, kind, message, error, traceback))
            }
            // Stopped for an ancestor of the waiter: it carries on once that one is resumed.
            State::Suspended if self.suspended_for_an_ancestor_of(id, child) => {
                Ok(Answer::Wait(child))
            }
            State::Suspended => {
                let name = self.get(child).map(|c| c.name.clone()).unwrap_or_default();
                let (kind, message) = match self.get(child).and_then(|c| c.fault.clone()) {
                    Some(Fault::Exhausted { budget, exhausted }) if exhausted == child => (
                        budget.fault_kind(),
                        format!("process '{name}' {}", budget.ran_out()),
                    ),
                    Some(Fault::Exhausted { budget, exhausted }) => {
                        let who = self
                            .get(exhausted)
                            .map(|p| p.name.clone())
                            .unwrap_or_default();
                        (
                            budget.fault_kind(),
                            format!(
                                "process '{name}' stopped: its ancestor '{who}' {}",
                                budget.ran_out()
                            ),
                        )
                    }
                    _ => (FaultKind::Fuel, format!("process '{name}' is suspended")),
                };
                Err(Refusal::from(RefusalDetail {
                    kind: kind.into(),
                    message,
                    process: Some(key),
                    value: None,
                    traceback: None,
                }))
            }
            State::Killed => Err(Refusal::from(RefusalDetail {
                kind: FaultKind::Killed.into(),
                message: "the process was killed".into(),
                process: Some(key),
                value: None,
                traceback: None,
            })),
            State::Ready | State::Running | State::Waiting => Ok(Answer::Wait(child)),
        }
    }
}

/// The function of process `c` that a call from the VM `caller` names.
fn callee_function(
    c: &mut crate::process::Process,
    function: &Callee,
    caller: &crate::vm::Vm,
) -> Result<Value, Refusal> {
    let f = match *function {
        Callee::Global(name) => c.vm.get_global(caller.heap.str(name)),
        Callee::Export(i) => {
            let k =
                c.vm.intern(EXPORTS)
                    .map_err(|_| refuse(FaultKind::Memory, "not enough memory"))?;
            match c.vm.raw_get(c.vm.registry, k) {
                Value::Table(t) => c.vm.raw_get(t, Value::Int(i)),
                _ => Value::Nil,
            }
        }
    };
    if !f.is_function() {
        let what = match function {
            Callee::Global(name) => String::from_utf8_lossy(caller.heap.str(*name)).into_owned(),
            Callee::Export(i) => format!("export #{i}"),
        };
        return Err(refuse(
            FaultKind::Error,
            format!("process '{}' has no function '{}'", c.name, what),
        ));
    }
    Ok(f)
}
