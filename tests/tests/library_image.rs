//! The standard library image (`stdlib::fresh_vm`): every process starts from a copy of one
//! VM built by `open_libs` as an image (`Vm::new_image`, `freeze_image`). The copy must be
//! the image `open_libs` would have built with the copy's seed and limit — the same saved
//! bytes, the same charge — it shares the image's strings and natives and is charged nothing
//! for them, and no process may reach another's copy.

use kernel::vm::Vm;
use quickcheck::QuickCheck;
use tessera_tests::run_root;

/// An image built from nothing with `seed`, its limit then set to `memory`.
fn built(memory: usize, seed: u64) -> Option<Vm> {
    let mut vm = Vm::new_image(stdlib::natives(), seed).ok()?;
    stdlib::open_libs(&mut vm).ok()?;
    vm.freeze_image();
    if vm.heap.bank.used() > memory {
        return None;
    }
    vm.heap.bank.set_limit(memory);
    Some(vm)
}

/// The library as every process had its own copy of it: all of it charged.
fn unshared(seed: u64) -> Vm {
    let mut vm = Vm::new(stdlib::natives(), usize::MAX, seed).expect("an unlimited VM");
    stdlib::open_libs(&mut vm).expect("an unlimited VM holds the library");
    vm
}

fn saved(vm: &Vm) -> Vec<u8> {
    rmp_serde::to_vec(vm).expect("a fresh VM serializes")
}

/// What the standard library needs: the least limit a built VM fits in.
fn library_bytes() -> usize {
    built(usize::MAX, 0)
        .expect("an unlimited VM holds the library")
        .heap
        .bank
        .used()
}

#[test]
fn a_copy_is_the_vm_open_libs_builds() {
    fn law(seed: u64, extra: u16) -> bool {
        let memory = library_bytes() + extra as usize;
        let copy = stdlib::fresh_vm(memory, seed).expect("the limit holds the library");
        let fresh = built(memory, seed).expect("the limit holds the library");
        copy.heap.bank.used() == fresh.heap.bank.used()
            && copy.heap.bank.limit() == memory
            && saved(&copy) == saved(&fresh)
    }
    QuickCheck::new()
        .tests(40)
        .quickcheck(law as fn(u64, u16) -> bool);
}

#[test]
fn a_copy_is_charged_nothing_for_the_librarys_strings_and_natives() {
    let copy = stdlib::fresh_vm(1 << 20, 3).expect("fits");
    let whole = unshared(3);
    let strings = whole.heap.strings.live_count();
    let natives = whole.heap.natives.live_count();
    assert!(
        strings > 100 && natives > 90,
        "{strings} strings, {natives} natives"
    );
    // What sharing saves: at least each string's and native's base charge.
    let saved =
        strings * kernel::heap::STRING_BASE_BYTES + natives * kernel::heap::NATIVE_BASE_BYTES;
    assert!(
        copy.heap.bank.used() + saved <= whole.heap.bank.used(),
        "{} + {saved} > {}",
        copy.heap.bank.used(),
        whole.heap.bank.used()
    );
    // None of them is the copy's own.
    assert_eq!(copy.heap.strings.live_count(), 0);
    assert_eq!(copy.heap.natives.live_count(), 0);
}

#[test]
fn a_limit_too_small_for_the_library_is_refused_by_both() {
    let need = library_bytes();
    for memory in [0, 1, need / 2, need - 1] {
        assert!(stdlib::fresh_vm(memory, 7).is_err(), "{memory} bytes");
        assert!(built(memory, 7).is_none(), "{memory} bytes");
    }
    assert!(stdlib::fresh_vm(need, 7).is_ok());
}

#[test]
fn a_seed_changes_every_hash_as_building_with_it_would() {
    // Two copies with different seeds differ only where the seed shows: each equals the VM
    // built with its own seed (above), and they are not equal to each other.
    let a = stdlib::fresh_vm(1 << 20, 1).expect("fits");
    let b = stdlib::fresh_vm(1 << 20, 2).expect("fits");
    assert_ne!(saved(&a), saved(&b));
}

#[test]
fn what_one_process_does_to_its_library_no_other_sees() {
    let (out, _k) = run_root(
        r#"
        local vandal = spawn([[
            string.upper = nil
            math.pi = 3
            table.insert = print
            _G.print = nil
            getmetatable("").__index = {}
            return string.upper, math.pi
        ]], {fuel = 100000})
        print(vandal:wait())
        local witness = spawn([[
            return string.upper("ok"), math.pi == 3, table.insert == print, ("x"):rep(2)
        ]], {fuel = 100000})
        print(witness:wait())
        print(string.upper("root"), math.pi == 3)
        "#,
        10_000_000,
    );
    assert_eq!(out, "nil\t3\nOK\tfalse\tfalse\txx\nROOT\tfalse\n");
}
