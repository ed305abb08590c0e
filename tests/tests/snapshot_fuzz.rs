//! Hostile snapshots: real snapshots of processes caught mid-flight, mutated — bytes flipped,
//! and MessagePack scalars (indices, handles, program counters, states, sizes) replaced by
//! other values — then restored and run under a small budget. A restore may refuse the bytes
//! or run them; it must never panic, hang past the budget, or allocate past it.
//!
//! A second fuzz works on structure: the snapshot decoded as a tree (`mp::Mp`), a field of
//! process state chosen (each field of each process in turn, or any node of the image), and
//! changed as a crafted snapshot would — integers to boundary values or other handles, enum
//! variants swapped, list entries dropped, duplicated or swapped, options emptied or filled —
//! then restored from Lua and driven (`status`, `usage`, `wait`, `call`, `snapshot` and
//! `restore` again, `kill`) under small budgets: refused, or run to an end, never a panic and
//! never a host stopped by a deadlock.
//!
//! `TESSERA_FUZZ_CASES` sets the number of mutated cases (default 120 byte-level cases, 150 structural ones) and
//! `TESSERA_FUZZ_SEED` the seed; a failure prints the seed and cases so they can be frozen as
//! named tests (`tests/snapshot_attacks.rs`).

mod mp;

use kernel::process::{Kernel, ProcessId, State};
use mp::Mp;
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
    // Snapshots returned by the root: a finished process with results, a failed one with its
    // error value, a parent waiting for its child.
    r#"
    local done = spawn("function f(x) return x + 1 end return {1, 'a', {b = 2}}, 'two', 3.5", {name = "done"})
    done:wait()
    local failed = spawn("error(setmetatable({code = 7}, {__index = {}}))", {name = "failed"})
    pcall(failed.wait, failed)
    local shots = {done:snapshot(), failed:snapshot()}
    local parent = spawn([[
        local c = spawn("local s = 0 while true do s = s + 1 end", {name = "child", fuel = 1e9})
        return c:wait()
    ]], {name = "parent"})
    while parent:status() ~= "waiting" do spawn("return"):wait() end
    shots[#shots + 1] = parent:snapshot()
    parent:kill()
    return table.unpack(shots)
    "#,
    // Calls caught in flight: a library running a call for a sibling, and one holding an
    // answer its caller (suspended: it cannot pay to receive it) has not taken.
    r#"
    local world = spawn([[
        local lib = spawn("function sum(n) local s = 0 for i = 1, n do s = s + i end return s end return 'lib'", {name = "lib"})
        lib:wait()
        local caller = spawn("return caps.lib:call('sum', 1e9)", {name = "caller", caps = {lib = lib}})
        while lib:status() == "done" do spawn("return"):wait() end
        return lib, caller
    ]], {name = "mid-call"})
    world:wait()
    local shot = world:snapshot()
    world:kill()
    return shot
    "#,
    r#"
    local world = spawn([[
        local lib = spawn("function big(n) local t = {} for i = 1, n do t[i] = i end return t end return 'lib'", {name = "lib"})
        lib:wait()
        local caller = spawn("return #caps.lib:call('big', 20000)", {name = "caller", fuel = 8000, caps = {lib = lib}})
        while caller:status() ~= "suspended" do spawn("return"):wait() end
        return lib, caller
    ]], {name = "answered"})
    world:wait()
    return world:snapshot()
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
        let p = k.get(root).expect("the root");
        assert_eq!(p.state, State::Done, "{:?}", p.fault);
        for &v in &p.results {
            if let Some(b) = p.vm.str_bytes(v) {
                out.push(b.to_vec());
            }
        }
        for id in k.process_ids() {
            if id != root {
                if let Ok(bytes) = k.snapshot(id) {
                    out.push(bytes);
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|b| seen.insert(b.clone()));
    assert!(out.len() >= SCENES.len(), "every scene yields a snapshot");
    // The scenes catch calls in flight: some process in the seeds runs or answers a call.
    let calls = out.iter().any(|seed| {
        let (_, mut body) = mp::decode(seed);
        let count = match body.get_mut(&[PROCESSES]) {
            Some(Mp::Array(a)) => a.len(),
            _ => 0,
        };
        (0..count).any(|i| {
            !matches!(
                body.get_mut(&[PROCESSES, i, CALL_FIELD]),
                None | Some(Mp::Nil)
            )
        })
    });
    assert!(calls, "no seed holds a call");
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
    let header = mp::HEADER; // TSNAP, version, checksum
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
    // Mostly with the checksum made to match, so the decoder and the checks see the damage;
    // else the checksum must refuse it.
    if rng.chance(75) {
        kernel::snapshot::reseal(&mut b);
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
        .unwrap_or(120);
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

/// What a driver root does with the copy the kernel restored into it (`caps.p`): use it every
/// way a holder can — the methods are taken from a key of its own. Each step is protected: a
/// refusal or a fault is an answer, not a failure.
const DRIVE: &str = r#"
    local h = spawn("return")
    local p = caps.p
    pcall(h.status, p)
    pcall(h.usage, p)
    pcall(h.refuel, p, 200000)
    pcall(h.resume, p)
    pcall(h.wait, p)
    pcall(h.call, p, "f", 1)
    pcall(h.status, p)
    local ok, again = pcall(h.snapshot, p)
    if ok then
        local ok, q = pcall(restore, again)
        if ok then pcall(q.refuel, q, 100000) pcall(q.resume, q) pcall(q.wait, q) pcall(q.kill, q) end
    end
    pcall(h.kill, p)
"#;

/// How a driven snapshot ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// Refused, and why.
    Refused(String),
    Run,
    /// The driver's own budget ran out (the restored tree spent it): an end, not a failure.
    OutOfFuel,
    /// The root did not finish: it waits for a process nothing will ever answer.
    Stuck(String),
}

/// Restores `bytes` under a root with a small budget (holes filled with keys to a helper),
/// gives the root a key to the copy, lets the root drive it, and runs the kernel until
/// nothing is ready.
fn drive(bytes: &[u8]) -> Ending {
    use kernel::clist::KeyKind;
    let mut k = Kernel::new();
    k.set_factory(factory());
    let mut vm = (factory())("root", 32 << 20).expect("root fits");
    let proto = kernel::compiler::compile(DRIVE.as_bytes(), b"=drive").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    let root: ProcessId = k.add(None, "root", vm, 2_000_000);
    // Holes are filled with keys to a finished helper (not the root: a copy calling back into
    // the root while the root waits for it is a wait the services answer, not restore).
    let mut vm = (factory())("helper", 1 << 20).expect("helper fits");
    let src = b"function f(...) return ... end return f";
    let proto = kernel::compiler::compile(src, b"=helper").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    let helper = k.add(Some(root), "helper", vm, 1_000_000);
    let process = k.keys.create(KeyKind::Process(helper.to_u64())).ok();
    let function = k
        .keys
        .create(KeyKind::FarFunction {
            process: helper.to_u64(),
            function: 1,
        })
        .ok();
    let fill = |hole: &kernel::snapshot::Hole| match hole.kind.as_str() {
        "function" => function,
        _ => process,
    };
    let top = match k.restore(root, bytes, &fill) {
        Ok(top) => top,
        Err(e) => return Ending::Refused(e.to_string()),
    };
    k.grant_key(root, "p", KeyKind::Process(top.to_u64()))
        .expect("the root can hold a key");
    k.run_until_idle();
    let p = k.get(root).expect("the root stays");
    match p.state {
        State::Done => Ending::Run,
        State::Suspended => Ending::OutOfFuel,
        other => Ending::Stuck(format!("{other:?} {:?}", p.fault)),
    }
}

/// Boundary values and near misses for an integer field.
fn boundary(old: i128, rng: &mut Rng) -> i128 {
    match rng.below(14) {
        0 => 0,
        1 => 1,
        2 => -1,
        3 => old + 1,
        4 => old - 1,
        5 => 255,
        6 => 65_536,
        7 => u32::MAX as i128,
        8 => u32::MAX as i128 + 1,
        9 => i64::MAX as i128,
        10 => u64::MAX as i128,
        11 => i64::MIN as i128,
        12 => old * 2,
        _ => rng.int(0, 64) as i128,
    }
}

/// Every integer, variant name and unit-variant name in the tree: the pool that mutations draw
/// "another handle" or "another variant" from.
struct Pool {
    ints: Vec<i128>,
    variants: Vec<String>,
    units: Vec<String>,
}

fn pool(body: &Mp) -> Pool {
    let mut p = Pool {
        ints: Vec::new(),
        variants: Vec::new(),
        units: [
            "Ready",
            "Running",
            "Waiting",
            "Suspended",
            "Done",
            "Failed",
            "Killed",
            "Nil",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    };
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        match n {
            Mp::Int(_) | Mp::UInt(_) => p.ints.extend(n.as_i128()),
            Mp::Array(a) => stack.extend(a.iter()),
            Mp::Map(m) => {
                if let [(Mp::Str(name), _)] = &m[..] {
                    if !p.variants.contains(name) {
                        p.variants.push(name.clone());
                    }
                }
                stack.extend(m.iter().flat_map(|(k, v)| [k, v]));
            }
            _ => {}
        }
    }
    p
}

/// Changes one node as a crafted snapshot would.
fn mutate_node(node: &mut Mp, pool: &Pool, rng: &mut Rng) {
    if rng.chance(8) {
        *node = Mp::Nil;
        return;
    }
    match node {
        Mp::Int(_) | Mp::UInt(_) => {
            let old = node.as_i128().unwrap_or(0);
            *node = Mp::int(if rng.chance(40) && !pool.ints.is_empty() {
                pool.ints[rng.below(pool.ints.len())]
            } else {
                boundary(old, rng)
            });
        }
        Mp::Nil => {
            *node = if rng.chance(50) {
                Mp::int(rng.int(0, 8) as i128)
            } else {
                Mp::Array(vec![Mp::int(rng.int(0, 8) as i128), Mp::Nil, Mp::Nil])
            }
        }
        Mp::Bool(b) => *b = !*b,
        Mp::F32(_) | Mp::F64(_) => {
            *node = Mp::F64([f64::NAN, f64::INFINITY, -0.0, 1e300][rng.below(4)]);
        }
        Mp::Str(s) => {
            if pool.units.contains(s) || rng.chance(50) {
                *s = pool.units[rng.below(pool.units.len())].clone();
            } else {
                *s = ["", "x", "\u{0}", "key", "function"][rng.below(5)].to_string();
            }
        }
        Mp::Bin(b) => match rng.below(3) {
            0 => b.clear(),
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            _ => b.extend_from_slice(b"\xff\x00"),
        },
        Mp::Array(a) => {
            let n = a.len();
            match rng.below(5) {
                0 if n > 0 => {
                    a.remove(rng.below(n));
                }
                1 if n > 0 => {
                    let x = a[rng.below(n)].clone();
                    a.insert(rng.below(n + 1), x);
                }
                2 if n > 1 => a.swap(rng.below(n), rng.below(n)),
                3 => a.clear(),
                _ if n > 0 => {
                    let i = rng.below(n);
                    mutate_node(&mut a[i], pool, rng);
                }
                _ => a.push(Mp::int(rng.int(0, 4) as i128)),
            }
        }
        Mp::Map(m) => {
            if let [(Mp::Str(name), value)] = &mut m[..] {
                // An enum variant: another variant's name, or its value changed.
                if rng.chance(50) && !pool.variants.is_empty() {
                    *name = pool.variants[rng.below(pool.variants.len())].clone();
                } else {
                    mutate_node(value, pool, rng);
                }
            } else if !m.is_empty() {
                let i = rng.below(m.len());
                match rng.below(3) {
                    0 => {
                        m.remove(i);
                    }
                    1 => {
                        let e = m[i].clone();
                        m.push(e);
                    }
                    _ => mutate_node(&mut m[i].1, pool, rng),
                }
            }
        }
    }
}

/// Fields of a process as written, by position (`snapshot::ProcessOut`).
const PROCESS_FIELDS: usize = 13;
/// The field of a process as written that holds the call it runs or answered.
const CALL_FIELD: usize = 11;
/// The processes' list in the image.
const PROCESSES: usize = 2;

/// A structural mutation of `seed`: `case` picks the field of process state (in turn, so
/// every field is covered), a random node inside it changes; now and then any node of the
/// image changes instead.
fn mutate_structure(seed: &[u8], case: usize, rng: &mut Rng) -> Vec<u8> {
    let (header, mut body) = mp::decode(seed);
    let pool = pool(&body);
    for round in 0..1 + rng.below(2) {
        let field = if round == 0 {
            case % PROCESS_FIELDS
        } else {
            rng.below(PROCESS_FIELDS)
        };
        // (An earlier round may have changed the image's shape: then the whole image.)
        let count = match body.get_mut(&[PROCESSES]) {
            Some(Mp::Array(a)) => a.len(),
            _ => 0,
        };
        let path = if count == 0 || rng.chance(15) {
            Vec::new()
        } else {
            vec![PROCESSES, rng.below(count), field]
        };
        let Some(target) = body.get_mut(&path) else {
            continue;
        };
        let paths = target.paths();
        // The field itself half the time; else a node inside it.
        let path = if rng.chance(50) {
            Vec::new()
        } else {
            paths[rng.below(paths.len())].clone()
        };
        if let Some(node) = target.get_mut(&path) {
            mutate_node(node, &pool, rng);
        }
    }
    mp::encode(&header, &body)
}

#[test]
fn unmodified_snapshots_drive_to_an_end() {
    for (i, bytes) in seed_snapshots().iter().enumerate() {
        let end = drive(bytes);
        assert!(
            matches!(end, Ending::Run | Ending::OutOfFuel),
            "seed {i}: {end:?}"
        );
    }
}

#[test]
fn structurally_mutated_snapshots_are_refused_or_run() {
    let seeds = seed_snapshots();
    let cases: usize = std::env::var("TESSERA_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let seed = std::env::var("TESSERA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005e_edf1_e1d5_u64);
    let mut rng = Rng(seed);
    let (mut refused, mut run, mut fuel) = (0, 0, 0);
    let mut failures = Vec::new();
    for case in 0..cases {
        let bytes = mutate_structure(&seeds[case % seeds.len()], case / seeds.len(), &mut rng);
        match catch_unwind(AssertUnwindSafe(|| drive(&bytes))) {
            Ok(Ending::Refused(why)) => {
                if std::env::var("TESSERA_FUZZ_VERBOSE").is_ok() {
                    eprintln!("case {case} refused: {why}");
                }
                refused += 1
            }
            Ok(Ending::Run) => run += 1,
            Ok(Ending::OutOfFuel) => fuel += 1,
            Ok(Ending::Stuck(why)) => failures.push((case, why)),
            Err(_) => failures.push((case, "panic".into())),
        }
        if failures.len() > 5 {
            break;
        }
    }
    eprintln!("{cases} structural mutations: {refused} refused, {run} run, {fuel} out of fuel");
    assert!(
        failures.is_empty(),
        "seed {seed:#x}: failing cases {failures:?}"
    );
}
