//! Questions about a log: the derivation tree of a key, what a process holds and reaches,
//! and who can use a right on a path or an address — each answer with the chain of grants
//! behind it. Every walk is iterative and bounded (the log may be forged).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{AuditLog, Event, Op};
use crate::clist::{HostPort, KeyId};

/// What `who_can` asks about: a dir right on a path, or `connect`/`listen` on an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// A dir right letter (`rwcdl`) on a host path (absolute, as the log's scopes are).
    Dir { right: char, path: String },
    /// `connect` to (or, with `listen`, listen on) a host and port.
    Net { listen: bool, target: HostPort },
}

/// A `who_can` question that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("unknown right '{0}': expected one of the dir rights r, w, c, d, l, or connect or listen for a net address")]
    UnknownRight(String),
    #[error("'{target}' is not HOST:PORT, which the right '{right}' needs: {reason}")]
    NotHostPort {
        right: String,
        target: String,
        reason: String,
    },
    #[error("an empty path: give the path the right '{0}' would be used on")]
    EmptyPath(String),
}

impl Access {
    /// The question `who_can RIGHT TARGET` asks: `RIGHT` one dir right letter (the path is
    /// taken as given: the caller makes it absolute), or `connect`/`listen` with `HOST:PORT`.
    ///
    /// # Errors
    /// `AccessError` naming the right or target.
    pub fn parse(right: &str, target: &str) -> Result<Access, AccessError> {
        match right {
            "connect" | "listen" => {
                let target = HostPort::parse(target).map_err(|e| AccessError::NotHostPort {
                    right: right.to_owned(),
                    target: target.to_owned(),
                    reason: e.to_string(),
                })?;
                Ok(Access::Net {
                    listen: right == "listen",
                    target,
                })
            }
            r if r.chars().count() == 1 && "rwcdl".contains(r) => {
                if target.is_empty() {
                    return Err(AccessError::EmptyPath(r.to_owned()));
                }
                let right = r.chars().next().unwrap_or('r');
                Ok(Access::Dir {
                    right,
                    path: target.to_owned(),
                })
            }
            other => Err(AccessError::UnknownRight(other.to_owned())),
        }
    }

    /// The right as the user wrote it.
    pub fn right(&self) -> String {
        match self {
            Access::Dir { right, .. } => right.to_string(),
            Access::Net { listen: true, .. } => "listen".to_owned(),
            Access::Net { listen: false, .. } => "connect".to_owned(),
        }
    }

    /// The path or address.
    pub fn target(&self) -> String {
        match self {
            Access::Dir { path, .. } => path.clone(),
            Access::Net { target, .. } => target.to_string(),
        }
    }
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
    /// The seq of the revocation that reached it (its own, else its nearest revoked
    /// ancestor's).
    pub revoked_at: Option<u64>,
    /// How many keys it was derived through (0 for a key the host or kernel made).
    pub depth: usize,
    /// Every process the log shows receiving it, in order.
    pub holders: Vec<u64>,
    /// The first event that mentions the key.
    pub introduced_by: Event,
}

/// `derivation_tree`'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivationTree {
    /// From the root key down to the asked key (last).
    pub ancestry: Vec<KeyInfo>,
    /// Every key derived from it, parents before children (depth-first).
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

/// What one process reaches (`AuditLog::reach`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    pub process: u64,
    pub name: String,
    /// How it is reached from the asked process: the holder and the process or function key
    /// that designates it (`None` for the asked process itself).
    pub via: Option<(u64, KeyId)>,
    /// The keys it holds.
    pub holdings: Vec<Holding>,
}

impl AuditLog {
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
        m.holdings_of(process)
    }

    /// Everything `process` can reach: the keys it holds, then, through each process or
    /// function key among them (not revoked), what the designated process holds, and so on
    /// (breadth first, each process once).
    pub fn reach(&self, process: u64) -> Vec<Reach> {
        let m = Model::build(self);
        let mut out = Vec::new();
        let mut seen = BTreeSet::from([process]);
        let mut queue = VecDeque::from([(process, None)]);
        while let Some((p, via)) = queue.pop_front() {
            let holdings = m.holdings_of(p);
            for h in &holdings {
                if let Some(target) = designated_process(&h.key.kind, &h.key.scope) {
                    if seen.insert(target) {
                        queue.push_back((target, Some((p, h.key.key))));
                    }
                }
            }
            out.push(Reach {
                process: p,
                name: m.name(p).to_owned(),
                via,
                holdings,
            });
        }
        out
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
        self.who_can_access(
            &Access::Dir {
                right,
                path: path.to_owned(),
            },
            &|s: &str| s.to_owned(),
        )
    }

    /// Every process that can use `access` (live holdings only), with the chain of grants
    /// that gave it the key. A dir right is held by a dir key whose root covers the path, or
    /// a file key for exactly that path; `connect`/`listen` by a net key with that flag and a
    /// pattern that covers the address. `resolve` maps a scope path recorded in the log to
    /// the path the host sees now (symlinks followed, as the asked path was); paths are then
    /// compared by components after lexical normalization.
    pub fn who_can_access(
        &self,
        access: &Access,
        resolve: &dyn Fn(&str) -> String,
    ) -> Vec<Holding> {
        let m = Model::build(self);
        let mut resolved: BTreeMap<&str, String> = BTreeMap::new();
        let mut allowed = BTreeSet::new();
        for (&k, e) in &m.keys {
            let ok = match access {
                Access::Dir { right, path } => {
                    if !matches!(e.kind, "dir" | "file") || !e.rights.contains(*right) {
                        false
                    } else {
                        let root = resolved.entry(e.scope).or_insert_with(|| resolve(e.scope));
                        let (root, want) = (components(root), components(path));
                        if e.kind == "dir" {
                            want.starts_with(&root)
                        } else {
                            want == root
                        }
                    }
                }
                Access::Net { listen, target } => {
                    let flag = if *listen { "listen" } else { "connect" };
                    e.kind == "net"
                        && e.rights.split(',').any(|f| f == flag)
                        && e.scope
                            .split(',')
                            .filter_map(|p| HostPort::parse(p.trim()).ok())
                            .any(|p| p.covers(target))
                }
            };
            if ok {
                allowed.insert(k);
            }
        }
        m.live_holds()
            .filter(|((_, k), _)| allowed.contains(k))
            .filter_map(|((p, k), n)| m.holding(p, k, n))
            .collect()
    }

    /// The name of every process the log mentions (the latest it was given), by number.
    pub fn process_names(&self) -> BTreeMap<u64, String> {
        let mut names = BTreeMap::new();
        for r in &self.records {
            let e = &r.event;
            if let Some(f) = e.from {
                note_name(&mut names, f, &e.from_name);
            }
            note_name(&mut names, e.to, &e.to_name);
        }
        names
    }
}

fn note_name(names: &mut BTreeMap<u64, String>, p: u64, name: &str) {
    let slot = names.entry(p).or_default();
    if !name.is_empty() {
        name.clone_into(slot);
    }
}

/// The process a process key (`process N`) or function key (`function F of process N`)
/// designates.
pub(super) fn designated_process(kind: &str, scope: &str) -> Option<u64> {
    match kind {
        "process" => scope.strip_prefix("process ")?.parse().ok(),
        "function" => scope.rsplit_once(" of process ")?.1.parse().ok(),
        _ => None,
    }
}

/// Path components after lexical normalization.
pub(super) fn components(path: &str) -> Vec<&str> {
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

/// What the events say, rebuilt for a query.
pub(super) struct Model<'a> {
    log: &'a AuditLog,
    /// First event mentioning each key, with the first parent any event gave it.
    pub(super) keys: BTreeMap<KeyId, KeyEntry<'a>>,
    children: BTreeMap<KeyId, BTreeSet<KeyId>>,
    /// The seq of each key's own first revocation.
    revoked: BTreeMap<KeyId, u64>,
    /// Each key's revocation, its own or its nearest revoked ancestor's, and its depth
    /// (memoized once for all keys, so no query walks a long chain per key).
    status: BTreeMap<KeyId, (Option<u64>, usize)>,
    holds: BTreeMap<(u64, KeyId), u32>,
    /// Positions of the records that gave each (process, key), ascending.
    gifts: BTreeMap<(u64, KeyId), Vec<usize>>,
    /// The processes given each key, in the order they first got it.
    holders: BTreeMap<KeyId, Vec<u64>>,
    names: BTreeMap<u64, String>,
}

pub(super) struct KeyEntry<'a> {
    pub(super) first: &'a Event,
    pub(super) parent: Option<KeyId>,
    pub(super) kind: &'a str,
    pub(super) scope: &'a str,
    pub(super) rights: &'a str,
}

impl<'a> Model<'a> {
    pub(super) fn build(log: &'a AuditLog) -> Model<'a> {
        let mut m = Model {
            log,
            keys: BTreeMap::new(),
            children: BTreeMap::new(),
            revoked: BTreeMap::new(),
            status: BTreeMap::new(),
            holds: BTreeMap::new(),
            gifts: BTreeMap::new(),
            holders: BTreeMap::new(),
            names: log.process_names(),
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
                    m.revoked.entry(e.key).or_insert(e.seq);
                }
                Op::Drop => {
                    if let Some(n) = m.holds.get_mut(&(e.to, e.key)) {
                        *n = n.saturating_sub(1);
                    }
                }
                _ => {
                    let n = m.holds.entry((e.to, e.key)).or_default();
                    *n = n.saturating_add(1);
                    let gifts = m.gifts.entry((e.to, e.key)).or_default();
                    if gifts.is_empty() {
                        m.holders.entry(e.key).or_default().push(e.to);
                    }
                    gifts.push(i);
                }
            }
        }
        m.settle_status();
        m
    }

    /// Fills `status` for every key: walks up from each key until a settled key, a root or
    /// a cycle, then settles the path top down. Each key is walked once.
    fn settle_status(&mut self) {
        let all: Vec<KeyId> = self.keys.keys().copied().collect();
        for start in all {
            let mut path = Vec::new();
            let mut on_path = BTreeSet::new();
            let mut at = Some(start);
            while let Some(k) = at {
                if self.status.contains_key(&k) || !on_path.insert(k) {
                    break;
                }
                path.push(k);
                at = self.keys.get(&k).and_then(|e| e.parent);
            }
            for k in path.into_iter().rev() {
                let own = self.revoked.get(&k).copied();
                let above = self
                    .keys
                    .get(&k)
                    .and_then(|e| e.parent)
                    .and_then(|p| self.status.get(&p))
                    .copied();
                let status = match above {
                    Some((revoked, depth)) => (own.or(revoked), depth + 1),
                    None => (own, 0),
                };
                self.status.insert(k, status);
            }
        }
    }

    pub(super) fn name(&self, process: u64) -> &str {
        self.names.get(&process).map_or("", String::as_str)
    }

    /// Ancestors nearest first; stops at a cycle.
    pub(super) fn ancestors(&self, key: KeyId) -> Vec<KeyId> {
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

    pub(super) fn descendants(&self, key: KeyId) -> impl Iterator<Item = KeyId> {
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

    pub(super) fn children(&self, key: KeyId) -> impl DoubleEndedIterator<Item = KeyId> + '_ {
        self.children.get(&key).into_iter().flatten().copied()
    }

    pub(super) fn revoked_at(&self, key: KeyId) -> Option<u64> {
        self.status.get(&key).and_then(|s| s.0)
    }

    /// The seq of the key's own revocation (not an ancestor's).
    pub(super) fn own_revocation(&self, key: KeyId) -> Option<u64> {
        self.revoked.get(&key).copied()
    }

    pub(super) fn is_revoked(&self, key: KeyId) -> bool {
        self.revoked_at(key).is_some()
    }

    pub(super) fn info(&self, key: KeyId) -> Option<KeyInfo> {
        let e = self.keys.get(&key)?;
        let (revoked_at, depth) = self.status.get(&key).copied().unwrap_or((None, 0));
        let holders = self.holders.get(&key).cloned().unwrap_or_default();
        Some(KeyInfo {
            key,
            parent: e.parent,
            kind: e.kind.to_owned(),
            scope: e.scope.to_owned(),
            rights: e.rights.to_owned(),
            revoked: revoked_at.is_some(),
            revoked_at,
            depth,
            holders,
            introduced_by: e.first.clone(),
        })
    }

    pub(super) fn live_holds(&self) -> impl Iterator<Item = ((u64, KeyId), u32)> + '_ {
        self.holds
            .iter()
            .filter(|&(&(_, k), &n)| n > 0 && !self.is_revoked(k))
            .map(|(&pk, &n)| (pk, n))
    }

    fn holdings_of(&self, process: u64) -> Vec<Holding> {
        self.holds
            .range((process, KeyId(0))..=(process, KeyId(u64::MAX)))
            .filter(|&(&(_, k), &n)| n > 0 && !self.is_revoked(k))
            .filter_map(|(&(p, k), &n)| self.holding(p, k, n))
            .collect()
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
    pub(super) fn chain(&self, process: u64, key: KeyId) -> Vec<Event> {
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
