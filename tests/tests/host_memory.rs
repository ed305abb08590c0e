//! Every host byte a process causes is paid for and given back (issue 9): spawned-and-dropped
//! processes are reaped in step with spawning (the kernel's structures stay bounded), kernel
//! records (c-list slots, key objects) are charged to the process that caused them, and the
//! collector marks big tables without a temporary copy. Counts, never time.

use kernel::process::{RecordCounts, State};
use tessera_tests::root_process;

/// Runs `src` as the root to its end, returning what it printed and the largest kernel
/// structure sizes seen after any slice.
fn run_counting(src: &str) -> (String, RecordCounts) {
    let (mut k, root, out) = root_process(src, u64::MAX / 2);
    let mut most = RecordCounts::default();
    while k.step() {
        let c = k.record_counts();
        most.process_slots = most.process_slots.max(c.process_slots);
        most.meter_slots = most.meter_slots.max(c.meter_slots);
        most.keys = most.keys.max(c.keys);
        most.key_index_entries = most.key_index_entries.max(c.key_index_entries);
        most.clist_slots = most.clist_slots.max(c.clist_slots);
    }
    let state = k.get(root).map(|p| (p.state, p.fault.clone()));
    assert_eq!(state.as_ref().map(|s| s.0), Some(State::Done), "{state:?}");
    let text = String::from_utf8_lossy(&out.borrow()).into_owned();
    (text, most)
}

#[test]
fn spawned_and_dropped_processes_are_reaped_in_step() {
    // Each loop drops its key: the root's heap grows by a few hundred bytes per spawn, but
    // every child keeps a whole VM alive until the root collects that key. The children's
    // footprint counts toward the root's collector, so it collects every few spawns.
    let (out, most) = run_counting(
        r#"
        for i = 1, 3000 do
          local p = spawn("return 1", {fuel = 1000})
          assert(p:wait() == 1)
        end
        print("done")
        "#,
    );
    assert_eq!(out, "done\n");
    assert!(most.process_slots <= 64, "{most:?}");
    assert!(most.meter_slots <= 3 * 64, "{most:?}");
    assert!(most.keys <= 64, "{most:?}");
    assert!(most.key_index_entries <= 4 * 64, "{most:?}");
    assert!(most.clist_slots <= 64, "{most:?}");
}

#[test]
fn every_vm_shares_one_native_table() {
    // A table per VM was host memory outside every bank, and its names were leaked anew for
    // each process.
    let a = stdlib::natives();
    let b = stdlib::natives();
    assert!(std::rc::Rc::ptr_eq(&a, &b));
}

#[test]
fn a_chain_of_revocable_keys_ends_with_not_enough_memory() {
    // Each link is a key object the kernel keeps (the newest forwarder needs its whole
    // ancestry); its holder's bank pays for the chain, so the loop ends under 1 MB instead of
    // growing the host's key table without bound.
    let (out, _) = run_counting(
        r#"
        local p = spawn("return 1")
        p:wait()
        local c = spawn([[
            local k, n = caps.p, 0
            local ok, e = pcall(function()
              while true do k = revocable(k) n = n + 1 end
            end)
            return n, e.kind
        ]], {memory = "1M", fuel = 1e9, caps = {p = p}})
        local n, kind = c:wait()
        print(n > 100, n < 5000, kind)
        "#,
    );
    assert_eq!(out, "true\ttrue\tmemory\n");
}

#[test]
fn received_keys_are_charged_to_the_receiver() {
    // Every key received takes a c-list slot and keeps a key object: the receiver's bank
    // pays for both with the key's userdata, so a loop keeping them ends out of memory.
    let (out, _) = run_counting(
        r#"
        local p = spawn("return 1")
        p:wait()
        local get = function() return p end
        local c = spawn([[
            local t = {}
            for i = 1, 10 do t[i] = caps.get() end
            collectgarbage()
            local before = collectgarbage("count") * 1024
            for i = 11, 210 do t[i] = caps.get() end
            return (collectgarbage("count") * 1024 - before) / 200
        ]], {memory = "1M", caps = {get = get}})
        print(c:wait() >= 48 + 256)
        local d = spawn([[
            local t = {}
            for i = 1, 1e9 do t[i] = caps.get() end
        ]], {memory = "1M", caps = {get = get}})
        local ok, e = pcall(d.wait, d)
        print(ok, e.message:find("not enough memory") ~= nil)
        "#,
    );
    assert_eq!(out, "true\nfalse\ttrue\n");
}
