//! What a key designates: `KeyKind`, its text (`kind_name`, `scope`, `rights_text`,
//! `describe`), and attenuation (`attenuate`, `sub_dir`, `restrict_net`) with its errors.
//!
//! **Invariant: attenuation only narrows.** `KeyTable::derive` accepts a kind only if
//! `KeyKind::attenuate` does: rights ⊆ the parent's, a dir root inside the parent's root
//! (path components only), net patterns each covered by one of the parent's. A forwarder
//! designates exactly its parent.

use serde::{Deserialize, Serialize};

use super::{DirRights, HostPort, KeyId, NetSpec, NetSpecError};

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

    /// What this key may stand in for a `recorded` one of the same kind (a snapshot's hole
    /// filled by its restorer): this key's own scope narrowed to the recorded rights — dir
    /// rights in both, net patterns both allow and flags both set. `None` for another kind,
    /// or a kind whose scope is an identity (process, file, socket). Never more than `self`
    /// (`self.attenuate(&meet)` holds) nor more rights than `recorded`.
    pub fn meet(&self, recorded: &KeyKind) -> Option<KeyKind> {
        use KeyKind as K;
        match (self, recorded) {
            (K::Console, K::Console) | (K::Clock, K::Clock) | (K::Random, K::Random) => {
                Some(self.clone())
            }
            (K::Dir { root, rights }, K::Dir { rights: was, .. }) => Some(K::Dir {
                root: root.clone(),
                rights: rights.intersection(*was),
            }),
            (
                K::Net {
                    patterns,
                    connect,
                    listen,
                },
                K::Net {
                    patterns: was,
                    connect: c2,
                    listen: l2,
                },
            ) => {
                let mut both: Vec<HostPort> = Vec::new();
                for p in patterns {
                    for w in was {
                        let narrower = if p.covers(w) {
                            w
                        } else if w.covers(p) {
                            p
                        } else {
                            continue;
                        };
                        if !both.contains(narrower) {
                            both.push(narrower.clone());
                        }
                    }
                }
                Some(K::Net {
                    patterns: both,
                    connect: *connect && *c2,
                    listen: *listen && *l2,
                })
            }
            _ => None,
        }
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
