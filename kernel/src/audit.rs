//! The tamper-evident audit log: every grant of a key is an event, and the events form a
//! SHA-256 hash chain.
//!
//! This module owns the record format, the chain and the byte encoding of a whole log;
//! `query` answers questions about a log (derivation trees, reach, who can do what) and
//! `render` writes logs and answers as text, JSON lines and Graphviz DOT. It reads no clock:
//! event times are passed in by the kernel (the embedder's wall clock, or a deterministic
//! process's virtual clock).
//!
//! **Invariant: the chain.** Record `i` has `seq == i`, `prev` equal to record `i-1`'s `hash`
//! (all zeros for the first), and `hash = SHA-256(MessagePack((event, prev)))`. `verify`
//! checks all three and names the first record that breaks one. A log may continue another
//! (`--audit-append`): its first record then has the seq and links to the hash of the last
//! record of the log it continues, and the bytes are simply appended.
//!
//! **Invariant: one encoding.** A log's bytes are `TAUDIT`, a version byte, then each record
//! as rmp-serde writes it (structs as arrays). Reading re-encodes every record and refuses any
//! that does not reproduce its input bytes exactly, so a changed byte either changes a value
//! (and `verify` fails) or stops the reading there; nothing is accepted silently. Reading
//! untrusted bytes returns errors, never panics.
//!
//! **Invariant: queries trust nothing.** A decoded log may describe parent cycles or grants
//! out of order; every walk is iterative and bounded by a visited set or a strictly decreasing
//! position.

mod query;
mod render;

pub use query::{Access, AccessError, DerivationTree, Holding, KeyInfo, Reach};
pub use render::{format_time, hex};

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clist::{KeyId, KeyKind};

/// Magic bytes at the start of an encoded log.
pub const MAGIC: &[u8; 6] = b"TAUDIT";
/// The encoding version this module writes and reads (2: events carry process names and
/// wall-clock time).
pub const VERSION: u8 = 2;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// What an event did with a key. Its one spelling, in text, JSON and DOT alike, is `name`
/// (serde writes the same words).
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
    /// Granted by the host or the kernel (the root's keys, a parent's key to its child).
    Grant,
    /// `to` dropped one slot holding the key.
    Drop,
}

impl Op {
    /// Every operation, in declaration order.
    pub const ALL: [Op; 9] = [
        Op::Spawn,
        Op::Import,
        Op::Restore,
        Op::CallArgument,
        Op::CallResult,
        Op::Attenuate,
        Op::Revoke,
        Op::Grant,
        Op::Drop,
    ];

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
    /// Nanoseconds since the Unix epoch: the embedder's wall clock, or the acting process's
    /// virtual clock in a deterministic run; 0 when the kernel was given no clock.
    pub time: u64,
    /// The process that gave the key (`None`: the host or the kernel).
    pub from: Option<u64>,
    /// `from`'s name when the event happened (empty for the host).
    pub from_name: String,
    /// The process that received the key (for `Revoke`, the process that revoked it).
    pub to: u64,
    /// `to`'s name when the event happened.
    pub to_name: String,
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
    /// An event about a key of `kind`, its processes not named yet (`named`); `seq` is filled
    /// in by `append`.
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
            from_name: String::new(),
            to,
            to_name: String::new(),
            key,
            parent,
            kind: kind.kind_name().to_owned(),
            scope: kind.scope(),
            rights: kind.rights_text(),
            op,
        }
    }

    /// The event with its processes' names.
    pub fn named(mut self, from: &str, to: &str) -> Event {
        from.clone_into(&mut self.from_name);
        to.clone_into(&mut self.to_name);
        self
    }

    /// `kind: scope (rights)`, leaving out empty parts, like `KeyKind::describe`.
    pub fn describe(&self) -> String {
        render::describe(&self.kind, &self.scope, &self.rights)
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
    /// Its contents do not match its hash: the record was edited.
    Altered,
    /// Another record stands in its place, from further on (`found`, its seq, is greater)
    /// and the expected one appears nowhere after: records were removed.
    Removed { found: u64 },
    /// Another record stands in its place (`found`): records were swapped, moved or copied.
    Reordered { found: u64 },
    /// Its seq and hash are right but it does not link to the record before it: that one was
    /// edited and its hash computed again, or replaced.
    Chain,
}

/// `verify` found a record that is not what was appended. `record` is the seq the record at
/// that position should have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", tamper_text(*.record, .kind))]
pub struct TamperError {
    pub record: u64,
    pub kind: TamperKind,
}

fn tamper_text(record: u64, kind: &TamperKind) -> String {
    match *kind {
        TamperKind::Altered => {
            format!("record {record} was altered: its contents do not match its hash")
        }
        TamperKind::Removed { found } if found == record + 1 => {
            format!("record {record} was removed: record {found} stands in its place")
        }
        TamperKind::Removed { found } => format!(
            "records {record} to {} were removed: record {found} stands in the place of record {record}",
            found - 1
        ),
        TamperKind::Reordered { found } => format!(
            "records were reordered: record {found} stands in the place of record {record}"
        ),
        TamperKind::Chain => format!(
            "record {record} does not link to the record before it: that one was altered and its hash computed again, or replaced"
        ),
    }
}

/// What a check found wrong with one record, for listing a damaged log (`AuditLog::checks`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCheck {
    /// Its contents do not match its hash.
    pub altered: bool,
    /// Its seq is not its position.
    pub misplaced: bool,
    /// Its `prev` is not the hash of the record before it.
    pub unlinked: bool,
}

impl RecordCheck {
    pub fn is_ok(self) -> bool {
        self == RecordCheck::default()
    }

    /// The problems as short words (`altered`, `out of place`, `unlinked`).
    pub fn words(self) -> Vec<&'static str> {
        let mut w = Vec::new();
        if self.altered {
            w.push("altered");
        }
        if self.misplaced {
            w.push("out of place");
        }
        if self.unlinked {
            w.push("unlinked");
        }
        w
    }
}

/// Where reading a log's bytes stopped early: the records before `index` were read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Damage {
    /// The bytes end inside a record: the log was cut short (a crash while writing it, or a
    /// truncation).
    #[error("the log ends inside record {index} (byte {offset}): that record was cut short")]
    Torn { index: u64, offset: usize },
    /// A record that does not decode.
    #[error("record {index} at byte {offset} cannot be read: {message}")]
    Malformed {
        index: u64,
        offset: usize,
        message: String,
    },
    /// A record that decodes but is not written the one way this format writes it.
    #[error("record {index} at byte {offset} is not in canonical form")]
    NonCanonical { index: u64, offset: usize },
}

impl Damage {
    /// The position of the record where reading stopped.
    pub fn index(&self) -> u64 {
        match *self {
            Damage::Torn { index, .. }
            | Damage::Malformed { index, .. }
            | Damage::NonCanonical { index, .. } => index,
        }
    }
}

/// A log read leniently (`AuditLog::read`): every record up to the first that cannot be
/// read, and what stopped the reading, if anything did.
#[derive(Debug)]
pub struct Reading {
    pub log: AuditLog,
    pub damage: Option<Damage>,
}

/// How a log compares with a head hash kept elsewhere (`AuditLog::check_head`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadMatch {
    /// The log ends with that record.
    Last,
    /// The record with that hash is `record`; the log goes on after it (records were added
    /// since the head was kept).
    Earlier { record: u64 },
}

/// The kept head is in no record of the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no record of the log has the head hash {}: the log was truncated (it ends at record {last}) or replaced", hex(.head))]
pub struct HeadError {
    pub head: Hash,
    /// The seq of the log's last record (`None` for an empty log).
    pub last: LastRecord,
}

/// The last record of a log, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastRecord(pub Option<u64>);

impl std::fmt::Display for LastRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("none: it is empty"),
        }
    }
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
    #[error("cannot continue an audit log: {0}")]
    Continue(&'static str),
}

/// The hash of a record: SHA-256 over the MessagePack encoding of `(event, prev)`.
fn record_hash(event: &Event, prev: &Hash) -> Result<Hash, AuditError> {
    let bytes = rmp_serde::to_vec(&(event, serde_bytes::Bytes::new(prev)))?;
    Ok(Sha256::digest(&bytes).into())
}

/// One record's bytes, as a log holds them after its header.
///
/// # Errors
/// `AuditError::Encode` (not expected for these types).
pub fn encode_record(record: &Record) -> Result<Vec<u8>, AuditError> {
    Ok(rmp_serde::to_vec(record)?)
}

/// Where a running kernel's records go as they happen (the embedder's file): each call gets
/// one whole encoded record, the first call the `TAUDIT` header before it (unless the log
/// continues another: `AuditLog::continue_chain`).
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
    /// Seq of `records[0]`: how many records were dropped from memory before the window (or
    /// are in the log this one continues).
    first: u64,
    /// The hash the window's first record links to (zeros when nothing came before).
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
        self.attach(sink, window)
    }

    /// Makes this log the continuation of a log of `len` records whose last hash is `head`
    /// (`--audit-append`): the records in memory are numbered and chained again after it and
    /// written to `sink`, which gets no header (its bytes go after the other log's), and so
    /// is every later record.
    ///
    /// # Errors
    /// `AuditError::Continue` if records were already dropped from memory (they could not be
    /// chained again), the sink's error, or `AuditError::Encode`.
    pub fn continue_chain(
        &mut self,
        len: u64,
        head: Hash,
        sink: AuditSink,
        window: usize,
    ) -> Result<(), AuditError> {
        if self.first != 0 {
            return Err(AuditError::Continue(
                "records of this run were already dropped from memory",
            ));
        }
        let events: Vec<Event> = std::mem::take(&mut self.records)
            .into_iter()
            .map(|r| r.event)
            .collect();
        self.first = len;
        self.base = head;
        for e in events {
            self.append(e)?;
        }
        self.attach(sink, window)
    }

    fn attach(&mut self, mut sink: AuditSink, window: usize) -> Result<(), AuditError> {
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

    /// How many records were dropped from memory (they are in the sink), or came before
    /// this log in the log it continues.
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
    /// `TamperError` naming the first record that was altered, removed or moved, or that
    /// does not link to the one before it.
    pub fn verify(&self) -> Result<(), TamperError> {
        let checks = self.checks();
        let Some(i) = checks.iter().position(|c| !c.is_ok()) else {
            return Ok(());
        };
        let record = self.first + i as u64;
        let (c, r) = (checks[i], &self.records[i]);
        let kind = if c.altered {
            TamperKind::Altered
        } else if c.misplaced {
            let found = r.event.seq;
            // Removed if the record expected here appears nowhere later; else moved.
            let later = self.records[i + 1..].iter().any(|r| r.event.seq == record);
            if found > record && !later {
                TamperKind::Removed { found }
            } else {
                TamperKind::Reordered { found }
            }
        } else {
            TamperKind::Chain
        };
        Err(TamperError { record, kind })
    }

    /// What is wrong with each record in memory, in order (for listing a damaged log).
    pub fn checks(&self) -> Vec<RecordCheck> {
        let mut prev = self.base;
        let mut out = Vec::with_capacity(self.records.len());
        for (i, r) in self.records.iter().enumerate() {
            out.push(RecordCheck {
                // A record that cannot even be encoded cannot match its hash.
                altered: record_hash(&r.event, &r.prev).ok() != Some(r.hash),
                misplaced: r.event.seq != self.first + i as u64,
                unlinked: r.prev != prev,
            });
            prev = r.hash;
        }
        out
    }

    /// The seq of the last record whose chain from the start holds: everything up to it
    /// verifies (`None` if the first record already fails, or the log is empty).
    pub fn last_good(&self) -> Option<u64> {
        let good = self.checks().iter().take_while(|c| c.is_ok()).count();
        (good > 0).then(|| self.first + good as u64 - 1)
    }

    /// The hash of the last record of the verified prefix (`last_good`).
    pub fn good_head(&self) -> Hash {
        let good = self.checks().iter().take_while(|c| c.is_ok()).count();
        good.checked_sub(1)
            .and_then(|i| self.records.get(i))
            .map_or(self.base, |r| r.hash)
    }

    /// Compares the log with a head hash kept elsewhere: truncation, which the chain cannot
    /// show by itself, leaves the kept head out of the log.
    ///
    /// # Errors
    /// `HeadError` if no record has that hash (the all-zero hash matches an empty log).
    pub fn check_head(&self, head: &Hash) -> Result<HeadMatch, HeadError> {
        if *head == self.head() {
            return Ok(HeadMatch::Last);
        }
        if let Some(r) = self.records.iter().rev().find(|r| r.hash == *head) {
            return Ok(HeadMatch::Earlier {
                record: r.event.seq,
            });
        }
        Err(HeadError {
            head: *head,
            last: LastRecord(self.records.last().map(|r| r.event.seq)),
        })
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

    /// Reads a log from untrusted bytes, strictly: any record that cannot be read is an
    /// error. Structure only: call `verify` for the chain.
    ///
    /// # Errors
    /// `BadMagic`, `Version`, `Malformed` or `NonCanonical` naming the record and its offset.
    pub fn decode(bytes: &[u8]) -> Result<AuditLog, AuditError> {
        let reading = AuditLog::read(bytes)?;
        match reading.damage {
            None => Ok(reading.log),
            Some(Damage::NonCanonical { index, offset }) => {
                Err(AuditError::NonCanonical { index, offset })
            }
            Some(d @ Damage::Torn { index, offset }) => Err(AuditError::Malformed {
                index,
                offset,
                message: d.to_string(),
            }),
            Some(Damage::Malformed {
                index,
                offset,
                message,
            }) => Err(AuditError::Malformed {
                index,
                offset,
                message,
            }),
        }
    }

    /// Reads a log from untrusted bytes, leniently: every record up to the first one that
    /// cannot be read (a torn last record, say), and what stopped the reading. Structure
    /// only: `verify` and `checks` for the chain.
    ///
    /// # Errors
    /// `BadMagic` or `Version`: the bytes are not an audit log this build reads.
    pub fn read(bytes: &[u8]) -> Result<Reading, AuditError> {
        let body = bytes.strip_prefix(MAGIC).ok_or(AuditError::BadMagic)?;
        let (&version, mut rest) = body.split_first().ok_or(AuditError::BadMagic)?;
        if version != VERSION {
            return Err(AuditError::Version(version));
        }
        let mut records = Vec::new();
        let mut offset = MAGIC.len() + 1;
        let mut damage = None;
        while !rest.is_empty() {
            let index = records.len() as u64;
            match read_record(rest) {
                Ok((record, used)) => {
                    records.push(record);
                    rest = &rest[used..];
                    offset += used;
                }
                Err(kind) => {
                    damage = Some(match kind {
                        RecordFault::Torn => Damage::Torn { index, offset },
                        RecordFault::NonCanonical => Damage::NonCanonical { index, offset },
                        RecordFault::Malformed(message) => Damage::Malformed {
                            index,
                            offset,
                            message,
                        },
                    });
                    break;
                }
            }
        }
        // A file always holds a log from record 0 (a continued log is appended to the file
        // it continues), so removing its first records shows.
        Ok(Reading {
            log: AuditLog {
                records,
                ..AuditLog::default()
            },
            damage,
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
}

/// Why one record could not be read.
enum RecordFault {
    Torn,
    NonCanonical,
    Malformed(String),
}

/// Reads the record at the start of `bytes`: the record and how many bytes it took.
fn read_record(bytes: &[u8]) -> Result<(Record, usize), RecordFault> {
    use rmp_serde::decode::Error as E;
    // The reader form (not the borrowing one) copies through `Read::take`, so a forged
    // length allocates no more than the bytes actually present.
    let mut de = rmp_serde::Deserializer::new(Cursor::new(bytes));
    let record = Record::deserialize(&mut de).map_err(|e| match &e {
        E::InvalidMarkerRead(io) | E::InvalidDataRead(io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            RecordFault::Torn
        }
        _ => RecordFault::Malformed(e.to_string()),
    })?;
    let used = usize::try_from(de.position())
        .ok()
        .filter(|&n| n > 0 && n <= bytes.len())
        .ok_or_else(|| RecordFault::Malformed("record length out of range".to_owned()))?;
    if rmp_serde::to_vec(&record).ok().as_deref() != Some(&bytes[..used]) {
        return Err(RecordFault::NonCanonical);
    }
    Ok((record, used))
}

#[cfg(test)]
mod tests;
