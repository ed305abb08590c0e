//! Benchmark: snapshot and restore throughput and size, for one process with a ~100 MB heap
//! (big arrays of integers and floats, many strings, many small tables) and for a tree of
//! 1,000 small processes (a parent and 999 children, each with the standard library).
//!
//! `cargo run --release -p tessera-tests --example snapshot_bench [heap|tree|small]`
//!
//! Prints, for each: the snapshot's size, the bank's count of the heaps it holds (and their
//! ratio), and the best of several runs of `Kernel::snapshot` and of `Kernel::restore` (which
//! decodes and fully checks the bytes), as time and as MB/s of snapshot bytes.

use kernel::process::{Kernel, ProcessId, State};
use std::time::{Duration, Instant};
use tessera_tests::factory;

/// ~100 MB of heap (as the bank counts it): 2M integers and 1M floats in arrays, 250,000
/// distinct strings, 60,000 small tables with string keys.
const BIG: &str = r#"
    ints, floats, strs, objs = {}, {}, {}, {}
    for i = 1, 2000000 do ints[i] = i * 7 - 3 end
    for i = 1, 1000000 do floats[i] = i * 0.25 + 0.1 end
    for i = 1, 250000 do strs[i] = "string number " .. i .. " of the benchmark" end
    for i = 1, 60000 do objs[i] = {x = i, y = i * 0.5, name = strs[i], tag = "obj"} end
    return #ints + #floats + #strs + #objs
"#;

/// A parent holding 999 finished children, each a fresh VM with the standard library.
const TREE: &str = r#"
    kids = {}
    for i = 1, 999 do
        kids[i] = spawn("x = 21 return x * 2", {name = "kid" .. i})
    end
    for i = 1, 999 do kids[i]:wait() end
    return #kids
"#;

/// The most work per snapshot byte: 300,000 empty tables and 300,000 short strings (what
/// `snapshot::WORK` must price).
const SMALL: &str = r#"
    objs, keys = {}, {}
    for i = 1, 300000 do objs[i] = {} keys[i] = "k" .. i end
    return #objs
"#;

const RUNS: usize = 5;

/// A kernel whose root has room for several copies of the heaps, and a process running `src`
/// as the root's child, run to its end.
fn setup(src: &str, memory: usize) -> (Kernel, ProcessId, ProcessId) {
    let factory = factory();
    let mut k = Kernel::new();
    k.set_factory(factory.clone());
    let root_vm = (factory)("root", 16 << 30).expect("the root fits");
    let root = k.add(None, "root", root_vm, u64::MAX / 4);
    let mut vm = (factory)("subject", memory).expect("the subject fits");
    let proto = kernel::compiler::compile(src.as_bytes(), b"=bench").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    let subject = k.add(Some(root), "subject", vm, u64::MAX / 8);
    k.run_until_idle();
    let state = k.get(subject).map(|p| (p.state, p.fault.clone()));
    assert_eq!(
        state.as_ref().map(|s| s.0),
        Some(State::Done),
        "the benchmark program did not finish: {state:?}"
    );
    (k, root, subject)
}

fn mb_per_s(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64()
}

fn bench(label: &str, src: &str, memory: usize) {
    let (mut k, root, subject) = setup(src, memory);
    // Every process but the root is the subject's subtree.
    let heap: usize = k
        .processes()
        .filter(|p| p.parent.is_some())
        .map(|p| p.vm.heap.bank.used())
        .sum();
    let processes = k.process_count() - 1;
    let mut bytes = Vec::new();
    let mut snap = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        bytes = k.snapshot(subject).expect("the subject can be snapshotted");
        snap = snap.min(start.elapsed());
    }
    let mut restore = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        let before = k.process_ids();
        k.restore(root, &bytes, &|_| None).expect("restores");
        restore = restore.min(start.elapsed());
        // The copies go, children first, before the next run.
        for id in k.process_ids().into_iter().rev() {
            if !before.contains(&id) {
                k.remove(id);
            }
        }
    }
    // Where the time goes: the VMs alone, written and read back without the kernel's records
    // or checks.
    let vms: Vec<&kernel::vm::Vm> = k
        .processes()
        .filter(|p| p.parent.is_some())
        .map(|p| &p.vm)
        .collect();
    let mut encoded = Vec::new();
    let mut encode = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        encoded = vms
            .iter()
            .map(|vm| rmp_serde::to_vec(vm).expect("a VM serializes"))
            .collect::<Vec<_>>();
        encode = encode.min(start.elapsed());
    }
    let mut decode = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        for b in &encoded {
            let vm: kernel::vm::Vm = rmp_serde::from_slice(b).expect("a VM deserializes");
            drop(vm);
        }
        decode = decode.min(start.elapsed());
    }
    println!("## {label}");
    println!("processes:        {processes}");
    println!("bank used:        {:.1} MB", heap as f64 / 1e6);
    println!(
        "snapshot size:    {:.1} MB ({:.2}x bank used)",
        bytes.len() as f64 / 1e6,
        bytes.len() as f64 / heap as f64
    );
    println!(
        "snapshot:         {:.1} ms, {:.0} MB/s of snapshot bytes, {:.0} MB/s of heap",
        snap.as_secs_f64() * 1e3,
        mb_per_s(bytes.len(), snap),
        mb_per_s(heap, snap)
    );
    println!(
        "restore+check:    {:.1} ms, {:.0} MB/s of snapshot bytes ({:.1} ns per byte)",
        restore.as_secs_f64() * 1e3,
        mb_per_s(bytes.len(), restore),
        restore.as_secs_f64() * 1e9 / bytes.len() as f64
    );
    println!(
        "VMs alone:        written in {:.1} ms, read (unchecked) in {:.1} ms",
        encode.as_secs_f64() * 1e3,
        decode.as_secs_f64() * 1e3
    );
    println!();
}

fn main() {
    // `heap`, `tree` or `small` runs only that one (for a profiler).
    let only = std::env::args().nth(1).unwrap_or_default();
    if only.is_empty() || only == "heap" {
        bench("100 MB heap", BIG, 4 << 30);
    }
    if only.is_empty() || only == "tree" {
        bench("tree of 1,000 processes", TREE, 1 << 30);
    }
    if only.is_empty() || only == "small" {
        bench("small objects", SMALL, 1 << 30);
    }
}
