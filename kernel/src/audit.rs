//! The tamper-evident audit log: every grant of a key is an event, and the events form a
//! SHA-256 hash chain.
//!
//! This module owns the record format, the chain, the byte encoding of a whole log and the
//! queries over it (derivation trees, holdings, who can do what). It reads no clock: event
//! times are the kernel's logical time, passed in.
//!
//! **Invariant: the chain.** Record `i` has `seq == i`, `prev` equal to record `i-1`'s `hash`
//! (all zeros for the first), and `hash = SHA-256(MessagePack((event, prev)))`. `verify`
//! checks all three and names the first record that breaks one.
//!
//! **Invariant: one encoding.** A log's bytes are `TAUDIT`, a version byte, then each record
//! as rmp-serde writes it (structs as arrays). `decode` re-encodes every record and refuses any
//! that does not reproduce its input bytes exactly, so a changed byte either changes a value
//! (and `verify` fails) or is refused by `decode`; nothing is accepted silently. Decoding reads
//! untrusted bytes and returns errors, never panics.
//!
//! **Invariant: queries trust nothing.** A decoded log may describe parent cycles or grants
//! out of order; every walk is iterative and bounded by a visited set or a strictly decreasing
//! sequence number.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Cursor;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clist::{KeyId, KeyKind};

/// Magic bytes at the start of an encoded log.
pub const MAGIC: &[u8; 6] = b"TAUDIT";
/// The encoding version this module writes and reads.
pub const VERSION: u8 = 1;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// What an event did with a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Given to a child at `spawn`.
    Spawn,
    /// Given to a child at `import`.
    Import,
    /// Given to a restored process, filling a hole.
    Restore,
    /// Sent as an argument of a cross-process call.
    CallArgument,
    /// Returned as a result of a cross-process call.
    CallResult,
    /// Derived from `parent` by attenuation (or `revocable`) and held by `to`.
    Attenuate,
    /// Revoked, with everything derived from it.
    Revoke,
    /// Granted by the host or the kernel (the root's keys).
    Grant,
    /// `to` dropped one slot holding the key.
    Drop,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Spawn => "spawn",
            Op::Import => "import",
            Op::Restore => "restore",
            Op::CallArgument => "call_argument",
            Op::CallResult => "call_result",
            Op::Attenuate => "attenuate",
            Op::Revoke => "revoke",
            Op::Grant => "grant",
            Op::Drop => "drop",
        }
    }

    /// True for the operations after which `to` holds the key in one more slot.
    pub fn gives(self) -> bool {
        !matches!(self, Op::Revoke | Op::Drop)
    }
}

/// One audited event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log; assigned by `AuditLog::append`.
    pub seq: u64,
    /// Logical time from the kernel.
    pub time: u64,
    /// The process that gave the key (`None`: the host or the kernel).
    pub from: Option<u64>,
    /// The process that received the key (for `Revoke`, the process that revoked it).
    pub to: u64,
    pub key: KeyId,
    /// The key this one was derived from.
    pub parent: Option<KeyId>,
    /// Kind, scope and rights as text (`KeyKind::kind_name`, `scope`, `rights_text` of the
    /// effective kind: a forwarder is recorded as what it designates).
    pub kind: String,
    pub scope: String,
    pub rights: String,
    pub op: Op,
}

impl Event {
    /// An event about a key of `kind`; `seq` is filled in by `append`.
    pub fn new(
        op: Op,
        time: u64,
        from: Option<u64>,
        to: u64,
        key: KeyId,
        parent: Option<KeyId>,
        kind: &KeyKind,
    ) -> Event {
        Event {
            seq: 0,
            time,
            from,
            to,
            key,
            parent,
            kind: kind.kind_name().to_owned(),
            scope: kind.scope(),
            rights: kind.rights_text(),
            op,
        }
    }

    /// `kind: scope (rights)`, leaving out empty parts, like `KeyKind::describe`.
    pub fn describe(&self) -> String {
        let mut s = self.kind.clone();
        if !self.scope.is_empty() {
            let _ = write!(s, ": {}", self.scope);
        }
        if !self.rights.is_empty() {
            let _ = write!(s, " ({})", self.rights);
        }
        s
    }
}

/// One record of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub event: Event,
    #[serde(with = "serde_bytes")]
    pub prev: Hash,
    #[serde(with = "serde_bytes")]
    pub hash: Hash,
}

/// What is wrong with the first bad record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TamperKind {
    /// `seq` is not the record's position.
    Sequence,
    /// `prev` is not the previous record's hash.
    Chain,
    /// `hash` does not match the record's contents.
    Hash,
}

/// `verify` found a record that is not what was appended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit log tampered with at record {record}: {}", match .kind {
    TamperKind::Sequence => "sequence number out of order",
    TamperKind::Chain => "does not link to the previous record",
    TamperKind::Hash => "contents do not match its hash",
})]
pub struct TamperError {
    pub record: u64,
    pub kind: TamperKind,
}

/// Encoding or decoding a log failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("not an audit log (missing TAUDIT header)")]
    BadMagic,
    #[error("audit log format version {0} is not supported (this build reads version {VERSION})")]
    Version(u8),
    #[error("audit log record {index} at byte {offset} is malformed: {message}")]
    Malformed {
        index: u64,
        offset: usize,
        message: String,
    },
    #[error("audit log record {index} at byte {offset} is not in canonical form")]
    NonCanonical { index: u64, offset: usize },
    #[error("cannot encode audit record: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("cannot export audit log as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the audit log: {0}")]
    Sink(String),
}

/// The hash of a record: SHA-256 over the MessagePack encoding of `(event, prev)`.
fn record_hash(event: &Event, prev: &Hash) -> Result<Hash, AuditError> {
    let bytes = rmp_serde::to_vec(&(event, serde_bytes::Bytes::new(prev)))?;
    Ok(Sha256::digest(&bytes).into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Where a running kernel's records go as they happen (the embedder's file): each call gets
/// one whole encoded record, the first call the `TAUDIT` header before it.
pub type AuditSink = Box<dyn FnMut(&[u8]) -> std::io::Result<()>>;

/// Records a running kernel keeps in memory when nothing else is said: about 13 MB at most
/// (twice this many records of ~200 bytes). Older ones live only in the sink.
pub const DEFAULT_WINDOW: usize = 32_768;

/// The append-only, hash-chained log.
///
/// A running kernel's log is written to its sink record by record as grants happen, so it
/// never grows in host memory: memory holds only a window of the latest records (between
/// `window` and twice that), which the queries read; `dropped` says how many came before it.
/// A log read back from bytes holds all of them.
pub struct AuditLog {
    records: Vec<Record>,
    /// Seq of `records[0]`: how many records were dropped from memory before the window.
    first: u64,
    /// The hash the window's first record links to (zeros when nothing was dropped).
    base: Hash,
    /// The most records kept in memory after a trim.
    window: usize,
    sink: Option<AuditSink>,
    /// The first error the sink gave: the records after it were not written.
    sink_error: Option<String>,
}

impl Default for AuditLog {
    fn default() -> AuditLog {
        AuditLog {
            records: Vec::new(),
            first: 0,
            base: [0; 32],
            window: usize::MAX,
            sink: None,
            sink_error: None,
        }
    }
}

impl Clone for AuditLog {
    /// A copy of the records; the sink stays with the original.
    fn clone(&self) -> AuditLog {
        AuditLog {
            records: self.records.clone(),
            first: self.first,
            base: self.base,
            window: self.window,
            sink: None,
            sink_error: self.sink_error.clone(),
        }
    }
}

impl PartialEq for AuditLog {
    fn eq(&self, other: &AuditLog) -> bool {
        self.records == other.records && self.first == other.first && self.base == other.base
    }
}

impl Eq for AuditLog {}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("records", &self.records)
            .field("first", &self.first)
            .field("sink", &self.sink.is_some())
            .finish()
    }
}

impl AuditLog {
    /// An empty log that keeps every record in memory (a log read back, or a test's).
    pub fn new() -> AuditLog {
        AuditLog::default()
    }

    /// An empty log for a running kernel: records go to `sink` (if any) as they happen and
    /// memory keeps the latest `window` of them.
    pub fn streaming(sink: Option<AuditSink>, window: usize) -> AuditLog {
        AuditLog {
            window: window.max(1),
            sink,
            ..AuditLog::default()
        }
    }

    /// Sends every later record to `sink` (after the header), and keeps at most `window`
    /// records in memory. The records already in memory are written to it first, so the
    /// sink's log is whole from record 0 when nothing was dropped yet.
    ///
    /// # Errors
    /// The sink's error, or `AuditError::Encode`.
    pub fn attach_sink(&mut self, mut sink: AuditSink, window: usize) -> Result<(), AuditError> {
        let mut header = MAGIC.to_vec();
        header.push(VERSION);
        sink(&header).map_err(|e| AuditError::Sink(e.to_string()))?;
        for r in &self.records {
            sink(&rmp_serde::to_vec(r)?).map_err(|e| AuditError::Sink(e.to_string()))?;
        }
        self.sink = Some(sink);
        self.window = window.max(1);
        self.trim();
        Ok(())
    }

    /// The records in memory, oldest first (all of them, unless `dropped` says otherwise).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// How many records were dropped from memory (they are in the sink).
    pub fn dropped(&self) -> u64 {
        self.first
    }

    /// The first error the sink gave, if any: records after it were not written.
    pub fn sink_error(&self) -> Option<&str> {
        self.sink_error.as_deref()
    }

    /// Records ever appended.
    pub fn len(&self) -> usize {
        self.first as usize + self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of the last record (all zeros for an empty log): whoever keeps it can later
    /// check that the log was not truncated or replaced.
    pub fn head(&self) -> Hash {
        self.records.last().map_or(self.base, |r| r.hash)
    }

    /// Appends `event`, setting its `seq`, and writes it to the sink; returns the seq.
    ///
    /// # Errors
    /// `AuditError::Encode` if the event cannot be encoded (not expected for these types).
    /// A sink that fails is remembered (`sink_error`), not returned: the grant has happened.
    pub fn append(&mut self, mut event: Event) -> Result<u64, AuditError> {
        let seq = self.len() as u64;
        event.seq = seq;
        let prev = self.head();
        let hash = record_hash(&event, &prev)?;
        let record = Record { event, prev, hash };
        if let Some(sink) = self.sink.as_mut() {
            if self.sink_error.is_none() {
                let bytes = rmp_serde::to_vec(&record)?;
                if let Err(e) = sink(&bytes) {
                    self.sink_error = Some(e.to_string());
                }
            }
        }
        self.records.push(record);
        self.trim();
        Ok(seq)
    }

    /// Drops the oldest records once memory holds twice the window (amortized O(1)).
    fn trim(&mut self) {
        if self.records.len() < self.window.saturating_mul(2) {
            return;
        }
        let cut = self.records.len() - self.window;
        self.base = self.records[cut - 1].hash;
        self.records.drain(..cut);
        self.first += cut as u64;
    }

    /// Checks the chain of the records in memory (from record 0 for a whole log).
    ///
    /// # Errors
    /// `TamperError` naming the first record whose seq, link or hash is wrong.
    pub fn verify(&self) -> Result<(), TamperError> {
        let mut prev = self.base;
        for (i, r) in self.records.iter().enumerate() {
            let record = self.first + i as u64;
            let bad = |kind| Err(TamperError { record, kind });
            if r.event.seq != record {
                return bad(TamperKind::Sequence);
            }
            if r.prev != prev {
                return bad(TamperKind::Chain);
            }
            // A record that cannot even be encoded cannot match its hash.
            if record_hash(&r.event, &r.prev).ok() != Some(r.hash) {
                return bad(TamperKind::Hash);
            }
            prev = r.hash;
        }
        Ok(())
    }

    /// The window's position in the whole log (for a kernel snapshot): the seq of its first
    /// record and the hash that record links to.
    pub fn window_start(&self) -> (u64, Hash) {
        (self.first, self.base)
    }

    /// Places decoded records at `first` in the whole log, linked to `base` (the inverse of
    /// `window_start`), keeping at most `window` in memory from now on.
    pub fn set_window_start(&mut self, first: u64, base: Hash, window: usize) {
        self.first = first;
        self.base = base;
        self.window = window.max(1);
    }

    /// The log as bytes: `TAUDIT`, the version, then the records.
    ///
    /// # Errors
    /// `AuditError::Encode` (not expected for these types).
    pub fn encode(&self) -> Result<Vec<u8>, AuditError> {
        let mut out = Vec::with_capacity(7 + self.records.len() * 128);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        for r in &self.records {
            rmp_serde::encode::write(&mut out, r)?;
        }
        Ok(out)
    }

    /// Reads a log from untrusted bytes. Structure only: call `verify` for the chain.
    ///
    /// # Errors
    /// `BadMagic`, `Version`, `Malformed` or `NonCanonical` naming the record and its offset.
    pub fn decode(bytes: &[u8]) -> Result<AuditLog, AuditError> {
        let body = bytes.strip_prefix(MAGIC).ok_or(AuditError::BadMagic)?;
        let (&version, mut rest) = body.split_first().ok_or(AuditError::BadMagic)?;
        if version != VERSION {
            return Err(AuditError::Version(version));
        }
        let mut records = Vec::new();
        let mut offset = MAGIC.len() + 1;
        while !rest.is_empty() {
            let index = records.len() as u64;
            // The reader form (not the borrowing one) copies through `Read::take`, so a
            // forged length allocates no more than the bytes actually present.
            let mut de = rmp_serde::Deserializer::new(Cursor::new(rest));
            let record = Record::deserialize(&mut de).map_err(|e| AuditError::Malformed {
                index,
                offset,
                message: e.to_string(),
            })?;
            let used = usize::try_from(de.position())
                .ok()
                .filter(|&n| n > 0 && n <= rest.len())
                .ok_or(AuditError::Malformed {
                    index,
                    offset,
                    message: "record length out of range".to_owned(),
                })?;
            let (this, tail) = rest.split_at(used);
            if rmp_serde::to_vec(&record).ok().as_deref() != Some(this) {
                return Err(AuditError::NonCanonical { index, offset });
            }
            records.push(record);
            rest = tail;
            offset += used;
        }
        Ok(AuditLog {
            records,
            ..AuditLog::default()
        })
    }

    /// Decodes and verifies.
    ///
    /// # Errors
    /// As `decode`; a broken chain as `AuditError::Malformed` naming the record.
    pub fn decode_verified(bytes: &[u8]) -> Result<AuditLog, AuditError> {
        let log = AuditLog::decode(bytes)?;
        log.verify().map_err(|e| AuditError::Malformed {
            index: e.record,
            offset: 0,
            message: e.to_string(),
        })?;
        Ok(log)
    }

    // --- queries ---------------------------------------------------------------------------

    /// The chain of grants and derivations of `key` back to the root, and every key derived
    /// from it. `None` if the log never mentions `key`.
    pub fn derivation_tree(&self, key: KeyId) -> Option<DerivationTree> {
        let m = Model::build(self);
        let info = m.info(key)?;
        let mut ancestry = vec![info];
        for a in m.ancestors(key) {
            if let Some(i) = m.info(a) {
                ancestry.push(i);
            }
        }
        ancestry.reverse();
        let derived = m.descendants(key).filter_map(|k| m.info(k)).collect();
        Some(DerivationTree { ancestry, derived })
    }

    /// The keys `process` holds (granted, not all dropped, not revoked), each with its chain
    /// of grants back to the root.
    pub fn holdings(&self, process: u64) -> Vec<Holding> {
        let m = Model::build(self);
        m.live_holds()
            .filter(|&((p, _), _)| p == process)
            .filter_map(|((p, k), n)| m.holding(p, k, n))
            .collect()
    }

    /// Which processes hold `key` itself or a key derived from it (live holdings only), as
    /// `(process, key)` pairs in order.
    pub fn holders_of_derived(&self, key: KeyId) -> Vec<(u64, KeyId)> {
        let m = Model::build(self);
        let mut tree: BTreeSet<KeyId> = m.descendants(key).collect();
        tree.insert(key);
        m.live_holds()
            .filter(|((_, k), _)| tree.contains(k))
            .map(|(pk, _)| pk)
            .collect()
    }

    /// Every process holding a dir key whose root covers `path` with `right` (or a file key
    /// for exactly `path`), with the chain of grants. Paths are compared by components after
    /// lexical normalization (`.` dropped, `..` taken back).
    pub fn who_can(&self, right: char, path: &str) -> Vec<Holding> {
        let m = Model::build(self);
        let want = components(path);
        m.live_holds()
            .filter(|&((_, k), _)| {
                m.keys.get(&k).is_some_and(|e| {
                    let root = components(e.scope);
                    e.rights.contains(right)
                        && match e.kind {
                            "dir" => want.starts_with(&root),
                            "file" => want == root,
                            _ => false,
                        }
                })
            })
            .filter_map(|((p, k), n)| m.holding(p, k, n))
            .collect()
    }

    // --- export ----------------------------------------------------------------------------

    /// One line per record.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for r in &self.records {
            let e = &r.event;
            let from = e.from.map_or("host".to_owned(), |p| format!("process {p}"));
            let _ = write!(
                s,
                "#{} t={} {} {} -> process {}: key {} {}",
                e.seq,
                e.time,
                e.op.name(),
                from,
                e.to,
                e.key.0,
                e.describe()
            );
            if let Some(p) = e.parent {
                let _ = write!(s, " (from key {})", p.0);
            }
            let _ = writeln!(s, " [{}]", hex(&r.hash[..8]));
        }
        s
    }

    /// The records as a JSON array, hashes in hex.
    ///
    /// # Errors
    /// `AuditError::Json` (not expected for these types).
    pub fn to_json(&self) -> Result<String, AuditError> {
        #[derive(Serialize)]
        struct JsonRecord<'a> {
            #[serde(flatten)]
            event: &'a Event,
            prev: String,
            hash: String,
        }
        let records: Vec<JsonRecord> = self
            .records
            .iter()
            .map(|r| JsonRecord {
                event: &r.event,
                prev: hex(&r.prev),
                hash: hex(&r.hash),
            })
            .collect();
        Ok(serde_json::to_string_pretty(&records)?)
    }

    /// Graphviz DOT: processes (boxes) and keys (ellipses; revoked ones red) as nodes,
    /// grants as edges key → receiving process, derivations as dashed edges parent → child.
    pub fn to_dot(&self) -> String {
        let m = Model::build(self);
        let mut s = String::from("digraph audit {\n  rankdir=LR;\n");
        let mut processes = BTreeSet::new();
        for r in &self.records {
            processes.insert(r.event.to);
            processes.extend(r.event.from);
        }
        for p in &processes {
            let _ = writeln!(s, "  p{p} [shape=box, label=\"process {p}\"];");
        }
        for (k, e) in &m.keys {
            let style = if m.is_revoked(*k) {
                ", color=red, fontcolor=red"
            } else {
                ""
            };
            let label = dot_escape(&format!("key {}\n{}", k.0, e.describe()));
            let _ = writeln!(s, "  k{} [shape=ellipse, label=\"{label}\"{style}];", k.0);
        }
        for (k, e) in &m.keys {
            if let Some(p) = e.parent {
                let _ = writeln!(s, "  k{} -> k{} [style=dashed];", p.0, k.0);
            }
        }
        for r in &self.records {
            let e = &r.event;
            if e.op.gives() {
                let from = e.from.map_or(String::new(), |p| format!(" from {p}"));
                let _ = writeln!(
                    s,
                    "  k{} -> p{} [label=\"#{} {}{from}\"];",
                    e.key.0,
                    e.to,
                    e.seq,
                    e.op.name()
                );
            }
        }
        s.push_str("}\n");
        s
    }
}

/// Escapes text for a DOT double-quoted string.
fn dot_escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c if c.is_control() => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

/// Path components after lexical normalization.
fn components(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    if path.starts_with('/') {
        out.push("/");
    }
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "/") {
                    out.pop();
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A key as the log describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub key: KeyId,
    pub parent: Option<KeyId>,
    pub kind: String,
    pub scope: String,
    pub rights: String,
    /// Revoked itself or through an ancestor.
    pub revoked: bool,
    /// The first event that mentions the key.
    pub introduced_by: Event,
}

/// `derivation_tree`'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivationTree {
    /// From the root key down to the asked key (last).
    pub ancestry: Vec<KeyInfo>,
    /// Every key derived from it, parents before children.
    pub derived: Vec<KeyInfo>,
}

/// A process's live holding of a key, and how it got there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub process: u64,
    pub key: KeyInfo,
    /// How many slots hold it.
    pub slots: u32,
    /// The grants and derivations that brought the key to `process`, root first.
    pub chain: Vec<Event>,
}

/// What the events say, rebuilt for a query.
struct Model<'a> {
    log: &'a AuditLog,
    /// First event mentioning each key, with the first parent any event gave it.
    keys: BTreeMap<KeyId, KeyEntry<'a>>,
    children: BTreeMap<KeyId, BTreeSet<KeyId>>,
    revoked: BTreeSet<KeyId>,
    holds: BTreeMap<(u64, KeyId), u32>,
    /// Positions of the records that gave each (process, key), ascending.
    gifts: BTreeMap<(u64, KeyId), Vec<usize>>,
}

struct KeyEntry<'a> {
    first: &'a Event,
    parent: Option<KeyId>,
    kind: &'a str,
    scope: &'a str,
    rights: &'a str,
}

impl KeyEntry<'_> {
    fn describe(&self) -> String {
        let mut e = self.first.clone();
        e.kind = self.kind.to_owned();
        e.scope = self.scope.to_owned();
        e.rights = self.rights.to_owned();
        e.describe()
    }
}

impl<'a> Model<'a> {
    fn build(log: &'a AuditLog) -> Model<'a> {
        let mut m = Model {
            log,
            keys: BTreeMap::new(),
            children: BTreeMap::new(),
            revoked: BTreeSet::new(),
            holds: BTreeMap::new(),
            gifts: BTreeMap::new(),
        };
        for (i, r) in log.records.iter().enumerate() {
            let e = &r.event;
            let entry = m.keys.entry(e.key).or_insert(KeyEntry {
                first: e,
                parent: None,
                kind: &e.kind,
                scope: &e.scope,
                rights: &e.rights,
            });
            // The first parent recorded wins; a key is never its own parent.
            if entry.parent.is_none() && e.parent != Some(e.key) {
                if let Some(p) = e.parent {
                    entry.parent = Some(p);
                    m.children.entry(p).or_default().insert(e.key);
                }
            }
            match e.op {
                Op::Revoke => {
                    m.revoked.insert(e.key);
                }
                Op::Drop => {
                    if let Some(n) = m.holds.get_mut(&(e.to, e.key)) {
                        *n = n.saturating_sub(1);
                    }
                }
                _ => {
                    let n = m.holds.entry((e.to, e.key)).or_default();
                    *n = n.saturating_add(1);
                    m.gifts.entry((e.to, e.key)).or_default().push(i);
                }
            }
        }
        m
    }

    /// Ancestors nearest first; stops at a cycle.
    fn ancestors(&self, key: KeyId) -> Vec<KeyId> {
        let mut seen = BTreeSet::from([key]);
        let mut out = Vec::new();
        let mut next = self.keys.get(&key).and_then(|e| e.parent);
        while let Some(k) = next {
            if !seen.insert(k) {
                break;
            }
            out.push(k);
            next = self.keys.get(&k).and_then(|e| e.parent);
        }
        out
    }

    fn descendants(&self, key: KeyId) -> impl Iterator<Item = KeyId> {
        let mut seen = BTreeSet::from([key]);
        let mut out = Vec::new();
        let mut stack: Vec<KeyId> = self.children(key).rev().collect();
        while let Some(k) = stack.pop() {
            if seen.insert(k) {
                out.push(k);
                stack.extend(self.children(k).rev());
            }
        }
        out.into_iter()
    }

    fn children(&self, key: KeyId) -> impl DoubleEndedIterator<Item = KeyId> + '_ {
        self.children.get(&key).into_iter().flatten().copied()
    }

    fn is_revoked(&self, key: KeyId) -> bool {
        self.revoked.contains(&key) || self.ancestors(key).iter().any(|a| self.revoked.contains(a))
    }

    fn info(&self, key: KeyId) -> Option<KeyInfo> {
        let e = self.keys.get(&key)?;
        Some(KeyInfo {
            key,
            parent: e.parent,
            kind: e.kind.to_owned(),
            scope: e.scope.to_owned(),
            rights: e.rights.to_owned(),
            revoked: self.is_revoked(key),
            introduced_by: e.first.clone(),
        })
    }

    fn live_holds(&self) -> impl Iterator<Item = ((u64, KeyId), u32)> + '_ {
        self.holds
            .iter()
            .filter(|&(&(_, k), &n)| n > 0 && !self.is_revoked(k))
            .map(|(&pk, &n)| (pk, n))
    }

    fn holding(&self, process: u64, key: KeyId, slots: u32) -> Option<Holding> {
        Some(Holding {
            process,
            key: self.info(key)?,
            slots,
            chain: self.chain(process, key),
        })
    }

    /// The events that brought `key` to `process`, root first: the latest gift, then how the
    /// giver got the key (or, for a derivation, how the deriver got the parent), and so on.
    /// Each step is an earlier event, so the walk ends.
    fn chain(&self, process: u64, key: KeyId) -> Vec<Event> {
        let mut out = Vec::new();
        let mut at = (process, key);
        let mut before = usize::MAX;
        while let Some((i, r)) = self
            .gifts
            .get(&at)
            .and_then(|idx| idx.iter().rev().find(|&&i| i < before))
            .and_then(|&i| Some((i, self.log.records.get(i)?)))
        {
            let e = &r.event;
            out.push(e.clone());
            before = i;
            at = match (e.op, e.from, e.parent) {
                (Op::Attenuate, from, Some(parent)) => (from.unwrap_or(e.to), parent),
                (_, Some(from), _) => (from, e.key),
                _ => break,
            };
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests;
