//! Gateway keys through the `tessera` binary: what `run` grants (and only that) shows up in
//! `caps`; dir keys hold against escapes on real trees, with and without each right, through
//! `sub` chains, after revocation and while the tree is renamed under them; net keys reach
//! only their loopback scope; a process blocked on the network or a sleep does not hold up
//! the others. Every address used is on loopback.

mod common;

use common::{script, stderr, stdout, tessera};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// A fresh directory for one test: `root/` (what keys are granted on) and `outside/` beside it.
fn tree(test: &str) -> PathBuf {
    let dir = common::fresh_dir("gw", test);
    std::fs::create_dir_all(dir.join("root/sub/deeper")).expect("tree");
    std::fs::create_dir_all(dir.join("outside")).expect("tree");
    std::fs::write(dir.join("root/a.txt"), "inside a").expect("file");
    std::fs::write(dir.join("root/sub/b.txt"), "inside b").expect("file");
    std::fs::write(dir.join("outside/secret.txt"), "SECRET").expect("file");
    dir
}

#[test]
fn caps_holds_exactly_what_run_grants() {
    let dir = tree("caps");
    let root = dir.join("root");
    let s = script(
        &dir,
        "local names = {} for k, v in pairs(caps) do names[#names + 1] = k .. '=' .. tostring(v) end
         table.sort(names) print(table.concat(names, ' '))",
    );
    let o = tessera(&["run", &s]);
    assert_eq!(stdout(&o), "console=console\n");
    let spec = format!("data={}:rl", root.display());
    let o = tessera(&[
        "run",
        "--dir",
        &spec,
        "--net",
        "web=127.0.0.1:8080:listen",
        "--clock",
        "--random",
        &s,
    ]);
    let canonical = std::fs::canonicalize(&root).expect("canonical");
    assert_eq!(
        stdout(&o),
        format!(
            "clock=clock console=console data=dir: {} (rl) random=random web=net: 127.0.0.1:8080 (listen)\n",
            canonical.display()
        ),
        "{}",
        stderr(&o)
    );
    // -e gets the console too; the audit log records every grant.
    let log = dir.join("audit.log");
    let o = tessera(&[
        "--audit",
        log.to_str().expect("utf-8"),
        "--clock",
        "-e",
        "print(caps.clock ~= nil, caps.console ~= nil)",
    ]);
    assert_eq!(stdout(&o), "true\ttrue\n");
    let o = tessera(&["audit", log.to_str().expect("utf-8")]);
    let text = stdout(&o);
    assert!(text.contains("clock") && text.contains("console"), "{text}");
}

#[test]
fn bad_grants_are_refused_before_the_script_runs() {
    let dir = tree("badgrants");
    let s = script(&dir, "print('ran')");
    let missing = format!("d={}", dir.join("nope").display());
    let file = format!("d={}", dir.join("root/a.txt").display());
    for args in [
        vec!["run", "--dir", &missing, &s],
        vec!["run", "--dir", &file, &s],
        vec!["run", "--dir", "d=/tmp:rz", &s],
        vec!["run", "--net", "n=localhost", &s],
        vec!["run", "--net", "n=localhost:http", &s],
        vec!["run", "--dir", "x"],
    ] {
        let o = tessera(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?} ran the script");
        let e = stderr(&o);
        assert!(e.contains("expected --"), "{args:?}: {e}");
    }
}

#[test]
fn dir_keys_hold_against_escapes() {
    let dir = tree("escapes");
    let root = dir.join("root");
    std::os::unix::fs::symlink("../outside/secret.txt", root.join("rel_link")).expect("link");
    std::os::unix::fs::symlink(dir.join("outside/secret.txt"), root.join("abs_link"))
        .expect("link");
    std::os::unix::fs::symlink("../outside", root.join("dir_link")).expect("link");
    std::os::unix::fs::symlink("sub/b.txt", root.join("inner_link")).expect("link");
    std::os::unix::fs::symlink("../../outside", root.join("sub/up")).expect("link");
    let s = script(
        &dir,
        r#"
        local d = caps.data
        local paths = {"../outside/secret.txt", "sub/../../outside/secret.txt", "/etc/passwd",
            "a.txt\0.png", "rel_link", "abs_link", "dir_link/secret.txt", "sub/up/secret.txt",
            "", "./..", "sub//b.txt", "sub\\b.txt"}
        for _, p in ipairs(paths) do
            local ok, e = pcall(d.read, d, p)
            print(ok, ok and e or e.kind)
        end
        print(d:read("inner_link"))
        -- Writes, creations and removals through escapes fail the same way.
        for _, op in ipairs({"write", "append", "mkdir", "remove"}) do
            local ok, e = pcall(d[op], d, "dir_link/x", "data")
            print(op, ok, e.kind)
        end
        print(pcall(d.sub, d, "dir_link"))
        print(pcall(d.open, d, "abs_link", "r"))
        "#,
    );
    let spec = format!("data={}:rwcdl", root.display());
    let o = tessera(&["run", "--dir", &spec, &s]);
    let text = stdout(&o);
    assert!(!text.contains("SECRET"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 12 + 1 + 4 + 2, "{text}\n{}", stderr(&o));
    // Escapes are denied; malformed paths (NUL, empty, a `.` component, `//`, backslash) are
    // errors.
    let kinds = [
        "denied", "denied", "denied", "error", "denied", "denied", "denied", "denied", "error",
        "error", "error", "error",
    ];
    for (line, kind) in lines[..12].iter().zip(kinds) {
        assert_eq!(*line, format!("false\t{kind}"), "{text}");
    }
    assert_eq!(lines[12], "inside b");
    for line in &lines[13..17] {
        assert!(line.ends_with("false\tdenied"), "{text}");
    }
    assert!(lines[17].starts_with("false\tdenied: "), "{text}");
    assert!(lines[18].starts_with("false\tdenied: "), "{text}");
    assert_eq!(
        std::fs::read_to_string(dir.join("outside/secret.txt")).expect("secret"),
        "SECRET"
    );
    assert_eq!(
        std::fs::read_dir(dir.join("outside")).expect("dir").count(),
        1
    );
}

#[test]
fn rights_sub_chains_and_revocation() {
    let dir = tree("rights");
    let root = dir.join("root");
    let s = script(
        &dir,
        r#"
        local d = caps.data
        local function try(f, ...) local ok, e = pcall(f, ...) return ok and "ok" or e.kind end
        print(try(d.read, d, "a.txt"), try(d.list, d), try(d.write, d, "a.txt", "x"),
              try(d.write, d, "new.txt", "x"), try(d.mkdir, d, "m"), try(d.remove, d, "a.txt"))
        -- sub narrows and never widens.
        local s1 = d:sub("sub", "rl")
        local s2 = s1:sub("deeper", "r")
        print(s1:rights(), s2:rights(), try(s1.sub, s1, "deeper", "rw"), try(s2.list, s2))
        print(try(s1.read, s1, "b.txt"), try(s1.read, s1, "../a.txt"))
        -- A revoked dir key, and everything derived from it, is dead for every holder.
        local r, revoke = revocable(s1)
        local child = spawn("function get() return caps.d:read('b.txt') end", {name = "c", caps = {d = r}})
        child:wait()
        print(child:call("get"), try(r.read, r, "b.txt"))
        local s3 = r:sub("deeper")
        revoke()
        print(try(r.read, r, "b.txt"), try(s3.list, s3), try(child.call, child, "get"))
        "#,
    );
    let ro = format!("data={}:rl", root.display());
    let o = tessera(&["run", "--dir", &ro, &s]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "ok\tok\tdenied\tdenied\tdenied\tdenied",
        "{text}{}",
        stderr(&o)
    );
    assert_eq!(lines[1], "rl\tr\tdenied\tdenied");
    assert_eq!(lines[2], "ok\tdenied");
    assert_eq!(lines[3], "inside b\tok");
    assert_eq!(lines[4], "revoked\trevoked\terror");
    // With write but not create, existing files can change and new ones cannot appear.
    let s = script(
        &dir,
        r#"
        local d = caps.data
        print(pcall(d.write, d, "a.txt", "changed"))
        print(pcall(d.write, d, "fresh.txt", "x"))
        "#,
    );
    let rw = format!("data={}:rw", root.display());
    let o = tessera(&["run", "--dir", &rw, &s]);
    let text = stdout(&o);
    assert!(text.starts_with("true\n"), "{text}");
    assert!(text.contains("needs the 'c' right"), "{text}");
    assert!(!root.join("fresh.txt").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).expect("a"),
        "changed"
    );
}

/// `.` names the key's root, as a user expects: `list(".")`, `stat(".")`, `sub(".", "r")`;
/// the hostile paths around it are refused with the kinds and words they always had.
#[test]
fn dot_names_the_root_and_opens_no_way_out() {
    let dir = tree("dot");
    let root = dir.join("root");
    std::os::unix::fs::symlink("..", root.join("up")).expect("link");
    let s = script(
        &dir,
        r#"
        local d = caps.data
        local function names(t) local n = {} for i, e in ipairs(t) do n[i] = e.name end return table.concat(n, ",") end
        local function try(f, ...) local ok, e = pcall(f, ...) return ok and "ok" or e.kind .. ": " .. e.message end
        print(names(d:list(".")), names(d:list()), d:stat(".").kind)
        local r = d:sub(".", "r")
        print(r:rights(), tostring(r) == tostring(d):gsub("%(rwcdl%)", "(r)"), r:read("a.txt"))
        print(try(r.write, r, "a.txt", "x"))
        print(try(r.sub, r, ".", "rw"))
        local s = d:sub("sub"):sub(".", "l")
        print(names(s:list(".")), try(s.read, s, "b.txt"))
        print(try(d.read, d, "."))
        print(try(d.remove, d, "."))
        print(try(d.mkdir, d, "."))
        for _, p in ipairs({"..", "./..", "a/../..", "sub/..", "/etc", "./", "sub/.", "up", "up/outside/secret.txt"}) do
            print(p, try(d.list, d, p), try(d.sub, d, p, "r"), try(d.read, d, p))
        end
        "#,
    );
    let spec = format!("data={}:rwcdl", root.display());
    let o = tessera(&["run", "--dir", &spec, &s]);
    let text = stdout(&o);
    assert!(!text.contains("SECRET"), "{text}");
    let bad = |p: &str, why: &str| {
        format!(
            "dir: {} (rwcdl): bad path '{p}': {why} (paths are relative to the key's root, like \"a/b.txt\")",
            std::fs::canonicalize(&root).expect("root").display()
        )
    };
    let three = |p: &str, kind: &str, why: &str| {
        let e = format!("{kind}: {}", bad(p, why));
        format!("{p}\t{e}\t{e}\t{e}")
    };
    let canon = std::fs::canonicalize(&root).expect("root");
    let escape = |p: &str| {
        let e = format!(
            "denied: dir: {} (rwcdl): '{p}' leads outside the key's root",
            canon.display()
        );
        format!("{p}\t{e}\t{e}\t{e}")
    };
    let expected = [
        "a.txt,sub,up\ta.txt,sub,up\tdirectory".to_owned(),
        "r\ttrue\tinside a".to_owned(),
        format!(
            "denied: dir: {} (r): write 'a.txt' needs the 'w' right; this key has \"r\"",
            canon.display()
        ),
        format!(
            "denied: dir: {} (r): sub '.' cannot widen rights: asked for \"rw\", this key lacks \"w\"",
            canon.display()
        ),
        format!(
            "b.txt,deeper\tdenied: dir: {}/sub (l): read 'b.txt' needs the 'r' right; this key has \"l\"",
            canon.display()
        ),
        format!("error: dir: {} (rwcdl): '.' is a directory", canon.display()),
        format!(
            "denied: dir: {} (rwcdl): cannot remove '.': it is the key's own root",
            canon.display()
        ),
        format!("error: dir: {} (rwcdl): '.' already exists", canon.display()),
        three("..", "denied", "'..' component"),
        three("./..", "error", "'.' component"),
        three("a/../..", "denied", "'..' component"),
        three("sub/..", "denied", "'..' component"),
        three("/etc", "denied", "absolute path"),
        three("./", "error", "'.' component"),
        three("sub/.", "error", "'.' component"),
        escape("up"),
        escape("up/outside/secret.txt"),
    ];
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, expected, "{}", stderr(&o));
    assert!(root.is_dir());
}

#[test]
fn renames_while_a_process_walks_the_tree_never_leak_the_outside() {
    let dir = tree("race");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("m")).expect("m");
    // Inside the root, m/link reaches root/a.txt; moved outside, it would reach outside/...
    std::fs::write(dir.join("a.txt"), "SECRET").expect("secret");
    std::os::unix::fs::symlink("../a.txt", root.join("m/link")).expect("link");
    let s = script(
        &dir,
        r#"
        local d = caps.data
        local seen, ok_reads = false, 0
        for i = 1, 4000 do
            local ok, v = pcall(d.read, d, "m/link")
            if ok then
                ok_reads = ok_reads + 1
                if v:find("SECRET") then seen = true end
            end
            local ok2, m = pcall(d.sub, d, "m")
            if ok2 then
                local ok3, v3 = pcall(m.read, m, "link")
                if ok3 and v3:find("SECRET") then seen = true end
            end
        end
        print(seen, ok_reads > 0)
        "#,
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let stop = stop.clone();
        let (inside, outside) = (root.join("m"), dir.join("m"));
        std::thread::spawn(move || {
            let mut flips = 0u32;
            while !stop.load(Ordering::SeqCst) {
                if std::fs::rename(&inside, &outside).is_ok() {
                    let _ = std::fs::rename(&outside, &inside);
                    flips += 1;
                }
            }
            flips
        })
    };
    let spec = format!("data={}:rl", root.display());
    let o = tessera(&["run", "--dir", &spec, &s]);
    stop.store(true, Ordering::SeqCst);
    let flips = flipper.join().expect("flipper");
    assert!(
        flips > 10,
        "the tree was renamed while the process ran ({flips})"
    );
    assert_eq!(stdout(&o), "false\ttrue\n", "{}", stderr(&o));
}

/// A free loopback port (bound then released; the test binds it again at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn an_echo_server_and_client_in_two_processes_on_loopback() {
    let dir = tree("echo");
    let port = free_port();
    let s = script(
        &dir,
        r#"
        local port = tonumber(arg[1])
        local server = spawn(([[
            local l = caps.net:listen("127.0.0.1", %d)
            for i = 1, 3 do
                local s = l:accept()
                local msg = s:recv(100)
                s:send("echo:" .. msg)
                s:close()
            end
            l:close()
            return "served 3"
        ]]):format(port), {name = "server", caps = {net = caps.net}})
        local client = spawn(([[
            local got = {}
            for i = 1, 3 do
                local s
                for try = 1, 100000 do
                    local ok, r = pcall(caps.net.connect, caps.net, "127.0.0.1", %d)
                    if ok then s = r break end
                    caps.clock:sleep(0.01)
                end
                s:send("hi" .. i)
                got[#got + 1] = s:recv(100)
                got[#got + 1] = tostring(s:recv(100))
                s:close()
            end
            return table.concat(got, " ")
        ]]):format(port), {name = "client", caps = {net = caps.net:restrict("127.0.0.1:" .. port .. ":connect"), clock = caps.clock}})
        print(client:wait())
        print(server:wait())
        -- Aliases of the granted address, other ports, listening without the flag.
        local r = caps.net:restrict("127.0.0.1:" .. port .. ":connect")
        for _, host in ipairs({"localhost", "127.1", "[::ffff:127.0.0.1]", "0x7f.0.0.1", "2130706433", "[::1]"}) do
            local ok, e = pcall(r.connect, r, host, port)
            print(host, ok, e.kind)
        end
        print(pcall(r.connect, r, "127.0.0.1", port + 1))
        print(pcall(r.listen, r, "127.0.0.1", port))
        print(pcall(caps.net.restrict, caps.net, "127.0.0.2:*"))
        "#,
    );
    let spec = format!("net=127.0.0.1:{port}:connect+listen");
    let o = tessera(&["run", "--net", &spec, "--clock", &s, &port.to_string()]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "echo:hi1 nil echo:hi2 nil echo:hi3 nil",
        "{text}{}",
        stderr(&o)
    );
    assert_eq!(lines[1], "served 3");
    // Other names and spellings of the address are refused as out of scope; the IPv4-mapped
    // form *is* the granted address (nothing listens there any more: refused by the peer).
    let expected = [
        "localhost\tfalse\tdenied",
        "127.1\tfalse\tdenied",
        "[::ffff:127.0.0.1]\tfalse\terror",
        "0x7f.0.0.1\tfalse\tdenied",
        "2130706433\tfalse\tdenied",
        "[::1]\tfalse\tdenied",
    ];
    assert_eq!(&lines[2..8], &expected[..], "{text}");
    assert!(lines[8].starts_with("false\tdenied: "), "{text}");
    assert!(lines[9].starts_with("false\tdenied: "), "{text}");
    assert!(lines[10].starts_with("false\tdenied: "), "{text}");
}

#[test]
fn a_process_blocked_on_the_network_or_a_sleep_does_not_hold_up_the_others() {
    let dir = tree("slow");
    // A peer that accepts and then says nothing until the other side closes (the script ends
    // or kills the process that holds the connection): no clock decides anything here.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let addr = silent.local_addr().expect("addr");
    let port = addr.port();
    let keep = std::thread::spawn(move || {
        if let Ok((mut conn, _)) = silent.accept() {
            let mut buf = [0u8; 64];
            while matches!(std::io::Read::read(&mut conn, &mut buf), Ok(n) if n > 0) {}
        }
    });
    let s = script(
        &dir,
        r#"
        local port = tonumber(arg[1])
        -- Blocked for good on a silent peer (it can only end once this script kills it), and
        -- asleep: neither stops the counter. The counter finishes while the peer has still
        -- said nothing, so `stuck` cannot have finished.
        local stuck = spawn(("local s = caps.net:connect('127.0.0.1', %d) return s:recv(10)"):format(port),
            {name = "stuck", caps = {net = caps.net}})
        local sleeper = spawn("caps.clock:sleep(0.2) return 'rested'", {name = "sleeper", caps = {clock = caps.clock}})
        local counter = spawn("local n = 0 for i = 1, 3000000 do n = n + 1 end return n", {name = "counter"})
        local n = counter:wait()
        local st = stuck:status()
        print(n, st == "waiting" or st == "ready")
        print(sleeper:wait())
        stuck:kill()
        print(stuck:status())
        "#,
    );
    let spec = format!("net=127.0.0.1:{port}");
    let o = tessera(&["run", "--net", &spec, "--clock", &s, &port.to_string()]);
    // If the script never connected, the peer still waits in `accept`: wake it.
    let _ = std::net::TcpStream::connect(addr);
    let _ = keep.join();
    assert_eq!(
        stdout(&o),
        "3000000\ttrue\nrested\nkilled\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_file_server_example_runs_as_the_readme_says() {
    let port = free_port().to_string();
    let site = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/site");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/fileserver.lua");
    let dir = format!("site={site}:rl");
    let net = format!("web=127.0.0.1:{port}:connect+listen");
    let o = tessera(&["run", "--dir", &dir, "--net", &net, example, &port]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "server answered: 200 200 404 403 403");
    assert!(lines[1].contains("200 OK") && lines[1].contains("<!doctype html>"));
    assert!(lines[4].starts_with("/../README.md") && lines[4].contains("403 Forbidden"));
    assert!(!text.contains("Roman token"), "the README leaked: {text}");
}

#[test]
fn closed_ports_fail_cleanly_and_files_past_the_memory_budget_stop_the_run() {
    let dir = tree("big");
    let root = dir.join("root");
    let big = std::fs::File::create(root.join("big.bin")).expect("file");
    big.set_len(64 << 20).expect("sparse 64 MiB");
    let port = free_port();
    // A read larger than the memory budget is a cut, not an error: no `pcall` sees it, the
    // run stops out of memory (status 3) before anything is read.
    let s = script(
        &dir,
        r#"
        local ok2, e2 = pcall(caps.net.connect, caps.net, "127.0.0.1", tonumber(arg[1]))
        print(ok2, e2.kind, e2.message:find("refused") ~= nil)
        local f = caps.data:open("big.bin")
        print(#f:read(1000))
        print(pcall(f.read, f))
        "#,
    );
    let spec = format!("data={}:rl", root.display());
    let net = format!("net=127.0.0.1:{port}");
    let o = tessera(&[
        "run",
        "--memory",
        "16M",
        "--dir",
        &spec,
        "--net",
        &net,
        &s,
        &port.to_string(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "false\terror\ttrue\n1000\n", "{}", stderr(&o));
    assert!(stderr(&o).contains("not enough memory"), "{}", stderr(&o));
}

#[test]
fn a_snapshot_carries_no_authority_its_restorer_does_not_give() {
    let dir = tree("snapshot");
    let root = dir.join("root");
    let s = script(
        &dir,
        r#"
        local reader = spawn("function get(p) return caps.data:read(p) end", {name = "reader", caps = {data = caps.data}})
        reader:wait()
        print(reader:call("get", "a.txt"))
        local bytes = reader:snapshot()
        -- The dir key is a hole: without a key to fill it, no restore.
        local ok, e = pcall(restore, bytes)
        print(ok, e.kind)
        -- Filled with a narrower key, the copy reads only what that key allows.
        local copy = restore(bytes, {caps = {data = caps.data:sub("sub")}})
        print(copy:call("get", "b.txt"), pcall(copy.call, copy, "get", "a.txt"))
        "#,
    );
    let spec = format!("data={}:rl", root.display());
    let o = tessera(&["run", "--dir", &spec, &s]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "inside a", "{text}{}", stderr(&o));
    assert_eq!(lines[1], "false\tdenied");
    assert!(lines[2].starts_with("inside b\tfalse\t"), "{text}");
}

#[test]
fn modules_from_disk_come_only_through_a_lib_key() {
    let dir = tree("lib");
    let lib = dir.join("lib");
    std::fs::create_dir_all(lib.join("util")).expect("lib");
    std::fs::write(
        lib.join("util/strings.lua"),
        "local M = {} function M.shout(s) return s:upper() .. '!' end \
         function M.reach() return caps.lib ~= nil, caps.data ~= nil end return M",
    )
    .expect("module");
    let s = script(
        &dir,
        r#"
        local strings = import("util.strings", {fuel = 1e6})
        print(strings.shout("hi"), strings.reach())
        print(pcall(import, "util.missing"))
        print(pcall(import, "../secret"))
        print(import("json").encode({1, 2}))
        "#,
    );
    let spec = format!("lib={}:r", lib.display());
    let o = tessera(&["run", "--dir", &spec, &s]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "HI!\tfalse\tfalse", "{text}{}", stderr(&o));
    assert!(
        lines[1].starts_with("false\t") && lines[1].contains("util/missing.lua"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("false\t") && lines[2].contains("bad module name"),
        "{text}"
    );
    assert_eq!(lines[3], "[1,2]");
    // Without a lib key, only bundled modules exist.
    let o = tessera(&["-e", "print(pcall(import, 'util.strings'))"]);
    assert!(
        stdout(&o).contains("need a 'caps.lib' directory key"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn killing_a_process_closes_what_only_it_held() {
    let dir = tree("kill");
    let port = free_port();
    let s = script(
        &dir,
        r#"
        local port = tonumber(arg[1])
        local server = spawn(("local l = caps.net:listen('127.0.0.1', %d) l:accept() l:accept()"):format(port),
            {name = "server", caps = {net = caps.net}})
        -- Progress, not time: once a connection is accepted, the server holds the listener.
        -- (Killing it also closes the listener that the accepted socket was derived from.)
        local conn
        for try = 1, 100000 do
            local ok, c = pcall(caps.net.connect, caps.net, "127.0.0.1", port)
            if ok then conn = c break end
            caps.clock:sleep(0.001)
        end
        local st = server:status()
        print(st == "waiting" or st == "ready", pcall(caps.net.listen, caps.net, "127.0.0.1", port))
        server:kill()
        local l = caps.net:listen("127.0.0.1", port)
        print(tostring(l):match("^listener: 127.0.0.1:%d+$") ~= nil)
        l:close()
        "#,
    );
    let spec = format!("net=127.0.0.1:{port}:connect+listen");
    let o = tessera(&["run", "--net", &spec, "--clock", &s, &port.to_string()]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("true\tfalse\t"),
        "{text}{}",
        stderr(&o)
    );
    assert_eq!(lines[1], "true", "{text}");
}

/// A `denied` fault about a key the command line granted says which flag would grant what is
/// missing; a key derived inside the program (a `sub`) gets no such hint.
#[test]
fn a_refusal_of_a_granted_key_names_the_flag_that_grants_more() {
    let dir = tree("hint");
    let s = script(
        &dir,
        "print(select(2, pcall(caps.data.write, caps.data, 'a.txt', 'x')))
         local sub = caps.data:sub('sub', 'r')
         print(select(2, pcall(sub.write, sub, 'b.txt', 'x')))
         print(select(2, pcall(caps.web.connect, caps.web, '127.0.0.1', 9)))",
    );
    let spec = format!("data={}:rl", dir.join("root").display());
    let o = tessera(&["run", "--dir", &spec, "--net", "web=127.0.0.1:8080", &s]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}{}", stderr(&o));
    assert!(
        lines[0].starts_with("denied: ")
            && lines[0].ends_with(
                "needs the 'w' right; this key has \"rl\" (grant it with --dir NAME=PATH:rlw)"
            ),
        "{out}"
    );
    assert!(
        lines[1].starts_with("denied: ") && !lines[1].contains("--dir"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("denied: ")
            && lines[2].ends_with("(grant more with --net NAME=HOST:PORT[:connect|:listen])"),
        "{out}"
    );
}

/// `dir:rename(from, to)` moves within the key's root only: `d` on the source, `w` and `c`
/// for the target; `..`, absolute paths and symlinks out of the root are refused for either
/// path, and nothing outside moves or appears.
#[cfg(unix)]
#[test]
fn rename_moves_only_within_the_root_and_needs_its_rights() {
    let dir = tree("rename");
    let root = dir.join("root");
    std::os::unix::fs::symlink("../outside", root.join("link")).expect("symlink");
    let s = script(
        &dir,
        r#"
        local d = caps.data
        local function try(k, a, b)
            local ok, e = pcall(k.rename, k, a, b)
            print(ok and "ok" or (e.kind .. ": " .. e.message:gsub("^.-%): ", "")))
        end
        try(d, "a.txt", "sub/moved.txt")
        print(d:read("sub/moved.txt"))
        try(d, "sub/moved.txt", "../escaped.txt")
        try(d, "../outside/secret.txt", "stolen.txt")
        try(d, "link/secret.txt", "stolen.txt")
        try(d, "sub/moved.txt", "link/planted.txt")
        try(d, "sub/moved.txt", "/tmp/x")
        try(d, ".", "x")
        try(d, "missing", "x")
        try(d:sub(".", "rwcl"), "sub/moved.txt", "c.txt")
        try(d:sub(".", "rdl"), "sub/moved.txt", "c.txt")
        try(d:sub(".", "rwdl"), "sub/moved.txt", "c.txt")
        "#,
    );
    let spec = format!("data={}:rwcdl", root.display());
    let o = tessera(&["run", "--dir", &spec, &s]);
    assert_eq!(
        stdout(&o),
        "ok\ninside a\n\
         denied: bad path '../escaped.txt': '..' component (paths are relative to the key's root, like \"a/b.txt\")\n\
         denied: bad path '../outside/secret.txt': '..' component (paths are relative to the key's root, like \"a/b.txt\")\n\
         denied: 'link/secret.txt' -> 'stolen.txt' leads outside the key's root\n\
         denied: 'sub/moved.txt' -> 'link/planted.txt' leads outside the key's root\n\
         denied: bad path '/tmp/x': absolute path (paths are relative to the key's root, like \"a/b.txt\")\n\
         denied: cannot rename '.': it is the key's own root\n\
         error: 'missing' -> 'x': no such file or directory\n\
         denied: rename 'sub/moved.txt' needs the 'd' right; this key has \"rwcl\"\n\
         denied: rename 'c.txt' needs the 'w' right; this key has \"rdl\"\n\
         denied: rename 'c.txt' needs the 'c' right; this key has \"rwdl\"\n",
        "{}",
        stderr(&o)
    );
    // Nothing left the root, nothing came in, nothing appeared outside.
    assert_eq!(
        std::fs::read_to_string(dir.join("outside/secret.txt")).expect("still there"),
        "SECRET"
    );
    assert!(!dir.join("outside/planted.txt").exists());
    assert!(!dir.join("escaped.txt").exists());
    assert!(!root.join("stolen.txt").exists());
    assert!(root.join("sub/moved.txt").exists() && !root.join("a.txt").exists());
}
