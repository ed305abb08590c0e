//! The process semantics users rely on (DESIGN.md "Budgets", "Process lifecycle", "Faults"),
//! each pinned through the binary as a user runs it: the credit model, calls and their errors,
//! `wait` and `status`, option checking, and how faults read.

mod common;

use common::{fresh_dir, script, stderr, stdout, tessera};

/// Runs `body` as a script with `flags` before it, in a fresh directory holding `d/a.txt`.
fn run(test: &str, flags: &[&str], body: &str) -> std::process::Output {
    let dir = fresh_dir("semantics", test);
    std::fs::create_dir_all(dir.join("d")).expect("test tree");
    std::fs::write(dir.join("d/a.txt"), "hi\n").expect("test tree");
    let path = script(&dir, body);
    let mut args = vec!["run".to_string()];
    for flag in flags {
        args.push(flag.replace("DIR", &dir.to_string_lossy()));
    }
    args.push(path);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tessera(&args)
}

#[test]
fn an_exhausted_ancestor_is_refuelled_and_its_descendants_never_see_a_fault() {
    // `leaf` has fuel to spare; its parent `mid` has not, so `mid`'s meter runs dry while
    // `leaf` runs. The root hears the fault; after refuel and resume, `leaf` finishes its
    // loop and `mid`'s own `wait` returns as if nothing had happened.
    let o = run(
        "credit",
        &[],
        r#"
local mid = spawn([[
  local leaf = spawn("local n = 0 for i = 1, 40000 do n = n + i end return n",
                     {name = "leaf", fuel = 10000000})
  local ok, r = pcall(leaf.wait, leaf)
  return "mid saw", ok, r, leaf:status()
]], {name = "mid", fuel = 50000})
local ok, fault = pcall(mid.wait, mid)
print(ok, fault.kind, mid:status())
mid:refuel(1000000)
mid:resume()
print(mid:wait())
"#,
    );
    assert_eq!(
        stdout(&o),
        "false\tfuel\tsuspended\nmid saw\ttrue\t800020000\tdone\n",
        "{}",
        stderr(&o)
    );
    assert!(o.status.success());
}

#[test]
fn an_error_in_a_call_comes_back_as_a_fault_and_the_callee_stays_usable() {
    let o = run(
        "calls",
        &[],
        r#"
local json = import("json")
local ok, fault = pcall(json.decode, "{bad")
print(ok, type(fault), fault.kind, type(fault.value))
print(json.decode("[1, 2]")[2], json.encode({1, 2}))
local c = spawn([[
  function fail(v) error(v) end
  function twice(x) return 2 * x end
  return "chunk result"
]], {name = "lib"})
print(c:wait())
local ok, fault = pcall(c.call, c, "fail", {code = 7})
print(ok, fault.kind, fault.value.code, c:status())
print(c:call("twice", 21), c:status())
print(c:wait())
c:kill()
print(c:status())
"#,
    );
    assert_eq!(
        stdout(&o),
        "false\ttable\terror\tstring\n\
         2\t[1,2]\n\
         chunk result\n\
         false\terror\t7\tdone\n\
         42\tdone\n\
         chunk result\n\
         killed\n",
        "{}",
        stderr(&o)
    );
    assert!(o.status.success());
}

#[test]
fn unknown_options_and_bad_caps_are_refused_and_restore_honours_its_budgets() {
    let o = run(
        "options",
        &["--memory", "256M"],
        r#"
local function try(f, ...)
  local ok, e = pcall(f, ...)
  if ok then return "ok" end
  return e.kind .. ": " .. e.message
end
print(try(spawn, "return 1", {fuel = 10, colour = "red"}))
print(try(spawn, "return 1", {caps = {x = 42}}))
print(try(import, "json", {nmae = "j"}))
print(try(import, "json", {caps = {f = "not a key"}}))
local c = spawn("local t = {} for i = 1, 1e9 do t[i] = i end",
                {name = "grower", fuel = 1000000, memory = "64M"})
pcall(c.wait, c)
local snap = c:snapshot()
local r = restore(snap, {fuel = 5, memory = "64M", handles = 3})
local u = r:usage()
print(u.fuel_limit - u.fuel_used, u.memory_limit, u.handles_limit)
print(try(restore, snap, {fuel = 5, speed = 2}))
"#,
    );
    assert_eq!(
        stdout(&o),
        "error: unknown option 'colour' to 'spawn' (options are name, fuel, memory, handles, caps, deterministic)\n\
         error: bad option 'caps': entry 'x' is a number (only keys and functions can be given)\n\
         error: unknown option 'nmae' to 'import' (options are name, fuel, memory, handles, caps, deterministic)\n\
         error: bad option 'caps': entry 'f' is a string (only keys and functions can be given)\n\
         5\t67108864\t3\n\
         error: unknown option 'speed' to 'restore' (options are fuel, memory, handles, caps, deterministic)\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn argument_errors_are_errors_and_a_childs_fault_reads_once() {
    let o = run(
        "messages",
        &["--dir", "data=DIR/d:r"],
        r#"
local ok, e = pcall(caps.data.read, caps.data, {})
print(ok, e.kind, e.message)
local c = spawn("error('boom')", {name = "child"})
c:wait()
"#,
    );
    assert_eq!(
        stdout(&o),
        "false\terror\tbad argument #1 to 'read' (string or number expected, got table)\n"
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.starts_with("tessera: error: child:1: boom\n"), "{e}");
    assert!(!e.contains("error: error:"), "{e}");
    assert!(e.contains("(in process 'child')"), "{e}");
}

#[test]
fn results_that_do_not_fit_the_waiters_memory_suspend_it_until_it_is_given_more() {
    // `mid` may hold 2 MB, and its child's result needs 1.2 MB on top of the child's own 1.2
    // MB (a child's memory counts against its parent's budget): receiving it suspends `mid`
    // out of memory, with its `wait` still pending; given more, it receives the result.
    let o = run(
        "memory_wait",
        &[],
        r#"
local mid = spawn([[
  local leaf = spawn("return string.rep('x', 1200000)", {name = "leaf"})
  local s = leaf:wait()
  return "mid got", #s
]], {name = "mid", memory = "2M"})
local ok, fault = pcall(mid.wait, mid)
print(ok, fault.kind, mid:status())
print(fault.message)
mid:refuel(0, "4M")
mid:resume()
print(mid:wait())
"#,
    );
    assert_eq!(
        stdout(&o),
        "false\tmemory\tsuspended\nprocess 'mid' ran out of memory\nmid got\t1200000\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn running_out_of_memory_suspends_past_any_pcall_and_resume_retries_the_allocation() {
    // The child's own `pcall` does not see its memory running out: it stops before the
    // allocation, suspended, and its parent hears a `memory` fault. Given more, it goes on
    // from that allocation, and its `pcall` returns true. Arguments that do not fit a
    // callee's memory are a `memory` fault for the caller, and nothing runs.
    let o = run(
        "memory_suspends",
        &[],
        r#"
local hog = spawn([[
  local ok = pcall(function() local t = {} for i = 1, 1e6 do t[i] = i end return #t end)
  return "the pcall returned", ok
]], {name = "hog", memory = "1M"})
local ok, fault = pcall(hog.wait, hog)
print(ok, fault.kind, fault.message, hog:status())
hog:refuel(0, "32M")
hog:resume()
print(hog:wait())
local counter = spawn("n = 0 function f(t) n = n + 1 return #t end function count() return n end",
                      {name = "counter", memory = "1M"})
counter:wait()
local big = {} for i = 1, 200000 do big[i] = i end
local ok, fault = pcall(counter.call, counter, "f", big)
print(ok, fault.kind, counter:status(), counter:call("count"))
"#,
    );
    assert_eq!(
        stdout(&o),
        "false\tmemory\tprocess 'hog' ran out of memory\tsuspended\n\
         the pcall returned\ttrue\n\
         false\tmemory\tdone\t0\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_process_suspended_out_of_memory_can_be_snapshotted_and_restored_with_more() {
    let o = run(
        "memory_snapshot",
        &["--memory", "256M"],
        r#"
local hog = spawn([[
  local words = {}
  for i = 1, 30000 do words[#words + 1] = ("w" .. i):rep(3) end
  return #table.concat(words, " ")
]], {name = "hog", memory = "1M"})
local ok, fault = pcall(hog.wait, hog)
print(ok, fault.kind, hog:status())
local copy = restore(hog:snapshot(), {memory = "64M"})
copy:resume()
print(copy:wait())
hog:refuel(0, "64M")
hog:resume()
print(hog:wait())
"#,
    );
    assert_eq!(
        stdout(&o),
        "false\tmemory\tsuspended\n536681\n536681\n",
        "{}",
        stderr(&o)
    );
}
