//! Real TCP on the loopback interface only: every address these tests connect to or listen on
//! is 127.0.0.1. Other addresses appear only in `check` calls, which never touch the network.

use super::*;
use crate::pool::{Panicked, PoolConfig};
use kernel::clist::NetSpec;
use std::collections::HashMap;
use std::net::TcpListener as StdListener;

/// Long enough for any completion on a loaded machine; tests never wait this long when they
/// pass.
const WAIT: Duration = Duration::from_secs(60);

/// A fake DNS: the only names these tests resolve.
struct FakeDns(HashMap<&'static str, Vec<IpAddr>>);

impl Resolver for FakeDns {
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no such name {name}"))
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn fake_dns() -> Arc<FakeDns> {
    Arc::new(FakeDns(HashMap::from([
        ("localhost", vec![ip("127.0.0.1")]),
        ("rebind.test", vec![ip("127.0.0.1")]),
        ("mapped.test", vec![ip("::ffff:127.0.0.1")]),
        ("v6local.test", vec![ip("::1")]),
        ("private.test", vec![ip("10.1.2.3")]),
        ("linklocal.test", vec![ip("169.254.169.254")]),
        // Documentation addresses (TEST-NET-1): public by our rules, never connected to.
        ("public.test", vec![ip("192.0.2.10")]),
        ("mixed.test", vec![ip("192.0.2.10"), ip("127.0.0.1")]),
        ("empty.test", vec![]),
    ])))
}

/// A gateway for a grant spec (`patterns[:flags]`, both flags when none is named).
fn gateway(spec: &str) -> NetGateway {
    let spec = NetSpec::parse(spec).unwrap();
    let (connect, listen) = spec.flags.unwrap_or((true, true));
    NetGateway::new(spec.patterns, connect, listen).with_resolver(fake_dns())
}

/// What the tests' pool carries: a net job's completion, or a plain job's `Done`.
#[derive(Debug)]
enum Completion {
    Net(NetCompletion),
    Done,
    Panicked,
}

impl From<NetCompletion> for Completion {
    fn from(c: NetCompletion) -> Completion {
        Completion::Net(c)
    }
}

impl From<Panicked> for Completion {
    fn from(_: Panicked) -> Completion {
        Completion::Panicked
    }
}

type Job = crate::pool::Job<Completion>;
type IoPool = crate::pool::IoPool<Completion>;

fn pool(core: usize, max: usize) -> IoPool {
    IoPool::with_config(PoolConfig {
        core,
        max,
        keep_alive: Duration::from_secs(10),
    })
    .unwrap()
}

/// Collects completions until `ticket`'s, keeping the others for later.
struct Waiter<'a> {
    pool: &'a IoPool,
    early: HashMap<u64, Completion>,
    order: Vec<u64>,
}

impl<'a> Waiter<'a> {
    fn new(pool: &'a IoPool) -> Waiter<'a> {
        Waiter {
            pool,
            early: HashMap::new(),
            order: Vec::new(),
        }
    }

    fn wait_for(&mut self, ticket: u64) -> Completion {
        if let Some(c) = self.early.remove(&ticket) {
            return c;
        }
        loop {
            let (t, c) = self
                .pool
                .recv_timeout(WAIT)
                .unwrap_or_else(|| panic!("no completion for ticket {ticket}"));
            self.order.push(t);
            if t == ticket {
                return c;
            }
            self.early.insert(t, c);
        }
    }
}

fn socket(c: Completion) -> SocketGateway {
    match c {
        Completion::Net(NetCompletion::Socket(s)) => s,
        other => panic!("expected a socket, got {other:?}"),
    }
}

fn listener(c: Completion) -> ListenerGateway {
    match c {
        Completion::Net(NetCompletion::Listener(l)) => l,
        other => panic!("expected a listener, got {other:?}"),
    }
}

fn bytes(c: Completion) -> Vec<u8> {
    match c {
        Completion::Net(NetCompletion::Bytes(b)) => b,
        other => panic!("expected bytes, got {other:?}"),
    }
}

fn sent(c: Completion) -> usize {
    match c {
        Completion::Net(NetCompletion::Sent(n)) => n,
        other => panic!("expected a count sent, got {other:?}"),
    }
}

fn failure(c: Completion) -> NetError {
    match c {
        Completion::Net(NetCompletion::Failed(e)) => e,
        other => panic!("expected a net error, got {other:?}"),
    }
}

/// A loopback listener through a gateway on port 0; returns it and its port.
fn loopback_listener(g: &NetGateway) -> (ListenerGateway, u16) {
    let l = g.listen("127.0.0.1", 0).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// Receives until `n` bytes have arrived (TCP may split them).
fn recv_exactly(s: &SocketGateway, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let chunk = s.recv(n - got.len()).unwrap();
        assert!(!chunk.is_empty(), "EOF after {got:?}");
        got.extend(chunk);
    }
    got
}

// ---------------------------------------------------------------------------------------------
// Echo over the pool

#[test]
fn echo_server_and_client_over_the_pool() {
    let pool = pool(2, 16);
    let mut w = Waiter::new(&pool);
    let server_gw = gateway("127.0.0.1:*:listen");
    let client_gw = gateway("localhost:*:connect");

    pool.submit(1, server_gw.listen_job("127.0.0.1", 0).unwrap())
        .unwrap();
    let l = listener(w.wait_for(1));
    let port = l.local_addr().unwrap().port();
    pool.submit_abortable(2, l.accept_job(), l.abort_handle())
        .unwrap();
    // "localhost" resolves (fake DNS) to 127.0.0.1, allowed because the pattern names localhost.
    pool.submit(3, client_gw.connect_job("localhost", port).unwrap())
        .unwrap();
    let client = socket(w.wait_for(3));
    let server = socket(w.wait_for(2));
    assert_eq!(client.target(), format!("localhost:{port}"));
    assert_eq!(client.peer_addr(), l.local_addr());

    let mut ticket = 10;
    for message in [&b"hello"[..], b"a longer line\n", &[0u8, 255, 10, 13]] {
        // The server waits first: its recv is parked while the client's send runs.
        let mut echoed = Vec::new();
        while echoed.len() < message.len() {
            pool.submit_abortable(ticket, server.recv_job(4096), server.abort_handle())
                .unwrap();
            if echoed.is_empty() {
                pool.submit(ticket + 1, client.send_job(message.to_vec()))
                    .unwrap();
                assert_eq!(sent(w.wait_for(ticket + 1)), message.len());
            }
            echoed.extend(bytes(w.wait_for(ticket)));
            ticket += 2;
        }
        pool.submit(ticket, server.send_job(echoed)).unwrap();
        assert_eq!(sent(w.wait_for(ticket)), message.len());
        ticket += 1;
        let mut back = Vec::new();
        while back.len() < message.len() {
            pool.submit(ticket, client.recv_job(4096)).unwrap();
            back.extend(bytes(w.wait_for(ticket)));
            ticket += 1;
        }
        assert_eq!(back, message);
    }

    // The client closes: the server reads the end of the stream as an empty result.
    client.close();
    pool.submit(ticket, server.recv_job(16)).unwrap();
    assert_eq!(bytes(w.wait_for(ticket)), b"");
    server.close();
    l.close();
    assert_eq!(pool.pending(), 0);
}

// ---------------------------------------------------------------------------------------------
// Scope and flags

#[test]
fn listen_outside_the_scope_is_refused() {
    let g = gateway("127.0.0.1:8080:connect+listen");
    let e = g.listen("127.0.0.1", 0).unwrap_err();
    assert_eq!(e.reason, NetReason::NotInScope);
    assert_eq!(
        e.to_string(),
        "listen 127.0.0.1:0: not in the key's scope (net key 127.0.0.1:8080:connect+listen)"
    );
    let e = g.listen("localhost", 8080).unwrap_err();
    assert_eq!(e.reason, NetReason::NotInScope);
    // The job form refuses at once, without a job.
    assert_eq!(
        g.listen_job::<Completion>("127.0.0.1", 9)
            .err()
            .map(|e| e.reason),
        Some(NetReason::NotInScope)
    );
}

#[test]
fn connect_and_listen_each_need_their_flag() {
    let listen_only = gateway("127.0.0.1:*:listen");
    let e = listen_only.connect("127.0.0.1", 80).unwrap_err();
    assert_eq!(e.reason, NetReason::FlagMissing(NetOp::Connect));
    assert_eq!(
        e.to_string(),
        "connect 127.0.0.1:80: the key does not allow connect (net key 127.0.0.1:*:listen)"
    );
    assert!(listen_only
        .connect_job::<Completion>("127.0.0.1", 80)
        .is_err());
    let (l, _) = loopback_listener(&listen_only);
    l.close();

    let connect_only = gateway("127.0.0.1:*:connect");
    let e = connect_only.listen("127.0.0.1", 0).unwrap_err();
    assert_eq!(e.reason, NetReason::FlagMissing(NetOp::Listen));
    assert_eq!(
        e.to_string(),
        "listen 127.0.0.1:0: the key does not allow listen (net key 127.0.0.1:*:connect)"
    );

    let neither = NetGateway::new(gateway("127.0.0.1:*").patterns().to_vec(), false, false);
    assert!(neither.scope().ends_with(":neither connect nor listen"));
    assert_eq!(
        neither
            .check(NetOp::Connect, "127.0.0.1", 1)
            .unwrap_err()
            .reason,
        NetReason::FlagMissing(NetOp::Connect)
    );
}

#[test]
fn from_key_reads_a_net_key_only() {
    let kind = KeyKind::Net {
        patterns: vec![HostPort::parse("127.0.0.1:*").unwrap()],
        connect: true,
        listen: false,
    };
    let g = NetGateway::from_key(&kind).unwrap();
    assert_eq!(g.scope(), "127.0.0.1:*:connect");
    assert!(NetGateway::from_key(&KeyKind::Clock).is_none());
}

#[test]
fn port_patterns_and_port_zero() {
    let g = gateway("127.0.0.1:8080,127.0.0.1:0");
    assert!(g.check(NetOp::Connect, "127.0.0.1", 8080).is_ok());
    assert_eq!(
        g.check(NetOp::Connect, "127.0.0.1", 8081)
            .unwrap_err()
            .reason,
        NetReason::NotInScope
    );
    assert_eq!(
        g.check(NetOp::Connect, "127.0.0.1", 0).unwrap_err().reason,
        NetReason::PortZero
    );
    // Listening on port 0 takes any free port; the pattern must allow port 0 (or `*`).
    let l = g.listen("127.0.0.1", 0).unwrap();
    assert_ne!(l.local_addr().unwrap().port(), 0);
    l.close();
    assert_eq!(
        gateway("127.0.0.1:8080")
            .listen("127.0.0.1", 0)
            .unwrap_err()
            .reason,
        NetReason::NotInScope
    );
}

// ---------------------------------------------------------------------------------------------
// Aliases and rebinding

fn refused(g: &NetGateway, host: &str, port: u16) -> NetError {
    g.check(NetOp::Connect, host, port)
        .expect_err("the check refuses")
}

fn sockaddrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn aliases_of_a_granted_loopback_address_are_refused() {
    let g = gateway("127.0.0.1:7000:connect");
    assert_eq!(
        g.check(NetOp::Connect, "127.0.0.1", 7000).unwrap(),
        sockaddrs(&["127.0.0.1:7000"])
    );
    // The IPv4-mapped form is the same address.
    assert_eq!(
        g.check(NetOp::Connect, "[::ffff:127.0.0.1]", 7000).unwrap(),
        sockaddrs(&["127.0.0.1:7000"])
    );
    assert_eq!(
        g.check(NetOp::Connect, "::FFFF:7f00:1", 7000).unwrap(),
        sockaddrs(&["127.0.0.1:7000"])
    );
    // `localhost` is another host as written.
    let e = refused(&g, "localhost", 7000);
    assert_eq!(e.reason, NetReason::NotInScope);
    assert_eq!(
        e.to_string(),
        "connect localhost:7000: not in the key's scope (net key 127.0.0.1:7000:connect)"
    );
    assert_eq!(refused(&g, "[::1]", 7000).reason, NetReason::NotInScope);
    // Numeric forms the host's resolver would read as 127.0.0.1.
    for alias in [
        "127.1",
        "127.0.1",
        "0x7f.0.0.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "127.0.0.01",
        "127.0.0.1.",
    ] {
        let e = refused(&g, alias, 7000);
        assert!(
            matches!(e.reason, NetReason::Alias(ref m) if m.contains("not a canonical IPv4 address")),
            "{alias}: {e}"
        );
    }
    assert_eq!(
        refused(&g, "127.1", 7000).to_string(),
        "connect 127.1:7000: \"127.1\" is not a canonical IPv4 address (write a.b.c.d) \
         (net key 127.0.0.1:7000:connect)"
    );
    // A name that resolves to the granted address is still refused as written.
    assert_eq!(
        refused(&g, "rebind.test", 7000).reason,
        NetReason::NotInScope
    );
}

#[test]
fn localhost_and_its_address_are_different_scopes() {
    let g = gateway("localhost:7000:connect");
    assert_eq!(
        g.check(NetOp::Connect, "localhost", 7000).unwrap(),
        sockaddrs(&["127.0.0.1:7000"])
    );
    assert_eq!(
        g.check(NetOp::Connect, "LocalHost", 7000).unwrap(),
        sockaddrs(&["127.0.0.1:7000"])
    );
    assert_eq!(refused(&g, "127.0.0.1", 7000).reason, NetReason::NotInScope);
    assert_eq!(
        refused(&g, "[::ffff:127.0.0.1]", 7000).reason,
        NetReason::NotInScope
    );
    assert_eq!(
        refused(&g, "localhost.", 7000).reason,
        NetReason::NotInScope
    );
}

#[test]
fn a_public_grant_does_not_reach_loopback_by_any_spelling() {
    let g = gateway("public.test:7000:connect");
    assert_eq!(
        g.check(NetOp::Connect, "public.test", 7000).unwrap(),
        sockaddrs(&["192.0.2.10:7000"])
    );
    for host in [
        "[::ffff:127.0.0.1]",
        "127.0.0.1",
        "localhost",
        "127.1",
        "[::1]",
    ] {
        let e = refused(&g, host, 7000);
        assert!(
            matches!(e.reason, NetReason::NotInScope | NetReason::Alias(_)),
            "{host}: {e}"
        );
    }
}

#[test]
fn names_resolving_to_internal_addresses_are_refused() {
    let cases = [
        ("rebind.test", "127.0.0.1", "loopback"),
        ("mapped.test", "127.0.0.1", "loopback"),
        ("v6local.test", "::1", "loopback"),
        ("private.test", "10.1.2.3", "private"),
        ("linklocal.test", "169.254.169.254", "link-local"),
        // One bad address among good ones is enough.
        ("mixed.test", "127.0.0.1", "loopback"),
    ];
    for (name, addr, class) in cases {
        let g = gateway(&format!("{name}:7000:connect+listen"));
        let e = refused(&g, name, 7000);
        assert_eq!(
            e.reason,
            NetReason::Forbidden {
                addr: ip(addr),
                class
            },
            "{name}"
        );
        // `listen` applies the same rule.
        assert_eq!(
            g.check(NetOp::Listen, name, 7000).unwrap_err().reason,
            e.reason
        );
    }
    let g = gateway("rebind.test:7000:connect");
    assert_eq!(
        refused(&g, "rebind.test", 7000).to_string(),
        "connect rebind.test:7000: resolves to forbidden address 127.0.0.1 (loopback); only a \
         pattern naming that address allows it (net key rebind.test:7000:connect)"
    );
}

#[test]
fn an_internal_address_named_for_the_same_port_is_allowed() {
    let ok = |spec: &str| gateway(spec).check(NetOp::Connect, "rebind.test", 7000);
    assert_eq!(
        ok("rebind.test:7000,127.0.0.1:7000").unwrap(),
        sockaddrs(&["127.0.0.1:7000"])
    );
    assert!(ok("rebind.test:7000,[::ffff:127.0.0.1]:*").is_ok());
    assert!(ok("rebind.test:7000,localhost:7000").is_ok());
    // Named for another port only: refused.
    assert!(matches!(
        ok("rebind.test:7000,127.0.0.1:7001").unwrap_err().reason,
        NetReason::Forbidden { .. }
    ));
    // `localhost` names loopback addresses, not private ones.
    let g = gateway("private.test:7000,localhost:7000");
    assert!(matches!(
        refused(&g, "private.test", 7000).reason,
        NetReason::Forbidden { .. }
    ));
    // The unspecified address is internal too: listening on every interface needs it named.
    let g = gateway("0.0.0.0:7000:listen");
    assert_eq!(
        g.check(NetOp::Listen, "0.0.0.0", 7000).unwrap(),
        sockaddrs(&["0.0.0.0:7000"])
    );
}

#[test]
fn connect_refuses_a_rebound_name_without_connecting() {
    // A real listener on 127.0.0.1: the refused connect must never reach it.
    let server = gateway("127.0.0.1:*:listen");
    let (l, port) = loopback_listener(&server);
    let g = gateway(&format!("rebind.test:{port}:connect"));
    let e = g.connect("rebind.test", port).unwrap_err();
    assert!(matches!(e.reason, NetReason::Forbidden { .. }), "{e}");
    // The job form refuses inside the job (resolution is blocking work).
    let pool = pool(1, 2);
    pool.submit(1, g.connect_job("rebind.test", port).unwrap())
        .unwrap();
    let (_, c) = pool.recv_timeout(WAIT).unwrap();
    assert!(matches!(failure(c).reason, NetReason::Forbidden { .. }));
    let timeouts = Timeouts {
        accept: Some(Duration::from_millis(20)),
        ..Timeouts::default()
    };
    let quick = gateway("127.0.0.1:*:listen").with_timeouts(timeouts);
    let (l2, _) = loopback_listener(&quick);
    assert_eq!(l2.accept().unwrap_err().reason, NetReason::TimedOut);
    l2.close();
    // Nothing connected to the first listener either: with the listener closed now, no
    // pending connection is lost, and a later accept reports the closure.
    l.close();
    assert_eq!(l.accept().unwrap_err().reason, NetReason::Closed);
}

#[test]
fn unresolvable_and_malformed_hosts() {
    let g = gateway("nosuch.test:1,empty.test:1,bad_name.test:1:connect");
    assert!(matches!(
        refused(&g, "nosuch.test", 1).reason,
        NetReason::Unresolved(ref m) if m.contains("no such name")
    ));
    assert!(matches!(
        refused(&g, "empty.test", 1).reason,
        NetReason::Unresolved(_)
    ));
    for bad in [
        "",
        "a b",
        "a\0b",
        "[::1",
        "[127.0.0.1]",
        "fe80::1%eth0",
        ".x",
        "a..b",
        "é.test",
    ] {
        assert!(
            matches!(refused(&g, bad, 1).reason, NetReason::BadHost(_)),
            "{bad:?}"
        );
    }
    let long = "a".repeat(10_000);
    let e = refused(&g, &long, 1);
    assert!(e.to_string().len() < 1000);
    let e = refused(&g, "a\nb", 1);
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn internal_classes() {
    let cases = [
        ("0.0.0.0", Some("unspecified")),
        ("0.1.2.3", Some("unspecified")),
        ("127.0.0.1", Some("loopback")),
        ("127.255.0.9", Some("loopback")),
        ("10.0.0.1", Some("private")),
        ("172.16.0.1", Some("private")),
        ("172.31.255.255", Some("private")),
        ("172.32.0.1", None),
        ("192.168.1.1", Some("private")),
        ("100.64.0.1", Some("shared address space")),
        ("100.128.0.1", None),
        ("169.254.1.1", Some("link-local")),
        ("224.0.0.1", Some("multicast")),
        ("255.255.255.255", Some("broadcast")),
        ("240.0.0.1", Some("reserved")),
        ("8.8.8.8", None),
        ("192.0.2.10", None),
        ("::", Some("unspecified")),
        ("::1", Some("loopback")),
        ("::ffff:127.0.0.1", Some("loopback")),
        ("::ffff:10.0.0.1", Some("private")),
        ("::ffff:8.8.8.8", None),
        ("fc00::1", Some("unique-local")),
        ("fd12:3456::1", Some("unique-local")),
        ("fe80::1", Some("link-local")),
        ("fec0::1", Some("site-local")),
        ("ff02::1", Some("multicast")),
        ("::127.0.0.1", Some("IPv4-compatible")),
        ("64:ff9b::7f00:1", Some("NAT64 of an internal address")),
        ("64:ff9b::808:808", None),
        ("2001:db8::1", None),
    ];
    for (addr, class) in cases {
        assert_eq!(internal_class(ip(addr)), class, "{addr}");
    }
}

// ---------------------------------------------------------------------------------------------
// Failures of real connections

#[test]
fn connection_refused_is_a_clean_error() {
    let g = gateway("127.0.0.1:*");
    let (l, port) = loopback_listener(&g);
    l.close();
    let e = g.connect("127.0.0.1", port).unwrap_err();
    assert_eq!(e.reason, NetReason::Refused);
    assert_eq!(
        e.to_string(),
        format!(
            "connect 127.0.0.1:{port}: connection refused (net key 127.0.0.1:*:connect+listen)"
        )
    );
}

#[test]
fn peer_reset_is_reported() {
    let server = StdListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (stream, _) = server.accept().unwrap();
        // Wait for the client's byte and close without reading it: the host answers with a
        // reset instead of an orderly end.
        let mut one = [0u8; 1];
        stream.peek(&mut one).unwrap();
        drop(stream);
    });
    let g = gateway("127.0.0.1:*:connect");
    let client = g.connect("127.0.0.1", port).unwrap();
    assert_eq!(client.send(b"x"), Ok(1));
    peer.join().unwrap();
    let e = client.recv(10).unwrap_err();
    assert_eq!(e.reason, NetReason::Reset);
    assert_eq!(e.op, NetOp::Recv);
    assert_eq!(e.target, format!("127.0.0.1:{port}"));
}

#[test]
fn end_of_stream_reads_as_empty() {
    let server = StdListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = server.accept().unwrap();
        stream.write_all(b"bye").unwrap();
    });
    let g = gateway("127.0.0.1:*:connect");
    let client = g.connect("127.0.0.1", port).unwrap();
    peer.join().unwrap();
    assert_eq!(recv_exactly(&client, 3), b"bye");
    assert_eq!(client.recv(10), Ok(Vec::new()));
    assert_eq!(client.recv(10), Ok(Vec::new()));
}

#[test]
fn argument_and_closed_errors() {
    let g = gateway("127.0.0.1:*");
    let (l, port) = loopback_listener(&g);
    let client = g.connect("127.0.0.1", port).unwrap();
    let server = l.accept().unwrap();
    assert_eq!(client.recv(0).unwrap_err().reason, NetReason::ZeroMax);
    assert_eq!(client.send(b""), Ok(0));
    // A huge max is clamped, not allocated.
    assert_eq!(server.send(b"abc"), Ok(3));
    assert_eq!(recv_exactly(&client, 3), b"abc");
    client.close();
    client.close();
    assert!(client.is_closed());
    assert_eq!(client.send(b"x").unwrap_err().reason, NetReason::Closed);
    assert_eq!(
        client.recv(usize::MAX).unwrap_err().reason,
        NetReason::Closed
    );
    assert_eq!(server.recv(usize::MAX), Ok(Vec::new()));
    l.close();
    l.close();
    assert!(l.is_closed());
    assert_eq!(l.accept().unwrap_err().reason, NetReason::Closed);
}

#[test]
fn recv_and_accept_time_out_when_configured() {
    let timeouts = Timeouts {
        recv: Some(Duration::from_millis(30)),
        accept: Some(Duration::ZERO),
        ..Timeouts::default()
    };
    let g = gateway("127.0.0.1:*").with_timeouts(timeouts);
    let (l, port) = loopback_listener(&g);
    let client = g.connect("127.0.0.1", port).unwrap();
    let server = l.accept().unwrap();
    let e = client.recv(10).unwrap_err();
    assert_eq!(e.reason, NetReason::TimedOut);
    assert_eq!(server.recv(10).unwrap_err().reason, NetReason::TimedOut);
    // The socket is still usable after a timeout.
    server.send(b"late").unwrap();
    assert_eq!(recv_exactly(&client, 4), b"late");
    assert_eq!(l.accept().unwrap_err().reason, NetReason::TimedOut);
}

// ---------------------------------------------------------------------------------------------
// Parked jobs and cancellation

#[test]
fn a_slow_peer_parks_only_its_own_job() {
    // A peer that accepts and then never sends until the test is over.
    let slow = StdListener::bind("127.0.0.1:0").unwrap();
    let slow_port = slow.local_addr().unwrap().port();
    let (hold_tx, hold_rx) = crossbeam_channel::bounded::<()>(0);
    let peer = std::thread::spawn(move || {
        let (_stream, _) = slow.accept().unwrap();
        let _ = hold_rx.recv();
    });

    // One core worker: every other job needs the pool to grow past the parked recv.
    let pool = pool(1, 8);
    let mut w = Waiter::new(&pool);
    let g = gateway("127.0.0.1:*");
    let stuck = g.connect("127.0.0.1", slow_port).unwrap();
    pool.submit_abortable(1, stuck.recv_job(100), stuck.abort_handle())
        .unwrap();

    // Meanwhile: a whole echo exchange and some plain jobs, each waited for in turn.
    let (l, port) = loopback_listener(&g);
    pool.submit(2, l.accept_job()).unwrap();
    pool.submit(3, g.connect_job("127.0.0.1", port).unwrap())
        .unwrap();
    let client = socket(w.wait_for(3));
    let server = socket(w.wait_for(2));
    pool.submit(4, server.recv_job(100)).unwrap();
    pool.submit(5, client.send_job(b"ping".to_vec())).unwrap();
    assert_eq!(sent(w.wait_for(5)), 4);
    assert_eq!(bytes(w.wait_for(4)), b"ping");
    for t in 6..10 {
        pool.submit(t, Box::new(|| Completion::Done)).unwrap();
        assert!(matches!(w.wait_for(t), Completion::Done));
    }
    // The slow recv has not completed: every completion so far was another ticket.
    assert!(!w.order.contains(&1));
    assert_eq!(pool.pending(), 1);

    // Closing the socket abandons the parked recv.
    stuck.close();
    let e = failure(w.wait_for(1));
    assert_eq!(e.reason, NetReason::Closed);
    assert_eq!(e.op, NetOp::Recv);
    drop(hold_tx);
    peer.join().unwrap();
}

#[test]
fn closing_abandons_a_pending_recv_and_a_pending_accept() {
    let pool = pool(1, 4);
    let mut w = Waiter::new(&pool);
    let g = gateway("127.0.0.1:*");
    let (l, port) = loopback_listener(&g);
    let client = g.connect("127.0.0.1", port).unwrap();
    let _server = l.accept().unwrap();

    let (started_tx, started) = crossbeam_channel::unbounded();
    let with_start = |ticket: u64, job: Job| -> Job {
        let started_tx = started_tx.clone();
        Box::new(move || {
            let _ = started_tx.send(ticket);
            job()
        })
    };
    pool.submit(1, with_start(1, client.recv_job(10))).unwrap();
    pool.submit(2, with_start(2, l.accept_job())).unwrap();
    for _ in 0..2 {
        started.recv_timeout(WAIT).expect("the job starts");
    }
    // Whether or not the jobs are already blocked in the host, closing ends them.
    std::thread::sleep(Duration::from_millis(20));
    client.close();
    l.close();
    let e = failure(w.wait_for(1));
    assert_eq!((e.op, e.reason), (NetOp::Recv, NetReason::Closed));
    let e = failure(w.wait_for(2));
    assert_eq!((e.op, e.reason), (NetOp::Accept, NetReason::Closed));
    // The closed listener released its port.
    assert_eq!(
        g.connect("127.0.0.1", port).unwrap_err().reason,
        NetReason::Refused
    );
}

#[test]
fn dropping_the_pool_aborts_parked_socket_jobs_and_joins() {
    let pool = pool(1, 4);
    let g = gateway("127.0.0.1:*");
    let (l, port) = loopback_listener(&g);
    let client = g.connect("127.0.0.1", port).unwrap();
    let server = l.accept().unwrap();
    let (started_tx, started) = crossbeam_channel::unbounded();
    let with_start = |job: Job| -> Job {
        let started_tx = started_tx.clone();
        Box::new(move || {
            let _ = started_tx.send(());
            job()
        })
    };
    pool.submit_abortable(1, with_start(client.recv_job(10)), client.abort_handle())
        .unwrap();
    pool.submit_abortable(2, with_start(server.recv_job(10)), server.abort_handle())
        .unwrap();
    pool.submit_abortable(3, with_start(l.accept_job()), l.abort_handle())
        .unwrap();
    for _ in 0..3 {
        started.recv_timeout(WAIT).expect("the job starts");
    }
    // Returns only once every worker is joined: each parked job was aborted by closing its
    // socket.
    drop(pool);
    assert!(client.is_closed());
    assert!(server.is_closed());
    assert!(l.is_closed());
}

#[test]
fn gateways_are_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<NetGateway>();
    check::<SocketGateway>();
    check::<ListenerGateway>();
}
