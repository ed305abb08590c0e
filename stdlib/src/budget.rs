//! Fuel and memory accounting shared by the `string`, `table`, `math` and `utf8` natives.
//!
//! Fuel: one unit per [`BYTES_PER_UNIT`] bytes (or engine steps) of work, plus one per call.
//! A native's charge may run past the end of the runner's slice but never past the meter (see
//! `Vm::charge`); one that the meter cannot pay ends the run out of fuel.

use kernel::bank::OutOfMemory;
use kernel::value::Value;
use kernel::vm::{Throw, Vm};

/// Bytes (or matcher steps) of work per unit of fuel.
pub const BYTES_PER_UNIT: u64 = 16;
/// Charges fuel for work proportional to `n` bytes: `1 + n / 16`.
///
/// # Errors
/// `Throw::OutOfFuel`.
pub fn charge_work(vm: &mut Vm, n: usize) -> Result<(), Throw> {
    let units = 1 + n as u64 / BYTES_PER_UNIT;
    let (_, mut fuel) = vm.heap_and_fuel();
    fuel.charge(units)
}

/// Charges `units` of fuel directly.
///
/// # Errors
/// `Throw::OutOfFuel`.
pub fn charge_units(vm: &mut Vm, units: u64) -> Result<(), Throw> {
    let (_, mut fuel) = vm.heap_and_fuel();
    fuel.charge(units)
}

/// Fails with `not enough memory` when `n` more bytes would not fit in the memory bank, before
/// anything is allocated.
///
/// # Errors
/// `Throw::Memory`.
pub fn check_memory(vm: &Vm, n: usize) -> Result<(), Throw> {
    let bank = &vm.heap.bank;
    match bank.used().checked_add(n) {
        Some(total) if total <= bank.limit() => Ok(()),
        _ => Err(Throw::Memory(OutOfMemory {
            requested: n,
            used: bank.used(),
            limit: bank.limit(),
        })),
    }
}

/// The memory error for a buffer of `n` bytes.
pub fn memory_error(vm: &Vm, n: usize) -> Throw {
    Throw::Memory(OutOfMemory {
        requested: n,
        used: vm.heap.bank.used(),
        limit: vm.heap.bank.limit(),
    })
}

/// Bytes the bank can still lend.
pub fn memory_left(vm: &Vm) -> usize {
    vm.heap.bank.limit().saturating_sub(vm.heap.bank.used())
}

/// A budget hook for the byte-level engines: accumulates engine units, charges one fuel unit
/// per [`BYTES_PER_UNIT`], and (when `mem_left` is set) refuses output past the memory left.
pub struct Hook<'a> {
    pub fuel: kernel::vm::Fuel<'a>,
    /// Engine units per fuel unit: bytes for output, 1 for matcher steps (a backtracking step
    /// costs about what a VM instruction does).
    per_unit: u64,
    acc: u64,
    produced: u64,
    mem_left: Option<u64>,
}

impl<'a> Hook<'a> {
    pub fn new(fuel: kernel::vm::Fuel<'a>, mem_left: Option<usize>) -> Hook<'a> {
        Hook {
            fuel,
            per_unit: BYTES_PER_UNIT,
            acc: 0,
            produced: 0,
            mem_left: mem_left.map(|m| m as u64),
        }
    }

    /// A hook for the pattern matcher: one fuel unit per step.
    pub fn for_matcher(fuel: kernel::vm::Fuel<'a>) -> Hook<'a> {
        Hook {
            per_unit: 1,
            ..Hook::new(fuel, None)
        }
    }

    /// Charges `n` engine units (bytes produced, or matcher steps).
    ///
    /// # Errors
    /// Out of fuel, or out of memory when output is tracked.
    pub fn step(&mut self, n: u64) -> Result<(), Throw> {
        if let Some(left) = self.mem_left {
            self.produced = self.produced.saturating_add(n);
            if self.produced > left {
                return Err(Throw::Memory(OutOfMemory {
                    requested: self.produced as usize,
                    used: 0,
                    limit: left as usize,
                }));
            }
        }
        self.acc = self.acc.saturating_add(n);
        if self.acc >= self.per_unit {
            let units = self.acc / self.per_unit;
            self.acc %= self.per_unit;
            self.fuel.charge(units)?;
        }
        Ok(())
    }
}

/// Interns a byte buffer after checking the memory bank.
///
/// # Errors
/// Out of memory.
pub fn new_string(vm: &mut Vm, bytes: &[u8]) -> Result<Value, Throw> {
    check_memory(vm, bytes.len())?;
    vm.intern(bytes)
}
