//! The cost model: what each kind of work costs in fuel, in one table (DESIGN principle 4).
//!
//! One unit of fuel is the price of one simple instruction (`MOVE`, `ADDI`, a jump). The
//! promise: **one unit never buys more host CPU than about ten simple instructions do**,
//! whatever a program does. Work whose size depends on the data — bytes copied, compared,
//! scanned or converted; values moved; table entries visited; source compiled; objects
//! copied between processes — is priced per piece here, and charged *before* it is done
//! through the one choke point, [`crate::vm::Vm::charge`] (or the `Fuel` it lends): a charge the
//! meter cannot pay is refused, the work does not happen, and the process stops out of fuel.
//!
//! `for_each_work!` is the one declaration: each row names a kind of work, the number of pieces
//! one unit buys, and what a piece is. [`Work`], [`Work::units`], [`Work::PER_UNIT`] and the
//! table that `bench/cost` prints come from it; nothing else repeats the rates. The rates are
//! measured, not guessed: `bench/cost/run.py` does every kind of work at growing sizes under a
//! fixed budget and reports host time per unit against a plain loop in the same run.

/// The table of work kinds: `Name = pieces per unit, "what a piece is"`.
#[macro_export]
macro_rules! for_each_work {
    ($m:ident) => {
        $m! {
            /// A bytecode instruction: the base price every instruction pays.
            Instruction = 1, "instruction";
            /// Bytes copied, compared, hashed, scanned or converted (strings, buffers, I/O).
            Bytes = 16, "byte";
            /// Stack values moved (varargs, call arguments and results, `table.unpack`).
            Values = 2, "value";
            /// Table entries created, visited or moved.
            Entries = 4, "table entry";
            /// Table slots a rehash walks and re-indexes (random access into a new index:
            /// `bench/cost` row `table_churn`).
            Rehash = 1, "rehashed slot";
            /// Steps of the pattern matcher (one backtracking step each).
            MatchSteps = 4, "matcher step";
            /// Source bytes given to the compiler (`load`, `spawn`, `import`).
            SourceBytes = 1, "source byte";
            /// Compiler steps: a token read, an instruction emitted, a link of a jump list, a
            /// local, upvalue, label or goto looked at.
            Compiler = 1, "compiler step";
            /// Values or table entries copied between processes (and into or out of snapshots).
            Copied = 1, "copied value";
            /// Kernel records created or walked (c-list slots, keys, meters, processes).
            Records = 1, "kernel record";
        }
    };
}

/// The fixed price of a kernel service trap (`status`, `wait`, `call`, `spawn`, …) beyond the
/// work it prices itself: leaving the VM for the kernel and coming back, measured by
/// `bench/cost` (`trap_many_procs`, `wait_results`) at about a microsecond.
pub const SERVICE_UNITS: u64 = 32;

/// The fixed price of resuming a coroutine beyond the instruction that calls `resume`: the
/// switch of threads there and back (charged by `Vm::resume_coroutine`, and by the VM's own
/// step for a plain switch, `Vm::switch_now`).
pub const RESUME_UNITS: u64 = 5;

/// The fixed price of a gateway call that may create, truncate or remove a directory entry
/// (`dir` `write`, `append`, `mkdir`, `remove`, `open`), beyond its bytes: the host's file
/// system spends far more on these than on a read (measured by `bench/cost`, `file_write`: up
/// to ~750 µs of kernel time to create a file on an overlay file system).
pub const FILE_SYSTEM_CHANGE_UNITS: u64 = 8192;

/// The fixed price of creating a process beyond its source and copies: a VM, its standard
/// library, its meters and records (measured by `bench/cost`, `spawn_wait`).
pub const SPAWN_UNITS: u64 = 4096;

macro_rules! declare_work {
    ($($(#[$doc:meta])* $name:ident = $per:expr, $piece:expr;)*) => {
        /// A kind of work a process can cause, priced in [`for_each_work!`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Work {
            $($(#[$doc])* $name,)*
        }

        impl Work {
            /// Every kind, in table order.
            pub const ALL: &'static [Work] = &[$(Work::$name),*];

            /// How many pieces of this work one unit of fuel buys.
            pub const fn per_unit(self) -> u64 {
                match self {
                    $(Work::$name => $per,)*
                }
            }

            /// What one piece is ("byte", "table entry", …), for reports.
            pub const fn piece(self) -> &'static str {
                match self {
                    $(Work::$name => $piece,)*
                }
            }

            /// The row's name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Work::$name => stringify!($name),)*
                }
            }
        }
    };
}

for_each_work!(declare_work);

impl Work {
    /// The price of `pieces` pieces of this work: rounded up, so any work at all costs at
    /// least one unit, and saturating (a price too large to pay is simply refused).
    #[inline]
    pub const fn units(self, pieces: u64) -> u64 {
        pieces.div_ceil(self.per_unit())
    }

    /// The price of `pieces` as a `usize` count (lengths, element counts).
    #[inline]
    pub const fn units_of(self, pieces: usize) -> u64 {
        self.units(pieces as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_round_up_and_never_overflow() {
        assert_eq!(Work::Bytes.units(0), 0);
        assert_eq!(Work::Bytes.units(1), 1);
        assert_eq!(Work::Bytes.units(16), 1);
        assert_eq!(Work::Bytes.units(17), 2);
        assert_eq!(Work::Instruction.units(7), 7);
        assert_eq!(Work::Bytes.units(u64::MAX), u64::MAX / 16 + 1);
    }

    #[test]
    fn every_kind_has_a_positive_rate_and_a_name() {
        for w in Work::ALL {
            assert!(w.per_unit() > 0, "{w:?}");
            assert!(!w.piece().is_empty() && !w.name().is_empty());
        }
    }
}
