//! Deterministic processes in the kernel: a snapshot carries a process's virtual clock and
//! random generators, so a restored copy continues the very sequence the original does; a
//! process restored with `opts.deterministic` becomes deterministic; and table traversal
//! does not depend on the hash seed, whatever deletes and rehashes happened.

use kernel::clist::KeyKind;
use kernel::process::{Kernel, ProcessId};
use tessera_tests::{factory, finish_root, root_process, root_process_in};

/// A deterministic root with clock and random keys (no host: the kernel answers them).
fn deterministic_root(src: &str, seed: u64) -> (Kernel, ProcessId, String) {
    let (mut k, root, out) = root_process(src, 1 << 40);
    assert!(k.make_deterministic(root, seed));
    k.grant_key(root, "clock", KeyKind::Clock).expect("granted");
    k.grant_key(root, "random", KeyKind::Random)
        .expect("granted");
    let text = finish_root(&mut k, root, &out);
    (k, root, text)
}

/// A child that reads the clock and both generators as it goes, stopped out of fuel half-way,
/// snapshotted, and finished three times: the original and two restored copies.
const SNAPSHOT_MIDWAY: &str = r#"
local src = [[
  local out = {}
  for i = 1, 8 do
    local x = 0
    for j = 1, 20000 do x = x + j end
    caps.clock:sleep(0.25)
    out[#out + 1] = string.format("%.9f %d %d %s", caps.clock:now(),
      caps.random:integer(1, 1 << 40), math.random(1 << 40), caps.random:bytes(3))
  end
  return table.concat(out, "\n")
]]
local keys = {clock = caps.clock, random = caps.random}
local p = spawn(src, {caps = keys, fuel = 300000})
local ok, e = pcall(p.wait, p)
assert(not ok and e.kind == "fuel", tostring(e))
local bytes = p:snapshot()
local copies = {p, restore(bytes, {caps = keys}), restore(bytes, {caps = keys})}
local results = {}
for i, q in ipairs(copies) do
  q:refuel(1e8)
  q:resume()
  results[i] = q:wait()
end
print(results[1] == results[2] and results[2] == results[3])
print(results[1])
"#;

#[test]
fn a_restored_deterministic_process_continues_the_same_clock_and_random_sequences() {
    let (k, root, text) = deterministic_root(SNAPSHOT_MIDWAY, 7);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("true"), "{text}");
    let readings: Vec<&str> = lines.collect();
    assert_eq!(readings.len(), 8, "{text}");
    // Virtual time: from 2000-01-01, a quarter of a second per sleep plus the fuel spent.
    let times: Vec<f64> = readings
        .iter()
        .map(|l| {
            l.split(' ')
                .next()
                .and_then(|t| t.parse().ok())
                .expect("a time")
        })
        .collect();
    for (i, t) in times.iter().enumerate() {
        let slept = 0.25 * (i + 1) as f64;
        assert!(
            *t > 946_684_800.0 + slept && *t < 946_684_800.0 + slept + 0.1,
            "{t}"
        );
    }
    // Every process of the tree is deterministic, the restored copies too.
    assert!(k.process_ids().iter().all(|&id| k.is_deterministic(id)));
    assert!(k.is_deterministic(root));
    // The same seed, the same run; another seed, other numbers.
    let (_, _, again) = deterministic_root(SNAPSHOT_MIDWAY, 7);
    assert_eq!(again, text);
    let (_, _, other) = deterministic_root(SNAPSHOT_MIDWAY, 8);
    assert_ne!(other, text);
}

#[test]
fn restore_with_deterministic_makes_a_snapshot_deterministic() {
    // The root is not deterministic: its child's snapshot is restored twice as deterministic
    // (a new tree of seed 0 each time), and both copies draw the same numbers and read the same
    // virtual time; its children are deterministic too.
    let src = r#"
        local p = spawn([[
          local x = 0
          for i = 1, 1000 do x = x + i end
          local c = spawn("return math.random(1 << 40)")
          return caps.clock:now(), caps.random:integer(1, 1 << 40), math.random(1 << 40),
            c:wait()
        ]], {caps = {clock = caps.clock, random = caps.random}, fuel = 10})
        pcall(p.wait, p)
        local bytes = p:snapshot()
        local keys = {clock = caps.clock, random = caps.random}
        local a = restore(bytes, {caps = keys, deterministic = true, fuel = 1e8})
        local b = restore(bytes, {caps = keys, deterministic = true, fuel = 1e8})
        a:resume()
        b:resume()
        local ra, rb = table.pack(a:wait()), table.pack(b:wait())
        print(ra[1] < 1e9, ra[1] == rb[1], ra[2] == rb[2], ra[3] == rb[3], ra[4] == rb[4])
    "#;
    let (mut k, root, out) = root_process(src, 1 << 40);
    k.grant_key(root, "clock", KeyKind::Clock).expect("granted");
    k.grant_key(root, "random", KeyKind::Random)
        .expect("granted");
    // No host: the clock and random keys of a process that is not deterministic are refused,
    // so the child must not read them before it is restored as deterministic.
    let text = finish_root(&mut k, root, &out);
    assert_eq!(text, "true\ttrue\ttrue\ttrue\ttrue\n");
    assert!(!k.is_deterministic(root));
}

/// Builds, deletes from and grows tables under the given hash seed, and prints the order
/// `pairs` and `next` visit them in.
fn traversal_under_seed(seed: u64) -> String {
    let src = r#"
        local t = {}
        for i = 1, 500 do t["s" .. i] = i; t[i + 0.5] = i; t[-i] = i end
        for i = 1, 500, 2 do t["s" .. i] = nil; t[-i] = nil end
        for i = 1, 300 do t[{}] = true end
        for k in pairs(t) do if type(k) == "table" then t[k] = nil end end
        for i = 1, 2000 do t["g" .. i] = i end          -- rehashes
        for i = 1, 2000, 3 do t["g" .. i] = nil end
        t.late = 1
        local keys, k = {}, next(t)
        while k ~= nil do
          keys[#keys + 1] = tostring(k)
          k = next(t, k)
        end
        local again = {}
        for k in pairs(t) do again[#again + 1] = tostring(k) end
        assert(table.concat(keys, ",") == table.concat(again, ","))
        print(#keys, table.concat(keys, ","))
    "#;
    let base = factory();
    let seeded: kernel::process::VmFactory = std::rc::Rc::new(move |name: &str, memory: usize| {
        let mut vm = base(name, memory)?;
        vm.heap.set_hash_seed(seed);
        Ok(vm)
    });
    let (mut k, root, out) = root_process_in(src, 1 << 40, &[], seeded);
    finish_root(&mut k, root, &out)
}

#[test]
fn table_traversal_does_not_depend_on_the_hash_seed() {
    let first = traversal_under_seed(1);
    assert!(
        first.starts_with("2334\t"),
        "{}",
        &first[..40.min(first.len())]
    );
    for seed in [2, 0xdead_beef, u64::MAX] {
        assert_eq!(traversal_under_seed(seed), first, "seed {seed}");
    }
}
