//! `Gateways` driven through the `Host` trait as the kernel drives it: requests with tickets,
//! answers from `start` or `poll`, new objects checked with `KeyKind::attenuate` against the
//! called key's kind and then bound to fresh key ids. Filesystem tests use temp dirs; network
//! tests use real TCP on 127.0.0.1 only. No test asserts on timing: waits are bounded only by a
//! generous deadline that a passing test never reaches.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kernel::clist::{DirRights, HostPort, KeyId, KeyKind};
use kernel::gateway::{Host, HostError, HostValue, Request, Started};

use super::Gateways;
use crate::clock::{Clock, VirtualClock};
use crate::console::Console;
use crate::fs::DirGateway;
use crate::net::NetGateway;
use crate::random::Random;

/// Longer than any answer takes on a loaded machine; only a failing test waits this long.
const DEADLINE: Duration = Duration::from_secs(60);
const MB: usize = 1 << 20;

type Answer = Result<Vec<HostValue>, HostError>;

/// The kernel's side, reduced to what the host sees: key ids with kinds, tickets, answers.
struct Kernel {
    gw: Gateways,
    kinds: HashMap<KeyId, KeyKind>,
    next_key: u64,
    next_ticket: u64,
    /// Answers that arrived through `poll` while another ticket was awaited.
    answers: HashMap<u64, Answer>,
}

impl Kernel {
    fn new() -> Kernel {
        Kernel {
            gw: Gateways::new().unwrap(),
            kinds: HashMap::new(),
            next_key: 1,
            // Tickets of the kernel's own numbering, far from the host's, to show they are
            // carried back unchanged.
            next_ticket: 1000,
            answers: HashMap::new(),
        }
    }

    fn key(&mut self, kind: KeyKind) -> KeyId {
        let id = KeyId(self.next_key);
        self.next_key += 1;
        self.kinds.insert(id, kind);
        id
    }

    fn start_max(
        &mut self,
        key: KeyId,
        method: &str,
        args: Vec<HostValue>,
        max: usize,
    ) -> (u64, Started) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let kind = self.kinds.get(&key).cloned().unwrap_or(KeyKind::Console);
        // Tests name methods as Lua does; the key's kind says which (or, to reach a host
        // object with a method of another kind, the first method of that name).
        use kernel::gateway::Method;
        let method = Method::find(kind.kind_name(), method)
            .or_else(|| Method::ALL.iter().copied().find(|m| m.name() == method))
            .unwrap_or_else(|| panic!("no method named {method}"));
        let started = self.gw.start(Request {
            ticket,
            key,
            kind,
            method,
            args,
            max_bytes: max,
        });
        (ticket, started)
    }

    fn start(&mut self, key: KeyId, method: &str, args: Vec<HostValue>) -> (u64, Started) {
        self.start_max(key, method, args, MB)
    }

    /// Starts a request that must go pending; returns its ticket.
    fn pending(&mut self, key: KeyId, method: &str, args: Vec<HostValue>) -> u64 {
        self.pending_max(key, method, args, MB)
    }

    fn pending_max(&mut self, key: KeyId, method: &str, args: Vec<HostValue>, max: usize) -> u64 {
        match self.start_max(key, method, args, max) {
            (ticket, Started::Pending) => ticket,
            (_, Started::Done(r)) => panic!("{method} answered at once: {r:?}"),
        }
    }

    fn call_max(&mut self, key: KeyId, method: &str, args: Vec<HostValue>, max: usize) -> Answer {
        match self.start_max(key, method, args, max) {
            (_, Started::Done(r)) => r,
            (ticket, Started::Pending) => self.wait(ticket),
        }
    }

    fn call(&mut self, key: KeyId, method: &str, args: Vec<HostValue>) -> Answer {
        self.call_max(key, method, args, MB)
    }

    /// Polls (waiting) until `ticket` is answered.
    fn wait(&mut self, ticket: u64) -> Answer {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(a) = self.answers.remove(&ticket) {
                return a;
            }
            assert!(Instant::now() < deadline, "ticket {ticket} never answered");
            self.collect(Some(Duration::from_millis(50)));
        }
    }

    fn collect(&mut self, wait: Option<Duration>) {
        for (t, a) in self.gw.poll(wait) {
            let old = self.answers.insert(t, a);
            assert!(old.is_none(), "ticket {t} answered twice");
        }
    }

    /// Puts the object of a one-value answer behind a new key, after checking its kind as
    /// the kernel does.
    fn bind(&mut self, parent: KeyId, answer: Answer) -> (KeyId, KeyKind) {
        let values = answer.unwrap();
        let [HostValue::Object { token, kind }] = values.as_slice() else {
            panic!("not one object: {values:?}");
        };
        self.kinds[&parent].attenuate(kind).unwrap();
        let key = self.key(kind.clone());
        self.gw.bind(*token, key);
        assert!(self.gw.holds(key));
        (key, kind.clone())
    }
}

fn b(s: &str) -> HostValue {
    HostValue::Bytes(s.as_bytes().to_vec())
}

fn int(i: i64) -> HostValue {
    HostValue::Int(i)
}

#[track_caller]
fn err(answer: Answer, kind: &str) -> String {
    match answer {
        Err(e) => {
            assert_eq!(e.reason.kind().name(), kind, "{}", e.message);
            e.message
        }
        Ok(v) => panic!("expected a {kind} error, got {v:?}"),
    }
}

#[track_caller]
fn bytes(answer: Answer) -> Vec<u8> {
    match answer.unwrap().as_slice() {
        [HostValue::Bytes(b)] => b.clone(),
        other => panic!("not bytes: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Filesystem

struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&root).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(root.join("f.txt"), b"hello").unwrap();
    std::fs::write(root.join("big.bin"), [7u8; 100]).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/inner.txt"), b"inner").unwrap();
    std::fs::write(outside.join("secret.txt"), b"SECRET").unwrap();
    std::os::unix::fs::symlink("../outside", root.join("out")).unwrap();
    Tree {
        _tmp: tmp,
        root,
        outside,
    }
}

/// A kernel with a dir key on `tree`'s root with `rights`.
fn with_dir(t: &Tree, rights: &str) -> (Kernel, KeyId) {
    let mut k = Kernel::new();
    let rights = DirRights::parse(rights).unwrap();
    let root = t.root.display().to_string();
    let key = k.key(KeyKind::Dir { root, rights });
    k.gw.attach_dir(key, DirGateway::open_ambient(&t.root, rights).unwrap());
    (k, key)
}

#[test]
fn dir_methods_read_write_list_stat_mkdir_remove() {
    let t = tree();
    let (mut k, d) = with_dir(&t, "rwcdl");
    assert_eq!(bytes(k.call(d, "read", vec![b("f.txt")])), b"hello");
    assert_eq!(k.call(d, "write", vec![b("new.txt"), b("one")]), Ok(vec![]));
    assert_eq!(k.call(d, "append", vec![b("new.txt"), int(2)]), Ok(vec![]));
    assert_eq!(std::fs::read(t.root.join("new.txt")).unwrap(), b"one2");
    assert_eq!(k.call(d, "mkdir", vec![b("made")]), Ok(vec![]));
    assert!(t.root.join("made").is_dir());

    let listed = k.call(d, "list", vec![]).unwrap();
    let [HostValue::List(entries)] = listed.as_slice() else {
        panic!("{listed:?}")
    };
    let names: Vec<(Vec<u8>, Vec<u8>)> = entries
        .iter()
        .map(|e| match e {
            HostValue::Record(fields) => match fields.as_slice() {
                [("name", HostValue::Bytes(n)), ("kind", HostValue::Bytes(k))] => {
                    (n.clone(), k.clone())
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    let expect = |n: &str, k: &str| (n.as_bytes().to_vec(), k.as_bytes().to_vec());
    assert_eq!(
        names,
        [
            expect("big.bin", "file"),
            expect("f.txt", "file"),
            expect("made", "directory"),
            expect("new.txt", "file"),
            expect("out", "symlink"),
            expect("sub", "directory"),
        ]
    );
    let sub = k.call(d, "list", vec![b("sub")]).unwrap();
    assert!(matches!(sub.as_slice(), [HostValue::List(v)] if v.len() == 1));

    let stat = k.call(d, "stat", vec![b("f.txt")]).unwrap();
    let [HostValue::Record(fields)] = stat.as_slice() else {
        panic!("{stat:?}")
    };
    assert_eq!(fields[0], ("kind", b("file")));
    assert_eq!(fields[1], ("size", int(5)));
    assert!(matches!(fields[2], ("modified", HostValue::Int(m)) if m > 0));

    assert_eq!(k.call(d, "remove", vec![b("new.txt")]), Ok(vec![]));
    assert_eq!(k.call(d, "remove", vec![b("made")]), Ok(vec![]));
    assert!(!t.root.join("new.txt").exists() && !t.root.join("made").exists());
    let msg = err(k.call(d, "read", vec![b("nope.txt")]), "error");
    assert_eq!(msg, "'nope.txt': no such file or directory");
    assert_eq!(k.gw.pending(), 0);
}

#[test]
fn open_gives_a_file_key_whose_methods_work_until_close() {
    let t = tree();
    let (mut k, d) = with_dir(&t, "rwcl");
    let answer = k.call(d, "open", vec![b("f.txt"), b("r+")]);
    let (f, kind) = k.bind(d, answer);
    assert_eq!(
        kind,
        KeyKind::File {
            path: format!("{}/f.txt", t.root.display()),
            rights: DirRights::parse("rw").unwrap(),
        }
    );
    assert_eq!(bytes(k.call(f, "read", vec![int(2)])), b"he");
    assert_eq!(k.call(f, "seek", vec![]), Ok(vec![int(2)]));
    assert_eq!(bytes(k.call(f, "read", vec![])), b"llo");
    assert_eq!(k.call(f, "read", vec![]), Ok(vec![HostValue::Nil]));
    assert_eq!(k.call(f, "read", vec![int(10)]), Ok(vec![HostValue::Nil]));
    assert_eq!(k.call(f, "seek", vec![b("set"), int(0)]), Ok(vec![int(0)]));
    assert_eq!(k.call(f, "write", vec![b("J")]), Ok(vec![]));
    assert_eq!(k.call(f, "seek", vec![b("end")]), Ok(vec![int(5)]));
    let msg = err(k.call(f, "seek", vec![b("middle")]), "error");
    assert_eq!(msg, "bad argument #1 to 'seek' (invalid option 'middle')");
    assert_eq!(k.call(f, "close", vec![]), Ok(vec![]));
    assert_eq!(std::fs::read(t.root.join("f.txt")).unwrap(), b"Jello");
    let msg = err(k.call(f, "read", vec![]), "error");
    assert!(msg.contains("closed"), "{msg}");

    // The default mode is "r": the key gets only `r`, and writing is refused.
    let answer = k.call(d, "open", vec![b("sub/inner.txt")]);
    let (g, kind) = k.bind(d, answer);
    assert!(matches!(kind, KeyKind::File { rights, .. } if rights == DirRights::READ));
    let msg = err(k.call(g, "write", vec![b("x")]), "denied");
    assert!(msg.contains("'w'"), "{msg}");
    k.gw.release(g);
    assert!(!k.gw.holds(g));
    assert_eq!(k.gw.unbound(), 0);
}

#[test]
fn sub_then_bind_then_use_the_sub_key() {
    let t = tree();
    let (mut k, d) = with_dir(&t, "rwl");
    let answer = k.call(d, "sub", vec![b("sub"), b("rl")]);
    let (s, kind) = k.bind(d, answer);
    assert_eq!(
        kind,
        KeyKind::Dir {
            root: format!("{}/sub", t.root.display()),
            rights: DirRights::parse("rl").unwrap(),
        }
    );
    assert_eq!(bytes(k.call(s, "read", vec![b("inner.txt")])), b"inner");
    let msg = err(k.call(s, "write", vec![b("inner.txt"), b("x")]), "denied");
    assert!(msg.contains("'w'"), "{msg}");
    // Widening from the sub key, and an unknown right letter.
    let msg = err(k.call(s, "sub", vec![b("x"), b("rw")]), "denied");
    assert!(msg.contains("cannot widen"), "{msg}");
    let msg = err(k.call(d, "sub", vec![b("sub"), b("rz")]), "error");
    assert!(
        msg.starts_with("bad argument #2 to 'sub' (unknown right 'z'"),
        "{msg}"
    );
    // Without rights, the sub key has the parent's.
    let answer = k.call(d, "sub", vec![b("sub")]);
    let (_, kind) = k.bind(d, answer);
    assert!(
        matches!(kind, KeyKind::Dir { rights, .. } if rights == DirRights::parse("rwl").unwrap())
    );
    // The sub key cannot reach its parent's files.
    err(k.call(s, "read", vec![b("../f.txt")]), "denied");
}

#[test]
fn escapes_and_missing_rights_are_denied() {
    let t = tree();
    let (mut k, d) = with_dir(&t, "r");
    for path in ["../outside/secret.txt", "/etc/passwd", "out/secret.txt"] {
        let msg = err(k.call(d, "read", vec![b(path)]), "denied");
        assert!(!msg.contains("SECRET"), "{msg}");
        assert!(!msg.contains(&*t.outside.display().to_string()), "{msg}");
    }
    err(k.call(d, "sub", vec![b("out")]), "denied");
    for (method, args, right) in [
        ("write", vec![b("f.txt"), b("x")], "'w'"),
        ("list", vec![], "'l'"),
        ("mkdir", vec![b("m")], "'c'"),
        ("remove", vec![b("f.txt")], "'d'"),
        ("open", vec![b("f.txt"), b("w")], "'w'"),
    ] {
        let msg = err(k.call(d, method, args), "denied");
        assert!(msg.contains(right), "{method}: {msg}");
    }
    assert_eq!(std::fs::read(t.root.join("f.txt")).unwrap(), b"hello");
    // A bad path that does not try to leave is a plain error.
    err(k.call(d, "read", vec![b("")]), "error");
}

#[test]
fn results_over_max_bytes_are_memory_errors() {
    let t = tree();
    let (mut k, d) = with_dir(&t, "rwl");
    let msg = err(k.call_max(d, "read", vec![b("big.bin")], 10), "memory");
    assert!(msg.contains("too large"), "{msg}");
    assert_eq!(
        bytes(k.call_max(d, "read", vec![b("big.bin")], 100)).len(),
        100
    );
    err(k.call_max(d, "list", vec![], 300), "memory");
    err(k.call_max(d, "list", vec![], 0), "memory");
    let answer = k.call(d, "open", vec![b("big.bin")]);
    let (f, _) = k.bind(d, answer);
    err(k.call_max(f, "read", vec![], 50), "memory");
    err(k.call_max(f, "read", vec![int(60)], 50), "memory");
    // A refused read leaves the position where it was.
    assert_eq!(bytes(k.call_max(f, "read", vec![int(40)], 50)).len(), 40);
    assert_eq!(bytes(k.call_max(f, "read", vec![], 60)).len(), 60);
}

// ---------------------------------------------------------------------------------------------
// Network (loopback only)

fn loopback_net() -> (KeyKind, NetGateway) {
    let patterns = vec![HostPort::parse("127.0.0.1:*").unwrap()];
    let kind = KeyKind::Net {
        patterns: patterns.clone(),
        connect: true,
        listen: true,
    };
    (kind, NetGateway::new(patterns, true, true))
}

fn with_net() -> (Kernel, KeyId) {
    let mut k = Kernel::new();
    let (kind, gw) = loopback_net();
    let key = k.key(kind);
    k.gw.attach_net(key, gw);
    (k, key)
}

/// A listener key on 127.0.0.1 and a port picked by the host.
fn listen(k: &mut Kernel, net: KeyId) -> (KeyId, u16) {
    let t = k.pending(net, "listen", vec![b("127.0.0.1"), int(0)]);
    let answer = k.wait(t);
    let (l, kind) = k.bind(net, answer);
    let KeyKind::Listener { local } = kind else {
        panic!("{kind:?}")
    };
    let port: u16 = local.strip_prefix("127.0.0.1:").unwrap().parse().unwrap();
    assert_ne!(port, 0, "the kind shows the port actually bound");
    (l, port)
}

/// A connected pair: (client socket key, server socket key).
fn connected(k: &mut Kernel, net: KeyId, l: KeyId, port: u16) -> (KeyId, KeyId) {
    let accept = k.pending(l, "accept", vec![]);
    let connect = k.pending(net, "connect", vec![b("127.0.0.1"), int(i64::from(port))]);
    let answer = k.wait(connect);
    let (c, kind) = k.bind(net, answer);
    assert_eq!(
        kind,
        KeyKind::Socket {
            peer: format!("127.0.0.1:{port}")
        }
    );
    let answer = k.wait(accept);
    let (s, kind) = k.bind(l, answer);
    assert!(matches!(kind, KeyKind::Socket { peer } if peer.starts_with("127.0.0.1:")));
    (c, s)
}

#[test]
fn listen_connect_accept_send_recv_and_eof() {
    let (mut k, net) = with_net();
    let (l, port) = listen(&mut k, net);
    let (c, s) = connected(&mut k, net, l, port);

    let t = k.pending(c, "send", vec![b("ping")]);
    assert_eq!(k.wait(t), Ok(vec![int(4)]));
    let t = k.pending(s, "recv", vec![int(100)]);
    assert_eq!(bytes(k.wait(t)), b"ping");
    let t = k.pending(s, "send", vec![b("pong")]);
    assert_eq!(k.wait(t), Ok(vec![int(4)]));
    // `recv`'s max is clamped to the caller's memory allowance.
    let t = k.pending_max(c, "recv", vec![int(100)], 3);
    assert_eq!(bytes(k.wait(t)), b"pon");
    let t = k.pending(c, "recv", vec![int(100)]);
    assert_eq!(bytes(k.wait(t)), b"g");

    assert_eq!(k.call(c, "close", vec![]), Ok(vec![]));
    let t = k.pending(s, "recv", vec![int(100)]);
    assert_eq!(k.wait(t), Ok(vec![HostValue::Nil]));
    let msg = err(k.call(c, "send", vec![b("late")]), "error");
    assert!(msg.contains("closed"), "{msg}");
    let msg = err(k.call(s, "recv", vec![int(0)]), "error");
    assert_eq!(msg, "bad argument #1 to 'recv' (max must be at least 1)");
    err(k.call_max(s, "recv", vec![int(10)], 0), "memory");
    assert_eq!(k.gw.pending(), 0);
}

#[test]
fn connect_and_listen_outside_the_scope_are_denied_at_start() {
    let (mut k, net) = with_net();
    for (method, host) in [
        ("connect", "10.0.0.1"),
        ("connect", "localhost"),
        ("listen", "0.0.0.0"),
    ] {
        match k.start(net, method, vec![b(host), int(80)]) {
            (_, Started::Done(answer)) => {
                let msg = err(answer, "denied");
                assert!(msg.contains("not in the key's scope"), "{msg}");
            }
            (_, Started::Pending) => panic!("{method} {host} went pending"),
        }
    }
    let msg = err(
        k.call(net, "connect", vec![b("127.0.0.1"), int(70000)]),
        "error",
    );
    assert_eq!(
        msg,
        "bad argument #2 to 'connect' (port out of range 0..65535)"
    );
    assert_eq!(k.gw.pending(), 0);
}

#[test]
fn restrict_narrows_and_keeps_narrowing() {
    let (mut k, net) = with_net();
    let answer = k.call(net, "restrict", vec![b("127.0.0.1:9:connect")]);
    let (r, kind) = k.bind(net, answer);
    assert_eq!(
        kind,
        KeyKind::Net {
            patterns: vec![HostPort::parse("127.0.0.1:9").unwrap()],
            connect: true,
            listen: false,
        }
    );
    let msg = err(k.call(r, "listen", vec![b("127.0.0.1"), int(9)]), "denied");
    assert!(msg.contains("does not allow listen"), "{msg}");
    err(
        k.call(r, "connect", vec![b("127.0.0.1"), int(10)]),
        "denied",
    );
    err(k.call(r, "restrict", vec![b("127.0.0.1:*")]), "denied");
    err(k.call(net, "restrict", vec![b("10.0.0.1:80")]), "denied");
    err(k.call(net, "restrict", vec![b("no port")]), "error");
}

#[test]
fn a_recv_that_waits_forever_does_not_hold_up_other_requests() {
    let t = tree();
    let (mut k, d) = with_dir(&t, "r");
    let (kind, gw) = loopback_net();
    let net = k.key(kind);
    k.gw.attach_net(net, gw);
    let clock = k.key(KeyKind::Clock);
    k.gw.attach_clock(clock, Clock::Host);
    let (l, port) = listen(&mut k, net);
    let (c, s) = connected(&mut k, net, l, port);
    let (c2, s2) = connected(&mut k, net, l, port);

    // Nobody ever sends on `c`: this recv waits until its socket is released.
    let stuck = k.pending(s, "recv", vec![int(10)]);
    assert_eq!(k.gw.pending(), 1);
    assert_eq!(bytes(k.call(d, "read", vec![b("f.txt")])), b"hello");
    let nap = k.pending(clock, "sleep", vec![HostValue::Float(0.0)]);
    assert_eq!(k.wait(nap), Ok(vec![]));
    let t1 = k.pending(c2, "send", vec![b("other")]);
    let t2 = k.pending(s2, "recv", vec![int(10)]);
    assert_eq!(k.wait(t1), Ok(vec![int(5)]));
    assert_eq!(bytes(k.wait(t2)), b"other");
    assert!(!k.answers.contains_key(&stuck));
    assert_eq!(k.gw.pending(), 1);

    // Releasing the socket's key closes it: the recv is answered, once, as closed.
    k.gw.release(s);
    let msg = err(k.wait(stuck), "error");
    assert!(msg.contains("closed"), "{msg}");
    assert_eq!(k.gw.pending(), 0);
    k.collect(None);
    assert!(k.answers.is_empty());
    assert_eq!(k.call(c, "close", vec![]), Ok(vec![]));
}

#[test]
fn releasing_a_listener_answers_its_pending_accept() {
    let (mut k, net) = with_net();
    let (l, _) = listen(&mut k, net);
    let t = k.pending(l, "accept", vec![]);
    k.gw.release(l);
    let msg = err(k.wait(t), "error");
    assert!(msg.contains("closed"), "{msg}");
    assert_eq!(k.gw.pending(), 0);
    err(k.call(l, "accept", vec![]), "error");
}

// ---------------------------------------------------------------------------------------------
// Clock, random, console

#[test]
fn host_clock_now_and_sleep() {
    let mut k = Kernel::new();
    let c = k.key(KeyKind::Clock);
    k.gw.attach_clock(c, Clock::Host);
    let now = k.call(c, "now", vec![]).unwrap();
    assert!(matches!(now.as_slice(), [HostValue::Float(s)] if *s > 1.5e9));
    let t = k.pending(c, "sleep", vec![HostValue::Float(0.01)]);
    assert_eq!(k.gw.pending(), 1);
    assert_eq!(k.wait(t), Ok(vec![]));
    assert_eq!(k.gw.pending(), 0);
    let msg = err(k.call(c, "sleep", vec![int(-1)]), "error");
    assert_eq!(msg, "sleep: negative duration -1");
    let msg = err(k.call(c, "sleep", vec![b("soon")]), "error");
    assert_eq!(
        msg,
        "bad argument #1 to 'sleep' (number expected, got string)"
    );
}

#[test]
fn a_virtual_clock_advances_when_poll_waits() {
    let mut k = Kernel::new();
    let v = VirtualClock::starting_at(100.0).unwrap();
    let c = k.key(KeyKind::Clock);
    let c2 = k.key(KeyKind::Clock);
    k.gw.attach_clock(c, Clock::Virtual(v.clone()));
    // A second key on the same clock: time must not advance twice per poll.
    k.gw.attach_clock(c2, Clock::Virtual(v.clone()));
    let long = k.pending(c, "sleep", vec![int(2)]);
    let short = k.pending(c2, "sleep", vec![int(1)]);
    // Polling without waiting never moves virtual time.
    k.collect(None);
    assert!(k.answers.is_empty());
    assert_eq!(k.call(c, "now", vec![]), Ok(vec![HostValue::Float(100.0)]));
    k.collect(Some(DEADLINE));
    assert_eq!(k.answers.remove(&short), Some(Ok(vec![])));
    assert!(k.answers.is_empty());
    assert_eq!(k.call(c, "now", vec![]), Ok(vec![HostValue::Float(101.0)]));
    k.collect(Some(DEADLINE));
    assert_eq!(k.answers.remove(&long), Some(Ok(vec![])));
    assert_eq!(v.now(), 102.0);
    assert_eq!(k.gw.pending(), 0);
}

#[test]
fn random_bytes_and_integers_with_their_errors() {
    let mut k = Kernel::new();
    let r = k.key(KeyKind::Random);
    k.gw.attach_random(r, Random::seeded(7));
    let mut reference = Random::seeded(7);
    assert_eq!(
        bytes(k.call(r, "bytes", vec![int(16)])),
        reference.bytes(16, 16).unwrap()
    );
    let got = k.call(r, "integer", vec![int(1), int(6)]).unwrap();
    assert_eq!(got, vec![int(reference.integer(1, 6).unwrap())]);
    assert_eq!(bytes(k.call(r, "bytes", vec![int(0)])), b"");
    let msg = err(k.call_max(r, "bytes", vec![int(100)], 10), "memory");
    assert_eq!(msg, "random bytes: asked for 100, at most 10 allowed");
    let msg = err(k.call(r, "integer", vec![int(5), int(1)]), "error");
    assert_eq!(msg, "random integer: empty range, lo (5) > hi (1)");
    let msg = err(k.call(r, "bytes", vec![int(-1)]), "error");
    assert_eq!(
        msg,
        "bad argument #1 to 'bytes' (value must not be negative)"
    );
    let msg = err(
        k.call(r, "integer", vec![HostValue::Float(1.5), int(2)]),
        "error",
    );
    assert_eq!(
        msg,
        "bad argument #1 to 'integer' (number has no integer representation)"
    );
    let msg = err(k.call(r, "integer", vec![int(1)]), "error");
    assert_eq!(
        msg,
        "bad argument #2 to 'integer' (number expected, got no value)"
    );

    let os = k.key(KeyKind::Random);
    k.gw.attach_random(os, Random::Os);
    assert_eq!(bytes(k.call(os, "bytes", vec![int(32)])).len(), 32);
}

#[test]
fn console_write_and_readline() {
    let mut k = Kernel::new();
    let out = caps_buffer();
    let console = Console::new(Box::new(out.clone()));
    let key = k.key(KeyKind::Console);
    let input = std::io::Cursor::new(b"first\nthis line is too long\nlast".to_vec());
    k.gw.attach_console(key, console.clone(), Some(Box::new(input)));

    assert_eq!(
        k.call(
            key,
            "write",
            vec![b("x = "), int(42), HostValue::Float(0.5), b("\n")]
        ),
        Ok(vec![])
    );
    let msg = err(
        k.call(key, "write", vec![b("a"), HostValue::Bool(true)]),
        "error",
    );
    assert_eq!(
        msg,
        "bad argument #2 to 'write' (string expected, got boolean)"
    );
    let t = k.pending(key, "readline", vec![b("> ")]);
    // The prompt (and what was written before it) is out before the host waits for input.
    assert_eq!(&*out.0.borrow(), b"x = 420.5\n> ");
    assert_eq!(bytes(k.wait(t)), b"first");
    let t = k.pending_max(key, "readline", vec![], 5);
    err(k.wait(t), "memory");
    let t = k.pending(key, "readline", vec![]);
    assert_eq!(bytes(k.wait(t)), b"last");
    let t = k.pending(key, "readline", vec![]);
    assert_eq!(k.wait(t), Ok(vec![HostValue::Nil]));

    // A console without input is at end of input at once.
    let quiet = k.key(KeyKind::Console);
    k.gw.attach_console(quiet, console, None);
    assert_eq!(k.call(quiet, "readline", vec![]), Ok(vec![HostValue::Nil]));
    assert_eq!(k.gw.pending(), 0);
}

// ---------------------------------------------------------------------------------------------
// Dispatch, tokens and keys

#[test]
fn unknown_methods_missing_keys_and_bad_arguments_are_clear_errors() {
    let t = tree();
    let (mut k, d) = with_dir(&t, "r");
    // (A method that is not in the table cannot even be asked for: `Request::method` is a
    // `Method`.)
    let msg = err(k.call(d, "read", vec![HostValue::Bool(true)]), "error");
    assert_eq!(
        msg,
        "bad argument #1 to 'read' (string expected, got boolean)"
    );
    let msg = err(k.call(d, "read", vec![]), "error");
    assert_eq!(
        msg,
        "bad argument #1 to 'read' (string expected, got no value)"
    );
    let msg = err(k.call(d, "open", vec![b("f.txt"), b("rw")]), "error");
    assert!(msg.starts_with("bad mode 'rw'"), "{msg}");
    let msg = err(k.call(KeyId(999), "read", vec![b("f.txt")]), "error");
    assert_eq!(msg, "the key has no gateway here");
    let clock = k.key(KeyKind::Clock);
    k.gw.attach_clock(clock, Clock::Host);
    let msg = err(k.call(clock, "read", vec![]), "error");
    assert_eq!(
        msg,
        "a clock key has no method 'read' (its methods: now, sleep)"
    );
}

#[test]
fn unbound_objects_are_closed_after_a_while_and_tokens_bind_once() {
    let t = tree();
    let (mut k, d) = with_dir(&t, "r");
    let answer = k.call(d, "open", vec![b("f.txt")]).unwrap();
    let [HostValue::Object { token, .. }] = answer.as_slice() else {
        panic!("{answer:?}")
    };
    assert_eq!(k.gw.unbound(), 1);
    k.gw.unbound_ttl = Duration::ZERO;
    k.collect(None);
    assert_eq!(k.gw.unbound(), 0);
    // A token that is gone binds nothing.
    let key = k.key(KeyKind::Random);
    k.gw.bind(*token, key);
    assert!(!k.gw.holds(key));

    k.gw.unbound_ttl = super::UNBOUND_TTL;
    let answer = k.call(d, "open", vec![b("f.txt")]);
    let (f, _) = k.bind(d, answer);
    assert_eq!(k.gw.unbound(), 0);
    k.gw.release(f);
    assert!(!k.gw.holds(f));
    err(k.call(f, "read", vec![]), "error");
}

/// An input that never delivers a byte (a terminal nobody types into).
struct Silent(crossbeam_channel::Receiver<()>);

impl std::io::Read for Silent {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        let _ = self.0.recv();
        Ok(0)
    }
}

#[test]
fn dropping_the_gateways_with_parked_work_returns() {
    let (mut k, net) = with_net();
    let (l, port) = listen(&mut k, net);
    let (_c, s) = connected(&mut k, net, l, port);
    let _parked_recv = k.pending(s, "recv", vec![int(10)]);
    let _parked_accept = k.pending(l, "accept", vec![]);
    // The sender stays alive until the end of the test: the input blocks for the whole drop.
    let (_keep, never) = crossbeam_channel::bounded::<()>(0);
    let console = k.key(KeyKind::Console);
    let input = std::io::BufReader::new(Silent(never));
    k.gw.attach_console(
        console,
        Console::new(Box::new(caps_buffer())),
        Some(Box::new(input)),
    );
    let _parked_line = k.pending(console, "readline", vec![]);
    assert_eq!(k.gw.pending(), 3);
    // Neither the socket jobs nor the line wait hold the pool's workers past the drop.
    drop(k);
}

/// A host stream the test can read back.
fn caps_buffer() -> crate::console::Buffer {
    crate::console::Buffer::default()
}
