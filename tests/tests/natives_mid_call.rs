//! Natives caught mid-call by a budget (`table.sort` waiting for its comparator, `gsub` for a
//! replacement function, `load` for its reader, …) are saved and restored like any other
//! state (DESIGN, "Snapshots"; `kernel::vm::check`).
//!
//! - A program cut every `step` units, its VM sent through a snapshot's round trip at every
//!   stop (the live check, serialization, the restore's check), prints what one uninterrupted
//!   run prints and spends the same fuel, for steps small enough to stop inside every native.
//! - A restored native's stack slots and state are hostile: each native found mid-call has
//!   each of its slots (and the entries of the tables they hold) replaced by boundary
//!   integers, huge floats, strings, tables and nil, its state and its top moved; the damaged
//!   VM is refused by the check or runs under a small budget to an error or an end, and never
//!   panics.

use kernel::heap::frame::FrameKind;
use kernel::value::Value;
use kernel::vm::{Outcome, Vm};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

/// The cut corpus's programs whose natives call Lua (and `finalizers`, whose finalizers run
/// above them).
const CALLING_LUA: &[&str] = &[
    "sort_calls",
    "string_calls",
    "table_calls",
    "load_close",
    "print_tostring",
    "coroutines",
    "finalizers",
];

/// The programs of `CALLING_LUA`, from the cut corpus.
fn corpus() -> impl Iterator<Item = (&'static str, &'static str)> {
    tessera_tests::CUTS
        .iter()
        .copied()
        .filter(|(name, _)| CALLING_LUA.contains(name))
}

/// `table.move` stops at a checkpoint between chunks only on long ranges (and a cut at its
/// first chunk once resumed it with its registers for arguments). The table is built both in
/// one step and element by element: a cut while it grows once spent other fuel (a
/// collection at a slice's start, which an uninterrupted run does not make).
const MOVES: &str = r#"local a = {("x"):rep(40000):byte(1, -1)}
    local b = {} for i = 1, 40000 do b[i] = i end
    table.move(a, 1, 40000, 3) table.move(b, 1, 40000, 2)
    print(a[40002], a[3], #a, b[40001], #b)"#;

type Output = Rc<RefCell<Vec<u8>>>;

fn attach(vm: &mut Vm, out: &Output) {
    let out = out.clone();
    vm.set_console(Some(Box::new(move |b: &[u8]| {
        out.borrow_mut().extend_from_slice(b)
    })));
}

/// A VM with the standard library, running `src`, printing to `out`.
fn started(src: &str, out: &Output) -> Vm {
    let mut vm = Vm::new(stdlib::natives(), 64 << 20, 7).expect("a VM fits in 64 MiB");
    stdlib::open_libs(&mut vm).expect("the libraries fit");
    attach(&mut vm, out);
    let proto = kernel::compiler::compile(src.as_bytes(), b"=cut").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    vm
}

/// The VM's bytes, as a snapshot takes them: refused if the live check refuses.
fn save(vm: &Vm) -> Vec<u8> {
    if let Err(e) = vm.snapshot_ready() {
        panic!("a stop that cannot be saved: {e}");
    }
    rmp_serde::to_vec(vm).expect("a VM serializes")
}

/// A VM from `bytes`, its natives attached, before the restore's check.
fn load(bytes: &[u8]) -> Vm {
    let mut vm: Vm = rmp_serde::from_slice(bytes).expect("a VM deserializes");
    vm.attach_natives(stdlib::natives());
    vm
}

/// Runs `src` in slices of `step` units (or the price last refused, if more), with `at_stop`
/// shown each stopped VM; the VM is saved and restored at every stop if `restore` says so.
/// Returns the output and the fuel of all slices.
fn run_cut(src: &str, step: u64, restore: bool, mut at_stop: impl FnMut(&mut Vm)) -> (String, u64) {
    let out: Output = Rc::default();
    let mut vm = started(src, &out);
    let mut spent = 0;
    // The price of a step the last slice could not pay: the host keeps it (a VM forgets it
    // when saved) and runs the process again only with that much.
    let mut refused = None;
    loop {
        let slice = step.max(refused.unwrap_or(0));
        let outcome = vm.run(slice, slice);
        spent += vm.last_slice_spent();
        refused = vm.refused();
        match outcome {
            Outcome::Finished(_) => break,
            Outcome::OutOfFuel if !restore => at_stop(&mut vm),
            Outcome::OutOfFuel => {
                at_stop(&mut vm);
                let bytes = save(&vm);
                vm = load(&bytes);
                if let Err(e) = vm.check_restored() {
                    panic!("a saved stop is refused on restore: {}", e.0);
                }
                attach(&mut vm, &out);
            }
            other => panic!("the program failed: {other:?}"),
        }
    }
    let text = String::from_utf8_lossy(&out.borrow()).into_owned();
    (text, spent)
}

#[test]
fn a_program_saved_at_every_stop_prints_and_spends_what_one_run_does() {
    for (name, src) in corpus().chain([("moves", MOVES)]) {
        let (whole, total) = run_cut(src, u64::MAX / 4, true, |_| {});
        assert!(total > 1000, "{name}: {total}");
        // A few hundred stops each (a round trip is a few milliseconds in a debug build).
        for step in [97, 331, 997] {
            let (text, spent) = run_cut(src, step, true, |_| {});
            assert_eq!(text, whole, "{name}: output differs when cut every {step}");
            assert_eq!(spent, total, "{name}: fuel differs when cut every {step}");
        }
    }
}

/// Natives mid-call at a stop: for each (name, state, on top), the VM's bytes at the first
/// stop found so.
type Stops = BTreeMap<(String, u32, bool), Vec<u8>>;

/// Every native caught mid-call when `src` is cut every `step` units (and the run cut so
/// prints `whole`).
fn natives_mid_call(src: &str, whole: &str, step: u64, stops: &mut Stops) {
    let (text, _) = run_cut(src, step, false, |vm| {
        let frames = vm.running_thread_mut().frames.clone();
        let mut found = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            if let FrameKind::Native(n) = f.kind {
                let name = vm.natives().name(vm.heap.native(n).id).to_string();
                if f.pc != 0 {
                    found.push((name, f.pc, i + 1 == frames.len()));
                }
            }
        }
        for key in found {
            stops.entry(key).or_insert_with(|| save(vm));
        }
    });
    assert_eq!(text, whole, "output differs when cut every {step}");
}

/// The first native frame of the running thread named `name` in `state`: its index.
fn frame_of(vm: &mut Vm, name: &str, state: u32) -> Option<usize> {
    let frames = vm.running_thread_mut().frames.clone();
    frames.iter().position(|f| match f.kind {
        FrameKind::Native(n) => vm.natives().name(vm.heap.native(n).id) == name && f.pc == state,
        FrameKind::Lua(_) => false,
    })
}

/// One way a hostile snapshot damages a native's frame.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// Stack slot `base + k` holds the value.
    Slot(usize, Hostile),
    /// Entry `key` of the table in slot `base + k` holds the value.
    Entry(usize, i64, Hostile),
    State(u32),
    /// The thread's top is `base + k` (the native on top).
    Top(usize),
}

#[derive(Clone, Copy, Debug)]
enum Hostile {
    Nil,
    True,
    Int(i64),
    Float(f64),
    Str(&'static str),
    Table,
    /// The value of another slot (`base + k`).
    Moved(usize),
}

const VALUES: &[Hostile] = &[
    Hostile::Nil,
    Hostile::True,
    Hostile::Int(-1),
    Hostile::Int(0),
    Hostile::Int(2),
    Hostile::Int(i64::MAX),
    Hostile::Int(i64::MIN),
    Hostile::Float(1e300),
    Hostile::Str("%1 hostile"),
    Hostile::Table,
];

/// Integers a table entry may be turned into (the registers of a machine).
const ENTRIES: &[i64] = &[-1, 11, i64::MAX, i64::MIN];

fn hostile(vm: &mut Vm, base: usize, h: Hostile) -> Value {
    match h {
        Hostile::Nil => Value::Nil,
        Hostile::True => Value::Bool(true),
        Hostile::Int(i) => Value::Int(i),
        Hostile::Float(f) => Value::Float(f),
        Hostile::Str(s) => vm.intern(s.as_bytes()).expect("fits"),
        Hostile::Table => Value::Table(vm.new_table(4, 4).expect("fits")),
        Hostile::Moved(k) => vm.stack_get(base + k),
    }
}

/// The damages to try on the native in frame `fi` of a VM stopped as `vm` is.
fn damages(vm: &mut Vm, fi: usize) -> Vec<Damage> {
    let th = vm.running_thread_mut();
    let f = th.frames[fi];
    let base = f.base as usize;
    let top = fi + 1 == th.frames.len();
    let end = match th.frames.get(fi + 1) {
        Some(a) => a.func as usize + 2,
        None => th.top,
    }
    .min(th.stack.len())
    .min(base + 16);
    let slots = end.saturating_sub(base);
    let stack: Vec<Value> = th.stack[base..end].to_vec();
    let mut out = Vec::new();
    for (k, &v) in stack.iter().enumerate() {
        for &h in VALUES {
            out.push(Damage::Slot(k, h));
        }
        out.push(Damage::Slot(k, Hostile::Moved((k + 1) % slots)));
        if let Value::Table(t) = v {
            let n = vm.heap.table(t).border();
            if n <= 40 {
                for key in 1..=n.max(18) {
                    for &i in ENTRIES {
                        out.push(Damage::Entry(k, key, Hostile::Int(i)));
                    }
                }
            }
        }
    }
    for s in [0, 1, 2, 3, 4, 5, 6, 12, u32::MAX - 2, u32::MAX - 1] {
        out.push(Damage::State(s));
    }
    if top {
        for k in 0..=slots.min(12) + 1 {
            out.push(Damage::Top(k));
        }
    }
    out
}

fn apply(vm: &mut Vm, fi: usize, d: Damage) {
    let base = vm.running_thread_mut().frames[fi].base as usize;
    match d {
        Damage::Slot(k, h) => {
            let v = hostile(vm, base, h);
            vm.stack_set(base + k, v);
        }
        Damage::Entry(k, key, h) => {
            if let Value::Table(t) = vm.stack_get(base + k) {
                let v = hostile(vm, base, h);
                vm.raw_set(t, Value::Int(key), v).expect("fits");
            }
        }
        Damage::State(s) => vm.running_thread_mut().frames[fi].pc = s,
        Damage::Top(k) => {
            let th = vm.running_thread_mut();
            th.top = (base + k).min(th.stack.len());
        }
    }
}

/// Restores `bytes` damaged as `d` says at the native `name` in `state`: refused, or run
/// under a small budget. Whether it was accepted.
fn try_damaged(bytes: &[u8], name: &str, state: u32, d: Damage) -> bool {
    let mut vm = load(bytes);
    let Some(fi) = frame_of(&mut vm, name, state) else {
        return false;
    };
    apply(&mut vm, fi, d);
    if vm.check_restored().is_err() {
        return false;
    }
    // Whatever it does, it does within its budget: an error, an end, or out of fuel.
    for _ in 0..2 {
        match vm.run(2000, 2000) {
            Outcome::OutOfFuel => {}
            _ => break,
        }
    }
    // And what it left can be checked again.
    let _ = vm.snapshot_ready();
    true
}

/// Natives that call Lua and continue afterwards: each must be found mid-call by the sweep.
const EXPECTED: &[&str] = &[
    "table.sort",
    "table.concat",
    "table.insert",
    "table.remove",
    "table.unpack",
    "table.move",
    "string.gsub",
    "string.format",
    "string.metatable.__mul",
    "pairs",
    "ipairs.iterator",
    "load",
    "print",
    "tostring",
    "pcall",
];

#[test]
fn a_native_restored_with_hostile_slots_or_state_is_refused_or_runs_within_its_budget() {
    let mut stops = Stops::new();
    for src in corpus().map(|(_, src)| src).chain([MOVES]) {
        let (whole, _) = run_cut(src, u64::MAX / 4, false, |_| {});
        for step in [3, 17] {
            natives_mid_call(src, &whole, step, &mut stops);
        }
    }
    for name in EXPECTED {
        assert!(
            stops.keys().any(|(n, _, _)| n == name),
            "{name} was never caught mid-call: {:?}",
            stops.keys().collect::<Vec<_>>()
        );
    }
    assert!(
        stops.keys().any(|(n, s, _)| n == "table.move" && *s == 1),
        "table.move was never caught at a checkpoint: {:?}",
        stops.keys().collect::<Vec<_>>()
    );
    let (mut accepted, mut refused) = (0, 0);
    for ((name, state, top), bytes) in &stops {
        let mut vm = load(bytes);
        let Some(fi) = frame_of(&mut vm, name, *state) else {
            continue;
        };
        for d in damages(&mut vm, fi) {
            let r = catch_unwind(AssertUnwindSafe(|| try_damaged(bytes, name, *state, d)));
            match r {
                Ok(true) => accepted += 1,
                Ok(false) => refused += 1,
                Err(_) => {
                    panic!("'{name}' in state {state} (on top: {top}), damaged {d:?}: a panic")
                }
            }
        }
    }
    assert!(
        accepted > 100 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
}

/// `table.insert` continued after `__len` finds a plain table when `__len` removed the
/// metatable: the length, at the ends of the integers, wraps as lua5.4's does (it overflowed
/// before).
#[test]
fn a_length_from_a_len_that_removes_the_metatable_wraps_as_in_lua() {
    let (text, _) = run_cut(
        r#"
        local t = setmetatable({}, {__len = function(t) setmetatable(t, nil) return math.maxinteger end})
        print(pcall(table.insert, t, 1, "x"))
        print(t[1])
        local u = setmetatable({5, 4}, {__len = function(t) setmetatable(t, nil) return math.mininteger end})
        print(pcall(table.insert, u, "y"))
        print(u[math.mininteger + 1])
        "#,
        u64::MAX / 4,
        true,
        |_| {},
    );
    assert_eq!(text, "true\nx\ntrue\ny\n");
}

/// Arguments beyond those a native reads are ignored, as lua5.4 ignores them: they once
/// stood in the slots `gsub` and `load` keep their state in (gsub joined an extra table's
/// strings into its result, and wrote into it; `load` named a text chunk `(load)`).
#[test]
fn extra_arguments_never_stand_for_a_natives_state() {
    let (text, _) = run_cut(
        r#"
        local evil = {"EVIL"}
        print(string.gsub("abc", "b", "x", 5, evil))
        print(string.gsub("abc", "b", function() return "y" end, 5, evil), #evil)
        print(string.gsub("abc", "b", {b = "z"}, nil, evil, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
        print(pcall(load("error('x')", nil, "t", _ENV, 1)))
        "#,
        u64::MAX / 4,
        true,
        |_| {},
    );
    assert_eq!(
        text,
        "axc\t1\nayc\t1\nazc\t1\nfalse\t[string \"error('x')\"]:1: x\n"
    );
}

/// Where a slice ends changes no collection: cut at many steps (without a snapshot), runs
/// that allocate past the collector's threshold while built-ins call Lua, concatenate and
/// run finalizers spend what one run spends. Each difference once found: a native step
/// refused after it allocated (`table.sort` made its registers before paying, and again when
/// taken up); a cut inside `table.sort` stopping through a checkpoint call, a boundary where
/// the collector stepped (now `Action::Stop`); a concatenation finished after a cut without
/// the collector's step `CONCAT` takes; a slice's start taken for a boundary.
#[test]
fn regression_where_a_slice_ends_changes_no_collection() {
    let finalizers = include_str!("../cuts/finalizers.lua");
    let plain = finalizers.replace("setmetatable({i}, meta)", "local _ = {i}");
    let collector = include_str!("../cuts/collector.lua");
    for (name, src) in [
        ("finalizers", finalizers),
        ("no finalizers", plain.as_str()),
        ("collector", collector),
    ] {
        let (whole, total) = run_cut(src, u64::MAX / 4, false, |_| {});
        for step in (20..400).step_by(29) {
            let (text, spent) = run_cut(src, step, false, |_| {});
            assert_eq!(text, whole, "{name}: output differs when cut every {step}");
            assert_eq!(spent, total, "{name}: fuel differs when cut every {step}");
        }
    }
}

/// A table grown past the collector's threshold with no boundary, then a built-in called:
/// the collector steps right before `tostring` runs, and its finalizers run above it. A cut
/// inside one of them could not be saved ("it is inside 'tostring'"): a native about to run,
/// or about to take its call's results, under a finalizer now stands as if on top.
#[test]
fn regression_a_cut_inside_a_finalizer_above_a_builtin_is_saved() {
    let src = "local meta = {__gc = function(o) local s = 0 for i = 1, 30 do s = s + i end end}
        for i = 1, 300 do setmetatable({}, meta) end
        local a, n = {}, 0
        for i = 1, 20000 do a[i] = i n = n + #tostring(i) end
        print(n)";
    let (whole, total) = run_cut(src, u64::MAX / 4, true, |_| {});
    for step in [50, 147, 341] {
        let (text, spent) = run_cut(src, step, true, |_| {});
        assert_eq!(text, whole, "output differs when cut every {step}");
        assert_eq!(spent, total, "fuel differs when cut every {step}");
    }
}
