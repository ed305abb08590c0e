//! Keys and c-lists: what a key designates (`KeyKind`), the kernel-wide store of key objects
//! (`KeyTable`) and a process's slot table (`Clist`).
//!
//! This module owns the identity, derivation and revocation of keys and the mapping from a
//! process's slot handles to keys. It does no I/O: a key only *describes* authority; the
//! gateways in `caps/` exercise it.
//!
//! **Invariant: attenuation only narrows.** `KeyTable::derive` accepts a kind only if
//! `KeyKind::attenuate` does: rights ⊆ the parent's, a dir root inside the parent's root
//! (path components only), net patterns each covered by one of the parent's. A forwarder
//! designates exactly its parent.
//!
//! **Invariant: revocation is transitive.** A key is revoked if it or any ancestor is. `revoke`
//! marks the whole subtree (iteratively, through the children index) and `is_revoked` also
//! walks the ancestors, so neither alone has to be trusted.
//!
//! **Invariant: parents are older.** Ids come from a counter and a parent exists before its
//! child, so `parent < child` for every key. Ancestor walks therefore end, and a deserialized
//! table that breaks this (a cycle) is refused.
//!
//! **Invariant: stale handles never alias.** A slot's generation is bumped when its key is
//! dropped; a handle is honoured only while its generation matches. A slot whose generation
//! would wrap is retired instead of reused. The free list is part of the serialized state, so
//! a restored c-list hands out the same handles as the original would have (DESIGN.md, "Slots
//! and serialization").

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Kernel-wide identity of a key object. Allocated from `KeyTable`'s counter, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId(pub u64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {}", self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Rights

/// Rights of a dir or file key: a set of the letters `r` read, `w` write, `c` create,
/// `d` delete, `l` list.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct DirRights(u8);

/// The right letters in canonical order; bit `i` of a `DirRights` is `LETTERS[i]`.
const LETTERS: [char; 5] = ['r', 'w', 'c', 'd', 'l'];
const ALL_BITS: u8 = (1 << LETTERS.len()) - 1;

/// A rights string held a letter that is not a right.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown right '{letter}' in \"{text}\" (rights are r read, w write, c create, d delete, l list)")]
pub struct RightsError {
    pub letter: char,
    pub text: String,
}

/// A serialized rights byte had bits outside the five rights.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid rights bits {0:#04x}")]
pub struct RightsBitsError(u8);

impl DirRights {
    pub const NONE: DirRights = DirRights(0);
    pub const READ: DirRights = DirRights(1);
    pub const WRITE: DirRights = DirRights(2);
    pub const CREATE: DirRights = DirRights(4);
    pub const DELETE: DirRights = DirRights(8);
    pub const LIST: DirRights = DirRights(16);
    pub const ALL: DirRights = DirRights(ALL_BITS);

    /// Parses letters such as `"rl"`; order and repetition do not matter.
    ///
    /// # Errors
    /// `RightsError` naming the first letter that is not a right.
    pub fn parse(text: &str) -> Result<DirRights, RightsError> {
        let mut bits = 0;
        for letter in text.chars() {
            bits |= DirRights::from_letter(letter)
                .ok_or_else(|| RightsError {
                    letter,
                    text: text.to_owned(),
                })?
                .0;
        }
        Ok(DirRights(bits))
    }

    /// The right named by one letter, if it is one.
    pub fn from_letter(letter: char) -> Option<DirRights> {
        LETTERS
            .iter()
            .position(|&l| l == letter)
            .map(|i| DirRights(1 << i))
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn contains(self, other: DirRights) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: DirRights) -> DirRights {
        DirRights(self.0 | other.0)
    }

    pub fn intersection(self, other: DirRights) -> DirRights {
        DirRights(self.0 & other.0)
    }

    /// The rights in `self` that `other` lacks.
    pub fn minus(self, other: DirRights) -> DirRights {
        DirRights(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl TryFrom<u8> for DirRights {
    type Error = RightsBitsError;
    fn try_from(bits: u8) -> Result<DirRights, RightsBitsError> {
        if bits & !ALL_BITS == 0 {
            Ok(DirRights(bits))
        } else {
            Err(RightsBitsError(bits))
        }
    }
}

impl From<DirRights> for u8 {
    fn from(r: DirRights) -> u8 {
        r.0
    }
}

/// Canonical letters in the order `rwcdl`; empty rights print as the empty string.
impl fmt::Display for DirRights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, letter) in LETTERS.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for DirRights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DirRights(\"{self}\")")
    }
}

// ---------------------------------------------------------------------------------------------
// Net patterns

/// The port part of a net pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PortPattern {
    /// `*`: any port.
    Any,
    Port(u16),
}

/// One `host:port` pattern of a net key; the port may be `*`. Hosts are compared as written,
/// ASCII-lowercased (no DNS: a name and its address are different scopes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HostPort {
    pub host: String,
    pub port: PortPattern,
}

/// A net pattern or spec that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetSpecError {
    #[error("net pattern \"{0}\" is not HOST:PORT (PORT a number or *)")]
    NotHostPort(String),
    #[error("net pattern \"{0}\" has an empty or invalid host")]
    BadHost(String),
    #[error("net pattern \"{0}\" has an invalid port (0..65535 or *)")]
    BadPort(String),
    #[error("net spec \"{0}\" has no patterns")]
    Empty(String),
}

impl HostPort {
    /// Parses `host:port` or `host:*`; an IPv6 host is written in brackets (`[::1]:80`).
    ///
    /// # Errors
    /// `NetSpecError` saying which part is wrong.
    pub fn parse(text: &str) -> Result<HostPort, NetSpecError> {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| NetSpecError::NotHostPort(text.to_owned()))?;
        // A bare IPv6 address has colons in the host part; require brackets so that the last
        // colon is always the port separator.
        let bad_host = host.is_empty()
            || host.contains('*')
            || host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',')
            || (host.contains(':') && !(host.starts_with('[') && host.ends_with(']')));
        if bad_host {
            return Err(NetSpecError::BadHost(text.to_owned()));
        }
        let port = if port == "*" {
            PortPattern::Any
        } else {
            PortPattern::Port(
                port.parse::<u16>()
                    .map_err(|_| NetSpecError::BadPort(text.to_owned()))?,
            )
        };
        Ok(HostPort {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// True if every address this pattern allows is allowed by `self`.
    pub fn covers(&self, other: &HostPort) -> bool {
        self.host == other.host
            && match (self.port, other.port) {
                (PortPattern::Any, _) => true,
                (PortPattern::Port(a), PortPattern::Port(b)) => a == b,
                (PortPattern::Port(_), PortPattern::Any) => false,
            }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            PortPattern::Any => write!(f, "{}:*", self.host),
            PortPattern::Port(p) => write!(f, "{}:{p}", self.host),
        }
    }
}

/// A parsed net spec: `HOST:PORT[,HOST:PORT…][:connect|:listen|:connect+listen]`. `flags` is
/// `None` when the spec names no flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetSpec {
    pub patterns: Vec<HostPort>,
    /// `(connect, listen)` if the spec names them.
    pub flags: Option<(bool, bool)>,
}

impl NetSpec {
    /// # Errors
    /// `NetSpecError` for the first pattern that does not parse, or no patterns at all.
    pub fn parse(text: &str) -> Result<NetSpec, NetSpecError> {
        let (body, flags) = match text.rsplit_once(':') {
            Some((body, "connect")) => (body, Some((true, false))),
            Some((body, "listen")) => (body, Some((false, true))),
            Some((body, "connect+listen" | "listen+connect")) => (body, Some((true, true))),
            _ => (text, None),
        };
        let patterns = body
            .split(',')
            .map(|p| HostPort::parse(p.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if patterns.is_empty() {
            return Err(NetSpecError::Empty(text.to_owned()));
        }
        Ok(NetSpec { patterns, flags })
    }
}

// ---------------------------------------------------------------------------------------------
// Key kinds and attenuation

/// What a key designates, with its scope and rights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyKind {
    Console,
    Clock,
    Random,
    /// A directory: `root` is the display path (the host path the grant named, or the
    /// parent's root joined with a relative sub-path).
    Dir {
        root: String,
        rights: DirRights,
    },
    /// An open file (or the right to open one path); `path` is a display path.
    File {
        path: String,
        rights: DirRights,
    },
    Net {
        patterns: Vec<HostPort>,
        connect: bool,
        listen: bool,
    },
    /// A connected TCP socket; `peer` is the `host:port` it was opened to.
    Socket {
        peer: String,
    },
    /// A listening TCP socket; `local` is the `host:port` it listens on.
    Listener {
        local: String,
    },
    /// A process, by process id.
    Process(u64),
    /// One function of a process (a Lua function that crossed as a key, or an import proxy).
    FarFunction {
        process: u64,
        function: u32,
    },
    /// A revocable proxy (`revocable(key)`) designating exactly `target`, its parent key.
    Forwarder {
        target: KeyId,
    },
}

/// Why a derived key was refused. Each variant names what was asked and what is missing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttenuationError {
    #[error("cannot derive a {asked} key from a {parent} key")]
    KindMismatch {
        asked: &'static str,
        parent: &'static str,
    },
    #[error("asked for rights '{asked}' but the parent key has '{parent}': missing '{missing}'")]
    Rights {
        asked: DirRights,
        parent: DirRights,
        missing: DirRights,
    },
    #[error("path \"{path}\" is not a relative path inside the key's root: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error("\"{asked}\" is outside the parent key's root \"{root}\"")]
    OutsideRoot { asked: String, root: String },
    #[error("net pattern {asked} is not covered by the parent key's patterns ({parent})")]
    NetPattern { asked: String, parent: String },
    #[error("asked for {flag} but the parent net key does not allow {flag}")]
    NetFlag { flag: &'static str },
    #[error("asked for {asked} but the parent key designates {parent}")]
    Scope { asked: String, parent: String },
    #[error("a forwarder must designate the key it is derived from")]
    Forwarder,
    #[error("net spec: {0}")]
    Spec(#[from] NetSpecError),
}

/// Checks that `path` is a relative path made of plain components.
///
/// # Errors
/// `AttenuationError::BadPath` with the reason.
pub fn check_relative_path(path: &str) -> Result<(), AttenuationError> {
    let bad = |reason| {
        Err(AttenuationError::BadPath {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return bad("empty path");
    }
    if path.contains('\0') {
        return bad("NUL in path");
    }
    if path.starts_with('/') || path.starts_with('\\') {
        return bad("absolute path");
    }
    for component in path.split('/') {
        match component {
            "" => return bad("empty path component"),
            "." => return bad("'.' component"),
            ".." => return bad("'..' component"),
            // A backslash is a separator on some hosts; refuse it rather than guess.
            c if c.contains('\\') => return bad("backslash in path"),
            _ => {}
        }
    }
    Ok(())
}

/// `root` joined with the relative `path` (already checked).
fn join(root: &str, path: &str) -> String {
    if root.ends_with('/') {
        format!("{root}{path}")
    } else {
        format!("{root}/{path}")
    }
}

/// If `asked` is `root` or lies inside it, the relative remainder (`""` for `root` itself).
fn inside<'a>(root: &str, asked: &'a str) -> Result<&'a str, AttenuationError> {
    if asked == root {
        return Ok("");
    }
    let outside = || AttenuationError::OutsideRoot {
        asked: asked.to_owned(),
        root: root.to_owned(),
    };
    let rest = asked.strip_prefix(root).ok_or_else(outside)?;
    let rest = if root.ends_with('/') {
        rest
    } else {
        rest.strip_prefix('/').ok_or_else(outside)?
    };
    check_relative_path(rest)?;
    Ok(rest)
}

fn check_rights(asked: DirRights, parent: DirRights) -> Result<(), AttenuationError> {
    if parent.contains(asked) {
        Ok(())
    } else {
        Err(AttenuationError::Rights {
            asked,
            parent,
            missing: asked.minus(parent),
        })
    }
}

fn patterns_text(patterns: &[HostPort]) -> String {
    patterns
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl KeyKind {
    /// The kind's name as `tostring` and the audit log show it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            KeyKind::Console => "console",
            KeyKind::Clock => "clock",
            KeyKind::Random => "random",
            KeyKind::Dir { .. } => "dir",
            KeyKind::File { .. } => "file",
            KeyKind::Net { .. } => "net",
            KeyKind::Socket { .. } => "socket",
            KeyKind::Listener { .. } => "listener",
            KeyKind::Process(_) => "process",
            KeyKind::FarFunction { .. } => "function",
            KeyKind::Forwarder { .. } => "forwarder",
        }
    }

    /// The scope as text: a root or path, net patterns, a process; empty for console, clock,
    /// random. A forwarder's scope is its target's, which only `KeyTable::resolve` knows.
    pub fn scope(&self) -> String {
        match self {
            KeyKind::Console | KeyKind::Clock | KeyKind::Random | KeyKind::Forwarder { .. } => {
                String::new()
            }
            KeyKind::Dir { root, .. } => root.clone(),
            KeyKind::File { path, .. } => path.clone(),
            KeyKind::Net { patterns, .. } => patterns_text(patterns),
            KeyKind::Socket { peer } => peer.clone(),
            KeyKind::Listener { local } => local.clone(),
            KeyKind::Process(p) => format!("process {p}"),
            KeyKind::FarFunction { process, function } => {
                format!("function {function} of process {process}")
            }
        }
    }

    /// The rights as text: dir/file letters, net flags (`connect`, `listen`,
    /// `connect,listen`); empty for kinds without rights.
    pub fn rights_text(&self) -> String {
        match self {
            KeyKind::Dir { rights, .. } | KeyKind::File { rights, .. } => rights.to_string(),
            KeyKind::Net {
                connect, listen, ..
            } => match (connect, listen) {
                (true, true) => "connect,listen".to_owned(),
                (true, false) => "connect".to_owned(),
                (false, true) => "listen".to_owned(),
                (false, false) => String::new(),
            },
            _ => String::new(),
        }
    }

    /// The `tostring` text: kind and scope only, never a slot, key id or address, e.g.
    /// `dir: /data (rl)`.
    pub fn describe(&self) -> String {
        match self {
            KeyKind::Console | KeyKind::Clock | KeyKind::Random | KeyKind::Forwarder { .. } => {
                self.kind_name().to_owned()
            }
            KeyKind::Process(_) | KeyKind::FarFunction { .. } => self.scope(),
            KeyKind::Socket { .. } | KeyKind::Listener { .. } => {
                format!("{}: {}", self.kind_name(), self.scope())
            }
            _ => format!(
                "{}: {} ({})",
                self.kind_name(),
                self.scope(),
                self.rights_text()
            ),
        }
    }

    /// Checks that `narrower` designates no more than `self` and returns it.
    ///
    /// Allowed: the same kind with the same or a smaller scope and rights; a file inside a
    /// dir's root with a subset of its rights; one function of a process. A forwarder cannot be
    /// derived here: it designates a key, and only `KeyTable::derive` knows which.
    ///
    /// # Errors
    /// `AttenuationError` naming what was asked and what is missing.
    pub fn attenuate(&self, narrower: &KeyKind) -> Result<KeyKind, AttenuationError> {
        use KeyKind as K;
        let mismatch = || AttenuationError::KindMismatch {
            asked: narrower.kind_name(),
            parent: self.kind_name(),
        };
        let scope = || AttenuationError::Scope {
            asked: narrower.scope(),
            parent: self.scope(),
        };
        match (self, narrower) {
            (K::Console, K::Console) | (K::Clock, K::Clock) | (K::Random, K::Random) => {}
            (
                K::Dir { root, rights },
                K::Dir {
                    root: r2,
                    rights: g2,
                },
            ) => {
                inside(root, r2)?;
                check_rights(*g2, *rights)?;
            }
            (K::Dir { root, rights }, K::File { path, rights: g2 }) => {
                if inside(root, path)?.is_empty() {
                    return Err(AttenuationError::BadPath {
                        path: path.clone(),
                        reason: "a file key needs a path below the dir's root",
                    });
                }
                check_rights(*g2, *rights)?;
            }
            (
                K::File { path, rights },
                K::File {
                    path: p2,
                    rights: g2,
                },
            ) => {
                if path != p2 {
                    return Err(AttenuationError::OutsideRoot {
                        asked: p2.clone(),
                        root: path.clone(),
                    });
                }
                check_rights(*g2, *rights)?;
            }
            (
                K::Net {
                    patterns,
                    connect,
                    listen,
                },
                K::Net {
                    patterns: p2,
                    connect: c2,
                    listen: l2,
                },
            ) => {
                for asked in p2 {
                    if !patterns.iter().any(|p| p.covers(asked)) {
                        return Err(AttenuationError::NetPattern {
                            asked: asked.to_string(),
                            parent: patterns_text(patterns),
                        });
                    }
                }
                if *c2 && !*connect {
                    return Err(AttenuationError::NetFlag { flag: "connect" });
                }
                if *l2 && !*listen {
                    return Err(AttenuationError::NetFlag { flag: "listen" });
                }
            }
            // A connection is narrower than the net key (or listener) it came from: the net
            // gateway checked its address against the patterns, after resolution, before it
            // was made.
            (K::Net { connect: true, .. }, K::Socket { .. })
            | (K::Net { listen: true, .. }, K::Listener { .. })
            | (K::Listener { .. }, K::Socket { .. }) => {}
            (K::Socket { .. }, K::Socket { .. }) | (K::Listener { .. }, K::Listener { .. }) => {
                if self != narrower {
                    return Err(scope());
                }
            }
            (K::Process(p), K::Process(p2)) => {
                if p != p2 {
                    return Err(scope());
                }
            }
            (K::Process(p), K::FarFunction { process, .. }) => {
                if p != process {
                    return Err(scope());
                }
            }
            (K::FarFunction { .. }, K::FarFunction { .. }) => {
                if self != narrower {
                    return Err(scope());
                }
            }
            (K::Forwarder { .. }, _) | (_, K::Forwarder { .. }) => {
                return Err(AttenuationError::Forwarder)
            }
            _ => return Err(mismatch()),
        }
        Ok(narrower.clone())
    }

    /// `dir:sub(path, rights)`: the dir at `path` below this one's root, with `rights`
    /// (the parent's rights when `None`). The path `.` names the root itself: the new key has
    /// the same root (so `sub(".", "r")` is a read-only view of the same directory).
    ///
    /// # Errors
    /// `AttenuationError` for a non-dir key, a path that is not plain relative components, or
    /// rights the parent lacks.
    pub fn sub_dir(
        &self,
        path: &str,
        rights: Option<DirRights>,
    ) -> Result<KeyKind, AttenuationError> {
        let KeyKind::Dir { root, rights: have } = self else {
            return Err(AttenuationError::KindMismatch {
                asked: "dir",
                parent: self.kind_name(),
            });
        };
        let root = if path == "." {
            root.clone()
        } else {
            check_relative_path(path)?;
            join(root, path)
        };
        self.attenuate(&KeyKind::Dir {
            root,
            rights: rights.unwrap_or(*have),
        })
    }

    /// `net:restrict(spec)`: a net key limited to the spec's patterns; flags the spec does not
    /// name are kept from the parent.
    ///
    /// # Errors
    /// `AttenuationError` for a non-net key, a spec that does not parse, or patterns/flags the
    /// parent lacks.
    pub fn restrict_net(&self, spec: &str) -> Result<KeyKind, AttenuationError> {
        let KeyKind::Net {
            connect, listen, ..
        } = self
        else {
            return Err(AttenuationError::KindMismatch {
                asked: "net",
                parent: self.kind_name(),
            });
        };
        let spec = NetSpec::parse(spec)?;
        let (c, l) = spec.flags.unwrap_or((*connect, *listen));
        self.attenuate(&KeyKind::Net {
            patterns: spec.patterns,
            connect: c,
            listen: l,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The key table

/// One key object in the kernel-wide table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyObject {
    pub id: KeyId,
    pub parent: Option<KeyId>,
    pub kind: KeyKind,
    pub revoked: bool,
    /// How many slots (or in-flight references) hold this key.
    pub holders: u32,
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

// ---------------------------------------------------------------------------------------------
// C-lists

/// A process's reference to one of its slots. Opaque to Lua; never crosses processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotHandle {
    pub index: u32,
    pub generation: u32,
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
    slots: Vec<Slot>,
    /// Empty, unretired slots; the last is reused first.
    free: Vec<u32>,
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

#[cfg(test)]
mod tests;
