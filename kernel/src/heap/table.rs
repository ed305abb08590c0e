//! Lua tables: an array part for the keys `1..=n` and an insertion-ordered hash part.
//!
//! Sizing follows Lua 5.4's `ltable.c`: the array part only changes size at a rehash, which
//! happens when a new key arrives and the hash part's logical capacity is used up; the rehash
//! picks the largest power-of-two array size that is more than half full. This keeps `#` on
//! tables with holes close to lua5.4's answers, and makes every growth a known size that is
//! charged to the bank *before* it is allocated.
//!
//! The hash part iterates in insertion order, so traversal order depends only on the program.
//! Deleting (assigning nil) keeps a dead entry until the next rehash, so `next` stays valid
//! while a traversal clears fields, as Lua allows.

use super::hash_part::{HashPart, Probe};
use crate::value::{Key, StrRef, TableRef, Value};
use std::hash::Hash;

/// A string key for lookups without building a `Key`: hashes as `Key` hashes a string and
/// compares by handle only (strings are interned).
struct StrKey(StrRef);

impl Hash for StrKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(crate::value::str_key_hash_word(self.0));
    }
}

impl Probe for StrKey {
    #[inline]
    fn is(&self, key: &Key) -> bool {
        matches!(key.value(), Value::Str(r) if r == self.0)
    }
}

/// How many positions [`FieldHints`] remembers (a power of two).
const HINTS: usize = 64;

/// Where string keys were last found in hash parts, by key: one small table per heap, shared
/// by all its tables. Tables built alike (the same fields set in the same order: objects of a
/// class, records of one constructor) keep a key at the same position of their hash part, so
/// a field read through a hint checks one entry instead of hashing and probing. A hint is
/// only ever a guess, checked against the entry it names; it is not state (never saved).
#[derive(Debug)]
pub struct FieldHints(Box<[std::cell::Cell<(StrRef, u32)>; HINTS]>);

impl Default for FieldHints {
    fn default() -> FieldHints {
        FieldHints(Box::new(
            [const { std::cell::Cell::new((StrRef(0, 0), u32::MAX)) }; HINTS],
        ))
    }
}

impl Clone for FieldHints {
    /// A copied heap starts without hints (they are guesses, and cheap to regain).
    fn clone(&self) -> FieldHints {
        FieldHints::default()
    }
}

/// An integer key, hashed as `Key` hashes an integer and compared without the generic match.
struct IntKey(i64);

impl Hash for IntKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Probe for IntKey {
    #[inline]
    fn is(&self, key: &Key) -> bool {
        matches!(key.value(), Value::Int(i) if i == self.0)
    }
}

/// The largest array part (in slots) grown by a copy into a new buffer rather than in place
/// (`Table::resize`).
const SMALL_ARRAY: usize = 16;

/// Bytes charged per array slot.
pub const ARRAY_SLOT_BYTES: usize = std::mem::size_of::<Value>();
/// Bytes charged per hash slot: the entry (key and value: 32 bytes) and its share of the index
/// (4-byte slots at most half full, and as the entries double, up to 16 bytes).
pub const HASH_SLOT_BYTES: usize = 64;
/// Fixed bytes charged per table: its arena slot (64 bytes), its mark, the allocation headers
/// of its parts, and the box of its hash part's index.
pub const TABLE_BASE_BYTES: usize = 160;

/// The most slots an array part has (Lua's `MAXASIZE` on 64-bit hosts): sizes and the border
/// hint fit a `u32`. A larger part costs more than any bank holds (`Table::size_for`).
pub const MAX_ARRAY: usize = 1 << 31;

/// A table is 64 bytes (Lua's is 56): its slot in the arena is most of what a program of many
/// small tables holds, so every field is as small as the invariants let it be.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Exactly Lua's array part: its length is the part's size (absent keys are nil).
    pub(crate) array: Box<[Value]>,
    /// Hashed with the heap's seed (`with_seed`; a snapshot's decoder does the same), or, in
    /// an index marked inherited, with the seed of the heap it was copied from
    /// (`Heap::copy_with_seed`): rehashed with its own heap's seed before its first new key
    /// (`Heap::table_set_new`), so keys chosen to collide under the image's seed never reach
    /// it, and a table no one adds to (most of a library) is never hashed again.
    pub(crate) hash: HashPart,
    /// Lua 5.4's `alimit`: a position in the array part that may be a border, which `#`
    /// starts from and moves (`border_search`), and which a keyed read or write of the array
    /// part past it moves up to the key (`note_array_key`), as `ltable.c` does; a resize
    /// puts it at the array's length. `#` on a table with holes gives lua5.4's answer only
    /// with it, so it is part of the table's state (saved in snapshots). Lua's invariant:
    /// it equals the array's length, or that length is a power of two `n` and
    /// `n / 2 < limit < n` (`limit_is_valid`). At most `MAX_ARRAY`.
    pub(crate) limit: std::cell::Cell<u32>,
    /// Logical capacity of the hash part (0 or a power of two), as Lua's node vector size.
    pub(crate) hash_capacity: u32,
    pub metatable: Option<TableRef>,
}

/// What `Table::border_search` found: the border `#` answers, the probes it took (what `#`
/// charges), and where the border hint goes.
#[derive(Clone, Copy, Debug)]
pub struct BorderSearch {
    pub border: i64,
    pub probes: u64,
    hint: usize,
}

/// What `Table::next_within` found.
#[derive(Clone, Copy, Debug)]
pub enum Next {
    /// The entry after the key.
    Found(Value, Value),
    /// No entry after the key.
    End,
    /// The slot limit came before either.
    Stopped,
}

/// `next` was given a key that is not in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidKey;

/// What a pending insertion of a new key needs: the sizes of a rehash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resize {
    pub array: usize,
    pub hash: usize,
}

impl Table {
    /// A table with preallocated parts (Lua's `NEWTABLE` hints) whose hash part uses `seed`
    /// (the heap's, so an attacker who does not know it cannot choose colliding keys).
    /// `array` is at most `MAX_ARRAY` (the heap charges `size_for` first).
    pub fn with_seed(array: usize, hash: usize, seed: u64) -> Table {
        let array = array.min(MAX_ARRAY);
        let hash_capacity = if hash == 0 {
            0
        } else {
            hash.next_power_of_two()
        };
        let mut t = Table {
            array: vec![Value::Nil; array].into_boxed_slice(),
            hash: HashPart::with_capacity(hash_capacity, seed),
            ..Table::default()
        };
        t.set_limit(array);
        t.set_hash_capacity(hash_capacity);
        t
    }

    /// `with_seed` with a fixed seed, for the tests.
    #[cfg(test)]
    pub(crate) fn with_capacity(array: usize, hash: usize) -> Table {
        Table::with_seed(array, hash, 0)
    }

    /// A table of the given parts, as a snapshot holds it (`heap::encoding`, which checks the
    /// border hint and the sizes first).
    pub(crate) fn from_parts(
        array: Vec<Value>,
        limit: usize,
        hash: HashPart,
        hash_capacity: usize,
        metatable: Option<TableRef>,
    ) -> Table {
        let mut t = Table {
            array: array.into_boxed_slice(),
            hash,
            limit: std::cell::Cell::new(0),
            hash_capacity: 0,
            metatable,
        };
        t.set_limit(limit);
        t.set_hash_capacity(hash_capacity);
        t
    }

    /// The border hint (`limit`).
    #[inline(always)]
    pub(crate) fn limit(&self) -> usize {
        self.limit.get() as usize
    }

    #[inline(always)]
    fn set_limit(&self, limit: usize) {
        // At most the array's length, which is at most `MAX_ARRAY`.
        self.limit.set(limit as u32);
    }

    /// The logical capacity of the hash part.
    #[inline(always)]
    pub(crate) fn hash_capacity(&self) -> usize {
        self.hash_capacity as usize
    }

    #[inline(always)]
    fn set_hash_capacity(&mut self, capacity: usize) {
        // A capacity beyond `u32` could not have been charged (`size_for`); saturating keeps
        // the invariant `len <= capacity` for any part that exists.
        self.hash_capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
    }

    /// Whether `other` holds the same state: metatable, array part and border hint, hash
    /// capacity, and the same entries in the same order (`Heap::share_image`).
    pub(crate) fn same_as(&self, other: &Table) -> bool {
        self.metatable == other.metatable
            && self.limit() == other.limit()
            && self.hash_capacity() == other.hash_capacity()
            && self.array.len() == other.array.len()
            && self.array.iter().zip(&other.array).all(|(a, b)| a.same(*b))
            && self.hash.len() == other.hash.len()
            && self
                .hash
                .iter()
                .zip(other.hash.iter())
                .all(|((k, v), (l, w))| k.value().same(l.value()) && v.same(*w))
    }

    /// Bytes this table is charged for.
    pub fn heap_size(&self) -> usize {
        Self::size_for(self.array.len(), self.hash_capacity())
    }

    /// Bytes a table of these sizes is charged for: more than any bank holds past
    /// `MAX_ARRAY` slots in either part, so no such part is ever made.
    pub fn size_for(array: usize, hash: usize) -> usize {
        if array > MAX_ARRAY || hash > MAX_ARRAY {
            return usize::MAX;
        }
        TABLE_BASE_BYTES + array * ARRAY_SLOT_BYTES + hash * HASH_SLOT_BYTES
    }

    pub fn array_len(&self) -> usize {
        self.array.len()
    }

    pub fn array(&self) -> &[Value] {
        &self.array
    }

    /// Value at integer key `i`.
    #[inline]
    pub fn get_int(&self, i: i64) -> Value {
        if i >= 1 && (i as u64) <= self.array.len() as u64 {
            self.note_array_key(i as usize);
            self.array[(i - 1) as usize]
        } else if self.hash.is_empty() {
            Value::Nil
        } else {
            self.hash.get(&IntKey(i)).copied().unwrap_or(Value::Nil)
        }
    }

    /// Lua's `luaH_getint` on key `i` of the array part (`1..=len`): a key past the border
    /// hint moves it there ("probably '#t' is here now"). Every keyed read and write of the
    /// array part goes through it; traversals, the collector and `SETLIST` do not, as in Lua.
    #[inline(always)]
    fn note_array_key(&self, i: usize) {
        if i > self.limit() {
            self.set_limit(i);
        }
    }

    /// Whether `limit` may stand with an array part of `len` slots (Lua's invariant of
    /// `alimit`), for a table read from a snapshot.
    pub(crate) fn limit_is_valid(limit: usize, len: usize) -> bool {
        limit == len || (len.is_power_of_two() && len / 2 < limit && limit < len)
    }

    /// Value at a string key (strings are interned, so the handle is the key).
    #[inline]
    pub fn get_str(&self, s: crate::value::StrRef) -> Value {
        if self.hash.is_empty() {
            return Value::Nil;
        }
        self.hash.get(&StrKey(s)).copied().unwrap_or(Value::Nil)
    }

    /// `get_str`, first trying the position `hints` remembers for `s` (and remembering where
    /// `s` was found when that missed).
    #[inline]
    pub fn get_str_hinted(&self, s: StrRef, hints: &FieldHints) -> Value {
        let hint = &hints.0[s.0 as usize % HINTS];
        let (key, at) = hint.get();
        if key == s {
            if let Some((k, v)) = self.hash.get_index(at as usize) {
                if matches!(k.value(), Value::Str(r) if r == s) {
                    return *v;
                }
            }
        }
        match self.hash.get_full(&StrKey(s)) {
            Some((i, _, v)) => {
                hint.set((s, i as u32));
                *v
            }
            None => Value::Nil,
        }
    }

    /// Overwrites the value at string key `s` if it is present with a non-nil value (such a
    /// write never involves `__newindex`). Returns false, doing nothing, otherwise.
    #[inline]
    pub fn set_str_present(&mut self, s: StrRef, value: Value) -> bool {
        if let Some(slot) = self.hash.get_mut(&StrKey(s)) {
            if !slot.is_nil() {
                *slot = value;
                return true;
            }
        }
        false
    }

    /// `set_str_present` through `hints`, as [`Table::get_str_hinted`] reads.
    #[inline]
    pub fn set_str_present_hinted(&mut self, s: StrRef, value: Value, hints: &FieldHints) -> bool {
        match self.present_str_slot_hinted(s, hints) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// The slot of string key `s` if it holds a value (not nil), found through `hints` as
    /// [`Table::get_str_hinted`] finds it: for SETFIELD, which reads the value to store only
    /// once it knows where it goes (a value read before the lookup is kept in a stack slot).
    #[inline]
    pub fn present_str_slot_hinted(&mut self, s: StrRef, hints: &FieldHints) -> Option<&mut Value> {
        let hint = &hints.0[s.0 as usize % HINTS];
        let (key, at) = hint.get();
        let hinted = key == s
            && matches!(self.hash.get_index(at as usize),
                Some((k, _)) if matches!(k.value(), Value::Str(r) if r == s));
        let position = if hinted {
            at as usize
        } else {
            let position = self.hash.get_index_of(&StrKey(s))?;
            hint.set((s, position as u32));
            position
        };
        let (_, slot) = self.hash.get_index_mut(position)?;
        (!slot.is_nil()).then_some(slot)
    }

    /// Overwrites the value at integer key `i` if it is present with a non-nil value.
    #[inline]
    pub fn set_int_present(&mut self, i: i64, value: Value) -> bool {
        if i >= 1 && (i as u64) <= self.array.len() as u64 {
            self.note_array_key(i as usize);
            let slot = &mut self.array[(i - 1) as usize];
            if !slot.is_nil() {
                *slot = value;
                return true;
            }
            return false;
        }
        if self.hash.is_empty() {
            return false;
        }
        if let Some(slot) = self.hash.get_mut(&IntKey(i)) {
            if !slot.is_nil() {
                *slot = value;
                return true;
            }
        }
        false
    }

    /// Value at any key (`nil` for nil or NaN keys, which can never be present).
    #[inline]
    pub fn get(&self, key: Value) -> Value {
        match key {
            Value::Int(i) => self.get_int(i),
            Value::Str(s) => self.get_str(s),
            _ => match Key::new(key) {
                Ok(k) => match k.value() {
                    Value::Int(i) => self.get_int(i),
                    _ => self.hash.get(&k).copied().unwrap_or(Value::Nil),
                },
                Err(_) => Value::Nil,
            },
        }
    }

    /// Stores `value` at an existing slot if the key is already present (in the array range or
    /// the hash part). Returns false when the key is new, in which case nothing was done and the
    /// caller must use `insert_new` (which may need a rehash and a memory charge).
    #[inline]
    pub fn set_existing(&mut self, key: Key, value: Value) -> bool {
        if let Value::Int(i) = key.value() {
            if i >= 1 && (i as u64) <= self.array.len() as u64 {
                self.note_array_key(i as usize);
                self.array[(i - 1) as usize] = value;
                return true;
            }
        }
        if let Some(slot) = self.hash.get_mut(&key) {
            *slot = value;
            return true;
        }
        false
    }

    /// `set_existing` for an integer key, without building a `Key`.
    #[inline]
    pub fn set_existing_int(&mut self, i: i64, value: Value) -> bool {
        if i >= 1 && (i as u64) <= self.array.len() as u64 {
            self.note_array_key(i as usize);
            self.array[(i - 1) as usize] = value;
            return true;
        }
        if self.hash.is_empty() {
            return false;
        }
        if let Some(slot) = self.hash.get_mut(&IntKey(i)) {
            *slot = value;
            return true;
        }
        false
    }

    /// `set_existing` for a string key, without building a `Key`.
    #[inline]
    pub fn set_existing_str(&mut self, s: StrRef, value: Value) -> bool {
        if self.hash.is_empty() {
            return false;
        }
        if let Some(slot) = self.hash.get_mut(&StrKey(s)) {
            *slot = value;
            return true;
        }
        false
    }

    /// Moves the values at keys `from..from + n` to `to..to + n` when both ranges lie in the
    /// array part, as that many keyed reads and writes one after the other would
    /// (`table.insert` and `table.remove` shifting a list): the border hint moves up to the
    /// last key either touches. False, doing nothing, otherwise.
    pub fn move_within_array(&mut self, from: usize, to: usize, n: usize) -> bool {
        if n == 0 || from == 0 || to == 0 {
            return false;
        }
        // The last key either range touches.
        let last = match from.max(to).checked_add(n - 1) {
            Some(last) if last <= self.array.len() => last,
            _ => return false,
        };
        self.array.copy_within(from - 1..from - 1 + n, to - 1);
        self.note_array_key(last);
        true
    }

    /// `SETLIST`'s store of list item `i` (in the array part, which it has grown to hold
    /// it): written in place, without moving the border hint, as Lua's `OP_SETLIST` does.
    /// False, doing nothing, for a key outside the array part.
    pub fn set_list_item(&mut self, i: i64, value: Value) -> bool {
        match (i as u64)
            .checked_sub(1)
            .and_then(|j| self.array.get_mut(j as usize))
        {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// Slots of both parts: what a rehash walks (and at most what it moves).
    pub fn entry_slots(&self) -> usize {
        self.array.len() + self.hash.len()
    }

    /// Whether a new key that is not in the array part's range needs a rehash first.
    pub fn is_full(&self) -> bool {
        self.hash.len() >= self.hash_capacity()
    }

    /// Whether inserting one more new key needs a rehash first; if so, its sizes.
    pub fn needs_rehash(&self, new_key: Key) -> Option<Resize> {
        if !self.is_full() {
            return None;
        }
        Some(self.compute_resize(new_key))
    }

    /// Inserts a key that has no value (absent, or dead: set to nil and kept until a rehash).
    /// Call `needs_rehash` first and `resize` with its result (after charging the memory) when
    /// it asks for one. An index the hash part builds is seeded with `seed` (the heap's).
    pub fn insert_new(&mut self, key: Key, value: Value, seed: u64) {
        if value.is_nil() {
            return;
        }
        if let Value::Int(i) = key.value() {
            if i >= 1 && (i as u64) <= self.array.len() as u64 {
                self.note_array_key(i as usize);
                self.array[(i - 1) as usize] = value;
                return;
            }
        }
        if self.hash.len() >= self.hash_capacity() {
            // A rehash did not make room in the hash part (the caller's resize put the new key
            // in the array range, handled above, or the caller skipped the rehash): grow the
            // logical capacity so the invariant `len <= capacity` keeps holding.
            self.set_hash_capacity((self.hash.len() + 1).next_power_of_two());
        }
        // A dead entry of the key (kept since it was set to nil) takes the value in place.
        self.hash.insert(key, value, seed);
    }

    /// Lua's `rehash`: counts the integer keys and picks the new sizes.
    fn compute_resize(&self, new_key: Key) -> Resize {
        // nums[i] = number of keys k with 2^(i-1) < k <= 2^i
        let mut nums = [0usize; 65];
        let mut total_int = 0usize;
        let count_int = |k: i64, nums: &mut [usize; 65]| {
            if k >= 1 {
                let bucket = 64 - ((k - 1) as u64).leading_zeros() as usize;
                nums[bucket] += 1;
                1
            } else {
                0
            }
        };
        for (i, v) in self.array.iter().enumerate() {
            if !v.is_nil() {
                total_int += count_int(i as i64 + 1, &mut nums);
            }
        }
        let mut total = total_int;
        for (k, v) in self.hash.iter() {
            if v.is_nil() {
                continue;
            }
            total += 1;
            if let Value::Int(i) = k.value() {
                total_int += count_int(i, &mut nums);
            }
        }
        if let Value::Int(i) = new_key.value() {
            total_int += count_int(i, &mut nums);
        }
        total += 1;
        // computesizes
        let mut a = 0usize;
        let mut na = 0usize;
        let mut optimal = 0usize;
        let mut twotoi: usize = 1;
        let mut i = 0;
        // Lua's `twotoi > 0` on an unsigned int: no array part past `MAX_ARRAY`.
        while twotoi <= MAX_ARRAY && total_int > twotoi / 2 {
            a += nums[i];
            if a > twotoi / 2 {
                optimal = twotoi;
                na = a;
            }
            i += 1;
            twotoi = twotoi.saturating_mul(2);
        }
        let hash_entries = total - na;
        let hash = if hash_entries == 0 {
            0
        } else {
            hash_entries.next_power_of_two()
        };
        Resize {
            array: optimal,
            hash,
        }
    }

    /// Applies a resize: moves entries between the parts and drops dead hash entries. An
    /// index the hash part builds is seeded with `seed` (the heap's).
    pub fn resize(&mut self, r: Resize, seed: u64) {
        // Lua's `luaH_resize`: the border hint is the array's new length.
        let r = Resize {
            array: r.array.min(MAX_ARRAY),
            hash: r.hash,
        };
        self.set_limit(r.array);
        // The array part keeps its size, so no key changes part: the hash part drops its
        // dead keys in place and grows.
        if r.array == self.array.len() {
            self.hash.retain_live();
            let len = self.hash.len();
            if r.hash > len {
                self.hash.reserve(r.hash - len, seed);
            }
            self.set_hash_capacity(r.hash.max(len.next_power_of_two() * (len != 0) as usize));
            return;
        }
        // Only the array part grows and the hash part is empty (a list being appended to):
        // nothing changes part, so the array grows in place, where the allocator can extend
        // it without a copy or both buffers at once. A small one is copied into a new buffer
        // instead: the allocator's realloc costs several times a fresh allocation and a copy
        // of a few values (a constructor `{f(), g()}` grows its array at its SETLIST).
        if r.array > self.array.len() && self.hash.is_empty() {
            let mut array = if r.array <= SMALL_ARRAY {
                let mut array = Vec::with_capacity(r.array);
                array.extend_from_slice(&self.array);
                array
            } else {
                let mut array = std::mem::take(&mut self.array).into_vec();
                array.reserve_exact(r.array - array.len());
                array
            };
            array.resize(r.array, Value::Nil);
            // The capacity is the length (`reserve_exact`, `with_capacity`): nothing moves.
            self.array = array.into_boxed_slice();
            self.hash.reserve(r.hash, seed);
            self.set_hash_capacity(r.hash);
            return;
        }
        let old_array = std::mem::take(&mut self.array);
        let old_hash = std::mem::take(&mut self.hash);
        let mut array = vec![Value::Nil; r.array].into_boxed_slice();
        let mut hash = HashPart::with_capacity(r.hash, seed);
        for (i, &v) in old_array.iter().enumerate() {
            if v.is_nil() {
                continue;
            }
            if i < r.array {
                array[i] = v;
            } else {
                hash.insert(Key::normalized(Value::Int(i as i64 + 1)), v, seed);
            }
        }
        for (k, v) in old_hash.into_entries() {
            if v.is_nil() {
                continue;
            }
            match k.value() {
                Value::Int(i) if i >= 1 && (i as u64) <= r.array as u64 => {
                    array[(i - 1) as usize] = v
                }
                _ => {
                    hash.insert(k, v, seed);
                }
            }
        }
        self.array = array;
        self.hash = hash;
        self.set_hash_capacity(
            r.hash
                .max(self.hash.len().next_power_of_two() * (!self.hash.is_empty()) as usize),
        );
    }

    /// The current sizes, for a resize that only grows the array part (`SETLIST`).
    pub fn sizes(&self) -> Resize {
        Resize {
            array: self.array.len(),
            hash: self.hash_capacity(),
        }
    }

    /// Lua's border rule for `#` (`luaH_getn`), its border hint moved as Lua moves it.
    pub fn border(&self) -> i64 {
        let found = self.border_search();
        self.move_border_hint(&found);
        found.border
    }

    /// Puts the border hint where `border_search` found it should go: what `#` does once it
    /// has paid for the search.
    pub fn move_border_hint(&self, found: &BorderSearch) {
        self.set_limit(found.hint);
    }

    /// Lua 5.4's `luaH_getn` step for step, its border hint (`limit`) included: it starts
    /// from the hint, so that a table with holes gets lua5.4's answer and `t[#t + 1] = v`
    /// finds the border in one probe, and says where the hint goes next. Changes nothing:
    /// `#` pays for the probes (at most about 64 in the array part and 128 in the hash part)
    /// before it moves the hint (`move_border_hint`), so that a refused `#` runs again from
    /// the same state.
    pub fn border_search(&self) -> BorderSearch {
        let len = self.array.len();
        let limit = self.limit();
        let found = |border: usize, probes: u64, hint: usize| BorderSearch {
            border: border as i64,
            probes,
            hint,
        };
        // Lua's `ispow2realasize`: the hint may move without changing the array's size.
        let movable = len & len.wrapping_sub(1) == 0;
        if limit > 0 && self.array[limit - 1].is_nil() {
            // A border before the hint: most often right before it (after `t[#t] = nil`).
            if limit >= 2 && !self.array[limit - 2].is_nil() {
                let hint = if movable && !(limit - 1).is_power_of_two() {
                    limit - 1
                } else {
                    limit
                };
                return found(limit - 1, 1, hint);
            }
            let (border, probes) = Self::array_search(&self.array, 0, limit);
            let hint = if movable && border > len / 2 {
                border
            } else {
                limit
            };
            return found(border, probes, hint);
        }
        // The hint is 0 or present; the array part may go on past it.
        if limit < len {
            if self.array[limit].is_nil() {
                return found(limit, 1, limit);
            }
            if self.array[len - 1].is_nil() {
                let (border, probes) = Self::array_search(&self.array, limit, len);
                return found(border, probes, border);
            }
        }
        // The array part ends present (or is empty): the hash part may go on. (Its keys are
        // past the array part: looking them up moves no hint.)
        if self.hash.is_empty() || self.get_int(len as i64 + 1).is_nil() {
            return found(len, 1, limit);
        }
        let (border, probes) = self.hash_search(len as u64);
        BorderSearch {
            border,
            probes,
            hint: limit,
        }
    }

    /// Lua's `binsearch`: a border in the array part between `i` (0 or present) and `j`
    /// (absent), and the probes it took.
    fn array_search(array: &[Value], mut i: usize, mut j: usize) -> (usize, u64) {
        let mut steps = 1;
        while j - i > 1 {
            steps += 1;
            let m = (i + j) / 2;
            if array[m - 1].is_nil() {
                j = m;
            } else {
                i = m;
            }
        }
        (i, steps)
    }

    /// `hash_search` of Lua 5.4: `t[j + 1]` is present; double `j` until an absent index,
    /// then binary search between the last present and the first absent one.
    fn hash_search(&self, mut j: u64) -> (i64, u64) {
        const MAX: u64 = i64::MAX as u64;
        let mut steps = 1;
        if j == 0 {
            j = 1;
        }
        let mut i;
        loop {
            i = j;
            steps += 1;
            if j <= MAX / 2 {
                j *= 2;
            } else {
                j = MAX;
                if self.get_int(j as i64).is_nil() {
                    break;
                }
                // max integer is a border.
                return (j as i64, steps);
            }
            if self.get_int(j as i64).is_nil() {
                break;
            }
        }
        while j - i > 1 {
            steps += 1;
            let m = (i + j) / 2;
            if self.get_int(m as i64).is_nil() {
                j = m;
            } else {
                i = m;
            }
        }
        (i as i64, steps)
    }

    /// Traversal: the entry after `key` (`nil` starts), skipping empty slots. `Err(())` if
    /// `key` is not in the table.
    pub fn next(&self, key: Value) -> Result<Option<(Value, Value)>, InvalidKey> {
        match self.next_within(key, usize::MAX)?.0 {
            Next::Found(k, v) => Ok(Some((k, v))),
            Next::End | Next::Stopped => Ok(None),
        }
    }

    /// `next`, looking at no more than `limit` slots (empty slots are skipped one by one, so
    /// a table emptied by assignments makes one call scan many). Returns what it found and how
    /// many slots it looked at; `Stopped` when the limit came first.
    pub fn next_within(&self, key: Value, limit: usize) -> Result<(Next, usize), InvalidKey> {
        let mut scanned = 0usize;
        let (array_from, start_hash) = match key {
            Value::Nil => (Some(0), 0),
            _ => {
                let k = Key::new(key).map_err(|_| InvalidKey)?;
                match k.value() {
                    Value::Int(i) if i >= 1 && (i as u64) <= self.array.len() as u64 => {
                        (Some(i as usize), 0)
                    }
                    _ => (None, self.hash.get_index_of(&k).ok_or(InvalidKey)? + 1),
                }
            }
        };
        if let Some(from) = array_from {
            for i in from..self.array.len() {
                if scanned == limit {
                    return Ok((Next::Stopped, scanned));
                }
                scanned += 1;
                if !self.array[i].is_nil() {
                    return Ok((
                        Next::Found(Value::Int(i as i64 + 1), self.array[i]),
                        scanned,
                    ));
                }
            }
        }
        for idx in start_hash..self.hash.len() {
            if scanned == limit {
                return Ok((Next::Stopped, scanned));
            }
            scanned += 1;
            if let Some((k, v)) = self.hash.get_index(idx) {
                if !v.is_nil() {
                    return Ok((Next::Found(k.value(), *v), scanned));
                }
            }
        }
        Ok((Next::End, scanned))
    }

    /// Every live value and key, for the collector.
    pub fn for_each_entry(&self, mut f: impl FnMut(Value, Value)) {
        for (i, v) in self.array.iter().enumerate() {
            if !v.is_nil() {
                f(Value::Int(i as i64 + 1), *v);
            }
        }
        for (k, v) in self.hash.iter() {
            if !v.is_nil() {
                f(k.value(), *v);
            }
        }
    }

    /// Live entries at positions `from..from + limit` (the array part's slots, then the hash
    /// part's entries), read in place for the collector. Returns where to resume when
    /// positions remain.
    pub fn scan_entries(
        &self,
        from: usize,
        limit: usize,
        mut f: impl FnMut(Value, Value),
    ) -> Option<usize> {
        let total = self.array.len() + self.hash.len();
        let end = from.saturating_add(limit).min(total);
        let mut i = from;
        while i < end.min(self.array.len()) {
            let v = self.array[i];
            if !v.is_nil() {
                f(Value::Int(i as i64 + 1), v);
            }
            i += 1;
        }
        while i < end {
            if let Some((k, v)) = self.hash.get_index(i - self.array.len()) {
                if !v.is_nil() {
                    f(k.value(), *v);
                }
            }
            i += 1;
        }
        (end < total).then_some(end)
    }

    /// Removes entries for which `dead(key, value)` holds (weak-table clearing).
    pub fn clear_entries(&mut self, mut dead: impl FnMut(Value, Value) -> bool) {
        for (i, v) in self.array.iter_mut().enumerate() {
            if !v.is_nil() && dead(Value::Int(i as i64 + 1), *v) {
                *v = Value::Nil;
            }
        }
        for (k, v) in self.hash.iter_mut() {
            if !v.is_nil() && dead(k.value(), *v) {
                *v = Value::Nil;
            }
        }
    }

    /// Rebuilds the hash part's index with a hasher seeded by `seed` (`Heap::set_hash_seed`:
    /// a fresh heap given a deterministic seed; `Heap::table_set_new`: a copied table before
    /// its first new key). Order and dead entries are kept.
    pub(crate) fn reseed(&mut self, seed: u64) {
        self.hash.reseed(seed);
    }

    /// Whether the hash part was hashed with another heap's seed (`HashPart::is_inherited`).
    pub(crate) fn has_inherited_hasher(&self) -> bool {
        self.hash.is_inherited()
    }

    /// Marks the hash part as hashed with another heap's seed (`Heap::copy_with_seed`).
    pub(crate) fn inherit_hasher(&mut self) {
        self.hash.inherit();
    }

    /// Entries of the hash part, dead ones included.
    pub(crate) fn hash_entries(&self) -> usize {
        self.hash.len()
    }

    /// The hash part's entries in order, dead ones included.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Key, Value)> + '_ {
        self.hash.iter().map(|(k, v)| (*k, *v))
    }

    /// Number of live entries in the hash part (for sizing and tests).
    pub fn hash_len(&self) -> usize {
        self.hash.values().filter(|v| !v.is_nil()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The law of `move_within_array`: one move is what the reads and writes one after the
    /// other that `table.insert` and `table.remove` make would do, values and border hint
    /// alike (or nothing, when a key is outside the array part).
    #[test]
    fn a_move_within_the_array_is_the_loop_of_reads_and_writes() {
        fn law(values: Vec<Option<u8>>, limit: u8, from: u8, to: u8, n: u8) -> bool {
            let array: Vec<Value> = values
                .iter()
                .map(|v| v.map_or(Value::Nil, |x| Value::Int(x as i64)))
                .collect();
            let len = array.len();
            let limit = (limit as usize).min(len);
            if !Table::limit_is_valid(limit, len) {
                return true;
            }
            let mut bulk = Table::with_capacity(len, 0);
            bulk.array = array.into_boxed_slice();
            bulk.set_limit(limit);
            let mut looped = bulk.clone();
            let same = |a: &Table, b: &Table| {
                a.array.len() == b.array.len()
                    && a.array.iter().zip(&b.array).all(|(x, y)| x.raw_eq(*y))
            };
            let (from, to, n) = (
                from as usize % (len + 2),
                to as usize % (len + 2),
                n as usize % 8,
            );
            if !bulk.move_within_array(from, to, n) {
                return same(&bulk, &looped) && bulk.limit() == limit;
            }
            // Forwards or backwards, as the two library loops go, so nothing is read after it
            // was overwritten.
            let order: Vec<usize> = if to > from {
                (0..n).rev().collect()
            } else {
                (0..n).collect()
            };
            for j in order {
                let v = looped.get_int((from + j) as i64);
                assert!(looped.set_existing_int((to + j) as i64, v));
            }
            same(&bulk, &looped) && bulk.limit() == looped.limit()
        }
        quickcheck::QuickCheck::new()
            .tests(2000)
            .quickcheck(law as fn(Vec<Option<u8>>, u8, u8, u8, u8) -> bool);
    }

    fn set(t: &mut Table, k: Value, v: Value) {
        let key = Key::new(k).unwrap();
        if !t.set_existing(key, v) {
            if let Some(r) = t.needs_rehash(key) {
                t.resize(r, 0);
            }
            t.insert_new(key, v, 0);
        }
    }

    #[test]
    fn appends_grow_the_array_part() {
        let mut t = Table::default();
        for i in 1..=100 {
            set(&mut t, Value::Int(i), Value::Int(i * 10));
        }
        assert_eq!(t.border(), 100);
        assert_eq!(t.array_len(), 128);
        assert!(matches!(t.get_int(37), Value::Int(370)));
    }

    /// A list grown in place (its hash part empty) ends as the general rebuild leaves one
    /// whose hash part held only a dead entry: same array, same sizes, nothing in the hash.
    #[test]
    fn an_array_grown_in_place_is_the_rebuilt_one() {
        for len in [0usize, 1, 3, 4, 100] {
            for grow in [1usize, 2, 64] {
                let fill = |t: &mut Table| {
                    for i in 1..=len as i64 {
                        set(t, Value::Int(i), Value::Int(i * 3));
                    }
                };
                let mut in_place = Table::default();
                fill(&mut in_place);
                let mut rebuilt = Table::default();
                fill(&mut rebuilt);
                // A dead entry sends `resize` down the general path.
                let dead = Key::new(Value::Float(0.5)).expect("a key");
                rebuilt.hash.insert(dead, Value::Nil, 0);
                let r = Resize {
                    array: in_place.array_len() + grow,
                    hash: 4,
                };
                in_place.resize(r, 0);
                rebuilt.resize(r, 0);
                assert_eq!(in_place.array_len(), rebuilt.array_len());
                for i in 1..=in_place.array_len() as i64 + 1 {
                    assert!(
                        in_place.get_int(i).raw_eq(rebuilt.get_int(i)),
                        "{len}+{grow}: {i}"
                    );
                }
                assert_eq!(in_place.hash_len(), 0);
                assert_eq!(rebuilt.hash_len(), 0);
                assert_eq!(in_place.hash_capacity, rebuilt.hash_capacity);
            }
        }
    }

    /// The size the arena pays per table (and the comment on `Table` states).
    #[test]
    fn a_table_is_64_bytes() {
        assert_eq!(std::mem::size_of::<Option<Table>>(), 64);
    }

    #[test]
    fn traversal_survives_clearing_fields() {
        let mut t = Table::default();
        for i in 0..20 {
            set(&mut t, Value::Float(i as f64 + 0.5), Value::Int(i));
        }
        let mut k = Value::Nil;
        let mut n = 0;
        while let Ok(Some((key, _))) = t.next(k) {
            set(&mut t, key, Value::Nil);
            k = key;
            n += 1;
        }
        assert_eq!(n, 20);
        assert_eq!(t.hash_len(), 0);
    }

    #[test]
    fn border_of_constructor_with_hole() {
        let mut t = Table::with_capacity(4, 0);
        set(&mut t, Value::Int(1), Value::Int(1));
        set(&mut t, Value::Int(2), Value::Int(2));
        set(&mut t, Value::Int(4), Value::Int(4));
        assert_eq!(t.border(), 4);
    }
}
