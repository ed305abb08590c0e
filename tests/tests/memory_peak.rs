//! The memory budget holds on the host: programs that fill their budget (a table that grows
//! without end, a 1e6-element array the collector must mark, 5,000 spawned-and-dropped
//! children) keep this whole process's peak resident set within the budget plus 32 MB.
//! (This file holds one test, so the process measures only it; the peak is reset between
//! phases where the kernel allows it, and the phases run from the smallest budget up.)

use shell::runner::{Failure, Session};

const MIB: u64 = 1 << 20;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak to the current resident set (Linux: `5` to `clear_refs`); without it the
/// phases still run in increasing budgets, so each bound holds for the ones before it.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `program` under `budget` bytes and checks the peak resident set.
fn phase(name: &str, budget: usize, program: &[u8], runs_out: bool) {
    reset_peak();
    let mut session = Session::new(None, budget).expect("session fits");
    let mut out = Vec::new();
    let r = session.run_chunk(program, &format!("={name}"), &[], &mut out);
    if runs_out {
        assert!(
            matches!(r, Err(Failure::OutOfMemory { .. })),
            "{name}: {r:?}"
        );
    } else {
        assert!(r.is_ok(), "{name}: {r:?}");
    }
    assert!(session.vm().heap.bank.peak() <= budget, "{name}");
    match peak_rss_kib() {
        Some(kib) => {
            let bound = (budget as u64 + 32 * MIB) / 1024;
            assert!(kib <= bound, "{name}: peak RSS {kib} KiB over {bound} KiB");
        }
        None => eprintln!("note: /proc/self/status not available; RSS not measured"),
    }
}

#[test]
fn host_peak_stays_within_the_budget_plus_32mb() {
    // Marking a big array copies nothing out of it.
    phase(
        "bigarray",
        32 << 20,
        b"local t = {} for i = 1, 1000000 do t[i] = i end collectgarbage() collectgarbage()",
        false,
    );
    // Children dropped by the loop are reaped as it goes.
    phase(
        "spawns",
        32 << 20,
        b"for i = 1, 5000 do local p = spawn('return 1', {fuel = 1000}) p:wait() end",
        false,
    );
    // A table grown until the bank refuses: every object is charged what it takes.
    phase(
        "grow",
        64 << 20,
        b"local t = {}\nlocal i = 0\nwhile true do i = i + 1; t[i] = {i, tostring(i)} end\n",
        true,
    );
}
