//! Gateway keys from Lua: their metatables, the trap services behind their methods, and the
//! answers of the host (`crate::gateway`) delivered into the caller's heap.
//!
//! **Invariant:** the kernel asks the host only for a key the caller holds, that is not
//! revoked, and that designates a gateway of the method's kind; a key the host makes is
//! derived from the called key and accepted only if `KeyKind::attenuate` allows it.
//!
//! **Invariant: the host works only for what was paid.** Before a request reaches the host,
//! its price is charged to the caller's fuel chain: the call, the bytes handed over, and the
//! most bytes the answer may hold (`gateway::result_size`, bounded by the memory allowance).
//! A call the chain cannot pay suspends the caller out of fuel with nothing done; its trap
//! stays pending and is served again after `refuel` and `resume`. A result bounded only by
//! memory (a whole file) is paid as far as the fuel goes and `max_bytes` shrinks to match; if
//! the answer would be larger, the caller is suspended the same way. An answer larger than the
//! memory its chain allows, which the host refuses before doing anything (`HostFault::TooLarge`),
//! suspends the caller out of memory, to ask again once resumed. What the answer did not use
//! is given back when it arrives.
//!
//! **Invariant: every open descriptor is on a handle budget.** A method that opens an object
//! (`gateway::OPENS`) reserves one unit of the caller's handle chain before the host opens
//! anything; the unit stays charged while the object is open (`Kernel::open_handles`, by the
//! key it lives behind) and goes back when it is closed, revoked, collected or its holders
//! end. When the opener ends while others still hold the object, the charge moves to its
//! parent's meter (whose chain already paid for it).

use super::key_values::{key_handle, process_key_meta};
use super::{broken, native, no_room, refuse, shared_meta, Answer, Refusal};
use crate::audit::Op;
use crate::clist::{KeyId, KeyKind};
use crate::cost::Work;
use crate::fault::FaultKind;
use crate::gateway::{
    AnsweredBy, HostError, HostFault, HostValue, Method, PendingIo, Request, Reservation,
    ResultSize, Started,
};
use crate::process::{Kernel, Process, ProcessId};
use crate::value::{TableRef, Value};
use crate::vm::{Throw, Vm};

/// Fuel a gateway call costs before the bytes it moves (priced as `Work::Bytes`).
const CALL_FUEL: u64 = 100;

/// The metatable of keys of `kind` (`process`, `dir`, `net`, …) in a process: protected,
/// with the kind's methods.
pub(crate) fn key_meta(vm: &mut Vm, kind: &str) -> Result<TableRef, Throw> {
    if Method::of_kind(kind).next().is_none() {
        return process_key_meta(vm);
    }
    let field = format!("kernel.key_meta.{kind}");
    shared_meta(vm, field.as_bytes(), |vm, mt| {
        let table = vm.new_table(0, Method::of_kind(kind).count())?;
        for m in Method::of_kind(kind) {
            let f = native(vm, m.native_name())?;
            let k = vm.intern(m.name().as_bytes())?;
            vm.raw_set(table, k, f)?;
        }
        let set = |vm: &mut Vm, k: &str, v: Value| -> Result<(), Throw> {
            let k = vm.intern(k.as_bytes())?;
            vm.raw_set(mt, k, v)
        };
        set(vm, "__index", Value::Table(table))?;
        let name = vm.intern(kind.as_bytes())?;
        set(vm, "__name", name)?;
        let locked = vm.intern(format!("{kind} key").as_bytes())?;
        set(vm, "__metatable", locked)?;
        let f = native(vm, "key.tostring")?;
        set(vm, "__tostring", f)?;
        let eq = native(vm, "process.eq")?;
        set(vm, "__eq", eq)
    })
}

/// A key userdata in `vm` for slot `handle`, showing `shown`, with its kind's metatable.
pub(crate) fn make_gateway_key(
    vm: &mut Vm,
    handle: crate::clist::SlotHandle,
    kind: &KeyKind,
    shown: &str,
    records: usize,
) -> Result<Value, Throw> {
    let mt = key_meta(vm, kind.kind_name())?;
    let u = vm
        .heap
        .new_key_userdata(handle.to_payload(shown.as_bytes()), records)?;
    let data = vm.heap.userdata.get_mut(u.0);
    data.metatable = Some(mt);
    Ok(Value::UserData(u))
}

impl Kernel {
    /// Gives process `id` a new key of `kind` (granted by the host: a command-line grant),
    /// stored as `caps[name]`, and returns its id for the host to attach its object to.
    ///
    /// # Errors
    /// No such process, a full c-list, or no memory for the key.
    pub fn grant_key(&mut self, id: ProcessId, name: &str, kind: KeyKind) -> Result<KeyId, String> {
        let key = self.keys.create(kind.clone()).map_err(|e| e.to_string())?;
        let records = self.keys.record_bytes(key);
        let p = self.get_mut(id).ok_or("no such process")?;
        let handle = p.clist.grant(key).map_err(|e| e.to_string())?;
        let vm = &mut p.vm;
        let installed = (|| -> Result<(), Throw> {
            let ud = make_gateway_key(vm, handle, &kind, &kind.describe(), records)?;
            let caps = match vm.get_global("caps") {
                Value::Table(t) => t,
                _ => {
                    let t = vm.new_table(0, 4)?;
                    vm.set_global("caps", Value::Table(t))?;
                    t
                }
            };
            let k = vm.intern(name.as_bytes())?;
            vm.raw_set(caps, k, ud)
        })();
        installed.map_err(|_| "not enough memory for the key".to_string())?;
        self.record_grant(Op::Grant, None, id, key, None, &kind);
        Ok(key)
    }

    /// `key.<kind>.<method>(key, args…)`: checks the key, answers `rights`/`describe` itself,
    /// and hands everything else to the host.
    pub(super) fn gateway_call(
        &mut self,
        id: ProcessId,
        m: Method,
        args: &[Value],
    ) -> Result<Answer, Refusal> {
        let (kind_name, method) = (m.kind(), m.name());
        let p = self.get(id).ok_or_else(|| broken("no such process"))?;
        let self_value = args.first().copied().unwrap_or(Value::Nil);
        let wrong = || {
            // A malformed call, not a missing authority.
            refuse(
                FaultKind::Error,
                format!("bad self to '{method}' ({kind_name} key expected)"),
            )
        };
        let held = key_handle(&p.vm, self_value)
            .ok_or_else(wrong)
            .and_then(|h| {
                p.clist
                    .get(h)
                    .ok_or_else(|| refuse(FaultKind::Revoked, "the key is no longer held"))
            })?;
        if self.keys.is_revoked(held) {
            let message = match self.keys.unfilled_name(held) {
                Some(name) => format!(
                    "{kind_name}:{method}: the key '{name}' is revoked: it was not given when \
                     this process was restored from a snapshot (its restorer gave no \
                     {kind_name} key named '{name}')"
                ),
                None => format!("{kind_name}:{method}: the key was revoked"),
            };
            return Err(refuse(FaultKind::Revoked, message));
        }
        let (key, kind) = self
            .keys
            .resolve_with_id(held)
            .map(|(k, kind)| (k, kind.clone()))
            .ok_or_else(wrong)?;
        if kind.kind_name() != kind_name {
            return Err(wrong());
        }
        if m.answered_by() == AnsweredBy::Kernel {
            // What the key's kind alone says: its rights, or its description.
            let text = match m {
                Method::DirRights | Method::FileRights => kind.rights_text(),
                _ => kind.describe(),
            };
            return Ok(Answer::Values(vec![self.string(id, text.as_bytes())?]));
        }
        // A deterministic process's clock and random keys are answered from its own state
        // (`determinism`), never by the host: the key still says whether it may ask.
        let virtual_answer = matches!(kind, KeyKind::Clock | KeyKind::Random)
            && self.get(id).is_some_and(|p| p.det.is_some());
        let p = self.get(id).ok_or_else(|| broken("no such process"))?;
        let mut host_args = Vec::with_capacity(args.len().saturating_sub(1));
        let mut moved = 0usize;
        for (i, &v) in args.iter().enumerate().skip(1) {
            host_args.push(match v {
                Value::Nil => HostValue::Nil,
                Value::Bool(b) => HostValue::Bool(b),
                Value::Int(n) => HostValue::Int(n),
                Value::Float(f) => HostValue::Float(f),
                Value::Str(s) => {
                    let bytes = p.vm.heap.str(s).to_vec();
                    moved += bytes.len();
                    HostValue::Bytes(bytes)
                }
                other => {
                    return Err(refuse(
                        FaultKind::Error,
                        format!(
                            "bad argument #{i} to '{method}' (string or number expected, got {})",
                            other.type_name()
                        ),
                    ))
                }
            });
        }
        if self.host.is_none() && !virtual_answer {
            return Err(refuse(
                FaultKind::Denied,
                format!("{kind_name}:{method}: this kernel has no gateways"),
            ));
        }
        // The price, before the host does anything: the call and the bytes handed over must be
        // paid in full; the answer's bytes as far as the fuel goes (see the module's
        // invariant).
        let memory = self.memory_allowance(id);
        let (fuel_meter, handle_meter) = self
            .get(id)
            .map(|p| (p.fuel, p.handles))
            .ok_or_else(|| broken("no such process"))?;
        let allowance = self.fuel.allowance(fuel_meter);
        let call = if m.changes_file_system() {
            crate::cost::FILE_SYSTEM_CHANGE_UNITS
        } else {
            CALL_FUEL
        };
        let price_in = call.saturating_add(Work::Bytes.units_of(moved));
        let answer_bytes = match m.result_size(&host_args) {
            ResultSize::Fixed => 0,
            ResultSize::Asked(n) => n.min(memory),
            ResultSize::Budget => memory,
        };
        let price_out = Work::Bytes.units(answer_bytes);
        let left = allowance.saturating_sub(price_in);
        let reserved_fuel = price_out.min(left);
        let fuel_bounded = reserved_fuel < price_out;
        if allowance < price_in || (fuel_bounded && reserved_fuel == 0) {
            // The call and its bytes, and a unit of the answer if it has one.
            self.suspend_unpaid(id, price_in.saturating_add(u64::from(price_out > 0)));
            return Ok(Answer::Io);
        }
        let max_bytes = if fuel_bounded {
            memory.min(reserved_fuel.saturating_mul(Work::Bytes.per_unit()))
        } else {
            memory
        };
        let max_bytes = max_bytes.min(usize::MAX as u64) as usize;
        let opens = m.opens();
        if opens {
            if let Err(e) = self.handles.charge(handle_meter, 1) {
                return Err(refuse(
                    FaultKind::Denied,
                    self.handle_denial(&kind, method, handle_meter, e),
                ));
            }
        }
        self.charge_fuel_now(id, price_in + reserved_fuel);
        let reservation = Reservation {
            fuel: reserved_fuel,
            fuel_bounded,
            handle: opens,
            closes: m.closes().then_some(key),
        };
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let started = if virtual_answer {
            Started::Done(self.virtual_call(id, m, &host_args, max_bytes))
        } else {
            self.host_quiet = false;
            let Some(host) = self.host.as_mut() else {
                return Err(broken(
                    "a gateway key is held but no host serves gateway calls",
                ));
            };
            host.start(Request {
                ticket,
                key,
                kind,
                method: m,
                args: host_args,
                max_bytes,
            })
        };
        // Keys the answer makes derive from the key the caller used (a forwarder, say), so
        // revoking that one reaches them too.
        match started {
            Started::Done(result) => match self.host_answer(id, held, result, reservation)? {
                Some(values) => Ok(Answer::Values(values)),
                None => Ok(Answer::Io),
            },
            Started::Pending => {
                if let Some(p) = self.get_mut(id) {
                    p.io = Some(PendingIo {
                        ticket,
                        key: held,
                        reserved: reservation,
                    });
                    if p.det.is_some() {
                        // Its answer must arrive before anything else runs (`Kernel::step`).
                        self.held_for_io = Some(id);
                    }
                }
                Ok(Answer::Io)
            }
        }
    }

    /// A clock or random method of deterministic process `id`, answered from its state.
    fn virtual_call(
        &mut self,
        id: ProcessId,
        m: Method,
        args: &[HostValue],
        max_bytes: usize,
    ) -> Result<Vec<HostValue>, HostError> {
        let failed = |what: &str| HostError::new(HostFault::Failed, what);
        match m {
            Method::ClockNow => {
                let ns = self
                    .virtual_now(id)
                    .ok_or_else(|| failed("no virtual clock"))?;
                Ok(vec![HostValue::Float(
                    std::time::Duration::from_nanos(ns).as_secs_f64(),
                )])
            }
            Method::ClockSleep => {
                let ns = crate::determinism::sleep_ns(args)?;
                self.virtual_sleep(id, ns);
                Ok(Vec::new())
            }
            _ => self
                .get_mut(id)
                .and_then(|p| p.det.as_mut())
                .ok_or_else(|| failed("no deterministic state"))?
                .random_method(m, args, max_bytes),
        }
    }

    /// Charges `units` of fuel to `id`'s chain now (a kernel service's price; the chain was
    /// checked to have them), and to its VM's account.
    fn charge_fuel_now(&mut self, id: ProcessId, units: u64) {
        // The caller checked the allowance; were it short, the charge is refused whole and
        // the answer is simply not paid for twice.
        let paid = self.charge_fuel(id, units);
        debug_assert!(paid.is_ok(), "a gateway price past the allowance");
    }

    /// Gives back fuel charged for an answer that did not use it.
    fn refund_fuel(&mut self, id: ProcessId, units: u64) {
        let Some(p) = self.get_mut(id) else { return };
        p.drawn = p.drawn.saturating_sub(units);
        let meter = p.fuel;
        self.fuel.release(meter, units);
    }

    /// The refusal of an open past a handle budget: which budget, how full, how to raise it.
    fn handle_denial(
        &self,
        kind: &KeyKind,
        method: &str,
        own: crate::meter::MeterId,
        e: crate::meter::Exhausted,
    ) -> String {
        let (used, limit) = self.handles.usage(e.meter).unwrap_or((0, 0));
        let whose = if e.meter == own {
            "this process's handle budget"
        } else {
            "the handle budget of an ancestor of this process"
        };
        format!(
            "{}: {method}: {whose} is spent ({used} of {limit} files, sockets, listeners and \
             directories open); close one, or give more with opts.handles (--handles N for the \
             command line's program)",
            kind.describe()
        )
    }

    /// Sets the handle budget of process `id` (`opts.handles`, `--handles N`): how many files,
    /// sockets, listeners and directories it and its descendants may hold open at once. Like
    /// every limit, an intent: the ancestors' budgets still bound it.
    pub fn set_handle_limit(&mut self, id: ProcessId, limit: u64) {
        if let Some(m) = self.get(id).map(|p| p.handles) {
            self.handles.set_limit(m, limit);
        }
    }

    /// `(open, limit)` of a process's handle meter (its own objects and its descendants').
    pub fn handle_usage(&self, id: ProcessId) -> Option<(u64, u64)> {
        self.get(id).and_then(|p| self.handles.usage(p.handles))
    }

    /// The object behind `key` is closed (or was never opened): its handle goes back to the
    /// chain that was charged for it. Does nothing for a key without one.
    pub(crate) fn release_handle(&mut self, key: KeyId) {
        if let Some(meter) = self.open_handles.remove(&key) {
            self.handles.release(meter, 1);
        }
    }

    /// Process `p` (already out of its slot) ends: a handle it reserved for a pending open
    /// goes back; the objects it opened that others still hold stay charged, now to its
    /// parent's meter (whose chain paid for them); then its meter goes.
    pub(crate) fn end_handle_meter(&mut self, p: &Process) {
        if p.io.as_ref().is_some_and(|io| io.reserved.handle) {
            self.handles.release(p.handles, 1);
        }
        let heir = p.parent.and_then(|q| self.get(q)).map(|q| q.handles);
        let orphans: Vec<KeyId> = self
            .open_handles
            .iter()
            .filter(|(_, &m)| m == p.handles)
            .map(|(&k, _)| k)
            .collect();
        for key in orphans {
            match heir {
                Some(h) => {
                    self.open_handles.insert(key, h);
                }
                None => self.release_handle(key),
            }
        }
        self.handles.remove(p.handles);
    }

    /// Turns a host answer into values in `id`'s heap (its bank pays; new keys are derived
    /// from `key` and granted to `id`).
    ///
    /// `None`: the answer was larger than the fuel paid for; the caller is suspended out of
    /// fuel with its trap pending.
    fn host_answer(
        &mut self,
        id: ProcessId,
        key: KeyId,
        result: Result<Vec<HostValue>, HostError>,
        reserved: Reservation,
    ) -> Result<Option<Vec<Value>>, Refusal> {
        let mut handle = reserved.handle;
        let answer = self.deliver(id, key, result, &reserved, &mut handle);
        if handle {
            // Nothing was opened after all: the reserved unit goes back.
            if let Some(m) = self.get(id).map(|p| p.handles) {
                self.handles.release(m, 1);
            }
        }
        answer
    }

    fn deliver(
        &mut self,
        id: ProcessId,
        key: KeyId,
        result: Result<Vec<HostValue>, HostError>,
        reserved: &Reservation,
        handle: &mut bool,
    ) -> Result<Option<Vec<Value>>, Refusal> {
        let values = match result {
            Err(e) if e.reason == HostFault::TooLarge && reserved.fuel_bounded => {
                // The answer needs more than the fuel paid for: suspended, to be asked again
                // after a refuel, which must give what was paid and more than that again (the
                // call is made again from the start, and paid once: the refusal gives back
                // what it charged).
                self.suspend_unpaid(id, reserved.fuel.saturating_add(1));
                return Ok(None);
            }
            Err(e) if e.reason == HostFault::TooLarge => {
                // The answer needs more memory than the caller's chain allows, and the host did
                // nothing: the caller is suspended out of memory (DESIGN, "Budgets": no `pcall`
                // sees it), to ask again once it is given more. What it paid goes back with
                // the refusal.
                self.refund_fuel(id, reserved.fuel);
                let needed = self.memory_allowance(id).saturating_add(1);
                return Err(no_room(usize::try_from(needed).unwrap_or(usize::MAX))
                    .with_message(self.denial_text(key, &e)));
            }
            Err(e) => {
                self.refund_fuel(id, reserved.fuel);
                let message = self.denial_text(key, &e);
                return Err(refuse(e.reason.kind(), message));
            }
            Ok(values) => values,
        };
        let size: usize = values.iter().map(HostValue::size).sum();
        self.refund_fuel(
            id,
            reserved
                .fuel
                .saturating_sub(Work::Bytes.units_of(size.saturating_sub(16 * values.len()))),
        );
        if let Some(closed) = reserved.closes {
            self.release_handle(closed);
        }
        // The copy into the heap is charged to the caller's bank, within its chain.
        self.bound_memory(id);
        let mut out = Vec::with_capacity(values.len());
        for v in &values {
            match self.host_value(id, key, v, handle) {
                Ok(x) => out.push(x),
                Err(r) => {
                    self.settle_memory(id);
                    return Err(r);
                }
            }
        }
        self.settle_memory(id);
        Ok(Some(out))
    }

    /// A host refusal, naming the key it is about; for a key the command line granted, which
    /// flag would give what is missing.
    fn denial_text(&self, key: KeyId, e: &HostError) -> String {
        let Some(kind) = self.keys.resolve(key) else {
            return e.message.clone();
        };
        let mut text = format!("{}: {}", kind.describe(), e.message);
        let granted_by_host = self
            .keys
            .resolve_with_id(key)
            .and_then(|(k, _)| self.keys.get(k))
            .is_some_and(|k| k.parent.is_none());
        if e.reason.kind() == FaultKind::Denied && granted_by_host {
            // How to grant more is the embedder's business (its flags, its words).
            let missing = match e.reason {
                HostFault::MissingRight { right } => Some(right),
                _ => None,
            };
            if let Some(hint) = self.grant_hint.as_ref().and_then(|h| h(kind, missing)) {
                text.push_str(&format!(" ({hint})"));
            }
        }
        text
    }

    /// One host value in `id`'s heap. Lists and records nest one level in practice; deeper
    /// nesting is refused rather than recursed into.
    fn host_value(
        &mut self,
        id: ProcessId,
        key: KeyId,
        v: &HostValue,
        handle: &mut bool,
    ) -> Result<Value, Refusal> {
        let oom = |_| refuse(FaultKind::Memory, "not enough memory for the result");
        if let HostValue::Object { token, kind } = v {
            return self.host_object(id, key, *token, kind, handle);
        }
        let p = self.get_mut(id).ok_or_else(|| broken("no such process"))?;
        let vm = &mut p.vm;
        let scalar = |vm: &mut Vm, v: &HostValue| -> Result<Value, Refusal> {
            Ok(match v {
                HostValue::Nil => Value::Nil,
                HostValue::Bool(b) => Value::Bool(*b),
                HostValue::Int(n) => Value::Int(*n),
                HostValue::Float(f) => Value::Float(*f),
                HostValue::Bytes(b) => vm.intern(b).map_err(oom)?,
                _ => {
                    return Err(refuse(
                        FaultKind::Error,
                        "the host answered with a value nested too deep",
                    ))
                }
            })
        };
        match v {
            HostValue::List(items) => {
                let t = vm.new_table(items.len(), 0).map_err(oom)?;
                for (i, item) in items.iter().enumerate() {
                    let x = match item {
                        HostValue::Record(fields) => record(vm, fields, &scalar)?,
                        other => scalar(vm, other)?,
                    };
                    vm.raw_set(t, Value::Int(i as i64 + 1), x).map_err(oom)?;
                }
                Ok(Value::Table(t))
            }
            HostValue::Record(fields) => record(vm, fields, &scalar),
            other => scalar(vm, other),
        }
    }

    /// A new key for a host object, derived from `parent`, granted to `id`. If a handle was
    /// reserved for it (`reserved`), the object now holds it, charged to `id`'s handle meter.
    fn host_object(
        &mut self,
        id: ProcessId,
        parent: KeyId,
        token: u64,
        kind: &KeyKind,
        reserved: &mut bool,
    ) -> Result<Value, Refusal> {
        let key = self
            .keys
            .derive(parent, kind.clone())
            .map_err(|e| refuse(FaultKind::Denied, e.to_string()))?;
        if let Some(host) = self.host.as_mut() {
            host.bind(token, key);
        }
        if std::mem::take(reserved) {
            if let Some(m) = self.get(id).map(|p| p.handles) {
                self.open_handles.insert(key, m);
            }
        }
        let records = self.keys.record_bytes(key);
        let p = self.get_mut(id).ok_or_else(|| broken("no such process"))?;
        let granted = p
            .clist
            .grant(key)
            .map_err(|e| refuse(FaultKind::Error, e.to_string()));
        let ud = granted.and_then(|handle| {
            make_gateway_key(&mut p.vm, handle, kind, &kind.describe(), records).map_err(|_| {
                p.clist.drop(handle);
                refuse(FaultKind::Memory, "not enough memory for the key")
            })
        });
        let ud = match ud {
            Ok(ud) => ud,
            Err(r) => {
                // No slot holds the key: its one holder count goes.
                let _ = self.keys.release(key);
                // Nobody will hold the key: the object is closed and its handle given back.
                if let Some(host) = self.host.as_mut() {
                    host.release(key);
                }
                self.release_handle(key);
                return Err(r);
            }
        };
        self.record_grant(Op::Attenuate, Some(id), id, key, Some(parent), kind);
        Ok(ud)
    }

    /// Delivers the host's answers that are ready, waiting up to `wait` for the first one. A
    /// process that is gone or no longer waits for that ticket is skipped.
    pub(crate) fn poll_host(&mut self, wait: Option<std::time::Duration>) -> usize {
        let Some(host) = self.host.as_mut() else {
            return 0;
        };
        let answers = host.poll(wait);
        if answers.is_empty() {
            // Polled before every slice (while the host is not quiet): most find nothing.
            self.host_quiet = host.quiet();
            return 0;
        }
        let n = answers.len();
        for (ticket, result) in answers {
            let Some(id) = self.process_ids().into_iter().find(|&id| {
                self.get(id)
                    .and_then(|p| p.io.as_ref())
                    .is_some_and(|io| io.ticket == ticket)
            }) else {
                continue;
            };
            let Some(io) = self.get_mut(id).and_then(|p| p.io.take()) else {
                continue;
            };
            match self.host_answer(id, io.key, result, io.reserved) {
                Ok(Some(values)) => {
                    self.answer_trap(id, &values);
                }
                // Suspended out of fuel, the trap still pending.
                Ok(None) => {}
                Err(r) => self.answer(id, Err(r)),
            }
            self.stop_if_marked(id);
        }
        n
    }

    /// Whether some live process waits for the host (then waiting for an answer can end).
    /// Delivers the host's answers until no process of the subtree under `root` has a
    /// request in flight (a snapshot holds no pending I/O). A request that makes no progress
    /// for several seconds (a `recv` on a silent connection) is left in flight: the snapshot
    /// then says which process waits for it.
    pub fn finish_host_requests(&mut self, root: ProcessId) {
        const PATIENCE: u32 = 50;
        let mut idle = 0;
        while idle < PATIENCE {
            let pending = self
                .subtree(root)
                .into_iter()
                .any(|id| self.get(id).is_some_and(|p| p.io.is_some()));
            if !pending || self.host.as_ref().is_none_or(|h| h.pending() == 0) {
                return;
            }
            if self.poll_host(Some(std::time::Duration::from_millis(100))) == 0 {
                idle += 1;
            } else {
                idle = 0;
            }
        }
    }

    pub(crate) fn waits_for_host(&self) -> bool {
        self.processes().any(|p| p.io.is_some())
            && self.host.as_ref().is_some_and(|h| h.pending() > 0)
    }
}

fn record(
    vm: &mut Vm,
    fields: &[(&'static str, HostValue)],
    scalar: &dyn Fn(&mut Vm, &HostValue) -> Result<Value, Refusal>,
) -> Result<Value, Refusal> {
    let oom = |_| refuse(FaultKind::Memory, "not enough memory for the result");
    let t = vm.new_table(0, fields.len()).map_err(oom)?;
    for (name, x) in fields {
        let x = scalar(vm, x)?;
        let k = vm.intern(name.as_bytes()).map_err(oom)?;
        vm.raw_set(t, k, x).map_err(oom)?;
    }
    Ok(Value::Table(t))
}
