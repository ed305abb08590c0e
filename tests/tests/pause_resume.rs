//! State is data: a process paused after any number of instructions, serialized with
//! rmp-serde and deserialized into a new VM, finishes with exactly the output of an
//! uninterrupted run. The program pauses inside nested calls, a pcall, a coroutine, a
//! metamethod and a generic `for`, and between a long string's making and its `%p`.

use kernel::vm::{Outcome, Vm};
use std::cell::RefCell;
use std::rc::Rc;

const PROGRAM: &str = r#"
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local Point = {}
Point.__index = Point
Point.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, Point) end
Point.__tostring = function(p) return "(" .. p.x .. "," .. p.y .. ")" end
local p = setmetatable({x = 1, y = 2}, Point)
for i = 1, 3 do p = p + p end
print(tostring(p), fib(10))
local co = coroutine.create(function(a)
  local acc = a
  for i = 1, 4 do
    local ok, v = pcall(function()
      if i == 3 then error("boom " .. i) end
      return coroutine.yield(acc + i)
    end)
    acc = acc + (ok and v or 100)
  end
  return acc
end)
local v = 1
while coroutine.status(co) ~= "dead" do
  local ok, r = coroutine.resume(co, v)
  print(ok, r)
  v = (r or 0) * 2
end
local t = {}
for i = 1, 20 do t[i] = i * i end
local sum = 0
for _, x in ipairs(t) do sum = sum + x end
local words = {}
for k, x in pairs({a = 1, b = 2, c = 3}) do words[#words + 1] = k .. x end
print(sum, #words)
local ok, err = pcall(function() local z = nil; return z.field end)
print(ok, err)
local l1, l2 = string.rep("long", 12), string.rep("long", 12)
local p1 = string.format("%p", l1)
print(p1 == string.format("%p", l1), p1 ~= string.format("%p", l2), l1 == l2)
"#;

fn new_vm(output: Rc<RefCell<Vec<u8>>>) -> Vm {
    let mut vm = Vm::new(stdlib::natives(), 64 << 20, 7).expect("fresh VM fits in 64 MiB");
    stdlib::open_libs(&mut vm).expect("libraries fit in 64 MiB");
    attach(&mut vm, output);
    vm
}

fn attach(vm: &mut Vm, output: Rc<RefCell<Vec<u8>>>) {
    vm.set_console(Some(Box::new(move |b: &[u8]| {
        output.borrow_mut().extend_from_slice(b)
    })));
}

fn start(vm: &mut Vm) {
    let proto =
        kernel::compiler::compile(PROGRAM.as_bytes(), b"=program").expect("program compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
}

/// Runs to the end without interruption; returns the output and the fuel it took.
fn uninterrupted() -> (Vec<u8>, u64) {
    let out = Rc::new(RefCell::new(Vec::new()));
    let mut vm = new_vm(out.clone());
    start(&mut vm);
    let outcome = vm.run(u64::MAX, u64::MAX);
    assert!(matches!(outcome, Outcome::Finished(_)), "{outcome:?}");
    let used = vm.last_slice_spent();
    let o = out.borrow().clone();
    (o, used)
}

/// Runs `n` units, snapshots, restores into a fresh VM, and finishes there.
fn interrupted(n: u64) -> Vec<u8> {
    let out = Rc::new(RefCell::new(Vec::new()));
    let mut vm = new_vm(out.clone());
    start(&mut vm);
    match vm.run(n, u64::MAX) {
        Outcome::Finished(_) => return out.borrow().clone(),
        Outcome::OutOfFuel => {}
        Outcome::Error { traceback, .. } => panic!("error before the pause: {traceback}"),
        Outcome::Trap => panic!("the standard library never traps"),
        Outcome::OutOfMemory { needed } => panic!("{needed} bytes refused before the pause"),
    }
    let bytes = rmp_serde::to_vec(&vm).expect("a VM serializes");
    drop(vm);
    let mut restored: Vm = rmp_serde::from_slice(&bytes).expect("a VM deserializes");
    restored.attach_natives(stdlib::natives());
    attach(&mut restored, out.clone());
    let outcome = restored.run(u64::MAX, u64::MAX);
    if let Outcome::Error {
        value, traceback, ..
    } = &outcome
    {
        panic!(
            "after restoring at {n}: {} {traceback}",
            shell::runner::error_message(&restored, *value)
        );
    }
    assert!(
        matches!(outcome, Outcome::Finished(_)),
        "after restoring at {n}: {outcome:?}"
    );
    let o = out.borrow().clone();
    o
}

#[test]
fn pause_serialize_resume_is_invisible_for_every_pause_point() {
    let (expected, total) = uninterrupted();
    assert!(
        total > 500,
        "the program should be nontrivial, took {total}"
    );
    let mut checked = 0;
    let mut n = 1;
    while n < total + 5 {
        let got = interrupted(n);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "pause after {n} units"
        );
        checked += 1;
        // Every point early on, then a stride, so the sweep stays quick.
        n += if n < 400 { 1 } else { 7 };
    }
    assert!(checked > 400);
}

/// Runs `src` in slices of `slice` units until it ends; returns its output and total fuel.
fn sliced(src: &str, slice: u64) -> (Vec<u8>, u64) {
    let out = Rc::new(RefCell::new(Vec::new()));
    let mut vm = new_vm(out.clone());
    let proto = kernel::compiler::compile(src.as_bytes(), b"=program").expect("program compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    let mut total = 0;
    loop {
        let outcome = vm.run(slice, u64::MAX);
        total += vm.last_slice_spent();
        match outcome {
            Outcome::OutOfFuel => {}
            Outcome::Finished(_) => break,
            other => panic!("slice {slice}: {other:?}"),
        }
    }
    let o = out.borrow().clone();
    (o, total)
}

/// The collector steps where the program reaches a boundary (a native called, an instruction
/// that asks), never where a slice happened to end: a table that grows past the collector's
/// threshold in a loop with no such boundary was collected at the next slice's start, so the
/// fuel of a run (a collection's price is the heap's size then) and the order of its
/// finalizers depended on how it was sliced.
#[test]
fn regression_slice_boundaries_never_move_a_collection() {
    let grow = "local a = {} for i = 1, 40000 do a[i] = i end print(#a)";
    let collector = include_str!("../cuts/collector.lua");
    for src in [grow, collector] {
        let (whole, fuel) = sliced(src, u64::MAX);
        for slice in [997, 50_000, 100_003] {
            let (out, spent) = sliced(src, slice);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&whole),
                "slices of {slice}"
            );
            assert_eq!(spent, fuel, "slices of {slice}");
        }
    }
}
