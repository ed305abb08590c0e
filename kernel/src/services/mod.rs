//! Kernel services: what a process asks its kernel for through a trap — `spawn` and the methods
//! of process keys (`status`, `usage`, `wait`, `refuel`, `resume`, `kill`). Each service reads
//! the trapping native's arguments, does the work, and answers with `complete_trap` (values in
//! the caller's heap) or `fail_trap` (a fault table `{kind, message, process}`).
//!
//! **Invariant:** a process names another only through a key in its own c-list: the userdata
//! it holds carries a slot handle, which is looked up in the holder's c-list, never trusted as
//! a process id.

use crate::audit::{Event, Op};
use crate::clist::{KeyKind, SlotHandle};
use crate::fault::FaultKind;
use crate::process::{Fault, Kernel, ProcessId, State};
use crate::value::{UserDataRef, Value};
use crate::vm::Vm;
use std::collections::HashMap;

pub(crate) mod gateway;

/// Magic prefix of a process key's userdata payload.
const KEY_MAGIC: &[u8; 4] = b"TKEY";
/// Registry fields holding the shared metatables.
const KEY_META: &[u8] = b"kernel.process_key_meta";
pub(crate) const FAULT_META: &[u8] = b"kernel.fault_meta";
/// Registry field of an imported module's process: its exported functions, by proxy index.
const EXPORTS: &[u8] = b"kernel.exports";
/// Default memory budget of a spawned process.
const DEFAULT_CHILD_MEMORY: usize = 16 << 20;

/// Which function of the called process runs.
enum Callee {
    /// A global function, by name (`proc:call`).
    Global(String),
    /// An exported function of an imported module, by proxy index.
    Export(i64),
}

/// The fuel a copy between processes may spend: what its payer's chain allows, taken piece by
/// piece before each piece is copied (`Work::Copied`, `transfer`). A copy that runs out is
/// abandoned whole (see `transfer`), and what it did spend is still charged.
#[derive(Clone, Copy, Debug)]
struct CopyFuel {
    left: u64,
    spent: u64,
}

impl CopyFuel {
    fn charge(&mut self, units: u64) -> Result<(), crate::transfer::TransferError> {
        match self.left.checked_sub(units) {
            Some(left) => {
                self.left = left;
                self.spent += units;
                Ok(())
            }
            None => {
                // Refused before the piece is copied: what was copied so far stays paid, the
                // rest of the allowance stays the payer's (as a refused charge in the VM).
                Err(crate::transfer::TransferError::Fuel)
            }
        }
    }
}

/// Copies a module's exports into the importer: functions become proxies that call back into
/// the module's process (recorded in order, so the module's process can keep them).
struct ProxyHooks {
    proxy: crate::heap::NativeId,
    key: Value,
    /// Exports the module's process already had (proxies number from `base + 1`).
    base: i64,
    functions: Vec<Value>,
    fuel: CopyFuel,
}

impl crate::transfer::TransferHooks for ProxyHooks {
    fn charge(&mut self, units: u64) -> Result<(), crate::transfer::TransferError> {
        self.fuel.charge(units)
    }

    fn function(
        &mut self,
        _from: &crate::heap::Heap,
        f: Value,
        to: &mut crate::heap::Heap,
    ) -> Result<Value, crate::transfer::TransferError> {
        self.functions.push(f);
        let index = self.base + self.functions.len() as i64;
        let n = to
            .new_native(self.proxy, vec![self.key, Value::Int(index)])
            .map_err(crate::transfer::TransferError::Memory)?;
        Ok(Value::Native(n))
    }
}

/// Copies between processes in which keys cross as keys: the receiver gets a new slot holding
/// the same key object (recorded in the audit log by the caller once the copy succeeded).
struct KeyHooks<'a> {
    sender: &'a crate::clist::Clist,
    receiver: &'a mut crate::clist::Clist,
    keys: &'a mut crate::clist::KeyTable,
    /// The receiver's process-key metatable.
    meta: crate::value::TableRef,
    granted: Vec<(SlotHandle, crate::clist::KeyId)>,
    /// Functions cross as far-function keys: the sender (as a key number) keeps them in its
    /// exports, numbered from `base + 1`; the receiver gets proxies (native `proxy`).
    sender_id: u64,
    base: i64,
    proxy: Option<crate::heap::NativeId>,
    functions: Vec<Value>,
    /// Gateway keys received, with their kind: they get their kind's metatable after the copy.
    gateway_keys: Vec<(UserDataRef, &'static str)>,
    fuel: CopyFuel,
}

impl KeyHooks<'_> {
    /// Puts `key` (whose holder count already counts this slot) in a new slot of the receiver,
    /// remembering it so a failed copy can take it back; on failure the count is given back.
    fn grant(
        &mut self,
        key: crate::clist::KeyId,
    ) -> Result<SlotHandle, crate::transfer::TransferError> {
        match self.receiver.grant(key) {
            Ok(handle) => {
                self.granted.push((handle, key));
                Ok(handle)
            }
            Err(e) => {
                let _ = self.keys.release(key);
                Err(crate::transfer::TransferError::Refused(e.to_string()))
            }
        }
    }
}

impl crate::transfer::TransferHooks for KeyHooks<'_> {
    fn charge(&mut self, units: u64) -> Result<(), crate::transfer::TransferError> {
        self.fuel.charge(units)
    }

    fn function(
        &mut self,
        _from: &crate::heap::Heap,
        f: Value,
        to: &mut crate::heap::Heap,
    ) -> Result<Value, crate::transfer::TransferError> {
        use crate::transfer::TransferError;
        let proxy = self.proxy.ok_or(TransferError::Function)?;
        // A proxy passes on the key it carries (the receiver reaches the same function
        // directly, not through the sender).
        if let Value::Native(n) = f {
            let carried = from_proxy(_from, n, proxy);
            if let Some((u, index)) = carried {
                let key = self.userdata(_from, u, to)?;
                let n = to
                    .new_native(proxy, vec![key, Value::Int(index)])
                    .map_err(TransferError::Memory)?;
                return Ok(Value::Native(n));
            }
        }
        self.functions.push(f);
        let index = self.base + self.functions.len() as i64;
        let kind = KeyKind::FarFunction {
            process: self.sender_id,
            function: index as u32,
        };
        let key = self
            .keys
            .create(kind)
            .map_err(|e| TransferError::Refused(e.to_string()))?;
        let handle = self.grant(key)?;
        // The key rides in the proxy's upvalue, out of Lua's reach (there is no debug library).
        let records = self.keys.record_bytes(key);
        let ud = to
            .new_key_userdata(key_payload(handle, b"function"), records)
            .map_err(TransferError::Memory)?;
        let n = to
            .new_native(proxy, vec![Value::UserData(ud), Value::Int(index)])
            .map_err(TransferError::Memory)?;
        Ok(Value::Native(n))
    }

    fn userdata(
        &mut self,
        from: &crate::heap::Heap,
        u: UserDataRef,
        to: &mut crate::heap::Heap,
    ) -> Result<Value, crate::transfer::TransferError> {
        use crate::transfer::TransferError;
        let payload = from
            .userdata
            .try_get(u.0)
            .map(|d| d.payload.clone())
            .unwrap_or_default();
        let handle = payload_handle(&payload).ok_or(TransferError::UserData)?;
        let key = self.sender.get(handle).ok_or_else(|| {
            TransferError::Refused("a key that is no longer held cannot be passed on".into())
        })?;
        if self.keys.is_revoked(key) {
            return Err(TransferError::Refused(
                "a revoked key cannot be passed on".into(),
            ));
        }
        self.keys
            .retain(key)
            .map_err(|e| TransferError::Refused(e.to_string()))?;
        let new = self.grant(key)?;
        let records = self.keys.record_bytes(key);
        let ud = to
            .new_key_userdata(key_payload(new, &payload[12..]), records)
            .map_err(TransferError::Memory)?;
        let data = to.userdata.get_mut(ud.0);
        match self.keys.resolve(key).map(KeyKind::kind_name) {
            Some("process") | None => data.metatable = Some(self.meta),
            Some(kind) => self.gateway_keys.push((ud, kind)),
        }
        Ok(Value::UserData(ud))
    }
}

enum Answer {
    /// Values already in the caller's heap.
    Values(Vec<Value>),
    /// The caller waits for this child.
    Wait(ProcessId),
    /// The caller waits for the host (`Process::io` says which request).
    Io,
}

/// A refusal: a fault raised in the requester (its kind, message, and the process it is
/// about), or a request its process cannot pay for.
struct Refusal {
    kind: Refused,
    message: String,
    process: Option<Value>,
    /// The error value itself, copied into the caller (a child's `error(…)` argument).
    value: Option<Value>,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refused {
    /// A fault, raised in the requester.
    Fault(FaultKind),
    /// Not a fault: the requester cannot pay for its request, so it is suspended out of fuel
    /// with its trap still pending, and the request is made again from the start once it is
    /// resumed (every service that refuses this way has changed nothing).
    Unpaid,
}

impl From<FaultKind> for Refused {
    fn from(kind: FaultKind) -> Refused {
        Refused::Fault(kind)
    }
}

impl Refusal {
    fn is_unpaid(&self) -> bool {
        self.kind == Refused::Unpaid
    }
}

/// `opts.handles`: a whole number of open files, sockets, listeners and directories.
fn handles_option(v: Value) -> Result<Option<u64>, Refusal> {
    match v {
        Value::Nil => Ok(None),
        Value::Int(n) if n >= 0 => Ok(Some(n as u64)),
        Value::Float(f) if f >= 0.0 && f.fract() == 0.0 => Ok(Some(f as u64)),
        _ => Err(refuse(
            FaultKind::Error,
            "bad option 'handles' (non-negative whole number expected)",
        )),
    }
}

/// The refusal of a request its process cannot pay for.
fn unpaid() -> Refusal {
    Refusal {
        kind: Refused::Unpaid,
        message: "out of fuel".into(),
        process: None,
        value: None,
    }
}

/// The fault a request that could never be answered raises in the requester.
fn deadlock(message: impl Into<String>) -> Refusal {
    refuse(FaultKind::Deadlock, message)
}

fn refuse(kind: FaultKind, message: impl Into<String>) -> Refusal {
    Refusal {
        kind: kind.into(),
        message: message.into(),
        process: None,
        value: None,
    }
}

/// The name stored in a process key's userdata (for its `tostring`).
pub fn key_name(vm: &Vm, u: UserDataRef) -> Option<String> {
    let payload = &vm.heap.userdata.try_get(u.0)?.payload;
    payload_handle(payload)?;
    Some(String::from_utf8_lossy(&payload[12..]).into_owned())
}

/// The payload of a key's userdata: magic, the holder's slot handle, a display name.
fn key_payload(handle: SlotHandle, name: &[u8]) -> Vec<u8> {
    let mut bytes = KEY_MAGIC.to_vec();
    bytes.extend_from_slice(&handle.index.to_le_bytes());
    bytes.extend_from_slice(&handle.generation.to_le_bytes());
    bytes.extend_from_slice(name);
    bytes
}

/// Reads a key's slot handle back from its payload.
pub(crate) fn payload_handle(payload: &[u8]) -> Option<SlotHandle> {
    if payload.len() < 12 || &payload[..4] != KEY_MAGIC {
        return None;
    }
    let word =
        |i: usize| u32::from_le_bytes([payload[i], payload[i + 1], payload[i + 2], payload[i + 3]]);
    Some(SlotHandle {
        index: word(4),
        generation: word(8),
    })
}

fn key_handle(vm: &Vm, v: Value) -> Option<SlotHandle> {
    let Value::UserData(u) = v else { return None };
    payload_handle(&vm.heap.userdata.try_get(u.0)?.payload)
}

/// The options of `spawn`, `import` and `restore`, checked: every key one the service knows,
/// each value of the right shape, `caps` holding only keys and functions (authority, and
/// nothing that could pass for it).
#[derive(Default)]
struct ChildOptions {
    name: Option<String>,
    fuel: Option<u64>,
    memory: Option<usize>,
    handles: Option<u64>,
    caps: Option<crate::value::TableRef>,
}

/// The options `spawn` and `import` know.
const SPAWN_OPTIONS: &[&str] = &["name", "fuel", "memory", "handles", "caps"];
/// The options `restore` knows (the restored process keeps its name).
const RESTORE_OPTIONS: &[&str] = &["fuel", "memory", "handles", "caps"];

impl Kernel {
    /// Reads `opts` (argument `position` of `service`) for process `id`, which pays for
    /// walking the table and its `caps` before the walk.
    fn child_options(
        &mut self,
        id: ProcessId,
        opts: Option<Value>,
        service: &str,
        position: usize,
        known: &[&str],
    ) -> Result<ChildOptions, Refusal> {
        let bad = |what: String| refuse(FaultKind::Error, what);
        let opts = match opts {
            None | Some(Value::Nil) => return Ok(ChildOptions::default()),
            Some(Value::Table(t)) => t,
            Some(other) => {
                return Err(bad(format!(
                    "bad argument #{position} to '{service}' (table of options expected, got {})",
                    other.type_name()
                )))
            }
        };
        let slots = self
            .get(id)
            .map(|p| p.vm.heap.table(opts).entry_slots())
            .unwrap_or(0);
        self.charge_process(id, crate::cost::Work::Entries, slots as u64)?;
        let p = self
            .get(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let vm = &p.vm;
        let mut entries = Vec::new();
        vm.heap
            .table(opts)
            .for_each_entry(|k, v| entries.push((k, v)));
        let mut o = ChildOptions::default();
        let options = known.join(", ");
        for (k, v) in entries {
            let key = vm
                .str_bytes(k)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            let Some(key) = key.filter(|k| known.contains(&k.as_str())) else {
                let shown = match vm.str_bytes(k) {
                    Some(b) => format!("'{}'", String::from_utf8_lossy(b)),
                    None => format!("of type {}", k.type_name()),
                };
                return Err(bad(format!(
                    "unknown option {shown} to '{service}' (options are {options})"
                )));
            };
            match (key.as_str(), v) {
                ("name", Value::Str(s)) => {
                    o.name = Some(String::from_utf8_lossy(vm.heap.str(s)).into_owned())
                }
                ("name", _) => return Err(bad("bad option 'name' (string expected)".into())),
                ("fuel", Value::Int(n)) if n >= 0 => o.fuel = Some(n as u64),
                ("fuel", Value::Float(f)) if f >= 0.0 => o.fuel = Some(f as u64),
                ("fuel", _) => {
                    return Err(bad(
                        "bad option 'fuel' (non-negative number expected)".into()
                    ))
                }
                ("memory", Value::Int(n)) if n > 0 => o.memory = Some(n as usize),
                ("memory", Value::Str(s)) if parse_size(vm.heap.str(s)).is_some() => {
                    o.memory = parse_size(vm.heap.str(s))
                }
                ("memory", _) => {
                    return Err(bad(
                        "bad option 'memory' (a size such as 16M expected)".into()
                    ))
                }
                ("handles", v) => o.handles = handles_option(v)?,
                ("caps", Value::Table(t)) => o.caps = Some(t),
                ("caps", _) => {
                    return Err(bad("bad option 'caps' (table of keys expected)".into()))
                }
                _ => {}
            }
        }
        if let Some(caps) = o.caps {
            let slots = vm.heap.table(caps).entry_slots();
            self.charge_process(id, crate::cost::Work::Entries, slots as u64)?;
            let p = self
                .get(id)
                .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
            let vm = &p.vm;
            let mut wrong = None;
            vm.heap.table(caps).for_each_entry(|k, v| {
                let authority = v.is_function() || key_handle(vm, v).is_some();
                if !authority && wrong.is_none() {
                    wrong = Some((k, v));
                }
            });
            if let Some((k, v)) = wrong {
                let name = match vm.str_bytes(k) {
                    Some(b) => format!("'{}'", String::from_utf8_lossy(b)),
                    None => format!("of type {}", k.type_name()),
                };
                return Err(bad(format!(
                    "bad option 'caps': entry {name} is a {} (only keys and functions can be given)",
                    v.type_name()
                )));
            }
        }
        Ok(o)
    }
}

impl Kernel {
    /// Answers the trap of process `id`.
    pub(crate) fn service(&mut self, id: ProcessId) {
        let Some(p) = self.get(id) else { return };
        let Some(native) = p.vm.trap_native() else {
            return;
        };
        let name = p.vm.natives().name(native);
        let args: Vec<Value> = p.vm.trap_args().to_vec();
        let answer = match name {
            "spawn" => self.spawn(id, &args),
            "process.status" => {
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
            "process.usage" => self.with_child(id, &args, |k, _, c| k.usage(id, c)),
            "process.refuel" => self.with_child(id, &args, |k, args, c| {
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
                k.refuel(c, n);
                Ok(Vec::new())
            }),
            "process.resume" => self.with_child(id, &args, |k, _, c| {
                // Finding the processes it stopped reads every process record once.
                k.charge_process(id, crate::cost::Work::Records, k.slots.len() as u64)?;
                k.resume(c);
                Ok(Vec::new())
            }),
            "process.kill" => self.with_child(id, &args, |k, _, c| {
                // Finding the subtree reads every process record once.
                k.charge_process(id, crate::cost::Work::Records, k.slots.len() as u64)?;
                k.kill(c);
                Ok(Vec::new())
            }),
            "process.wait" => self.wait(id, &args),
            "process.call" => self.call(id, &args),
            "process.proxy" => self.proxy_call(id, &args),
            "import" => self.import(id, &args),
            "revocable" => self.revocable(id, &args),
            "process.revoke" => self.revoke(id),
            "process.eq" => self.key_equal(id, &args),
            "process.snapshot" => self.with_child(id, &args, |k, _, c| k.snapshot_service(id, c)),
            "restore" => self.restore_service(id, &args),
            "process.callback" => {
                self.finish_callback(id, &args);
                return;
            }
            other if other.starts_with("key.") => self.gateway_call(id, other, &args),
            other => Err(refuse(
                FaultKind::Error,
                format!("no kernel service named '{other}'"),
            )),
        };
        match answer {
            Ok(Answer::Values(values)) => {
                if let Some(p) = self.get_mut(id) {
                    if p.vm.complete_trap(&values).is_ok() {
                        self.make_ready(id);
                    }
                }
            }
            Ok(Answer::Wait(child)) => self.park(id, child),
            Ok(Answer::Io) => {}
            Err(r) if r.is_unpaid() => self.suspend_unpaid(id, None),
            Err(r) => self.fail(id, r),
        }
        // Keys dropped by the service (a failed copy, a kill) may leave ended processes
        // unreachable.
        self.reap_unheld();
    }

    /// Charges `pieces` of `work` to process `id` (its meter and every ancestor's) before
    /// the kernel does that work for it. A charge its chain cannot pay is refused whole with
    /// [`unpaid`], before the work: nothing is charged and the process keeps what it had (as
    /// a refused charge in the VM).
    fn charge_process(
        &mut self,
        id: ProcessId,
        work: crate::cost::Work,
        pieces: u64,
    ) -> Result<(), Refusal> {
        if self.get(id).is_none() {
            return Err(refuse(FaultKind::Error, "no such process"));
        }
        self.charge_fuel(id, work.units(pieces))
            .map_err(|_| unpaid())
    }

    /// Reaps the ended processes that the last key designating them has left (DESIGN,
    /// "Process lifecycle"): their VMs, banks and meters are freed, and the keys they held
    /// released in turn (which may leave more processes unheld; the work list, not the Rust
    /// stack, follows them).
    pub(crate) fn reap_unheld(&mut self) {
        let mut queue = self.keys.take_unheld();
        while let Some(n) = queue.pop() {
            let id = ProcessId::from_u64(n);
            if !self.reapable(id) {
                continue;
            }
            let parent = self.get(id).and_then(|p| p.parent);
            self.remove(id);
            self.keys.forget_orphan(n);
            queue.extend(self.keys.take_unheld());
            // A parent that ended and is held by nobody waited only for this last child.
            if let Some(parent) = parent {
                queue.push(parent.to_u64());
            }
        }
    }

    /// Reaps `id` if it has just ended and no key reaches it.
    pub(crate) fn reap_if_ended(&mut self, id: ProcessId) {
        if self.keys.is_orphan(id.to_u64()) && self.reapable(id) {
            self.remove(id);
            self.keys.forget_orphan(id.to_u64());
            self.reap_unheld();
        }
    }

    /// Whether `id` has ended (done or failed), no key designates it, it serves and waits for
    /// nothing, and no process below it lives: nothing can ever reach it again. The session's
    /// root (no parent) is never reaped: its embedder holds it.
    fn reapable(&self, id: ProcessId) -> bool {
        let Some(p) = self.get(id) else { return false };
        if !self.keys.is_orphan(id.to_u64()) {
            return false;
        }
        if p.parent.is_none()
            || !matches!(p.state, State::Done | State::Failed)
            || self.keys.designated(id.to_u64())
            || !p.serving.is_empty()
            || p.calling.is_some()
            || p.waiting_on.is_some()
            || p.io.is_some()
        {
            return false;
        }
        // Its meters head the chains of its children's: it goes only after them.
        !self.processes().any(|c| c.parent == Some(id))
    }

    /// Suspends `id` out of fuel with its trap pending and what it had left intact: resumed
    /// once its chain can pay `needed` (by default, more than it has now), it makes its
    /// request again.
    pub(crate) fn suspend_unpaid(&mut self, id: ProcessId, needed: Option<u64>) {
        let Some(meter) = self.get(id).map(|p| p.fuel) else {
            return;
        };
        if let Some(p) = self.get_mut(id) {
            p.waiting_on = None;
        }
        let needed = needed.unwrap_or_else(|| self.fuel.allowance(meter).saturating_add(1));
        self.suspend_for_fuel(id, meter, needed.max(1));
    }

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
        let mut path = Vec::new();
        let mut cur = target;
        for _ in 0..=self.slots.len() {
            if let Some(payer) = payer {
                self.charge_process(payer, crate::cost::Work::Records, 1)?;
            }
            if cur == id {
                return Ok(Some(path));
            }
            path.push(cur);
            match self.waits_for(cur) {
                Some(next) => cur = next,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Whether `id` waits to make a call that has not started (its callee was busy): such a
    /// call can still be served, as a callback, if its callee comes to wait for it.
    fn pending_call(&self, id: ProcessId) -> bool {
        self.get(id).is_some_and(|p| {
            p.state == State::Waiting
                && p.calling.is_none()
                && p.vm.trap_native().is_some_and(|n| {
                    matches!(p.vm.natives().name(n), "process.call" | "process.proxy")
                })
        })
    }

    /// `id` waits for `target` — unless that closes a cycle of waits (DESIGN, "Process
    /// lifecycle"). A cycle in which some process waits to make a call is broken by serving
    /// that call at once, above its callee's waiting trap; any other cycle could never end,
    /// and `id`, whose request would close it, gets a `deadlock` fault instead of waiting.
    fn park(&mut self, id: ProcessId, target: ProcessId) {
        let cycle = match self.wait_cycle(id, target, Some(id)) {
            Ok(c) => c,
            Err(r) if r.is_unpaid() => return self.suspend_unpaid(id, None),
            Err(r) => return self.fail(id, r),
        };
        let Some(cycle) = cycle else {
            if let Some(p) = self.get_mut(id) {
                p.waiting_on = Some(target);
            }
            return;
        };
        if let Some(q) = cycle.iter().copied().find(|&q| self.pending_call(q)) {
            if let Some(p) = self.get_mut(id) {
                p.waiting_on = Some(target);
            }
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

    /// Processes waiting for a child that has stopped get their answer.
    pub(crate) fn wake_waiters(&mut self) {
        for i in 0..self.slots.len() {
            let Some(id) = self.id_at(i) else { continue };
            let Some(child) = self.get(id).and_then(|p| p.waiting_on) else {
                continue;
            };
            if self.has_answer_for(id, child) {
                if let Some(p) = self.get_mut(id) {
                    p.waiting_on = None;
                }
                self.service(id);
            }
        }
    }

    /// Raises a fault table in process `id`.
    fn fail(&mut self, id: ProcessId, r: Refusal) {
        let Some(p) = self.get_mut(id) else { return };
        let vm = &mut p.vm;
        let fault = (|| -> Result<Value, crate::vm::Throw> {
            let t = vm.new_table(0, 4)?;
            // An unpaid request is never raised (it suspends); were one to be, it is fuel.
            let kind = match r.kind {
                Refused::Fault(kind) => kind,
                Refused::Unpaid => FaultKind::Fuel,
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
            let mt = shared_meta(vm, FAULT_META, |vm, mt| {
                let f = native(vm, "process.fault.tostring")?;
                let k = vm.intern(b"__tostring")?;
                vm.raw_set(mt, k, f)
            })?;
            vm.set_metatable(t, Some(mt));
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
        let p = self
            .get_mut(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
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
        let p = self
            .get(holder)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let handle =
            key_handle(&p.vm, v).ok_or_else(|| refuse(FaultKind::Error, "not a process key"))?;
        let key = p
            .clist
            .get(handle)
            .ok_or_else(|| refuse(FaultKind::Revoked, "the process key is no longer held"))?;
        self.charge_key_walk(holder, key)?;
        if self.keys.is_revoked(key) {
            return Err(Refusal {
                kind: FaultKind::Revoked.into(),
                message: "the process key was revoked".into(),
                process: Some(v),
                value: None,
            });
        }
        // Through forwarders (`revocable`) to the process designated.
        match self.keys.resolve(key) {
            Some(KeyKind::Process(n)) => {
                let child = ProcessId::from_u64(*n);
                match self.get(child) {
                    Some(c) if c.state != State::Killed => Ok(child),
                    _ => Err(Refusal {
                        kind: FaultKind::Killed.into(),
                        message: "the process was killed".into(),
                        process: Some(v),
                        value: None,
                    }),
                }
            }
            _ => Err(refuse(FaultKind::Error, "not a process key")),
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
                && c.vm
                    .trap_native()
                    .is_some_and(|n| c.vm.natives().name(n) != "process.callback")
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
            // The caller pays the copy of its arguments.
            let copied = k.copy_between(id, args, c, callee, id, Op::CallArgument)?;
            let f = callee_function(c, &function)?;
            let runner = native(&mut c.vm, "process.callback")
                .map_err(|_| refuse(FaultKind::Error, "no callback native"))?;
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
                _ => refuse(FaultKind::Error, "the call could not be started"),
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
    fn finish_callback(&mut self, id: ProcessId, outcome: &[Value]) {
        let Some(c) = self.get_mut(id) else { return };
        let ended = c.vm.end_trap_callback();
        let Some(entry) = c.serving.pop().filter(|_| ended.is_ok()) else {
            // Not a callback the kernel started: nothing to hand back.
            let message = "a callback ended that the kernel did not start";
            c.state = State::Failed;
            c.fault = Some(Fault::Error {
                message: message.into(),
                traceback: String::new(),
            });
            return;
        };
        c.state = State::Waiting;
        c.calling = entry.calling;
        c.waiting_on = entry.waiting_on;
        let caller = entry.caller;
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
                Err(Refusal {
                    kind: kind.into(),
                    message,
                    process: Some(key),
                    value,
                })
            }
            None => Err(refuse(
                FaultKind::Error,
                "a callback ended without an answer",
            )),
        };
        match answer {
            Ok(Answer::Values(values)) => {
                if let Some(p) = self.get_mut(caller) {
                    if p.vm.complete_trap(&values).is_ok() {
                        self.make_ready(caller);
                    }
                }
            }
            Ok(Answer::Wait(_) | Answer::Io) => {}
            // The callback is over and cannot run again: its answer is abandoned (the copy
            // left nothing behind) and the caller hears why.
            Err(r) if r.is_unpaid() => self.fail(
                caller,
                refuse(
                    FaultKind::Fuel,
                    "out of fuel while receiving the results of a call",
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

    /// Copies `values` from process `from` into process `to` (both in the kernel).
    fn copy_to(
        &mut self,
        from: ProcessId,
        values: &[Value],
        to: ProcessId,
    ) -> Result<Vec<Value>, Refusal> {
        self.with_taken(to, "the process is gone", |k, receiver| {
            // The receiver asked for the values (a waiter, a caller): it pays the copy.
            k.copy_between(from, values, receiver, to, to, Op::CallResult)
        })
    }

    /// The process and function a far-function key held by `holder` designates, if `v` is one.
    fn far_function(
        &mut self,
        holder: ProcessId,
        v: Value,
    ) -> Result<Option<(ProcessId, i64)>, Refusal> {
        let p = self
            .get(holder)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
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

    fn spawn(&mut self, parent: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let source = match (args.first(), self.get(parent)) {
            (Some(&Value::Str(s)), Some(p)) => p.vm.heap.str(s).to_vec(),
            _ => {
                return Err(refuse(
                    FaultKind::Error,
                    "bad argument #1 to 'spawn' (string expected)",
                ))
            }
        };
        let (_, key) =
            self.create_child(parent, &source, args.get(1).copied(), "child", "spawn")?;
        Ok(Answer::Values(vec![key]))
    }

    /// A new child of `parent` running `source`, with the budgets of `opts`; `parent` gets its
    /// key (in its c-list, recorded in the audit log) as a value in its heap.
    fn create_child(
        &mut self,
        parent: ProcessId,
        source: &[u8],
        opts: Option<Value>,
        default_name: &str,
        service: &str,
    ) -> Result<(ProcessId, Value), Refusal> {
        let factory = self
            .factory
            .clone()
            .ok_or_else(|| refuse(FaultKind::Denied, "this kernel cannot create processes"))?;
        let o = self.child_options(parent, opts, service, 2, SPAWN_OPTIONS)?;
        let name = o.name.unwrap_or_else(|| default_name.to_string());
        let memory = o.memory.unwrap_or(DEFAULT_CHILD_MEMORY);
        let fuel = o.fuel.unwrap_or(u64::MAX / 4);
        let handles = o.handles;
        let caps = o.caps.map_or(Value::Nil, Value::Table);
        // The spawner pays fuel for the spawn and for compiling the source, before either.
        self.charge_process(
            parent,
            crate::cost::Work::Instruction,
            crate::cost::SPAWN_UNITS,
        )?;
        self.charge_process(parent, crate::cost::Work::SourceBytes, source.len() as u64)?;
        // The child's load (its library, the compiled chunk) is charged to its own bank, which
        // until it exists may hold no more than its parent's chain has left: what it holds then
        // is charged to that chain, and fits.
        let spent = || {
            refuse(FaultKind::Memory, format!("not enough memory to create process '{name}': its memory budget, or what its parent (or an ancestor) has left, cannot hold it"))
        };
        let room = self
            .memory_allowance(parent)
            .min(memory as u64)
            .min(usize::MAX as u64) as usize;
        let mut child_vm = factory(&name, room).map_err(|_| spent())?;
        // The compiler's output is about as large as its source: refused at once when the
        // source alone cannot fit.
        if source.len() > room.saturating_sub(child_vm.heap.bank.used()) {
            return Err(spent());
        }
        // The compiler's steps are paid as it takes them, up to what the spawner can pay.
        let allowance = self.allowance(parent);
        let limit = allowance.saturating_mul(crate::cost::Work::Compiler.per_unit());
        let proto =
            match crate::compiler::compile_within(source, format!("={name}").as_bytes(), limit) {
                Ok((proto, steps)) => {
                    self.charge_process(parent, crate::cost::Work::Compiler, steps)?;
                    proto
                }
                Err(crate::compiler::CompileError::OverBudget { spent }) => {
                    // The steps taken stay paid; the spawner waits for more than it had, then
                    // spawns again from the start.
                    self.charge_process(parent, crate::cost::Work::Compiler, spent)?;
                    return Err(unpaid());
                }
                Err(crate::compiler::CompileError::Syntax(e)) => {
                    return Err(refuse(
                        FaultKind::Error,
                        String::from_utf8_lossy(&e.message).into_owned(),
                    ))
                }
            };
        let f = child_vm.load(&proto, None).map_err(|_| spent())?;
        drop(proto);
        child_vm.start(f, &[]).map_err(|_| spent())?;
        // From now on its bank is bounded by its intent and, before each slice, its chain.
        child_vm.heap.bank.set_limit(memory);
        let child = self.add(Some(parent), &name, child_vm, fuel);
        if let Some(n) = handles {
            self.set_handle_limit(child, n);
        }
        // The child's `caps`: a copy of `opts.caps`, its keys granted into the child's c-list;
        // nothing else (no ambient authority).
        let installed = self.with_taken(child, "the new process vanished", |k, proc_| {
            let oom = |_| refuse(FaultKind::Memory, "not enough memory for the new process");
            let given = match caps {
                Value::Table(_) => k
                    .copy_between(parent, &[caps], proc_, child, parent, Op::Spawn)
                    .map(|v| v.first().copied().unwrap_or(Value::Nil))?,
                _ => proc_.vm.new_table(0, 0).map(Value::Table).map_err(oom)?,
            };
            proc_.vm.set_global("caps", given).map_err(oom)
        });
        if let Err(e) = installed {
            self.kill(child);
            return Err(e);
        }
        let ud = self.grant_process_key(parent, child, &name, Op::Grant)?;
        // The key now in the parent's heap keeps the child's VM, bank, meters and c-list
        // alive: their size counts as the parent's allocation, so its collector runs (and drops
        // the keys it no longer reaches, reaping their ended children) in step with spawning.
        let footprint = self.footprint(child);
        if let Some(p) = self.get_mut(parent) {
            p.vm.heap.gc.note_alloc(footprint);
        }
        Ok((child, ud))
    }

    /// Gives `parent` a key to `child` (a new key object, recorded in the audit log as `op`)
    /// as a value in its heap.
    fn grant_process_key(
        &mut self,
        parent: ProcessId,
        child: ProcessId,
        name: &str,
        op: Op,
    ) -> Result<Value, Refusal> {
        let kind = KeyKind::Process(child.to_u64());
        let key = self
            .keys
            .create(kind.clone())
            .map_err(|e| refuse(FaultKind::Error, e.to_string()))?;
        let p = self
            .get_mut(parent)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let handle = p
            .clist
            .grant(key)
            .map_err(|e| refuse(FaultKind::Error, e.to_string()))?;
        let records = self.keys.record_bytes(key);
        let Some(p) = self.get_mut(parent) else {
            return Err(refuse(FaultKind::Error, "no such process"));
        };
        let ud = match make_key(&mut p.vm, handle, name, records) {
            Ok(ud) => ud,
            Err(_) => {
                // Its bank cannot hold the key: the slot goes, and the key with it.
                p.clist.drop(handle);
                let _ = self.keys.release(key);
                return Err(refuse(FaultKind::Memory, "not enough memory"));
            }
        };
        let time = self.time;
        let _ = self.audit.append(Event::new(
            op,
            time,
            None,
            parent.to_u64(),
            key,
            None,
            &kind,
        ));
        Ok(ud)
    }

    /// `proc:snapshot()`: the subtree of `child` as snapshot bytes, a string in the caller's
    /// heap (its bank pays; fuel in proportion to the size).
    fn snapshot_service(&mut self, id: ProcessId, child: ProcessId) -> Result<Vec<Value>, Refusal> {
        if self.subtree_contains(child, id) {
            return Err(refuse(
                FaultKind::Error,
                "a process cannot snapshot a subtree it is running in",
            ));
        }
        // Writing a snapshot walks everything the subtree holds: paid before it starts.
        let bound = self.snapshot_size_bound(child) as u64;
        self.charge_process(id, crate::snapshot::WORK, bound)?;
        let bytes = self
            .snapshot(child)
            .map_err(|e| refuse(FaultKind::Error, e.to_string()))?;
        let p = self
            .get_mut(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let s =
            p.vm.heap
                .intern_owned(bytes)
                .map_err(|_| refuse(FaultKind::Memory, "not enough memory for the snapshot"))?;
        Ok(vec![Value::Str(s)])
    }

    /// Whether `id` is `root` or below it.
    fn subtree_contains(&self, root: ProcessId, id: ProcessId) -> bool {
        let mut cur = Some(id);
        for _ in 0..=self.slots.len() {
            match cur {
                Some(p) if p == root => return true,
                Some(p) => cur = self.get(p).and_then(|p| p.parent),
                None => return false,
            }
        }
        false
    }

    /// `restore(bytes, opts)`: the snapshot as a new child subtree of the caller; its holes
    /// are filled from `opts.caps` by name. Answers with a key to the restored root.
    fn restore_service(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let p = self
            .get_mut(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let bytes = match args.first() {
            Some(&Value::Str(s)) => p.vm.heap.str(s).to_vec(),
            _ => {
                return Err(refuse(
                    FaultKind::Error,
                    "bad argument #1 to 'restore' (snapshot string expected)",
                ))
            }
        };
        // Decoding and checking read every byte and what they decode to: paid before they
        // start, at the rate measured for restoring.
        self.charge_process(id, crate::snapshot::WORK, bytes.len() as u64)?;
        let o = self.child_options(id, args.get(1).copied(), "restore", 2, RESTORE_OPTIONS)?;
        // The keys `opts.caps` names, by name (its walk was paid above).
        let mut given: HashMap<String, crate::clist::KeyId> = HashMap::new();
        if let (Some(caps), Some(p)) = (o.caps, self.get(id)) {
            p.vm.heap.table(caps).for_each_entry(|k, v| {
                let (Some(name), Some(handle)) = (p.vm.str_bytes(k), key_handle(&p.vm, v)) else {
                    return;
                };
                if let Some(held) = p.clist.get(handle) {
                    given.insert(String::from_utf8_lossy(name).into_owned(), held);
                }
            });
        }
        let handles = o.handles;
        let budgets = crate::snapshot::Budgets {
            fuel: o.fuel,
            memory: o.memory.map(|m| m as u64),
        };
        let root = self
            .restore_within(id, &bytes, &|hole| given.get(&hole.name).copied(), budgets)
            .map_err(|e| match e {
                crate::snapshot::SnapshotError::Memory { .. } => {
                    refuse(FaultKind::Memory, e.to_string())
                }
                crate::snapshot::SnapshotError::Unfilled { .. }
                | crate::snapshot::SnapshotError::WrongKind { .. } => {
                    refuse(FaultKind::Denied, e.to_string())
                }
                _ => refuse(FaultKind::Error, e.to_string()),
            })?;
        if let Some(n) = handles {
            self.set_handle_limit(root, n);
        }
        let name = self.get(root).map(|p| p.name.clone()).unwrap_or_default();
        match self.grant_process_key(id, root, &name, Op::Restore) {
            Ok(key) => Ok(Answer::Values(vec![key])),
            Err(e) => {
                self.kill(root);
                Err(e)
            }
        }
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
        let p = self
            .get_mut(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
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

    /// `proc:call(fname, ...)`: runs a global function of an idle process with copies of the
    /// arguments; the caller waits, and gets copies of the results (or its fault).
    fn call(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let key = args.first().copied().unwrap_or(Value::Nil);
        if let Some(callee) = self.get_mut(id).and_then(|p| p.calling.take()) {
            // The callee stopped: its results (or fault) are the call's.
            return self.answer_again(id, callee, key);
        }
        let callee = self.resolve(id, key)?;
        if callee == id {
            return Err(refuse(FaultKind::Error, "a process cannot call itself"));
        }
        let fname = match (args.get(1), self.get(id)) {
            (Some(&Value::Str(s)), Some(p)) => {
                String::from_utf8_lossy(p.vm.heap.str(s)).into_owned()
            }
            _ => {
                return Err(refuse(
                    FaultKind::Error,
                    "bad argument #1 to 'call' (function name expected)",
                ))
            }
        };
        let function = Callee::Global(fname);
        let call_args = &args[2.min(args.len())..];
        match self.get(callee).map(|c| c.state).unwrap_or(State::Killed) {
            // Busy: wait until it is idle, then try again.
            State::Ready | State::Running | State::Waiting => {
                self.call_busy(id, callee, function, call_args)
            }
            State::Done if self.has_answer_for(id, callee) => {
                self.start_call(id, callee, function, call_args)
            }
            // Done, holding another caller's answer: idle once that is taken.
            State::Done => Ok(Answer::Wait(callee)),
            _ => self.answer_from(id, callee, key),
        }
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
            // Arguments are copied into the callee's heap (its bank pays); keys cross as keys.
            // The caller pays the copy of its arguments.
            let copied = k.copy_between(id, args, c, callee, id, Op::CallArgument)?;
            let f = callee_function(c, &function)?;
            c.vm.start(f, &copied).map_err(|_| {
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
    fn proxy_call(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let (key, index) = match self
            .get(id)
            .map(|p| p.vm.trap_upvalues().to_vec())
            .as_deref()
        {
            Some([key, Value::Int(i)]) => (*key, *i),
            _ => return Err(refuse(FaultKind::Error, "broken proxy")),
        };
        if let Some(callee) = self.get_mut(id).and_then(|p| p.calling.take()) {
            return self.answer_again(id, callee, key);
        }
        let (callee, index) = match self.far_function(id, key)? {
            Some(target) => target,
            None => (self.resolve(id, key)?, index),
        };
        match self.get(callee).map(|c| c.state).unwrap_or(State::Killed) {
            State::Ready | State::Running | State::Waiting => {
                self.call_busy(id, callee, Callee::Export(index), args)
            }
            State::Done if self.has_answer_for(id, callee) => {
                self.start_call(id, callee, Callee::Export(index), args)
            }
            State::Done => Ok(Answer::Wait(callee)),
            _ => self.answer_from(id, callee, key),
        }
    }

    /// Ends a process and every process below it; their heaps are freed, and keys to them
    /// answer with a `killed` fault from now on (their ids are never reused).
    pub(crate) fn kill(&mut self, root: ProcessId) {
        // One pass over the table for the children of each process, then the subtree from
        // it: linear in the number of processes, whatever the shape of the tree.
        let mut children: HashMap<ProcessId, Vec<ProcessId>> = HashMap::new();
        for index in 0..self.slots.len() {
            if let Some(id) = self.id_at(index) {
                if let Some(parent) = self.get(id).and_then(|p| p.parent) {
                    children.entry(parent).or_default().push(id);
                }
            }
        }
        let mut doomed = vec![root];
        let mut i = 0;
        while i < doomed.len() {
            if let Some(kids) = children.remove(&doomed[i]) {
                doomed.extend(kids);
            }
            i += 1;
        }
        // Deepest first: each process's meters are given back through a chain that is still
        // whole (handles, memory).
        for id in doomed.into_iter().rev() {
            self.remove(id);
        }
        self.reap_unheld();
    }

    /// Copies `values` from process `from` (in the kernel) into `to` (taken out of its slot by
    /// the caller, `to_id` its id): plain data copied, keys granted into `to`'s c-list and
    /// recorded as `op` in the audit log. On failure nothing stays granted.
    ///
    /// Who pays: the receiver's bank pays for the memory (within its chain); the fuel is paid
    /// by `payer`, the process whose request causes the copy (the caller for its arguments and
    /// a spawner for `caps`, the waiter or caller for the results it receives), charged piece
    /// by piece before each piece is copied. A payer that runs out gets [`unpaid`]: no values,
    /// nothing granted, and what the copy spent charged.
    fn copy_between(
        &mut self,
        from: ProcessId,
        values: &[Value],
        to: &mut crate::process::Process,
        to_id: ProcessId,
        payer: ProcessId,
        op: Op,
    ) -> Result<Vec<Value>, Refusal> {
        let meter = if payer == to_id {
            to.fuel
        } else {
            self.get(payer)
                .map(|p| p.fuel)
                .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?
        };
        let mut fuel = CopyFuel {
            left: self.fuel.allowance(meter),
            spent: 0,
        };
        // The receiver's bank pays, within what its memory chain allows.
        crate::process::bound(&self.memory, to);
        let r = self.copy_into(from, values, to, to_id, op, &mut fuel);
        crate::process::settle(&mut self.memory, to);
        // The copy spent at most the allowance, so every meter on the chain can pay it.
        let charged = self.fuel.charge(meter, fuel.spent);
        debug_assert!(charged.is_ok(), "a copy spent more than its allowance");
        let vm = if payer == to_id {
            Some(&mut to.vm)
        } else {
            self.get_mut(payer).map(|p| &mut p.vm)
        };
        if let Some(vm) = vm {
            vm.meter.used = vm.meter.used.saturating_add(fuel.spent);
        }
        r
    }

    fn copy_into(
        &mut self,
        from: ProcessId,
        values: &[Value],
        to: &mut crate::process::Process,
        to_id: ProcessId,
        op: Op,
        fuel: &mut CopyFuel,
    ) -> Result<Vec<Value>, Refusal> {
        let meta = process_key_meta(&mut to.vm)
            .map_err(|_| refuse(FaultKind::Memory, "not enough memory"))?;
        let proxy = to.vm.natives().id_of("process.proxy");
        let base = match self.get_mut(from) {
            Some(p) => exports_len(&mut p.vm),
            None => 0,
        };
        let Kernel {
            slots,
            keys,
            audit,
            time,
            ..
        } = self;
        let sender = slots
            .get(from.index as usize)
            .filter(|s| s.generation == from.generation)
            .and_then(|s| s.process.as_ref())
            .ok_or_else(|| refuse(FaultKind::Killed, "the process is gone"))?;
        let crate::process::Process {
            vm: to_vm,
            clist: to_clist,
            ..
        } = to;
        let mut hooks = KeyHooks {
            sender: &sender.clist,
            receiver: to_clist,
            keys,
            meta,
            granted: Vec::new(),
            sender_id: from.to_u64(),
            base,
            proxy,
            functions: Vec::new(),
            gateway_keys: Vec::new(),
            fuel: *fuel,
        };
        let result =
            crate::transfer::copy_values(&sender.vm.heap, values, &mut to_vm.heap, &mut hooks);
        let granted = std::mem::take(&mut hooks.granted);
        let functions = std::mem::take(&mut hooks.functions);
        let gateway_keys = std::mem::take(&mut hooks.gateway_keys);
        *fuel = hooks.fuel;
        let mut result = result;
        if result.is_ok() {
            for (ud, kind) in gateway_keys {
                match gateway::key_meta(to_vm, kind) {
                    Ok(mt) => to_vm.heap.userdata.get_mut(ud.0).metatable = Some(mt),
                    Err(_) => {
                        result = Err(crate::transfer::TransferError::Refused(
                            "not enough memory for a key".into(),
                        ))
                    }
                }
            }
        }
        match result {
            Ok(v) => {
                for (_, key) in granted {
                    if let Some(kind) = keys.resolve(key).cloned() {
                        let _ = audit.append(Event::new(
                            op,
                            *time,
                            Some(from.to_u64()),
                            to_id.to_u64(),
                            key,
                            None,
                            &kind,
                        ));
                    }
                }
                // The sender keeps the functions it handed out, by far-function number.
                if !functions.is_empty() {
                    if let Some(p) = self.get_mut(from) {
                        append_exports(&mut p.vm, base, &functions).map_err(|_| {
                            refuse(
                                FaultKind::Memory,
                                "not enough memory in the sending process",
                            )
                        })?;
                    }
                }
                Ok(v)
            }
            Err(e) => {
                for (handle, key) in granted {
                    to_clist.drop(handle);
                    let _ = keys.release(key);
                }
                match e {
                    crate::transfer::TransferError::Fuel => Err(unpaid()),
                    e => Err(refuse(FaultKind::Error, e.to_string())),
                }
            }
        }
    }

    /// `__eq` of keys: two key values are equal when they hold the same key object, whichever
    /// slots (and userdata) carry it.
    fn key_equal(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let p = self
            .get(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let key_of = |v: Option<&Value>| {
            v.and_then(|&v| key_handle(&p.vm, v))
                .and_then(|h| p.clist.get(h))
        };
        let same = match (key_of(args.first()), key_of(args.get(1))) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        Ok(Answer::Values(vec![Value::Bool(same)]))
    }

    /// `revocable(key)`: a forwarder to the same process, and a function that revokes it (and
    /// everything derived from it) for every holder.
    fn revocable(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let v = args.first().copied().unwrap_or(Value::Nil);
        let p = self
            .get(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let handle = key_handle(&p.vm, v).ok_or_else(|| {
            refuse(
                FaultKind::Error,
                "bad argument #1 to 'revocable' (key expected)",
            )
        })?;
        let target = p
            .clist
            .get(handle)
            .ok_or_else(|| refuse(FaultKind::Revoked, "the key is no longer held"))?;
        let name = match v {
            Value::UserData(u) => key_name(&p.vm, u).unwrap_or_default(),
            _ => String::new(),
        };
        // Deriving walks the target's ancestry twice (revocation, then what it designates).
        let records = 2 * (self.keys.depth(target) as u64 + 1);
        self.charge_process(id, crate::cost::Work::Records, records)?;
        let forwarder = self
            .keys
            .derive(target, KeyKind::Forwarder { target })
            .map_err(|e| refuse(FaultKind::Revoked, e.to_string()))?;
        let kind = self
            .keys
            .resolve(forwarder)
            .cloned()
            .unwrap_or(KeyKind::Forwarder { target });
        let time = self.time;
        let _ = self.audit.append(Event::new(
            Op::Attenuate,
            time,
            Some(id.to_u64()),
            id.to_u64(),
            forwarder,
            Some(target),
            &kind,
        ));
        let p = self
            .get_mut(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let handle = p
            .clist
            .grant(forwarder)
            .map_err(|e| refuse(FaultKind::Error, e.to_string()))?;
        let designated = self.keys.resolve(forwarder).cloned();
        // The holder pays for the slot and the chain of forwarders it keeps alive.
        let records = self.keys.record_bytes(forwarder);
        let p = self
            .get_mut(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let proxy = match designated {
            Some(kind) if kind.kind_name() != "process" => {
                gateway::make_gateway_key(&mut p.vm, handle, &kind, &name, records)
            }
            _ => make_key(&mut p.vm, handle, &name, records),
        };
        let proxy = match proxy {
            Ok(proxy) => proxy,
            Err(_) => {
                p.clist.drop(handle);
                let _ = self.keys.release(forwarder);
                return Err(refuse(FaultKind::Memory, "not enough memory"));
            }
        };
        let revoke_id =
            p.vm.natives()
                .id_of("process.revoke")
                .ok_or_else(|| refuse(FaultKind::Error, "no revoke native"))?;
        let revoke =
            p.vm.native_value(revoke_id, vec![proxy])
                .map_err(|_| refuse(FaultKind::Memory, "not enough memory"))?;
        Ok(Answer::Values(vec![proxy, revoke]))
    }

    /// The function `revocable` returned: revokes its forwarder (its upvalue).
    fn revoke(&mut self, id: ProcessId) -> Result<Answer, Refusal> {
        let p = self
            .get(id)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let v = p.vm.trap_upvalues().first().copied().unwrap_or(Value::Nil);
        let handle = key_handle(&p.vm, v)
            .ok_or_else(|| refuse(FaultKind::Error, "broken revoke function"))?;
        let key = p
            .clist
            .get(handle)
            .ok_or_else(|| refuse(FaultKind::Revoked, "the key is no longer held"))?;
        let kind = self
            .keys
            .resolve(key)
            .cloned()
            .unwrap_or(KeyKind::Forwarder { target: key });
        if !self.keys.is_revoked(key) {
            let dead = self
                .keys
                .revoke(key)
                .map_err(|e| refuse(FaultKind::Error, e.to_string()))?;
            // The host closes what only revoked keys reached (sockets, listeners, files).
            // The forwarder's target is not among them: it lives on for its other holders.
            for k in dead {
                if let Some(host) = self.host.as_mut() {
                    host.release(k);
                }
                self.release_handle(k);
            }
            let time = self.time;
            let _ = self.audit.append(Event::new(
                Op::Revoke,
                time,
                Some(id.to_u64()),
                id.to_u64(),
                key,
                None,
                &kind,
            ));
        }
        Ok(Answer::Values(Vec::new()))
    }

    /// `import(name, opts)`: runs a module's chunk in a new child (the `import` native found its
    /// source and passed it as the third argument), then gives back a copy of what the chunk
    /// returned in which functions are proxies that call into the child.
    fn import(&mut self, parent: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        if let Some(child) = self.get_mut(parent).and_then(|p| p.calling.take()) {
            return self.finish_import(parent, child);
        }
        let (name, source) = match (args.first(), args.get(2), self.get(parent)) {
            (Some(&Value::Str(n)), Some(&Value::Str(s)), Some(p)) => (
                String::from_utf8_lossy(p.vm.heap.str(n)).into_owned(),
                p.vm.heap.str(s).to_vec(),
            ),
            _ => {
                return Err(refuse(
                    FaultKind::Error,
                    "bad argument #1 to 'import' (module name expected)",
                ))
            }
        };
        let (child, key) =
            self.create_child(parent, &source, args.get(1).copied(), &name, "import")?;
        if let Some(p) = self.get_mut(parent) {
            p.calling = Some(child);
            // Keep the key value alive where the collector sees it: the registry.
            if let Ok(k) = p.vm.intern(b"kernel.importing") {
                let _ = p.vm.raw_set(p.vm.registry, k, key);
            }
        }
        Ok(Answer::Wait(child))
    }

    fn finish_import(&mut self, parent: ProcessId, child: ProcessId) -> Result<Answer, Refusal> {
        let (key, slot) = match self.get_mut(parent) {
            Some(p) => match p.vm.intern(b"kernel.importing") {
                Ok(k) => (p.vm.raw_get(p.vm.registry, k), Some(k)),
                Err(_) => (Value::Nil, None),
            },
            None => (Value::Nil, None),
        };
        let forget = |k: &mut Kernel| {
            if let (Some(p), Some(slot)) = (k.get_mut(parent), slot) {
                let _ = p.vm.raw_set(p.vm.registry, slot, Value::Nil);
            }
        };
        if self.get(child).map(|c| c.state) != Some(State::Done) {
            forget(self);
            return self.wait(parent, &[key]);
        }
        let proxy = self
            .get(parent)
            .and_then(|p| p.vm.natives().id_of("process.proxy"))
            .ok_or_else(|| refuse(FaultKind::Error, "no proxy native"))?;
        let meter = self
            .get(parent)
            .map(|p| p.fuel)
            .ok_or_else(|| refuse(FaultKind::Error, "no such process"))?;
        let Some(mut c) = self
            .slots
            .get_mut(child_index(child))
            .and_then(|s| s.process.take())
        else {
            forget(self);
            return Err(refuse(FaultKind::Killed, "the module's process is gone"));
        };
        let exported = c.results.first().copied().unwrap_or(Value::Nil);
        let base = exports_len(&mut c.vm);
        // The importer pays: fuel for the copy, its bank (within its chain) for the memory.
        let mut hooks = ProxyHooks {
            proxy,
            key,
            base,
            functions: Vec::new(),
            fuel: CopyFuel {
                left: self.fuel.allowance(meter),
                spent: 0,
            },
        };
        self.bound_memory(parent);
        let copied = match self.get_mut(parent) {
            Some(p) => {
                crate::transfer::copy_values(&c.vm.heap, &[exported], &mut p.vm.heap, &mut hooks)
            }
            None => Err(crate::transfer::TransferError::Refused(
                "no such process".into(),
            )),
        };
        self.settle_memory(parent);
        // The copy spent at most the allowance, so every meter on the chain can pay it.
        let charged = self.fuel.charge(meter, hooks.fuel.spent);
        debug_assert!(charged.is_ok(), "a copy spent more than its allowance");
        if let Some(p) = self.get_mut(parent) {
            p.vm.meter.used = p.vm.meter.used.saturating_add(hooks.fuel.spent);
        }
        // The module's process keeps its exported functions reachable, by proxy index.
        let kept = match copied {
            Ok(_) => append_exports(&mut c.vm, base, &hooks.functions),
            Err(_) => Ok(()),
        };
        if let Some(slot) = self.slots.get_mut(child_index(child)) {
            slot.process = Some(c);
        }
        match copied {
            Err(crate::transfer::TransferError::Fuel) => {
                // Asked for again once the importer is resumed.
                if let Some(p) = self.get_mut(parent) {
                    p.calling = Some(child);
                }
                Err(unpaid())
            }
            Err(e) => {
                forget(self);
                Err(refuse(FaultKind::Error, e.to_string()))
            }
            Ok(values) => {
                forget(self);
                kept.map_err(|_| {
                    refuse(
                        FaultKind::Memory,
                        "not enough memory in the module's process",
                    )
                })?;
                Ok(Answer::Values(values))
            }
        }
    }

    /// The answer of a call `id` made to `callee`; if `id` cannot pay for receiving it, the
    /// call stays made (it is asked for again once `id` is resumed).
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
        if matches!(&r, Err(e) if e.is_unpaid()) {
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
        let (ours, reply) = match self.get(callee).and_then(|c| c.call.as_ref()) {
            Some(call) => (call.caller == Some(id), call.reply.clone()),
            None => (false, None),
        };
        let state = self.get(callee).map(|c| c.state).unwrap_or(State::Killed);
        match (ours, reply, state) {
            (true, Some(reply), _) => self.take_reply(id, callee, key, reply),
            (_, _, State::Ready | State::Running | State::Waiting) => Ok(Answer::Wait(callee)),
            (_, _, State::Suspended) if self.suspended_for_an_ancestor_of(id, callee) => {
                Ok(Answer::Wait(callee))
            }
            (true, None, _) => {
                // It stopped mid-call (suspended, killed): the caller hears why, and the call,
                // if it is ever resumed, answers no one.
                if let Some(call) = self.get_mut(callee).and_then(|c| c.call.as_mut()) {
                    call.caller = None;
                }
                self.wait_on(id, callee, key)
            }
            (false, _, State::Done) => {
                Err(refuse(FaultKind::Error, "the answer to the call was lost"))
            }
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
        reply: crate::process::Reply,
    ) -> Result<Answer, Refusal> {
        let answer = match reply {
            crate::process::Reply::Values(values) => {
                self.copy_to(callee, &values, id).map(Answer::Values)
            }
            crate::process::Reply::Error {
                kind,
                message,
                value,
            } => {
                // The error value itself, when it can cross.
                let value = match kind {
                    FaultKind::Error => self
                        .copy_to(callee, &[value], id)
                        .ok()
                        .and_then(|v| v.first().copied()),
                    _ => None,
                };
                Err(Refusal {
                    kind: kind.into(),
                    message,
                    process: Some(key),
                    value,
                })
            }
        };
        if matches!(&answer, Err(e) if e.is_unpaid()) {
            return answer;
        }
        if let Some(c) = self.get_mut(callee) {
            c.call = None;
            c.hold_values();
        }
        self.stopped_since_wake = true;
        answer
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

    fn wait(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
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
                let (kind, message) = match self.get(child).and_then(|c| c.fault.clone()) {
                    Some(Fault::Error { message, .. }) => (FaultKind::Error, message),
                    Some(Fault::Memory { message, .. }) => (FaultKind::Memory, message),
                    _ => (FaultKind::Error, "the process failed".into()),
                };
                // The error value itself, when it can cross (a function or a coroutine in it
                // cannot: then the fault has only the message).
                let error = self
                    .get(child)
                    .map(|c| c.results.clone())
                    .unwrap_or_default();
                let value = match error.first() {
                    Some(_) if kind == FaultKind::Error => self
                        .copy_to(child, &error[..1], id)
                        .ok()
                        .and_then(|v| v.first().copied()),
                    _ => None,
                };
                Err(Refusal {
                    kind: kind.into(),
                    message,
                    process: Some(key),
                    value,
                })
            }
            // Stopped for an ancestor of the waiter: it carries on once that one is resumed.
            State::Suspended if self.suspended_for_an_ancestor_of(id, child) => {
                Ok(Answer::Wait(child))
            }
            State::Suspended => {
                let name = self.get(child).map(|c| c.name.clone()).unwrap_or_default();
                let message = match self.get(child).and_then(|c| c.fault.clone()) {
                    Some(Fault::Fuel { exhausted }) if exhausted == child => {
                        format!("process '{name}' ran out of fuel")
                    }
                    Some(Fault::Fuel { exhausted }) => {
                        let who = self
                            .get(exhausted)
                            .map(|p| p.name.clone())
                            .unwrap_or_default();
                        format!("process '{name}' stopped: its ancestor '{who}' ran out of fuel")
                    }
                    _ => format!("process '{name}' is suspended"),
                };
                Err(Refusal {
                    kind: FaultKind::Fuel.into(),
                    message,
                    process: Some(key),
                    value: None,
                })
            }
            State::Killed => Err(Refusal {
                kind: FaultKind::Killed.into(),
                message: "the process was killed".into(),
                process: Some(key),
                value: None,
            }),
            State::Ready | State::Running | State::Waiting => Ok(Answer::Wait(child)),
        }
    }
}

/// The function of process `c` that a call names.
fn callee_function(c: &mut crate::process::Process, function: &Callee) -> Result<Value, Refusal> {
    let f = match function {
        Callee::Global(name) => c.vm.get_global(name),
        Callee::Export(i) => {
            let k =
                c.vm.intern(EXPORTS)
                    .map_err(|_| refuse(FaultKind::Memory, "not enough memory"))?;
            match c.vm.raw_get(c.vm.registry, k) {
                Value::Table(t) => c.vm.raw_get(t, Value::Int(*i)),
                _ => Value::Nil,
            }
        }
    };
    if !f.is_function() {
        let what = match function {
            Callee::Global(name) => name.clone(),
            Callee::Export(i) => format!("export #{i}"),
        };
        return Err(refuse(
            FaultKind::Error,
            format!("process '{}' has no function '{}'", c.name, what),
        ));
    }
    Ok(f)
}

fn child_index(id: ProcessId) -> usize {
    (id.to_u64() & 0xffff_ffff) as usize
}

fn parse_size(s: &[u8]) -> Option<usize> {
    let s = std::str::from_utf8(s).ok()?.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1usize << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(mult)
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

/// A process key as Lua sees it: an opaque userdata whose payload names a slot of its
/// holder's c-list; its metatable is protected and carries the methods.
/// `records`: the bytes of kernel records the key's slot keeps (`KeyTable::record_bytes`),
/// charged to the holder's bank with the userdata.
fn make_key(
    vm: &mut Vm,
    handle: SlotHandle,
    name: &str,
    records: usize,
) -> Result<Value, crate::vm::Throw> {
    let mt = process_key_meta(vm)?;
    let u = vm
        .heap
        .new_key_userdata(key_payload(handle, name.as_bytes()), records)?;
    let data = vm.heap.userdata.get_mut(u.0);
    data.metatable = Some(mt);
    Ok(Value::UserData(u))
}

/// The metatable of process keys in a process: protected, with the methods.
fn process_key_meta(vm: &mut Vm) -> Result<crate::value::TableRef, crate::vm::Throw> {
    shared_meta(vm, KEY_META, |vm, mt| {
        let methods = vm.new_table(0, 8)?;
        for m in [
            "status", "usage", "wait", "refuel", "resume", "kill", "call", "snapshot",
        ] {
            let f = native(vm, &format!("process.{m}"))?;
            let k = vm.intern(m.as_bytes())?;
            vm.raw_set(methods, k, f)?;
        }
        let set = |vm: &mut Vm, k: &str, v: Value| -> Result<(), crate::vm::Throw> {
            let k = vm.intern(k.as_bytes())?;
            vm.raw_set(mt, k, v)
        };
        set(vm, "__index", Value::Table(methods))?;
        let s = vm.intern(b"process")?;
        set(vm, "__name", s)?;
        let locked = vm.intern(b"process key")?;
        set(vm, "__metatable", locked)?;
        let f = native(vm, "process.tostring")?;
        set(vm, "__tostring", f)?;
        let eq = native(vm, "process.eq")?;
        set(vm, "__eq", eq)
    })
}

/// How many functions a process has handed out (its exports table's length).
fn exports_len(vm: &mut Vm) -> i64 {
    let Ok(k) = vm.intern(EXPORTS) else { return 0 };
    match vm.raw_get(vm.registry, k) {
        Value::Table(t) => vm.heap.table(t).border(),
        _ => 0,
    }
}

/// Appends functions to a process's exports, numbered from `base + 1`.
fn append_exports(vm: &mut Vm, base: i64, functions: &[Value]) -> Result<(), crate::vm::Throw> {
    let k = vm.intern(EXPORTS)?;
    let t = match vm.raw_get(vm.registry, k) {
        Value::Table(t) => t,
        _ => {
            let t = vm.new_table(functions.len(), 0)?;
            vm.raw_set(vm.registry, k, Value::Table(t))?;
            t
        }
    };
    for (i, &f) in functions.iter().enumerate() {
        vm.raw_set(t, Value::Int(base + i as i64 + 1), f)?;
    }
    Ok(())
}

/// The key and export number a proxy native carries, if `n` is a proxy.
fn from_proxy(
    heap: &crate::heap::Heap,
    n: crate::value::NativeRef,
    proxy: crate::heap::NativeId,
) -> Option<(UserDataRef, i64)> {
    let nc = heap.natives.try_get(n.0)?;
    if nc.id != proxy {
        return None;
    }
    match nc.upvalues[..] {
        [Value::UserData(u), Value::Int(i)] => Some((u, i)),
        _ => None,
    }
}
