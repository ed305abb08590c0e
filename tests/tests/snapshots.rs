//! Snapshots from Lua: `proc:snapshot()` writes a process subtree, `restore(bytes, opts)`
//! brings it back as a new child whose outside keys (holes) are filled from `opts.caps`; a
//! restored process continues exactly where the original stopped.

use tessera_tests::run_root;

/// A program that is caught mid-flight by a small budget: coroutines, pcall, closures,
/// metatables, strings, a table with a cycle.
const WORKER: &str = r#"
    local mt = {__add = function(a, b) return setmetatable({v = a.v + b.v}, getmetatable(a)) end}
    local acc = setmetatable({v = 0}, mt)
    local gen = coroutine.wrap(function()
        local i = 0
        while true do i = i + 1 coroutine.yield(i) end
    end)
    local words, ring = {}, {}
    ring.self = ring
    local function step(i)
        local ok, v = pcall(function() if i % 7 == 0 then error("seven") end return i end)
        return ok and v or 0
    end
    for i = 1, 30000 do
        acc = acc + setmetatable({v = step(gen())}, mt)
        words[#words % 50 + 1] = string.format("%d:%s", i, ("x"):rep(i % 5))
    end
    return acc.v, #words, words[7], ring.self == ring
"#;

#[test]
fn a_restored_process_continues_exactly_where_it_stopped() {
    let src = format!(
        r#"
        local src = {WORKER:?}
        local p = spawn(src, {{name = "worker", fuel = 400000}})
        local ok, e = pcall(p.wait, p)
        print(ok, e.kind, p:status())
        local bytes = p:snapshot()
        print(type(bytes), bytes:sub(1, 5))
        -- The original and two restored copies, each refueled: same results.
        local copies = {{restore(bytes), restore(bytes, {{}})}}
        p:refuel(1e9) p:resume()
        local want = {{p:wait()}}
        for _, q in ipairs(copies) do
            print(tostring(q), q:status())
            q:refuel(1e9) q:resume()
            local got = {{q:wait()}}
            print(#got == #want and got[1] == want[1] and got[3] == want[3] and got[4] == want[4])
        end
        print(table.unpack(want))
        -- A snapshot of a finished process keeps its globals: calls work on the copy.
        local lib = spawn("n = 0 function bump(k) n = n + k return n end", {{name = "lib"}})
        lib:wait()
        lib:call("bump", 5)
        local copy = restore(lib:snapshot())
        print(copy:call("bump", 1), lib:call("bump", 10), copy:call("bump", 1))
        "#
    );
    let (out, k) = run_root(&src, 1_000_000_000);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "false\tfuel\tsuspended");
    assert_eq!(lines[1], "string\tTSNAP");
    assert_eq!(lines[2], "process: worker\tsuspended");
    assert_eq!(lines[3], "true");
    assert_eq!(lines[5], "true");
    // lua5.4 prints the same for WORKER run whole.
    assert_eq!(lines[6], "385735715\t50\t7:xx\ttrue", "{out}");
    assert_eq!(lines[7], "6\t15\t7");
    assert!(k.audit.verify().is_ok());
}

#[test]
fn a_subtree_is_saved_whole_and_its_inner_waits_survive() {
    let (out, _) = run_root(
        r#"
        -- The parent waits for its child, which spends the parent's budget: the parent is
        -- suspended where it waits (it never sees a fault), and is saved with its child.
        local parent = spawn([[
            local c = spawn("local s = 0 for i = 1, 100000 do s = s + i end return s", {name = "child"})
            local ok, e = pcall(c.wait, c)
            if not ok then c:refuel(1e7) c:resume() end
            return c:wait() * 2
        ]], {name = "parent", fuel = 200000})
        print(pcall(parent.wait, parent))
        local copy = restore(parent:snapshot())
        print(parent:status(), copy:status())
        copy:refuel(1e9) copy:resume()
        print(copy:wait())
        parent:refuel(1e9) parent:resume()
        print(parent:wait())
        "#,
        1_000_000_000,
    );
    assert_eq!(
        out,
        "false\tfuel: process 'parent' ran out of fuel\nsuspended\tsuspended\n10000100000\n10000100000\n"
    );
}

/// A world whose processes are caught in a call: `lib` running a call for `caller`
/// (mid-call), or done with an answer its caller, suspended, has not taken yet (answered).
const CALL_WORLDS: &str = r#"
    local function world(kind)
        return spawn("local kind = '" .. kind .. "'" .. [[
            local lib = spawn([=[
                function sum(n) local s = 0 for i = 1, n do s = s + i end return s end
                function big(n) local t = {} for i = 1, n do t[i] = i end return t end
                return 'lib chunk'
            ]=], {name = "lib"})
            lib:wait()
            local caller
            if kind == "mid-call" then
                caller = spawn("return caps.lib:call('sum', 3000000)", {name = "caller", caps = {lib = lib}})
                while lib:status() == "done" do spawn("return"):wait() end
            else
                caller = spawn("return #caps.lib:call('big', 200000)", {name = "caller", fuel = 60000, caps = {lib = lib}})
                while caller:status() ~= "suspended" do spawn("return"):wait() end
            end
            return lib, caller
        ]], {name = kind})
    end
"#;

#[test]
fn a_call_caught_mid_flight_is_restored_with_its_caller() {
    let (out, _) = run_root(
        &(CALL_WORLDS.to_owned()
            + r#"
        local w = world("mid-call")
        local lib, caller = w:wait()
        local copy = restore(w:snapshot())
        -- The original is gone; its copy finishes the call and answers the restored caller.
        w:kill()
        local lib2, caller2 = copy:wait()
        print(lib2:status())
        print(caller2:wait())
        print(lib2:status(), lib2:wait(), lib2:call("sum", 10))
        "#),
        2_000_000_000,
    );
    assert_eq!(out, "ready\n4500001500000\ndone\tlib chunk\t55\n");
}

#[test]
fn an_answer_not_yet_taken_is_restored_for_its_caller() {
    let (out, _) = run_root(
        &(CALL_WORLDS.to_owned()
            + r#"
        local w = world("answered")
        local lib, caller = w:wait()
        print(lib:status(), caller:status())
        local copy = restore(w:snapshot())
        local lib2, caller2 = copy:wait()
        print(lib2:status(), caller2:status())
        caller2:refuel(1e8) caller2:resume()
        print(caller2:wait(), lib2:wait(), lib2:call("sum", 10))
        "#),
        2_000_000_000,
    );
    assert_eq!(
        out,
        "done\tsuspended\ndone\tsuspended\n200000\tlib chunk\t55\n"
    );
}

#[test]
fn outside_keys_are_holes_filled_by_name() {
    let (out, k) = run_root(
        r#"
        local other = spawn("function hello() return 'hi from ' .. name end name = 'other'", {name = "other"})
        other:wait()
        local third = spawn("function hello() return 'hi from third' end", {name = "third"})
        third:wait()
        local user = spawn([[
            function use() return caps.peer:call("hello") end
        ]], {name = "user", caps = {peer = other}})
        user:wait()
        local bytes = user:snapshot()
        -- Without the key: refused, naming the hole.
        local ok, e = pcall(restore, bytes)
        print(ok, e.kind, e.message)
        -- Not a key: refused before anything is read (only keys and functions are authority).
        print(pcall(restore, bytes, {caps = {peer = 42}}))
        -- Filled with another process key: the copy calls what it was given.
        local copy = restore(bytes, {caps = {peer = third}})
        print(copy:call("use"), user:call("use"))
        "#,
        1_000_000_000,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "false\tdenied\tthe snapshot needs a process key named 'peer' (process: other): pass it in opts.caps"
    );
    assert!(
        lines[1].starts_with("false\terror: bad option 'caps': entry 'peer' is a number"),
        "{out}"
    );
    assert_eq!(lines[2], "hi from third\thi from other");
    // The restore is in the audit log.
    assert!(k
        .audit
        .records()
        .iter()
        .any(|r| r.event.op.name() == "restore"));
}

#[test]
fn snapshots_refuse_what_they_cannot_hold() {
    let (out, _) = run_root(
        r#"
        -- A process waiting for a call to a process outside the snapshot.
        local slow = spawn("function wait_a_bit() for i = 1, 1e6 do end return 1 end", {name = "slow"})
        slow:wait()
        local caller = spawn("return caps.slow:call('wait_a_bit')", {name = "caller", caps = {slow = slow}})
        local ok, e = pcall(caller.snapshot, caller)
        print(ok, e.message)
        caller:wait()
        -- Inside a native that calls back into Lua (a sort comparator), out of fuel: saved
        -- mid-sort and finished by the restored copy.
        local sorter = spawn([[
            local t = {} for i = 1, 5000 do t[i] = (i * 7919) % 5000 end
            table.sort(t, function(a, b) return a < b end)
            return t[1]
        ]], {name = "sorter", fuel = 100000})
        print(pcall(sorter.wait, sorter))
        local ok2, sorted = pcall(sorter.snapshot, sorter)
        print(ok2, type(sorted))
        local copy = restore(sorted)
        copy:refuel(1e9) copy:resume()
        print(copy:wait())
        -- Bytes that are not a snapshot, or truncated, or of another version.
        print(pcall(restore, "hello"))
        print(pcall(restore, "TSNAP\2\0"))
        local good = spawn("return 1", {name = "one"})
        good:wait()
        local bytes = good:snapshot()
        print(pcall(restore, bytes:sub(1, #bytes // 2)))
        print(pcall(restore, 42))
        "#,
        1_000_000_000,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "false\tcannot snapshot process 'caller': it is waiting for a process outside the snapshot"
    );
    assert!(lines[1].starts_with("false\tfuel:"), "{out}");
    assert_eq!(lines[2], "true\tstring", "{out}");
    assert_eq!(lines[3], "0", "{out}");
    assert_eq!(
        lines[4],
        "false\terror: not a Tessera snapshot (it does not start with TSNAP)"
    );
    assert_eq!(
        lines[5],
        format!(
            "false\terror: snapshot format version 2 (this build reads version {})",
            kernel::snapshot::VERSION
        )
    );
    assert_eq!(
        lines[6],
        "false\terror: damaged snapshot: its checksum does not match its contents"
    );
    assert!(
        lines[7].starts_with("false\terror: bad argument #1 to 'restore'"),
        "{out}"
    );
}

#[test]
fn a_restore_is_charged_to_the_restorers_memory() {
    let (out, _) = run_root(
        r#"
        local big = spawn("t = {} for i = 1, 200000 do t[i] = i end", {name = "big", memory = "64M"})
        big:wait()
        local bytes = big:snapshot()
        -- A process with a small budget cannot hold the copy.
        local small = spawn("function go(b) return restore(b) end", {name = "small", memory = "3M"})
        small:wait()
        local ok, e = pcall(small.call, small, "go", bytes)
        print(ok, e.message:find("not enough memory to restore", 1, true) ~= nil)
        -- Bytes that would decode into far more than the budget are refused before decoding.
        local nils = spawn("function go(n) return restore('TSNAP\\2\\0' .. ('\\192'):rep(n)) end", {name = "nils", memory = "4M"})
        nils:wait()
        local ok2, e2 = pcall(nils.call, nils, "go", 1000000)
        print(ok2, e2.message:find("not enough memory to restore", 1, true) ~= nil)
        -- The root can.
        local copy = restore(bytes)
        print(copy:status(), copy:usage().memory_used > 3000000)
        "#,
        1_000_000_000,
    );
    assert_eq!(out, "false\ttrue\nfalse\ttrue\ndone\ttrue\n");
}

/// The law: a snapshot taken at any point and restored finishes exactly as the original does.
/// Cut points every 997 units of fuel through a program that uses coroutines, pcall, closures,
/// metamethods, to-be-closed variables, varargs and string building.
#[test]
fn snapshot_then_restore_is_identity_at_every_cut_point() {
    let (want, checked) = cut_restore_and_compare(
        500,
        997,
        r##"
        local log = {}
        local function add(...) log[#log + 1] = table.concat({...}, ",") end
        local co = coroutine.create(function(a, b)
            for i = a, b do
                local x <close> = setmetatable({}, {__close = function() add("close", i) end})
                coroutine.yield(i * i)
            end
            return "end"
        end)
        local V = setmetatable({}, {__index = function(t, k) return k .. "!" end,
                                    __call = function(self, x) return x + 1 end})
        for round = 1, 60 do
            local ok, v = coroutine.resume(co, 1, 40)
            add(tostring(ok), tostring(v), V[round], V(round))
            local ok2, err = pcall(error, {round = round})
            add(type(err), err.round)
            local s = 0
            for i = 1, 300 do s = s + (i % 7) * round end
            add(s, select("#", table.unpack(log, 1, 3)))
        end
        return #log .. ":" .. log[#log] .. ":" .. log[17] .. ":" .. #table.concat(log)
        "##,
    );
    assert_eq!(want, "220:54180,3:true,25,5!,6:2564");
    assert!(checked > 40, "{checked} cut points");
}

/// Runs chunk `body` in a child process whole, then cut by fuel at `first`, `first + step`, …
/// until a cut no longer stops it; each cut process is snapshotted, restored, refuelled and
/// resumed, and must return what the whole run returned. The whole run's result and how many
/// cut points were checked.
fn cut_restore_and_compare(first: u64, step: u64, body: &str) -> (String, u32) {
    let src = format!(
        r#"
        local src = {body:?}
        local want = spawn(src, {{name = "whole"}}):wait()
        local checked = 0
        for cut = {first}, 1e7, {step} do
            local p = spawn(src, {{name = "cut", fuel = cut}})
            if pcall(p.wait, p) then break end
            local q = restore(p:snapshot())
            q:refuel(1e9) q:resume()
            local got = q:wait()
            if got ~= want then error(("cut %d: %s ~= %s"):format(cut, got, want)) end
            checked = checked + 1
        end
        print(want, checked)
        "#
    );
    let (out, _) = run_root(&src, u64::MAX / 4);
    let (want, checked) = out.trim_end().split_once('\t').expect("two fields");
    (
        want.to_string(),
        checked.parse().expect("a count of cut points"),
    )
}

/// A snapshot names its natives instead of numbering them: a build whose table has natives
/// added (here one in front, shifting every id) and listed in another order restores a
/// process caught mid-loop with natives in its locals, upvalues and frames, and it finishes
/// as the original would.
#[test]
fn a_snapshot_restores_in_a_build_with_natives_added_and_reordered() {
    use kernel::heap::NativeId;
    use kernel::process::State;
    use kernel::vm::{Action, NativeCall, NativeTable, Throw, Vm};
    const WORKER: &str = r##"
        local rep, fmt, up = string.rep, string.format, string.upper
        local parts = {}
        for i = 1, 3000 do
            parts[#parts % 10 + 1] = fmt("%d:%s", i, up(rep("x", i % 4)))
            table.sort(parts)
        end
        return table.concat(parts, ","), select("#", table.unpack(parts))
    "##;
    const PROGRAM: &str = r#"
        local p = spawn(WORKER, {name = "worker", fuel = 60000})
        local ok, e = pcall(p.wait, p)
        assert(not ok and e.kind == "fuel")
        return p:snapshot()
    "#;
    let worker: &[(&str, &[u8])] = &[("WORKER", WORKER.as_bytes())];
    let (mut k, root, _) = tessera_tests::root_process_with(PROGRAM, 1_000_000_000, worker);
    k.run_until_idle();
    let p = k.get(root).expect("root");
    assert_eq!(p.state, State::Done, "{:?}", p.fault);
    let snapshot = p.vm.str_bytes(p.results[0]).expect("a snapshot").to_vec();

    fn extra(_: &mut Vm, _: NativeCall) -> Result<Action, Throw> {
        Err(Throw::msg("not called"))
    }
    let base = stdlib::natives();
    let mut table = NativeTable::new();
    table.register("test.added", extra, 0);
    for i in (0..base.len()).rev() {
        let id = NativeId(i as u16);
        let new = table.register(base.name(id), base.func(id), base.flags_of(id));
        if base.is_xpcall(id) {
            table.set_xpcall(new);
        }
    }
    let table = std::rc::Rc::new(table);
    let factory: kernel::process::VmFactory = std::rc::Rc::new(move |_: &str, memory: usize| {
        let mut vm = Vm::new(table.clone(), memory, 11)?;
        stdlib::open_libs(&mut vm)?;
        Ok(vm)
    });
    let resume = r#"
        local p = restore(SNAP, {fuel = 1e9})
        p:resume()
        print(p:wait())
    "#;
    let (mut k2, root2, out2) =
        tessera_tests::root_process_in(resume, 2_000_000_000, &[("SNAP", &snapshot)], factory);
    let text = tessera_tests::finish_root(&mut k2, root2, &out2);
    // The same program run whole in this build.
    let (mut k3, root3, out3) = tessera_tests::root_process_with(
        "print(spawn(WORKER, {name = 'worker'}):wait())",
        2_000_000_000,
        worker,
    );
    let whole = tessera_tests::finish_root(&mut k3, root3, &out3);
    assert_eq!(text, whole);
    assert!(text.ends_with("\t10\n"), "{text}");
}

/// A sort that calls Lua runs in a library helper written in Lua, whose frames present as the
/// native's (no position of their own). Cut anywhere inside such a sort, a snapshot restores
/// to a process that finishes as the original does, and the helper it caches still presents
/// as the native: the comparator's `error` at level 2 names no position.
#[test]
fn a_sort_cut_in_its_lua_helper_restores_and_the_helper_stays_a_native() {
    let (want, checked) = cut_restore_and_compare(
        300,
        211,
        r##"
        local t = {}
        for i = 1, 200 do t[i] = (i * 7919) % 1009 end
        local calls = 0
        table.sort(t, function(a, b) calls = calls + 1 return a > b end)
        local ok, e = pcall(table.sort, {2, 1}, function() error("level 2", 2) end)
        return t[1] .. "," .. t[200] .. "," .. calls .. "," .. tostring(ok) .. "," .. e
        "##,
    );
    assert_eq!(want, "1005,9,1560,false,level 2");
    assert!(checked > 20, "{checked} cut points");
}

/// A table's border hint (Lua's `alimit`) is state: `#` on a table with holes answers from
/// it, so a run cut anywhere, saved and restored must answer as the whole run does.
#[test]
fn a_tables_border_hint_survives_every_cut() {
    let (want, checked) = cut_restore_and_compare(
        50,
        37,
        r##"
        local out = {}
        for n = 4, 40 do
          local t = {}
          for i = 1, n do t[i] = i end
          local a = #t
          t[n // 2] = nil
          t[n - 1] = nil
          local b = #t
          local _ = t[n]
          out[#out + 1] = a .. ":" .. b .. ":" .. #t
        end
        return table.concat(out, " ")
        "##,
    );
    // lua5.4's answers: its hint keeps each `#` at n (the old hint-free search said 1, 3,
    // 9, 7, … for some n).
    let lua54: Vec<String> = (4..=40).map(|n| format!("{n}:{n}:{n}")).collect();
    let lua54 = lua54.join(" ");
    assert_eq!(want, lua54);
    assert!(checked > 20, "{checked} cut points");
}
