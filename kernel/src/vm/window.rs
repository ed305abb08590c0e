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

/// Constant `index` of the running prototype.
#[inline(always)]
pub(super) fn constant(constants: &[Value], index: usize) -> Value {
    debug_assert!(index < constants.len(), "constant {index} past the table");
    // SAFETY: a verified instruction names only constants that exist (the `K`, `RegOrK` and
    // `KExtra` rules), and the running frame's prototype is verified (module contract).
    unsafe { *constants.get_unchecked(index) }
}

/// The instruction at `pc` of the running prototype.
#[inline(always)]
pub(super) fn instruction(code: &[Instruction], pc: usize) -> Instruction {
    debug_assert!(pc < code.len(), "pc {pc} past the code");
    // SAFETY: the loop checked `pc < code.len()` on entering the frame, and from there pc only
    // moves where the verified flow lets it, always onto an instruction (`Flow`, verifier).
    unsafe { *code.get_unchecked(pc) }
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
