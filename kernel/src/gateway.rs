//! The boundary between the kernel and the host's gateways. The kernel does no I/O: a method
//! of a gateway key (dir, file, net, socket, listener, console, clock, random) becomes a
//! `Request` to the embedder's `Host`, which either answers at once or later, through
//! `Host::poll`, while the calling process waits and every other process keeps running.
//!
//! The kernel checks what it can before asking: the key is held, not revoked, and designates a
//! gateway of the method's kind; it charges fuel for the call, the bytes it hands over and the
//! most bytes the answer may hold (`ResultSize`) *before* the host does anything, bounds the
//! result by the caller's memory allowance and by what its fuel paid for (`Request::max_bytes`),
//! counts the objects that hold a descriptor against the caller's handle budget (`OPENS`), and
//! copies the answer into the caller's heap. The host checks rights and scope against its own objects (the caps
//! gateways are built from the key's `KeyKind` and narrow only).
//!
//! A method that yields a new key (`dir:sub`, `dir:open`, `net:restrict`, `net:connect`,
//! `listener:accept`) answers with `HostValue::Object`: the kernel checks that the object's
//! kind is what the called key may derive, derives the key (recorded in the audit log), and
//! tells the host which key the object now lives behind (`Host::bind`).
//!
//! **The method table** (arguments → results; `?` optional; bytes are Lua strings):
//!
//! | kind | method | arguments | results |
//! |---|---|---|---|
//! | dir | `read` | path | bytes |
//! | dir | `write`, `append` | path, bytes | — |
//! | dir | `list` | path? | list of records `{name, kind}` (kind: file, directory, symlink, other) |
//! | dir | `stat` | path | record `{kind, size, modified?}` |
//! | dir | `mkdir`, `remove` | path | — |
//! | dir | `open` | path, mode? ("r") | object (file) |
//! | dir | `sub` | path, rights? | object (dir) |
//! | file | `read` | n? (all) | bytes, or nil at end of file |
//! | file | `write` | bytes | — |
//! | file | `seek` | whence? ("cur"), offset? (0) | new position |
//! | file | `close` | — | — |
//! | net | `connect` | host, port | object (socket) |
//! | net | `listen` | host, port | object (listener) |
//! | net | `restrict` | spec | object (net) |
//! | socket | `send` | bytes | count sent |
//! | socket | `recv` | max | bytes, or nil at end of stream |
//! | socket, listener | `close` | — | — |
//! | listener | `accept` | — | object (socket) |
//! | console | `write` | bytes… | — |
//! | console | `readline` | prompt? | bytes, or nil at end of input |
//! | clock | `now` | — | seconds (float) |
//! | clock | `sleep` | seconds | — |
//! | random | `bytes` | n | bytes |
//! | random | `integer` | lo, hi | integer |
//!
//! `rights()` and `describe()` are answered by the kernel from the key's kind.

use crate::clist::{KeyId, KeyKind};

/// Every gateway kind with its methods, as key metatables show them. The native behind
/// method `m` of kind `k` is named `key.k.m` (registered by the standard library).
pub const METHODS: &[(&str, &[&str])] = &[
    (
        "dir",
        &[
            "read", "write", "append", "list", "stat", "mkdir", "remove", "open", "sub", "rights",
            "describe",
        ],
    ),
    (
        "file",
        &["read", "write", "seek", "close", "rights", "describe"],
    ),
    ("net", &["connect", "listen", "restrict", "describe"]),
    ("socket", &["send", "recv", "close", "describe"]),
    ("listener", &["accept", "close", "describe"]),
    ("console", &["write", "readline"]),
    ("clock", &["now", "sleep"]),
    ("random", &["bytes", "integer"]),
];

/// The methods whose answer is a host object holding a descriptor: each costs one unit of the
/// caller's `handles` budget while the object is open (`file`, `socket`, `listener`, and a
/// directory opened by `sub`, which holds one too).
pub const OPENS: &[(&str, &str)] = &[
    ("dir", "open"),
    ("dir", "sub"),
    ("net", "connect"),
    ("net", "listen"),
    ("listener", "accept"),
];

/// The methods that may create, truncate or remove a directory entry: they cost
/// `cost::FILE_SYSTEM_CHANGE_UNITS` instead of a plain call's price.
pub const CHANGES_FILE_SYSTEM: &[(&str, &str)] = &[
    ("dir", "write"),
    ("dir", "append"),
    ("dir", "mkdir"),
    ("dir", "remove"),
    ("dir", "open"),
];

/// Whether `kind:method` may create, truncate or remove a directory entry.
pub fn changes_file_system(kind: &str, method: &str) -> bool {
    CHANGES_FILE_SYSTEM.contains(&(kind, method))
}

/// The methods that close their key's object (its handle goes back to the budget).
pub const CLOSES: &[(&str, &str)] = &[
    ("file", "close"),
    ("socket", "close"),
    ("listener", "close"),
];

/// Whether `kind:method` opens a host object that counts against the handle budget.
pub fn opens(kind: &str, method: &str) -> bool {
    OPENS.contains(&(kind, method))
}

/// Whether `kind:method` closes its key's object.
pub fn closes(kind: &str, method: &str) -> bool {
    CLOSES.contains(&(kind, method))
}

/// How large a method's result may be, which the kernel prices (`cost::Work::Bytes`) before
/// the host does the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultSize {
    /// A number, a record, a key, nothing: covered by the call's own price.
    Fixed,
    /// At most this many bytes, as asked (`read(n)`, `recv(max)`, `bytes(n)`).
    Asked(u64),
    /// As much as the caller's memory allows (a whole file, a listing, a console line).
    Budget,
}

/// The result bound of `kind:method` called with `args` (the arguments after the key).
pub fn result_size(kind: &str, method: &str, args: &[HostValue]) -> ResultSize {
    let asked = |i: usize| match args.get(i) {
        Some(HostValue::Int(n)) => ResultSize::Asked((*n).max(0) as u64),
        Some(HostValue::Float(f)) if *f >= 0.0 => ResultSize::Asked(*f as u64),
        _ => ResultSize::Budget,
    };
    match (kind, method) {
        ("file", "read") if args.first().is_some_and(|a| *a != HostValue::Nil) => asked(0),
        ("socket", "recv") | ("random", "bytes") => asked(0),
        ("dir", "read" | "list") | ("file", "read") | ("console", "readline") => ResultSize::Budget,
        _ => ResultSize::Fixed,
    }
}

/// A value crossing between the kernel and the host: plain data, or a new host object.
#[derive(Clone, Debug, PartialEq)]
pub enum HostValue {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    /// Becomes a Lua sequence.
    List(Vec<HostValue>),
    /// Becomes a Lua table with these string keys.
    Record(Vec<(&'static str, HostValue)>),
    /// A host object the kernel should put behind a new key of `kind`, derived from the
    /// called key; `token` names it in `Host::bind`.
    Object {
        token: u64,
        kind: KeyKind,
    },
}

impl HostValue {
    /// Bytes this value takes (what the caller's heap will be charged, roughly).
    pub fn size(&self) -> usize {
        match self {
            HostValue::Bytes(b) => b.len() + 16,
            HostValue::List(v) => v.iter().map(HostValue::size).sum::<usize>() + 64,
            HostValue::Record(v) => v.iter().map(|(_, x)| x.size() + 16).sum::<usize>() + 64,
            _ => 16,
        }
    }
}

/// A method call on a gateway key.
#[derive(Clone, Debug)]
pub struct Request {
    /// Names the answer in `Host::poll` when the host cannot answer at once.
    pub ticket: u64,
    /// The key whose host object is called (through forwarders: the key they designate).
    pub key: KeyId,
    pub kind: KeyKind,
    pub method: String,
    pub args: Vec<HostValue>,
    /// The most bytes a result may hold: what the caller's memory budget allows, and no more
    /// than its fuel paid for. A result that would not fit fails with kind `memory`.
    pub max_bytes: usize,
}

/// A refusal or failure, raised in the calling process as a fault `{kind, message}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HostError {
    pub reason: HostFault,
    pub message: String,
}

/// Why the host refused or failed a request: what the kernel decides by (the fault's kind, a
/// hint for the missing right), never the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostFault {
    /// The key lacks `right` (of a dir or file key): kind `denied`.
    MissingRight { right: crate::clist::DirRights },
    /// The request reaches outside the key's scope (a path out of its root, a host or port
    /// it does not cover, rights it cannot widen to): kind `denied`.
    OutOfScope,
    /// The result would be larger than the caller's memory budget allows: kind `memory`.
    TooLarge,
    /// The operation failed (I/O, a malformed argument, an object that is gone): kind `error`.
    Failed,
}

impl HostFault {
    /// The kind of the fault the caller hears.
    pub const fn kind(self) -> crate::fault::FaultKind {
        use crate::fault::FaultKind;
        match self {
            HostFault::MissingRight { .. } | HostFault::OutOfScope => FaultKind::Denied,
            HostFault::TooLarge => FaultKind::Memory,
            HostFault::Failed => FaultKind::Error,
        }
    }
}

impl HostError {
    pub fn new(reason: HostFault, message: impl Into<String>) -> HostError {
        HostError {
            reason,
            message: message.into(),
        }
    }
}

/// What the host made of a request.
#[derive(Debug)]
pub enum Started {
    /// Answered at once.
    Done(Result<Vec<HostValue>, HostError>),
    /// Answered later, through `poll`, under the request's ticket.
    Pending,
}

/// The embedder's gateways.
pub trait Host {
    /// Starts a method call. Must not block: work that may wait (network, sleep, console
    /// input) is handed to I/O threads and answered through `poll`.
    fn start(&mut self, request: Request) -> Started;

    /// Answers of pending requests, waiting up to `wait` for the first one if none is ready
    /// (`None`: do not wait).
    fn poll(
        &mut self,
        wait: Option<std::time::Duration>,
    ) -> Vec<(u64, Result<Vec<HostValue>, HostError>)>;

    /// How many requests are pending (if none, waiting for an answer would never end).
    fn pending(&self) -> usize;

    /// The object `token` of an answer now lives behind `key`.
    fn bind(&mut self, token: u64, key: KeyId);

    /// `key` is gone (no slot holds it): its host object may be dropped.
    fn release(&mut self, key: KeyId);
}
