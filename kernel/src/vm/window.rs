//! The interpreter's unchecked reads: registers, constants, instructions and opcodes of the
//! running Lua frame, without a bounds check each. This is the kernel's only `unsafe` code
//! (ARCHITECTURE.md, "unsafe"); it paid 8–17% of the machine instructions per benchmark
//! (bench/README.md, "register window").
//!
//! **Contract.** The only caller is the instruction loop (`exec.rs`), and what it passes is
//! in bounds because of two checks made elsewhere, once:
//! - the **verifier** (`verify.rs`) has accepted every prototype that can run: `Vm::load_proto`
//!   verifies compiled code as it is loaded, and a snapshot's prototypes are verified when it
//!   is restored (`check.rs`). A verified instruction names registers below the frame size
//!   (`max_stack_size`), constants that exist, and only ever lets pc reach an instruction; its
//!   opcode is one of the table's.
//! - the **frame entry** check in the loop: each time it (re)loads the running frame it checks
//!   `base + max_stack_size <= stack.len()` and `pc < code.len()`, and raises an error instead
//!   of running otherwise; CALL's fast path, which enters a callee without the reload, has
//!   checked the callee's registers against the stack and starts at pc 0 of verified (so
//!   non-empty) code. While the loop runs that frame, the running thread's stack only
//!   grows: it is swapped only by `switch_to` (coroutine switches, made by natives, which run
//!   from `run` or from the loop's frame entry, before it loads a frame and never while one
//!   runs, or by a thread's final return, after which the loop reloads its frame), and no
//!   stack is ever shortened while its thread runs.
//!
//! - the running frame's **prototype lives and does not change** while the loop runs the
//!   frame: the frame holds its closure, which holds the prototype; a prototype's code and
//!   constants are never replaced after it is loaded, and their allocations (`Rc<[_]>`) do
//!   not move when the prototype arena grows; the collector runs only outside the loop or at
//!   its frame entry (a native's step), after which the loop takes code and constants again.
//!   So the loop holds them as pointers (`Code`, `Constants`), not counted references.
//!
//! Every function also `debug_assert!`s its bounds, so the debug test runs (CI's) check the
//! contract at every access.

use crate::bytecode::{Instruction, OpCode, NUM_OPCODES};
use crate::value::Value;

/// Register `index` (absolute: the frame's base plus a verified register number) of the
/// running frame's stack.
#[inline(always)]
pub(super) fn register(stack: &mut [Value], index: usize) -> &mut Value {
    debug_assert!(index < stack.len(), "register {index} past the stack");
    // SAFETY: `index` is `base + r` with `r < max_stack_size` (verifier), and the loop checked
    // `base + max_stack_size <= stack.len()` on entering the frame, which the stack keeps
    // (module contract).
    unsafe { stack.get_unchecked_mut(index) }
}

/// The running prototype's code, held by the loop as a pointer and a length rather than a
/// counted reference: taken when the loop (re)loads a frame or CALL's fast path enters one,
/// and valid while that frame runs (module contract: the prototype lives and is unchanged).
#[derive(Clone, Copy)]
pub(super) struct Code {
    first: *const Instruction,
    len: usize,
}

impl Code {
    #[inline(always)]
    pub(super) fn of(code: &[Instruction]) -> Code {
        Code {
            first: code.as_ptr(),
            len: code.len(),
        }
    }

    #[inline(always)]
    pub(super) fn len(self) -> usize {
        self.len
    }

    /// The instruction at `i`, if there is one (for reads the verifier's flow does not cover:
    /// an instruction's neighbour).
    #[inline(always)]
    pub(super) fn get(self, i: usize) -> Option<Instruction> {
        // SAFETY: `i` is checked against the length, and the code is alive and unchanged
        // while its frame runs (module contract).
        (i < self.len).then(|| unsafe { *self.first.add(i) })
    }
}

/// The running prototype's constants, held as `Code` is.
#[derive(Clone, Copy)]
pub(super) struct Constants {
    first: *const Value,
    len: usize,
}

impl Constants {
    #[inline(always)]
    pub(super) fn of(constants: &[Value]) -> Constants {
        Constants {
            first: constants.as_ptr(),
            len: constants.len(),
        }
    }
}

/// Constant `index` of the running prototype.
#[inline(always)]
pub(super) fn constant(constants: Constants, index: usize) -> Value {
    debug_assert!(index < constants.len, "constant {index} past the table");
    // SAFETY: a verified instruction names only constants that exist (the `K`, `RegOrK` and
    // `KExtra` rules), the running frame's prototype is verified, and its constants are alive
    // and unchanged while the frame runs (module contract).
    unsafe { *constants.first.add(index) }
}

/// The instruction at `pc` of the running prototype.
#[inline(always)]
pub(super) fn instruction(code: Code, pc: usize) -> Instruction {
    debug_assert!(pc < code.len, "pc {pc} past the code");
    // SAFETY: the loop checked `pc < code.len()` on entering the frame, and from there pc only
    // moves where the verified flow lets it, always onto an instruction (`Flow`, verifier); the
    // code is alive and unchanged while the frame runs (module contract).
    unsafe { *code.first.add(pc) }
}

/// The opcode of a verified instruction.
#[inline(always)]
pub(super) fn opcode(i: Instruction) -> OpCode {
    let n = i.raw_op();
    debug_assert!((n as usize) < NUM_OPCODES, "opcode {n} outside the table");
    // SAFETY: `OpCode` is `repr(u8)` with the discriminants 0..NUM_OPCODES in table order
    // (`opcode_numbers_round_trip` pins it), and the verifier refused any instruction whose
    // opcode number is outside the table.
    unsafe { std::mem::transmute::<u8, OpCode>(n) }
}
