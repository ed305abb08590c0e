//! Benchmark: the cost of an instruction does not grow with nesting depth. The same loop runs
//! in a process at depth 1 and at depth 1000 of a process tree (every ancestor's meter is
//! charged for it); prints both times and their ratio.
//!
//! `cargo run --release -p tessera-kernel --example nesting`

// A benchmark measures time and prints it; the kernel library itself reads no clock and
// writes nowhere.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

use kernel::process::{Kernel, State};
use kernel::vm::{NativeTable, Vm};
use std::rc::Rc;
use std::time::{Duration, Instant};

const LOOP: &str = "local x = 0 for i = 1, 10000000 do x = x + i % 7 end return x";

fn vm(src: &str) -> Vm {
    let mut vm = Vm::new(Rc::new(NativeTable::new()), 16 << 20, 1).expect("vm");
    let p = kernel::compiler::compile(src.as_bytes(), b"=bench").expect("compiles");
    let f = vm.load(&p, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    vm
}

/// Time to run the loop in the deepest of `depth` nested processes.
fn run_at_depth(depth: usize) -> Duration {
    let mut k = Kernel::new();
    let mut parent = None;
    for i in 0..depth - 1 {
        // Ancestors are done at once; they exist to be charged.
        let id = k.add(parent, &format!("p{i}"), vm("return 0"), u64::MAX / 2);
        parent = Some(id);
    }
    k.run_until_idle();
    let leaf = k.add(parent, "leaf", vm(LOOP), u64::MAX / 2);
    let start = Instant::now();
    k.run_until_idle();
    let took = start.elapsed();
    assert_eq!(k.get(leaf).map(|p| p.state), Some(State::Done));
    took
}

fn best_of(n: usize, depth: usize) -> Duration {
    (0..n)
        .map(|_| run_at_depth(depth))
        .min()
        .unwrap_or_default()
}

fn main() {
    let shallow = best_of(5, 1);
    let deep = best_of(5, 1000);
    println!("depth 1:    {:.3} s", shallow.as_secs_f64());
    println!("depth 1000: {:.3} s", deep.as_secs_f64());
    println!(
        "ratio:      {:.3}",
        deep.as_secs_f64() / shallow.as_secs_f64()
    );
}
