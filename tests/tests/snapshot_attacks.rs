//! Crafted snapshots: real snapshots taken from Lua, taken apart field by field (`mp::Mp`), one
//! field of process state replaced by something the kernel never writes — a dangling handle, a
//! wait on itself, a meter over its limit — then restored and used from Lua (`status`, `wait`,
//! `call`, `resume`, `snapshot`). Each is refused with an error naming what is wrong, or runs;
//! the host never panics and never stops for a child.

mod mp;

use kernel::process::{Kernel, ProcessId, State};
use mp::Mp;
use std::cell::RefCell;
use std::rc::Rc;

/// Fields of a process in a snapshot, in the order they are written (`snapshot::ProcessOut`).
mod field {
    pub const PARENT: usize = 1;
    pub const STATE: usize = 2;
    pub const FAULT: usize = 3;
    pub const RESULTS: usize = 4;
    pub const FUEL: usize = 5;
    pub const MEMORY_LIMIT: usize = 6;
    pub const WAITING_ON: usize = 8;
    pub const CALLING: usize = 9;
    pub const SERVING: usize = 10;
    pub const CALL: usize = 11;
    // 12 is the VM, whose heap is one `bin` of the bulk encoding: crafted heaps are the
    // kernel's own tests (`heap::encoding::tests`).
}
/// The processes' list in a snapshot's body.
const PROCESSES: usize = 2;

/// A root process running `src` with `globals` set to strings; returns the kernel, the root and
/// its console output.
fn root_with(src: &str, globals: &[(&str, &[u8])]) -> (Kernel, ProcessId, Rc<RefCell<Vec<u8>>>) {
    tessera_tests::root_process_with(src, 200_000_000, globals)
}

/// The snapshot a Lua program returns (as its first result).
fn snapshot_from(src: &str) -> Vec<u8> {
    let (mut k, root, _) = root_with(src, &[]);
    k.run_until_idle();
    let p = k.get(root).expect("root");
    assert_eq!(p.state, State::Done, "{:?}", p.fault);
    p.vm.str_bytes(p.results[0]).expect("a string").to_vec()
}

/// Restores `bytes` in a fresh kernel and uses the copy from Lua; returns what the root printed
/// (the first line says whether the restore was refused, and why). Panics only if the kernel
/// does, or if the host would stop (the root does not finish).
const DRIVE: &str = r#"
    local ok, p = pcall(restore, SNAP)
    if not ok then print("refused", p.kind, p.message) return end
    print("restored", p:status())
    print(pcall(p.status, p))
    print(pcall(p.usage, p))
    p:refuel(100000) p:resume()
    print(pcall(p.wait, p))
    print(pcall(p.call, p, "f", 1))
    print(pcall(p.snapshot, p))
    print(pcall(p.kill, p))
"#;

fn drive(bytes: &[u8]) -> String {
    let (mut k, root, out) = root_with(DRIVE, &[("SNAP", bytes)]);
    k.run_until_idle();
    let p = k.get(root).expect("root");
    let text = String::from_utf8_lossy(&out.borrow()).into_owned();
    assert_eq!(p.state, State::Done, "{:?}\n{text}", p.fault);
    text
}

/// `bytes` with `change` applied to process `i`'s fields.
fn crafted(bytes: &[u8], i: usize, change: impl FnOnce(&mut Vec<Mp>)) -> Vec<u8> {
    let (header, mut body) = mp::decode(bytes);
    change(body.at(PROCESSES).at(i).items());
    mp::encode(&header, &body)
}

/// `bytes` with `change` applied to the fields of processes 0 and 1.
fn mp_both(bytes: &[u8], change: impl FnOnce(&mut Vec<Mp>, &mut Vec<Mp>)) -> Vec<u8> {
    let (header, mut body) = mp::decode(bytes);
    let list = body.at(PROCESSES).items();
    let (first, rest) = list.split_at_mut(1);
    change(first[0].items(), rest[0].items());
    mp::encode(&header, &body)
}

/// The heap size of each process of a snapshot, once restored.
fn heap_sizes(bytes: &[u8]) -> Vec<usize> {
    let (mut k, root, _) = root_with("return", &[]);
    k.run_until_idle();
    let top = k.restore(root, bytes, &|_| None).expect("restores");
    let mut sizes = vec![k.get(top).expect("restored").vm.heap.bank.used()];
    for id in k.process_ids() {
        if id != root && id != top {
            sizes.push(k.get(id).expect("restored").vm.heap.bank.used());
        }
    }
    sizes
}

fn assert_refused(out: &str, because: &str) {
    let first = out.lines().next().unwrap_or("");
    assert!(
        first.starts_with("refused") && first.contains(because),
        "expected a refusal naming '{because}', got:\n{out}"
    );
}

const DONE: &str = r#"
    local p = spawn("function f(x) return x + 1 end return {1, 2}, 'two', 3", {name = "done"})
    p:wait()
    return p:snapshot()
"#;

const FAILED: &str = r#"
    local p = spawn("error({code = 7})", {name = "failed"})
    pcall(p.wait, p)
    return p:snapshot()
"#;

#[test]
fn unmodified_snapshots_restore_and_answer() {
    let out = drive(&snapshot_from(DONE));
    assert!(out.starts_with("restored\tdone\n"), "{out}");
    assert!(out.contains("true\ttable:"), "{out}");
    let out = drive(&snapshot_from(FAILED));
    assert!(out.starts_with("restored\tfailed\n"), "{out}");
}

/// Issue 9, point 5: a finished process's results with a dangling handle.
#[test]
fn a_dangling_result_is_refused() {
    let bytes = crafted(&snapshot_from(DONE), 0, |p| {
        p[field::RESULTS] = Mp::Array(vec![Mp::variant_of("Table", Mp::UInt(99_999))]);
    });
    assert_refused(&drive(&bytes), "results");
}

/// Issue 9, point 5: a failed process's error value with a dangling handle.
#[test]
fn a_dangling_error_value_is_refused() {
    let bytes = crafted(&snapshot_from(FAILED), 0, |p| {
        p[field::RESULTS] = Mp::Array(vec![Mp::variant_of("Str", Mp::UInt(4_000_000))]);
    });
    assert_refused(&drive(&bytes), "error value");
}

/// A parent waiting for its child (still running): both in the snapshot.
const WAITING: &str = r#"
    local parent = spawn([[
        local c = spawn("local s = 0 while true do s = s + 1 end", {name = "child", fuel = 1e9})
        return c:wait()
    ]], {name = "parent"})
    -- Let the parent reach its wait (the scheduler runs the others while the root waits).
    while parent:status() ~= "waiting" do spawn("return"):wait() end
    local bytes = parent:snapshot()
    parent:kill()
    return bytes
"#;

/// `WAITING`'s snapshot, its child's fuel limit lowered to what it spent plus a little (so
/// that waiting for it ends soon).
fn waiting_seed() -> Vec<u8> {
    crafted(&snapshot_from(WAITING), 1, |p| {
        let used = p[field::FUEL].at(0).as_i128().expect("fuel used");
        *p[field::FUEL].at(1) = Mp::int(used + 100_000);
    })
}

#[test]
fn a_waiting_subtree_restores_and_answers() {
    let out = drive(&waiting_seed());
    // The child runs out of the fuel it has left, and the parent hears of it.
    assert!(out.starts_with("restored\t"), "{out}");
    assert!(out.contains("process 'child' ran out of fuel"), "{out}");
}

/// Issue 9, point 5: a restored process that waits on itself must not stop the host.
#[test]
fn a_process_waiting_on_itself_is_refused() {
    let bytes = crafted(&waiting_seed(), 0, |p| {
        p[field::WAITING_ON] = Mp::UInt(0);
    });
    assert_refused(&drive(&bytes), "waits for itself");
    let bytes = crafted(&waiting_seed(), 0, |p| {
        p[field::CALLING] = Mp::UInt(0);
    });
    assert_refused(&drive(&bytes), "waits for itself");
}

#[test]
fn a_wait_cycle_is_refused() {
    let bytes = crafted(&waiting_seed(), 1, |p| {
        p[field::WAITING_ON] = Mp::UInt(0);
    });
    assert_refused(&drive(&bytes), "waits for itself through other processes");
}

#[test]
fn waits_outside_the_snapshot_or_for_nothing_are_refused() {
    let seed = waiting_seed();
    let bytes = crafted(&seed, 0, |p| p[field::WAITING_ON] = Mp::UInt(2));
    assert_refused(&drive(&bytes), "outside the snapshot");
    let bytes = crafted(&seed, 0, |p| p[field::WAITING_ON] = Mp::Nil);
    assert_refused(&drive(&bytes), "waiting, but for no process");
    // Waiting without a trap to answer: nothing would ever wake it.
    let bytes = mp_both(&seed, |parent, child| {
        parent[field::STATE] = Mp::Str("Ready".into());
        parent[field::WAITING_ON] = Mp::Nil;
        child[field::STATE] = Mp::Str("Waiting".into());
        child[field::WAITING_ON] = Mp::UInt(0);
    });
    assert_refused(&drive(&bytes), "not in a kernel service");
    let bytes = crafted(&seed, 0, |p| {
        p[field::SERVING] = Mp::Array(vec![Mp::Array(vec![Mp::UInt(7), Mp::Nil, Mp::Nil])]);
    });
    assert_refused(&drive(&bytes), "outside the snapshot");
    let bytes = crafted(&seed, 0, |p| {
        p[field::SERVING] = Mp::Array(vec![Mp::Array(vec![Mp::UInt(1), Mp::Nil, Mp::Nil])]);
    });
    assert_refused(&drive(&bytes), "callbacks");
}

#[test]
fn states_faults_and_results_must_agree() {
    let waiting = waiting_seed();
    // A finished process whose VM is still inside its main function.
    let bytes = crafted(&waiting, 1, |p| p[field::STATE] = Mp::Str("Done".into()));
    assert_refused(&drive(&bytes), "not at rest");
    for state in ["Running", "Killed"] {
        let bytes = crafted(&waiting, 1, |p| p[field::STATE] = Mp::Str(state.into()));
        assert_refused(&drive(&bytes), "cannot be");
    }
    let done = snapshot_from(DONE);
    let bytes = crafted(&done, 0, |p| {
        p[field::FAULT] = Mp::variant_of("Fuel", Mp::Nil);
    });
    assert_refused(&drive(&bytes), "not suspended");
    let bytes = crafted(&done, 0, |p| p[field::STATE] = Mp::Str("Ready".into()));
    assert_refused(&drive(&bytes), "has not finished");
    let failed = snapshot_from(FAILED);
    let bytes = crafted(&failed, 0, |p| p[field::STATE] = Mp::Str("Done".into()));
    assert_refused(&drive(&bytes), "has not failed");
    let bytes = crafted(&failed, 0, |p| {
        p[field::RESULTS].items().push(Mp::Str("Nil".into()));
    });
    assert_refused(&drive(&bytes), "more than one error value");
    // A fuel fault naming a process below it (not its ancestor).
    let bytes = crafted(&waiting, 0, |p| {
        p[field::STATE] = Mp::Str("Suspended".into());
        p[field::WAITING_ON] = Mp::Nil;
        p[field::FAULT] = Mp::variant_of("Fuel", Mp::UInt(1));
    });
    assert_refused(&drive(&bytes), "not its ancestor");
}

/// A world holding a call's answer its caller (suspended: it could not pay to receive it) has
/// not taken: the world is process 0, the library 1, the caller 2.
const ANSWERED: &str = r#"
    local world = spawn([[
        local lib = spawn("function big(n) local t = {} for i = 1, n do t[i] = i end return t end function f(x) return x end", {name = "lib"})
        lib:wait()
        local caller = spawn("return #caps.lib:call('big', 20000)", {name = "caller", fuel = 8000, caps = {lib = lib}})
        while caller:status() ~= "suspended" do spawn("return"):wait() end
        return lib, caller
    ]], {name = "world"})
    world:wait()
    return world:snapshot()
"#;

#[test]
fn calls_must_agree_with_states_and_hold_live_values() {
    let answered = snapshot_from(ANSWERED);
    let (_, mut body) = mp::decode(&answered);
    let names: Vec<Mp> = body
        .at(PROCESSES)
        .items()
        .iter_mut()
        .map(|p| p.at(0).clone())
        .collect();
    assert_eq!(names[1], Mp::Str("lib".into()), "{names:?}");
    let reply = body.at(PROCESSES).at(1).at(field::CALL).clone();
    assert!(matches!(&reply, Mp::Array(a) if a.len() == 2), "{reply:?}");
    assert!(drive(&answered).starts_with("restored\tdone\n"));
    // The answer holds a handle its heap does not have.
    let bytes = crafted(&answered, 1, |p| {
        *p[field::CALL].at(1) = Mp::variant_of(
            "Values",
            Mp::Array(vec![Mp::variant_of("Table", Mp::UInt(99_999))]),
        );
    });
    assert_refused(&drive(&bytes), "answer holds a dangling");
    // A call from itself, or from outside the snapshot.
    for caller in [1, 9] {
        let bytes = crafted(&answered, 1, |p| *p[field::CALL].at(0) = Mp::UInt(caller));
        assert_refused(&drive(&bytes), "from itself");
    }
    // An answer on a process still running, or for no caller.
    let bytes = crafted(&answered, 1, |p| p[field::STATE] = Mp::Str("Ready".into()));
    assert_refused(&drive(&bytes), "not done");
    let bytes = crafted(&answered, 1, |p| *p[field::CALL].at(0) = Mp::Nil);
    assert_refused(&drive(&bytes), "not done");
    // A call without an answer on a process that is done (nothing would ever run it).
    let bytes = crafted(&answered, 1, |p| *p[field::CALL].at(1) = Mp::Nil);
    assert_refused(&drive(&bytes), "not running it");
    // A call in a failed process.
    let bytes = crafted(&answered, 1, |p| p[field::STATE] = Mp::Str("Failed".into()));
    assert!(drive(&bytes).starts_with("refused"));
}

#[test]
fn meters_and_the_tree_must_be_consistent() {
    let waiting = waiting_seed();
    let bytes = crafted(&waiting, 1, |p| {
        p[field::FUEL] = Mp::Array(vec![Mp::UInt(10), Mp::UInt(9)]);
    });
    assert_refused(&drive(&bytes), "more fuel than its limit");
    // The parent's memory limit holds its own heap, not its child's too.
    let sizes = heap_sizes(&waiting);
    let bytes = crafted(&waiting, 0, |p| {
        p[field::MEMORY_LIMIT] = Mp::int(sizes[0] as i128 + 1)
    });
    assert_refused(&drive(&bytes), "not enough memory to restore");
    for parent in [Mp::UInt(1), Mp::UInt(5), Mp::Nil] {
        let bytes = crafted(&waiting, 1, |p| p[field::PARENT] = parent.clone());
        assert_refused(&drive(&bytes), "parent");
    }
}

/// `snapshot_size_bound` is what a snapshot is charged before it is taken: it must cover what
/// is written.
#[test]
fn the_size_bound_covers_every_snapshot() {
    let src = r#"
        local big = spawn("t = {} for i = 1, 20000 do t[i] = {i, 'k' .. i, 1.5 * i} end")
        big:wait()
        local parent = spawn([[
            local c = spawn("local s = 0 while true do s = s + 1 end", {name = "child", fuel = 3e6})
            return c:wait()
        ]], {name = "parent"})
        -- Long texts in a process's record: a failed child's message and traceback, and a
        -- call's error answer not yet taken.
        local name = string.rep("n", 3000)
        local failed = spawn("local function " .. name .. "() error(string.rep('m', 5000)) end " .. name .. "()")
        pcall(failed.wait, failed)
        local world = spawn([=[
            local lib = spawn("local function ]=] .. name .. [=[() error(string.rep('m', 5000)) end function f() ]=] .. name .. [=[() end", {name = "lib"})
            lib:wait()
            local caller = spawn("local ok = pcall(caps.lib.call, caps.lib, 'f') while true do end", {name = "caller", fuel = 1e9, caps = {lib = lib}})
            while lib:status() ~= "done" or caller:status() == "ready" do spawn("return"):wait() end
        ]=], {name = "world"})
        world:wait()
    "#;
    let (mut k, root, _) = root_with(src, &[]);
    k.run_until_idle();
    let mut checked = 0;
    for id in k.process_ids() {
        if let Ok(bytes) = k.snapshot(id) {
            let bound = k.snapshot_size_bound(id);
            assert!(bytes.len() <= bound, "{} > {bound}", bytes.len());
            checked += 1;
        }
    }
    assert!(checked >= 5 && k.get(root).is_some());
}
