//! Gateway keys as the kernel sees them, with a scripted host: method calls reach the host
//! only through held, unrevoked keys of the right kind; answers (at once or later) land in
//! the caller's heap; keys the host makes are derived from the called key; a process waiting
//! for the host does not stop the others.

use kernel::clist::{DirRights, KeyId, KeyKind};
use kernel::gateway::{Host, HostError, HostFault, HostValue, Request, Started};
use kernel::process::Kernel;
use std::cell::RefCell;
use std::rc::Rc;
use tessera_tests::{finish_root, root_process};

/// Answers `read` with the path reversed, `sub` with a narrower dir, `sleep` after a few
/// polls, records every request it saw and counts its polls. It is quiet while no `sleep`
/// waits.
#[derive(Default)]
struct Script {
    seen: Rc<RefCell<Vec<String>>>,
    later: Vec<(u64, u32)>,
    bound: Rc<RefCell<Vec<(u64, KeyId)>>>,
    polls: Rc<std::cell::Cell<u32>>,
}

impl Host for Script {
    fn start(&mut self, r: Request) -> Started {
        self.seen
            .borrow_mut()
            .push(format!("{} {}", r.kind.kind_name(), r.method.name()));
        match (r.method.name(), r.args.first()) {
            ("read", Some(HostValue::Bytes(p))) => {
                let mut p = p.clone();
                p.reverse();
                Started::Done(Ok(vec![HostValue::Bytes(p)]))
            }
            ("list", _) => Started::Done(Ok(vec![HostValue::List(vec![HostValue::Record(vec![
                ("name", HostValue::Bytes(b"a.txt".to_vec())),
                ("kind", HostValue::Bytes(b"file".to_vec())),
            ])])])),
            ("sub", Some(HostValue::Bytes(p))) if p == b"wide" => {
                Started::Done(Ok(vec![HostValue::Object {
                    token: 8,
                    kind: KeyKind::Dir {
                        root: "/".into(),
                        rights: DirRights::ALL,
                    },
                }]))
            }
            ("sub", Some(HostValue::Bytes(p))) => {
                let KeyKind::Dir { root, .. } = &r.kind else {
                    return Started::Done(Err(HostError::new(HostFault::Failed, "not a dir")));
                };
                let kind = KeyKind::Dir {
                    root: format!("{root}/{}", String::from_utf8_lossy(p)),
                    rights: DirRights::READ,
                };
                Started::Done(Ok(vec![HostValue::Object { token: 7, kind }]))
            }
            ("write", Some(HostValue::Bytes(b))) => {
                self.seen
                    .borrow_mut()
                    .push(format!("wrote {}", String::from_utf8_lossy(b)));
                Started::Done(Ok(vec![]))
            }
            ("sleep", _) => {
                self.later.push((r.ticket, 3));
                Started::Pending
            }
            _ => Started::Done(Err(HostError::new(
                HostFault::OutOfScope,
                format!("no {}", r.method.name()),
            ))),
        }
    }

    fn poll(
        &mut self,
        _wait: Option<std::time::Duration>,
    ) -> Vec<(u64, Result<Vec<HostValue>, HostError>)> {
        self.polls.set(self.polls.get() + 1);
        let mut done = Vec::new();
        self.later.retain_mut(|(ticket, n)| {
            *n -= 1;
            if *n == 0 {
                done.push((*ticket, Ok(vec![HostValue::Float(1.5)])));
                false
            } else {
                true
            }
        });
        done
    }

    fn pending(&self) -> usize {
        self.later.len()
    }

    fn quiet(&self) -> bool {
        self.later.is_empty()
    }

    fn bind(&mut self, token: u64, key: KeyId) {
        self.bound.borrow_mut().push((token, key));
    }

    fn release(&mut self, _key: KeyId) {}
}

fn run(src: &str) -> (String, Vec<String>, Kernel) {
    let (mut k, root, out) = root_process(src, 1_000_000_000);
    let script = Script::default();
    let seen = script.seen.clone();
    k.grant_key(
        root,
        "data",
        KeyKind::Dir {
            root: "/srv/data".into(),
            rights: DirRights::parse("rl").expect("rights"),
        },
    )
    .expect("granted");
    k.grant_key(root, "clock", KeyKind::Clock).expect("granted");
    k.grant_key(root, "console", KeyKind::Console)
        .expect("granted");
    k.set_host(Box::new(script));
    let text = finish_root(&mut k, root, &out);
    let seen = seen.borrow().clone();
    (text, seen, k)
}

#[test]
fn methods_reach_the_host_through_held_keys() {
    let (out, seen, k) = run(r#"
        local d = caps.data
        print(tostring(d), d:rights(), d:describe(), getmetatable(d))
        print(d:read("abc"))
        local l = d:list()
        print(#l, l[1].name, l[1].kind)
        local s = d:sub("logs")
        print(tostring(s), s:rights(), s == d, d == caps.data)
        local ok, e = pcall(d.sub, d, "wide")
        print(ok, e.kind, e.message)
        print(pcall(d.read, caps.clock, "x"))
        print(pcall(d.read, d, {}))
        local f, revoke = revocable(d)
        print(f:read("xyz"))
        revoke()
        local ok, e = pcall(f.read, f, "x")
        print(ok, e.kind)
    "#);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "dir: /srv/data (rl)\trl\tdir: /srv/data (rl)\tdir key"
    );
    assert_eq!(lines[1], "cba");
    assert_eq!(lines[2], "1\ta.txt\tfile");
    assert_eq!(lines[3], "dir: /srv/data/logs (r)\tr\tfalse\ttrue");
    assert!(lines[4].starts_with("false\tdenied\t"), "{out}");
    // A malformed call is an error, not a missing authority.
    assert!(
        lines[5].starts_with("false\terror: bad self to 'read' (dir key expected)"),
        "{out}"
    );
    assert!(
        lines[6].starts_with("false\terror: bad argument #1 to 'read'"),
        "{out}"
    );
    assert_eq!(lines[7], "zyx");
    assert_eq!(lines[8], "false\trevoked");
    // The wide `sub` reached the host, but its over-wide answer was refused by the kernel.
    assert_eq!(seen.iter().filter(|s| *s == "dir sub").count(), 2);
    assert!(!seen.iter().any(|s| s.starts_with("clock read")));
    assert!(k.audit.verify().is_ok());
}

#[test]
fn a_quiet_host_is_polled_only_while_a_request_is_in_flight() {
    let (mut k, root, out) = root_process(
        r#"
        local lib = spawn("function id(x) return x end", {name = "lib"})
        lib:wait()
        local n = 0
        for i = 1, 100 do n = n + lib:call("id", 1) end
        print(n, caps.clock:sleep(1))
        for i = 1, 100 do n = n + lib:call("id", 1) end
        print(n)
        "#,
        1_000_000_000,
    );
    let script = Script::default();
    let polls = script.polls.clone();
    k.grant_key(root, "clock", KeyKind::Clock).expect("granted");
    k.set_host(Box::new(script));
    let text = finish_root(&mut k, root, &out);
    // The sleep's answer comes at its third poll; every call is a slice of the caller's and
    // one of the callee's, about 400 in all, and none of them polls the quiet host.
    assert_eq!(text, "100\t1.5\n200\n");
    assert!(polls.get() <= 8, "{} polls", polls.get());
}

#[test]
fn a_process_waiting_for_the_host_does_not_stop_others() {
    let (out, _, _) = run(r#"
        local ticks = spawn("local n = 0 for i = 1, 200 do n = n + 1 end return n", {name = "ticks"})
        print(caps.clock:sleep(1))
        print(ticks:status(), ticks:wait())
        -- Keys cross to children in caps; a child without them has none.
        local c = spawn("return caps.d:read('olleh'), caps.x", {name = "c", caps = {d = caps.data}})
        print(c:wait())
    "#);
    assert_eq!(out, "1.5\ndone\t200\nhello\tnil\n");
}

#[test]
fn print_without_a_console_of_its_own_goes_to_the_console_key() {
    let (out, seen, _) = run(r#"
        local c = spawn("print('from the child', 42) return true", {name = "c", caps = {console = caps.console}})
        local mute = spawn("print('nobody hears this') return true", {name = "mute"})
        print(c:wait(), mute:wait())
    "#);
    assert_eq!(out, "true\ttrue\n");
    assert!(
        seen.contains(&"wrote from the child\t42\n".to_string()),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|s| s.contains("nobody")));
}
