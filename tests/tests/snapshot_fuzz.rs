//! Hostile snapshots: real snapshots of processes caught mid-flight, mutated — bytes flipped,
//! and MessagePack scalars (indices, handles, program counters, states, sizes) replaced by
//! other values — then restored and run under a small budget. A restore may refuse the bytes
//! or run them; it must never panic, hang past the budget, or allocate past it.
//!
//! `TESSERA_FUZZ_CASES` sets the number of mutated cases (default 800) and `TESSERA_FUZZ_SEED`
//! the seed; a failure prints the seed and cases so they can be frozen as named tests.

use kernel::process::{Kernel, State};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tessera_tests::{factory, Rng};

/// Programs whose children are snapshotted: each leaves children suspended (out of fuel),
/// waiting, or done, in interesting places.
const SCENES: &[&str] = &[
    r#"
    local p = spawn([[
        local mt = {__index = function(t, k) return k * 2 end, __add = function(a, b) return 1 end}
        local t = setmetatable({}, mt)
        local co = coroutine.wrap(function() for i = 1, 1e9 do coroutine.yield(t[i] + (t + t)) end end)
        local s, parts = 0, {}
        for i = 1, 1e9 do
            local ok, v = pcall(co)
            s = s + v
            parts[i % 10 + 1] = tostring(s) .. ("y"):rep(i % 3)
            local x <close> = setmetatable({}, {__close = function() s = s + 1 end})
        end
    ]], {name = "busy", fuel = 30000})
    pcall(p.wait, p)
    "#,
    r#"
    local lib = spawn("n = 0 function f(k, cb) n = n + k return cb and cb(n) or n end", {name = "lib"})
    lib:wait()
    lib:call("f", 3)
    local user = spawn([[
        local r = 0
        for i = 1, 1e9 do r = r + caps.lib:call("f", i, function(x) return x % 7 end) end
    ]], {name = "user", caps = {lib = lib}, fuel = 50000})
    pcall(user.wait, user)
    "#,
    r#"
    local parent = spawn([[
        local c = spawn("local s = 0 for i = 1, 1e9 do s = s + i end return s", {name = "child"})
        local f, revoke = revocable(c)
        return c:wait()
    ]], {name = "parent", fuel = 40000})
    pcall(parent.wait, parent)
    "#,
    r#"
    local p = spawn([[
        local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
        local s = string.format("%5.2f %s %q", 1.5, "abc", "q\0")
        local t = {} for i = 1, 100 do t[i] = {i, s, fib} end
        t.cycle = t
        setmetatable(t, {__mode = "k"})
        return fib(40)
    ]], {name = "fib", fuel = 60000})
    pcall(p.wait, p)
    "#,
];

/// One snapshot per process the scene left behind (besides the root).
fn seed_snapshots() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for scene in SCENES {
        let mut k = Kernel::new();
        k.set_factory(factory());
        let mut vm = (factory())("root", 64 << 20).expect("root fits");
        let proto = kernel::compiler::compile(scene.as_bytes(), b"=scene").expect("compiles");
        let f = vm.load(&proto, None).expect("loads");
        vm.start(f, &[]).expect("starts");
        let root = k.add(None, "root", vm, 1_000_000_000);
        k.run_until_idle();
        assert_eq!(k.get(root).map(|p| p.state), Some(State::Done));
        for id in k.process_ids() {
            if id != root {
                if let Ok(bytes) = k.snapshot(id) {
                    out.push(bytes);
                }
            }
        }
    }
    assert!(out.len() >= SCENES.len(), "every scene yields a snapshot");
    out
}

/// Offsets and lengths of the MessagePack scalars (integers, floats, booleans, nil) in `b`,
/// found by walking the stream; stops quietly at anything it does not understand.
fn scalars(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let m = b[i];
        let (head, body) = match m {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (1, 0),
            0xcc | 0xd0 => (1, 1),
            0xcd | 0xd1 => (1, 2),
            0xce | 0xd2 | 0xca => (1, 4),
            0xcf | 0xd3 | 0xcb => (1, 8),
            0x80..=0x9f => {
                i += 1;
                continue;
            }
            0xdc | 0xde => {
                i += 3;
                continue;
            }
            0xdd | 0xdf => {
                i += 5;
                continue;
            }
            0xa0..=0xbf => {
                i += 1 + (m & 0x1f) as usize;
                continue;
            }
            0xc4 | 0xd9 => {
                let n = b.get(i + 1).copied().unwrap_or(0) as usize;
                i += 2 + n;
                continue;
            }
            0xc5 | 0xda => {
                let n = u16::from_be_bytes([
                    b.get(i + 1).copied().unwrap_or(0),
                    b.get(i + 2).copied().unwrap_or(0),
                ]) as usize;
                i += 3 + n;
                continue;
            }
            0xc6 | 0xdb => {
                let mut n = [0u8; 4];
                for (j, x) in n.iter_mut().enumerate() {
                    *x = b.get(i + 1 + j).copied().unwrap_or(0);
                }
                i += 5 + u32::from_be_bytes(n) as usize;
                continue;
            }
            _ => break,
        };
        if i + head + body > b.len() {
            break;
        }
        out.push((i, head + body));
        i += head + body;
    }
    out
}

/// A MessagePack integer encoding of `v`.
fn encode_int(v: i64) -> Vec<u8> {
    let mut out = Vec::new();
    rmp_serde::encode::write(&mut out, &v).expect("writing to a Vec cannot fail");
    out
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    let header = 7; // TSNAP + version
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        match rng.below(6) {
            // Flip a bit anywhere after the header.
            0 => {
                let i = header + rng.below(b.len() - header);
                b[i] ^= 1 << rng.below(8);
            }
            // Truncate.
            1 => {
                let n = header + rng.below(b.len() - header);
                b.truncate(n.max(header + 1));
            }
            // Replace a scalar with another integer: indices, handles, pcs, states, sizes.
            _ => {
                let found = scalars(&b[header..]);
                if found.is_empty() {
                    continue;
                }
                let (at, len) = found[rng.below(found.len())];
                let at = at + header;
                let old = rmp_serde::from_slice::<i64>(&b[at..at + len]).unwrap_or(0);
                let v = match rng.below(8) {
                    0 => 0,
                    1 => old.wrapping_add(1),
                    2 => old.wrapping_sub(1),
                    3 => rng.int(0, 300),
                    4 => [255, 256, 65535, 65536, u32::MAX as i64][rng.below(5)],
                    5 => -1,
                    6 => i64::MAX,
                    _ => old.wrapping_mul(2).wrapping_add(rng.int(0, 3)),
                };
                let mut next = b[..at].to_vec();
                next.extend(encode_int(v));
                next.extend_from_slice(&b[at + len..]);
                b = next;
            }
        }
    }
    b
}

/// Restores `bytes` under a fresh root with a small budget and runs everything. Returns
/// whether the restore was accepted.
fn restore_and_run(bytes: &[u8]) -> bool {
    let mut k = Kernel::new();
    k.set_factory(factory());
    let mut vm = (factory())("root", 32 << 20).expect("root fits");
    let proto = kernel::compiler::compile(b"return", b"=root").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    let root = k.add(None, "root", vm, 2_000_000);
    k.run_until_idle();
    // Holes are filled with keys to the root itself (a process key, or a function key).
    use kernel::clist::KeyKind;
    let process = k.keys.create(KeyKind::Process(root.to_u64())).ok();
    let function = k
        .keys
        .create(KeyKind::FarFunction {
            process: root.to_u64(),
            function: 1,
        })
        .ok();
    let fill = |hole: &kernel::snapshot::Hole| match hole.kind.as_str() {
        "function" => function,
        _ => process,
    };
    let restored = match k.restore(root, bytes, &fill) {
        Ok(_) => true,
        Err(e) => {
            if std::env::var("TESSERA_FUZZ_VERBOSE").is_ok() {
                eprintln!("refused: {e}");
            }
            false
        }
    };
    if restored {
        for id in k.process_ids() {
            if id != root {
                k.refuel(id, 1_000_000);
                k.resume(id);
            }
        }
        k.run_until_idle();
    }
    restored
}

#[test]
fn unmodified_snapshots_restore_and_run() {
    for bytes in seed_snapshots() {
        assert!(restore_and_run(&bytes));
    }
}

#[test]
fn mutated_snapshots_never_panic() {
    let seeds = seed_snapshots();
    let cases: usize = std::env::var("TESSERA_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(800);
    let seed = std::env::var("TESSERA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_5a9e_u64);
    let mut rng = Rng(seed);
    let mut accepted = 0;
    let mut panics = Vec::new();
    for case in 0..cases {
        let bytes = mutate(&seeds[case % seeds.len()], &mut rng);
        match catch_unwind(AssertUnwindSafe(|| restore_and_run(&bytes))) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => panics.push(case),
        }
        if panics.len() > 5 {
            break;
        }
    }
    eprintln!("{cases} mutated snapshots, {accepted} accepted and run");
    assert!(
        panics.is_empty(),
        "seed {seed:#x}: cases {panics:?} panicked"
    );
}
