//! A process's memory bank: every byte the heap allocates is charged here before it is
//! allocated, and released when the collector frees it.
//!
//! **Invariant:** `used <= limit` at all times; a charge that would break it fails and leaves
//! the bank unchanged.

use serde::{Deserialize, Serialize};

/// The bank refused a charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not enough memory: {requested} more bytes would exceed the memory budget of {limit} bytes ({used} in use)")]
pub struct OutOfMemory {
    pub requested: usize,
    pub used: usize,
    pub limit: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Bank {
    used: usize,
    limit: usize,
    peak: usize,
}

impl Bank {
    pub fn new(limit: usize) -> Bank {
        Bank {
            used: 0,
            limit,
            peak: 0,
        }
    }

    /// Charges `bytes`.
    ///
    /// # Errors
    /// `OutOfMemory` if the charge would exceed the limit; nothing is charged then.
    #[inline]
    pub fn charge(&mut self, bytes: usize) -> Result<(), OutOfMemory> {
        match self.used.checked_add(bytes) {
            Some(n) if n <= self.limit => {
                self.used = n;
                if n > self.peak {
                    self.peak = n;
                }
                Ok(())
            }
            _ => Err(OutOfMemory {
                requested: bytes,
                used: self.used,
                limit: self.limit,
            }),
        }
    }

    /// Returns `bytes` to the bank.
    #[inline]
    pub fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }

    pub fn used(&self) -> usize {
        self.used
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Sets the usage to what a restored heap's objects take (a snapshot's own figure is not
    /// trusted).
    pub(crate) fn set_used(&mut self, used: usize) {
        self.used = used;
        self.peak = self.peak.max(used);
    }

    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        fn never_exceeds_limit(limit: u16, ops: Vec<(bool, u16)>) -> bool {
            let mut bank = Bank::new(limit as usize);
            for (charge, n) in ops {
                if charge {
                    let before = bank.used();
                    if bank.charge(n as usize).is_err() && bank.used() != before {
                        return false;
                    }
                } else {
                    bank.release(n as usize);
                }
                if bank.used() > bank.limit() {
                    return false;
                }
            }
            true
        }
    }
}
