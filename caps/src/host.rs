//! `Gateways`: the embedder's `kernel::gateway::Host`, the one place where a key's method call
//! meets the caps gateways.
//!
//! It owns the host object behind every gateway key (`Object`: a dir, file, net, socket,
//! listener, console, clock or random gateway) by `KeyId`, the objects that methods made and
//! the kernel has not yet put behind a key (by token), the I/O pool where blocking work runs,
//! and the requests in flight. The embedder attaches the root keys' objects (`attach_dir`,
//! `attach_net`, …); the kernel calls `start`, `poll`, `pending`, `bind` and `release` from its
//! one thread. Method names, arguments and results are the method table of `kernel::gateway`.
//!
//! The pool carries this module's `Completion`, the join of what the gateways' jobs produce (a
//! net job's `NetCompletion`, a clock's `Slept`, a console line): each gateway builds its jobs
//! straight into it through `From`, and knows neither the pool's other users nor this type.
//!
//! **Invariant: the caller's thread never waits on anything unbounded.** Network operations
//! (connect, listen with its name resolution, accept, send, recv), console input and sleeps go
//! to the `IoPool` (socket and listener jobs with the socket's abort hook) and are answered
//! through `poll`; console input is read on a reader thread of its own (`input.rs`).
//! Filesystem methods and `restrict`, `now`, `bytes`, `integer`, `write` and every `close` run
//! inline: their work is bounded by the bytes they move (regular files only; a FIFO is opened
//! non-blocking and refused), which the kernel charges as fuel. `poll` blocks only when its
//! caller asks it to wait.
//!
//! **Invariant: every request answered `Started::Pending` is answered exactly once by
//! `poll`.** Each pending request gets a ticket of the host's own (the kernel's tickets are
//! only carried back), the pool answers every ticket it accepted exactly once, and the ticket
//! leaves `inflight` when its answer is handed out. `pending()` counts `inflight`.
//!
//! **Invariant: an object lives behind exactly one key once bound.** A method that makes an
//! object answers `HostValue::Object { token, kind }` and keeps the object under `token` until
//! `bind(token, key)` moves it under `key` (the token is then spent). Objects whose token is
//! never bound (the kernel refused the derived kind, or its process is gone) are closed after
//! `UNBOUND_TTL`. `release(key)` closes the object (a socket or listener is shut down, which
//! wakes a pending `recv` or `accept`: that request is still answered, as "closed").
//!
//! **Invariant: results never exceed `Request::max_bytes`.** Byte results (dir and file
//! reads, `recv`, console lines, random bytes) are bounded by it before they are allocated
//! (`recv`'s `max` is clamped to it); a listing is bounded by `HostValue::size`. A result that
//! would not fit fails with kind `memory`. Fixed-size results (numbers, `stat`) are not bounded.
//!
//! **Errors** are `HostError`s: `denied` for a missing right, a path or address outside the
//! key's scope (including paths that try to leave it: absolute, `..`, symlinks out) and
//! attenuation that would widen; `memory` for results over the limit; `error` for everything
//! else (bad arguments, with `lauxlib`'s wording; I/O failures). Messages are the gateways',
//! which name the path or scope and the right.
//!
//! **Deterministic mode** is the embedder's choice of objects: a `Clock::Virtual` and
//! `Random::seeded`. When `poll` is asked to wait and nothing is ready, every virtual clock
//! with sleepers advances to its earliest deadline (`VirtualClock::advance`) before any real
//! waiting: virtual sleeps take no real time and never wait for real I/O.

mod args;
mod input;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::BufRead;
use std::time::{Duration, Instant};

use kernel::clist::{AttenuationError, DirRights, KeyId, KeyKind};
use kernel::gateway::{Host, HostError, HostFault, HostValue, Method, Request, Started};

use crate::clock::{Clock, Slept, VirtualClock};
use crate::console::Console;
use crate::fs::{DirGateway, FileGateway, FsError, Whence};
use crate::net::{ListenerGateway, NetCompletion, NetError, NetGateway, NetReason, SocketGateway};
use crate::pool::{Abort, IoPool, Panicked, PoolConfig, PoolError};
use crate::random::{Random, RandomError};

use args::Args;
use input::{InputError, LineInput};

/// How long an object made by a method waits for `bind` before it is closed. The kernel binds
/// when it delivers the answer, so a minute is ample margin; an unbound socket holds its
/// descriptor at most this long.
pub const UNBOUND_TTL: Duration = Duration::from_secs(60);

/// The smallest `HostValue::size` of one `dir:list` entry (a record of two byte strings, the
/// kind at least four bytes): listings are bounded by `max_bytes / LIST_ENTRY_MIN` entries
/// before they are read.
const LIST_ENTRY_MIN: usize = 64 + 2 * 32 + 4;

/// The host object behind a gateway key.
enum Object {
    Dir(DirGateway),
    File(FileGateway),
    Net(NetGateway),
    Socket(SocketGateway),
    Listener(ListenerGateway),
    Console(ConsoleGateway),
    Clock(Clock),
    Random(Random),
}

impl Object {
    /// Lets go of the object: sockets and listeners are shut down (waking their pending
    /// operations), files closed. Other objects have nothing to close.
    fn close(self) {
        match self {
            Object::Socket(s) => s.close(),
            Object::Listener(l) => l.close(),
            // Closing twice fails as "closed": nothing to report here.
            Object::File(f) => {
                let _ = f.close();
            }
            Object::Dir(_)
            | Object::Net(_)
            | Object::Console(_)
            | Object::Clock(_)
            | Object::Random(_) => {}
        }
    }
}

/// A console key's object: buffered output, and an input source for `readline` if the
/// embedder gave one (without one, `readline` is at end of input at once).
struct ConsoleGateway {
    console: Console,
    input: Option<LineInput>,
}

/// What a pending request will produce, to read its completion.
#[derive(Clone, Copy, Debug)]
enum Op {
    Connect,
    Listen,
    Accept,
    Send,
    Recv,
    Sleep,
    /// A console line of at most `max` bytes.
    Readline {
        max: usize,
    },
}

/// What a job on our pool produced: the gateways' own completions, joined.
#[derive(Debug)]
enum Completion {
    Net(NetCompletion),
    Slept,
    /// A console line (which may hold `max + 1` bytes: it was longer than `max`), `None` at
    /// end of input.
    Line(Result<Option<Vec<u8>>, InputError>),
    Panicked(Panicked),
}

impl From<NetCompletion> for Completion {
    fn from(c: NetCompletion) -> Completion {
        Completion::Net(c)
    }
}

impl From<Slept> for Completion {
    fn from(_: Slept) -> Completion {
        Completion::Slept
    }
}

impl From<Panicked> for Completion {
    fn from(p: Panicked) -> Completion {
        Completion::Panicked(p)
    }
}

/// A pool job of ours.
type Job = crate::pool::Job<Completion>;

/// A request the pool will answer.
struct InFlight {
    /// The kernel's ticket, given back with the answer.
    ticket: u64,
    op: Op,
}

/// How the work of a pending request is handed to the pool.
enum Later {
    Job(Job),
    Abortable(Job, Abort),
    Sleep(Clock, f64),
}

/// What a method made of a request.
enum Answer {
    Now(Vec<HostValue>),
    /// A new object, to keep under a token until `bind`, for a key of `kind`.
    New(Object, KeyKind),
    Later(Op, Later),
}

/// An object waiting for `bind`.
struct Unbound {
    object: Object,
    since: Instant,
}

/// The embedder's gateways: see the module documentation.
pub struct Gateways {
    objects: HashMap<KeyId, Object>,
    unbound: HashMap<u64, Unbound>,
    next_token: u64,
    inflight: HashMap<u64, InFlight>,
    next_ticket: u64,
    /// Distinct virtual clocks ever attached: `poll` advances them. Kept after their keys are
    /// released, since their sleepers are still owed an answer.
    virtual_clocks: Vec<VirtualClock>,
    unbound_ttl: Duration,
    /// Declared last: it is dropped (joining its threads) after `Drop` closed the objects.
    pool: IoPool<Completion>,
}

impl Drop for Gateways {
    /// Closes every object first, so that parked socket jobs wake before the pool (dropped
    /// next) aborts what still runs and joins its workers.
    fn drop(&mut self) {
        for (_, object) in self.objects.drain() {
            object.close();
        }
        for (_, u) in self.unbound.drain() {
            u.object.close();
        }
    }
}

impl std::fmt::Debug for Gateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateways")
            .field("objects", &self.objects.len())
            .field("unbound", &self.unbound.len())
            .field("pending", &self.inflight.len())
            .finish_non_exhaustive()
    }
}

impl Gateways {
    /// Gateways with an I/O pool of the default sizes, and no keys attached.
    ///
    /// # Errors
    /// None with the default sizes (the pool starts its threads when it has work).
    pub fn new() -> Result<Gateways, PoolError> {
        Gateways::with_pool(PoolConfig::default())
    }

    /// Gateways with an I/O pool of the given sizes.
    ///
    /// # Errors
    /// `PoolError::Config` for a bad configuration.
    pub fn with_pool(config: PoolConfig) -> Result<Gateways, PoolError> {
        Ok(Gateways {
            objects: HashMap::new(),
            unbound: HashMap::new(),
            next_token: 1,
            inflight: HashMap::new(),
            next_ticket: 1,
            virtual_clocks: Vec::new(),
            unbound_ttl: UNBOUND_TTL,
            pool: IoPool::with_config(config)?,
        })
    }

    fn attach(&mut self, key: KeyId, object: Object) {
        if let Some(old) = self.objects.insert(key, object) {
            old.close();
        }
    }

    /// Puts `dir` behind `key` (a root `dir` key whose kind has the gateway's rights). An
    /// object already behind `key` is closed.
    pub fn attach_dir(&mut self, key: KeyId, dir: DirGateway) {
        self.attach(key, Object::Dir(dir));
    }

    /// Puts `net` behind `key` (a root `net` key whose kind has the gateway's patterns and
    /// flags).
    pub fn attach_net(&mut self, key: KeyId, net: NetGateway) {
        self.attach(key, Object::Net(net));
    }

    /// Puts a console behind `key`: `console` takes `write`s (the embedder keeps a clone to
    /// flush it), `input` answers `readline` (read on a thread of its own; `None`: always at
    /// end of input).
    pub fn attach_console(
        &mut self,
        key: KeyId,
        console: Console,
        input: Option<Box<dyn BufRead + Send>>,
    ) {
        let input = input.map(LineInput::new);
        self.attach(key, Object::Console(ConsoleGateway { console, input }));
    }

    /// Puts a clock behind `key`. A `Clock::Virtual` (deterministic mode) is advanced by
    /// `poll` when nothing else is ready.
    pub fn attach_clock(&mut self, key: KeyId, clock: Clock) {
        if let Clock::Virtual(v) = &clock {
            if !self.virtual_clocks.iter().any(|c| c.same_as(v)) {
                self.virtual_clocks.push(v.clone());
            }
        }
        self.attach(key, Object::Clock(clock));
    }

    /// Puts a random generator behind `key` (`Random::seeded` in deterministic mode).
    pub fn attach_random(&mut self, key: KeyId, random: Random) {
        self.attach(key, Object::Random(random));
    }

    /// Whether an object is behind `key`.
    pub fn holds(&self, key: KeyId) -> bool {
        self.objects.contains_key(&key)
    }

    /// Objects made by methods and not yet bound to a key.
    pub fn unbound(&self) -> usize {
        self.unbound.len()
    }

    /// Keeps `object` until `bind`; returns its token.
    fn keep(&mut self, object: Object) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        self.unbound.insert(
            token,
            Unbound {
                object,
                since: Instant::now(),
            },
        );
        token
    }

    /// Closes objects that waited for `bind` longer than the TTL.
    fn sweep(&mut self) {
        if self.unbound.is_empty() {
            return;
        }
        let ttl = self.unbound_ttl;
        let now = Instant::now();
        let stale: Vec<u64> = self
            .unbound
            .iter()
            .filter(|(_, u)| now.saturating_duration_since(u.since) >= ttl)
            .map(|(&token, _)| token)
            .collect();
        for token in stale {
            if let Some(u) = self.unbound.remove(&token) {
                u.object.close();
            }
        }
    }

    /// Runs a request's method on its key's object.
    fn dispatch(&mut self, request: &Request) -> Result<Answer, HostError> {
        let object = self
            .objects
            .get_mut(&request.key)
            .ok_or_else(|| HostError::new(HostFault::Failed, "the key has no gateway here"))?;
        let args = Args::new(request.method.name(), &request.args);
        let method = request.method;
        let max = request.max_bytes;
        match object {
            Object::Dir(d) => dir_method(d, &request.kind, method, &args, max),
            Object::File(f) => file_method(f, method, &args, max),
            Object::Net(n) => net_method(n, &request.kind, method, &args),
            Object::Socket(s) => socket_method(s, method, &args, max),
            Object::Listener(l) => listener_method(l, method),
            Object::Console(c) => console_method(c, method, &args, max),
            Object::Clock(c) => clock_method(c, method, &args),
            Object::Random(r) => random_method(r, method, &args, max),
        }
    }

    /// Hands pending work to the pool under a fresh ticket of ours.
    fn submit(&mut self, ticket: u64, op: Op, later: Later) -> Started {
        let ours = self.next_ticket;
        self.next_ticket += 1;
        let submitted = match later {
            Later::Job(job) => self.pool.submit(ours, job).map_err(failed),
            Later::Abortable(job, abort) => {
                self.pool.submit_abortable(ours, job, abort).map_err(failed)
            }
            Later::Sleep(clock, seconds) => clock.sleep(&self.pool, ours, seconds).map_err(failed),
        };
        match submitted {
            Ok(()) => {
                self.inflight.insert(ours, InFlight { ticket, op });
                Started::Pending
            }
            Err(e) => Started::Done(Err(e)),
        }
    }

    /// Turns a completion into the answer of its request, if the ticket is ours.
    fn finish(
        &mut self,
        ours: u64,
        completion: Completion,
        out: &mut Vec<(u64, Result<Vec<HostValue>, HostError>)>,
    ) {
        let Some(InFlight { ticket, op }) = self.inflight.remove(&ours) else {
            return;
        };
        let result = match (op, completion) {
            (_, Completion::Net(NetCompletion::Failed(e))) => Err(net_error(e)),
            (_, Completion::Line(Err(e))) => Err(failed(e)),
            (_, Completion::Panicked(p)) => Err(failed(p)),
            (Op::Send, Completion::Net(NetCompletion::Sent(n))) => {
                Ok(vec![HostValue::Int(count(n))])
            }
            (Op::Recv, Completion::Net(NetCompletion::Bytes(b))) => Ok(vec![bytes_or_nil(b)]),
            (Op::Connect | Op::Accept, Completion::Net(NetCompletion::Socket(socket))) => {
                let kind = KeyKind::Socket {
                    peer: socket.target().to_owned(),
                };
                let token = self.keep(Object::Socket(socket));
                Ok(vec![HostValue::Object { token, kind }])
            }
            (Op::Listen, Completion::Net(NetCompletion::Listener(listener))) => {
                let local = listener
                    .local_addr()
                    .map_or_else(|| listener.target().to_owned(), |a| a.to_string());
                let kind = KeyKind::Listener { local };
                let token = self.keep(Object::Listener(listener));
                Ok(vec![HostValue::Object { token, kind }])
            }
            (Op::Sleep, Completion::Slept) => Ok(Vec::new()),
            (Op::Readline { max }, Completion::Line(Ok(Some(line)))) => {
                if line.len() > max {
                    Err(HostError::new(
                        HostFault::Overran,
                        format!("readline: the line is longer than the limit of {max} bytes"),
                    ))
                } else {
                    Ok(vec![HostValue::Bytes(line)])
                }
            }
            (Op::Readline { .. }, Completion::Line(Ok(None))) => Ok(vec![HostValue::Nil]),
            (op, other) => {
                // Every job of an `Op` completes only as matched above; this is a bug, answered
                // rather than hidden, with anything the completion held closed.
                match other {
                    Completion::Net(NetCompletion::Socket(s)) => s.close(),
                    Completion::Net(NetCompletion::Listener(l)) => l.close(),
                    _ => {}
                }
                Err(HostError::new(
                    HostFault::Failed,
                    format!("internal: unexpected completion for {op:?}"),
                ))
            }
        };
        out.push((ticket, result));
    }

    fn drain(&mut self, out: &mut Vec<(u64, Result<Vec<HostValue>, HostError>)>) {
        while let Some((ours, completion)) = self.pool.try_recv() {
            self.finish(ours, completion, out);
        }
    }

    /// Advances every virtual clock that has sleepers; true if one did.
    fn advance_virtual_time(&mut self) -> bool {
        let mut moved = false;
        for clock in &self.virtual_clocks {
            moved |= clock.advance(&self.pool).is_some();
        }
        moved
    }

    /// Writes out what consoles buffered, before the host waits.
    fn push_consoles(&self) {
        for object in self.objects.values() {
            if let Object::Console(c) = object {
                c.console.push();
            }
        }
    }
}

impl Host for Gateways {
    fn start(&mut self, request: Request) -> Started {
        self.sweep();
        match self.dispatch(&request) {
            Ok(Answer::Now(values)) => Started::Done(Ok(values)),
            Ok(Answer::New(object, kind)) => {
                let token = self.keep(object);
                Started::Done(Ok(vec![HostValue::Object { token, kind }]))
            }
            Ok(Answer::Later(op, later)) => self.submit(request.ticket, op, later),
            Err(e) => Started::Done(Err(e)),
        }
    }

    fn poll(&mut self, wait: Option<Duration>) -> Vec<(u64, Result<Vec<HostValue>, HostError>)> {
        self.sweep();
        let mut out = Vec::new();
        // Polled before every slice: with nothing in flight, no completion can be an answer
        // (`finish` drops those it has no request for), so the channel is left alone.
        if self.inflight.is_empty() {
            return out;
        }
        self.drain(&mut out);
        let Some(wait) = wait else {
            return out;
        };
        if !out.is_empty() || self.inflight.is_empty() {
            return out;
        }
        self.push_consoles();
        if self.advance_virtual_time() {
            // `advance` completes through the channel at once.
            self.drain(&mut out);
            if !out.is_empty() {
                return out;
            }
        }
        if let Some((ours, completion)) = self.pool.recv_timeout(wait) {
            self.finish(ours, completion, &mut out);
            self.drain(&mut out);
        }
        out
    }

    fn pending(&self) -> usize {
        self.inflight.len()
    }

    /// With nothing in flight and no object waiting for `bind` (or for `sweep` to close it),
    /// `poll(None)` has nothing to do.
    fn quiet(&self) -> bool {
        self.inflight.is_empty() && self.unbound.is_empty()
    }

    fn bind(&mut self, token: u64, key: KeyId) {
        if let Some(u) = self.unbound.remove(&token) {
            self.attach(key, u.object);
        }
    }

    fn release(&mut self, key: KeyId) {
        if let Some(object) = self.objects.remove(&key) {
            object.close();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Methods, by kind

/// A method the key's object does not have (the kernel checks kinds first, so only a host
/// out of step with it sees this); the kind's methods come from the kernel's one table.
fn no_method(kind: &str, method: Method) -> HostError {
    let methods: Vec<&str> = Method::of_kind(kind).map(Method::name).collect();
    HostError::new(
        HostFault::Failed,
        format!(
            "a {kind} key has no method '{}' (its methods: {})",
            method.name(),
            methods.join(", ")
        ),
    )
}

fn now(values: Vec<HostValue>) -> Result<Answer, HostError> {
    Ok(Answer::Now(values))
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn bytes_or_nil(b: Vec<u8>) -> HostValue {
    if b.is_empty() {
        HostValue::Nil
    } else {
        HostValue::Bytes(b)
    }
}

fn memory(what: &str, size: usize, max: usize) -> HostError {
    HostError::new(
        HostFault::TooLarge,
        format!("{what}: the result ({size} bytes) is over the memory limit of {max} bytes"),
    )
}

fn dir_method(
    d: &DirGateway,
    kind: &KeyKind,
    method: Method,
    args: &Args<'_>,
    max: usize,
) -> Result<Answer, HostError> {
    match method {
        Method::DirRead => {
            let data = d.read(&args.bytes(1)?, max).map_err(fs_error)?;
            now(vec![HostValue::Bytes(data)])
        }
        Method::DirWrite | Method::DirAppend => {
            let path = args.bytes(1)?;
            let data = args.bytes(2)?;
            if method == Method::DirWrite {
                d.write(&path, &data)
            } else {
                d.append(&path, &data)
            }
            .map_err(fs_error)?;
            now(Vec::new())
        }
        Method::DirList => {
            let path = args.opt_bytes(1)?;
            let limit = max.saturating_sub(64) / LIST_ENTRY_MIN;
            let entries = d.list(path.as_deref(), limit).map_err(fs_error)?;
            let list = HostValue::List(
                entries
                    .into_iter()
                    .map(|e| {
                        HostValue::Record(vec![
                            ("name", HostValue::Bytes(e.name)),
                            ("kind", HostValue::Bytes(e.kind.name().as_bytes().to_vec())),
                        ])
                    })
                    .collect(),
            );
            let size = list.size();
            if size > max {
                return Err(memory("list", size, max));
            }
            now(vec![list])
        }
        Method::DirStat => {
            let st = d.stat(&args.bytes(1)?).map_err(fs_error)?;
            now(vec![HostValue::Record(vec![
                ("kind", HostValue::Bytes(st.kind.name().as_bytes().to_vec())),
                (
                    "size",
                    HostValue::Int(i64::try_from(st.size).unwrap_or(i64::MAX)),
                ),
                (
                    "modified",
                    st.modified.map_or(HostValue::Nil, HostValue::Int),
                ),
            ])])
        }
        Method::DirMkdir => {
            d.mkdir(&args.bytes(1)?).map_err(fs_error)?;
            now(Vec::new())
        }
        Method::DirRemove => {
            d.remove(&args.bytes(1)?).map_err(fs_error)?;
            now(Vec::new())
        }
        Method::DirRename => {
            d.rename(&args.bytes(1)?, &args.bytes(2)?)
                .map_err(fs_error)?;
            now(Vec::new())
        }
        Method::DirOpen => {
            let path = args.bytes(1)?;
            let mode = args.opt_bytes(2)?;
            let file = d
                .open(&path, mode.as_deref().unwrap_or(b"r"))
                .map_err(fs_error)?;
            // The file's key names the dir's root joined with the path, as `sub` would.
            let at = kind
                .sub_dir(&String::from_utf8_lossy(&path), None)
                .map_err(attenuation_error)?;
            let KeyKind::Dir { root, .. } = at else {
                return Err(HostError::new(
                    HostFault::Failed,
                    "internal: sub_dir made no dir",
                ));
            };
            let kind = KeyKind::File {
                path: root,
                rights: file.rights(),
            };
            Ok(Answer::New(Object::File(file), kind))
        }
        Method::DirSub => {
            let path = args.bytes(1)?;
            let rights = match args.opt_bytes(2)? {
                None => d.rights(),
                Some(text) => DirRights::parse(&String::from_utf8_lossy(&text))
                    .map_err(|e| args.error(2, e))?,
            };
            let sub = d.sub(&path, rights).map_err(fs_error)?;
            let kind = kind
                .sub_dir(&String::from_utf8_lossy(&path), Some(rights))
                .map_err(attenuation_error)?;
            Ok(Answer::New(Object::Dir(sub), kind))
        }
        _ => Err(no_method("dir", method)),
    }
}

fn file_method(
    f: &FileGateway,
    method: Method,
    args: &Args<'_>,
    max: usize,
) -> Result<Answer, HostError> {
    match method {
        Method::FileRead => {
            let data = if args.is_none(1) {
                f.read_all(max)
            } else {
                let n = args.count(1)?;
                if n == 0 {
                    return now(vec![HostValue::Bytes(Vec::new())]);
                }
                f.read(n, max)
            }
            .map_err(fs_error)?;
            now(vec![bytes_or_nil(data)])
        }
        Method::FileWrite => {
            f.write(&args.bytes(1)?).map_err(fs_error)?;
            now(Vec::new())
        }
        Method::FileSeek => {
            let whence = match args.opt_bytes(1)?.as_deref() {
                None | Some(b"cur") => Whence::Cur,
                Some(b"set") => Whence::Set,
                Some(b"end") => Whence::End,
                Some(other) => {
                    return Err(args.error(
                        1,
                        format!("invalid option '{}'", String::from_utf8_lossy(other)),
                    ))
                }
            };
            let offset = args.opt_integer(2, 0)?;
            let pos = f.seek(whence, offset).map_err(fs_error)?;
            now(vec![HostValue::Int(i64::try_from(pos).unwrap_or(i64::MAX))])
        }
        Method::FileClose => {
            f.close().map_err(fs_error)?;
            now(Vec::new())
        }
        _ => Err(no_method("file", method)),
    }
}

fn net_method(
    n: &NetGateway,
    kind: &KeyKind,
    method: Method,
    args: &Args<'_>,
) -> Result<Answer, HostError> {
    match method {
        Method::NetConnect => {
            let host = args.text(1)?;
            let port = args.port(2)?;
            let job = n.connect_job(&host, port).map_err(net_error)?;
            Ok(Answer::Later(Op::Connect, Later::Job(job)))
        }
        Method::NetListen => {
            let host = args.text(1)?;
            let port = args.port(2)?;
            let job = n.listen_job(&host, port).map_err(net_error)?;
            Ok(Answer::Later(Op::Listen, Later::Job(job)))
        }
        Method::NetRestrict => {
            let spec = args.text(1)?;
            let narrower = kind.restrict_net(&spec).map_err(attenuation_error)?;
            let gateway = n.restricted(&narrower).ok_or_else(|| {
                HostError::new(HostFault::Failed, "internal: restrict made no net key")
            })?;
            Ok(Answer::New(Object::Net(gateway), narrower))
        }
        _ => Err(no_method("net", method)),
    }
}

fn socket_method(
    s: &SocketGateway,
    method: Method,
    args: &Args<'_>,
    max: usize,
) -> Result<Answer, HostError> {
    match method {
        Method::SocketSend => {
            let data = args.bytes(1)?.into_owned();
            Ok(Answer::Later(
                Op::Send,
                Later::Abortable(s.send_job(data), s.abort_handle()),
            ))
        }
        Method::SocketRecv => {
            let asked = args.integer(1)?;
            if asked < 1 {
                return Err(args.error(1, "max must be at least 1"));
            }
            let asked = usize::try_from(asked).unwrap_or(usize::MAX);
            if max == 0 {
                return Err(memory("recv", 1, 0));
            }
            Ok(Answer::Later(
                Op::Recv,
                Later::Abortable(s.recv_job(asked.min(max)), s.abort_handle()),
            ))
        }
        Method::SocketClose => {
            s.close();
            now(Vec::new())
        }
        _ => Err(no_method("socket", method)),
    }
}

fn listener_method(l: &ListenerGateway, method: Method) -> Result<Answer, HostError> {
    match method {
        Method::ListenerAccept => Ok(Answer::Later(
            Op::Accept,
            Later::Abortable(l.accept_job(), l.abort_handle()),
        )),
        Method::ListenerClose => {
            l.close();
            now(Vec::new())
        }
        _ => Err(no_method("listener", method)),
    }
}

fn console_method(
    c: &mut ConsoleGateway,
    method: Method,
    args: &Args<'_>,
    max: usize,
) -> Result<Answer, HostError> {
    match method {
        Method::ConsoleWrite => {
            // Every argument is checked before anything is written.
            let parts = (1..=args.len())
                .map(|i| args.bytes(i))
                .collect::<Result<Vec<_>, _>>()?;
            for part in parts {
                c.console.write(&part);
            }
            now(Vec::new())
        }
        Method::ConsoleReadline => {
            let prompt = args.opt_bytes(1)?;
            let Some(input) = c.input.as_mut() else {
                return now(vec![HostValue::Nil]);
            };
            if let Some(prompt) = prompt {
                c.console.write(&prompt);
            }
            c.console.push();
            let (job, abort) = input.request(max).map_err(failed)?;
            Ok(Answer::Later(
                Op::Readline { max },
                Later::Abortable(job, abort),
            ))
        }
        _ => Err(no_method("console", method)),
    }
}

fn clock_method(c: &Clock, method: Method, args: &Args<'_>) -> Result<Answer, HostError> {
    match method {
        Method::ClockNow => now(vec![HostValue::Float(c.now())]),
        Method::ClockSleep => {
            let seconds = args.number(1)?;
            Ok(Answer::Later(Op::Sleep, Later::Sleep(c.clone(), seconds)))
        }
        _ => Err(no_method("clock", method)),
    }
}

fn random_method(
    r: &mut Random,
    method: Method,
    args: &Args<'_>,
    max: usize,
) -> Result<Answer, HostError> {
    match method {
        Method::RandomBytes => {
            let n = args.count(1)?;
            let data = r.bytes(n, max).map_err(random_error)?;
            now(vec![HostValue::Bytes(data)])
        }
        Method::RandomInteger => {
            let lo = args.integer(1)?;
            let hi = args.integer(2)?;
            let i = r.integer(lo, hi).map_err(random_error)?;
            now(vec![HostValue::Int(i)])
        }
        _ => Err(no_method("random", method)),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

fn fs_error(e: FsError) -> HostError {
    let reason = match &e {
        FsError::MissingRight { right, .. } => HostFault::MissingRight { right: *right },
        FsError::Widening { .. }
        | FsError::Escape { .. }
        | FsError::RemoveRoot
        | FsError::RenameRoot => HostFault::OutOfScope,
        // Paths that try to leave the root are refused before any system call; they are
        // out of scope, not malformed.
        FsError::BadPath { reason, .. }
            if *reason == "absolute path" || *reason == "'..' component" =>
        {
            HostFault::OutOfScope
        }
        FsError::TooLarge { .. } | FsError::TooManyEntries { .. } => HostFault::TooLarge,
        _ => HostFault::Failed,
    };
    HostError::new(reason, e.to_string())
}

fn net_error(e: NetError) -> HostError {
    let kind = match e.reason {
        NetReason::NotInScope
        | NetReason::FlagMissing(_)
        | NetReason::Forbidden { .. }
        | NetReason::Alias(_) => HostFault::OutOfScope,
        _ => HostFault::Failed,
    };
    HostError::new(kind, e.to_string())
}

/// A failure with nothing to classify (the pool's, a clock's, the console input's, a job's
/// panic): its message as it is.
fn failed(e: impl std::fmt::Display) -> HostError {
    HostError::new(HostFault::Failed, e.to_string())
}

fn random_error(e: RandomError) -> HostError {
    let kind = match e {
        RandomError::TooMany { .. } => HostFault::TooLarge,
        RandomError::EmptyRange { .. } | RandomError::Os(_) => HostFault::Failed,
    };
    HostError::new(kind, e.to_string())
}

fn attenuation_error(e: AttenuationError) -> HostError {
    let kind = match e {
        AttenuationError::Rights { .. }
        | AttenuationError::OutsideRoot { .. }
        | AttenuationError::NetPattern { .. }
        | AttenuationError::NetFlag { .. }
        | AttenuationError::Scope { .. } => HostFault::OutOfScope,
        AttenuationError::KindMismatch { .. }
        | AttenuationError::BadPath { .. }
        | AttenuationError::Forwarder
        | AttenuationError::Spec(_) => HostFault::Failed,
    };
    HostError::new(kind, e.to_string())
}
