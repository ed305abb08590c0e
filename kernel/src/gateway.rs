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
//! | dir | `rename` | from, to (`d` on from; `w` and `c` on to) | — |
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

/// **The one table of gateway methods.** Each row: the variant, the key kind and method name
/// (the key metatables show it; the native behind it is `key.KIND.METHOD`), who answers it
/// (`Host`, or `Kernel` for what the key's kind alone says), what it does to the caller's
/// handle budget (`Opens` a host object holding a descriptor, `Closes` its key's object, or
/// `Keeps`), whether it may create, truncate or remove a directory entry (priced
/// `cost::FILE_SYSTEM_CHANGE_UNITS`), and how large its result may be (`Fixed`; `Budget`: as
/// much as the caller's memory allows; `Asked(i)`: at most argument `i` bytes; `AskedOr(i)`:
/// that, or `Budget` when argument `i` is absent). [`Method`] and everything it answers come
/// from here; adding a method is one row plus its host implementation.
#[macro_export]
macro_rules! for_each_method {
    ($m:ident) => {
        $m! {
            DirRead = "dir", "read", Host, Keeps, false, Budget;
            DirWrite = "dir", "write", Host, Keeps, true, Fixed;
            DirAppend = "dir", "append", Host, Keeps, true, Fixed;
            DirList = "dir", "list", Host, Keeps, false, Budget;
            DirStat = "dir", "stat", Host, Keeps, false, Fixed;
            DirMkdir = "dir", "mkdir", Host, Keeps, true, Fixed;
            DirRemove = "dir", "remove", Host, Keeps, true, Fixed;
            DirRename = "dir", "rename", Host, Keeps, true, Fixed;
            DirOpen = "dir", "open", Host, Opens, true, Fixed;
            DirSub = "dir", "sub", Host, Opens, false, Fixed;
            DirRights = "dir", "rights", Kernel, Keeps, false, Fixed;
            DirDescribe = "dir", "describe", Kernel, Keeps, false, Fixed;
            FileRead = "file", "read", Host, Keeps, false, AskedOr(0);
            FileWrite = "file", "write", Host, Keeps, false, Fixed;
            FileSeek = "file", "seek", Host, Keeps, false, Fixed;
            FileClose = "file", "close", Host, Closes, false, Fixed;
            FileRights = "file", "rights", Kernel, Keeps, false, Fixed;
            FileDescribe = "file", "describe", Kernel, Keeps, false, Fixed;
            NetConnect = "net", "connect", Host, Opens, false, Fixed;
            NetListen = "net", "listen", Host, Opens, false, Fixed;
            NetRestrict = "net", "restrict", Host, Keeps, false, Fixed;
            NetDescribe = "net", "describe", Kernel, Keeps, false, Fixed;
            SocketSend = "socket", "send", Host, Keeps, false, Fixed;
            SocketRecv = "socket", "recv", Host, Keeps, false, Asked(0);
            SocketClose = "socket", "close", Host, Closes, false, Fixed;
            SocketDescribe = "socket", "describe", Kernel, Keeps, false, Fixed;
            ListenerAccept = "listener", "accept", Host, Opens, false, Fixed;
            ListenerClose = "listener", "close", Host, Closes, false, Fixed;
            ListenerDescribe = "listener", "describe", Kernel, Keeps, false, Fixed;
            ConsoleWrite = "console", "write", Host, Keeps, false, Fixed;
            ConsoleReadline = "console", "readline", Host, Keeps, false, Budget;
            ClockNow = "clock", "now", Host, Keeps, false, Fixed;
            ClockSleep = "clock", "sleep", Host, Keeps, false, Fixed;
            RandomBytes = "random", "bytes", Host, Keeps, false, Asked(0);
            RandomInteger = "random", "integer", Host, Keeps, false, Fixed;
        }
    };
}

/// Who answers a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnsweredBy {
    /// The embedder's `Host`, from the key's object.
    Host,
    /// The kernel, from the key's kind (`rights`, `describe`).
    Kernel,
}

/// What a method does to the caller's handle budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleEffect {
    /// Its answer is a host object holding a descriptor: one unit of the caller's `handles`
    /// budget while it is open (a directory opened by `sub` holds one too).
    Opens,
    /// It closes its key's object: the unit goes back.
    Closes,
    Keeps,
}

/// How a method's result is bounded, before the host works (see `result_size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultRule {
    Fixed,
    Budget,
    Asked(usize),
    AskedOr(usize),
}

macro_rules! declare_methods {
    ($($variant:ident = $kind:literal, $name:literal, $by:ident, $handle:ident, $fs:literal,
       $result:ident $(($arg:literal))?;)*) => {
        /// A gateway method (the rows of [`for_each_method!`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Method {
            $($variant,)*
        }

        impl Method {
            /// Every method, in table order.
            pub const ALL: &'static [Method] = &[$(Method::$variant),*];

            /// The key kind it belongs to.
            pub const fn kind(self) -> &'static str {
                match self { $(Method::$variant => $kind,)* }
            }

            /// Its name, as the key metatable shows it.
            pub const fn name(self) -> &'static str {
                match self { $(Method::$variant => $name,)* }
            }

            /// The name of the native behind it (`key.KIND.METHOD`).
            pub const fn native_name(self) -> &'static str {
                match self { $(Method::$variant => concat!("key.", $kind, ".", $name),)* }
            }

            pub const fn answered_by(self) -> AnsweredBy {
                match self { $(Method::$variant => AnsweredBy::$by,)* }
            }

            pub const fn handle_effect(self) -> HandleEffect {
                match self { $(Method::$variant => HandleEffect::$handle,)* }
            }

            /// Whether it may create, truncate or remove a directory entry.
            pub const fn changes_file_system(self) -> bool {
                match self { $(Method::$variant => $fs,)* }
            }

            pub const fn result_rule(self) -> ResultRule {
                match self { $(Method::$variant => ResultRule::$result $(($arg))?,)* }
            }
        }
    };
}

for_each_method!(declare_methods);

impl Method {
    /// The method `name` of key kind `kind`.
    pub fn find(kind: &str, name: &str) -> Option<Method> {
        Method::ALL
            .iter()
            .copied()
            .find(|m| m.kind() == kind && m.name() == name)
    }

    /// The method behind the native named `native` (`key.KIND.METHOD`).
    pub fn of_native(native: &str) -> Option<Method> {
        Method::ALL
            .iter()
            .copied()
            .find(|m| m.native_name() == native)
    }

    /// The methods of key kind `kind`, in table order.
    pub fn of_kind(kind: &str) -> impl Iterator<Item = Method> + '_ {
        Method::ALL
            .iter()
            .copied()
            .filter(move |m| m.kind() == kind)
    }

    /// Whether it opens a host object that counts against the handle budget.
    pub fn opens(self) -> bool {
        self.handle_effect() == HandleEffect::Opens
    }

    /// Whether it closes its key's object.
    pub fn closes(self) -> bool {
        self.handle_effect() == HandleEffect::Closes
    }

    /// The result bound of a call with `args` (the arguments after the key).
    pub fn result_size(self, args: &[HostValue]) -> ResultSize {
        let asked = |i: usize| match args.get(i) {
            Some(HostValue::Int(n)) => ResultSize::Asked((*n).max(0) as u64),
            Some(HostValue::Float(f)) if *f >= 0.0 => ResultSize::Asked(*f as u64),
            _ => ResultSize::Budget,
        };
        match self.result_rule() {
            ResultRule::Fixed => ResultSize::Fixed,
            ResultRule::Budget => ResultSize::Budget,
            ResultRule::Asked(i) => asked(i),
            ResultRule::AskedOr(i) if args.get(i).is_some_and(|a| *a != HostValue::Nil) => asked(i),
            ResultRule::AskedOr(_) => ResultSize::Budget,
        }
    }
}

/// The key kinds that have gateway methods, in table order.
pub fn gateway_kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = Vec::new();
    for m in Method::ALL {
        if !kinds.contains(&m.kind()) {
            kinds.push(m.kind());
        }
    }
    kinds
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
    /// Lua's name for an argument's type (`luaL_typename`); `no value` for a missing one.
    pub fn type_name_of(v: Option<&HostValue>) -> &'static str {
        match v {
            None => "no value",
            Some(HostValue::Nil) => "nil",
            Some(HostValue::Bool(_)) => "boolean",
            Some(HostValue::Int(_) | HostValue::Float(_)) => "number",
            Some(HostValue::Bytes(_)) => "string",
            Some(HostValue::List(_) | HostValue::Record(_)) => "table",
            Some(HostValue::Object { .. }) => "userdata",
        }
    }

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
    pub method: Method,
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
    /// The result would be larger than the caller's budget allows (`max_bytes`), and nothing
    /// was done: the kernel suspends the caller out of memory (or fuel, when fuel bounded
    /// `max_bytes`) and makes the request again once it is resumed.
    TooLarge,
    /// The result came larger than `max_bytes` and is gone (a console line read past the
    /// limit): kind `memory`, a fault, since making the request again would not see it.
    Overran,
    /// The operation failed (I/O, a malformed argument, an object that is gone): kind `error`.
    Failed,
}

impl HostFault {
    /// The kind of the fault the caller hears.
    pub const fn kind(self) -> crate::fault::FaultKind {
        use crate::fault::FaultKind;
        match self {
            HostFault::MissingRight { .. } | HostFault::OutOfScope => FaultKind::Denied,
            HostFault::TooLarge | HostFault::Overran => FaultKind::Memory,
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

    /// Whether a `poll(None)` would do nothing, now and until the next `start`: nothing is
    /// pending and nothing else waits for the host's attention. The kernel polls before
    /// every slice only while this is false. (The default never says so.)
    fn quiet(&self) -> bool {
        false
    }

    /// The object `token` of an answer now lives behind `key`.
    fn bind(&mut self, token: u64, key: KeyId);

    /// `key` is gone (no slot holds it): its host object may be dropped.
    fn release(&mut self, key: KeyId);
}

/// A gateway call waiting for the host: its ticket, the key the caller used, and what was
/// reserved for its answer.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct PendingIo {
    pub(crate) ticket: u64,
    pub(crate) key: KeyId,
    #[serde(default)]
    pub(crate) reserved: Reservation,
}

/// What a request paid for before the host started it.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Reservation {
    /// Fuel charged for the answer's bytes (the unused part is given back).
    pub(crate) fuel: u64,
    /// The answer's bound was lowered to what the fuel paid for.
    pub(crate) fuel_bounded: bool,
    /// One unit of the caller's handle chain is reserved for the object the answer opens.
    pub(crate) handle: bool,
    /// The object this request closes, if it is a `close`.
    pub(crate) closes: Option<KeyId>,
}
