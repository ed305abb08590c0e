//! Fuel charging inside a slice: the VM's side of the budget. `run` gives the slice its fuel
//! and its allowance; instructions and natives charge it before the work they price
//! (`crate::cost`), and a charge the slice cannot pay is refused before anything is done. The
//! VM keeps only the running slice's count: what a process used and may use is its host's
//! record (the kernel's `MeterTree`), which charges what `last_slice_spent` reports.
//!
//! **Invariants:**
//! - A charge may take the fuel below zero, down to `fuel_floor` (the allowance's end) and
//!   never further: work that straddles the slice's end is not split, and nothing spends past
//!   what the process may spend.
//! - A refused charge spends nothing and records its price (`refused`); the work is done again
//!   from the same state once the process can pay it. A step refused part way (an
//!   instruction rewound, a native entered again) gives back what it charged before
//!   (`refuse_step`): its price is the whole step's, paid once.
//! - Between slices the fuel is zero: a charge then is refused, never lost.

use super::{Throw, Vm};
use crate::heap::Heap;

impl Vm {
    /// Charges fuel for a native's work.
    ///
    /// # Errors
    /// `Throw::OutOfFuel` when the slice cannot pay; the native must not have changed anything
    /// yet (it is run again from the same state after a refuel).
    #[inline]
    pub fn charge(&mut self, units: u64) -> Result<(), Throw> {
        charge_fuel(&mut self.fuel, self.fuel_floor, &mut self.refused, units)
    }

    /// Charges `units` if the slice can pay them, recording no refusal when it cannot: for a
    /// fast path that leaves the work, when it cannot pay, to a path that charges with
    /// [`Vm::charge`] (and is refused there). Whether it paid.
    #[inline]
    pub(super) fn try_charge(&mut self, units: u64) -> bool {
        take_fuel(&mut self.fuel, self.fuel_floor, units)
    }

    /// Charges the price of `pieces` pieces of `work` (the cost table, `crate::cost`), as
    /// [`Vm::charge`]: before the work is done, refused when the slice cannot pay.
    ///
    /// # Errors
    /// `Throw::OutOfFuel`.
    #[inline]
    pub fn charge_work(&mut self, work: crate::cost::Work, pieces: usize) -> Result<(), Throw> {
        self.charge(work.units_of(pieces))
    }

    /// Charges fuel for work already done that could not be priced before it (a host's
    /// answer): at most what the allowance has left, so even this never takes the process past
    /// it; work that cost more drains it, and the process stops at the next boundary.
    /// Prefer [`Vm::charge_work`] before the work.
    #[inline]
    pub(crate) fn charge_debt(&mut self, units: u64) {
        let u = units.min(i64::MAX as u64) as i64;
        self.fuel = self.fuel.saturating_sub(u).max(self.fuel_floor);
    }

    /// Lends the heap (read-only) together with the slice's fuel, so a native can charge fuel
    /// step by step while it reads strings in place (pattern matching over a long subject).
    pub fn heap_and_fuel(&mut self) -> (&Heap, Fuel<'_>) {
        (
            &self.heap,
            Fuel {
                fuel: &mut self.fuel,
                floor: self.fuel_floor,
                refused: &mut self.refused,
            },
        )
    }

    /// A step (an instruction, a native's entry) was refused fuel and will be taken up again
    /// from its start, when the slice's fuel was `start`: what it charged before the refusal
    /// is given back, and the price recorded is the whole step's, so a cut never charges a
    /// step twice and the process waits until it can pay all of it.
    pub(super) fn refuse_step(&mut self, start: i64) {
        let charged = start.saturating_sub(self.fuel).max(0) as u64;
        if charged > 0 {
            self.fuel = start;
            self.refused = Some(self.refused.unwrap_or(0).saturating_add(charged));
        }
    }

    /// The host refused the request of the pending trap for want of `units` of fuel (it will
    /// be made again from the start): the process is not run again until its budget holds
    /// them (`refused`).
    pub fn refuse_request(&mut self, units: u64) {
        self.refused = Some(units);
    }

    /// The price of the charge the last slice's allowance could not pay, if it ended on one:
    /// the process needs at least this much before it can go on.
    pub fn refused(&self) -> Option<u64> {
        self.refused
    }

    /// What a charge can take now, in the running slice (down to the allowance's end): the most
    /// work a native may start without being refused. Zero between slices.
    pub fn fuel_available(&self) -> u64 {
        (self.fuel as i128 - self.fuel_floor as i128).max(0) as u64
    }

    /// What the last slice spent, its last instruction's or native's overrun included: the
    /// host charges it to the process's budget.
    pub fn last_slice_spent(&self) -> u64 {
        self.spent
    }
}

/// The running slice's fuel, lent by [`Vm::heap_and_fuel`].
pub struct Fuel<'a> {
    fuel: &'a mut i64,
    floor: i64,
    refused: &'a mut Option<u64>,
}

impl Fuel<'_> {
    /// Charges `units`, as [`Vm::charge`].
    ///
    /// # Errors
    /// `Throw::OutOfFuel`.
    #[inline]
    pub fn charge(&mut self, units: u64) -> Result<(), Throw> {
        charge_fuel(self.fuel, self.floor, self.refused, units)
    }

    /// Charges the price of `pieces` pieces of `work`, as [`Vm::charge_work`].
    ///
    /// # Errors
    /// `Throw::OutOfFuel`.
    #[inline]
    pub fn charge_work(&mut self, work: crate::cost::Work, pieces: usize) -> Result<(), Throw> {
        self.charge(work.units_of(pieces))
    }

    /// Charges `units` if the slice can pay them, without recording a refusal when it cannot:
    /// for buying ahead of need (an engine's batch of steps), where a refusal only means
    /// buying what is needed instead. Whether it paid.
    #[inline]
    pub fn try_charge(&mut self, units: u64) -> bool {
        take_fuel(self.fuel, self.floor, units)
    }

    /// Gives back `units` this lender's charges bought ahead and did not use (never more than
    /// they charged), so that buying ahead costs in the end what buying as needed does.
    #[inline]
    pub fn refund(&mut self, units: u64) {
        *self.fuel = self.fuel.saturating_add(units.min(i64::MAX as u64) as i64);
    }
}

/// A charge may take the slice below zero, down to `floor` (the allowance's end): a native's or
/// an instruction's work is not split across slices, but it never spends more than the
/// allowance. One that the allowance cannot pay is refused before the work: nothing is spent,
/// the price is kept in `refused`, and the slice ends; the process goes on only once its budget
/// holds the price (the work is then done from the same state).
#[inline]
fn charge_fuel(
    fuel: &mut i64,
    floor: i64,
    refused: &mut Option<u64>,
    units: u64,
) -> Result<(), Throw> {
    if take_fuel(fuel, floor, units) {
        return Ok(());
    }
    *refused = Some(units);
    Err(Throw::OutOfFuel)
}

/// Takes `units` from `fuel` if that leaves it at `floor` or above; whether it did.
#[inline]
fn take_fuel(fuel: &mut i64, floor: i64, units: u64) -> bool {
    let u = units.min(i64::MAX as u64) as i64;
    match fuel.checked_sub(u) {
        Some(left) if left >= floor => {
            *fuel = left;
            true
        }
        _ => false,
    }
}
