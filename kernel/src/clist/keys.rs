//! The kernel-wide store of key objects (`KeyTable`): their identity (`KeyId`), creation and
//! derivation, holder counts, revocation, resolution through forwarders, and the indexes
//! derived from them (children, depths, the processes keys designate).
//!
//! **Invariant: revocation is transitive.** A key is revoked if it or any ancestor is. `revoke`
//! marks the whole subtree (iteratively, through the children index) and `is_revoked` also
//! walks the ancestors, so neither alone has to be trusted.
//!
//! **Invariant: parents are older.** Ids come from a counter and a parent exists before its
//! child, so `parent < child` for every key. Ancestor walks therefore end, and a deserialized
//! table that breaks this (a cycle) is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AttenuationError, KeyKind};

/// Kernel-wide identity of a key object. Allocated from `KeyTable`'s counter, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId(pub u64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {}", self.0)
    }
}

/// One key object in the kernel-wide table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyObject {
    pub id: KeyId,
    pub parent: Option<KeyId>,
    pub kind: KeyKind,
    pub revoked: bool,
    /// How many slots (or in-flight references) hold this key.
    pub holders: u32,
    /// The name of the snapshot hole this key stands in for, when the restorer left that
    /// hole unfilled: the key is revoked and says so by name when used.
    #[serde(default)]
    pub unfilled: Option<String>,
}

/// A key-table operation that was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no such key ({0})")]
    NoSuchKey(KeyId),
    #[error("the key is revoked")]
    Revoked(KeyId),
    #[error(transparent)]
    Attenuation(#[from] AttenuationError),
    #[error("too many holders of {0}")]
    TooManyHolders(KeyId),
    #[error("key ids exhausted")]
    IdsExhausted,
}

/// A deserialized key table that breaks an invariant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid key table: {0}")]
pub struct KeyTableError(String);

/// Host bytes of one c-list slot (its entry and its share of the slot vector's growth).
pub const SLOT_BYTES: usize = 48;

/// Host bytes of one key object with its entries in the table's indexes (the key map, depths,
/// children, designations: ordered-map nodes at about twice their entries' size).
pub const KEY_RECORD_BYTES: usize = 256;

/// The kernel-wide store of key objects, with the children index that revocation walks.
///
/// Reference counting: `create` and `derive` return a key with one holder, the caller's, who
/// puts it into a slot; every further slot that receives the key `retain`s it, and dropping a
/// slot `release`s it. A key is removed when nothing holds it and no key derived from it is
/// alive (its descendants need their ancestry for `is_revoked`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(try_from = "KeyTableRepr")]
pub struct KeyTable {
    next_id: u64,
    keys: BTreeMap<KeyId, KeyObject>,
    /// Live children of each key that has any.
    children: BTreeMap<KeyId, BTreeSet<KeyId>>,
    /// How many live key objects designate each process (as a process key or a far
    /// function), by process number: derived from `keys`, never serialized.
    #[serde(skip)]
    designated: BTreeMap<u64, u32>,
    /// Processes the last key designating them left since the kernel last asked
    /// (`take_unheld`): candidates for reaping.
    #[serde(skip)]
    unheld: Vec<u64>,
    /// Every process that some key designated once and none does now (until the kernel
    /// reaps it): a process the embedder added holds no key and is never among them.
    #[serde(skip)]
    orphans: BTreeSet<u64>,
    /// How many ancestors each key has (what `is_revoked` and, for forwarders, `resolve`
    /// walk): derived from `keys`, so that the kernel can price a walk before taking it.
    #[serde(skip)]
    depths: BTreeMap<KeyId, u32>,
}

impl PartialEq for KeyTable {
    fn eq(&self, other: &KeyTable) -> bool {
        // `designated` follows from `keys`; `unheld` is a to-do list, not state.
        self.next_id == other.next_id && self.keys == other.keys && self.children == other.children
    }
}

impl Eq for KeyTable {}

/// The process a key object designates by its own kind (not through forwarders: a forwarder
/// keeps its target key alive, which designates the process itself).
fn designates(kind: &KeyKind) -> Option<u64> {
    match kind {
        KeyKind::Process(n) => Some(*n),
        KeyKind::FarFunction { process, .. } => Some(*process),
        _ => None,
    }
}

#[derive(Deserialize)]
struct KeyTableRepr {
    next_id: u64,
    keys: BTreeMap<KeyId, KeyObject>,
    children: BTreeMap<KeyId, BTreeSet<KeyId>>,
}

impl TryFrom<KeyTableRepr> for KeyTable {
    type Error = KeyTableError;
    fn try_from(r: KeyTableRepr) -> Result<KeyTable, KeyTableError> {
        let err = |m: String| Err(KeyTableError(m));
        let mut expected: BTreeMap<KeyId, BTreeSet<KeyId>> = BTreeMap::new();
        for (id, key) in &r.keys {
            if key.id != *id {
                return err(format!("{id} stored as {}", key.id));
            }
            if id.0 >= r.next_id {
                return err(format!("{id} is not below the id counter {}", r.next_id));
            }
            if let Some(parent) = key.parent {
                // Parents are older: this also rules out cycles in the ancestry.
                if parent >= *id || !r.keys.contains_key(&parent) {
                    return err(format!("{id} has an invalid parent {parent}"));
                }
                expected.entry(parent).or_default().insert(*id);
            }
            if let KeyKind::Forwarder { target } = key.kind {
                if key.parent != Some(target) {
                    return err(format!("forwarder {id} does not designate its parent"));
                }
            }
        }
        if expected != r.children {
            return err("children index does not match the parents".to_owned());
        }
        let mut designated: BTreeMap<u64, u32> = BTreeMap::new();
        let mut depths: BTreeMap<KeyId, u32> = BTreeMap::new();
        // In id order: a parent is older, so its depth is known first.
        for key in r.keys.values() {
            let depth = key
                .parent
                .and_then(|p| depths.get(&p))
                .map_or(0, |d| d.saturating_add(1));
            depths.insert(key.id, depth);
            if let Some(n) = designates(&key.kind) {
                *designated.entry(n).or_default() += 1;
            }
        }
        Ok(KeyTable {
            next_id: r.next_id,
            keys: r.keys,
            children: r.children,
            designated,
            unheld: Vec::new(),
            orphans: BTreeSet::new(),
            depths,
        })
    }
}

impl KeyTable {
    pub fn new() -> KeyTable {
        KeyTable::default()
    }

    pub fn get(&self, id: KeyId) -> Option<&KeyObject> {
        self.keys.get(&id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key objects in id order.
    pub fn iter(&self) -> impl Iterator<Item = &KeyObject> {
        self.keys.values()
    }

    /// Entries of the derived indexes (children, designations, orphans, depths): with
    /// `len`, what the table takes in host memory.
    pub fn index_entries(&self) -> usize {
        self.children.len() + self.designated.len() + self.orphans.len() + self.depths.len()
    }

    /// The live keys derived directly from `id`.
    pub fn children(&self, id: KeyId) -> impl Iterator<Item = KeyId> + '_ {
        self.children.get(&id).into_iter().flatten().copied()
    }

    /// `record_bytes` of a key derived from none (depth 0), such as a new process key.
    pub const ROOT_RECORD_BYTES: usize = KEY_RECORD_BYTES + SLOT_BYTES;

    /// The host bytes a slot holding `id` keeps alive: the slot and the key objects from `id`
    /// up its ancestry (what its holder is charged for it: a chain of forwarders whose
    /// earlier links nobody holds lives as long as its last one).
    pub fn record_bytes(&self, id: KeyId) -> usize {
        KEY_RECORD_BYTES
            .saturating_mul(self.depth(id).saturating_add(1))
            .saturating_add(SLOT_BYTES)
    }

    /// Whether some live key designates process number `process`.
    pub fn designated(&self, process: u64) -> bool {
        self.designated.contains_key(&process)
    }

    /// The processes that the last key designating them left since the last call.
    pub fn take_unheld(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.unheld)
    }

    /// Whether some process was left by the last key designating it since `take_unheld`.
    pub fn has_unheld(&self) -> bool {
        !self.unheld.is_empty()
    }

    /// How many ancestors `id` has: the length of the walks `is_revoked` and (through
    /// forwarders) `resolve` take, known without taking them.
    pub fn depth(&self, id: KeyId) -> usize {
        self.depths.get(&id).copied().unwrap_or(0) as usize
    }

    /// Whether some key designated `process` once and none does now.
    pub fn is_orphan(&self, process: u64) -> bool {
        self.orphans.contains(&process)
    }

    /// Forgets an orphan (its process is gone).
    pub fn forget_orphan(&mut self, process: u64) {
        self.orphans.remove(&process);
    }

    fn insert(&mut self, parent: Option<KeyId>, kind: KeyKind) -> Result<KeyId, KeyError> {
        let id = KeyId(self.next_id);
        self.next_id = self.next_id.checked_add(1).ok_or(KeyError::IdsExhausted)?;
        if let Some(n) = designates(&kind) {
            *self.designated.entry(n).or_default() += 1;
            self.orphans.remove(&n);
        }
        let depth = parent
            .and_then(|p| self.depths.get(&p))
            .map_or(0, |d| d.saturating_add(1));
        self.depths.insert(id, depth);
        self.keys.insert(
            id,
            KeyObject {
                id,
                parent,
                kind,
                revoked: false,
                holders: 1,
                unfilled: None,
            },
        );
        if let Some(p) = parent {
            self.children.entry(p).or_default().insert(id);
        }
        Ok(id)
    }

    /// A new root key (granted by the host), with one holder.
    ///
    /// # Errors
    /// `KeyError::Attenuation` for a forwarder (it needs a parent), `IdsExhausted`.
    pub fn create(&mut self, kind: KeyKind) -> Result<KeyId, KeyError> {
        if matches!(kind, KeyKind::Forwarder { .. }) {
            return Err(AttenuationError::Forwarder.into());
        }
        self.insert(None, kind)
    }

    /// Marks `id` as the stand-in for the snapshot hole `name` that its restorer left
    /// unfilled (see `KeyObject::unfilled`).
    pub fn mark_unfilled(&mut self, id: KeyId, name: &str) {
        if let Some(key) = self.keys.get_mut(&id) {
            key.unfilled = Some(name.to_owned());
        }
    }

    /// The hole `id` stands in for, if it is an unfilled hole's stand-in.
    pub fn unfilled_name(&self, id: KeyId) -> Option<&str> {
        self.keys.get(&id)?.unfilled.as_deref()
    }

    /// The effective kind of `id`: its own, or for a forwarder its target's (followed
    /// iteratively; targets are parents, so the walk ends).
    pub fn resolve(&self, id: KeyId) -> Option<&KeyKind> {
        let mut key = self.keys.get(&id)?;
        while let KeyKind::Forwarder { target } = key.kind {
            key = self.keys.get(&target)?;
        }
        Some(&key.kind)
    }

    /// The key `id` designates (itself, or through forwarders their final target) with its
    /// kind.
    pub fn resolve_with_id(&self, id: KeyId) -> Option<(KeyId, &KeyKind)> {
        let mut id = id;
        let mut key = self.keys.get(&id)?;
        while let KeyKind::Forwarder { target } = key.kind {
            id = target;
            key = self.keys.get(&target)?;
        }
        Some((id, &key.kind))
    }

    /// `tostring` text of a key, forwarders shown as what they designate.
    pub fn describe(&self, id: KeyId) -> Option<String> {
        self.resolve(id).map(KeyKind::describe)
    }

    /// A key derived from `parent` designating `kind`, with one holder.
    ///
    /// `kind` is checked against the parent's effective kind (through forwarders). A
    /// `Forwarder` must target `parent` itself.
    ///
    /// # Errors
    /// `NoSuchKey`, `Revoked` (nothing is derived from a revoked key), `Attenuation` if `kind`
    /// would widen, `IdsExhausted`.
    pub fn derive(&mut self, parent: KeyId, kind: KeyKind) -> Result<KeyId, KeyError> {
        if !self.keys.contains_key(&parent) {
            return Err(KeyError::NoSuchKey(parent));
        }
        if self.is_revoked(parent) {
            return Err(KeyError::Revoked(parent));
        }
        let kind = match kind {
            KeyKind::Forwarder { target } if target == parent => kind,
            KeyKind::Forwarder { .. } => return Err(AttenuationError::Forwarder.into()),
            kind => self
                .resolve(parent)
                .ok_or(KeyError::NoSuchKey(parent))?
                .attenuate(&kind)?,
        };
        self.insert(Some(parent), kind)
    }

    /// One more holder of `id`.
    ///
    /// # Errors
    /// `NoSuchKey`, `TooManyHolders` when the count would overflow.
    pub fn retain(&mut self, id: KeyId) -> Result<(), KeyError> {
        let key = self.keys.get_mut(&id).ok_or(KeyError::NoSuchKey(id))?;
        key.holders = key
            .holders
            .checked_add(1)
            .ok_or(KeyError::TooManyHolders(id))?;
        Ok(())
    }

    /// One holder fewer; removes the key (and ancestors left without holders or children) when
    /// nothing needs it any more. Returns whether `id` was removed.
    ///
    /// # Errors
    /// `NoSuchKey` (also for a key whose count is already zero: a double release).
    pub fn release(&mut self, id: KeyId) -> Result<bool, KeyError> {
        self.release_all(id).map(|gone| gone.first() == Some(&id))
    }

    /// One holder fewer, as `release`; returns every key removed: `id` first if it went, then
    /// the ancestors that went with it (a listener whose last accepted socket was the only
    /// thing keeping it), each of whose host objects must be let go.
    ///
    /// # Errors
    /// `NoSuchKey` (also for a key whose count is already zero: a double release).
    pub fn release_all(&mut self, id: KeyId) -> Result<Vec<KeyId>, KeyError> {
        let key = self.keys.get_mut(&id).ok_or(KeyError::NoSuchKey(id))?;
        key.holders = key.holders.checked_sub(1).ok_or(KeyError::NoSuchKey(id))?;
        let mut removed = Vec::new();
        let mut next = Some(id);
        while let Some(cur) = next.take() {
            let Some(key) = self.keys.get(&cur) else {
                break;
            };
            if key.holders > 0 || self.children.contains_key(&cur) {
                break;
            }
            let parent = key.parent;
            if let Some(n) = designates(&key.kind) {
                if let Some(count) = self.designated.get_mut(&n) {
                    *count -= 1;
                    if *count == 0 {
                        self.designated.remove(&n);
                        self.unheld.push(n);
                        self.orphans.insert(n);
                    }
                }
            }
            self.keys.remove(&cur);
            self.depths.remove(&cur);
            removed.push(cur);
            if let Some(p) = parent {
                if let Some(set) = self.children.get_mut(&p) {
                    set.remove(&cur);
                    if set.is_empty() {
                        self.children.remove(&p);
                    }
                }
                next = Some(p);
            }
        }
        Ok(removed)
    }

    /// Revokes `id` and every key derived from it. Returns the keys newly revoked, in walk
    /// order.
    ///
    /// # Errors
    /// `NoSuchKey`.
    pub fn revoke(&mut self, id: KeyId) -> Result<Vec<KeyId>, KeyError> {
        if !self.keys.contains_key(&id) {
            return Err(KeyError::NoSuchKey(id));
        }
        let mut newly = Vec::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            if let Some(key) = self.keys.get_mut(&cur) {
                if !key.revoked {
                    key.revoked = true;
                    newly.push(cur);
                }
            }
            stack.extend(self.children(cur));
        }
        Ok(newly)
    }

    /// True if `id` or any ancestor is revoked, or `id` is unknown (a key nobody holds
    /// authorizes nothing).
    pub fn is_revoked(&self, id: KeyId) -> bool {
        let mut next = Some(id);
        while let Some(cur) = next {
            match self.keys.get(&cur) {
                Some(key) if !key.revoked => next = key.parent,
                _ => return true,
            }
        }
        false
    }

    /// The ancestors of `id`, nearest first (not including `id`).
    pub fn ancestors(&self, id: KeyId) -> Vec<KeyId> {
        let mut out = Vec::new();
        let mut next = self.keys.get(&id).and_then(|k| k.parent);
        while let Some(cur) = next {
            out.push(cur);
            next = self.keys.get(&cur).and_then(|k| k.parent);
        }
        out
    }

    /// Every live key derived (transitively) from `id`, not including `id`.
    pub fn descendants(&self, id: KeyId) -> Vec<KeyId> {
        let mut out = Vec::new();
        let mut stack: Vec<KeyId> = self.children(id).collect();
        while let Some(cur) = stack.pop() {
            out.push(cur);
            stack.extend(self.children(cur));
        }
        out
    }
}
