//! The network gateway behind net keys, and the sockets and listeners it opens.
//!
//! [`NetGateway`] owns the scope of a net key (its `host:port` patterns and the `connect` and
//! `listen` flags) and is the only door to `std::net` in Tessera. A connect or listen passes two
//! checks, both before any packet leaves the host:
//!
//! 1. **As written.** The flag for the operation must be present, and the host as written must
//!    equal a pattern's host for that port. Hosts are compared canonically: names ASCII-
//!    lowercased; IP literals parsed (`[::ffff:a.b.c.d]` is the IPv4 address `a.b.c.d`). A name
//!    that ends in a number but is not a dotted-quad IPv4 address (`127.1`, `0x7f.1`,
//!    `2130706433`, `0177.0.0.1`) is refused outright: the host's resolver would read it as an
//!    address, so it is an alias, not a name.
//! 2. **As resolved.** A name is resolved (through the [`Resolver`], which tests replace), and
//!    *every* address must be allowed: an *internal* address (loopback, unspecified, private or
//!    unique-local, link-local, site-local, multicast, broadcast and a few reserved ranges: see
//!    [`internal_class`]) is allowed only if a pattern for that port names it explicitly, by an
//!    equal IP literal or, for a loopback address, by the name `localhost`. A public name that
//!    resolves (or is rebound) to `127.0.0.1` is therefore refused.
//!
//! **Invariant: a connection or a listener only ever uses the addresses that passed the check.**
//! The name is never resolved again after the check: `connect` and `bind` are given the checked
//! socket addresses.
//!
//! [`SocketGateway`] and [`ListenerGateway`] are cheap handles (`Clone`, `Send`, `Sync`) to one
//! socket; the blocking operations are meant to run on the [`crate::pool::IoPool`] (the `*_job`
//! methods wrap them, completing with a [`NetCompletion`] made into the pool's type).
//! **Cancellation:** `close` shuts a socket down (`shutdown(Both)`), which wakes a `recv` or
//! `send` blocked in another thread; that operation then fails as "closed". A listener is
//! non-blocking and `accept` polls it, sleeping on a condition variable between polls (1 ms
//! doubling up to [`ACCEPT_POLL_MAX`]); `close` wakes it at once. The socket's file descriptor
//! is released when the last in-flight operation returns.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kernel::clist::{HostPort, KeyKind, PortPattern};

use crate::pool::{lock, Abort, Job};

/// The most bytes one `recv` returns: a larger `max` is clamped to it, so a program cannot make
/// the host allocate more than this for one call.
pub const MAX_RECV: usize = 1 << 20;

/// The longest pause between two polls of a listener waiting in `accept`: the most latency a
/// waiting `accept` adds to a new connection. A compromise between wake-ups of an idle listener
/// and latency, not measured.
pub const ACCEPT_POLL_MAX: Duration = Duration::from_millis(25);

/// Longest host text an error message repeats.
const MAX_HOST_SHOWN: usize = 255;

// ---------------------------------------------------------------------------------------------
// Completions

/// What a net job produced. The pool carries the caller's type, made `From` this, so a job is
/// built straight into it.
#[derive(Debug)]
pub enum NetCompletion {
    /// Bytes received (empty means end of stream).
    Bytes(Vec<u8>),
    /// How many bytes were sent.
    Sent(usize),
    /// A connected socket (from `connect` or `accept`).
    Socket(SocketGateway),
    /// A listening socket (from `listen`).
    Listener(ListenerGateway),
    /// The operation failed.
    Failed(NetError),
}

// ---------------------------------------------------------------------------------------------
// Errors

/// What a net operation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetOp {
    Connect,
    Listen,
    Accept,
    Send,
    Recv,
}

impl fmt::Display for NetOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetOp::Connect => "connect",
            NetOp::Listen => "listen",
            NetOp::Accept => "accept",
            NetOp::Send => "send",
            NetOp::Recv => "recv",
        })
    }
}

/// A refused or failed net operation: the operation, the `host:port` asked (for a socket, its
/// peer), the scope of the key it went through, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{op} {target}: {reason} (net key {scope})")]
pub struct NetError {
    pub op: NetOp,
    pub target: String,
    pub scope: String,
    pub reason: NetReason,
}

/// Why a net operation was refused or failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetReason {
    #[error("not in the key's scope")]
    NotInScope,
    #[error("the key does not allow {0}")]
    FlagMissing(NetOp),
    #[error("{0}")]
    BadHost(String),
    /// A numeric host in one of the resolver's other spellings (`127.1`, `0x7f.0.0.1`): an
    /// alias of an address, refused like an address out of scope.
    #[error("{0}")]
    Alias(String),
    #[error("port 0 is not a destination")]
    PortZero,
    #[error("the name does not resolve: {0}")]
    Unresolved(String),
    #[error("resolves to forbidden address {addr} ({class}); only a pattern naming that address allows it")]
    Forbidden { addr: IpAddr, class: &'static str },
    #[error("connection refused")]
    Refused,
    #[error("timed out")]
    TimedOut,
    #[error("connection reset by the peer")]
    Reset,
    #[error("the peer closed the connection (EOF)")]
    Eof,
    #[error("the socket is closed")]
    Closed,
    #[error("recv needs max >= 1")]
    ZeroMax,
    #[error("{0}")]
    Io(String),
}

/// The reason an I/O error stands for.
fn reason_of(e: &io::Error) -> NetReason {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => NetReason::Refused,
        // A read or write timeout shows as `WouldBlock` on Unix and `TimedOut` on Windows.
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => NetReason::TimedOut,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => NetReason::Reset,
        io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof | io::ErrorKind::WriteZero => {
            NetReason::Eof
        }
        _ => NetReason::Io(e.to_string()),
    }
}

/// A host as asked, for messages: control characters escaped, length bounded.
fn shown_host(host: &str) -> String {
    let mut shown: String = host.chars().take(MAX_HOST_SHOWN).collect();
    if shown.len() < host.len() {
        shown.push('…');
    }
    shown.escape_debug().to_string()
}

/// `host:port` as asked, for messages: the host as `shown_host` shows it, IPv6 in brackets.
fn target_text(host: &str, port: u16) -> String {
    let shown = shown_host(host);
    if shown.contains(':') && !shown.starts_with('[') {
        format!("[{shown}]:{port}")
    } else {
        format!("{shown}:{port}")
    }
}

/// Where a socket came from, for its error messages.
#[derive(Clone, Debug)]
struct Origin {
    target: String,
    scope: Arc<str>,
}

impl Origin {
    fn error(&self, op: NetOp, reason: NetReason) -> NetError {
        NetError {
            op,
            target: self.target.clone(),
            scope: self.scope.to_string(),
            reason,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hosts and addresses

/// A host as a pattern or a request writes it, in canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    /// A DNS name, ASCII-lowercased.
    Name(String),
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address; others are themselves.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Parses a host as written: `name`, `a.b.c.d`, `[v6]` or a bare `v6`.
fn parse_host(written: &str) -> Result<Host, NetReason> {
    let lower = written.to_ascii_lowercase();
    let shown = || shown_host(written);
    if let Some(inner) = lower.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|a| Host::Ip(canonical_ip(IpAddr::V6(a))))
            .map_err(|_| NetReason::BadHost(format!("\"{}\" is not an IPv6 address", shown())));
    }
    if lower.contains(':') {
        return lower
            .parse::<Ipv6Addr>()
            .map(|a| Host::Ip(canonical_ip(IpAddr::V6(a))))
            .map_err(|_| {
                NetReason::BadHost(format!("\"{}\" is not a host name or IP address", shown()))
            });
    }
    if let Ok(v4) = lower.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(v4)));
    }
    let name_ok = !lower.is_empty()
        && lower.len() <= 253
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !lower.starts_with('.')
        && !lower.contains("..");
    if !name_ok {
        return Err(NetReason::BadHost(format!(
            "\"{}\" is not a host name or IP address",
            shown()
        )));
    }
    // The resolver reads a name whose last label is a number (decimal, octal or hex) as an IPv4
    // address in one of inet_aton's forms; only the dotted quad parsed above is accepted.
    let last = lower
        .strip_suffix('.')
        .unwrap_or(&lower)
        .rsplit('.')
        .next()
        .unwrap_or("");
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        return Err(NetReason::Alias(format!(
            "\"{}\" is not a canonical IPv4 address (write a.b.c.d)",
            shown()
        )));
    }
    Ok(Host::Name(lower))
}

/// If `ip` is an internal address, the name of its class; `None` for a public address.
/// Internal: unspecified (and `0.0.0.0/8`), loopback, private (RFC 1918) and unique-local
/// (`fc00::/7`), shared address space (`100.64.0.0/10`), link-local, site-local (`fec0::/10`),
/// multicast, broadcast and `240.0.0.0/4`, IPv4-compatible IPv6 (`::a.b.c.d`), and NAT64
/// (`64:ff9b::/96`) of an internal IPv4 address.
pub fn internal_class(ip: IpAddr) -> Option<&'static str> {
    match canonical_ip(ip) {
        IpAddr::V4(a) => v4_class(a),
        IpAddr::V6(a) => v6_class(a),
    }
}

fn v4_class(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    Some(if a.is_unspecified() || o[0] == 0 {
        "unspecified"
    } else if a.is_loopback() {
        "loopback"
    } else if a.is_private() {
        "private"
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        "shared address space"
    } else if a.is_link_local() {
        "link-local"
    } else if a.is_multicast() {
        "multicast"
    } else if a.is_broadcast() {
        "broadcast"
    } else if o[0] >= 240 {
        "reserved"
    } else {
        return None;
    })
}

fn v6_class(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    Some(if a.is_unspecified() {
        "unspecified"
    } else if a.is_loopback() {
        "loopback"
    } else if (s[0] & 0xfe00) == 0xfc00 {
        "unique-local"
    } else if (s[0] & 0xffc0) == 0xfe80 {
        "link-local"
    } else if (s[0] & 0xffc0) == 0xfec0 {
        "site-local"
    } else if a.is_multicast() {
        "multicast"
    } else if s[..6] == [0; 6] {
        "IPv4-compatible"
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let o = a.octets();
        v4_class(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
            .map(|_| "NAT64 of an internal address")?
    } else {
        return None;
    })
}

fn port_matches(pattern: PortPattern, port: u16) -> bool {
    match pattern {
        PortPattern::Any => true,
        PortPattern::Port(p) => p == port,
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution

/// Turns a name into addresses. The gateway calls it only for names (never for IP literals),
/// with the canonical (lowercased) name.
pub trait Resolver: Send + Sync {
    /// # Errors
    /// A message saying why the name does not resolve.
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String>;
}

/// The host's resolver (`std::net::ToSocketAddrs`).
///
/// # Ambient Authority
/// Asks the host's name service.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        (name, 0u16)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect())
            .map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway

/// How long each kind of operation may block; `None` waits until the operation ends or the
/// socket is closed. A zero duration counts as 1 ms (the host refuses zero timeouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Option<Duration>,
    pub send: Option<Duration>,
    pub recv: Option<Duration>,
    pub accept: Option<Duration>,
}

impl Default for Timeouts {
    /// Connect 30 s and send 60 s (a peer that stops reading must not hold a worker forever);
    /// recv and accept wait without limit, as a program expects them to (close them to give up).
    fn default() -> Timeouts {
        Timeouts {
            connect: Some(Duration::from_secs(30)),
            send: Some(Duration::from_secs(60)),
            recv: None,
            accept: None,
        }
    }
}

fn nonzero(t: Option<Duration>) -> Option<Duration> {
    t.map(|d| d.max(Duration::from_millis(1)))
}

/// The gateway behind a net key: its patterns and flags, a resolver and timeouts.
#[derive(Clone)]
pub struct NetGateway {
    patterns: Vec<HostPort>,
    connect: bool,
    listen: bool,
    resolver: Arc<dyn Resolver>,
    timeouts: Timeouts,
}

impl fmt::Debug for NetGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetGateway")
            .field("scope", &self.scope())
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl NetGateway {
    /// A gateway with the system resolver and default timeouts.
    ///
    /// # Ambient Authority
    /// Reaches the host's network, within the patterns and flags given.
    pub fn new(patterns: Vec<HostPort>, connect: bool, listen: bool) -> NetGateway {
        NetGateway {
            patterns,
            connect,
            listen,
            resolver: Arc::new(SystemResolver),
            timeouts: Timeouts::default(),
        }
    }

    /// The gateway for a net key's kind; `None` for other kinds.
    pub fn from_key(kind: &KeyKind) -> Option<NetGateway> {
        match kind {
            KeyKind::Net {
                patterns,
                connect,
                listen,
            } => Some(NetGateway::new(patterns.clone(), *connect, *listen)),
            _ => None,
        }
    }

    /// The gateway for `kind`, a net key derived from this one (`net:restrict`), keeping this
    /// gateway's resolver and timeouts; `None` if `kind` is not a net key. The kernel checks
    /// that `kind` narrows the parent's (`KeyKind::attenuate`) before the key exists.
    pub fn restricted(&self, kind: &KeyKind) -> Option<NetGateway> {
        NetGateway::from_key(kind).map(|g| NetGateway {
            resolver: Arc::clone(&self.resolver),
            timeouts: self.timeouts,
            ..g
        })
    }

    /// The same gateway resolving names through `resolver`.
    #[must_use]
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> NetGateway {
        self.resolver = resolver;
        self
    }

    /// The same gateway with other timeouts (inherited by the sockets it opens).
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> NetGateway {
        self.timeouts = timeouts;
        self
    }

    pub fn patterns(&self) -> &[HostPort] {
        &self.patterns
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The scope as a grant writes it: `host:port[,…]:connect|listen|connect+listen`.
    pub fn scope(&self) -> String {
        let patterns = self
            .patterns
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let flags = match (self.connect, self.listen) {
            (true, true) => "connect+listen",
            (true, false) => "connect",
            (false, true) => "listen",
            (false, false) => "neither connect nor listen",
        };
        format!("{patterns}:{flags}")
    }

    fn error(&self, op: NetOp, host: &str, port: u16, reason: NetReason) -> NetError {
        NetError {
            op,
            target: target_text(host, port),
            scope: self.scope(),
            reason,
        }
    }

    fn origin(&self, host: &str, port: u16) -> Origin {
        Origin {
            target: target_text(host, port),
            scope: self.scope().into(),
        }
    }

    /// Check 1, without resolving: the flag, the host's form, and a pattern for it.
    fn check_written(&self, op: NetOp, host: &str, port: u16) -> Result<Host, NetError> {
        let err = |reason| self.error(op, host, port, reason);
        let allowed = match op {
            NetOp::Connect => self.connect,
            NetOp::Listen => self.listen,
            _ => false,
        };
        if !allowed {
            return Err(err(NetReason::FlagMissing(op)));
        }
        let parsed = parse_host(host).map_err(err)?;
        if op == NetOp::Connect && port == 0 {
            return Err(err(NetReason::PortZero));
        }
        let in_scope = self
            .patterns
            .iter()
            .any(|p| port_matches(p.port, port) && parse_host(&p.host).is_ok_and(|h| h == parsed));
        if !in_scope {
            return Err(err(NetReason::NotInScope));
        }
        Ok(parsed)
    }

    /// Check 2: resolve a name and allow every address.
    fn check_resolved(
        &self,
        op: NetOp,
        host: &str,
        port: u16,
        parsed: Host,
    ) -> Result<Vec<SocketAddr>, NetError> {
        let err = |reason| self.error(op, host, port, reason);
        let ips = match parsed {
            Host::Ip(ip) => vec![ip],
            Host::Name(name) => self
                .resolver
                .resolve(&name)
                .map_err(|m| err(NetReason::Unresolved(m)))?,
        };
        let mut addrs: Vec<SocketAddr> = Vec::with_capacity(ips.len());
        for ip in ips {
            let ip = canonical_ip(ip);
            if let Some(class) = internal_class(ip) {
                if !self.names_explicitly(ip, port) {
                    return Err(err(NetReason::Forbidden { addr: ip, class }));
                }
            }
            let addr = SocketAddr::new(ip, port);
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        if addrs.is_empty() {
            return Err(err(NetReason::Unresolved("no addresses".into())));
        }
        Ok(addrs)
    }

    /// True if a pattern for `port` names the internal address `ip` itself.
    fn names_explicitly(&self, ip: IpAddr, port: u16) -> bool {
        self.patterns.iter().any(|p| {
            port_matches(p.port, port)
                && match parse_host(&p.host) {
                    Ok(Host::Ip(granted)) => granted == ip,
                    Ok(Host::Name(name)) => name == "localhost" && ip.is_loopback(),
                    Err(_) => false,
                }
        })
    }

    /// Both checks: the socket addresses `connect` or `listen` would use, in order.
    ///
    /// # Errors
    /// `NetError` naming the reason: flag missing, bad host, not in scope, unresolved, forbidden
    /// address.
    pub fn check(&self, op: NetOp, host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
        let parsed = self.check_written(op, host, port)?;
        self.check_resolved(op, host, port, parsed)
    }

    /// Connects to `host:port` (blocking: resolution and connection). Each checked address is
    /// tried in turn; the error is the last address's.
    ///
    /// # Errors
    /// A refusal from [`NetGateway::check`], or refused / timed out / other I/O failure.
    pub fn connect(&self, host: &str, port: u16) -> Result<SocketGateway, NetError> {
        let parsed = self.check_written(NetOp::Connect, host, port)?;
        self.connect_checked(host, port, parsed)
    }

    fn connect_checked(
        &self,
        host: &str,
        port: u16,
        parsed: Host,
    ) -> Result<SocketGateway, NetError> {
        let addrs = self.check_resolved(NetOp::Connect, host, port, parsed)?;
        let mut last = NetReason::Unresolved("no addresses".into());
        for addr in addrs {
            let attempt = match nonzero(self.timeouts.connect) {
                Some(t) => TcpStream::connect_timeout(&addr, t),
                None => TcpStream::connect(addr),
            };
            match attempt {
                Ok(stream) => {
                    return SocketGateway::new(stream, self.origin(host, port), self.timeouts)
                        .map_err(|e| self.error(NetOp::Connect, host, port, reason_of(&e)));
                }
                Err(e) => last = reason_of(&e),
            }
        }
        Err(self.error(NetOp::Connect, host, port, last))
    }

    /// Listens on `host:port` (port 0: any free port, if the pattern allows port 0 or `*`),
    /// on the first checked address the host accepts (one listener, not one per address).
    ///
    /// # Errors
    /// A refusal from [`NetGateway::check`], or the host's bind error (address in use, …).
    pub fn listen(&self, host: &str, port: u16) -> Result<ListenerGateway, NetError> {
        let parsed = self.check_written(NetOp::Listen, host, port)?;
        self.listen_checked(host, port, parsed)
    }

    fn listen_checked(
        &self,
        host: &str,
        port: u16,
        parsed: Host,
    ) -> Result<ListenerGateway, NetError> {
        let addrs = self.check_resolved(NetOp::Listen, host, port, parsed)?;
        let err = |e: io::Error| self.error(NetOp::Listen, host, port, reason_of(&e));
        let listener = TcpListener::bind(&addrs[..]).map_err(err)?;
        listener.set_nonblocking(true).map_err(err)?;
        Ok(ListenerGateway::new(
            listener,
            self.origin(host, port),
            self.timeouts,
        ))
    }

    /// `connect` as a pool job. The check as written is done now, so a refusal by scope or flag
    /// is immediate; resolution, the address check and the connection run in the job.
    ///
    /// # Errors
    /// A refusal by flag, host form or scope.
    pub fn connect_job<T: From<NetCompletion>>(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Job<T>, NetError> {
        let parsed = self.check_written(NetOp::Connect, host, port)?;
        let gateway = self.clone();
        let host = host.to_owned();
        Ok(Box::new(move || {
            T::from(match gateway.connect_checked(&host, port, parsed) {
                Ok(socket) => NetCompletion::Socket(socket),
                Err(e) => NetCompletion::Failed(e),
            })
        }))
    }

    /// `listen` as a pool job, checked as written now (see [`NetGateway::connect_job`]).
    ///
    /// # Errors
    /// A refusal by flag, host form or scope.
    pub fn listen_job<T: From<NetCompletion>>(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Job<T>, NetError> {
        let parsed = self.check_written(NetOp::Listen, host, port)?;
        let gateway = self.clone();
        let host = host.to_owned();
        Ok(Box::new(move || {
            T::from(match gateway.listen_checked(&host, port, parsed) {
                Ok(listener) => NetCompletion::Listener(listener),
                Err(e) => NetCompletion::Failed(e),
            })
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Sockets

/// A connected TCP socket. Clones are handles to the same socket.
#[derive(Clone)]
pub struct SocketGateway {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    /// `None` once closed; operations clone the `Arc` and block outside the lock.
    stream: Mutex<Option<Arc<TcpStream>>>,
    closed: AtomicBool,
    origin: Origin,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
}

impl fmt::Debug for SocketGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketGateway")
            .field("target", &self.inner.origin.target)
            .field("peer", &self.inner.peer)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SocketGateway {
    fn new(stream: TcpStream, origin: Origin, timeouts: Timeouts) -> io::Result<SocketGateway> {
        stream.set_read_timeout(nonzero(timeouts.recv))?;
        stream.set_write_timeout(nonzero(timeouts.send))?;
        Ok(SocketGateway {
            inner: Arc::new(SocketInner {
                peer: stream.peer_addr().ok(),
                local: stream.local_addr().ok(),
                stream: Mutex::new(Some(Arc::new(stream))),
                closed: AtomicBool::new(false),
                origin,
            }),
        })
    }

    fn stream(&self, op: NetOp) -> Result<Arc<TcpStream>, NetError> {
        lock(&self.inner.stream)
            .clone()
            .ok_or_else(|| self.inner.origin.error(op, NetReason::Closed))
    }

    fn fail(&self, op: NetOp, e: &io::Error) -> NetError {
        let reason = if self.is_closed() {
            NetReason::Closed
        } else {
            reason_of(e)
        };
        self.inner.origin.error(op, reason)
    }

    /// Sends `data` (blocking). Returns the bytes sent: all of `data`, unless an error or the
    /// send timeout stops it after part was sent, in which case the count so far (the next
    /// `send` reports the error).
    ///
    /// # Errors
    /// Closed, timed out, reset, or the peer closed its end (EOF), when nothing was sent.
    pub fn send(&self, data: &[u8]) -> Result<usize, NetError> {
        let stream = self.stream(NetOp::Send)?;
        let mut sent = 0;
        while sent < data.len() {
            if self.is_closed() {
                return Err(self.inner.origin.error(NetOp::Send, NetReason::Closed));
            }
            match (&*stream).write(&data[sent..]) {
                Ok(0) => {
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    return if sent > 0 {
                        Ok(sent)
                    } else {
                        Err(self.fail(NetOp::Send, &e))
                    };
                }
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if sent > 0 && !self.is_closed() => return Ok(sent),
                Err(e) => return Err(self.fail(NetOp::Send, &e)),
            }
        }
        Ok(sent)
    }

    /// Receives up to `max` bytes (blocking until at least one byte, the end of the stream, or
    /// the recv timeout). `max` is clamped to [`MAX_RECV`]. **An empty result means the peer
    /// closed its end (EOF)**; it is not an error.
    ///
    /// # Errors
    /// `max == 0`; closed (also when `close` is called while this waits), timed out, reset.
    pub fn recv(&self, max: usize) -> Result<Vec<u8>, NetError> {
        if max == 0 {
            return Err(self.inner.origin.error(NetOp::Recv, NetReason::ZeroMax));
        }
        let stream = self.stream(NetOp::Recv)?;
        let mut buf = vec![0u8; max.min(MAX_RECV)];
        loop {
            match (&*stream).read(&mut buf) {
                // After `close`, a read returns 0 at once: that is "closed", not EOF.
                Ok(_) if self.is_closed() => {
                    return Err(self.inner.origin.error(NetOp::Recv, NetReason::Closed));
                }
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(NetOp::Recv, &e)),
            }
        }
    }

    /// Closes the socket: later operations fail as "closed", and operations blocked in other
    /// threads wake up and fail the same way. Idempotent.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        if let Some(stream) = lock(&self.inner.stream).take() {
            // Already shut down by the peer or never connected: nothing more to do.
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// The `host:port` this socket was asked for (for an accepted socket, the peer's address).
    pub fn target(&self) -> &str {
        &self.inner.origin.target
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.peer
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.local
    }

    /// `send` as a pool job: completes with `Sent(n)`.
    pub fn send_job<T: From<NetCompletion>>(&self, data: Vec<u8>) -> Job<T> {
        let socket = self.clone();
        Box::new(move || {
            T::from(match socket.send(&data) {
                Ok(n) => NetCompletion::Sent(n),
                Err(e) => NetCompletion::Failed(e),
            })
        })
    }

    /// `recv` as a pool job: completes with `Bytes` (empty at EOF).
    pub fn recv_job<T: From<NetCompletion>>(&self, max: usize) -> Job<T> {
        let socket = self.clone();
        Box::new(move || {
            T::from(match socket.recv(max) {
                Ok(bytes) => NetCompletion::Bytes(bytes),
                Err(e) => NetCompletion::Failed(e),
            })
        })
    }

    /// The abort hook for this socket's jobs: closes it.
    pub fn abort_handle(&self) -> Abort {
        let socket = self.clone();
        Box::new(move || socket.close())
    }
}

// ---------------------------------------------------------------------------------------------
// Listeners

/// A listening TCP socket. Clones are handles to the same listener.
#[derive(Clone)]
pub struct ListenerGateway {
    inner: Arc<ListenerInner>,
}

struct ListenerInner {
    /// Non-blocking; `None` once closed (the socket is released at once).
    listener: Mutex<Option<TcpListener>>,
    /// Signalled by `close`.
    wake: Condvar,
    origin: Origin,
    local: Option<SocketAddr>,
    timeouts: Timeouts,
}

impl fmt::Debug for ListenerGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerGateway")
            .field("target", &self.inner.origin.target)
            .field("local", &self.inner.local)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl ListenerGateway {
    fn new(listener: TcpListener, origin: Origin, timeouts: Timeouts) -> ListenerGateway {
        ListenerGateway {
            inner: Arc::new(ListenerInner {
                local: listener.local_addr().ok(),
                listener: Mutex::new(Some(listener)),
                wake: Condvar::new(),
                origin,
                timeouts,
            }),
        }
    }

    /// Waits for a connection (blocking, up to the accept timeout). The socket inherits the
    /// gateway's timeouts and scope.
    ///
    /// # Errors
    /// Closed (also when `close` is called while this waits), timed out, or the host's error.
    pub fn accept(&self) -> Result<SocketGateway, NetError> {
        let origin = &self.inner.origin;
        let deadline =
            nonzero(self.inner.timeouts.accept).and_then(|t| Instant::now().checked_add(t));
        let mut pause = Duration::from_millis(1);
        let mut guard = lock(&self.inner.listener);
        loop {
            let Some(listener) = guard.as_ref() else {
                return Err(origin.error(NetOp::Accept, NetReason::Closed));
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    drop(guard);
                    let err = |e: io::Error| origin.error(NetOp::Accept, reason_of(&e));
                    // Some hosts pass the listener's non-blocking mode on to accepted sockets.
                    stream.set_nonblocking(false).map_err(err)?;
                    let peer_origin = Origin {
                        target: peer.to_string(),
                        scope: Arc::clone(&origin.scope),
                    };
                    return SocketGateway::new(stream, peer_origin, self.inner.timeouts)
                        .map_err(err);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let mut wait = pause;
                    if let Some(deadline) = deadline {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Err(origin.error(NetOp::Accept, NetReason::TimedOut));
                        }
                        wait = wait.min(left);
                    }
                    guard = self
                        .inner
                        .wake
                        .wait_timeout(guard, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    pause = (pause * 2).min(ACCEPT_POLL_MAX);
                }
                // A connection that was reset before it was accepted: wait for the next one.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) => {}
                Err(e) => return Err(origin.error(NetOp::Accept, reason_of(&e))),
            }
        }
    }

    /// Closes the listener: its port is released, and a waiting `accept` fails as "closed".
    /// Idempotent.
    pub fn close(&self) {
        let listener = lock(&self.inner.listener).take();
        drop(listener);
        self.inner.wake.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.inner.listener).is_none()
    }

    /// The `host:port` this listener was asked for.
    pub fn target(&self) -> &str {
        &self.inner.origin.target
    }

    /// The address the listener is bound to (its port, when asked for port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.local
    }

    /// `accept` as a pool job: completes with `Socket`.
    pub fn accept_job<T: From<NetCompletion>>(&self) -> Job<T> {
        let listener = self.clone();
        Box::new(move || {
            T::from(match listener.accept() {
                Ok(socket) => NetCompletion::Socket(socket),
                Err(e) => NetCompletion::Failed(e),
            })
        })
    }

    /// The abort hook for this listener's jobs: closes it.
    pub fn abort_handle(&self) -> Abort {
        let listener = self.clone();
        Box::new(move || listener.close())
    }
}

#[cfg(test)]
mod tests;
