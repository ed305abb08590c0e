//! A table's hash part: its entries in insertion order, found through an open-addressed index
//! of their positions. The order is the program's (so `next`, and with it every traversal,
//! depends only on what the program did); the index is derived from the entries and never
//! saved.
//!
//! A lookup hashes the key with the index's seeded hasher, then probes the index linearly
//! from there: most hits compare one stored key. (It replaced an `IndexMap`, whose general
//! probing cost about twice the instructions per lookup.) A part of at most `LINEAR_MAX`
//! entries has no index: a lookup compares its keys in order, which for so few costs no more
//! than hashing, and an object's few fields (`{x = x, y = y}`) cost one allocation, not two.
//!
//! **Invariants:**
//! - There is no index while there are at most `LINEAR_MAX` entries (it may stay after
//!   `retain_live` drops some); otherwise its length is a power of two and at least twice the
//!   number of entries, so it always has an empty slot and every probe ends.
//! - With an index, every entry's position (plus one) is in exactly one index slot, reached
//!   from its key's hash without passing an empty slot. No key is in two entries.
//! - Entries are only added at the end, or kept or dropped all at once with the index built
//!   again (`retain_live`): none is removed alone, so a probe never meets a slot emptied
//!   behind a key it should find.
//! - The seed is the heap's (given to whatever may build an index), except in an index marked
//!   `inherited`: a table copied from a heap with another seed, which takes no new key before
//!   `reseed`. A part without an index has no hasher: nothing there is hashed.

use crate::value::{Key, Value};
use std::hash::{BuildHasher, Hash};

/// The seeded hasher of a table's keys.
pub(crate) type Hasher = foldhash::fast::FixedState;

/// What a lookup is given: something that hashes as its `Key` would and compares with a
/// stored key (a string or integer handle, without building a `Key`).
pub(crate) trait Probe: Hash {
    fn is(&self, key: &Key) -> bool;
}

impl Probe for Key {
    #[inline]
    fn is(&self, key: &Key) -> bool {
        self == key
    }
}

/// An index slot: no entry.
const EMPTY: u32 = 0;

/// The most entries a part keeps without an index.
const LINEAR_MAX: usize = 4;

#[derive(Clone, Debug, Default)]
pub(crate) struct HashPart {
    entries: Vec<(Key, Value)>,
    /// Built with the first entry past `LINEAR_MAX`: boxed, so a table with a few fields (or
    /// none) pays one pointer for it, not its slots and hasher.
    index: Option<Box<Index>>,
}

/// The index of a part of more than `LINEAR_MAX` entries.
#[derive(Clone, Debug)]
struct Index {
    /// An entry's position plus one, or `EMPTY`.
    slots: Box<[u32]>,
    /// Seeded with the heap's seed, or, while `inherited` is set, with the seed of the heap
    /// the table was copied from (`HashPart::inherit`).
    hasher: Hasher,
    inherited: bool,
}

/// Where a probe for a key ended.
enum Found {
    /// The entry at this position holds the key.
    Entry(usize),
    /// The key is absent; this index slot is where it would go.
    Vacant(usize),
}

impl HashPart {
    /// An empty part with room for `capacity` entries before anything is allocated again; an
    /// index it builds is seeded with `seed`.
    #[inline]
    pub(crate) fn with_capacity(capacity: usize, seed: u64) -> HashPart {
        let mut part = HashPart::default();
        // Most tables are made without a hash part (`{}`, lists): nothing to allocate.
        if capacity > 0 {
            part.reserve(capacity, seed);
        }
        part
    }

    /// Whether the index was hashed with another heap's seed (`inherit`): a lookup is still
    /// right, but a new key must wait for `reseed`.
    pub(crate) fn is_inherited(&self) -> bool {
        self.index.as_ref().is_some_and(|index| index.inherited)
    }

    /// Marks the index as hashed with another heap's seed: the part was copied into a heap
    /// with a different one (`Heap::copy_with_seed`).
    pub(crate) fn inherit(&mut self) {
        if let Some(index) = &mut self.index {
            index.inherited = true;
        }
    }

    /// The index's hasher; none without an index.
    #[cfg(test)]
    pub(crate) fn hasher(&self) -> Option<&Hasher> {
        self.index.as_ref().map(|index| &index.hasher)
    }

    /// Builds the index again with `seed`, keeping the entries and their order.
    pub(crate) fn reseed(&mut self, seed: u64) {
        if let Some(index) = self.index.take() {
            self.build_index(index.slots.len(), Hasher::with_seed(seed), false);
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn index_len(&self) -> usize {
        self.index.as_ref().map_or(0, |index| index.slots.len())
    }

    /// The index length that holds `entries` entries (at most half full), none for a few.
    fn index_len_for(entries: usize) -> usize {
        if entries <= LINEAR_MAX {
            0
        } else {
            (entries * 2).next_power_of_two()
        }
    }

    #[inline]
    fn probe<Q: Probe + ?Sized>(&self, q: &Q) -> Found {
        let Some(index) = self.index.as_deref() else {
            // A few entries: compared in order (a vacant key has no index slot to take).
            return match self.entries.iter().position(|(key, _)| q.is(key)) {
                Some(position) => Found::Entry(position),
                None => Found::Vacant(0),
            };
        };
        let mask = index.slots.len().wrapping_sub(1);
        let mut slot = index.hasher.hash_one(q) as usize & mask;
        loop {
            // The index has an empty slot (it is at most half full): every probe ends.
            let Some(&at) = index.slots.get(slot) else {
                return Found::Vacant(slot);
            };
            if at == EMPTY {
                return Found::Vacant(slot);
            }
            let position = (at - 1) as usize;
            if let Some((key, _)) = self.entries.get(position) {
                if q.is(key) {
                    return Found::Entry(position);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The position of `q`'s entry.
    #[inline]
    pub(crate) fn get_index_of<Q: Probe + ?Sized>(&self, q: &Q) -> Option<usize> {
        match self.probe(q) {
            Found::Entry(position) => Some(position),
            Found::Vacant(_) => None,
        }
    }

    #[inline]
    pub(crate) fn get<Q: Probe + ?Sized>(&self, q: &Q) -> Option<&Value> {
        let position = self.get_index_of(q)?;
        self.entries.get(position).map(|(_, v)| v)
    }

    #[inline]
    pub(crate) fn get_mut<Q: Probe + ?Sized>(&mut self, q: &Q) -> Option<&mut Value> {
        let position = self.get_index_of(q)?;
        self.entries.get_mut(position).map(|(_, v)| v)
    }

    /// The position, key and value of `q`'s entry.
    #[inline]
    pub(crate) fn get_full<Q: Probe + ?Sized>(&self, q: &Q) -> Option<(usize, &Key, &Value)> {
        let position = self.get_index_of(q)?;
        self.entries.get(position).map(|(k, v)| (position, k, v))
    }

    /// The entry at `position` in insertion order.
    #[inline]
    pub(crate) fn get_index(&self, position: usize) -> Option<(&Key, &Value)> {
        self.entries.get(position).map(|(k, v)| (k, v))
    }

    #[inline]
    pub(crate) fn get_index_mut(&mut self, position: usize) -> Option<(&Key, &mut Value)> {
        self.entries.get_mut(position).map(|(k, v)| (&*k, v))
    }

    /// Adds `key` at the end, or, when it is already there (a dead key, kept until a rehash,
    /// given a value again), sets its value in place. True when the key is new. An index it
    /// builds is seeded with `seed`.
    pub(crate) fn insert(&mut self, key: Key, value: Value, seed: u64) -> bool {
        if Self::index_len_for(self.entries.len() + 1) > self.index_len() {
            // The index doubles as the entries do, so building it again is amortised.
            self.reindex(
                Self::index_len_for((self.entries.len() + 1).max(self.entries.capacity())),
                seed,
            );
        }
        let slot = match self.probe(&key) {
            Found::Vacant(slot) => slot,
            Found::Entry(position) => {
                if let Some((_, v)) = self.entries.get_mut(position) {
                    *v = value;
                }
                return false;
            }
        };
        self.entries.push((key, value));
        if let Some(at) = self
            .index
            .as_mut()
            .and_then(|index| index.slots.get_mut(slot))
        {
            // Positions fit: a part of 2^32 entries could not have been charged.
            *at = self.entries.len() as u32;
        }
        true
    }

    /// Room for `additional` more entries; an index it builds is seeded with `seed`.
    pub(crate) fn reserve(&mut self, additional: usize, seed: u64) {
        let wanted = self.entries.len().saturating_add(additional);
        if wanted > self.entries.capacity() {
            self.entries.reserve_exact(wanted - self.entries.len());
        }
        let len = Self::index_len_for(wanted);
        if len > self.index_len() {
            self.reindex(len, seed);
        }
    }

    /// Drops the entries whose value is nil (dead keys), keeping the order of the others.
    pub(crate) fn retain_live(&mut self) {
        let before = self.entries.len();
        self.entries.retain(|(_, v)| !v.is_nil());
        if self.entries.len() != before {
            if let Some(index) = self.index.take() {
                self.build_index(index.slots.len(), index.hasher, index.inherited);
            }
        }
    }

    /// Builds the index again at `len` slots (a power of two that holds the entries), with
    /// the hasher it has, or one seeded with `seed`.
    fn reindex(&mut self, len: usize, seed: u64) {
        match self.index.take() {
            Some(index) => self.build_index(len, index.hasher, index.inherited),
            None => self.build_index(len, Hasher::with_seed(seed), false),
        }
    }

    /// Builds the index at `len` slots (at least what holds the entries) with `hasher` (from
    /// another heap's seed if `inherited`); none for a length of 0.
    fn build_index(&mut self, len: usize, hasher: Hasher, inherited: bool) {
        let len = len.max(Self::index_len_for(self.entries.len()));
        if len == 0 {
            self.index = None;
            return;
        }
        let mut slots = vec![EMPTY; len].into_boxed_slice();
        let mask = len.wrapping_sub(1);
        for (position, (key, _)) in self.entries.iter().enumerate() {
            let mut slot = hasher.hash_one(key) as usize & mask;
            while slots.get(slot).is_some_and(|&at| at != EMPTY) {
                slot = (slot + 1) & mask;
            }
            if let Some(at) = slots.get_mut(slot) {
                *at = position as u32 + 1;
            }
        }
        self.index = Some(Box::new(Index {
            slots,
            hasher,
            inherited,
        }));
    }

    /// The entries in insertion order, dead ones included.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The values in insertion order, as `iter` gives them, each writable in place.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&Key, &mut Value)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The entries, taken out in insertion order.
    pub(crate) fn into_entries(self) -> std::vec::IntoIter<(Key, Value)> {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;
    use std::collections::HashMap;

    fn key(n: i64) -> Key {
        Key::new(Value::Int(n)).expect("an integer is a key")
    }

    quickcheck! {
        /// Against a model: every key inserted is found at its first insertion's position, in
        /// insertion order, absent keys are not found, a key inserted again keeps its place
        /// and takes the new value, and dropping the dead entries keeps the live ones in
        /// order.
        fn behaves_as_an_ordered_map(ops: Vec<(i8, bool)>, seed: u64) -> bool {
            let mut part = HashPart::with_capacity(0, seed);
            let mut model: Vec<(i64, bool)> = Vec::new();
            let mut at: HashMap<i64, usize> = HashMap::new();
            for (k, live) in ops {
                let k = i64::from(k);
                let v = if live { Value::Int(k) } else { Value::Nil };
                let fresh = !at.contains_key(&k);
                if part.insert(key(k), v, seed) != fresh {
                    return false;
                }
                match at.get(&k) {
                    Some(&i) => model[i].1 = live,
                    None => {
                        at.insert(k, model.len());
                        model.push((k, live));
                    }
                }
            }
            let found_all = (-128..128).all(|k| part.get_index_of(&key(k)) == at.get(&k).copied());
            let ordered = part.iter().map(|(k, _)| *k).eq(model.iter().map(|&(k, _)| key(k)));
            part.retain_live();
            let live: Vec<i64> = model.iter().filter(|(_, l)| *l).map(|(k, _)| *k).collect();
            let kept = part.iter().map(|(k, _)| *k).eq(live.iter().map(|&k| key(k)));
            let found_live = live
                .iter()
                .enumerate()
                .all(|(i, &k)| part.get_index_of(&key(k)) == Some(i));
            found_all && ordered && kept && found_live
        }
    }

    /// A global set to nil and set again (its entry dead in between) has its value: the
    /// generated-program differential test found it lost when the part refused a key it held.
    #[test]
    fn a_dead_key_set_again_takes_the_value_in_place() {
        let mut part = HashPart::with_capacity(4, 7);
        assert!(part.insert(key(1), Value::Int(10), 7));
        assert!(part.insert(key(2), Value::Int(20), 7));
        if let Some(v) = part.get_mut(&key(1)) {
            *v = Value::Nil;
        }
        assert!(!part.insert(key(1), Value::Int(11), 7));
        assert_eq!(part.get_index_of(&key(1)), Some(0));
        assert!(matches!(part.get(&key(1)), Some(Value::Int(11))));
        assert_eq!(part.len(), 2);
    }

    #[test]
    fn a_part_finds_its_keys_scanned_and_indexed() {
        let mut part = HashPart::with_capacity(2, 3);
        for n in 0..=(LINEAR_MAX as i64 + 2) {
            // Scanned up to LINEAR_MAX entries, indexed beyond.
            assert_eq!(part.index.is_none(), part.len() <= LINEAR_MAX);
            assert!(part.insert(key(n), Value::Int(n), 7));
            assert!((0..=n).all(|m| part.get_index_of(&key(m)) == Some(m as usize)));
            assert!(part.get(&key(n + 1)).is_none());
        }
        // Most entries dead: the index stays, and still finds the live ones.
        for n in 1..=(LINEAR_MAX as i64 + 2) {
            if let Some(v) = part.get_mut(&key(n)) {
                *v = Value::Nil;
            }
        }
        part.retain_live();
        assert_eq!(part.len(), 1);
        assert_eq!(part.get_index_of(&key(0)), Some(0));
        assert!(part.get(&key(1)).is_none());
    }

    #[test]
    fn an_empty_part_finds_nothing() {
        let part = HashPart::default();
        assert!(part.get(&key(1)).is_none());
        let mut part = HashPart::with_capacity(4, 1);
        assert!(part.get(&key(1)).is_none());
        part.retain_live();
        assert!(part.get_index(0).is_none());
    }
}
