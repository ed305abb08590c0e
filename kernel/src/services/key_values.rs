//! Keys as Lua values: a key a process holds is an opaque userdata whose payload (magic, slot
//! handle, display name) names a slot of its holder's c-list. Process keys share one protected
//! metatable carrying their methods; `__eq` compares the key objects behind two values.
//!
//! **Invariant:** the payload carries a slot handle, never a key id or a process id: it means
//! something only when looked up in its holder's c-list, so a userdata copied, forged or left
//! stale designates nothing its holder does not hold.

use super::{broken, native, shared_meta, Answer, Refusal};
use crate::clist::SlotHandle;
use crate::process::{Kernel, ProcessId};
use crate::value::{UserDataRef, Value};
use crate::vm::Vm;

/// Registry fields holding the shared metatables.
const KEY_META: &[u8] = b"kernel.process_key_meta";

/// The name stored in a process key's userdata (for its `tostring`).
pub fn key_name(vm: &Vm, u: UserDataRef) -> Option<String> {
    let payload = &vm.heap.userdata.try_get(u.0)?.payload;
    Some(String::from_utf8_lossy(SlotHandle::payload_name(payload)?).into_owned())
}

pub(super) fn key_handle(vm: &Vm, v: Value) -> Option<SlotHandle> {
    let Value::UserData(u) = v else { return None };
    SlotHandle::from_payload(&vm.heap.userdata.try_get(u.0)?.payload)
}

impl Kernel {
    /// `__eq` of keys: two key values are equal when they hold the same key object, whichever
    /// slots (and userdata) carry it.
    pub(super) fn key_equal(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let p = self.get(id).ok_or_else(|| broken("no such process"))?;
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
}

/// A process key as Lua sees it: an opaque userdata whose payload names a slot of its
/// holder's c-list; its metatable is protected and carries the methods.
/// `records`: the bytes of kernel records the key's slot keeps (`KeyTable::record_bytes`),
/// charged to the holder's bank with the userdata.
pub(super) fn make_key(
    vm: &mut Vm,
    handle: SlotHandle,
    name: &str,
    records: usize,
) -> Result<Value, crate::vm::Throw> {
    let mt = process_key_meta(vm)?;
    let u = vm
        .heap
        .new_key_userdata(handle.to_payload(name.as_bytes()), records)?;
    let data = vm.heap.userdata.get_mut(u.0);
    data.metatable = Some(mt);
    Ok(Value::UserData(u))
}

/// What `make_key` charges its process's bank for a new process key named `name` (its
/// metatable made beforehand): the userdata with its payload and key records.
pub(super) fn new_process_key_bytes(name: &str) -> usize {
    crate::heap::USERDATA_BASE_BYTES
        .saturating_add(crate::clist::SlotHandle::payload_len(name.len()))
        .saturating_add(crate::clist::KeyTable::ROOT_RECORD_BYTES)
}

/// The metatable of process keys in a process: protected, with the methods.
pub(super) fn process_key_meta(vm: &mut Vm) -> Result<crate::value::TableRef, crate::vm::Throw> {
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
