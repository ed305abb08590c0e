//! The parser (Lua 5.4.4's `lparser.c`): recursive descent over the token stream, emitting
//! code through `code.rs` as it goes. Owns scopes (blocks, local variables, upvalue
//! resolution), gotos and labels, and the nesting-level guard that keeps Rust recursion
//! bounded by `MAX_SYNTAX_LEVELS`.
//!
//! Binary-operator chains and suffix chains (`a.b.c`, `f()()`) are loops, as in Lua, so only
//! genuinely nested syntax costs recursion.

use super::code::{BinOpr, KKey, UnOpr, NO_JUMP};
use super::lexer::{token2str, Lexer, StrId, Tok};
use super::{SyntaxError, C_CALLS_AT_LOAD, MAX_SYNTAX_LEVELS};
use crate::bytecode::{Instruction, OpCode, FIELDS_PER_FLUSH, MAXARG_BX};
use crate::proto::{Constant, LocVar, Proto, UpvalDesc};
use std::collections::HashMap;

type R<T> = Result<T, SyntaxError>;

/// Maximum number of local variables per function (Lua's `MAXVARS`).
const MAXVARS: usize = 200;
/// Maximum number of upvalues per function (Lua's `MAXUPVAL`).
const MAXUPVAL: usize = 255;

/// Variable kinds (lparser.h).
pub const VDKREG: u8 = 0;
pub const RDKCONST: u8 = 1;
pub const RDKTOCLOSE: u8 = 2;
pub const RDKCTC: u8 = 3;

/// Kinds of expression descriptors (Lua's `expkind`), in Lua's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExpKind {
    Void,
    Nil,
    True,
    False,
    K,
    KFlt,
    KInt,
    KStr,
    NonReloc,
    Local,
    Upval,
    Const,
    Indexed,
    IndexUp,
    IndexI,
    IndexStr,
    Jmp,
    Reloc,
    Call,
    Vararg,
}

/// An expression descriptor (Lua's `expdesc`). The C union is flattened into fields; each
/// kind uses the fields its comment in lparser.h names.
#[derive(Clone, Copy, Debug)]
pub struct ExpDesc {
    pub k: ExpKind,
    pub info: i32,
    pub ival: i64,
    pub nval: f64,
    pub strval: StrId,
    pub ind_t: u32,
    pub ind_idx: u32,
    pub ridx: u32,
    pub vidx: u32,
    pub t: i32,
    pub f: i32,
}

impl ExpDesc {
    pub fn new(k: ExpKind, info: i32) -> ExpDesc {
        ExpDesc {
            k,
            info,
            ival: 0,
            nval: 0.0,
            strval: StrId(0),
            ind_t: 0,
            ind_idx: 0,
            ridx: 0,
            vidx: 0,
            t: NO_JUMP,
            f: NO_JUMP,
        }
    }
    fn void() -> ExpDesc {
        ExpDesc::new(ExpKind::Void, 0)
    }
    fn string(s: StrId) -> ExpDesc {
        let mut e = ExpDesc::new(ExpKind::KStr, 0);
        e.strval = s;
        e
    }
}

fn has_multret(k: ExpKind) -> bool {
    matches!(k, ExpKind::Call | ExpKind::Vararg)
}

fn vk_is_var(k: ExpKind) -> bool {
    ExpKind::Local <= k && k <= ExpKind::IndexStr
}

fn vk_is_indexed(k: ExpKind) -> bool {
    ExpKind::Indexed <= k && k <= ExpKind::IndexStr
}

/// A compile-time value (constant table entry or `<const>` value).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstVal {
    Nil,
    Bool(bool),
    Int(i64),
    Flt(f64),
    Str(StrId),
}

/// An active local variable (Lua's `Vardesc`).
pub struct VarDesc {
    pub kind: u8,
    pub ridx: u8,
    pidx: u16,
    name: StrId,
    pub k: ConstVal,
    /// A shell-session local (`Parser::session`): it lives in this upvalue of the main
    /// function, not in a register, so the session hands its cell to the next line's chunk.
    pub up: Option<u8>,
}

struct LabelDesc {
    name: StrId,
    pc: i32,
    line: u32,
    nactvar: u16,
    close: bool,
}

struct BlockCnt {
    firstlabel: usize,
    firstgoto: usize,
    nactvar: u16,
    upval: bool,
    isloop: bool,
    insidetbc: bool,
}

struct UpvalInfo {
    name: StrId,
    in_stack: bool,
    idx: u8,
    kind: u8,
}

struct LocVarInfo {
    name: StrId,
    start_pc: u32,
    end_pc: u32,
}

/// Per-function compilation state (Lua's `FuncState` plus the `Proto` being built).
#[derive(Default)]
pub struct FuncState {
    pub code: Vec<Instruction>,
    pub lineinfo: Vec<u32>,
    pub k: Vec<ConstVal>,
    protos: Vec<Proto>,
    upvals: Vec<UpvalInfo>,
    locvars: Vec<LocVarInfo>,
    pub numparams: u8,
    pub is_vararg: bool,
    pub maxstacksize: u32,
    linedefined: u32,
    lastlinedefined: u32,
    pub lasttarget: i32,
    pub freereg: u32,
    pub nactvar: u16,
    pub firstlocal: usize,
    firstlabel: usize,
    pub needclose: bool,
    blocks: Vec<BlockCnt>,
}

pub struct Parser<'a> {
    pub lex: Lexer<'a>,
    /// The function being compiled.
    pub fs: FuncState,
    /// Enclosing functions, innermost last.
    outer: Vec<FuncState>,
    pub actvar: Vec<VarDesc>,
    /// Logical length of `actvar` (Lua's `dyd->actvar.n`).
    nactvar_total: usize,
    gt: Vec<LabelDesc>,
    label: Vec<LabelDesc>,
    /// Chunk-wide constant cache (Lua's `ls->h`); entries are validated per function.
    pub kcache: HashMap<KKey, usize>,
    level: usize,
    envn: StrId,
    break_name: StrId,
    source: Vec<u8>,
    /// Shell mode (`compile_session`): the locals earlier lines declared (name, read-only),
    /// and that the main function's top-level locals become upvalue cells too. `None`
    /// compiles a chunk as Lua does.
    session: Option<Vec<(Vec<u8>, bool)>>,
}

macro_rules! define_op_tokens {
    (
        arith_binary { $($b:ident = $btok:pat, $bops:ident, ($bl:literal, $br:literal), $bk:expr;)* }
        arith_unary { $($u:ident = $utok:pat, $uops:ident, $uprio:literal;)* }
        binary { $($o:ident = $otok:pat, ($ol:literal, $or:literal);)* }
        unary { $($n:ident = $ntok:pat, $nprio:literal;)* }
    ) => {
        /// The unary operator a token starts (from `for_each_operator!`).
        fn getunopr(t: Tok) -> Option<UnOpr> {
            Some(match t {
                $($utok => UnOpr::$u,)*
                $($ntok => UnOpr::$n,)*
                _ => return None,
            })
        }

        /// The binary operator a token is (from `for_each_operator!`).
        fn getbinopr(t: Tok) -> Option<BinOpr> {
            Some(match t {
                $($btok => BinOpr::$b,)*
                $($otok => BinOpr::$o,)*
                _ => return None,
            })
        }

        /// A binary operator's (left, right) priorities (from `for_each_operator!`).
        fn priority(op: BinOpr) -> (u8, u8) {
            match op {
                $(BinOpr::$b => ($bl, $br),)*
                $(BinOpr::$o => ($ol, $or),)*
            }
        }

        /// The priority of a unary operator's operand (from `for_each_operator!`).
        fn unary_priority(op: UnOpr) -> u8 {
            match op {
                $(UnOpr::$u => $uprio,)*
                $(UnOpr::$n => $nprio,)*
            }
        }
    };
}

crate::for_each_operator!(define_op_tokens);

impl<'a> Parser<'a> {
    pub fn new(src: &'a [u8], chunk_name: &[u8], chunkid: Vec<u8>) -> Self {
        let mut lex = Lexer::new(src, chunkid);
        let envn = lex.strs.intern(b"_ENV");
        let break_name = lex.strs.intern(b"break");
        Parser {
            lex,
            fs: FuncState::default(),
            outer: Vec::new(),
            actvar: Vec::new(),
            nactvar_total: 0,
            gt: Vec::new(),
            label: Vec::new(),
            kcache: HashMap::new(),
            level: 0,
            envn,
            break_name,
            source: chunk_name.to_vec(),
            session: None,
        }
    }

    /// Compiles in shell mode: `locals` (name, read-only) are visible as the locals of earlier
    /// lines, each an upvalue of the main function after `_ENV`, in this order; a `local`
    /// statement at the main function's top level (not `<close>`) adds upvalues after them.
    pub fn set_session(&mut self, locals: Vec<(Vec<u8>, bool)>) {
        self.session = Some(locals);
    }

    /// Whether a `local` statement here declares session locals: shell mode, in the main
    /// function's outermost block.
    fn at_session_level(&self) -> bool {
        self.session.is_some() && self.outer.is_empty() && self.fs.blocks.len() == 1
    }

    /// Activates the `n` locals declared last as session locals (upvalues of the main
    /// function), storing into each the value in the register after the active locals' in
    /// order (where `adjust_assign` or a closure put them), and frees those registers.
    fn adjust_session_locals(&mut self, n: usize) -> R<()> {
        let base = self.nvarstack();
        for i in 0..n {
            let vidx = self.fs.nactvar as usize;
            let (name, kind) = {
                let v = self.vardesc(vidx);
                (v.name, v.kind)
            };
            let kind = if kind == VDKREG { VDKREG } else { RDKCONST };
            let up = self.allocupvalue(
                0,
                UpvalInfo {
                    name,
                    in_stack: false,
                    idx: 0,
                    kind,
                },
            )?;
            self.code_abc(OpCode::SetUpval, base + i as u32, up as u32, 0);
            let v = self.vardesc(vidx);
            v.kind = kind;
            v.up = Some(up as u8);
            self.fs.nactvar += 1;
        }
        self.fs.freereg = base;
        Ok(())
    }

    // ---------------------------------------------------------------- helpers

    fn name_str(&self, s: StrId) -> String {
        String::from_utf8_lossy(self.lex.strs.get(s)).into_owned()
    }

    fn name_bytes(&self, s: StrId) -> Vec<u8> {
        self.lex.strs.get(s).to_vec()
    }

    fn err(&self, msg: &[u8]) -> SyntaxError {
        self.lex.syntax_error(msg)
    }

    /// `luaK_semerror`: error without the `near` part.
    fn semerr(&self, msg: &[u8]) -> SyntaxError {
        self.lex.error(msg, None)
    }

    fn enter_level(&mut self) -> R<()> {
        self.level += 1;
        if self.level + C_CALLS_AT_LOAD >= MAX_SYNTAX_LEVELS {
            // `luaE_checkcstack`: a run-time error raised under `load`, a C function, so
            // without position.
            return Err(SyntaxError {
                message: b"C stack overflow".to_vec(),
                at_end: false,
            });
        }
        Ok(())
    }

    fn leave_level(&mut self) {
        self.level -= 1;
    }

    fn next(&mut self) -> R<()> {
        self.lex.next()
    }

    fn error_expected(&self, t: Tok) -> SyntaxError {
        let mut m = token2str(t);
        m.extend_from_slice(b" expected");
        self.err(&m)
    }

    fn errorlimit(&self, limit: usize, what: &str) -> SyntaxError {
        let line = self.fs.linedefined;
        let where_ = if line == 0 {
            "main function".to_string()
        } else {
            format!("function at line {line}")
        };
        self.err(format!("too many {what} (limit is {limit}) in {where_}").as_bytes())
    }

    fn checklimit(&self, v: usize, l: usize, what: &str) -> R<()> {
        if v > l {
            return Err(self.errorlimit(l, what));
        }
        Ok(())
    }

    fn testnext(&mut self, c: Tok) -> R<bool> {
        if self.lex.t == c {
            self.next()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn check(&self, c: Tok) -> R<()> {
        if self.lex.t != c {
            return Err(self.error_expected(c));
        }
        Ok(())
    }

    fn checknext(&mut self, c: Tok) -> R<()> {
        self.check(c)?;
        self.next()
    }

    fn check_match(&mut self, what: Tok, who: Tok, where_: u32) -> R<()> {
        if !self.testnext(what)? {
            if where_ == self.lex.linenumber {
                return Err(self.error_expected(what));
            }
            let mut m = token2str(what);
            m.extend_from_slice(b" expected (to close ");
            m.extend_from_slice(&token2str(who));
            m.extend_from_slice(format!(" at line {where_})").as_bytes());
            return Err(self.err(&m));
        }
        Ok(())
    }

    fn str_checkname(&mut self) -> R<StrId> {
        match self.lex.t {
            Tok::Name(s) => {
                self.next()?;
                Ok(s)
            }
            _ => Err(self.error_expected(Tok::Name(StrId(0)))),
        }
    }

    fn codename(&mut self) -> R<ExpDesc> {
        Ok(ExpDesc::string(self.str_checkname()?))
    }

    fn block_follow(&self, withuntil: bool) -> bool {
        match self.lex.t {
            Tok::Else | Tok::ElseIf | Tok::End | Tok::Eos => true,
            Tok::Until => withuntil,
            _ => false,
        }
    }

    // ---------------------------------------------------------------- variables

    fn registerlocalvar(&mut self, name: StrId) -> u16 {
        let pc = self.pc() as u32;
        self.fs.locvars.push(LocVarInfo {
            name,
            start_pc: pc,
            end_pc: 0,
        });
        (self.fs.locvars.len() - 1) as u16
    }

    fn new_localvar(&mut self, name: StrId) -> R<usize> {
        self.checklimit(
            self.nactvar_total + 1 - self.fs.firstlocal,
            MAXVARS,
            "local variables",
        )?;
        let vd = VarDesc {
            kind: VDKREG,
            ridx: 0,
            pidx: 0,
            name,
            k: ConstVal::Nil,
            up: None,
        };
        // Entries past the logical end stay readable, as in Lua, where `reglevel` may look
        // at descriptors of variables that just went out of scope.
        if self.nactvar_total < self.actvar.len() {
            self.actvar[self.nactvar_total] = vd;
        } else {
            self.actvar.push(vd);
        }
        self.nactvar_total += 1;
        Ok(self.nactvar_total - 1 - self.fs.firstlocal)
    }

    fn new_localvar_literal(&mut self, name: &[u8]) -> R<usize> {
        let s = self.lex.strs.intern(name);
        self.new_localvar(s)
    }

    fn vardesc(&mut self, vidx: usize) -> &mut VarDesc {
        let i = self.fs.firstlocal + vidx;
        &mut self.actvar[i]
    }

    /// Debug-info entry of a local (none for compile-time constants).
    fn localdebuginfo(&mut self, vidx: usize) -> Option<&mut LocVarInfo> {
        let vd = &self.actvar[self.fs.firstlocal + vidx];
        if vd.kind == RDKCTC || vd.up.is_some() {
            None
        } else {
            let idx = vd.pidx as usize;
            self.fs.locvars.get_mut(idx)
        }
    }

    fn check_readonly(&self, e: &ExpDesc) -> R<()> {
        let varname = match e.k {
            ExpKind::Const => Some(self.actvar[e.info as usize].name),
            ExpKind::Local => {
                let vd = &self.actvar[self.fs.firstlocal + e.vidx as usize];
                (vd.kind != VDKREG).then_some(vd.name)
            }
            ExpKind::Upval => {
                let up = &self.fs.upvals[e.info as usize];
                (up.kind != VDKREG).then_some(up.name)
            }
            _ => None,
        };
        if let Some(n) = varname {
            let mut m = b"attempt to assign to const variable '".to_vec();
            m.extend_from_slice(self.lex.strs.get(n));
            m.push(b'\'');
            return Err(self.semerr(&m));
        }
        Ok(())
    }

    fn adjustlocalvars(&mut self, nvars: usize) {
        let level0 = self.nvarstack();
        for reglevel in level0..level0 + nvars as u32 {
            let vidx = self.fs.nactvar as usize;
            self.fs.nactvar += 1;
            let name = self.vardesc(vidx).name;
            let pidx = self.registerlocalvar(name);
            let var = self.vardesc(vidx);
            var.ridx = reglevel as u8;
            var.pidx = pidx;
        }
    }

    fn removevars(&mut self, tolevel: u16) {
        let n = self.nactvar_total - (self.fs.nactvar - tolevel) as usize;
        let pc = self.pc() as u32;
        while self.fs.nactvar > tolevel {
            self.fs.nactvar -= 1;
            let v = self.fs.nactvar as usize;
            if let Some(var) = self.localdebuginfo(v) {
                var.end_pc = pc;
            }
        }
        self.nactvar_total = n;
    }

    fn fs_at(&mut self, depth: usize) -> &mut FuncState {
        if depth == 0 {
            &mut self.fs
        } else {
            let n = self.outer.len();
            &mut self.outer[n - depth]
        }
    }

    fn searchupvalue(fs: &FuncState, name: StrId) -> Option<usize> {
        fs.upvals.iter().position(|u| u.name == name)
    }

    fn allocupvalue(&mut self, depth: usize, up: UpvalInfo) -> R<usize> {
        let fs = self.fs_at(depth);
        if fs.upvals.len() + 1 > MAXUPVAL {
            let line = fs.linedefined;
            let where_ = if line == 0 {
                "main function".to_string()
            } else {
                format!("function at line {line}")
            };
            return Err(
                self.err(format!("too many upvalues (limit is {MAXUPVAL}) in {where_}").as_bytes())
            );
        }
        fs.upvals.push(up);
        Ok(fs.upvals.len() - 1)
    }

    /// Searches a local of the function at `depth`; returns the descriptor if found.
    fn searchvar(&self, depth: usize, n: StrId) -> Option<ExpDesc> {
        let fs = if depth == 0 {
            &self.fs
        } else {
            &self.outer[self.outer.len() - depth]
        };
        for i in (0..fs.nactvar as usize).rev() {
            let vd = &self.actvar[fs.firstlocal + i];
            if vd.name == n {
                if let Some(up) = vd.up {
                    return Some(ExpDesc::new(ExpKind::Upval, up as i32));
                }
                if vd.kind == RDKCTC {
                    return Some(ExpDesc::new(ExpKind::Const, (fs.firstlocal + i) as i32));
                }
                let mut e = ExpDesc::new(ExpKind::Local, 0);
                e.vidx = i as u32;
                e.ridx = vd.ridx as u32;
                return Some(e);
            }
        }
        None
    }

    fn markupval(&mut self, depth: usize, level: u16) {
        let fs = self.fs_at(depth);
        // The outermost block has nactvar 0, so the search always stops.
        if let Some(bl) = fs.blocks.iter_mut().rev().find(|b| b.nactvar <= level) {
            bl.upval = true;
        }
        fs.needclose = true;
    }

    fn marktobeclosed(&mut self) {
        if let Some(bl) = self.fs.blocks.last_mut() {
            bl.upval = true;
            bl.insidetbc = true;
        }
        self.fs.needclose = true;
    }

    /// `singlevaraux`: resolves `n` in the function at `depth` (0 = current), creating
    /// upvalues along the way. Recursion depth is bounded by function nesting.
    fn singlevaraux(&mut self, depth: usize, n: StrId, base: bool) -> R<ExpDesc> {
        if depth > self.outer.len() {
            return Ok(ExpDesc::void());
        }
        // The search reads every active local and upvalue of the function, at worst.
        let fs = self.fs_at(depth);
        let (locals, upvalues) = (fs.nactvar as u64, fs.upvals.len() as u64);
        self.lex.spend(1 + locals + upvalues)?;
        if let Some(v) = self.searchvar(depth, n) {
            if v.k == ExpKind::Local && !base {
                self.markupval(depth, v.vidx as u16);
            }
            return Ok(v);
        }
        let idx = match Self::searchupvalue(self.fs_at(depth), n) {
            Some(i) => i,
            None => {
                let v = self.singlevaraux(depth + 1, n, false)?;
                if v.k == ExpKind::Local || v.k == ExpKind::Upval {
                    self.newupvalue(depth, n, &v)?
                } else {
                    return Ok(v);
                }
            }
        };
        Ok(ExpDesc::new(ExpKind::Upval, idx as i32))
    }

    fn newupvalue(&mut self, depth: usize, name: StrId, v: &ExpDesc) -> R<usize> {
        let up = {
            let prev_first = self.fs_at(depth + 1).firstlocal;
            if v.k == ExpKind::Local {
                let kind = self.actvar[prev_first + v.vidx as usize].kind;
                UpvalInfo {
                    name,
                    in_stack: true,
                    idx: v.ridx as u8,
                    kind,
                }
            } else {
                let kind = self.fs_at(depth + 1).upvals[v.info as usize].kind;
                UpvalInfo {
                    name,
                    in_stack: false,
                    idx: v.info as u8,
                    kind,
                }
            }
        };
        self.allocupvalue(depth, up)
    }

    fn singlevar(&mut self) -> R<ExpDesc> {
        let varname = self.str_checkname()?;
        let mut var = self.singlevaraux(0, varname, true)?;
        if var.k == ExpKind::Void {
            var = self.singlevaraux(0, self.envn, true)?;
            self.exp2anyregup(&mut var)?;
            let mut key = ExpDesc::string(varname);
            self.indexed(&mut var, &mut key)?;
        }
        Ok(var)
    }

    fn adjust_assign(&mut self, nvars: i32, nexps: i32, e: &mut ExpDesc) -> R<()> {
        let needed = nvars - nexps;
        if has_multret(e.k) {
            let extra = (needed + 1).max(0);
            self.set_returns(e, extra)?;
        } else {
            if e.k != ExpKind::Void {
                self.exp2nextreg(e)?;
            }
            if needed > 0 {
                self.nil(self.fs.freereg, needed as u32);
            }
        }
        if needed > 0 {
            self.reserve_regs(needed as u32)?;
        } else {
            self.fs.freereg = (self.fs.freereg as i32 + needed) as u32;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- gotos and labels

    fn jumpscopeerror(&self, g: usize) -> SyntaxError {
        let gt = &self.gt[g];
        let varname = self.name_str(self.actvar[self.fs.firstlocal + gt.nactvar as usize].name);
        let msg = format!(
            "<goto {}> at line {} jumps into the scope of local '{}'",
            self.name_str(gt.name),
            gt.line,
            varname
        );
        self.semerr(msg.as_bytes())
    }

    fn solvegoto(&mut self, g: usize, lpc: i32, lnactvar: u16) -> R<()> {
        if self.gt[g].nactvar < lnactvar {
            return Err(self.jumpscopeerror(g));
        }
        self.patch_list(self.gt[g].pc, lpc)?;
        self.gt.remove(g);
        Ok(())
    }

    fn findlabel(&mut self, name: StrId) -> R<Option<usize>> {
        let labels = self.label.len().saturating_sub(self.fs.firstlabel) as u64;
        self.lex.spend(1 + labels)?;
        Ok((self.fs.firstlabel..self.label.len()).find(|&i| self.label[i].name == name))
    }

    fn newlabelentry(
        list: &mut Vec<LabelDesc>,
        name: StrId,
        line: u32,
        pc: i32,
        nactvar: u16,
    ) -> usize {
        list.push(LabelDesc {
            name,
            pc,
            line,
            nactvar,
            close: false,
        });
        list.len() - 1
    }

    fn newgotoentry(&mut self, name: StrId, line: u32, pc: i32) -> usize {
        let n = self.fs.nactvar;
        Self::newlabelentry(&mut self.gt, name, line, pc, n)
    }

    fn solvegotos(&mut self, l: usize) -> R<bool> {
        let mut i = self.fs.blocks.last().map_or(0, |b| b.firstgoto);
        let mut needsclose = false;
        let (lname, lpc, lnact) = (self.label[l].name, self.label[l].pc, self.label[l].nactvar);
        while i < self.gt.len() {
            self.lex.spend(1)?;
            if self.gt[i].name == lname {
                needsclose |= self.gt[i].close;
                self.solvegoto(i, lpc, lnact)?;
            } else {
                i += 1;
            }
        }
        Ok(needsclose)
    }

    fn createlabel(&mut self, name: StrId, line: u32, last: bool) -> R<bool> {
        let pc = self.get_label();
        let n = self.fs.nactvar;
        let l = Self::newlabelentry(&mut self.label, name, line, pc, n);
        if last {
            self.label[l].nactvar = self.fs.blocks.last().map_or(0, |b| b.nactvar);
        }
        if self.solvegotos(l)? {
            let lv = self.nvarstack();
            self.code_abc(OpCode::Close, lv, 0, 0);
            return Ok(true);
        }
        Ok(false)
    }

    fn movegotosout(&mut self, bl: &BlockCnt) -> R<()> {
        // Every pending goto is visited at each block it leaves.
        let pending = self.gt.len().saturating_sub(bl.firstgoto) as u64;
        self.lex.spend(1 + pending)?;
        let bl_level = self.reglevel(bl.nactvar as usize);
        for i in bl.firstgoto..self.gt.len() {
            let gl = self.reglevel(self.gt[i].nactvar as usize);
            let gt = &mut self.gt[i];
            if gl > bl_level {
                gt.close |= bl.upval;
            }
            gt.nactvar = bl.nactvar;
        }
        Ok(())
    }

    fn enterblock(&mut self, isloop: bool) {
        let insidetbc = self.fs.blocks.last().is_some_and(|b| b.insidetbc);
        self.fs.blocks.push(BlockCnt {
            firstlabel: self.label.len(),
            firstgoto: self.gt.len(),
            nactvar: self.fs.nactvar,
            upval: false,
            isloop,
            insidetbc,
        });
    }

    fn undefgoto(&self, g: usize) -> SyntaxError {
        let gt = &self.gt[g];
        let msg = if gt.name == self.break_name {
            format!("break outside loop at line {}", gt.line)
        } else {
            format!(
                "no visible label '{}' for <goto> at line {}",
                self.name_str(gt.name),
                gt.line
            )
        };
        self.semerr(msg.as_bytes())
    }

    fn leaveblock(&mut self) -> R<()> {
        let Some(bl_nactvar) = self.fs.blocks.last().map(|b| b.nactvar) else {
            return Ok(());
        };
        let stklevel = self.reglevel(bl_nactvar as usize);
        let mut hasclose = false;
        if self.fs.blocks.last().is_some_and(|b| b.isloop) {
            hasclose = self.createlabel(self.break_name, 0, false)?;
        }
        let nblocks = self.fs.blocks.len();
        if !hasclose && nblocks > 1 && self.fs.blocks.last().is_some_and(|b| b.upval) {
            self.code_abc(OpCode::Close, stklevel, 0, 0);
        }
        self.fs.freereg = stklevel;
        self.removevars(bl_nactvar);
        // The block exists: checked at the top of the function.
        let Some(bl) = self.fs.blocks.pop() else {
            return Ok(());
        };
        self.label.truncate(bl.firstlabel);
        if !self.fs.blocks.is_empty() {
            self.movegotosout(&bl)?;
        } else if bl.firstgoto < self.gt.len() {
            return Err(self.undefgoto(bl.firstgoto));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- functions

    fn open_func(&mut self, linedefined: u32) {
        let fs = FuncState {
            linedefined,
            maxstacksize: 2,
            firstlocal: self.nactvar_total,
            firstlabel: self.label.len(),
            ..FuncState::default()
        };
        let old = std::mem::replace(&mut self.fs, fs);
        self.outer.push(old);
        self.enterblock(false);
    }

    fn close_func(&mut self) -> R<Proto> {
        let nv = self.nvarstack();
        self.ret(nv, 0);
        self.leaveblock()?;
        self.finish()?;
        let parent = self.outer.pop().unwrap_or_default();
        let fs = std::mem::replace(&mut self.fs, parent);
        Ok(self.make_proto(fs))
    }

    fn make_proto(&self, fs: FuncState) -> Proto {
        let strs = &self.lex.strs;
        Proto {
            num_params: fs.numparams,
            is_vararg: fs.is_vararg,
            max_stack_size: fs.maxstacksize as u8,
            code: fs.code,
            constants: fs
                .k
                .iter()
                .map(|c| match *c {
                    ConstVal::Nil => Constant::Nil,
                    ConstVal::Bool(b) => Constant::Bool(b),
                    ConstVal::Int(i) => Constant::Int(i),
                    ConstVal::Flt(f) => Constant::Float(f),
                    ConstVal::Str(s) => Constant::Str(strs.get(s).to_vec()),
                })
                .collect(),
            protos: fs.protos,
            upvalues: fs
                .upvals
                .iter()
                .map(|u| UpvalDesc {
                    name: strs.get(u.name).to_vec(),
                    in_stack: u.in_stack,
                    index: u.idx,
                    kind: u.kind,
                })
                .collect(),
            line_info: fs.lineinfo,
            loc_vars: fs
                .locvars
                .iter()
                .map(|l| LocVar {
                    name: strs.get(l.name).to_vec(),
                    start_pc: l.start_pc,
                    end_pc: l.end_pc,
                })
                .collect(),
            line_defined: fs.linedefined,
            last_line_defined: fs.lastlinedefined,
            source: self.source.clone(),
        }
    }

    fn setvararg(&mut self, nparams: u32) {
        self.fs.is_vararg = true;
        self.code_abc(OpCode::VarargPrep, nparams, 0, 0);
    }

    /// Compiles the main chunk (`mainfunc`).
    pub fn mainfunc(&mut self) -> R<Proto> {
        self.fs = FuncState {
            maxstacksize: 2,
            ..FuncState::default()
        };
        self.enterblock(false);
        self.setvararg(0);
        self.fs.upvals.push(UpvalInfo {
            name: self.envn,
            in_stack: true,
            idx: 0,
            kind: VDKREG,
        });
        // The session's locals, as if declared above this line.
        for (name, readonly) in self.session.clone().unwrap_or_default() {
            let name = self.lex.strs.intern(&name);
            let kind = if readonly { RDKCONST } else { VDKREG };
            let up = self.allocupvalue(
                0,
                UpvalInfo {
                    name,
                    in_stack: false,
                    idx: 0,
                    kind,
                },
            )?;
            let vidx = self.new_localvar(name)?;
            let v = self.vardesc(vidx);
            v.kind = kind;
            v.up = Some(up as u8);
            self.fs.nactvar += 1;
        }
        self.next()?;
        self.statlist()?;
        self.check(Tok::Eos)?;
        let nv = self.nvarstack();
        self.ret(nv, 0);
        self.leaveblock()?;
        self.finish()?;
        let fs = std::mem::take(&mut self.fs);
        Ok(self.make_proto(fs))
    }

    fn statlist(&mut self) -> R<()> {
        while !self.block_follow(true) {
            if self.lex.t == Tok::Return {
                return self.statement();
            }
            self.statement()?;
        }
        Ok(())
    }

    fn fieldsel(&mut self, v: &mut ExpDesc) -> R<()> {
        self.exp2anyregup(v)?;
        self.next()?;
        let mut key = self.codename()?;
        self.indexed(v, &mut key)
    }

    fn yindex(&mut self) -> R<ExpDesc> {
        self.next()?;
        let mut v = self.expr()?;
        self.exp2val(&mut v)?;
        self.checknext(Tok::Char(b']'))?;
        Ok(v)
    }

    fn recfield(&mut self, cc: &mut ConsControl) -> R<()> {
        let reg = self.fs.freereg;
        let mut key = if let Tok::Name(_) = self.lex.t {
            self.codename()?
        } else {
            self.yindex()?
        };
        cc.nh += 1;
        self.checknext(Tok::Char(b'='))?;
        let mut tab = cc.t;
        self.indexed(&mut tab, &mut key)?;
        let mut val = self.expr()?;
        self.store_var(&tab, &mut val)?;
        self.fs.freereg = reg;
        Ok(())
    }

    fn closelistfield(&mut self, cc: &mut ConsControl) -> R<()> {
        if cc.v.k == ExpKind::Void {
            return Ok(());
        }
        self.exp2nextreg(&mut cc.v)?;
        cc.v.k = ExpKind::Void;
        if cc.tostore == FIELDS_PER_FLUSH {
            self.set_list(cc.t.info as u32, cc.na, cc.tostore as i32);
            cc.na += cc.tostore;
            cc.tostore = 0;
        }
        Ok(())
    }

    fn lastlistfield(&mut self, cc: &mut ConsControl) -> R<()> {
        if cc.tostore == 0 {
            return Ok(());
        }
        if has_multret(cc.v.k) {
            self.set_multret(&mut cc.v)?;
            self.set_list(cc.t.info as u32, cc.na, -1);
            cc.na = cc.na.wrapping_sub(1);
        } else {
            if cc.v.k != ExpKind::Void {
                self.exp2nextreg(&mut cc.v)?;
            }
            self.set_list(cc.t.info as u32, cc.na, cc.tostore as i32);
        }
        cc.na = cc.na.wrapping_add(cc.tostore);
        Ok(())
    }

    fn field(&mut self, cc: &mut ConsControl) -> R<()> {
        match self.lex.t {
            Tok::Name(_) => {
                if self.lex.lookahead()? != Tok::Char(b'=') {
                    cc.v = self.expr()?;
                    cc.tostore += 1;
                } else {
                    self.recfield(cc)?;
                }
            }
            Tok::Char(b'[') => self.recfield(cc)?,
            _ => {
                cc.v = self.expr()?;
                cc.tostore += 1;
            }
        }
        Ok(())
    }

    fn constructor(&mut self) -> R<ExpDesc> {
        let line = self.lex.linenumber;
        let pc = self.code_abc(OpCode::NewTable, 0, 0, 0);
        self.code(Instruction(0)); // space for the extra argument
        let t = ExpDesc::new(ExpKind::NonReloc, self.fs.freereg as i32);
        let mut cc = Box::new(ConsControl {
            v: ExpDesc::void(),
            t,
            nh: 0,
            na: 0,
            tostore: 0,
        });
        self.reserve_regs(1)?;
        self.checknext(Tok::Char(b'{'))?;
        loop {
            if self.lex.t == Tok::Char(b'}') {
                break;
            }
            self.closelistfield(&mut cc)?;
            self.field(&mut cc)?;
            if !(self.testnext(Tok::Char(b','))? || self.testnext(Tok::Char(b';'))?) {
                break;
            }
        }
        self.check_match(Tok::Char(b'}'), Tok::Char(b'{'), line)?;
        self.lastlistfield(&mut cc)?;
        self.set_table_size(pc, t.info as u32, cc.na, cc.nh);
        Ok(t)
    }

    fn parlist(&mut self) -> R<()> {
        let mut nparams = 0;
        let mut isvararg = false;
        if self.lex.t != Tok::Char(b')') {
            loop {
                match self.lex.t {
                    Tok::Name(_) => {
                        let n = self.str_checkname()?;
                        self.new_localvar(n)?;
                        nparams += 1;
                    }
                    Tok::Dots => {
                        self.next()?;
                        isvararg = true;
                    }
                    _ => return Err(self.err(b"<name> or '...' expected")),
                }
                if isvararg || !self.testnext(Tok::Char(b','))? {
                    break;
                }
            }
        }
        self.adjustlocalvars(nparams);
        self.fs.numparams = self.fs.nactvar as u8;
        if isvararg {
            self.setvararg(self.fs.numparams as u32);
        }
        self.reserve_regs(self.fs.nactvar as u32)
    }

    fn body(&mut self, ismethod: bool, line: u32) -> R<ExpDesc> {
        self.open_func(line);
        if ismethod {
            self.new_localvar_literal(b"self")?;
            self.adjustlocalvars(1);
        }
        self.checknext(Tok::Char(b'('))?;
        self.parlist()?;
        self.checknext(Tok::Char(b')'))?;
        self.statlist()?;
        self.fs.lastlinedefined = self.lex.linenumber;
        self.check_match(Tok::End, Tok::Function, line)?;
        let p = self.close_func()?;
        if self.fs.protos.len() as u32 >= MAXARG_BX {
            return Err(self.errorlimit(MAXARG_BX as usize, "functions"));
        }
        self.fs.protos.push(p);
        let idx = self.fs.protos.len() as u32 - 1;
        let mut v = ExpDesc::new(ExpKind::Reloc, self.code_abx(OpCode::Closure, 0, idx));
        self.exp2nextreg(&mut v)?;
        Ok(v)
    }

    /// `explist`; returns the number of expressions and the last one.
    fn explist(&mut self) -> R<(i32, ExpDesc)> {
        let mut n = 1;
        let mut v = self.expr()?;
        while self.testnext(Tok::Char(b','))? {
            self.exp2nextreg(&mut v)?;
            v = self.expr()?;
            n += 1;
        }
        Ok((n, v))
    }

    fn funcargs(&mut self, f: &mut ExpDesc, line: u32) -> R<()> {
        let mut args = match self.lex.t {
            Tok::Char(b'(') => {
                self.next()?;
                let args = if self.lex.t == Tok::Char(b')') {
                    ExpDesc::void()
                } else {
                    let (_, mut a) = self.explist()?;
                    if has_multret(a.k) {
                        self.set_multret(&mut a)?;
                    }
                    a
                };
                self.check_match(Tok::Char(b')'), Tok::Char(b'('), line)?;
                args
            }
            Tok::Char(b'{') => self.constructor()?,
            Tok::Str(s) => {
                self.next()?;
                ExpDesc::string(s)
            }
            _ => return Err(self.err(b"function arguments expected")),
        };
        let base = f.info as u32;
        let nparams = if has_multret(args.k) {
            -1
        } else {
            if args.k != ExpKind::Void {
                self.exp2nextreg(&mut args)?;
            }
            self.fs.freereg as i32 - (base as i32 + 1)
        };
        *f = ExpDesc::new(
            ExpKind::Call,
            self.code_abc(OpCode::Call, base, (nparams + 1) as u32, 2),
        );
        self.fix_line(line);
        self.fs.freereg = base + 1;
        Ok(())
    }

    // ---------------------------------------------------------------- expressions

    fn primaryexp(&mut self) -> R<ExpDesc> {
        match self.lex.t {
            Tok::Char(b'(') => {
                let line = self.lex.linenumber;
                self.next()?;
                let mut v = self.expr()?;
                self.check_match(Tok::Char(b')'), Tok::Char(b'('), line)?;
                self.discharge_vars(&mut v);
                Ok(v)
            }
            Tok::Name(_) => self.singlevar(),
            _ => Err(self.err(b"unexpected symbol")),
        }
    }

    fn suffixedexp(&mut self) -> R<ExpDesc> {
        let line = self.lex.linenumber;
        let mut v = self.primaryexp()?;
        loop {
            match self.lex.t {
                Tok::Char(b'.') => self.fieldsel(&mut v)?,
                Tok::Char(b'[') => {
                    self.exp2anyregup(&mut v)?;
                    let mut key = self.yindex()?;
                    self.indexed(&mut v, &mut key)?;
                }
                Tok::Char(b':') => {
                    self.next()?;
                    let mut key = self.codename()?;
                    self.self_op(&mut v, &mut key)?;
                    self.funcargs(&mut v, line)?;
                }
                Tok::Char(b'(') | Tok::Str(_) | Tok::Char(b'{') => {
                    self.exp2nextreg(&mut v)?;
                    self.funcargs(&mut v, line)?;
                }
                _ => return Ok(v),
            }
        }
    }

    fn simpleexp(&mut self) -> R<ExpDesc> {
        let v = match self.lex.t {
            Tok::Flt(n) => {
                let mut v = ExpDesc::new(ExpKind::KFlt, 0);
                v.nval = n;
                v
            }
            Tok::Int(i) => {
                let mut v = ExpDesc::new(ExpKind::KInt, 0);
                v.ival = i;
                v
            }
            Tok::Str(s) => ExpDesc::string(s),
            Tok::Nil => ExpDesc::new(ExpKind::Nil, 0),
            Tok::True => ExpDesc::new(ExpKind::True, 0),
            Tok::False => ExpDesc::new(ExpKind::False, 0),
            Tok::Dots => {
                if !self.fs.is_vararg {
                    return Err(self.err(b"cannot use '...' outside a vararg function"));
                }
                ExpDesc::new(ExpKind::Vararg, self.code_abc(OpCode::Vararg, 0, 0, 1))
            }
            Tok::Char(b'{') => return self.constructor(),
            Tok::Function => {
                self.next()?;
                let line = self.lex.linenumber;
                return self.body(false, line);
            }
            _ => return self.suffixedexp(),
        };
        self.next()?;
        Ok(v)
    }

    /// `subexpr`: parses operators of priority above `limit`; returns the expression and the
    /// first operator not handled.
    fn subexpr(&mut self, limit: u8) -> R<(ExpDesc, Option<BinOpr>)> {
        self.enter_level()?;
        let mut v = if let Some(uop) = getunopr(self.lex.t) {
            let line = self.lex.linenumber;
            self.next()?;
            let (mut v, _) = self.subexpr(unary_priority(uop))?;
            self.prefix(uop, &mut v, line)?;
            v
        } else {
            self.simpleexp()?
        };
        let mut op = getbinopr(self.lex.t);
        while let Some(o) = op {
            if priority(o).0 <= limit {
                break;
            }
            let line = self.lex.linenumber;
            self.next()?;
            self.infix(o, &mut v)?;
            let (mut v2, nextop) = self.subexpr(priority(o).1)?;
            self.posfix(o, &mut v, &mut v2, line)?;
            op = nextop;
        }
        self.leave_level();
        Ok((v, op))
    }

    fn expr(&mut self) -> R<ExpDesc> {
        Ok(self.subexpr(0)?.0)
    }

    // ---------------------------------------------------------------- statements

    fn block(&mut self) -> R<()> {
        self.enterblock(false);
        self.statlist()?;
        self.leaveblock()
    }

    /// `check_conflict`: if `v` (about to be assigned) is a table or index register used by
    /// an earlier target in the list, copy it to a safe register first.
    fn check_conflict(&mut self, lhs: &mut [ExpDesc], v: &ExpDesc) -> R<()> {
        let extra = self.fs.freereg;
        let mut conflict = false;
        for lh in lhs.iter_mut().rev() {
            if vk_is_indexed(lh.k) {
                if lh.k == ExpKind::IndexUp {
                    if v.k == ExpKind::Upval && lh.ind_t == v.info as u32 {
                        conflict = true;
                        lh.k = ExpKind::IndexStr;
                        lh.ind_t = extra;
                    }
                } else {
                    if v.k == ExpKind::Local && lh.ind_t == v.ridx {
                        conflict = true;
                        lh.ind_t = extra;
                    }
                    if lh.k == ExpKind::Indexed && v.k == ExpKind::Local && lh.ind_idx == v.ridx {
                        conflict = true;
                        lh.ind_idx = extra;
                    }
                }
            }
        }
        if conflict {
            if v.k == ExpKind::Local {
                self.code_abc(OpCode::Move, extra, v.ridx, 0);
            } else {
                self.code_abc(OpCode::GetUpval, extra, v.info as u32, 0);
            }
            self.reserve_regs(1)?;
        }
        Ok(())
    }

    /// `restassign`, iteratively: collects the targets, then stores right to left as Lua's
    /// recursive version does on its way back.
    fn restassign(&mut self, first: ExpDesc) -> R<()> {
        let mut lhs = vec![first];
        let mut levels = 0;
        let result = (|| -> R<()> {
            while let Some(last) = lhs.last() {
                if !vk_is_var(last.k) {
                    return Err(self.err(b"syntax error"));
                }
                self.check_readonly(last)?;
                if !self.testnext(Tok::Char(b','))? {
                    break;
                }
                let nv = self.suffixedexp()?;
                if !vk_is_indexed(nv.k) {
                    self.check_conflict(&mut lhs, &nv)?;
                }
                self.enter_level()?;
                levels += 1;
                lhs.push(nv);
            }
            self.checknext(Tok::Char(b'='))?;
            let nvars = lhs.len() as i32;
            let (nexps, mut e) = self.explist()?;
            let mut rest = lhs.len();
            if nexps != nvars {
                self.adjust_assign(nvars, nexps, &mut e)?;
            } else {
                self.set_one_ret(&mut e);
                let last = lhs[lhs.len() - 1];
                self.store_var(&last, &mut e)?;
                rest -= 1;
            }
            for i in (0..rest).rev() {
                let mut e = ExpDesc::new(ExpKind::NonReloc, self.fs.freereg as i32 - 1);
                let var = lhs[i];
                self.store_var(&var, &mut e)?;
            }
            Ok(())
        })();
        self.level -= levels;
        result
    }

    fn cond(&mut self) -> R<i32> {
        let mut v = self.expr()?;
        if v.k == ExpKind::Nil {
            v.k = ExpKind::False;
        }
        self.go_if_true(&mut v)?;
        Ok(v.f)
    }

    fn gotostat(&mut self) -> R<()> {
        let line = self.lex.linenumber;
        let name = self.str_checkname()?;
        match self.findlabel(name)? {
            None => {
                let j = self.jump();
                self.newgotoentry(name, line, j);
            }
            Some(lb) => {
                let lblevel = self.reglevel(self.label[lb].nactvar as usize);
                if self.nvarstack() > lblevel {
                    self.code_abc(OpCode::Close, lblevel, 0, 0);
                }
                let j = self.jump();
                let target = self.label[lb].pc;
                self.patch_list(j, target)?;
            }
        }
        Ok(())
    }

    fn breakstat(&mut self) -> R<()> {
        let line = self.lex.linenumber;
        self.next()?;
        let j = self.jump();
        self.newgotoentry(self.break_name, line, j);
        Ok(())
    }

    fn checkrepeated(&mut self, name: StrId) -> R<()> {
        if let Some(lb) = self.findlabel(name)? {
            let msg = format!(
                "label '{}' already defined on line {}",
                self.name_str(name),
                self.label[lb].line
            );
            return Err(self.semerr(msg.as_bytes()));
        }
        Ok(())
    }

    fn labelstat(&mut self, name: StrId, line: u32) -> R<()> {
        self.checknext(Tok::DbColon)?;
        while self.lex.t == Tok::Char(b';') || self.lex.t == Tok::DbColon {
            self.statement()?;
        }
        self.checkrepeated(name)?;
        let last = self.block_follow(false);
        self.createlabel(name, line, last)?;
        Ok(())
    }

    fn whilestat(&mut self, line: u32) -> R<()> {
        self.next()?;
        let whileinit = self.get_label();
        let condexit = self.cond()?;
        self.enterblock(true);
        self.checknext(Tok::Do)?;
        self.block()?;
        let j = self.jump();
        self.patch_list(j, whileinit)?;
        self.check_match(Tok::End, Tok::While, line)?;
        self.leaveblock()?;
        self.patch_to_here(condexit)
    }

    fn repeatstat(&mut self, line: u32) -> R<()> {
        let repeat_init = self.get_label();
        self.enterblock(true);
        self.enterblock(false);
        self.next()?;
        self.statlist()?;
        self.check_match(Tok::Until, Tok::Repeat, line)?;
        let mut condexit = self.cond()?;
        let (bl2_upval, bl2_nactvar) = self
            .fs
            .blocks
            .last()
            .map_or((false, 0), |b| (b.upval, b.nactvar));
        self.leaveblock()?;
        if bl2_upval {
            let exit = self.jump();
            self.patch_to_here(condexit)?;
            let lv = self.reglevel(bl2_nactvar as usize);
            self.code_abc(OpCode::Close, lv, 0, 0);
            condexit = self.jump();
            self.patch_to_here(exit)?;
        }
        self.patch_list(condexit, repeat_init)?;
        self.leaveblock()
    }

    fn exp1(&mut self) -> R<()> {
        let mut e = self.expr()?;
        self.exp2nextreg(&mut e)
    }

    fn fixforjump(&mut self, pc: i32, dest: i32, back: bool) -> R<()> {
        let mut offset = dest - (pc + 1);
        if back {
            offset = -offset;
        }
        if offset as u32 > MAXARG_BX {
            return Err(self.err(b"control structure too long"));
        }
        self.instr(pc).set_bx(offset as u32);
        Ok(())
    }

    fn forbody(&mut self, base: u32, line: u32, nvars: usize, isgen: bool) -> R<()> {
        self.checknext(Tok::Do)?;
        let prep = self.code_abx(
            if isgen {
                OpCode::TForPrep
            } else {
                OpCode::ForPrep
            },
            base,
            0,
        );
        self.enterblock(false);
        self.adjustlocalvars(nvars);
        self.reserve_regs(nvars as u32)?;
        self.block()?;
        self.leaveblock()?;
        let here = self.get_label();
        self.fixforjump(prep, here, false)?;
        if isgen {
            self.code_abc(OpCode::TForCall, base, 0, nvars as u32);
            self.fix_line(line);
        }
        let endfor = self.code_abx(
            if isgen {
                OpCode::TForLoop
            } else {
                OpCode::ForLoop
            },
            base,
            0,
        );
        self.fixforjump(endfor, prep + 1, true)?;
        self.fix_line(line);
        Ok(())
    }

    fn fornum(&mut self, varname: StrId, line: u32) -> R<()> {
        let base = self.fs.freereg;
        self.new_localvar_literal(b"(for state)")?;
        self.new_localvar_literal(b"(for state)")?;
        self.new_localvar_literal(b"(for state)")?;
        self.new_localvar(varname)?;
        self.checknext(Tok::Char(b'='))?;
        self.exp1()?;
        self.checknext(Tok::Char(b','))?;
        self.exp1()?;
        if self.testnext(Tok::Char(b','))? {
            self.exp1()?;
        } else {
            self.int(self.fs.freereg, 1)?;
            self.reserve_regs(1)?;
        }
        self.adjustlocalvars(3);
        self.forbody(base, line, 1, false)
    }

    fn forlist(&mut self, indexname: StrId) -> R<()> {
        let mut nvars = 5;
        let base = self.fs.freereg;
        for _ in 0..4 {
            self.new_localvar_literal(b"(for state)")?;
        }
        self.new_localvar(indexname)?;
        while self.testnext(Tok::Char(b','))? {
            let n = self.str_checkname()?;
            self.new_localvar(n)?;
            nvars += 1;
        }
        self.checknext(Tok::In)?;
        let line = self.lex.linenumber;
        let (n, mut e) = self.explist()?;
        self.adjust_assign(4, n, &mut e)?;
        self.adjustlocalvars(4);
        self.marktobeclosed();
        self.check_stack(3)?;
        self.forbody(base, line, nvars - 4, true)
    }

    fn forstat(&mut self, line: u32) -> R<()> {
        self.enterblock(true);
        self.next()?;
        let varname = self.str_checkname()?;
        match self.lex.t {
            Tok::Char(b'=') => self.fornum(varname, line)?,
            Tok::Char(b',') | Tok::In => self.forlist(varname)?,
            _ => return Err(self.err(b"'=' or 'in' expected")),
        }
        self.check_match(Tok::End, Tok::For, line)?;
        self.leaveblock()
    }

    fn test_then_block(&mut self, escapelist: &mut i32) -> R<()> {
        self.next()?;
        let mut v = self.expr()?;
        self.checknext(Tok::Then)?;
        let jf = if self.lex.t == Tok::Break {
            let line = self.lex.linenumber;
            self.go_if_false(&mut v)?;
            self.next()?;
            self.enterblock(false);
            self.newgotoentry(self.break_name, line, v.t);
            while self.testnext(Tok::Char(b';'))? {}
            if self.block_follow(false) {
                return self.leaveblock();
            }
            self.jump()
        } else {
            self.go_if_true(&mut v)?;
            self.enterblock(false);
            v.f
        };
        self.statlist()?;
        self.leaveblock()?;
        if self.lex.t == Tok::Else || self.lex.t == Tok::ElseIf {
            let j = self.jump();
            self.concat(escapelist, j)?;
        }
        self.patch_to_here(jf)
    }

    fn ifstat(&mut self, line: u32) -> R<()> {
        let mut escapelist = NO_JUMP;
        self.test_then_block(&mut escapelist)?;
        while self.lex.t == Tok::ElseIf {
            self.test_then_block(&mut escapelist)?;
        }
        if self.testnext(Tok::Else)? {
            self.block()?;
        }
        self.check_match(Tok::End, Tok::If, line)?;
        self.patch_to_here(escapelist)
    }

    fn localfunc(&mut self) -> R<()> {
        let fvar = self.fs.nactvar as usize;
        let n = self.str_checkname()?;
        self.new_localvar(n)?;
        if self.at_session_level() {
            // The cell exists before the body, which may call the function itself.
            let vidx = self.fs.nactvar as usize;
            let name = self.vardesc(vidx).name;
            let up = self.allocupvalue(
                0,
                UpvalInfo {
                    name,
                    in_stack: false,
                    idx: 0,
                    kind: VDKREG,
                },
            )?;
            self.vardesc(vidx).up = Some(up as u8);
            self.fs.nactvar += 1;
            let line = self.lex.linenumber;
            let mut f = self.body(false, line)?;
            let reg = self.exp2anyreg(&mut f)?;
            self.code_abc(OpCode::SetUpval, reg, up as u32, 0);
            self.free_exp(&f);
            return Ok(());
        }
        self.adjustlocalvars(1);
        let line = self.lex.linenumber;
        self.body(false, line)?;
        let pc = self.pc() as u32;
        if let Some(v) = self.localdebuginfo(fvar) {
            v.start_pc = pc;
        }
        Ok(())
    }

    fn getlocalattribute(&mut self) -> R<u8> {
        if self.testnext(Tok::Char(b'<'))? {
            let attr = self.str_checkname()?;
            self.checknext(Tok::Char(b'>'))?;
            let a = self.name_bytes(attr);
            return match &a[..] {
                b"const" => Ok(RDKCONST),
                b"close" => Ok(RDKTOCLOSE),
                _ => {
                    let mut m = b"unknown attribute '".to_vec();
                    m.extend_from_slice(&a);
                    m.push(b'\'');
                    Err(self.semerr(&m))
                }
            };
        }
        Ok(VDKREG)
    }

    fn localstat(&mut self) -> R<()> {
        let mut toclose: i32 = -1;
        let mut nvars = 0;
        let mut vidx;
        loop {
            let n = self.str_checkname()?;
            vidx = self.new_localvar(n)?;
            let kind = self.getlocalattribute()?;
            self.vardesc(vidx).kind = kind;
            if kind == RDKTOCLOSE {
                if toclose != -1 {
                    return Err(self.semerr(b"multiple to-be-closed variables in local list"));
                }
                toclose = self.fs.nactvar as i32 + nvars;
            }
            nvars += 1;
            if !self.testnext(Tok::Char(b','))? {
                break;
            }
        }
        let (nexps, mut e) = if self.testnext(Tok::Char(b'='))? {
            self.explist()?
        } else {
            (0, ExpDesc::void())
        };
        if toclose == -1 && self.at_session_level() {
            // A session local is a cell the next line sees: never folded to a constant.
            self.adjust_assign(nvars, nexps, &mut e)?;
            return self.adjust_session_locals(nvars as usize);
        }
        let kind = self.vardesc(vidx).kind;
        let cst = if nvars == nexps && kind == RDKCONST {
            self.exp2const(&e)
        } else {
            None
        };
        if let Some(k) = cst {
            let var = self.vardesc(vidx);
            var.kind = RDKCTC;
            var.k = k;
            self.adjustlocalvars(nvars as usize - 1);
            self.fs.nactvar += 1;
        } else {
            self.adjust_assign(nvars, nexps, &mut e)?;
            self.adjustlocalvars(nvars as usize);
        }
        if toclose != -1 {
            self.marktobeclosed();
            let lv = self.reglevel(toclose as usize);
            self.code_abc(OpCode::Tbc, lv, 0, 0);
        }
        Ok(())
    }

    fn funcstat(&mut self, line: u32) -> R<()> {
        self.next()?;
        let mut v = self.singlevar()?;
        let mut ismethod = false;
        while self.lex.t == Tok::Char(b'.') {
            self.fieldsel(&mut v)?;
        }
        if self.lex.t == Tok::Char(b':') {
            ismethod = true;
            self.fieldsel(&mut v)?;
        }
        let mut b = self.body(ismethod, line)?;
        self.check_readonly(&v)?;
        self.store_var(&v, &mut b)?;
        self.fix_line(line);
        Ok(())
    }

    fn exprstat(&mut self) -> R<()> {
        let v = self.suffixedexp()?;
        if self.lex.t == Tok::Char(b'=') || self.lex.t == Tok::Char(b',') {
            self.restassign(v)
        } else {
            if v.k != ExpKind::Call {
                return Err(self.err(b"syntax error"));
            }
            self.instr(v.info).set_c(1);
            Ok(())
        }
    }

    fn retstat(&mut self) -> R<()> {
        let mut first = self.nvarstack();
        let nret;
        if self.block_follow(true) || self.lex.t == Tok::Char(b';') {
            nret = 0;
        } else {
            let (n, mut e) = self.explist()?;
            if has_multret(e.k) {
                self.set_multret(&mut e)?;
                let insidetbc = self.fs.blocks.last().is_some_and(|b| b.insidetbc);
                if e.k == ExpKind::Call && n == 1 && !insidetbc {
                    self.instr(e.info).set_opcode(OpCode::TailCall);
                }
                nret = -1;
            } else if n == 1 {
                first = self.exp2anyreg(&mut e)?;
                nret = 1;
            } else {
                self.exp2nextreg(&mut e)?;
                first = self.fs.freereg - n as u32;
                nret = n;
            }
        }
        self.ret(first, nret);
        self.testnext(Tok::Char(b';'))?;
        Ok(())
    }

    fn statement(&mut self) -> R<()> {
        let line = self.lex.linenumber;
        self.enter_level()?;
        match self.lex.t {
            Tok::Char(b';') => self.next()?,
            Tok::If => self.ifstat(line)?,
            Tok::While => self.whilestat(line)?,
            Tok::Do => {
                self.next()?;
                self.block()?;
                self.check_match(Tok::End, Tok::Do, line)?;
            }
            Tok::For => self.forstat(line)?,
            Tok::Repeat => self.repeatstat(line)?,
            Tok::Function => self.funcstat(line)?,
            Tok::Local => {
                self.next()?;
                if self.testnext(Tok::Function)? {
                    self.localfunc()?;
                } else {
                    self.localstat()?;
                }
            }
            Tok::DbColon => {
                self.next()?;
                let n = self.str_checkname()?;
                self.labelstat(n, line)?;
            }
            Tok::Return => {
                self.next()?;
                self.retstat()?;
            }
            Tok::Break => self.breakstat()?,
            Tok::Goto => {
                self.next()?;
                self.gotostat()?;
            }
            _ => self.exprstat()?,
        }
        self.fs.freereg = self.nvarstack();
        self.leave_level();
        Ok(())
    }
}

/// State of a table constructor (Lua's `ConsControl`).
struct ConsControl {
    v: ExpDesc,
    t: ExpDesc,
    nh: u32,
    na: u32,
    tostore: u32,
}
