//! Revocation: `revocable(key)` answers with a forwarder to what `key` designates and a
//! function that revokes the forwarder, and every key derived from it, for all its holders.
//!
//! **Invariant:** revoking reaches no further than the forwarder: the key it was derived from
//! lives on for its other holders, and the host lets go only of what nothing but revoked keys
//! reached.

use super::gateway;
use super::key_values::{key_handle, key_name, make_key};
use super::{broken, refuse, Answer, Refusal};
use crate::audit::Op;
use crate::clist::KeyKind;
use crate::fault::FaultKind;
use crate::process::{Kernel, ProcessId};
use crate::value::Value;

impl Kernel {
    /// `revocable(key)`: a forwarder to the same process, and a function that revokes it (and
    /// everything derived from it) for every holder.
    pub(super) fn revocable(&mut self, id: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let v = args.first().copied().unwrap_or(Value::Nil);
        let p = self.get(id).ok_or_else(|| broken("no such process"))?;
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
        self.record_grant(Op::Attenuate, Some(id), id, forwarder, Some(target), &kind);
        let p = self.get_mut(id).ok_or_else(|| broken("no such process"))?;
        let handle = p
            .clist
            .grant(forwarder)
            .map_err(|e| refuse(FaultKind::Error, e.to_string()))?;
        let designated = self.keys.resolve(forwarder).cloned();
        // The holder pays for the slot and the chain of forwarders it keeps alive.
        let records = self.keys.record_bytes(forwarder);
        let p = self.get_mut(id).ok_or_else(|| broken("no such process"))?;
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
                .ok_or_else(|| broken("no revoke native"))?;
        let revoke =
            p.vm.native_value(revoke_id, vec![proxy])
                .map_err(|_| refuse(FaultKind::Memory, "not enough memory"))?;
        Ok(Answer::Values(vec![proxy, revoke]))
    }

    /// The function `revocable` returned: revokes its forwarder (its upvalue).
    pub(super) fn revoke(&mut self, id: ProcessId) -> Result<Answer, Refusal> {
        let p = self.get(id).ok_or_else(|| broken("no such process"))?;
        let v = p.vm.trap_upvalues().first().copied().unwrap_or(Value::Nil);
        let handle = key_handle(&p.vm, v).ok_or_else(|| broken("broken revoke function"))?;
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
            self.record_grant(Op::Revoke, Some(id), id, key, None, &kind);
        }
        Ok(Answer::Values(Vec::new()))
    }
}
