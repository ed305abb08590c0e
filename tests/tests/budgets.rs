//! The standard library stays inside the budgets: each hostile call of the stdlib issue ends
//! with a fuel or memory error (or Lua's own error) inside a small budget, and the time each
//! took is printed (`cargo test --test budgets -- --nocapture`); tests assert outcomes, never
//! timings.

use shell::runner::{Failure, Session};
use std::time::Instant;

const FUEL: u64 = 10_000_000;
const MEMORY: usize = 64 << 20;

fn run(name: &str, src: &str) -> (Result<String, Failure>, u64, usize) {
    let mut session = Session::new(Some(FUEL), MEMORY).expect("session fits");
    let start = Instant::now();
    let mut out = Vec::new();
    let r = session.run_chunk(src.as_bytes(), "=budget", &[], &mut out);
    let used = session.fuel_used();
    let peak = session.vm().heap.bank.peak();
    eprintln!(
        "{name}: {:?}, fuel {used}, peak memory {peak} bytes",
        start.elapsed()
    );
    assert!(used <= FUEL, "{name}: spent {used} of {FUEL}");
    assert!(peak <= MEMORY, "{name}: peak {peak} of {MEMORY}");
    (
        r.map(|_| String::from_utf8_lossy(&out).into_owned()),
        used,
        peak,
    )
}

fn printed(name: &str, src: &str) -> String {
    match run(name, src).0 {
        Ok(s) => s,
        Err(f) => panic!("{name}: {}", f.describe()),
    }
}

#[test]
fn rep_of_a_terabyte_is_refused_before_allocating() {
    // Past INT_MAX bytes the reference refuses outright; below it the memory budget does.
    let out = printed("rep 2^40", "print(pcall(string.rep, 'x', 2^40))");
    assert_eq!(out, "false\tresulting string too large\n");
    // Below it, the memory budget stops the program before the allocation (no `pcall` sees
    // it: running out of memory suspends, DESIGN "Budgets").
    let (r, _, peak) = run(
        "rep 1e9",
        "print(pcall(function() return ('x'):rep(1e9) end))",
    );
    assert!(matches!(r, Err(Failure::OutOfMemory { .. })), "{r:?}");
    assert!(peak < MEMORY / 2, "{peak} bytes held before the refusal");
}

#[test]
fn rep_of_empty_pieces_returns_at_once() {
    // Found by the verifier's fuzz test: the repetitions of nothing were free and endless.
    let out = printed(
        "rep empty",
        "print(#string.rep('', math.maxinteger), #string.rep('', 2^62, ''))",
    );
    assert_eq!(out, "0\t0\n");
}

#[test]
fn exponential_backtracking_runs_out_of_fuel() {
    let (r, ..) = run(
        "pattern",
        "return string.find(('a'):rep(40), ('a*'):rep(40) .. 'b')",
    );
    assert!(matches!(r, Err(Failure::OutOfFuel { .. })), "{r:?}");
}

#[test]
fn huge_format_width_is_lua_error() {
    let out = printed(
        "format width",
        "print(pcall(string.format, '%99999999d', 1))",
    );
    assert!(out.starts_with("false\t"), "{out}");
    assert!(out.contains("invalid conversion"), "{out}");
}

#[test]
fn concat_of_a_huge_table_hits_a_budget() {
    let src = "local t = {} for i = 1, 2e6 do t[i] = 'abcdefghijklmnopqrstuvwxyz' end print(#table.concat(t))";
    let (r, ..) = run("concat", src);
    assert!(
        matches!(
            r,
            Err(Failure::OutOfMemory { .. }) | Err(Failure::OutOfFuel { .. })
        ),
        "{r:?}"
    );
}

#[test]
fn pack_with_enormous_counts_is_refused() {
    let out = printed(
        "pack",
        "print(pcall(string.pack, 'i16', 1), pcall(string.pack, 's', ('x'):rep(1e6)) and 'ok')",
    );
    assert!(out.starts_with("true\t"), "{out}");
    let out = printed(
        "pack big",
        "print(pcall(string.pack, ('i16'):rep(1e6), table.unpack({})))",
    );
    assert!(out.starts_with("false\t"), "{out}");
    let (r, ..) = run(
        "packsize",
        "local f = ('x'):rep(1e7) print(#string.pack(f))",
    );
    assert!(
        r.is_ok()
            || matches!(
                r,
                Err(Failure::OutOfFuel { .. }) | Err(Failure::OutOfMemory { .. })
            ),
        "{r:?}"
    );
}

#[test]
fn sorting_a_million_with_a_slow_comparator_runs_out_of_fuel() {
    let src = "local t = {} for i = 1, 1e6 do t[i] = (i * 7919) % 1000003 end \
               table.sort(t, function(a, b) local x = 0 for i = 1, 10 do x = x + i end return a < b end)";
    let (r, ..) = run("sort 1e6", src);
    assert!(matches!(r, Err(Failure::OutOfFuel { .. })), "{r:?}");
}

#[test]
fn recursion_depth_is_configurable() {
    let depth_reached = |limit: Option<usize>| {
        let mut session = Session::new(Some(FUEL), MEMORY).expect("session fits");
        if let Some(l) = limit {
            session.vm_mut().set_stack_limit(l);
        }
        let src = "local d = 0 local function f() d = d + 1 return 1 + f() end local ok, e = pcall(f) print(ok, e, d)";
        let mut out = Vec::new();
        session
            .run_chunk(src.as_bytes(), "=depth", &[], &mut out)
            .expect("runs");
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(
            text.starts_with("false\tdepth:1: stack overflow\t"),
            "{text}"
        );
        text.trim_end()
            .rsplit('\t')
            .next()
            .and_then(|d| d.parse::<usize>().ok())
            .expect("depth printed")
    };
    let shallow = depth_reached(Some(10_000));
    let deep = depth_reached(None);
    assert!(shallow < 10_000 && deep > 100_000, "{shallow} {deep}");
}
