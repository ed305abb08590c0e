//! The standard library's work is paid for in proportion to the work (issue 9, "Work that fuel
//! does not pay for" and "Memory outside every bank"): each attack below either finishes with at
//! least the price the cost table (`kernel::cost`) sets for what it did, or ends out of fuel or
//! out of memory inside its budget. No test measures time: they assert outcomes and fuel.

use kernel::cost::Work;
use kernel::vm::{Outcome, Vm};
use shell::runner::{Failure, Session};
use std::cell::RefCell;
use std::rc::Rc;

const MB: usize = 1 << 20;

/// Runs `src` under `fuel` and `memory`: what it printed (or how it failed), the fuel used
/// and the bank's peak.
fn run(fuel: u64, memory: usize, src: &str) -> (Result<String, Failure>, u64, usize) {
    let mut session = Session::new(Some(fuel), memory).expect("session fits");
    let mut out = Vec::new();
    let r = session.run_chunk(src.as_bytes(), "=cost", &[], &mut out);
    let used = session.fuel_used();
    let peak = session.vm().heap.bank.peak();
    assert!(used <= fuel, "spent {used} of {fuel}");
    assert!(peak <= memory, "peak {peak} of {memory}");
    (
        r.map(|_| String::from_utf8_lossy(&out).into_owned()),
        used,
        peak,
    )
}

/// Runs `src` to its end under a generous budget; what it printed and the fuel it took.
fn finishes(src: &str) -> (String, u64) {
    let (r, used, _) = run(1 << 40, 256 * MB, src);
    match r {
        Ok(out) => (out, used),
        Err(f) => panic!("{}", f.describe()),
    }
}

fn price(work: Work, pieces: usize) -> u64 {
    work.units_of(pieces)
}

fn assert_out_of_fuel(src: &str) {
    let (r, ..) = run(1_000_000, 256 * MB, src);
    assert!(matches!(r, Err(Failure::OutOfFuel { .. })), "{r:?}");
}

/// Runs `src` under `memory`: it must stop out of memory (before the allocation, and past
/// any `pcall`: running out suspends, DESIGN "Budgets"). Returns the bank's peak.
fn assert_no_memory(memory: usize, src: &str) -> usize {
    let (r, _, peak) = run(1 << 40, memory, src);
    assert!(matches!(r, Err(Failure::OutOfMemory { .. })), "{r:?}");
    peak
}

/// Runs `src` on a bare VM whose meter is refilled by `step` units each time it runs dry, so
/// that natives are refused mid-work and re-entered; returns the output. `step` must cover the
/// largest single charge the program makes (a refill does not carry over a refused charge).
fn in_small_refills(src: &str, step: u64) -> String {
    let out = Rc::new(RefCell::new(Vec::new()));
    let mut vm = Vm::new(stdlib::natives(), 256 * MB, 7).expect("VM fits");
    let mut meter = tessera_tests::Meter::new(step);
    stdlib::open_libs(&mut vm).expect("libraries fit");
    let sink = out.clone();
    vm.set_console(Some(Box::new(move |b: &[u8]| {
        sink.borrow_mut().extend_from_slice(b)
    })));
    let proto = kernel::compiler::compile(src.as_bytes(), b"=refill").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    let mut refills = 0u64;
    loop {
        match meter.run(&mut vm, u64::MAX) {
            Outcome::Finished(_) => break,
            Outcome::OutOfFuel => {
                refills += 1;
                assert!(refills < 10_000_000, "no progress");
                meter.refuel(step);
            }
            Outcome::Error { value, .. } => {
                panic!("{}", shell::runner::error_message(&vm, value))
            }
            Outcome::Trap => panic!("no traps here"),
            Outcome::OutOfMemory { needed } => panic!("{needed} bytes refused"),
        }
    }
    let o = out.borrow().clone();
    String::from_utf8_lossy(&o).into_owned()
}

#[test]
fn plain_find_is_linear_and_paid_per_byte_scanned() {
    // A naive search compares half a megabyte at each of half a million positions.
    let (out, used) = finishes(
        "local s = ('a'):rep(1 << 20) local p = ('a'):rep(1 << 19) .. 'b'
         local n = 0
         for i = 1, 8 do
           if not s:find(p, 1, true) and not s:find(p) then n = n + 1 end
         end
         print(n, s:find(('a'):rep(1000), 5, true), ('xabcab'):find('ab', 3, true))",
    );
    assert_eq!(out, "8\t5\t5\t6\n");
    assert!(used >= 16 * price(Work::Bytes, MB), "{used}");
    assert_out_of_fuel(
        "local s = ('a'):rep(1 << 20) local p = ('a'):rep(1 << 19) .. 'b'
         while true do s:find(p, 1, true) end",
    );
}

#[test]
fn a_long_character_class_is_paid_per_byte_of_the_set() {
    let set_len = MB;
    let (out, used) = finishes(
        "local set = '[' .. ('b'):rep(1 << 20) .. ']'
         local s = ('a'):rep(1000)
         local n = 0
         for i = 1, 4 do
           n = n + (s:find(set) or 0) + (s:match(set) and 1 or 0) + select(2, s:gsub(set, 'x'))
           for _ in s:gmatch(set) do n = n + 1 end
         end
         print(n, ('xxbxx'):find(set), ('xxbxx'):find('[^' .. ('x'):rep(1 << 16) .. ']'))",
    );
    assert_eq!(out, "0\t3\t3\t3\n");
    // Each of the 16 searches compiles the set once (at least one step per byte).
    assert!(used >= 16 * price(Work::MatchSteps, set_len), "{used}");
    // An unterminated set is paid for as far as it was read.
    let (out, used) = finishes("print(pcall(string.find, 'a', '[' .. ('b'):rep(1 << 20)))");
    assert_eq!(out, "false\tmalformed pattern (missing ']')\n");
    assert!(used >= price(Work::MatchSteps, set_len), "{used}");
    assert_out_of_fuel(
        "local set = '[' .. ('b'):rep(1 << 20) .. ']' local s = ('a'):rep(1000)
         while true do s:gsub(set, 'x') end",
    );
}

#[test]
fn classes_compiled_to_maps_match_like_the_walk() {
    // Ranges crossing the 64-bit words of the map, classes, escapes, negation, %f.
    let (out, _) = finishes(
        "local t = {}
         for _, p in ipairs{'[\\0-\\255]', '[^%a%d]', '[%]-]', '[a-]', '[]]', '[^]]', '[?-\\200]',
                            '[%w_]+', '[z-a]', '[^\\1-\\254]', '%f[%w]%w+', '[%%a]'} do
           local n = 0
           for c = 0, 255 do if string.char(c):find(p) then n = n + 1 end end
           t[#t + 1] = n
         end
         print(table.concat(t, ' '))",
    );
    assert_eq!(out, "256 194 2 2 1 255 138 63 0 2 62 2\n");
}

#[test]
fn tonumber_and_string_arguments_are_paid_per_byte_converted() {
    let n = 10_000_000;
    let (out, used) = finishes(
        "local s = ('1'):rep(1e7)
         print(tonumber(s) ~= nil, tonumber(s, 10), math.type(s:rep(1, '') + 0) ~= nil)
         print(pcall(string.rep, 'x', ('1'):rep(1e7)))",
    );
    assert_eq!(
        out,
        "true\t8198552921648689607\ttrue\n\
         false\tbad argument #2 to 'string.rep' (number has no integer representation)\n"
    );
    // tonumber twice, the string argument of rep (the VM's `+ 0` is the VM's to charge).
    assert!(used >= 3 * price(Work::Bytes, n), "{used}");
    assert_out_of_fuel("local s = ('1'):rep(1e7) while true do tonumber(s) end");
}

#[test]
fn natives_that_move_many_values_pay_per_value() {
    let k = 1000;
    let (out, used) = finishes(
        "local t = {} for i = 1, 1000 do t[i] = i end
         local function f(...) local n = 0 for i = 1, 50 do n = n + select(2, ...) end return n end
         local s = 0
         for i = 1, 50 do s = s + select('#', table.unpack(t)) + table.pack(table.unpack(t)).n end
         print(f(table.unpack(t)), s, select(-2, 1, 2, 3))",
    );
    assert_eq!(out, "100\t100000\t2\t3\n");
    // 50 selects of 999 values, 100 unpacks of 1000, 50 packs of 1000 (values and entries).
    let least = 50 * price(Work::Values, k - 1)
        + 100 * price(Work::Values, k)
        + 50 * (price(Work::Values, k) + price(Work::Entries, k));
    assert!(used >= least, "{used} < {least}");
}

#[test]
fn concat_measures_and_checks_memory_before_copying() {
    // 100 pieces of 100 kB under an 8 MB bank: refused before a byte of the result exists.
    let peak = assert_no_memory(
        8 * MB,
        "local t = {} for i = 1, 100 do t[i] = ('x'):rep(100000) end
         t[101] = 1.5
         print(pcall(table.concat, t, ','))",
    );
    assert!(peak < 8 * MB);
    let (out, used) = finishes(
        "local t = {} for i = 1, 10 do t[i] = ('x'):rep(100000) end t[11] = 2^53
         local r = table.concat(t, '--')
         print(#r, r:sub(-22), pcall(table.concat, {1, 'a', {}}))",
    );
    assert_eq!(
        out,
        "1000038\txx--9.007199254741e+15\tfalse\tinvalid value (table) at index 3 in table for 'concat'\n"
    );
    assert!(used >= price(Work::Bytes, 1_000_000), "{used}");
}

#[test]
fn sorting_strings_with_long_common_prefixes_pays_per_byte_compared() {
    let prefix = 1 << 16;
    let src = "local p = ('a'):rep(1 << 16)
         local t = {} for i = 1, 200 do t[i] = p .. string.char(65 + (i * 7919) % 26) .. i end
         table.sort(t)
         local ok = true
         for i = 2, #t do ok = ok and t[i - 1] <= t[i] end
         print(ok, t[1]:sub(-4), t[200]:sub(-4))";
    let (out, used) = finishes(src);
    assert_eq!(out, "true\tA104\taZ97\n");
    // At least n - 1 comparisons, each reading the whole prefix.
    assert!(used >= 199 * price(Work::Bytes, prefix), "{used}");
    // Refused comparisons are put off and resumed: the same order, fuel a little at a time.
    assert_eq!(in_small_refills(src, 5000), out);
}

#[test]
fn a_sort_refused_mid_way_resumes_to_lua_s_order() {
    // NaN and 1 vs 1.0 make the order depend on the exact sequence of comparisons; the long
    // strings make comparisons that a refill cannot always pay for.
    let src = "local t = {} for i = 1, 300 do t[i] = (i * 37) % 101 end
         t[50] = 0/0 t[60] = 1.0 t[70] = 1 t[80] = 0/0
         table.sort(t)
         local s = {} for i = 1, #t do s[i] = tostring(t[i]) .. math.type(t[i]) end
         print(table.concat(s, ','))
         local w = {} for i = 1, 300 do w[i] = ('k'):rep(5000) .. ((i * 53) % 97) end
         table.sort(w) print(w[1]:sub(-2), w[300]:sub(-2))";
    let (expected, _) = finishes(src);
    for step in [800, 1500, 5000] {
        assert_eq!(in_small_refills(src, step), expected, "refills of {step}");
    }
}

#[test]
fn gsub_with_a_table_or_function_grows_its_buffer_within_the_bank() {
    let n = 100_000;
    let (out, used) = finishes(
        "local s = ('a'):rep(1e5)
         local r, k = s:gsub('.', {a = 'bb'})
         local r2 = s:gsub('a', function() return 'c' end)
         print(#r, k, #r2, r:sub(1, 3), ('abc'):gsub('%w', {a = 1, b = false}))",
    );
    assert_eq!(out, "200000\t100000\t100000\tbbb\t1bc\t3\n");
    assert!(used >= price(Work::Bytes, 2 * n), "{used}");
    // The case: a table replacement under a 16 MB bank.
    assert_no_memory(
        16 * MB,
        "local s = ('a'):rep(1e5) print(pcall(string.gsub, s, '.', {a = ('b'):rep(1000)}))",
    );
    assert_no_memory(
        16 * MB,
        "local s = ('a'):rep(1e5)
         print(pcall(string.gsub, s, '.', function() return ('b'):rep(1000) end))",
    );
    // A replacement string that multiplies a long match is refused before it is expanded.
    assert_no_memory(
        16 * MB,
        "local s = ('a'):rep(1e6) print(pcall(string.gsub, s, '.+', ('%0'):rep(100)))",
    );
}

#[test]
fn utf8_walks_and_string_comparisons_in_math_are_paid_for() {
    let n = 1_000_000;
    let (out, used) = finishes(
        "local s = 'a' .. ('\\x80'):rep(1e6)
         local k = 0 for p, c in utf8.codes(s, true) do k = k + 1 end
         print(k, utf8.offset(('\\x80'):rep(1e6), 0, 1e6), utf8.offset(s, 3))
         print(#math.max(('1'):rep(1e6), ('1'):rep(1e6) .. '2'))",
    );
    assert_eq!(out, "1\t1\tnil\n1000001\n");
    // The skip, the walk back, the walk forward; two conversions and one comparison.
    assert!(
        used >= 3 * price(Work::Bytes, n) + 3 * price(Work::Bytes, n),
        "{used}"
    );
}

#[test]
fn a_rehash_is_paid_per_slot_before_it_happens() {
    // A full hash part of 2^14 keys where every op deletes one key and adds another: each
    // insert finds the table full and rehashes all of it (as Lua does).
    let churn = "local t, n = {}, 1 << 14
         for i = 1, n do t[-i] = true end
         local k = n
         for _ = 1, 200 do t[-(k - n + 1)] = nil k = k + 1 t[-k] = true end";
    let (_, used) = finishes(&format!("{churn} print(#t)"));
    assert!(used >= 200 * price(Work::Rehash, 1 << 14), "{used}");
    assert_out_of_fuel(&format!(
        "{churn} while true do t[-(k - n + 1)] = nil k = k + 1 t[-k] = true end"
    ));
    // Refused mid-program (by the instruction and by `rawset`), the sets run again and the
    // table ends as a run without refusals leaves it.
    let out = in_small_refills(
        "local t = {}
         for i = 1, 3000 do t[-i] = i if i % 3 == 0 then rawset(t, 'k' .. i, i) end end
         for i = 1, 3000, 2 do t[-i] = nil end
         for i = 3001, 4000 do t[-i] = i end
         local n, s = 0, 0
         for k, v in pairs(t) do n = n + 1 s = s + v end
         print(n, s)",
        1 << 14,
    );
    assert_eq!(out, "3500\t7253500\n");
}

#[test]
fn a_collection_is_paid_per_arena_slot_it_walks() {
    // One live table at the end of 100,000 freed ones keeps the arena long: each collection
    // walks every slot, so each pays for them.
    let (out, used) = finishes(
        "local t = {} for i = 1, 100000 do t[i] = {} end
         local last = t[100000] t = nil
         collectgarbage()
         local before = collectgarbage('count')
         for _ = 1, 10 do collectgarbage() end
         print(last ~= nil, collectgarbage('count') == before)",
    );
    assert_eq!(out, "true\ttrue\n");
    assert!(used >= 10 * price(Work::Entries, 100_000), "{used}");
}

/// A matcher's hook buys its steps ahead in batches when the budget allows and gives back what
/// it did not use: a program costs the same under any budget that covers it, down to exactly
/// its cost, and one unit less stops it out of fuel.
#[test]
fn matching_costs_the_same_under_any_budget_that_covers_it() {
    let src = "local s = ('ab'):rep(300) .. 'c' local n = 0
         for i = 1, 5 do
           n = n + #s:match('^(.-)c') + s:find('[ab]*c') + select(2, s:gsub('ab', 'x'))
           for a in s:gmatch('a') do n = n + #a end
         end
         print(n)";
    let (out, cost) = finishes(src);
    // Per matcher step, 4 to a unit: far more than the loop's instructions.
    assert!(cost > price(Work::MatchSteps, 5 * 3 * 600), "{cost}");
    for fuel in [cost, cost + 1, cost + 63, cost * 2] {
        let (r, used, _) = run(fuel, 256 * MB, src);
        assert_eq!(r.as_deref().ok(), Some(out.as_str()), "budget {fuel}");
        assert_eq!(used, cost, "budget {fuel}");
    }
    let (r, ..) = run(cost - 1, 256 * MB, src);
    assert!(matches!(r, Err(Failure::OutOfFuel { .. })), "{r:?}");
    // What a batch bought and a match did not use goes back: a thousand one-step matches
    // cost their instructions and a unit or two each, not a batch each.
    let (_, tiny) =
        finishes("local n = 0 for i = 1, 1000 do n = n + ('ab'):find('%ab') end print(n)");
    assert!(tiny < 12_000, "{tiny}");
}
