//! Snapshots: a process subtree written as bytes and restored as a new subtree under another
//! process, in this kernel or another one.
//!
//! The bytes: `TSNAP`, the format version (`VERSION`, a little-endian `u16`), a CRC-32 of the
//! body (little-endian `u32`), then the body: MessagePack records (`ImageOut`: natives, keys,
//! processes and their VMs' own fields) in which each heap, and each VM's running thread, is
//! one `bin` in the bulk encoding of `format` (tagged values, runs of values, strings as one
//! blob). The checksum catches accidental damage before anything is decoded; it proves nothing
//! about who wrote the bytes, which the checks below are for.
//!
//! A snapshot holds each process of the subtree — its VM (heap, threads, frames), state,
//! budgets and c-list — and the keys its c-lists hold. Keys that designate something inside
//! the subtree (its processes, their functions, forwarders to those) are written as such and
//! recreated on restore. Every other key — a gateway, a process outside the subtree — is a
//! *hole*: its name, kind and scope only. The restorer must fill each hole with a key of the
//! same kind that it holds (matched by name), so a snapshot never carries more authority than
//! its restorer gives it. Open files, sockets and listeners do not survive: they come back
//! revoked.
//!
//! **Invariant: restored bytes are checked before anything runs.** Every byte is untrusted:
//! indices between processes and keys are bounds-checked, each VM passes `Vm::check_restored`
//! (every heap handle, thread, frame and prototype), the natives must be this build's, and the
//! restored heaps are charged, at their recomputed size, to the restorer's memory chain. A
//! snapshot that fails any check is refused with an error and leaves the kernel unchanged.

use crate::audit::Op;
use crate::clist::{Clist, KeyId, KeyKind};
use crate::process::{Budget, Call, Callback, Fault, Kernel, Process, ProcessId, Reply, State};
use crate::value::Value;
use crate::vm::Vm;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The first bytes of every snapshot.
pub const MAGIC: &[u8; 5] = b"TSNAP";
/// The format version this build writes and reads.
pub const VERSION: u16 = 9;
/// Bytes before the body: `MAGIC`, `VERSION`, the body's checksum.
pub const HEADER_LEN: usize = MAGIC.len() + 2 + 4;

/// The checksum a snapshot's header holds: CRC-32 (IEEE) of the body.
pub fn checksum(body: &[u8]) -> u32 {
    crc32fast::hash(body)
}

/// Writes the checksum of `bytes`' body into its header (for tools and tests that edit a
/// snapshot on purpose; the checksum guards against accidents, not against them). Does nothing
/// to bytes shorter than a header.
pub fn reseal(bytes: &mut [u8]) {
    if bytes.len() >= HEADER_LEN {
        let sum = checksum(&bytes[HEADER_LEN..]);
        bytes[HEADER_LEN - 4..HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
    }
}

/// How many times its size in bytes a snapshot's decoding may take, as the restorer's memory
/// allowance must cover before decoding starts. Real snapshots decode to 1–4 times their size;
/// the structures that can grow more (arena slots: an empty one is a byte of MessagePack and a
/// whole slot in memory) are charged against the allowance while they are decoded.
const DECODE_FACTOR: u64 = 8;

/// The kind of work snapshots are priced as: one piece per byte of snapshot, written or read
/// (`Work::Copied`, two bytes per unit). Measured in release (format 3, `snapshot_bench`, on a
/// loaded 2-core machine), restoring takes ~3–4 ns per byte of big arrays and up to ~14–20 ns
/// per byte of many empty tables and short strings or of many small processes (their records
/// and checks); writing takes 2–8 ns per byte, and is charged on `snapshot_size_bound`, which
/// is larger than what is written. One unit may buy ~40 ns (`cost`). Charge it *before* the
/// work: `snapshot_size_bound` for a snapshot, the bytes' length for a restore.
pub const WORK: crate::cost::Work = crate::cost::Work::Copied;

/// Bytes a snapshot may write per process and per c-list slot beyond the heaps (names,
/// meters, indices, key entries), generously.
const RECORD_BYTES: usize = 256;

/// Why a snapshot could not be taken or restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a Tessera snapshot (it does not start with TSNAP)")]
    NotASnapshot,
    #[error("snapshot format version {0} (this build reads version {VERSION})")]
    Version(u16),
    #[error("damaged snapshot: its checksum does not match its contents")]
    Checksum,
    #[error("corrupt snapshot: {0}")]
    Corrupt(String),
    #[error("the snapshot uses the native function '{missing}', which this build does not have")]
    Natives { missing: String },
    #[error("the snapshot needs a {kind} key named '{name}' ({describe}): pass it in opts.caps")]
    Unfilled {
        name: String,
        kind: String,
        describe: String,
    },
    #[error("the key given for '{name}' is a {given} key, the snapshot needs a {kind} key")]
    WrongKind {
        name: String,
        kind: String,
        given: String,
    },
    #[error("cannot snapshot process '{process}': {reason}")]
    NotReady { process: String, reason: String },
    #[error(
        "not enough memory to restore the snapshot ({needed} bytes; the budget allows {allowed})"
    )]
    Memory { needed: u64, allowed: u64 },
    #[error("no such process")]
    NoProcess,
    #[error("restoring the snapshot's keys failed: {0}")]
    Keys(String),
}

/// A key the snapshot leaves out: its restorer must give one of the same kind, by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hole {
    pub name: String,
    pub kind: String,
    /// `KeyKind::describe` of the key that was there.
    pub describe: String,
    /// The key that was there, with its scope and rights: what a restorer's key is narrowed
    /// to, and what an unfilled hole comes back as (revoked).
    #[serde(default)]
    pub was: Option<KeyKind>,
    /// A dir key derived (`sub`) from another hole's key: that hole's index in the key list
    /// and the path below it (`.` for the same directory). A restorer that fills the other
    /// hole can fill this one by deriving the same path from its key.
    #[serde(default)]
    pub below: Option<(u32, String)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum KeyImage {
    Hole(Hole),
    /// A key to process `0` of the snapshot's list.
    Process(u32),
    Function {
        process: u32,
        function: u32,
    },
    /// A forwarder to an earlier key of the list.
    Forwarder(u32),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct KeyEntry {
    key: KeyImage,
    revoked: bool,
}

/// A snapshot decoded and checked (`Kernel::check_snapshot`), not yet in the kernel.
pub struct Checked {
    parent: Option<ProcessId>,
    keys: Vec<KeyEntry>,
    processes: Vec<ProcessIn>,
}

impl Checked {
    /// The holes the restorer is asked to fill, with their index in the snapshot's key list
    /// (what `Hole::below` names), in that order (revoked ones, open files and sockets among
    /// them, need no key).
    pub fn holes(&self) -> impl Iterator<Item = (u32, &Hole)> {
        self.keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| match &k.key {
                KeyImage::Hole(hole) if !k.revoked => Some((i as u32, hole)),
                _ => None,
            })
    }
}

/// What becomes of a hole its restorer does not fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfilled {
    /// The restore is refused (`SnapshotError::Unfilled`): `restore(bytes, opts)` from Lua.
    Refuse,
    /// The hole comes back as a revoked key that names itself when used (`tessera resume`
    /// without the grant), and is a hole again in the next snapshot.
    Revoke,
}

/// How one key of a snapshot's list is filled.
#[derive(Clone, Debug)]
enum Fill {
    /// A process, function or forwarder inside the snapshot, or a revoked hole.
    Revoked,
    /// A hole, filled with the restorer's key.
    Key(KeyId),
    /// A hole the restorer left unfilled (`Unfilled::Revoke`).
    Unfilled,
}

/// Budgets a restorer gives the restored root in place of the recorded ones: `fuel` more units
/// to spend from where it stopped, `memory` its memory limit in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Budgets {
    pub fuel: Option<u64>,
    pub memory: Option<u64>,
}

/// A process as written: ids of processes and keys are indices into the snapshot's lists.
#[derive(Serialize)]
struct ProcessOut<'a> {
    name: &'a str,
    parent: Option<u32>,
    state: State,
    fault: Option<FaultImage>,
    results: &'a [Value],
    fuel: (u64, u64),
    memory_limit: u64,
    clist: Clist,
    waiting_on: Option<u32>,
    calling: Option<u32>,
    serving: Vec<(u32, Option<u32>, Option<u32>)>,
    /// A call it runs or answered: its caller (none if outside the snapshot) and answer.
    call: Option<(Option<u32>, Option<&'a Reply>)>,
    vm: &'a Vm,
    /// When it was last queued to run (`Process::queued_at`): the order processes a budget
    /// stopped run in again.
    queued_at: u64,
    /// Its deterministic state (clock, seeds, generator), if it is deterministic.
    det: &'a Option<crate::determinism::Determinism>,
}

/// `ProcessOut` read back (same fields, same order).
#[derive(Deserialize)]
struct ProcessIn {
    name: String,
    parent: Option<u32>,
    state: State,
    fault: Option<FaultImage>,
    results: Vec<Value>,
    fuel: (u64, u64),
    memory_limit: u64,
    clist: Clist,
    waiting_on: Option<u32>,
    calling: Option<u32>,
    serving: Vec<(u32, Option<u32>, Option<u32>)>,
    call: Option<(Option<u32>, Option<Reply>)>,
    vm: Vm,
    #[serde(default)]
    queued_at: u64,
    #[serde(default)]
    det: Option<crate::determinism::Determinism>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum FaultImage {
    /// Out of fuel; the exhausted meter's process, if it is in the snapshot.
    Fuel(Option<u32>),
    Error {
        message: String,
        traceback: String,
    },
    /// An allocation refused and not caught.
    Memory {
        message: String,
        traceback: String,
    },
    /// A kernel invariant broke while serving it.
    Broken {
        what: String,
    },
    /// Out of memory before a step; the exhausted meter's process, if it is in the snapshot.
    OutOfMemory(Option<u32>),
}

#[derive(Serialize)]
struct ImageOut<'a> {
    natives: Vec<&'static str>,
    keys: Vec<KeyEntry>,
    processes: Vec<ProcessOut<'a>>,
}

#[derive(Deserialize)]
struct ImageIn {
    natives: Vec<String>,
    keys: Vec<KeyEntry>,
    processes: Vec<ProcessIn>,
}

fn corrupt<T>(message: impl Into<String>) -> Result<T, SnapshotError> {
    Err(SnapshotError::Corrupt(message.into()))
}

/// The value of global `name` (read without interning: a snapshot changes nothing).
fn global(vm: &Vm, name: &[u8]) -> Value {
    let mut key = Value::Nil;
    while let Ok(Some((k, v))) = vm.heap.table(vm.globals).next(key) {
        if vm.str_bytes(k) == Some(name) {
            return v;
        }
        key = k;
    }
    Value::Nil
}

/// The names under which a process holds its keys: the field of its `caps` table that holds
/// the key, else the name its userdata carries (what `tostring` shows).
fn slot_names(p: &Process) -> HashMap<crate::clist::SlotHandle, (String, String)> {
    let mut names = HashMap::new();
    for (_, u) in p.vm.heap.userdata.iter() {
        if let Some(h) = crate::clist::SlotHandle::from_payload(&u.payload) {
            let shown = String::from_utf8_lossy(&u.payload[12..]).into_owned();
            names.insert(h, (shown.clone(), shown));
        }
    }
    if let Value::Table(caps) = global(&p.vm, b"caps") {
        let mut key = Value::Nil;
        while let Ok(Some((k, v))) = p.vm.heap.table(caps).next(key) {
            key = k;
            let Value::UserData(u) = v else { continue };
            let (Some(name), Some(data)) = (p.vm.str_bytes(k), p.vm.heap.userdata.try_get(u.0))
            else {
                continue;
            };
            if let Some(h) = crate::clist::SlotHandle::from_payload(&data.payload) {
                if let Some(entry) = names.get_mut(&h) {
                    entry.0 = String::from_utf8_lossy(name).into_owned();
                }
            }
        }
    }
    names
}

impl Kernel {
    /// The processes of the subtree rooted at `root`, parents before children: one pass over
    /// the process table, then the tree walked through a children index.
    pub(crate) fn subtree(&self, root: ProcessId) -> Vec<ProcessId> {
        let mut children: HashMap<ProcessId, Vec<ProcessId>> = HashMap::new();
        for index in 0..self.slots.len() {
            if let Some(id) = self.id_at(index) {
                if let Some(parent) = self.get(id).and_then(|p| p.parent) {
                    children.entry(parent).or_default().push(id);
                }
            }
        }
        let mut list = vec![root];
        let mut i = 0;
        while i < list.len() {
            if let Some(below) = children.get(&list[i]) {
                list.extend_from_slice(below);
            }
            i += 1;
        }
        list
    }

    /// An upper bound, known before it is taken, on the bytes `snapshot(root)` writes (what
    /// to charge as `WORK` first): every heap of the subtree at its bank's size (MessagePack
    /// never takes more than the heap it encodes), its kernel records, and the natives' names.
    pub fn snapshot_size_bound(&self, root: ProcessId) -> usize {
        let mut bytes: usize = 0;
        for id in self.subtree(root) {
            if let Some(p) = self.get(id) {
                bytes = bytes
                    .saturating_add(p.vm.heap.bank.used())
                    .saturating_add(p.name.len())
                    .saturating_add(
                        (1 + p.clist.len() + p.results.len() + reply_len(p)) * RECORD_BYTES,
                    )
                    .saturating_add(texts_len(p));
            }
        }
        let natives = self
            .get(root)
            .map(|p| p.vm.natives().names().iter().map(|n| n.len() + 2).sum())
            .unwrap_or(0);
        bytes.saturating_add(natives)
    }

    /// Writes the subtree rooted at `root` as snapshot bytes. The subtree must be at rest:
    /// none of its processes running or waiting for a process outside it, and none caught
    /// inside a native that cannot be saved mid-call.
    ///
    /// # Errors
    /// `SnapshotError::NotReady` saying which process and why.
    pub fn snapshot(&self, root: ProcessId) -> Result<Vec<u8>, SnapshotError> {
        let ids = self.subtree(root);
        let index: HashMap<ProcessId, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i as u32))
            .collect();
        let inside = |id: ProcessId| index.get(&id).copied();
        let mut keys: Vec<KeyEntry> = Vec::new();
        let mut key_index: BTreeMap<KeyId, u32> = BTreeMap::new();
        let mut processes = Vec::with_capacity(ids.len());
        let root_process = self.get(root).ok_or(SnapshotError::NoProcess)?;
        let natives = root_process.vm.natives().names();
        for &id in &ids {
            let p = self.get(id).ok_or(SnapshotError::NoProcess)?;
            let not_ready = |reason: String| SnapshotError::NotReady {
                process: p.name.clone(),
                reason,
            };
            if p.state == State::Running {
                return Err(not_ready("it is running".into()));
            }
            if p.io.is_some() {
                return Err(not_ready(
                    "it is waiting for a gateway (I/O); take the snapshot when it is done".into(),
                ));
            }
            p.vm.snapshot_ready().map_err(not_ready)?;
            let map_wait = |w: Option<ProcessId>| -> Result<Option<u32>, SnapshotError> {
                match w {
                    None => Ok(None),
                    Some(w) => inside(w).map(Some).ok_or_else(|| {
                        not_ready("it is waiting for a process outside the snapshot".into())
                    }),
                }
            };
            let waiting_on = map_wait(p.waiting_on)?;
            let calling = map_wait(p.calling)?;
            let mut serving = Vec::new();
            for c in &p.serving {
                serving.push((
                    map_wait(Some(c.caller))?.unwrap_or(0),
                    map_wait(c.calling)?,
                    map_wait(c.waiting_on)?,
                ));
            }
            let names = slot_names(p);
            let mut clist = p.clist.clone();
            let mut failed = None;
            clist.map_keys(|key, handle| {
                let (name, shown) = names
                    .get(&handle)
                    .cloned()
                    .unwrap_or_else(|| ("key".to_owned(), String::new()));
                match self.image_key(key, (&name, &shown), &inside, &mut keys, &mut key_index) {
                    Ok(i) => KeyId(i as u64),
                    Err(e) => {
                        failed.get_or_insert(e);
                        KeyId(0)
                    }
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            let fault = match &p.fault {
                None => None,
                Some(Fault::Exhausted { budget, exhausted }) => Some(match budget {
                    Budget::Fuel => FaultImage::Fuel(inside(*exhausted)),
                    Budget::Memory => FaultImage::OutOfMemory(inside(*exhausted)),
                }),
                Some(Fault::Error { message, traceback }) => Some(FaultImage::Error {
                    message: message.clone(),
                    traceback: traceback.clone(),
                }),
                Some(Fault::Memory { message, traceback }) => Some(FaultImage::Memory {
                    message: message.clone(),
                    traceback: traceback.clone(),
                }),
                Some(Fault::Broken { what }) => Some(FaultImage::Broken { what: what.clone() }),
            };
            processes.push(ProcessOut {
                name: &p.name,
                parent: if id == root {
                    None
                } else {
                    p.parent.and_then(inside)
                },
                state: p.state,
                fault,
                results: &p.results,
                fuel: self.fuel.usage(p.fuel).unwrap_or((0, 0)),
                memory_limit: self.memory.usage(p.memory).map(|u| u.1).unwrap_or(0),
                clist,
                waiting_on,
                calling,
                serving,
                call: call_image(p, &inside),
                vm: &p.vm,
                queued_at: p.queued_at,
                det: &p.det,
            });
        }
        link_derived_holes(&self.keys, &mut keys, &key_index);
        let image = ImageOut {
            natives,
            keys,
            processes,
        };
        // The heaps' blobs are most of the bytes, about half what their banks count.
        let heaps: usize = image.processes.iter().map(|p| p.vm.heap.bank.used()).sum();
        let mut bytes = Vec::with_capacity(heaps / 2 + 4096);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        rmp_serde::encode::write(&mut bytes, &image)
            .map_err(|e| SnapshotError::Corrupt(e.to_string()))?;
        reseal(&mut bytes);
        Ok(bytes)
    }

    /// The snapshot index of `key` (adding it, and a forwarder's target first, if new).
    fn image_key(
        &self,
        key: KeyId,
        (name, shown): (&str, &str),
        inside: &dyn Fn(ProcessId) -> Option<u32>,
        keys: &mut Vec<KeyEntry>,
        key_index: &mut BTreeMap<KeyId, u32>,
    ) -> Result<u32, SnapshotError> {
        // Forwarder chains are followed iteratively: targets are older keys, so this ends.
        let mut chain = vec![key];
        while let Some(&last) = chain.last() {
            if key_index.contains_key(&last) {
                chain.pop();
                break;
            }
            match self.keys.get(last).map(|k| &k.kind) {
                Some(KeyKind::Forwarder { target }) if !key_index.contains_key(target) => {
                    if chain.len() > self.keys.len() {
                        return Err(SnapshotError::Keys("a forwarder cycle".into()));
                    }
                    chain.push(*target);
                }
                _ => break,
            }
        }
        while let Some(k) = chain.pop() {
            if key_index.contains_key(&k) {
                continue;
            }
            let object = self
                .keys
                .get(k)
                .ok_or_else(|| SnapshotError::Keys(format!("{k} is gone")))?;
            let hole = || {
                let kind = self.keys.resolve(k);
                KeyImage::Hole(Hole {
                    name: name.to_owned(),
                    kind: kind.map(|k| k.kind_name()).unwrap_or("key").to_owned(),
                    // Process and function scopes are ids, meaningless elsewhere: the name
                    // the key showed says more.
                    describe: match kind {
                        Some(KeyKind::Process(_) | KeyKind::FarFunction { .. }) => {
                            format!("{}: {shown}", kind.map(|k| k.kind_name()).unwrap_or(""))
                        }
                        _ => self.keys.describe(k).unwrap_or_default(),
                    },
                    was: match kind {
                        Some(KeyKind::Process(_) | KeyKind::FarFunction { .. }) | None => None,
                        Some(kind) => Some(kind.clone()),
                    },
                    below: None,
                })
            };
            let image = match &object.kind {
                KeyKind::Process(p) => match inside(ProcessId::from_u64(*p)) {
                    Some(i) => KeyImage::Process(i),
                    None => hole(),
                },
                KeyKind::FarFunction { process, function } => {
                    match inside(ProcessId::from_u64(*process)) {
                        Some(i) => KeyImage::Function {
                            process: i,
                            function: *function,
                        },
                        None => hole(),
                    }
                }
                KeyKind::Forwarder { target } => match key_index.get(target) {
                    Some(&t) if !matches!(keys[t as usize].key, KeyImage::Hole(_)) => {
                        KeyImage::Forwarder(t)
                    }
                    _ => hole(),
                },
                _ => hole(),
            };
            // Open files and connections do not survive a snapshot: their holes come back as
            // dead keys (a restored process sees them revoked) and need no filling.
            let transient = matches!(
                &image,
                KeyImage::Hole(h) if matches!(h.kind.as_str(), "file" | "socket" | "listener")
            );
            let i = keys.len() as u32;
            keys.push(KeyEntry {
                key: image,
                // A hole a restorer left unfilled stays a hole (a later restorer may fill it).
                revoked: transient
                    || (self.keys.is_revoked(k) && self.keys.unfilled_name(k).is_none()),
            });
            key_index.insert(k, i);
        }
        key_index
            .get(&key)
            .copied()
            .ok_or_else(|| SnapshotError::Keys(format!("{key} could not be written")))
    }

    /// Restores snapshot `bytes` as a new subtree whose root is a child of `parent`, and
    /// returns the root's id. `fill` gives, for a hole, the key (held by `parent`) that fills
    /// it. Nothing changes in the kernel when restoring fails.
    ///
    /// # Errors
    /// `SnapshotError` for bytes that are not a valid snapshot of this build, holes without a
    /// key of their kind, or heaps the memory budget cannot hold.
    pub fn restore(
        &mut self,
        parent: ProcessId,
        bytes: &[u8],
        fill: &dyn Fn(&Hole) -> Option<KeyId>,
    ) -> Result<ProcessId, SnapshotError> {
        self.restore_within(parent, bytes, fill, Budgets::default())
    }

    /// `restore`, with the restored root's budgets set by the restorer (`budgets`) instead of
    /// those the snapshot recorded.
    pub fn restore_within(
        &mut self,
        parent: ProcessId,
        bytes: &[u8],
        fill: &dyn Fn(&Hole) -> Option<KeyId>,
        budgets: Budgets,
    ) -> Result<ProcessId, SnapshotError> {
        let natives = self
            .get(parent)
            .ok_or(SnapshotError::NoProcess)?
            .vm
            .natives_rc();
        let checked = self.check_snapshot(Some(parent), natives, bytes, budgets)?;
        self.install_checked(checked, &|_, hole| fill(hole), Unfilled::Refuse)
    }

    /// Decodes and checks snapshot `bytes` for a restore under `parent` (`None`: as a new
    /// root, whose memory limit `budgets.memory` must give), without changing the kernel:
    /// `Checked::holes` then says which keys the restorer must give, and `install_checked`
    /// adds it. `natives` is this build's native table.
    ///
    /// # Errors
    /// `SnapshotError` for bytes that are not a valid snapshot of this build, or heaps the
    /// memory budget cannot hold.
    pub fn check_snapshot(
        &self,
        parent: Option<ProcessId>,
        natives: std::rc::Rc<crate::vm::NativeTable>,
        bytes: &[u8],
        budgets: Budgets,
    ) -> Result<Checked, SnapshotError> {
        // Decoding builds host structures before any bank can be charged for them: refuse bytes
        // the restorer's budget could not hold once decoded (`DECODE_FACTOR`).
        let allowed = match parent {
            Some(parent) => {
                if self.get(parent).is_none() {
                    return Err(SnapshotError::NoProcess);
                }
                self.memory_allowance(parent)
            }
            None => budgets.memory.unwrap_or(0),
        };
        let needed = (bytes.len() as u64).saturating_mul(DECODE_FACTOR);
        if needed > allowed {
            return Err(SnapshotError::Memory { needed, allowed });
        }
        // Arena slots are charged as they are decoded (`heap::decode_budget`).
        let mut image =
            crate::heap::decode_budget::with(allowed.min(usize::MAX as u64) as usize, || {
                decode(bytes)
            })?;
        if let Some(root) = image.processes.first_mut() {
            // What the restorer gives replaces what the snapshot recorded (and is checked the
            // same way: the heaps must fit the memory limit).
            if let Some(fuel) = budgets.fuel {
                root.fuel.1 = root.fuel.0.saturating_add(fuel);
            }
            if let Some(memory) = budgets.memory {
                root.memory_limit = memory;
            }
        }
        // Natives are named, not numbered: a snapshot from a build with natives added (or
        // listed in another order) maps each name to this build's id.
        let native_ids: Vec<Option<crate::heap::NativeId>> =
            image.natives.iter().map(|n| natives.id_of(n)).collect();
        check_tree(&image.processes)?;
        for (i, p) in image.processes.iter().enumerate() {
            check_process(i, p, &image.processes, image.keys.len())?;
        }
        check_waits(&image.processes)?;
        check_keys(&image.keys, image.processes.len())?;
        // Every VM is checked before anything is added to the kernel, then what the process
        // holds in it.
        let mut processes = Vec::with_capacity(image.processes.len());
        for (i, mut p) in image.processes.into_iter().enumerate() {
            p.vm.attach_natives(natives.clone());
            p.vm.renumber_natives(&native_ids)
                .map_err(|old| match image.natives.get(old) {
                    Some(name) => SnapshotError::Natives {
                        missing: name.clone(),
                    },
                    None => SnapshotError::Corrupt(format!(
                        "process {i}: a native function numbered {old}, not in the snapshot's list"
                    )),
                })?;
            p.vm.heap.share_image();
            p.vm.check_restored()
                .map_err(|e| SnapshotError::Corrupt(format!("process {i}: {}", e.0)))?;
            check_process_vm(i, &p)?;
            processes.push(p);
        }
        let needed = check_memory(&processes)?;
        let allowed = match parent {
            Some(parent) => self.memory_allowance(parent),
            None => processes.first().map_or(0, |p| p.memory_limit),
        };
        if needed > allowed {
            return Err(SnapshotError::Memory { needed, allowed });
        }
        Ok(Checked {
            parent,
            keys: image.keys,
            processes,
        })
    }

    /// Adds a checked snapshot to the kernel and returns its root's id. `fill` gives, for a
    /// hole, the key (held by the restorer) that fills it, which must be of the hole's kind;
    /// a hole it does not fill is refused or comes back revoked, as `unfilled` says. Nothing
    /// changes in the kernel when this fails.
    ///
    /// # Errors
    /// `SnapshotError::Unfilled` (when refused), `WrongKind`, or `Keys` when the key table
    /// cannot take the snapshot's keys.
    pub fn install_checked(
        &mut self,
        checked: Checked,
        fill: &dyn Fn(u32, &Hole) -> Option<KeyId>,
        unfilled: Unfilled,
    ) -> Result<ProcessId, SnapshotError> {
        let Checked {
            parent,
            keys,
            processes,
        } = checked;
        // Holes: each filled by a key of its kind that the restorer holds.
        let mut fills: Vec<Fill> = vec![Fill::Revoked; keys.len()];
        for (i, k) in keys.iter().enumerate() {
            let KeyImage::Hole(hole) = &k.key else {
                continue;
            };
            if k.revoked {
                continue;
            }
            let Some(key) = fill(i as u32, hole) else {
                match unfilled {
                    Unfilled::Refuse => {
                        return Err(SnapshotError::Unfilled {
                            name: hole.name.clone(),
                            kind: hole.kind.clone(),
                            describe: hole.describe.clone(),
                        })
                    }
                    Unfilled::Revoke => {
                        fills[i] = Fill::Unfilled;
                        continue;
                    }
                }
            };
            let given = self.keys.resolve(key).map(|k| k.kind_name()).unwrap_or("");
            if given != hole.kind {
                return Err(SnapshotError::WrongKind {
                    name: hole.name.clone(),
                    kind: hole.kind.clone(),
                    given: given.to_owned(),
                });
            }
            fills[i] = Fill::Key(key);
        }
        self.install(parent, processes, &keys, &fills)
    }

    /// Adds checked processes and their keys to the kernel (the part of `restore` that
    /// changes it). Undoes everything if a key cannot be created.
    fn install(
        &mut self,
        parent: Option<ProcessId>,
        images: Vec<ProcessIn>,
        keys: &[KeyEntry],
        fills: &[Fill],
    ) -> Result<ProcessId, SnapshotError> {
        let mut ids: Vec<ProcessId> = Vec::with_capacity(images.len());
        let mut rest = Vec::with_capacity(images.len());
        for p in images {
            let up = match p.parent {
                Some(q) => Some(ids[q as usize]),
                None => parent,
            };
            let mut vm = p.vm;
            vm.heap
                .bank
                .set_limit(p.memory_limit.min(usize::MAX as u64) as usize);
            let id = self.add(up, &p.name, vm, p.fuel.1);
            if let Some(proc_) = self.get_mut(id) {
                // Any number is an order: nothing to check.
                proc_.queued_at = p.queued_at;
                proc_.det = p.det;
                let meter = proc_.fuel;
                self.fuel.set_spent(meter, p.fuel.0);
            }
            ids.push(id);
            rest.push((
                p.state,
                p.fault,
                p.results,
                p.clist,
                p.waiting_on,
                p.calling,
                p.serving,
                p.call,
            ));
        }
        let undo = |k: &mut Kernel, created: &[KeyId], e: String| {
            for &key in created {
                let _ = k.keys.release(key);
            }
            if let Some(&root) = ids.first() {
                k.kill(root);
            }
            SnapshotError::Keys(e)
        };
        // Keys: inside ones created anew, holes filled; each held once by its creator until
        // the slots below take it.
        let mut new_keys: Vec<KeyId> = Vec::with_capacity(keys.len());
        let mut created: Vec<KeyId> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let made = match (&k.key, &fills[i]) {
                (KeyImage::Process(p), _) => self
                    .keys
                    .create(KeyKind::Process(ids[*p as usize].to_u64())),
                (KeyImage::Function { process, function }, _) => {
                    self.keys.create(KeyKind::FarFunction {
                        process: ids[*process as usize].to_u64(),
                        function: *function,
                    })
                }
                (KeyImage::Forwarder(t), _) => {
                    let target = new_keys[*t as usize];
                    self.keys.derive(target, KeyKind::Forwarder { target })
                }
                (KeyImage::Hole(_), Fill::Key(key)) => {
                    new_keys.push(*key);
                    continue;
                }
                // A hole left unfilled: a key of the kind it had, revoked at once below,
                // that says so when used (and is a hole again in the next snapshot).
                (KeyImage::Hole(hole), Fill::Unfilled) => self
                    .keys
                    .create(hole.was.clone().unwrap_or(KeyKind::Process(u64::MAX)))
                    .inspect(|&key| self.keys.mark_unfilled(key, &hole.name)),
                // A revoked hole: a key to nothing, revoked at once below.
                (KeyImage::Hole(_), Fill::Revoked) => self.keys.create(KeyKind::Process(u64::MAX)),
            };
            match made {
                Ok(key) => {
                    created.push(key);
                    new_keys.push(key);
                }
                Err(e) => return Err(undo(self, &created, e.to_string())),
            }
        }
        for (i, k) in keys.iter().enumerate() {
            if k.revoked || matches!(fills[i], Fill::Unfilled) {
                // Revoked holes were never filled: their stand-in dies here too.
                let _ = self.keys.revoke(new_keys[i]);
            }
        }
        for (n, (&id, (state, fault, results, mut clist, waiting_on, calling, serving, call))) in
            ids.iter().zip(rest).enumerate()
        {
            let mut failed = None;
            clist.map_keys(|local, _| {
                let key = new_keys[local.0 as usize];
                if let Err(e) = self.keys.retain(key) {
                    failed.get_or_insert(e.to_string());
                }
                if let Some(kind) = self.keys.resolve(key).cloned() {
                    self.record_grant(Op::Restore, parent, id, key, None, &kind);
                }
                key
            });
            let root = ids[0];
            let map = |w: Option<u32>| w.map(|w| ids[w as usize]);
            if let Some(p) = self.get_mut(id) {
                p.state = state;
                p.fault = fault.map(|f| match f {
                    FaultImage::Fuel(e) => Fault::Exhausted {
                        budget: Budget::Fuel,
                        exhausted: e.map(|e| ids[e as usize]).unwrap_or(root),
                    },
                    FaultImage::OutOfMemory(e) => Fault::Exhausted {
                        budget: Budget::Memory,
                        exhausted: e.map(|e| ids[e as usize]).unwrap_or(root),
                    },
                    FaultImage::Error { message, traceback } => Fault::Error { message, traceback },
                    FaultImage::Memory { message, traceback } => {
                        Fault::Memory { message, traceback }
                    }
                    FaultImage::Broken { what } => Fault::Broken { what },
                });
                p.results = results;
                p.clist = clist;
                p.waiting_on = map(waiting_on);
                p.calling = map(calling);
                p.serving = serving
                    .into_iter()
                    .map(|(caller, calling, waiting_on)| Callback {
                        caller: ids[caller as usize],
                        calling: map(calling),
                        waiting_on: map(waiting_on),
                    })
                    .collect();
                p.call = call.map(|(caller, reply)| Call {
                    caller: map(caller),
                    reply,
                });
                p.hold_values();
            }
            if let Some(e) = failed {
                return Err(undo(self, &created, format!("process {n}: {e}")));
            }
        }
        // Restored waits were set without `wait_for`: the next wake looks at every slot.
        self.may_wait_known = false;
        // The creators' holds end: keys now live in slots (or as forwarders' targets).
        for key in created {
            let _ = self.keys.release(key);
        }
        Ok(ids[0])
    }
}

/// Marks each dir hole whose key was derived from another hole's key with that hole and the
/// path between them (`Hole::below`), so that a restorer can derive it again from what fills
/// the other. The nearest ancestor written as a hole is taken.
fn link_derived_holes(
    table: &crate::clist::KeyTable,
    keys: &mut [KeyEntry],
    key_index: &BTreeMap<KeyId, u32>,
) {
    let dir_root = |entry: &KeyEntry| match &entry.key {
        KeyImage::Hole(Hole {
            was: Some(KeyKind::Dir { root, .. }),
            ..
        }) if !entry.revoked => Some(root.clone()),
        _ => None,
    };
    let is_dir_hole = |k: KeyId| {
        key_index
            .get(&k)
            .filter(|&&j| keys.get(j as usize).and_then(dir_root).is_some())
            .copied()
    };
    // For each key walked, the nearest ancestor written as a dir hole: remembered, so that
    // keys sharing a long chain of ancestors walk it once (the work stays linear in the key
    // table, which the snapshot's price covers).
    let mut nearest: BTreeMap<KeyId, Option<u32>> = BTreeMap::new();
    let mut found_below = Vec::new();
    for (&key, &i) in key_index {
        let Some(root) = keys.get(i as usize).and_then(dir_root) else {
            continue;
        };
        let mut path = vec![key];
        let mut cur = table.get(key).and_then(|k| k.parent);
        let answer = loop {
            let Some(a) = cur else { break None };
            if let Some(j) = is_dir_hole(a) {
                break Some(j);
            }
            if let Some(&known) = nearest.get(&a) {
                break known;
            }
            path.push(a);
            cur = table.get(a).and_then(|k| k.parent);
        };
        for k in path {
            nearest.insert(k, answer);
        }
        let found = answer.and_then(|j| {
            let base = keys.get(j as usize).and_then(dir_root)?;
            let rest = if root == base {
                ".".to_owned()
            } else {
                root.strip_prefix(base.trim_end_matches('/'))?
                    .strip_prefix('/')?
                    .to_owned()
            };
            Some((j, rest))
        });
        found_below.push((i, found));
    }
    for (i, found) in found_below {
        if let (
            Some(below),
            Some(KeyEntry {
                key: KeyImage::Hole(hole),
                ..
            }),
        ) = (found, keys.get_mut(i as usize))
        {
            hole.below = Some(below);
        }
    }
}

/// The bytes of the texts a process's record holds (a fault's or an answer's message and
/// traceback), written as they are.
fn texts_len(p: &crate::process::Process) -> usize {
    let fault = match &p.fault {
        Some(Fault::Error { message, traceback } | Fault::Memory { message, traceback }) => {
            message.len() + traceback.len()
        }
        Some(Fault::Broken { what }) => what.len(),
        _ => 0,
    };
    let reply = match p.call.as_ref().and_then(|c| c.reply.as_ref()) {
        Some(Reply::Error {
            message, traceback, ..
        }) => message.len() + traceback.len(),
        _ => 0,
    };
    fault + reply
}

/// How many values a process keeps as a call's answer.
fn reply_len(p: &crate::process::Process) -> usize {
    p.call
        .iter()
        .flat_map(|c| c.reply.iter())
        .map(|r| r.values().len())
        .sum()
}

/// A process's call as written: its caller as an index, or none when the caller is outside
/// the snapshot (the call then answers no one, and an answer already given is dropped).
fn call_image<'a>(
    p: &'a crate::process::Process,
    inside: &impl Fn(ProcessId) -> Option<u32>,
) -> Option<(Option<u32>, Option<&'a Reply>)> {
    let call = p.call.as_ref()?;
    let caller = call.caller.and_then(inside);
    match (caller, call.reply.as_ref()) {
        (None, Some(_)) => None,
        (caller, reply) => Some((caller, reply)),
    }
}

/// The process tree: at least one process, the first the root, every other's parent earlier
/// in the list (so parents exist and links have no cycles).
fn check_tree(processes: &[ProcessIn]) -> Result<(), SnapshotError> {
    if processes.is_empty() {
        return corrupt("no processes");
    }
    for (i, p) in processes.iter().enumerate() {
        let ok = match p.parent {
            None => i == 0,
            Some(q) => i > 0 && (q as usize) < i,
        };
        if !ok {
            return corrupt(format!("process {i}: its parent is not an earlier process"));
        }
    }
    Ok(())
}

/// Whether process `a` is `b` or one of its ancestors (`check_tree` holds, so this ends).
fn is_ancestor_or_self(processes: &[ProcessIn], a: usize, b: usize) -> bool {
    let mut cur = Some(b);
    while let Some(c) = cur {
        if c == a {
            return true;
        }
        cur = processes[c].parent.map(|q| q as usize);
    }
    false
}

/// The fields of process `i` that do not need its VM: its state and the fault and waits the
/// state allows, its fuel meter, and the indices it holds (processes, keys).
fn check_process(
    i: usize,
    p: &ProcessIn,
    processes: &[ProcessIn],
    nkeys: usize,
) -> Result<(), SnapshotError> {
    let n = processes.len();
    let bad = |what: &str| corrupt(format!("process {i} ('{}'): {what}", p.name));
    let in_range = |w: u32| (w as usize) < n;
    if matches!(p.state, State::Running | State::Killed) {
        return bad(&format!("it cannot be {} in a snapshot", p.state.name()));
    }
    match &p.fault {
        None => {}
        Some(FaultImage::Fuel(exhausted) | FaultImage::OutOfMemory(exhausted)) => {
            if p.state != State::Suspended {
                return bad("an exhausted budget on a process that is not suspended");
            }
            // The exhausted meter is its own or an ancestor's.
            if let Some(e) = *exhausted {
                if !in_range(e) || !is_ancestor_or_self(processes, e as usize, i) {
                    return bad("its fault names a process that is not its ancestor");
                }
            }
        }
        Some(FaultImage::Error { .. } | FaultImage::Memory { .. } | FaultImage::Broken { .. })
            if p.state != State::Failed =>
        {
            return bad("an error fault on a process that has not failed");
        }
        Some(FaultImage::Error { .. } | FaultImage::Memory { .. } | FaultImage::Broken { .. }) => {}
    }
    // Results are kept only once the main function returned (or the error value, once
    // failed); a call runs only after that.
    if !p.results.is_empty() && !matches!(p.state, State::Done | State::Failed) && p.call.is_none()
    {
        return bad("results on a process that has not finished");
    }
    if let Some((caller, reply)) = &p.call {
        match (reply, p.state) {
            (Some(_), State::Done) if caller.is_some() => {}
            (Some(_), _) => return bad("a call's answer on a process that is not done"),
            (None, State::Ready | State::Waiting | State::Suspended) => {}
            (None, _) => return bad("a call runs in a process that is not running it"),
        }
        if let Some(w) = *caller {
            if !in_range(w) || w as usize == i {
                return bad("a call from a process outside the snapshot or from itself");
            }
        }
    }
    if p.state == State::Failed && p.results.len() > 1 {
        return bad("more than one error value");
    }
    if p.fuel.0 > p.fuel.1 {
        return bad("it spent more fuel than its limit");
    }
    // Waits name other processes of the snapshot.
    let waits = [p.waiting_on, p.calling]
        .into_iter()
        .chain(p.serving.iter().flat_map(|s| [Some(s.0), s.1, s.2]))
        .flatten();
    for w in waits {
        if !in_range(w) {
            return bad("it waits for a process outside the snapshot");
        }
        if w as usize == i {
            return bad("it waits for itself");
        }
    }
    // A waiting process is woken when the process it waits for stops: without a wait (or a
    // trap to answer, checked with the VM) nothing would ever wake it.
    if p.state == State::Waiting && p.waiting_on.is_none() {
        return bad("it is waiting, but for no process");
    }
    if let Some((_, k)) = p.clist.iter().find(|(_, k)| (k.0 as usize) >= nkeys) {
        return bad(&format!(
            "its c-list holds key {}, not in the snapshot",
            k.0
        ));
    }
    Ok(())
}

/// The waits between the snapshot's processes (`waiting_on` and `calling`) have no cycle: a
/// cycle could never be answered.
fn check_waits(processes: &[ProcessIn]) -> Result<(), SnapshotError> {
    let n = processes.len();
    // Each process has at most two outgoing edges; walk from each with colours (0 new, 1 on the
    // current path, 2 done), iteratively.
    let edges = |i: usize| {
        let p = &processes[i];
        [p.waiting_on, p.calling]
            .into_iter()
            .flatten()
            .map(|w| w as usize)
    };
    let mut colour = vec![0u8; n];
    for start in 0..n {
        if colour[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        colour[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            match edges(node).nth(*next) {
                Some(to) => {
                    *next += 1;
                    match colour[to] {
                        0 => {
                            colour[to] = 1;
                            stack.push((to, 0));
                        }
                        1 => {
                            return corrupt(format!(
                                "process {to} ('{}') waits for itself through other processes",
                                processes[to].name
                            ))
                        }
                        _ => {}
                    }
                }
                None => {
                    colour[node] = 2;
                    stack.pop();
                }
            }
        }
    }
    Ok(())
}

/// The key list: processes and functions of the snapshot, forwarders to earlier keys that
/// are not holes.
fn check_keys(keys: &[KeyEntry], n: usize) -> Result<(), SnapshotError> {
    for (i, k) in keys.iter().enumerate() {
        let ok = match &k.key {
            // A derived hole names another hole (restorers follow `below` with a bounded walk).
            KeyImage::Hole(Hole {
                below: Some((j, _)),
                ..
            }) => {
                (*j as usize) != i
                    && matches!(
                        keys.get(*j as usize).map(|k| &k.key),
                        Some(KeyImage::Hole(_))
                    )
            }
            KeyImage::Hole(_) => true,
            KeyImage::Process(p) | KeyImage::Function { process: p, .. } => (*p as usize) < n,
            KeyImage::Forwarder(t) => {
                (*t as usize) < i && !matches!(keys[*t as usize].key, KeyImage::Hole(_))
            }
        };
        if !ok {
            return corrupt(format!("key {i} refers outside the snapshot"));
        }
    }
    Ok(())
}

/// What process `i` holds in its (checked) VM: results and error value live in its heap, its
/// state matching where the VM stands, one `serving` entry per callback running in it.
fn check_process_vm(i: usize, p: &ProcessIn) -> Result<(), SnapshotError> {
    let bad = |what: &str| corrupt(format!("process {i} ('{}'): {what}", p.name));
    let what = if p.state == State::Failed {
        "its error value holds"
    } else {
        "its results hold"
    };
    for &v in &p.results {
        if !p.vm.heap.is_live(v) {
            return bad(&format!("{what} a dangling {} handle", v.type_name()));
        }
    }
    let reply = p.call.iter().flat_map(|(_, r)| r.iter());
    for &v in reply.flat_map(|r| r.values()) {
        if !p.vm.heap.is_live(v) {
            return bad(&format!(
                "a call's answer holds a dangling {} handle",
                v.type_name()
            ));
        }
    }
    match p.state {
        // A call into a finished process starts on its idle VM.
        State::Done if !p.vm.is_idle() => return bad("it is done, but its VM is not at rest"),
        State::Waiting if !p.vm.is_trapped() => {
            return bad("it is waiting, but not in a kernel service")
        }
        _ => {}
    }
    if p.serving.len() != p.vm.callbacks_running() {
        return bad("its list of callbacks does not match the calls running in it");
    }
    Ok(())
}

/// Memory: each process's heap, with those of every process below it, fits its memory limit
/// (restoring charges each heap to every ancestor's meter, and a charge over a limit would be
/// skipped). Returns what the whole snapshot needs.
fn check_memory(processes: &[ProcessIn]) -> Result<u64, SnapshotError> {
    let mut below: Vec<u64> = processes
        .iter()
        .map(|p| p.vm.heap.bank.used() as u64)
        .collect();
    // Children come after their parents: adding from the end sums each subtree.
    for i in (0..processes.len()).rev() {
        let p = &processes[i];
        if below[i] > p.memory_limit {
            return Err(SnapshotError::Memory {
                needed: below[i],
                allowed: p.memory_limit,
            });
        }
        if let Some(q) = p.parent {
            below[q as usize] = below[q as usize].saturating_add(below[i]);
        }
    }
    Ok(below.first().copied().unwrap_or(0))
}

/// Reads the header, checks the body's checksum, and decodes the body.
fn decode(bytes: &[u8]) -> Result<ImageIn, SnapshotError> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(SnapshotError::NotASnapshot)?;
    let (version, rest) = match rest {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
        _ => return Err(SnapshotError::NotASnapshot),
    };
    if version != VERSION {
        return Err(SnapshotError::Version(version));
    }
    let (sum, body) = match rest {
        [a, b, c, d, body @ ..] => (u32::from_le_bytes([*a, *b, *c, *d]), body),
        _ => return Err(SnapshotError::Checksum),
    };
    if checksum(body) != sum {
        return Err(SnapshotError::Checksum);
    }
    rmp_serde::from_slice(body).map_err(|e| SnapshotError::Corrupt(e.to_string()))
}
