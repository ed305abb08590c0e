//! Nested budgets, the credit model of DESIGN.md: a tree of meters, one per process, where a
//! child's limit is an *intent* that may exceed what its parent has left. Every unit a process
//! spends is charged to its own meter and to every ancestor's; what a process may spend next is
//! the least that any meter on its chain has left.
//!
//! The per-instruction cost does not grow with depth: a process runs a slice bounded by
//! `allowance` with a plain counter in its VM, and the chain is charged once when control
//! comes back (`charge`), which walks the chain — O(depth) per slice, not per instruction.
//!
//! The same tree serves fuel (charged, never given back) and memory (charged and released).
//!
//! **Invariants:** for every meter `used <= limit`; a charge that would break it on any meter of
//! the chain fails and changes nothing; so no process ever spends more than any of its
//! ancestors allows.

use serde::{Deserialize, Serialize};

/// A meter in a `MeterTree`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MeterId(u32);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Meter {
    parent: Option<MeterId>,
    limit: u64,
    used: u64,
    /// Removed meters keep their slot (ids are never reused within a tree).
    live: bool,
}

/// A charge was refused: `meter` (the process's own, or an ancestor's) has too little left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("budget exhausted: meter {meter:?} has {left} units left, {requested} were needed")]
pub struct Exhausted {
    /// The nearest meter on the chain that cannot pay.
    pub meter: MeterId,
    pub left: u64,
    pub requested: u64,
}

/// A tree of meters.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MeterTree {
    meters: Vec<Meter>,
    /// Slots of removed meters, reused last-freed first (serialized, so a restored tree hands
    /// out the same ids). A meter is removed only with every meter below it (a process is
    /// killed with its subtree), so no live meter's chain passes through a reused slot.
    #[serde(default)]
    free: Vec<u32>,
}

impl MeterTree {
    pub fn new() -> MeterTree {
        MeterTree::default()
    }

    /// A root meter (a process without a metered parent).
    pub fn root(&mut self, limit: u64) -> MeterId {
        self.push(None, limit)
    }

    /// A child meter whose limit is an intent: it may exceed what `parent` has left.
    pub fn child(&mut self, parent: MeterId, limit: u64) -> MeterId {
        self.push(Some(parent), limit)
    }

    fn push(&mut self, parent: Option<MeterId>, limit: u64) -> MeterId {
        let meter = Meter {
            parent,
            limit,
            used: 0,
            live: true,
        };
        if let Some(i) = self.free.pop() {
            if let Some(slot) = self.meters.get_mut(i as usize) {
                *slot = meter;
                return MeterId(i);
            }
        }
        self.meters.push(meter);
        MeterId((self.meters.len() - 1) as u32)
    }

    fn get(&self, id: MeterId) -> Option<&Meter> {
        self.meters.get(id.0 as usize).filter(|m| m.live)
    }

    /// The meters from `id` up to its root.
    fn chain(&self, id: MeterId) -> impl Iterator<Item = (MeterId, &Meter)> + '_ {
        let mut next = self.get(id).map(|m| (id, m));
        // A chain cannot be longer than the tree (parents are created before children).
        let mut steps = self.meters.len();
        std::iter::from_fn(move || {
            let cur = next?;
            steps = steps.checked_sub(1)?;
            next = cur.1.parent.and_then(|p| self.get(p).map(|m| (p, m)));
            Some(cur)
        })
    }

    /// The most `id` may spend now: the least any meter on its chain has left.
    pub fn allowance(&self, id: MeterId) -> u64 {
        self.chain(id)
            .map(|(_, m)| m.limit - m.used)
            .min()
            .unwrap_or(0)
    }

    /// The nearest meter on the chain with nothing left, if any (its process's parent is the
    /// one to hear about it).
    pub fn exhausted(&self, id: MeterId) -> Option<MeterId> {
        self.short_of(id, 1)
    }

    /// The nearest meter on the chain with less than `units` left, if any.
    pub fn short_of(&self, id: MeterId, units: u64) -> Option<MeterId> {
        self.chain(id)
            .find(|(_, m)| m.limit - m.used < units)
            .map(|(i, _)| i)
    }

    /// Charges `units` to `id` and every ancestor.
    ///
    /// # Errors
    /// `Exhausted` naming the nearest meter that cannot pay; nothing is charged then.
    pub fn charge(&mut self, id: MeterId, units: u64) -> Result<(), Exhausted> {
        if units == 0 {
            // Every meter can pay nothing (`used` never exceeds `limit`).
            return Ok(());
        }
        if let Some((meter, m)) = self.chain(id).find(|(_, m)| m.limit - m.used < units) {
            return Err(Exhausted {
                meter,
                left: m.limit - m.used,
                requested: units,
            });
        }
        self.for_each_on_chain(id, |m| m.used += units);
        Ok(())
    }

    /// Gives back `units` to `id` and every ancestor (memory freed by a collection).
    pub fn release(&mut self, id: MeterId, units: u64) {
        self.for_each_on_chain(id, |m| m.used = m.used.saturating_sub(units));
    }

    /// Changes each meter of `chain(id)`, in place: a charge is paid on every call across
    /// processes, so it walks the chain without collecting it first.
    fn for_each_on_chain(&mut self, id: MeterId, mut change: impl FnMut(&mut Meter)) {
        let mut next = Some(id);
        // As in `chain`: no longer than the tree, whatever the parent links say.
        for _ in 0..self.meters.len() {
            let Some(m) = next.and_then(|i| self.meters.get_mut(i.0 as usize)) else {
                return;
            };
            if !m.live {
                return;
            }
            change(m);
            next = m.parent;
        }
    }

    /// Sets what a meter has spent without charging its ancestors (a restored process keeps
    /// its account; the fuel was spent before it joined this tree). Capped at the limit.
    pub fn set_spent(&mut self, id: MeterId, used: u64) {
        if let Some(m) = self.meters.get_mut(id.0 as usize).filter(|m| m.live) {
            m.used = used.min(m.limit);
        }
    }

    /// Raises a meter's limit (`proc:refuel(n)`).
    pub fn refuel(&mut self, id: MeterId, units: u64) {
        if let Some(m) = self.meters.get_mut(id.0 as usize).filter(|m| m.live) {
            m.limit = m.limit.saturating_add(units);
        }
    }

    /// Sets a meter's limit (a budget given after the meter was made: `opts.handles`). Never
    /// below what it has used (a meter's `used` never exceeds its `limit`).
    pub fn set_limit(&mut self, id: MeterId, limit: u64) {
        if let Some(m) = self.meters.get_mut(id.0 as usize).filter(|m| m.live) {
            m.limit = limit.max(m.used);
        }
    }

    /// `(used, limit)` of one meter.
    pub fn usage(&self, id: MeterId) -> Option<(u64, u64)> {
        self.get(id).map(|m| (m.used, m.limit))
    }

    /// How many meter slots the tree holds (live and free): what it takes in host memory.
    pub fn slot_count(&self) -> usize {
        self.meters.len()
    }

    /// Removes a meter (its process ended). What it used stays charged to its ancestors for
    /// fuel; memory callers release it first.
    pub fn remove(&mut self, id: MeterId) {
        if let Some(m) = self.meters.get_mut(id.0 as usize).filter(|m| m.live) {
            m.live = false;
            self.free.push(id.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{Arbitrary, Gen, QuickCheck};

    #[test]
    fn removed_meters_slots_are_reused() {
        let mut t = MeterTree::new();
        let root = t.root(1_000_000);
        for _ in 0..10_000 {
            let c = t.child(root, 10);
            let g = t.child(c, 5);
            t.charge(g, 3).expect("fits");
            t.remove(g);
            t.remove(c);
            t.remove(c);
        }
        assert_eq!(
            t.meters.len(),
            3,
            "a spawn-and-kill loop does not grow the tree"
        );
        // What the removed meters spent stays charged to the root.
        assert_eq!(t.usage(root), Some((30_000, 1_000_000)));
    }

    #[test]
    fn a_child_may_intend_more_than_its_parent_has() {
        let mut t = MeterTree::new();
        let root = t.root(100);
        let child = t.child(root, 1000);
        assert_eq!(t.allowance(child), 100);
        t.charge(child, 60).unwrap();
        assert_eq!(t.usage(root), Some((60, 100)));
        assert_eq!(t.usage(child), Some((60, 1000)));
        let e = t.charge(child, 50).unwrap_err();
        assert_eq!(e.meter, root);
        assert_eq!(
            t.usage(child),
            Some((60, 1000)),
            "a refused charge changes nothing"
        );
        t.charge(child, 40).unwrap();
        assert_eq!(t.exhausted(child), Some(root));
        t.refuel(root, 10);
        assert_eq!(t.allowance(child), 10);
    }

    #[test]
    fn depth_does_not_change_what_a_slice_may_spend() {
        let mut t = MeterTree::new();
        let mut id = t.root(1_000_000);
        for _ in 0..1000 {
            id = t.child(id, 2_000_000);
        }
        assert_eq!(t.allowance(id), 1_000_000);
        t.charge(id, 999_999).unwrap();
        assert_eq!(t.allowance(id), 1);
    }

    /// A random tree of meters and a random sequence of charges, releases and refuels.
    #[derive(Clone, Debug)]
    struct Script {
        limits: Vec<(usize, u16)>,
        ops: Vec<(u8, usize, u16)>,
    }

    impl Arbitrary for Script {
        fn arbitrary(g: &mut Gen) -> Script {
            let n = 1 + usize::arbitrary(g) % 12;
            let limits = (0..n)
                .map(|i| {
                    (
                        if i == 0 { 0 } else { usize::arbitrary(g) % i },
                        u16::arbitrary(g),
                    )
                })
                .collect();
            let ops = Vec::<(u8, usize, u16)>::arbitrary(g);
            Script { limits, ops }
        }
    }

    fn build(s: &Script) -> (MeterTree, Vec<MeterId>) {
        let mut t = MeterTree::new();
        let mut ids: Vec<MeterId> = Vec::new();
        for (i, &(parent, limit)) in s.limits.iter().enumerate() {
            let id = if i == 0 {
                t.root(limit as u64)
            } else {
                t.child(ids[parent], limit as u64)
            };
            ids.push(id);
        }
        (t, ids)
    }

    fn never_negative_and_never_past_an_ancestor(s: Script) -> bool {
        let (mut t, ids) = build(&s);
        let only_charges = s.ops.iter().all(|o| o.0 % 3 != 1);
        for &(op, who, units) in &s.ops {
            let id = ids[who % ids.len()];
            match op % 3 {
                0 => {
                    let before = t.clone();
                    // A refused charge changes nothing anywhere.
                    if t.charge(id, units as u64).is_err()
                        && before
                            .meters
                            .iter()
                            .zip(&t.meters)
                            .any(|(a, b)| a.used != b.used)
                    {
                        return false;
                    }
                }
                1 => t.release(id, units as u64),
                _ => t.refuel(id, units as u64 % 100),
            }
            if t.meters.iter().any(|m| m.used > m.limit) {
                return false;
            }
            // Without releases, an ancestor has paid for everything its descendants spent.
            if only_charges
                && t.meters.iter().any(|m| {
                    m.parent
                        .is_some_and(|p| t.meters[p.0 as usize].used < m.used)
                })
            {
                return false;
            }
        }
        true
    }

    #[test]
    fn budgets_never_go_negative_and_children_never_outspend_ancestors() {
        QuickCheck::new()
            .tests(1000)
            .quickcheck(never_negative_and_never_past_an_ancestor as fn(Script) -> bool);
    }

    fn allowance_is_the_chain_minimum(s: Script) -> bool {
        let (mut t, ids) = build(&s);
        for &(_, who, units) in &s.ops {
            let _ = t.charge(ids[who % ids.len()], units as u64);
        }
        ids.iter().all(|&id| {
            let a = t.allowance(id);
            // Spending exactly the allowance succeeds; one more unit would not have.
            let mut u = t.clone();
            let ok = u.charge(id, a).is_ok();
            let mut v = t.clone();
            ok && v.charge(id, a + 1).is_err()
        })
    }

    #[test]
    fn a_slice_may_spend_exactly_its_allowance() {
        QuickCheck::new()
            .tests(1000)
            .quickcheck(allowance_is_the_chain_minimum as fn(Script) -> bool);
    }
}
