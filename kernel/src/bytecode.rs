//! The instruction set: one table (`for_each_op!`) gives every opcode its name, encoding mode,
//! fuel cost and disassembly format; the `OpCode` enum, the name and cost tables and the
//! disassembler are all expanded from it, so nothing else repeats the list.
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

/// The master opcode table. Each row: variant, listing name, mode, fuel cost, operand format.
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
            Move = "MOVE", ABC, 1, "A B";
            LoadI = "LOADI", AsBx, 1, "A sBx";
            LoadF = "LOADF", AsBx, 1, "A sBx";
            LoadK = "LOADK", ABx, 1, "A Bx ; K:Bx";
            LoadKX = "LOADKX", ABx, 1, "A ; K:X";
            LoadFalse = "LOADFALSE", ABC, 1, "A";
            LFalseSkip = "LFALSESKIP", ABC, 1, "A";
            LoadTrue = "LOADTRUE", ABC, 1, "A";
            LoadNil = "LOADNIL", ABC, 1, "A B ; nil";
            GetUpval = "GETUPVAL", ABC, 1, "A B ; U:B";
            SetUpval = "SETUPVAL", ABC, 1, "A B ; U:B";
            GetTabUp = "GETTABUP", ABC, 1, "A B C ; U:B K:C";
            GetTable = "GETTABLE", ABC, 1, "A B C";
            GetI = "GETI", ABC, 1, "A B C";
            GetField = "GETFIELD", ABC, 1, "A B C ; K:C";
            SetTabUp = "SETTABUP", ABC, 1, "A B Ck ; U:A K:B Kk:C";
            SetTable = "SETTABLE", ABC, 1, "A B Ck ; Kk:C";
            SetI = "SETI", ABC, 1, "A B Ck ; Kk:C";
            SetField = "SETFIELD", ABC, 1, "A B Ck ; K:B Kk:C";
            NewTable = "NEWTABLE", ABC, 2, "A B C ; size";
            SelfOp = "SELF", ABC, 1, "A B Ck ; Kk:C";
            AddI = "ADDI", ABC, 1, "A B sC";
            AddK = "ADDK", ABC, 1, "A B C ; K:C";
            SubK = "SUBK", ABC, 1, "A B C ; K:C";
            MulK = "MULK", ABC, 1, "A B C ; K:C";
            ModK = "MODK", ABC, 1, "A B C ; K:C";
            PowK = "POWK", ABC, 1, "A B C ; K:C";
            DivK = "DIVK", ABC, 1, "A B C ; K:C";
            IDivK = "IDIVK", ABC, 1, "A B C ; K:C";
            BAndK = "BANDK", ABC, 1, "A B C ; K:C";
            BOrK = "BORK", ABC, 1, "A B C ; K:C";
            BXorK = "BXORK", ABC, 1, "A B C ; K:C";
            ShrI = "SHRI", ABC, 1, "A B sC";
            ShlI = "SHLI", ABC, 1, "A B sC";
            Add = "ADD", ABC, 1, "A B C";
            Sub = "SUB", ABC, 1, "A B C";
            Mul = "MUL", ABC, 1, "A B C";
            Mod = "MOD", ABC, 1, "A B C";
            Pow = "POW", ABC, 1, "A B C";
            Div = "DIV", ABC, 1, "A B C";
            IDiv = "IDIV", ABC, 1, "A B C";
            BAnd = "BAND", ABC, 1, "A B C";
            BOr = "BOR", ABC, 1, "A B C";
            BXor = "BXOR", ABC, 1, "A B C";
            Shl = "SHL", ABC, 1, "A B C";
            Shr = "SHR", ABC, 1, "A B C";
            MmBin = "MMBIN", ABC, 1, "A B C ; ev";
            MmBinI = "MMBINI", ABC, 1, "A sB C k ; ev flip";
            MmBinK = "MMBINK", ABC, 1, "A B C k ; ev K:B flip";
            Unm = "UNM", ABC, 1, "A B";
            BNot = "BNOT", ABC, 1, "A B";
            Not = "NOT", ABC, 1, "A B";
            Len = "LEN", ABC, 1, "A B";
            Concat = "CONCAT", ABC, 1, "A B";
            Close = "CLOSE", ABC, 1, "A";
            Tbc = "TBC", ABC, 1, "A";
            Jmp = "JMP", SJ, 1, "sJ ; jmp";
            Eq = "EQ", ABC, 1, "A B k";
            Lt = "LT", ABC, 1, "A B k";
            Le = "LE", ABC, 1, "A B k";
            EqK = "EQK", ABC, 1, "A B k ; K:B";
            EqI = "EQI", ABC, 1, "A sB k";
            LtI = "LTI", ABC, 1, "A sB k";
            LeI = "LEI", ABC, 1, "A sB k";
            GtI = "GTI", ABC, 1, "A sB k";
            GeI = "GEI", ABC, 1, "A sB k";
            Test = "TEST", ABC, 1, "A k";
            TestSet = "TESTSET", ABC, 1, "A B k";
            Call = "CALL", ABC, 2, "A B C ; call";
            TailCall = "TAILCALL", ABC, 2, "A B Ck ; tail";
            Return = "RETURN", ABC, 1, "A B Ck ; ret";
            Return0 = "RETURN0", ABC, 1, "";
            Return1 = "RETURN1", ABC, 1, "A";
            ForLoop = "FORLOOP", ABx, 1, "A Bx ; back";
            ForPrep = "FORPREP", ABx, 1, "A Bx ; forprep";
            TForPrep = "TFORPREP", ABx, 1, "A Bx ; fwd";
            TForCall = "TFORCALL", ABC, 1, "A C";
            TForLoop = "TFORLOOP", ABx, 1, "A Bx ; back";
            SetList = "SETLIST", ABC, 1, "A B C ; sizek";
            Closure = "CLOSURE", ABx, 2, "A Bx ; proto";
            Vararg = "VARARG", ABC, 1, "A C ; vout";
            VarargPrep = "VARARGPREP", ABC, 1, "A";
            ExtraArg = "EXTRAARG", Ax, 1, "Ax";
        }
    };
}

macro_rules! define_opcodes {
    ($($variant:ident = $name:literal, $mode:ident, $cost:literal, $fmt:literal;)*) => {
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
            /// Base fuel charged for executing one instruction of this kind.
            pub const fn cost(self) -> u32 {
                match self { $(OpCode::$variant => $cost,)* }
            }
            /// Operand format for the disassembler (see `for_each_op!`).
            pub const fn operand_format(self) -> &'static str {
                match self { $(OpCode::$variant => $fmt,)* }
            }
        }
    };
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
/// Registers in a function are numbered below this.
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
