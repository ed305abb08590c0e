//! Ending processes: `kill` ends a process and its subtree at once; reaping frees an ended
//! process once no key reaches it (DESIGN, "Process lifecycle").
//!
//! **Invariant:** a process is reaped only when nothing can reach it again: it ended, no key
//! designates it, it serves and waits for nothing, and no process below it lives; the session's
//! root is never reaped. Released keys are followed with a work list, never the Rust stack.

use crate::process::{Kernel, ProcessId, State};
use std::collections::HashMap;

impl Kernel {
    /// Reaps the ended processes that the last key designating them has left (DESIGN,
    /// "Process lifecycle"): their VMs, banks and meters are freed, and the keys they held
    /// released in turn (which may leave more processes unheld; the work list, not the Rust
    /// stack, follows them).
    pub(crate) fn reap_unheld(&mut self) {
        if !self.keys.has_unheld() {
            // Called after every service: most leave no process unheld.
            return;
        }
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
}
