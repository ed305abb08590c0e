//! The handle budget and the price of gateway I/O, through the `tessera` binary: open files,
//! sockets, listeners and directories count against `handles` (default 64, `--handles N`,
//! `opts.handles`), nested like memory; closing, collecting, revoking or killing gives them
//! back; reads and writes are paid in fuel before the host does them.

mod common;

use common::{script, stderr, stdout, tessera};
use std::path::PathBuf;
use std::process::Output;

/// A fresh directory with `root/a.txt` for one test.
fn tree(test: &str) -> PathBuf {
    let dir = common::fresh_dir("handles", test);
    std::fs::create_dir_all(dir.join("root")).expect("tree");
    std::fs::write(dir.join("root/a.txt"), "inside a").expect("file");
    dir
}

/// Runs `body` with `caps.data` on `root/` (read-write), plus `extra` arguments before the
/// script.
fn run(test: &str, extra: &[&str], body: &str) -> Output {
    let dir = tree(test);
    let s = script(&dir, body);
    let spec = format!("data={}:rwcl", dir.join("root").display());
    let mut args = vec!["run", "--dir", &spec];
    args.extend_from_slice(extra);
    args.push(&s);
    tessera(&args)
}

#[test]
fn a_child_opening_files_in_a_loop_stops_at_its_limit_and_its_parent_can_still_open() {
    let o = run(
        "loop",
        &[],
        r#"
        local child = spawn([[
            local held = {}
            while true do
                local ok, f = pcall(caps.data.open, caps.data, "a.txt")
                if not ok then return #held, f.kind, f.message end
                held[#held + 1] = f
            end
        ]], {name = "opener", handles = 8, caps = {data = caps.data}})
        local n, kind, message = child:wait()
        print(n, kind)
        print(message:find("handle budget", 1, true) ~= nil, message:find("--handles N", 1, true) ~= nil)
        local u = child:usage()
        print(u.handles_open, u.handles_limit)
        local f = caps.data:open("a.txt")
        print(f:read())
        local mine = {}
        -- The root's default budget holds 64: the child's 8 still count against it.
        while true do
            local ok, g = pcall(caps.data.open, caps.data, "a.txt")
            if not ok then break end
            mine[#mine + 1] = g
        end
        print(#mine)
        child:kill()
        local g = caps.data:open("a.txt")
        print(g:read())
        "#,
    );
    assert_eq!(
        stdout(&o),
        "8\tdenied\ntrue\ttrue\n8\t8\ninside a\n55\ninside a\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn closing_frees_a_handle() {
    let o = run(
        "close",
        &["--handles", "2"],
        r#"
        local a = caps.data:open("a.txt")
        local b = caps.data:open("a.txt")
        local ok, e = pcall(caps.data.open, caps.data, "a.txt")
        print(ok, e.kind)
        a:close()
        local c = caps.data:open("a.txt")
        print(c:read())
        -- Closing twice gives back nothing more.
        print(pcall(a.close, a))
        print((pcall(caps.data.open, caps.data, "a.txt")))
        "#,
    );
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"false\tdenied"),
        "{text}{}",
        stderr(&o)
    );
    assert_eq!(lines.get(1), Some(&"inside a"), "{text}");
    assert!(
        lines.get(2).is_some_and(|l| l.starts_with("false")),
        "{text}"
    );
    assert_eq!(lines.get(3), Some(&"false"), "{text}");
}

#[test]
fn collected_and_revoked_handles_come_back() {
    let o = run(
        "gc",
        &["--handles", "3"],
        r#"
        for i = 1, 50 do
            local f = caps.data:open("a.txt")
            f = nil
            collectgarbage()
            collectgarbage()
        end
        print("opened 50 one at a time")
        local proxy, revoke = revocable(caps.data)
        local x = proxy:open("a.txt")
        local y = proxy:open("a.txt")
        print(pcall(caps.data.open, caps.data, "a.txt"))
        revoke()
        local z = caps.data:open("a.txt")
        print(z:read())
        "#,
    );
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"opened 50 one at a time"),
        "{text}{}",
        stderr(&o)
    );
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with("true")),
        "{text}"
    );
    assert_eq!(lines.get(2), Some(&"inside a"), "{text}{}", stderr(&o));
}

#[test]
fn nested_limits_hold_and_a_killed_subtree_gives_its_handles_back() {
    let o = run(
        "nested",
        &["--handles", "10"],
        r#"
        -- The child intends 100, the grandchild 50: the root's 10 bound them both.
        local top = caps.data:open("a.txt")
        local child = spawn([[
            local mine = {caps.data:open("a.txt"), caps.data:open("a.txt")}
            local gc = spawn("local h = {} while true do local ok, f = pcall(caps.data.open, caps.data, 'a.txt') if not ok then return #h, f.kind end h[#h + 1] = f end",
                {name = "grandchild", handles = 50, caps = {data = caps.data}})
            local n, kind = gc:wait()
            return n, kind, gc:usage().handles_open
        ]], {name = "child", handles = 100, caps = {data = caps.data}})
        print(child:wait())
        print(child:usage().handles_open)
        print(pcall(caps.data.open, caps.data, "a.txt"))
        child:kill()
        local again = {}
        for i = 1, 9 do again[i] = caps.data:open("a.txt") end
        print(#again, (pcall(caps.data.open, caps.data, "a.txt")))
        "#,
    );
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    // The root holds 1, the child 2, so the grandchild gets the remaining 7.
    assert_eq!(lines.first(), Some(&"7\tdenied\t7"), "{text}{}", stderr(&o));
    assert_eq!(lines.get(1), Some(&"9"), "{text}");
    assert!(
        lines.get(2).is_some_and(|l| l.starts_with("false")),
        "{text}"
    );
    assert_eq!(lines.get(3), Some(&"9\tfalse"), "{text}");
}

#[test]
fn sockets_and_listeners_count_too() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let dir = tree("net");
    let s = script(
        &dir,
        r#"
        local port = tonumber(arg[1])
        local l = caps.net:listen("127.0.0.1", port)
        local c = caps.net:connect("127.0.0.1", port)
        local ok, e = pcall(l.accept, l)
        print(ok, e.kind)
        c:close()
        local s = l:accept()
        print(tostring(s):match("^socket") ~= nil)
        "#,
    );
    let net = format!("net=127.0.0.1:{port}:connect+listen");
    let o = tessera(&[
        "run",
        "--handles",
        "2",
        "--net",
        &net,
        &s,
        &port.to_string(),
    ]);
    assert_eq!(stdout(&o), "false\tdenied\ntrue\n", "{}", stderr(&o));
}

/// A sparse file of `size` bytes in a fresh tree; returns the `--dir` spec.
fn big_file(test: &str, size: u64) -> (PathBuf, String) {
    let dir = tree(test);
    let f = std::fs::File::create(dir.join("root/big.bin")).expect("file");
    f.set_len(size).expect("sparse file");
    let spec = format!("data={}:rl", dir.join("root").display());
    (dir, spec)
}

#[test]
fn reads_are_paid_per_byte_before_they_happen() {
    // Reading a 64 MiB file over and over: 1e6 units buy 32 bytes each, so the reads stop
    // out of fuel after at most 32 MiB, never the gigabytes a free read would allow.
    let (dir, spec) = big_file("reads", 64 << 20);
    let s = script(
        &dir,
        r#"
        local f = caps.data:open("big.bin")
        local total = 0
        while true do
            local s = f:read(1 << 20)
            if s then total = total + #s print(total) else f:seek("set", 0) end
        end
        "#,
    );
    let o = tessera(&["run", "--fuel", "1000000", "--dir", &spec, &s]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("out of fuel"), "{}", stderr(&o));
    let text = stdout(&o);
    let last: u64 = text
        .lines()
        .last()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    assert!(last > 0 && last <= 32 << 20, "read {last} bytes");
}

#[test]
fn a_whole_file_read_costs_what_it_reads_and_waits_for_fuel_when_it_cannot_pay() {
    let (dir, spec) = big_file("whole", 4 << 20);
    std::fs::write(dir.join("root/small.txt"), "small").expect("file");
    let s = script(
        &dir,
        r#"
        -- A small file under a small budget: priced by what the fuel can pay, charged what it
        -- read, even though the memory budget would allow a gigabyte.
        print(caps.data:read("small.txt"))
        -- 4 MiB needs 262144 units: a child with 50000 is suspended before anything is read,
        -- and after a refuel it reads the file where it stopped.
        local child = spawn("return #caps.data:read('big.bin')", {fuel = 50000, caps = {data = caps.data}})
        local ok, e = pcall(child.wait, child)
        print(ok, e.kind, child:status())
        child:refuel(1000000)
        child:resume()
        print(child:wait())
        local u = child:usage()
        -- The first try spent its 50000 (the host looked); the second paid for what it read
        -- (and for copying it into the heap: at most as much again).
        print(u.fuel_used > 4 * 1024 * 1024 / 16 + 50000, u.fuel_used < 2 * 4 * 1024 * 1024 / 16 + 60000)
        "#,
    );
    let o = tessera(&["run", "--fuel", "2000000", "--dir", &spec, &s]);
    assert_eq!(
        stdout(&o),
        "small\nfalse\tfuel\tsuspended\n4194304\ntrue\ttrue\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn writes_are_paid_before_they_happen() {
    let dir = tree("writes");
    let s = script(
        &dir,
        r#"
        local chunk = string.rep("x", 1 << 20)
        local n = 0
        while true do caps.data:write("out.bin", chunk) n = n + 1 print(n) end
        "#,
    );
    let spec = format!("data={}:rwc", dir.join("root").display());
    let o = tessera(&["run", "--fuel", "1000000", "--dir", &spec, &s]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let last: u64 = stdout(&o)
        .lines()
        .last()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    // 1e6 units buy 32 MiB of writes at most (and `string.rep` paid for its MiB too).
    assert!(last > 0 && last <= 32, "wrote {last} MiB");
}

#[test]
fn changing_the_file_system_pays_its_fixed_price() {
    // Creating, truncating and removing entries cost the host far more than a read: each such
    // call pays cost::FILE_SYSTEM_CHANGE_UNITS (8192) before it happens.
    let dir = tree("fs-change");
    let s = script(
        &dir,
        r#"
        local child = spawn([[
          for i = 1, 10 do caps.data:write("f" .. i, "x") caps.data:remove("f" .. i) end
          caps.data:mkdir("d") caps.data:remove("d")
        ]], {caps = {data = caps.data}})
        child:wait()
        print(child:usage().fuel_used >= 22 * 8192)
        "#,
    );
    let spec = format!("data={}:rwcd", dir.join("root").display());
    let o = tessera(&["run", "--dir", &spec, &s]);
    assert_eq!(stdout(&o), "true\n", "{}", stderr(&o));
}
