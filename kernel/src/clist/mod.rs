//! Keys and c-lists: what a key designates (`KeyKind`), the kernel-wide store of key objects
//! (`KeyTable`) and a process's slot table (`Clist`).
//!
//! This module owns the identity, derivation and revocation of keys and the mapping from a
//! process's slot handles to keys. It does no I/O: a key only *describes* authority; the
//! gateways in `caps/` exercise it.
//!
//! One file per idea, each stating its invariants: `rights` (dir rights and net patterns, as
//! users write them), `kinds` (`KeyKind`: what a key designates, its text, and attenuation,
//! which only narrows), `keys` (`KeyTable`: key objects, derivation, revocation, resolution)
//! and `slots` (`Clist`: a process's slots, whose stale handles never alias). Everything they
//! export is re-exported here, so `crate::clist::X` names it.

mod keys;
mod kinds;
mod rights;
mod slots;

pub use keys::{KeyError, KeyId, KeyObject, KeyTable, KeyTableError, KEY_RECORD_BYTES, SLOT_BYTES};
pub use kinds::{check_relative_path, AttenuationError, KeyKind};
pub use rights::{
    DirRights, HostPort, NetSpec, NetSpecError, PortPattern, RightsBitsError, RightsError,
};
pub use slots::{Clist, ClistError, ClistStateError, Slot, SlotHandle};

#[cfg(test)]
mod tests;
