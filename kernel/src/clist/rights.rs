//! Rights and scopes as users write them: `DirRights`, the letters `rwcdl` of dir and file
//! keys, and the `host:port` patterns of net keys (`HostPort`, `NetSpec`), parsed and printed.
//!
//! **Invariant:** a `DirRights` holds only the five rights' bits: parsing refuses any other
//! letter, deserializing any other bit. Net hosts are compared as written (ASCII-lowercased),
//! never resolved.

use std::fmt;

use serde::{Deserialize, Serialize};

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
