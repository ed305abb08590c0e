//! Kernel services: what a process asks its kernel for through a trap — `spawn` and the methods
//! of process keys (`status`, `usage`, `wait`, `refuel`, `resume`, `kill`). Each service reads
//! the trapping native's arguments, does the work, and answers with `complete_trap` (values in
//! the caller's heap) or `fail_trap` (a fault table `{kind, message, process}`).
//!
//! This file is the dispatch: `service` routes a trap by its native's name, and a refusal
//! (`Refusal`: a fault raised in the requester, or `unpaid`, which suspends it) ends in `fail`
//! or `suspend_unpaid`; it also holds the helpers every service shares (`charge_process`,
//! `resolve`, `with_taken`). The services live beside it: `spawn` (creating children), `calls`
//! (calls, waits, deadlock), `copy` (values and keys between processes), `revoke`, `snapshots`,
//! `reap` (ending processes), `key_values` (keys as Lua values) and `gateway` (gateway keys).
//!
//! **Invariant:** a process names another only through a key in its own c-list: the userdata
//! it holds carries a slot handle, which is looked up in the holder's c-list, never trusted as
//! a process id.

use crate::clist::KeyKind;
use crate::fault::FaultKind;
use crate::process::{Kernel, ProcessId, State};
use crate::service::Trap;
use crate::value::Value;
use crate::vm::Vm;

mod calls;
mod copy;
pub(crate) mod gateway;
mod key_values;
mod reap;
mod revoke;
mod snapshots;
mod spawn;

use key_values::key_handle;
pub use key_values::key_name;

use crate::fault::FAULT_META;

enum Answer {
    /// Values already in the caller's heap.
    Values(Vec<Value>),
    /// The caller waits for this child.
    Wait(ProcessId),
    /// The caller waits for the host (`Process::io` says which request).
    Io,
}

/// A refusal: a fault raised in the requester (its kind, message, and the process it is
/// about), or a request its process cannot pay for. Boxed: a service's `Result` is passed
/// up through several calls on the way of every request, and most requests are not refused.
struct Refusal(Box<RefusalDetail>);

/// What a [`Refusal`] says.
struct RefusalDetail {
    kind: Refused,
    message: String,
    process: Option<Value>,
    /// The error value itself, copied into the caller (a child's `error(…)` argument).
    value: Option<Value>,
    /// Where the error was raised in the other process (its traceback, naming it), for the
    /// fault's `traceback` field.
    traceback: Option<String>,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refused {
    /// A fault, raised in the requester.
    Fault(FaultKind),
    /// Not a fault: the requester cannot pay for its request (`needed` more units, beyond
    /// what the request charged so far), so it is suspended out of fuel with its trap still
    /// pending, and the request is made again from the start once it is resumed (every
    /// service that refuses this way has changed nothing, and what it charged is given back).
    Unpaid { needed: u64 },
    /// Not a fault either: what the requester asked for does not fit its own memory budget
    /// (`needed` more bytes), so it is suspended out of memory with its trap pending and the
    /// request is made again once it is resumed, as for `Unpaid`.
    NoRoom { needed: u64 },
    /// Not a fault of the requester's: a kernel invariant broke (a process the kernel itself
    /// named is gone, a native it registers is missing, state it keeps disagrees with
    /// itself). No script may catch it: the requester ends, failed (`Fault::Broken`).
    Broken,
}

impl From<FaultKind> for Refused {
    fn from(kind: FaultKind) -> Refused {
        Refused::Fault(kind)
    }
}

impl From<RefusalDetail> for Refusal {
    fn from(detail: RefusalDetail) -> Refusal {
        Refusal(Box::new(detail))
    }
}

impl std::ops::Deref for Refusal {
    type Target = RefusalDetail;
    fn deref(&self) -> &RefusalDetail {
        &self.0
    }
}

impl std::ops::DerefMut for Refusal {
    fn deref_mut(&mut self) -> &mut RefusalDetail {
        &mut self.0
    }
}

impl Refusal {
    /// The same refusal, saying `message`.
    fn with_message(mut self, message: String) -> Refusal {
        self.message = message;
        self
    }

    /// Whether the request is made again once its process is given more (fuel or memory)
    /// and resumed, instead of faulting.
    fn is_retried(&self) -> bool {
        matches!(self.kind, Refused::Unpaid { .. } | Refused::NoRoom { .. })
    }
}

/// The refusal of a request whose answer does not fit the requester's own memory budget.
fn no_room(needed: usize) -> Refusal {
    Refusal::from(RefusalDetail {
        kind: Refused::NoRoom {
            needed: needed as u64,
        },
        message: "not enough memory".into(),
        process: None,
        value: None,
        traceback: None,
    })
}

/// The refusal of a request its process cannot pay for: it needs `needed` more units than its
/// chain could give.
fn unpaid(needed: u64) -> Refusal {
    Refusal::from(RefusalDetail {
        kind: Refused::Unpaid { needed },
        message: "out of fuel".into(),
        process: None,
        value: None,
        traceback: None,
    })
}

/// The refusal of a request that found a kernel invariant broken: `what` says which.
fn broken(what: impl Into<String>) -> Refusal {
    Refusal::from(RefusalDetail {
        kind: Refused::Broken,
        message: what.into(),
        process: None,
        value: None,
        traceback: None,
    })
}

fn refuse(kind: FaultKind, message: impl Into<String>) -> Refusal {
    Refusal::from(RefusalDetail {
        kind: kind.into(),
        message: message.into(),
        process: None,
        value: None,
        traceback: None,
    })
}

impl Kernel {
    /// Answers the trap of process `id`.
    pub(crate) fn service(&mut self, id: ProcessId) {
        let Some(p) = self.get(id) else { return };
        let Some(native) = p.vm.trap_native() else {
            return;
        };
        // A new attempt at the request: nothing charged for it yet.
        if let Some(p) = self.get_mut(id) {
            p.drawn = 0;
        }
        let mut args = std::mem::take(&mut self.trap_args);
        if let Some(p) = self.get(id) {
            args.extend_from_slice(p.vm.trap_args());
        }
        self.serve(id, native, &args);
        args.clear();
        self.trap_args = args;
    }

    /// Answers the trap of process `id` in `native`, called with `args`.
    fn serve(&mut self, id: ProcessId, native: crate::heap::NativeId, args: &[Value]) {
        let Some(p) = self.get(id) else { return };
        let service = match p.vm.natives().trap(native) {
            Some(Trap::Service(service)) => service,
            Some(Trap::Gateway(method)) => {
                let answer = self.gateway_call(id, method, args);
                return self.answer(id, answer);
            }
            None => {
                let name = p.vm.natives().name(native);
                let answer = Err(broken(format!("no kernel service named '{name}'")));
                return self.answer(id, answer);
            }
        };
        use crate::service::Service as S;
        let answer = match service {
            S::Spawn => self.spawn(id, args),
            S::Status => {
                let key = args.first().copied().unwrap_or(Value::Nil);
                let state = match self.resolve(id, key) {
                    Ok(c) => Ok(self.get(c).map(|p| p.state.name()).unwrap_or("killed")),
                    // A killed process still has a state to report (DESIGN, "Process
                    // lifecycle"); only `status` answers instead of faulting.
                    Err(r) if r.kind == Refused::Fault(FaultKind::Killed) => Ok("killed"),
                    Err(r) => Err(r),
                };
                state.and_then(|s| Ok(Answer::Values(vec![self.string(id, s.as_bytes())?])))
            }
            S::Usage => self.with_child(id, args, |k, _, c| k.usage(id, c)),
            S::Refuel => self.with_child(id, args, |k, args, c| {
                let n = match args.get(1) {
                    Some(Value::Int(n)) if *n >= 0 => *n as u64,
                    Some(Value::Float(f)) if *f >= 0.0 => *f as u64,
                    _ => {
                        return Err(refuse(
                            FaultKind::Error,
                            "bad argument #1 to 'refuel' (non-negative number expected)",
                        ))
                    }
                };
                // `memory`: bytes (or a size such as "16M") added to its memory limit.
                let memory = match args.get(2) {
                    None | Some(Value::Nil) => 0,
                    Some(Value::Int(m)) if *m >= 0 => *m as u64,
                    Some(Value::Float(f)) if *f >= 0.0 => *f as u64,
                    Some(&Value::Str(s)) => k
                        .get(id)
                        .and_then(|p| spawn::parse_size(p.vm.heap.str(s)))
                        .ok_or_else(|| {
                            refuse(
                                FaultKind::Error,
                                "bad argument #2 to 'refuel' (a size such as 16M expected)",
                            )
                        })? as u64,
                    Some(_) => {
                        return Err(refuse(
                            FaultKind::Error,
                            "bad argument #2 to 'refuel' (a size such as 16M expected)",
                        ))
                    }
                };
                k.refuel(c, n);
                if memory > 0 {
                    k.raise_memory(c, memory);
                }
                Ok(Vec::new())
            }),
            S::Resume => self.with_child(id, args, |k, _, c| {
                // Finding the processes it stopped reads every process record once.
                k.charge_process(id, crate::cost::Work::Records, k.slots.len() as u64)?;
                k.resume(c);
                Ok(Vec::new())
            }),
            S::Kill => self.with_child(id, args, |k, _, c| {
                // Finding the subtree reads every process record once.
                k.charge_process(id, crate::cost::Work::Records, k.slots.len() as u64)?;
                k.kill(c);
                Ok(Vec::new())
            }),
            S::Wait => self.wait(id, args),
            S::Call => self.call(id, args),
            S::Proxy => self.proxy_call(id, args),
            S::Import => self.import(id, args),
            S::Revocable => self.revocable(id, args),
            S::Revoke => self.revoke(id),
            S::Eq => self.key_equal(id, args),
            S::Snapshot => self.with_child(id, args, |k, _, c| k.snapshot_service(id, c)),
            S::Restore => self.restore_service(id, args),
            S::Callback => {
                self.finish_callback(id, args);
                return;
            }
        };
        self.answer(id, answer);
    }

    /// Hands a service's answer to the process that asked: values (it runs on), a wait, a
    /// suspension for want of fuel, or a fault raised in it.
    fn answer(&mut self, id: ProcessId, answer: Result<Answer, Refusal>) {
        match answer {
            Ok(Answer::Values(values)) => {
                self.answer_trap(id, &values);
                self.spare_values = values;
            }
            Ok(Answer::Wait(child)) => self.park(id, child),
            Ok(Answer::Io) => {}
            Err(r) if r.is_retried() => self.suspend_to_retry(id, &r),
            Err(r) if r.kind == Refused::Broken => self.break_process(id, r.0.message),
            Err(r) => self.fail(id, r),
        }
        // Keys dropped by the service (a failed copy, a kill) may leave ended processes
        // unreachable.
        self.reap_unheld();
    }

    /// Hands `values` (already in its heap) to the trap `id` waits in, and makes it ready. A
    /// trap keeps room for a few values (`run_native`); an answer larger than the memory left
    /// is raised at the trap as Lua's memory error rather than left unanswered.
    fn answer_trap(&mut self, id: ProcessId, values: &[Value]) {
        let Some(p) = self.get_mut(id) else { return };
        if p.vm.complete_trap(values).is_err() {
            let error = p.vm.memory_error_value();
            p.vm.fail_trap(error);
        }
        self.make_ready(id);
    }

    /// Charges `pieces` of `work` to process `id` (its meter and every ancestor's) before
    /// the kernel does that work for it. A charge its chain cannot pay is refused whole with
    /// [`unpaid`], before the work: nothing is charged and the process keeps what it had (as
    /// a refused charge in the VM). What was charged is recorded as drawn by the request
    /// (`Process::drawn`), given back if the request is refused later and made again.
    fn charge_process(
        &mut self,
        id: ProcessId,
        work: crate::cost::Work,
        pieces: u64,
    ) -> Result<(), Refusal> {
        if self.get(id).is_none() {
            return Err(broken("no such process"));
        }
        self.charge_fuel(id, work.units(pieces))
            .map_err(|e| unpaid(e.requested))
    }

    /// Suspends `id` out of fuel with its trap pending and what it had left intact: its
    /// request needed `needed` more units than its chain could give. What the request charged
    /// so far is given back (a refused request spends nothing, as a refused step does in the
    /// VM), so it is resumed once its chain can pay the whole of it, and makes its request
    /// again from the start: a cut never charges the same work twice.
    pub(crate) fn suspend_unpaid(&mut self, id: ProcessId, needed: u64) {
        let drawn = self.give_back_drawn(id);
        let price = drawn.saturating_add(needed).max(1);
        if let Some(p) = self.get_mut(id) {
            p.waiting_on = None;
            p.vm.refuse_request(price);
        }
        self.mark_cut(id);
        self.suspend_for(crate::process::Budget::Fuel, id, price);
    }

    /// Gives back to `id`'s chain the fuel its request charged so far (it is refused, to be
    /// made again from the start), and returns how much that was.
    fn give_back_drawn(&mut self, id: ProcessId) -> u64 {
        let Some(p) = self.get_mut(id) else { return 0 };
        let drawn = std::mem::take(&mut p.drawn);
        let meter = p.fuel;
        self.fuel.release(meter, drawn);
        drawn
    }

    /// Suspends `id` with its trap pending after a refusal that `is_retried`: out of fuel or
    /// out of memory, its request made again once it is resumed.
    fn suspend_to_retry(&mut self, id: ProcessId, r: &Refusal) {
        match r.kind {
            Refused::NoRoom { needed } => {
                self.give_back_drawn(id);
                if let Some(p) = self.get_mut(id) {
                    p.waiting_on = None;
                }
                self.mark_cut(id);
                self.suspend_for(crate::process::Budget::Memory, id, needed.max(1));
            }
            Refused::Unpaid { needed } => self.suspend_unpaid(id, needed),
            _ => {}
        }
    }

    /// Raises a fault table in process `id`.
    fn fail(&mut self, id: ProcessId, r: Refusal) {
        let Some(p) = self.get_mut(id) else { return };
        let vm = &mut p.vm;
        let fault = (|| -> Result<Value, crate::vm::Throw> {
            let t = vm.new_table(0, 4)?;
            // Neither an unpaid request nor a broken invariant is raised (`answer` suspends or
            // ends the requester); were one to be, it would be fuel, or an error.
            let kind = match r.kind {
                Refused::Fault(kind) => kind,
                Refused::Unpaid { .. } => FaultKind::Fuel,
                Refused::NoRoom { .. } => FaultKind::Memory,
                Refused::Broken => FaultKind::Error,
            };
            let kind = vm.intern(kind.name().as_bytes())?;
            let message = vm.intern(r.message.as_bytes())?;
            let k = vm.intern(b"kind")?;
            vm.raw_set(t, k, kind)?;
            let k = vm.intern(b"message")?;
            vm.raw_set(t, k, message)?;
            if let Some(key) = r.process {
                let k = vm.intern(b"process")?;
                vm.raw_set(t, k, key)?;
            }
            if let Some(value) = r.value {
                let k = vm.intern(b"value")?;
                vm.raw_set(t, k, value)?;
            }
            if let Some(traceback) = &r.traceback {
                let k = vm.intern(b"traceback")?;
                let v = vm.intern(traceback.as_bytes())?;
                vm.raw_set(t, k, v)?;
            }
            let mt = shared_meta(vm, FAULT_META, |vm, mt| {
                let f = native(vm, "process.fault.tostring")?;
                let k = vm.intern(b"__tostring")?;
                vm.raw_set(mt, k, f)
            })?;
            vm.set_metatable(t, Some(mt))?;
            Ok(Value::Table(t))
        })();
        let value = match fault {
            Ok(v) => v,
            // A heap too full for the fault still gets an error that says why.
            Err(_) => vm
                .intern(r.message.as_bytes())
                .unwrap_or_else(|_| vm.memory_error_value()),
        };
        vm.fail_trap(value);
        self.make_ready(id);
    }

    fn string(&mut self, id: ProcessId, s: &[u8]) -> Result<Value, Refusal> {
        let p = self.get_mut(id).ok_or_else(|| broken("no such process"))?;
        p.vm.intern(s)
            .map_err(|_| refuse(FaultKind::Memory, "not enough memory"))
    }

    /// Runs `f` with the process that the key in `args[0]` designates.
    fn with_child(
        &mut self,
        id: ProcessId,
        args: &[Value],
        f: impl FnOnce(&mut Kernel, &[Value], ProcessId) -> Result<Vec<Value>, Refusal>,
    ) -> Result<Answer, Refusal> {
        let child = self.resolve(id, args.first().copied().unwrap_or(Value::Nil))?;
        f(self, args, child).map(Answer::Values)
    }

    /// Charges `holder` for walking `key`'s ancestry (revocation checks and forwarders:
    /// `revocable` chains), one `Work::Records` a key, before the walk.
    fn charge_key_walk(
        &mut self,
        holder: ProcessId,
        key: crate::clist::KeyId,
    ) -> Result<(), Refusal> {
        let records = self.keys.depth(key) as u64 + 1;
        self.charge_process(holder, crate::cost::Work::Records, records)
    }

    /// The process a key held by `holder` designates.
    fn resolve(&mut self, holder: ProcessId, v: Value) -> Result<ProcessId, Refusal> {
        let p = self.get(holder).ok_or_else(|| broken("no such process"))?;
        let handle =
            key_handle(&p.vm, v).ok_or_else(|| refuse(FaultKind::Error, "not a process key"))?;
        let key = p
            .clist
            .get(handle)
            .ok_or_else(|| refuse(FaultKind::Revoked, "the process key is no longer held"))?;
        self.charge_key_walk(holder, key)?;
        if self.keys.is_revoked(key) {
            return Err(Refusal::from(RefusalDetail {
                kind: FaultKind::Revoked.into(),
                message: "the process key was revoked".into(),
                process: Some(v),
                value: None,
                traceback: None,
            }));
        }
        // Through forwarders (`revocable`) to the process designated.
        match self.keys.resolve(key) {
            Some(KeyKind::Process(n)) => {
                let child = ProcessId::from_u64(*n);
                match self.get(child) {
                    Some(c) if c.state != State::Killed => Ok(child),
                    _ => Err(Refusal::from(RefusalDetail {
                        kind: FaultKind::Killed.into(),
                        message: "the process was killed".into(),
                        process: Some(v),
                        value: None,
                        traceback: None,
                    })),
                }
            }
            _ => Err(refuse(FaultKind::Error, "not a process key")),
        }
    }

    /// Runs `f` on process `id` taken out of its slot, so that `f` can use the rest of the
    /// kernel too (copies between two processes need both), and puts it back.
    fn with_taken<T>(
        &mut self,
        id: ProcessId,
        gone: &'static str,
        f: impl FnOnce(&mut Kernel, &mut crate::process::Process) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let Some(mut p) = self
            .slots
            .get_mut(child_index(id))
            .and_then(|s| s.process.take())
        else {
            return Err(refuse(FaultKind::Killed, gone));
        };
        let r = f(self, &mut p);
        if let Some(slot) = self.slots.get_mut(child_index(id)) {
            slot.process = Some(p);
        }
        r
    }

    fn usage(&mut self, id: ProcessId, child: ProcessId) -> Result<Vec<Value>, Refusal> {
        let (fuel_used, fuel_limit) = self.fuel_usage(child).unwrap_or((0, 0));
        let (memory_used, memory_limit) = self
            .get(child)
            .and_then(|c| {
                self.memory
                    .usage(c.memory)
                    .map(|(_, limit)| (c.vm.heap.bank.used(), limit as usize))
            })
            .unwrap_or((0, 0));
        let (handles_open, handles_limit) = self.handle_usage(child).unwrap_or((0, 0));
        let p = self.get_mut(id).ok_or_else(|| broken("no such process"))?;
        let vm = &mut p.vm;
        let t = (|| -> Result<Value, crate::vm::Throw> {
            let t = vm.new_table(0, 6)?;
            for (k, v) in [
                ("fuel_used", fuel_used),
                ("fuel_limit", fuel_limit),
                ("memory_used", memory_used as u64),
                ("memory_limit", memory_limit as u64),
                ("handles_open", handles_open),
                ("handles_limit", handles_limit),
            ] {
                let key = vm.intern(k.as_bytes())?;
                vm.raw_set(t, key, Value::Int(v.min(i64::MAX as u64) as i64))?;
            }
            Ok(Value::Table(t))
        })()
        .map_err(|_| refuse(FaultKind::Memory, "not enough memory"))?;
        Ok(vec![t])
    }
}

fn child_index(id: ProcessId) -> usize {
    (id.to_u64() & 0xffff_ffff) as usize
}

/// A native of the process library, by name.
fn native(vm: &mut Vm, name: &str) -> Result<Value, crate::vm::Throw> {
    let id = vm
        .natives()
        .id_of(name)
        .ok_or_else(|| crate::vm::Throw::msg(format!("native {name} missing")))?;
    vm.native_value(id, Vec::new())
}

/// A metatable shared by every value of one kind in a process, kept in its registry.
fn shared_meta(
    vm: &mut Vm,
    field: &[u8],
    fill: impl FnOnce(&mut Vm, crate::value::TableRef) -> Result<(), crate::vm::Throw>,
) -> Result<crate::value::TableRef, crate::vm::Throw> {
    let k = vm.intern(field)?;
    if let Value::Table(t) = vm.raw_get(vm.registry, k) {
        return Ok(t);
    }
    let mt = vm.new_table(0, 4)?;
    fill(vm, mt)?;
    vm.raw_set(vm.registry, k, Value::Table(mt))?;
    Ok(mt)
}
