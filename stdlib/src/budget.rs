//! Fuel and memory accounting shared by the standard library's natives.
//!
//! Fuel: every loop over input is priced through the kernel's cost table
//! ([`kernel::cost::Work`]: bytes, values, table entries, matcher steps) and charged *before*
//! the work, so the rates live in one place. A charge the meter cannot pay ends the run out of
//! fuel (see `Vm::charge`); the native must not have changed anything by then. Long read-only
//! scans (comparisons, skips) are charged in [`CHUNK`]-sized pieces just before each piece.
//!
//! Memory: a native that builds a buffer checks the bank ([`check_memory`]) before the bytes
//! exist on the host, and as the buffer grows ([`Hook`] with a memory limit).

use std::cmp::Ordering;

use kernel::bank::OutOfMemory;
use kernel::cost::Work;
use kernel::value::Value;
use kernel::vm::{Fuel, Throw, Vm};

/// Bytes a piecewise scan looks at per charge.
pub const CHUNK: usize = 4096;

/// Charges the price of `pieces` pieces of `work`.
///
/// # Errors
/// `Throw::OutOfFuel`.
#[inline]
pub fn charge(vm: &mut Vm, work: Work, pieces: usize) -> Result<(), Throw> {
    vm.charge_work(work, pieces)
}

/// What a directive of `string.format` or an item of `string.pack`/`unpack` costs beyond the
/// bytes it writes (parsing its specification, converting its value), in units: measured by
/// `bench/cost` (`format_many`, `pack_many`, `unpack_many`).
pub const ITEM_UNITS: u64 = 8;

/// Charges for the values a formatting native converts: `ITEM_UNITS` each, plus the bytes of
/// the `__name` each may be named by in a message (`type_name` copies it).
///
/// # Errors
/// `Throw::OutOfFuel`.
pub fn charge_items(vm: &mut Vm, values: &[Value]) -> Result<(), Throw> {
    let names: usize = values.iter().map(|&v| name_bytes(vm, v)).sum();
    vm.charge(
        (values.len() as u64)
            .saturating_mul(ITEM_UNITS)
            .saturating_add(Work::Bytes.units_of(names)),
    )
}

/// The length of the `__name` metafield that names `v` in messages, if it has one.
pub fn name_bytes(vm: &Vm, v: Value) -> usize {
    if let Value::Table(_) | Value::UserData(_) = v {
        if let Some(mt) = vm.metatable(v) {
            if let Value::Str(s) = vm.meta_field(mt, kernel::metamethod::MetaMethod::Name) {
                return vm.heap.str(s).len();
            }
        }
    }
    0
}

/// Charges for `n` bytes of work (copied, scanned, converted).
///
/// # Errors
/// `Throw::OutOfFuel`.
#[inline]
pub fn charge_bytes(vm: &mut Vm, n: usize) -> Result<(), Throw> {
    vm.charge_work(Work::Bytes, n)
}

/// Compares two byte strings as `l_strcmp` does in the C locale (bytewise, then by length),
/// charging for the bytes compared a [`CHUNK`] at a time, each before it is compared: a
/// comparison of two long strings that differ early stays cheap.
///
/// `charge(n)` is called with the number of bytes about to be compared.
///
/// # Errors
/// Whatever `charge` refuses with.
pub fn compare<E>(
    charge: &mut impl FnMut(usize) -> Result<(), E>,
    a: &[u8],
    b: &[u8],
) -> Result<Ordering, E> {
    let common = a.len().min(b.len());
    let mut i = 0;
    loop {
        let end = (i + CHUNK).min(common);
        charge((end - i).max(1))?;
        match a[i..end].cmp(&b[i..end]) {
            Ordering::Equal => {}
            other => return Ok(other),
        }
        if end == common {
            return Ok(a.len().cmp(&b.len()));
        }
        i = end;
    }
}

/// Pays for a scan whose length is known only as it goes (skipping continuation bytes,
/// walking to the n-th character): one unit of fuel ahead of each
/// [`Work::MatchSteps`]`.per_unit()` bytes (a test and a branch per byte is a step, not a
/// bulk copy), so the scan never reads a byte it has not paid for.
#[derive(Default)]
pub struct Scan {
    paid: u64,
    done: u64,
}

impl Scan {
    /// Pays for the next byte.
    ///
    /// # Errors
    /// `Throw::OutOfFuel`.
    #[inline]
    pub fn step(&mut self, fuel: &mut Fuel<'_>) -> Result<(), Throw> {
        if self.done == self.paid {
            fuel.charge(1)?;
            self.paid += Work::MatchSteps.per_unit();
        }
        self.done += 1;
        Ok(())
    }
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
        _ => Err(memory_error(vm, n)),
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

/// A budget hook for the byte-level engines (patterns, `format`, `pack`): the engine reports
/// its work in its own pieces (bytes produced, matcher steps) before doing it; the hook prices
/// them as one kind of [`Work`] and pays in whole units ahead of the work (so even a single
/// step costs a unit: pieces are never lost in rounding when a hook is dropped), and (when
/// `mem_left` is set) refuses output past the memory left.
pub struct Hook<'a> {
    /// Private: a charge made around the hook would see the fuel it bought ahead.
    fuel: Fuel<'a>,
    work: Work,
    /// Pieces already paid for and not yet used.
    credit: u64,
    produced: u64,
    mem_left: Option<u64>,
    /// A charge was refused: the native's step is refused whole, and what the hook bought is
    /// given back by the step's refusal (`refuse_step`), not by the hook.
    refused: bool,
}

/// Units a hook without an output limit buys at once when the slice can pay them: a charge
/// per 256 matcher steps rather than per 4. What is left unused goes back when the hook is
/// dropped, so the total is what buying as needed costs, and a refusal comes at the same
/// step, with the same price (a batch the slice cannot pay is not refused: the hook buys
/// what the step needs instead).
const BATCH_UNITS: u64 = 64;

impl Drop for Hook<'_> {
    fn drop(&mut self) {
        if !self.refused {
            self.fuel.refund(self.credit / self.work.per_unit());
        }
    }
}

impl<'a> Hook<'a> {
    /// A hook for an engine that produces bytes, refused past `mem_left` bytes of output.
    pub fn new(fuel: Fuel<'a>, mem_left: Option<usize>) -> Hook<'a> {
        Hook {
            fuel,
            work: Work::Bytes,
            credit: 0,
            produced: 0,
            mem_left: mem_left.map(|m| m as u64),
            refused: false,
        }
    }

    /// A hook for the pattern matcher: its pieces are matcher steps (each byte it scans or
    /// compares counts as a step too).
    pub fn for_matcher(fuel: Fuel<'a>) -> Hook<'a> {
        let mut hook = Hook::new(fuel, None);
        hook.work = Work::MatchSteps;
        hook
    }

    /// Charges `n` engine pieces (bytes produced, or matcher steps).
    ///
    /// # Errors
    /// Out of fuel, or out of memory when output is tracked.
    #[inline]
    pub fn step(&mut self, n: u64) -> Result<(), Throw> {
        // Most steps of an engine are already paid for (a unit buys several pieces).
        if self.mem_left.is_none() && n <= self.credit {
            self.credit -= n;
            return Ok(());
        }
        self.step_paying(n)
    }

    #[inline(never)]
    fn step_paying(&mut self, n: u64) -> Result<(), Throw> {
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
        if n > self.credit {
            let units = self.work.units(n - self.credit);
            let bought = if self.mem_left.is_none()
                && units < BATCH_UNITS
                && self.fuel.try_charge(BATCH_UNITS)
            {
                BATCH_UNITS
            } else {
                if let Err(e) = self.fuel.charge(units) {
                    self.refused = true;
                    return Err(e);
                }
                units
            };
            self.credit = self
                .credit
                .saturating_add(bought.saturating_mul(self.work.per_unit()));
        }
        self.credit = self.credit.saturating_sub(n);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_is_lexicographic_then_by_length_and_charges_what_it_reads() {
        let long_a = [vec![b'x'; 3 * CHUNK], b"a".to_vec()].concat();
        let long_b = [vec![b'x'; 3 * CHUNK], b"b".to_vec()].concat();
        let cases: &[(&[u8], &[u8], usize)] = &[
            (b"", b"", 1),
            (b"a", b"", 1),
            (b"ab", b"abc", 2),
            (b"abd", b"abc", 3),
            (b"\0a", b"\0b", 2),
            (b"b", &long_a, 1),
            (&long_a, &long_b, 3 * CHUNK + 1),
        ];
        for &(a, b, price) in cases {
            let mut paid = 0;
            let mut pay = |n: usize| -> Result<(), ()> {
                paid += n;
                Ok(())
            };
            assert_eq!(compare(&mut pay, a, b), Ok(a.cmp(b)));
            assert!(paid >= price.min(a.len().min(b.len())), "{paid} < {price}");
            assert!(paid <= a.len().min(b.len()) + 1);
        }
        let mut refuse = |_: usize| -> Result<(), &str> { Err("no") };
        assert_eq!(compare(&mut refuse, b"a", b"b"), Err("no"));
    }
}
