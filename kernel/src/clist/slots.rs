//! A process's c-list (`Clist`): generational slots, each holding a key, named by
//! `SlotHandle`s, with a LIFO free list.
//!
//! **Invariant: stale handles never alias.** A slot's generation is bumped when its key is
//! dropped; a handle is honoured only while its generation matches. A slot whose generation
//! would wrap is retired instead of reused. The free list is part of the serialized state, so
//! a restored c-list hands out the same handles as the original would have (DESIGN.md, "Slots
//! and serialization").

use serde::{Deserialize, Serialize};

use super::KeyId;

/// A process's reference to one of its slots. Opaque to Lua; never crosses processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotHandle {
    pub index: u32,
    pub generation: u32,
}

/// Magic prefix of the payload of a key's userdata.
const KEY_MAGIC: &[u8; 4] = b"TKEY";
/// Magic, slot index, slot generation: the display name follows.
const PAYLOAD_HEADER: usize = 12;

impl SlotHandle {
    /// The length of `to_payload(name)` for a name of `name_len` bytes.
    pub fn payload_len(name_len: usize) -> usize {
        PAYLOAD_HEADER.saturating_add(name_len)
    }

    /// The payload of a key's userdata: magic, this handle, a display name. The payload names
    /// a slot, never a key or a process: it means something only in its holder's c-list.
    pub fn to_payload(self, name: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(PAYLOAD_HEADER + name.len());
        bytes.extend_from_slice(KEY_MAGIC);
        bytes.extend_from_slice(&self.index.to_le_bytes());
        bytes.extend_from_slice(&self.generation.to_le_bytes());
        bytes.extend_from_slice(name);
        bytes
    }

    /// Reads the handle back from a key's userdata payload (`None`: not a key's payload).
    pub fn from_payload(payload: &[u8]) -> Option<SlotHandle> {
        let header = payload.get(..PAYLOAD_HEADER)?;
        if &header[..4] != KEY_MAGIC {
            return None;
        }
        let word =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        Some(SlotHandle {
            index: word(4),
            generation: word(8),
        })
    }

    /// The display name a key's payload carries (`None`: not a key's payload).
    pub fn payload_name(payload: &[u8]) -> Option<&[u8]> {
        SlotHandle::from_payload(payload)?;
        payload.get(PAYLOAD_HEADER..)
    }
}

/// One slot of a c-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Bumped each time the slot is emptied; `u32::MAX` retires the slot.
    pub generation: u32,
    pub key: Option<KeyId>,
}

/// The c-list cannot take another key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClistError {
    #[error("the process's slot table is full")]
    Full,
}

/// A deserialized c-list that breaks an invariant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid c-list: {0}")]
pub struct ClistStateError(String);

/// A process's slot table: generational slots and a LIFO free list, both serialized.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ClistRepr")]
pub struct Clist {
    // `pub(super)`: the tests build a c-list in a given state.
    pub(super) slots: Vec<Slot>,
    /// Empty, unretired slots; the last is reused first.
    pub(super) free: Vec<u32>,
}

#[derive(Deserialize)]
struct ClistRepr {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl TryFrom<ClistRepr> for Clist {
    type Error = ClistStateError;
    fn try_from(r: ClistRepr) -> Result<Clist, ClistStateError> {
        if r.slots.len() > u32::MAX as usize {
            return Err(ClistStateError("too many slots".to_owned()));
        }
        // Every empty, unretired slot is on the free list exactly once, and nothing else is.
        let mut listed = vec![false; r.slots.len()];
        for &i in &r.free {
            let slot = r
                .slots
                .get(i as usize)
                .ok_or_else(|| ClistStateError(format!("free slot {i} out of range")))?;
            if slot.key.is_some() || slot.generation == u32::MAX || listed[i as usize] {
                return Err(ClistStateError(format!("free list entry {i} is invalid")));
            }
            listed[i as usize] = true;
        }
        for (i, slot) in r.slots.iter().enumerate() {
            if slot.key.is_some() && slot.generation == u32::MAX {
                return Err(ClistStateError(format!("retired slot {i} holds a key")));
            }
            if slot.key.is_none() && slot.generation != u32::MAX && !listed[i] {
                return Err(ClistStateError(format!(
                    "empty slot {i} is not on the free list"
                )));
            }
        }
        Ok(Clist {
            slots: r.slots,
            free: r.free,
        })
    }
}

impl Clist {
    pub fn new() -> Clist {
        Clist::default()
    }

    /// Puts `key` into a slot (a free one if any, else a new one) and returns its handle.
    ///
    /// # Errors
    /// `ClistError::Full` when no slot index is left.
    pub fn grant(&mut self, key: KeyId) -> Result<SlotHandle, ClistError> {
        if let Some(index) = self.free.pop() {
            if let Some(slot) = self.slots.get_mut(index as usize) {
                slot.key = Some(key);
                return Ok(SlotHandle {
                    index,
                    generation: slot.generation,
                });
            }
            // Unreachable by the deserialization check; fall through to a new slot.
        }
        let index = u32::try_from(self.slots.len()).map_err(|_| ClistError::Full)?;
        self.slots.push(Slot {
            generation: 0,
            key: Some(key),
        });
        Ok(SlotHandle {
            index,
            generation: 0,
        })
    }

    /// The key in the handle's slot, if the handle is current.
    pub fn get(&self, handle: SlotHandle) -> Option<KeyId> {
        let slot = self.slots.get(handle.index as usize)?;
        if slot.generation == handle.generation {
            slot.key
        } else {
            None
        }
    }

    /// Empties the handle's slot and returns the key it held (for the caller to `release`).
    /// A stale handle changes nothing.
    pub fn drop(&mut self, handle: SlotHandle) -> Option<KeyId> {
        let slot = self.slots.get_mut(handle.index as usize)?;
        if slot.generation != handle.generation {
            return None;
        }
        let key = slot.key.take()?;
        // A slot whose generation cannot grow is retired, so no handle ever repeats.
        if slot.generation < u32::MAX - 1 {
            slot.generation += 1;
            self.free.push(handle.index);
        } else {
            slot.generation = u32::MAX;
        }
        Some(key)
    }

    /// The held keys with their handles, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (SlotHandle, KeyId)> + '_ {
        self.slots.iter().zip(0u32..).filter_map(|(slot, index)| {
            slot.key.map(|key| {
                (
                    SlotHandle {
                        index,
                        generation: slot.generation,
                    },
                    key,
                )
            })
        })
    }

    /// Replaces every held key by `f(key, handle)`, keeping slots and handles (a snapshot
    /// renumbers keys; a restore maps them back to the kernel's).
    pub(crate) fn map_keys(&mut self, mut f: impl FnMut(KeyId, SlotHandle) -> KeyId) {
        for (index, slot) in (0u32..).zip(self.slots.iter_mut()) {
            if let Some(key) = slot.key {
                slot.key = Some(f(
                    key,
                    SlotHandle {
                        index,
                        generation: slot.generation,
                    },
                ));
            }
        }
    }

    /// How many slots the c-list has (held, free and retired).
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len() - self.retired()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn retired(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.generation == u32::MAX)
            .count()
    }
}
