//! Copies between processes: plain values are copied (`crate::transfer`), keys cross as keys (a
//! new slot in the receiver for the same key object, recorded in the audit log), and functions
//! cross as proxies that call back into the sender, which keeps them in its exports.
//!
//! **Invariant:** a copy is whole or nothing: one that fails (memory, fuel, a key no longer
//! held or revoked) leaves nothing granted. Its fuel is charged piece by piece before each
//! piece (`CopyFuel`) to the process whose request caused it; its memory to the receiver's
//! bank.

use super::gateway;
use super::key_values::process_key_meta;
use super::{broken, no_room, refuse, unpaid, Refusal, Refused};
use crate::audit::Op;
use crate::clist::{KeyKind, SlotHandle};
use crate::fault::FaultKind;
use crate::process::{Kernel, ProcessId};
use crate::value::{UserDataRef, Value};
use crate::vm::Vm;

/// Registry field of an imported module's process: its exported functions, by proxy index.
pub(super) const EXPORTS: &[u8] = b"kernel.exports";

/// The fuel a copy between processes may spend: what its payer's chain allows, taken piece by
/// piece before each piece is copied (`Work::Copied`, `transfer`). A copy that runs out is
/// abandoned whole (see `transfer`); what it did spend is charged to the request, which gives
/// it back when it is refused and made again (`Kernel::suspend_unpaid`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct CopyFuel {
    pub(super) left: u64,
    pub(super) spent: u64,
    /// The piece the allowance could not pay, if one was refused.
    pub(super) refused: u64,
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
                // Refused before the piece is copied: the rest of the allowance stays the
                // payer's (as a refused charge in the VM).
                self.refused = units;
                Err(crate::transfer::TransferError::Fuel)
            }
        }
    }
}

/// Copies a module's exports into the importer: functions become proxies that call back into
/// the module's process (recorded in order, so the module's process can keep them).
pub(super) struct ProxyHooks {
    pub(super) proxy: crate::heap::NativeId,
    pub(super) key: Value,
    /// Exports the module's process already had (proxies number from `base + 1`).
    pub(super) base: i64,
    pub(super) functions: Vec<Value>,
    pub(super) fuel: CopyFuel,
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
    /// The receiver's process-key metatable; none when the values are plain (no hook runs).
    meta: Option<crate::value::TableRef>,
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
            .new_key_userdata(handle.to_payload(b"function"), records)
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
        let handle = SlotHandle::from_payload(&payload).ok_or(TransferError::UserData)?;
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
            .new_key_userdata(
                new.to_payload(SlotHandle::payload_name(&payload).unwrap_or_default()),
                records,
            )
            .map_err(TransferError::Memory)?;
        let data = to.userdata.get_mut(ud.0);
        match self.keys.resolve(key).map(KeyKind::kind_name) {
            Some("process") | None => {
                data.metatable = Some(self.meta.ok_or(TransferError::UserData)?)
            }
            Some(kind) => self.gateway_keys.push((ud, kind)),
        }
        Ok(Value::UserData(ud))
    }
}

impl Kernel {
    /// Copies `values` from process `from` into process `to` (both in the kernel).
    pub(super) fn copy_to(
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

    /// Copies `values` from process `from` (in the kernel) into `to` (taken out of its slot by
    /// the caller, `to_id` its id): plain data copied, keys granted into `to`'s c-list and
    /// recorded as `op` in the audit log. On failure nothing stays granted.
    ///
    /// Who pays: the receiver's bank pays for the memory (within its chain); the fuel is paid
    /// by `payer`, the process whose request causes the copy (the caller for its arguments and
    /// a spawner for `caps`, the waiter or caller for the results it receives), charged piece
    /// by piece before each piece is copied. A payer that runs out gets [`unpaid`]: no values,
    /// nothing granted, and what the copy spent charged to its request (`Process::drawn`).
    pub(super) fn copy_between(
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
                .ok_or_else(|| broken("no such process"))?
        };
        let mut fuel = CopyFuel {
            left: self.fuel.allowance(meter),
            ..CopyFuel::default()
        };
        let r = if values.iter().all(is_scalar) {
            self.copy_scalars(values, &mut fuel)
        } else {
            // The receiver's bank pays, within what its memory chain allows.
            crate::process::bound(&self.memory, to);
            let r = self
                .copy_into(from, values, to, to_id, op, &mut fuel)
                .map_err(|e| match e.kind {
                    // A receiver that asked for the values itself waits for more memory (its
                    // budget, not a fault of anyone's); another process's bank refusing them
                    // is a `memory` fault for the one who sent them.
                    Refused::NoRoom { .. } if payer != to_id => {
                        refuse(FaultKind::Memory, e.0.message)
                    }
                    _ => e,
                });
            crate::process::settle(&mut self.memory, to);
            r
        };
        // The copy spent at most the allowance, so every meter on the chain can pay it.
        let charged = self.fuel.charge(meter, fuel.spent);
        debug_assert!(charged.is_ok(), "a copy spent more than its allowance");
        // Drawn by the payer's request (the payer may be `to`, out of its slot).
        let payer_record = if payer == to_id {
            Some(to)
        } else {
            self.get_mut(payer)
        };
        if let (Some(p), Ok(())) = (payer_record, charged) {
            p.drawn = p.drawn.saturating_add(fuel.spent);
        }
        r
    }

    /// `copy_into` for numbers, booleans and nils only (most calls' arguments and results):
    /// each is itself in any heap, so no memory, hook or record is involved, only the price of
    /// each value, charged as `copy_values_into` charges it (one piece before each, refused at
    /// the first the allowance cannot pay).
    fn copy_scalars(
        &mut self,
        values: &[Value],
        fuel: &mut CopyFuel,
    ) -> Result<Vec<Value>, Refusal> {
        let mut out = std::mem::take(&mut self.spare_values);
        out.clear();
        out.reserve(values.len());
        for &v in values {
            fuel.charge(crate::transfer::copied(1))
                .map_err(|_| unpaid(fuel.refused))?;
            out.push(v);
        }
        Ok(out)
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
        // Plain values (numbers, strings, booleans, nil: most calls' arguments and results)
        // reach no hook, so the key metatable, the proxy and the sender's exports are looked
        // up only for values that may hold a key or a function.
        let plain = values.iter().all(|v| {
            matches!(
                v,
                Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_)
            )
        });
        let (meta, proxy, base) = if plain {
            (None, None, 0)
        } else {
            let meta = process_key_meta(&mut to.vm).map_err(|_| no_room(1))?;
            let proxy = to.vm.natives().id_of("process.proxy");
            let base = match self.get_mut(from) {
                Some(p) => exports_len(&mut p.vm),
                None => 0,
            };
            (Some(meta), proxy, base)
        };
        let Kernel {
            slots,
            keys,
            spare_values,
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
        let result = crate::transfer::copy_values_into(
            &sender.vm.heap,
            values,
            &mut to_vm.heap,
            &mut hooks,
            std::mem::take(spare_values),
        );
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
            Ok(v) if granted.is_empty() && functions.is_empty() => Ok(v),
            Ok(v) => {
                let given: Vec<_> = granted
                    .iter()
                    .filter_map(|&(_, key)| keys.resolve(key).cloned().map(|kind| (key, kind)))
                    .collect();
                for (key, kind) in given {
                    let event = crate::audit::Event::new(
                        op,
                        0,
                        Some(from.to_u64()),
                        to_id.to_u64(),
                        key,
                        None,
                        &kind,
                    );
                    self.record_event(event, from, &to.name);
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
                    crate::transfer::TransferError::Fuel => Err(unpaid(fuel.refused)),
                    // Nothing stays granted, and the receiver's heap holds only garbage
                    // (`copy_between` says whose fault that is).
                    e @ crate::transfer::TransferError::Memory(m) => {
                        Err(no_room(m.requested).with_message(e.to_string()))
                    }
                    e => Err(refuse(FaultKind::Error, e.to_string())),
                }
            }
        }
    }
}

/// Whether `v` is the same value in every heap (no handle): a number, a boolean or nil.
fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_)
    )
}

/// How many functions a process has handed out (its exports table's length).
pub(super) fn exports_len(vm: &mut Vm) -> i64 {
    let Ok(k) = vm.intern(EXPORTS) else { return 0 };
    match vm.raw_get(vm.registry, k) {
        Value::Table(t) => vm.heap.table(t).border(),
        _ => 0,
    }
}

/// Appends functions to a process's exports, numbered from `base + 1`.
pub(super) fn append_exports(
    vm: &mut Vm,
    base: i64,
    functions: &[Value],
) -> Result<(), crate::vm::Throw> {
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
