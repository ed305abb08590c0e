//! The instruction set: one table (`for_each_op!`) gives every opcode its name, encoding mode,
//! whether it writes register A or is a test, disassembly format, control flow (`Flow`) and
//! what its operands name (`Rule`); the `OpCode` enum, the name table, the disassembler, the
//! compiler's and the debugger's opcode properties and the bytecode verifier (`vm::verify`)
//! are all expanded from it or read it, so nothing else repeats the list.
//!
//! There is no per-opcode fuel price: every instruction pays one unit (`Work::Instruction`)
//! as it starts, and an instruction whose work depends on its data (a table's size, the
//! values a call moves, the bytes a concatenation copies) prices that work through
//! `cost.rs` before doing it.
//!
//! The encoding follows Lua 5.4's `lopcodes.h` (32-bit words, 7-bit opcode), so that the
//! compiler's register allocation and the `luac -l`-style listing match the reference:
//!
//! ```text
//!  iABC   C(8) | B(8) | k(1) | A(8) | Op(7)
//!  iABx        Bx(17)      | A(8) | Op(7)
//!  iAsBx      sBx(17)      | A(8) | Op(7)
//!  iAx              Ax(25)        | Op(7)
//!  isJ              sJ(25)        | Op(7)
//! ```

use serde::{Deserialize, Serialize};

/// How an instruction's operand bits are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    ABC,
    ABx,
    AsBx,
    Ax,
    SJ,
}

/// The master opcode table. Each row: variant, listing name, mode, *writes A*, *test*, operand
/// format; then the control flow (`Flow`) and what the operands name (`Rule`s), which the
/// verifier (`vm::verify`) checks for every instruction of an untrusted prototype.
///
/// *Writes A* (Lua's `testAMode`): the instruction sets register A, which is what the
/// debugger's symbolic execution (`vm::debug`) tracks to name a value. *Test* (Lua's
/// `testTMode`): a comparison or test that decides whether the following JMP is taken, which
/// the compiler looks for when it patches jump lists.
///
/// The operand format drives the disassembler (`compiler::disassemble`, in the style of
/// `luac -l -l`). Before ` ; `: the operands printed, a space-separated list among
/// `A B C sB sC Bx sBx Ax sJ k Ck` (`k` prints the k bit as a number, `Ck` prints C followed
/// by `k` when the bit is set). After ` ; `: the comment items, joined by spaces:
/// `K:f` constant indexed by field f (`K:X` by the following EXTRAARG), `Kk:C` constant C
/// only when k is set, `U:f` upvalue name, `ev` metamethod event named by C, `flip` when k,
/// `nil` (B+1 out), `call`, `tail`, `ret`, `vout` (value counts), `jmp`, `back`, `fwd`,
/// `forprep` (jump targets), `size`/`sizek` (table size with EXTRAARG), `proto` (address).
#[macro_export]
macro_rules! for_each_op {
    ($m:ident) => {
        $m! {
            Move = "MOVE", ABC, true, false, "A B",
                Next, [Reg(A), Reg(B)];
            LoadI = "LOADI", AsBx, true, false, "A sBx",
                Next, [Reg(A)];
            LoadF = "LOADF", AsBx, true, false, "A sBx",
                Next, [Reg(A)];
            LoadK = "LOADK", ABx, true, false, "A Bx ; K:Bx",
                Next, [Reg(A), K(Bx, Any)];
            LoadKX = "LOADKX", ABx, true, false, "A ; K:X",
                Next, [Reg(A), Extra { if_k: false }, KExtra];
            LoadFalse = "LOADFALSE", ABC, true, false, "A",
                Next, [Reg(A)];
            LFalseSkip = "LFALSESKIP", ABC, true, false, "A",
                Skip, [Reg(A)];
            LoadTrue = "LOADTRUE", ABC, true, false, "A",
                Next, [Reg(A)];
            LoadNil = "LOADNIL", ABC, true, false, "A B ; nil",
                Next, [RegsB(1)];
            GetUpval = "GETUPVAL", ABC, true, false, "A B ; U:B",
                Next, [Reg(A), Upval(B)];
            SetUpval = "SETUPVAL", ABC, false, false, "A B ; U:B",
                Next, [Reg(A), Upval(B)];
            GetTabUp = "GETTABUP", ABC, true, false, "A B C ; U:B K:C",
                Next, [Reg(A), Upval(B), K(C, Str)];
            GetTable = "GETTABLE", ABC, true, false, "A B C",
                Next, [Reg(A), Reg(B), Reg(C)];
            GetI = "GETI", ABC, true, false, "A B C",
                Next, [Reg(A), Reg(B)];
            GetField = "GETFIELD", ABC, true, false, "A B C ; K:C",
                Next, [Reg(A), Reg(B), K(C, Str)];
            SetTabUp = "SETTABUP", ABC, false, false, "A B Ck ; U:A K:B Kk:C",
                Next, [Upval(A), K(B, Str), RegOrK(Any)];
            SetTable = "SETTABLE", ABC, false, false, "A B Ck ; Kk:C",
                Next, [Reg(A), Reg(B), RegOrK(Any)];
            SetI = "SETI", ABC, false, false, "A B Ck ; Kk:C",
                Next, [Reg(A), RegOrK(Any)];
            SetField = "SETFIELD", ABC, false, false, "A B Ck ; K:B Kk:C",
                Next, [Reg(A), K(B, Str), RegOrK(Any)];
            NewTable = "NEWTABLE", ABC, true, false, "A B C ; size",
                Next, [Reg(A), Extra { if_k: false }];
            SelfOp = "SELF", ABC, true, false, "A B Ck ; Kk:C",
                Next, [Regs(2), Reg(B), RegOrK(Str)];
            AddI = "ADDI", ABC, true, false, "A B sC",
                NextOrSkip, [Reg(A), Reg(B), Then(OpCode::MmBinI)];
            AddK = "ADDK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            SubK = "SUBK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            MulK = "MULK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            ModK = "MODK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            PowK = "POWK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            DivK = "DIVK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            IDivK = "IDIVK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            BAndK = "BANDK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            BOrK = "BORK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            BXorK = "BXORK", ABC, true, false, "A B C ; K:C",
                NextOrSkip, [Reg(A), Reg(B), K(C, Num), Then(OpCode::MmBinK)];
            ShrI = "SHRI", ABC, true, false, "A B sC",
                NextOrSkip, [Reg(A), Reg(B), Then(OpCode::MmBinI)];
            ShlI = "SHLI", ABC, true, false, "A B sC",
                NextOrSkip, [Reg(A), Reg(B), Then(OpCode::MmBinI)];
            Add = "ADD", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            Sub = "SUB", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            Mul = "MUL", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            Mod = "MOD", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            Pow = "POW", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            Div = "DIV", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            IDiv = "IDIV", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            BAnd = "BAND", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            BOr = "BOR", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            BXor = "BXOR", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            Shl = "SHL", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            Shr = "SHR", ABC, true, false, "A B C",
                NextOrSkip, [Reg(A), Reg(B), Reg(C), Then(OpCode::MmBin)];
            MmBin = "MMBIN", ABC, false, false, "A B C ; ev",
                Next, [Follows, Reg(A), Reg(B), Event];
            MmBinI = "MMBINI", ABC, false, false, "A sB C k ; ev flip",
                Next, [Follows, Reg(A), Event];
            MmBinK = "MMBINK", ABC, false, false, "A B C k ; ev K:B flip",
                Next, [Follows, Reg(A), K(B, Num), Event];
            Unm = "UNM", ABC, true, false, "A B",
                Next, [Reg(A), Reg(B)];
            BNot = "BNOT", ABC, true, false, "A B",
                Next, [Reg(A), Reg(B)];
            Not = "NOT", ABC, true, false, "A B",
                Next, [Reg(A), Reg(B)];
            Len = "LEN", ABC, true, false, "A B",
                Next, [Reg(A), Reg(B)];
            Concat = "CONCAT", ABC, true, false, "A B",
                Next, [Reg(A), RegsB(0)];
            Close = "CLOSE", ABC, false, false, "A",
                Next, [Reg(A)];
            Tbc = "TBC", ABC, false, false, "A",
                Next, [Reg(A)];
            Jmp = "JMP", SJ, false, false, "sJ ; jmp",
                Jump, [];
            Eq = "EQ", ABC, false, true, "A B k",
                NextOrSkip, [Reg(A), Reg(B), Then(OpCode::Jmp)];
            Lt = "LT", ABC, false, true, "A B k",
                NextOrSkip, [Reg(A), Reg(B), Then(OpCode::Jmp)];
            Le = "LE", ABC, false, true, "A B k",
                NextOrSkip, [Reg(A), Reg(B), Then(OpCode::Jmp)];
            EqK = "EQK", ABC, false, true, "A B k ; K:B",
                NextOrSkip, [Reg(A), K(B, Any), Then(OpCode::Jmp)];
            EqI = "EQI", ABC, false, true, "A sB k",
                NextOrSkip, [Reg(A), Then(OpCode::Jmp)];
            LtI = "LTI", ABC, false, true, "A sB k",
                NextOrSkip, [Reg(A), Then(OpCode::Jmp)];
            LeI = "LEI", ABC, false, true, "A sB k",
                NextOrSkip, [Reg(A), Then(OpCode::Jmp)];
            GtI = "GTI", ABC, false, true, "A sB k",
                NextOrSkip, [Reg(A), Then(OpCode::Jmp)];
            GeI = "GEI", ABC, false, true, "A sB k",
                NextOrSkip, [Reg(A), Then(OpCode::Jmp)];
            Test = "TEST", ABC, false, true, "A k",
                NextOrSkip, [Reg(A), Then(OpCode::Jmp)];
            TestSet = "TESTSET", ABC, true, true, "A B k",
                NextOrSkip, [Reg(A), Reg(B), Then(OpCode::Jmp)];
            Call = "CALL", ABC, true, false, "A B C ; call",
                Next, [Reg(A), RegsB(0), RegsC(-1), OpenIn { first: 1 }, OpenOut { always: false }];
            TailCall = "TAILCALL", ABC, true, false, "A B Ck ; tail",
                Next, [Reg(A), RegsB(0), OpenIn { first: 1 }, OpenOut { always: true }];
            Return = "RETURN", ABC, false, false, "A B Ck ; ret",
                Return, [RegsB(-1), OpenIn { first: 0 }];
            Return0 = "RETURN0", ABC, false, false, "",
                Return, [];
            Return1 = "RETURN1", ABC, false, false, "A",
                Return, [Reg(A)];
            ForLoop = "FORLOOP", ABx, true, false, "A Bx ; back",
                ForLoop, [Regs(4)];
            ForPrep = "FORPREP", ABx, true, false, "A Bx ; forprep",
                ForPrep, [Regs(4)];
            TForPrep = "TFORPREP", ABx, false, false, "A Bx ; fwd",
                TForPrep, [Regs(4)];
            TForCall = "TFORCALL", ABC, false, false, "A C",
                Next, [Regs(7), RegsC(4), Then(OpCode::TForLoop)];
            TForLoop = "TFORLOOP", ABx, true, false, "A Bx ; back",
                TForLoop, [Regs(5)];
            SetList = "SETLIST", ABC, false, false, "A B C ; sizek",
                Next, [Reg(A), RegsB(1), OpenIn { first: 1 }, Extra { if_k: true }];
            Closure = "CLOSURE", ABx, true, false, "A Bx ; proto",
                Next, [Reg(A), Proto];
            Vararg = "VARARG", ABC, true, false, "A C ; vout",
                Next, [Reg(A), RegsC(-1), OpenOut { always: false }, VarargOnly];
            VarargPrep = "VARARGPREP", ABC, true, false, "A",
                Next, [VarargOnly];
            ExtraArg = "EXTRAARG", Ax, false, false, "Ax",
                Next, [Follows];
        }
    };
}

macro_rules! define_opcodes {
    ($($variant:ident = $name:literal, $mode:ident, $writes_a:literal, $test:literal,
        $fmt:literal, $flow:ident, [$($rule:expr),*];)*) => {
        /// A Lua 5.4 opcode (see the module docs for the encoding).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum OpCode {
            $($variant,)*
        }

        /// Every opcode in encoding order.
        pub const ALL_OPCODES: &[OpCode] = &[$(OpCode::$variant,)*];

        impl OpCode {
            /// The name used in listings (`luac -l` style).
            pub const fn name(self) -> &'static str {
                match self { $(OpCode::$variant => $name,)* }
            }
            /// How the operands are encoded.
            pub const fn mode(self) -> Mode {
                match self { $(OpCode::$variant => Mode::$mode,)* }
            }
            /// Whether the instruction sets register A (Lua's `testAMode`). LOADNIL, CALL,
            /// TAILCALL and TFORCALL set a range, which their readers compute themselves.
            pub const fn writes_a(self) -> bool {
                match self { $(OpCode::$variant => $writes_a,)* }
            }
            /// Whether the instruction is a test followed by the JMP it decides (Lua's
            /// `testTMode`).
            pub const fn is_test(self) -> bool {
                match self { $(OpCode::$variant => $test,)* }
            }
            /// Operand format for the disassembler (see `for_each_op!`).
            pub const fn operand_format(self) -> &'static str {
                match self { $(OpCode::$variant => $fmt,)* }
            }
            /// Where execution goes after an instruction of this kind.
            pub const fn flow(self) -> Flow {
                match self { $(OpCode::$variant => Flow::$flow,)* }
            }
            /// What the operands name and which instructions must surround this one: the
            /// facts the interpreter relies on without checking them.
            pub const fn rules(self) -> &'static [Rule] {
                use Field::*;
                use KType::*;
                use Rule::*;
                match self { $(OpCode::$variant => &[$($rule),*],)* }
            }
        }
    };
}

/// An instruction field that names a register, constant or upvalue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    A,
    B,
    C,
    Bx,
}

/// The type a constant operand must have: the compiler puts only strings in name slots
/// (`GETFIELD`'s key, `SETTABUP`'s key, …) and only numbers beside arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KType {
    Any,
    Str,
    Num,
}

/// One fact about an instruction's operands that the interpreter relies on (and the verifier,
/// `vm::verify`, checks). "Registers `A..A+n`" means `A + n` is at most the frame size
/// (`max_stack_size`); a single register must be below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The field is a register.
    Reg(Field),
    /// Registers `A..A+n` (SELF's object slot, the numeric and generic `for` state).
    Regs(u8),
    /// Registers `A..A+B+bias` (nothing past A when the sum is not positive).
    RegsB(i8),
    /// Registers `A..A+C+bias` (nothing past A when the sum is not positive).
    RegsC(i8),
    /// C is a constant of that type when k is set, a register otherwise.
    RegOrK(KType),
    /// The field is an index into the constants, of that type.
    K(Field, KType),
    /// The `Ax` of the following EXTRAARG is an index into the constants (LOADKX).
    KExtra,
    /// The field is an index into the running closure's upvalues.
    Upval(Field),
    /// `Bx` is an index into the nested prototypes, whose upvalue descriptors capture this
    /// frame's registers and upvalues (CLOSURE).
    Proto,
    /// C is a binary arithmetic or bitwise metamethod event (`__add` … `__shr`).
    Event,
    /// The next instruction is an EXTRAARG (only when k is set, if `if_k`); execution skips it.
    Extra { if_k: bool },
    /// The next instruction has this opcode: arithmetic is followed by its MMBIN, a test by
    /// its JMP, TFORCALL by TFORLOOP.
    Then(OpCode),
    /// Valid only right after an instruction that names this opcode with `Then` or `Extra`
    /// (MMBIN reads its destination from the arithmetic before it).
    Follows,
    /// When B is 0, the operands run from `A + first` up to the stack top, which the previous
    /// instruction (an `OpenOut` one) must have set at or above `A + first`.
    OpenIn { first: u8 },
    /// Leaves a list of results from A up to the stack top (always, or when C is 0); the next
    /// instruction must take them (`OpenIn` with B = 0).
    OpenOut { always: bool },
    /// Valid only in a vararg function.
    VarargOnly,
}

/// Where execution continues after an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// The next instruction (past its EXTRAARG, if it has one).
    Next,
    /// The next instruction, or the one after it: a test and its JMP, arithmetic and its MMBIN.
    NextOrSkip,
    /// Always the instruction after the next (LFALSESKIP).
    Skip,
    /// `pc + 1 + sJ` (JMP).
    Jump,
    /// Nowhere: the function returns (a RETURN with to-be-closed variables runs again after a
    /// `__close` call, at the same pc).
    Return,
    /// FORPREP: the next instruction, or past the FORLOOP at `pc + 1 + Bx` that jumps back to
    /// the next instruction.
    ForPrep,
    /// FORLOOP: the next instruction, or back to `pc + 1 - Bx`, just after its FORPREP.
    ForLoop,
    /// TFORPREP: to the TFORCALL at `pc + 1 + Bx`, followed by the TFORLOOP that jumps back to
    /// the next instruction.
    TForPrep,
    /// TFORLOOP: the next instruction, or back to `pc + 1 - Bx`, just after its TFORPREP.
    TForLoop,
}

for_each_op!(define_opcodes);

/// Number of opcodes.
pub const NUM_OPCODES: usize = ALL_OPCODES.len();

// Opcodes are 7 bits wide.
const _: () = assert!(NUM_OPCODES <= 128);

impl OpCode {
    /// Decodes an opcode number; `None` for numbers outside the table.
    #[inline]
    pub fn from_u8(n: u8) -> Option<OpCode> {
        ALL_OPCODES.get(n as usize).copied()
    }
}

pub const SIZE_OP: u32 = 7;
pub const SIZE_A: u32 = 8;
pub const SIZE_B: u32 = 8;
pub const SIZE_C: u32 = 8;
pub const SIZE_BX: u32 = SIZE_C + SIZE_B + 1;
pub const SIZE_AX: u32 = SIZE_BX + SIZE_A;
pub const SIZE_SJ: u32 = SIZE_BX + SIZE_A;

pub const POS_A: u32 = SIZE_OP;
pub const POS_K: u32 = POS_A + SIZE_A;
pub const POS_B: u32 = POS_K + 1;
pub const POS_C: u32 = POS_B + SIZE_B;
pub const POS_BX: u32 = POS_K;
pub const POS_AX: u32 = POS_A;
pub const POS_SJ: u32 = POS_A;

pub const MAXARG_A: u32 = (1 << SIZE_A) - 1;
pub const MAXARG_B: u32 = (1 << SIZE_B) - 1;
pub const MAXARG_C: u32 = (1 << SIZE_C) - 1;
pub const MAXARG_BX: u32 = (1 << SIZE_BX) - 1;
pub const MAXARG_AX: u32 = (1 << SIZE_AX) - 1;
pub const MAXARG_SJ: u32 = (1 << SIZE_SJ) - 1;
/// Offset that makes sBx signed.
pub const OFFSET_SBX: i32 = (MAXARG_BX >> 1) as i32;
/// Offset that makes sJ signed.
pub const OFFSET_SJ: i32 = (MAXARG_SJ >> 1) as i32;
/// Offset that makes sB and sC signed.
pub const OFFSET_SC: i32 = (MAXARG_C >> 1) as i32;
/// A function's frame (`max_stack_size`) is smaller than this (Lua's `MAXREGS`): the compiler
/// refuses functions that need more, and the verifier refuses such frames.
pub const MAX_REGISTERS: u32 = 255;
/// Number of list items to accumulate before a SETLIST instruction (Lua's LFIELDS_PER_FLUSH).
pub const FIELDS_PER_FLUSH: u32 = 50;

/// One encoded instruction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instruction(pub u32);

impl std::fmt::Debug for Instruction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.opcode() {
            Some(op) => write!(f, "{}({:#010x})", op.name(), self.0),
            None => write!(f, "INVALID({:#010x})", self.0),
        }
    }
}

#[inline]
const fn mask(size: u32, pos: u32) -> u32 {
    ((1u32 << size) - 1) << pos
}

impl Instruction {
    #[inline]
    pub fn abck(op: OpCode, a: u32, b: u32, c: u32, k: bool) -> Instruction {
        Instruction(
            (op as u32) | (a << POS_A) | (b << POS_B) | (c << POS_C) | ((k as u32) << POS_K),
        )
    }
    #[inline]
    pub fn abx(op: OpCode, a: u32, bx: u32) -> Instruction {
        Instruction((op as u32) | (a << POS_A) | (bx << POS_BX))
    }
    #[inline]
    pub fn asbx(op: OpCode, a: u32, sbx: i32) -> Instruction {
        Instruction::abx(op, a, (sbx + OFFSET_SBX) as u32)
    }
    #[inline]
    pub fn ax(op: OpCode, ax: u32) -> Instruction {
        Instruction((op as u32) | (ax << POS_AX))
    }
    #[inline]
    pub fn sj(op: OpCode, sj: i32, k: bool) -> Instruction {
        Instruction((op as u32) | (((sj + OFFSET_SJ) as u32) << POS_SJ) | ((k as u32) << POS_K))
    }

    /// The opcode, or `None` if the word does not hold a valid one.
    #[inline]
    pub fn opcode(self) -> Option<OpCode> {
        OpCode::from_u8((self.0 & 0x7f) as u8)
    }
    #[inline]
    pub fn raw_op(self) -> u8 {
        (self.0 & 0x7f) as u8
    }
    #[inline]
    pub fn a(self) -> u32 {
        (self.0 >> POS_A) & MAXARG_A
    }
    #[inline]
    pub fn b(self) -> u32 {
        (self.0 >> POS_B) & MAXARG_B
    }
    #[inline]
    pub fn c(self) -> u32 {
        (self.0 >> POS_C) & MAXARG_C
    }
    #[inline]
    pub fn sb(self) -> i32 {
        self.b() as i32 - OFFSET_SC
    }
    #[inline]
    pub fn sc(self) -> i32 {
        self.c() as i32 - OFFSET_SC
    }
    #[inline]
    pub fn k(self) -> bool {
        (self.0 >> POS_K) & 1 != 0
    }
    #[inline]
    pub fn bx(self) -> u32 {
        (self.0 >> POS_BX) & MAXARG_BX
    }
    #[inline]
    pub fn sbx(self) -> i32 {
        self.bx() as i32 - OFFSET_SBX
    }
    #[inline]
    pub fn ax_arg(self) -> u32 {
        (self.0 >> POS_AX) & MAXARG_AX
    }
    #[inline]
    pub fn sj_arg(self) -> i32 {
        ((self.0 >> POS_SJ) & MAXARG_SJ) as i32 - OFFSET_SJ
    }

    pub fn set_opcode(&mut self, op: OpCode) {
        self.0 = (self.0 & !0x7f) | op as u32;
    }
    pub fn set_a(&mut self, v: u32) {
        self.0 = (self.0 & !mask(SIZE_A, POS_A)) | ((v << POS_A) & mask(SIZE_A, POS_A));
    }
    pub fn set_b(&mut self, v: u32) {
        self.0 = (self.0 & !mask(SIZE_B, POS_B)) | ((v << POS_B) & mask(SIZE_B, POS_B));
    }
    pub fn set_c(&mut self, v: u32) {
        self.0 = (self.0 & !mask(SIZE_C, POS_C)) | ((v << POS_C) & mask(SIZE_C, POS_C));
    }
    pub fn set_k(&mut self, v: bool) {
        self.0 = (self.0 & !mask(1, POS_K)) | ((v as u32) << POS_K);
    }
    pub fn set_bx(&mut self, v: u32) {
        self.0 = (self.0 & !mask(SIZE_BX, POS_BX)) | ((v << POS_BX) & mask(SIZE_BX, POS_BX));
    }
    pub fn set_sbx(&mut self, v: i32) {
        self.set_bx((v + OFFSET_SBX) as u32);
    }
    pub fn set_sj(&mut self, v: i32) {
        let m = mask(SIZE_SJ, POS_SJ);
        self.0 = (self.0 & !m) | ((((v + OFFSET_SJ) as u32) << POS_SJ) & m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_is_one_word() {
        assert_eq!(std::mem::size_of::<Instruction>(), 4);
    }

    #[test]
    fn opcode_numbers_round_trip() {
        for (i, op) in ALL_OPCODES.iter().enumerate() {
            assert_eq!(*op as usize, i);
            assert_eq!(OpCode::from_u8(i as u8), Some(*op));
        }
        assert_eq!(OpCode::from_u8(NUM_OPCODES as u8), None);
    }

    #[test]
    fn rules_fit_the_encoding() {
        for &op in ALL_OPCODES {
            for &r in op.rules() {
                let field = match r {
                    Rule::Reg(f) | Rule::K(f, _) | Rule::Upval(f) => Some(f),
                    Rule::RegOrK(_) | Rule::Event | Rule::RegsC(_) => Some(Field::C),
                    Rule::RegsB(_) | Rule::OpenIn { .. } => Some(Field::B),
                    Rule::Proto => Some(Field::Bx),
                    _ => None,
                };
                let ok = match field {
                    Some(Field::Bx) => op.mode() == Mode::ABx,
                    Some(_) => op.mode() == Mode::ABC || (field == Some(Field::A)),
                    None => true,
                };
                assert!(ok, "{}: {r:?} in mode {:?}", op.name(), op.mode());
                // An instruction that must follow another is named by one.
                if r == Rule::Follows {
                    let named = ALL_OPCODES.iter().any(|o| {
                        o.rules().iter().any(|q| match q {
                            Rule::Then(n) => *n == op,
                            Rule::Extra { .. } => op == OpCode::ExtraArg,
                            _ => false,
                        })
                    });
                    assert!(named, "{} follows nothing", op.name());
                }
            }
            let jumps_by_bx = matches!(
                op.flow(),
                Flow::ForPrep | Flow::ForLoop | Flow::TForPrep | Flow::TForLoop
            );
            assert_eq!(
                jumps_by_bx,
                op.mode() == Mode::ABx && op.name().contains("FOR")
            );
            assert_eq!(op.flow() == Flow::Jump, op.mode() == Mode::SJ);
        }
    }

    /// The *test* and *writes A* columns agree with the rules: a test is exactly what must be
    /// followed by a JMP; an instruction that writes A names A as a register (VARARGPREP
    /// excepted: Lua's table marks it, though its A counts the fixed parameters).
    #[test]
    fn test_and_writes_a_agree_with_the_rules() {
        for &op in ALL_OPCODES {
            let rules = op.rules();
            let then_jmp = rules.contains(&Rule::Then(OpCode::Jmp));
            assert_eq!(op.is_test(), then_jmp, "{}", op.name());
            let a_is_register = rules.iter().any(|r| {
                matches!(
                    r,
                    Rule::Reg(Field::A) | Rule::Regs(_) | Rule::RegsB(_) | Rule::RegsC(_)
                )
            });
            if op.writes_a() && op != OpCode::VarargPrep {
                assert!(a_is_register, "{} writes A, not a register", op.name());
            }
        }
    }

    #[test]
    fn fields_round_trip() {
        let i = Instruction::abck(OpCode::Add, 200, 17, 255, true);
        assert_eq!((i.a(), i.b(), i.c(), i.k()), (200, 17, 255, true));
        let j = Instruction::asbx(OpCode::LoadI, 3, -65535);
        assert_eq!(j.sbx(), -65535);
        let s = Instruction::sj(OpCode::Jmp, -5, false);
        assert_eq!(s.sj_arg(), -5);
        let mut m = i;
        m.set_b(9);
        m.set_k(false);
        assert_eq!((m.a(), m.b(), m.c(), m.k()), (200, 9, 255, false));
    }
}
