//! Gateway keys from Lua: their metatables, the trap services behind their methods, and the
//! answers of the host (`crate::gateway`) delivered into the caller's heap.
//!
//! **Invariant:** the kernel asks the host only for a key the caller holds, that is not
//! revoked, and that designates a gateway of the method's kind; a key the host makes is
//! derived from the called key and accepted only if `KeyKind::attenuate` allows it.

use super::{key_handle, key_payload, native, refuse, shared_meta, Answer, Refusal};
use crate::audit::{Event, Op};
use crate::clist::{KeyId, KeyKind};
use crate::gateway::{HostError, HostValue, Request, Started, METHODS};
use crate::process::{Kernel, ProcessId, State};
use crate::value::{TableRef, Value};
use crate::vm::{Throw, Vm};

/// Fuel a gateway call costs before the bytes it moves (one unit per 16 bytes).
const CALL_FUEL: u64 = 100;

/// A gateway call waiting for the host: its ticket, and the key the caller used.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct PendingIo {
    pub(crate) ticket: u64,
    pub(crate) key: KeyId,
}

/// The metatable of keys of `kind` (`process`, `dir`, `net`, …) in a process: protected,
/// with the kind's methods.
pub(crate) fn key_meta(vm: &mut Vm, kind: &str) -> Result<TableRef, Throw> {
    let Some(&(kind, methods)) = METHODS.iter().find(|(k, _)| *k == kind) else {
        return super::process_key_meta(vm);
    };
    let field = format!("kernel.key_meta.{kind}");
    shared_meta(vm, field.as_bytes(), |vm, mt| {
        let table = vm.new_table(0, methods.len())?;
        for m in methods {
            let f = native(vm, &format!("key.{kind}.{m}"))?;
            let k = vm.intern(m.as_bytes())?;
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
) -> Result<Value, Throw> {
    let mt = key_meta(vm, kind.kind_name())?;
    let u = vm
        .heap
        .new_userdata(key_payload(handle, shown.as_bytes()))?;
    let data = vm.heap.userdata.get_mut(u.0);
    data.metatable = Some(mt);
    data.notify_on_free = true;
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
        let time = self.time;
        let p = self.get_mut(id).ok_or("no such process")?;
        let handle = p.clist.grant(key).map_err(|e| e.to_string())?;
        let vm = &mut p.vm;
        let installed = (|| -> Result<(), Throw> {
            let ud = make_gateway_key(vm, handle, &kind, &kind.describe())?;
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
        let _ = self.audit.append(Event::new(
            Op::Grant,
            time,
            None,
            id.to_u64(),
            key,
            None,
            &kind,
        ));
        Ok(key)
    }

    /// `key.<kind>.<method>(key, args…)`: checks the key, answers `rights`/`describe` itself,
    /// and hands everything else to the host.
    pub(super) fn gateway_call(
        &mut self,
        id: ProcessId,
        native: &str,
        args: &[Value],
    ) -> Result<Answer, Refusal> {
        let mut parts = native.splitn(3, '.').skip(1);
        let (Some(kind_name), Some(method)) = (parts.next(), parts.next()) else {
            return Err(refuse(
                "error",
                format!("no kernel service named '{native}'"),
            ));
        };
        let p = self
            .get(id)
            .ok_or_else(|| refuse("error", "no such process"))?;
        let self_value = args.first().copied().unwrap_or(Value::Nil);
        let wrong = || {
            refuse(
                "denied",
                format!("bad self to '{method}' ({kind_name} key expected)"),
            )
        };
        let held = key_handle(&p.vm, self_value)
            .ok_or_else(wrong)
            .and_then(|h| {
                p.clist
                    .get(h)
                    .ok_or_else(|| refuse("revoked", "the key is no longer held"))
            })?;
        if self.keys.is_revoked(held) {
            return Err(refuse(
                "revoked",
                format!("{kind_name}:{method}: the key was revoked"),
            ));
        }
        let (key, kind) = self
            .keys
            .resolve_with_id(held)
            .map(|(k, kind)| (k, kind.clone()))
            .ok_or_else(wrong)?;
        if kind.kind_name() != kind_name {
            return Err(wrong());
        }
        match method {
            "rights" => {
                let text = kind.rights_text();
                return Ok(Answer::Values(vec![self.string(id, text.as_bytes())?]));
            }
            "describe" => {
                let text = kind.describe();
                return Ok(Answer::Values(vec![self.string(id, text.as_bytes())?]));
            }
            _ => {}
        }
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
                        "error",
                        format!(
                            "bad argument #{i} to '{method}' (string or number expected, got {})",
                            other.type_name()
                        ),
                    ))
                }
            });
        }
        let max_bytes = self.memory_allowance(id).min(usize::MAX as u64) as usize;
        if let Some(p) = self.get_mut(id) {
            p.vm.charge_debt(CALL_FUEL + moved as u64 / 16);
        }
        let Some(host) = self.host.as_mut() else {
            return Err(refuse(
                "denied",
                format!("{kind_name}:{method}: this kernel has no gateways"),
            ));
        };
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let started = host.start(Request {
            ticket,
            key,
            kind,
            method: method.to_owned(),
            args: host_args,
            max_bytes,
        });
        // Keys the answer makes derive from the key the caller used (a forwarder, say), so
        // revoking that one reaches them too.
        match started {
            Started::Done(result) => self.host_answer(id, held, result).map(Answer::Values),
            Started::Pending => {
                if let Some(p) = self.get_mut(id) {
                    p.io = Some(PendingIo { ticket, key: held });
                }
                Ok(Answer::Io)
            }
        }
    }

    /// Turns a host answer into values in `id`'s heap (its bank pays; new keys are derived
    /// from `key` and granted to `id`).
    fn host_answer(
        &mut self,
        id: ProcessId,
        key: KeyId,
        result: Result<Vec<HostValue>, HostError>,
    ) -> Result<Vec<Value>, Refusal> {
        let values = result.map_err(|e| {
            let message = self.denial_text(key, &e);
            refuse(e.kind, message)
        })?;
        self.bound_memory(id);
        let mut out = Vec::with_capacity(values.len());
        let mut moved = 0usize;
        for v in &values {
            moved += v.size();
            out.push(self.host_value(id, key, v)?);
        }
        self.settle_memory(id);
        if let Some(p) = self.get_mut(id) {
            p.vm.charge_debt(moved as u64 / 16);
        }
        Ok(out)
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
        if e.kind == "denied" && granted_by_host {
            let missing = e
                .message
                .split("needs the '")
                .nth(1)
                .and_then(|rest| rest.chars().next());
            match (kind, missing) {
                (KeyKind::Dir { rights, .. }, Some(letter)) => text.push_str(&format!(
                    " (grant it with --dir NAME=PATH:{rights}{letter})"
                )),
                (KeyKind::Net { .. }, _) => {
                    text.push_str(" (grant more with --net NAME=HOST:PORT[:connect|:listen])")
                }
                _ => {}
            }
        }
        text
    }

    /// One host value in `id`'s heap. Lists and records nest one level in practice; deeper
    /// nesting is refused rather than recursed into.
    fn host_value(&mut self, id: ProcessId, key: KeyId, v: &HostValue) -> Result<Value, Refusal> {
        let oom = |_| refuse("memory", "not enough memory for the result");
        if let HostValue::Object { token, kind } = v {
            return self.host_object(id, key, *token, kind);
        }
        let p = self
            .get_mut(id)
            .ok_or_else(|| refuse("error", "no such process"))?;
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
                        "error",
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

    /// A new key for a host object, derived from `parent`, granted to `id`.
    fn host_object(
        &mut self,
        id: ProcessId,
        parent: KeyId,
        token: u64,
        kind: &KeyKind,
    ) -> Result<Value, Refusal> {
        let key = self
            .keys
            .derive(parent, kind.clone())
            .map_err(|e| refuse("denied", e.to_string()))?;
        if let Some(host) = self.host.as_mut() {
            host.bind(token, key);
        }
        let time = self.time;
        let p = self
            .get_mut(id)
            .ok_or_else(|| refuse("error", "no such process"))?;
        let handle = p
            .clist
            .grant(key)
            .map_err(|e| refuse("error", e.to_string()))?;
        let ud = make_gateway_key(&mut p.vm, handle, kind, &kind.describe())
            .map_err(|_| refuse("memory", "not enough memory for the key"))?;
        let _ = self.audit.append(Event::new(
            Op::Attenuate,
            time,
            Some(id.to_u64()),
            id.to_u64(),
            key,
            Some(parent),
            kind,
        ));
        Ok(ud)
    }

    /// Delivers the host's answers that are ready, waiting up to `wait` for the first one. A
    /// process that is gone or no longer waits for that ticket is skipped.
    pub(crate) fn poll_host(&mut self, wait: Option<std::time::Duration>) -> usize {
        let Some(host) = self.host.as_mut() else {
            return 0;
        };
        let answers = host.poll(wait);
        let n = answers.len();
        for (ticket, result) in answers {
            let Some(id) = self.process_ids().into_iter().find(|&id| {
                self.get(id)
                    .and_then(|p| p.io.as_ref())
                    .is_some_and(|io| io.ticket == ticket)
            }) else {
                continue;
            };
            let key = match self.get_mut(id).and_then(|p| p.io.take()) {
                Some(io) => io.key,
                None => continue,
            };
            match self.host_answer(id, key, result) {
                Ok(values) => {
                    if let Some(p) = self.get_mut(id) {
                        if p.vm.complete_trap(&values).is_ok() {
                            p.state = State::Ready;
                        }
                    }
                }
                Err(r) => self.fail(id, r),
            }
        }
        n
    }

    /// Whether some live process waits for the host (then waiting for an answer can end).
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
    let oom = |_| refuse("memory", "not enough memory for the result");
    let t = vm.new_table(0, fields.len()).map_err(oom)?;
    for (name, x) in fields {
        let x = scalar(vm, x)?;
        let k = vm.intern(name.as_bytes()).map_err(oom)?;
        vm.raw_set(t, k, x).map_err(oom)?;
    }
    Ok(Value::Table(t))
}
