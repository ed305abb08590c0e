//! The code generator (Lua 5.4.4's `lcode.c`): expression descriptors are discharged into
//! registers, constants or jumps; jump lists are threaded through the sJ fields of the JMP
//! instructions themselves; arithmetic is constant-folded and specialised into the K/I forms
//! followed by MMBIN* fallbacks, exactly as `luac` does so listings match instruction for
//! instruction.

use super::lexer::StrId;
use super::parser::{ConstVal, ExpDesc, ExpKind, Parser, RDKCTC};
use super::SyntaxError;
use crate::bytecode::*;
use crate::metamethod::MetaMethod;
use crate::number::{arith, float_to_int, ArithOp, FloatToInt, Number};

pub const NO_JUMP: i32 = -1;
pub const NO_REG: u32 = MAXARG_A;
/// Maximum number of registers in a function (Lua's `MAXREGS`).
const MAXREGS: u32 = crate::bytecode::MAX_REGISTERS;
/// Longest string that is a "short string" (usable as a GETFIELD key), `LUAI_MAXSHORTLEN`.
const MAX_SHORT_LEN: usize = 40;

type R<T> = Result<T, SyntaxError>;

macro_rules! define_oprs {
    (
        arith_binary { $($b:ident = $btok:pat, $bops:ident, $bprio:tt, $bk:expr;)* }
        arith_unary { $($u:ident = $utok:pat, $uops:ident, $uprio:literal;)* }
        binary { $($o:ident = $otok:pat, $oprio:tt;)* }
        unary { $($n:ident = $ntok:pat, $nprio:literal;)* }
    ) => {
        /// Binary operators in Lua's `BinOpr` order (ORDER OPR), from `for_each_operator!`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum BinOpr {
            $($b,)*
            $($o,)*
        }

        /// Unary operators, from `for_each_operator!`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum UnOpr {
            $($u,)*
            $($n,)*
        }

        impl BinOpr {
            /// The arithmetic or bitwise operator, if this is one.
            pub fn arith(self) -> Option<ArithOp> {
                match self {
                    $(BinOpr::$b => Some(ArithOp::$b),)*
                    _ => None,
                }
            }
        }

        /// The opcode of an arithmetic operator on registers (`ADD`, …, `UNM`, `BNOT`).
        fn arith_opcode(op: ArithOp) -> OpCode {
            match op {
                $(ArithOp::$b => OpCode::$b,)*
                $(ArithOp::$u => OpCode::$u,)*
            }
        }

        /// The opcode of a binary arithmetic operator with a constant operand (`ADDK`, …),
        /// where Lua has one.
        fn arith_k_opcode(op: ArithOp) -> Option<OpCode> {
            match op {
                $(ArithOp::$b => $bk,)*
                _ => None,
            }
        }
    };
}

crate::for_each_operator!(define_oprs);

fn fits_c(i: i64) -> bool {
    (i as u64).wrapping_add(OFFSET_SC as u64) <= MAXARG_C as u64
}

fn fits_bx(i: i64) -> bool {
    -(OFFSET_SBX as i64) <= i && i <= (MAXARG_BX as i64 - OFFSET_SBX as i64)
}

fn int2sc(i: i64) -> u32 {
    (i + OFFSET_SC as i64) as u32
}

/// Key of the chunk-wide constant cache (Lua's `ls->h`): floats with integral values share the
/// integer key, as in a Lua table.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum KKey {
    Nil,
    Bool(bool),
    Int(i64),
    Flt(u64),
    Str(StrId),
}

fn tonumeral(e: &ExpDesc) -> Option<Number> {
    if e.has_jumps() {
        return None;
    }
    match e.k {
        ExpKind::KInt => Some(Number::Int(e.ival)),
        ExpKind::KFlt => Some(Number::Float(e.nval)),
        _ => None,
    }
}

impl ExpDesc {
    pub fn has_jumps(&self) -> bool {
        self.t != self.f
    }
}

fn const_same(a: &ConstVal, b: &ConstVal) -> bool {
    match (a, b) {
        (ConstVal::Nil, ConstVal::Nil) => true,
        (ConstVal::Bool(x), ConstVal::Bool(y)) => x == y,
        (ConstVal::Int(x), ConstVal::Int(y)) => x == y,
        (ConstVal::Flt(x), ConstVal::Flt(y)) => x == y,
        (ConstVal::Str(x), ConstVal::Str(y)) => x == y,
        _ => false,
    }
}

impl Parser<'_> {
    pub fn pc(&self) -> i32 {
        self.fs.code.len() as i32
    }

    // ---------------------------------------------------------------- emission

    pub fn code(&mut self, i: Instruction) -> i32 {
        // Checked at the next token: a token emits a bounded number of instructions.
        self.lex.work = self.lex.work.saturating_add(1);
        self.fs.code.push(i);
        self.fs.lineinfo.push(self.lex.lastline);
        self.pc() - 1
    }

    pub fn code_abck(&mut self, op: OpCode, a: u32, b: u32, c: u32, k: bool) -> i32 {
        self.code(Instruction::abck(op, a, b, c, k))
    }

    pub fn code_abc(&mut self, op: OpCode, a: u32, b: u32, c: u32) -> i32 {
        self.code_abck(op, a, b, c, false)
    }

    pub fn code_abx(&mut self, op: OpCode, a: u32, bx: u32) -> i32 {
        self.code(Instruction::abx(op, a, bx))
    }

    fn code_asbx(&mut self, op: OpCode, a: u32, sbx: i32) -> i32 {
        self.code(Instruction::asbx(op, a, sbx))
    }

    fn code_extraarg(&mut self, a: u32) -> i32 {
        self.code(Instruction::ax(OpCode::ExtraArg, a))
    }

    fn code_k(&mut self, reg: u32, k: u32) -> i32 {
        if k <= MAXARG_BX {
            self.code_abx(OpCode::LoadK, reg, k)
        } else {
            let p = self.code_abx(OpCode::LoadKX, reg, 0);
            self.code_extraarg(k);
            p
        }
    }

    /// `luaK_fixline`: the last instruction belongs to `line`.
    pub fn fix_line(&mut self, line: u32) {
        if let Some(l) = self.fs.lineinfo.last_mut() {
            *l = line;
        }
    }

    fn remove_last_instruction(&mut self) {
        self.fs.code.pop();
        self.fs.lineinfo.pop();
    }

    /// The previous instruction, unless it may be a jump target (then no optimisation may
    /// look at it).
    fn previous_instruction(&self) -> Option<Instruction> {
        if self.pc() > self.fs.lasttarget {
            self.fs.code.last().copied()
        } else {
            None
        }
    }

    pub fn instr(&mut self, pc: i32) -> &mut Instruction {
        // pcs stored in descriptors and jump lists always index emitted code.
        &mut self.fs.code[pc as usize]
    }

    pub fn nil(&mut self, mut from: u32, n: u32) {
        let mut l = from + n - 1;
        if let Some(prev) = self.previous_instruction() {
            if prev.opcode() == Some(OpCode::LoadNil) {
                let pfrom = prev.a();
                let pl = pfrom + prev.b();
                if (pfrom <= from && from <= pl + 1) || (from <= pfrom && pfrom <= l + 1) {
                    from = from.min(pfrom);
                    l = l.max(pl);
                    let pc = self.pc() - 1;
                    let i = self.instr(pc);
                    i.set_a(from);
                    i.set_b(l - from);
                    return;
                }
            }
        }
        self.code_abc(OpCode::LoadNil, from, n - 1, 0);
    }

    // ---------------------------------------------------------------- jumps

    fn get_jump(&self, pc: i32) -> i32 {
        let offset = self.fs.code[pc as usize].sj_arg();
        if offset == NO_JUMP {
            NO_JUMP
        } else {
            pc + 1 + offset
        }
    }

    fn fix_jump(&mut self, pc: i32, dest: i32) -> R<()> {
        let offset = dest - (pc + 1);
        if !(-OFFSET_SJ <= offset && offset <= MAXARG_SJ as i32 - OFFSET_SJ) {
            return Err(self.lex.syntax_error(b"control structure too long"));
        }
        self.instr(pc).set_sj(offset);
        Ok(())
    }

    pub fn concat(&mut self, l1: &mut i32, l2: i32) -> R<()> {
        if l2 == NO_JUMP {
            return Ok(());
        }
        if *l1 == NO_JUMP {
            *l1 = l2;
            return Ok(());
        }
        let mut list = *l1;
        loop {
            // Lua walks the whole list to append (quadratic for long `and` chains): pay per
            // link walked.
            self.lex.spend(1)?;
            let next = self.get_jump(list);
            if next == NO_JUMP {
                break;
            }
            list = next;
        }
        self.fix_jump(list, l2)
    }

    pub fn jump(&mut self) -> i32 {
        self.code(Instruction::sj(OpCode::Jmp, NO_JUMP, false))
    }

    pub fn ret(&mut self, first: u32, nret: i32) {
        let op = match nret {
            0 => OpCode::Return0,
            1 => OpCode::Return1,
            _ => OpCode::Return,
        };
        self.code_abc(op, first, (nret + 1) as u32, 0);
    }

    fn cond_jump(&mut self, op: OpCode, a: u32, b: u32, c: u32, k: bool) -> i32 {
        self.code_abck(op, a, b, c, k);
        self.jump()
    }

    pub fn get_label(&mut self) -> i32 {
        self.fs.lasttarget = self.pc();
        self.pc()
    }

    fn jump_control_pc(&self, pc: i32) -> usize {
        let pc = pc as usize;
        if pc >= 1 && self.fs.code[pc - 1].opcode().is_some_and(OpCode::is_test) {
            pc - 1
        } else {
            pc
        }
    }

    fn patch_test_reg(&mut self, node: i32, reg: u32) -> bool {
        let ip = self.jump_control_pc(node);
        let i = self.fs.code[ip];
        if i.opcode() != Some(OpCode::TestSet) {
            return false;
        }
        if reg != NO_REG && reg != i.b() {
            self.fs.code[ip].set_a(reg);
        } else {
            self.fs.code[ip] = Instruction::abck(OpCode::Test, i.b(), 0, 0, i.k());
        }
        true
    }

    fn remove_values(&mut self, mut list: i32) -> R<()> {
        while list != NO_JUMP {
            self.lex.spend(1)?;
            self.patch_test_reg(list, NO_REG);
            list = self.get_jump(list);
        }
        Ok(())
    }

    fn patch_list_aux(&mut self, mut list: i32, vtarget: i32, reg: u32, dtarget: i32) -> R<()> {
        while list != NO_JUMP {
            self.lex.spend(1)?;
            let next = self.get_jump(list);
            if self.patch_test_reg(list, reg) {
                self.fix_jump(list, vtarget)?;
            } else {
                self.fix_jump(list, dtarget)?;
            }
            list = next;
        }
        Ok(())
    }

    pub fn patch_list(&mut self, list: i32, target: i32) -> R<()> {
        self.patch_list_aux(list, target, NO_REG, target)
    }

    pub fn patch_to_here(&mut self, list: i32) -> R<()> {
        let hr = self.get_label();
        self.patch_list(list, hr)
    }

    // ---------------------------------------------------------------- registers

    pub fn check_stack(&mut self, n: u32) -> R<()> {
        let newstack = self.fs.freereg + n;
        if newstack > self.fs.maxstacksize {
            if newstack >= MAXREGS {
                return Err(self
                    .lex
                    .syntax_error(b"function or expression needs too many registers"));
            }
            self.fs.maxstacksize = newstack;
        }
        Ok(())
    }

    pub fn reserve_regs(&mut self, n: u32) -> R<()> {
        self.check_stack(n)?;
        self.fs.freereg += n;
        Ok(())
    }

    fn free_reg(&mut self, reg: u32) {
        if reg >= self.nvarstack() {
            self.fs.freereg = self.fs.freereg.saturating_sub(1);
        }
    }

    fn free_regs(&mut self, r1: u32, r2: u32) {
        if r1 > r2 {
            self.free_reg(r1);
            self.free_reg(r2);
        } else {
            self.free_reg(r2);
            self.free_reg(r1);
        }
    }

    pub fn free_exp(&mut self, e: &ExpDesc) {
        if e.k == ExpKind::NonReloc {
            self.free_reg(e.info as u32);
        }
    }

    fn free_exps(&mut self, e1: &ExpDesc, e2: &ExpDesc) {
        let r1 = if e1.k == ExpKind::NonReloc {
            e1.info
        } else {
            -1
        };
        let r2 = if e2.k == ExpKind::NonReloc {
            e2.info
        } else {
            -1
        };
        if r1 > r2 {
            if r1 >= 0 {
                self.free_reg(r1 as u32);
            }
            if r2 >= 0 {
                self.free_reg(r2 as u32);
            }
        } else {
            if r2 >= 0 {
                self.free_reg(r2 as u32);
            }
            if r1 >= 0 {
                self.free_reg(r1 as u32);
            }
        }
    }

    // ---------------------------------------------------------------- constants

    fn addk(&mut self, key: KKey, v: ConstVal) -> R<u32> {
        if let Some(&k) = self.kcache.get(&key) {
            if k < self.fs.k.len() && const_same(&self.fs.k[k], &v) {
                return Ok(k as u32);
            }
        }
        let k = self.fs.k.len();
        if k as u32 > MAXARG_AX {
            return Err(self.lex.syntax_error(b"too many constants"));
        }
        self.kcache.insert(key, k);
        self.fs.k.push(v);
        Ok(k as u32)
    }

    pub fn string_k(&mut self, s: StrId) -> R<u32> {
        self.addk(KKey::Str(s), ConstVal::Str(s))
    }

    fn int_k(&mut self, i: i64) -> R<u32> {
        self.addk(KKey::Int(i), ConstVal::Int(i))
    }

    fn number_k(&mut self, r: f64) -> R<u32> {
        let key = match float_to_int(r, FloatToInt::Exact) {
            Some(i) => KKey::Int(i),
            None => KKey::Flt(r.to_bits()),
        };
        self.addk(key, ConstVal::Flt(r))
    }

    fn bool_k(&mut self, b: bool) -> R<u32> {
        self.addk(KKey::Bool(b), ConstVal::Bool(b))
    }

    fn nil_k(&mut self) -> R<u32> {
        self.addk(KKey::Nil, ConstVal::Nil)
    }

    fn str2k(&mut self, e: &mut ExpDesc) -> R<()> {
        e.info = self.string_k(e.strval)? as i32;
        e.k = ExpKind::K;
        Ok(())
    }

    pub fn int(&mut self, reg: u32, i: i64) -> R<()> {
        if fits_bx(i) {
            self.code_asbx(OpCode::LoadI, reg, i as i32);
        } else {
            let k = self.int_k(i)?;
            self.code_k(reg, k);
        }
        Ok(())
    }

    fn float(&mut self, reg: u32, f: f64) -> R<()> {
        match float_to_int(f, FloatToInt::Exact) {
            Some(fi) if fits_bx(fi) => {
                self.code_asbx(OpCode::LoadF, reg, fi as i32);
            }
            _ => {
                let k = self.number_k(f)?;
                self.code_k(reg, k);
            }
        }
        Ok(())
    }

    /// `luaK_exp2const`: the compile-time value of `e`, if it has one.
    pub fn exp2const(&self, e: &ExpDesc) -> Option<ConstVal> {
        if e.has_jumps() {
            return None;
        }
        match e.k {
            ExpKind::False => Some(ConstVal::Bool(false)),
            ExpKind::True => Some(ConstVal::Bool(true)),
            ExpKind::Nil => Some(ConstVal::Nil),
            ExpKind::KStr => Some(ConstVal::Str(e.strval)),
            ExpKind::Const => Some(self.actvar[e.info as usize].k),
            ExpKind::KInt => Some(ConstVal::Int(e.ival)),
            ExpKind::KFlt => Some(ConstVal::Flt(e.nval)),
            _ => None,
        }
    }

    fn const2exp(v: ConstVal, e: &mut ExpDesc) {
        match v {
            ConstVal::Int(i) => {
                e.k = ExpKind::KInt;
                e.ival = i;
            }
            ConstVal::Flt(f) => {
                e.k = ExpKind::KFlt;
                e.nval = f;
            }
            ConstVal::Bool(false) => e.k = ExpKind::False,
            ConstVal::Bool(true) => e.k = ExpKind::True,
            ConstVal::Nil => e.k = ExpKind::Nil,
            ConstVal::Str(s) => {
                e.k = ExpKind::KStr;
                e.strval = s;
            }
        }
    }

    // ---------------------------------------------------------------- discharging

    pub fn set_returns(&mut self, e: &mut ExpDesc, nresults: i32) -> R<()> {
        let freereg = self.fs.freereg;
        let i = self.instr(e.info);
        i.set_c((nresults + 1) as u32);
        if e.k == ExpKind::Vararg {
            i.set_a(freereg);
            self.reserve_regs(1)?;
        }
        Ok(())
    }

    pub fn set_multret(&mut self, e: &mut ExpDesc) -> R<()> {
        self.set_returns(e, -1)
    }

    pub fn set_one_ret(&mut self, e: &mut ExpDesc) {
        if e.k == ExpKind::Call {
            e.k = ExpKind::NonReloc;
            e.info = self.fs.code[e.info as usize].a() as i32;
        } else if e.k == ExpKind::Vararg {
            self.instr(e.info).set_c(2);
            e.k = ExpKind::Reloc;
        }
    }

    pub fn discharge_vars(&mut self, e: &mut ExpDesc) {
        match e.k {
            ExpKind::Const => {
                let v = self.actvar[e.info as usize].k;
                Self::const2exp(v, e);
            }
            ExpKind::Local => {
                e.info = e.ridx as i32;
                e.k = ExpKind::NonReloc;
            }
            ExpKind::Upval => {
                e.info = self.code_abc(OpCode::GetUpval, 0, e.info as u32, 0);
                e.k = ExpKind::Reloc;
            }
            ExpKind::IndexUp => {
                e.info = self.code_abc(OpCode::GetTabUp, 0, e.ind_t, e.ind_idx);
                e.k = ExpKind::Reloc;
            }
            ExpKind::IndexI => {
                self.free_reg(e.ind_t);
                e.info = self.code_abc(OpCode::GetI, 0, e.ind_t, e.ind_idx);
                e.k = ExpKind::Reloc;
            }
            ExpKind::IndexStr => {
                self.free_reg(e.ind_t);
                e.info = self.code_abc(OpCode::GetField, 0, e.ind_t, e.ind_idx);
                e.k = ExpKind::Reloc;
            }
            ExpKind::Indexed => {
                self.free_regs(e.ind_t, e.ind_idx);
                e.info = self.code_abc(OpCode::GetTable, 0, e.ind_t, e.ind_idx);
                e.k = ExpKind::Reloc;
            }
            ExpKind::Vararg | ExpKind::Call => self.set_one_ret(e),
            _ => {}
        }
    }

    fn discharge2reg(&mut self, e: &mut ExpDesc, reg: u32) -> R<()> {
        self.discharge_vars(e);
        match e.k {
            ExpKind::Nil => self.nil(reg, 1),
            ExpKind::False => {
                self.code_abc(OpCode::LoadFalse, reg, 0, 0);
            }
            ExpKind::True => {
                self.code_abc(OpCode::LoadTrue, reg, 0, 0);
            }
            ExpKind::KStr => {
                self.str2k(e)?;
                self.code_k(reg, e.info as u32);
            }
            ExpKind::K => {
                self.code_k(reg, e.info as u32);
            }
            ExpKind::KFlt => self.float(reg, e.nval)?,
            ExpKind::KInt => self.int(reg, e.ival)?,
            ExpKind::Reloc => self.instr(e.info).set_a(reg),
            ExpKind::NonReloc => {
                if reg != e.info as u32 {
                    self.code_abc(OpCode::Move, reg, e.info as u32, 0);
                }
            }
            _ => return Ok(()), // VJMP: nothing to do
        }
        e.info = reg as i32;
        e.k = ExpKind::NonReloc;
        Ok(())
    }

    fn discharge2anyreg(&mut self, e: &mut ExpDesc) -> R<()> {
        if e.k != ExpKind::NonReloc {
            self.reserve_regs(1)?;
            self.discharge2reg(e, self.fs.freereg - 1)?;
        }
        Ok(())
    }

    fn code_loadbool(&mut self, a: u32, op: OpCode) -> i32 {
        self.get_label();
        self.code_abc(op, a, 0, 0)
    }

    fn need_value(&mut self, mut list: i32) -> R<bool> {
        while list != NO_JUMP {
            self.lex.spend(1)?;
            let i = self.fs.code[self.jump_control_pc(list)];
            if i.opcode() != Some(OpCode::TestSet) {
                return Ok(true);
            }
            list = self.get_jump(list);
        }
        Ok(false)
    }

    fn exp2reg(&mut self, e: &mut ExpDesc, reg: u32) -> R<()> {
        self.discharge2reg(e, reg)?;
        if e.k == ExpKind::Jmp {
            let mut t = e.t;
            self.concat(&mut t, e.info)?;
            e.t = t;
        }
        if e.has_jumps() {
            let mut p_f = NO_JUMP;
            let mut p_t = NO_JUMP;
            if self.need_value(e.t)? || self.need_value(e.f)? {
                let fj = if e.k == ExpKind::Jmp {
                    NO_JUMP
                } else {
                    self.jump()
                };
                p_f = self.code_loadbool(reg, OpCode::LFalseSkip);
                p_t = self.code_loadbool(reg, OpCode::LoadTrue);
                self.patch_to_here(fj)?;
            }
            let fin = self.get_label();
            self.patch_list_aux(e.f, fin, reg, p_f)?;
            self.patch_list_aux(e.t, fin, reg, p_t)?;
        }
        e.f = NO_JUMP;
        e.t = NO_JUMP;
        e.info = reg as i32;
        e.k = ExpKind::NonReloc;
        Ok(())
    }

    pub fn exp2nextreg(&mut self, e: &mut ExpDesc) -> R<()> {
        self.discharge_vars(e);
        self.free_exp(e);
        self.reserve_regs(1)?;
        self.exp2reg(e, self.fs.freereg - 1)
    }

    pub fn exp2anyreg(&mut self, e: &mut ExpDesc) -> R<u32> {
        self.discharge_vars(e);
        if e.k == ExpKind::NonReloc {
            if !e.has_jumps() {
                return Ok(e.info as u32);
            }
            if e.info as u32 >= self.nvarstack() {
                self.exp2reg(e, e.info as u32)?;
                return Ok(e.info as u32);
            }
        }
        self.exp2nextreg(e)?;
        Ok(e.info as u32)
    }

    pub fn exp2anyregup(&mut self, e: &mut ExpDesc) -> R<()> {
        if e.k != ExpKind::Upval || e.has_jumps() {
            self.exp2anyreg(e)?;
        }
        Ok(())
    }

    pub fn exp2val(&mut self, e: &mut ExpDesc) -> R<()> {
        if e.has_jumps() {
            self.exp2anyreg(e)?;
        } else {
            self.discharge_vars(e);
        }
        Ok(())
    }

    fn exp2k(&mut self, e: &mut ExpDesc) -> R<bool> {
        if !e.has_jumps() {
            let info = match e.k {
                ExpKind::True => self.bool_k(true)?,
                ExpKind::False => self.bool_k(false)?,
                ExpKind::Nil => self.nil_k()?,
                ExpKind::KInt => self.int_k(e.ival)?,
                ExpKind::KFlt => self.number_k(e.nval)?,
                ExpKind::KStr => self.string_k(e.strval)?,
                ExpKind::K => e.info as u32,
                _ => return Ok(false),
            };
            if info <= MAXARG_B {
                e.k = ExpKind::K;
                e.info = info as i32;
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn exp2rk(&mut self, e: &mut ExpDesc) -> R<bool> {
        if self.exp2k(e)? {
            Ok(true)
        } else {
            self.exp2anyreg(e)?;
            Ok(false)
        }
    }

    fn code_abrk(&mut self, op: OpCode, a: u32, b: u32, ec: &mut ExpDesc) -> R<()> {
        let k = self.exp2rk(ec)?;
        self.code_abck(op, a, b, ec.info as u32, k);
        Ok(())
    }

    pub fn store_var(&mut self, var: &ExpDesc, ex: &mut ExpDesc) -> R<()> {
        match var.k {
            ExpKind::Local => {
                self.free_exp(ex);
                return self.exp2reg(ex, var.ridx);
            }
            ExpKind::Upval => {
                let e = self.exp2anyreg(ex)?;
                self.code_abc(OpCode::SetUpval, e, var.info as u32, 0);
            }
            ExpKind::IndexUp => self.code_abrk(OpCode::SetTabUp, var.ind_t, var.ind_idx, ex)?,
            ExpKind::IndexI => self.code_abrk(OpCode::SetI, var.ind_t, var.ind_idx, ex)?,
            ExpKind::IndexStr => self.code_abrk(OpCode::SetField, var.ind_t, var.ind_idx, ex)?,
            ExpKind::Indexed => self.code_abrk(OpCode::SetTable, var.ind_t, var.ind_idx, ex)?,
            _ => return Err(self.lex.syntax_error(b"syntax error")),
        }
        self.free_exp(ex);
        Ok(())
    }

    pub fn self_op(&mut self, e: &mut ExpDesc, key: &mut ExpDesc) -> R<()> {
        self.exp2anyreg(e)?;
        let ereg = e.info as u32;
        self.free_exp(e);
        e.info = self.fs.freereg as i32;
        e.k = ExpKind::NonReloc;
        self.reserve_regs(2)?;
        self.code_abrk(OpCode::SelfOp, e.info as u32, ereg, key)?;
        self.free_exp(key);
        Ok(())
    }

    // ---------------------------------------------------------------- conditions

    fn negate_condition(&mut self, e: &ExpDesc) {
        let ip = self.jump_control_pc(e.info);
        let k = self.fs.code[ip].k();
        self.fs.code[ip].set_k(!k);
    }

    fn jump_on_cond(&mut self, e: &mut ExpDesc, cond: bool) -> R<i32> {
        if e.k == ExpKind::Reloc {
            let ie = self.fs.code[e.info as usize];
            if ie.opcode() == Some(OpCode::Not) {
                self.remove_last_instruction();
                return Ok(self.cond_jump(OpCode::Test, ie.b(), 0, 0, !cond));
            }
        }
        self.discharge2anyreg(e)?;
        self.free_exp(e);
        Ok(self.cond_jump(OpCode::TestSet, NO_REG, e.info as u32, 0, cond))
    }

    pub fn go_if_true(&mut self, e: &mut ExpDesc) -> R<()> {
        self.discharge_vars(e);
        let pc = match e.k {
            ExpKind::Jmp => {
                self.negate_condition(e);
                e.info
            }
            ExpKind::K | ExpKind::KFlt | ExpKind::KInt | ExpKind::KStr | ExpKind::True => NO_JUMP,
            _ => self.jump_on_cond(e, false)?,
        };
        let mut f = e.f;
        self.concat(&mut f, pc)?;
        e.f = f;
        self.patch_to_here(e.t)?;
        e.t = NO_JUMP;
        Ok(())
    }

    pub fn go_if_false(&mut self, e: &mut ExpDesc) -> R<()> {
        self.discharge_vars(e);
        let pc = match e.k {
            ExpKind::Jmp => e.info,
            ExpKind::Nil | ExpKind::False => NO_JUMP,
            _ => self.jump_on_cond(e, true)?,
        };
        let mut t = e.t;
        self.concat(&mut t, pc)?;
        e.t = t;
        self.patch_to_here(e.f)?;
        e.f = NO_JUMP;
        Ok(())
    }

    fn code_not(&mut self, e: &mut ExpDesc) -> R<()> {
        match e.k {
            ExpKind::Nil | ExpKind::False => e.k = ExpKind::True,
            ExpKind::K | ExpKind::KFlt | ExpKind::KInt | ExpKind::KStr | ExpKind::True => {
                e.k = ExpKind::False
            }
            ExpKind::Jmp => self.negate_condition(e),
            ExpKind::Reloc | ExpKind::NonReloc => {
                self.discharge2anyreg(e)?;
                self.free_exp(e);
                e.info = self.code_abc(OpCode::Not, 0, e.info as u32, 0);
                e.k = ExpKind::Reloc;
            }
            _ => {}
        }
        std::mem::swap(&mut e.f, &mut e.t);
        self.remove_values(e.f)?;
        self.remove_values(e.t)?;
        Ok(())
    }

    // ---------------------------------------------------------------- indexing

    fn is_kstr(&self, e: &ExpDesc) -> bool {
        e.k == ExpKind::K
            && !e.has_jumps()
            && e.info as u32 <= MAXARG_B
            && matches!(self.fs.k.get(e.info as usize),
                Some(ConstVal::Str(s)) if self.lex.strs.get(*s).len() <= MAX_SHORT_LEN)
    }

    fn is_kint(e: &ExpDesc) -> bool {
        e.k == ExpKind::KInt && !e.has_jumps()
    }

    fn is_cint(e: &ExpDesc) -> bool {
        Self::is_kint(e) && (e.ival as u64) <= MAXARG_C as u64
    }

    fn is_scint(e: &ExpDesc) -> bool {
        Self::is_kint(e) && fits_c(e.ival)
    }

    /// `isSCnumber`: an integral numeral fitting sC; returns (encoded value, is float).
    fn is_scnumber(e: &ExpDesc) -> Option<(u32, bool)> {
        let (i, isfloat) = match e.k {
            ExpKind::KInt => (e.ival, false),
            ExpKind::KFlt => (float_to_int(e.nval, FloatToInt::Exact)?, true),
            _ => return None,
        };
        if !e.has_jumps() && fits_c(i) {
            Some((int2sc(i), isfloat))
        } else {
            None
        }
    }

    pub fn indexed(&mut self, t: &mut ExpDesc, k: &mut ExpDesc) -> R<()> {
        if k.k == ExpKind::KStr {
            self.str2k(k)?;
        }
        if t.k == ExpKind::Upval && !self.is_kstr(k) {
            self.exp2anyreg(t)?;
        }
        if t.k == ExpKind::Upval {
            t.ind_t = t.info as u32;
            t.ind_idx = k.info as u32;
            t.k = ExpKind::IndexUp;
        } else {
            t.ind_t = if t.k == ExpKind::Local {
                t.ridx
            } else {
                t.info as u32
            };
            if self.is_kstr(k) {
                t.ind_idx = k.info as u32;
                t.k = ExpKind::IndexStr;
            } else if Self::is_cint(k) {
                t.ind_idx = k.ival as u32;
                t.k = ExpKind::IndexI;
            } else {
                t.ind_idx = self.exp2anyreg(k)?;
                t.k = ExpKind::Indexed;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- operators

    /// `constfolding`: folds `e1 op e2` into `e1` when both are numerals and the operation is
    /// safe (no division by zero, no float-to-int failure, no NaN or zero float result).
    fn const_folding(op: ArithOp, e1: &mut ExpDesc, e2: &ExpDesc) -> bool {
        let (Some(v1), Some(v2)) = (tonumeral(e1), tonumeral(e2)) else {
            return false;
        };
        let valid = if op.is_bitwise() {
            let ok = |n: Number| match n {
                Number::Int(_) => true,
                Number::Float(f) => float_to_int(f, FloatToInt::Exact).is_some(),
            };
            ok(v1) && ok(v2)
        } else {
            !matches!(op, ArithOp::Div | ArithOp::IDiv | ArithOp::Mod) || v2.to_f64() != 0.0
        };
        if !valid {
            return false;
        }
        match arith(op, v1, v2) {
            Some(Number::Int(i)) => {
                e1.k = ExpKind::KInt;
                e1.ival = i;
                true
            }
            Some(Number::Float(n)) => {
                if n.is_nan() || n == 0.0 {
                    return false;
                }
                e1.k = ExpKind::KFlt;
                e1.nval = n;
                true
            }
            None => false,
        }
    }

    fn code_unexpval(&mut self, op: OpCode, e: &mut ExpDesc, line: u32) -> R<()> {
        let r = self.exp2anyreg(e)?;
        self.free_exp(e);
        e.info = self.code_abc(op, 0, r, 0);
        e.k = ExpKind::Reloc;
        self.fix_line(line);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_binexpval(
        &mut self,
        e1: &mut ExpDesc,
        e2: &ExpDesc,
        op: OpCode,
        v2: u32,
        flip: bool,
        line: u32,
        mmop: OpCode,
        event: ArithOp,
    ) -> R<()> {
        let v1 = self.exp2anyreg(e1)?;
        let pc = self.code_abck(op, 0, v1, v2, false);
        self.free_exps(e1, e2);
        e1.info = pc;
        e1.k = ExpKind::Reloc;
        self.fix_line(line);
        // The `MMBIN*` operand C is the event's number (`ORDER TM`).
        self.code_abck(mmop, v1, v2, MetaMethod::of_arith(event) as u32, flip);
        self.fix_line(line);
        Ok(())
    }

    fn code_binexpval(
        &mut self,
        op: ArithOp,
        e1: &mut ExpDesc,
        e2: &mut ExpDesc,
        line: u32,
    ) -> R<()> {
        let v2 = self.exp2anyreg(e2)?;
        let code = arith_opcode(op);
        self.finish_binexpval(e1, e2, code, v2, false, line, OpCode::MmBin, op)
    }

    #[allow(clippy::too_many_arguments)]
    fn code_bini(
        &mut self,
        op: OpCode,
        e1: &mut ExpDesc,
        e2: &ExpDesc,
        flip: bool,
        line: u32,
        event: ArithOp,
    ) -> R<()> {
        let v2 = int2sc(e2.ival);
        self.finish_binexpval(e1, e2, op, v2, flip, line, OpCode::MmBinI, event)
    }

    fn finish_binexpneg(
        &mut self,
        e1: &mut ExpDesc,
        e2: &ExpDesc,
        op: OpCode,
        line: u32,
        event: ArithOp,
    ) -> R<bool> {
        if !Self::is_kint(e2) {
            return Ok(false);
        }
        let i2 = e2.ival;
        if !(fits_c(i2) && fits_c(i2.wrapping_neg())) {
            return Ok(false);
        }
        self.finish_binexpval(e1, e2, op, int2sc(-i2), false, line, OpCode::MmBinI, event)?;
        let pc = self.pc() - 1;
        self.instr(pc).set_b(int2sc(i2));
        Ok(true)
    }

    fn code_arith(
        &mut self,
        op: ArithOp,
        e1: &mut ExpDesc,
        e2: &mut ExpDesc,
        flip: bool,
        line: u32,
    ) -> R<()> {
        if let Some(kop) = arith_k_opcode(op) {
            if tonumeral(e2).is_some() && self.exp2k(e2)? {
                let v2 = e2.info as u32;
                return self.finish_binexpval(e1, e2, kop, v2, flip, line, OpCode::MmBinK, op);
            }
        }
        if flip {
            std::mem::swap(e1, e2);
        }
        self.code_binexpval(op, e1, e2, line)
    }

    fn code_commutative(
        &mut self,
        op: ArithOp,
        e1: &mut ExpDesc,
        e2: &mut ExpDesc,
        line: u32,
    ) -> R<()> {
        let mut flip = false;
        if tonumeral(e1).is_some() {
            std::mem::swap(e1, e2);
            flip = true;
        }
        if op == ArithOp::Add && Self::is_scint(e2) {
            self.code_bini(OpCode::AddI, e1, e2, flip, line, ArithOp::Add)
        } else {
            self.code_arith(op, e1, e2, flip, line)
        }
    }

    fn code_bitwise(
        &mut self,
        op: ArithOp,
        e1: &mut ExpDesc,
        e2: &mut ExpDesc,
        line: u32,
    ) -> R<()> {
        let Some(kop) = arith_k_opcode(op) else {
            return self.code_binexpval(op, e1, e2, line);
        };
        let mut flip = false;
        if e1.k == ExpKind::KInt && self.exp2rk(e1)? {
            std::mem::swap(e1, e2);
            flip = true;
        } else if !(e2.k == ExpKind::KInt && self.exp2rk(e2)?) {
            return self.code_binexpval(op, e1, e2, line);
        }
        let v2 = e2.info as u32;
        self.finish_binexpval(e1, e2, kop, v2, flip, line, OpCode::MmBinK, op)
    }

    fn code_order(&mut self, mut op: OpCode, e1: &mut ExpDesc, e2: &mut ExpDesc) -> R<()> {
        let r1;
        let r2;
        let mut isfloat = false;
        if let Some((im, fl)) = Self::is_scnumber(e2) {
            isfloat = fl;
            r1 = self.exp2anyreg(e1)?;
            r2 = im;
            op = if op == OpCode::Lt {
                OpCode::LtI
            } else {
                OpCode::LeI
            };
        } else if let Some((im, fl)) = Self::is_scnumber(e1) {
            isfloat = fl;
            r1 = self.exp2anyreg(e2)?;
            r2 = im;
            op = if op == OpCode::Lt {
                OpCode::GtI
            } else {
                OpCode::GeI
            };
        } else {
            r1 = self.exp2anyreg(e1)?;
            r2 = self.exp2anyreg(e2)?;
        }
        self.free_exps(e1, e2);
        e1.info = self.cond_jump(op, r1, r2, isfloat as u32, true);
        e1.k = ExpKind::Jmp;
        Ok(())
    }

    fn code_eq(&mut self, opr: BinOpr, e1: &mut ExpDesc, e2: &mut ExpDesc) -> R<()> {
        if e1.k != ExpKind::NonReloc {
            std::mem::swap(e1, e2);
        }
        let r1 = self.exp2anyreg(e1)?;
        let (op, r2, isfloat) = if let Some((im, fl)) = Self::is_scnumber(e2) {
            (OpCode::EqI, im, fl)
        } else if self.exp2rk(e2)? {
            (OpCode::EqK, e2.info as u32, false)
        } else {
            let r = self.exp2anyreg(e2)?;
            (OpCode::Eq, r, false)
        };
        self.free_exps(e1, e2);
        e1.info = self.cond_jump(op, r1, r2, isfloat as u32, opr == BinOpr::Eq);
        e1.k = ExpKind::Jmp;
        Ok(())
    }

    pub fn prefix(&mut self, opr: UnOpr, e: &mut ExpDesc, line: u32) -> R<()> {
        let ef = ExpDesc::new(ExpKind::KInt, 0);
        self.discharge_vars(e);
        let op = match opr {
            UnOpr::Unm => ArithOp::Unm,
            UnOpr::BNot => ArithOp::BNot,
            UnOpr::Len => return self.code_unexpval(OpCode::Len, e, line),
            UnOpr::Not => return self.code_not(e),
        };
        if Self::const_folding(op, e, &ef) {
            return Ok(());
        }
        self.code_unexpval(arith_opcode(op), e, line)
    }

    pub fn infix(&mut self, op: BinOpr, v: &mut ExpDesc) -> R<()> {
        self.discharge_vars(v);
        match op {
            BinOpr::And => self.go_if_true(v)?,
            BinOpr::Or => self.go_if_false(v)?,
            BinOpr::Concat => self.exp2nextreg(v)?,
            BinOpr::Eq | BinOpr::Ne => {
                if tonumeral(v).is_none() {
                    self.exp2rk(v)?;
                }
            }
            BinOpr::Lt | BinOpr::Le | BinOpr::Gt | BinOpr::Ge => {
                if Self::is_scnumber(v).is_none() {
                    self.exp2anyreg(v)?;
                }
            }
            _ => {
                if tonumeral(v).is_none() {
                    self.exp2anyreg(v)?;
                }
            }
        }
        Ok(())
    }

    fn code_concat(&mut self, e1: &mut ExpDesc, e2: &ExpDesc, line: u32) {
        if let Some(ie2) = self.previous_instruction() {
            if ie2.opcode() == Some(OpCode::Concat) {
                let n = ie2.b();
                self.free_exp(e2);
                let pc = self.pc() - 1;
                let i = self.instr(pc);
                i.set_a(e1.info as u32);
                i.set_b(n + 1);
                return;
            }
        }
        self.code_abc(OpCode::Concat, e1.info as u32, 2, 0);
        self.free_exp(e2);
        self.fix_line(line);
    }

    pub fn posfix(&mut self, opr: BinOpr, e1: &mut ExpDesc, e2: &mut ExpDesc, line: u32) -> R<()> {
        self.discharge_vars(e2);
        if let Some(op) = opr.arith() {
            if Self::const_folding(op, e1, e2) {
                return Ok(());
            }
        }
        match opr {
            BinOpr::And => {
                let mut f = e2.f;
                self.concat(&mut f, e1.f)?;
                e2.f = f;
                *e1 = *e2;
            }
            BinOpr::Or => {
                let mut t = e2.t;
                self.concat(&mut t, e1.t)?;
                e2.t = t;
                *e1 = *e2;
            }
            BinOpr::Concat => {
                self.exp2nextreg(e2)?;
                self.code_concat(e1, e2, line);
            }
            BinOpr::Add => self.code_commutative(ArithOp::Add, e1, e2, line)?,
            BinOpr::Mul => self.code_commutative(ArithOp::Mul, e1, e2, line)?,
            BinOpr::Sub => {
                if !self.finish_binexpneg(e1, e2, OpCode::AddI, line, ArithOp::Sub)? {
                    self.code_arith(ArithOp::Sub, e1, e2, false, line)?;
                }
            }
            BinOpr::Div => self.code_arith(ArithOp::Div, e1, e2, false, line)?,
            BinOpr::IDiv => self.code_arith(ArithOp::IDiv, e1, e2, false, line)?,
            BinOpr::Mod => self.code_arith(ArithOp::Mod, e1, e2, false, line)?,
            BinOpr::Pow => self.code_arith(ArithOp::Pow, e1, e2, false, line)?,
            BinOpr::BAnd => self.code_bitwise(ArithOp::BAnd, e1, e2, line)?,
            BinOpr::BOr => self.code_bitwise(ArithOp::BOr, e1, e2, line)?,
            BinOpr::BXor => self.code_bitwise(ArithOp::BXor, e1, e2, line)?,
            BinOpr::Shl => {
                if Self::is_scint(e1) {
                    std::mem::swap(e1, e2);
                    self.code_bini(OpCode::ShlI, e1, e2, true, line, ArithOp::Shl)?;
                } else if !self.finish_binexpneg(e1, e2, OpCode::ShrI, line, ArithOp::Shl)? {
                    self.code_binexpval(ArithOp::Shl, e1, e2, line)?;
                }
            }
            BinOpr::Shr => {
                if Self::is_scint(e2) {
                    self.code_bini(OpCode::ShrI, e1, e2, false, line, ArithOp::Shr)?;
                } else {
                    self.code_binexpval(ArithOp::Shr, e1, e2, line)?;
                }
            }
            BinOpr::Eq | BinOpr::Ne => self.code_eq(opr, e1, e2)?,
            BinOpr::Lt => self.code_order(OpCode::Lt, e1, e2)?,
            BinOpr::Le => self.code_order(OpCode::Le, e1, e2)?,
            BinOpr::Gt | BinOpr::Ge => {
                std::mem::swap(e1, e2);
                let op = if opr == BinOpr::Gt {
                    OpCode::Lt
                } else {
                    OpCode::Le
                };
                self.code_order(op, e1, e2)?;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- tables

    pub fn set_table_size(&mut self, pc: i32, ra: u32, asize: u32, hsize: u32) {
        let rb = if hsize != 0 { ceil_log2(hsize) + 1 } else { 0 };
        let extra = asize / (MAXARG_C + 1);
        let rc = asize % (MAXARG_C + 1);
        *self.instr(pc) = Instruction::abck(OpCode::NewTable, ra, rb, rc, extra > 0);
        *self.instr(pc + 1) = Instruction::ax(OpCode::ExtraArg, extra);
    }

    pub fn set_list(&mut self, base: u32, mut nelems: u32, tostore: i32) {
        let tostore = if tostore == -1 { 0 } else { tostore as u32 };
        if nelems <= MAXARG_C {
            self.code_abc(OpCode::SetList, base, tostore, nelems);
        } else {
            let extra = nelems / (MAXARG_C + 1);
            nelems %= MAXARG_C + 1;
            self.code_abck(OpCode::SetList, base, tostore, nelems, true);
            self.code_extraarg(extra);
        }
        self.fs.freereg = base + 1;
    }

    // ---------------------------------------------------------------- finishing

    fn final_target(&self, mut i: usize) -> usize {
        for _ in 0..100 {
            let pc = self.fs.code[i];
            if pc.opcode() != Some(OpCode::Jmp) {
                break;
            }
            let t = i as i64 + pc.sj_arg() as i64 + 1;
            if t < 0 || t as usize >= self.fs.code.len() {
                break;
            }
            i = t as usize;
        }
        i
    }

    /// `luaK_finish`: final adjustments (RETURN k/C bits, jump threading).
    pub fn finish(&mut self) -> R<()> {
        let needclose = self.fs.needclose;
        let is_vararg = self.fs.is_vararg;
        let np = self.fs.numparams as u32;
        for i in 0..self.fs.code.len() {
            let ins = &mut self.fs.code[i];
            match ins.opcode() {
                Some(OpCode::Return0 | OpCode::Return1) if needclose || is_vararg => {
                    ins.set_opcode(OpCode::Return);
                    if needclose {
                        ins.set_k(true);
                    }
                    if is_vararg {
                        ins.set_c(np + 1);
                    }
                }
                Some(OpCode::Return | OpCode::TailCall) => {
                    if needclose {
                        ins.set_k(true);
                    }
                    if is_vararg {
                        ins.set_c(np + 1);
                    }
                }
                Some(OpCode::Jmp) => {
                    let target = self.final_target(i);
                    self.fix_jump(i as i32, target as i32)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Number of registers holding active local variables (`luaY_nvarstack`).
    pub fn nvarstack(&self) -> u32 {
        self.reglevel(self.fs.nactvar as usize)
    }

    pub fn reglevel(&self, mut nvar: usize) -> u32 {
        while nvar > 0 {
            nvar -= 1;
            let vd = &self.actvar[self.fs.firstlocal + nvar];
            if vd.kind != RDKCTC && vd.up.is_none() {
                return vd.ridx as u32 + 1;
            }
        }
        0
    }
}

fn ceil_log2(x: u32) -> u32 {
    // ceil(log2(x)) for x >= 1
    32 - (x - 1).leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An arithmetic operator compiles to the opcode of its own name, and its K form (where
    /// Lua has one) to that name with `K`: the table links them by name, this checks the
    /// spelling of the listing names too.
    #[test]
    fn arithmetic_opcodes_follow_the_operator_table() {
        for &op in ArithOp::ALL {
            let name = format!("{op:?}").to_uppercase();
            assert_eq!(arith_opcode(op).name(), name);
            match arith_k_opcode(op) {
                Some(k) => assert_eq!(k.name(), format!("{name}K")),
                None => assert!(matches!(op, ArithOp::Shl | ArithOp::Shr) || op.is_unary()),
            }
        }
    }
}
