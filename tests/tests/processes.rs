//! Processes from Lua: `spawn` creates a child with its own heap and budget, its process key
//! answers `status`, `usage`, `wait`, `refuel`, `resume` and `kill`, faults arrive as tables
//! that `pcall` catches, and keys cannot be forged.

use kernel::process::{Kernel, State};
use std::cell::RefCell;
use std::rc::Rc;
use tessera_tests::{factory, run_root};

#[test]
fn spawn_wait_and_results() {
    let (out, k) = run_root(
        r#"
        local p = spawn("local s = 0 for i = 1, 1000 do s = s + i end return s, 'done', {1, {2}}", {name = "adder", fuel = 1000000})
        print(tostring(p), getmetatable(p))
        local s, word, t = p:wait()
        print(s, word, t[1], t[2][1], p:status())
        local u = p:usage()
        print(u.fuel_used > 0, u.fuel_limit, u.memory_limit)
        "#,
        10_000_000,
    );
    assert_eq!(
        out,
        "process: adder\tprocess key\n500500\tdone\t1\t2\tdone\ntrue\t1000000\t16777216\n"
    );
    assert!(k.audit.verify().is_ok());
}

#[test]
fn a_fuel_fault_is_caught_and_the_child_resumes_after_refuel() {
    let (out, _) = run_root(
        r#"
        local q = spawn("local n = 0 for i = 1, 200000 do n = n + 1 end return n", {name = "counter", fuel = 10000})
        local ok, err = pcall(q.wait, q)
        print(ok, err.kind, q:status(), tostring(err))
        q:refuel(10000000)
        q:resume()
        print(q:wait())
        "#,
        100_000_000,
    );
    assert_eq!(
        out,
        "false\tfuel\tsuspended\tfuel: process 'counter' ran out of fuel\n200000\n"
    );
}

#[test]
fn an_ancestor_running_dry_stops_the_grandchild() {
    let (out, _) = run_root(
        r#"
        local child = spawn([[
            local g = spawn("local n = 0 for i = 1, 1e6 do n = n + 1 end return n", {name = "grandchild", fuel = 1e9})
            return g:wait()
        ]], {name = "child", fuel = 20000})
        local ok, err = pcall(child.wait, child)
        print(ok, err.kind, tostring(err), child:status())
        child:refuel(1e8) child:resume()
        print(child:wait())
        "#,
        100_000_000,
    );
    // The grandchild's own budget is large, but it spends its ancestor's: the child is
    // suspended where it waits, and the root hears of it; the grandchild carries on after.
    assert_eq!(
        out,
        "false\tfuel\tfuel: process 'child' ran out of fuel\tsuspended\n1000000\n"
    );
}

#[test]
fn errors_and_kills_arrive_as_faults() {
    let (out, _) = run_root(
        r#"
        local bad = spawn("error('boom')", {name = "bad"})
        local ok, err = pcall(bad.wait, bad)
        print(ok, err.kind, err.message, err.process == bad)
        local spin = spawn("while true do end", {name = "spin", fuel = 1e12})
        spin:kill()
        local ok2, err2 = pcall(spin.wait, spin)
        print(ok2, err2.kind, spin:status())
        local ok3, err3 = pcall(spin.status, {})
        print(ok3, err3.kind)
        print(pcall(spawn, "x = = 1"))
        -- The error value itself crosses (copied) when it can.
        local tbl = spawn("error({code = 7, list = {1, 2}})", {name = "tbl"})
        local ok4, err4 = pcall(tbl.wait, tbl)
        print(ok4, err4.kind, err4.value.code, #err4.value.list, err4.message)
        local fn = spawn("error(coroutine.create(print))", {name = "fn"})
        local ok5, err5 = pcall(fn.wait, fn)
        print(ok5, err5.kind, err5.value, err5.message)
        "#,
        100_000_000,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[4],
        "false\terror\t7\t2\t(error object is a table value)"
    );
    assert_eq!(
        lines[5],
        "false\terror\tnil\t(error object is a thread value)"
    );
    assert_eq!(lines[0], "false\terror\tbad:1: boom\ttrue");
    assert_eq!(lines[1], "false\tkilled\tkilled");
    // Not a key at all: a malformed call, not a missing authority.
    assert_eq!(lines[2], "false\terror");
    assert!(lines[3].starts_with("false\t"), "{out}");
}

#[test]
fn the_command_line_session_runs_spawned_processes() {
    let out = tessera_tests::run_lua_source(
        b"local p = spawn('return 6 * 7') print(p:wait())",
        "=session",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "42\n",
        "{:?}",
        out.error
    );
}

#[test]
fn calls_into_a_library_process_copy_arguments_and_results() {
    let (out, _) = run_root(
        r#"
        local lib = spawn([[
            local count = 0
            function add(a, b) count = count + 1 return a + b end
            function greet(t) t.seen = true return 'hi ' .. t.name, #t.list, count end
            function boom() error('inside') end
        ]], {name = "lib"})
        lib:wait()
        local arg = {name = "bob", list = {1, 2, 3}}
        print(lib:call("add", 2, 3), lib:call("greet", arg))
        print(arg.seen)
        print(pcall(lib.call, lib, "nope"))
        local ok, err = pcall(lib.call, lib, "boom")
        print(ok, err.kind, err.message)
        "#,
        100_000_000,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "5\thi bob\t3\t1");
    assert_eq!(
        lines[1], "nil",
        "the callee changed its copy, not the caller's table"
    );
    assert!(lines[2].starts_with("false\t"), "{out}");
    assert_eq!(lines[3], "false\terror\tlib:4: inside");
}

#[test]
fn the_import_example_runs_as_the_readme_says() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/import.lua");
    let source = std::fs::read(&path).expect("examples/import.lua");
    let out = tessera_tests::run_lua_source(&source, "@import.lua");
    assert!(out.error.is_none(), "{:?}", out.error);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], r#"{"hello":"world","list":[1,2,3],"n":42}"#);
    assert_eq!(lines[1], "true");
    assert_eq!(
        lines[2],
        "false\tfuel\tfuel: process 'json' ran out of fuel"
    );
    // It stops before the step it cannot pay, keeping the rest of its budget.
    let used: u64 = lines[3]
        .strip_prefix("the library used ")
        .and_then(|l| l.strip_suffix(" of its 50000 fuel units"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    assert!(used <= 50000, "{text}");
    assert!(
        lines[4].starts_with("after refuel: ") && lines[4].ends_with("bytes of JSON, status done"),
        "{text}"
    );
}

#[test]
fn unknown_modules_are_refused_with_a_clear_message() {
    let out = tessera_tests::run_lua_source(b"print(pcall(import, 'nosuch'))", "=m");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("module 'nosuch' not found"), "{text}");
    assert!(text.contains("caps.lib"), "{text}");
}

#[test]
fn revocable_forwarders_and_kill() {
    let (out, k) = run_root(
        r#"
        local lib = spawn("function ping() return 'pong' end", {name = "lib"})
        lib:wait()
        local proxy, revoke = revocable(lib)
        print(tostring(proxy), proxy:call("ping"))
        revoke()
        local ok, err = pcall(proxy.call, proxy, "ping")
        print(ok, err.kind)
        print(lib:call("ping"))
        local worker = spawn("local w = spawn('while true do end', {name = 'grandchild'}) return w:wait()", {name = "worker"})
        worker:kill()
        print(lib.status(worker))
        "#,
        100_000_000,
    );
    assert_eq!(out, "process: lib\tpong\nfalse\trevoked\npong\nkilled\n");
    // The killed worker's grandchild is gone too: only the root and lib remain.
    assert_eq!(k.process_count(), 2);
    assert!(k.audit.verify().is_ok());
}

#[test]
fn a_child_past_its_memory_budget_faults_with_kind_memory() {
    let (out, _) = run_root(
        r#"
        local p = spawn("local t = {} for i = 1, 1e9 do t[i] = i end", {name = "hog", memory = "1M"})
        local ok, e = pcall(p.wait, p)
        print(ok, e.kind, e.message)
        print(#string.rep("still fine ", 3))
        "#,
        1_000_000_000,
    );
    assert_eq!(out, "false\tmemory\tprocess 'hog' ran out of memory\n33\n");
}

#[test]
fn keys_cross_as_keys_and_a_library_has_only_what_it_was_given() {
    let (out, k) = run_root(
        r#"
        local a = spawn("function hello(x) return 'hello ' .. x end", {name = "a"})
        a:wait()
        local b = spawn("return caps.friend:call('hello', 'from b'), caps.n", {name = "b", caps = {friend = a}})
        print(b:wait())
        local snoop = spawn("return caps.friend, type(spawn), type(io)", {name = "snoop"})
        print(snoop:wait())
        local e = spawn("function give() return caps.mine end", {name = "e", caps = {mine = a}})
        e:wait()
        local got = e:call("give")
        print(tostring(got), got:call("hello", "via e"))
        local proxy, revoke = revocable(a)
        local f = spawn("function use() return caps.p:call('hello', 'f') end", {name = "f", caps = {p = proxy}})
        f:wait()
        print(f:call("use"))
        revoke()
        local ok, err = pcall(f.call, f, "use")
        print(ok, err.kind)
        "#,
        100_000_000,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hello from b\tnil");
    // A process spawned without keys has none: `caps` is empty and there is no `io`.
    assert_eq!(lines[1], "nil\tfunction\tnil");
    assert_eq!(lines[2], "process: a\thello via e");
    assert_eq!(lines[3], "hello f");
    // Revoking the forwarder reaches the copy the child holds.
    assert_eq!(lines[4], "false\terror");
    assert!(k.audit.verify().is_ok());
    assert!(
        k.audit.to_text().contains("call_result") || k.audit.to_text().contains("result"),
        "{}",
        k.audit.to_text()
    );
}

#[test]
fn key_equality_is_key_identity_and_imports_nest() {
    let (out, _) = run_root(
        r#"
        local a = spawn("return 1", {name = "a"}) a:wait()
        local e = spawn("function give() return caps.mine end", {name = "e", caps = {mine = a}}) e:wait()
        local got = e:call("give")
        print(got == a, (revocable(a)) == a, a == a)
        local outer = spawn([[
          local json = import("json")
          function encode_twice(t)
            local inner = spawn("local pretty = import('pretty') function fmt(t) return pretty.format(t) end")
            inner:wait()
            return json.encode(t), inner:call("fmt", t)
          end
        ]], {name = "outer"})
        outer:wait()
        print(outer:call("encode_twice", {a = 1, b = {2, 3}}))
        "#,
        100_000_000,
    );
    assert_eq!(
        out,
        "true\tfalse\ttrue\n{\"a\":1,\"b\":[2,3]}\t{a = 1, b = {2, 3}}\n"
    );
}

#[test]
fn functions_cross_as_far_function_keys() {
    let (out, _) = run_root(
        r#"
        local lib = spawn("function make_counter() local n = 0 return function(k) n = n + (k or 1) return n end end", {name = "lib"})
        lib:wait()
        local c = lib:call("make_counter")
        print(type(c), c(), c(5), c())
        local other = spawn("function use(f) return f(100) end", {name = "other"})
        other:wait()
        print(other:call("use", c))
        -- A callback into the process that waits for the call runs at once.
        local w = spawn("function run(f) return pcall(f, 1) end", {name = "worker"})
        w:wait()
        print(w:call("run", function(x) return x + 1 end))
        "#,
        100_000_000,
    );
    assert_eq!(out, "function\t1\t6\t7\n107\ntrue\t2\n");
}

#[test]
fn callbacks_into_a_waiting_caller_are_served_above_its_wait() {
    let (out, k) = run_root(
        r#"
        -- A library that calls back: map with the caller's function, errors included.
        local lib = spawn([[
            function map(t, f) local r = {} for i, v in ipairs(t) do r[i] = f(v) end return r end
            function try(f, ...) return pcall(f, ...) end
            function twice(f) return f(f(1)) end
            function ping(n, pong) if n == 0 then return 0 end return 1 + pong(n - 1) end
            function yielder(f) return f() end
        ]], {name = "lib", fuel = 10000000})
        lib:wait()
        local seen = {}
        local r = lib:call("map", {1, 2, 3}, function(v) seen[#seen + 1] = v return v * 10 end)
        print(r[1], r[2], r[3], #seen)
        -- An error in the callback reaches the library as a fault with the value itself.
        local ok, e = lib:call("try", function(x) error({code = x}) end, 42)
        print(ok, e.kind, type(e.value), e.value.code)
        print(lib:call("twice", function(x) return x + 5 end))
        -- Ping-pong: the caller and the library call each other, nested ten deep.
        local pong
        local function ping(n) return lib:call("ping", n, pong) end
        pong = function(n) if n == 0 then return 0 end return 1 + ping(n - 1) end
        print(ping(10))
        -- After all that the library is idle again and answers ordinary calls.
        print(lib:status(), lib:call("twice", function(x) return x * 3 end))
        -- Yielding out of a callback is refused (the library would wait forever); inside a
        -- coroutine, an ordinary callback works.
        local co = coroutine.wrap(function()
            local a = lib:call("twice", function(x) return x - 1 end)
            return a, pcall(lib.call, lib, "yielder", function() coroutine.yield(1) end)
        end)
        local a, ok2, e2 = co()
        print(a, ok2, e2.kind, e2.message, lib:status())
        "#,
        100_000_000,
    );
    assert_eq!(
        out,
        "10\t20\t30\t3\nfalse\terror\ttable\t42\n11\n10\ndone\t9\n\
         -1\tfalse\terror\tattempt to yield across a C-call boundary\tdone\n"
    );
    assert!(k.audit.verify().is_ok());
}

#[test]
fn a_callback_that_runs_out_of_fuel_faults_its_caller() {
    let (out, _) = run_root(
        r#"
        -- The spinner calls the library, which calls back into the spinner; the callback
        -- loops until the spinner's budget is spent. The library hears of it as a fuel fault
        -- (and catches it), the root as the spinner's fuel fault.
        local lib = spawn([[
            function run(f) return pcall(f) end
        ]], {name = "lib"})
        lib:wait()
        local spinner = spawn([[
            function go(lib) return lib:call("run", function() while true do end end) end
        ]], {name = "spinner", fuel = 200000})
        spinner:wait()
        local ok, e = pcall(spinner.call, spinner, "go", lib)
        print(ok, e.kind, spinner:status())
        spinner:kill()
        print(lib:status(), lib:call("run", function() return "fine" end))
        "#,
        100_000_000,
    );
    assert_eq!(out, "false\tfuel\tsuspended\ndone\ttrue\tfine\n");
}

#[test]
fn a_childs_memory_intent_is_bounded_by_its_ancestors() {
    let mut k = Kernel::new();
    k.set_factory(factory());
    let mut vm = (factory())("root", 16 << 20).expect("root fits");
    let out = Rc::new(RefCell::new(Vec::new()));
    let sink = out.clone();
    vm.set_console(Some(Box::new(move |b: &[u8]| {
        sink.borrow_mut().extend_from_slice(b)
    })));
    // The child's intent (1G) is more than its parent has: growing, it exhausts the root's
    // budget, so the root is the one suspended (its embedder hears of it), the child with
    // it; given more, both carry on and the child never sees a fault.
    let src = r#"
        local greedy = spawn("local t = {} for i = 1, 1e6 do t[i] = i end return #t", {name = "greedy", memory = "1G"})
        local ok, n = pcall(greedy.wait, greedy)
        print(ok, n, greedy:usage().memory_limit)
        greedy:kill()
        local t = {} for i = 1, 100000 do t[i] = i end
        print(#t)
    "#;
    let proto = kernel::compiler::compile(src.as_bytes(), b"=root").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    let root = k.add(None, "root", vm, u64::MAX / 2);
    k.run_until_idle();
    let exhausted = Some(kernel::process::Fault::Exhausted {
        budget: kernel::process::Budget::Memory,
        exhausted: root,
    });
    assert_eq!(k.get(root).map(|p| p.state), Some(State::Suspended));
    assert_eq!(k.get(root).and_then(|p| p.fault.clone()), exhausted);
    assert_eq!(String::from_utf8_lossy(&out.borrow()), "");
    k.raise_memory(root, 64 << 20);
    assert!(k.resume(root));
    k.run_until_idle();
    assert_eq!(k.get(root).map(|p| p.state), Some(State::Done));
    assert_eq!(
        String::from_utf8_lossy(&out.borrow()),
        "true\t1000000\t1073741824\n100000\n"
    );
    // Everything the killed child held went back to the root's meter.
    assert!(k.memory_allowance(root) > 8 << 20);
}

#[test]
fn slots_of_collected_keys_are_released() {
    let (_, k) = run_root(
        r#"
        local a = spawn("return 1", {name = "a"}) a:wait()
        local e = spawn("function give() return caps.mine end", {name = "e", caps = {mine = a}}) e:wait()
        for i = 1, 3000 do local key = e:call("give") end
        collectgarbage()
        collectgarbage()
        print(e:call("give") == a)
        "#,
        100_000_000,
    );
    let held: usize = k.processes().map(|p| p.clist.len()).sum();
    assert!(
        held < 100,
        "{held} slots still held after 3000 keys were dropped"
    );
}

#[test]
fn a_callback_reaches_back_through_a_chain_of_calls() {
    let (out, _) = run_root(
        r#"
        -- root → b → c, and c calls root's function: root waits (through b) for c, so the
        -- callback runs in root above its wait; b's own callback to root works the same way.
        local c = spawn("function leaf(f, x) return 'c', f('c', x) end", {name = "c"})
        c:wait()
        local b = spawn([[
            function mid(c, f, x) local who, y = c:call("leaf", f, x + 1) return f('b', y + 1), who end
        ]], {name = "b"})
        b:wait()
        local log = {}
        local function f(who, x) log[#log + 1] = who .. x return x * 2 end
        print(b:call("mid", c, f, 1))
        print(table.concat(log, " "), b:status(), c:status())
        -- A callback that calls straight back into the waiting library is served there too.
        local lib = spawn("function outer(f) return f() end function inner() return 'inner' end", {name = "lib"})
        lib:wait()
        print(lib:call("outer", function() return lib:call("inner") end))
        "#,
        100_000_000,
    );
    assert_eq!(out, "10\tc\nc2 b5\tdone\tdone\ninner\n");
}

#[test]
fn a_huge_error_keeps_its_value_whole_and_its_message_short() {
    // The message is host memory outside every bank; the value stays in the child's heap and
    // crosses copied, paid by the waiter's bank.
    let (out, _) = run_root(
        r#"
        local p = spawn("error(string.rep('x', 100000), 0)")
        local ok, e = pcall(p.wait, p)
        print(ok, e.kind, #e.value, #e.message <= 4096 + 3, e.message:sub(-3) == "…")
        "#,
        100_000_000,
    );
    assert_eq!(out, "false\terror\t100000\ttrue\ttrue\n");
}

/// DESIGN, "Process lifecycle": an error raised by a call goes back to the caller and leaves
/// the callee `done` and ready for the next call, and `wait()` answers with the chunk's own
/// results whatever calls came later.
#[test]
fn a_failed_call_leaves_the_callee_done_and_wait_keeps_the_chunks_results() {
    let (out, _) = run_root(
        r#"
        local p = spawn("function f(x) if x then error({code = x}) end return 'ok' end return 'chunk', {1, 2}", {name = "lib"})
        local a, t = p:wait()
        print(a, t[2])
        local ok, e = pcall(p.call, p, "f", 7)
        print(ok, e.kind, e.value.code, p:status())
        print(p:call("f"))
        a, t = p:wait()
        print(a, t[2], p:status())
        -- The results are the chunk's own, kept through collections run by calls.
        local q = spawn("function g() local junk = {} for i = 1, 1000 do junk[i] = {i} end collectgarbage() return #junk end return {1, 2, 3}, ('x'):rep(3)", {name = "q"})
        q:wait()
        print(q:call("g"), q:call("g"))
        local r, s = q:wait()
        print(#r, r[3], s)
        -- A callee whose call errors in a callback of its own stays done too.
        local cb = spawn("function h(f) return f() end", {name = "cb"})
        cb:wait()
        print(pcall(cb.call, cb, "h", function() error("from the caller", 0) end))
        print(cb:status(), cb:call("h", function() return "fine" end))
        "#,
        100_000_000,
    );
    assert_eq!(
        out,
        "chunk\t2\nfalse\terror\t7\tdone\nok\nchunk\t2\tdone\n1000\t1000\n3\t3\txxx\n\
         false\terror: from the caller\ndone\tfine\n"
    );
}

/// Callers of a busy library wait their turn, and each gets the answer to its own call, its
/// errors included.
#[test]
fn callers_of_a_busy_library_each_get_their_own_answer() {
    let (out, _) = run_root(
        r#"
        local lib = spawn([[
            local n = 0
            function bump(who) n = n + 1 local s = 0 for i = 1, 2000 do s = s + i end return who, n end
            function fail(x) error({code = x}) end
            return 'lib ready'
        ]], {name = "lib"})
        lib:wait()
        local clients = {}
        for c = 1, 3 do
            clients[c] = spawn([[
                local lib, me = caps.lib, caps.me()
                local seen = 0
                for i = 1, 50 do
                    local who = lib:call("bump", me)
                    assert(who == me, "an answer meant for another caller")
                    seen = seen + 1
                    if i % 10 == 0 then
                        local ok, e = pcall(lib.call, lib, "fail", i)
                        assert(not ok and e.kind == "error" and e.value.code == i)
                    end
                end
                return seen
            ]], {name = "client" .. c, caps = {lib = lib, me = function() return c end}})
        end
        for c = 1, 3 do print(clients[c]:wait()) end
        print(lib:status(), lib:call("bump", "me"))
        print(lib:wait())
        "#,
        1_000_000_000,
    );
    assert_eq!(out, "50\n50\n50\ndone\tme\t151\nlib ready\n");
}

/// A caller that cannot pay to receive its answer is suspended; the answer waits for it, and
/// other callers wait until it is taken. If nothing can ever take it, the waiting caller gets
/// a `deadlock` fault rather than hanging the host.
#[test]
fn an_answer_waits_for_its_caller_to_be_refuelled() {
    let (out, _) = run_root(
        r#"
        local lib = spawn([[
            function big(n) local t = {} for i = 1, n do t[i] = i end return t end
            function small() return 1 end
        ]], {name = "lib"})
        lib:wait()
        -- 200,000 entries cost more to receive than the caller's 60,000 units.
        local poor = spawn("return #caps.lib:call('big', 200000)", {name = "poor", fuel = 60000, caps = {lib = lib}})
        local ok, e = pcall(poor.wait, poor)
        print(ok, e.kind, poor:status(), lib:status())
        local other = spawn("return caps.lib:call('small')", {name = "other", caps = {lib = lib}})
        poor:refuel(10000000)
        poor:resume()
        print(poor:wait())
        print(other:wait())
        -- Left suspended, the answer can never be taken: the next caller hears so.
        local poor2 = spawn("return #caps.lib:call('big', 200000)", {name = "poor2", fuel = 60000, caps = {lib = lib}})
        print(pcall(poor2.wait, poor2))
        local blocked = spawn("return caps.lib:call('small')", {name = "blocked", caps = {lib = lib}})
        local ok2, e2 = pcall(blocked.wait, blocked)
        print(ok2, e2.kind, e2.value.kind)
        "#,
        1_000_000_000,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "false\tfuel\tsuspended\tdone", "{out}");
    assert_eq!(lines[1], "200000", "{out}");
    assert_eq!(lines[2], "1", "{out}");
    assert!(lines[3].starts_with("false\t"), "{out}");
    assert_eq!(lines[4], "false\terror\tdeadlock", "{out}");
}

/// `spawn`, `import` and `restore` refuse options they do not know (a typo must not pass for
/// a budget) and `caps` entries that are not authority; `restore` honours `fuel` and
/// `memory`.
#[test]
fn options_are_checked_and_restore_takes_budgets() {
    let (out, _) = run_root(
        r#"
        print(pcall(spawn, "return 1", {nmae = "typo"}))
        print(pcall(spawn, "return 1", {[1] = 2}))
        print(pcall(spawn, "return 1", "opts"))
        print(pcall(spawn, "return 1", {caps = {me = "a"}}))
        print(pcall(spawn, "return 1", {caps = {f = print, k = spawn("return 2")}}))
        print(pcall(import, "json", {colour = 1}))
        local lib = spawn("function f() return 1 end", {name = "lib", fuel = 1000000})
        lib:wait()
        local snap = lib:snapshot()
        print(pcall(restore, snap, {name = "x"}))
        local c = restore(snap, {fuel = 500, memory = "2M"})
        local u = c:usage()
        print(u.fuel_limit - u.fuel_used, u.memory_limit, c:call("f"))
        local ok, e = pcall(restore, snap, {memory = 1000})
        print(ok, e.kind)
        "#,
        1_000_000_000,
    );
    assert_eq!(
        out,
        "false\terror: unknown option 'nmae' to 'spawn' (options are name, fuel, memory, handles, caps, deterministic)\n\
         false\terror: unknown option of type number to 'spawn' (options are name, fuel, memory, handles, caps, deterministic)\n\
         false\terror: bad argument #2 to 'spawn' (table of options expected, got string)\n\
         false\terror: bad option 'caps': entry 'me' is a string (only keys and functions can be given)\n\
         true\tprocess: child\n\
         false\terror: unknown option 'colour' to 'import' (options are name, fuel, memory, handles, caps, deterministic)\n\
         false\terror: unknown option 'name' to 'restore' (options are fuel, memory, handles, caps, deterministic)\n\
         500\t2097152\t1\n\
         false\tmemory\n"
    );
}

/// DESIGN, "Budgets: the credit model": when an ancestor's meter runs dry while a descendant
/// runs, the ancestor is suspended and its parent hears of it; the processes in between keep
/// waiting, and after a refuel and resume of that ancestor everything below carries on
/// exactly, no process in between having seen an error.
#[test]
fn an_ancestor_running_dry_is_transparent_to_the_processes_below_it() {
    let (out, _) = run_root(
        r#"
        local outer = spawn([[
            local middle = spawn([=[
                local inner = spawn("local s = 0 for i = 1, 300000 do s = s + i end return s", {name = "inner"})
                local ok, v = pcall(inner.wait, inner)
                return ok and ("middle saw " .. v) or ("middle caught " .. tostring(v))
            ]=], {name = "middle"})
            return "outer saw: " .. middle:wait()
        ]], {name = "outer", fuel = 200000})
        local ok, e = pcall(outer.wait, outer)
        print(ok, e.kind, tostring(e), outer:status())
        -- Asked again before a resume, the fault is the same.
        print(select(2, pcall(outer.wait, outer)).kind)
        outer:refuel(10000000)
        outer:resume()
        print(outer:wait())
        "#,
        1_000_000_000,
    );
    assert_eq!(
        out,
        "false\tfuel\tfuel: process 'outer' ran out of fuel\tsuspended\nfuel\n\
         outer saw: middle saw 45000150000\n"
    );
}

/// A `memory` fault is a refused allocation, known by its status: a child (or a call) that
/// raises the words "not enough memory" itself is an `error`.
#[test]
fn memory_faults_come_from_refused_allocations_not_from_their_words() {
    let (out, _) = run_root(
        r#"
        local p = spawn("error('not enough memory', 0)")
        local ok, e = pcall(p.wait, p) print(e.kind, e.message)
        local q = spawn("local t = {} for i = 1, 1e9 do t[i] = i end", {memory = "1M"})
        ok, e = pcall(q.wait, q) print(e.kind, e.message)
        local lib = spawn("function f() local t = {} for i = 1, 1e9 do t[i] = i end end", {name = "lib", memory = "1M"})
        lib:wait()
        ok, e = pcall(lib.call, lib, "f") print(e.kind, e.message, lib:status())
        local words = spawn("function g() error('not enough memory', 0) end", {memory = "1M"})
        words:wait()
        ok, e = pcall(words.call, words, "g") print(e.kind, e.message, words:status())
        -- Arguments the callee's bank cannot hold: a memory fault, and nothing ran.
        local counter = spawn("n = 0 function f(t) n = n + 1 return #t end function count() return n end", {memory = "1M"})
        counter:wait()
        local big = {} for i = 1, 200000 do big[i] = i end
        ok, e = pcall(counter.call, counter, "f", big)
        print(e.kind, counter:status(), counter:call("count"), counter:call("f", {1, 2}))
        "#,
        1_000_000_000,
    );
    assert_eq!(
        out,
        "error\tnot enough memory\nmemory\tprocess 'child' ran out of memory\n\
         memory\tprocess 'lib' ran out of memory\tsuspended\n\
         error\tnot enough memory\tdone\nmemory\tdone\t0\t2\n"
    );
}

/// `refuel(n, memory)` raises the memory limit too (bytes or a size such as "16M").
#[test]
fn refuel_raises_the_memory_limit_when_asked() {
    let (out, _) = run_root(
        r#"
        local q = spawn("function grow(n) local t = {} for i = 1, n do t[i] = i end return #t end", {name = "lib", memory = "2M"})
        q:wait()
        local ok, e = pcall(q.call, q, "grow", 300000)
        print(ok, e.kind)
        q:refuel(0, "16M")
        -- The call that ran out finishes once resumed (its answer goes to no one).
        q:resume()
        print(q:usage().memory_limit, q:call("grow", 300000))
        q:refuel(0, 1024)
        print(q:usage().memory_limit)
        print(pcall(q.refuel, q, 0, "lots"))
        "#,
        1_000_000_000,
    );
    assert_eq!(
        out,
        "false\tmemory\n18874368\t300000\n18875392\n\
         false\terror: bad argument #2 to 'refuel' (a size such as 16M expected)\n"
    );
}

/// A child's traceback is kept in host memory outside every bank: it is cut to a bounded
/// length however long the names in it are, and reaches the waiter as the fault's
/// `traceback`, naming the process.
#[test]
fn a_fault_traceback_is_bounded_and_names_its_process() {
    let (out, _) = run_root(
        r#"
        local name = string.rep("a", 100000)
        local p = spawn("local function " .. name .. "() error('x') end " .. name .. "()", {name = "long"})
        local ok, e = pcall(p.wait, p)
        print(ok, #e.traceback <= 4200, e.traceback:match("%(in process '(%w+)'%)$"))
        local q = spawn("local function f() error('y') end function g() f() end", {name = "short"})
        q:wait()
        local ok2, e2 = pcall(q.call, q, "g")
        print(ok2, e2.traceback:find("short:1: in upvalue 'f'", 1, true) ~= nil)
        "#,
        1_000_000_000,
    );
    assert_eq!(out, "false\ttrue\tlong\nfalse\ttrue\n");
}
