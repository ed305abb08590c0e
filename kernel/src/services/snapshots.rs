//! Snapshots as services: `proc:snapshot()` writes the subtree of a process as bytes in the
//! caller's heap, and `restore(bytes, opts)` makes such bytes a new child subtree of the
//! caller, its holes filled from `opts.caps` by name (the format itself is `crate::snapshot`'s).
//!
//! **Invariant:** both are paid before they start, in proportion to their size; no process
//! snapshots a subtree it runs in; a restored subtree reaches outside itself only through the
//! keys its holes were filled with.

use super::key_values::key_handle;
use super::spawn::RESTORE_OPTIONS;
use super::{broken, refuse, Answer, Refusal};
use crate::audit::Op;
use crate::fault::FaultKind;
use crate::process::{Kernel, ProcessId};
use crate::value::Value;
use std::collections::HashMap;

impl Kernel {
    /// `proc:snapshot()`: the subtree of `child` as snapshot bytes, a string in the caller's
    /// heap (its bank pays; fuel in proportion to the size).
    pub(super) fn snapshot_service(
        &mut self,
        id: ProcessId,
        child: ProcessId,
    ) -> Result<Vec<Value>, Refusal> {
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
        let p = self.get_mut(id).ok_or_else(|| broken("no such process"))?;
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

    /// Makes the restored subtree at `root` deterministic where it must be: a process the
    /// snapshot recorded as deterministic stays so; any other becomes so under a deterministic
    /// parent, or at the root if the restorer asked (`wanted`). Its state then derives from
    /// its new parent's (a new tree of seed 0 under a parent that is not deterministic); its
    /// heap keeps the hash seed the snapshot recorded.
    fn adopt_determinism(&mut self, root: ProcessId, wanted: bool) {
        for id in self.subtree(root) {
            if self.is_deterministic(id) {
                continue;
            }
            let Some(parent) = self.get(id).and_then(|p| p.parent) else {
                continue;
            };
            let used = self.fuel_usage(id).map_or(0, |(used, _)| used);
            let Some(det) = self.child_determinism(parent, wanted && id == root, used) else {
                continue;
            };
            if let Some(d) = self.get_mut(parent).and_then(|p| p.det.as_mut()) {
                d.count_child();
            }
            if let Some(p) = self.get_mut(id) {
                p.det = Some(det);
            }
        }
    }

    /// `restore(bytes, opts)`: the snapshot as a new child subtree of the caller; its holes
    /// are filled from `opts.caps` by name. Answers with a key to the restored root.
    pub(super) fn restore_service(
        &mut self,
        id: ProcessId,
        args: &[Value],
    ) -> Result<Answer, Refusal> {
        let p = self.get_mut(id).ok_or_else(|| broken("no such process"))?;
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
        self.adopt_determinism(root, o.deterministic == Some(true));
        let name = self.get(root).map(|p| p.name.clone()).unwrap_or_default();
        match self.grant_process_key(id, root, &name, Op::Restore) {
            Ok(key) => Ok(Answer::Values(vec![key])),
            Err(e) => {
                self.kill(root);
                Err(e)
            }
        }
    }
}
